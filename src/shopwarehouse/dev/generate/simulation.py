"""A day-by-day simulation of the shop, vectorised with NumPy.

Each simulated day produces the change feed of that day: every row whose ``updated_at`` falls in the day.
When an order is placed, its whole future is decided at once (payment attempts, shipping, delivery, return,
refund, a review and its answer) and each future version waits in a queue until its day comes; so memory
holds only the open orders, not the history, and the output of the first N days never depends on how many
days are generated (a run of 10 days is a prefix of a run of 30). The clickstream (``clickstream.py``)
simulates each day's sessions, one for each order placed and many more without an order; its events wait
in a queue of their own for the day they are delivered.

Money is integer cents in the row's currency, exchange rates integer hundred-millionths of a dollar; times
are integer seconds since the epoch (UTC), days integer days since the epoch. The export module turns these
columns into contract files.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from shopwarehouse.dev.generate import catalog
from shopwarehouse.dev.generate.clickstream import Clickstream, PlacedOrders
from shopwarehouse.landing.contract import ENTITIES

DAY = 86_400
HOUR = 3_600

Columns = dict[str, np.ndarray]

# Order and payment statuses as codes into the contract's tuples (contract.ORDER_STATUSES / PAYMENT_STATUSES).
PENDING, PAID, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(6)
P_PENDING, P_SUCCEEDED, P_FAILED, P_REFUNDED, P_PARTIALLY_REFUNDED = range(5)
BANK_TRANSFER = catalog.PAYMENT_METHODS.index("bank_transfer")
GIFT_CARD = catalog.PAYMENT_METHODS.index("gift_card")
LOST_TRANSFER = catalog.FAILURE_REASONS.index("transfer_not_received")  # the last one

# Zones exported timestamps are written in: zone 0 is UTC written as 'Z', the others storefront local times.
_OFFSETS = sorted({m.utc_offset_minutes for m in catalog.MARKETS})
ZONE_MINUTES = np.array([0, *_OFFSETS], np.int64)
ZONES = ("Z", *(f"{'-' if o < 0 else '+'}{abs(o) // 60:02d}:{abs(o) % 60:02d}" for o in _OFFSETS))
MARKET_ZONE = np.array([1 + _OFFSETS.index(m.utc_offset_minutes) for m in catalog.MARKETS], np.int8)

# Orders by hour of day (UTC): the markets' evenings dominate.
HOURLY_WEIGHTS = np.array(
    [3, 2, 2, 1.5, 1, 1, 1.5, 2, 3, 4, 5, 5.5, 6, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9, 8, 6, 4.5]
)
HOURLY_P = HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()
WEEKDAY_FACTOR = np.array([1.04, 0.98, 0.97, 0.99, 0.94, 0.9, 1.18])  # Monday .. Sunday
BASKET_SIZES = np.arange(1, 7)
BASKET_P = np.array([0.42, 0.26, 0.14, 0.09, 0.05, 0.04])

MARKET_SHARE = np.array([m.share for m in catalog.MARKETS]) / sum(m.share for m in catalog.MARKETS)
CURRENCIES = tuple(sorted({m.currency for m in catalog.MARKETS}))
MARKET_CURRENCY = np.array([CURRENCIES.index(m.currency) for m in catalog.MARKETS], np.int8)
MARKET_TAX = np.array([m.tax_rate for m in catalog.MARKETS])
MARKET_SHIPPING = np.array([m.shipping_cents for m in catalog.MARKETS], np.int64)
MARKET_FREE_SHIPPING = np.array([m.free_shipping_cents for m in catalog.MARKETS], np.int64)
MARKET_FX = np.array([catalog.PRICE_FX_PER_USD[m.currency] for m in catalog.MARKETS])
# The finance system's exchange rates: US dollars per unit of each other currency the shop sells in.
FX_CURRENCIES = np.array([CURRENCIES.index(c) for c in CURRENCIES if c != "USD"], np.int8)
FX_START_USD_PER_UNIT = np.array([1 / catalog.PRICE_FX_PER_USD[CURRENCIES[c]] for c in FX_CURRENCIES])
RATE_UNITS = 10**8  # usd_per_unit carries 8 decimal places
METHOD_P = np.array(catalog.PAYMENT_METHOD_SHARES)
METHOD_FAILURE = np.array(catalog.PAYMENT_FAILURE_RATES)
CHANNEL_P = np.array([*catalog.CHANNEL_SHARES, 1 - sum(catalog.CHANNEL_SHARES)])

# Behaviour knobs, each a plain fact of the simulated shop.
FIRST_ORDER_RATE = 0.75  # share of new sign-ups who order on the day they sign up
NEW_CUSTOMER_SHARE = 0.3  # of the base order volume on day 0
SIGNUP_GROWTH_PER_DAY = 0.006  # sign-ups grow linearly ...
RETURNING_GROWTH_PER_DAY = 0.002  # ... and so, more slowly, do repeat orders
RETENTION_DAYS = 45.0  # a customer's pull to order again decays with this time constant
INITIAL_CUSTOMERS_PER_DAILY_ORDER = 30  # customers who signed up before the first day
ADDRESS_CHANGE_RATE = 0.04
ERASURE_RATE = 0.004
RETRY_RATE = (0.8, 0.5)  # chance of a 2nd attempt after one failure, and of a 3rd after two
RETRY_FAILURE_RATE = 0.3
METHOD_SWITCH_RATE = 0.3
BANK_TRANSFER_LOST_RATE = 0.1
CANCEL_AFTER_PAYMENT_RATE = 0.02
RETURN_RATE = 0.06
PARTIAL_REFUND_SHARE = 0.25
LINE_DISCOUNT_RATE = 0.12
ORDER_DISCOUNT_RATE = 0.1
FULL_DISCOUNT_RATE = 0.005  # orders a voucher pays in full: total 0.00, one gift card payment of 0.00
GUEST_CHECKOUT_RATE = 0.02  # orders placed without an account (no customer), per order of the day's demand
LOCAL_TIME_RATE = 0.2  # rows of customers and orders written in storefront local time
LATE_ROW_WINDOW = 600  # rows changed in the last 10 minutes of a day ...
LATE_ROW_RATE = 0.5  # ... miss that day's export this often and land in the next one
DUPLICATE_ROW_RATE = 0.002  # exact duplicate rows in the exports of orders, items and payments
PRICE_CHANGES_PER_DAY = 0.01  # share of the catalogue repriced each day
DEACTIVATIONS_PER_DAY = 0.002
FX_DAILY_VOLATILITY = 0.004  # a rate's daily change is log-normal with this spread (about 0.4%)
FX_PUBLISHED_AT = 16 * HOUR  # the finance system publishes the day's rates at 16:00 UTC ...
FX_PUBLISH_WINDOW = 15 * 60  # ... within a quarter of an hour
FX_STREAM = 1  # the rates draw from a random stream of their own: they do not depend on the shop's volume
# Reviews draw from a stream of their own (as do the clickstream's sessions, streams 2 and 3): adding them
# changed none of the other entities' rows.
REVIEW_STREAM = 4
REVIEW_RATE = 0.2  # delivered orders reviewed ...
REVIEW_DELAY_MIN = 2 * HOUR  # ... this long after delivery at the soonest (the shop asks on delivery) ...
REVIEW_DELAY_MEAN = 2 * DAY  # ... and on average this much later (most within days, a few weeks later)
WHOLE_ORDER_REVIEW_RATE = 0.1  # reviews of the order as a whole: no product
PRODUCT_QUALITY_SPREAD = 0.7  # a product's latent quality, in stars above or below the average
LATE_DELIVERY = 5 * DAY  # delivered later than this after the order: rated worse
LATE_DELIVERY_PENALTY = 1.6  # stars
RATING_NOISE = 0.8
ANSWER_RATE = np.array([0.85, 0.75, 0.5, 0.3, 0.3])  # by rating: the shop answers complaints first
ANSWER_DELAY = (4 * HOUR, 5 * DAY)
EDIT_RATE = 0.05
DELETE_RATE = 0.03
SIGNED_REVIEW_RATE = 0.15  # bodies that end with the customer's first name
REVIEW_TITLE_FIRST = np.cumsum([0, *(len(t) for t in catalog.REVIEW_TITLES)])
REVIEW_BODY_FIRST = np.cumsum([0, *(len(b) for b in catalog.REVIEW_BODIES)])


def seasonal_factor(day: date) -> float:
    """Demand through the year: a winter high, a summer low, and the Black Friday to Christmas peak."""
    doy = day.timetuple().tm_yday
    season = 1 + 0.15 * math.cos(2 * math.pi * (doy - 15) / 365.25)
    black_friday = 1.2 * math.exp(-(((doy - 332) / 3.0) ** 2))
    christmas = 0.4 * math.exp(-(((doy - 352) / 7.0) ** 2))
    return season + black_friday + christmas


@dataclass(frozen=True)
class Payments:
    rows: Columns  # every version of every attempt
    success_row: np.ndarray  # per order: the row of its successful attempt's final version, or -1
    last_failure_at: np.ndarray  # per order: when its last failed attempt failed


@dataclass
class VersionQueue:
    """Row versions waiting for the day their ``updated_at`` falls in."""

    columns: Columns = field(default_factory=dict)

    def add(self, rows: Columns) -> None:
        if not rows:  # a batch with no rows at all (a quiet day of a small shop), given as no columns
            return
        if not self.columns:
            self.columns = rows
        else:
            self.columns = {k: np.concatenate([self.columns[k], rows[k]]) for k in self.columns}

    def pop_until(self, until: int) -> Columns:
        if not self.columns:
            return {}
        due = self.columns["updated_at"] < until
        popped = {k: v[due] for k, v in self.columns.items()}
        self.columns = {k: v[~due] for k, v in self.columns.items()}
        return popped


def take(rows: Columns, index: np.ndarray) -> Columns:
    return {k: v[index] for k, v in rows.items()}


def concat(parts: list[Columns]) -> Columns:
    parts = [p for p in parts if p and len(p["updated_at"])]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


class Shop:
    """The simulated shop; :meth:`day` advances it by one day and returns that day's exported rows."""

    def __init__(
        self,
        seed: int,
        start: date,
        orders_per_day: float,
        *,
        growth: bool = True,
        clickstream_scale: float = 1.0,
    ) -> None:
        self.seed = seed
        self.start = start
        self.base = orders_per_day
        self.growth = growth  # off: a steady shop, the same volume on day 1,000 as on day 1
        # The change feeds' versions wait here; the clickstream's events in the clickstream's own queue.
        self.queues = {name: VersionQueue() for name in ENTITIES if name != "events"}
        self.clickstream = Clickstream(seed, clickstream_scale, HOURLY_P)
        self.deferred: dict[str, Columns] = {}
        # Customer state (one entry per customer ever created).
        self.c_market = np.zeros(0, np.int8)
        self.c_propensity = np.zeros(0)
        self.c_last_order = np.zeros(0, np.int64)
        self.c_created = np.zeros(0, np.int64)
        self.c_erased_at = np.zeros(0, np.int64)
        self.c_first_name = np.zeros(0, np.int16)
        # Catalogue state.
        self.p_price = np.zeros(0, np.int64)
        self.p_active = np.zeros(0, bool)
        self.p_popularity = np.zeros(0)
        self.p_rows: Columns = {}
        self.p_quality = np.zeros(0)  # drawn from the reviews' stream
        self.next_id = {"orders": 1, "order_items": 1, "payments": 1, "reviews": 1}
        # Exchange rates: each currency's log of US dollars per unit, a random walk from the catalogue's.
        self.fx_log_rate = np.log(FX_START_USD_PER_UNIT)

    def day(self, index: int) -> dict[str, Columns]:
        """Simulate day ``index`` (0 = ``start``) and return, per entity, the rows of that day's export."""
        rng = np.random.default_rng([self.seed, index])
        day = self.start + timedelta(days=index)
        day_start = calendar.timegm(day.timetuple())
        day_end = day_start + DAY
        if index == 0:
            self._open_shop(rng, day_start)
        else:
            self._change_catalogue(rng, day_start)
        demand = self.base * WEEKDAY_FACTOR[day.weekday()] * seasonal_factor(day)
        grown = index if self.growth else 0
        new_customers = self._sign_up(rng, day_start, demand * (1 + SIGNUP_GROWTH_PER_DAY * grown))
        review_rng = np.random.default_rng([self.seed, index, REVIEW_STREAM])
        placed = self._place_orders(
            rng, day_start, demand * (1 + RETURNING_GROWTH_PER_DAY * grown), new_customers, review_rng
        )
        self._publish_rates(index, day_start)
        self.clickstream.day(self, index, day_start, placed)
        # The change feeds in the contract's order: the reviews' (the last) draw from the shop's stream after
        # all the others did, so the others' rows are what they were before there were reviews.
        return {
            name: self.clickstream.deliveries(day_end)
            if name == "events"
            else self._export_rows(rng, name, day_end)
            for name in ENTITIES
        }

    # -- exchange rates ----------------------------------------------------------------------------------

    def _publish_rates(self, index: int, day_start: int) -> None:
        """The finance system's rates for the day: one row per currency besides the US dollar, each rate a
        step of a random walk from the day before's (day 0: the catalogue's rates), to 8 places. The walk
        draws from a stream seeded by the seed and the day alone, so a shorter run is still a prefix."""
        rng = np.random.default_rng([self.seed, index, FX_STREAM])
        n = len(FX_CURRENCIES)
        if index > 0:
            self.fx_log_rate = self.fx_log_rate + rng.normal(0.0, FX_DAILY_VOLATILITY, n)
        published = day_start + FX_PUBLISHED_AT + int(rng.integers(0, FX_PUBLISH_WINDOW))  # all at once
        self.queues["fx_rates"].add(
            {
                "currency": FX_CURRENCIES.copy(),
                "rate_date": np.full(n, day_start // DAY, np.int64),
                "usd_per_unit": np.round(np.exp(self.fx_log_rate) * RATE_UNITS).astype(np.int64),
                "updated_at": np.full(n, published, np.int64),
            }
        )

    # -- customers ---------------------------------------------------------------------------------------

    def _add_customers(self, rng: np.random.Generator, created: np.ndarray, now: int) -> np.ndarray:
        """Create customers with the given sign-up times; queue their rows; return their indexes."""
        n = len(created)
        first = len(self.c_market)
        ids = np.arange(first, first + n)
        market = rng.choice(len(catalog.MARKETS), n, p=MARKET_SHARE).astype(np.int8)
        self.c_market = np.concatenate([self.c_market, market])
        self.c_propensity = np.concatenate([self.c_propensity, rng.lognormal(0.0, 0.8, n)])
        self.c_created = np.concatenate([self.c_created, created])
        self.c_last_order = np.concatenate([self.c_last_order, created])
        city_counts = np.array([len(m.cities) for m in catalog.MARKETS])[market]
        base: Columns = {
            "customer_id": ids + 1,
            "market": market,
            "first_name": rng.integers(0, len(catalog.FIRST_NAMES), n).astype(np.int16),
            "last_name": rng.integers(0, len(catalog.LAST_NAMES), n).astype(np.int16),
            "email_style": rng.choice(4, n, p=[0.92, 0.03, 0.02, 0.03]).astype(np.int8),
            "email_domain": rng.integers(0, len(catalog.EMAIL_DOMAINS), n).astype(np.int8),
            "phone": np.where(rng.random(n) < 0.25, -1, rng.integers(2 * 10**8, 10**9 - 1, n)),
            "city": (rng.random(n) * city_counts).astype(np.int16),
            "postal": rng.integers(0, 2**62, n),
            "marketing_opt_in": rng.choice([1, 0, -1], n, p=[0.45, 0.5, 0.05]).astype(np.int8),
            "created_at": created,
            "updated_at": created,
            "is_deleted": np.where(rng.random(n) < 0.05, -1, 0).astype(np.int8),
            "zone": np.where(rng.random(n) < LOCAL_TIME_RATE, MARKET_ZONE[market], 0).astype(np.int8),
        }
        # Some customers move later; a few ask to be erased (after any move).
        anchor = np.maximum(created, now)
        moves = rng.random(n) < ADDRESS_CHANGE_RATE
        moved = take(base, moves)
        moved["updated_at"] = anchor[moves] + rng.integers(5 * DAY, 90 * DAY, moves.sum())
        moved["city"] = (rng.random(moves.sum()) * city_counts[moves]).astype(np.int16)
        moved["postal"] = rng.integers(0, 2**62, moves.sum())
        erase = rng.random(n) < ERASURE_RATE
        erased = take(base, erase)
        erased_moved = moves[erase]
        for column in ("city", "postal"):
            erased[column] = np.where(erased_moved, _lookup(moved, ids[erase] + 1, column), erased[column])
        erased["updated_at"] = np.where(
            erased_moved, _lookup(moved, ids[erase] + 1, "updated_at"), anchor[erase]
        ) + rng.integers(3 * DAY, 60 * DAY, erase.sum())
        erased["is_deleted"] = np.ones(erase.sum(), np.int8)
        erased_at = np.full(n, np.iinfo(np.int64).max)
        erased_at[erase] = erased["updated_at"]
        self.c_erased_at = np.concatenate([self.c_erased_at, erased_at])
        self.c_first_name = np.concatenate([self.c_first_name, base["first_name"]])
        self.queues["customers"].add(concat([base, moved, erased]))
        return ids

    def _sign_up(self, rng: np.random.Generator, day_start: int, demand: float) -> np.ndarray:
        lam = demand * NEW_CUSTOMER_SHARE / FIRST_ORDER_RATE
        n = rng.poisson(lam)
        return self._add_customers(rng, _times_in_day(rng, day_start, n), day_start)

    # -- catalogue ---------------------------------------------------------------------------------------

    def _open_shop(self, rng: np.random.Generator, day_start: int) -> None:
        """Day 0: the catalogue and the customers who signed up before the first export."""
        n_products = int(min(2000, 200 + self.base // 2))
        categories = list(catalog.CATEGORIES.values())
        category = rng.integers(0, len(categories), n_products).astype(np.int8)
        typical = np.array([c[0] for c in categories])[category]
        spread = np.array([c[1] for c in categories])[category]
        price = np.round(typical * rng.lognormal(0.0, spread) * 100).astype(np.int64)
        self.p_price = np.maximum(price - price % 100 + 99, 199)  # list prices end in .99
        self.p_active = np.ones(n_products, bool)
        self.p_popularity = 1.0 / rng.permutation(np.arange(1, n_products + 1)) ** 1.1
        created = day_start - rng.integers(30 * DAY, 720 * DAY, n_products)
        self.p_rows = {
            "product_id": np.arange(1, n_products + 1),
            "category": category,
            "adjective": rng.integers(0, len(catalog.ADJECTIVES), n_products).astype(np.int8),
            "noun": rng.integers(0, 1000, n_products).astype(np.int16),
            "unit_price": self.p_price.copy(),
            "is_active": self.p_active.copy(),
            "created_at": created,
            "updated_at": created + rng.integers(0, 30 * DAY, n_products),
        }
        self.queues["products"].add(dict(self.p_rows))

        n_customers = int(self.base * INITIAL_CUSTOMERS_PER_DAILY_ORDER)
        signed_up = np.sort(day_start - rng.integers(DAY, 540 * DAY, n_customers))
        ids = self._add_customers(rng, signed_up, day_start)
        ordered = rng.random(n_customers) < 0.8
        last = day_start - rng.integers(DAY, 240 * DAY, n_customers)
        self.c_last_order[ids] = np.where(ordered, np.maximum(last, signed_up), signed_up)

    def _change_catalogue(self, rng: np.random.Generator, day_start: int) -> None:
        n = len(self.p_price)
        repriced = rng.random(n) < PRICE_CHANGES_PER_DAY
        retired = (rng.random(n) < DEACTIVATIONS_PER_DAY) & self.p_active
        retired &= self.p_active.sum() - np.cumsum(retired) > n // 2  # keep most of the range on sale
        changed = repriced | retired
        if not changed.any():
            return
        factor = rng.uniform(0.85, 1.2, n)
        new_price = np.round(self.p_price * factor).astype(np.int64)
        self.p_price = np.where(repriced, np.maximum(new_price - new_price % 100 + 99, 199), self.p_price)
        self.p_active &= ~retired
        rows = take(self.p_rows, changed)
        rows["unit_price"] = self.p_price[changed]
        rows["is_active"] = self.p_active[changed]
        rows["updated_at"] = day_start + rng.integers(0, HOUR, changed.sum())
        self.queues["products"].add(rows)

    # -- orders, items and payments ----------------------------------------------------------------------

    def _place_orders(
        self,
        rng: np.random.Generator,
        day_start: int,
        demand: float,
        new_customers: np.ndarray,
        review_rng: np.random.Generator,
    ) -> PlacedOrders:
        first_buyers = new_customers[rng.random(len(new_customers)) < FIRST_ORDER_RATE]
        first_at = self.c_created[first_buyers] + rng.integers(60, 1800, len(first_buyers))
        returning = rng.poisson(demand * (1 - NEW_CUSTOMER_SHARE))
        eligible = (self.c_created < day_start) & (self.c_erased_at > day_start + DAY)
        idle_days = (day_start - self.c_last_order) / DAY
        weight = np.where(eligible, self.c_propensity * np.exp(-idle_days / RETENTION_DAYS), 0.0)
        total_weight = weight.sum()
        repeat_buyers = (
            rng.choice(len(weight), returning, p=weight / total_weight)
            if total_weight > 0
            else np.zeros(0, np.int64)
        )
        repeat_at = _times_in_day(rng, day_start, len(repeat_buyers))
        # Guest checkouts: no account, so no customer (-1); their market as sign-ups' are spread.
        n_guests = rng.poisson(demand * GUEST_CHECKOUT_RATE)
        guest_market = rng.choice(len(catalog.MARKETS), n_guests, p=MARKET_SHARE).astype(np.int8)
        guest_at = _times_in_day(rng, day_start, n_guests)
        buyers = np.concatenate([first_buyers, repeat_buyers])
        customers = np.concatenate([buyers, np.full(n_guests, -1, np.int64)])
        market = np.concatenate([self.c_market[buyers], guest_market])
        ordered_at = np.concatenate([first_at, repeat_at, guest_at])
        order = np.argsort(ordered_at, kind="stable")
        customers, market, ordered_at = customers[order], market[order], ordered_at[order]
        guest = customers < 0
        # A sign-up at 23:50 may order after midnight: that order belongs to the next day's export.
        np.maximum.at(self.c_last_order, customers[~guest], ordered_at[~guest])

        n = len(customers)
        order_ids = np.arange(self.next_id["orders"], self.next_id["orders"] + n)
        self.next_id["orders"] += n
        currency = MARKET_CURRENCY[market]

        # Baskets.
        sizes = rng.choice(BASKET_SIZES, n, p=BASKET_P)
        line_order = np.repeat(np.arange(n), sizes)
        n_lines = len(line_order)
        on_sale = self.p_popularity * self.p_active
        product = rng.choice(len(on_sale), n_lines, p=on_sale / on_sale.sum())
        quantity = rng.choice([1, 2, 3], n_lines, p=[0.82, 0.14, 0.04])
        unit_price = np.round(self.p_price[product] * MARKET_FX[market[line_order]]).astype(np.int64)
        line_discount_pct = np.where(
            rng.random(n_lines) < LINE_DISCOUNT_RATE, rng.choice([5, 10, 15, 20], n_lines), 0
        )
        line_discount = (quantity * unit_price * line_discount_pct + 50) // 100
        line_net = quantity * unit_price - line_discount
        subtotal = np.bincount(line_order, weights=line_net, minlength=n).round().astype(np.int64)
        coupon = rng.random(n) < ORDER_DISCOUNT_RATE
        # A voucher for the whole order: the subtotal discounted away, shipped free, so nothing is taxed.
        free = rng.random(n) < FULL_DISCOUNT_RATE
        discount = np.where(free, subtotal, np.where(coupon, (subtotal + 5) // 10, 0))
        free_shipping = free | (subtotal >= MARKET_FREE_SHIPPING[market])
        shipping = np.where(free_shipping, 0, MARKET_SHIPPING[market])
        tax = np.round((subtotal - discount + shipping) * MARKET_TAX[market]).astype(np.int64)
        total = subtotal - discount + shipping + tax

        item_ids = np.arange(self.next_id["order_items"], self.next_id["order_items"] + n_lines)
        self.next_id["order_items"] += n_lines
        self.queues["order_items"].add(
            {
                "order_item_id": item_ids,
                "order_id": order_ids[line_order],
                "product_id": product + 1,
                "quantity": quantity,
                "unit_price": unit_price,
                "discount_amount": line_discount,
                "updated_at": ordered_at[line_order],
            }
        )

        paid_at, payments = self._pay(rng, order_ids, ordered_at, currency, total, free)
        paid = paid_at >= 0

        # The order's life after payment.
        cancel_late = paid & (rng.random(n) < CANCEL_AFTER_PAYMENT_RATE)
        shipped = paid & ~cancel_late
        t_cancel = np.where(
            paid,
            paid_at + rng.integers(HOUR, 20 * HOUR, n),
            payments.last_failure_at + rng.integers(HOUR, 24 * HOUR, n),
        )
        t_ship = paid_at + rng.integers(HOUR * 8, 3 * DAY, n)
        t_deliver = t_ship + rng.integers(DAY, 5 * DAY, n)
        returned = shipped & (rng.random(n) < RETURN_RATE)
        t_return = t_deliver + rng.integers(2 * DAY, 14 * DAY, n)
        events = [
            (PENDING, ordered_at, np.ones(n, bool)),
            (PAID, paid_at, paid),
            (CANCELLED, t_cancel, ~paid | cancel_late),
            (SHIPPED, t_ship, shipped),
            (DELIVERED, t_deliver, shipped),
            (RETURNED, t_return, returned),
        ]
        zone = np.where(rng.random(n) < LOCAL_TIME_RATE, MARKET_ZONE[market], 0).astype(np.int8)
        channel = rng.choice(len(CHANNEL_P), n, p=CHANNEL_P).astype(np.int8)
        channel[channel == len(CHANNEL_P) - 1] = -1
        order_rows = concat(
            [
                {
                    "order_id": order_ids[happens],
                    "customer_id": np.where(guest[happens], -1, customers[happens] + 1),
                    "order_status": np.full(happens.sum(), status, np.int8),
                    "channel": channel[happens],
                    "currency": currency[happens],
                    "subtotal_amount": subtotal[happens],
                    "discount_amount": discount[happens],
                    "shipping_amount": shipping[happens],
                    "tax_amount": tax[happens],
                    "total_amount": total[happens],
                    "ordered_at": ordered_at[happens],
                    "updated_at": at[happens],
                    "zone": zone[happens],
                }
                for status, at, happens in events
            ]
        )
        self.queues["orders"].add(order_rows)

        # Refunds: a cancellation after payment refunds in full; a return in full or in part. An order the
        # voucher paid for has no money to give back.
        success = payments.success_row
        refund_at = np.where(
            cancel_late,
            t_cancel + rng.integers(HOUR // 2, DAY, n),
            t_return + rng.integers(0, 2 * DAY, n),
        )
        refunded = (cancel_late | returned) & ~free
        partial = returned & (rng.random(n) < PARTIAL_REFUND_SHARE)
        refunds: Columns = {}
        if refunded.any():  # a small shop's day may have no payment to refund at all
            refunds = take(payments.rows, success[refunded])
            refunds["updated_at"] = refund_at[refunded]
            amount = refunds["amount"]
            share = rng.uniform(0.2, 0.7, refunded.sum())
            refunds["refunded_amount"] = np.where(
                partial[refunded], np.round(amount * share).astype(np.int64), amount
            )
            refunds["payment_status"] = np.where(partial[refunded], P_PARTIALLY_REFUNDED, P_REFUNDED).astype(
                np.int8
            )
        self.queues["payments"].add(concat([payments.rows, refunds]))

        line_start = np.cumsum(sizes) - sizes
        self._review(
            review_rng, order_ids, customers, ordered_at, line_start, sizes, product, shipped, t_deliver
        )
        return PlacedOrders(order_ids, customers, market, ordered_at, line_start, sizes, product)

    # -- reviews -----------------------------------------------------------------------------------------

    def _review(
        self,
        rng: np.random.Generator,
        order_ids: np.ndarray,
        customers: np.ndarray,
        ordered_at: np.ndarray,
        line_start: np.ndarray,
        sizes: np.ndarray,
        product: np.ndarray,
        delivered: np.ndarray,
        t_deliver: np.ndarray,
    ) -> None:
        """Reviews of some of the orders placed today that will be delivered, decided now like the rest of
        their future: written days after delivery, rated by the product's quality and by how late the order
        came; some answered by the shop, a few edited, a few withdrawn, each a later version."""
        if len(self.p_quality) < len(self.p_price):
            self.p_quality = rng.normal(0.0, PRODUCT_QUALITY_SPREAD, len(self.p_price))
        n = len(order_ids)
        idx = np.flatnonzero(delivered & (rng.random(n) < REVIEW_RATE))
        m = len(idx)
        if m == 0:
            return
        created = t_deliver[idx] + REVIEW_DELAY_MIN + rng.exponential(REVIEW_DELAY_MEAN, m).astype(np.int64)
        line = line_start[idx] + (rng.random(m) * sizes[idx]).astype(np.int64)
        reviewed = product[line]
        late = t_deliver[idx] - ordered_at[idx] > LATE_DELIVERY
        score = 4.1 + self.p_quality[reviewed] - LATE_DELIVERY_PENALTY * late + rng.normal(0, RATING_NOISE, m)
        rating = np.clip(np.round(score), 1, 5).astype(np.int64)
        customer = customers[idx]
        titles = np.diff(REVIEW_TITLE_FIRST)[rating - 1]
        bodies = np.diff(REVIEW_BODY_FIRST)[rating - 1]
        signed = (customer >= 0) & (rng.random(m) < SIGNED_REVIEW_RATE)
        base: Columns = {
            "review_id": np.arange(self.next_id["reviews"], self.next_id["reviews"] + m),
            "order_id": order_ids[idx],
            "product_id": np.where(rng.random(m) < WHOLE_ORDER_REVIEW_RATE, -1, reviewed + 1),
            "customer_id": np.where(customer >= 0, customer + 1, -1),
            "rating": rating,
            "title": np.where(
                rng.random(m) < 0.1, -1, REVIEW_TITLE_FIRST[rating - 1] + (rng.random(m) * titles).astype(int)
            ),
            "body": np.where(
                rng.random(m) < 0.05, -1, REVIEW_BODY_FIRST[rating - 1] + (rng.random(m) * bodies).astype(int)
            ),
            "signature": np.where(signed, self.c_first_name[np.maximum(customer, 0)], -1),
            "update": np.full(m, -1),
            "created_at": created,
            "answered_at": np.full(m, -1),
            "updated_at": created,
            "is_deleted": np.where(rng.random(m) < 0.1, -1, 0).astype(np.int8),
        }
        self.next_id["reviews"] += m
        answered_at = created + rng.integers(*ANSWER_DELAY, m)
        edited_at = created + rng.integers(2 * HOUR, 20 * DAY, m)
        deleted_at = created + rng.integers(DAY, 30 * DAY, m)
        deleted = rng.random(m) < DELETE_RATE
        answered = (rng.random(m) < ANSWER_RATE[rating - 1]) & ~(deleted & (answered_at >= deleted_at))
        edited = (rng.random(m) < EDIT_RATE) & ~(deleted & (edited_at >= deleted_at))
        new_rating = np.clip(rating + rng.choice([-1, 1], m), 1, 5)
        update = np.where(new_rating < rating, 0, 1 + rng.integers(0, len(catalog.REVIEW_UPDATES) - 1, m))
        versions = [base]
        for at, happens, is_deleted in (
            (answered_at, answered, False),
            (edited_at, edited, False),
            (deleted_at, deleted, True),
        ):
            version = take(base, happens)
            now = at[happens]
            shown = answered[happens] & (answered_at[happens] <= now)
            version["answered_at"] = np.where(shown, answered_at[happens], -1)
            changed = edited[happens] & (edited_at[happens] <= now)
            version["rating"] = np.where(changed, new_rating[happens], version["rating"])
            version["update"] = np.where(changed, update[happens], -1)
            version["updated_at"] = now
            if is_deleted:
                version["is_deleted"] = np.ones(int(happens.sum()), np.int8)
            versions.append(version)
        self.queues["reviews"].add(concat(versions))

    def _pay(
        self,
        rng: np.random.Generator,
        order_ids: np.ndarray,
        ordered_at: np.ndarray,
        currency: np.ndarray,
        total: np.ndarray,
        free: np.ndarray,
    ) -> tuple[np.ndarray, Payments]:
        """Payment attempts for the orders: up to three, each after the previous one failed. An order a
        voucher pays in full (``free``) is paid at once by a gift card payment of its total, 0.00.

        Returns, per order, the time it was paid (-1 if never), and the payments.
        """
        n = len(order_ids)
        method = np.where(free, GIFT_CARD, rng.choice(len(METHOD_P), n, p=METHOD_P))
        attempt_at = ordered_at + rng.integers(5, 120, n)
        tries = np.ones(n, bool)
        paid_at = np.full(n, -1, np.int64)
        last_failure_at = np.zeros(n, np.int64)
        rows: list[Columns] = []
        success_row = np.full(n, -1, np.int64)
        offset = 0
        for attempt in range(3):
            idx = np.flatnonzero(tries)
            m = len(idx)
            fail_rate = METHOD_FAILURE[method[idx]] if attempt == 0 else RETRY_FAILURE_RATE
            failed = (rng.random(m) < fail_rate) & ~free[idx]
            bank = method[idx] == BANK_TRANSFER
            lost = bank & (rng.random(m) < BANK_TRANSFER_LOST_RATE)
            failed |= lost
            created = attempt_at[idx]
            # Cards, wallets and the like answer at once; a bank transfer is pending until it arrives.
            settled = np.where(
                bank,
                created + np.where(lost, 5 * DAY, rng.integers(12 * HOUR, 3 * DAY, m)),
                created + rng.integers(1, 20, m),
            )
            payment_ids = np.arange(self.next_id["payments"], self.next_id["payments"] + m)
            self.next_id["payments"] += m
            attempt_rows: Columns = {
                "payment_id": payment_ids,
                "order_id": order_ids[idx],
                "payment_method": method[idx].astype(np.int8),
                "payment_status": np.where(failed, P_FAILED, P_SUCCEEDED).astype(np.int8),
                "amount": total[idx],
                "refunded_amount": np.full(m, -1, np.int64),
                "currency": currency[idx],
                "failure_reason": np.where(
                    failed,
                    np.where(lost, LOST_TRANSFER, rng.integers(0, LOST_TRANSFER, m)),
                    -1,
                ).astype(np.int8),
                "created_at": created,
                "updated_at": settled,
            }
            pending = take(attempt_rows, bank)
            pending["payment_status"] = np.full(bank.sum(), P_PENDING, np.int8)
            pending["failure_reason"] = np.full(bank.sum(), -1, np.int8)
            pending["updated_at"] = created[bank]
            rows += [attempt_rows, pending]
            success_row[idx[~failed]] = offset + np.flatnonzero(~failed)
            offset += m + int(bank.sum())
            paid_at[idx[~failed]] = settled[~failed]
            last_failure_at[idx[failed]] = settled[failed]
            if attempt < 2:
                retry = failed & (rng.random(m) < RETRY_RATE[attempt])
                switch = rng.random(m) < METHOD_SWITCH_RATE
                method[idx] = np.where(switch, rng.choice(len(METHOD_P), m, p=METHOD_P), method[idx])
                attempt_at[idx] = settled + rng.integers(60, 1800, m)
                tries = np.zeros(n, bool)
                tries[idx[retry]] = True
        return paid_at, Payments(concat(rows), success_row, last_failure_at)

    # -- the day's export --------------------------------------------------------------------------------

    def _export_rows(self, rng: np.random.Generator, entity: str, day_end: int) -> Columns:
        """The rows of one entity's export for the day that ends at ``day_end``.

        A key changed several times in the day appears once, in its latest version (the export is taken at the
        end of the day). Rows changed in the last minutes of the day sometimes miss the export and come with
        the next day's; a few rows are written twice.
        """
        rows = concat([self.deferred.pop(entity, {}), self.queues[entity].pop_until(day_end)])
        if not rows:
            return {}
        keys = [rows[name] for name in ENTITIES[entity].key]
        latest = np.lexsort((rows["updated_at"], *reversed(keys)))  # by key, then updated_at
        same_key_next = np.logical_and.reduce([key[latest][1:] == key[latest][:-1] for key in keys])
        keep = latest[np.append(~same_key_next, True)]
        rows = take(rows, keep)
        late = (rows["updated_at"] >= day_end - LATE_ROW_WINDOW) & (rng.random(len(keep)) < LATE_ROW_RATE)
        if entity != "products" and late.any():
            self.deferred[entity] = take(rows, late)
            rows = take(rows, ~late)
        keys = [rows[name] for name in ENTITIES[entity].key]
        order = np.lexsort((*reversed(keys), rows["updated_at"]))  # by updated_at, then key
        if entity in ("orders", "order_items", "payments"):
            dupes = np.flatnonzero(rng.random(len(order)) < DUPLICATE_ROW_RATE)
            order = np.insert(order, dupes + 1, order[dupes])
        return take(rows, order)


def _times_in_day(rng: np.random.Generator, day_start: int, n: int) -> np.ndarray:
    hours = rng.choice(24, n, p=HOURLY_P)
    return np.sort(day_start + hours * HOUR + rng.integers(0, HOUR, n)).astype(np.int64)


def _lookup(rows: Columns, keys: np.ndarray, column: str) -> np.ndarray:
    """``rows[column]`` for each of ``keys`` (keys missing from ``rows`` give 0)."""
    ids = rows["customer_id"]
    pos = np.clip(np.searchsorted(ids, keys), 0, max(len(ids) - 1, 0))
    if len(ids) == 0:
        return np.zeros(len(keys), np.int64)
    found = ids[pos] == keys
    return np.where(found, rows[column][pos], 0)
