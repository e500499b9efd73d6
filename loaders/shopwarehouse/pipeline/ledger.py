"""The run ledger, in the warehouse's ``ops`` schema: one row per daily run and one per step of it.

``ops.pipeline_runs`` says what each run did (status, rows loaded, tests passed, warned and failed, the
error); ``ops.pipeline_steps`` how each step went (status, attempts, seconds, detail). Backfills read it to
skip the days already done, and ``shopwarehouse status`` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shopwarehouse.config import Settings
from shopwarehouse.contract import ColumnType
from shopwarehouse.landing import Landing
from shopwarehouse.load.warehouse import open_warehouse

OPS_SCHEMA = "ops"
RUNS, STEPS = "pipeline_runs", "pipeline_steps"
S, INT, D, T, DEC = (ColumnType.STRING, ColumnType.INTEGER, ColumnType.DATE, ColumnType.TIMESTAMP,
                     ColumnType.DECIMAL)  # fmt: skip

RUN_COLUMNS = (
    ("run_id", S), ("run_date", D), ("target", S), ("status", S), ("started_at", T), ("finished_at", T),
    ("rows_loaded", INT), ("files_quarantined", INT), ("tests_passed", INT), ("tests_warned", INT),
    ("tests_failed", INT), ("error", S),
)  # fmt: skip
STEP_COLUMNS = (
    ("run_id", S), ("step_number", INT), ("step", S), ("status", S), ("attempts", INT), ("seconds", DEC),
    ("detail", S),
)  # fmt: skip

Row = tuple[object, ...]


@dataclass(frozen=True)
class PastRun:
    run_id: str
    run_date: date
    status: str
    finished_at: datetime
    error: str | None


def record(settings: Settings, landing: Landing, run: Row, steps: list[Row]) -> None:
    """One run's row (``RUN_COLUMNS`` order) and its steps' rows (``STEP_COLUMNS`` order)."""
    with open_warehouse(settings, landing) as warehouse:
        warehouse.append_rows(OPS_SCHEMA, STEPS, STEP_COLUMNS, steps)
        warehouse.append_rows(OPS_SCHEMA, RUNS, RUN_COLUMNS, [run])


def past_runs(settings: Settings, landing: Landing) -> list[PastRun]:
    """Every run recorded, oldest first."""
    wanted = ("run_id", "run_date", "status", "finished_at", "error")
    columns = [column for column in RUN_COLUMNS if column[0] in wanted]
    with open_warehouse(settings, landing) as warehouse:
        rows = warehouse.select_rows(OPS_SCHEMA, RUNS, columns, order_by="finished_at")
    return [PastRun(run_id, _day(run_date), status, finished, error)
            for run_id, run_date, status, finished, error in rows]  # fmt: skip


def _day(value: object) -> date:
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]
