"""Redshift: ``COPY raw.<entity> FROM 's3://.../x.manifest' IAM_ROLE ... MANIFEST`` from the landing bucket.

The validated rows are staged as one gzipped CSV under ``_stage/`` in the landing bucket, beside a manifest
that names exactly that object (so COPY cannot pick up a neighbour by prefix) and its length. COPY runs with
``MAXERROR 0`` inside the file's transaction; when Redshift refuses the file, the first rows of
``sys_load_error_detail`` for this session say where and why. A connection lost during the COPY is left to
the caller's retry (:meth:`RedshiftClient.fault` says it is transient): nothing was committed.
"""

from __future__ import annotations

import orjson
import pyarrow as pa

from shopwarehouse.errors import Fault
from shopwarehouse.landing.zone import Landing
from shopwarehouse.load.raw.base import LoadError, RawLoader, staged_key, to_csv
from shopwarehouse.load.tables import RAW_SCHEMA, LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import column_list, literal, qualified
from shopwarehouse.warehouse.redshift import RedshiftClient

COPY_OPTIONS = (
    "format as csv quote as '\"' ignoreheader 1 gzip emptyasnull "
    "timeformat 'auto' dateformat 'auto' maxerror 0 compupdate off statupdate off"
)
LOAD_ERRORS_SQL = (
    "select trim(file_name), line_number, trim(column_name), trim(error_message) "
    "from sys_load_error_detail where session_id = pg_backend_pid() order by start_time desc limit 5"
)


def manifest(url: str, size: int) -> bytes:
    """A COPY manifest naming one object, which must exist, with its length in bytes."""
    return orjson.dumps({"entries": [{"url": url, "mandatory": True, "meta": {"content_length": size}}]})


def copy_sql(schema: str, entity: str, manifest_url: str, iam_role: str) -> str:
    role = "default" if iam_role == "default" else literal(iam_role)
    return (
        f"copy {qualified(entity, schema)} ({column_list(raw_columns(entity))}) "
        f"from {literal(manifest_url)} iam_role {role} manifest {COPY_OPTIONS}"
    )


class RedshiftRawLoader(RawLoader):
    client: RedshiftClient

    def __init__(
        self, client: RedshiftClient, landing: Landing, iam_role: str, schema: str = RAW_SCHEMA
    ) -> None:
        if not landing.location("").startswith("s3://"):
            raise ValueError("Redshift loads from S3: set SHOPWAREHOUSE_LANDING to the s3:// landing bucket")
        super().__init__(client, schema)
        self.landing = landing
        self.iam_role = iam_role

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        data_key = staged_key(first, part, ".csv.gz")
        manifest_key = staged_key(first, part, ".manifest")
        data = to_csv(rows, compress=True)
        self.landing.put(data_key, data)
        self.landing.put(manifest_key, manifest(self.landing.location(data_key), len(data)))
        try:
            manifest_url = self.landing.location(manifest_key)
            self.client.execute(copy_sql(self.schema, entity, manifest_url, self.iam_role))
            ((count,),) = self.client.execute("select pg_last_copy_count()")
        except Exception as error:
            if self.client.fault(error) is Fault.TRANSIENT:  # nothing to ask a connection that is gone
                raise
            self.client.rollback()
            details = "; ".join(
                f"{file} line {line} column {column}: {message}"
                for file, line, column, message in self.client.execute(LOAD_ERRORS_SQL)
            )
            raise LoadError(
                f"Redshift refused the COPY of the batch from {first.file_key} on (lines count in the staged "
                f"batch file): {details or error}"
            ) from error
        finally:
            self.landing.delete(data_key)
            self.landing.delete(manifest_key)
        return int(count)
