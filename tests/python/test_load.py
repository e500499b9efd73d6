"""Loading landed files into each local warehouse: exactly once, crash-safe, bad files quarantined."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import duckdb
import orjson
import pyarrow as pa
import pytest
from support import DAYS, START, WarehouseTarget, cli, kill_after_commits, read_landed
from support.bad_files import BAD_FILES, FX_HEADER, GOOD_ORDER, ITEMS_HEADER, ORDERS_HEADER, csv_file, parquet
from support.contract_reader import read_file

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import ENTITIES, QUARANTINE_PREFIX, STAGE_PREFIX
from shopwarehouse.landing.zone import Landing, LocalLanding, open_landing
from shopwarehouse.load import validate
from shopwarehouse.load.loader import LoadOptions, run_load
from shopwarehouse.load.raw import LoadError, open_raw_loader
from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

# Loads into each warehouse, most through the command in a process of its own: left out of `make test-fast`
# (test_ledger.py holds the fast unit tests of what a load picks).
pytestmark = pytest.mark.slow


def expected_rows(landing: Landing) -> tuple[Counter[str], set[str]]:
    """Rows per entity that a correct load holds, read independently of the loader, and the keys of the
    files whose content an earlier key already delivered (re-sent files)."""
    rows: Counter[str] = Counter()
    seen: set[str] = set()
    duplicates = set()
    for obj in landing.list("raw/"):
        data = read_landed(landing, obj.key)
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:
            duplicates.add(obj.key)
            continue
        seen.add(digest)
        rows[obj.key.split("/")[1]] += len(read_file(obj.key, data)[1])
    return rows, duplicates


def raw_counts(target: WarehouseTarget) -> Counter[str]:
    return Counter({entity: target.count(f"select count(*) from raw.{entity}") for entity in ENTITIES})


def assert_each_row_once(target: WarehouseTarget) -> None:
    for entity in ENTITIES:
        doubled = target.count(
            "select count(*) from (select _source_file, _source_row_number from "
            f"raw.{entity} group by 1, 2 having count(*) > 1) as doubled"
        )
        assert doubled == 0, f"raw.{entity} holds a file row more than once"
    # Every file recorded as loaded has exactly its rows in the raw table, and no row lacks a ledger entry.
    ledger: dict[str, int] = dict(
        target.query("select file_key, row_count from raw._load_files where status = 'loaded'")
    )
    for entity in ENTITIES:
        in_raw: dict[str, int] = dict(
            target.query(f"select _source_file, count(*) from raw.{entity} group by 1")
        )
        assert all(ledger[key] == count for key, count in in_raw.items())


# Thirty generated days with a thinned clickstream (the loads are the same for every entity; a full one is
# half a million events a day at this volume, which the generator's own tests read)
THIRTY_DAYS = GenerateOptions(start=START, days=DAYS, seed=7, orders_per_day=120, clickstream_scale=0.05)


@pytest.fixture(scope="session")
def s3_landing_30d(s3_settings: Settings) -> Landing:
    """The thirty days in the local S3 server, under a prefix of their own."""
    landing = open_landing(s3_settings.with_overrides(landing=f"{s3_settings.landing}-load-30d"))
    generate(landing, THIRTY_DAYS)
    return landing


@pytest.fixture(scope="session")
def local_landing_30d(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    """The thirty days in a directory (fakesnow's stages read ``file://`` only)."""
    landing = LocalLanding(tmp_path_factory.mktemp("landing-30d"))
    generate(landing, THIRTY_DAYS)
    return landing


def test_thirty_days_load_exactly_once(
    warehouse_target: WarehouseTarget, request: pytest.FixtureRequest
) -> None:
    # GIVEN thirty generated days, on the local S3 server (real HTTP) or, for fakesnow, in a directory
    if warehouse_target.name == "snowflake":
        landing = request.getfixturevalue("local_landing_30d")
        env = {"SHOPWAREHOUSE_LANDING": landing.url}
    else:
        landing = request.getfixturevalue("s3_landing_30d")
        settings: Settings = request.getfixturevalue("s3_settings")
        env = {
            "SHOPWAREHOUSE_LANDING": landing.url,
            "SHOPWAREHOUSE_S3_ENDPOINT_URL": str(settings.s3_endpoint_url),
        }
    rows, resent = expected_rows(landing)
    n_files = len(landing.list("raw/"))
    assert resent, "the generated days should hold a re-sent file"

    # WHEN they are loaded
    first = cli("load", env=env)

    # THEN each file's rows are in raw exactly once, and the re-sent file is recorded as a duplicate
    assert raw_counts(warehouse_target) == rows
    assert_each_row_once(warehouse_target)
    statuses: dict[str, str] = dict(warehouse_target.query("select file_key, status from raw._load_files"))
    assert len(statuses) == n_files
    assert {key for key, status in statuses.items() if status == "duplicate"} == resent
    assert Counter(statuses.values()) == {"loaded": n_files - len(resent), "duplicate": len(resent)}
    assert "total" in first.stdout
    assert f"{sum(rows.values()):,}" in first.stdout
    assert not landing.list(STAGE_PREFIX), "staged files must be removed once copied"

    # WHEN they are loaded again THEN nothing is added, not even to the ledger
    second = cli("load", env=env)
    assert raw_counts(warehouse_target) == rows
    assert warehouse_target.count("select count(*) from raw._load_files") == n_files
    assert "0 to read" in second.stderr


def small_landing(root: Path, days: int = 4, orders_per_day: float = 60) -> LocalLanding:
    landing = LocalLanding(root)
    generate(
        landing,
        GenerateOptions(
            start=date(2024, 3, 1), days=days, seed=3, orders_per_day=orders_per_day, clickstream_scale=0.05
        ),
    )
    return landing


class InjectedFailure(Exception):
    pass


def test_failure_after_copy_before_commit_leaves_nothing(
    warehouse_target: WarehouseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing = small_landing(tmp_path / "landing")
    rows, _ = expected_rows(landing)
    settings = Settings.from_env().with_overrides(landing=landing.url)

    # GIVEN a warehouse that fails on the third file, after its rows were copied, before the commit
    # (one file per batch, so the two files before it are committed)
    with open_raw_loader(settings, landing) as warehouse:
        insert_ledger = warehouse._insert_ledger
        calls = []

        def failing(entry: object) -> None:
            calls.append(entry)
            if len(calls) == 3:
                raise InjectedFailure("connection lost before commit")
            insert_ledger(entry)  # type: ignore[arg-type]

        monkeypatch.setattr(warehouse, "_insert_ledger", failing)
        with pytest.raises(InjectedFailure):
            run_load(landing, warehouse, LoadOptions(batch_rows=1))

    # THEN the first two files are in, and nothing of the third
    assert warehouse_target.count("select count(*) from raw._load_files") == 2
    loaded = warehouse_target.count("select count(*) from raw.customers")
    assert loaded == sum(r[0] for r in warehouse_target.query("select row_count from raw._load_files"))

    # WHEN the load runs again THEN every row is there exactly once
    with open_raw_loader(settings, landing) as warehouse:
        run_load(landing, warehouse, LoadOptions())
    assert raw_counts(warehouse_target) == rows
    assert_each_row_once(warehouse_target)


@pytest.mark.parametrize("warehouse_target", ["duckdb", "postgres"], indirect=True)
def test_killed_load_reruns_to_exactly_once(warehouse_target: WarehouseTarget, tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing", days=20, orders_per_day=400)
    rows, _ = expected_rows(landing)

    # GIVEN a load process killed (SIGKILL: no clean-up of any kind) in the middle of its files, after a
    # few batches were committed
    env = {"SHOPWAREHOUSE_LANDING": landing.url, "SHOPWAREHOUSE_LOAD_BATCH_ROWS": "2000"}
    kill_after_commits(["load"], env, commits=5)
    assert 0 < warehouse_target.count("select count(*) from raw._load_files") < len(landing.list("raw/"))

    # WHEN it runs again THEN each row is loaded exactly once
    cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url})
    assert raw_counts(warehouse_target) == rows
    assert_each_row_once(warehouse_target)


def rates_file(file_format: str, day: str, rates: dict[str, str]) -> bytes:
    """One day's exchange rates as the finance system sends them, in ``file_format``: days and rates as text
    in CSV and JSON Lines, as Parquet's own date and decimal types in Parquet."""
    rows = [(currency, day, rate, f"{day}T16:00:00Z") for currency, rate in rates.items()]
    if file_format == "csv":
        return csv_file(FX_HEADER, *(",".join(row) for row in rows))
    names = FX_HEADER.split(",")
    if file_format == "jsonl":
        return b"".join(orjson.dumps(dict(zip(names, row, strict=True))) + b"\n" for row in rows)
    columns = list(zip(*rows, strict=True))
    return parquet(pa.table({
        "currency": pa.array(columns[0], pa.string()),
        "rate_date": pa.array([date.fromisoformat(value) for value in columns[1]], pa.date32()),
        "usd_per_unit": pa.array([Decimal(value) for value in columns[2]], pa.decimal128(18, 8)),
        "updated_at": pa.array(columns[3], pa.string()),
    }))  # fmt: skip


RATES = {  # file format -> (day, the rates)
    "csv": ("2024-03-01", {"BRL": "0.19801980", "EUR": "1.08234517", "GBP": "1.26582278"}),
    "jsonl": ("2024-03-02", {"BRL": "0.19614900", "EUR": "1.09244567", "GBP": "1.27194240"}),
    "parquet": ("2024-03-03", {"BRL": "0.19601965", "EUR": "1.1", "GBP": "1.28090197"}),
}
BAD_RATE_FILES = {  # key -> (content, line, column, value, words of the reason)
    "raw/fx_rates/date=2024-03-04/bad_day.csv": (
        csv_file(FX_HEADER, "EUR,2024-03-04,1.09,2024-03-04T16:00:00Z",
                 "GBP,2024-02-30,1.27,2024-03-04T16:00:00Z"),
        3, "rate_date", "2024-02-30", "rate_date must be an ISO-8601 day (YYYY-MM-DD)"),
    "raw/fx_rates/date=2024-03-04/nine_places.jsonl": (
        rates_file("jsonl", "2024-03-04", {"EUR": "1.09", "GBP": "1.272345671"}),
        2, "usd_per_unit", "1.272345671", "usd_per_unit must be a decimal with at most 8 places"),
}  # fmt: skip


@pytest.mark.parametrize("warehouse_target", ["duckdb", "postgres"], indirect=True)
def test_exchange_rates_and_guest_orders_load_like_every_entity(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN three days of exchange rates, one in each format; an orders file whose second order is a guest
    # checkout (no customer_id); and two rates files with a bad value: a day that does not exist, and a rate
    # with 9 places
    landing = LocalLanding(tmp_path / "landing")
    keys = {}
    for file_format, (day, rates) in RATES.items():
        keys[file_format] = f"raw/fx_rates/date={day}/fx_rates_{day.replace('-', '')}_000.{file_format}"
        landing.put(keys[file_format], rates_file(file_format, day, rates))
    orders_key = "raw/orders/date=2024-03-01/orders_20240301_000.csv"
    landing.put(orders_key, csv_file(ORDERS_HEADER, GOOD_ORDER, GOOD_ORDER.replace("ord_1,cus_1", "ord_2,")))
    for key, (data, *_) in BAD_RATE_FILES.items():
        landing.put(key, data)

    # WHEN they are loaded THEN the run reports the two bad files
    result = cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url}, returncode=1)
    assert "2 file(s) quarantined" in result.stdout

    # AND raw.fx_rates holds every rate as delivered, days as dates, rates to their 8 places ...
    rows = warehouse_target.records(
        "select currency, rate_date, usd_per_unit, _source_file, _source_row_number, _file_checksum, "
        "_load_id, _loaded_at, updated_at from raw.fx_rates order by rate_date, currency"
    )
    expected = [
        (currency, date.fromisoformat(day), Decimal(rate), keys[file_format], number)
        for file_format, (day, rates) in RATES.items()
        for number, (currency, rate) in enumerate(rates.items(), start=1)
    ]
    found = [tuple(row[name] for name in ("currency", "rate_date", "usd_per_unit", "_source_file",
                                          "_source_row_number")) for row in rows]  # fmt: skip
    assert found == expected
    assert {str(row["usd_per_unit"]) for row in rows} >= {"1.08234517", "1.10000000"}, "8 places kept"
    # ... with the lineage every raw table has, and the ledger's load id
    ledger: dict[str, str] = dict(warehouse_target.query(
        "select file_key, load_id from raw._load_files where status = 'loaded'"))  # fmt: skip
    for row in rows:
        checksum = hashlib.sha256(read_landed(landing, row["_source_file"])).hexdigest()
        assert (row["_file_checksum"], row["_load_id"]) == (checksum, ledger[row["_source_file"]])
        assert row["_loaded_at"] is not None
        published = datetime.combine(row["rate_date"], time(16), tzinfo=UTC)
        assert row["updated_at"].astimezone(UTC) == published
    # ... in columns of the contract's types: decimal(18, 8) for the rate, decimal(18, 2) for money, date
    types = {
        (table, column): (str(data_type).lower(), precision, scale)
        for table, column, data_type, precision, scale in warehouse_target.query(
            "select table_name, column_name, data_type, numeric_precision, numeric_scale "
            "from information_schema.columns where table_schema = 'raw' "
            "and column_name in ('usd_per_unit', 'rate_date', 'total_amount')"
        )
    }
    assert types[("fx_rates", "usd_per_unit")][1:] == (18, 8)
    assert types[("orders", "total_amount")][1:] == (18, 2)
    assert types[("fx_rates", "rate_date")][0] == "date"

    # AND the guest checkout is loaded, without a customer
    orders = warehouse_target.query("select order_id, customer_id, total_amount from raw.orders order by 1")
    assert orders == [("ord_1", "cus_1", Decimal("17.97")), ("ord_2", None, Decimal("17.97"))]

    # AND each bad file is quarantined whole, naming its line, column and value
    assert warehouse_target.count("select count(*) from raw.fx_rates where rate_date >= '2024-03-04'") == 0
    for key, (_, line, column, value, reason) in BAD_RATE_FILES.items():
        error = orjson.loads(read_landed(landing, f"{QUARANTINE_PREFIX}{key}.error.json"))
        assert (error["file"], error["line"], error["column"], error["value"]) == (key, line, column, value)
        assert reason in error["reason"]


