"""Validate one landed file against the source contract, all or nothing.

A file either becomes contract-typed Arrow tables (every contract column, in contract order, values parsed to
their types) that a warehouse backend can bulk-load as they are, or it is rejected with one precise reason:
the file, the line, the column, the offending value and what to do about it. Nothing in between: a file with
one bad value is rejected whole, so it can never be half-loaded.

A file is read as a stream, a part at a time, so its size does not bound what can be checked: a small file's
parts are joined into one table (:func:`validate`), a large one's are checked and let go, then read again
when it is loaded (:func:`validate_parts`).

Line numbers count as a text editor does: in CSV the header is line 1 and the first row line 2 (a quoted
value that spans lines shifts the count); in JSON Lines the first object is line 1; in Parquet, the row.

JSON Lines are read by Arrow's C++ reader (on its threads) a part at a time, and line by line in Python only
where Arrow cannot be trusted to give exactly what the line-by-line reading gives (see :func:`_jsonl_parts`).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import gzip
import io
import re
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from shopwarehouse.landing.contract import ENTITIES, FILE_SUFFIXES, Column, ColumnType, Entity, arrow_type

FORMAT_HINT = {
    ColumnType.STRING: "text",
    ColumnType.DECIMAL: "a decimal with at most {scale} places, e.g. {example}",
    ColumnType.INTEGER: "a whole number, e.g. 3",
    ColumnType.BOOLEAN: "true or false",
    ColumnType.TIMESTAMP: "ISO-8601 with an offset, e.g. 2024-03-01T14:05:09Z or 2024-03-01T16:05:09+02:00",
    ColumnType.DATE: "an ISO-8601 day (YYYY-MM-DD), e.g. 2024-03-01",
}
DECIMAL_EXAMPLES = {2: "12.50", 8: "1.08234517"}
# Types a Parquet column may have besides text; anything else (a float for money, a timestamp without a
# time zone, a number for a timestamp, a timestamp for a day) is a type change the contract does not allow.
NATIVE_TYPES = {
    ColumnType.STRING: pa.types.is_string,
    ColumnType.DECIMAL: lambda t: pa.types.is_decimal(t) or pa.types.is_integer(t),
    ColumnType.INTEGER: pa.types.is_integer,
    ColumnType.BOOLEAN: pa.types.is_boolean,
    ColumnType.TIMESTAMP: lambda t: pa.types.is_timestamp(t) and t.tz is not None,
    ColumnType.DATE: pa.types.is_date32,  # Parquet's DATE
}


def format_hint(column: Column) -> str:
    """What a value of ``column`` must look like, for a rejection's reason."""
    hint = FORMAT_HINT[column.type]
    if column.type is ColumnType.DECIMAL:
        scale = column.scale
        example = DECIMAL_EXAMPLES.get(scale) or (f"12.{'5'.ljust(scale, '0')}" if scale else "12")
        hint = hint.format(scale=scale, example=example)
    return hint


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
    """A validated file, or one part of it (see :func:`validate_parts`)."""

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


def validate(entity: str, key: str, stream: BinaryIO) -> ValidFile:
    """The whole file as one contract-typed table, or :class:`RejectedFile` with the precise reason."""
    parts = list(validate_parts(entity, key, stream))
    return ValidFile(
        key=key,
        entity=entity,
        table=pa.concat_tables(part.table for part in parts),
        ignored_columns=tuple(dict.fromkeys(name for part in parts for name in part.ignored_columns)),
    )


