"""PostgreSQL: ``COPY raw.<entity> FROM STDIN`` streaming the validated rows as CSV."""

from __future__ import annotations

import io

import pyarrow as pa

from shopwarehouse.load.raw.base import RawLoader, to_csv
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import column_list, qualified
from shopwarehouse.warehouse.postgres import PostgresClient


class PostgresRawLoader(RawLoader):
    client: PostgresClient

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        sql = (
            f"copy {qualified(entity, self.schema)} ({column_list(raw_columns(entity))}) "
            "from stdin with (format csv, header true)"
        )
        with self.client.connection.cursor() as cursor:
            cursor.copy_expert(sql, io.BytesIO(to_csv(rows)))
            return int(cursor.rowcount)
