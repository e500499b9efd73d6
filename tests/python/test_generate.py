"""The generator: deterministic, a shorter run is a prefix of a longer one, contract-true and messy."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from mypy_boto3_s3 import S3Client
from support import DAYS, START, cli, read_landed
from support.contract_reader import KEY_PATTERN, TIMESTAMP_TEXT, parse_row, read_file

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.dev.generate.catalog import PAYMENT_METHODS, PRICE_FX_PER_USD
from shopwarehouse.dev.generate.simulation import Shop
from shopwarehouse.landing.contract import ENTITIES, ORDER_STATUSES, PAYMENT_STATUSES
from shopwarehouse.landing.zone import Landing, LocalLanding


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "file_args",
    [
        ("--format", "csv"),
        ("--format", "csv", "--gzip"),
        ("--format", "jsonl", "--gzip"),
        ("--format", "parquet"),
    ],
)
def test_same_seed_gives_byte_identical_files(tmp_path: Path, file_args: tuple[str, ...]) -> None:
    # GIVEN two runs of the CLI with the same seed, WHEN both finish, THEN every file is the same bytes.
    runs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("other", "8")):
        root = tmp_path / name
        cli(
            "--landing",
            str(root),
            "generate",
            "--seed",
            seed,
            "--start",
            "2024-03-01",
            "--days",
            "10",
            "--orders-per-day",
            "40",
            *file_args,
        )
        runs[name] = snapshot(root)
    assert len(runs["a"]) > 40
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["other"], "a different seed must give different data"


def test_shorter_run_is_prefix_and_late_files_land_later(tmp_path: Path) -> None:
    # GIVEN the landing zone after 10 days and after 20 days of the same shop
    short, long = tmp_path / "short", tmp_path / "long"
    for root, days in ((short, 10), (long, 20)):
        options = GenerateOptions(start=START, days=days, seed=3, orders_per_day=40)
        generate(LocalLanding(root), options)
    first, second = snapshot(short), snapshot(long)
    # THEN everything that had landed after 10 days is unchanged after 20 ...
    assert {k: second[k] for k in first} == first
    # ... and files of the first 10 days' partitions that arrived later are the late and re-sent ones.
    arrived_later = sorted(
        k for k in second.keys() - first.keys() if key_part(k, "date") <= str(START + timedelta(days=9))
    )
    assert arrived_later, "a late file for an earlier day must land in a later run"
    late_file = arrived_later[0]
    assert "resent" not in late_file
    late_day = date.fromisoformat(key_part(late_file, "date"))
    assert late_day == START + timedelta(days=9)


@pytest.fixture(scope="module")
def landed(landing_30d: Landing) -> dict[str, dict[str, Any]]:
    """Every landed file read back through the S3 API: key -> (bytes, header, typed rows)."""
    files = {}
    for obj in landing_30d.list("raw/"):
        data = read_landed(landing_30d, obj.key)
        header, rows = read_file(obj.key, data)
        entity = key_part(obj.key, "entity")
        files[obj.key] = {
            "entity": entity,
            "data": data,
            "header": header,
            "raw": rows,
            "rows": [parse_row(entity, row) for row in rows],
        }
    return files


def rows_of(landed: dict[str, dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    return [
        {**row, "_key": key}
        for key, file in sorted(landed.items())
        if file["entity"] == entity
        for row in file["rows"]
    ]


def latest(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row[key] not in out or row["updated_at"] > out[row[key]]["updated_at"]:
            out[row[key]] = row
    return out


def test_landing_zone_is_readable_through_the_s3_api(
    s3_client: S3Client, landed: dict[str, dict[str, Any]]
) -> None:
    listed = s3_client.list_objects_v2(Bucket="shopwarehouse-test", Prefix="landing/raw/orders/")
    assert listed.get("KeyCount", 0) >= DAYS
    assert {f["entity"] for f in landed.values()} == set(ENTITIES)
    days = {key_part(k, "date") for k in landed}
    assert days == {str(START + timedelta(days=i)) for i in range(DAYS)}


def test_every_file_honours_the_contract(landed: dict[str, dict[str, Any]]) -> None:
    # parse_row (in the fixture) already parsed every value by its contract type; here the rest.
    for key, file in landed.items():
        assert file["header"] == list(ENTITIES[file["entity"]].column_names), key
        assert file["rows"], f"{key} is empty"
    orders = rows_of(landed, "orders")
    assert {r["order_status"] for r in orders} == set(ORDER_STATUSES)
    for row in orders:
        assert row["total_amount"] == (
            row["subtotal_amount"] - row["discount_amount"] + row["shipping_amount"] + row["tax_amount"]
        ), row
        assert row["updated_at"] >= row["ordered_at"]
    payments = rows_of(landed, "payments")
    assert {r["payment_status"] for r in payments} == set(PAYMENT_STATUSES)
    assert {r["payment_method"] for r in payments} == set(PAYMENT_METHODS)
    for row in payments:
        assert (row["failure_reason"] is not None) == (row["payment_status"] == "failed"), row
        refund = row["payment_status"] in ("refunded", "partially_refunded")
        assert (row["refunded_amount"] is not None) == refund, row
        if refund:
            assert Decimal(0) < row["refunded_amount"] <= row["amount"], row
    items = rows_of(landed, "order_items")
    assert all(row["quantity"] > 0 for row in items)
    assert {r["currency"] for r in rows_of(landed, "products")} == {"USD"}


def test_items_add_up_to_the_order_subtotal(landed: dict[str, dict[str, Any]]) -> None:
    subtotal: dict[str, Decimal] = defaultdict(Decimal)
    lines: Counter[str] = Counter()
    for item in latest(rows_of(landed, "order_items"), "order_item_id").values():
        subtotal[item["order_id"]] += item["quantity"] * item["unit_price"] - item["discount_amount"]
        lines[item["order_id"]] += 1
    orders = latest(rows_of(landed, "orders"), "order_id")
    # Items can land before their order (a late order row): only for orders of the last export day.
    assert set(orders) <= set(subtotal)
    last_day = str(START + timedelta(days=DAYS - 1))
    items = rows_of(landed, "order_items")
    orphans = {(key_part(i["_key"], "date"), i["order_id"]) for i in items if i["order_id"] not in orders}
    assert {day for day, _ in orphans} <= {last_day}, orphans
    # The last day's late rows (some items of its last orders) are still to come; earlier days are whole.
    closed = [o for o, row in orders.items() if str(row["ordered_at"].astimezone(UTC).date()) < last_day]
    mismatched = {
        o: (orders[o]["subtotal_amount"], subtotal[o])
        for o in closed
        if orders[o]["subtotal_amount"] != subtotal[o]
    }
    assert len(closed) > 3000
    assert not mismatched
    assert set(lines.values()) == {1, 2, 3, 4, 5, 6}, "baskets hold 1 to 6 items"


def test_the_messy_cases_are_all_there(landed: dict[str, dict[str, Any]]) -> None:
    orders = rows_of(landed, "orders")
    payments = rows_of(landed, "payments")
    customers = rows_of(landed, "customers")

    # Orders move through statuses over several days: the same key again with a later updated_at.
    statuses: dict[str, set[str]] = defaultdict(set)
    for row in orders:
        statuses[row["order_id"]].add(row["order_status"])
    assert max(len(s) for s in statuses.values()) >= 3
    assert any(
        len({r["updated_at"].date() for r in orders if r["order_id"] == o}) >= 3 for o in list(statuses)[:50]
    )

    # Exact duplicate rows inside one file.
    assert any(len(f["raw"]) > len({tuple(sorted(r.items())) for r in f["raw"]}) for f in landed.values())

    # One file's content re-delivered under another name.
    by_content: dict[bytes, list[str]] = defaultdict(list)
    for key, file in landed.items():
        by_content[file["data"]].append(key)
    assert any(len(keys) == 2 for keys in by_content.values())

    # Late rows: changed on one day, exported with a later day's file.
    assert any(str(r["updated_at"].astimezone(UTC).date()) < key_part(r["_key"], "date") for r in orders)

    # Erasure requests.
    assert any(row["is_deleted"] for row in customers)

    # 3-8% of payment attempts fail; failed attempts are often retried and then succeed.
    attempts = latest(payments, "payment_id")
    failed = [p for p in attempts.values() if p["payment_status"] == "failed"]
    assert 0.03 <= len(failed) / len(attempts) <= 0.08
    succeeded_orders = {p["order_id"] for p in attempts.values() if p["payment_status"] != "failed"}
    assert len({p["order_id"] for p in failed} & succeeded_orders) >= 5

    # Returned orders are refunded, in full or in part.
    final_orders = latest(orders, "order_id")
    returned = {o for o, r in final_orders.items() if r["order_status"] == "returned"}
    refunds = {
        p["order_id"]: p["payment_status"]
        for p in attempts.values()
        if p["payment_status"] in ("refunded", "partially_refunded")
    }
    assert returned & refunds.keys()
    assert set(refunds.values()) == {"refunded", "partially_refunded"}
    assert refunds.keys() <= {
        o for o, r in final_orders.items() if r["order_status"] in ("returned", "cancelled")
    }

    # Several currencies, by the customer's country; timestamps written with offsets as well as 'Z'.
    assert {r["currency"] for r in orders} == {"USD", "EUR", "GBP", "BRL", "CAD"}
    raw_times = {r["ordered_at"][-6:] for f in landed.values() if f["entity"] == "orders" for r in f["raw"]}
    assert any(t.endswith("Z") for t in raw_times)
    assert any(TIMESTAMP_TEXT.match(f"2024-03-01T00:00:00{t}") and not t.endswith("Z") for t in raw_times)

    # Repeat buyers: customers with more than one order (guest checkouts have no customer).
    per_customer = Counter(r["customer_id"] for r in final_orders.values() if r["customer_id"] is not None)
    assert sum(1 for n in per_customer.values() if n > 1) > len(per_customer) * 0.05


def test_guest_checkouts_are_orders_without_a_customer_that_still_have_items_and_payments(
    landed: dict[str, dict[str, Any]],
) -> None:
    orders = latest(rows_of(landed, "orders"), "order_id")
    guests = {o for o, row in orders.items() if row["customer_id"] is None}
    # About 2% of orders are guest checkouts, written as an empty customer_id
    assert 0.01 <= len(guests) / len(orders) <= 0.035, (len(guests), len(orders))
    raw = [r for f in landed.values() if f["entity"] == "orders" for r in f["raw"] if r["customer_id"] == ""]
    assert {r["order_id"] for r in raw} == guests
    # ... which are orders like any other: items, payments, all statuses, every market's currency
    with_items = {i["order_id"] for i in rows_of(landed, "order_items")}
    paid = {p["order_id"] for p in rows_of(landed, "payments")}
    assert guests <= with_items
    assert guests <= paid
    assert {row["order_status"] for o, row in orders.items() if o in guests} >= {"delivered", "shipped"}
    assert len({row["currency"] for o, row in orders.items() if o in guests}) >= 4
    # ... and every order that names a customer still does
    assert sum(row["customer_id"] is not None for row in orders.values()) > 0.95 * len(orders)


def test_fully_discounted_orders_total_zero_and_are_paid_by_a_gift_card_of_zero(
    landed: dict[str, dict[str, Any]],
) -> None:
    orders = latest(rows_of(landed, "orders"), "order_id")
    free = {o: row for o, row in orders.items() if row["total_amount"] == 0}
    # A small share of orders (about 0.5%) a voucher paid for in full ...
    assert 5 <= len(free) <= 0.02 * len(orders), (len(free), len(orders))
    for row in free.values():
        # ... their items discounted away, shipped free, nothing taxed: the total still adds up
        assert row["subtotal_amount"] > 0
        assert row["discount_amount"] == row["subtotal_amount"], row
        assert (row["shipping_amount"], row["tax_amount"]) == (Decimal(0), Decimal(0)), row
        assert row["total_amount"] == (
            row["subtotal_amount"] - row["discount_amount"] + row["shipping_amount"] + row["tax_amount"]
        )
    # ... each paid by one gift card payment of 0.00 that succeeded, and never refunded
    payments: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for payment in latest(rows_of(landed, "payments"), "payment_id").values():
        payments[payment["order_id"]].append(payment)
    for order_id in free:
        (payment,) = payments[order_id]
        assert (payment["payment_method"], payment["payment_status"], payment["amount"]) == (
            "gift_card", "succeeded", Decimal("0.00"),
        ), payment  # fmt: skip
        assert payment["refunded_amount"] is None
    # ... and no order with something to pay is left at zero
    assert all(row["total_amount"] > 0 for o, row in orders.items() if o not in free)


def test_exchange_rates_land_every_day_for_every_currency_sold_as_a_random_walk(
    landed: dict[str, dict[str, Any]],
) -> None:
    rates = rows_of(landed, "fx_rates")
    sold = {row["currency"] for row in rows_of(landed, "orders")} - {"USD"}
    assert sold == {"BRL", "CAD", "EUR", "GBP"}
    # One file a day, in the day's partition, with that day's rate for each currency sold besides the dollar
    by_day: dict[date, dict[str, Decimal]] = defaultdict(dict)
    for row in rates:
        assert row["rate_date"] == date.fromisoformat(key_part(row["_key"], "date")), row
        assert row["currency"] not in by_day[row["rate_date"]], f"{row} twice"
        by_day[row["rate_date"]][row["currency"]] = row["usd_per_unit"]
    days = [START + timedelta(days=i) for i in range(DAYS)]
    assert sorted(by_day) == days
    assert all(set(by_day[day]) == sold for day in days)
    # Rates are written with 8 places, all of them
    raw = [r["usd_per_unit"] for f in landed.values() if f["entity"] == "fx_rates" for r in f["raw"]]
    assert len(raw) == len(rates) == DAYS * len(sold)
    assert all(len(text.partition(".")[2]) == 8 for text in raw), raw[:8]
    # The first day's rates are the catalogue's prices' rates; then each day's moves from the day before
    # by a small random step (log-normal, about 0.4% a day), never the same two days running
    assert by_day[START] == {c: round(Decimal(1) / Decimal(str(PRICE_FX_PER_USD[c])), 8) for c in sold}
    for currency in sold:
        walk = [float(by_day[day][currency]) for day in days]
        steps = [math.log(b / a) for a, b in pairwise(walk)]
        assert all(step != 0 for step in steps), (currency, walk)
        assert max(abs(step) for step in steps) < 0.03, (currency, steps)
        assert 0.002 < statistics.pstdev(steps) < 0.007, (currency, steps)
        assert len({step > 0 for step in steps}) == 2, "a walk goes up and down"


def key_part(key: str, part: str) -> str:
    """``entity``, ``date``, ``name`` or ``suffix`` of a landed key."""
    match = KEY_PATTERN.match(key)
    assert match, f"{key} does not follow raw/<entity>/date=YYYY-MM-DD/<file>"
    return match[part]


@pytest.mark.parametrize(("growth", "low", "high"), [(True, 1.5, 4.0), (False, 0.8, 1.2)])
def test_a_steady_shop_keeps_its_volume_and_a_growing_one_grows(
    growth: bool, low: float, high: float
) -> None:
    # GIVEN a shop simulated for a year and a week, growing (the default) or steady (--steady)
    shop = Shop(seed=3, start=date(2024, 1, 1), orders_per_day=200, growth=growth)
    placed = []
    for index in range(371):
        before = shop.next_id["orders"]
        shop.day(index)
        placed.append(shop.next_id["orders"] - before)
    # WHEN the first week's orders are set against those of the same week a year later (same weekdays)
    ratio = sum(placed[364:]) / sum(placed[:7])
    # THEN the growing shop sells several times as much, the steady one about the same
    assert low < ratio < high, (ratio, placed[:7], placed[364:])


@pytest.mark.parametrize("orders_per_day", [1, 5])
def test_a_small_shop_with_quiet_days_generates_every_day(tmp_path: Path, orders_per_day: int) -> None:
    # A day on which no row of some kind changes must not stop the generator (it once did, at 5 a day)
    landing = LocalLanding(tmp_path)
    summary = generate(landing, GenerateOptions(start=START, days=5, seed=3, orders_per_day=orders_per_day))
    assert summary.orders > 0
    days = {obj.key.split("/")[2] for obj in landing.list("raw/orders/")}
    assert days == {f"date={START + timedelta(days=n)}" for n in range(5)}
