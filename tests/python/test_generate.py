"""The generator: deterministic, a shorter run is a prefix of a longer one, contract-true and messy."""

from __future__ import annotations

import gzip
import math
import re
import statistics
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
from mypy_boto3_s3 import S3Client
from support import DAYS, START, cli, read_landed
from support.contract_reader import KEY_PATTERN, TIMESTAMP_TEXT, parse, parse_row, read_file

from shopwarehouse.dev.generate import GenerateOptions, GenerateSummary, generate
from shopwarehouse.dev.generate.catalog import FIRST_NAMES, PAYMENT_METHODS, PRICE_FX_PER_USD
from shopwarehouse.dev.generate.export import Export, event_json_lines, gzip_in_parallel, json_lines
from shopwarehouse.dev.generate.simulation import Shop
from shopwarehouse.landing.contract import DEVICES, ENTITIES, EVENT_TYPES, ORDER_STATUSES, PAYMENT_STATUSES
from shopwarehouse.landing.zone import Landing, LocalLanding


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "file_args",
    [
        ("--format", "csv"),
        ("--format", "csv", "--gzip", "--events-format", "csv"),
        ("--format", "jsonl", "--gzip", "--no-events-gzip"),
        ("--format", "parquet", "--events-format", "parquet"),
    ],
)
def test_same_seed_gives_byte_identical_files(tmp_path: Path, file_args: tuple[str, ...]) -> None:
    # GIVEN two runs of the CLI with the same seed (the clickstream in the format asked, gzipped JSON Lines by
    # default), WHEN both finish, THEN every file is the same bytes.
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
    assert {key_part(k, "entity") for k in runs["a"]} == set(ENTITIES)
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
    # The clickstream too: its first 10 days are the same bytes, and events of those days delivered late
    # land in the later days' files.
    assert any(key_part(k, "entity") == "events" for k in first)
    later_events = [
        parse_row("events", row)
        for key in sorted(second.keys() - first.keys())
        if key_part(key, "entity") == "events"
        for row in read_file(key, second[key])[1]
    ]
    assert any(e["occurred_at"].date() <= START + timedelta(days=9) for e in later_events)


@pytest.fixture(scope="module")
def landed(landing_30d: Landing) -> dict[str, dict[str, Any]]:
    """Every landed file read back through the S3 API: key -> (bytes, header, raw rows, typed rows). The
    clickstream's rows (hundreds of thousands) are typed value by distinct value in the contract's test, and
    its behaviour is tested on a smaller shop (``clicks``)."""
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
            "rows": [] if entity == "events" else [parse_row(entity, row) for row in rows],
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
        assert file["raw"], f"{key} is empty"
    # The clickstream's values, each distinct one parsed by its column's type (the same check, value by value)
    events = [row for file in landed.values() if file["entity"] == "events" for row in file["raw"]]
    assert len(events) > 100_000
    for column in ENTITIES["events"].columns:
        for value in {row[column.name] for row in events}:
            parse(column, value)
    assert {row["event_type"] for row in events} == set(EVENT_TYPES)
    assert {row["device"] for row in events} == set(DEVICES)
    # an event's id: its device's and its number on the device (unique: a copy delivered again has the same)
    assert all(re.fullmatch(r"evt_[0-9a-f]{16}_[0-9a-f]{8}", row["event_id"]) for row in events)
    assert all(re.fullmatch(r"anon_[0-9a-f]{16}", row["anonymous_id"]) for row in events)
    reviews = rows_of(landed, "reviews")
    assert {r["rating"] for r in reviews} == {1, 2, 3, 4, 5}
    assert all(re.fullmatch(r"rev_\d{9}", r["review_id"]) for r in reviews)
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
    assert any(
        len(f["raw"]) > len({tuple(sorted(r.items())) for r in f["raw"]})
        for f in landed.values()
        if f["entity"] != "events"
    )

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
    # GIVEN a shop simulated for a year and a week, growing (the default) or steady (--steady); only its
    # orders' sessions in the clickstream
    shop = Shop(seed=3, start=date(2024, 1, 1), orders_per_day=200, growth=growth, clickstream_scale=0)
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


