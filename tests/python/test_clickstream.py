"""Sessions from a hand-made event stream whose sessions are known, built day by day, and erasure of the
identities stitched to a customer and of their reviews' text."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support import cli, dbt, duckdb_env, run_models

from shopwarehouse.landing.contract import ENTITIES, partition_prefix

pytestmark = [pytest.mark.slow]

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
)


def event(
    event_id: str, anonymous_id: str, at: str, event_type: str = "page_view", **values: str
) -> dict[str, str]:
    return {
        "event_id": event_id,
        "anonymous_id": anonymous_id,
        "event_type": event_type,
        "occurred_at": f"2024-03-01T{at}Z",
        "page_path": "/",
        "device": "mobile",
        "country": "DE",
        "user_agent": BROWSER,
        **values,
    }


# Day 1: what the tracker delivered on 1 March, in the order it sent it.
DAY_1 = [
    # gap: 29:59 stays in the session, 30:01 starts the next one
    event("e-gap-1", "anon-gap", "10:00:00"),
    event("e-gap-2", "anon-gap", "10:29:59"),
    event("e-gap-3", "anon-gap", "11:00:00"),
    # campaign: an email visit, then an ad clicked 10 minutes later (a new campaign, a new session), then
    # the same ad again (the same session); the client's clock sent e-camp-4 before e-camp-3
    event(
        "e-camp-1",
        "anon-camp",
        "12:00:00",
        utm_source="newsletter",
        utm_medium="email",
        utm_campaign="spring",
    ),
    event("e-camp-2", "anon-camp", "12:05:00", "product_view", product_id="prd_00001"),
    event("e-camp-4", "anon-camp", "12:12:00", "product_view", product_id="prd_00002"),
    event("e-camp-3", "anon-camp", "12:10:00", utm_source="google", utm_medium="cpc", utm_campaign="summer"),
    event("e-camp-5", "anon-camp", "12:15:00", utm_source="google", utm_medium="cpc", utm_campaign="summer"),
    # stitching: cus_00000001 signs in on a phone (anon-phone), comes back on it later without signing in,
    # and orders from a laptop (anon-laptop) after signing in there
    event("e-phone-1", "anon-phone", "09:00:00", referrer="https://www.google.com/"),
    event("e-phone-2", "anon-phone", "09:05:00", "product_view", customer_id="cus_00000001"),
    event("e-phone-3", "anon-phone", "15:00:00"),
    event("e-laptop-1", "anon-laptop", "20:00:00", referrer="https://www.facebook.com/", device="desktop"),
    event(
        "e-laptop-2", "anon-laptop", "20:02:00", "add_to_cart", customer_id="cus_00000001", device="desktop"
    ),
    event(
        "e-laptop-3",
        "anon-laptop",
        "20:04:00",
        "checkout_started",
        customer_id="cus_00000001",
        device="desktop",
    ),
    event(
        "e-laptop-4",
        "anon-laptop",
        "20:05:00",
        "order_completed",
        customer_id="cus_00000001",
        order_id="ord_000000001",
        device="desktop",
    ),
    # two visits 40 minutes apart (a late event will join them)
    event("e-late-1", "anon-late", "08:00:00"),
    event("e-late-2", "anon-late", "08:10:00"),
    event("e-late-3", "anon-late", "08:50:00"),
    event("e-late-4", "anon-late", "08:55:00"),
    # a crawler
    event("e-bot-1", "anon-bot", "03:00:00", user_agent=BOT),
    event("e-bot-2", "anon-bot", "03:00:01", user_agent=BOT),
    event("e-bot-3", "anon-bot", "03:00:02", user_agent=BOT),
]
# Day 2: an event of 1 March that arrived a day late, between anon-late's two visits (20 minutes from
# each), and e-gap-2 delivered again.
DAY_2 = [event("e-late-5", "anon-late", "08:30:00"), DAY_1[1]]

# (anonymous id, session number) -> (started at, events, channel, customer, order)
SESSIONS_AFTER_DAY_1 = {
    ("anon-gap", 1): ("10:00:00", 2, "direct", None, None),
    ("anon-gap", 2): ("11:00:00", 1, "direct", None, None),
    ("anon-camp", 1): ("12:00:00", 2, "email", None, None),
    ("anon-camp", 2): ("12:10:00", 3, "paid_search", None, None),
    ("anon-phone", 1): ("09:00:00", 2, "organic_search", "cus_00000001", None),
    ("anon-phone", 2): ("15:00:00", 1, "direct", "cus_00000001", None),
    ("anon-laptop", 1): ("20:00:00", 4, "organic_social", "cus_00000001", "ord_000000001"),
    ("anon-late", 1): ("08:00:00", 2, "direct", None, None),
    ("anon-late", 2): ("08:50:00", 2, "direct", None, None),
}
# After day 2: anon-late's visits are one; the customer asked for erasure, so no session is theirs.
SESSIONS_AFTER_DAY_2 = {
    key: (started, events, channel, None, order)
    for key, (started, events, channel, _, order) in SESSIONS_AFTER_DAY_1.items()
    if key[0] != "anon-late"
} | {("anon-late", 1): ("08:00:00", 5, "direct", None, None)}


def rows_file(entity: str, rows: list[dict[str, Any]]) -> bytes:
    sink = io.StringIO()
    writer = csv.DictWriter(sink, fieldnames=ENTITIES[entity].column_names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return sink.getvalue().encode()


def land(root: Path, day: str, entity: str, rows: list[dict[str, Any]]) -> None:
    path = root / partition_prefix(entity, day) / f"{entity}_{day}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rows_file(entity, rows))


def customer(updated_at: str, is_deleted: str) -> dict[str, str]:
    return {
        "customer_id": "cus_00000001",
        "email": "anna.berg@example.com",
        "first_name": "Anna",
        "last_name": "Berg",
        "created_at": "2024-02-01T09:00:00Z",
        "updated_at": updated_at,
        "is_deleted": is_deleted,
    }


REVIEW = {
    "review_id": "rev_000000001",
    "order_id": "ord_000000001",
    "product_id": "prd_00001",
    "customer_id": "cus_00000001",
    "rating": "2",
    "title": "Late again",
    "body": "Took ten days. Anna",
    "created_at": "2024-03-01T22:00:00Z",
    "updated_at": "2024-03-01T22:00:00Z",
}
ORDER = {
    "order_id": "ord_000000001",
    "customer_id": "cus_00000001",
    "order_status": "paid",
    "currency": "USD",
    "subtotal_amount": "40.00",
    "discount_amount": "0.00",
    "shipping_amount": "5.00",
    "tax_amount": "0.00",
    "total_amount": "45.00",
    "ordered_at": "2024-03-01T20:05:00Z",
    "updated_at": "2024-03-01T20:05:00Z",
}


def sessions(warehouse: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute(
            "select anonymous_id, session_number, strftime(started_at at time zone 'UTC', '%H:%M:%S'), "
            "events, channel, customer_id, order_id from main_marts.fct_sessions"
        ).fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def build(env: dict[str, str], tmp_path: Path, *args: str) -> None:
    """Load what landed and run the models (no lookback margin)."""
    cli("load", "--all", env=env)
    run_models(env, tmp_path, *args)


def test_a_hand_made_event_stream_gives_exactly_its_sessions_day_by_day_and_in_full(tmp_path: Path) -> None:
    # GIVEN the first day's events, the customer, their order and their review, loaded and built
    landing = tmp_path / "landing"
    env = duckdb_env(tmp_path, landing)
    land(landing, "2024-03-01", "events", DAY_1)
    land(landing, "2024-03-01", "customers", [customer("2024-03-01T09:00:00Z", "false")])
    land(landing, "2024-03-01", "orders", [ORDER])
    land(landing, "2024-03-01", "reviews", [REVIEW])
    dbt("seed", env=env, tmp_path=tmp_path)
    build(env, tmp_path)
    warehouse = Path(env["SHOPWAREHOUSE_DUCKDB_PATH"])

    # THEN each rule shows: the 29:59 gap stays, the 30:01 gap splits, the new campaign splits, the phone's
    # sessions (one before the sign-in, one after it without signing in) and the laptop's are the customer's,
    # the bot has none
    assert sessions(warehouse) == SESSIONS_AFTER_DAY_1
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute(
            "select session_id is not null, session_channel, total_amount from main_marts.fct_orders"
        ).fetchall() == [(True, "organic_social", 45)]
        assert conn.execute("select revenue from main_marts.fct_sessions where is_converted").fetchall() == [
            (45,)
        ]
        assert conn.execute("select title, body from main_restricted.review_texts").fetchall() == [
            ("Late again", "Took ten days. Anna")
        ]
        assert conn.execute(
            "select bot_events, bot_visitors from main_marts.dq_bot_traffic_daily"
        ).fetchall() == [(3, 1)]

    # WHEN the next day brings a late event between anon-late's visits, a duplicate of an event, and the
    # customer's erasure request
    land(landing, "2024-03-02", "events", DAY_2)
    land(landing, "2024-03-02", "customers", [customer("2024-03-02T08:00:00Z", "true")])
    build(env, tmp_path)

    # THEN anon-late's visits are one session of five events, the duplicate counts once, and the sessions
    # stitched to the customer are anonymous now; their review's text is gone, and no table but the landed
    # raw rows links an event to them
    assert sessions(warehouse) == SESSIONS_AFTER_DAY_2
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select title, body from main_restricted.review_texts").fetchall() == [
            (None, None)
        ]
        linked = {
            table: conn.execute(f"select count(*) from {table} where customer_id = 'cus_00000001'").fetchone()
            for table in (
                "main_staging.stg_clickstream__events",
                "main_intermediate.int_clickstream__identities",
                "main_marts.fct_sessions",
            )
        }
        assert linked == dict.fromkeys(linked, (0,))
        assert conn.execute(
            "select count(*) from raw.events where customer_id = 'cus_00000001'"
        ).fetchone() == (4,)
        assert conn.execute("select order_id from main_marts.fct_sessions where is_converted").fetchall() == [
            ("ord_000000001",)
        ]

    # AND a full refresh of the same raw data gives the same sessions
    full = tmp_path / "full.duckdb"
    shutil.copy(warehouse, full)
    full_env = {**env, "SHOPWAREHOUSE_DUCKDB_PATH": str(full)}
    build(full_env, tmp_path, "--full-refresh")
    assert sessions(full) == SESSIONS_AFTER_DAY_2
