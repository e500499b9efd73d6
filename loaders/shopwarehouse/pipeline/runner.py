"""The daily run: one day of data from the landing zone to tested marts, step by step.

The steps, in order (``STEPS``): check that the day's exports have landed, load, check source freshness,
``dbt build`` (seeds, models, snapshots, tests), the quality gate, and the notification. Each step is
retried on transient failures only (see :mod:`shopwarehouse.pipeline.retry`); a data failure stops the run
at once, and the steps after a failed one are skipped. Every step runs again on a re-run: loading skips
what is loaded, and the incremental models rebuild only what changed, so running a day twice, or after a
failure at any step, ends in the state of one clean run.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from shopwarehouse.config import Settings
from shopwarehouse.contract import ENTITIES, partition_prefix
from shopwarehouse.landing import Landing, open_landing
from shopwarehouse.load.loader import LoadOptions, new_load_id, run_load
from shopwarehouse.load.tables import Status
from shopwarehouse.load.warehouse import open_warehouse
from shopwarehouse.pipeline import ledger, notify
from shopwarehouse.pipeline.retry import RetryPolicy, TransientError, call_with_retries

log = logging.getLogger(__name__)

SUCCEEDED, WARNED, FAILED, SKIPPED = "succeeded", "warned", "failed", "skipped"


class StepFailed(Exception):
    """A step found something wrong with the data or the models: retrying would not help."""


@dataclass(frozen=True)
class StepResult:
    name: str
    status: str
    attempts: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunReport:
    run_id: str
    run_date: date
    target: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = SUCCEEDED
    steps: list[StepResult] = field(default_factory=list)
    rows_loaded: int = 0
    files_quarantined: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    error: str | None = None

    def as_json(self) -> bytes:
        return orjson.dumps({**asdict(self), "run_date": self.run_date.isoformat()})

    def ledger_rows(self) -> tuple[ledger.Row, list[ledger.Row]]:
        """The run's row and its steps' rows for the run ledger (see :mod:`shopwarehouse.pipeline.ledger`)."""
        run: ledger.Row = (
            self.run_id, self.run_date, self.target, self.status, self.started_at, self.finished_at,
            self.rows_loaded, self.files_quarantined, self.tests_passed, self.tests_warned, self.tests_failed,
            self.error,
        )  # fmt: skip
        steps: list[ledger.Row] = [
            (
                self.run_id,
                number,
                step.name,
                step.status,
                step.attempts,
                Decimal(str(step.seconds)),
                step.detail,
            )
            for number, step in enumerate(self.steps, start=1)
        ]
        return run, steps


@dataclass
class _Context:
    settings: Settings
    day: date
    project_dir: Path
    landing: Landing
    report: RunReport
    build_results: list[dict[str, Any]] = field(default_factory=list)


def _check_landing(ctx: _Context) -> tuple[str, str]:
    missing = [
        entity for entity in ENTITIES if not ctx.landing.list(partition_prefix(entity, ctx.day.isoformat()))
    ]
    if not missing:
        return SUCCEEDED, f"every entity's export for {ctx.day} has landed"
    detail = f"no export for {', '.join(missing)} on {ctx.day} in {ctx.landing.url}"
    if ctx.settings.missing_export == "fail":
        raise StepFailed(f"{detail} (SHOPWAREHOUSE_MISSING_EXPORT=fail)")
    return WARNED, detail


def _load(ctx: _Context) -> tuple[str, str]:
    options = LoadOptions(max_file_bytes=ctx.settings.max_file_bytes, batch_rows=ctx.settings.load_batch_rows)
    with open_warehouse(ctx.settings, ctx.landing) as warehouse:
        summary = run_load(ctx.landing, warehouse, options)
    ctx.report.rows_loaded = sum(o.rows for o in summary.outcomes if o.status == Status.LOADED)
    ctx.report.files_quarantined = len(summary.rejected)
    loaded = sum(1 for o in summary.outcomes if o.status == Status.LOADED)
    detail = f"load {summary.load_id}: {loaded} files, {ctx.report.rows_loaded} rows"
    if summary.rejected:
        # The good files are loaded and get built; the quarantined ones are reported, for a person to fix.
        return WARNED, detail + "; quarantined: " + "; ".join(o.reason or o.key for o in summary.rejected)
    return SUCCEEDED, detail


def _dbt(ctx: _Context, *args: str) -> list[dict[str, Any]]:
    """Run dbt on the run's target, in a process of its own (as a scheduler would: no state carried from
    one invocation to the next); the results of its artefact (``sources.json`` for freshness, else
    ``run_results.json``). dbt exits with 2 when it could not run at all (no connection, say): transient."""
    dbt = Path(sys.executable).with_name("dbt")
    where = ["--project-dir", str(ctx.project_dir), "--target", ctx.settings.target]
    # The arguments are this module's own and the validated target name: nothing from outside.
    result = subprocess.run([str(dbt), *args, *where], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode == 2:
        raise TransientError(f"dbt {args[0]} could not run: {(result.stdout + result.stderr)[-2000:]}")
    target = Path(os.environ.get("DBT_TARGET_PATH") or ctx.project_dir / "target")
    artefact = "sources.json" if args[0] == "source" else "run_results.json"
    results: list[dict[str, Any]] = json.loads((target / artefact).read_text())["results"]
    return results


def _kind(result: dict[str, Any]) -> str:
    return str(result["unique_id"]).split(".", 1)[0]


def _freshness(ctx: _Context) -> tuple[str, str]:
    results = _dbt(ctx, "source", "freshness")
    stale = [r["unique_id"] for r in results if r["status"] in ("error", "runtime error")]
    if stale:
        raise StepFailed(f"sources older than their error_after: {', '.join(stale)}")
    late = [r["unique_id"] for r in results if r["status"] == "warn"]
    return (WARNED, f"late: {', '.join(late)}") if late else (SUCCEEDED, f"{len(results)} sources fresh")


def _build(ctx: _Context) -> tuple[str, str]:
    results = _dbt(ctx, "build")
    broken = [
        r["unique_id"] for r in results if _kind(r) not in ("test", "unit_test") and r["status"] == "error"
    ]
    if broken:
        raise StepFailed(f"dbt build failed on {', '.join(broken)}")
    ctx.build_results = results
    return SUCCEEDED, f"{len(results)} nodes built or tested"


def _quality_gate(ctx: _Context) -> tuple[str, str]:
    tests = [r for r in ctx.build_results if _kind(r) in ("test", "unit_test")]
    statuses = [r["status"] for r in tests]
    ctx.report.tests_passed = statuses.count("pass")
    ctx.report.tests_warned = statuses.count("warn")
    ctx.report.tests_failed = statuses.count("fail") + statuses.count("error")
    failing = [r["unique_id"] for r in tests if r["status"] in ("fail", "error")]
    if failing:
        raise StepFailed(f"{len(failing)} error-severity tests failed: {', '.join(failing)}")
    warning = [r["unique_id"] for r in tests if r["status"] == "warn"]
    if warning:
        return WARNED, f"{len(warning)} tests warn: {', '.join(warning)}"
    return SUCCEEDED, f"{len(tests)} tests passed"


def _notify(ctx: _Context) -> tuple[str, str]:
    sent = [notifier.send(ctx.report) for notifier in notify.notifiers(ctx.settings)]
    return SUCCEEDED, "summary sent to " + ", ".join(sent)


STEPS: tuple[tuple[str, Callable[[_Context], tuple[str, str]]], ...] = (
    ("check_landing", _check_landing),
    ("load", _load),
    ("source_freshness", _freshness),
    ("build", _build),
    ("quality_gate", _quality_gate),
    ("notify", _notify),
)


def run_day(settings: Settings, day: date, policy: RetryPolicy, project_dir: Path) -> RunReport:
    """Run every step for ``day``; the report says what each did. Never raises for a failed step."""
    report = RunReport(
        run_id=new_load_id(), run_date=day, target=settings.target, started_at=datetime.now(UTC)
    )
    ctx = _Context(settings, day, project_dir, open_landing(settings), report)
    for name, step in STEPS:
        if report.status == FAILED and name != "notify":
            report.steps.append(StepResult(name, SKIPPED))
            continue
        started = time.perf_counter()
        attempts = 0

        def attempt(step: Callable[[_Context], tuple[str, str]] = step) -> tuple[str, str]:
            nonlocal attempts
            attempts += 1
            return step(ctx)

        try:
            status, detail = call_with_retries(attempt, policy, what=f"step {name} of run {report.run_id}")[0]
        except Exception as error:
            status, detail = FAILED, f"{type(error).__name__}: {error}"
            report.status, report.error = FAILED, f"{name}: {detail}"
        if status == WARNED and report.status == SUCCEEDED:
            report.status = WARNED
        result = StepResult(name, status, attempts, round(time.perf_counter() - started, 3), detail)
        report.steps.append(result)
        log.info("step %s", orjson.dumps({"run_id": report.run_id, "at": datetime.now(UTC).isoformat(),
                                           **asdict(result)}).decode())  # fmt: skip
    report.finished_at = datetime.now(UTC)
    run_row, step_rows = report.ledger_rows()
    call_with_retries(lambda: ledger.record(settings, ctx.landing, run_row, step_rows), policy,
                      what=f"recording run {report.run_id}")  # fmt: skip
    return report


def backfill(
    settings: Settings, start: date, end: date, policy: RetryPolicy, project_dir: Path, *, force: bool = False
) -> list[RunReport]:
    """Run each day from ``start`` to ``end`` in order, skipping the days a run already completed (unless
    ``force``) and stopping at the first day that fails; the reports of the days run. Run it again after
    a failure and it resumes where it stopped."""
    done = {
        run.run_date for run in ledger.past_runs(settings, open_landing(settings)) if run.status != FAILED
    }
    reports = []
    day = start
    while day <= end:
        if day in done and not force:
            log.info("backfill: %s already done, skipped (--force runs it again)", day)
        else:
            report = run_day(settings, day, policy, project_dir)
            reports.append(report)
            if report.status == FAILED:
                log.error("backfill stopped at %s: %s", day, report.error)
                break
        day += timedelta(days=1)
    return reports
