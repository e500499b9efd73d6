"""One backend per warehouse behind :class:`Warehouse`; :func:`open_warehouse` picks one by dbt profile."""

from __future__ import annotations

from pathlib import Path

from shopwarehouse.config import Settings
from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.zone import Landing
from shopwarehouse.warehouse.base import LoadError, SeenFile, Warehouse
from shopwarehouse.warehouse.profile import ProfileError, read_target

__all__ = ["LoadError", "SeenFile", "Warehouse", "open_warehouse"]


def open_warehouse(settings: Settings, landing: Landing) -> Warehouse:
    """A connection to the warehouse of the dbt profile target ``settings.target``."""
    profile = read_target(settings.target)
    kind = profile.get("type")
    # Each backend imports its driver, so a laptop on DuckDB never imports the Snowflake connector.
    if kind == "duckdb":
        from shopwarehouse.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse(Path(profile["path"]), profile.get("settings") or {})
    if kind == "postgres":
        from shopwarehouse.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse(profile)
    if kind == "snowflake":
        from shopwarehouse.warehouse.snowflake import SnowflakeWarehouse

        return SnowflakeWarehouse(profile, landing, settings.snowflake_storage_integration)
    if kind == "redshift":
        from shopwarehouse.warehouse.redshift import RedshiftWarehouse

        if not landing.location("").startswith("s3://"):  # COPY reads S3
            raise ConfigurationError(
                f"Redshift loads from S3 and the landing zone is {landing.url}: set SHOPWAREHOUSE_LANDING to "
                "the s3:// landing bucket"
            )
        return RedshiftWarehouse.connect(profile, landing, settings.redshift_iam_role)
    raise ProfileError(
        f"target {settings.target!r} has type {kind!r}; the loaders support duckdb, postgres, "
        "snowflake and redshift"
    )
