"""Loading landed files into each local warehouse: exactly once, crash-safe, bad files quarantined."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date
from pathlib import Path

import orjson
import pytest
from bad_files import BAD_FILES, ITEMS_HEADER, csv_file
from conftest import DAYS, START, WarehouseTarget, cli, kill_after_commits
from contract_reader import read_file

from shopwarehouse.config import Settings
from shopwarehouse.contract import ENTITIES, QUARANTINE_PREFIX, STAGE_PREFIX
from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import Landing, LocalLanding
from shopwarehouse.load.loader import LoadOptions, run_load
from shopwarehouse.load.warehouse import open_warehouse


def expected_rows(landing: Landing) -> tuple[Counter[str], set[str]]:
    """Rows per entity that a correct load holds, read independently of the loader, and the keys of the
    files whose content an earlier key already delivered (re-sent files)."""
    rows: Counter[str] = Counter()
    seen: set[str] = set()
    duplicates = set()
    for obj in landing.list("raw/"):
        data = landing.get(obj.key)
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


@pytest.fixture(scope="session")
def local_landing_30d(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    """The same thirty days as ``landing_30d``, in a directory (fakesnow's stages read ``file://`` only)."""
    landing = LocalLanding(tmp_path_factory.mktemp("landing-30d"))
    generate(landing, GenerateOptions(start=START, days=DAYS, seed=7, orders_per_day=120))
    return landing


def test_thirty_days_load_exactly_once(
    warehouse_target: WarehouseTarget, request: pytest.FixtureRequest
) -> None:
    # GIVEN thirty generated days, on the local S3 server (real HTTP) or, for fakesnow, in a directory
    if warehouse_target.name == "snowflake":
        landing = request.getfixturevalue("local_landing_30d")
        env = {"SHOPWAREHOUSE_LANDING": landing.url}
    else:
        landing = request.getfixturevalue("landing_30d")
        settings: Settings = request.getfixturevalue("s3_settings")
        env = {
            "SHOPWAREHOUSE_LANDING": settings.landing,
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
        landing, GenerateOptions(start=date(2024, 3, 1), days=days, seed=3, orders_per_day=orders_per_day)
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
    with open_warehouse(settings, landing) as warehouse:
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
    with open_warehouse(settings, landing) as warehouse:
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
    landing.put("raw/orders/stray.csv", landing.get("raw/orders/date=2024-03-01/orders_20240301_000.csv"))
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
        error = orjson.loads(landing.get(f"{QUARANTINE_PREFIX}{key}.error.json"))
        assert (error["file"], error["line"], error["column"]) == (key, line, column)
        assert reason in error["reason"]
        quarantined = [
            obj for obj in landing.list(QUARANTINE_PREFIX + key) if obj.key == QUARANTINE_PREFIX + key
        ]
        assert [obj.size for obj in quarantined] == [obj.size for obj in landing.list(key) if obj.key == key]
        if key != HUGE:
            assert landing.get(QUARANTINE_PREFIX + key) == landing.get(key)

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
    with open_warehouse(settings, landing) as warehouse:
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
