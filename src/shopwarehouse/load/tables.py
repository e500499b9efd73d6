"""What the loaders write in the warehouse's ``raw`` schema: one table per entity, and the load ledger.

Each raw table holds the contract's columns as delivered, plus lineage columns: where each row came from.
The ledger ``raw._load_files`` holds one row per landed file the loaders have seen and what became of it.
Every backend creates the same tables from these definitions, mapping :class:`ColumnType` to its own types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import pyarrow as pa

from shopwarehouse.landing.contract import ARROW_TYPES, ENTITIES, ColumnType

RAW_SCHEMA = "raw"
LEDGER_TABLE = "_load_files"

S, INT, T = ColumnType.STRING, ColumnType.INTEGER, ColumnType.TIMESTAMP

LINEAGE_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("_source_file", S),  # the file's key in the landing zone
    ("_source_row_number", INT),  # the row's place among the file's rows, from 1 (a CSV header is not a row)
    ("_file_checksum", S),  # SHA-256 of the file as delivered
    ("_load_id", S),  # the load run that wrote the row
    ("_loaded_at", T),  # when that run loaded the file, UTC
)

LEDGER_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("load_id", S),
    ("entity", S),
    ("file_key", S),
    ("file_size", INT),
    ("file_checksum", S),
    ("row_count", INT),
    ("status", S),
    ("reason", S),
    ("started_at", T),
    ("finished_at", T),
)


def raw_columns(entity: str) -> tuple[tuple[str, ColumnType], ...]:
    """The columns of ``raw.<entity>``, in table order: the contract's, then the lineage columns."""
    return tuple((column.name, column.type) for column in ENTITIES[entity].columns) + LINEAGE_COLUMNS


def decimal_scales(entity: str) -> dict[str, int]:
    """The scale of each decimal column of ``raw.<entity>``, as the contract sets it: 2 places for money, 8
    for an exchange rate. Every backend declares the column ``decimal(18, <scale>)`` in its own words."""
    return {
        column.name: column.scale for column in ENTITIES[entity].columns if column.type is ColumnType.DECIMAL
    }


class Status(StrEnum):
    """What became of a landed file in a load. The ledger records the first three; the other two are
    outcomes a load reports without writing anything."""

    LOADED = "loaded"
    DUPLICATE = "duplicate"  # the same content as a file loaded before, under another key
    QUARANTINED = "quarantined"
    SKIPPED = "skipped"  # seen before: nothing to do
    VALID = "valid"  # would be loaded (dry run)


@dataclass(frozen=True)
class LedgerEntry:
    load_id: str
    entity: str
    file_key: str
    file_size: int
    file_checksum: str | None  # None for a file rejected unread (over the size limit)
    row_count: int
    status: Status
    reason: str | None
    started_at: datetime
    finished_at: datetime

    def values(self) -> tuple[object, ...]:
        """The row's values in :data:`LEDGER_COLUMNS` order."""
        return tuple(
            str(value) if isinstance(value, Status) else value
            for value in (getattr(self, name) for name, _ in LEDGER_COLUMNS)
        )


def with_lineage(files: Sequence[tuple[pa.Table, LedgerEntry]], first_row: int = 1) -> pa.Table:
    """Validated files of one entity as one table in ``raw.<entity>`` column order: each file's rows with
    the lineage its ledger entry gives them, numbered from ``first_row`` (more than 1 for a part of a file
    after its first). Text every row of a file shares is dictionary-encoded, so a batch holds each value
    once, not once per row."""
    parts = []
    for table, entry in files:
        count = table.num_rows

        def shared(value: object, ctype: ColumnType, count: int = count) -> pa.Array:
            if ctype is ColumnType.STRING:
                return pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, np.int32)), pa.array([value]))
            return pa.repeat(pa.scalar(value, ARROW_TYPES[ctype]), count)

        lineage = {
            "_source_file": shared(entry.file_key, S),
            "_source_row_number": pa.array(np.arange(first_row, first_row + count, dtype=np.int64)),
            "_file_checksum": shared(entry.file_checksum, S),
            "_load_id": shared(entry.load_id, S),
            "_loaded_at": shared(entry.started_at, T),
        }
        for name, _ in LINEAGE_COLUMNS:
            table = table.append_column(name, lineage[name])
        parts.append(table)
    return pa.concat_tables(parts)
