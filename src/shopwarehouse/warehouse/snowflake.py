"""Snowflake: the production warehouse reached through snowflake-connector-python (and, in tests, the
fakesnow emulator over plain http)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import snowflake.connector
import snowflake.connector.errors

from shopwarehouse.errors import ConfigurationError, Fault
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.warehouse.base import SqlClient


@dataclass(frozen=True)
class SnowflakeCredentials:
    account: str
    user: str
    database: str
    password: str | None = None
    role: str | None = None
    warehouse: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    authenticator: str | None = None
    private_key_path: str | None = None
    private_key_passphrase: str | None = None

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> SnowflakeCredentials:
        port = profile.get("port")
        return cls(
            account=profile["account"],
            user=profile["user"],
            database=profile["database"],
            password=profile.get("password"),
            role=profile.get("role"),
            warehouse=profile.get("warehouse"),
            host=profile.get("host"),
            port=None if port is None else int(port),
            protocol=profile.get("protocol"),
            authenticator=profile.get("authenticator"),
            private_key_path=profile.get("private_key_path"),
            private_key_passphrase=profile.get("private_key_passphrase"),
        )

    def connect_options(self) -> dict[str, Any]:
        """The connector's keyword arguments for what is set."""
        options = {
            "account": self.account, "user": self.user, "password": self.password, "role": self.role,
            "warehouse": self.warehouse, "host": self.host, "port": self.port, "protocol": self.protocol,
            "authenticator": self.authenticator, "private_key_file": self.private_key_path,
            "private_key_file_pwd": self.private_key_passphrase if self.private_key_path else None,
        }  # fmt: skip
        return {key: value for key, value in options.items() if value is not None}


class SnowflakeClient(SqlClient):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar",
        ColumnType.DECIMAL: "number(18, {scale})",
        ColumnType.INTEGER: "number(19, 0)",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamp_tz",
        ColumnType.DATE: "date",
    }

    def __init__(self, credentials: SnowflakeCredentials) -> None:
        self.credentials = credentials
        try:
            self.connection = snowflake.connector.connect(
                database=credentials.database,
                session_parameters={"TIMEZONE": "UTC"},
                application="shopwarehouse",
                # Snowflake then refuses the login when the database, warehouse or role does not exist (or
                # the user may not use it), rather than answering every statement with "no current database".
                validate_default_parameters=True,
                **credentials.connect_options(),
            )
        except snowflake.connector.errors.Error as error:
            refused = refusal(error, credentials)
            if refused is None:  # an unreachable or overloaded service: it may pass
                raise
            raise refused from error

    def run_ddl(self, statements: Sequence[str]) -> None:
        """Snowflake commits each DDL statement by itself; it cannot be part of a transaction."""
        for statement in statements:
            self.execute(statement)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []

    def begin(self) -> None:
        self.execute("begin")

    def commit(self) -> None:
        self.execute("commit")

    def rollback(self) -> None:
        self.execute("rollback")

    @classmethod
    def fault(cls, error: BaseException) -> Fault | None:
        if isinstance(error, snowflake.connector.errors.OperationalError):  # unreachable, overloaded
            return Fault.TRANSIENT
        if isinstance(error, snowflake.connector.errors.DataError):
            return Fault.DATA
        return None


# Snowflake's login refusals (the error numbers of its answer to the login request), with what to change.
_CREDENTIALS_REFUSED = {390100, 390144, 394300, 394301, 394302, 394303, 394304, 394305, 394306}
"""A wrong user or password, or a key pair (JWT) Snowflake does not accept."""
_ROLE_REFUSED = 390189
_OBJECT_REFUSED = 390201
"""With ``validate_default_parameters``: the database, schema or warehouse does not exist or is not the
user's to use."""
_EMPTY_USER_OR_PASSWORD = {251005, 251006}


def refusal(
    error: snowflake.connector.errors.Error, credentials: SnowflakeCredentials
) -> ConfigurationError | None:
    """A :class:`ConfigurationError` saying what to fix when the login failed on the target's settings (the
    credentials, the database, warehouse or role); ``None`` otherwise (a fault that may pass)."""
    where = f'Snowflake account {credentials.account} (user "{credentials.user}")'
    said = " ".join(str(error.msg or "").split())
    if error.errno in _CREDENTIALS_REFUSED | _EMPTY_USER_OR_PASSWORD or error.sqlstate == "28000":
        fix = "set SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or SNOWFLAKE_PRIVATE_KEY_PATH) to valid credentials"
    elif error.errno == _ROLE_REFUSED:
        fix = f"grant the role {credentials.role} to the user, or set SNOWFLAKE_ROLE to one of its roles"
    elif error.errno == _OBJECT_REFUSED or "does not exist or not authorized" in said:
        fix = (
            f"create database {credentials.database} and warehouse {credentials.warehouse}, or grant "
            "the user's role their use, or set SNOWFLAKE_DATABASE and SNOWFLAKE_WAREHOUSE"
        )
    else:
        return None
    return ConfigurationError(f"{where} refused the login ({error.errno}: {said}): {fix}")
