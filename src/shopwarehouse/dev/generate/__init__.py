"""``shopwarehouse generate``: deterministic, realistic and messy raw exports, written to the landing zone."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise

from shopwarehouse.dev.generate.export import EVENTS_GZIP_LEVEL, GZIP_LEVEL, Export, file_suffix
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
IN_FLIGHT_ROWS = 1_000_000  # rows handed to the writers and not yet written: the next day waits beyond


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
    clickstream_scale: float = 1.0
    """Multiplies the sessions without an order (and the crawlers'); 0: only the sessions of the orders."""
    events_format: str = "jsonl"  # the clickstream's own format, whatever the other entities'
    events_gzip: bool = True

    def __post_init__(self) -> None:
        file_suffix(self.file_format, self.gzip)  # validates the format
        file_suffix(self.events_format, self.events_gzip)
        if self.days < 1 or self.orders_per_day <= 0 or self.max_rows_per_file < 1:
            raise ValueError("days, orders per day and rows per file must be positive")
        if not self.clickstream_scale >= 0:
            raise ValueError("the clickstream scale must be 0 or more")

    def file_format_of(self, entity: str) -> tuple[str, bool]:
        """The format an entity's files are written in, and whether they are gzipped."""
        if entity == "events":
            return self.events_format, self.events_gzip
        return self.file_format, self.gzip


@dataclass
class GenerateSummary:
    orders: int = 0
    files: int = 0
    bytes: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    clickstream: dict[str, int] = field(default_factory=dict)
    """What the clickstream simulated (sessions, events, late, delivered twice, ...), landed or not yet."""


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
    shop = Shop(
        options.seed,
        options.start,
        options.orders_per_day,
        growth=options.growth,
        clickstream_scale=options.clickstream_scale,
    )
    summary = GenerateSummary()
    arrivals: dict[int, list[_File]] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_flight: deque[tuple[Future[int], int]] = deque()  # files being written, with their rows
        for index in range(options.days):
            day = options.start + timedelta(days=index)
            for entity, rows in shop.day(index).items():
                if rows:
                    suffix = file_suffix(*options.file_format_of(entity))
                    _schedule(arrivals, index, day, entity, Export.from_rows(entity, rows), suffix, options)
            landed = arrivals.pop(index, [])
            # Bounded work in flight (memory), while the next day simulates: the two writers stay busy.
            for file in landed:
                in_flight.append((pool.submit(_write, landing, file, options), len(file.export)))
            while sum(rows for _, rows in in_flight) > IN_FLIGHT_ROWS:
                summary.bytes += in_flight.popleft()[0].result()
            summary.files += len(landed)
            for file in landed:
                summary.rows[file.export.entity] += len(file.export)
            log.debug("day %s: %d files landed", day, len(landed))
        while in_flight:
            summary.bytes += in_flight.popleft()[0].result()
    summary.orders = shop.next_id["orders"] - 1
    summary.clickstream = dict(shop.clickstream.stats)
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
    file_format, gzipped = options.file_format_of(file.export.entity)
    level = EVENTS_GZIP_LEVEL if file.export.entity == "events" else GZIP_LEVEL
    data = file.export.encode(file_format, gzipped, level)
    landing.put(file.key, data)
    return len(data)
