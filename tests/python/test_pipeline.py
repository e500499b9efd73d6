"""The daily run: steps in order, transient failures retried, data failures stopping the run at once, the
run ledger, and backfills that resume."""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import botocore.exceptions
import duckdb
import orjson
import psycopg2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import METRICS_REGION, REPO, cli, duckdb_env, kill_after_commits, read_metric, small_shop

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import generate
from shopwarehouse.errors import StepFailed, TransientError
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.pipeline import ledger, runner
from shopwarehouse.pipeline.orchestrate import STEP_NAMES
from shopwarehouse.pipeline.report import (
    EXIT_FAILED,
    EXIT_TRANSIENT,
    FAILED,
    SKIPPED,
    SUCCEEDED,
    WARNED,
    Outcome,
    RunReport,
    StepResult,
)
from shopwarehouse.pipeline.retry import RetryPolicy, call_with_retries, is_transient
from shopwarehouse.pipeline.sla import MET, MISSED, PENDING, sla_state

DAY = date(2024, 3, 3)
FAST = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientError("lost"), True),
        (ConnectionResetError("reset by peer"), True),
        (TimeoutError("timed out"), True),
        (psycopg2.OperationalError("server closed the connection unexpectedly"), True),
        (duckdb.IOException("Could not set lock on file"), True),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (botocore.exceptions.ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"), True),
        (botocore.exceptions.ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject"), False),
        (psycopg2.DataError("invalid input syntax for type numeric"), False),
        (ValueError("a bug"), False),
        (StepFailed("a test failed"), False),
    ],
)
def test_only_connection_and_throttling_errors_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_backoff_doubles_within_its_jitter_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, base_seconds=2, max_seconds=10, jitter=0.25)
    rng = random.Random(1)
    for failures, base in ((1, 2), (2, 4), (3, 8), (4, 10), (5, 10)):
        assert base * 0.75 <= policy.delay(failures, rng) <= base * 1.25


def failing(times: int, error: Exception) -> Callable[[], str]:
    calls = []

    def work() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return work


def test_a_transient_failure_is_retried_with_backoff() -> None:
    waits: list[float] = []
    result = call_with_retries(failing(2, TransientError("lost")), FAST, what="x", sleep=waits.append)
    assert result == ("done", 3)
    assert len(waits) == 2
    assert waits[1] > waits[0]


def test_a_data_error_is_not_retried_and_a_lasting_fault_gives_up() -> None:
    waits: list[float] = []
    with pytest.raises(ValueError, match="bad"):
        call_with_retries(failing(1, ValueError("bad")), FAST, what="x", sleep=waits.append)
    assert waits == []
    with pytest.raises(TransientError):
        call_with_retries(failing(5, TransientError("down")), FAST, what="x", sleep=waits.append)
    assert len(waits) == FAST.attempts - 1


def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: int, **env: str) -> Settings:
    """``days`` generated days from 2024-03-01 in a directory and an empty DuckDB warehouse, as the daily
    run's settings (set in the environment too, for the commands the test runs)."""
    generate(LocalLanding(tmp_path / "landing"), small_shop(days))
    for name, value in duckdb_env(tmp_path, tmp_path / "landing", **env).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    return Settings.from_env()


@pytest.fixture
def day_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return make_settings(tmp_path, monkeypatch, days=3)


def kpis() -> list[tuple[object, ...]]:
    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        return conn.execute("select * from main_marts.kpi_daily order by date_day").fetchall()


# Columns whose values say when or by which load a row was written, not what it holds.
WHEN_WRITTEN = re.compile(
    r"^_?load_id$|loaded_at|^started_at$|^finished_at$|^dbt_(scd_id|updated_at|valid_from|valid_to)$"
)


LOAD_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")  # named in the ledger's reasons ("same content as ...")


def checksums(path: str) -> dict[str, tuple[int, str]]:
    """Each table of the warehouse (but the run ledger): its row count and a digest of its rows, less the
    columns and load ids that say when they were written."""
    found = {}
    with duckdb.connect(path, read_only=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema <> 'ops'"
        ).fetchall()
        for schema, table in tables:
            names = conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()
            columns = ", ".join(f'"{name}"' for (name,) in names if not WHEN_WRITTEN.search(name))
            rows = [
                tuple(LOAD_ID.sub("<load id>", v) if isinstance(v, str) else v for v in row)
                for row in conn.execute(f'select {columns} from "{schema}"."{table}"').fetchall()
            ]
            digest = hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()
            found[f"{schema}.{table}"] = (len(rows), digest)
    assert len(found) > 20, found  # raw, reference, marts and snapshots
    return found


