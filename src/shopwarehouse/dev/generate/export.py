"""Turn the simulation's columns into contract files: CSV, JSON Lines or Parquet, optionally gzipped.

Everything here is deterministic: the same rows give the same bytes (gzip headers carry no time or name).
JSON Lines are written column by column with Arrow's string kernels (:func:`json_lines`), the same bytes
``orjson`` writes row by row, many times faster: the clickstream is millions of rows a day.
"""

from __future__ import annotations

import functools
import io
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from shopwarehouse.dev.generate import catalog, clickstream
from shopwarehouse.dev.generate.simulation import CURRENCIES, ZONE_MINUTES, ZONES, Columns
from shopwarehouse.landing.contract import (
    DEVICES,
    ENTITIES,
    EVENT_TYPES,
    ORDER_STATUSES,
    PAYMENT_STATUSES,
    ColumnType,
)

FORMATS = ("csv", "jsonl", "parquet")
MONEY = pa.decimal128(12, 2)
RATE = pa.decimal128(18, 8)  # an exchange rate: 8 places
TIMESTAMP = pa.timestamp("s", tz="UTC")
ID_FORMATS = {  # prefix and digits of each entity's keys
    "customers": ("cus_", 8),
    "products": ("prd_", 5),
    "orders": ("ord_", 9),
    "order_items": ("itm_", 10),
    "payments": ("pay_", 9),
    "reviews": ("rev_", 9),
}
GZIP_LEVEL = 6
EVENTS_GZIP_LEVEL = 3  # the clickstream: the fastest level on its lines (it finds longer matches than 1 or 2)
JSON_LINES_BATCH = 65_536  # rows encoded at a time: bounded memory, and far from Arrow's 2 GB per array
EVENT_JSON_BATCH = 16_384  # the clickstream's: its temporary arrays stay in the processor's caches


def file_suffix(file_format: str, gzipped: bool) -> str:
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; use one of {FORMATS}")
    return f".{file_format}.gz" if gzipped and file_format != "parquet" else f".{file_format}"


# -- columns to Arrow --------------------------------------------------------------------------------------


def ids(entity: str, numbers: np.ndarray) -> pa.Array:
    """Keys as the shop writes them (``ord_000000042``); a negative number (in a nullable column) is null."""
    prefix, digits = ID_FORMATS[entity]
    numbers = np.asarray(numbers, np.int64)
    null = numbers < 0
    if len(numbers) and numbers.max() >= 10**digits:  # wider than the format: written in full
        array = pa.array(numbers, pa.int64(), mask=null if null.any() else None)
        text = pc.utf8_lpad(pc.cast(array, pa.string()), digits, "0")
        return pc.binary_join_element_wise(prefix, text, "")
    return _fixed_width(prefix, decimal_digits(numbers, digits), null)


# Two characters at a time, as 16-bit words in memory order: "07" for 7, "af" for 0xaf.
_PAIRS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint16)
_HEX_PAIRS = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), np.uint16)


def decimal_digits(numbers: np.ndarray, digits: int) -> np.ndarray:
    """Each number (0 or more, below 10**digits) as ``digits`` ASCII digits with leading zeros: one row of
    bytes per number."""
    pairs = (digits + 1) // 2
    powers = 100 ** np.arange(pairs - 1, -1, -1, dtype=np.int64)
    text: np.ndarray = _PAIRS[np.maximum(numbers, 0)[:, None] // powers % 100].view(np.uint8)
    return text[:, 2 * pairs - digits :]


def hex_ids(prefix: str, keys: np.ndarray) -> pa.Array:
    """``prefix`` and 16 lowercase hexadecimal digits of each 64-bit key (``anon_00f3c1...``)."""
    return _fixed_width(prefix, hex_digits(keys), np.zeros(len(keys), bool))


def event_ids(device_keys: np.ndarray, numbers: np.ndarray) -> pa.Array:
    """``evt_<the device's 16 hex digits>_<the event's number on it, 8 hex digits>``: unique, as the tracker
    numbers each device's events (and the same device key appears again in the line: gzip's cheap)."""
    text = np.empty((len(numbers), 25), np.uint8)
    text[:, :16] = hex_digits(device_keys)
    text[:, 16] = ord("_")
    text[:, 17:] = hex_digits(numbers)[:, 8:]
    return _fixed_width("evt_", text, np.zeros(len(numbers), bool))


def hex_digits(keys: np.ndarray) -> np.ndarray:
    """Each 64-bit key as 16 lowercase hexadecimal digits, one row of bytes per key."""
    big_endian = keys.astype(">u8").view(np.uint8).reshape(len(keys), 8)
    return _HEX_PAIRS[big_endian].view(np.uint8)


def _fixed_width(prefix: str, text: np.ndarray, null: np.ndarray) -> pa.Array:
    """A string array of ``prefix`` followed by each row of ``text`` (bytes, one row per value)."""
    n, width = text.shape
    head = np.frombuffer(prefix.encode(), np.uint8)
    if len(head):
        data = np.empty((n, len(head) + width), np.uint8)
        data[:, : len(head)] = head
        data[:, len(head) :] = text
    else:
        data = np.ascontiguousarray(text)
    offsets = np.arange(0, (n + 1) * data.shape[1], data.shape[1], dtype=np.int32)
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=int(null.sum())
    )


