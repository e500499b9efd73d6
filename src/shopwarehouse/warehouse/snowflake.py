"""Snowflake: the production warehouse reached through snowflake-connector-python (and, in tests, the
fakesnow emulator over plain http)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import snowflake.connector
import snowflake.connector.errors
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from shopwarehouse.errors import ConfigurationError, Fault
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.warehouse.base import SqlClient


@dataclass(frozen=True)
class SnowflakeCredentials:
    account: str
    user: str
    database: str
    password: str | None = field(default=None, repr=False)
    role: str | None = None
    warehouse: str | None = None
    host: str | None = None
    port: int | None = None
    protocol: str | None = None
    authenticator: str | None = None
    private_key: str | None = field(default=None, repr=False)
    """The key pair's private key itself, as dbt-snowflake reads the profile's ``private_key``: PEM text
    (``-----BEGIN [ENCRYPTED] PRIVATE KEY-----`` ...), else the base64 of its DER bytes."""
    private_key_path: str | None = None
    """A file holding the private key in PEM, the profile's ``private_key_path`` (dbt reads either key)."""
    private_key_passphrase: str | None = field(default=None, repr=False)
    """The private key's passphrase; empty or unset for a key that is not encrypted."""

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
            private_key=profile.get("private_key") or None,
            private_key_path=profile.get("private_key_path") or None,
            private_key_passphrase=profile.get("private_key_passphrase") or None,
        )

    def connect_options(self) -> dict[str, Any]:
        """The connector's keyword arguments for what is set. A key pair's private key goes in decrypted,
        as DER bytes (PKCS#8), which the connector signs its login token with."""
        options = {
            "account": self.account, "user": self.user, "password": self.password, "role": self.role,
            "warehouse": self.warehouse, "host": self.host, "port": self.port, "protocol": self.protocol,
            "authenticator": self.authenticator, "private_key": self.private_key_der(),
        }  # fmt: skip
        return {key: value for key, value in options.items() if value is not None}

    def private_key_der(self) -> bytes | None:
        """The private key of the key pair, decrypted with its passphrase, as DER bytes (PKCS#8); ``None``
        without one. A key that cannot be read is a :class:`ConfigurationError` naming the fix."""
        where = f'Snowflake account {self.account} (user "{self.user}")'
        if self.private_key and self.private_key_path:
            raise ConfigurationError(
                f"{where}: the profile target sets both private_key and private_key_path: keep one "
                "(profiles.yml.example reads the key itself from SNOWFLAKE_PRIVATE_KEY)"
            )
        if self.private_key:
            what, pem = "the private key in SNOWFLAKE_PRIVATE_KEY", self.private_key.startswith("-")
            fix = "set SNOWFLAKE_PRIVATE_KEY to the content of the key file (PEM)"
            try:
                data = self.private_key.encode() if pem else base64.b64decode(self.private_key)
            except ValueError:  # neither PEM nor base64
                raise ConfigurationError(f"{where}: {what} is not a private key: {fix}") from None
        elif self.private_key_path:
            what, pem = f"the private key file {self.private_key_path}", True
            fix = "set private_key_path to the key file (PEM)"
            try:
                data = Path(self.private_key_path).expanduser().read_bytes()
            except OSError as error:
                raise ConfigurationError(
                    f"{where}: {what} cannot be read ({error.strerror}): {fix}"
                ) from None
        else:
            return None
        load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
        passphrase = self.private_key_passphrase.encode() if self.private_key_passphrase else None
        try:
            key = load(data, password=passphrase)
        except TypeError:  # a passphrase for a key that has none, or none for an encrypted key
            if passphrase:
                raise ConfigurationError(
                    f"{where}: {what} is not encrypted: leave SNOWFLAKE_PRIVATE_KEY_PASSPHRASE empty"
                ) from None
            raise ConfigurationError(
                f"{where}: {what} is encrypted: set SNOWFLAKE_PRIVATE_KEY_PASSPHRASE to its passphrase"
            ) from None
        except ValueError:  # a wrong passphrase, or no key at all
            if passphrase and _encrypted(load, data):
                raise ConfigurationError(
                    f"{where}: {what} cannot be decrypted with SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: set it to "
                    "the passphrase the key was encrypted with"
                ) from None
            raise ConfigurationError(f"{where}: {what} is not a private key: {fix}") from None
        except UnsupportedAlgorithm:
            raise ConfigurationError(
                f"{where}: {what} is encrypted with a scheme that cannot be read: encrypt it again, e.g. "
                "openssl pkcs8 -topk8 -v2 aes256 -in old.p8 -out new.p8"
            ) from None
        return key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _encrypted(load: Any, data: bytes) -> bool:
    """Whether ``data`` is an encrypted private key: one that asks for a passphrase."""
    try:
        load(data, password=None)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return False


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
        fix = "set SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY (or SNOWFLAKE_PASSWORD) to valid credentials"
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
