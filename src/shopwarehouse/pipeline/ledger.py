"""The run ledger, in the warehouse's ``ops`` schema: one row per daily run and one per step of it.

``ops.pipeline_steps`` gets a row as each step ends (status, attempts, start and end, rows loaded, tests
passed, warned and failed, the detail), so the steps of one run can run in separate processes (one task
each under an orchestrator) and share what they found. ``ops.pipeline_runs`` gets the run's row when its
last step, the notification, has run. Backfills read it to skip the days already done, and
``shopwarehouse status`` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shopwarehouse.config import Settings
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.pipeline.report import COUNTS, RunReport, StepResult
from shopwarehouse.warehouse import open_client

OPS_SCHEMA = "ops"
"""The pipeline's own tables: the run ledger and the writer's lease (:mod:`shopwarehouse.pipeline.lock`)."""
RUNS, STEPS = "pipeline_runs", "pipeline_steps"
S, INT, D, T = ColumnType.STRING, ColumnType.INTEGER, ColumnType.DATE, ColumnType.TIMESTAMP

RUN_COLUMNS = (
    ("run_id", S), ("run_date", D), ("target", S), ("status", S), ("started_at", T), ("finished_at", T),
    *((count, INT) for count in COUNTS), ("error", S),
)  # fmt: skip
STEP_COLUMNS = (
    ("run_id", S), ("run_date", D), ("step_number", INT), ("step", S), ("status", S), ("attempts", INT),
    ("started_at", T), ("finished_at", T), *((count, INT) for count in COUNTS), ("detail", S),
)  # fmt: skip


@dataclass(frozen=True)
class PastRun:
    run_id: str
    run_date: date
    status: str
    started_at: datetime
    finished_at: datetime
    error: str | None

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def record_step(settings: Settings, run_id: str, run_date: date, number: int,
                step: StepResult) -> None:  # fmt: skip
    row = (run_id, run_date, number, step.name, step.status, step.attempts, step.started_at, step.finished_at,
           *(getattr(step, count) for count in COUNTS), step.detail)  # fmt: skip
    with open_client(settings) as warehouse:
        warehouse.append_rows(settings.schema(OPS_SCHEMA), STEPS, STEP_COLUMNS, [row])


def record_run(settings: Settings, report: RunReport) -> None:
    row = (report.run_id, report.run_date, report.target, report.status, report.started_at,
           report.finished_at, *(report.total(count) for count in COUNTS), report.error)  # fmt: skip
    with open_client(settings) as warehouse:
        warehouse.append_rows(settings.schema(OPS_SCHEMA), RUNS, RUN_COLUMNS, [row])


def steps_of(settings: Settings, run_id: str) -> tuple[date | None, dict[str, StepResult]]:
    """The day of run ``run_id`` (``None`` if no step of it is recorded) and the last row of each of its
    steps. The ledger holds a few rows a day, so they are read whole and picked here."""
    with open_client(settings) as warehouse:
        rows = warehouse.select_rows(settings.schema(OPS_SCHEMA), STEPS, STEP_COLUMNS, order_by="finished_at")
    run_date, steps = None, {}
    for row in rows:
        values = dict(zip((name for name, _ in STEP_COLUMNS), row, strict=True))
        if values["run_id"] != run_id:
            continue
        run_date = _day(values["run_date"])
        steps[values["step"]] = StepResult(
            name=values["step"], status=values["status"], attempts=values["attempts"],
            started_at=values["started_at"], finished_at=values["finished_at"], detail=values["detail"] or "",
            **{count: values[count] for count in COUNTS},
        )  # fmt: skip
    return run_date, steps


def past_runs(settings: Settings) -> list[PastRun]:
    """Every run recorded, oldest first."""
    wanted = ("run_id", "run_date", "status", "started_at", "finished_at", "error")
    columns = [column for column in RUN_COLUMNS if column[0] in wanted]
    with open_client(settings) as warehouse:
        rows = warehouse.select_rows(settings.schema(OPS_SCHEMA), RUNS, columns, order_by="finished_at")
    return [PastRun(run_id, _day(run_date), status, started, finished, error)
            for run_id, run_date, status, started, finished, error in rows]  # fmt: skip


def _day(value: object) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]
