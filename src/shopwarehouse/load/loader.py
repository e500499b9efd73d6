"""Load landed files into the warehouse's raw tables exactly once, quarantining the ones that fail validation.

For every landed file that the date and entity filters select, in key order:

1. A file the ledger already holds as loaded (or duplicate) with the same key and size is skipped unread.
2. A file over the size limit is quarantined unread.
3. Otherwise it is read, hashed and validated against the contract in one pass over its bytes. Content the
   ledger already holds under this key is skipped; content already loaded under another key is recorded as
   ``duplicate`` and not loaded again.
4. A rejected file is copied to ``quarantine/<key>`` with ``quarantine/<key>.error.json`` beside it and
   recorded as ``quarantined``; the run goes on.
5. A valid file's rows (with lineage columns) and its ledger row are committed in one transaction, with
   those of the other files of its batch (see :class:`_Run`): a file is loaded and recorded, or neither.

Reading, hashing and validating run a few files ahead on worker threads, while the warehouse loads; the
decisions and the loads stay in key order on the calling thread.

Memory: a file up to ``stream_file_bytes`` is held, as a typed table, from its validation to its load. A
larger one never is: it is validated part by part and let go, then read, validated and loaded again part by
part, in a transaction of its own, its checksum checked against the first reading's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO, TypeVar

import orjson
import pyarrow as pa

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.landing.contract import ENTITIES, QUARANTINE_PREFIX, entity_prefix
from shopwarehouse.landing.zone import LandedObject, Landing
from shopwarehouse.load.raw import LoadError, RawLoader, SeenFile
from shopwarehouse.load.tables import LedgerEntry, Status
from shopwarehouse.load.validate import (
    PART_BYTES,
    RejectedFile,
    Rejection,
    check_size,
    validate,
    validate_parts,
)

log = logging.getLogger(__name__)

_PARTITION = re.compile(r"raw/(?P<entity>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/[^/]+")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class LoadOptions:
    entities: tuple[str, ...] = tuple(ENTITIES)
    on: date | None = None
    """Only the export of this day (its ``date=`` partition)."""
    since: date | None = None
    """Only exports of this day and later."""
    until: date | None = None
    """No exports of a later day (files outside a ``date=`` partition are still read, to be quarantined)."""
    dry_run: bool = False
    """Validate and report; write nothing to the warehouse or the landing zone."""
    # The defaults are the settings' (SHOPWAREHOUSE_MAX_FILE_BYTES and the rest), written once, in config.
    max_file_bytes: int = Settings.max_file_bytes
    stream_file_bytes: int = Settings.stream_file_bytes
    """Files larger than this are never held in memory: they are validated and loaded part by part."""
    read_ahead: int = 2
    """Files read and validated ahead of the one being loaded (each held in memory, up to
    ``stream_file_bytes``)."""
    batch_rows: int = Settings.load_batch_rows
    """Commit once the files loaded since the last commit hold this many rows (and at the end)."""


@dataclass(frozen=True)
class FileOutcome:
    entity: str
    key: str
    size: int
    status: Status
    rows: int = 0
    seconds: float = 0.0  # reading, hashing, validating and deciding (the bulk load is per batch)
    reason: str | None = None


@dataclass
class LoadSummary:
    load_id: str
    dry_run: bool = False
    outcomes: list[FileOutcome] = field(default_factory=list)
    load_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Seconds spent in the warehouse's bulk loads and commits, per entity."""
    seconds: float = 0.0

    @property
    def rejected(self) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == Status.QUARANTINED]


@dataclass(frozen=True)
class _Read:
    """A landed file after reading, hashing and validating it (on a worker thread)."""

    obj: LandedObject
    checksum: str
    seconds: float
    rejection: Rejection | None = None
    rows: int = 0
    ignored_columns: tuple[str, ...] = ()
    table: pa.Table | None = None
    """A valid file's rows, when it is small enough to hold; a larger one is read again to be loaded."""