HUGE = "raw/payments/date=2024-03-02/payments_20240302_huge.csv"
NEGATIVE_QUANTITY = csv_file(
    ITEMS_HEADER,
    "itm_1,ord_1,prd_1,2,5.00,0.00,2024-03-01T10:00:00Z",
    "itm_2,ord_1,prd_2,-1,5.00,0.00,2024-03-01T10:00:00Z",
)


@pytest.mark.parametrize("warehouse_target", ["duckdb"], indirect=True)
def test_bad_files_are_quarantined_with_their_reason_and_good_files_still_load(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN good exports, and among them every kind of bad file, each landed in a day's partition
    landing = small_landing(tmp_path / "landing", days=3)
    good_rows, _ = expected_rows(landing)
    cases = {}  # key -> (line, column, words of the reason)
    for number, (_case, name, data, line, column, reason) in enumerate(BAD_FILES):
        key = f"raw/orders/date=2024-04-{number + 1:02d}/{name}"  # a day of its own: names repeat
        landing.put(key, data)
        cases[key] = (line, column, reason)
    landing.put("raw/order_items/date=2024-03-01/bad_quantity.csv", NEGATIVE_QUANTITY)
    cases["raw/order_items/date=2024-03-01/bad_quantity.csv"] = (3, "quantity", "must be greater than 0")
    with (tmp_path / "landing" / HUGE).open("wb") as huge:  # a sparse file: 17 GiB listed, no disk used
        huge.truncate(17 << 30)
    cases[HUGE] = (None, None, "18,253,611,008 bytes, over the limit of 17,179,869,184")
    landing.put(
        "raw/orders/stray.csv", read_landed(landing, "raw/orders/date=2024-03-01/orders_20240301_000.csv")
    )
    cases["raw/orders/stray.csv"] = (None, None, "misplaced file")
    assert len(cases) >= 12

    # WHEN the landing zone is loaded THEN the run fails, naming every quarantined file
    result = cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url}, returncode=1)
    assert f"{len(cases)} file(s) quarantined" in result.stdout

    # AND each bad file is in the ledger and in quarantine, as delivered, with its precise reason
    ledger = {key: (status, reason) for key, status, reason in warehouse_target.query(
        "select file_key, status, reason from raw._load_files where status <> 'loaded'")}  # fmt: skip
    assert set(ledger) == set(cases)
    for key, (line, column, reason) in cases.items():
        status, recorded = ledger[key]
        assert status == "quarantined"
        assert reason in recorded
        error = orjson.loads(read_landed(landing, f"{QUARANTINE_PREFIX}{key}.error.json"))
        assert (error["file"], error["line"], error["column"]) == (key, line, column)
        assert reason in error["reason"]
        quarantined = [
            obj for obj in landing.list(QUARANTINE_PREFIX + key) if obj.key == QUARANTINE_PREFIX + key
        ]
        assert [obj.size for obj in quarantined] == [obj.size for obj in landing.list(key) if obj.key == key]
        if key != HUGE:
            assert read_landed(landing, QUARANTINE_PREFIX + key) == read_landed(landing, key)

    # AND no good file was held back by a bad one
    assert raw_counts(warehouse_target) == good_rows

    # WHEN it runs again, with nothing new THEN it succeeds and records nothing more
    cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url})
    recorded = warehouse_target.count("select count(*) from raw._load_files where status = 'quarantined'")
    assert recorded == len(cases)

    # WHEN a corrected file is delivered under a quarantined key THEN it loads
    fixed = "raw/order_items/date=2024-03-01/bad_quantity.csv"
    landing.put(fixed, NEGATIVE_QUANTITY.replace(b",-1,", b",1,"))
    cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url})
    statuses = warehouse_target.query(
        f"select status, row_count from raw._load_files where file_key = '{fixed}'"
    )
    assert sorted(statuses) == [("loaded", 2), ("quarantined", 0)]


