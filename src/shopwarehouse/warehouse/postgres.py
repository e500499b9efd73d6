"""Postgres: ``COPY raw.<entity> FROM STDIN`` streaming the validated rows as CSV."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg2
import pyarrow as pa

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.warehouse.base import Warehouse, column_list, qualified, to_csv


class PostgresWarehouse(Warehouse):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "text",
        ColumnType.DECIMAL: "numeric(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }

    def __init__(self, profile: dict[str, Any]) -> None:
        host, port = profile["host"], profile.get("port", 5432)
        try:
            self.connection = psycopg2.connect(
                host=host,
                port=port,
                user=profile["user"],
                password=profile.get("password") or None,
                dbname=profile.get("dbname") or profile["database"],
                sslmode=profile.get("sslmode"),
                connect_timeout=profile.get("connect_timeout", 10),
                application_name="shopwarehouse-load",
                options="-c timezone=UTC",
            )
        except psycopg2.OperationalError as error:
            refused = refusal(str(error), host, port)
            if refused is None:  # refused or dropped connection, server starting or full: it may pass
                raise
            raise refused from error

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall() if cursor.description else []

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        sql = (
            f"copy {qualified(entity)} ({column_list(raw_columns(entity))}) "
            "from stdin with (format csv, header true)"
        )
        with self.connection.cursor() as cursor:
            cursor.copy_expert(sql, io.BytesIO(to_csv(rows)))
            return int(cursor.rowcount)


# What the server (or libpq) says when it refuses the connection settings themselves, and what to change.
# psycopg2 raises the same OperationalError, without a SQLSTATE, for these as for a refused or dropped
# connection, so they are told apart by the message (the server's lc_messages must be English, the default).
_REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'database "(?P<name>[^"]*)" does not exist'),
     'has no database "{name}": create it (createdb {name}) or set SHOPWAREHOUSE_PG_DATABASE'),
    (re.compile(r'role "(?P<name>[^"]*)" does not exist'),
     'has no role "{name}": create it (createuser {name}) or set SHOPWAREHOUSE_PG_USER'),
    (re.compile(r'role "(?P<name>[^"]*)" is not permitted to log in'),
     'does not let role "{name}" log in: allow it (alter role {name} login) or set SHOPWAREHOUSE_PG_USER'),
    (re.compile(r'password authentication failed for user "(?P<name>[^"]*)"'),
     'refused the password of user "{name}": set SHOPWAREHOUSE_PG_PASSWORD to its password'),
    (re.compile(r"no password supplied"),
     "asks for a password and none is set: set SHOPWAREHOUSE_PG_PASSWORD"),
    (re.compile(r'no pg_hba\.conf entry for .* user "(?P<user>[^"]*)", database "(?P<name>[^"]*)"'),
     'does not accept user "{user}" for database "{name}" from this host: add a line for it to the '
     "server's pg_hba.conf, or set SHOPWAREHOUSE_PG_USER"),
    (re.compile(r'permission denied for database "(?P<name>[^"]*)"'),
     'does not let this user connect to database "{name}": grant connect on database {name} to it, or set '
     "SHOPWAREHOUSE_PG_USER"),
    (re.compile(r'could not translate host name "[^"]*" to address: Name or service not known'),
     "is unknown (the host name does not resolve): set SHOPWAREHOUSE_PG_HOST"),
)  # fmt: skip


def refusal(message: str, host: str, port: int) -> ConfigurationError | None:
    """A :class:`ConfigurationError` saying what to fix when the connection failed on its settings (no such
    database or role, a wrong password...); ``None`` when it failed otherwise (a fault that may pass)."""
    for pattern, fix in _REFUSALS:
        if found := pattern.search(message):
            return ConfigurationError(f"PostgreSQL at {host}:{port} " + fix.format(**found.groupdict()))
    return None
