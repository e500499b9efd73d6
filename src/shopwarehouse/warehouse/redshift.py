"""Redshift: the production warehouse reached through redshift_connector (password or IAM login)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from shopwarehouse.errors import ConfigurationError, Fault
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.warehouse.base import SqlClient


@dataclass(frozen=True)
class RedshiftCredentials:
    host: str
    database: str
    user: str = ""
    port: int = 5439
    password: str | None = None
    iam: bool = False
    """``method: iam``: a temporary password from GetClusterCredentials, for ``user`` on ``cluster_id``."""
    cluster_id: str | None = None
    iam_profile: str | None = None
    region: str | None = None
    ssl: bool = True

    @classmethod
    def from_profile(cls, profile: Mapping[str, Any]) -> RedshiftCredentials:
        iam = profile.get("method") == "iam"
        return cls(
            host=profile["host"],
            database=profile.get("dbname") or profile["database"],
            user=profile.get("user", ""),
            port=int(profile.get("port", 5439)),
            password=None if iam else profile.get("password"),
            iam=iam,
            cluster_id=profile.get("cluster_id"),
            iam_profile=profile.get("iam_profile"),
            region=profile.get("region"),
            ssl=profile.get("sslmode") != "disable",  # as dbt-redshift reads the target's sslmode
        )


class RedshiftClient(SqlClient):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "varchar(65535)",
        ColumnType.DECIMAL: "decimal(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }

    def __init__(self, connection: Any) -> None:
        """A client over an open redshift_connector connection (:meth:`connect` opens one)."""
        self.connection = connection

    @classmethod
    def connect(cls, credentials: RedshiftCredentials) -> RedshiftClient:
        import redshift_connector  # only needed where a cluster is reachable

        try:
            connection = redshift_connector.connect(
                host=credentials.host,
                port=credentials.port,
                database=credentials.database,
                user=credentials.user,
                password=credentials.password,
                iam=credentials.iam,
                cluster_identifier=credentials.cluster_id,
                db_user=credentials.user if credentials.iam else None,
                profile=credentials.iam_profile,
                region=credentials.region,
                ssl=credentials.ssl,
            )
        except Exception as error:
            refused = refusal(error, credentials)
            if refused is None:  # a refused or dropped connection, a timeout: it may pass
                raise
            raise refused from error
        return cls(connection)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, tuple(params) or None)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
        finally:
            cursor.close()

    @classmethod
    def fault(cls, error: BaseException) -> Fault | None:
        return Fault.TRANSIENT if connection_lost(error) else None


# The server's refusals that a retry cannot mend, by SQLSTATE (redshift_connector passes the server's error
# fields as a dict: C the SQLSTATE, M the message), and the server's own momentary states, which may pass.
_REFUSED_STATES = {
    "3D000": 'has no database "{database}": create it (create database {database}) or set REDSHIFT_DATABASE',
    "28P01": 'refused the password of user "{user}": set REDSHIFT_PASSWORD, or use method: iam',
    "28000": 'refused user "{user}" ({message}): create the user or set REDSHIFT_USER',
    "42501": 'refused user "{user}" ({message}): grant it connect on the database or set REDSHIFT_USER',
}
_PASSING_STATES = ("57P01", "57P02", "57P03", "53300")  # shut down, restarting, starting up, too many clients
# What the driver says, with no SQLSTATE, when the network or the server dropped the connection.
_CONNECTION_LOST = (
    "communication error", "BrokenPipe", "connection is closed", "network error", "connection time out",
    "server socket closed",
)  # fmt: skip
# What the driver says, with no SQLSTATE, when the target's settings cannot work.
_REFUSED_SETTINGS = {
    "Server refuses SSL": "does not offer SSL: connect to the cluster's endpoint, or set sslmode: disable",
    "no password was provided": 'asks user "{user}" for a password: set REDSHIFT_PASSWORD or use method: iam',
}
# AWS's answers to the IAM login (GetClusterCredentials) that say the configuration is wrong.
_IAM_REFUSALS = (
    "AccessDenied", "AccessDeniedException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
    "UnrecognizedClientException", "ClusterNotFound", "ClusterNotFoundFault",
)  # fmt: skip


def _server_error(error: BaseException) -> dict[str, str] | None:
    fields = error.args[0] if error.args else None
    return fields if isinstance(fields, dict) and "C" in fields else None


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` is redshift_connector's report of a connection the network or the server ended (or
    never let open: a refused connection, a timeout, a cluster restarting), so a retry may succeed."""
    from redshift_connector.error import InterfaceError, OperationalError

    if not isinstance(error, InterfaceError | OperationalError):
        return False
    fields = _server_error(error)
    if fields is not None:
        return fields["C"].startswith("08") or fields["C"] in _PASSING_STATES
    return any(marker in str(error) for marker in _CONNECTION_LOST)


def refusal(error: BaseException, credentials: RedshiftCredentials) -> ConfigurationError | None:
    """A :class:`ConfigurationError` saying what to fix when connecting failed on the target's settings (no
    such database or user, a wrong password, refused IAM credentials); ``None`` otherwise."""
    import botocore.exceptions

    where = f"Redshift at {credentials.host}:{credentials.port}"
    names = {"user": credentials.user, "database": credentials.database}
    fields = _server_error(error)
    if fields is not None:
        fix = _REFUSED_STATES.get(fields["C"])
        return ConfigurationError(f"{where} " + fix.format(**names, message=fields.get("M"))) if fix else None
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code not in _IAM_REFUSALS:
            return None
        return ConfigurationError(
            f"{where}: AWS refused the IAM login to cluster {credentials.cluster_id} ({code}): check "
            "REDSHIFT_CLUSTER_ID, and that AWS_PROFILE's credentials may call redshift:GetClusterCredentials"
        )
    if isinstance(error, botocore.exceptions.NoCredentialsError | botocore.exceptions.ProfileNotFound):
        return ConfigurationError(f"{where}: no AWS credentials for the IAM login ({error}): set AWS_PROFILE")
    fix = next((fix for said, fix in _REFUSED_SETTINGS.items() if said in str(error)), None)
    return ConfigurationError(f"{where} " + fix.format(**names)) if fix else None
