"""Turn the simulation's columns into contract files: CSV, JSON Lines or Parquet, optionally gzipped.

Everything here is deterministic: the same rows give the same bytes (gzip headers carry no time or name).
"""

from __future__ import annotations

import gzip
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from shopwarehouse.dev.generate import catalog
from shopwarehouse.dev.generate.simulation import CURRENCIES, ZONE_MINUTES, ZONES, Columns
from shopwarehouse.landing.contract import (
    ENTITIES,
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
}


def file_suffix(file_format: str, gzipped: bool) -> str:
    if file_format not in FORMATS:
        raise ValueError(f"unknown format {file_format!r}; use one of {FORMATS}")
    return f".{file_format}.gz" if gzipped and file_format != "parquet" else f".{file_format}"


# -- columns to Arrow --------------------------------------------------------------------------------------


def ids(entity: str, numbers: np.ndarray) -> pa.Array:
    """Keys as the shop writes them (``ord_000000042``); a negative number (in a nullable column) is null."""
    prefix, digits = ID_FORMATS[entity]
    null = numbers < 0
    array = pa.array(numbers, pa.int64(), mask=null if null.any() else None)
    text = pc.utf8_lpad(pc.cast(array, pa.string()), digits, "0")
    return pc.binary_join_element_wise(prefix, text, "")


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


def timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds.astype(np.int64), pa.int64()).cast(TIMESTAMP)


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


_BUILDERS: dict[str, Callable[[Columns], dict[str, pa.Array]]] = {
    "customers": _customers,
    "products": _products,
    "orders": _orders,
    "order_items": _order_items,
    "payments": _payments,
    "fx_rates": _fx_rates,
}


@dataclass(frozen=True)
class Export:
    """One entity's rows of one export, as a contract-typed Arrow table plus each row's writing zone."""

    entity: str
    table: pa.Table
    zones: np.ndarray  # per row, an index into simulation.ZONES

    @classmethod
    def from_rows(cls, entity: str, rows: Columns) -> Export:
        arrays = _BUILDERS[entity](rows)
        names = list(ENTITIES[entity].column_names)
        table = pa.table([arrays[name] for name in names], names=names)
        zones = rows["zone"] if "zone" in rows else np.zeros(table.num_rows, np.int8)
        return cls(entity, table, zones)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def slice(self, start: int, stop: int) -> Export:
        return Export(self.entity, self.table.slice(start, stop - start), self.zones[start:stop])

    def encode(self, file_format: str, gzipped: bool) -> bytes:
        if file_format == "parquet":
            sink = io.BytesIO()
            pq.write_table(self.table, sink, compression="zstd")
            return sink.getvalue()
        table = self._with_zoned_timestamps(money_as_text=file_format == "jsonl")
        if file_format == "csv":
            sink = io.BytesIO()
            pa_csv.write_csv(table, sink)
            data = sink.getvalue()
        elif file_format == "jsonl":
            option = orjson.OPT_APPEND_NEWLINE
            data = b"".join(orjson.dumps(row, option=option) for row in table.to_pylist())
        else:
            raise ValueError(f"unknown format {file_format!r}; use one of {FORMATS}")
        return gzip.compress(data, compresslevel=6, mtime=0) if gzipped else data

    def _with_zoned_timestamps(self, money_as_text: bool) -> pa.Table:
        """Timestamps as ISO-8601 text in each row's zone; decimals as text if asked (exact in JSON). Dates
        stay dates: CSV and JSON Lines both write them as ISO-8601 days."""
        zones = self.zones.astype(np.int64)
        suffix = pa.array(ZONES).take(pa.array(zones))
        shift = ZONE_MINUTES[zones] * 60
        columns = []
        for column in ENTITIES[self.entity].columns:
            values = self.table.column(column.name)
            if column.type is ColumnType.TIMESTAMP:
                local = pc.add(pc.cast(values, pa.int64()), pa.array(shift))
                text = pc.strftime(pc.cast(local, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
                values = pc.binary_join_element_wise(text, suffix, "")
            elif column.type is ColumnType.DECIMAL and money_as_text:
                values = pc.cast(values, pa.string())
            columns.append(values)
        return pa.table(columns, names=list(ENTITIES[self.entity].column_names))
