"""What the tests share besides fixtures: the repository's paths, the ``shopwarehouse`` and ``dbt`` commands,
servers started on free loopback ports, the DuckDB settings of a command, and each local warehouse as a
target to load into and query. The fixtures that use them are in ``conftest.py``.

Submodules: ``faults`` (an HTTP proxy in front of the local S3 server that fails requests on purpose),
``bad_files`` (a landed file per way a delivery goes wrong), ``contract_reader`` (landed files read back by
the contract, independently of the generator) and ``foreign_shop`` (a shop written by code of its own).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from shopwarehouse.dev.generate import GenerateOptions
from shopwarehouse.landing.zone import Landing

REPO = Path(__file__).resolve().parents[3]
ARTEFACTS = Path(os.environ.get("SHOPWAREHOUSE_TEST_ARTEFACTS") or REPO / "test-artefacts")
CHROMIUM = Path("/usr/bin/chromium")  # `make test` installs it (Debian's chromium package)

LANDING_BUCKET = "s3://shopwarehouse-test/landing"
START = date(2024, 3, 1)
DAYS = 30  # the session's landing zone in the local S3 server (``landing_30d``)

# One database per pytest-xdist worker: tests on different workers run at once and each resets ``raw``.
# SHOPWAREHOUSE_TEST_DB_TAG keeps two suites run at once on one server (two checkouts) apart.
PG_TEST_DATABASE = "shopwarehouse_test_{}{}".format(
    os.environ.get("SHOPWAREHOUSE_TEST_DB_TAG", ""), os.environ.get("PYTEST_XDIST_WORKER", "main")
)
PG_START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

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


def small_shop(days: int) -> GenerateOptions:
    """``days`` days from START of a small shop (30 orders a day, a twentieth of the clickstream): the data
    of the tests that run whole days."""
    return GenerateOptions(start=START, days=days, seed=9, orders_per_day=30, clickstream_scale=0.05)


# -- commands -----------------------------------------------------------------------------------------------


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


def run_models(env: dict[str, str], tmp_path: Path, *args: str) -> None:
    """``dbt run`` of every model but fct_order_fulfilment, which is built on the snapshots (a run leaves
    them alone), with no lookback margin: an incremental model rebuilds exactly what its driving input
    names, so a day-by-day build compared with a full refresh shows every row it missed."""
    dbt("run", "--exclude", "fct_order_fulfilment", "--vars", "{lookback_hours: 0}", *args, env=env,
        tmp_path=tmp_path)  # fmt: skip


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


def duckdb_env(
    root: Path, landing: Path | str, warehouse: Path | str | None = None, **settings: str
) -> dict[str, str]:
    """The settings of a ``shopwarehouse`` or ``dbt`` command on the embedded default, written once: DuckDB
    through the repository's profile, files landed in ``landing``, and the warehouse file
    (``root/warehouse.duckdb`` unless ``warehouse``), dbt's artefacts, the KPI report and the metrics under
    ``root``; ``settings`` add to them or override them."""
    return {
        "SHOPWAREHOUSE_TARGET": "duckdb",
        "SHOPWAREHOUSE_DUCKDB_PATH": str(warehouse or root / "warehouse.duckdb"),
        "SHOPWAREHOUSE_LANDING": str(landing),
        "SHOPWAREHOUSE_REPORT_PATH": str(root / "kpi_report.html"),
        "SHOPWAREHOUSE_METRICS_TEXTFILE_DIR": str(root / "metrics"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        **settings,
    }


def topic_inbox(endpoint: str, topic_arn: str, name: str) -> Callable[..., list[dict[str, Any]]]:
    """A new SQS queue ``name`` on the local server subscribed to the SNS topic ``topic_arn``, as a function
    reading the SNS envelopes that reached it (waiting up to ``wait_seconds`` for the first)."""
    import orjson

    from shopwarehouse.landing.s3 import aws_client

    sqs = aws_client("sqs", endpoint)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws_client("sns", endpoint).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def inbox(wait_seconds: int = 2) -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=wait_seconds, MaxNumberOfMessages=10)
        return [orjson.loads(message["Body"]) for message in messages.get("Messages", [])]

    return inbox


METRICS_REGION = "eu-north-1"
"""The region a test that reads its metrics back puts them in, when another test may put the same metric
with the same dimensions at the same time: moto 5.2.5's ``GetMetricData`` ignores the namespace of a query
that names dimensions, and keeps each region apart."""


def read_metric(
    endpoint: str,
    namespace: str,
    name: str,
    dimensions: dict[str, str],
    start: datetime,
    end: datetime,
    region: str = "us-east-1",
) -> list[float]:
    """The values of one metric, each minute's sum, in the local server's CloudWatch (``GetMetricData``)
    between ``start`` and ``end``."""
    from shopwarehouse.landing.s3 import aws_client

    query = {
        "Id": "m",
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": key, "Value": value} for key, value in dimensions.items()],
            },
            "Period": 60,
            "Stat": "Sum",
        },
    }
    answer = aws_client("cloudwatch", endpoint, region).get_metric_data(
        MetricDataQueries=[query], StartTime=start, EndTime=end
    )
    return list(answer["MetricDataResults"][0]["Values"])


# -- servers ------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> Callable[[], bool]:
    """Whether a server accepts connections on ``port`` of the loopback address (a ``ready`` check)."""

    def ready() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return ready


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


def start_s3_server(port: int, landing: str, ready: Callable[[], bool], what: str) -> subprocess.Popen[str]:
    """``shopwarehouse s3 serve`` on ``port``, creating the bucket of ``landing``; up once ``ready()``."""
    return start_server(
        [sys.executable, "-m", "shopwarehouse", "s3", "serve", "--port", str(port)],
        ready,
        what,
        env={**os.environ, "SHOPWAREHOUSE_LANDING": landing},
    )


def read_landed(landing: Landing, key: str) -> bytes:
    """The whole object stored under ``key``."""
    with landing.open(key) as stream:
        return stream.read()


# -- the local warehouses as targets ------------------------------------------------------------------------

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


def local_target(name: str, request: pytest.FixtureRequest, duckdb_path: Path) -> WarehouseTarget:
    """The local warehouse ``name``, empty: a DuckDB file at ``duckdb_path``, the test database on the
    PostgreSQL server, or the fakesnow server (both from the session's fixtures)."""
    if name == "duckdb":
        return duckdb_target(duckdb_path)
    if name == "postgres":
        return postgres_target(request.getfixturevalue("postgres_database"))
    return snowflake_target(request.getfixturevalue("fakesnow_port"))


def target_env(target: WarehouseTarget, landing: Path | str, **settings: str) -> dict[str, str]:
    """The environment of a command on ``target`` through the repository's profile, reading ``landing``."""
    return {**target.env, "SHOPWAREHOUSE_TARGET": target.name, "DBT_PROFILES_DIR": str(REPO),
            "SHOPWAREHOUSE_LANDING": str(landing), **settings}  # fmt: skip


# -- a real browser -----------------------------------------------------------------------------------------


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
