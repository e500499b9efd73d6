"""Validate one landed file against the source contract, all or nothing.

A file either becomes one contract-typed Arrow table (every contract column, in contract order, values parsed
to their types) that a warehouse backend can bulk-load as it is, or it is rejected with one precise reason:
the file, the line, the column, the offending value and what to do about it. Nothing in between: a file with
one bad value is rejected whole, so it can never be half-loaded.

Line numbers count as a text editor does: in CSV the header is line 1 and the first row line 2 (a quoted
value that spans lines shifts the count); in JSON Lines the first object is line 1; in Parquet, the row.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from shopwarehouse.contract import ENTITIES, FILE_SUFFIXES, Column, ColumnType

ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.DECIMAL: pa.decimal128(18, 2),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.DATE: pa.date32(),
}
FORMAT_HINT = {
    ColumnType.DECIMAL: "a decimal with at most 2 places, e.g. 12.50",
    ColumnType.INTEGER: "a whole number, e.g. 3",
    ColumnType.BOOLEAN: "true or false",
    ColumnType.TIMESTAMP: "ISO-8601 with an offset, e.g. 2024-03-01T14:05:09Z or 2024-03-01T16:05:09+02:00",
}
# Types a Parquet column may have besides text; anything else (a float for money, a timestamp without a
# time zone, a number for a timestamp) is a type change the contract does not allow.
NATIVE_TYPES = {
    ColumnType.STRING: pa.types.is_string,
    ColumnType.DECIMAL: lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t),
    ColumnType.INTEGER: pa.types.is_integer,
    ColumnType.BOOLEAN: pa.types.is_boolean,
    ColumnType.TIMESTAMP: lambda t: pa.types.is_timestamp(t) and t.tz is not None,
}


@dataclass(frozen=True)
class Rejection:
    """Why a file cannot be loaded; ``line``, ``column`` and ``value`` where the problem has a place."""

    key: str
    reason: str
    line: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.key,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                f"line {self.line}" if self.line is not None else "",
                f"column {self.column}" if self.column else "",
                f"value {self.value!r}" if self.value is not None else "",
            )
            if part
        )
        return f"{self.key}: {where + ': ' if where else ''}{self.reason}"


class RejectedFile(Exception):
    def __init__(self, rejection: Rejection) -> None:
        super().__init__(str(rejection))
        self.rejection = rejection


@dataclass(frozen=True)
class ValidFile:
    key: str
    entity: str
    table: pa.Table
    ignored_columns: tuple[str, ...] = field(default=())


def file_format(key: str) -> tuple[str, bool]:
    """``("csv" | "jsonl" | "parquet", gzipped)`` from the file name, or a rejection naming the fix."""
    name = key.rsplit("/", 1)[-1]
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix):
            return suffix.split(".")[1], suffix.endswith(".gz")
    raise RejectedFile(Rejection(
        key,
        f"unsupported file name {name!r}: the contract accepts files ending in {', '.join(FILE_SUFFIXES)}; "
        "rename the file to the ending of its real format",
    ))  # fmt: skip


def check_size(key: str, size: int, max_bytes: int) -> None:
    """Reject a file over the size limit from its listed size, before anything reads it."""
    if size > max_bytes:
        raise RejectedFile(Rejection(
            key, f"file is {size:,} bytes, over the limit of {max_bytes:,}; split the export or "
            "raise SHOPWAREHOUSE_MAX_FILE_BYTES",
        ))  # fmt: skip


def validate(entity: str, key: str, data: bytes) -> ValidFile:
    """The file's rows as a contract-typed table, or :class:`RejectedFile` with the precise reason."""
    fmt, gzipped = file_format(key)
    if gzipped:
        data = _gunzip(key, data)
    if not data.strip():
        raise RejectedFile(Rejection(key, "file is empty: expected a header row and data rows"))
    columns, first_line = _read(entity, fmt, key, data)
    return _typed(entity, key, columns, first_line)


def _gunzip(key: str, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise RejectedFile(Rejection(
            key, f"not a readable gzip stream ({error}): truncated or not gzipped; deliver it again",
        )) from error  # fmt: skip


def _read(entity: str, fmt: str, key: str, data: bytes) -> tuple[dict[str, pa.Array], int]:
    """Every column of the file as read (strings for CSV), keyed by name, and the first data line."""
    if fmt == "parquet":
        try:
            table = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as error:
            raise RejectedFile(Rejection(key, f"not a readable Parquet file ({error})")) from error
        return {name: table.column(name).combine_chunks() for name in table.column_names}, 1
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise RejectedFile(Rejection(
            key, f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; re-export the file as UTF-8",
            line=line,
        )) from error  # fmt: skip
    return (_read_csv(entity, key, data, text), 2) if fmt == "csv" else (_read_jsonl(key, text), 1)


def _read_csv(entity: str, key: str, data: bytes, text: str) -> dict[str, pa.Array]:
    """The file's columns: typed by the contract when every value parses (the fast path, in Arrow's CSV
    reader), else every column as text, for :func:`_typed` to find and name the first bad value."""
    header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])))
    contract = {column.name: ARROW_TYPES[column.type] for column in ENTITIES[entity].columns}
    typed = {name: contract.get(name, pa.string()) for name in header}
    try:
        return _arrow_csv(data, typed)
    except pa.ArrowInvalid:
        pass
    try:
        return _arrow_csv(data, dict.fromkeys(header, pa.string()))
    except pa.ArrowInvalid as error:
        raise RejectedFile(Rejection(
            key, f"not valid comma-separated CSV ({error}); quote values that hold commas or quotes",
        )) from error  # fmt: skip