def validate_parts(entity: str, key: str, stream: BinaryIO) -> Iterator[ValidFile]:
    """The file read from ``stream`` a part (about :data:`PART_BYTES` of text, or :data:`PARQUET_PART_ROWS`
    Parquet rows) at a time, each part validated and typed as it is read, so a file of any size is checked
    in bounded memory. :class:`RejectedFile` comes at the first bad value, after the parts before it: a
    caller that loads parts as they come must be able to undo them."""
    fmt, gzipped = file_format(key)
    if gzipped:
        stream = io.BufferedReader(_Gunzipped(key, stream), buffer_size=PART_BYTES)
    jsonl = functools.partial(_jsonl_parts, ENTITIES[entity])
    readers: dict[str, Callable[[str, BinaryIO], Iterator[tuple[Columns, int]]]] = {
        "csv": _csv_parts, "jsonl": jsonl, "parquet": _parquet_parts,
    }  # fmt: skip
    reader = readers[fmt]
    rows = 0
    for columns, first_line in reader(key, stream):
        part = _typed(entity, key, columns, first_line)
        rows += part.table.num_rows
        yield part
    if not rows:
        raise RejectedFile(Rejection(key, "file has a header but no rows; an empty export must not be sent"))


PART_BYTES = 4 << 20
"""Text read and validated at a time: Arrow's CSV reader turns it into a part of some tens of thousands of
rows, and reads a few parts ahead on its threads."""
PARQUET_PART_ROWS = 65_536
LINE_BYTES = 1 << 20
"""The longest CSV header or JSON line read: a file with none of its line ends is not read whole."""
EMPTY = "file is empty: expected a header row and data rows"

Columns = dict[str, pa.Array]
"""A part of a file as read, before typing: its columns by name (text for CSV and JSON Lines, the file's own
types for Parquet)."""


class _Gunzipped(io.RawIOBase):
    """A gzip stream's content; a damaged stream is a rejection, found where the damage is."""

    def __init__(self, key: str, stream: BinaryIO) -> None:
        self.key = key
        self.gzip = gzip.GzipFile(fileobj=stream, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return self.gzip.readinto(buffer)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise RejectedFile(Rejection(
                self.key, f"not a readable gzip stream ({error}): truncated or not gzipped; deliver it again",
            )) from error  # fmt: skip


def _csv_parts(key: str, stream: BinaryIO) -> Iterator[tuple[Columns, int]]:
    """The rows after the header, a block at a time, every column as text (checked to be UTF-8): what does
    not parse as its contract type is found, by line, in :func:`_typed`."""
    line, header_line = 0, b""
    while not header_line.strip():
        header_line = stream.readline(LINE_BYTES)
        line += 1
        if not header_line:
            raise RejectedFile(Rejection(key, EMPTY))
    try:
        if len(header_line) == LINE_BYTES and not header_line.endswith(b"\n"):
            raise csv.Error(f"no line end in its first {LINE_BYTES:,} bytes")
        header = next(csv.reader([_utf8(key, header_line.removeprefix(codecs.BOM_UTF8), line)]))
    except csv.Error as error:
        raise RejectedFile(Rejection(
            key, f"the header is not a CSV line ({error}); check that the file is the CSV export", line=line,
        )) from error  # fmt: skip
    first_line = line + 1
    try:
        batches = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=header, block_size=PART_BYTES),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.binary()),
                # Only an empty field is null: "NA" is Namibia, "NULL" someone's name, not missing values.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        batch = batches.read_next_batch()
    except (StopIteration, pa.ArrowInvalid) as error:
        if isinstance(error, pa.ArrowInvalid) and not str(error).startswith("Empty CSV file"):
            raise _not_csv(key, error) from error
        yield {name: pa.array([], pa.string()) for name in header}, first_line  # a header and no rows
        return
    while True:
        yield {name: _text_column(key, batch.column(name), first_line) for name in header}, first_line
        first_line += batch.num_rows
        try:
            batch = batches.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise _not_csv(key, error) from error


def _not_csv(key: str, error: pa.ArrowInvalid) -> RejectedFile:
    return RejectedFile(Rejection(
        key, f"not valid comma-separated CSV ({error}); quote values that hold commas or quotes",
    ))  # fmt: skip