class _Hashing(io.RawIOBase):
    """A stream that hashes what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.sha256.update(data)
        return len(data)

    def checksum(self) -> str:
        """The SHA-256 of the whole stream: what was not read yet is read first."""
        while self.read(1 << 20):
            pass
        return self.sha256.hexdigest()


@contextmanager
def _reading(landing: Landing, key: str) -> Iterator[tuple[BinaryIO, _Hashing]]:
    """A landed file as a buffered stream, and the hash of what is read of it."""
    with landing.open(key) as raw:
        hashing = _Hashing(raw)
        yield io.BufferedReader(hashing, PART_BYTES), hashing


class _Ledger:
    """The ledger as the run's decisions need it, kept current as the run records files."""

    def __init__(self, seen: Iterable[SeenFile]) -> None:
        self.by_key: dict[str, list[SeenFile]] = {}
        self.loaded: dict[str, SeenFile] = {}  # checksum -> the file that loaded it
        for row in seen:
            self.add(row)

    def add(self, row: SeenFile) -> None:
        self.by_key.setdefault(row.file_key, []).append(row)
        if row.status == Status.LOADED and row.file_checksum:
            self.loaded.setdefault(row.file_checksum, row)

    def done(self, obj: LandedObject) -> SeenFile | None:
        """The row of an earlier load or duplicate of this key and size: nothing left to do."""
        rows = self.by_key.get(obj.key, [])
        return next((r for r in rows if r.status != Status.QUARANTINED and r.file_size == obj.size), None)

    def same_content(self, obj: LandedObject, checksum: str | None) -> SeenFile | None:
        """The row of this very file (key, size and checksum; no checksum if it was rejected unread)."""
        rows = self.by_key.get(obj.key, [])
        return next((r for r in rows if (r.file_size, r.file_checksum) == (obj.size, checksum)), None)


def new_load_id() -> str:
    return f"{clock.now():%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def select_files(landing: Landing, options: LoadOptions) -> list[tuple[str, LandedObject]]:
    """``(entity, object)`` for every landed file the options select, entity by entity, in key order."""
    selected = []
    for entity in options.entities:
        for obj in landing.list(entity_prefix(entity)):
            match = _PARTITION.fullmatch(obj.key)
            day = date.fromisoformat(match["date"]) if match else None
            if (
                (options.on and day != options.on)
                or (options.since and (day is None or day < options.since))
                or (options.until and day is not None and day > options.until)
            ):
                continue
            selected.append((entity, obj))
    return selected


def run_load(
    landing: Landing,
    warehouse: RawLoader,
    options: LoadOptions,
    on_file: Callable[[FileOutcome, int], None] = lambda outcome, total: None,
) -> LoadSummary:
    """Load every selected file not loaded before; the outcome of each file, in order. ``on_file`` hears of
    each file read, with the number of files to read in all."""
    started = time.perf_counter()
    summary = LoadSummary(load_id=new_load_id(), dry_run=options.dry_run)
    if not options.dry_run:
        warehouse.prepare()
    run = _Run(landing, warehouse, options, summary)

    pending: list[tuple[str, LandedObject]] = []
    for entity, obj in select_files(landing, options):
        earlier = run.ledger.done(obj)
        if earlier:
            reason = f"{earlier.status} in load {earlier.load_id}"
            summary.outcomes.append(FileOutcome(entity, obj.key, obj.size, Status.SKIPPED, reason=reason))
        else:
            pending.append((entity, obj))
    log.info("load %s: %d to read, %d seen before", summary.load_id, len(pending), len(summary.outcomes))

    def read(item: tuple[str, LandedObject]) -> _Read:
        return _read(landing, item[0], item[1], options)

    for (entity, _), result in zip(pending, _read_ahead(read, pending, options.read_ahead), strict=True):
        outcome = run.settle(entity, result)
        summary.outcomes.append(outcome)
        on_file(outcome, len(pending))
    run.flush()
    summary.seconds = time.perf_counter() - started
    return summary


