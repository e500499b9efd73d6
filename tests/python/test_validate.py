"""File validation: every format parses to the same typed table; each bad file gets its precise reason."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from support.bad_files import (
    BAD_FILES,
    FX_HEADER,
    GOOD_ORDER,
    GOOD_RATES,
    GOOD_ROW,
    ITEMS_HEADER,
    ORDERS_HEADER,
    csv_file,
    gz,
    parquet,
)

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.load import validate as validate_module
from shopwarehouse.load.validate import PART_BYTES, RejectedFile, check_size, validate, validate_parts


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
    for fmt, gzipped in (("csv", False), ("csv", True), ("jsonl", True), ("parquet", False)):
        root = tmp_path_factory.mktemp(f"{fmt}{gzipped}")
        # Ten days: a review comes days after its order. A light clickstream: its volume is not the point.
        options = GenerateOptions(start=date(2024, 3, 1), days=10, orders_per_day=30, file_format=fmt,
                                  gzip=gzipped, clickstream_scale=0.2)  # fmt: skip
        generate(LocalLanding(root), options)
        roots[f"{fmt}{'.gz' if gzipped else ''}"] = root
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


# -- JSON Lines: Arrow's reader, where it can vouch for it, gives what the line-by-line reading gives --------

EVENT = {
    "event_id": "evt_1", "anonymous_id": "anon_1", "customer_id": None, "event_type": "page_view",
    "occurred_at": "2024-03-01T10:00:00Z", "page_path": "/", "referrer": "https://www.bing.com/",
    "product_id": None, "order_id": None, "utm_source": None, "utm_medium": None, "utm_campaign": None,
    "device": "mobile", "country": "US", "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
}  # fmt: skip
REVIEW = {
    "review_id": "rev_1", "order_id": "ord_1", "product_id": "prd_1", "customer_id": "cus_1", "rating": 5,
    "title": "Good", "body": None, "created_at": "2024-03-01T10:00:00Z", "answered_at": None,
    "updated_at": "2024-03-01T10:00:00Z", "is_deleted": False,
}  # fmt: skip
ORDER = {**GOOD_ROW, "customer_id": "cus_1"}


def event(number: int, **changes: object) -> dict[str, object]:
    return {**EVENT, "event_id": f"evt_{number}", **changes}


def lines(*rows: Mapping[str, object] | str, end: str = "\n") -> bytes:
    """JSON Lines: a dict as orjson writes it, a string as it is (for what orjson does not write)."""
    return "".join((r if isinstance(r, str) else orjson.dumps(r).decode()) + end for r in rows).encode()


Reading = list[tuple[pa.Table, tuple[str, ...], int]] | dict[str, object]


def _reading(entity: str, key: str, data: bytes) -> Reading:
    """Every part (rows, ignored columns, size) or the rejection."""
    try:
        return [
            (p.table, p.ignored_columns, p.table.num_rows)
            for p in validate_parts(entity, key, io.BytesIO(data))
        ]
    except RejectedFile as error:
        return error.rejection.as_dict()


def both_readings(
    monkeypatch: pytest.MonkeyPatch, entity: str, key: str, data: bytes
) -> tuple[Reading, Reading, list[bool]]:
    """The file read as the loader reads it, and line by line only; and, per part Arrow was asked to read,
    whether it did."""
    asked: list[bool] = []
    arrow_jsonl = validate_module._arrow_jsonl

    def spy(*args: Any) -> Any:
        read = arrow_jsonl(*args)
        asked.append(read is not None)
        return read

    monkeypatch.setattr(validate_module, "_arrow_jsonl", spy)
    loaded = _reading(entity, key, data)
    monkeypatch.setattr(validate_module, "ARROW_MISSES", 0)
    exact = _reading(entity, key, data)
    monkeypatch.undo()
    return loaded, exact, asked


def assert_same(loaded: Reading, exact: Reading) -> None:
    if isinstance(exact, dict):
        assert loaded == exact
        return
    assert isinstance(loaded, list)
    assert [(ignored, rows) for _, ignored, rows in loaded] == [(ignored, rows) for _, ignored, rows in exact]
    for (table, _, _), (reference, _, _) in zip(loaded, exact, strict=True):
        assert table.schema == reference.schema
        assert table.equals(reference), table.to_pylist()


UNICODE = (
    r'{"event_id":"evt_\u00e9","anonymous_id":"a\"b\\c\/d","event_type":"p\nv\t\u0000\u001f",'
    r'"occurred_at":"2024-03-01T10:00:00+02:00","page_path":"/caf\u00e9/\ud83d\ude00","device":"'
    '日本 é 😀 \x7f"}'
)
OCCURRED = '"occurred_at":"2024-03-01T10:00:00Z"}'
SPACED = '{ "event_id" : "e1", "anonymous_id":"a", "event_type":"v",' + OCCURRED.replace(":", " :\t", 1)
DECIMAL_NUMBER = orjson.dumps(ORDER).decode().replace('"total_amount":"17.97"', '"total_amount":17.97')
DEEP = orjson.dumps(event(2)).decode()[:-1] + ',"deep":' + "[" * 100 + "]" * 100 + "}"
TWICE = '{"event_id":"e1","event_id":"e2","anonymous_id":"a","event_type":"v",' + OCCURRED
ESCAPED_KEY = (
    r'{"event\u005fid":"e2","anonymous_id":"a","event_type":"v","occurred_at":"2024-03-01T10:00:00Z"}'
)
SAME_JSONL = [
    # (case, entity, the file, whether Arrow reads every part)
    ("plain rows", "events", lines(*[event(n) for n in range(40)]), True),
    ("escapes and unicode", "events", lines(event(1), UNICODE, event(2, referrer="ü\u2028\"\\")), True),
    ("nulls and missing keys", "events",
     lines(event(1), {k: v for k, v in event(2).items() if k not in ("device", "referrer", "customer_id")},
           event(3, device=None, country=None)), True),
    ("optional columns absent throughout", "events",
     lines(*[{k: EVENT[k] for k in ("event_id", "anonymous_id", "event_type", "occurred_at")}] * 3), True),
    ("keys in any order, escaped", "events", lines(dict(reversed(event(1).items())), ESCAPED_KEY), True),
    ("extra keys", "events",
     lines(event(1, zeta="z"), event(2, props={"a": [1, 2], "b": {"c": None}}, alpha=3),
           event(3, beta=True, big=2**63 - 1, tags=[], when="2024-03-01T10:00:00Z"), event(4, alpha=None)),
     True),
    ("spaces, CRLF, no last line end", "events",
     lines(SPACED, event(2), event(3), end="\r\n")[:-2], True),
    ("numbers and booleans in text columns", "events",
     lines(event(1, product_id=12345, order_id=-7, customer_id=True),
           event(2, product_id=0, customer_id=False)), True),
    ("whole numbers and booleans in their columns", "reviews",
     lines(REVIEW, {**REVIEW, "rating": 1, "is_deleted": True}, {**REVIEW, "rating": 3, "is_deleted": None}),
     True),
    ("whole numbers and booleans as text", "reviews",
     lines({**REVIEW, "rating": "5", "is_deleted": "true"}, {**REVIEW, "rating": "4", "is_deleted": "FALSE"}),
     True),
    ("orders with decimals as text", "orders", lines(ORDER, {**ORDER, "order_id": "ord_2"}), True),
    # Arrow cannot vouch for these: read line by line, to the same result.
    ("a column of mixed kinds", "reviews", lines(REVIEW, {**REVIEW, "rating": "4"}), False),
    ("blank lines", "events", lines(event(1), "", "  \t", event(2), "\f"), False),
    ("a line that starts with a space", "events", lines(event(1), " " + orjson.dumps(event(2)).decode()),
     False),
    ("a key given twice", "events", lines(TWICE), False),
    ("a fractional number", "events", lines(event(1, product_id=1.50), event(2, product_id=1e3)), False),
    ("a decimal written as a number", "orders", lines(DECIMAL_NUMBER), False),
    ("a whole number beyond int64", "events", lines(event(1, product_id=2**63), event(2, extra=2**64 - 1)),
     False),
    ("a deeply nested extra", "events", lines(event(1, deep=[[[[]]]]), DEEP), False),
    ("spaces after an object", "events", lines(SPACED + " ", orjson.dumps(event(2)).decode() + "\t\r"),
     False),
]  # fmt: skip


@pytest.mark.parametrize("part_bytes", [PART_BYTES, 700], ids=["one part", "parts of 700 bytes"])
@pytest.mark.parametrize(
    ("entity", "data", "by_arrow"), [case[1:] for case in SAME_JSONL], ids=[case[0] for case in SAME_JSONL]
)
@pytest.mark.parametrize("gzipped", [False, True], ids=["jsonl", "jsonl.gz"])
def test_arrow_reads_json_lines_exactly_as_the_line_by_line_reading(
    monkeypatch: pytest.MonkeyPatch, entity: str, data: bytes, by_arrow: bool, part_bytes: int, gzipped: bool
) -> None:
    # GIVEN a JSON Lines file, read in one part or many
    monkeypatch.setattr(validate_module, "PART_BYTES", part_bytes)
    key = f"raw/{entity}/date=2024-03-01/a.jsonl" + (".gz" if gzipped else "")
    # WHEN it is read as the loader does, and line by line only
    loaded, exact, asked = both_readings(monkeypatch, entity, key, gz(data) if gzipped else data)
    # THEN the parts, their rows and the ignored columns are the same, and Arrow read what it could vouch for
    assert isinstance(exact, list), exact
    assert_same(loaded, exact)
    assert asked
    assert all(asked) is by_arrow


def test_columns_new_to_several_of_arrows_blocks_keep_the_order_they_first_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a part of some 170 of Arrow's blocks, with columns outside the contract new to many of them
    monkeypatch.setattr(validate_module, "ARROW_BLOCK_BYTES", 4096)
    rows = [event(n, **({f"x{n * 7919 % 97}": "v"} if n % 20 == 0 else {})) for n in range(2000)]
    rows.insert(1500, event(1000, b_new=1, a_new=2))
    # WHEN it is read THEN they are ignored in the order they first appear, as line by line
    key = "raw/events/date=2024-03-01/a.jsonl"
    loaded, exact, asked = both_readings(monkeypatch, "events", key, lines(*rows))
    assert isinstance(exact, list)
    assert asked == [True]
    assert exact[0][1] == tuple(dict.fromkeys(name for row in rows for name in row if name not in EVENT))
    assert_same(loaded, exact)


def test_a_file_whose_parts_arrow_cannot_read_is_read_line_by_line_after_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(validate_module, "PART_BYTES", 500)
    data = lines(*[event(n, product_id=n + 0.5) for n in range(20)])
    loaded, exact, asked = both_readings(monkeypatch, "events", "raw/events/date=2024-03-01/a.jsonl", data)
    assert_same(loaded, exact)
    assert asked == [False, False]


BAD_JSONL = [
    # (case, the file's rows or bytes, entity, line, column, words of the reason)
    ("not UTF-8", lines(event(1), event(2)) + b'{"event_id":"e\xe9"}\n', "events", 3, None, "not UTF-8"),
    ("NaN in an extra column", lines(event(1), '{"event_id":"e2","x":NaN}'), "events", 2, None,
     "not valid JSON"),
    ("Infinity in a column", lines(event(1), event(2), '{"event_id":-Infinity}'), "events", 3, None,
     "not valid JSON"),
    ("a lone surrogate", lines(event(1), r'{"event_id":"\ud800"}'), "events", 2, None, "not valid JSON"),
    ("a tab inside a string", lines(event(1), '{"event_id":"a\tb"}'), "events", 2, None, "not valid JSON"),
    ("two objects on a line", lines(event(1), orjson.dumps(event(2)).decode() * 2), "events", 2, None,
     "not valid JSON"),
    ("an object over two lines", lines('{"event_id":"e1","props":', '{"a":"b"}}', event(2) | {"x": {}},
                                       orjson.dumps(event(3)).decode() * 2), "events", 1, None,
     "not valid JSON"),
    ("an array for a row", lines(event(1), "[1, 2]"), "events", 2, None, "must be an object"),
    ("a nesting orjson refuses", lines(event(1), '{"x":' + "[" * 1100 + "]" * 1100 + "}"), "events", 2, None,
     "not valid JSON"),
    ("a line of over a MiB", lines(event(1), event(2, user_agent="x" * (1 << 20))), "events", 2, None,
     "no line end in 1,048,576 bytes"),
    ("a required value null throughout", lines(event(1, event_type=None), event(2, event_type=None)),
     "events", 1, "event_type", "event_type is required and may not be empty"),
    ("a required column missing", lines(*[{k: v for k, v in event(n).items() if k != "event_type"}
                                          for n in range(3)]),
     "events", None, None, "missing required column(s) event_type; the header has ['event_id', 'anonym"),
    ("a column every orders file carries, missing",
     lines({k: v for k, v in ORDER.items() if k != "customer_id"}), "orders", None, None,
     "missing required column(s) customer_id"),
    ("a bad timestamp", lines(*[event(n) for n in range(5)], event(5, occurred_at="01/03/2024 10:00")),
     "events", 6, "occurred_at", "occurred_at must be ISO-8601 with an offset"),
    ("a whole number with a fraction", lines({**REVIEW, "rating": 4.5}), "reviews", 1, "rating",
     "rating must be a whole number"),
    ("only blank lines", b"\n \n\r\n", "events", None, None, "file is empty"),
]  # fmt: skip


@pytest.mark.parametrize("part_bytes", [PART_BYTES, 700], ids=["one part", "parts of 700 bytes"])
@pytest.mark.parametrize(
    ("data", "entity", "line", "column", "reason"),
    [case[1:] for case in BAD_JSONL],
    ids=[case[0] for case in BAD_JSONL],
)
def test_a_bad_json_lines_file_gets_the_rejection_of_the_line_by_line_reading(
    monkeypatch: pytest.MonkeyPatch, part_bytes: int, data: bytes, entity: str, line: int | None,
    column: str | None, reason: str,
) -> None:  # fmt: skip
    monkeypatch.setattr(validate_module, "PART_BYTES", part_bytes)
    key = f"raw/{entity}/date=2024-03-01/a.jsonl"
    loaded, exact, _ = both_readings(monkeypatch, entity, key, data)
    assert isinstance(exact, dict), "the file was not rejected"
    assert loaded == exact
    assert reason in str(exact["reason"])
    assert (exact["line"], exact["column"]) == (line, column)


def test_a_truncated_gzipped_json_lines_file_is_rejected_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate_module, "PART_BYTES", 700)
    data = gz(lines(*[event(n) for n in range(200)]))[:-200]
    loaded, exact, _ = both_readings(monkeypatch, "events", "raw/events/date=2024-03-01/a.jsonl.gz", data)
    assert isinstance(exact, dict)
    assert loaded == exact
    assert "not a readable gzip stream" in str(exact["reason"])
