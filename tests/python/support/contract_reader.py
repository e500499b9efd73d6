"""Reads landed files back and parses every value strictly by the source contract (test helper).

Independent of the generator's own writing code on purpose: the stdlib ``csv`` and ``json`` readers and
plain ``Decimal``/``datetime``/``date`` parsing, so a test built on it checks the files, not the generator's
intent.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from shopwarehouse.landing.contract import ENTITIES, Column, ColumnType

KEY_PATTERN = re.compile(
    r"^raw/(?P<entity>[a-z_]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+?)"
    r"(?P<suffix>\.csv|\.csv\.gz|\.jsonl|\.jsonl\.gz|\.parquet)$"
)
TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Row = dict[str, Any]


def read_file(key: str, data: bytes) -> tuple[list[str], list[Row]]:
    """The header (column names in file order) and the raw rows of one landed file."""
    suffix = KEY_PATTERN.match(key)
    assert suffix, f"{key} does not follow raw/<entity>/date=YYYY-MM-DD/<file>.<ext>"
    ext = suffix["suffix"]
    if ext.endswith(".gz"):
        data = gzip.decompress(data)
    if ext.startswith(".csv"):
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        rows = list(reader)
        return list(reader.fieldnames or []), rows
    if ext.startswith(".jsonl"):
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
        assert all(isinstance(row, dict) for row in rows)
        return list(rows[0]) if rows else [], rows
    table = pq.read_table(io.BytesIO(data))
    return table.column_names, table.to_pylist()


def parse(column: Column, raw: Any) -> Any:
    """The typed value of one raw value; raises AssertionError/ValueError when it breaks the contract."""
    if raw is None or raw == "":
        assert column.nullable, f"{column.name} is required but empty"
        return None
    if column.type is ColumnType.STRING:
        assert isinstance(raw, str)
        if column.length:
            assert len(raw) == column.length, f"{column.name}={raw!r} is not {column.length} long"
        return raw
    if column.type is ColumnType.DECIMAL:
        value = Decimal(str(raw))
        assert value.is_finite(), f"{column.name}={raw!r} is not a number"
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        assert exponent >= -column.scale, f"{column.name}={raw!r} has more than {column.scale} decimal places"
        if column.positive:
            assert value > 0, f"{column.name}={raw!r} is not greater than 0"
        return value
    if column.type is ColumnType.INTEGER:
        assert not isinstance(raw, bool)
        number = int(raw)
        if column.positive:
            assert number > 0, f"{column.name}={raw!r} is not greater than 0"
        return number
    if column.type is ColumnType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        assert raw in ("true", "false"), f"{column.name}={raw!r} is not true/false"
        return raw == "true"
    if column.type is ColumnType.DATE:
        if isinstance(raw, date) and not isinstance(raw, datetime):  # Parquet's DATE
            return raw
        assert isinstance(raw, str), f"{column.name}={raw!r} is not a day"
        assert DATE_TEXT.match(raw), f"{column.name}={raw!r} is not an ISO-8601 day (YYYY-MM-DD)"
        return date.fromisoformat(raw)
    assert column.type is ColumnType.TIMESTAMP, column
    if isinstance(raw, datetime):
        assert raw.tzinfo is not None, f"{column.name}={raw!r} has no time zone"
        return raw
    assert TIMESTAMP_TEXT.match(raw), f"{column.name}={raw!r} is not ISO-8601 with an offset"
    return datetime.fromisoformat(raw)


def parse_row(entity: str, row: Row) -> Row:
    return {column.name: parse(column, row[column.name]) for column in ENTITIES[entity].columns}
