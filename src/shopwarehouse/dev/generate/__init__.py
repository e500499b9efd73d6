"""``shopwarehouse generate``: deterministic, realistic and messy raw exports, written to the landing zone."""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from shopwarehouse.dev.generate.export import Export, file_suffix
from shopwarehouse.dev.generate.simulation import Shop
from shopwarehouse.landing.contract import partition_prefix
from shopwarehouse.landing.zone import Landing

log = logging.getLogger(__name__)

# Delivery quirks, on a fixed cadence so that every run of two weeks or more shows each of them.
LATE_FILE_EVERY = 7  # on days 2, 9, 16, ... part of one entity's export arrives two days late
LATE_FILE_ENTITIES = ("payments", "customers", "orders")
LATE_FILE_SHARE = 1 / 3
LATE_FILE_DELAY_DAYS = 2
REDELIVERY_EVERY = 9  # on days 4, 13, 22, ... one file is delivered again under another name
REDELIVERY_ENTITIES = ("orders", "payments", "order_items")


@dataclass(frozen=True)
class GenerateOptions:
    start: date
    days: int = 30
    seed: int = 7
    orders_per_day: float = 500.0
    growth: bool = True
    file_format: str = "csv"
    gzip: bool = False
    max_rows_per_file: int = 250_000

    def __post_init__(self) -> None:
        file_suffix(self.file_format, self.gzip)  # validates the format
        if self.days < 1 or self.orders_per_day <= 0 or self.max_rows_per_file < 1:
            raise ValueError("days, orders per day and rows per file must be positive")


@dataclass
class GenerateSummary:
    orders: int = 0
    files: int = 0
    bytes: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass(frozen=True)
class _File:
    key: str
    export: Export


def generate(landing: Landing, options: GenerateOptions) -> GenerateSummary:
    """Simulate ``options.days`` days and write each day's exports to ``landing`` as they would land.

    The landing zone ends as it stands right after the last day's exports landed: a late file still due after
    that day is not written yet, exactly as in production.
    """
    started = time.perf_counter()
    shop = Shop(options.seed, options.start, options.orders_per_day, growth=options.growth)
    summary = GenerateSummary()
    arrivals: dict[int, list[_File]] = {}
    suffix = file_suffix(options.file_format, options.gzip)
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight: list[Future[int]] = []
        for index in range(options.days):
            day = options.start + timedelta(days=index)
            for entity, rows in shop.day(index).items():
                if rows:
                    _schedule(arrivals, index, day, entity, Export.from_rows(entity, rows), suffix, options)
            landed = arrivals.pop(index, [])
            # Keep at most one day in flight: bounded memory, and the next day simulates meanwhile.
            summary.bytes += sum(f.result() for f in in_flight)
            in_flight = [pool.submit(_write, landing, f, options) for f in landed]
            summary.files += len(landed)
            summary.rows.update({f.export.entity: len(f.export) for f in landed})
            log.debug("day %s: %d files landed", day, len(landed))
        summary.bytes += sum(f.result() for f in in_flight)
    summary.orders = shop.next_id["orders"] - 1
    summary.seconds = time.perf_counter() - started
    return summary


def _schedule(
    arrivals: dict[int, list[_File]],
    index: int,
    day: date,
    entity: str,
    export: Export,
    suffix: str,
    options: GenerateOptions,
) -> None:
    """Split one entity's export of one day into files and decide when each lands."""
    n = len(export)
    cut = n
    if index % LATE_FILE_EVERY == 2 and entity == LATE_FILE_ENTITIES[index // LATE_FILE_EVERY % 3]:
        cut = n - max(1, int(n * LATE_FILE_SHARE))
    bounds = [*range(0, cut, options.max_rows_per_file), cut]
    parts = [(export.slice(a, b), index) for a, b in pairwise(bounds)]
    if cut < n:
        parts.append((export.slice(cut, n), index + LATE_FILE_DELAY_DAYS))
    prefix = partition_prefix(entity, day.isoformat())
    stem = f"{entity}_{day:%Y%m%d}"
    for seq, (part, lands) in enumerate(parts):
        arrivals.setdefault(lands, []).append(_File(f"{prefix}{stem}_{seq:03d}{suffix}", part))
    redeliver = index % REDELIVERY_EVERY == 4
    if redeliver and entity == REDELIVERY_ENTITIES[index // REDELIVERY_EVERY % 3]:
        first, _ = parts[0]
        key = f"{prefix}{stem}_000_resent{suffix}"
        arrivals.setdefault(index + 1, []).append(_File(key, first))


def _write(landing: Landing, file: _File, options: GenerateOptions) -> int:
    data = file.export.encode(options.file_format, options.gzip)
    landing.put(file.key, data)
    return len(data)
