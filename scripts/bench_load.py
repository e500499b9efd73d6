"""Benchmark the DuckDB load beside DuckDB's own read_csv of the same files, in the same run.

    python scripts/bench_load.py [--orders 1000000] [--days 90] [--landing DIR]

Generates the orders (CSV, local directory) unless --landing names a landing zone generated before, then
times, each in a fresh process with a fresh DuckDB file:
- the loader: ``run_load`` as ``shopwarehouse load`` runs it (list, read, hash, validate, insert with
  lineage, ledger);
- the floor: ``create table ... as select * from read_csv(...)`` per entity, DuckDB's own parallel reader
  with no validation, lineage or ledger.
Prints MB/s, rows/s, seconds and peak memory of each, and the loader's time as a multiple of the floor's.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path

from bench_generate import ORDERS_PER_LEVEL_DAY
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.warehouse.base import identifier


@dataclass(frozen=True)
class Figures:
    seconds: float
    rows: int
    peak_mb: float


def load_with_loader(landing_dir: str, database: str) -> Figures:
    from shopwarehouse.load.loader import LoadOptions, run_load
    from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
    from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

    started = time.perf_counter()
    with DuckDBRawLoader(DuckDBClient(DuckDBCredentials(Path(database)))) as warehouse:
        summary = run_load(LocalLanding(Path(landing_dir)), warehouse, LoadOptions())
    seconds = time.perf_counter() - started
    return Figures(seconds, sum(o.rows for o in summary.outcomes), _peak_mb())


def load_with_read_csv(landing_dir: str, database: str) -> Figures:
    import duckdb

    started = time.perf_counter()
    rows = 0
    with duckdb.connect(database) as conn:
        for entity in ENTITIES:
            table = identifier(entity)
            conn.execute(
                f"create table {table} as select * from read_csv(?)", [f"{landing_dir}/raw/{entity}/*/*.csv"]
            )
            rows += conn.execute(f"select count(*) from {table}").fetchall()[0][0]
    return Figures(time.perf_counter() - started, rows, _peak_mb())


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(step: object, landing_dir: str, database: str) -> Figures:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(step, landing_dir, database).result()  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--landing", type=Path, help="A landing directory generated before (CSV).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        landing_dir = args.landing or Path(tmp) / "landing"
        if args.landing is None:
            options = GenerateOptions(
                start=date(2024, 1, 1),
                days=args.days,
                orders_per_day=args.orders / args.days / ORDERS_PER_LEVEL_DAY,
            )
            summary = generate(LocalLanding(landing_dir), options)
            print(f"generated {summary.orders:,} orders in {summary.files} files")
        size_mb = sum(p.stat().st_size for p in (landing_dir / "raw").rglob("*.csv")) / 1e6
        floor = in_fresh_process(load_with_read_csv, str(landing_dir), f"{tmp}/floor.duckdb")
        loader = in_fresh_process(load_with_loader, str(landing_dir), f"{tmp}/loader.duckdb")
    print(f"{'':24}{'seconds':>9}{'MB/s':>9}{'rows':>12}{'rows/s':>12}{'peak MB':>9}")
    for name, figures in (("loader (run_load)", loader), ("floor (DuckDB read_csv)", floor)):
        print(
            f"{name:24}{figures.seconds:9.1f}{size_mb / figures.seconds:9.0f}{figures.rows:12,}"
            f"{figures.rows / figures.seconds:12,.0f}{figures.peak_mb:9,.0f}"
        )
    print(f"{size_mb:,.0f} MB of CSV; loader / floor = {loader.seconds / floor.seconds:.2f}x (target 1.5x)")


if __name__ == "__main__":
    main()
