"""DuckDB: the validated Arrow tables are inserted as they are, with no copy between."""

from __future__ import annotations

import pyarrow as pa

from shopwarehouse.load.raw.base import RawLoader
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import column_list, qualified
from shopwarehouse.warehouse.duckdb import DuckDBClient


class DuckDBRawLoader(RawLoader):
    client: DuckDBClient

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        columns = column_list(raw_columns(entity))
        table = qualified(entity, self.schema)
        insert = f"insert into {table} ({columns}) select {columns} from _shopwarehouse_batch"
        # The rows as a relation that one statement scans: a view made with register() would stay in the
        # transaction's catalog until the commit, holding every part of a file loaded in parts in memory.
        ((count,),) = self.client.connection.from_arrow(rows).query("_shopwarehouse_batch", insert).fetchall()
        return int(count)
