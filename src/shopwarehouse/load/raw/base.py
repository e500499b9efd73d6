"""The raw loader every warehouse implements: the raw tables, the load ledger, and each warehouse's bulk path.

A loader creates the raw tables and the ledger, reads the ledger, and loads batches of validated files (or
one large file in parts): their rows into ``raw.<entity>`` through the warehouse's own bulk path and their
ledger rows, in one transaction of its :class:`~shopwarehouse.warehouse.base.SqlClient`. A failure anywhere
before the commit rolls the batch back, so each file is loaded and recorded, or neither.
"""

from __future__ import annotations

import gzip
import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from shopwarehouse.landing.contract import ENTITIES, STAGE_PREFIX
from shopwarehouse.load.tables import (
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    RAW_SCHEMA,
    LedgerEntry,
    decimal_scales,
    raw_columns,
    with_lineage,
)
from shopwarehouse.warehouse.base import SqlClient, column_list, identifier, qualified

log = logging.getLogger(__name__)


class LoadError(Exception):
    """The warehouse refused a file that passed validation, or reported a different row count."""


@dataclass(frozen=True)
class SeenFile:
    """A ledger row, as far as deciding what to do with a landed file needs it."""

    file_key: str
    file_size: int
    file_checksum: str | None
    status: str
    load_id: str


def staged_key(first: LedgerEntry, part: int, suffix: str) -> str:
    """Where a warehouse that COPYs from storage finds a batch's rows in the landing zone, named after the
    batch's first file (a file is in one batch only) and the part of it (see :meth:`RawLoader.load_parts`)."""
    assert first.file_checksum is not None  # only validated files are staged
    stem = f"{first.file_checksum[:32]}-{part:05d}"
    return f"{STAGE_PREFIX}{first.load_id}/{identifier(first.entity)}/{stem}{suffix}"


PLAIN_DECIMAL_SCALE = 6
"""Arrow writes a decimal with an exponent when it is under 10**-6 (``1E-8``, and ``0E-8`` for a zero of
scale 8), which Redshift's COPY refuses as a number; a decimal of this scale or less never is."""