@pytest.mark.slow
def test_a_day_runs_every_step_and_a_second_run_changes_nothing(
    day_settings: Settings, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = f"ShopWarehouseTest/{uuid.uuid4().hex[:8]}"
    settings = day_settings.with_overrides(metrics_namespace=namespace, s3_endpoint_url=s3_endpoint)
    # The deployed stack's test puts the same metrics in the same environment, dev (see METRICS_REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", METRICS_REGION)
    report = runner.run_day(settings, DAY, FAST, REPO)
    assert [step.name for step in report.steps] == STEP_NAMES
    assert report.status in (SUCCEEDED, WARNED), report
    assert all(step.attempts == 1 for step in report.steps if step.name != "docs")
    assert report.total("rows_loaded") > 0
    assert report.total("tests_passed") > 100
    assert report.total("tests_failed") == 0
    first = kpis()

    # The run's metrics, read back from CloudWatch on the local server
    window = (report.started_at - timedelta(minutes=5), clock.now() + timedelta(minutes=5))

    def cloudwatch(name: str, **dimensions: str) -> list[float]:
        dev = {"Environment": "dev", **dimensions}
        return read_metric(s3_endpoint, namespace, name, dev, *window, region=METRICS_REGION)

    assert sum(cloudwatch("RunSucceeded")) == 1
    assert sum(cloudwatch("RunFailed")) == 0
    assert sum(cloudwatch("TestsPassed")) == report.total("tests_passed")
    assert sum(cloudwatch("StepSucceeded", Step="build")) == 1
    assert sum(cloudwatch("StepAttempts", Step="load")) == 1
    loaded = [sum(cloudwatch("RowsLoaded", Entity=entity)) for entity in ENTITIES]
    assert sum(loaded) == report.total("rows_loaded")
    assert cloudwatch("FreshnessLag", Entity="orders") != []
    assert sum(cloudwatch("UnknownCodeRows", Entity="orders")) == 0
    # ... and from the Prometheus textfiles, with prometheus-client's parser
    exposed = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for path in Path(os.environ["SHOPWAREHOUSE_METRICS_TEXTFILE_DIR"]).glob("*.prom")
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }
    dev = ("environment", "dev")
    assert exposed[("shopwarehouse_run_succeeded", (dev,))] == 1
    assert exposed[("shopwarehouse_tests_passed", (dev,))] == report.total("tests_passed")
    assert exposed[("shopwarehouse_step_duration_seconds", (dev, ("step", "build")))] == pytest.approx(
        report.steps[STEP_NAMES.index("build")].seconds
    )
    rows = [value for (name, _), value in exposed.items() if name == "shopwarehouse_rows_loaded"]
    assert (len(rows), sum(rows)) == (len(ENTITIES), report.total("rows_loaded"))

    again = runner.run_day(day_settings, DAY, FAST, REPO)
    assert again.status == report.status
    assert again.total("rows_loaded") == 0
    assert kpis() == first

    # Both runs are in the run ledger, with their steps
    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        runs = conn.execute(
            "select run_id, run_date, status, rows_loaded, tests_passed from ops.pipeline_runs"
        ).fetchall()
        steps = conn.execute(
            "select run_id, step, attempts from ops.pipeline_steps order by step_number"
        ).fetchall()
    assert sorted(runs) == sorted(
        (r.run_id, DAY, r.status, r.total("rows_loaded"), r.total("tests_passed")) for r in (report, again)
    )
    assert [step for run_id, step, _ in steps if run_id == report.run_id] == STEP_NAMES
    # The clock set to 07:00 UTC on a day of 2026: yesterday's data, never run, missed its promise
    status = cli("status", env={"SHOPWAREHOUSE_NOW": "2026-12-02T07:00:00Z"})
    assert report.run_id in status.stdout
    assert again.run_id in status.stdout
    assert "SLA MISSED: data for 2026-12-01 was due 2026-12-02 06:00 UTC; NOT available" in status.stdout