def money(cents: np.ndarray) -> pa.Array:
    """Exact decimals from integer cents; -1 (in a nullable column) is null. Amounts are never negative."""
    return decimals(cents, MONEY)


def decimals(units: np.ndarray, dtype: pa.Decimal128Type) -> pa.Array:
    """Exact decimals of type ``dtype`` from integer units of its last place (cents for money); -1 (in a
    nullable column) is null."""
    units = units.astype(np.int64)
    null = units < 0
    # decimal128 holds the unscaled integer in 128 bits, little-endian: the units, then a zero high word.
    words = np.column_stack([units, np.zeros_like(units)]).ravel()
    validity = pa.array(~null).buffers()[1] if null.any() else None
    return pa.Array.from_buffers(dtype, len(units), [validity, pa.py_buffer(words.tobytes())])


def days(numbers: np.ndarray) -> pa.Array:
    """Dates from days since the epoch."""
    return pa.array(numbers.astype(np.int32), pa.int32()).cast(pa.date32())


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Strings for integer codes into ``values``; a negative code is null."""
    codes = codes.astype(np.int64)
    return pa.array(values).take(pa.array(codes, mask=codes < 0))


def booleans(codes: np.ndarray) -> pa.Array:
    """1 -> true, 0 -> false, -1 -> null."""
    codes = codes.astype(np.int64)
    return pa.array(codes == 1, mask=codes < 0)


def timestamps(seconds: np.ndarray, nullable: bool = False) -> pa.Array:
    """Times from seconds since the epoch; if ``nullable``, a negative time is null."""
    seconds = seconds.astype(np.int64)
    null = seconds < 0 if nullable else None
    return pa.array(seconds, pa.int64(), mask=null).cast(TIMESTAMP)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_EMAIL_FIRST = [_ascii(name) for name in catalog.FIRST_NAMES]
_EMAIL_LAST = [_ascii(name) for name in catalog.LAST_NAMES]


def _email(first: int, last: int, number: int, domain: int, style: int) -> str | None:
    address = f"{_EMAIL_FIRST[first]}.{_EMAIL_LAST[last]}{number % 997}@{catalog.EMAIL_DOMAINS[domain]}"
    if style == 1:  # typed with capitals
        return address.capitalize()
    if style == 2:  # pasted with spaces around it
        return f" {address} "
    return None if style == 3 else address


def _postal(pattern: str, seed: int) -> str:
    out = []
    for ch in pattern:
        if ch == "9":
            seed, digit = divmod(seed, 10)
            out.append(str(digit))
        elif ch == "A":
            seed, letter = divmod(seed, 26)
            out.append(chr(65 + letter))
        else:
            out.append(ch)
    return "".join(out)


def _customers(rows: Columns) -> dict[str, pa.Array]:
    market = rows["market"].tolist()
    first, last = rows["first_name"].tolist(), rows["last_name"].tolist()
    numbers = rows["customer_id"].tolist()
    emails = [
        _email(f, la, n, d, s)
        for f, la, n, d, s in zip(
            first,
            last,
            numbers,
            rows["email_domain"].tolist(),
            rows["email_style"].tolist(),
            strict=True,
        )
    ]
    markets = [catalog.MARKETS[m] for m in market]
    phones = [
        None if p < 0 else f"{m.phone_prefix} {p}"
        for m, p in zip(markets, rows["phone"].tolist(), strict=True)
    ]
    cities = [m.cities[c] for m, c in zip(markets, rows["city"].tolist(), strict=True)]
    postals = [_postal(m.postal_format, p) for m, p in zip(markets, rows["postal"].tolist(), strict=True)]
    return {
        "customer_id": ids("customers", rows["customer_id"]),
        "email": pa.array(emails, pa.string()),
        "first_name": pa.array([catalog.FIRST_NAMES[i] for i in first], pa.string()),
        "last_name": pa.array([catalog.LAST_NAMES[i] for i in last], pa.string()),
        "phone": pa.array(phones, pa.string()),
        "country_code": pa.array([m.country_code for m in markets], pa.string()),
        "city": pa.array(cities, pa.string()),
        "postal_code": pa.array(postals, pa.string()),
        "marketing_opt_in": booleans(rows["marketing_opt_in"]),
        "created_at": timestamps(rows["created_at"]),
        "updated_at": timestamps(rows["updated_at"]),
        "is_deleted": booleans(rows["is_deleted"]),
    }


_CATEGORY_NAMES = tuple(catalog.CATEGORIES)


def _products(rows: Columns) -> dict[str, pa.Array]:
    category = rows["category"].tolist()
    nouns = [catalog.CATEGORIES[name][2] for name in _CATEGORY_NAMES]
    names = [
        f"{catalog.ADJECTIVES[a]} {nouns[c][n % len(nouns[c])]}"
        for a, c, n in zip(rows["adjective"].tolist(), category, rows["noun"].tolist(), strict=True)
    ]
    skus = [
        f"{_CATEGORY_NAMES[c][:3].upper()}-{p:05d}"
        for c, p in zip(category, rows["product_id"].tolist(), strict=True)
    ]
    # A few products were never categorised in the shop's back office.
    uncategorised = rows["product_id"] % 53 == 0
    return {
        "product_id": ids("products", rows["product_id"]),
        "sku": pa.array(skus, pa.string()),
        "product_name": pa.array(names, pa.string()),
        "category": labels(_CATEGORY_NAMES, np.where(uncategorised, -1, rows["category"])),
        "unit_price": money(rows["unit_price"]),
        "currency": pa.array(["USD"] * len(category), pa.string()),
        "is_active": pa.array(rows["is_active"].astype(bool)),
        "created_at": timestamps(rows["created_at"]),
        "updated_at": timestamps(rows["updated_at"]),
    }


def _orders(rows: Columns) -> dict[str, pa.Array]:
    return {
        "order_id": ids("orders", rows["order_id"]),
        "customer_id": ids("customers", rows["customer_id"]),
        "order_status": labels(ORDER_STATUSES, rows["order_status"]),
        "channel": labels(catalog.CHANNELS, rows["channel"]),
        "currency": labels(CURRENCIES, rows["currency"]),
        **{
            name: money(rows[name])
            for name in (
                "subtotal_amount",
                "discount_amount",
                "shipping_amount",
                "tax_amount",
                "total_amount",
            )
        },
        "ordered_at": timestamps(rows["ordered_at"]),
        "updated_at": timestamps(rows["updated_at"]),
    }


def _order_items(rows: Columns) -> dict[str, pa.Array]:
    return {
        "order_item_id": ids("order_items", rows["order_item_id"]),
        "order_id": ids("orders", rows["order_id"]),
        "product_id": ids("products", rows["product_id"]),
        "quantity": pa.array(rows["quantity"], pa.int64()),
        "unit_price": money(rows["unit_price"]),
        "discount_amount": money(rows["discount_amount"]),
        "updated_at": timestamps(rows["updated_at"]),
    }


def _payments(rows: Columns) -> dict[str, pa.Array]:
    return {
        "payment_id": ids("payments", rows["payment_id"]),
        "order_id": ids("orders", rows["order_id"]),
        "payment_method": labels(catalog.PAYMENT_METHODS, rows["payment_method"]),
        "payment_status": labels(PAYMENT_STATUSES, rows["payment_status"]),
        "amount": money(rows["amount"]),
        "refunded_amount": money(rows["refunded_amount"]),
        "currency": labels(CURRENCIES, rows["currency"]),
        "failure_reason": labels(catalog.FAILURE_REASONS, rows["failure_reason"]),
        "created_at": timestamps(rows["created_at"]),
        "updated_at": timestamps(rows["updated_at"]),
    }


def _fx_rates(rows: Columns) -> dict[str, pa.Array]:
    return {
        "currency": labels(CURRENCIES, rows["currency"]),
        "rate_date": days(rows["rate_date"]),
        "usd_per_unit": decimals(rows["usd_per_unit"], RATE),
        "updated_at": timestamps(rows["updated_at"]),
    }


_COUNTRIES = tuple(m.country_code for m in catalog.MARKETS)


def _events(rows: Columns) -> dict[str, pa.Array]:
    codes = clickstream.unpack(rows)
    page, event_type, source = codes["page"], codes["event_type"], codes["source"]
    product_page = page == clickstream.PRODUCT_PAGE
    page_path = labels(clickstream.PAGE_PATHS, np.where(product_page, -1, page))
    if product_page.any():
        product_path = pc.binary_join_element_wise("/p/", ids("products", rows["product"] + 1), "")
        page_path = pc.if_else(pa.array(product_page), product_path, page_path)
    carted = (event_type >= clickstream.PRODUCT_VIEW) & (event_type <= clickstream.REMOVE_FROM_CART)
    return {
        "event_id": event_ids(rows["device_key"], rows["number"]),
        "anonymous_id": hex_ids("anon_", rows["device_key"]),
        "customer_id": ids("customers", np.where(rows["customer"] < 0, -1, rows["customer"] + 1)),
        "event_type": labels(EVENT_TYPES, event_type),
        "occurred_at": timestamps(rows["occurred_at"]),
        "page_path": page_path,
        "referrer": labels(clickstream.REFERRERS, codes["referrer"]),
        "product_id": ids("products", np.where(carted, rows["product"] + 1, -1)),
        "order_id": ids("orders", rows["order"]),
        "utm_source": labels(clickstream.UTM_SOURCES, source),
        "utm_medium": labels(
            clickstream.UTM_MEDIUMS,
            np.where(source < 0, -1, clickstream.CAMPAIGN_MEDIUM[np.maximum(source, 0)]),
        ),
        "utm_campaign": labels(catalog.CAMPAIGNS, codes["campaign"]),
        "device": labels(DEVICES, codes["device"]),
        "country": labels(_COUNTRIES, codes["country"]),
        "user_agent": labels(clickstream.USER_AGENTS, codes["agent"]),
    }


_TITLES = tuple(title for titles in catalog.REVIEW_TITLES for title in titles)
_BODIES = tuple(body for bodies in catalog.REVIEW_BODIES for body in bodies)


def _reviews(rows: Columns) -> dict[str, pa.Array]:
    bodies = [
        None
        if body < 0
        else _BODIES[body]
        + (catalog.REVIEW_UPDATES[update] if update >= 0 else "")
        + (f" \u2014 {catalog.FIRST_NAMES[name]}" if name >= 0 else "")
        for body, update, name in zip(
            rows["body"].tolist(), rows["update"].tolist(), rows["signature"].tolist(), strict=True
        )
    ]
    return {
        "review_id": ids("reviews", rows["review_id"]),
        "order_id": ids("orders", rows["order_id"]),
        "product_id": ids("products", rows["product_id"]),
        "customer_id": ids("customers", rows["customer_id"]),
        "rating": pa.array(rows["rating"], pa.int64()),
        "title": labels(_TITLES, rows["title"]),
        "body": pa.array(bodies, pa.string()),
        "created_at": timestamps(rows["created_at"]),
        "answered_at": timestamps(rows["answered_at"], nullable=True),
        "updated_at": timestamps(rows["updated_at"]),
        "is_deleted": booleans(rows["is_deleted"]),
    }


_BUILDERS: dict[str, Callable[[Columns], dict[str, pa.Array]]] = {
    "customers": _customers,
    "products": _products,
    "orders": _orders,
    "order_items": _order_items,
    "payments": _payments,
    "fx_rates": _fx_rates,
    "events": _events,
    "reviews": _reviews,
}


@dataclass(frozen=True)
class Export:
    """One entity's rows of one export: the simulation's columns, each row's writing zone, and the rows
    typed to the contract as an Arrow table (built when first needed: the clickstream's JSON Lines are
    written from the columns themselves)."""

    entity: str
    rows: Columns
    zones: np.ndarray  # per row, an index into simulation.ZONES

    @classmethod
    def from_rows(cls, entity: str, rows: Columns) -> Export:
        n = len(next(iter(rows.values())))
        zones = rows["zone"] if "zone" in rows else np.zeros(n, np.int8)
        return cls(entity, rows, zones)

    @cached_property
    def table(self) -> pa.Table:
        arrays = _BUILDERS[self.entity](self.rows)
        names = list(ENTITIES[self.entity].column_names)
        return pa.table([arrays[name] for name in names], names=names)

    def __len__(self) -> int:
        return len(self.zones)

    def slice(self, start: int, stop: int) -> Export:
        rows = {name: column[start:stop] for name, column in self.rows.items()}
        return Export(self.entity, rows, self.zones[start:stop])

    def encode(self, file_format: str, gzipped: bool, level: int = GZIP_LEVEL) -> bytes:
        """The file's bytes; gzipped at ``level`` if asked (Parquet compresses its own columns)."""
        if file_format == "parquet":
            sink = io.BytesIO()
            pq.write_table(self.table, sink, compression="zstd")
            return sink.getvalue()
        chunks: list[Any]
        if file_format == "jsonl" and self.entity == "events" and event_json_fits(self.rows):
            lines = event_json_lines(self.rows)
            if gzipped:  # compressed batch by batch as they are made, on both processors
                return gzip_in_parallel(lines, level)
            chunks = list(lines)
        elif file_format == "jsonl":
            table = self.text_table(money_as_text=True)
            chunks = list(json_lines(table, plain=_JSON_PLAIN.get(self.entity, frozenset())))
        elif file_format == "csv":
            sink = io.BytesIO()
            pa_csv.write_csv(self.text_table(money_as_text=False), sink)
            chunks = [sink.getbuffer()]
        else:
            raise ValueError(f"unknown format {file_format!r}; use one of {FORMATS}")
        if not gzipped:
            return b"".join(chunks)
        # gzip with no name and no time in its header (as gzip.compress(mtime=0) writes it)
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        return b"".join([*(compressor.compress(chunk) for chunk in chunks), compressor.flush()])

    def text_table(self, money_as_text: bool) -> pa.Table:
        """Timestamps as ISO-8601 text in each row's zone; decimals as text if asked (exact in JSON). Dates
        stay dates: CSV and JSON Lines both write them as ISO-8601 days."""
        zones = self.zones.astype(np.int64)
        utc = not zones.any()
        suffix = pa.array(ZONES).take(pa.array(zones))
        shift = ZONE_MINUTES[zones] * 60
        columns = []
        for column in ENTITIES[self.entity].columns:
            values = self.table.column(column.name).combine_chunks()
            if column.type is ColumnType.TIMESTAMP:
                seconds = pc.cast(values, pa.int64())
                null = np.asarray(seconds.is_null())
                text = iso_seconds(np.asarray(seconds.fill_null(0)) + shift)
                if utc:  # one zone, 'Z': fixed width, no join
                    zulu = np.column_stack([text, np.full(len(text), ord("Z"), np.uint8)])
                    values = _fixed_width("", zulu, null)
                else:
                    values = pc.binary_join_element_wise(_fixed_width("", text, null), suffix, "")
            elif column.type is ColumnType.DECIMAL and money_as_text:
                values = pc.cast(values, pa.string())
            columns.append(values)
        return pa.table(columns, names=list(ENTITIES[self.entity].column_names))


