"""Configuration errors end a command at once with exit 1 and one line naming the fix; only faults that may
pass are retried, exit 75 and say to run it again.

Each case runs the ``shopwarehouse`` command against a real server: the local PostgreSQL server (and, for
a refused password, a second PostgreSQL server of the test's own, because the local one trusts every
connection from 127.0.0.1), the Redshift driver against the same PostgreSQL servers (it speaks their
protocol and reports their refusals), and the local S3 server (moto; for refused credentials, a second one
with its IAM checks turned on). Snowflake's login refusals cannot be produced by the emulator (fakesnow
creates any database it is asked for and checks no password): they are classified from the connector's
own error objects, with the numbers Snowflake sends.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import psycopg2
import pytest
import snowflake.connector.errors
from psycopg2 import sql
from support import PG_TEST_DATABASE, REPO, cli, free_port, listening, start_s3_server, start_server

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.errors import ConfigurationError
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.landing.zone import LocalLanding, open_landing
from shopwarehouse.pipeline.report import EXIT_FAILED, EXIT_TRANSIENT
from shopwarehouse.pipeline.retry import RetryPolicy, call_with_retries, is_transient
from shopwarehouse.warehouse.snowflake import SnowflakeCredentials
from shopwarehouse.warehouse.snowflake import refusal as snowflake_refusal

# Each case runs the command against a real server: left out of `make test-fast`.
pytestmark = pytest.mark.slow

DAY = "2024-03-02"
# Three attempts with short waits: a fault that may pass is retried ("attempt 2 of 3" in the log), and a
# configuration error must not be.
RETRIES = {"SHOPWAREHOUSE_RETRY_ATTEMPTS": "3", "SHOPWAREHOUSE_RETRY_BASE_SECONDS": "0.01"}


def configuration_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``Error:`` line of a command that stopped on a configuration error, checked: exit 1, no
    traceback, nothing retried, no advice to run it again."""
    assert result.returncode == EXIT_FAILED, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "attempt 2 of" not in result.stderr, result.stderr
    assert "run it again" not in result.stderr.lower(), result.stderr
    return errors[0]


@pytest.fixture
def landing_dir(tmp_path: Path) -> Path:
    """Two days landed in a local directory: whatever fails in these tests, it is not the landing zone."""
    root = tmp_path / "landing"
    generate(LocalLanding(root), GenerateOptions(start=date(2024, 3, 1), days=2, seed=3, orders_per_day=20))
    return root


def run_env(tmp_path: Path, landing: Path | str, **settings: str) -> dict[str, str]:
    """The environment of a command on the repository's profile, its artefacts under ``tmp_path``."""
    return {
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "SHOPWAREHOUSE_LANDING": str(landing),
        "SHOPWAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "SHOPWAREHOUSE_REPORT_PATH": str(tmp_path / "kpi_report.html"),
        **RETRIES,
        **settings,
    }


COMMANDS = {
    "load": ["load", "--all"],
    "run": ["run", "--date", DAY],
    "backfill": ["backfill", "--start", DAY, "--end", DAY],
    "status": ["status"],
}


# -- PostgreSQL ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_missing_postgres_database_is_a_configuration_error(
    command: str, postgres_database: str, landing_dir: Path, tmp_path: Path
) -> None:
    # GIVEN a PostgreSQL server without the database the target names (the issue: it said "run it again")
    missing = f"{PG_TEST_DATABASE}_missing"
    env = run_env(tmp_path, landing_dir, SHOPWAREHOUSE_PG_DATABASE=missing)
    # WHEN any command that reads or writes the warehouse runs THEN it stops at once, naming the fix
    result = cli("--target", "postgres", *COMMANDS[command], env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f'Error: PostgreSQL at 127.0.0.1:5432 has no database "{missing}": create it (createdb {missing}) or '
        "set SHOPWAREHOUSE_PG_DATABASE"
    )


def test_a_missing_postgres_role_is_a_configuration_error(
    postgres_database: str, landing_dir: Path, tmp_path: Path
) -> None:
    role = f"{PG_TEST_DATABASE}_no_such_role"
    env = run_env(tmp_path, landing_dir, SHOPWAREHOUSE_PG_DATABASE=postgres_database,
                  SHOPWAREHOUSE_PG_USER=role)  # fmt: skip
    result = cli("--target", "postgres", "run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f'Error: PostgreSQL at 127.0.0.1:5432 has no role "{role}": create it (createuser {role}) or set '
        "SHOPWAREHOUSE_PG_USER"
    )