def without_tests(settings: Settings) -> Settings:
    return settings.with_overrides(dbt_selector="without_tests")


@pytest.mark.slow
def test_two_environments_share_a_warehouse_and_never_see_each_others_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN dev's exports (30 orders a day) and staging's (10 a day), run into one DuckDB file
    dev = without_tests(make_settings(tmp_path, monkeypatch, days=3))
    options = replace(small_shop(days=3), seed=4, orders_per_day=10)
    generate(LocalLanding(tmp_path / "staging-landing"), options)
    staging = dev.with_overrides(env="staging", landing=str(tmp_path / "staging-landing"))
    runs = {settings.env: runner.run_day(settings, DAY, FAST, REPO) for settings in (dev, staging)}
    assert [run.status for run in runs.values()] == [WARNED, WARNED]  # no tests ran, nothing else warned

    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        schemas = {name for (name,) in conn.execute(
            "select distinct table_schema from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()}  # fmt: skip

        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]

        # THEN staging's tables are dev's, each in a schema of its own with staging's prefix
        dev_schemas = {name for name in schemas if not name.startswith("staging_")}
        assert {"raw", "ops", "main_staging", "main_marts", "main_restricted"} <= dev_schemas
        assert schemas - dev_schemas == {f"staging_{name}" for name in dev_schemas}
        # AND each environment's marts hold the orders of its own exports, and its ledger its own run
        built = {}
        for env, prefix in (("dev", ""), ("staging", "staging_")):
            built[env] = count(f"select count(*) from {prefix}main_marts.fct_orders")
            assert built[env] == count(f"select count(distinct order_id) from {prefix}raw.orders")
            [(run_id,)] = conn.execute(f"select run_id from {prefix}ops.pipeline_runs").fetchall()
            assert run_id == runs[env].run_id
        assert built["dev"] > 2 * built["staging"] > 0
    # AND each has its readers' copy
    published = sorted(path.name for path in tmp_path.glob("*published.duckdb"))
    assert published == ["warehouse.published.duckdb", "warehouse.staging_published.duckdb"]


@pytest.mark.slow
def test_a_transient_failure_in_each_step_is_retried_and_the_run_succeeds(
    day_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every step fails once, before it does anything, as a dropped connection would: one run shows each
    # step's retry (a run per step would build the project ten times to show the same)
    def flaky(name: str, step: Callable[[runner._Context], Outcome]) -> Callable[[runner._Context], Outcome]:
        calls = []

        def run(ctx: runner._Context) -> Outcome:
            calls.append(1)
            if len(calls) == 1:
                raise TransientError(f"{name}: connection reset")
            return step(ctx)

        return run

    monkeypatch.setattr(runner, "STEPS", tuple((name, flaky(name, step)) for name, step in runner.STEPS))
    report = runner.run_day(without_tests(day_settings), DAY, FAST, REPO)
    assert report.status != FAILED, report
    attempts = {step.name: step.attempts for step in report.steps}
    assert attempts == dict.fromkeys(STEP_NAMES, 2)


@pytest.mark.slow
def test_a_lasting_fault_fails_after_every_attempt_notifies_and_skips_the_later_steps(
    day_settings: Settings, monkeypatch: pytest.MonkeyPatch, webhook: tuple[str, list[bytes], list[int]]
) -> None:
    def down(ctx: runner._Context) -> Outcome:
        raise psycopg2.OperationalError("could not connect to server")

    monkeypatch.setattr(runner, "STEPS", tuple((n, down if n == "load" else s) for n, s in runner.STEPS))
    report = runner.run_day(day_settings.with_overrides(notify_webhook_url=webhook[0]), DAY, FAST, REPO)
    assert report.status == FAILED
    assert report.exit_code == EXIT_TRANSIENT
    by_name = {step.name: step for step in report.steps}
    assert by_name["load"].attempts == FAST.attempts
    assert "could not connect" in (report.error or "")
    later = ("source_freshness", "build", "quality_gate", "publish", "docs", "report")
    assert [by_name[n].status for n in later] == [SKIPPED] * len(later)
    assert by_name["notify"].status == SUCCEEDED
    # The failure reached the webhook
    sent = orjson.loads(webhook[1][0])
    assert (sent["status"], sent["run_id"]) == (FAILED, report.run_id)
    assert sent["error"].startswith("load: OperationalError: could not connect")


@pytest.mark.slow
def test_a_missing_export_fails_the_run_at_once(day_settings: Settings, tmp_path: Path) -> None:
    report = runner.run_day(day_settings, date(2024, 3, 9), FAST, REPO)  # nothing landed for that day
    check = report.steps[0]
    assert (check.name, check.status, check.attempts) == ("check_landing", FAILED, 1)
    assert "no export for customers, orders, order_items, payments, events on 2024-03-09" in check.detail
    warned = runner.run_day(
        without_tests(day_settings.with_overrides(missing_export="warn")), date(2024, 3, 9), FAST, REPO
    )
    assert warned.steps[0].status == WARNED
    # A shop without a storefront tracker never delivers the clickstream (an optional source): not waited for
    shutil.rmtree(tmp_path / "landing" / "raw" / "events")
    check = runner.run_day(day_settings, date(2024, 3, 9), FAST, REPO).steps[0]
    missing = "no export for customers, orders, order_items, payments on 2024-03-09 in"
    assert f"{missing} " in check.detail, check.detail
    assert "events" not in check.detail, check.detail


@pytest.mark.slow
def test_the_run_command_reports_each_step_and_fails_with_the_run(day_settings: Settings) -> None:
    result = cli("run", "--date", "2024-03-09", returncode=EXIT_FAILED)
    assert "check_landing    failed" in result.stdout
    assert ": failed" in result.stdout


@pytest.mark.slow
def test_after_a_failed_step_the_notify_task_reports_it_and_fails_the_orchestrators_run(
    day_settings: Settings,
) -> None:
    failed = cli(
        "run", "--date", "2024-03-09", "--step", "check_landing", "--run-id", "r9", returncode=EXIT_FAILED
    )
    assert "check_landing    failed" in failed.stdout
    notified = cli(
        "run", "--date", "2024-03-09", "--step", "notify", "--run-id", "r9", returncode=EXIT_FAILED
    )
    assert "notify           succeeded" in notified.stdout
    assert "run r9 for 2024-03-09 on duckdb: failed" in notified.stdout
    assert cli("run", "--step", "load", returncode=2).stderr.endswith("give --step and --run-id together\n")
    assert "--run-id 'a;b'" in cli("run", "--step", "load", "--run-id", "a;b", returncode=2).stderr


@pytest.mark.slow
def test_a_run_killed_mid_load_and_run_again_ends_as_a_clean_run(
    day_settings: Settings, tmp_path: Path
) -> None:
    # GIVEN a run killed (SIGKILL: no clean-up of any kind) after its fifth committed file (the runs build
    # without dbt's tests, which write no table)
    untested = {"SHOPWAREHOUSE_DBT_SELECTOR": "without_tests"}
    kill_after_commits(["run", "--date", DAY.isoformat()], {"SHOPWAREHOUSE_LOAD_BATCH_ROWS": "1", **untested},
                       commits=5)  # fmt: skip

    # WHEN the day runs again
    cli("run", "--date", DAY.isoformat(), env=untested)
    # THEN every table holds what a clean run's does
    clean = str(tmp_path / "clean.duckdb")
    cli("run", "--date", DAY.isoformat(), env={"SHOPWAREHOUSE_DUCKDB_PATH": clean, **untested})
    assert checksums(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"]) == checksums(clean)


# A reader's look at the published copy, in one connection (so at one database): the last day of the KPIs,
# the orders in the star and in the KPIs, the last day of the payment KPIs, and the customers.
LOOK = """
    select (select max(date_day) from main_marts.kpi_daily)::varchar,
           (select count(*) from main_marts.fct_orders),
           (select sum(orders_placed) from main_marts.kpi_daily),
           (select max(date_day) from main_marts.kpi_payment_methods)::varchar,
           (select count(*) from main_marts.dim_customers)
"""
# The reader: another process, as a BI tool is, looking in a loop until told to stop, then once more.
READER = """
import json, os, sys, duckdb
path, stop, look = sys.argv[1:4]
while True:
    last = os.path.exists(stop)
    try:
        with duckdb.connect(path, read_only=True) as conn:
            print(json.dumps(conn.execute(look).fetchone()), flush=True)
    except Exception as error:
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}), flush=True)
    if last:
        break
"""


def look(path: Path) -> tuple[object, ...]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return tuple(orjson.loads(orjson.dumps(conn.execute(LOOK).fetchone())))


@pytest.mark.slow
def test_a_reader_querying_during_a_run_never_fails_and_sees_one_whole_run_or_the_next(
    day_settings: Settings, tmp_path: Path
) -> None:
    # GIVEN a day run and published (runs without dbt's tests: they change nothing a reader sees)
    settings = without_tests(day_settings)
    first = runner.run_day(settings, DAY - timedelta(days=1), FAST, REPO)
    assert {step.name: step.status for step in first.steps}["publish"] == SUCCEEDED
    published = tmp_path / "warehouse.published.duckdb"
    before = look(published)
    # WHEN a reader queries the published copy in a loop while the next day's run loads, builds, publishes
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published), str(stop), LOOK], stdout=subprocess.PIPE, text=True
    )
    try:
        second = runner.run_day(settings, DAY, FAST, REPO)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    assert second.status != FAILED, second
    after = look(published)
    # THEN no read failed, and each saw the whole of one run: the first day's or, once published, the next's
    reads = [orjson.loads(line) for line in out.splitlines()]
    assert not [read for read in reads if isinstance(read, dict)], reads[:3]
    seen = Counter(tuple(read) for read in reads)
    assert (before[0], after[0]) == (str(DAY - timedelta(days=1)), str(DAY))
    assert set(seen) == {before, after}, seen
    assert seen[before] > 20, "the reader did not read during the run"
    # AND each state is whole: the KPIs count every order of the star, and both KPI marts reach its day
    for day, orders, kpi_orders, payments_day, _ in (before, after):
        assert (orders, payments_day) == (kpi_orders, day)


