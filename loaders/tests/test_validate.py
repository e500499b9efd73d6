"""File validation: every format parses to the same typed table; each bad file gets its precise reason."""

from __future__ import annotations

import gzip
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopwarehouse.generate import GenerateOptions, generate
from shopwarehouse.landing import LocalLanding
from shopwarehouse.load.validate import RejectedFile, check_size, validate

ORDERS_HEADER = (
    "order_id,customer_id,order_status,channel,currency,subtotal_amount,discount_amount,"
    "shipping_amount,tax_amount,total_amount,ordered_at,updated_at"
)
GOOD_ORDER = (
    "ord_1,cus_1,paid,web,EUR,10.00,0.00,4.99,2.98,17.97,2024-03-01T10:00:00Z,2024-03-01T10:05:00+01:00"
)
ITEMS_HEADER = "order_item_id,order_id,product_id,quantity,unit_price,discount_amount,updated_at"


def csv_file(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_good_order_file_is_typed_by_the_contract() -> None:
    valid = validate("orders", "raw/orders/date=2024-03-01/a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER))
    row = valid.table.to_pylist()[0]
    assert row["total_amount"] == Decimal("17.97")
    assert row["updated_at"].isoformat() == "2024-03-01T09:05:00+00:00"  # stored in UTC
    assert valid.table.schema.field("ordered_at").type == pa.timestamp("us", tz="UTC")


def test_unknown_columns_are_ignored_and_reported() -> None:
    data = csv_file(ORDERS_HEADER + ",coupon_code", GOOD_ORDER + ",SPRING")
    valid = validate("orders", "raw/orders/date=2024-03-01/a.csv", data)
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
        parts = [validate(entity, f.relative_to(root).as_posix(), f.read_bytes()).table for f in files]
        tables[name] = pa.concat_tables(parts)
    reference = tables.pop("csv")
    assert reference.num_rows > 0
    for name, table in tables.items():
        assert table.equals(reference), f"{name} differs from csv for {entity}"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


GOOD_ROW = dict(zip(ORDERS_HEADER.split(","), GOOD_ORDER.split(","), strict=True))

BAD_FILES = [
    # (case, key suffix, content, expected line, expected column, words of the reason)
    ("truncated gzip", "a.csv.gz", gz(csv_file(ORDERS_HEADER, GOOD_ORDER))[:-12], None, None,
     "not a readable gzip stream"),
    ("wrong delimiter", "a.csv", csv_file(ORDERS_HEADER.replace(",", ";"), GOOD_ORDER.replace(",", ";")),
     None, None, "another separator than a comma"),
    ("missing column", "a.csv", csv_file(ORDERS_HEADER.replace(",total_amount", ""),
                                         GOOD_ORDER.replace(",17.97", "")),
     None, None, "missing required column(s) total_amount"),
    ("unparseable timestamp", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER,
                                                GOOD_ORDER.replace("2024-03-01T10:00:00Z", "01/03/2024"))
     , 3, "ordered_at", "ISO-8601 with an offset"),
    ("timestamp without offset", "a.csv", csv_file(ORDERS_HEADER,
                                                   GOOD_ORDER.replace("10:00:00Z", "10:00:00")),
     2, "ordered_at", "ISO-8601 with an offset"),
    ("text in a money column", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("17.97", "seventeen")),
     2, "total_amount", "a decimal with at most 2 places"),
    ("three decimal places", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("4.99", "4.995")),
     2, "shipping_amount", "a decimal with at most 2 places"),
    ("empty file", "a.csv", b"", None, None, "file is empty"),
    ("header only", "a.csv", csv_file(ORDERS_HEADER), None, None, "header but no rows"),
    ("non-UTF-8 bytes", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER).replace(b"web", b"w\xe9b"), 2, None,
     "not UTF-8"),
    ("required value empty", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER.replace("cus_1", "")), 2,
     "customer_id", "required and may not be empty"),
    ("JSON line not an object", "a.jsonl", b'{"order_id": "ord_1"}\n[1, 2, 3]\n', 2, None,
     "must be an object"),
    ("broken JSON", "a.jsonl", b'{"order_id": "ord_1"\n', 1, None, "not valid JSON"),
    ("Parquet with a wrong type", "a.parquet",
     parquet(pa.table({**{k: [v] for k, v in GOOD_ROW.items()}, "total_amount": [17.97]})),
     None, "total_amount", "has type double in the file"),
    ("Parquet timestamp without time zone", "a.parquet",
     parquet(pa.table({**{k: [v] for k, v in GOOD_ROW.items()},
                       "ordered_at": pa.array([1709287200], pa.timestamp("s"))})),
     None, "ordered_at", "has type timestamp[ms] in the file"),
    ("renamed extension", "a.txt", csv_file(ORDERS_HEADER, GOOD_ORDER), None, None,
     "unsupported file name 'a.txt'"),
    ("ragged row", "a.csv", csv_file(ORDERS_HEADER, GOOD_ORDER + ",extra"), None, None,
     "not valid comma-separated CSV"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("key", "data", "line", "column", "reason"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_is_rejected_with_its_precise_reason(
    key: str, data: bytes, line: int | None, column: str | None, reason: str
) -> None:
    with pytest.raises(RejectedFile) as caught:
        validate("orders", f"raw/orders/date=2024-03-01/{key}", data)
    rejection = caught.value.rejection
    assert reason in rejection.reason
    assert (rejection.line, rejection.column) == (line, column)
    assert rejection.key.endswith(key)


def test_negative_quantity_is_rejected_at_its_line() -> None:
    data = csv_file(ITEMS_HEADER, "itm_1,ord_1,prd_1,2,5.00,0.00,2024-03-01T10:00:00Z",
                    "itm_2,ord_1,prd_2,-1,5.00,0.00,2024-03-01T10:00:00Z")  # fmt: skip
    with pytest.raises(RejectedFile) as caught:
        validate("order_items", "raw/order_items/date=2024-03-01/a.csv", data)
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