@pytest.fixture
def postgres_admin(postgres_database: str) -> Iterator[psycopg2.extensions.connection]:
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    conn.autocommit = True
    yield conn
    conn.close()


def test_a_postgres_role_that_may_not_log_in_is_a_configuration_error(
    postgres_admin: psycopg2.extensions.connection, postgres_database: str, landing_dir: Path, tmp_path: Path
) -> None:
    # GIVEN a role of the server that may not log in (NOLOGIN), refused whatever the authentication method
    role = f"{PG_TEST_DATABASE}_nologin"
    with postgres_admin.cursor() as cur:
        cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
        cur.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    try:
        env = run_env(tmp_path, landing_dir, SHOPWAREHOUSE_PG_DATABASE=postgres_database,
                      SHOPWAREHOUSE_PG_USER=role)  # fmt: skip
        result = cli("--target", "postgres", "load", env=env, returncode=EXIT_FAILED)
    finally:
        with postgres_admin.cursor() as cur:
            cur.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
    assert configuration_error(result) == (
        f'Error: PostgreSQL at 127.0.0.1:5432 does not let role "{role}" log in: allow it (alter role {role} '
        "login) or set SHOPWAREHOUSE_PG_USER"
    )


@dataclass(frozen=True)
class PasswordServer:
    """A PostgreSQL server that checks passwords (md5, as Redshift does), with a login role of its own."""

    port: int
    user: str
    database: str


def _postgres_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout
    bindir = Path(found.strip())
    return bindir if (bindir / "initdb").is_file() else None


