"""The one clock the package reads the time of day from: :func:`now`, UTC.

Everything that depends on when it runs takes its time from here: the SLA state of ``shopwarehouse status``
(whose "yesterday" is it?), the default day of ``run`` and the default first day of ``generate``, whether a
run's notice came after the promised time, the writer lease's times, the loaders' load ids and ``_loaded_at``,
the run ledger's times and the dashboard's "report made". Durations and timeouts are measured with
``time.monotonic``/``time.perf_counter``, which say nothing about the hour and stay as they are.

By default it is the system clock. ``SHOPWAREHOUSE_NOW`` (an ISO 8601 time with its zone, e.g.
``2026-12-02T01:00:00Z``) sets it for a process: the first reading is that instant, and the clock runs on
from there at the system clock's pace. In-process, :func:`use` sets it for a block, and functions with a
``now`` parameter take one directly. The warehouse's own clock is not moved: dbt's ``source freshness`` and
the recent-data tests compare loaded times with the warehouse's ``current_timestamp``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

ENV = "SHOPWAREHOUSE_NOW"

Clock = Callable[[], datetime]
"""A clock: each call gives the current time, timezone-aware, in UTC."""


def system() -> datetime:
    """The system clock, UTC."""
    return datetime.now(UTC)  # noqa: TID251 (the one reading of the system clock)


def parse(text: str) -> datetime:
    """A ``SHOPWAREHOUSE_NOW`` value as an aware UTC time; :class:`ValueError` saying what to write."""
    example = "e.g. 2026-12-02T01:00:00Z"
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{ENV}={text!r} is not a date and time; use ISO 8601 with its zone, {example} "
            "(unset: the system clock)"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{ENV}={text!r} has no time zone; add one, {example} (unset: the system clock)")
    return at.astimezone(UTC)


def starting_at(start: datetime) -> Clock:
    """A clock that reads ``start`` now and runs on from there at the system clock's pace."""
    if start.tzinfo is None:
        raise ValueError(f"a clock needs an aware start time, not {start}")
    origin = time.monotonic()

    def read() -> datetime:
        return start.astimezone(UTC) + timedelta(seconds=time.monotonic() - origin)

    return read


def fixed(at: datetime) -> Clock:
    """A clock stopped at ``at`` (for tests that need the same reading twice)."""
    if at.tzinfo is None:
        raise ValueError(f"a clock needs an aware time, not {at}")
    stopped = at.astimezone(UTC)
    return lambda: stopped


def from_env(value: str | None) -> Clock:
    """The clock a ``SHOPWAREHOUSE_NOW`` value names: unset or empty is the system clock."""
    return starting_at(parse(value)) if value else system


_lock = threading.Lock()
_set: Clock | None = None
"""The clock :func:`use` set, if any."""
_env: tuple[str | None, Clock] = (None, system)
"""The clock ``SHOPWAREHOUSE_NOW`` named at its last reading, with that value."""


def current() -> Clock:
    """The clock in force: the one :func:`use` set, else the one ``SHOPWAREHOUSE_NOW`` names (made once per
    value, so it runs on between readings), else the system clock."""
    global _env
    if _set is not None:
        return _set
    value = os.environ.get(ENV) or None
    with _lock:
        if _env[0] != value:
            _env = (value, from_env(value))
        return _env[1]


def now() -> datetime:
    """The current time, UTC (aware), from the clock in force."""
    return current()()


def yesterday(at: datetime | None = None) -> date:
    """The UTC day before ``at`` (default: :func:`now`): the day a daily run, or the SLA, is about."""
    return ((at or now()).astimezone(UTC) - timedelta(days=1)).date()


@contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    """Read the time from ``clock`` inside the block (this process, every thread)."""
    global _set
    before, _set = _set, clock
    try:
        yield clock
    finally:
        _set = before
