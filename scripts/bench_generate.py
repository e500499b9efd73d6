"""Benchmark the data generator: orders per second, or clickstream events per second, and peak memory.

    python scripts/bench_generate.py --orders 1000000 [--days 90] [--format csv] [--gzip]
    python scripts/bench_generate.py --events 3000000 [--days 7]

Writes into a temporary directory (deleted afterwards) and prints one line of figures, end to end: simulate,
encode, compress and write every entity's files.

--orders: the orders-per-day level is scaled so the run makes about that many orders; the exact number made
is what the rate is based on. The clickstream is left out (--clickstream-scale 0: only the orders' own
sessions) unless asked for, so the figure stays comparable with earlier runs.

--events: the default shop (500 orders a day, steady) with its clickstream scaled up to make about that many
events, written as the pipeline gets them (gzipped JSON Lines, unless --events-format says otherwise); the
rate is the events landed per second.
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
# Events a day of the default shop (500 orders a day, steady, January) makes per unit of clickstream scale
# (measured: about 185 events per order at scale 1, most of them sessions without an order).
EVENTS_PER_SCALE_DAY = 107_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--orders", type=int, help="about this many orders [1,000,000]")
    what.add_argument("--events", type=int, help="about this many clickstream events")
    parser.add_argument("--days", type=int, help="days simulated [--orders: 90, --events: 7]")
    parser.add_argument("--format", choices=FORMATS, default="csv")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--clickstream-scale", type=float, help="[--orders: 0, --events: from --events]")
    parser.add_argument("--events-format", choices=FORMATS, default="jsonl")
    parser.add_argument("--no-events-gzip", dest="events_gzip", action="store_false")
    args = parser.parse_args()
    if args.events:
        days = args.days or 7
        orders_per_day = 500.0
        scale = args.clickstream_scale or args.events / days / EVENTS_PER_SCALE_DAY
    else:
        days = args.days or 90
        orders_per_day = (args.orders or 1_000_000) / days / ORDERS_PER_LEVEL_DAY
        scale = args.clickstream_scale or 0.0
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        options = GenerateOptions(
            start=date(2024, 1, 1),
            days=days,
            orders_per_day=orders_per_day,
            growth=not args.events,
            file_format=args.format,
            gzip=args.gzip,
            clickstream_scale=scale,
            events_format=args.events_format,
            events_gzip=args.events_gzip,
        )
        summary = generate(LocalLanding(Path(tmp)), options)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    # The processor time the run took (this process, all its threads) beside the wall time: on a machine
    # others use too, the cores it got, and the rate per core-second it would keep with the cores its own.
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    rows = sum(summary.rows.values())
    events = summary.rows["events"]
    figures = (
        f"{summary.orders:,} orders, {events:,} events ({rows:,} rows, {summary.files} files, "
        f"{summary.bytes / 1e6:,.0f} MB) in {summary.seconds:.1f} s"
    )
    if args.events:
        events_file = f"{args.events_format}{'.gz' if args.events_gzip else ''}"
        print(
            f"generate events {events_file} (clickstream scale {scale:.2f}, {days} days): {figures} "
            f"= {events / summary.seconds:,.0f} events/s, peak memory {peak_mb:,.0f} MB; "
            f"{cpu:.1f} s of processor time ({cpu / summary.seconds:.2f} cores busy), "
            f"{events / cpu:,.0f} events per processor-second"
        )
    else:
        print(
            f"generate {args.format}{'.gz' if args.gzip else ''}: {figures} "
            f"= {summary.orders / summary.seconds:,.0f} orders/s, peak memory {peak_mb:,.0f} MB"
        )


if __name__ == "__main__":
    main()