def test_a_busy_day_moves_a_buyers_clashing_sessions_to_new_devices_up_to_three(tmp_path: Path) -> None:
    # At 3,000 orders a day, some buyer has two orders whose sessions clash with their devices' other
    # sessions; both move to new devices, and the first of them may take the buyer's last free place
    # (the second once overran the three places)
    summary = generate(
        LocalLanding(tmp_path),
        GenerateOptions(start=START, days=1, seed=21, orders_per_day=3000, clickstream_scale=0.0),
    )
    assert summary.clickstream["converting_sessions"] == summary.orders
    assert summary.clickstream["converting_sessions_moved"] > 0


# -- reviews ----------------------------------------------------------------------------------------------


def order_lives(landed: dict[str, dict[str, Any]]) -> dict[str, dict[str, datetime]]:
    """Per order, when it reached each status (its first version with that status)."""
    lives: dict[str, dict[str, datetime]] = defaultdict(dict)
    for row in rows_of(landed, "orders"):
        at = lives[row["order_id"]].get(row["order_status"])
        if at is None or row["updated_at"] < at:
            lives[row["order_id"]][row["order_status"]] = row["updated_at"]
    return lives


def test_reviews_are_of_delivered_orders_and_late_deliveries_rate_worse(
    landed: dict[str, dict[str, Any]],
) -> None:
    # GIVEN thirty days of reviews and the orders they are of
    versions = rows_of(landed, "reviews")
    reviews = latest(versions, "review_id")
    lives = order_lives(landed)
    orders = latest(rows_of(landed, "orders"), "order_id")
    items: dict[str, set[str]] = defaultdict(set)
    for item in rows_of(landed, "order_items"):
        items[item["order_id"]].add(item["product_id"])
    # (the first version landed: a day's export holds a review's latest version of that day)
    first = {r["review_id"]: r for r in sorted(versions, key=lambda r: r["updated_at"], reverse=True)}
    assert len(reviews) > 300
    # THEN each is of an order delivered at least two hours before it was written (most within days), by
    # the order's customer (none for a guest's) ...
    settled = [r for r in reviews.values() if r["created_at"].date() <= START + timedelta(days=DAYS - 4)]
    for review in settled:
        delivered = lives[review["order_id"]].get("delivered")
        assert delivered is not None, review
        assert timedelta(hours=2) <= review["created_at"] - delivered, review
        assert review["customer_id"] == orders[review["order_id"]]["customer_id"], review
        # ... of one of its products, or of the order as a whole (about 10%)
        assert review["product_id"] is None or review["product_id"] in items[review["order_id"]], review
        assert first[review["review_id"]]["updated_at"] >= review["created_at"]
    whole = sum(r["product_id"] is None for r in reviews.values()) / len(reviews)
    assert 0.04 < whole < 0.18, whole
    assert any(r["customer_id"] is None for r in reviews.values()), "guests review too"
    # ... for about a fifth of the orders delivered long enough ago that their reviews are all written
    delivered_early = {
        o
        for o, life in lives.items()
        if "delivered" in life and life["delivered"].date() < START + timedelta(10)
    }
    share = len({r["order_id"] for r in reviews.values()} & delivered_early) / len(delivered_early)
    assert 0.15 <= share <= 0.25, share
    # ... and orders delivered more than 5 days after they were placed rate clearly worse
    ratings: dict[bool, list[int]] = defaultdict(list)
    for review in settled:
        life = lives[review["order_id"]]
        late = life["delivered"] - orders[review["order_id"]]["ordered_at"] > timedelta(days=5)
        ratings[late].append(first[review["review_id"]]["rating"])
    assert len(ratings[True]) >= 20, "late deliveries are reviewed too"
    assert statistics.mean(ratings[False]) - statistics.mean(ratings[True]) > 0.7, {
        late: statistics.mean(r) for late, r in ratings.items()
    }


