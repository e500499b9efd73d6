"""Benchmark the DuckDB load beside DuckDB's own reader of the same files, in the same run.

    python scripts/bench_load.py [--orders 1000000] [--days 90] [--landing DIR] [--repeat 1]
    python scripts/bench_load.py --events [--orders 20000] [--days 7] [--clickstream-scale 1] [--landing DIR]

Without --events: the entities landed as CSV (every one but the clickstream), against DuckDB's read_csv.
With --events: the clickstream (``events``, gzipped JSON Lines, millions of rows: about 165 events an order
at --clickstream-scale 1), against DuckDB's read_json.

Generates the landing zone (a local directory) unless --landing names one generated before, then times,
each in a fresh process with a fresh DuckDB file:
- the loader: ``run_load`` as ``shopwarehouse load`` runs it (list, read, hash, validate, insert with
  lineage, ledger), for those entities only;
- the floor: ``create table ... as select * from read_csv(...)`` (or ``read_json(...)``) per entity,
  DuckDB's own parallel reader with no validation, lineage or ledger.
With --repeat N, the two take turns N times and the best time of each is kept (on a shared machine, the
run least disturbed). Prints MB/s (of the text: gzipped files count as their content), rows/s, seconds and
peak memory of each, and the loader's time as a multiple of the floor's.
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
    cpu_seconds: float
    """Processor time of all the process's threads: on a machine others share, steadier than the clock."""


@dataclass(frozen=True)
class Benchmark:
    """What is loaded: which entities, from files ending how, read by which DuckDB function."""

    entities: tuple[str, ...]
    suffix: str
    reader: str

    def files(self, landing_dir: Path, entity: str) -> list[Path]:
        return sorted((landing_dir / "raw" / entity).glob(f"*/*{self.suffix}"))


CSV = Benchmark(tuple(name for name in ENTITIES if name != "events"), ".csv", "read_csv")
EVENTS = Benchmark(("events",), ".jsonl.gz", "read_json")


def load_with_loader(landing_dir: str, database: str, bench: Benchmark) -> Figures:
    from shopwarehouse.load.loader import LoadOptions, run_load
    from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
    from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

    started, cpu = time.perf_counter(), _cpu_seconds()
    with DuckDBRawLoader(DuckDBClient(DuckDBCredentials(Path(database)))) as warehouse:
        summary = run_load(LocalLanding(Path(landing_dir)), warehouse, LoadOptions(entities=bench.entities))
    seconds = time.perf_counter() - started
    rejected = [outcome.reason for outcome in summary.rejected]
    assert not rejected, f"the loader rejected files: {rejected[:3]}"
    return Figures(seconds, sum(o.rows for o in summary.outcomes), _peak_mb(), _cpu_seconds() - cpu)


def load_with_duckdb(landing_dir: str, database: str, bench: Benchmark) -> Figures:
    import duckdb

    started, cpu = time.perf_counter(), _cpu_seconds()
    rows = 0
    with duckdb.connect(database) as conn:
        for entity in bench.entities:
            files = [str(path) for path in bench.files(Path(landing_dir), entity)]
            if not files:
                continue
            table = identifier(entity)
            conn.execute(f"create table {table} as select * from {bench.reader}(?)", [files])
            rows += conn.execute(f"select count(*) from {table}").fetchall()[0][0]
    return Figures(time.perf_counter() - started, rows, _peak_mb(), _cpu_seconds() - cpu)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_fresh_process(step: object, landing_dir: str, database: str, bench: Benchmark) -> Figures:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(step, landing_dir, database, bench).result()  # type: ignore[arg-type]


def text_mb(path: Path) -> float:
    """The size of a file's text: a gzip member's own record of it (its last 4 bytes; files under 4 GiB)."""
    if path.name.endswith(".gz"):
        with path.open("rb") as file:
            file.seek(-4, 2)
            return int.from_bytes(file.read(4), "little") / 1e6
    return path.stat().st_size / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", action="store_true", help="Benchmark the clickstream (JSON Lines).")
    parser.add_argument("--orders", type=int, help="Orders in all (default 1,000,000; with --events 20,000).")
    parser.add_argument("--days", type=int, help="Days exported (default 90; with --events 7).")
    parser.add_argument("--clickstream-scale", type=float, default=1.0)
    parser.add_argument("--landing", type=Path, help="A landing directory generated before.")
    parser.add_argument("--repeat", type=int, default=1, help="Time each this many times; keep the best.")
    args = parser.parse_args()
    bench = EVENTS if args.events else CSV
    orders = args.orders or (20_000 if args.events else 1_000_000)
    days = args.days or (7 if args.events else 90)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        landing_dir = args.landing or Path(tmp) / "landing"
        if args.landing is None:
            options = GenerateOptions(
                start=date(2024, 1, 1),
                days=days,
                orders_per_day=orders / days / ORDERS_PER_LEVEL_DAY,
                clickstream_scale=args.clickstream_scale if args.events else 0.0,
            )
            summary = generate(LocalLanding(landing_dir), options)
            print(
                f"generated {summary.orders:,} orders, {summary.rows['events']:,} events in {summary.files} "
                f"files ({summary.seconds:.0f} s)"
            )
        files = [path for entity in bench.entities for path in bench.files(landing_dir, entity)]
        size_mb = sum(text_mb(path) for path in files)
        stored_mb = sum(path.stat().st_size for path in files) / 1e6
        floors, loaders = [], []
        for run in range(args.repeat):
            floors.append(
                in_fresh_process(load_with_duckdb, str(landing_dir), f"{tmp}/floor{run}.duckdb", bench)
            )
            loaders.append(
                in_fresh_process(load_with_loader, str(landing_dir), f"{tmp}/loader{run}.duckdb", bench)
            )
            Path(f"{tmp}/floor{run}.duckdb").unlink()
            Path(f"{tmp}/loader{run}.duckdb").unlink()
        if args.repeat > 1:
            runs = {"loader": loaders, "floor": floors}
            print("seconds (CPU seconds), run by run: " + "; ".join(
                f"{name} " + ", ".join(f"{f.seconds:.1f} ({f.cpu_seconds:.1f})" for f in figures)
                for name, figures in runs.items()
            ))  # fmt: skip
        floor = min(floors, key=lambda figures: figures.seconds)
        loader = min(loaders, key=lambda figures: figures.seconds)
    floor_name = f"floor (DuckDB {bench.reader})"
    print(f"{'':25}{'seconds':>9}{'MB/s':>9}{'rows':>12}{'rows/s':>12}{'peak MB':>9}{'CPU s':>9}")
    for name, figures in (("loader (run_load)", loader), (floor_name, floor)):
        print(
            f"{name:25}{figures.seconds:9.1f}{size_mb / figures.seconds:9.0f}{figures.rows:12,}"
            f"{figures.rows / figures.seconds:12,.0f}{figures.peak_mb:9,.0f}{figures.cpu_seconds:9.1f}"
        )
    stored = f" ({stored_mb:,.0f} MB gzipped)" if bench.suffix.endswith(".gz") else ""
    print(
        f"{len(files)} files, {size_mb:,.0f} MB of {bench.suffix.split('.')[1].upper()}{stored}; "
        f"loader / floor = {loader.seconds / floor.seconds:.2f}x (target 1.5x), in CPU time "
        f"{loader.cpu_seconds / floor.cpu_seconds:.2f}x"
    )


if __name__ == "__main__":
    main()