def _arrow_csv(data: bytes, types: dict[str, pa.DataType]) -> dict[str, pa.Array]:
    options = pa_csv.ConvertOptions(
        column_types=types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["true", "True", "TRUE"],
        false_values=["false", "False", "FALSE"],
    )
    table = pa_csv.read_csv(io.BytesIO(data), convert_options=options)
    return {name: table.column(name).combine_chunks() for name in table.column_names}


def _read_jsonl(key: str, text: str) -> dict[str, pa.Array]:
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise RejectedFile(Rejection(key, f"not valid JSON ({error})", line=number)) from error
        if not isinstance(row, dict):
            raise RejectedFile(Rejection(
                key, f"a JSON Lines row must be an object, found {type(row).__name__}", line=number,
                value=line[:80],
            ))  # fmt: skip
        rows.append(row)
    names = list(dict.fromkeys(name for row in rows for name in row))
    # Every value as text, as in CSV, so one set of parsing rules serves both formats.
    return {
        name: pa.array([_text(row.get(name)) for row in rows], pa.string())
        for name in names
    }  # fmt: skip


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _typed(entity: str, key: str, columns: dict[str, pa.Array], first_line: int) -> ValidFile:
    contract = ENTITIES[entity]
    n_rows = len(next(iter(columns.values()))) if columns else 0
    missing = [c.name for c in contract.columns if c.name not in columns and not c.nullable]
    if missing:
        found = list(columns)
        hint = ""
        if len(found) == 1 and any(sep in found[0] for sep in ";\t|"):
            hint = " (the header looks like it uses another separator than a comma)"
        raise RejectedFile(Rejection(
            key, f"missing required column(s) {', '.join(missing)}; the header has {found}{hint}; "
            f"the contract for {entity} needs {', '.join(contract.required_columns)}",
        ))  # fmt: skip
    if n_rows == 0:
        raise RejectedFile(Rejection(key, "file has a header but no rows; an empty export must not be sent"))
    arrays = []
    for column in contract.columns:
        raw = columns.get(column.name, pa.nulls(n_rows, pa.string()))
        arrays.append(_parse_column(key, column, raw, first_line))
    ignored = tuple(name for name in columns if name not in contract.column_names)
    table = pa.table(arrays, names=list(contract.column_names))
    return ValidFile(key=key, entity=entity, table=table, ignored_columns=ignored)


def _parse_column(key: str, column: Column, raw: pa.Array, first_line: int) -> pa.Array:
    target = ARROW_TYPES[column.type]
    if not (
        pa.types.is_string(raw.type) or pa.types.is_null(raw.type) or NATIVE_TYPES[column.type](raw.type)
    ):
        raise RejectedFile(Rejection(
            key, f"{column.name} has type {raw.type} in the file; the contract needs "
            f"{FORMAT_HINT.get(column.type, 'text')}: fix the exporter's schema", column=column.name,
        ))  # fmt: skip
    try:
        if raw.type == target:
            values = raw
        elif column.type is ColumnType.BOOLEAN and pa.types.is_string(raw.type):
            values = _parse_booleans(raw)
        else:
            values = raw.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
        line, value = _first_unparseable(raw, target, column, first_line)
        raise RejectedFile(Rejection(
            key, f"{column.name} must be {FORMAT_HINT.get(column.type, column.type.value)}"
            f" (type {raw.type} in the file)", line=line, column=column.name, value=value,
        )) from None  # fmt: skip
    if not column.nullable and values.null_count:
        index = pc.index(pc.is_null(values), True).as_py()
        raise RejectedFile(Rejection(
            key, f"{column.name} is required and may not be empty", line=first_line + index,
            column=column.name,
        ))  # fmt: skip
    if column.positive and pc.any(pc.less_equal(values, 0)).as_py():
        index = pc.index(pc.less_equal(values, 0), True).as_py()
        raise RejectedFile(Rejection(
            key, f"{column.name} must be greater than 0", line=first_line + index, column=column.name,
            value=str(values[index].as_py()),
        ))  # fmt: skip
    return values


def _parse_booleans(raw: pa.Array) -> pa.Array:
    lowered = pc.utf8_lower(raw)
    valid = pc.or_kleene(pc.equal(lowered, "true"), pc.equal(lowered, "false"))
    if not pc.all(pc.fill_null(valid, True)).as_py():
        raise ValueError("not a boolean")
    return pc.equal(lowered, "true")


def _first_unparseable(
    raw: pa.Array, target: pa.DataType, column: Column, first_line: int
) -> tuple[int, str]:
    """The line and text of the first value that does not parse (only run once a file is being rejected)."""
    for index, value in enumerate(raw.to_pylist()):
        if value is None:
            continue
        try:
            if column.type is ColumnType.BOOLEAN:
                _parse_booleans(pa.array([value]).cast(pa.string()))
            else:
                pa.array([value]).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError):
            return first_line + index, str(value)
    return first_line, ""