def test_reviews_are_answered_edited_and_withdrawn_as_later_versions(
    landed: dict[str, dict[str, Any]],
) -> None:
    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows_of(landed, "reviews"):
        versions[row["review_id"]].append(row)
    reviews = {k: max(v, key=lambda r: r["updated_at"]) for k, v in versions.items()}
    # The shop answers about 40% (complaints more often): a later version, updated when answered
    answered = [r for r in reviews.values() if r["answered_at"] is not None]
    assert 0.25 <= len(answered) / len(reviews) <= 0.55, len(answered) / len(reviews)
    assert all(
        timedelta(hours=4) <= r["answered_at"] - r["created_at"] <= timedelta(days=5) for r in answered
    )
    assert any(r["updated_at"] == r["answered_at"] for r in answered)
    low = [r for r in reviews.values() if r["rating"] <= 2]
    high = [r for r in reviews.values() if r["rating"] >= 4]
    assert sum(r["answered_at"] is not None for r in low) / len(low) > sum(
        r["answered_at"] is not None for r in high
    ) / len(high)
    # A few are edited (the rating changes) and a few withdrawn (is_deleted, a later version)
    assert any(len({v["rating"] for v in vs}) > 1 for vs in versions.values())
    deleted = [r for r in reviews.values() if r["is_deleted"]]
    assert deleted
    assert all(len(versions[r["review_id"]]) >= 2 for r in deleted)
    assert {r["is_deleted"] for r in reviews.values()} >= {False, True, None}
    # Free text: some signed with the customer's first name (personal data), some holding a quote, a comma or
    # a line break (here in CSV, quoted)
    bodies = [r["body"] for r in reviews.values() if r["body"]]
    names = {f" \u2014 {name}" for name in FIRST_NAMES}
    assert any(any(body.endswith(name) for name in names) for body in bodies)
    for character in ('"', ",", "\n"):
        assert any(character in body for body in bodies), character
    raw = [r for f in landed.values() if f["entity"] == "reviews" for r in f["raw"]]
    assert any(r["title"] == "" for r in raw)
    assert any(r["answered_at"] == "" for r in raw)


# -- the clickstream ----------------------------------------------------------------------------------------

BOT = re.compile(r"bot|crawler|spider|headless", re.IGNORECASE)
SESSION_GAP = timedelta(minutes=30)
CLICKS_DAYS = 8

Event = dict[str, Any]


@dataclass
class Clicks:
    """A small shop's clickstream read back: every delivered copy in file order, and what it adds up to."""

    summary: GenerateSummary
    delivered: list[Event]  # typed, with "_day" (its file's day) and "_at" (its position in the files)
    events: list[Event]  # each event once (its first copy)
    sessions: list[list[Event]]  # people's sessions: a visitor's events in time order, split at 30 minutes
    bot_events: list[Event]
    orders: dict[str, dict[str, Any]]  # the latest version of each order
    items: dict[str, list[str]]  # each order's products
    customers: dict[str, dict[str, Any]]  # the latest version of each customer
    last_day: date

    @property
    def settled_day(self) -> date:
        """The last day whose late events (up to 3 days late) have all landed."""
        return self.last_day - timedelta(days=3)


def read_clicks(root: Path, summary: GenerateSummary) -> Clicks:
    delivered: list[Event] = []
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        entity = key_part(key, "entity")
        header, raw = read_file(key, path.read_bytes())
        assert header == list(ENTITIES[entity].column_names), key
        typed = [parse_row(entity, row) for row in raw]
        if entity == "events":
            day = date.fromisoformat(key_part(key, "date"))
            delivered += [{**row, "_day": day, "_at": len(delivered) + i} for i, row in enumerate(typed)]
        else:
            rows[entity] += typed
    events = list({e["event_id"]: e for e in reversed(delivered)}.values())
    events.sort(key=lambda e: e["_at"])
    by_visitor: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_visitor[event["anonymous_id"]].append(event)
    sessions: list[list[Event]] = []
    for visits in by_visitor.values():
        visits.sort(key=lambda e: (e["occurred_at"], e["_at"]))
        sessions.append([visits[0]])
        for before, event in pairwise(visits):
            if event["occurred_at"] - before["occurred_at"] > SESSION_GAP:
                sessions.append([])
            sessions[-1].append(event)
    items: dict[str, list[str]] = defaultdict(list)
    for item in latest(rows["order_items"], "order_item_id").values():
        items[item["order_id"]].append(item["product_id"])
    return Clicks(
        summary=summary,
        delivered=delivered,
        events=events,
        sessions=[s for s in sessions if not BOT.search(s[0]["user_agent"])],
        bot_events=[e for e in events if BOT.search(e["user_agent"])],
        orders=latest(rows["orders"], "order_id"),
        items=items,
        customers=latest(rows["customers"], "customer_id"),
        last_day=START + timedelta(days=CLICKS_DAYS - 1),
    )


