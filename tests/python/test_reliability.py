"""Reliability under contention and faults: what production throws at the pipeline, tried for real.

Each scenario's figures are in docs/reliability.md.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import zlib
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest
from support import ARTEFACTS, WarehouseTarget, cli, duckdb_env
from support.faults import CLIENT_TIMEOUT, CUT, FAULTS, SLOWDOWN, FaultyS3

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.zone import LocalLanding, open_landing
from shopwarehouse.pipeline.report import EXIT_TRANSIENT

# Every scenario starts the pipeline's commands in processes of their own: left out of `make test-fast`.
pytestmark = pytest.mark.slow

ATTEMPTS = 10
DAYS = 4
START = date(2024, 3, 1)


def record(scenario: str, figures: dict[str, object]) -> None:
    """Keep a scenario's figures with the test artefacts (``test-artefacts/reliability/``), for
    docs/reliability.md."""
    path = ARTEFACTS / "reliability" / f"{scenario}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n")


def start_at_once(args: list[str], env: dict[str, str], count: int = ATTEMPTS) -> list[tuple[int, str]]:
    """Start ``count`` ``shopwarehouse *args`` processes together; each one's exit code and stderr."""
    processes = [
        subprocess.Popen([sys.executable, "-m", "shopwarehouse", *args], env={**os.environ, **env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]  # fmt: skip
    return [(process.wait(timeout=600), process.communicate()[1]) for process in processes]


def landed(root: Path, orders_per_day: int = 150) -> tuple[list[str], int, int]:
    """Generated days in ``root``: the files landed, and the rows and distinct orders of the orders files."""
    options = GenerateOptions(
        start=START, days=DAYS, seed=21, orders_per_day=orders_per_day, clickstream_scale=0.05
    )
    generate(LocalLanding(root), options)
    files = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    rows = [row for path in (root / "raw" / "orders").rglob("*.csv")
            for row in csv.DictReader(path.read_text().splitlines())]  # fmt: skip
    return files, len(rows), len({row["order_id"] for row in rows})


@pytest.mark.parametrize("warehouse_target", ["duckdb", "postgres"], indirect=True)
@pytest.mark.parametrize("wait", [0, 300], ids=["give-up", "wait"])
def test_ten_loads_started_at_once_load_every_file_exactly_once(
    warehouse_target: WarehouseTarget, tmp_path: Path, wait: int
) -> None:
    # GIVEN four days landed
    files, order_rows, orders = landed(tmp_path / "landing")
    env = {"SHOPWAREHOUSE_LANDING": str(tmp_path / "landing"), "SHOPWAREHOUSE_LOCK_WAIT_SECONDS": str(wait)}
    # WHEN ten loads start at once
    ended = start_at_once(["load"], env)
    # THEN the writer lease let one load at a time: the others gave up, saying who holds the warehouse
    # (exit 75: try again later), or waited their turn and found nothing left to load
    codes = sorted(code for code, _ in ended)
    assert set(codes) <= {0, EXIT_TRANSIENT}, ended
    assert codes.count(0) >= 1
    if wait:
        assert codes == [0] * ATTEMPTS, ended
    for code, stderr in ended:
        if code == EXIT_TRANSIENT:
            assert "Error: another writer holds the warehouse: load " in stderr or (
                "Error: the warehouse file is in use by another process" in stderr
            ), stderr
            assert "did not start. Nothing was written" in stderr

    # AND every landed file was loaded exactly once, with every row once
    def loaded() -> tuple[list[str], set[str], int, int]:
        ledger = warehouse_target.query("select file_key, status from raw._load_files")
        return (sorted(key for key, _ in ledger), {status for _, status in ledger},
                warehouse_target.count("select count(*) from raw.orders"),
                warehouse_target.count("select count(distinct order_id) from raw.orders"))  # fmt: skip

    assert loaded() == (files, {"loaded"}, order_rows, orders)
    # AND the lease is free again: the next load runs, and adds nothing
    cli("load", env=env)
    assert loaded() == (files, {"loaded"}, order_rows, orders)
    assert warehouse_target.query("select holder from ops.pipeline_lock") == [(None,)]
    record(f"concurrent_loads_{warehouse_target.name}_{'wait' if wait else 'give_up'}",
           {"attempts": ATTEMPTS, "exit_codes": Counter(codes), "files": len(files), "order_rows": order_rows,
            "loaded_order_rows": loaded()[2]})  # fmt: skip


def test_ten_runs_of_the_same_day_started_at_once_end_as_one_run(tmp_path: Path) -> None:
    # GIVEN four days landed and an empty DuckDB warehouse
    files, _, orders = landed(tmp_path / "landing")
    env = duckdb_env(tmp_path, tmp_path / "landing", SHOPWAREHOUSE_DBT_SELECTOR="without_tests")
    day = "2024-03-04"
    # WHEN ten schedulers start the day's run at once
    ended = start_at_once(["run", "--date", day], env)
    # THEN one ran it and the others stopped at once with the holder's name, exit 75, writing nothing (one
    # that started after the first had finished would run the day again, which changes nothing)
    codes = sorted(code for code, _ in ended)
    assert set(codes) <= {0, EXIT_TRANSIENT}, ended
    assert codes.count(0) >= 1, ended
    refused = [stderr for code, stderr in ended if code == EXIT_TRANSIENT]
    assert all("did not start. Nothing was written" in stderr for stderr in refused), refused
    # AND the warehouse holds the day once: every file loaded once, one run in the ledger
    with duckdb.connect(env["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        ledger = conn.execute("select file_key, status from raw._load_files").fetchall()
        runs = conn.execute("select run_date, status from ops.pipeline_runs").fetchall()
        loaded = conn.execute("select count(*) from main_marts.fct_orders").fetchone()
    assert sorted(key for key, _ in ledger) == files
    assert {status for _, status in ledger} == {"loaded"}
    assert len(runs) == codes.count(0)
    assert loaded == (orders,)
    record("concurrent_runs_duckdb", {"attempts": ATTEMPTS, "exit_codes": Counter(codes), "files": len(files),
                                      "orders": orders, "fct_orders": loaded[0]})  # fmt: skip


# -- S3 faults, injected by a proxy on loopback in front of the local S3 server (support.faults) -------------


@pytest.fixture
def s3_landing(s3_endpoint: str, tmp_path: Path) -> tuple[str, list[str], int]:
    """Four days landed in the local S3 server under a prefix of the test's own; the landing URL, the files
    and the order rows."""
    url = f"s3://shopwarehouse-test/faults-{tmp_path.name}"
    generate(open_landing(Settings(landing=url, s3_endpoint_url=s3_endpoint)),
             GenerateOptions(start=START, days=DAYS, seed=21, orders_per_day=150,
                                     clickstream_scale=0.05))  # fmt: skip
    files, rows, _ = landed(tmp_path / "local")  # the same seed, so the same files and rows
    return url, files, rows


def faults_env(tmp_path: Path, landing: str, endpoint: str) -> dict[str, str]:
    return duckdb_env(tmp_path, landing, SHOPWAREHOUSE_S3_ENDPOINT_URL=endpoint,
                      SHOPWAREHOUSE_S3_TIMEOUT_SECONDS=str(CLIENT_TIMEOUT))  # fmt: skip


def loaded_files(tmp_path: Path) -> tuple[list[str], int]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        keys = sorted(key for (key,) in conn.execute("select file_key from raw._load_files").fetchall())
        (rows,) = conn.execute("select count(*) from raw.orders").fetchone() or (0,)
    return keys, rows


def test_s3_throttling_server_errors_timeouts_and_resets_are_retried_and_the_load_is_exact(
    s3_endpoint: str, s3_landing: tuple[str, list[str], int], tmp_path: Path
) -> None:
    url, files, order_rows = s3_landing

    # Every request fails once or twice, by each of the faults in turn, then goes through.
    def plan(method: str, path: str, attempt: int) -> str | None:
        number = zlib.crc32(f"{method} {path}".encode())
        return FAULTS[(number + attempt) % len(FAULTS)] if attempt < 1 + number % 2 else None

    proxy = FaultyS3(s3_endpoint, plan)
    try:
        result = cli("load", env=faults_env(tmp_path, url, proxy.url))
    finally:
        proxy.close()
    # THEN every fault kind was met, and retried with backoff, and every file loaded once, every row once
    assert set(proxy.injected) == set(FAULTS), proxy.injected
    assert sum(proxy.injected.values()) >= len(files), proxy.injected
    assert loaded_files(tmp_path) == (files, order_rows)
    assert f"{len(files)}" in result.stdout
    record("s3_faults", {"requests": sum(proxy.seen.values()), "injected": dict(proxy.injected),
                         "files": len(files), "order_rows": order_rows})  # fmt: skip


def test_an_s3_fault_that_never_clears_fails_naming_the_file_and_a_rerun_loads_the_rest_once(
    s3_endpoint: str, s3_landing: tuple[str, list[str], int], tmp_path: Path
) -> None:
    url, files, order_rows = s3_landing
    stuck = next(key for key in files if key.startswith("raw/orders/date=2024-03-03/"))

    def plan(method: str, path: str, attempt: int) -> str | None:
        return SLOWDOWN if urllib.parse.unquote(path).endswith(stuck) else None

    proxy = FaultyS3(s3_endpoint, plan)
    try:
        failed = cli("load", env=faults_env(tmp_path, url, proxy.url), returncode=EXIT_TRANSIENT)
    finally:
        proxy.close()
    # THEN the load fails naming the file and the cause, after the client's five attempts, with 75: try later
    assert f"reading {url}/{stuck} failed after 5 attempts" in failed.stderr
    assert "SlowDown" in failed.stderr
    assert proxy.injected[SLOWDOWN] == 5
    # AND what it committed before is kept, nothing of the failed batch is: a re-run loads the rest once
    partly, _ = loaded_files(tmp_path)
    assert stuck not in partly
    cli("load", env=faults_env(tmp_path, url, s3_endpoint))
    assert loaded_files(tmp_path) == (files, order_rows)
    record("s3_fault_never_clears", {"attempts": proxy.injected[SLOWDOWN], "files_before_rerun": len(partly),
                                     "files": len(files), "order_rows": order_rows})  # fmt: skip


def test_an_s3_download_cut_short_resumes_where_it_stopped_and_the_load_is_exact(
    s3_endpoint: str, s3_landing: tuple[str, list[str], int], tmp_path: Path
) -> None:
    url, files, order_rows = s3_landing

    # Every file's first download is cut in the middle of its body (the SDK retries calls, not bodies).
    def plan(method: str, path: str, attempt: int) -> str | None:
        return CUT if method == "GET" and "?" not in path and attempt == 0 else None

    proxy = FaultyS3(s3_endpoint, plan)
    # the orders files over the streaming size (read twice, part by part), the others under it (read whole)
    env = {**faults_env(tmp_path, url, proxy.url), "SHOPWAREHOUSE_STREAM_FILE_BYTES": "20000"}
    try:
        result = cli("load", env=env)
    finally:
        proxy.close()
    # THEN each download resumed where it stopped, and every file loaded once, every row once
    assert proxy.injected == {CUT: len(files)}
    assert result.stderr.count("; resuming") == len(files)
    assert "part by part" in result.stderr
    assert loaded_files(tmp_path) == (files, order_rows)
    record("s3_body_cut", {"files": len(files), "cut": proxy.injected[CUT], "order_rows": order_rows,
                           "requests": sum(proxy.seen.values())})  # fmt: skip


# -- schema drift ---------------------------------------------------------------------------------------


def test_schema_drift_new_column_warns_and_loads_removed_or_retyped_column_and_renamed_file_are_quarantined(
    tmp_path: Path,
) -> None:
    # GIVEN two days landed, and on the second day each kind of drift in one file
    root = tmp_path / "landing"
    generate(LocalLanding(root), GenerateOptions(start=START, days=2, seed=21, orders_per_day=150,
                                                 clickstream_scale=0.05))  # fmt: skip
    day = "date=2024-03-02"
    customers, orders, items, payments = (
        next((root / "raw" / entity / day).glob("*.csv"))
        for entity in ("customers", "orders", "order_items", "payments")
    )
    # a new column overnight
    lines = customers.read_text().splitlines()
    customers.write_text(
        "\n".join([lines[0] + ',"loyalty_tier"', *(f'{line},"gold"' for line in lines[1:])]) + "\n"
    )
    # a required column gone (order_id, the first; customer_id may be missing: a guest has none)
    orders.write_text(re.sub(r'(?m)^"[^"]*",', "", orders.read_text()))
    # a type change: quantity, a whole number, arrives as a decimal on the first row
    text = items.read_text().split("\n")
    text[1] = re.sub(r'^("[^"]*","[^"]*","[^"]*"),\d+,', r"\1,2.5,", text[1])
    items.write_text("\n".join(text))
    # an export renamed: a CSV file ending in .txt
    renamed = payments.with_suffix(".txt")
    payments.rename(renamed)
    env = duckdb_env(tmp_path, root)

    # WHEN it loads
    result = cli("load", env=env, returncode=1)  # 1: files were quarantined

    # THEN the new column is warned about, and the file loads (its known columns; the file, new column and
    # all, stays in the landing zone's raw/)
    key = str(customers.relative_to(root))
    assert f"{key}: columns not in the contract are not loaded: loyalty_tier" in result.stderr
    with duckdb.connect(env["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        statuses = dict(conn.execute("select file_key, status from raw._load_files").fetchall())
        reasons = dict(conn.execute("select file_key, reason from raw._load_files").fetchall())
        customer_rows = conn.execute(
            "select count(*) from raw.customers where _source_file = ?", [key]
        ).fetchone()
    assert statuses[key] == "loaded"
    assert customer_rows == (len(lines) - 1,)
    # AND the other three are quarantined, kept as delivered with the reason naming the column or the fix
    expected = {
        orders: "missing required column(s) order_id",
        items: "quantity must be",
        renamed: "unsupported file name",
    }
    for path, reason in expected.items():
        key = str(path.relative_to(root))
        assert statuses[key] == "quarantined", key
        assert reason in reasons[key], reasons[key]
        kept = root / "quarantine" / key
        assert kept.read_bytes() == path.read_bytes()
        error = json.loads(kept.with_name(kept.name + ".error.json").read_text())
        assert reason in error["reason"]
    assert json.loads((root / "quarantine" / items.relative_to(root)).with_name(
        items.name + ".error.json").read_text())["column"] == "quantity"  # fmt: skip
    # AND once the exporter delivers them again, fixed, they load, and nothing is loaded twice
    landed_clean = tmp_path / "clean"
    generate(LocalLanding(landed_clean), GenerateOptions(start=START, days=2, seed=21, orders_per_day=150,
                                                         clickstream_scale=0.05))  # fmt: skip
    for path in (orders, items):
        fixed = landed_clean / path.relative_to(root)
        path.with_name(path.stem + "_fixed.csv").write_bytes(fixed.read_bytes())
    renamed.with_suffix(".csv").write_bytes(renamed.read_bytes())
    cli("load", env=env)
    with duckdb.connect(env["SHOPWAREHOUSE_DUCKDB_PATH"], read_only=True) as conn:
        counts = conn.execute(
            "select (select count(*) from raw.orders), (select count(distinct order_id) from raw.orders), "
            "(select count(*) from raw.payments)"
        ).fetchone()
    clean_orders = sum(1 for path in (landed_clean / "raw" / "orders").rglob("*.csv")
                       for _ in csv.DictReader(path.read_text().splitlines()))  # fmt: skip
    clean_payments = sum(1 for path in (landed_clean / "raw" / "payments").rglob("*.csv")
                         for _ in csv.DictReader(path.read_text().splitlines()))  # fmt: skip
    assert counts is not None
    assert (counts[0], counts[2]) == (clean_orders, clean_payments)
    record("schema_drift", {"files_quarantined": len(expected), "orders_rows": counts[0],
                            "payments_rows": counts[2]})  # fmt: skip


# -- warehouse faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("warehouse_target", ["postgres"], indirect=True)
def test_a_copy_whose_postgres_backend_is_terminated_fails_clearly_and_a_rerun_loads_exactly_once(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN a load committing file by file, so that there is a COPY to cut and work done before it
    root = tmp_path / "landing"
    files, order_rows, _ = landed(root, orders_per_day=3000)
    env = {"SHOPWAREHOUSE_LANDING": str(root), "SHOPWAREHOUSE_LOAD_BATCH_ROWS": "1"}
    load = subprocess.Popen([sys.executable, "-m", "shopwarehouse", "load"], env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    # WHEN its backend is terminated while it runs a COPY (or holds one uncommitted), after a first commit
    cut = None
    deadline = time.monotonic() + 120
    while cut is None and load.poll() is None and time.monotonic() < deadline:
        if warehouse_target.query("select to_regclass('raw._load_files')") == [(None,)]:
            continue
        rows = warehouse_target.query(
            "select pid, state from pg_stat_activity where application_name = 'shopwarehouse' "
            "and query ilike 'copy %' and state in ('active', 'idle in transaction') "
            "and exists (select 1 from raw._load_files)"
        )
        if rows:
            warehouse_target.query(f"select pg_terminate_backend({rows[0][0]})")
            cut = rows[0][1]
    _, stderr = load.communicate(timeout=120)
    assert cut is not None, f"no COPY was caught running: {stderr[-2000:]}"
    # THEN the load fails clearly, exit 75 (a fault that may pass), keeping what it had committed
    assert load.returncode == EXIT_TRANSIENT, stderr[-2000:]
    assert "Error: the load stopped on a fault that may pass: OperationalError" in stderr
    assert "Run it again." in stderr
    before = warehouse_target.count("select count(*) from raw._load_files")
    assert 0 < before < len(files)
    # AND a re-run loads the rest: every file once, every row once
    cli("load", env=env)
    ledger = warehouse_target.query("select file_key from raw._load_files")
    assert sorted(key for (key,) in ledger) == files
    assert warehouse_target.count("select count(*) from raw.orders") == order_rows
    record("postgres_copy_terminated", {"state_when_cut": cut, "files_committed_before": before,
                                        "files": len(files), "order_rows": order_rows})  # fmt: skip


def test_a_duckdb_file_held_by_another_process_stops_the_load_clearly_or_is_waited_for(
    tmp_path: Path,
) -> None:
    files, order_rows, _ = landed(tmp_path / "landing")
    path = tmp_path / "warehouse.duckdb"
    env = duckdb_env(tmp_path, tmp_path / "landing", warehouse=path)
    duckdb.connect(str(path)).close()
    hold = (
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(12)"
    )
    # GIVEN another process holding the warehouse file open for writing (a notebook, say)
    holder = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    # WHEN a load starts THEN it stops, naming the process that holds the file, and writes nothing
    refused = cli("load", env=env, returncode=EXIT_TRANSIENT)
    assert "Error: the warehouse file is in use by another process" in refused.stderr
    assert f"(PID {holder.pid})" in refused.stderr
    # AND with a wait allowed, it waits for the file and then loads every file once
    started = time.monotonic()
    cli("load", env={**env, "SHOPWAREHOUSE_LOCK_WAIT_SECONDS": "60"})
    waited = time.monotonic() - started
    holder.wait(timeout=30)
    with duckdb.connect(str(path), read_only=True) as conn:
        keys = sorted(key for (key,) in conn.execute("select file_key from raw._load_files").fetchall())
        rows = conn.execute("select count(*) from raw.orders").fetchone()
    assert (keys, rows) == (files, (order_rows,))
    record(
        "duckdb_file_held",
        {"waited_seconds": round(waited, 1), "files": len(files), "order_rows": order_rows},
    )
