"""Snowflake: ``COPY INTO raw.<entity> FROM @stage FILES = (...)`` over an external stage on the landing zone.

The validated rows are staged as one Parquet file under ``_stage/`` in the landing zone (typed, so nothing is
re-parsed, and matched to the table by column name), copied with ``ON_ERROR = ABORT_STATEMENT`` inside the
file's transaction, and the staged file is removed again. The stage
points at the landing zone: ``s3://`` with a storage integration in production, ``file://`` on a laptop and
with the fakesnow emulator.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import snowflake.connector

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.landing.zone import Landing
from shopwarehouse.load.tables import RAW_SCHEMA, LedgerEntry, identifier
from shopwarehouse.warehouse.base import (
    Warehouse,
    literal,
    qualified,
    staged_key,
)

STAGE = f"{RAW_SCHEMA}._shopwarehouse_landing"
_CONNECT_KEYS = (
    "account", "user", "password", "role", "warehouse", "host", "port", "protocol", "authenticator",
)  # fmt: skip


def copy_sql(entity: str, key: str) -> str:
    """COPY of one staged Parquet file at ``key`` (landing-relative) into ``raw.<entity>``, by column name."""
    folder, _, name = key.rpartition("/")
    return (
        f"copy into {qualified(entity)} from @{STAGE}/{folder}/ files = ({literal(name)}) "
        "file_format = (type = parquet) match_by_column_name = case_insensitive "
        "on_error = abort_statement"
    )


class SnowflakeWarehouse(Warehouse):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar",
        ColumnType.DECIMAL: "number(18, {scale})",
        ColumnType.INTEGER: "number(19, 0)",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamp_tz",
        ColumnType.DATE: "date",
    }

    def __init__(self, profile: dict[str, Any], landing: Landing, storage_integration: str | None) -> None:
        self.landing = landing
        self.storage_integration = storage_integration
        options = {key: profile[key] for key in _CONNECT_KEYS if profile.get(key) is not None}
        if profile.get("private_key_path"):
            options["private_key_file"] = profile["private_key_path"]
            if profile.get("private_key_passphrase"):
                options["private_key_file_pwd"] = profile["private_key_passphrase"]
        try:
            self.connection = snowflake.connector.connect(
                database=profile["database"],
                session_parameters={"TIMEZONE": "UTC"},
                application="shopwarehouse",
                # Snowflake then refuses the login when the database, warehouse or role does not exist (or
                # the user may not use it), rather than answering every statement with "no current database".
                validate_default_parameters=True,
                **options,
            )
        except snowflake.connector.errors.Error as error:
            refused = refusal(error, profile)
            if refused is None:  # an unreachable or overloaded service: it may pass
                raise
            raise refused from error

    def prepare(self) -> None:
        super().prepare()
        url = literal(self.landing.location("").rstrip("/") + "/")
        # Unquoted Snowflake names are case-insensitive: LANDING_S3 and landing_s3 are one integration.
        integration = self.storage_integration.lower() if self.storage_integration else None
        self._execute(
            f"create or replace stage {STAGE} url = {url}"
            + (f" storage_integration = {identifier(integration)}" if integration else "")
        )

    def _run_ddl(self, statements: Sequence[str]) -> None:
        """Snowflake commits each DDL statement by itself; it cannot be part of a transaction."""
        for statement in statements:
            self._execute(statement)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        key = staged_key(first, part, ".parquet")
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        self.landing.put(key, buffer.getvalue())
        try:
            results = self._execute(copy_sql(entity, key))
        finally:
            self.landing.delete(key)
        # One result row per file: (file, status, rows_parsed, rows_loaded, ...).
        return sum(int(row[3]) for row in results)

    def _begin(self) -> None:
        self._execute("begin")

    def _commit(self) -> None:
        self._execute("commit")

    def _rollback(self) -> None:
        self._execute("rollback")


# Snowflake's login refusals (the error numbers of its answer to the login request), with what to change.
_CREDENTIALS_REFUSED = {390100, 390144, 394300, 394301, 394302, 394303, 394304, 394305, 394306}
"""A wrong user or password, or a key pair (JWT) Snowflake does not accept."""
_ROLE_REFUSED = 390189
_OBJECT_REFUSED = 390201
"""With ``validate_default_parameters``: the database, schema or warehouse does not exist or is not the
user's to use."""
_EMPTY_USER_OR_PASSWORD = {251005, 251006}


def refusal(error: snowflake.connector.errors.Error, profile: dict[str, Any]) -> ConfigurationError | None:
    """A :class:`ConfigurationError` saying what to fix when the login failed on the target's settings (the
    credentials, the database, warehouse or role); ``None`` otherwise (a fault that may pass)."""
    where = f'Snowflake account {profile.get("account")} (user "{profile.get("user")}")'
    said = " ".join(str(error.msg or "").split())
    if error.errno in _CREDENTIALS_REFUSED | _EMPTY_USER_OR_PASSWORD or error.sqlstate == "28000":
        fix = "set SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH) to valid credentials"
    elif error.errno == _ROLE_REFUSED:
        fix = f"grant the role {profile.get('role')} to the user, or set SNOWFLAKE_ROLE to one of its roles"
    elif error.errno == _OBJECT_REFUSED or "does not exist or not authorized" in said:
        fix = (
            f"create database {profile.get('database')} and warehouse {profile.get('warehouse')}, or grant "
            "the user's role their use, or set SNOWFLAKE_DATABASE and SNOWFLAKE_WAREHOUSE"
        )
    else:
        return None
    return ConfigurationError(f"{where} refused the login ({error.errno}: {said}): {fix}")
