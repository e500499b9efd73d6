"""The source contract (``shared/source-contract.md``) as data.

The generator writes exactly these columns, the loaders accept exactly these, and the tests check files
against them. One definition, so the three cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


class ColumnType(StrEnum):
    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool
    pii: bool = False
    length: int | None = None
    positive: bool = False  # values must be greater than 0
    scale: int = 2
    """Decimal places a decimal column may carry: 2 for money, more for exchange rates."""
    in_every_file: bool = False
    """A nullable column that every file must still carry: its values may be empty, but an export without
    the column would silently empty all of them (every order a guest checkout)."""


@dataclass(frozen=True)
class Entity:
    name: str
    key: tuple[str, ...]
    """The columns that name one row. In a change feed (an entity with ``updated_at``) a later ``updated_at``
    for the same key is a newer version; in an event stream (no ``updated_at``) a key delivered again is
    the same event."""
    columns: tuple[Column, ...]
    every_day: bool = True
    """Whether an export lands every day; ``False``: only on days some row changed (the daily run's
    landing check does not wait for it)."""
    optional: bool = False
    """Whether a shop may not have this source at all (no storefront tracker): the daily run's landing check
    waits for it only once it has landed at least once."""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The columns every file must have: those that may not be null, and those in every file."""
        return tuple(column.name for column in self.columns if not column.nullable or column.in_every_file)


S, D, INT, B, T, DT = (
    ColumnType.STRING,
    ColumnType.DECIMAL,
    ColumnType.INTEGER,
    ColumnType.BOOLEAN,
    ColumnType.TIMESTAMP,
    ColumnType.DATE,
)

CUSTOMERS = Entity(
    name="customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", S, nullable=False),
        Column("email", S, nullable=True, pii=True),
        Column("first_name", S, nullable=True, pii=True),
        Column("last_name", S, nullable=True, pii=True),
        Column("phone", S, nullable=True, pii=True),
        Column("country_code", S, nullable=True, length=2),
        Column("city", S, nullable=True),
        Column("postal_code", S, nullable=True, pii=True),
        Column("marketing_opt_in", B, nullable=True),
        Column("created_at", T, nullable=False),
        Column("updated_at", T, nullable=False),
        Column("is_deleted", B, nullable=True),
    ),
)

PRODUCTS = Entity(
    name="products",
    every_day=False,
    key=("product_id",),
    columns=(
        Column("product_id", S, nullable=False),
        Column("sku", S, nullable=False),
        Column("product_name", S, nullable=False),
        Column("category", S, nullable=True),
        Column("unit_price", D, nullable=False),
        Column("currency", S, nullable=False, length=3),
        Column("is_active", B, nullable=False),
        Column("created_at", T, nullable=False),
        Column("updated_at", T, nullable=False),
    ),
)

ORDERS = Entity(
    name="orders",
    key=("order_id",),
    columns=(
        Column("order_id", S, nullable=False),
        Column("customer_id", S, nullable=True, in_every_file=True),  # empty for a guest checkout
        Column("order_status", S, nullable=False),
        Column("channel", S, nullable=True),
        Column("currency", S, nullable=False, length=3),
        Column("subtotal_amount", D, nullable=False),
        Column("discount_amount", D, nullable=False),
        Column("shipping_amount", D, nullable=False),
        Column("tax_amount", D, nullable=False),
        Column("total_amount", D, nullable=False),
        Column("ordered_at", T, nullable=False),
        Column("updated_at", T, nullable=False),
    ),
)

ORDER_ITEMS = Entity(
    name="order_items",
    key=("order_item_id",),
    columns=(
        Column("order_item_id", S, nullable=False),
        Column("order_id", S, nullable=False),
        Column("product_id", S, nullable=False),
        Column("quantity", INT, nullable=False, positive=True),
        Column("unit_price", D, nullable=False),
        Column("discount_amount", D, nullable=False),
        Column("updated_at", T, nullable=False),
    ),
)

PAYMENTS = Entity(
    name="payments",
    key=("payment_id",),
    columns=(
        Column("payment_id", S, nullable=False),
        Column("order_id", S, nullable=False),
        Column("payment_method", S, nullable=False),
        Column("payment_status", S, nullable=False),
        Column("amount", D, nullable=False),
        Column("refunded_amount", D, nullable=True),
        Column("currency", S, nullable=False, length=3),
        Column("failure_reason", S, nullable=True),
        Column("created_at", T, nullable=False),
        Column("updated_at", T, nullable=False),
    ),
)

