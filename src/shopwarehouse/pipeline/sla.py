"""The daily promise: a day's data is available (a run of that day has not failed) by a set time, UTC, of
the next day (``SHOPWAREHOUSE_SLA_DEADLINE_UTC``, 06:00 by default: four hours after the 02:00 run).

``shopwarehouse status`` shows the promise for yesterday; ``shopwarehouse status --check-sla``, scheduled at
the deadline, also emits the metric ``SlaMissed`` (1 or 0), and sends a notice and exits with 1 when it was
missed, whether the run failed, was late or never started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shopwarehouse.pipeline.report import FAILED, Notice

MET, MISSED, PENDING = "met", "missed", "pending"


def deadline_of(day: date, deadline: time) -> datetime:
    """When ``day``'s data is promised: the deadline's time on the next day."""
    return datetime.combine(day + timedelta(days=1), deadline)


@dataclass(frozen=True)
class SlaState:
    day: date
    deadline: datetime
    state: str
    available_at: datetime | None
    """When the first run of the day that did not fail finished, if one has."""

    def line(self) -> str:
        due = f"{self.deadline:%Y-%m-%d %H:%M} UTC"
        if self.state == MET:
            return (
                f"SLA met: data for {self.day} available at {self.available_at:%Y-%m-%d %H:%M} UTC, due {due}"
            )
        if self.state == PENDING:
            return f"SLA pending: data for {self.day} is not available yet; due {due}"
        since = (
            f"available since {self.available_at:%Y-%m-%d %H:%M} UTC"
            if self.available_at
            else "NOT available"
        )
        return f"SLA MISSED: data for {self.day} was due {due}; {since}"

    def notice(self) -> Notice:
        body = {
            "kind": "sla",
            "day": self.day.isoformat(),
            "state": self.state,
            "deadline": self.deadline.isoformat(),
            "available_at": self.available_at.isoformat() if self.available_at else None,
        }
        return Notice(f"shopwarehouse {self.line()}", body, failed=self.state == MISSED)


def sla_state(
    finished_runs: list[tuple[date, str, datetime]], day: date, deadline: time, now: datetime
) -> SlaState:
    """The promise for ``day`` at ``now``, from the runs recorded: ``(run date, status, finished at)``."""
    due = deadline_of(day, deadline)
    done = [finished for run_date, status, finished in finished_runs if run_date == day and status != FAILED]
    available_at = min(done) if done else None
    if available_at is not None and available_at <= due:
        return SlaState(day, due, MET, available_at)
    if available_at is None and now <= due:
        return SlaState(day, due, PENDING, None)
    return SlaState(day, due, MISSED, available_at)
