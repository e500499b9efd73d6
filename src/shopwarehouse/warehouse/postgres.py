"""PostgreSQL: the server target tested in CI, the closest open relative of Redshift."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from shopwarehouse.errors import ConfigurationError, Fault
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.warehouse.base import SqlClient


@dataclass(frozen=True)
class PostgresCredentials:
    host: str
    user: str
    dbname: str
    port: int = 5432
    password: str | None = None
    sslmode: str | None = None
    connect_timeout: int = 10

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> PostgresCredentials:
        return cls(
            host=profile["host"],
            user=profile["user"],
            dbname=profile.get("dbname") or profile["database"],
            port=int(profile.get("port", 5432)),
            password=profile.get("password") or None,
            sslmode=profile.get("sslmode"),
            connect_timeout=int(profile.get("connect_timeout", 10)),
        )


class PostgresClient(SqlClient):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "text",
        ColumnType.DECIMAL: "numeric(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }

    def __init__(self, credentials: PostgresCredentials) -> None:
        self.credentials = credentials
        try:
            self.connection = psycopg2.connect(
                host=credentials.host,
                port=credentials.port,
                user=credentials.user,
                password=credentials.password,
                dbname=credentials.dbname,
                sslmode=credentials.sslmode,
                connect_timeout=credentials.connect_timeout,
                application_name="shopwarehouse",
                options="-c timezone=UTC",
            )
        except psycopg2.OperationalError as error:
            refused = refusal(str(error), credentials.host, credentials.port)
            if refused is None:  # refused or dropped connection, server starting or full: it may pass
                raise
            raise refused from error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall() if cursor.description else []

    @classmethod
    def fault(cls, error: BaseException) -> Fault | None:
        if isinstance(error, psycopg2.OperationalError):  # server gone, connection refused or terminated
            return Fault.TRANSIENT
        if isinstance(error, psycopg2.extensions.TransactionRollbackError):  # serialization failure, deadlock
            return Fault.LOST_RACE
        if isinstance(error, psycopg2.errors.UniqueViolation):
            # The pipeline's tables have no unique keys: this is two "create ... if not exists" of one schema
            # or table at once, racing on the catalog's own keys.
            return Fault.LOST_RACE
        if isinstance(error, psycopg2.DataError | psycopg2.IntegrityError):
            return Fault.DATA
        return None


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
