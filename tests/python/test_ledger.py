"""Unit tests of the ledgers and lineage, fast: no dbt, no server. Which landed files a load picks (new,
changed, already loaded, duplicate, quarantined, by export day), the lineage columns every raw row carries,
and the run ledger, each on a real DuckDB file in a temporary directory and a real local landing directory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner
from support import duckdb_env
from support.bad_files import GOOD_ORDER, ORDERS_HEADER, csv_file

from shopwarehouse.cli import main
from shopwarehouse.config import Settings
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.load.loader import LoadOptions, select_files
from shopwarehouse.load.tables import (
    LEDGER_COLUMNS,
    LINEAGE_COLUMNS,
    LedgerEntry,
    Status,
    raw_columns,
    with_lineage,
)
from shopwarehouse.pipeline import ledger
from shopwarehouse.pipeline.report import RunReport, StepResult

KEY = "raw/orders/date=2024-03-01/orders.csv"
OTHER_KEY = "raw/orders/date=2024-03-01/orders_resent.csv"


def orders(*order_ids: str) -> bytes:
    """An orders file with one valid row per id."""
    return csv_file(ORDERS_HEADER, *(GOOD_ORDER.replace("ord_1", order_id) for order_id in order_ids))


class Warehouse:
    """A DuckDB file and a landing directory of a test's own, loaded by ``shopwarehouse load`` in-process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.landing = LocalLanding(root / "landing")
        self.env = duckdb_env(root, root / "landing")

    def put(self, key: str, data: bytes) -> None:
        self.landing.put(key, data)

    def load(self, *flags: str, exit_code: int = 0) -> str:
        result = CliRunner().invoke(main, ["load", *flags], env=self.env)
        assert result.exit_code == exit_code, result.output
        return result.output

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(self.env["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
            return conn.execute(sql).fetchall()

    def ledger(self) -> list[tuple[object, ...]]:
        """(key, status, rows) of every ledger row, in the order the loads wrote them."""
        return self.query(
            "select file_key, status, row_count from raw._load_files order by finished_at, file_key"
        )

    def order_ids(self) -> list[str]:
        return sorted(str(order_id) for (order_id,) in self.query("select order_id from raw.orders"))


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """GIVEN one orders file of two rows, loaded."""
    monkeypatch.chdir(Path(duckdb_env(tmp_path, tmp_path)["DBT_PROFILES_DIR"]))
    warehouse = Warehouse(tmp_path)
    warehouse.put(KEY, orders("ord_1", "ord_2"))
    warehouse.load()
    assert warehouse.ledger() == [(KEY, "loaded", 2)]
    return warehouse


# -- which landed files a load picks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "ledger_after", "orders_after"),
    [
        pytest.param(
            lambda w: None, [(KEY, "loaded", 2)], ["ord_1", "ord_2"],
            id="GIVEN nothing new WHEN it loads again THEN it picks nothing",
        ),
        pytest.param(
            lambda w: w.put("raw/orders/date=2024-03-02/orders.csv", orders("ord_3")),
            [(KEY, "loaded", 2), ("raw/orders/date=2024-03-02/orders.csv", "loaded", 1)],
            ["ord_1", "ord_2", "ord_3"],
            id="GIVEN a new file WHEN it loads THEN it picks the new file only",
        ),
        pytest.param(
            lambda w: w.put(KEY, orders("ord_1", "ord_2", "ord_3")),
            [(KEY, "loaded", 2), (KEY, "loaded", 3)],
            ["ord_1", "ord_1", "ord_2", "ord_2", "ord_3"],
            id="GIVEN a loaded key delivered again, another size WHEN it loads THEN it loads it again",
        ),
        pytest.param(
            lambda w: w.put(KEY, orders("ord_8", "ord_9")),
            [(KEY, "loaded", 2)],
            ["ord_1", "ord_2"],
            id="GIVEN a loaded key changed at the same size WHEN it loads THEN landed files are immutable",
        ),
        pytest.param(
            lambda w: w.put(OTHER_KEY, orders("ord_1", "ord_2")),
            [(KEY, "loaded", 2), (OTHER_KEY, "duplicate", 0)],
            ["ord_1", "ord_2"],
            id="GIVEN the same bytes under another key WHEN it loads THEN they are a duplicate, not loaded",
        ),
    ],
)  # fmt: skip
def test_a_load_picks_what_is_new_or_changed_and_nothing_it_has_loaded(
    loaded: Warehouse,
    change: Callable[[Warehouse], None],
    ledger_after: list[tuple[object, ...]],
    orders_after: list[str],
) -> None:
    change(loaded)
    loaded.load()
    assert loaded.ledger() == ledger_after
    assert loaded.order_ids() == orders_after


@pytest.mark.parametrize("corrected_key", [KEY, OTHER_KEY], ids=["same key", "another key"])
def test_a_quarantined_file_is_not_reported_again_until_it_is_corrected(
    loaded: Warehouse, corrected_key: str
) -> None:
    bad_key = "raw/orders/date=2024-03-02/orders.csv"
    bad = orders("ord_3").replace(b"EUR", b"")  # a required value missing
    # GIVEN a bad file, quarantined by a load that exits 1 naming it
    loaded.put(bad_key, bad)
    assert bad_key in loaded.load(exit_code=1)
    assert loaded.ledger()[-1] == (bad_key, "quarantined", 0)
    # WHEN it loads again with the file unchanged THEN it is not reported again: exit 0, no new ledger row
    assert bad_key not in loaded.load()
    assert [row for row in loaded.ledger() if row[0] == bad_key] == [(bad_key, "quarantined", 0)]
    # WHEN the exporter delivers it corrected THEN the correction loads, once
    if corrected_key == KEY:
        corrected_key = bad_key
        loaded.put(bad_key, orders("ord_3"))  # same key, another size
    else:
        loaded.put("raw/orders/date=2024-03-02/orders_fixed.csv", orders("ord_3"))
        corrected_key = "raw/orders/date=2024-03-02/orders_fixed.csv"
    loaded.load()
    loaded.load()
    assert loaded.ledger()[-1] == (corrected_key, "loaded", 1)
    assert loaded.order_ids() == ["ord_1", "ord_2", "ord_3"]


DAYS_LANDED = ("2024-03-01", "2024-03-02", "2024-03-03")
MISPLACED = "raw/orders/orders.csv"  # outside a date= partition: read, to be quarantined


@pytest.mark.parametrize(
    ("options", "days", "misplaced"),
    [
        pytest.param(LoadOptions(), DAYS_LANDED, True, id="no date: every day and the misplaced file"),
        pytest.param(LoadOptions(on=date(2024, 3, 2)), ("2024-03-02",), False, id="--date: that day only"),
        pytest.param(LoadOptions(since=date(2024, 3, 2)), ("2024-03-02", "2024-03-03"), False,
                     id="--since: that day and later"),
        pytest.param(LoadOptions(until=date(2024, 3, 2)), ("2024-03-01", "2024-03-02"), True,
                     id="--until: no later day, the misplaced file still read"),
        pytest.param(LoadOptions(since=date(2024, 3, 2), until=date(2024, 3, 2)), ("2024-03-02",), False,
                     id="--since and --until: the days between"),
        pytest.param(LoadOptions(until=date(2024, 2, 29)), (), True, id="--until before every export"),
        pytest.param(LoadOptions(entities=("customers",)), (), False, id="--entity another entity"),
    ],
)  # fmt: skip
def test_the_date_flags_select_export_days_by_their_partition(
    tmp_path: Path, options: LoadOptions, days: tuple[str, ...], misplaced: bool
) -> None:
    # GIVEN three days of orders and a file outside any date= partition
    landing = LocalLanding(tmp_path)
    for day in DAYS_LANDED:
        landing.put(f"raw/orders/date={day}/orders.csv", orders("ord_1"))
    landing.put(MISPLACED, orders("ord_1"))
    # WHEN a load's files are selected THEN they are the days asked for, in key order
    selected = [(entity, obj.key) for entity, obj in select_files(landing, options)]
    expected = [("orders", f"raw/orders/date={day}/orders.csv") for day in days]
    assert selected == sorted([*expected, *([("orders", MISPLACED)] if misplaced else [])])


# -- lineage ------------------------------------------------------------------------------------------------

STARTED = datetime(2024, 3, 2, 2, 0, tzinfo=UTC)


def entry(key: str, checksum: str, rows: int, status: Status = Status.LOADED) -> LedgerEntry:
    return LedgerEntry(load_id="L1", entity="orders", file_key=key, file_size=100, file_checksum=checksum,
                       row_count=rows, status=status, reason=None, started_at=STARTED,
                       finished_at=STARTED + timedelta(seconds=3))  # fmt: skip


@pytest.mark.parametrize("first_row", [1, 501], ids=["a whole file", "a later part of a file"])
@pytest.mark.parametrize("sizes", [(3,), (2, 4)], ids=["one file", "two files"])
def test_with_lineage_numbers_each_files_rows_and_stamps_where_they_came_from(
    first_row: int, sizes: tuple[int, ...]
) -> None:
    # GIVEN validated files of orders (only an order_id column, enough for lineage)
    files = [
        (pa.table({"order_id": [f"f{n}_{i}" for i in range(size)]}), entry(f"k{n}", f"c{n}", size))
        for n, size in enumerate(sizes)
    ]
    # WHEN their lineage is added
    table = with_lineage(files, first_row=first_row)
    # THEN the lineage columns follow the file's, and each row says its file, place, checksum and load
    assert table.column_names == ["order_id", *(name for name, _ in LINEAGE_COLUMNS)]
    rows = table.to_pylist()
    expected = [
        {"order_id": f"f{n}_{i}", "_source_file": f"k{n}", "_source_row_number": first_row + i,
         "_file_checksum": f"c{n}", "_load_id": "L1", "_loaded_at": STARTED}
        for n, size in enumerate(sizes) for i in range(size)
    ]  # fmt: skip
    assert rows == expected


def test_the_raw_tables_end_with_the_lineage_columns() -> None:
    names = [name for name, _ in raw_columns("orders")]
    assert names[-len(LINEAGE_COLUMNS) :] == [name for name, _ in LINEAGE_COLUMNS]
    assert names[0] == "order_id"


def test_a_loaded_files_rows_carry_its_lineage_and_match_its_ledger_row(loaded: Warehouse) -> None:
    # GIVEN the file loaded by the fixture; THEN its rows hold its key, places 1..n, its SHA-256, and the
    # load id and start of the ledger row written with them
    data = orders("ord_1", "ord_2")
    (load_id, checksum, started_at), *others = loaded.query(
        "select load_id, file_checksum, started_at from raw._load_files"
    )
    assert others == []
    assert checksum == hashlib.sha256(data).hexdigest()
    lineage = loaded.query(
        "select order_id, _source_file, _source_row_number, _file_checksum, _load_id, _loaded_at "
        "from raw.orders order by _source_row_number"
    )
    assert lineage == [("ord_1", KEY, 1, checksum, load_id, started_at),
                       ("ord_2", KEY, 2, checksum, load_id, started_at)]  # fmt: skip


@pytest.mark.parametrize("status", list(Status))
def test_a_ledger_entry_gives_its_values_in_the_ledgers_column_order(status: Status) -> None:
    values = entry("k", "c", 2, status).values()
    assert len(values) == len(LEDGER_COLUMNS)
    by_name = dict(zip((name for name, _ in LEDGER_COLUMNS), values, strict=True))
    assert by_name["status"] == str(status)
    assert type(by_name["status"]) is str
    assert (by_name["file_key"], by_name["row_count"], by_name["load_id"]) == ("k", 2, "L1")
    assert by_name["finished_at"] - by_name["started_at"] == timedelta(seconds=3)  # type: ignore[operator]


# -- the run ledger -----------------------------------------------------------------------------------------


@pytest.fixture
def run_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty DuckDB warehouse in a temporary directory, as the daily run's settings."""
    for name, value in duckdb_env(tmp_path, tmp_path / "landing").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(duckdb_env(tmp_path, tmp_path)["DBT_PROFILES_DIR"]))
    (tmp_path / "landing").mkdir()
    return Settings.from_env()