@pytest.mark.parametrize("warehouse_target", ["duckdb"], indirect=True)
def test_dry_run_validates_and_writes_nothing(warehouse_target: WarehouseTarget, tmp_path: Path) -> None:
    landing = small_landing(tmp_path / "landing", days=6)  # a file re-sent with the sixth day
    landing.put("raw/orders/date=2024-03-01/bad.csv", b"")
    before = sorted(obj.key for obj in landing.list())
    settings = Settings.from_env().with_overrides(landing=landing.url)
    with open_raw_loader(settings, landing) as warehouse:
        statuses = Counter(o.status for o in run_load(landing, warehouse, LoadOptions(dry_run=True)).outcomes)
    assert statuses == {"valid": len(before) - 2, "duplicate": 1, "quarantined": 1}
    result = cli("load", "--dry-run", env={"SHOPWAREHOUSE_LANDING": landing.url}, returncode=1)
    assert "dry run" in result.stdout
    assert "1 file(s) quarantined" in result.stdout
    assert sorted(obj.key for obj in landing.list()) == before
    assert (
        warehouse_target.count("select count(*) from information_schema.tables where table_schema = 'raw'")
        == 0
    )


# -- files too large to hold: validated part by part, then loaded part by part ------------------------------


def raw_rows(path: Path, entity: str) -> list[tuple[object, ...]]:
    """``raw.<entity>`` of a DuckDB file in file and row order, without what differs from load to load."""
    with duckdb.connect(str(path), read_only=True) as conn:
        order = "order by _source_file, _source_row_number"
        return conn.execute(f"select * exclude (_load_id, _loaded_at) from raw.{entity} {order}").fetchall()