FX_RATES = Entity(
    name="fx_rates",
    every_day=False,  # a day without a delivery keeps the latest rate; stale rates warn (source freshness)
    key=("currency", "rate_date"),
    columns=(
        Column("currency", S, nullable=False, length=3),
        Column("rate_date", DT, nullable=False),
        Column("usd_per_unit", D, nullable=False, positive=True, scale=8),
        Column("updated_at", T, nullable=False),
    ),
)

EVENTS = Entity(
    name="events",
    optional=True,
    key=("event_id",),
    columns=(
        Column("event_id", S, nullable=False),
        Column("anonymous_id", S, nullable=False),  # the device or cookie
        Column("customer_id", S, nullable=True),  # set once the visitor signs in
        Column("event_type", S, nullable=False),
        Column("occurred_at", T, nullable=False),
        Column("page_path", S, nullable=True),
        Column("referrer", S, nullable=True),
        Column("product_id", S, nullable=True),
        Column("order_id", S, nullable=True),
        Column("utm_source", S, nullable=True),
        Column("utm_medium", S, nullable=True),
        Column("utm_campaign", S, nullable=True),
        Column("device", S, nullable=True),
        Column("country", S, nullable=True, length=2),
        Column("user_agent", S, nullable=True),
    ),
)

REVIEWS = Entity(
    name="reviews",
    every_day=False,  # a small shop has days without a review
    key=("review_id",),
    columns=(
        Column("review_id", S, nullable=False),
        Column("order_id", S, nullable=False),
        Column("product_id", S, nullable=True),
        Column("customer_id", S, nullable=True),
        Column("rating", INT, nullable=False),
        Column("title", S, nullable=True, pii=True),
        Column("body", S, nullable=True, pii=True),
        Column("created_at", T, nullable=False),
        Column("answered_at", T, nullable=True),
        Column("updated_at", T, nullable=False),
        Column("is_deleted", B, nullable=True),
    ),
)

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_ITEMS, PAYMENTS, FX_RATES, EVENTS, REVIEWS)
}

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "returned")
PAYMENT_STATUSES = ("pending", "succeeded", "failed", "refunded", "partially_refunded")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "order_completed",
)
DEVICES = ("desktop", "mobile", "tablet")

# File name endings the contract accepts, longest first so ".csv.gz" wins over ".gz".
FILE_SUFFIXES = (".csv.gz", ".jsonl.gz", ".csv", ".jsonl", ".parquet")


# The exports land under raw/. Beside it, the landing zone holds what the loaders write: rejected files with
# their reasons, and files staged for a warehouse's COPY (removed once copied). The lake's zones (issue 21)
# go in silver/ (cleaned, typed files) and gold/ (the marts as files); the bucket's lifecycle rules and the
# IAM policies of the CloudFormation stack name these prefixes from here.
RAW_PREFIX = "raw/"
QUARANTINE_PREFIX = "quarantine/"
STAGE_PREFIX = "_stage/"
SILVER_PREFIX = "silver/"
GOLD_PREFIX = "gold/"


def entity_prefix(entity: str) -> str:
    """The landing key prefix of every export of one entity: ``raw/<entity>/``."""
    return f"{RAW_PREFIX}{entity}/"


def partition_prefix(entity: str, export_date: str) -> str:
    """The landing key prefix of one entity's export for one day: ``raw/<entity>/date=YYYY-MM-DD/``."""
    return f"{entity_prefix(entity)}date={export_date}/"


# How each type's values are held in memory (Arrow) between validation and the warehouse.
DECIMAL_PRECISION = 18
ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.DECIMAL: pa.decimal128(DECIMAL_PRECISION, 2),  # a column's own scale: arrow_type()
    ColumnType.INTEGER: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.DATE: pa.date32(),
}


def arrow_type(column: Column) -> pa.DataType:
    """The Arrow type a column's values are typed to: a decimal carries the column's own scale."""
    if column.type is ColumnType.DECIMAL:
        return pa.decimal128(DECIMAL_PRECISION, column.scale)
    return ARROW_TYPES[column.type]