def plain_decimals(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Decimals as text without an exponent (``0.00000001``, not ``1E-8``). Arrow's own text serves every
    value that has none; the few that do are written by Python's ``Decimal``."""
    text = pc.cast(values, pa.string())
    exponent = pc.match_substring(text, "E")
    if not pc.any(exponent).as_py():
        return text
    plain = [None if value is None else format(value, "f") for value in values.to_pylist()]
    return pa.chunked_array([pa.array(plain, pa.string())])


def to_csv(rows: pa.Table, *, compress: bool = False) -> bytes:
    """``rows`` as CSV with a header, for the warehouses whose bulk path reads CSV.

    Strings are always quoted, so an empty string (``""``) and a missing value (nothing) stay apart;
    timestamps are written as ``YYYY-MM-DD HH:MM:SS.ffffff+00:00``, dates as ``YYYY-MM-DD``, decimals
    without an exponent (see :func:`plain_decimals`).
    """
    for index, field in enumerate(rows.schema):
        if pa.types.is_timestamp(field.type):
            text = pc.strftime(rows.column(index), format="%Y-%m-%d %H:%M:%S+00:00")
            rows = rows.set_column(index, field.name, text)
        elif pa.types.is_decimal(field.type) and field.type.scale > PLAIN_DECIMAL_SCALE:
            rows = rows.set_column(index, field.name, plain_decimals(rows.column(index)))
    buffer = io.BytesIO()
    pa_csv.write_csv(rows, buffer)
    data = buffer.getvalue()
    return gzip.compress(data, compresslevel=1) if compress else data


class RawLoader(ABC):
    """Loads validated files into a warehouse's raw tables through its client; a subclass supplies the bulk
    path."""

    _batch_open = False

    def __init__(self, client: SqlClient, schema: str = RAW_SCHEMA) -> None:
        self.client = client
        self.schema = schema
        """The raw schema: ``raw``, or the environment's (:meth:`Settings.schema`)."""

    @abstractmethod
    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        """Append ``rows`` (``raw.<entity>`` columns, in order) through the warehouse's bulk path, inside the
        open transaction; the number of rows the warehouse says it loaded. ``first`` is the ledger entry of
        the first file in ``rows`` and ``part`` the part of it they start (0 but for a file loaded in
        parts): :func:`staged_key` names anything staged for the load after them."""

    def prepare(self) -> None:
        """Create the raw schema, one table per entity and the ledger, where missing."""
        self.client.run_ddl(
            [
                f"create schema if not exists {identifier(self.schema)}",
                *(
                    self.client.create_table_sql(
                        entity, raw_columns(entity), self.schema, scales=decimal_scales(entity)
                    )
                    for entity in ENTITIES
                ),
                self.client.create_table_sql(LEDGER_TABLE, LEDGER_COLUMNS, self.schema),
            ]
        )

    def ledger_exists(self) -> bool:
        return self.client.table_exists(self.schema, LEDGER_TABLE)

    def seen_files(self) -> list[SeenFile]:
        """Every ledger row, oldest first."""
        rows = self.client.execute(
            "select file_key, file_size, file_checksum, status, load_id from "
            f"{qualified(LEDGER_TABLE, self.schema)} order by finished_at"
        )
        return [SeenFile(*row) for row in rows]

    def load(self, entity: str, files: Sequence[tuple[pa.Table, LedgerEntry]]) -> None:
        """Validated files of ``entity`` (each one's rows and ledger entry) into ``raw.<entity>``, with
        lineage, and into the ledger, in the open batch (see :meth:`commit`)."""

        def load_files() -> None:
            self._checked_bulk_load(entity, with_lineage(files), [entry for _, entry in files], 0)
            for _, entry in files:
                self._insert_ledger(entry)

        self._in_batch(load_files)

    def load_parts(self, entity: str, parts: Iterable[pa.Table], entry: LedgerEntry) -> None:
        """One validated file of ``entity`` too large to hold in memory, as its ``parts`` come (its rows in
        order, ``entry.row_count`` in all), into ``raw.<entity>`` with lineage, a bulk load each, then its
        ledger row, in the open batch."""

        def load_file() -> None:
            loaded = 0
            for number, part in enumerate(parts):
                loaded += self._checked_bulk_load(
                    entity, with_lineage([(part, entry)], loaded + 1), [entry], number
                )
            if loaded != entry.row_count:
                raise LoadError(
                    f"{entry.file_key}: {loaded} rows read to load, {entry.row_count} when it was validated; "
                    "nothing was committed"
                )
            self._insert_ledger(entry)

        self._in_batch(load_file)

    def _checked_bulk_load(self, entity: str, rows: pa.Table, files: Sequence[LedgerEntry], part: int) -> int:
        """:meth:`_bulk_load` of the rows of ``files``; a :class:`LoadError` unless the warehouse loaded them
        all."""
        loaded = self._bulk_load(entity, rows, files[0], part)
        if loaded != rows.num_rows:
            raise LoadError(
                f"{', '.join(entry.file_key for entry in files)}: the warehouse loaded {loaded} rows "
                f"of {rows.num_rows}; nothing was committed"
            )
        return loaded

    def record(self, entry: LedgerEntry) -> None:
        """A ledger row alone, in the open batch: a file that was not loaded (duplicate or quarantined)."""
        self._in_batch(lambda: self._insert_ledger(entry))

    def commit(self) -> None:
        """Commit the batch: every file loaded or recorded since the last commit, each with its ledger row.

        Files are loaded and committed in batches, not one by one, because each statement and each commit
        has a cost of its own (DuckDB inserts small tables one thread at a time and writes small
        transactions twice, through its write-ahead log; Redshift serialises commits). A failure rolls the
        whole batch back, so each file is still loaded and recorded, or neither."""
        if self._batch_open:
            self._batch_open = False
            self.client.commit()

    def _in_batch(self, work: Callable[[], None]) -> None:
        if not self._batch_open:
            self.client.begin()
            self._batch_open = True
        try:
            work()
        except BaseException:
            self._batch_open = False
            self.client.rollback_after_failure()
            raise

    def close(self) -> None:
        if self._batch_open:  # never commit a batch nobody asked to commit
            self._batch_open = False
            self.client.rollback_after_failure()
        self.client.close()

    def __enter__(self) -> RawLoader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _insert_ledger(self, entry: LedgerEntry) -> None:
        marks = ", ".join([self.client.placeholder] * len(LEDGER_COLUMNS))
        self.client.execute(
            f"insert into {qualified(LEDGER_TABLE, self.schema)} ({column_list(LEDGER_COLUMNS)}) "
            f"values ({marks})",
            entry.values(),
        )