# "HH:MM:SS" of each second of a day, its 8 bytes as one word.
_CLOCK = np.frombuffer(
    "".join(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)).encode(), np.uint64
)


def iso_seconds(seconds: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``YYYY-MM-DDTHH:MM:SS`` of times in seconds since the epoch (years 0 to 9999), one row of 19 bytes per
    time (into ``out`` if given): the days looked up among those the times span, the time of day among the
    day's seconds."""
    days, clock = np.divmod(np.asarray(seconds, np.int64), 86_400)
    if out is None:
        out = np.empty((len(days), 19), np.uint8)
    if not len(days):
        return out
    first = int(days.min())
    dates = _iso_days(np.arange(first, int(days.max()) + 1))
    out[:, :10] = dates[days - first]
    out[:, 10] = ord("T")
    out[:, 11:] = _CLOCK[clock].view(np.uint8).reshape(len(days), 8)
    return out


# -- gzip on several threads ---------------------------------------------------------------------------------

_GZIP_THREADS = 2
_gzip_pool: ThreadPoolExecutor | None = None
_gzip_pool_lock = threading.Lock()
_WINDOW = 32 * 1024  # deflate's window: how far back a piece may refer


def gzip_in_parallel(chunks: Iterable[Any], level: int) -> bytes:
    """One gzip member of the chunks (buffers), each chunk deflated on a thread of its own as soon as it is
    given, as pigz does: each piece primed with the text before it (so it refers back across the seam as one
    stream would) and ended on a byte boundary (a sync flush), the last piece followed by deflate's end.
    The same chunks give the same bytes; any gzip reader reads them as one stream."""
    pool = _threads()
    pieces = []
    crc, size = 0, 0
    before: memoryview | bytes = b""
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        pieces.append(pool.submit(_deflate_piece, view, before, level))
        crc = zlib.crc32(view, crc)
        size += len(view)
        before = view[-_WINDOW:]
    # the gzip header as zlib writes it for gzip.compress(mtime=0): no name, no time; the level's flag; Unix
    flags = 4 if level < 2 else 2 if level == 9 else 0
    header = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, flags, 3])
    end = b"\x03\x00"  # an empty last block: the end of the deflate stream
    trailer = (crc & 0xFFFFFFFF).to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return b"".join([header, *(piece.result() for piece in pieces), end, trailer])