def _utf8(key: str, data: bytes, line: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RejectedFile(Rejection(
            key, f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded; re-export the file as UTF-8",
            line=line,
        )) from error  # fmt: skip


def _text_column(key: str, column: pa.Array, first_line: int) -> pa.Array:
    """A column read as bytes, as text: UTF-8 is checked for the whole column at once, and only when that
    fails is it decoded value by value, to name the line."""
    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        for index, value in enumerate(column.to_pylist()):
            if value is not None:
                _utf8(key, value, first_line + index)
        raise


def _jsonl_parts(contract: Entity, key: str, stream: BinaryIO) -> Iterator[tuple[Columns, int]]:
    """The objects, a part at a time, every value as text (as :func:`_text` renders it), the part cut after
    the first line that brings its non-blank lines to :data:`PART_BYTES`.

    Each part is first given to Arrow's JSON reader (:func:`_arrow_jsonl`), which reads it on its threads
    when it can vouch for the result: every value exactly the text the line-by-line reading gives. Where it
    cannot (a blank line, a number with a fraction, bad JSON, bytes that are not UTF-8, a line too long, a
    read that failed), the same part is read line by line (:func:`_exact_jsonl`), which gives today's
    rejection with its line. The parts, their first lines and their values are the same either way."""
    source = _Buffered(stream)
    first_line, number, misses = 1, 0, 0
    kinds: dict[str, pa.DataType] = {}  # the JSON kind each column was last found to hold, kept for the file
    while True:
        if misses < ARROW_MISSES:
            block = source.lines(PART_BYTES, LINE_BYTES)
            if block is not None and not len(block):
                break
            read = None if block is None else _arrow_jsonl(contract, block, kinds)
            if block is not None and read is not None:
                columns, lines = read
                source.skip(len(block))
                number += lines
                misses = 0
                yield columns, first_line
                first_line += lines
                continue
            misses += 1
        rows, number, ended = _exact_jsonl(key, source, number)
        if rows:
            yield _jsonl_columns(rows), first_line
            first_line += len(rows)
        if ended:
            break
    if first_line == 1:
        raise RejectedFile(Rejection(key, EMPTY))


ARROW_MISSES = 2
"""Parts in a row that Arrow's reader could not vouch for, after which the rest of the file is read line by
line without asking it (a file with, say, a decimal number in every row would otherwise be parsed twice)."""
ARROW_BLOCK_BYTES = 2 * LINE_BYTES
"""The text of a part that each of Arrow's threads parses: a line of up to :data:`LINE_BYTES` fits whole."""
ARROW_THREADS = True
"""Whether Arrow parses the blocks of a part on its threads (or on the calling one)."""
ARROW_TRIES = 4
"""Schemas tried on one part, each with the JSON kind of a column that the one before got wrong."""
_ARROW_KINDS = {"string": pa.string(), "number": pa.int64(), "boolean": pa.bool_()}
"""The Arrow type read for each JSON kind a column may hold: text, or a value whose text Arrow renders as
:func:`_text` does (a whole number in int64's range; a boolean as ``true``/``false``)."""
_KIND_CHANGED = re.compile(r"Column\(/([^/)]*)\) changed from \w+ to (\w+)")
_NATURAL_KINDS = {ColumnType.INTEGER: pa.int64(), ColumnType.BOOLEAN: pa.bool_()}
_EXTRA_DEPTH = 64
"""Nesting of a value outside the contract that Arrow is trusted with (orjson refuses 1,024 levels)."""


def _exact_jsonl(key: str, source: _Buffered, number: int) -> tuple[list[dict[str, Any]], int, bool]:
    """One part read line by line: its objects, the number of the last line read and whether the stream
    ended. The reference reading: exact, and the rejection of a bad line names it."""
    rows: list[dict[str, Any]] = []
    size = 0
    while size < PART_BYTES:
        line = source.readline(LINE_BYTES)
        if not line:
            return rows, number, True
        number += 1
        if not line.strip():
            continue
        if len(line) == LINE_BYTES and not line.endswith(b"\n"):
            raise RejectedFile(Rejection(
                key, f"no line end in {LINE_BYTES:,} bytes: not JSON Lines (one object a line)", line=number,
            ))  # fmt: skip
        text = _utf8(key, line, number)
        try:
            row = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            raise RejectedFile(Rejection(key, f"not valid JSON ({error})", line=number)) from error
        if not isinstance(row, dict):
            raise RejectedFile(Rejection(
                key, f"a JSON Lines row must be an object, found {type(row).__name__}", line=number,
                value=text.strip()[:80],
            ))  # fmt: skip
        rows.append(row)
        size += len(line)
    return rows, number, False


def _arrow_jsonl(
    contract: Entity, block: memoryview, kinds: dict[str, pa.DataType]
) -> tuple[Columns, int] | None:
    """``block`` (whole lines) read by Arrow: its columns and its number of lines, or ``None`` unless the
    values are certainly those :func:`_exact_jsonl` would give, i.e. unless:

    - every line (see :func:`_object_lines`) is one object and the block is UTF-8;
    - Arrow parses every line, with the contract's columns read as the JSON kind they hold (Arrow refuses a
      key given twice, a control character in a string, a lone surrogate; a column mixing kinds, an object
      or a fractional number in a contract column is not tried);
    - a column outside the contract (only its name is used) holds no number Arrow reads as a float (NaN and
      Infinity, which orjson refuses, among them) and is nested less than :data:`_EXTRA_DEPTH` deep;
    - no column the contract requires is empty throughout (absent and all null look alike in Arrow: the
      line-by-line reading tells a missing column from an empty one)."""
    text = np.frombuffer(block, np.uint8)
    lines = _object_lines(text)
    if not lines:
        return None
    if text.max() >= 0x80:  # not ASCII: UTF-8?
        try:
            str(block, "utf-8")
        except UnicodeDecodeError:
            return None
    table = _arrow_table(contract, block, kinds, ARROW_BLOCK_BYTES)
    if table is None or table.num_rows != lines:
        return None
    names = set(contract.column_names)
    extras = [name for name in table.column_names if name not in names]
    if not all(_trusted_extra(table.schema.field(name).type) for name in extras):
        return None
    if len(extras) > 1 and len(block) > ARROW_BLOCK_BYTES:
        # Parsed in blocks, columns new to several blocks are not in the order they first appear: one block.
        table = _arrow_table(contract, block, kinds, len(block) + 1)
        if table is None:
            return None
        extras = [name for name in table.column_names if name not in names]
    columns: Columns = {}
    required = set(contract.required_columns)
    for column in contract.columns:
        values = _array(table.column(column.name))
        if column.name in required and values.null_count == len(values):
            return None
        columns[column.name] = values if pa.types.is_string(values.type) else values.cast(pa.string())
    for name in extras:
        columns[name] = _array(table.column(name))
    return columns, lines


def _arrow_table(
    contract: Entity, block: memoryview, kinds: dict[str, pa.DataType], block_size: int
) -> pa.Table | None:
    """The block parsed by Arrow, each contract column as the kind it holds (learnt by trying, kept in
    ``kinds`` for the file's next parts); ``None`` if Arrow cannot parse it."""
    read_options = pa_json.ReadOptions(use_threads=ARROW_THREADS, block_size=block_size)
    for _ in range(ARROW_TRIES):
        schema = pa.schema([
            (column.name, kinds.get(column.name) or _NATURAL_KINDS.get(column.type, pa.string()))
            for column in contract.columns
        ])  # fmt: skip
        parse_options = pa_json.ParseOptions(
            explicit_schema=schema, newlines_in_values=False, unexpected_field_behavior="infer"
        )
        try:
            return pa_json.read_json(pa.BufferReader(block), read_options, parse_options)
        except pa.ArrowException as error:
            changed = _KIND_CHANGED.search(str(error))
            if not changed or changed[1] not in schema.names or changed[2] not in _ARROW_KINDS:
                return None
            kinds[changed[1]] = _ARROW_KINDS[changed[2]]
    return None


def _array(column: pa.ChunkedArray) -> pa.Array:
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _trusted_extra(kind: pa.DataType, depth: int = 0) -> bool:
    """Whether Arrow's reading of a column outside the contract is one orjson would accept too."""
    if depth >= _EXTRA_DEPTH:
        return False
    if pa.types.is_struct(kind):
        return all(_trusted_extra(kind.field(i).type, depth + 1) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _trusted_extra(kind.value_type, depth + 1)
    return bool(
        pa.types.is_null(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_int64(kind)
        or pa.types.is_string(kind)
        or pa.types.is_timestamp(kind)  # text that Arrow took for a time
    )


def _object_lines(text: np.ndarray) -> int:
    """The number of lines of ``text`` if each starts with ``{``, ends with ``}`` (before its line end, be it
    CRLF) and is shorter than :data:`LINE_BYTES`; else 0. Then no value can run from one line into the
    next (within a value, ``}`` is never followed by ``{``), so a block that Arrow reads as that many rows
    holds one object a line, and no blank line."""
    ends = np.flatnonzero(text == _NEWLINE)
    if len(text) and text[-1] != _NEWLINE:  # a last line without its line end
        ends = np.append(ends, len(text))
    if not len(ends) or text[0] != _OPEN:
        return 0
    if not (text[ends[:-1] + 1] == _OPEN).all():
        return 0
    before = text[ends - 1]  # the last byte of each line; a CR, the one before
    crlf = before == _CR
    if crlf.any():
        before[crlf] = text[ends[crlf] - 2]
    if not (before == _CLOSE).all() or np.diff(ends, prepend=-1).max() >= LINE_BYTES:
        return 0
    return len(ends)


_NEWLINE, _CR, _OPEN, _CLOSE = b"\n"[0], b"\r"[0], b"{"[0], b"}"[0]


class _Buffered:
    """A stream read ahead into one reused buffer, given as lines (``readline``, as
    :class:`io.BufferedReader` gives them) or as runs of whole lines (:meth:`lines`, a view of the buffer,
    valid until the next read). A read that fails (a damaged gzip stream) is held until the lines read
    before it are used up, then raised where the reading needs more."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.start = self.end = 0  # what is held: buffer[start:end]
        self.ended = False
        self.error: RejectedFile | None = None

    def _fill(self, size: int) -> None:
        """Read until ``size`` bytes are held, or the stream ends. Reading into the same buffer part after
        part spares the allocation (and the page faults) of each part's text."""
        if self.end - self.start >= size or self.ended:
            return
        if self.start + size > len(self.buffer):  # no room after what is held: move it to the front
            held = bytes(memoryview(self.buffer)[self.start : self.end])
            if size > len(self.buffer):  # a new buffer: a view of the old one keeps that alive
                self.buffer = bytearray(2 * max(size, len(self.buffer)))
            self.buffer[: len(held)] = held
            self.start, self.end = 0, len(held)
        with memoryview(self.buffer) as view:
            while self.end - self.start < size and not self.ended:
                try:
                    count = _read_into(self.stream, view[self.end :])
                except RejectedFile as error:
                    self.error, count = error, 0
                if not count:
                    self.ended = True
                self.end += count

    def readline(self, limit: int) -> bytes:
        """The next line with its line end, or its first ``limit`` bytes; ``b""`` at the end."""
        while True:
            end = self.buffer.find(b"\n", self.start, min(self.start + limit, self.end))
            held = self.end - self.start
            if end >= 0 or held >= limit or self.ended:
                if end < 0 and held < limit and self.error:
                    raise self.error
                size = end + 1 - self.start if end >= 0 else min(held, limit)
                line = bytes(memoryview(self.buffer)[self.start : self.start + size])
                self.start += size
                return line
            self._fill(held + 1)

    def lines(self, size: int, limit: int) -> memoryview | None:
        """The lines from the position to the first line end at or after ``size`` bytes, or to the end of the
        stream (not consumed: see :meth:`skip`), empty at the end; ``None`` if no line end comes within
        ``limit`` bytes more, or a read failed before it."""
        self._fill(size + limit)
        end = self.buffer.find(b"\n", self.start + size - 1, self.end)
        if end < 0:
            if not self.ended or self.error:
                return None
            end = self.end - 1
        return memoryview(self.buffer)[self.start : end + 1]

    def skip(self, size: int) -> None:
        self.start += size


def _read_into(stream: BinaryIO, room: memoryview) -> int:
    """Read into ``room`` what the stream has, up to its size; 0 at the end."""
    read_into = getattr(stream, "readinto", None)
    if read_into is not None:
        return int(read_into(room) or 0)
    data = stream.read(len(room))
    room[: len(data)] = data
    return len(data)


def _jsonl_columns(rows: list[dict[str, Any]]) -> Columns:
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


def _parquet_parts(key: str, stream: BinaryIO) -> Iterator[tuple[Columns, int]]:
    """Row groups need random access: a stream that cannot seek (S3's) is first spooled to a temporary
    file, so a large Parquet file takes disk, not memory."""
    with contextlib.ExitStack() as stack:
        if not stream.seekable():
            spool = stack.enter_context(tempfile.TemporaryFile(prefix="shopwarehouse-"))
            shutil.copyfileobj(stream, spool, PART_BYTES)
            stream = spool
        if stream.seek(0, io.SEEK_END) == 0:
            raise RejectedFile(Rejection(key, EMPTY))
        stream.seek(0)
        first_line = 1
        try:
            parquet = pq.ParquetFile(stream)
            batches = parquet.iter_batches(batch_size=PARQUET_PART_ROWS)
            if parquet.metadata.num_rows == 0:
                yield {field.name: pa.array([], field.type) for field in parquet.schema_arrow}, first_line
            for batch in batches:
                yield {name: batch.column(name) for name in batch.schema.names}, first_line
                first_line += batch.num_rows
        except (pa.ArrowInvalid, OSError) as error:
            raise RejectedFile(Rejection(key, f"not a readable Parquet file ({error})")) from error


def _typed(entity: str, key: str, columns: Columns, first_line: int) -> ValidFile:
    contract = ENTITIES[entity]
    n_rows = len(next(iter(columns.values()))) if columns else 0
    missing = [name for name in contract.required_columns if name not in columns]
    if missing:
        found = list(columns)
        hint = ""
        if len(found) == 1 and any(sep in found[0] for sep in ";\t|"):
            hint = " (the header looks like it uses another separator than a comma)"
        raise RejectedFile(Rejection(
            key, f"missing required column(s) {', '.join(missing)}; the header has {found}{hint}; "
            f"the contract for {entity} needs {', '.join(contract.required_columns)}",
        ))  # fmt: skip
    arrays = []
    for column in contract.columns:
        raw = columns.get(column.name, pa.nulls(n_rows, pa.string()))
        arrays.append(_parse_column(key, column, raw, first_line))
    ignored = tuple(name for name in columns if name not in contract.column_names)
    table = pa.table(arrays, names=list(contract.column_names))
    return ValidFile(key=key, entity=entity, table=table, ignored_columns=ignored)


def _parse_column(key: str, column: Column, raw: pa.Array, first_line: int) -> pa.Array:
    target = arrow_type(column)
    if not (
        pa.types.is_string(raw.type) or pa.types.is_null(raw.type) or NATIVE_TYPES[column.type](raw.type)
    ):
        raise RejectedFile(Rejection(
            key, f"{column.name} has type {raw.type} in the file; the contract needs "
            f"{format_hint(column)}: fix the exporter's schema", column=column.name,
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
            key, f"{column.name} must be {format_hint(column)}"
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
            value=_shown(raw[index].as_py()),
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
            return first_line + index, _shown(value)
    return first_line, ""


def _shown(value: Any) -> str:
    """A value for a rejection as the file holds it: text as delivered, a Parquet decimal without an
    exponent (``0.00000000``, not ``0E-8``)."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)
