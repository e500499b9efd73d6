"""Reliability under contention and faults: what production throws at the pipeline, tried for real.

Each scenario's figures are in docs/reliability.md.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, WarehouseTarget, cli

from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import LocalLanding
from shopwarehouse.pipeline.report import EXIT_TRANSIENT

ATTEMPTS = 10
DAYS = 4
START = date(2024, 3, 1)


def start_at_once(args: list[str], env: dict[str, str], count: int = ATTEMPTS) -> list[tuple[int, str]]:
    """Start ``count`` ``shopwarehouse *args`` processes together; each one's exit code and stderr."""
    processes = [
        subprocess.Popen([sys.executable, "-m", "shopwarehouse", *args], env={**os.environ, **env},
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]  # fmt: skip
    return [(process.wait(timeout=600), process.communicate()[1]) for process in processes]


def landed(root: Path) -> tuple[list[str], int, int]:
    """Generated days in ``root``: the files landed, and the rows and distinct orders of the orders files."""
    generate(LocalLanding(root), GenerateOptions(start=START, days=DAYS, seed=21, orders_per_day=150))
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


def test_ten_runs_of_the_same_day_started_at_once_end_as_one_run(tmp_path: Path) -> None:
    # GIVEN four days landed and an empty DuckDB warehouse
    files, _, orders = landed(tmp_path / "landing")
    env = {
        "SHOPWAREHOUSE_TARGET": "duckdb",
        "SHOPWAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "SHOPWAREHOUSE_LANDING": str(tmp_path / "landing"),
        "SHOPWAREHOUSE_REPORT_PATH": str(tmp_path / "kpi_report.html"),
        "SHOPWAREHOUSE_DBT_SELECTOR": "without_tests",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
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
