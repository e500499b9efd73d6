"""Shared fixtures: a real local S3 server (the project's own ``shopwarehouse s3 serve``) and test data."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.s3 import make_client
from shopwarehouse.landing.zone import Landing, open_landing

LANDING_BUCKET = "s3://shopwarehouse-test/landing"
START = date(2024, 3, 1)
DAYS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(
    *args: str, env: dict[str, str] | None = None, returncode: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``shopwarehouse`` command; fails the test with its output unless it exits with
    ``returncode``."""
    result = subprocess.run(
        [sys.executable, "-m", "shopwarehouse", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert result.returncode == returncode, (
        f"shopwarehouse {' '.join(args)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def read_landed(landing: Landing, key: str) -> bytes:
    """The whole object stored under ``key``."""
    with landing.open(key) as stream:
        return stream.read()


def kill_after_commits(args: list[str], env: dict[str, str], commits: int) -> None:
    """Run ``shopwarehouse *args`` and SIGKILL it (no clean-up of any kind) as soon as it has logged
    ``commits`` committed load batches; fails the test if it ended before."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shopwarehouse", *args],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        seen += " committed " in line
        if seen == commits:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"shopwarehouse {' '.join(args)} ended before it was killed"


def start_server(
    command: list[str], ready: Callable[[], bool], what: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start a server and wait up to 30 s until ``ready()``; fail the test with its stderr if it does not."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not ready():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"{what} did not start:\n{server.communicate()[1]}")
        time.sleep(0.2)
    return server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``shopwarehouse s3 serve`` on a free loopback port, with the test landing bucket created."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    client = make_client(endpoint)

    def ready() -> bool:
        try:
            client.get_bucket_lifecycle_configuration(Bucket="shopwarehouse-test")
        except Exception:
            return False
        return True

    server = start_server(
        [sys.executable, "-m", "shopwarehouse", "s3", "serve", "--port", str(port)],
        ready,
        "local S3 server",
        env={**os.environ, "SHOPWAREHOUSE_LANDING": LANDING_BUCKET},
    )
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> S3Client:
    return make_client(s3_endpoint)


@pytest.fixture(scope="session")
def s3_settings(s3_endpoint: str) -> Settings:
    return Settings(landing=LANDING_BUCKET, s3_endpoint_url=s3_endpoint)


@pytest.fixture(scope="session")
def landing_30d(s3_settings: Settings) -> Landing:
    """Thirty days of exports (csv) generated into the local S3 server and read back through its API."""
    landing = open_landing(s3_settings)
    generate(landing, GenerateOptions(start=START, days=DAYS, seed=7, orders_per_day=120))
    return landing


@pytest.fixture
def local_landing(tmp_path: Path) -> Settings:
    return Settings(landing=str(tmp_path / "landing"))


REPO = Path(__file__).resolve().parents[2]
# One database per pytest-xdist worker: tests on different workers run at once and each resets ``raw``.
# SHOPWAREHOUSE_TEST_DB_TAG keeps two suites run at once on one server (two checkouts) apart.
PG_TEST_DATABASE = "shopwarehouse_test_{}{}".format(
    os.environ.get("SHOPWAREHOUSE_TEST_DB_TAG", ""), os.environ.get("PYTEST_XDIST_WORKER", "main")
)
PG_START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def dbt(
    *args: str, env: dict[str, str], tmp_path: Path, returncode: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run dbt from the repository with its own profiles.yml; artefacts go under ``tmp_path``. Fails the test
    with dbt's output unless it exits with ``returncode``."""
    paths = {
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_USE_COLORS": "false",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **paths, **env},
        timeout=600,
    )
    assert result.returncode == returncode, (
        f"dbt {' '.join(args)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="session")
def postgres_database() -> str:
    """A database of the project's own on the local PostgreSQL server, created if missing.

    Locally, a missing server skips the tests that need it; in CI (CI=true) it fails the run, because those
    suites must run there.
    """
    import psycopg2
    from psycopg2 import sql

    try:
        conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres",
                                connect_timeout=5)  # fmt: skip
    except psycopg2.OperationalError as error:
        message = f"PostgreSQL on 127.0.0.1:5432 is not reachable ({error}); {PG_START_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("select 1 from pg_database where datname = %s", (PG_TEST_DATABASE,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("create database {}").format(sql.Identifier(PG_TEST_DATABASE)))
    conn.close()
    return PG_TEST_DATABASE


@pytest.fixture(scope="session")
def fakesnow_port() -> Iterator[int]:
    """The fakesnow server (Snowflake emulator) on a free loopback port, for dbt-snowflake over HTTP."""
    port = free_port()

    def ready() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    server = start_server(
        [str(Path(sys.executable).parent / "fakesnow"), "-s", "-p", str(port)], ready, "fakesnow"
    )
    yield port
    server.terminate()
    server.wait(timeout=10)


# Every schema the loaders and dbt write on a server target: dropped so each test starts from nothing.
SCHEMAS = (
    "raw",
    "analytics",
    "analytics_staging",
    "analytics_intermediate",
    "analytics_marts",
    "analytics_restricted",
    "analytics_reference",
    "analytics_snapshots",
    "ops",
)

Rows = list[tuple[Any, ...]]


@dataclass
class WarehouseTarget:
    """A dbt profile target the tests load into, emptied first, and a way to query it."""

    name: str
    env: dict[str, str]
    query_named: Callable[[str], tuple[list[str], Rows]]

    def query(self, sql: str) -> Rows:
        return self.query_named(sql)[1]

    def count(self, sql: str) -> int:
        return int(self.query(sql)[0][0])

    def records(self, sql: str) -> list[dict[str, Any]]:
        """Rows as dicts keyed by lower-case column name (Snowflake names columns in upper case)."""
        names, rows = self.query_named(sql)
        return [dict(zip([name.lower() for name in names], row, strict=True)) for row in rows]


def duckdb_target(path: Path) -> WarehouseTarget:
    import duckdb

    def query(sql: str) -> tuple[list[str], Rows]:
        with duckdb.connect(str(path), read_only=True) as conn:
            result = conn.execute(sql)
            return [d[0] for d in result.description or []], result.fetchall()

    return WarehouseTarget("duckdb", {"SHOPWAREHOUSE_DUCKDB_PATH": str(path)}, query)


def postgres_target(database: str) -> WarehouseTarget:
    import psycopg2

    def query(sql: str) -> tuple[list[str], Rows]:
        conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=database)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                if not cur.description:
                    return [], []
                return [d[0] for d in cur.description], cur.fetchall()
        finally:
            conn.commit()
            conn.close()

    query(f"drop schema if exists {', '.join(SCHEMAS)} cascade")
    return WarehouseTarget("postgres", {"SHOPWAREHOUSE_PG_DATABASE": database}, query)


def snowflake_target(port: int) -> WarehouseTarget:
    import snowflake.connector

    def query(sql: str) -> tuple[list[str], Rows]:
        with snowflake.connector.connect(
            account="fakesnow", user="fake", password="snow", host="127.0.0.1", port=port, protocol="http",  # noqa: S106 (the emulator checks no password)
            database="SHOPWAREHOUSE",
        ) as conn, conn.cursor() as cur:  # fmt: skip
            cur.execute(sql)
            if not cur.description:
                return [], []
            return [d[0] for d in cur.description], [tuple(row) for row in cur.fetchall()]

    query("create database if not exists shopwarehouse")
    for schema in SCHEMAS:
        query(f"drop schema if exists {schema} cascade")
    return WarehouseTarget("snowflake", {"SHOPWAREHOUSE_FAKESNOW_PORT": str(port)}, query)


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def warehouse_target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WarehouseTarget:
    """Each local warehouse in turn, empty; the environment (and working directory, for ``profiles.yml``)
    points the ``shopwarehouse`` command and the in-process loader at it."""
    if request.param == "duckdb":
        target = duckdb_target(tmp_path / "warehouse.duckdb")
    elif request.param == "postgres":
        target = postgres_target(request.getfixturevalue("postgres_database"))
    else:
        target = snowflake_target(request.getfixturevalue("fakesnow_port"))
    target.env |= {"SHOPWAREHOUSE_TARGET": target.name, "DBT_PROFILES_DIR": str(REPO)}
    for name, value in target.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    return target


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes], list[int]]]:
    """A local HTTP server that records each POST body and answers with the next queued status (200)."""
    bodies: list[bytes] = []
    answers: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/run", bodies, answers
    server.shutdown()


# -- a real browser: Debian's Chromium, driven by Playwright ----------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # `make test` installs it (Debian's chromium package)
ARTEFACTS = Path(os.environ.get("SHOPWAREHOUSE_TEST_ARTEFACTS") or REPO / "test-artefacts")


@dataclass
class Page:
    """A browser tab, with what it reported: console errors, uncaught exceptions, and every URL it asked
    for (requests that leave the machine are refused, so a page needing the network fails the test)."""

    page: Any  # playwright.sync_api.Page
    errors: list[str]
    requests: list[str]

    def screenshot(self, name: str) -> Path:
        """A full-page PNG under the test artefacts (``test-artefacts/browser/``)."""
        path = ARTEFACTS / "browser" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's, not a downloaded one), with the flags that keep it off the network."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    tab = Page(context.new_page(), [], [])

    def route(route: Any) -> None:
        url = route.request.url
        tab.requests.append(url)
        local = url.startswith(("file:", "data:", "http://127.0.0.1:"))
        route.continue_() if local else route.abort()

    context.route("**/*", route)
    tab.page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.page.on("pageerror", lambda error: tab.errors.append(f"uncaught: {error}"))
    yield tab
    context.close()