def _deflate_piece(chunk: memoryview, before: memoryview | bytes, level: int) -> bytes:
    compressor = (
        zlib.compressobj(level, zlib.DEFLATED, -15, zdict=bytes(before))
        if len(before)
        else zlib.compressobj(level, zlib.DEFLATED, -15)
    )
    return compressor.compress(chunk) + compressor.flush(zlib.Z_SYNC_FLUSH)


def _threads() -> ThreadPoolExecutor:
    global _gzip_pool  # one pool for the process, made when first needed
    with _gzip_pool_lock:
        if _gzip_pool is None:
            _gzip_pool = ThreadPoolExecutor(max_workers=_GZIP_THREADS, thread_name_prefix="gzip")
        return _gzip_pool


def _iso_days(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of days since the epoch, one row of 10 bytes per day (years 0 to 9999; the civil
    calendar's arithmetic, H. Hinnant's ``civil_from_days``)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    out = np.empty((len(days), 10), np.uint8)
    out[:, [4, 7]] = ord("-")
    out[:, :4] = decimal_digits(year, 4)
    out[:, 5:7] = decimal_digits(month, 2)
    out[:, 8:] = decimal_digits(day, 2)
    return out


# -- JSON Lines ------------------------------------------------------------------------------------------

# Columns whose text never needs a JSON escape, by entity: the clickstream's are all drawn from the
# catalogue's fixed strings (checked here) or written by this module (keys, times).
_JSON_PLAIN: dict[str, frozenset[str]] = {"events": frozenset(ENTITIES["events"].column_names)}
_NEEDS_ESCAPE = np.zeros(256, bool)
_NEEDS_ESCAPE[:0x20] = True
_NEEDS_ESCAPE[[ord('"'), ord("\\")]] = True
assert not any(
    _NEEDS_ESCAPE[np.frombuffer(text.encode(), np.uint8)].any()
    for text in (
        *clickstream.PAGE_PATHS,
        *clickstream.REFERRERS,
        *clickstream.UTM_SOURCES,
        *clickstream.UTM_MEDIUMS,
        *catalog.CAMPAIGNS,
        *clickstream.USER_AGENTS,
        *EVENT_TYPES,
        *DEVICES,
        *(m.country_code for m in catalog.MARKETS),
    )
), "a clickstream string needs a JSON escape: drop it from _JSON_PLAIN"
_SHORT_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                  ("\b", "\\b"), ("\f", "\\f"))  # fmt: skip
_SHORT_ESCAPED = np.zeros(256, bool)
_SHORT_ESCAPED[[ord(a) for a, _ in _SHORT_ESCAPES]] = True