@pytest.mark.slow
@pytest.mark.xdist_group("backfill")
def test_a_backfill_interrupted_on_day_3_resumes_and_ends_as_an_uninterrupted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each day builds every seed, model and snapshot; the tests are left out (12 builds of the project).
    # Five days prove what two did: days done before the failed one are skipped, the failed day and the
    # days after it run, and rows that land two days late, and orders that move on, cross the interruption.
    settings = without_tests(make_settings(tmp_path, monkeypatch, days=5))
    first, day_3, last = date(2024, 3, 1), date(2024, 3, 3), date(2024, 3, 5)
    # GIVEN a backfill that fails on day 3 after its build (a data error: no retry)
    build = dict(runner.STEPS)["build"]

    def broken_on_day_3(ctx: runner._Context) -> Outcome:
        outcome = build(ctx)
        if ctx.day == day_3:
            raise StepFailed("injected: the process stopped after building 2024-03-03")
        return outcome

    with monkeypatch.context() as patch:
        patch.setattr(runner, "STEPS", tuple((n, broken_on_day_3 if n == "build" else s)
                                             for n, s in runner.STEPS))  # fmt: skip
        stopped = runner.backfill(settings, first, last, FAST, REPO)
    assert [r.run_date for r in stopped] == [first + timedelta(days=n) for n in range(3)]
    assert [r.status for r in stopped][-2:] == [WARNED, FAILED]  # warned: no tests ran

    # WHEN it runs again THEN it resumes at the failed day and skips the ones done
    resumed = runner.backfill(settings, first, last, FAST, REPO)
    assert [r.run_date for r in resumed] == [day_3 + timedelta(days=n) for n in range(3)]
    assert all(r.status != FAILED for r in resumed)

    # AND the warehouse ends as an uninterrupted backfill's does
    clean = settings_for(tmp_path / "clean.duckdb", monkeypatch)
    assert all(r.status != FAILED for r in runner.backfill(clean, first, last, FAST, REPO))
    assert checksums(str(tmp_path / "warehouse.duckdb")) == checksums(str(tmp_path / "clean.duckdb"))
    # AND --force runs done days again
    assert [r.run_date for r in runner.backfill(clean, last, last, FAST, REPO, force=True)] == [last]
    assert runner.backfill(clean, first, last, FAST, REPO) == []


