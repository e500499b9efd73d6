"""One SQL client per warehouse behind :class:`SqlClient`: :func:`open_client` opens the one of the dbt
profile target; :func:`fault_of` asks the right client what a driver's error means."""

from __future__ import annotations

import importlib
from typing import Any

from shopwarehouse.config import Settings
from shopwarehouse.errors import Fault
from shopwarehouse.warehouse.base import SqlClient
from shopwarehouse.warehouse.profile import ProfileError, read_target

__all__ = ["SqlClient", "connect", "fault_of", "open_client", "warehouse_type"]

KINDS = ("duckdb", "postgres", "snowflake", "redshift")
_DRIVERS = {
    "_duckdb": ("duckdb", "DuckDBClient"),  # DuckDB's errors are defined in its extension module
    "psycopg2": ("postgres", "PostgresClient"),
    "snowflake": ("snowflake", "SnowflakeClient"),
    "redshift_connector": ("redshift", "RedshiftClient"),
}
"""Each driver's top-level package, and the client (module, class) that knows its errors."""


def warehouse_type(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The type of the dbt profile target ``settings.target`` and its rendered entry."""
    profile = read_target(settings.target)
    kind = profile.get("type")
    if kind not in KINDS:
        raise ProfileError(
            f"target {settings.target!r} has type {kind!r}; shopwarehouse supports {', '.join(KINDS)}"
        )
    return str(kind), profile


def open_client(settings: Settings) -> SqlClient:
    """A connection to the warehouse of the dbt profile target ``settings.target``."""
    return connect(*warehouse_type(settings))


def connect(kind: str, profile: dict[str, Any]) -> SqlClient:
    """A connection to the warehouse of type ``kind`` that the rendered profile target ``profile`` names."""
    # Each client imports its driver, so a laptop on DuckDB never imports the Snowflake connector.
    if kind == "duckdb":
        from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

        return DuckDBClient(DuckDBCredentials.from_profile(profile))
    if kind == "postgres":
        from shopwarehouse.warehouse.postgres import PostgresClient, PostgresCredentials

        return PostgresClient(PostgresCredentials.from_profile(profile))
    if kind == "snowflake":
        from shopwarehouse.warehouse.snowflake import SnowflakeClient, SnowflakeCredentials

        return SnowflakeClient(SnowflakeCredentials.from_profile(profile))
    from shopwarehouse.warehouse.redshift import RedshiftClient, RedshiftCredentials

    return RedshiftClient.connect(RedshiftCredentials.from_profile(profile))


def fault_of(error: BaseException) -> Fault | None:
    """What ``error`` means, when a warehouse driver raised it (the client of that driver says); ``None``
    for an error of anything else. A driver nobody has imported raised nothing, so none is imported here."""
    found = _DRIVERS.get(type(error).__module__.split(".")[0])
    if found is None:
        return None
    module, name = found
    client: type[SqlClient] = getattr(importlib.import_module(f"shopwarehouse.warehouse.{module}"), name)
    return client.fault(error)