def json_lines(table: pa.Table, plain: frozenset[str] = frozenset()) -> Iterator[pa.Buffer]:
    """The rows of ``table`` as JSON Lines, a batch of rows at a time: exactly what ``orjson.dumps`` writes
    for each row of ``table.to_pylist()`` with a newline after it (keys in column order, no spaces, strings
    escaped as orjson does, non-ASCII kept as UTF-8, dates quoted, null as ``null``).

    Each line is built by one element-wise join of the key literals and the columns' values as JSON text.
    ``plain`` names string columns known to need no escaping (the check is skipped for them)."""
    for batch in table.to_batches(max_chunksize=JSON_LINES_BATCH):
        if batch.num_rows:
            yield _json_batch(batch, plain)


def _json_batch(batch: pa.RecordBatch, plain: frozenset[str]) -> pa.Buffer:
    parts: list[pa.Array | str] = []
    literal = "{"
    for i, (name, column) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        literal += ("," if i else "") + orjson.dumps(name).decode() + ":"
        kind = column.type
        if pa.types.is_string(kind):
            text = column if name in plain else _json_escaped(column)
            if column.null_count == 0:  # the quotes go into the literals around it
                parts += [literal + '"', text]
                literal = '"'
                continue
            text = pc.binary_join_element_wise('"', text, '"', "")
        elif pa.types.is_integer(kind) or pa.types.is_boolean(kind):
            text = pc.cast(column, pa.string())
        elif pa.types.is_date32(kind):
            text = pc.binary_join_element_wise('"', pc.cast(column, pa.string()), '"', "")
        else:
            raise TypeError(f"no JSON Lines text for {name} of type {kind}")
        if column.null_count:
            text = pc.fill_null(text, "null")
        parts += [literal, text]
        literal = ""
    parts.append(literal + "}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    return _string_data(lines)


def _string_data(array: pa.Array) -> pa.Buffer:
    """The bytes of a string array's values, one after the other."""
    offsets = np.frombuffer(array.buffers()[1], np.int32, count=len(array) + 1, offset=array.offset * 4)
    data = array.buffers()[2]
    if data is None:
        return pa.py_buffer(b"")
    return data[int(offsets[0]) : int(offsets[-1])]


def _json_escaped(column: pa.Array) -> pa.Array:
    """String values as JSON string contents (without the quotes), escaped exactly as orjson does."""
    raw = np.frombuffer(_string_data(column), np.uint8)
    needs = _NEEDS_ESCAPE[raw]
    if not needs.any():
        return column
    if _SHORT_ESCAPED[raw[needs]].all():  # \\, ", newline and the like: vectorised
        for text, escaped in _SHORT_ESCAPES:
            column = pc.replace_substring(column, text, escaped)
        return column
    # Another control character: orjson's own escape (\u00XX), value by value.
    return pa.array(
        [None if v is None else orjson.dumps(v).decode()[1:-1] for v in column.to_pylist()], pa.string()
    )


# -- the clickstream's JSON Lines -------------------------------------------------------------------------
#
# Millions of events a day, so each batch of lines is assembled in one pass by Arrow: a line is nine pieces
# of text, each piece of each line a *view* (Arrow's string_view: a length and where the bytes are) made
# with NumPy for the whole batch: into text of fixed width laid out with NumPy (the keys, the time and the
# key names between them), or into small tables of JSON fragments, by code (an event type, a page, a
# referrer, a campaign and a device). Casting the nine views of every line to one string array copies the
# pieces side by side: its bytes are the lines. They are those json_lines() writes for the same rows'
# table (a test holds them equal).


def _json_text(value: str | None) -> str:
    return "null" if value is None else orjson.dumps(value).decode()


_SOURCES = (*clickstream.UTM_SOURCES, None)
_CAMPAIGNS = (*catalog.CAMPAIGNS, None)
_UTM_TEXT = [
    f',"utm_source":{_json_text(_SOURCES[source])},"utm_medium":'
    f"{_json_text(None if source < 0 else clickstream.UTM_MEDIUMS[clickstream.CAMPAIGN_MEDIUM[source]])},"
    f'"utm_campaign":{_json_text(_CAMPAIGNS[campaign])}'
    for source in range(-1, len(clickstream.UTM_SOURCES))
    for campaign in range(-1, len(catalog.CAMPAIGNS))
]  # by (source + 1) * (campaigns + 1) + campaign + 1
_LOOK_TEXT = [
    f',"device":"{DEVICES[device]}","country":"{_COUNTRIES[country]}",'
    f'"user_agent":{_json_text(clickstream.USER_AGENTS[agent])}}}\n'
    for device in range(len(DEVICES))
    for country in range(len(_COUNTRIES))
    for agent in range(len(clickstream.USER_AGENTS))
]  # by (device * countries + country) * agents + agent
_INLINE = 12  # a view holds a value of up to 12 bytes itself; a longer one: its first 4, buffer and offset


def _views(lengths: np.ndarray, first: np.ndarray, buffer: int, offsets: np.ndarray) -> np.ndarray:
    """Views of values: their lengths, their first (up to) 12 bytes (zero padded; the whole value if it has
    no more), and where each is: data buffer ``buffer``, at ``offsets`` (values over 12 bytes)."""
    views = np.empty((len(lengths), 4), np.int32)
    views[:, 0] = lengths
    views[:, 1:] = np.ascontiguousarray(first[:, :_INLINE]).view(np.int32)
    long = lengths > _INLINE
    views[long, 2] = buffer
    views[long, 3] = offsets[long]
    return views


def _fixed_views(text: np.ndarray, buffer: int) -> np.ndarray:
    """Views of rows of bytes of one width over 12 (one per value), as data buffer ``buffer``."""
    n, width = text.shape
    views = np.empty((n, 4), np.int32)
    views[:, 0] = width
    views[:, 1] = np.ascontiguousarray(text[:, :4]).view(np.int32)[:, 0]
    views[:, 2] = buffer
    views[:, 3] = np.arange(0, n * width, width, dtype=np.int32)
    return views


@dataclass(frozen=True)
class _Fragments:
    """JSON fragments in one buffer, and a view of each (see _views)."""

    data: pa.Buffer
    views: np.ndarray  # (fragments, 4) int32

    @classmethod
    def of(cls, texts: list[str], buffer: int) -> _Fragments:
        """The fragments, as the variadic data buffer number ``buffer`` of the arrays viewing them."""
        encoded = [text.encode() for text in texts]
        offsets = np.cumsum([0, *(len(e) for e in encoded)])
        data = b"".join(encoded)
        padded = np.zeros((len(encoded), _INLINE), np.uint8)
        for row, text in enumerate(encoded):
            padded[row, : min(len(text), _INLINE)] = np.frombuffer(text[:_INLINE], np.uint8)
        lengths = offsets[1:] - offsets[:-1]
        views = _views(lengths, padded, buffer, offsets[:-1])
        return cls(pa.py_buffer(data), views)


# The variadic data buffers of a batch's views: the fragment tables first (fixed numbers), then the batch's
# own text: HEAD ... ORDER.
_EVENT_TYPE_TEXT = _Fragments.of([f',"event_type":"{name}","occurred_at":"' for name in EVENT_TYPES], 0)
_PAGE_TEXT = _Fragments.of([_json_text(path) for path in clickstream.PAGE_PATHS], 1)
_REFERRER_TEXT = _Fragments.of(
    [f',"referrer":{_json_text(url)},"product_id":' for url in (*clickstream.REFERRERS, None)], 2
)  # the last: none (code -1)
_NULLS = _Fragments.of(["null", 'null,"order_id":'], 3)
_TAIL_BUFFER = 4
HEAD, WHEN, CUSTOMER, PRODUCT_PAGE, PRODUCT, ORDER = range(5, 11)


@functools.cache
def _tail_text() -> _Fragments:
    """The end of a line: a campaign's parameters and a device's, by utm code * len(_LOOK_TEXT) + look code
    (29,160 fragments, made when first needed)."""
    return _Fragments.of([utm + look for utm in _UTM_TEXT for look in _LOOK_TEXT], _TAIL_BUFFER)


_POOL = pa.system_memory_pool()  # the C library's allocator: it keeps large buffers for the next batch


def event_json_fits(rows: Columns) -> bool:
    """Whether the events' keys fit their formats' widths (else the general writer writes them in full)."""
    return not len(rows["customer"]) or (
        int(rows["customer"].max()) + 1 < 10 ** ID_FORMATS["customers"][1]
        and int(rows["product"].max()) + 1 < 10 ** ID_FORMATS["products"][1]
        and int(rows["order"].max()) < 10 ** ID_FORMATS["orders"][1]
    )


def event_json_lines(rows: Columns) -> Iterator[pa.Buffer]:
    """The events as JSON Lines, a batch at a time (see json_lines())."""
    n = len(rows["number"])
    for start in range(0, n, EVENT_JSON_BATCH):
        batch = {name: column[start : start + EVENT_JSON_BATCH] for name, column in rows.items()}
        yield _event_json_batch(batch)


def _event_json_batch(rows: Columns) -> pa.Buffer:
    codes = clickstream.unpack(rows)
    n = len(rows["number"])
    tail = _tail_text()
    views = np.empty((n, 9, 4), np.int32)  # per line, its pieces' views
    # {"event_id":"evt_...","anonymous_id":"anon_...","customer_id":
    device = hex_digits(rows["device_key"])
    head = _layout(
        n,
        '{"event_id":"evt_',
        device,
        "_",
        hex_digits(rows["number"])[:, 8:],
        '","anonymous_id":"anon_',
        device,
        '","customer_id":',
    )
    views[:, 0] = _fixed_views(head, HEAD)
    # "cus_..." or null
    customer = rows["customer"]
    signed_in = np.flatnonzero(customer >= 0)
    views[:, 1] = _NULLS.views[0]
    customer_text = _layout(len(signed_in), '"cus_', decimal_digits(customer[signed_in] + 1, 8), '"')
    views[signed_in, 1] = _fixed_views(customer_text, CUSTOMER)
    # ,"event_type":"...","occurred_at":" and the time ...Z","page_path":
    event_type = codes["event_type"]
    views[:, 2] = _EVENT_TYPE_TEXT.views[event_type]
    when = _layout(n, np.empty((n, 19), np.uint8), 'Z","page_path":')
    iso_seconds(rows["occurred_at"], out=when[:, :19])
    views[:, 3] = _fixed_views(when, WHEN)
    # the page: a product's ("/p/prd_...") or another
    page, product = codes["page"], rows["product"]
    product_page = page == clickstream.PRODUCT_PAGE
    views[:, 4] = _PAGE_TEXT.views[np.where(product_page, 0, page)]
    on_product = np.flatnonzero(product_page)
    page_text = _layout(len(on_product), '"/p/prd_', decimal_digits(product[on_product] + 1, 5), '"')
    views[on_product, 4] = _fixed_views(page_text, PRODUCT_PAGE)
    # ,"referrer":...,"product_id": then the product and ,"order_id": then the order
    referrer = codes["referrer"]
    views[:, 5] = _REFERRER_TEXT.views[np.where(referrer < 0, len(clickstream.REFERRERS), referrer)]
    carted = np.flatnonzero(
        (event_type >= clickstream.PRODUCT_VIEW) & (event_type <= clickstream.REMOVE_FROM_CART)
    )
    views[:, 6] = _NULLS.views[1]
    product_text = _layout(len(carted), '"prd_', decimal_digits(product[carted] + 1, 5), '","order_id":')
    views[carted, 6] = _fixed_views(product_text, PRODUCT)
    order = rows["order"]
    placed = np.flatnonzero(order >= 0)
    views[:, 7] = _NULLS.views[0]
    order_text = _layout(len(placed), '"ord_', decimal_digits(order[placed], 9), '"')
    views[placed, 7] = _fixed_views(order_text, ORDER)
    # the campaign's parameters and the device, and the end of the line
    utm = (codes["source"] + 1) * (len(catalog.CAMPAIGNS) + 1) + codes["campaign"] + 1
    look = (codes["device"] * len(_COUNTRIES) + codes["country"]) * len(clickstream.USER_AGENTS)
    views[:, 8] = tail.views[utm * len(_LOOK_TEXT) + look + codes["agent"]]
    # the batch's text after the fragment tables, in the order of their numbers (HEAD ... ORDER)
    texts = (head, when, customer_text, page_text, product_text, order_text)
    buffers = [_EVENT_TYPE_TEXT.data, _PAGE_TEXT.data, _REFERRER_TEXT.data, _NULLS.data, tail.data]
    buffers += [pa.py_buffer(np.ascontiguousarray(text)) for text in texts]
    pieces = pa.Array.from_buffers(pa.string_view(), n * 9, [None, pa.py_buffer(views), *buffers])
    return _string_data(pc.cast(pieces, pa.string(), memory_pool=_POOL))


def _layout(n: int, *pieces: str | np.ndarray) -> np.ndarray:
    """Fixed-width rows of bytes: literal text and per-row bytes (one row per value), side by side."""
    widths = [len(p.encode()) if isinstance(p, str) else p.shape[1] for p in pieces]
    out = np.empty((n, sum(widths)), np.uint8)
    at = 0
    for piece, width in zip(pieces, widths, strict=True):
        out[:, at : at + width] = np.frombuffer(piece.encode(), np.uint8) if isinstance(piece, str) else piece
        at += width
    return out
