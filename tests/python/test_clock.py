"""The one clock: the system's by default, SHOPWAREHOUSE_NOW for a process, :func:`clock.use` in-process."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support import cli

from shopwarehouse import clock
from shopwarehouse.config import Settings

ONE_AM = datetime(2026, 12, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["2026-12-02T01:00:00Z", "2026-12-02T01:00:00+00:00", "2026-12-02 01:00Z", "2026-12-02T02:00:00+01:00",
     "2026-12-01T20:00:00-05:00", " 2026-12-02T01:00:00Z\n"],
)  # fmt: skip
def test_a_time_with_its_zone_is_read_as_the_instant_in_utc(text: str) -> None:
    at = clock.parse(text)
    assert at == ONE_AM
    assert at.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "reason"),
    [("01:00", "is not a date and time"), ("tomorrow", "is not a date and time"),
     ("2026-12-02T01:00:00", "has no time zone"), ("2026-12-02", "has no time zone")],
)  # fmt: skip
def test_a_value_that_is_not_an_instant_says_what_to_write(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as raised:
        clock.parse(text)
    assert f"SHOPWAREHOUSE_NOW={text!r}" in str(raised.value)
    assert str(raised.value).endswith("e.g. 2026-12-02T01:00:00Z (unset: the system clock)")
    with pytest.raises(ValueError, match=reason):
        Settings.from_env({"SHOPWAREHOUSE_NOW": text})


def test_the_clock_set_by_the_environment_starts_there_and_runs_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPWAREHOUSE_NOW", "2026-12-02T01:00:00Z")
    first = clock.now()
    time.sleep(0.05)
    second = clock.now()
    assert ONE_AM <= first < second < ONE_AM + timedelta(seconds=5)
    assert first.tzinfo is UTC
    assert clock.yesterday() == date(2026, 12, 1)
    # Another value is another clock, from its own start
    monkeypatch.setenv("SHOPWAREHOUSE_NOW", "2024-03-04T07:00:00Z")
    assert clock.yesterday() == date(2024, 3, 3)
    assert clock.now() - datetime(2024, 3, 4, 7, tzinfo=UTC) < timedelta(seconds=5)


@pytest.mark.parametrize("value", [None, ""])
def test_unset_or_empty_it_is_the_system_clock(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    monkeypatch.setenv("SHOPWAREHOUSE_NOW", "2024-03-04T07:00:00Z")
    clock.now()
    if value is None:
        monkeypatch.delenv("SHOPWAREHOUSE_NOW")
    else:
        monkeypatch.setenv("SHOPWAREHOUSE_NOW", value)
    assert clock.current() is clock.system  # and no longer the one the variable named a moment ago
    before, now, after = clock.system(), clock.now(), clock.system()
    assert before <= now <= after
    assert now.tzinfo is UTC


def test_in_process_a_block_can_use_a_clock_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPWAREHOUSE_NOW", "2024-03-04T07:00:00Z")
    with clock.use(clock.fixed(ONE_AM)):
        assert clock.now() == clock.now() == ONE_AM
        assert clock.yesterday() == date(2026, 12, 1)
        with clock.use(clock.starting_at(ONE_AM + timedelta(days=1))):
            assert clock.yesterday() == date(2026, 12, 2)
        assert clock.now() == ONE_AM
    assert clock.yesterday() == date(2024, 3, 3)  # the environment's again


def test_yesterday_is_the_utc_day_before_whatever_the_zone_given() -> None:
    assert clock.yesterday(datetime(2026, 12, 2, 0, 30, tzinfo=UTC)) == date(2026, 12, 1)
    assert clock.yesterday(datetime(2026, 12, 2, 23, 59, tzinfo=UTC)) == date(2026, 12, 1)
    # 2026-12-02 00:30 UTC is still 2026-12-01 in New York: the day is UTC's
    assert clock.yesterday(clock.parse("2026-12-01T19:30:00-05:00")) == date(2026, 12, 1)


def test_a_clock_needs_an_aware_time() -> None:
    for make in (clock.fixed, clock.starting_at):
        with pytest.raises(ValueError, match="aware"):
            make(datetime(2026, 12, 2, 1))  # the mistake under test


def test_generate_without_a_start_ends_yesterday_by_the_clock(tmp_path: Path) -> None:
    # At 01:00 UTC on 2024-03-04, two days of exports are those of 2024-03-02 and 2024-03-03
    cli("--landing", str(tmp_path), "generate", "--days", "2", "--orders-per-day", "20",
        env={"SHOPWAREHOUSE_NOW": "2024-03-04T01:00:00Z"})  # fmt: skip
    days = {path.name for path in (tmp_path / "raw" / "orders").iterdir()}
    assert days == {"date=2024-03-02", "date=2024-03-03"}