def _read(landing: Landing, entity: str, obj: LandedObject, options: LoadOptions) -> _Read:
    started = time.perf_counter()
    try:
        if not _PARTITION.fullmatch(obj.key):
            raise RejectedFile(Rejection(
                obj.key, f"misplaced file: exports belong under raw/{entity}/date=YYYY-MM-DD/; move it there",
            ))  # fmt: skip
        check_size(obj.key, obj.size, options.max_file_bytes)
    except RejectedFile as error:  # rejected unread
        return _Read(obj, "", time.perf_counter() - started, error.rejection)
    with _reading(landing, obj.key) as (stream, hashing):
        try:
            if obj.size > options.stream_file_bytes:
                log.info("validating %s (%s bytes) part by part", obj.key, f"{obj.size:,}")
                rows, ignored, table = 0, {}, None
                for part in validate_parts(entity, obj.key, stream):
                    rows += part.table.num_rows
                    ignored.update(dict.fromkeys(part.ignored_columns))
            else:
                valid = validate(entity, obj.key, stream)
                rows, ignored, table = valid.table.num_rows, dict.fromkeys(valid.ignored_columns), valid.table
            rejection = None
        except RejectedFile as error:
            rows, ignored, table, rejection = 0, {}, None, error.rejection
        checksum = hashing.checksum()
    return _Read(obj, checksum, time.perf_counter() - started, rejection, rows, tuple(ignored), table)