@pytest.fixture(scope="module")
def clicks(tmp_path_factory: pytest.TempPathFactory) -> Clicks:
    """Eight days of a small shop (40 orders a day) with its clickstream at the default scale, read back."""
    root = tmp_path_factory.mktemp("clicks")
    options = GenerateOptions(start=START, days=CLICKS_DAYS, seed=5, orders_per_day=40)
    return read_clicks(root, generate(LocalLanding(root), options))


def _by_visitor(events: list[Event]) -> dict[str, list[Event]]:
    visitors: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        visitors[event["anonymous_id"]].append(event)
    return visitors


def session_of(clicks: Clicks) -> dict[str, list[Event]]:
    """The session of each event, by event_id."""
    return {e["event_id"]: session for session in clicks.sessions for e in session}


def test_every_order_ends_a_session_of_its_own(clicks: Clicks) -> None:
    # GIVEN the orders placed on days whose events have all landed
    settled = {
        o: row
        for o, row in clicks.orders.items()
        if row["ordered_at"].astimezone(UTC).date() <= clicks.settled_day
    }
    assert len(settled) > 150
    completions: dict[str, list[Event]] = defaultdict(list)
    for event in clicks.events:
        if event["event_type"] == "order_completed":
            completions[event["order_id"]].append(event)
    # THEN every completion is of an order, and every order (guests' too) has exactly one ...
    assert set(completions) <= set(clicks.orders)
    sessions = session_of(clicks)
    guests = 0
    for order_id, order in settled.items():
        (completed,) = completions[order_id]
        # ... at the moment the order was placed, by its customer (none for a guest), on the checkout page
        assert completed["occurred_at"] == order["ordered_at"], (completed, order)
        assert completed["customer_id"] == order["customer_id"], (completed, order)
        assert completed["page_path"] == "/checkout/complete"
        # ... which ends its session: after a landing page view, views of the order's products, adding each
        # of them to the cart, and the checkout
        session = sessions[completed["event_id"]]
        assert max(e["occurred_at"] for e in session) == completed["occurred_at"]
        kinds = Counter(e["event_type"] for e in session)
        assert kinds["order_completed"] == 1, kinds
        assert kinds["checkout_started"] == 1, kinds
        assert kinds["page_view"] >= 1, kinds
        assert any(
            e["event_type"] == "page_view" and e["page_path"] in ("/", *CATEGORY_PATHS) for e in session
        )
        for product in clicks.items[order_id]:
            for kind in ("product_view", "add_to_cart"):
                assert any(e["event_type"] == kind and e["product_id"] == product for e in session), (
                    kind,
                    order_id,
                )
        viewed = [e for e in session if e["event_type"] == "product_view"]
        assert all(e["page_path"] == f"/p/{e['product_id']}" for e in viewed)
        if order["customer_id"] is None:
            guests += 1
            assert all(e["customer_id"] is None for e in session), "a guest never signs in"
    assert guests > 0


CATEGORY_PATHS = tuple(f"/c/{name}" for name in ("apparel", "footwear", "accessories", "home", "beauty",
                                                   "electronics", "sports", "toys", "books"))  # fmt: skip