@pytest.mark.parametrize(
    ("file_format", "gzipped"), [("csv", False), ("csv", True), ("jsonl", True), ("parquet", False)],
    ids=["csv", "csv.gz", "jsonl.gz", "parquet"],
)  # fmt: skip
def test_a_file_loaded_in_parts_holds_what_it_holds_loaded_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    file_format: str,
    gzipped: bool,
) -> None:
    # GIVEN four days landed in one format (the clickstream too, thinned: at full volume its files would be
    # thousands of parts), loaded whole (every file far under the streaming size)
    landing = LocalLanding(tmp_path / "landing")
    options = GenerateOptions(start=START, days=4, seed=3, orders_per_day=100, file_format=file_format,
                              gzip=gzipped, events_format=file_format, events_gzip=gzipped,
                              clickstream_scale=0.05)  # fmt: skip
    generate(landing, options)
    with DuckDBRawLoader(DuckDBClient(DuckDBCredentials(tmp_path / "whole.duckdb"))) as warehouse:
        whole = run_load(landing, warehouse, LoadOptions())
    # WHEN they are loaded again into another warehouse with every file over the streaming size, read in
    # parts of a few KiB (or 50 Parquet rows) and loaded 120 rows at a time
    monkeypatch.setattr(validate, "PART_BYTES", 4096)
    monkeypatch.setattr(validate, "PARQUET_PART_ROWS", 50)
    with (
        caplog.at_level(logging.INFO),
        DuckDBRawLoader(DuckDBClient(DuckDBCredentials(tmp_path / "parts.duckdb"))) as warehouse,
    ):
        parts = run_load(landing, warehouse, LoadOptions(stream_file_bytes=1, batch_rows=120))
    # THEN each file was validated in parts and loaded in parts
    assert [record.message for record in caplog.records if "part by part" in record.message]
    in_parts = [
        record.message for record in caplog.records if re.search(r": \d+ of \d+ rows$", record.message)
    ]
    assert len(in_parts) > len(landing.list()), in_parts
    # AND the warehouse holds every row of every file, in order, as the whole load did, with the same ledger
    assert [(o.key, o.status, o.rows) for o in parts.outcomes] == [
        (o.key, o.status, o.rows) for o in whole.outcomes
    ]
    for entity in ENTITIES:
        rows = raw_rows(tmp_path / "whole.duckdb", entity)
        assert rows, entity
        assert raw_rows(tmp_path / "parts.duckdb", entity) == rows, entity


