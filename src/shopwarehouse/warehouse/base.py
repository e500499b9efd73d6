"""The one interface every warehouse backend implements, and the SQL they share.

A backend creates the raw tables and the ledger, reads the ledger, and loads batches of validated files (or
one large file in parts): their rows into ``raw.<entity>`` through the warehouse's own bulk path and their
ledger rows, in one transaction. A failure anywhere before the commit rolls the batch back, so each file is
loaded and recorded, or neither.
"""

from __future__ import annotations

import gzip
import io
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from shopwarehouse.landing.contract import ENTITIES, STAGE_PREFIX, ColumnType
from shopwarehouse.load.tables import (
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    RAW_SCHEMA,
    LedgerEntry,
    decimal_scales,
    identifier,
    raw_columns,
    with_lineage,
)

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


def qualified(table: str, schema: str = RAW_SCHEMA) -> str:
    return f"{identifier(schema)}.{identifier(table)}"


def column_list(columns: Sequence[tuple[str, ColumnType]]) -> str:
    return ", ".join(identifier(name) for name, _ in columns)


def staged_key(first: LedgerEntry, part: int, suffix: str) -> str:
    """Where a warehouse that COPYs from storage finds a batch's rows in the landing zone, named after the
    batch's first file (a file is in one batch only) and the part of it (see :meth:`Warehouse.load_parts`)."""
    assert first.file_checksum is not None  # only validated files are staged
    stem = f"{first.file_checksum[:32]}-{part:05d}"
    return f"{STAGE_PREFIX}{first.load_id}/{identifier(first.entity)}/{stem}{suffix}"


def literal(value: str) -> str:
    """``value`` as a SQL string literal, for the places a warehouse takes no bound parameter (stage URLs,
    COPY sources). Quotes and backslashes are refused rather than escaped: no landing URL needs them."""
    if any(char in value for char in "'\\") or not value.isprintable():
        raise ValueError(f"{value!r} holds a quote, backslash or control character; it cannot go into SQL")
    return f"'{value}'"


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


