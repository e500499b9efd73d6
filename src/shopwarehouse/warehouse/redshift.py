"""Redshift: ``COPY raw.<entity> FROM 's3://.../x.manifest' IAM_ROLE ... MANIFEST`` from the landing bucket.

The validated rows are staged as one gzipped CSV under ``_stage/`` in the landing bucket, beside a manifest
that names exactly that object (so COPY cannot pick up a neighbour by prefix) and its length. COPY runs with
``MAXERROR 0`` inside the file's transaction; when Redshift refuses the file, the first rows of
``sys_load_error_detail`` for this session say where and why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson
import pyarrow as pa

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.landing.zone import Landing
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import (
    LoadError,
    Warehouse,
    column_list,
    literal,
    qualified,
    staged_key,
    to_csv,
)

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


def copy_sql(entity: str, manifest_url: str, iam_role: str) -> str:
    role = "default" if iam_role == "default" else literal(iam_role)
    return (
        f"copy {qualified(entity)} ({column_list(raw_columns(entity))}) "
        f"from {literal(manifest_url)} iam_role {role} manifest {COPY_OPTIONS}"
    )


class RedshiftWarehouse(Warehouse):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar(65535)",
        ColumnType.DECIMAL: "decimal(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }

    def __init__(self, connection: Any, landing: Landing, iam_role: str) -> None:
        if not landing.location("").startswith("s3://"):
            raise ValueError("Redshift loads from S3: set SHOPWAREHOUSE_LANDING to the s3:// landing bucket")
        self.connection = connection
        self.landing = landing
        self.iam_role = iam_role

    @classmethod
    def connect(cls, profile: dict[str, Any], landing: Landing, iam_role: str) -> RedshiftWarehouse:
        import redshift_connector  # only needed where a cluster is reachable

        iam = profile.get("method") == "iam"
        try:
            connection = redshift_connector.connect(
                host=profile["host"],
                port=int(profile.get("port", 5439)),
                database=profile.get("dbname") or profile["database"],
                user=profile.get("user", ""),
                password=None if iam else profile.get("password"),
                iam=iam,
                cluster_identifier=profile.get("cluster_id"),
                db_user=profile.get("user") if iam else None,
                profile=profile.get("iam_profile"),
                region=profile.get("region"),
                ssl=profile.get("sslmode") != "disable",  # as dbt-redshift reads the target's sslmode
            )
        except Exception as error:
            refused = refusal(error, profile)
            if refused is None:  # a refused or dropped connection, a timeout: it may pass
                raise
            raise refused from error
        return cls(connection, landing, iam_role)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(params) or None)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        data_key = staged_key(first, part, ".csv.gz")
        manifest_key = staged_key(first, part, ".manifest")
        data = to_csv(rows, compress=True)
        self.landing.put(data_key, data)
        self.landing.put(manifest_key, manifest(self.landing.location(data_key), len(data)))
        try:
            self._execute(copy_sql(entity, self.landing.location(manifest_key), self.iam_role))
            ((count,),) = self._execute("select pg_last_copy_count()")
        except Exception as error:
            if connection_lost(error):  # nothing to ask a connection that is gone; the load may be re-run
                raise
            self._rollback()
            details = "; ".join(
                f"{file} line {line} column {column}: {message}"
                for file, line, column, message in self._execute(LOAD_ERRORS_SQL)
            )
            raise LoadError(
                f"Redshift refused the COPY of the batch from {first.file_key} on (lines count in the staged "
                f"batch file): {details or error}"
            ) from error
        finally:
            self.landing.delete(data_key)
            self.landing.delete(manifest_key)
        return int(count)


# The server's refusals that a retry cannot mend, by SQLSTATE (redshift_connector passes the server's error
# fields as a dict: C the SQLSTATE, M the message), and the server's own momentary states, which may pass.
_REFUSED_STATES = {
    "3D000": 'has no database "{database}": create it (create database {database}) or set REDSHIFT_DATABASE',
    "28P01": 'refused the password of user "{user}": set REDSHIFT_PASSWORD, or use method: iam',
    "28000": 'refused user "{user}" ({message}): create the user or set REDSHIFT_USER',
    "42501": 'refused user "{user}" ({message}): grant it connect on the database or set REDSHIFT_USER',
}
_PASSING_STATES = ("57P01", "57P02", "57P03", "53300")  # shut down, restarting, starting up, too many clients
# What the driver says, with no SQLSTATE, when the network or the server dropped the connection.
_CONNECTION_LOST = (
    "communication error", "BrokenPipe", "connection is closed", "network error", "connection time out",
    "server socket closed",
)  # fmt: skip
# What the driver says, with no SQLSTATE, when the target's settings cannot work.
_REFUSED_SETTINGS = {
    "Server refuses SSL": "does not offer SSL: connect to the cluster's endpoint, or set sslmode: disable",
    "no password was provided": 'asks user "{user}" for a password: set REDSHIFT_PASSWORD or use method: iam',
}
# AWS's answers to the IAM login (GetClusterCredentials) that say the configuration is wrong.
_IAM_REFUSALS = (
    "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
    "UnrecognizedClientException", "ClusterNotFound", "ClusterNotFoundFault",
)  # fmt: skip


def _server_error(error: BaseException) -> dict[str, str] | None:
    fields = error.args[0] if error.args else None
    return fields if isinstance(fields, dict) and "C" in fields else None


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` is redshift_connector's report of a connection the network or the server ended (or
    never let open: a refused connection, a timeout, a cluster restarting), so a retry may succeed."""
    from redshift_connector.error import InterfaceError, OperationalError

    if not isinstance(error, InterfaceError | OperationalError):
        return False
    fields = _server_error(error)
    if fields is not None:
        return fields["C"].startswith("08") or fields["C"] in _PASSING_STATES
    return any(marker in str(error) for marker in _CONNECTION_LOST)


def refusal(error: BaseException, profile: Mapping[str, Any]) -> ConfigurationError | None:
    """A :class:`ConfigurationError` saying what to fix when connecting failed on the target's settings (no
    such database or user, a wrong password, refused IAM credentials); ``None`` otherwise."""
    import botocore.exceptions

    where = f"Redshift at {profile.get('host')}:{profile.get('port', 5439)}"
    names = {"user": profile.get("user", ""), "database": profile.get("dbname") or profile.get("database")}
    fields = _server_error(error)
    if fields is not None:
        fix = _REFUSED_STATES.get(fields["C"])
        return ConfigurationError(f"{where} " + fix.format(**names, message=fields.get("M"))) if fix else None
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code not in _IAM_REFUSALS:
            return None
        return ConfigurationError(
            f"{where}: AWS refused the IAM login to cluster {profile.get('cluster_id')} ({code}): check "
            "REDSHIFT_CLUSTER_ID, and that AWS_PROFILE's credentials may call redshift:GetClusterCredentials"
        )
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.ProfileNotFound):
        return ConfigurationError(f"{where}: no AWS credentials for the IAM login ({error}): set AWS_PROFILE")
    fix = next((fix for said, fix in _REFUSED_SETTINGS.items() if said in str(error)), None)
    return ConfigurationError(f"{where} " + fix.format(**names)) if fix else None