def test_files_load_in_parts_into_every_warehouse_exactly_once(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN four days landed, every file over the streaming size
    landing = small_landing(tmp_path / "landing", orders_per_day=200)
    rows, _ = expected_rows(landing)
    env = {"SHOPWAREHOUSE_LANDING": landing.url, "SHOPWAREHOUSE_STREAM_FILE_BYTES": "1",
           "SHOPWAREHOUSE_LOAD_BATCH_ROWS": "100"}  # fmt: skip
    # WHEN the command loads them, 100 rows at a time
    result = cli("load", env=env)
    # THEN files were loaded in parts, each row once, and nothing staged is left behind
    assert re.search(r"loading raw/orders/\S+: 200 of \d+ rows", result.stderr), result.stderr
    assert raw_counts(warehouse_target) == rows
    assert_each_row_once(warehouse_target)
    assert not landing.list(STAGE_PREFIX)
    # AND a second load finds nothing to do
    assert "0 to read" in cli("load", env=env).stderr


@pytest.mark.parametrize("warehouse_target", ["duckdb"], indirect=True)
def test_a_bad_value_deep_in_a_large_file_quarantines_it_whole(
    warehouse_target: WarehouseTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an orders file whose 1,900th row holds a bad amount, read in parts of 4 KiB (about 40 rows)
    landing = small_landing(tmp_path / "landing", days=1, orders_per_day=3000)
    key = next(obj.key for obj in landing.list("raw/orders/"))
    lines = read_landed(landing, key).decode().splitlines()
    assert len(lines) > 1900
    fields = lines[1900].split(",")
    fields[5] = "x"  # subtotal_amount
    lines[1900] = ",".join(fields)
    landing.put(key, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(validate, "PART_BYTES", 4096)
    settings = Settings.from_env().with_overrides(landing=landing.url)
    # WHEN it is loaded as a file too large to hold
    with open_raw_loader(settings, landing) as warehouse:
        summary = run_load(landing, warehouse, LoadOptions(stream_file_bytes=1, batch_rows=100))
    # THEN it is quarantined whole, at its line and column, and nothing of it is loaded; the rest is
    (rejected,) = summary.rejected
    assert rejected.key == key
    assert rejected.reason
    assert "line 1901, column subtotal_amount" in rejected.reason
    assert warehouse_target.count("select count(*) from raw.orders") == 0
    assert warehouse_target.count("select count(*) from raw.customers") > 0


class ReplacedWhileLoading(LocalLanding):
    """A landing zone where a new export replaces one file after the loader validated it (its first
    reading), before it loaded it (its second)."""

    def __init__(self, root: Path, key: str) -> None:
        super().__init__(root)
        self.key, self.readings = key, 0

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        if key == self.key:
            self.readings += 1
            if self.readings == 2:
                with super().open(key) as stream:
                    self.put(key, stream.read().replace(b'"web"', b'"mobile"'))
        return super().open(key)


@pytest.mark.parametrize("warehouse_target", ["duckdb", "postgres"], indirect=True)
def test_a_large_file_replaced_while_it_loads_is_not_loaded_and_the_next_load_takes_the_new_one(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN landed days, and an orders file that a new export replaces while it loads
    small_landing(tmp_path / "landing", orders_per_day=200)
    key = "raw/orders/date=2024-03-02/orders_20240302_000.csv"
    landing = ReplacedWhileLoading(tmp_path / "landing", key)
    settings = Settings.from_env().with_overrides(landing=landing.url)
    # WHEN it is loaded as a file too large to hold
    with open_raw_loader(settings, landing) as warehouse, pytest.raises(LoadError) as failed:
        run_load(landing, warehouse, LoadOptions(stream_file_bytes=1, batch_rows=100))
    # THEN the load fails naming the file, with nothing of it loaded or recorded; the files before it are kept
    assert f"{key} changed while it was being loaded" in str(failed.value)
    assert warehouse_target.count(f"select count(*) from raw.orders where _source_file = '{key}'") == 0
    assert warehouse_target.count(f"select count(*) from raw._load_files where file_key = '{key}'") == 0
    assert warehouse_target.count("select count(*) from raw._load_files") > 0
    # WHEN the load runs again THEN it loads the new file, once
    cli("load", env={"SHOPWAREHOUSE_LANDING": landing.url, "SHOPWAREHOUSE_STREAM_FILE_BYTES": "1"})
    rows, _ = expected_rows(landing)
    assert raw_counts(warehouse_target) == rows
    assert_each_row_once(warehouse_target)
    assert warehouse_target.count(f"select count(*) from raw.orders where _source_file = '{key}' "
                                  "and channel = 'web'") == 0  # fmt: skip


@pytest.mark.parametrize("warehouse_target", ["duckdb"], indirect=True)
@pytest.mark.parametrize(
    ("flags", "expected_keys"),
    [
        (["--date", "2024-03-02", "--entity", "orders"], {
            "raw/orders/date=2024-03-02/orders_20240302_000.csv",
        }),
        (["--since", "2024-03-03", "--entity", "products"], {
            "raw/products/date=2024-03-03/products_20240303_000.csv",
            "raw/products/date=2024-03-04/products_20240304_000.csv",
        }),
        (["--since", "2024-03-02", "--until", "2024-03-03", "--entity", "payments"], {
            "raw/payments/date=2024-03-02/payments_20240302_000.csv",
            "raw/payments/date=2024-03-03/payments_20240303_000.csv",
        }),
    ],
)  # fmt: skip
def test_date_and_entity_flags_select_files(
    warehouse_target: WarehouseTarget, tmp_path: Path, flags: list[str], expected_keys: set[str]
) -> None:
    landing = small_landing(tmp_path / "landing")
    cli("load", *flags, env={"SHOPWAREHOUSE_LANDING": landing.url})
    assert {key for (key,) in warehouse_target.query("select file_key from raw._load_files")} == expected_keys


def test_conflicting_date_flags_are_refused(tmp_path: Path) -> None:
    result = cli(
        "load", "--date", "2024-03-01", "--all", env={"SHOPWAREHOUSE_LANDING": str(tmp_path)}, returncode=2
    )
    assert "at most one of --date, --since/--until and --all" in result.stderr


def test_unknown_profile_target_names_the_fix(tmp_path: Path) -> None:
    env = {"SHOPWAREHOUSE_LANDING": str(tmp_path), "DBT_PROFILES_DIR": str(tmp_path)}
    (tmp_path / "profiles.yml").write_text(
        "shopwarehouse:\n  outputs:\n    duckdb: {type: duckdb, path: x}\n"
    )
    result = cli("--target", "postgres", "load", env=env, returncode=1)
    assert "has no target 'postgres'" in result.stderr