class Warehouse(ABC):
    """A warehouse the loaders write to; a subclass supplies the connection, type names and bulk path."""

    types: ClassVar[Mapping[ColumnType, str]]
    """Each type's SQL name; the decimal's holds ``{scale}``, the column's own (see :meth:`sql_type`)."""
    placeholder: ClassVar[str] = "%s"
    _batch_open = False

    # -- what each backend supplies -------------------------------------------------------------------------

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the current transaction; the rows it returns, if any."""

    @abstractmethod
    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        """Append ``rows`` (``raw.<entity>`` columns, in order) through the warehouse's bulk path, inside the
        open transaction; the number of rows the warehouse says it loaded. ``first`` is the ledger entry of
        the first file in ``rows`` and ``part`` the part of it they start (0 but for a file loaded in
        parts): :func:`staged_key` names anything staged for the load after them."""

    # Transactions through a DB-API connection, which opens one with the first statement; a backend whose
    # driver works otherwise (DuckDB autocommits, Snowflake takes SQL) overrides these.
    connection: Any

    def _begin(self) -> None:  # noqa: B027 (a hook: nothing to do for a DB-API driver)
        """A DB-API driver opens the transaction with the first statement."""

    def _commit(self) -> None:
        self.connection.commit()

    def _rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()

    # -- the interface --------------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the raw schema, one table per entity and the ledger, where missing."""
        self._run_ddl(
            [
                f"create schema if not exists {RAW_SCHEMA}",
                *(
                    self.create_table_sql(entity, raw_columns(entity), scales=decimal_scales(entity))
                    for entity in ENTITIES
                ),
                self.create_table_sql(LEDGER_TABLE, LEDGER_COLUMNS),
            ]
        )

    def _run_ddl(self, statements: Sequence[str]) -> None:
        """Run DDL statements in one transaction (a warehouse where DDL commits by itself overrides this)."""
        self._begin()
        try:
            for statement in statements:
                self._execute(statement)
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def ledger_exists(self) -> bool:
        return self.table_exists(RAW_SCHEMA, LEDGER_TABLE)

    def table_exists(self, schema: str, table: str) -> bool:
        ((count,),) = self._execute(
            "select count(*) from information_schema.tables where lower(table_schema) = "
            f"{self.placeholder} and lower(table_name) = {self.placeholder}",
            (schema, table),
        )
        return bool(count)

    def append_rows(
        self,
        schema: str,
        table: str,
        columns: Sequence[tuple[str, ColumnType]],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """``rows`` into ``schema.table`` (created where missing), committed together."""
        self._run_ddl([f"create schema if not exists {identifier(schema)}",
                       self.create_table_sql(table, columns, schema)])  # fmt: skip
        marks = ", ".join([self.placeholder] * len(columns))
        sql = f"insert into {qualified(table, schema)} ({column_list(columns)}) values ({marks})"

        def insert() -> None:
            for row in rows:
                self._execute(sql, row)

        self._in_batch(insert)
        self.commit()

    def transact(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
        """Run ``statements`` (SQL with this backend's placeholders, and its parameters) in one transaction,
        committed; the rows the last one returns."""
        if self._batch_open:
            raise RuntimeError("a load batch is open; commit it first")
        rows: list[tuple[Any, ...]] = []

        def run() -> None:
            nonlocal rows
            for sql, params in statements:
                rows = self._execute(sql, params)

        self._in_batch(run)
        self.commit()
        return rows

    def select_rows(
        self, schema: str, table: str, columns: Sequence[tuple[str, ColumnType]], order_by: str
    ) -> list[tuple[Any, ...]]:
        """Every row of ``schema.table`` (none if it does not exist yet), ordered by ``order_by``."""
        if not self.table_exists(schema, table):
            return []
        return self._execute(
            f"select {column_list(columns)} from {qualified(table, schema)} order by {identifier(order_by)}"
        )

    def seen_files(self) -> list[SeenFile]:
        """Every ledger row, oldest first."""
        rows = self._execute(
            f"select file_key, file_size, file_checksum, status, load_id from {qualified(LEDGER_TABLE)} "
            "order by finished_at"
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
            self._commit()

    def _in_batch(self, work: Callable[[], None]) -> None:
        if not self._batch_open:
            self._begin()
            self._batch_open = True
        try:
            work()
        except BaseException:
            self._batch_open = False
            self._rollback_after_failure()
            raise

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._batch_open:  # never commit a batch nobody asked to commit
            self._batch_open = False
            self._rollback_after_failure()
        self.close()

    def _rollback_after_failure(self) -> None:
        """Roll back the batch a failure interrupted. When the failure was the connection itself (the server
        ended it), the server has rolled back already and the rollback's own error would hide the cause."""
        try:
            self._rollback()
        except Exception as error:
            log.warning("rollback failed (%s: %s); the server rolled the batch back when the connection "
                        "ended", type(error).__name__, error)  # fmt: skip

    # -- shared SQL -----------------------------------------------------------------------------------------

    def create_table_sql(
        self,
        table: str,
        columns: Sequence[tuple[str, ColumnType]],
        schema: str = RAW_SCHEMA,
        scales: Mapping[str, int] | None = None,
    ) -> str:
        """``create table if not exists``; ``scales`` names the scale of each decimal column (see
        :func:`~shopwarehouse.load.tables.decimal_scales`)."""
        body = ",\n    ".join(
            f"{identifier(name)} {self.sql_type(name, ctype, scales or {})}" for name, ctype in columns
        )
        return f"create table if not exists {qualified(table, schema)} (\n    {body}\n)"

    def sql_type(self, name: str, ctype: ColumnType, scales: Mapping[str, int]) -> str:
        """The SQL type of column ``name``: a decimal at the scale ``scales`` gives it, which it must."""
        if ctype is not ColumnType.DECIMAL:
            return self.types[ctype]
        if name not in scales:
            raise ValueError(f"decimal column {name!r} has no scale: give it one in scales")
        return self.types[ctype].format(scale=scales[name])

    def _insert_ledger(self, entry: LedgerEntry) -> None:
        marks = ", ".join([self.placeholder] * len(LEDGER_COLUMNS))
        self._execute(
            f"insert into {qualified(LEDGER_TABLE)} ({column_list(LEDGER_COLUMNS)}) values ({marks})",
            entry.values(),
        )