def test_few_sessions_convert_after_a_funnel(clicks: Clicks) -> None:
    # GIVEN the people's sessions (a visitor's events more than 30 minutes apart start a new one)
    sessions = clicks.sessions
    # THEN about as many as the generator made: sessions of one visitor are more than 30 minutes apart
    made = clicks.summary.clickstream["sessions"] - clicks.summary.clickstream["bot_sessions"]
    assert 0.97 * made <= len(sessions) <= made, (len(sessions), made)
    # ... each of seconds to minutes between its events (a late event not landed yet leaves a wider gap)
    gaps = [b["occurred_at"] - a["occurred_at"] for s in sessions for a, b in pairwise(s)]
    assert sum(gap <= timedelta(minutes=10, seconds=5) for gap in gaps) / len(gaps) > 0.995
    # ... 1% to 4% of them ending in an order, through a funnel that loses visitors at every step
    reached = Counter(kind for s in sessions for kind in {e["event_type"] for e in s})
    conversion = reached["order_completed"] / len(sessions)
    assert 0.01 <= conversion <= 0.04, conversion
    funnel = [reached[kind] for kind in ("page_view", "product_view", "add_to_cart", "checkout_started")]
    assert funnel == sorted(funnel, reverse=True), funnel
    assert funnel[0] > 0.99 * len(sessions), funnel
    assert funnel[1] < 0.7 * len(sessions), funnel
    assert reached["checkout_started"] > 1.5 * reached["order_completed"], "carts are abandoned at checkout"
    assert reached["remove_from_cart"] > 0
    # ... most of them a single page or a few (on the order of 4 to 6 events a session)
    assert 3.5 <= statistics.mean(len(s) for s in sessions) <= 6.5


def test_visitors_browse_anonymously_and_sign_in_on_their_devices(clicks: Clicks) -> None:
    sessions = [s for s in clicks.sessions if s[-1]["occurred_at"].date() <= clicks.settled_day]
    # An anonymous id is one device: always the same kind of device, and one customer at most
    devices: dict[str, set[str]] = defaultdict(set)
    customers: dict[str, set[str]] = defaultdict(set)
    for event in clicks.events:
        devices[event["anonymous_id"]].add(event["device"])
        if event["customer_id"]:
            customers[event["anonymous_id"]].add(event["customer_id"])
    assert all(len(kinds) == 1 for kinds in devices.values())
    assert all(len(c) == 1 for c in customers.values())
    assert all(re.fullmatch(r"anon_[0-9a-f]{16}", anonymous_id) for anonymous_id in devices)
    # ... a customer has one to three of them
    per_customer = Counter(c for cs in customers.values() for c in cs)
    assert set(per_customer.values()) == {1, 2, 3}
    # Most visitors never sign in
    assert len(customers) < 0.3 * len(devices)
    # In a session, the customer is known from the sign-in on (a client clock behind may swap two events)
    shapes = Counter(
        re.sub(r"(.)\1+", r"\1", "".join("c" if e["customer_id"] else "a" for e in s)) for s in sessions
    )
    assert shapes["a"] > shapes["c"] > shapes["ac"] > 0, shapes
    assert sum(n for shape, n in shapes.items() if shape not in ("a", "c", "ac")) <= 0.01 * len(sessions)
    # A visitor signs in in a later session than their first; on a device signed in before, every later
    # session carries the customer again (from its start or after signing in again)
    by_device: dict[str, list[list[Event]]] = defaultdict(list)
    for session in sessions:
        by_device[session[0]["anonymous_id"]].append(session)
    later_sign_in = 0
    for visits in by_device.values():
        visits.sort(key=lambda s: s[0]["occurred_at"])
        signed = [any(e["customer_id"] for e in s) for s in visits]
        if True in signed:
            first = signed.index(True)
            later_sign_in += first > 0
            assert all(signed[first:]), [[(e["occurred_at"], e["customer_id"]) for e in s] for s in visits]
    assert later_sign_in > 0
    # A customer who signed up during the run starts each of their devices anonymous (a few events may swap
    # places with the one before them: clocks behind)
    new = {c for c, row in clicks.customers.items() if row["created_at"].date() >= START}
    firsts = [
        min(visits, key=lambda e: (e["occurred_at"], e["_at"]))
        for anonymous_id, visits in _by_visitor(clicks.events).items()
        if customers.get(anonymous_id, set()) & new
    ]
    assert len(firsts) > 100
    assert sum(e["customer_id"] is not None for e in firsts) <= 0.01 * len(firsts)


