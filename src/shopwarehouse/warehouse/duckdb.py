"""DuckDB, the embedded default: the validated Arrow tables are inserted as they are, with no copy between."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import Warehouse, column_list, qualified


class DuckDBWarehouse(Warehouse):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar",
        ColumnType.DECIMAL: "decimal(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }
    placeholder = "?"

    def __init__(
        self, path: Path, settings: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> None:
        """``settings``: the DuckDB settings of the dbt profile target (its memory_limit, say), so the
        loaders run under the limits dbt does. ``read_only``: a reader's connection, which other readers'
        processes may share (see :mod:`shopwarehouse.surfaces.publish`)."""
        if not read_only and not path.parent.is_dir():
            # Not made here: a mistyped path would quietly start an empty warehouse in a new directory.
            wrong = (
                "is a file" if path.parent.exists() else f"does not exist: create it (mkdir -p {path.parent})"
            )
            raise ConfigurationError(
                f"the warehouse file's directory {path.parent} {wrong}, or set SHOPWAREHOUSE_DUCKDB_PATH"
            )
        # Raw rows carry their place in the file (_source_row_number), so the table need not keep their
        # order: without that promise DuckDB inserts on every core.
        config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": False}
        config.update(settings or {})
        self.connection = _connect(path, read_only, config)
        self.connection.execute("set timezone = 'UTC'")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.connection.execute(sql, list(params))
        return self.connection.fetchall() if self.connection.description else []

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        columns = column_list(raw_columns(entity))
        insert = f"insert into {qualified(entity)} ({columns}) select {columns} from _shopwarehouse_batch"
        # The rows as a relation that one statement scans: a view made with register() would stay in the
        # transaction's catalog until the commit, holding every part of a file loaded in parts in memory.
        ((count,),) = self.connection.from_arrow(rows).query("_shopwarehouse_batch", insert).fetchall()
        return int(count)

    def _begin(self) -> None:
        self.connection.begin()  # DuckDB autocommits each statement unless a transaction is begun


LOCK_WAIT_SECONDS = 5.0
"""How long opening the file waits while another process has it open: long enough for a reader or another
writer's check of the lease (a fraction of a second), short of a whole build (see pipeline/lock.py)."""


_CANNOT_OPEN = ("No such file or directory", "Not a directory", "Is a directory", "Permission denied",
                "Read-only file system")  # fmt: skip
"""Why DuckDB could not open the file, when the path is wrong, not busy: a configuration error."""


def _connect(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Open the file; while another process holds it, try again for up to :data:`LOCK_WAIT_SECONDS` (then
    its ``IOException``, a fault that may pass); a :class:`ConfigurationError` if the path is no file DuckDB
    may open."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as error:
            reason = next((reason for reason in _CANNOT_OPEN if reason in str(error)), None)
            if reason is not None and "Could not set lock" not in str(error):
                raise ConfigurationError(
                    f"the DuckDB warehouse file {path} cannot be opened ({reason}): set "
                    "SHOPWAREHOUSE_DUCKDB_PATH to a file in a directory this user may write"
                ) from error
            if "Could not set lock" not in str(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