@pytest.fixture(scope="module")
def password_server() -> Iterator[PasswordServer]:
    """A second PostgreSQL server, of this module's own, that asks for passwords.

    The local server's pg_hba.conf trusts every connection from 127.0.0.1 (``host all all 127.0.0.1/32
    trust``), so no wrong password can be refused there, and the shared server's configuration is not the
    tests' to change. This one is made by ``initdb --auth=md5`` in a temporary directory, on a
    free port of the loopback address, as the ``postgres`` user when the tests run as root.
    """
    bindir = _postgres_bindir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if bindir is None or (as_postgres and shutil.which("runuser") is None):
        message = "PostgreSQL's initdb (pg_config --bindir) or runuser is missing"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="shopwarehouse-pg-"))
    superuser_password = secrets.token_urlsafe(16)
    (root / "pwfile").write_text(superuser_password + "\n")
    if as_postgres:
        shutil.chown(root, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    port = free_port()
    try:
        subprocess.run(
            [*as_postgres, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
             "--auth=md5", f"--pwfile={root / 'pwfile'}", "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

        server = start_server(
            [*as_postgres, str(bindir / "postgres"), "-D", str(root / "data"), "-p", str(port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={root}", "-c", "fsync=off",
             "-c", "shared_buffers=16MB", "-c", "max_connections=20"],
            listening(port), "the password-checking PostgreSQL server",
        )  # fmt: skip
        try:
            # A login role with a password, as a production warehouse has one for the loaders.
            admin = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                                     password=str(superuser_password), connect_timeout=10)  # fmt: skip
            admin.autocommit = True
            with admin.cursor() as cur:
                # md5, which Redshift's driver speaks (it fails on this server's SCRAM offer)
                cur.execute("set password_encryption = 'md5'")
                cur.execute(
                    sql.SQL("create role cfg_loader login password {}").format(
                        sql.Literal(secrets.token_urlsafe(16))
                    )
                )
                cur.execute("create database cfg_warehouse owner cfg_loader")
            admin.close()
            yield PasswordServer(port, "cfg_loader", "cfg_warehouse")
        finally:
            server.terminate()  # runuser passes SIGTERM on; the server shuts down
            server.wait(timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_refused_postgres_password_is_a_configuration_error(
    password_server: PasswordServer, landing_dir: Path, tmp_path: Path
) -> None:
    # GIVEN the loaders' role on a server that checks passwords, and a wrong password for it
    env = run_env(
        tmp_path, landing_dir, SHOPWAREHOUSE_PG_PORT=str(password_server.port),
        SHOPWAREHOUSE_PG_USER=password_server.user, SHOPWAREHOUSE_PG_DATABASE=password_server.database,
        SHOPWAREHOUSE_PG_PASSWORD=str(secrets.token_urlsafe(12)),
    )  # fmt: skip
    result = cli("--target", "postgres", "run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: PostgreSQL at 127.0.0.1:{password_server.port} refused the password of user "
        f'"{password_server.user}": set SHOPWAREHOUSE_PG_PASSWORD to its password'
    )
    assert env["SHOPWAREHOUSE_PG_PASSWORD"] not in result.stdout + result.stderr


def test_postgres_not_listening_is_a_fault_that_may_pass_retried_and_run_again(
    landing_dir: Path, tmp_path: Path
) -> None:
    # GIVEN a target port where nothing listens (a server down, restarting, not reachable yet)
    env = run_env(tmp_path, landing_dir, SHOPWAREHOUSE_PG_PORT=str(free_port()))
    # WHEN a load runs THEN it exits with 75 and says to run it again
    load = cli("--target", "postgres", "load", env=env, returncode=EXIT_TRANSIENT)
    assert "Error: the load stopped on a fault that may pass: OperationalError" in load.stderr
    assert "Connection refused" in load.stderr
    assert "Run it again." in load.stderr
    # AND a run retries it (attempts 2 and 3 of 3) before it gives up the same way
    run = cli("--target", "postgres", "run", "--date", DAY, env=env, returncode=EXIT_TRANSIENT)
    assert "attempt 2 of 3" in run.stderr
    assert "attempt 3 of 3" in run.stderr
    assert "Error: the run did not start: OperationalError" in run.stderr
    assert "Run it again." in run.stderr


# -- Redshift's driver, against the same servers ---------------------------------------------------------


def redshift_env(tmp_path: Path, landing: str, port: int, user: str, database: str, **settings: str
                 ) -> dict[str, str]:  # fmt: skip
    """The environment of a command whose ``redshift`` target reaches a PostgreSQL server through
    redshift_connector (without SSL, which the local servers do not offer); the password comes from
    ``CFG_REDSHIFT_PASSWORD``. Redshift loads from S3, so ``landing`` is a prefix in the local S3 server
    (the connection fails before anything is listed there)."""
    directory = tmp_path / "redshift_profile"
    directory.mkdir()
    target = {
        "type": "redshift", "method": "database", "host": "127.0.0.1", "port": port, "user": user,
        "password": "{{ env_var('CFG_REDSHIFT_PASSWORD', '') }}", "dbname": database, "schema": "analytics",
        "sslmode": "disable",
    }  # fmt: skip
    (directory / "profiles.yml").write_text(json.dumps({"shopwarehouse": {"outputs": {"redshift": target}}}))
    return run_env(tmp_path, landing, DBT_PROFILES_DIR=str(directory), **settings)


@pytest.fixture
def s3_landing(s3_endpoint: str, tmp_path: Path) -> dict[str, str]:
    return {"landing": f"s3://shopwarehouse-test/cfg-redshift-{tmp_path.name}",
            "SHOPWAREHOUSE_S3_ENDPOINT_URL": s3_endpoint}  # fmt: skip


def test_a_missing_database_through_the_redshift_driver_is_a_configuration_error(
    postgres_database: str, s3_landing: dict[str, str], tmp_path: Path
) -> None:
    missing = f"{PG_TEST_DATABASE}_missing"
    env = redshift_env(tmp_path, port=5432, user="postgres", database=missing, **s3_landing)
    result = cli("--target", "redshift", "load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f'Error: Redshift at 127.0.0.1:5432 has no database "{missing}": create it (create database '
        f"{missing}) or set REDSHIFT_DATABASE"
    )


def test_a_missing_user_through_the_redshift_driver_is_a_configuration_error(
    postgres_database: str, s3_landing: dict[str, str], tmp_path: Path
) -> None:
    role = f"{PG_TEST_DATABASE}_no_such_role"
    env = redshift_env(tmp_path, port=5432, user=role, database=postgres_database, **s3_landing)
    result = cli("--target", "redshift", "run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f'Error: Redshift at 127.0.0.1:5432 refused user "{role}" (role "{role}" does not exist): create the '
        "user or set REDSHIFT_USER"
    )


def test_a_refused_password_through_the_redshift_driver_is_a_configuration_error(
    password_server: PasswordServer, s3_landing: dict[str, str], tmp_path: Path
) -> None:
    server = password_server
    env = redshift_env(tmp_path, port=server.port, user=server.user, database=server.database,
                       CFG_REDSHIFT_PASSWORD=str(secrets.token_urlsafe(12)), **s3_landing)  # fmt: skip
    result = cli("--target", "redshift", "load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f'Error: Redshift at 127.0.0.1:{server.port} refused the password of user "{server.user}": set '
        "REDSHIFT_PASSWORD, or use method: iam"
    )


def test_a_refused_connection_through_the_redshift_driver_is_a_fault_that_may_pass(
    s3_landing: dict[str, str], tmp_path: Path
) -> None:
    # A dropped or refused connection is redshift_connector's InterfaceError("communication error", ...)
    env = redshift_env(tmp_path, port=free_port(), user="postgres", database="postgres", **s3_landing)
    run = cli("--target", "redshift", "run", "--date", DAY, env=env, returncode=EXIT_TRANSIENT)
    assert "attempt 2 of 3" in run.stderr
    assert "Error: the run did not start: InterfaceError: ('communication error'" in run.stderr
    assert "Run it again." in run.stderr


def test_a_redshift_target_with_a_local_landing_zone_is_a_configuration_error(
    postgres_database: str, landing_dir: Path, tmp_path: Path
) -> None:
    env = redshift_env(tmp_path, str(landing_dir), port=5432, user="postgres", database=postgres_database)
    result = cli("--target", "redshift", "load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: Redshift loads from S3 and the landing zone is {landing_dir}: set SHOPWAREHOUSE_LANDING to "
        "the s3:// landing bucket"
    )


# -- the landing zone: the local S3 server, a local directory ---------------------------------------------


def test_a_missing_bucket_is_a_configuration_error_in_a_load_and_in_the_runs_step(
    s3_endpoint: str, tmp_path: Path
) -> None:
    env = run_env(tmp_path, "s3://cfg-no-such-bucket/landing", SHOPWAREHOUSE_TARGET="duckdb",
                  SHOPWAREHOUSE_S3_ENDPOINT_URL=s3_endpoint)  # fmt: skip
    expected = (
        f"the bucket cfg-no-such-bucket does not exist at {s3_endpoint}: create it (shopwarehouse s3 init) "
        "or set SHOPWAREHOUSE_LANDING to the landing bucket"
    )
    load = cli("load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(load) == f"Error: {expected}"
    # In a run, it is the first step's failure: one attempt, the line in the step and in the run ledger
    run = cli("run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(run) == f"Error: check_landing: {expected}"
    assert_step_failed_once(tmp_path, "check_landing", expected)


def assert_step_failed_once(tmp_path: Path, step: str, detail: str) -> None:
    """The run ledger of the DuckDB warehouse holds ``step`` failed after one attempt, with ``detail``."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            "select status, attempts, detail from ops.pipeline_steps where step = ?", [step]
        ).fetchall()
    assert rows == [("failed", 1, detail)]


def test_a_landing_prefix_where_nothing_has_landed_is_a_configuration_error(
    s3_endpoint: str, tmp_path: Path
) -> None:
    # GIVEN a bucket that exists, and a prefix of it under which nothing has ever landed (a typo, say)
    url = f"s3://shopwarehouse-test/cfg-nothing-{tmp_path.name}"
    env = run_env(tmp_path, url, SHOPWAREHOUSE_TARGET="duckdb", SHOPWAREHOUSE_S3_ENDPOINT_URL=s3_endpoint)
    result = cli("load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: nothing has landed under {url} (no object has the prefix cfg-nothing-{tmp_path.name}/): "
        "correct the prefix in SHOPWAREHOUSE_LANDING (s3://bucket/prefix), or land the exports there"
    )


def test_a_missing_landing_directory_is_a_configuration_error_in_a_load_and_in_the_runs_step(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-landing"
    env = run_env(tmp_path, missing, SHOPWAREHOUSE_TARGET="duckdb")
    expected = (
        f"the landing directory {missing} does not exist: set SHOPWAREHOUSE_LANDING (or --landing) to the "
        "directory the exports land in, or s3://bucket[/prefix]"
    )
    assert configuration_error(cli("load", env=env, returncode=EXIT_FAILED)) == f"Error: {expected}"
    run = cli("run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(run) == f"Error: check_landing: {expected}"
    assert "check_landing    failed    1 attempt(s)" in run.stdout
    assert_step_failed_once(tmp_path, "check_landing", expected)


@dataclass(frozen=True)
class CheckingS3:
    """A local S3 server that checks credentials (moto with its IAM checks on), and its keys."""

    endpoint: str
    key_id: str
    """An access key of a user with no policy: known, with the right secret, but allowed nothing."""
    key_secret: str


@pytest.fixture(scope="module")
def checking_s3() -> Iterator[CheckingS3]:
    """A second local S3 server (``shopwarehouse s3 serve``), whose IAM checks are turned on once its bucket
    and a user are made. The shared server leaves them off, as moto does by default: it accepts any
    credentials, so no refused credential could be produced there."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = aws_client("s3", endpoint)  # any credentials do until the checks are on

    def ready() -> bool:
        try:
            s3.head_bucket(Bucket="cfg-checked")
        except Exception:
            return False
        return True

    server = start_s3_server(port, "s3://cfg-checked", ready, "the credential-checking local S3 server")
    try:
        s3.put_object(Bucket="cfg-checked", Key="raw/orders/date=2024-03-01/orders.csv", Body=b"order_id\n")
        iam = aws_client("iam", endpoint)
        iam.create_user(UserName="cfg-no-policy")
        key = iam.create_access_key(UserName="cfg-no-policy")["AccessKey"]
        # From now on every request is authenticated and authorised (moto's INITIAL_NO_AUTH_ACTION_COUNT)
        moto = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        moto.request("POST", "/moto-api/reset-auth", body=b"0", headers={"Content-Type": "text/plain"})
        assert json.load(moto.getresponse())["status"] == "ok"
        moto.close()
        yield CheckingS3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize("case", ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"])
def test_refused_s3_credentials_are_a_configuration_error(
    case: str, checking_s3: CheckingS3, tmp_path: Path
) -> None:
    # GIVEN an unknown access key, a known one with a wrong secret, or a known one allowed nothing
    key_id = {"InvalidAccessKeyId": f"CFG{secrets.token_hex(8).upper()}"}.get(case, checking_s3.key_id)
    key_secret = checking_s3.key_secret if case == "AccessDenied" else secrets.token_urlsafe(30)
    env = run_env(tmp_path, "s3://cfg-checked", SHOPWAREHOUSE_TARGET="duckdb",
                  SHOPWAREHOUSE_S3_ENDPOINT_URL=checking_s3.endpoint, AWS_ACCESS_KEY_ID=str(key_id),
                  AWS_SECRET_ACCESS_KEY=str(key_secret))  # fmt: skip
    result = cli("load", env=env, returncode=EXIT_FAILED)
    credentials = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, to credentials"
    at = f"at {checking_s3.endpoint}"
    expected = {
        "InvalidAccessKeyId": f"the access key id is unknown {at} (InvalidAccessKeyId): {credentials} valid",
        "SignatureDoesNotMatch": "the secret access key does not match the access key id "
        f"{at} (SignatureDoesNotMatch): {credentials} valid",
        # the first listing: raw/<the first entity>/
        "AccessDenied": f"/ was denied {at} (AccessDenied): give these credentials s3:ListBucket, "
        f"s3:GetObject and s3:PutObject on it, or {credentials} that have them",
    }[case]
    line = configuration_error(result)
    if case == "AccessDenied":
        assert line.startswith("Error: access to s3://cfg-checked/raw/"), line
        assert line.endswith(expected), line
    else:
        assert line == f"Error: {expected}"
    assert key_secret not in result.stdout + result.stderr


# -- the warehouse file, the profile ---------------------------------------------------------------------


def test_a_duckdb_file_in_a_missing_directory_is_a_configuration_error(
    landing_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-directory"
    env = run_env(tmp_path, landing_dir, SHOPWAREHOUSE_TARGET="duckdb",
                  SHOPWAREHOUSE_DUCKDB_PATH=str(missing / "warehouse.duckdb"))  # fmt: skip
    result = cli("run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: the warehouse file's directory {missing} does not exist: create it (mkdir -p {missing}), "
        "or set SHOPWAREHOUSE_DUCKDB_PATH"
    )
    assert not missing.exists()


def test_a_profile_target_that_is_missing_is_a_configuration_error(landing_dir: Path, tmp_path: Path) -> None:
    # The repository's profiles.yml has no redshift target (profiles.yml.example has)
    result = cli("--target", "redshift", "status", env=run_env(tmp_path, landing_dir), returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: {REPO / 'profiles.yml'} has no target 'redshift' in profile 'shopwarehouse' (it has "
        "['duckdb', 'postgres', 'snowflake']); add it or pick one with --target / SHOPWAREHOUSE_TARGET"
    )


def test_a_missing_profiles_file_is_a_configuration_error(
    landing_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no profiles.yml where dbt looks: DBT_PROFILES_DIR, the working directory, ~/.dbt
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    env = run_env(tmp_path, landing_dir, DBT_PROFILES_DIR=str(empty), HOME=str(empty))
    result = cli("run", "--date", DAY, env=env, returncode=EXIT_FAILED)
    assert configuration_error(result).startswith(
        f"Error: no profiles.yml in {empty}, {empty}, {empty / '.dbt'}"
    )


def test_a_profile_that_needs_an_unset_variable_is_a_configuration_error(
    landing_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "profiles.yml").write_text(json.dumps({"shopwarehouse": {"outputs": {"postgres": {
        "type": "postgres", "host": "{{ env_var('CFG_UNSET_HOST') }}", "port": 5432, "user": "postgres",
        "dbname": "postgres", "schema": "analytics"}}}}))  # fmt: skip
    env = run_env(tmp_path, landing_dir, DBT_PROFILES_DIR=str(tmp_path))
    result = cli("--target", "postgres", "load", env=env, returncode=EXIT_FAILED)
    assert configuration_error(result) == (
        f"Error: target 'postgres' of {tmp_path / 'profiles.yml'} cannot be read: Env var required but not "
        "provided: 'CFG_UNSET_HOST': set it, or give it a default there"
    )


# -- Snowflake's login refusals, and the rule itself ---------------------------------------------------------

SNOWFLAKE = {"account": "acme-prod", "user": "LOADER", "role": "TRANSFORMER", "database": "ANALYTICS",
             "warehouse": "TRANSFORMING"}  # fmt: skip


@pytest.mark.parametrize(
    ("errno", "sqlstate", "said", "fix"),
    [
        (390100, "28000", "Incorrect username or password was specified.", "SNOWFLAKE_PASSWORD"),
        (390144, "28000", "JWT token is invalid.", "SNOWFLAKE_PRIVATE_KEY"),
        (390189, "08004", "Role 'TRANSFORMER' specified does not exist or not authorized.",
         "grant the role TRANSFORMER to the user, or set SNOWFLAKE_ROLE"),
        (390201, "08004", "The requested database does not exist or not authorized.",
         "create database ANALYTICS and warehouse TRANSFORMING"),
    ],
)  # fmt: skip
def test_snowflake_login_refusals_are_configuration_errors(
    errno: int, sqlstate: str, said: str, fix: str
) -> None:
    # The error the connector raises when Snowflake refuses the login (auth/_auth.py): a DatabaseError
    # with Snowflake's own error number and its message
    error = snowflake.connector.errors.DatabaseError(
        msg=f"Failed to connect to DB: acme-prod.snowflakecomputing.com:443. {said}", errno=errno,
        sqlstate=sqlstate,
    )  # fmt: skip
    refused = snowflake_refusal(error, SnowflakeCredentials.from_profile(SNOWFLAKE))
    assert refused is not None
    assert str(refused).startswith(
        f'Snowflake account acme-prod (user "LOADER") refused the login ({errno}: '
    )
    assert fix in str(refused)
    assert not is_transient(refused)


def test_an_unreachable_snowflake_is_not_a_configuration_error() -> None:
    error = snowflake.connector.errors.OperationalError(
        msg="Failed to execute request: HTTPSConnectionPool: Max retries exceeded", errno=250003
    )
    assert snowflake_refusal(error, SnowflakeCredentials.from_profile(SNOWFLAKE)) is None
    assert is_transient(error)


def test_a_configuration_error_is_never_retried() -> None:
    calls = []

    def work() -> None:
        calls.append(1)
        raise ConfigurationError('PostgreSQL at h:5432 has no database "x":\n create it')

    with pytest.raises(ConfigurationError, match=r'has no database "x": create it$'):
        call_with_retries(work, RetryPolicy(attempts=5, base_seconds=0.01), what="a step")
    assert calls == [1]


def test_the_landing_zones_of_the_tests_still_list(s3_endpoint: str, tmp_path: Path) -> None:
    # An empty landing directory, and a prefix with objects, list as they are: only a missing one is wrong
    (tmp_path / "empty").mkdir()
    assert LocalLanding(tmp_path / "empty").list("raw/") == []
    landing = open_landing(Settings(landing=f"s3://shopwarehouse-test/cfg-{tmp_path.name}",
                                    s3_endpoint_url=s3_endpoint))  # fmt: skip
    landing.put("raw/orders/date=2024-03-01/a.csv", b"order_id\n")
    assert landing.list("raw/customers/") == []