class _Run:
    """One load run's decisions, in key order. Valid files wait in a batch of one entity, loaded together in
    one bulk statement and committed with every ledger row recorded since the last commit: once the batch
    holds ``batch_rows`` rows, when the entity changes, and at the end."""

    def __init__(self, landing: Landing, warehouse: RawLoader, options: LoadOptions, summary: LoadSummary):
        self.landing, self.warehouse, self.options, self.summary = landing, warehouse, options, summary
        self.ledger = _Ledger(warehouse.seen_files() if warehouse.ledger_exists() else [])
        self.batch_entity = ""
        self.batch: list[tuple[pa.Table, LedgerEntry]] = []
        self.batch_rows = 0

    def settle(self, entity: str, result: _Read) -> FileOutcome:
        """Decide what becomes of one read file, see to it, and say what was done."""
        obj, checksum = result.obj, result.checksum or None
        started = clock.now()
        settling = time.perf_counter()

        def outcome(status: Status, rows: int = 0, reason: str | None = None) -> FileOutcome:
            seconds = result.seconds + time.perf_counter() - settling
            return FileOutcome(entity, obj.key, obj.size, status, rows, seconds, reason)

        earlier = self.ledger.same_content(obj, checksum)
        if earlier:
            return outcome(Status.SKIPPED, reason=f"{earlier.status} in load {earlier.load_id}")
        original = self.ledger.loaded.get(checksum) if checksum else None
        rows = 0
        if original:
            reason = f"same content as {original.file_key} (load {original.load_id})"
            status = Status.DUPLICATE
        elif result.rejection:
            status, reason = Status.QUARANTINED, str(result.rejection)
        else:
            status, reason, rows = Status.LOADED, None, result.rows
        # Known at once, so a later file of this run with the same content is a duplicate, even in a dry run.
        self.ledger.add(SeenFile(obj.key, obj.size, checksum, status, self.summary.load_id))
        if self.options.dry_run:
            return outcome(Status.VALID if status == Status.LOADED else status, rows, reason)

        finished = clock.now()
        entry = LedgerEntry(
            self.summary.load_id, entity, obj.key, obj.size, checksum, rows, status, reason, started, finished
        )
        if status == Status.LOADED:
            if result.ignored_columns:
                log.warning("%s: columns not in the contract are not loaded: %s", obj.key,
                            ", ".join(result.ignored_columns))  # fmt: skip
            log.info("loading %s: %d rows", obj.key, rows)
            if result.table is None:
                self._load_in_parts(entity, entry)
            else:
                self._add(entity, result.table, entry)
        else:
            if result.rejection and status == Status.QUARANTINED:
                _quarantine(self.landing, result.rejection, entry)
                log.warning("quarantined %s", reason)
            else:
                log.info("duplicate %s: %s", obj.key, reason)
            self.warehouse.record(entry)
        return outcome(status, entry.row_count, reason)

    def _add(self, entity: str, table: pa.Table, entry: LedgerEntry) -> None:
        if entity != self.batch_entity:
            self.flush()
            self.batch_entity = entity
        self.batch.append((table, entry))
        self.batch_rows += table.num_rows
        if self.batch_rows >= self.options.batch_rows:
            self.flush()

    def flush(self) -> None:
        """Load the waiting files and commit."""
        started = time.perf_counter()
        if self.batch:
            self.warehouse.load(self.batch_entity, self.batch)
        self.warehouse.commit()
        if self.batch:
            log.info("committed %d %s files, %d rows", len(self.batch), self.batch_entity, self.batch_rows)
            self.summary.load_seconds[self.batch_entity] += time.perf_counter() - started
        self.batch, self.batch_rows = [], 0

    def _load_in_parts(self, entity: str, entry: LedgerEntry) -> None:
        """A file too large to hold: read again and loaded part by part, in a transaction of its own."""
        self.flush()
        started = time.perf_counter()
        self.warehouse.load_parts(entity, self._parts(entity, entry), entry)
        self.warehouse.commit()
        log.info("committed %s, %d rows", entry.file_key, entry.row_count)
        self.summary.load_seconds[entity] += time.perf_counter() - started

    def _parts(self, entity: str, entry: LedgerEntry) -> Iterator[pa.Table]:
        """The file's rows, validated again as they are read, in parts of ``batch_rows`` rows (the last one
        smaller). Its bytes must be those validated before: a file replaced meanwhile fails the load
        (nothing of it is committed), and the next load validates the new file."""
        changed = f"{entry.file_key} changed while it was being loaded; nothing of it was loaded; load again"
        size = self.options.batch_rows
        with _reading(self.landing, entry.file_key) as (stream, hashing):
            held, done = pa.table({}), 0
            try:
                for part in validate_parts(entity, entry.file_key, stream):
                    held = pa.concat_tables([held, part.table]) if held.num_rows else part.table
                    while held.num_rows >= size:
                        done += size
                        log.info("loading %s: %d of %d rows", entry.file_key, done, entry.row_count)
                        yield held.slice(0, size)
                        held = held.slice(size)
            except RejectedFile as error:
                raise LoadError(f"{changed} ({error})") from error
            if held.num_rows:
                yield held
            if hashing.checksum() != entry.file_checksum:
                raise LoadError(changed)


def _quarantine(landing: Landing, rejection: Rejection, entry: LedgerEntry) -> None:
    """Keep the rejected file, as delivered, under ``quarantine/`` with the reason beside it."""
    target = QUARANTINE_PREFIX + entry.file_key
    landing.copy(entry.file_key, target)
    error = {
        **rejection.as_dict(),
        "entity": entry.entity,
        "size": entry.file_size,
        "checksum": entry.file_checksum,
        "load_id": entry.load_id,
        "quarantined_at": entry.finished_at.isoformat(),
    }
    landing.put(target + ".error.json", orjson.dumps(error, option=orjson.OPT_INDENT_2))


def _read_ahead(fn: Callable[[T], R], items: list[T], ahead: int) -> Iterator[R]:
    """``map(fn, items)`` in order, with up to ``ahead`` calls running on threads ahead of the consumer."""
    with ThreadPoolExecutor(max_workers=max(ahead, 1)) as pool:
        queue: deque[Future[R]] = deque()
        for item in items:
            queue.append(pool.submit(fn, item))
            if len(queue) > ahead:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()
