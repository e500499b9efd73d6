"""File validation: every format parses to the same typed table; each bad file gets its precise reason."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from bad_files import BAD_FILES, GOOD_ORDER, ITEMS_HEADER, ORDERS_HEADER, csv_file

from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import LocalLanding
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


@pytest.mark.parametrize("entity", ["customers", "products", "orders", "order_items", "payments"])
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
