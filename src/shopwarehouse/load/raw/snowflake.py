"""Snowflake: ``COPY INTO raw.<entity> FROM @stage FILES = (...)`` over an external stage on the landing zone.

The validated rows are staged as one Parquet file under ``_stage/`` in the landing zone (typed, so nothing is
re-parsed, and matched to the table by column name), copied with ``ON_ERROR = ABORT_STATEMENT`` inside the
file's transaction, and the staged file is removed again. The stage points at the landing zone: ``s3://``
with a storage integration in production, ``file://`` on a laptop and with the fakesnow emulator.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from shopwarehouse.landing.zone import Landing
from shopwarehouse.load.raw.base import RawLoader, staged_key
from shopwarehouse.load.tables import RAW_SCHEMA, LedgerEntry
from shopwarehouse.warehouse.base import identifier, literal, qualified
from shopwarehouse.warehouse.snowflake import SnowflakeClient

STAGE = "_shopwarehouse_landing"
"""The external stage over the landing zone, in the raw schema."""


def copy_sql(schema: str, entity: str, key: str) -> str:
    """COPY of one staged Parquet file at ``key`` (landing-relative) into ``<schema>.<entity>``, by column
    name."""
    folder, _, name = key.rpartition("/")
    return (
        f"copy into {qualified(entity, schema)} from @{qualified(STAGE, schema)}/{folder}/ "
        f"files = ({literal(name)}) "
        "file_format = (type = parquet) match_by_column_name = case_insensitive "
        "on_error = abort_statement"
    )


class SnowflakeRawLoader(RawLoader):
    client: SnowflakeClient

    def __init__(
        self,
        client: SnowflakeClient,
        landing: Landing,
        storage_integration: str | None,
        schema: str = RAW_SCHEMA,
    ) -> None:
        super().__init__(client, schema)
        self.landing = landing
        self.storage_integration = storage_integration

    def prepare(self) -> None:
        super().prepare()
        url = literal(self.landing.location("").rstrip("/") + "/")
        # Unquoted Snowflake names are case-insensitive: LANDING_S3 and landing_s3 are one integration.
        integration = self.storage_integration.lower() if self.storage_integration else None
        self.client.execute(
            f"create or replace stage {qualified(STAGE, self.schema)} url = {url}"
            + (f" storage_integration = {identifier(integration)}" if integration else "")
        )

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        key = staged_key(first, part, ".parquet")
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        self.landing.put(key, buffer.getvalue())
        try:
            results = self.client.execute(copy_sql(self.schema, entity, key))
        finally:
            self.landing.delete(key)
        # One result row per file: (file, status, rows_parsed, rows_loaded, ...).
        return sum(int(row[3]) for row in results)
