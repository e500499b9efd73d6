"""DuckDB, the embedded default: one file, one writing process at a time."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import duckdb

from shopwarehouse.errors import ConfigurationError, Fault, WarehouseBusy
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.warehouse.base import SqlClient


@dataclass(frozen=True)
class DuckDBCredentials:
    path: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    """The target's DuckDB settings (its memory_limit, say): the pipeline runs under the limits dbt does."""

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> DuckDBCredentials:
        return cls(Path(profile["path"]), dict(profile.get("settings") or {}))


LOCK_WAIT_SECONDS = 5.0
"""How long opening the file waits while another process has it open: long enough for a reader or another
writer's check of the lease (a fraction of a second), short of a whole build (see pipeline/lock.py)."""


_CANNOT_OPEN = ("No such file or directory", "Not a directory", "Is a directory", "Permission denied",
                "Read-only file system")  # fmt: skip
"""Why DuckDB could not open the file, when the path is wrong, not busy: a configuration error."""
_LOCKED = "Could not set lock"
"""What DuckDB says when another process has the file open."""


class DuckDBClient(SqlClient):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar",
        ColumnType.DECIMAL: "decimal(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }
    placeholder = "?"

    def __init__(self, credentials: DuckDBCredentials, *, read_only: bool = False) -> None:
        """``read_only``: a reader's connection, which other readers' processes may share (see
        :mod:`shopwarehouse.surfaces.publish`)."""
        path = credentials.path
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
        config.update(credentials.settings)
        self.credentials = credentials
        self.connection = _connect(path, read_only, config)
        self.connection.execute("set timezone = 'UTC'")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.connection.execute(sql, list(params))
        return self.connection.fetchall() if self.connection.description else []

    def begin(self) -> None:
        self.connection.begin()  # DuckDB autocommits each statement unless a transaction is begun

    @classmethod
    def fault(cls, error: BaseException) -> Fault | None:
        if isinstance(error, duckdb.TransactionException):  # a write-write conflict
            return Fault.LOST_RACE
        if isinstance(error, duckdb.IOException):  # the file is locked by another process, or the disk
            return Fault.TRANSIENT
        if isinstance(error, duckdb.ConversionException | duckdb.ConstraintException):
            return Fault.DATA
        return None


def _connect(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """Open the file; while another process holds it, try again for up to :data:`LOCK_WAIT_SECONDS` (then
    :class:`WarehouseBusy`, a fault that may pass); a :class:`ConfigurationError` if the path is no file
    DuckDB may open."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as error:
            if _LOCKED not in str(error):
                reason = next((reason for reason in _CANNOT_OPEN if reason in str(error)), None)
                if reason is None:
                    raise
                raise ConfigurationError(
                    f"the DuckDB warehouse file {path} cannot be opened ({reason}): set "
                    "SHOPWAREHOUSE_DUCKDB_PATH to a file in a directory this user may write"
                ) from error
            if time.monotonic() + pause > deadline:
                raise WarehouseBusy(f"the warehouse file is in use by another process ({error})") from error
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
