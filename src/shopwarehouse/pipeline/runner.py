"""The daily run: one day of data from the landing zone to tested marts, step by step.

The steps, in order (``STEPS``): check that the day's exports have landed, load, check source freshness, ``dbt
build`` (seeds, models, snapshots, tests), the quality gate, publishing the readers' copy (DuckDB), the docs
site (when turned on), the KPI dashboard, and the notification. Each step is retried on transient failures
only (see :mod:`shopwarehouse.pipeline.retry`); a data failure stops the run at once, and the steps after a
failed one are skipped, but for the notification. Every step runs again on a re-run: loading skips what is
loaded, and the incremental models rebuild only what changed, so running a day twice, or after a failure at
any step, ends in the state of one clean run.

A whole run is one process (``shopwarehouse run``, from cron); under an orchestrator each step is a task of
its own (``shopwarehouse run --step NAME --run-id ID``), and the steps of one run share what they found
through the run ledger.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.errors import ConfigurationError, StepFailed
from shopwarehouse.landing.contract import ENTITIES, entity_prefix, partition_prefix
from shopwarehouse.landing.zone import Landing, open_landing
from shopwarehouse.load.loader import LoadOptions, new_load_id, run_load
from shopwarehouse.load.raw import open_raw_loader
from shopwarehouse.load.tables import Status
from shopwarehouse.pipeline import ledger, lock, metrics, notify
from shopwarehouse.pipeline.metrics import (
    SECONDS,
    Metric,
    entity_totals,
    per_entity,
    run_metrics,
    step_metrics,
)
from shopwarehouse.pipeline.report import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    WARNED,
    Outcome,
    RunReport,
    StepResult,
)
from shopwarehouse.pipeline.retry import RetryPolicy, call_with_retries, is_transient
from shopwarehouse.pipeline.sla import deadline_of
from shopwarehouse.surfaces.dashboard import describe_unknown_codes, read_unknown_codes, write_dashboard
from shopwarehouse.surfaces.docs import build_site
from shopwarehouse.surfaces.publish import marts_schema, publish
from shopwarehouse.transform.dbt import invoke_dbt, target_dir
from shopwarehouse.warehouse import open_client

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

log = logging.getLogger(__name__)


@dataclass
class _Context:
    settings: Settings
    day: date
    run_id: str
    project_dir: Path
    landing: Landing
    done: dict[str, StepResult] = field(default_factory=dict)
    """The run's steps that have ended, in this process or (one step per process) in the ledger."""
    metrics: list[Metric] = field(default_factory=list)
    """The figures the running step found beyond its outcome's (per entity), published as it ends."""


def _check_landing(ctx: _Context) -> Outcome:
    """The exports of every entity that lands every day (``Entity.every_day``) are there; an optional one's
    (``Entity.optional``) only if it has ever landed."""
    missing = [
        name
        for name, entity in ENTITIES.items()
        if entity.every_day
        and not ctx.landing.list(partition_prefix(name, ctx.day.isoformat()))
        and not (entity.optional and not ctx.landing.list(entity_prefix(name)))
    ]
    if not missing:
        return Outcome(SUCCEEDED, f"every entity's export for {ctx.day} has landed")
    detail = f"no export for {', '.join(missing)} on {ctx.day} in {ctx.landing.url}"
    if ctx.settings.missing_export == "fail":
        raise StepFailed(f"{detail} (SHOPWAREHOUSE_MISSING_EXPORT=fail)")
    return Outcome(WARNED, detail)


def _load(ctx: _Context) -> Outcome:
    """Every file landed for the day or before it and not loaded yet (late files of earlier days too); never
    a later day's, so a backfill's day sees the data a run on that day would have seen."""
    options = LoadOptions(
        until=ctx.day,
        max_file_bytes=ctx.settings.max_file_bytes,
        stream_file_bytes=ctx.settings.stream_file_bytes,
        batch_rows=ctx.settings.load_batch_rows,
    )
    with open_raw_loader(ctx.settings, ctx.landing) as warehouse:
        summary = run_load(ctx.landing, warehouse, options)
    loaded = [o for o in summary.outcomes if o.status == Status.LOADED]
    rows = sum(o.rows for o in loaded)
    ctx.metrics += entity_totals("RowsLoaded", ((o.entity, o.rows) for o in loaded))
    detail = f"load {summary.load_id}: {len(loaded)} files, {rows} rows"
    quarantined = len(summary.rejected)
    if summary.rejected:
        # The good files are loaded and get built; the quarantined ones are reported, for a person to fix.
        detail += "; quarantined: " + "; ".join(o.reason or o.key for o in summary.rejected)
    return Outcome(
        WARNED if quarantined else SUCCEEDED, detail, rows_loaded=rows, files_quarantined=quarantined
    )


