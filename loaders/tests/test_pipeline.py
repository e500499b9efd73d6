"""The daily run: steps in order, transient failures retried, data failures stopping the run at once, the
run ledger, and backfills that resume."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from datetime import date
from pathlib import Path

import botocore.exceptions
import duckdb
import psycopg2
import pytest
from conftest import REPO, cli

from shopwarehouse.config import Settings
from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import LocalLanding
from shopwarehouse.pipeline import runner
from shopwarehouse.pipeline.retry import RetryPolicy, TransientError, call_with_retries, is_transient

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
        (runner.StepFailed("a test failed"), False),
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


@pytest.fixture
def day_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Three generated days in a directory and an empty DuckDB warehouse, as the daily run's settings."""
    generate(LocalLanding(tmp_path / "landing"), GenerateOptions(start=date(2024, 3, 1), days=3, seed=9,
                                                                 orders_per_day=40))  # fmt: skip
    env = {
        "SHOPWAREHOUSE_TARGET": "duckdb",
        "SHOPWAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "SHOPWAREHOUSE_LANDING": str(tmp_path / "landing"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    return Settings.from_env()


def kpis() -> list[tuple[object, ...]]:
    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        return conn.execute("select * from main_marts.kpi_daily order by date_day").fetchall()


def test_a_day_runs_every_step_and_a_second_run_changes_nothing(day_settings: Settings) -> None:
    report = runner.run_day(day_settings, DAY, FAST, REPO)
    assert [step.name for step in report.steps] == [name for name, _ in runner.STEPS]
    assert report.status in (runner.SUCCEEDED, runner.WARNED), report
    assert all(step.attempts == 1 for step in report.steps)
    assert report.rows_loaded > 0
    assert report.tests_passed > 100
    assert report.tests_failed == 0
    first = kpis()

    again = runner.run_day(day_settings, DAY, FAST, REPO)
    assert again.status == report.status
    assert again.rows_loaded == 0
    assert kpis() == first

    # Both runs are in the run ledger, with their steps
    with duckdb.connect(os.environ["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        runs = conn.execute("select run_id, run_date, status, rows_loaded from ops.pipeline_runs").fetchall()
        steps = conn.execute(
            "select run_id, step, attempts from ops.pipeline_steps order by step_number"
        ).fetchall()
    assert sorted(runs) == sorted([(r.run_id, DAY, r.status, r.rows_loaded) for r in (report, again)])
    assert [step for run_id, step, _ in steps if run_id == report.run_id] == [
        name for name, _ in runner.STEPS
    ]
    status = cli("status")
    assert report.run_id in status.stdout
    assert again.run_id in status.stdout
    assert "SLA: data for" in status.stdout


@pytest.mark.parametrize("failing_step", [name for name, _ in runner.STEPS])
def test_a_transient_failure_in_any_step_is_retried_and_the_run_succeeds(
    day_settings: Settings, monkeypatch: pytest.MonkeyPatch, failing_step: str
) -> None:
    def flaky(
        step: Callable[[runner._Context], tuple[str, str]],
    ) -> Callable[[runner._Context], tuple[str, str]]:
        calls = []

        def run(ctx: runner._Context) -> tuple[str, str]:
            calls.append(1)
            if len(calls) == 1:
                raise TransientError(f"{failing_step}: connection reset")
            return step(ctx)

        return run

    steps = tuple((name, flaky(step) if name == failing_step else step) for name, step in runner.STEPS)
    monkeypatch.setattr(runner, "STEPS", steps)
    report = runner.run_day(day_settings, DAY, FAST, REPO)
    assert report.status != runner.FAILED, report
    attempts = {step.name: step.attempts for step in report.steps}
    assert attempts == {name: 2 if name == failing_step else 1 for name, _ in runner.STEPS}


def test_a_lasting_fault_fails_after_every_attempt_and_later_steps_are_skipped(
    day_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(ctx: runner._Context) -> tuple[str, str]:
        raise psycopg2.OperationalError("could not connect to server")

    monkeypatch.setattr(runner, "STEPS", tuple((n, down if n == "load" else s) for n, s in runner.STEPS))
    report = runner.run_day(day_settings, DAY, FAST, REPO)
    assert report.status == runner.FAILED
    by_name = {step.name: step for step in report.steps}
    assert by_name["load"].attempts == FAST.attempts
    assert "could not connect" in (report.error or "")
    assert [by_name[n].status for n in ("source_freshness", "build", "quality_gate")] == [runner.SKIPPED] * 3
    assert by_name["notify"].status == runner.SUCCEEDED  # a failure is notified too


def test_a_missing_export_fails_the_run_at_once(day_settings: Settings) -> None:
    report = runner.run_day(day_settings, date(2024, 3, 9), FAST, REPO)  # nothing landed for that day
    check = report.steps[0]
    assert (check.name, check.status, check.attempts) == ("check_landing", runner.FAILED, 1)
    assert "no export for customers, products, orders, order_items, payments on 2024-03-09" in check.detail
    warned = runner.run_day(day_settings.with_overrides(missing_export="warn"), date(2024, 3, 9), FAST, REPO)
    assert warned.steps[0].status == runner.WARNED


def test_the_run_command_reports_each_step_and_fails_with_the_run(day_settings: Settings) -> None:
    result = cli("run", "--date", "2024-03-09", returncode=1)
    assert "check_landing    failed" in result.stdout
    assert ": failed" in result.stdout


def test_an_interrupted_backfill_resumes_and_ends_as_an_uninterrupted_one(
    day_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first, last = date(2024, 3, 1), date(2024, 3, 3)
    # GIVEN a backfill that fails on its second day (a data error: no retry)
    check_landing = dict(runner.STEPS)["check_landing"]

    def broken_on_day_two(ctx: runner._Context) -> tuple[str, str]:
        if ctx.day == date(2024, 3, 2):
            raise runner.StepFailed("injected: the export of 2024-03-02 is unreadable")
        return check_landing(ctx)

    with monkeypatch.context() as patch:
        patch.setattr(runner, "STEPS", tuple((n, broken_on_day_two if n == "check_landing" else s)
                                             for n, s in runner.STEPS))  # fmt: skip
        stopped = runner.backfill(day_settings, first, last, FAST, REPO)
    assert [(r.run_date, r.status) for r in stopped] == [
        (first, runner.SUCCEEDED),
        (date(2024, 3, 2), runner.FAILED),
    ]

    # WHEN it runs again THEN it resumes at the failed day and skips the one done
    resumed = runner.backfill(day_settings, first, last, FAST, REPO)
    assert [r.run_date for r in resumed] == [date(2024, 3, 2), last]
    assert all(r.status != runner.FAILED for r in resumed)
    interrupted = kpis()

    # AND the warehouse ends as an uninterrupted backfill's does
    monkeypatch.setenv("SHOPWAREHOUSE_DUCKDB_PATH", str(tmp_path / "clean.duckdb"))
    clean = Settings.from_env()
    assert all(r.status != runner.FAILED for r in runner.backfill(clean, first, last, FAST, REPO))
    assert kpis() == interrupted
    # AND --force runs done days again
    assert [r.run_date for r in runner.backfill(clean, last, last, FAST, REPO, force=True)] == [last]
    assert runner.backfill(clean, first, last, FAST, REPO) == []