def settings_for(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SHOPWAREHOUSE_DUCKDB_PATH", str(warehouse))
    return without_tests(Settings.from_env())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runs", "now", "state", "available"),
    [
        ([], "2024-03-04T05:00", PENDING, None),
        ([], "2024-03-04T06:01", MISSED, None),
        ([(DAY, FAILED, "2024-03-04T02:30")], "2024-03-04T07:00", MISSED, None),
        ([(DAY, SUCCEEDED, "2024-03-04T02:30"), (DAY, SUCCEEDED, "2024-03-04T09:00")],
         "2024-03-04T10:00", MET, "2024-03-04T02:30"),
        ([(DAY, WARNED, "2024-03-04T08:00")], "2024-03-04T09:00", MISSED, "2024-03-04T08:00"),
        ([(date(2024, 3, 2), SUCCEEDED, "2024-03-03T02:30")], "2024-03-04T07:00", MISSED, None),
    ],
)  # fmt: skip
def test_the_sla_is_met_by_a_run_that_did_not_fail_before_the_deadline(
    runs: list[tuple[date, str, str]], now: str, state: str, available: str | None
) -> None:
    def utc(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    found = sla_state([(d, s, utc(at)) for d, s, at in runs], DAY, Settings().sla_deadline, utc(now))
    assert (found.state, found.available_at) == (state, utc(available) if available else None)
    assert found.deadline == utc("2024-03-04T06:00")


@pytest.mark.slow
def test_the_sla_check_notifies_a_miss_and_exits_with_1(
    day_settings: Settings, webhook: tuple[str, list[bytes], list[int]]
) -> None:
    # At 01:00 UTC, the promise for yesterday was due at 00:00, and no run of yesterday is recorded
    env = {"SHOPWAREHOUSE_SLA_DEADLINE_UTC": "00:00", "SHOPWAREHOUSE_NOTIFY_WEBHOOK_URL": webhook[0],
           "SHOPWAREHOUSE_NOW": "2026-12-02T01:00:00Z"}  # fmt: skip
    result = cli("status", "--check-sla", env=env, returncode=1)
    missed = "SLA MISSED: data for 2026-12-01 was due 2026-12-02 00:00 UTC; NOT available"
    assert missed in result.stdout
    sent = orjson.loads(webhook[1][0])
    assert (sent["kind"], sent["state"], sent["day"]) == ("sla", MISSED, "2026-12-01")
    assert (sent["deadline"], sent["available_at"]) == ("2026-12-02T00:00:00+00:00", None)
    assert sent["subject"] == f"shopwarehouse {missed}"
    # AND the miss is a metric, SlaMissed, for the alarm on it (here in Prometheus' text format)
    textfile = Path(os.environ["SHOPWAREHOUSE_METRICS_TEXTFILE_DIR"]) / "shopwarehouse-dev-sla.prom"
    assert 'shopwarehouse_sla_missed{environment="dev"} 1.0' in textfile.read_text()
    # Without --check-sla, status only shows it
    assert len(webhook[1]) == 1
    textfile.unlink()
    cli("status", env=env)
    assert len(webhook[1]) == 1
    assert not textfile.exists()


def record_run(settings: Settings, run_id: str, day: date, status: str, finished: str) -> None:
    """A run of ``day`` in the run ledger, ended at ``finished`` (UTC) with ``status``, as the runner records
    one. A real run cannot be made at a set hour here: it stamps its loaded rows with the clock, and dbt's
    source freshness compares them with the warehouse's own clock, which SHOPWAREHOUSE_NOW does not move."""
    finished_at = datetime.fromisoformat(finished).replace(tzinfo=UTC)
    step = StepResult(status, "as recorded", name="notify", attempts=1,
                      started_at=finished_at - timedelta(minutes=30), finished_at=finished_at)  # fmt: skip
    report = RunReport(run_id, day, settings.target, step.started_at, finished_at, steps=[step])
    ledger.record_run(settings, report)


@pytest.mark.slow
def test_status_shows_yesterdays_promise_pending_at_1_and_missed_or_met_at_7_utc(
    day_settings: Settings, webhook: tuple[str, list[bytes], list[int]]
) -> None:
    def status_at(now: str, *flags: str, returncode: int = 0) -> str:
        env = {"SHOPWAREHOUSE_NOW": now, "SHOPWAREHOUSE_NOTIFY_WEBHOOK_URL": webhook[0]}
        return cli("status", *flags, env=env, returncode=returncode).stdout

    due = "due 2024-03-04 06:00 UTC"
    # GIVEN the run of the day before yesterday, done on time
    record_run(day_settings, "r-0302", date(2024, 3, 2), SUCCEEDED, "2024-03-03T02:35:00")
    # WHEN it is 01:00 UTC on 2024-03-04 THEN yesterday's (2024-03-03) data is pending, and nobody is told
    at_1 = status_at("2024-03-04T01:00:00Z", "--check-sla")
    assert "r-0302  2024-03-02  succeeded 2024-03-03 02:35" in at_1
    assert f"SLA pending: data for {DAY} is not available yet; {due}" in at_1
    assert webhook[1] == []

    # GIVEN the 02:00 run of 2024-03-03 failed
    record_run(day_settings, "r-0303", DAY, FAILED, "2024-03-04T02:31:00")
    # WHEN it is 07:00 UTC THEN the promise was missed: --check-sla notifies and exits with 1
    at_7 = status_at("2024-03-04T07:00:00Z", "--check-sla", returncode=1)
    assert "r-0303  2024-03-03  failed    2024-03-04 02:31" in at_7
    assert f"SLA MISSED: data for {DAY} was {due}; NOT available" in at_7
    [sent] = [orjson.loads(body) for body in webhook[1]]
    assert (sent["kind"], sent["state"], sent["day"]) == ("sla", MISSED, "2024-03-03")
    assert (sent["deadline"], sent["available_at"]) == ("2024-03-04T06:00:00+00:00", None)
    # AND a re-run that ended after 06:00 does not make it met
    record_run(day_settings, "r-0303-late", DAY, WARNED, "2024-03-04T06:20:00")
    late = f"SLA MISSED: data for {DAY} was {due}; available since 2024-03-04 06:20 UTC"
    assert late in status_at("2024-03-04T07:00:00Z")

    # GIVEN a re-run of it that had succeeded at 05:10, before the deadline
    record_run(day_settings, "r-0303-again", DAY, SUCCEEDED, "2024-03-04T05:10:00")
    # WHEN it is 07:00 UTC THEN the promise was met, and --check-sla is quiet
    met = status_at("2024-03-04T07:00:00Z", "--check-sla")
    assert f"SLA met: data for {DAY} available at 2024-03-04 05:10 UTC, {due}" in met
    assert len(webhook[1]) == 1
    # AND at 01:00 UTC the next day, the promise is about 2024-03-04, pending
    next_day = status_at("2024-03-05T01:00:00+00:00", "--check-sla")
    assert "SLA pending: data for 2024-03-04 is not available yet; due 2024-03-05 06:00 UTC" in next_day
    # AND a clock in another zone is read as the same instant: 02:00 at +01:00 is 01:00 UTC
    assert "SLA pending: data for 2024-03-04" in status_at("2024-03-05T02:00:00+01:00")


@pytest.mark.slow
def test_run_without_a_date_runs_yesterday_by_the_clock(day_settings: Settings) -> None:
    # At 01:00 UTC on 2024-03-10, yesterday is 2024-03-09, whose exports have not landed: the run says so
    result = cli("run", env={"SHOPWAREHOUSE_NOW": "2024-03-10T01:00:00Z"}, returncode=EXIT_FAILED)
    assert "no export for customers, orders, order_items, payments, events on 2024-03-09" in result.stdout
    assert "for 2024-03-09 on duckdb: failed" in result.stdout
    # AND its run id and times are the clock's
    [(run_id, run_date, started_at)] = past_runs_started()
    assert (run_id[:9], run_date, started_at.date()) == ("20240310T", date(2024, 3, 9), date(2024, 3, 10))


def past_runs_started() -> list[tuple[str, date, datetime]]:
    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        return conn.execute("select run_id, run_date, started_at from ops.pipeline_runs").fetchall()


@pytest.mark.slow
def test_a_clock_that_is_not_a_time_stops_every_command_before_it_starts(day_settings: Settings) -> None:
    for value, reason in (("01:00", "is not a date and time"), ("2024-03-04T01:00:00", "has no time zone")):
        result = cli("status", env={"SHOPWAREHOUSE_NOW": value}, returncode=2)
        assert f"SHOPWAREHOUSE_NOW={value!r} {reason}" in result.stderr
        assert "e.g. 2026-12-02T01:00:00Z (unset: the system clock)" in result.stderr
