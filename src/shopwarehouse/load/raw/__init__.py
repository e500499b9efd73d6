"""One raw loader per warehouse behind :class:`RawLoader`: :func:`open_raw_loader` picks the one of the dbt
profile target, over that warehouse's SQL client."""

from __future__ import annotations

from typing import Any

from shopwarehouse.config import Settings
from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.zone import Landing
from shopwarehouse.load.raw.base import LoadError, RawLoader, SeenFile
from shopwarehouse.load.tables import RAW_SCHEMA
from shopwarehouse.warehouse import connect, warehouse_type

__all__ = ["LoadError", "RawLoader", "SeenFile", "check_landing", "open_raw_loader"]


def check_landing(settings: Settings, landing: Landing) -> tuple[str, dict[str, Any]]:
    """The target's warehouse type and rendered profile entry, once it is known to load from ``landing``: a
    :class:`ConfigurationError` before anything connects when it cannot (Redshift's COPY reads S3 only)."""
    kind, profile = warehouse_type(settings)
    if kind == "redshift" and not landing.location("").startswith("s3://"):
        raise ConfigurationError(
            f"Redshift loads from S3 and the landing zone is {landing.url}: set SHOPWAREHOUSE_LANDING to "
            "the s3:// landing bucket"
        )
    return kind, profile


def open_raw_loader(settings: Settings, landing: Landing) -> RawLoader:
    """The raw loader of the warehouse of the dbt profile target ``settings.target``, connected."""
    kind, profile = check_landing(settings, landing)
    client = connect(kind, profile)
    schema = settings.schema(RAW_SCHEMA)
    # Each loader module imports its client's, so a laptop on DuckDB never imports the Snowflake connector.
    if kind == "duckdb":
        from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
        from shopwarehouse.warehouse.duckdb import DuckDBClient

        assert isinstance(client, DuckDBClient)
        return DuckDBRawLoader(client, schema)
    if kind == "postgres":
        from shopwarehouse.load.raw.postgres import PostgresRawLoader
        from shopwarehouse.warehouse.postgres import PostgresClient

        assert isinstance(client, PostgresClient)
        return PostgresRawLoader(client, schema)
    if kind == "snowflake":
        from shopwarehouse.load.raw.snowflake import SnowflakeRawLoader
        from shopwarehouse.warehouse.snowflake import SnowflakeClient

        assert isinstance(client, SnowflakeClient)
        return SnowflakeRawLoader(client, landing, settings.snowflake_storage_integration, schema)
    from shopwarehouse.load.raw.redshift import RedshiftRawLoader
    from shopwarehouse.warehouse.redshift import RedshiftClient

    assert isinstance(client, RedshiftClient)
    return RedshiftRawLoader(client, landing, settings.redshift_iam_role, schema)