def step(name: str, status: str, attempts: int, finished: datetime, rows: int = 0) -> StepResult:
    return StepResult(status, f"{name}: {status}", name=name, attempts=attempts, rows_loaded=rows,
                      started_at=finished - timedelta(minutes=1), finished_at=finished)  # fmt: skip


def test_the_steps_of_a_run_are_read_back_last_row_per_step_and_no_other_runs(run_settings: Settings) -> None:
    day = date(2024, 3, 1)
    # GIVEN run r1's load failed once then succeeded, its build succeeded, and another run's load
    rows = [
        ("r1", 1, step("load", "failed", 1, STARTED)),
        ("r1", 1, step("load", "succeeded", 2, STARTED + timedelta(minutes=5), rows=42)),
        ("r2", 1, step("load", "succeeded", 1, STARTED + timedelta(minutes=6))),
        ("r1", 2, step("build", "succeeded", 1, STARTED + timedelta(minutes=9))),
    ]
    for run_id, number, result in rows:
        ledger.record_step(run_settings, run_id, day, number, result)
    # WHEN r1's steps are read THEN each step is its last row, with every figure as recorded
    run_date, steps = ledger.steps_of(run_settings, "r1")
    assert run_date == day
    assert {name: (s.status, s.attempts, s.rows_loaded) for name, s in steps.items()} == {
        "load": ("succeeded", 2, 42), "build": ("succeeded", 1, 0)
    }  # fmt: skip
    assert steps["load"].finished_at == STARTED + timedelta(minutes=5)
    assert steps["load"].detail == "load: succeeded"
    # AND a run with no step recorded has no day and no steps
    assert ledger.steps_of(run_settings, "r9") == (None, {})


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1)], ids=["recorded in order", "recorded out of order"])
def test_past_runs_are_every_recorded_run_oldest_first(
    run_settings: Settings, order: tuple[int, ...]
) -> None:
    runs = [
        ("r-0301", date(2024, 3, 1), "succeeded", STARTED),
        ("r-0302", date(2024, 3, 2), "failed", STARTED + timedelta(days=1)),
        ("r-0303", date(2024, 3, 3), "warned", STARTED + timedelta(days=2)),
    ]
    # GIVEN three runs recorded, in either order
    for index in order:
        run_id, day, status, finished = runs[index]
        done = step("notify", status, 1, finished)
        report = RunReport(run_id, day, run_settings.target, done.started_at, finished, steps=[done])
        ledger.record_run(run_settings, report)
    # WHEN they are read THEN they are oldest first, with day, status, end and error as recorded
    past = ledger.past_runs(run_settings)
    assert [(r.run_id, r.run_date, r.status, r.finished_at) for r in past] == runs
    assert all(type(r.run_date) is date for r in past)
    assert [r.error is None for r in past] == [True, False, True]