def _dbt(ctx: _Context, *args: str) -> dbtRunnerResult:
    return invoke_dbt(ctx.settings, ctx.project_dir, *args)


def _artefact(ctx: _Context, name: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads((target_dir(ctx.project_dir) / name).read_text())["results"]
    return results


def _kind(result: dict[str, Any]) -> str:
    return str(result["unique_id"]).split(".", 1)[0]


def _freshness(ctx: _Context) -> Outcome:
    _dbt(ctx, "source", "freshness")
    results = _artefact(ctx, "sources.json")
    lags = {
        r["unique_id"].rsplit(".", 1)[1]: r["max_loaded_at_time_ago_in_s"]
        for r in results
        if r.get("max_loaded_at_time_ago_in_s") is not None
    }
    ctx.metrics += per_entity("FreshnessLag", lags, SECONDS)
    stale = [r["unique_id"] for r in results if r["status"] in ("error", "runtime error")]
    if stale:
        raise StepFailed(f"sources older than their error_after: {', '.join(stale)}")
    late = [r["unique_id"] for r in results if r["status"] == "warn"]
    return (
        Outcome(WARNED, f"late: {', '.join(late)}")
        if late
        else Outcome(SUCCEEDED, f"{len(results)} sources fresh")
    )


def _build(ctx: _Context) -> Outcome:
    """``dbt build``; the test results are counted here and judged by the quality gate."""
    scope = json.dumps({"test_scope": ctx.settings.test_scope})
    _dbt(ctx, "build", "--selector", ctx.settings.dbt_selector, "--vars", scope)
    results = _artefact(ctx, "run_results.json")
    broken = [
        r["unique_id"] for r in results if _kind(r) not in ("test", "unit_test") and r["status"] == "error"
    ]
    if broken:
        raise StepFailed(f"dbt build failed on {', '.join(broken)}")
    tests = [r for r in results if _kind(r) in ("test", "unit_test")]
    failing = [r["unique_id"] for r in tests if r["status"] in ("fail", "error")]
    warning = [r["unique_id"] for r in tests if r["status"] == "warn"]
    detail = f"{len(results)} nodes built or tested"
    detail += "".join(
        f"; {label}: {', '.join(ids)}" for label, ids in (("fail", failing), ("warn", warning)) if ids
    )
    return Outcome(
        SUCCEEDED, detail, tests_passed=sum(r["status"] == "pass" for r in tests), tests_warned=len(warning),
        tests_failed=len(failing),
    )  # fmt: skip


def _quality_gate(ctx: _Context) -> Outcome:
    """Error-severity test failures fail the run; warnings are reported, with the codes the build met that
    no seed lists (``dq_unknown_codes``). The test figures are the build's."""
    build = ctx.done.get("build")
    if build is None or build.status == FAILED:
        raise StepFailed(f"run {ctx.run_id} has no finished build step to judge")
    if build.tests_failed:
        raise StepFailed(f"{build.tests_failed} error-severity tests failed ({build.detail})")
    with open_client(ctx.settings) as warehouse:
        unknown = read_unknown_codes(warehouse, marts_schema(ctx.settings))
    ctx.metrics += entity_totals("UnknownCodeRows", ((row["entity"], row["row_count"]) for row in unknown))
    codes = f"; unknown codes: {describe_unknown_codes(unknown)}" if unknown else ""
    if build.tests_warned:
        return Outcome(WARNED, f"{build.tests_warned} tests warn ({build.detail}){codes}")
    if not build.tests_passed:
        return Outcome(WARNED, f"no tests ran (selector {ctx.settings.dbt_selector}){codes}")
    return Outcome(SUCCEEDED, f"{build.tests_passed} tests passed{codes}")


def _docs(ctx: _Context) -> Outcome:
    if not ctx.settings.docs_generate:
        return Outcome(SKIPPED, "off (SHOPWAREHOUSE_DOCS_GENERATE=true turns it on)")
    return Outcome(SUCCEEDED, f"docs site written to {build_site(ctx.settings, ctx.project_dir)}")


def _publish(ctx: _Context) -> Outcome:
    published = publish(ctx.settings)
    if published is None:
        return Outcome(SKIPPED, f"{ctx.settings.target}: readers query the marts in place")
    return Outcome(SUCCEEDED, f"readers' copy published at {published}")


def _dashboard(ctx: _Context) -> Outcome:
    out = write_dashboard(ctx.settings, ctx.project_dir, Path(ctx.settings.report_path))
    return Outcome(SUCCEEDED, f"KPI dashboard written to {out}")


def _notify(ctx: _Context) -> Outcome:
    report = _report(ctx)
    detail = "summary sent to " + ", ".join(notify.send(ctx.settings, report.notice(clock.now())))
    quality = report.quality_notice()
    if quality is not None:
        detail += "; data-quality alert sent to " + ", ".join(notify.send_quality(ctx.settings, quality))
    return Outcome(SUCCEEDED, detail)


STEPS: tuple[tuple[str, Callable[[_Context], Outcome]], ...] = (
    ("check_landing", _check_landing),
    ("load", _load),
    ("source_freshness", _freshness),
    ("build", _build),
    ("quality_gate", _quality_gate),
    ("publish", _publish),
    ("docs", _docs),
    ("report", _dashboard),
    ("notify", _notify),
)
NOTIFY = STEPS[-1][0]


def _report(ctx: _Context) -> RunReport:
    """The run as far as it went: the steps that ended, in order."""
    steps = [ctx.done[name] for name, _ in STEPS if name in ctx.done]
    started = min((step.started_at for step in steps), default=clock.now())
    deadline = deadline_of(ctx.day, ctx.settings.sla_deadline)
    return RunReport(ctx.run_id, ctx.day, ctx.settings.target, started, steps=steps, sla_deadline=deadline)


def _run_step(ctx: _Context, number: int, policy: RetryPolicy) -> StepResult:
    """Step ``number`` (1-based) with its retries, recorded in the ledger as it ends."""
    name, step = STEPS[number - 1]
    started = clock.now()
    attempts, transient = 0, False

    def attempt() -> Outcome:
        nonlocal attempts
        attempts += 1
        ctx.metrics.clear()  # each attempt counts afresh
        return step(ctx)

    try:
        outcome = call_with_retries(attempt, policy, what=f"step {name} of run {ctx.run_id}")[0]
    except Exception as error:
        # A configuration error is not retried (not transient) and its message is the one line to show.
        said = str(error) if isinstance(error, ConfigurationError) else f"{type(error).__name__}: {error}"
        outcome, transient = Outcome(FAILED, said), is_transient(error)
    result = StepResult(**asdict(outcome), name=name, attempts=attempts, started_at=started,
                        finished_at=clock.now(), transient=transient)  # fmt: skip
    _record(ctx, number, result, policy)
    return result


def _skip(ctx: _Context, number: int, policy: RetryPolicy) -> None:
    now = clock.now()
    failed = next(step.name for step in ctx.done.values() if step.status == FAILED)
    skipped = StepResult(SKIPPED, f"{failed} failed", name=STEPS[number - 1][0], attempts=0, started_at=now,
                         finished_at=now)  # fmt: skip
    _record(ctx, number, skipped, policy)


def _record(ctx: _Context, number: int, result: StepResult, policy: RetryPolicy) -> None:
    ctx.done[result.name] = result
    log.info("step %s", orjson.dumps({"run_id": ctx.run_id, "run_date": ctx.day, **asdict(result)}).decode())
    call_with_retries(
        lambda: ledger.record_step(ctx.settings, ctx.run_id, ctx.day, number, result), policy,
        what=f"recording step {result.name} of run {ctx.run_id}",
    )  # fmt: skip
    metrics.publish(ctx.settings, f"step-{result.name}", [*step_metrics(result), *ctx.metrics])
    ctx.metrics.clear()
    if result.name == NOTIFY:
        report = _report(ctx)
        report.finished_at = result.finished_at
        call_with_retries(lambda: ledger.record_run(ctx.settings, report), policy,
                          what=f"recording run {ctx.run_id}")  # fmt: skip
        metrics.publish(ctx.settings, "run", run_metrics(report, _earlier_runs(ctx)))


def _earlier_runs(ctx: _Context) -> list[tuple[date, float]]:
    """The day and duration of every other run in the ledger, for the run's duration against the median;
    none when the ledger cannot be read (the metric is then left out, as for a first run)."""
    try:
        return [
            (run.run_date, run.seconds) for run in ledger.past_runs(ctx.settings) if run.run_id != ctx.run_id
        ]
    except Exception as error:
        log.warning("the earlier runs' durations could not be read: %s: %s", type(error).__name__, error)
        return []


def run_day(settings: Settings, day: date, policy: RetryPolicy, project_dir: Path) -> RunReport:
    """Run every step for ``day`` in this process, holding the warehouse's writer lease; the report says what
    each did. Never raises for a failed step; :class:`~shopwarehouse.pipeline.lock.LockHeld` when another
    writer holds the lease."""
    ctx = _Context(settings, day, new_load_id(), project_dir, open_landing(settings))
    _take_lease(ctx, policy)
    try:
        for number, (name, _) in enumerate(STEPS, start=1):
            if name != NOTIFY and any(step.status == FAILED for step in ctx.done.values()):
                _skip(ctx, number, policy)
            else:
                _run_step(ctx, number, policy)
    finally:
        lock.release(settings, _holder(ctx.run_id))
    report = _report(ctx)
    report.finished_at = ctx.done[NOTIFY].finished_at
    return report


def run_step(
    settings: Settings, day: date, name: str, run_id: str, policy: RetryPolicy, project_dir: Path
) -> tuple[StepResult, RunReport]:
    """Run the one step ``name`` of run ``run_id`` (an orchestrator's task); the steps of the run that
    ended before are read from the ledger. The step's result, and the run as far as it went."""
    numbers = {step_name: number for number, (step_name, _) in enumerate(STEPS, start=1)}
    if name not in numbers:
        raise ValueError(f"no step {name!r}; the steps are {', '.join(numbers)}")
    ctx = _Context(settings, day, run_id, project_dir, open_landing(settings))
    recorded_day, ctx.done = ledger.steps_of(settings, run_id)
    if recorded_day not in (None, day):
        raise ValueError(f"run {run_id} is the run of {recorded_day}, not of {day}")
    # The run's lease, taken by its first step and held across the steps' processes; the last gives it back.
    _take_lease(ctx, policy)
    result = _run_step(ctx, numbers[name], policy)
    if name == NOTIFY:
        lock.release(settings, _holder(run_id))
    return result, _report(ctx)


def _holder(run_id: str) -> str:
    return f"run {run_id}"


def _take_lease(ctx: _Context, policy: RetryPolicy) -> None:
    """The writer lease for the run, retried like a step when the warehouse does not answer; a lease held by
    another writer is not waited for here (``SHOPWAREHOUSE_LOCK_WAIT_SECONDS`` is)."""
    call_with_retries(lambda: lock.acquire(ctx.settings, _holder(ctx.run_id)), policy,
                      what=f"taking the writer lease for run {ctx.run_id}")  # fmt: skip


def backfill(
    settings: Settings, start: date, end: date, policy: RetryPolicy, project_dir: Path, *, force: bool = False
) -> list[RunReport]:
    """Run each day from ``start`` to ``end`` in order, skipping the days a run already completed (unless
    ``force``) and stopping at the first day that fails; the reports of the days run. Run it again after
    a failure and it resumes where it stopped."""
    done = {run.run_date for run in ledger.past_runs(settings) if run.status != FAILED}
    reports = []
    day = start
    while day <= end:
        if day in done and not force:
            log.info("backfill: %s already done, skipped (--force runs it again)", day)
        else:
            started = time.perf_counter()
            report = run_day(settings, day, policy, project_dir)
            reports.append(report)
            log.info("backfill: %s %s in %.1f s", day, report.status, time.perf_counter() - started)
            if report.status == FAILED:
                log.error("backfill stopped at %s: %s", day, report.error)
                break
        day += timedelta(days=1)
    return reports
