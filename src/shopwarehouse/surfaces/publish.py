"""The readers' copy of the embedded warehouse.

DuckDB lets one process write a database file, and while it does no other process can open that file, not even
to read. So analysts and the dashboard never read the file the daily run writes: after a run's quality gate
passes, the ``publish`` step copies the marts (the star schema and the KPI marts) into a new file beside the
warehouse and renames it over ``<name>.published.duckdb`` (:func:`published_path`). A rename is atomic: a
reader that opens the published file gets the last good run's marts or the run's before, never a half-built
state, and a reader that has it open keeps reading the database it opened.

The copy holds the marts and nothing else: DuckDB has no roles, so this is where its access control is. The
raw and staging rows, and the personal data of the restricted schema, stay in the warehouse file, which only
the pipeline opens. On the server warehouses readers query the marts schema in place, with the analyst role
that dbt's grants give read access to the marts alone; dbt swaps each model in by one transaction.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from shopwarehouse.config import Settings, env_schema
from shopwarehouse.warehouse import SqlClient, open_client, warehouse_type
from shopwarehouse.warehouse.base import identifier, literal
from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials
from shopwarehouse.warehouse.profile import read_target

log = logging.getLogger(__name__)


class NotPublished(Exception):
    pass


def published_path(warehouse: Path, env: str) -> Path:
    """Where environment ``env``'s readers' copy of the DuckDB file ``warehouse`` is:
    ``data/shopwarehouse.published.duckdb`` for ``data/shopwarehouse.duckdb`` in ``dev``,
    ``data/shopwarehouse.staging_published.duckdb`` in ``staging`` (the rule of :func:`env_schema`)."""
    return warehouse.with_name(f"{warehouse.stem}.{env_schema(env, 'published')}{warehouse.suffix}")


def marts_schema(settings: Settings) -> str:
    """The schema dbt builds the marts in: the target's schema with ``_marts`` (dbt's default naming), in the
    settings' environment (the macro ``generate_schema_name``)."""
    return settings.schema(f"{str(read_target(settings.target)['schema']).lower()}_marts")


def publish(settings: Settings) -> Path | None:
    """Copy the marts of the DuckDB warehouse of the settings' target to its published path, atomically;
    the path, or ``None`` on a server warehouse, which readers query in place."""
    kind, profile = warehouse_type(settings)
    if kind != "duckdb":
        return None
    credentials = DuckDBCredentials.from_profile(profile)
    target = published_path(credentials.path, settings.env)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    schema = identifier(marts_schema(settings))
    # The open connection holds the warehouse's write lock, so nothing changes the marts while they are read.
    warehouse = DuckDBClient(credentials)
    try:
        warehouse.execute(f"attach {literal(str(partial))} as published")
        warehouse.execute(f"create schema published.{schema}")
        tables = warehouse.execute(
            "select table_name from information_schema.tables where table_catalog = current_database() "
            "and table_schema = ? and table_type = 'BASE TABLE' order by table_name",
            [schema],
        )
        for (table,) in tables:
            name = identifier(table)
            warehouse.execute(f"create table published.{schema}.{name} as select * from {schema}.{name}")
        warehouse.execute("detach published")
        # it opens, before any reader is sent to it
        DuckDBClient(DuckDBCredentials(partial), read_only=True).close()
        os.replace(partial, target)
    finally:
        warehouse.close()
        partial.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)
    log.info(
        "published %d marts to %s (%.1f MB) for readers", len(tables), target, target.stat().st_size / 1e6
    )
    return target


def open_published(settings: Settings) -> SqlClient:
    """A connection for reading the marts as analysts do: on DuckDB the published copy, read-only; on a
    server warehouse the warehouse itself."""
    kind, profile = warehouse_type(settings)
    if kind != "duckdb":
        return open_client(settings)
    credentials = DuckDBCredentials.from_profile(profile)
    path = published_path(credentials.path, settings.env)
    if not path.is_file():
        raise NotPublished(
            f"no published copy of the warehouse at {path}: `shopwarehouse run` publishes one after a run "
            "whose quality gate passes"
        )
    return DuckDBClient(DuckDBCredentials(path, credentials.settings), read_only=True)