def test_sessions_land_with_their_campaign_and_referrer(clicks: Clicks) -> None:
    sessions = clicks.sessions
    landing_keys = ("utm_source", "utm_medium", "utm_campaign", "referrer")
    # Campaign parameters and the referrer are on a session's landing page view only (one event at most)
    for session in sessions:
        landings = [e for e in session if any(e[k] for k in landing_keys)]
        assert len(landings) <= 1, session
        assert all(e["event_type"] == "page_view" for e in landings)
    campaigns = [e for s in sessions for e in s if e["utm_source"]]
    assert 0.2 <= len(campaigns) / len(sessions) <= 0.4
    assert {e["utm_medium"] for e in campaigns} == {"cpc", "email", "social", "affiliate"}
    assert all(e["utm_campaign"] and e["utm_medium"] for e in campaigns)
    referrers = Counter(e["referrer"] for s in sessions for e in s if e["referrer"])
    assert any("google." in r for r in referrers)
    assert any("facebook." in r for r in referrers)
    assert all(r.startswith("https://") for r in referrers)
    direct = sum(not any(e["referrer"] for e in s) for s in sessions) / len(sessions)
    assert 0.3 < direct < 0.7, direct
    # Every event has a page, a device, a country of the shop's markets and a browser
    countries = {e["country"] for e in clicks.events}
    assert countries <= {"US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "BR"}
    assert len(countries) > 5
    assert all(e["page_path"] and e["page_path"].startswith("/") for e in clicks.events)
    assert all(e["device"] in DEVICES and e["user_agent"] for e in clicks.events)


def test_the_clickstream_is_messy(clicks: Clicks) -> None:
    events, delivered = clicks.events, clicks.delivered
    # Events delivered 1 to 3 days late: in a later day's file (about 1.5%)
    late = Counter((e["_day"] - e["occurred_at"].date()).days for e in events)
    assert set(late) <= {0, 1, 2, 3}, late
    assert 0.005 <= (late[1] + late[2] + late[3]) / len(events) <= 0.03, late
    assert late[3] > 0
    # The same event delivered twice (about 0.5%), the same content, in the same file or a later one
    copies: dict[str, list[Event]] = defaultdict(list)
    for event in delivered:
        copies[event["event_id"]].append(event)
    twice = [c for c in copies.values() if len(c) > 1]
    assert 0.002 <= len(twice) / len(events) <= 0.01, len(twice) / len(events)
    strip = ("_day", "_at")
    for a, b in twice:
        assert {k: v for k, v in a.items() if k not in strip} == {
            k: v for k, v in b.items() if k not in strip
        }
    assert {a["_day"] == b["_day"] for a, b in twice} == {True, False}
    # Crawlers (3% to 5% of the events): bots' and headless browsers' user agents, many page views a visit,
    # never signed in, never an order
    assert 0.02 <= len(clicks.bot_events) / len(events) <= 0.06, len(clicks.bot_events) / len(events)
    assert {m.lower() for e in clicks.bot_events for m in BOT.findall(e["user_agent"])} >= {"bot", "headless"}
    assert all(e["customer_id"] is None and e["order_id"] is None for e in clicks.bot_events)
    assert {e["event_type"] for e in clicks.bot_events} == {"page_view"}
    per_bot = Counter(e["anonymous_id"] for e in clicks.bot_events)
    assert statistics.mean(per_bot.values()) > 30
    # Client clocks a few seconds behind: in a file, an event stamped before the event its visitor sent
    # just before it (a few per thousand; the events sent on time, each once)
    previous: dict[tuple[date, str], Event] = {}
    behind = []
    seen = set()
    for event in delivered:
        if event["event_id"] in seen or event["_day"] != event["occurred_at"].date():
            continue
        seen.add(event["event_id"])
        before = previous.get((event["_day"], event["anonymous_id"]))
        if before and event["occurred_at"] < before["occurred_at"]:
            behind.append(before["occurred_at"] - event["occurred_at"])
        previous[(event["_day"], event["anonymous_id"])] = event
    assert 0.0005 <= len(behind) / len(events) <= 0.01, len(behind) / len(events)
    assert all(gap <= timedelta(seconds=5) for gap in behind), behind


@pytest.mark.parametrize(("scale", "low", "high"), [(0.0, 1.0, 1.0), (0.5, 0.45, 0.55), (2.0, 1.85, 2.15)])
def test_the_clickstream_scale_scales_the_sessions_without_an_order(
    tmp_path: Path, clicks: Clicks, scale: float, low: float, high: float
) -> None:
    # GIVEN the shop of ``clicks`` (scale 1) generated again with the clickstream scaled
    options = GenerateOptions(
        start=START, days=CLICKS_DAYS, seed=5, orders_per_day=40, clickstream_scale=scale
    )
    summary = generate(LocalLanding(tmp_path), options)
    # THEN the orders, their sessions and every other entity are the same ...
    ours, theirs = summary.clickstream, clicks.summary.clickstream
    assert summary.orders == clicks.summary.orders
    assert ours["converting_sessions"] == theirs["converting_sessions"] == summary.orders
    assert {k: v for k, v in summary.rows.items() if k != "events"} == {
        k: v for k, v in clicks.summary.rows.items() if k != "events"
    }
    # ... and the sessions without an order (and the crawlers') scale with it
    browsing = ours["sessions"] - ours["converting_sessions"]
    reference = theirs["sessions"] - theirs["converting_sessions"]
    if scale == 0:
        assert browsing == 0
        assert ours.get("bot_events", 0) == 0
        assert summary.rows["events"] < 20 * summary.orders
    else:
        assert low <= browsing / reference <= high, browsing / reference


@pytest.mark.parametrize(("events_format", "gzipped"), [("csv", False), ("csv", True), ("parquet", False),
                                                          ("jsonl", False)])  # fmt: skip
def test_the_clickstream_lands_in_any_format_and_says_the_same(
    tmp_path: Path, events_format: str, gzipped: bool
) -> None:
    # GIVEN three days of a small shop, its events as gzipped JSON Lines (the default) and in another format
    runs = {}
    for name, fmt, gz in (("default", "jsonl", True), ("other", events_format, gzipped)):
        options = GenerateOptions(
            start=START, days=3, seed=9, orders_per_day=20, events_format=fmt, events_gzip=gz
        )
        generate(LocalLanding(tmp_path / name), options)
        runs[name] = read_clicks(tmp_path / name, GenerateSummary()).delivered
    # THEN both parse by the contract (read_clicks parsed every row) and hold the same events, in order
    suffix = {("jsonl", True): ".jsonl.gz", ("csv", True): ".csv.gz"}.get((events_format, gzipped))
    keys = [p.name for p in (tmp_path / "other").rglob("events_*")]
    assert keys
    assert all(k.endswith(suffix or f".{events_format}") for k in keys)
    assert [{k: v for k, v in e.items() if k != "_at"} for e in runs["other"]] == [
        {k: v for k, v in e.items() if k != "_at"} for e in runs["default"]
    ]


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_json_lines_are_written_as_orjson_writes_them_row_by_row(entity: str) -> None:
    # GIVEN three weeks of a shop's exports (reviews come a week after the first deliveries)
    shop = Shop(seed=2, start=START, orders_per_day=60, clickstream_scale=0.2)
    exports = [Export.from_rows(entity, rows) for rows in (shop.day(i)[entity] for i in range(21)) if rows]
    assert exports
    for export in exports:
        # WHEN its rows are written as JSON Lines, THEN the bytes are orjson's, line by line ...
        table = export.text_table(money_as_text=True)
        expected = b"".join(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in table.to_pylist())
        assert b"".join(json_lines(table)) == expected
        assert export.encode("jsonl", gzipped=False) == expected
        # ... the clickstream's own writer too
        if entity == "events":
            assert b"".join(event_json_lines(export.rows)) == expected


def test_gzip_in_parallel_is_one_gzip_stream_of_its_chunks() -> None:
    # GIVEN chunks of text, some shorter than deflate's window and some longer, one empty
    text = b"".join(b'{"n":%d,"s":"%s"}\n' % (i, b"ab" * (i % 50)) for i in range(20_000))
    chunks = [text[:10], b"", text[10:40_010], text[40_010:40_100], text[40_100:]]
    # WHEN they are gzipped on several threads
    data = gzip_in_parallel(chunks, level=3)
    # THEN the result is a single gzip member holding exactly the text, the same bytes every time
    reader = zlib.decompressobj(31)
    assert reader.decompress(data) == text
    assert reader.eof
    assert not reader.unused_data
    assert gzip.decompress(data) == text
    assert gzip_in_parallel(chunks, level=3) == data
    assert len(data) < len(text) / 5
