"""Fixtures: a real local S3 server (the project's own ``shopwarehouse s3 serve``), the PostgreSQL and
fakesnow servers, each local warehouse as an empty target, a webhook receiver, headless Chromium, and test
data. The helpers they use are in ``support``."""

from __future__ import annotations

import http.server
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client
from support import (
    CHROMIUM,
    DAYS,
    LANDING_BUCKET,
    PG_START_HINT,
    PG_TEST_DATABASE,
    REPO,
    START,
    Page,
    WarehouseTarget,
    free_port,
    listening,
    local_target,
    start_s3_server,
    start_server,
)

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.s3 import make_client
from shopwarehouse.landing.zone import Landing, open_landing


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

    server = start_s3_server(port, LANDING_BUCKET, ready, "local S3 server")
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
    fakesnow = str(Path(sys.executable).parent / "fakesnow")
    server = start_server([fakesnow, "-s", "-p", str(port)], listening(port), "fakesnow")
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(params=["duckdb", "postgres", "snowflake"])
def warehouse_target(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WarehouseTarget:
    """Each local warehouse in turn, empty; the environment (and working directory, for ``profiles.yml``)
    points the ``shopwarehouse`` command and the in-process loader at it."""
    target = local_target(request.param, request, tmp_path / "warehouse.duckdb")
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
