"""Benchmark the data generator: orders per second and peak memory for a given number of orders.

    python scripts/bench_generate.py --orders 1000000 [--days 90] [--format csv] [--gzip]

Writes into a temporary directory (deleted afterwards) and prints one line of figures. The orders-per-day
level is scaled so the run makes about --orders orders; the exact number made is what the rate is based on.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from datetime import date
from pathlib import Path

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.dev.generate.export import FORMATS
from shopwarehouse.landing.zone import LocalLanding

# Orders made per unit of the --orders-per-day level over a run, from the weekly, seasonal and growth
# factors of the simulation (measured on 90-day runs starting 2024-01-01).
ORDERS_PER_LEVEL_DAY = 1.27


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        options = GenerateOptions(
            start=date(2024, 1, 1),
            days=args.days,
            orders_per_day=args.orders / args.days / ORDERS_PER_LEVEL_DAY,
            file_format=args.format,
            gzip=args.gzip,
        )
        summary = generate(LocalLanding(Path(tmp)), options)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = sum(summary.rows.values())
    print(
        f"generate {args.format}{'.gz' if args.gzip else ''}: {summary.orders:,} orders "
        f"({rows:,} rows, {summary.files} files, {summary.bytes / 1e6:,.0f} MB) "
        f"in {summary.seconds:.1f} s = {summary.orders / summary.seconds:,.0f} orders/s, "
        f"peak memory {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
