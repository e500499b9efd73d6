"""File validation: every format parses to the same typed table; each bad file gets its precise reason."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from support.bad_files import (
    BAD_FILES,
    FX_HEADER,
    GOOD_ORDER,
    GOOD_RATES,
    ITEMS_HEADER,
    ORDERS_HEADER,
    csv_file,
    parquet,
)

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.load.validate import RejectedFile, check_size, validate


def test_good_order_file_is_typed_by_the_contract() -> None:
    valid = validate(
        "orders", "raw/orders/date=2024-03-01/a.csv", io.BytesIO(csv_file(ORDERS_HEADER, GOOD_ORDER))
    )
    row = valid.table.to_pylist()[0]
    assert row["total_amount"] == Decimal("17.97")
    assert row["updated_at"].isoformat() == "2024-03-01T09:05:00+00:00"  # stored in UTC
    assert valid.table.schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")


def test_unknown_columns_are_ignored_and_reported() -> None:
    data = csv_file(ORDERS_HEADER + ",coupon_code", GOOD_ORDER + ",SPRING")
    valid = validate("orders", "raw/orders/date=2024-03-01/a.csv", io.BytesIO(data))
    assert valid.ignored_columns == ("coupon_code",)
    assert valid.table.column_names[-1] == "updated_at"


@pytest.fixture(scope="module")
def one_day_in_every_format(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    roots = {}
    for fmt, gz in (("csv", False), ("csv", True), ("jsonl", True), ("parquet", False)):
        root = tmp_path_factory.mktemp(f"{fmt}{gz}")
        options = GenerateOptions(start=date(2024, 3, 1), days=2, orders_per_day=30, file_format=fmt, gzip=gz)
        generate(LocalLanding(root), options)
        roots[f"{fmt}{'.gz' if gz else ''}"] = root
    return roots


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_every_format_gives_the_same_typed_rows(
    one_day_in_every_format: dict[str, Path], entity: str
) -> None:
    tables = {}
    for name, root in one_day_in_every_format.items():
        files = sorted((root / "raw" / entity).rglob("*.*"))
        assert files
        parts = [
            validate(entity, f.relative_to(root).as_posix(), io.BytesIO(f.read_bytes())).table for f in files
        ]
        tables[name] = pa.concat_tables(parts)
    reference = tables.pop("csv")
    assert reference.num_rows > 0
    for name, table in tables.items():
        assert table.equals(reference), f"{name} differs from csv for {entity}"


@pytest.mark.parametrize(
    ("key", "data", "line", "column", "reason"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_is_rejected_with_its_precise_reason(
    key: str, data: bytes, line: int | None, column: str | None, reason: str
) -> None:
    with pytest.raises(RejectedFile) as caught:
        validate("orders", f"raw/orders/date=2024-03-01/{key}", io.BytesIO(data))
    rejection = caught.value.rejection
    assert reason in rejection.reason
    assert (rejection.line, rejection.column) == (line, column)
    assert rejection.key.endswith(key)


def test_negative_quantity_is_rejected_at_its_line() -> None:
    data = csv_file(ITEMS_HEADER, "itm_1,ord_1,prd_1,2,5.00,0.00,2024-03-01T10:00:00Z",
                    "itm_2,ord_1,prd_2,-1,5.00,0.00,2024-03-01T10:00:00Z")  # fmt: skip
    with pytest.raises(RejectedFile) as caught:
        validate("order_items", "raw/order_items/date=2024-03-01/a.csv", io.BytesIO(data))
    assert caught.value.rejection.as_dict() == {
        "file": "raw/order_items/date=2024-03-01/a.csv",
        "line": 3,
        "column": "quantity",
        "value": "-1",
        "reason": "quantity must be greater than 0",
    }


def test_file_over_the_size_limit_is_rejected_from_its_listed_size() -> None:
    check_size("raw/orders/date=2024-03-01/a.csv", 1000, 1000)
    with pytest.raises(RejectedFile, match="1,001 bytes, over the limit of 1,000"):
        check_size("raw/orders/date=2024-03-01/a.csv", 1001, 1000)


# -- days and decimals of a scale of their own: the exchange rates -------------------------------------------

FX_KEY = "raw/fx_rates/date=2024-03-01/fx_rates_20240301_000"


def fx_file(file_format: str, *rows: str) -> bytes:
    """Exchange-rate rows (CSV text without the header) as a file of ``file_format``, every value as text."""
    names = FX_HEADER.split(",")
    records = [dict(zip(names, row.split(","), strict=True)) for row in rows]
    if file_format == "csv":
        return csv_file(FX_HEADER, *rows)
    if file_format == "jsonl":
        return b"".join(orjson.dumps(record) + b"\n" for record in records)
    return parquet(pa.table({name: [record[name] for record in records] for name in names}))


FIRST_ROW_LINE = {"csv": 2, "jsonl": 1, "parquet": 1}  # CSV's header is line 1; Parquet counts rows


def test_exchange_rates_are_typed_with_their_own_scale_and_days() -> None:
    valid = validate("fx_rates", f"{FX_KEY}.csv", io.BytesIO(csv_file(FX_HEADER, *GOOD_RATES)))
    assert valid.table.schema.field("usd_per_unit").type == pa.decimal128(18, 8)
    assert valid.table.schema.field("rate_date").type == pa.date32()
    assert valid.table.to_pylist()[0] == {
        "currency": "EUR",
        "rate_date": date(2024, 3, 1),
        "usd_per_unit": Decimal("1.08234517"),
        "updated_at": datetime(2024, 3, 1, 16, tzinfo=UTC),
    }
    # Money keeps its two places.
    orders = validate(
        "orders", "raw/orders/date=2024-03-01/a.csv", io.BytesIO(csv_file(ORDERS_HEADER, GOOD_ORDER))
    )
    assert orders.table.schema.field("total_amount").type == pa.decimal128(18, 2)


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
def test_every_format_gives_the_same_exchange_rates(file_format: str) -> None:
    data = fx_file(file_format, *GOOD_RATES)
    table = validate("fx_rates", f"{FX_KEY}.{file_format}", io.BytesIO(data)).table
    reference = validate("fx_rates", f"{FX_KEY}.csv", io.BytesIO(csv_file(FX_HEADER, *GOOD_RATES))).table
    assert table.equals(reference)


def test_parquet_dates_and_decimals_may_be_native() -> None:
    native = pa.table({
        "currency": ["EUR"],
        "rate_date": pa.array([date(2024, 3, 1)], pa.date32()),
        "usd_per_unit": pa.array([Decimal("1.082345")], pa.decimal128(9, 6)),
        "updated_at": pa.array([datetime(2024, 3, 1, 16, tzinfo=UTC)], pa.timestamp("s", tz="UTC")),
    })  # fmt: skip
    row = validate("fx_rates", f"{FX_KEY}.parquet", io.BytesIO(parquet(native))).table.to_pylist()[0]
    assert (row["rate_date"], row["usd_per_unit"]) == (date(2024, 3, 1), Decimal("1.08234500"))


BAD_RATES = [
    # (case, the bad row, column, value, words of the reason)
    ("a day that does not exist", "EUR,2024-02-30,1.08234517,2024-03-01T16:00:00Z", "rate_date", "2024-02-30",
     "rate_date must be an ISO-8601 day (YYYY-MM-DD), e.g. 2024-03-01"),
    ("a day written day first", "EUR,01/03/2024,1.08234517,2024-03-01T16:00:00Z", "rate_date", "01/03/2024",
     "rate_date must be an ISO-8601 day"),
    ("a timestamp for a day", "EUR,2024-03-01T00:00:00Z,1.08234517,2024-03-01T16:00:00Z", "rate_date",
     "2024-03-01T00:00:00Z", "rate_date must be an ISO-8601 day"),
    ("a day without its zeros", "EUR,2024-3-1,1.08234517,2024-03-01T16:00:00Z", "rate_date", "2024-3-1",
     "rate_date must be an ISO-8601 day"),
    ("a rate with 9 places", "EUR,2024-03-01,1.082345171,2024-03-01T16:00:00Z", "usd_per_unit",
     "1.082345171", "usd_per_unit must be a decimal with at most 8 places, e.g. 1.08234517"),
    ("a rate of zero", "EUR,2024-03-01,0.00000000,2024-03-01T16:00:00Z", "usd_per_unit", "0.00000000",
     "usd_per_unit must be greater than 0"),
    ("a rate that is text", "EUR,2024-03-01,about 1.08,2024-03-01T16:00:00Z", "usd_per_unit", "about 1.08",
     "usd_per_unit must be a decimal with at most 8 places"),
]  # fmt: skip


@pytest.mark.parametrize("file_format", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize(
    ("row", "column", "value", "reason"),
    [case[1:] for case in BAD_RATES],
    ids=[case[0] for case in BAD_RATES],
)
def test_a_bad_day_or_rate_is_rejected_at_its_line_column_and_value(
    file_format: str, row: str, column: str, value: str, reason: str
) -> None:
    # GIVEN a rates file whose second row holds the bad value, in each format
    key = f"{FX_KEY}.{file_format}"
    data = fx_file(file_format, GOOD_RATES[0], row)
    # WHEN it is validated THEN it is rejected, naming the file, line, column, value and what it must be
    with pytest.raises(RejectedFile) as caught:
        validate("fx_rates", key, io.BytesIO(data))
    rejection = caught.value.rejection.as_dict()
    assert reason in rejection.pop("reason")
    assert rejection == {
        "file": key,
        "line": FIRST_ROW_LINE[file_format] + 1,
        "column": column,
        "value": value,
    }


def test_a_parquet_rate_with_9_places_or_a_timestamp_for_a_day_is_rejected() -> None:
    key = f"{FX_KEY}.parquet"
    good = {"currency": ["EUR", "GBP"], "rate_date": ["2024-03-01"] * 2,
            "updated_at": ["2024-03-01T16:00:00Z"] * 2}  # fmt: skip
    places = pa.table({**good, "usd_per_unit": pa.array([Decimal("1.1"), Decimal("1.082345171")])})
    with pytest.raises(RejectedFile) as caught:
        validate("fx_rates", key, io.BytesIO(parquet(places)))
    rejection = caught.value.rejection
    assert (rejection.line, rejection.column, rejection.value) == (2, "usd_per_unit", "1.082345171")
    assert "at most 8 places" in rejection.reason
    stamped = pa.table({**good, "usd_per_unit": ["1.1", "1.2"],
                        "rate_date": pa.array([1709251200] * 2, pa.timestamp("s", tz="UTC"))})  # fmt: skip
    with pytest.raises(RejectedFile) as caught:
        validate("fx_rates", key, io.BytesIO(parquet(stamped)))
    assert caught.value.rejection.column == "rate_date"
    assert "has type timestamp[ms, tz=UTC] in the file; the contract needs an ISO-8601 day" in str(
        caught.value
    )


# -- guest checkouts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_order_without_a_customer_is_a_guest_checkout_and_valid(file_format: str) -> None:
    guest = GOOD_ORDER.replace("cus_1", "")
    if file_format == "csv":
        data = csv_file(ORDERS_HEADER, GOOD_ORDER, guest)
    else:
        rows: list[dict[str, str | None]] = [
            dict(zip(ORDERS_HEADER.split(","), line.split(","), strict=True)) for line in (GOOD_ORDER, guest)
        ]
        rows[1]["customer_id"] = None  # JSON's null, as well as CSV's nothing
        data = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    table = validate("orders", f"raw/orders/date=2024-03-01/a.{file_format}", io.BytesIO(data)).table
    assert table.column("customer_id").to_pylist() == ["cus_1", None]
    assert table.column("total_amount").to_pylist() == [Decimal("17.97")] * 2


def test_an_orders_file_without_the_customer_column_is_rejected_not_loaded_as_guests() -> None:
    header = ORDERS_HEADER.replace("customer_id,", "")
    with pytest.raises(RejectedFile) as caught:
        validate(
            "orders",
            "raw/orders/date=2024-03-01/a.csv",
            io.BytesIO(csv_file(header, GOOD_ORDER.replace("cus_1,", ""))),
        )
    assert "missing required column(s) customer_id" in str(caught.value)


def test_only_an_empty_csv_field_is_null_so_codes_like_na_survive() -> None:
    header = "customer_id,country_code,city,created_at,updated_at"
    rows = ["cus_1,NA,Windhoek,2024-03-01T10:00:00Z,2024-03-01T10:00:00Z",
            "cus_2,,NULL,2024-03-01T10:00:00Z,2024-03-01T10:00:00Z"]  # fmt: skip
    table = validate(
        "customers", "raw/customers/date=2024-03-01/a.csv", io.BytesIO(csv_file(header, *rows))
    ).table
    assert table.column("country_code").to_pylist() == ["NA", None]
    assert table.column("city").to_pylist() == ["Windhoek", "NULL"]
