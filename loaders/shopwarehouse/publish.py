"""The readers' copy of the embedded warehouse.

DuckDB lets one process write a database file, and while it does no other process can open that file, not even
to read. So analysts and the dashboard never read the file the daily run writes: after a run's quality gate
passes, the ``publish`` step checkpoints the warehouse and copies it whole beside itself, then renames the
copy over ``<name>.published.duckdb`` (:func:`published_path`). A rename is atomic: a reader that opens the
published file gets the last good run's database or the one before, never a half-built one, and a reader that
has it open keeps reading the database it opened. On the server warehouses readers query the marts schema in
place: dbt swaps each model in by one transaction.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from shopwarehouse.config import Settings
from shopwarehouse.landing import Landing
from shopwarehouse.load.warehouse import Warehouse, open_warehouse
from shopwarehouse.load.warehouse.duckdb import DuckDBWarehouse
from shopwarehouse.profile import read_target

log = logging.getLogger(__name__)


class NotPublished(Exception):
    pass


def published_path(warehouse: Path) -> Path:
    """Where the readers' copy of the DuckDB file ``warehouse`` is: ``data/shopwarehouse.published.duckdb``
    for ``data/shopwarehouse.duckdb``."""
    return warehouse.with_name(f"{warehouse.stem}.published{warehouse.suffix}")


def publish(settings: Settings) -> Path | None:
    """Copy the DuckDB warehouse of the settings' target to its published path, atomically; the path, or
    ``None`` on a server warehouse, which readers query in place."""
    profile = read_target(settings.target)
    if profile["type"] != "duckdb":
        return None
    source = Path(profile["path"])
    target = published_path(source)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    # The open connection holds the file's write lock, so no other process changes it while it is copied;
    # the checkpoint moves the write-ahead log into the file, so the file alone is the whole database.
    warehouse = DuckDBWarehouse(source, profile.get("settings") or {})
    try:
        warehouse.connection.execute("checkpoint")
        shutil.copyfile(source, partial)
        with partial.open("rb") as copy:
            os.fsync(copy.fileno())
        DuckDBWarehouse(partial, read_only=True).close()  # it opens, before any reader is sent to it
        os.replace(partial, target)
    finally:
        warehouse.close()
        partial.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    log.info("published %s (%.1f MB) for readers", target, target.stat().st_size / 1e6)
    return target


def open_published(settings: Settings, landing: Landing) -> Warehouse:
    """A connection for reading the marts as analysts do: on DuckDB the published copy, read-only; on a
    server warehouse the warehouse itself."""
    profile = read_target(settings.target)
    if profile["type"] != "duckdb":
        return open_warehouse(settings, landing)
    path = published_path(Path(profile["path"]))
    if not path.is_file():
        raise NotPublished(
            f"no published copy of the warehouse at {path}: `shopwarehouse run` publishes one after a run "
            "whose quality gate passes"
        )
    return DuckDBWarehouse(path, profile.get("settings") or {}, read_only=True)
