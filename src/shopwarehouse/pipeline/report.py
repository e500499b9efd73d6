"""What a daily run did, step by step, and the notices sent about runs and about the promised time.

These are plain records shared by the runner (which makes them), the run ledger (which stores them) and
the notifiers (which send them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import orjson

SUCCEEDED, WARNED, FAILED, SKIPPED = "succeeded", "warned", "failed", "skipped"

EXIT_FAILED = 1
"""The exit code of a run or step that failed on its data or models: running it again will not help."""
EXIT_TRANSIENT = 75
"""The exit code (sysexits' EX_TEMPFAIL) of a run or step that gave up on a transient fault after every
attempt: the same command may succeed later."""

COUNTS = ("rows_loaded", "files_quarantined", "tests_passed", "tests_warned", "tests_failed")


@dataclass(frozen=True)
class Outcome:
    """What one step found: its status, a line for people, and the figures it counted."""

    status: str
    detail: str = ""
    rows_loaded: int = 0
    files_quarantined: int = 0
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0


@dataclass(frozen=True, kw_only=True)
class StepResult(Outcome):
    """One step of one run, as the run ledger keeps it."""

    name: str
    attempts: int
    started_at: datetime
    finished_at: datetime
    transient: bool = False
    """It failed on a transient fault after every attempt (not kept in the ledger: it sets the exit code)."""

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def exit_code(self) -> int:
        if self.status != FAILED:
            return 0
        return EXIT_TRANSIENT if self.transient else EXIT_FAILED


@dataclass(frozen=True)
class Notice:
    """A message for people: a subject line and a JSON body."""

    subject: str
    body: dict[str, Any]
    failed: bool

    def as_json(self) -> bytes:
        return orjson.dumps({"subject": self.subject, **self.body})


@dataclass
class RunReport:
    """A run of one day: its steps so far, and the figures and status they add up to."""

    run_id: str
    run_date: date
    target: str
    started_at: datetime
    finished_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)
    sla_deadline: datetime | None = None
    """The time by which the day's data was promised (see :mod:`shopwarehouse.pipeline.sla`)."""

    @property
    def status(self) -> str:
        statuses = {step.status for step in self.steps}
        return FAILED if FAILED in statuses else WARNED if WARNED in statuses else SUCCEEDED

    @property
    def error(self) -> str | None:
        failed = [step for step in self.steps if step.status == FAILED]
        return f"{failed[0].name}: {failed[0].detail}" if failed else None

    @property
    def exit_code(self) -> int:
        failed = [step for step in self.steps if step.status == FAILED]
        return failed[0].exit_code if failed else 0

    def total(self, count: str) -> int:
        return sum(getattr(step, count) for step in self.steps)

    def late(self, at: datetime) -> bool:
        return self.sla_deadline is not None and at > self.sla_deadline

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "target": self.target,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "sla_deadline": self.sla_deadline.isoformat() if self.sla_deadline else None,
            "error": self.error,
            **{count: self.total(count) for count in COUNTS},
            "steps": [
                {**asdict(step), "started_at": step.started_at.isoformat(),
                 "finished_at": step.finished_at.isoformat()}
                for step in self.steps
            ],
        }  # fmt: skip

    def quality_notice(self) -> Notice | None:
        """The data-quality alert of the run: the files it quarantined and the tests that warned or failed,
        with what the steps said of them; ``None`` when there were none."""
        counts = {count: self.total(count) for count in ("files_quarantined", "tests_warned", "tests_failed")}
        if not any(counts.values()):
            return None
        said = [
            f"{step.name}: {step.detail}"
            for step in self.steps
            if any(getattr(step, count) for count in counts) or step.name == "quality_gate"
        ]
        found = ", ".join(_counted(count, value) for count, value in counts.items() if value)
        subject = f"shopwarehouse data quality for {self.run_date} on {self.target}: {found}"
        body = {"kind": "data_quality", "run_id": self.run_id, "run_date": self.run_date.isoformat(),
                "target": self.target, **counts, "findings": said}  # fmt: skip
        return Notice(subject, body, failed=counts["tests_failed"] > 0)

    def notice(self, at: datetime) -> Notice:
        subject = f"shopwarehouse run for {self.run_date} on {self.target}: {self.status}"
        if self.late(at):
            subject += f", after the promised {self.sla_deadline:%Y-%m-%d %H:%M} UTC"
        return Notice(subject, {"kind": "run", **self.summary()}, failed=self.status == FAILED)


def _counted(count: str, value: int) -> str:
    """``files_quarantined`` 1 is "1 file quarantined"; 2, "2 files quarantined"."""
    noun, verb = count.split("_")
    return f"{value} {noun if value != 1 else noun.removesuffix('s')} {verb}"
