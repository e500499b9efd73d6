"""Scale of input: the ledger lookup at 100,000 ledger rows, 20,000 small files in one day, one big file.

python scripts/bench_scale.py [--ledger-rows 100000] [--files 20000] [--big-bytes 2147483648]

Each load runs as its own ``shopwarehouse load`` process, on DuckDB, and its peak memory is its own high-water
mark of resident memory (VmHWM), DuckDB's buffer pool included: ``SHOPWAREHOUSE_DUCKDB_MEMORY_LIMIT`` bounds
that (3GB by default). The big file is loaded at about a quarter of its size too, under a smaller DuckDB
limit, and validated alone (``--dry-run``), to show what follows the file's size and what does not. Prints
the figures as a Markdown table (docs/reliability.md quotes them).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.load.loader import _Ledger
from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
from shopwarehouse.load.tables import LEDGER_COLUMNS, LEDGER_TABLE, RAW_SCHEMA
from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

log = logging.getLogger("bench_scale")
REPO = Path(__file__).resolve().parents[1]
DAY = date(2024, 3, 1)


def ledger_lookup(root: Path, rows: int) -> dict[str, str]:
    """The ledger read that decides what is loaded already (``seen_files``, indexed) at ``rows`` rows."""
    warehouse = DuckDBRawLoader(DuckDBClient(DuckDBCredentials(root / "ledger.duckdb")))
    warehouse.prepare()
    now = datetime.now(UTC)
    names = [name for name, _ in LEDGER_COLUMNS]
    values = {
        "load_id": [f"20240301T020000Z-{n // 1000:08x}" for n in range(rows)],
        "entity": ["orders"] * rows,
        "file_key": [f"raw/orders/date=2024-03-01/orders_{n:07d}.csv" for n in range(rows)],
        "file_size": [1000 + n % 500 for n in range(rows)],
        "file_checksum": [f"{n:064x}" for n in range(rows)],
        "row_count": [10] * rows,
        "status": ["loaded"] * rows,
        "reason": [None] * rows,
        "started_at": [now] * rows,
        "finished_at": [now] * rows,
    }
    table = pa.table({name: values[name] for name in names})
    warehouse.client.connection.register("ledger_rows", table)
    warehouse.client.execute(f"insert into {RAW_SCHEMA}.{LEDGER_TABLE} select * from ledger_rows")
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        _Ledger(warehouse.seen_files())
        timings.append(time.perf_counter() - started)
    warehouse.close()
    median = statistics.median(timings)
    return {"scenario": f"ledger lookup at {rows:,} ledger rows",
            "result": f"{median:.3f} s (median of 5: read every ledger row, index it)"}  # fmt: skip


def load(root: Path, landing: Path, what: str, *flags: str, memory_limit: str = "3GB") -> dict[str, str]:
    """``shopwarehouse load --entity orders [flags]`` of ``landing`` into a new DuckDB file, DuckDB's memory
    limited to ``memory_limit``: time and peak memory."""
    env = {
        **os.environ,
        "SHOPWAREHOUSE_TARGET": "duckdb",
        "SHOPWAREHOUSE_LANDING": str(landing),
        "SHOPWAREHOUSE_DUCKDB_PATH": str(root / f"{what}.duckdb"),
        "SHOPWAREHOUSE_DUCKDB_MEMORY_LIMIT": memory_limit,
        "DBT_PROFILES_DIR": str(REPO),
    }
    out, err = root / f"{what}.out", root / f"{what}.err"
    started = time.perf_counter()
    peak_kib = 0
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(  # noqa: S603 (the benchmark's own commands)
            [sys.executable, "-m", "shopwarehouse", "load", "--entity", "orders", *flags],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        status = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            # VmHWM: the process's own peak resident set since it started the program (the rusage of a
            # child counts the parent's size at the fork)
            with contextlib.suppress(OSError, StopIteration):
                line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
                peak_kib = max(peak_kib, int(line.split()[1]))
            time.sleep(0.02)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"the load of {what} failed:\n{err.read_text()[-3000:]}")
    peak_mb = peak_kib / 1024
    progress = sum(" loading " in line for line in err.read_text().splitlines())
    total = next(line for line in out.read_text().splitlines() if line.startswith("total"))
    summary = " ".join(total.split())
    result = f"{seconds:.1f} s, peak memory {peak_mb:,.0f} MB, {progress:,} progress lines; `{summary}`"
    return {"scenario": what, "result": result}


def small_files(root: Path, files: int) -> Path:
    """One day of orders as ``files`` files of a few rows each."""
    source = root / "source"
    generate(LocalLanding(source), GenerateOptions(start=DAY, days=1, seed=3, orders_per_day=files * 3))
    rows = list(csv.reader(next((source / "raw" / "orders").rglob("*.csv")).read_text().splitlines()))
    header, body = rows[0], rows[1:]
    day = root / "small" / "raw" / "orders" / f"date={DAY}"
    day.mkdir(parents=True)
    per_file = max(1, len(body) // files)
    for number in range(files):
        chunk = body[number * per_file : (number + 1) * per_file] or body[-1:]
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC).writerows([header, *chunk])
        (day / f"orders_{DAY:%Y%m%d}_{number:05d}.csv").write_text(buffer.getvalue())
    return root / "small"


def big_files(root: Path, sizes: list[int]) -> list[tuple[Path, int]]:
    """For each size, a landing holding one orders file of at least that many bytes: ten generated days of
    100,000 orders a day (a size the generator is made for), written out again and again, each copy's order
    ids made its own, until the file is that big. Each landing, with its file's size."""
    source = root / "big-source"
    generate(LocalLanding(source), GenerateOptions(start=DAY, days=10, seed=3, orders_per_day=100_000))
    header, *rows = "".join(
        path.read_text() for path in sorted((source / "raw" / "orders").rglob("*.csv"))
    ).splitlines(keepends=True)
    body = [row for row in rows if row != header]
    landings = []
    for size in sizes:
        landing = root / f"big-{size}"
        target = landing / "raw" / "orders" / f"date={DAY}" / f"orders_{DAY:%Y%m%d}_000.csv"
        target.parent.mkdir(parents=True)
        with target.open("w") as out:
            out.write(header)
            copy = 0
            while out.tell() < size:  # every row starts with a quoted order id
                out.writelines(f'"{copy:03d}-{row[1:]}' for row in body)
                copy += 1
        landings.append((landing, target.stat().st_size))
    return landings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger-rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--big-bytes", type=int, default=2 << 30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        figures = [ledger_lookup(root, args.ledger_rows)]
        for landing, size in big_files(root, [args.big_bytes // 4, args.big_bytes]):
            what = f"one {size / 2**30:,.2f} GiB orders file"
            figures.append(load(root, landing, f"{what}, DuckDB memory_limit 3GB (the default)"))
        figures.append(load(root, landing, f"{what}, DuckDB memory_limit 1GB", memory_limit="1GB"))
        figures.append(load(root, landing, f"{what}, validated only (`--dry-run`)", "--dry-run"))
        figures.append(
            load(root, small_files(root, args.files), f"{args.files:,} small orders files in one day")
        )
    print("| scenario | result |\n|---|---|")
    for figure in figures:
        print(f"| {figure['scenario']} | {figure['result']} |")


if __name__ == "__main__":
    main()
