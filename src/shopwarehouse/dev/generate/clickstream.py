"""The storefront's clickstream: visitors, their devices, their sessions, and the events the tracker sends.

A device (a cookie: one ``anonymous_id``) belongs to an anonymous visitor until a customer signs in on it;
each customer uses one to three. Every order is the last event of a session (``order_completed``, at the
order's ``ordered_at``), reached through a landing page view, product views of what was bought, adds to the
cart and the checkout; most sessions end earlier in that funnel. Sessions are built whole, vectorised with
NumPy, on the day they start: events of one session are seconds to minutes apart, sessions of one device more
than half an hour apart. Every day draws from random streams of its own, seeded by the seed and the day, and
the devices' state moves forward day by day, so the events of the first N days never depend on how many
days are generated.

The tracker's mess, each at a small fixed rate: events delivered a few days late, events delivered twice,
crawlers and headless browsers, and client clocks a few seconds behind. Events wait in a queue for the day
they are delivered; the export of a day is the events that arrived that day, in the order they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shopwarehouse.dev.generate import catalog
from shopwarehouse.landing.contract import DEVICES, EVENT_TYPES

if TYPE_CHECKING:
    from shopwarehouse.dev.generate.simulation import Shop

DAY = 86_400
HOUR = 3_600
Columns = dict[str, np.ndarray]

PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, REMOVE_FROM_CART, CHECKOUT_STARTED, ORDER_COMPLETED = range(6)
assert EVENT_TYPES[ORDER_COMPLETED] == "order_completed"

# Pages as codes into PAGE_PATHS; PRODUCT_PAGE is /p/<product_id>.
CATEGORY_PAGES = tuple(f"/c/{name.lower()}" for name in catalog.CATEGORIES)
PAGE_PATHS = ("/", *CATEGORY_PAGES, "/cart", "/checkout", "/checkout/complete")
HOME, CART, CHECKOUT, COMPLETE = 0, len(PAGE_PATHS) - 3, len(PAGE_PATHS) - 2, len(PAGE_PATHS) - 1
PRODUCT_PAGE = len(PAGE_PATHS)
BLOCK_PAGES = np.array([-1, PRODUCT_PAGE, PRODUCT_PAGE, CART, CHECKOUT, COMPLETE], np.int16)  # by event type

# User agents: every device's, then the bots'; a device's agent is an index into USER_AGENTS.
USER_AGENTS = (
    *(agent for agents in catalog.DEVICE_USER_AGENTS for agent in agents),
    *catalog.BOT_USER_AGENTS,
)
AGENT_FIRST = np.cumsum([0, *(len(a) for a in catalog.DEVICE_USER_AGENTS)])[:-1]
AGENT_COUNT = np.array([len(a) for a in catalog.DEVICE_USER_AGENTS])
BOT_AGENT_FIRST = int(sum(AGENT_COUNT))
DEVICE_P = np.array(catalog.DEVICE_SHARES) / sum(catalog.DEVICE_SHARES)
assert len(DEVICE_P) == len(DEVICES)
DESKTOP = DEVICES.index("desktop")

# Referrers and campaign parameters as codes.
REFERRERS = tuple(
    dict.fromkeys(
        [url for url, _ in catalog.ORGANIC_REFERRERS]
        + [url for _, _, url, _ in catalog.CAMPAIGN_SOURCES if url is not None]
    )
)
ORGANIC_P = np.array([*(share for _, share in catalog.ORGANIC_REFERRERS)])
ORGANIC_P = np.append(ORGANIC_P, 1 - ORGANIC_P.sum())  # the last: direct, no referrer
ORGANIC_REFERRER = np.array([*(REFERRERS.index(url) for url, _ in catalog.ORGANIC_REFERRERS), -1], np.int8)
UTM_SOURCES = tuple(source for source, _, _, _ in catalog.CAMPAIGN_SOURCES)
UTM_MEDIUMS = tuple(dict.fromkeys(medium for _, medium, _, _ in catalog.CAMPAIGN_SOURCES))
CAMPAIGN_MEDIUM = np.array([UTM_MEDIUMS.index(m) for _, m, _, _ in catalog.CAMPAIGN_SOURCES], np.int8)
CAMPAIGN_REFERRER = np.array(
    [-1 if url is None else REFERRERS.index(url) for _, _, url, _ in catalog.CAMPAIGN_SOURCES], np.int8
)
CAMPAIGN_SOURCE_P = np.array([share for *_, share in catalog.CAMPAIGN_SOURCES])
CAMPAIGN_SOURCE_P = CAMPAIGN_SOURCE_P / CAMPAIGN_SOURCE_P.sum()
MARKET_SHARE = np.array([m.share for m in catalog.MARKETS]) / sum(m.share for m in catalog.MARKETS)
US = [m.country_code for m in catalog.MARKETS].index("US")

# Behaviour knobs.
BROWSING_SESSIONS_PER_ORDER = 40.0  # sessions without an order, per order, at clickstream scale 1
CUSTOMER_BROWSING_SHARE = 0.25  # of those: a customer on one of their devices ...
RETURNING_VISITOR_SHARE = 0.45  # ... else a visitor; this share on a device seen in the last days
VISITOR_MEMORY_DAYS = 45
BOT_SESSIONS_PER_ORDER = 0.06  # crawler sessions, each of many page views: about 4% of the events
BOT_PAGES = (30, 250)
BOT_GAP = (1, 15)  # seconds between a crawler's requests (uniform)
EVENT_GAP = (5, 600)  # seconds between two events of a person's session (log-uniform)
SESSION_GAP = 30 * 60  # more than this between two sessions of one device
DEVICES_PER_CUSTOMER_P = np.array([0.5, 0.35, 0.15])  # 1, 2 or 3
FROM_VISITOR_RATE = 0.4  # a new customer signs up on a device that browsed anonymously before
GUEST_RETURNING_RATE = 0.4  # a guest checks out on a device that browsed before
REMEMBERED_RATE = 0.8  # a signed-in device keeps the customer signed in (else they sign in again)
SIGN_IN_RATE = 0.25  # a customer browsing on a device not signed in signs in
CAMPAIGN_RATE = 0.3  # sessions landing from a campaign (utm_* parameters)
LANDING_HOME_RATE = 0.6  # sessions landing on the home page (else a category)
# Funnel of the sessions without an order: page views, then product views, the cart and the checkout.
PAGE_VIEWS_P = 0.35  # page views: geometric, mean 1 / p
PRODUCT_VIEW_RATE = 0.5
PRODUCT_VIEWS_P = 0.38
ADD_TO_CART_RATE = 0.22
CART_ADDS_P = 0.6
REMOVE_RATE = 0.25
CHECKOUT_RATE = 0.35
# The tracker's mess.
LATE_EVENT_RATE = 0.015  # delivered 1 to 3 days late
LATE_EVENT_DAYS = (1, 3)
DUPLICATE_EVENT_RATE = 0.005  # delivered twice: half within minutes, half the next day
CLOCK_SKEW_RATE = 0.003  # a client's clock puts an event a few seconds before the one it followed

# A queued event: its device's key (hashed) and number on it, times, who, what (packed codes: see unpack()).
EVENT_RECORD = np.dtype(
    [
        ("number", np.int64),  # on its device: the event_id is the device's and this
        ("device_key", np.uint64),
        ("occurred_at", np.int64),
        ("lands_at", np.int64),
        ("order", np.int64),
        ("customer", np.int32),
        ("product", np.int32),
        ("look", np.int32),
        ("landing", np.int32),
        ("kind", np.int16),
    ]
)

EVENT_STREAM, BROWSE_STREAM = 2, 3  # the random streams of the clickstream (the shop's is 0, the rates' 1)


@dataclass(frozen=True)
class PlacedOrders:
    """The orders of one simulated day, as the clickstream needs them."""

    order_id: np.ndarray
    customer: np.ndarray  # index of the customer, -1 for a guest checkout
    market: np.ndarray
    ordered_at: np.ndarray
    line_start: np.ndarray  # per order, its first line in ``product``
    size: np.ndarray  # per order, its number of lines
    product: np.ndarray  # per line, the product (index)


def unpack(events: Columns) -> Columns:
    """The codes packed in the queued events' columns: ``event_type``, ``page`` (PAGE_PATHS or
    PRODUCT_PAGE), ``agent``, ``country`` (a market), ``device``, ``referrer``, ``source`` (a campaign
    source), ``campaign`` (-1: none)."""
    kind, look, landing = events["kind"], events["look"], events["landing"]
    return {
        "event_type": kind & 0xFF,
        "page": kind >> 8,
        "agent": look & 0xFF,
        "country": look >> 8 & 0xFF,
        "device": look >> 16,
        "referrer": (landing & 0xFF) - 1,
        "source": (landing >> 8 & 0xFF) - 1,
        "campaign": (landing >> 16) - 1,
    }


def mix(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijection of 64-bit integers (splitmix64's finaliser): distinct inputs give distinct outputs."""
    z = values.astype(np.uint64) + np.uint64(salt % 2**64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _Devices:
    """Every device seen so far, one entry per anonymous id, in arrays with room to grow."""

    FIELDS = (
        ("kind", np.int8),  # desktop, mobile or tablet: an index into DEVICES
        ("agent", np.int8),  # an index into USER_AGENTS
        ("market", np.int8),  # where its IP addresses are
        ("owner", np.int64),  # the customer (index) it belongs to, -1 for an anonymous visitor's
        ("bot", np.bool_),
        ("signed_in", np.bool_),  # a customer signed in on it before
        ("last_end", np.int64),  # when its latest session ended
        ("sent", np.int64),  # events it sent so far: the next one's number
    )

    def __init__(self) -> None:
        self.n = 0
        self.arrays: Columns = {name: np.zeros(1024, dtype) for name, dtype in self.FIELDS}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name][: self.n]

    def add(self, rng: np.random.Generator, market: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """New people's devices (a browser each, by the devices' shares); returns their numbers."""
        n = len(market)
        kind = rng.choice(len(DEVICE_P), n, p=DEVICE_P).astype(np.int8)
        agent = AGENT_FIRST[kind] + (rng.random(n) * AGENT_COUNT[kind]).astype(np.int64)
        return self._append(kind, agent, market, owner, np.zeros(n, bool))

    def add_bots(self, rng: np.random.Generator, n: int) -> np.ndarray:
        agent = BOT_AGENT_FIRST + rng.integers(0, len(catalog.BOT_USER_AGENTS), n)
        market = np.where(rng.random(n) < 0.8, US, rng.integers(0, len(catalog.MARKETS), n))
        return self._append(np.full(n, DESKTOP), agent, market, np.full(n, -1), np.ones(n, bool))

    def _append(
        self, kind: np.ndarray, agent: np.ndarray, market: np.ndarray, owner: np.ndarray, bot: np.ndarray
    ) -> np.ndarray:
        n = len(kind)
        first = self.n
        capacity = len(self.arrays["kind"])
        if first + n > capacity:
            size = max(2 * capacity, first + n)
            for name, array in self.arrays.items():
                grown = np.zeros(size, array.dtype)
                grown[:first] = array[:first]
                self.arrays[name] = grown
        values = {
            "kind": kind,
            "agent": agent,
            "market": market,
            "owner": owner,
            "bot": bot,
            "signed_in": np.zeros(n, bool),
            "last_end": np.zeros(n, np.int64),
            "sent": np.zeros(n, np.int64),
        }
        for name, value in values.items():
            self.arrays[name][first : first + n] = value
        self.n += n
        return np.arange(first, first + n)


class Clickstream:
    """The visitors' devices and the events waiting to be delivered; :meth:`day` adds a day's sessions."""

    def __init__(self, seed: int, scale: float, hourly_p: np.ndarray) -> None:
        self.seed = seed
        self.scale = scale
        self.hourly_p = hourly_p  # sessions start through the day as orders are placed
        self.devices = _Devices()
        self.devices_before_day: list[int] = []  # devices seen before each day began
        # Each customer's devices: up to three, -1 unused.
        self.c_devices = np.full((0, 3), -1, np.int64)
        self.c_count = np.zeros(0, np.int8)
        self.device_salt = (seed * 0x9E3779B97F4A7C15 + 2) % 2**64
        self.arrivals: dict[int, list[np.ndarray]] = {}  # events waiting (records), by the day they arrive
        self.stats: dict[str, int] = {}

    # -- a day --------------------------------------------------------------------------------------------

    def day(self, shop: Shop, index: int, day_start: int, placed: PlacedOrders) -> None:
        """Simulate the sessions that start on day ``index``: one per order placed, and the rest."""
        rng = np.random.default_rng([self.seed, index, EVENT_STREAM])
        self.devices_before_day.append(self.devices.n)
        new_customers = self._customers_devices(rng, shop, day_start)
        converting = self._converting(rng, shop, day_start, placed)
        # (sign-ups without an order are sessions without an order: none at scale 0)
        signups = self._signups(rng, shop, day_start, new_customers, placed) if self.scale > 0 else {}
        browse_rng = np.random.default_rng([self.seed, index, BROWSE_STREAM])
        n_browsing = browse_rng.poisson(self.scale * BROWSING_SESSIONS_PER_ORDER * len(placed.order_id))
        browsing = self._browsing(browse_rng, shop, index, day_start, n_browsing)
        n_bots = browse_rng.poisson(self.scale * BOT_SESSIONS_PER_ORDER * len(placed.order_id))
        bots = self._bots(browse_rng, day_start, n_bots)
        sessions = _concat([converting, signups, browsing, bots])
        if not sessions:
            return
        events = self._events(rng, shop, day_start, sessions, placed)
        self._deliver(rng, events)

    def _count(self, name: str, n: int) -> None:
        self.stats[name] = self.stats.get(name, 0) + int(n)

    # -- devices --------------------------------------------------------------------------------------------

    def _customers_devices(self, rng: np.random.Generator, shop: Shop, day_start: int) -> np.ndarray:
        """Devices for the customers created since the last day: one to three each. The initial customers
        (signed up before the first day) were signed in on their first device; a new customer's first
        device is one that browsed anonymously before, sometimes. Returns the new customers' indexes."""
        seen = len(self.c_count)
        customers = np.arange(seen, len(shop.c_market))
        n = len(customers)
        count = (1 + rng.choice(3, n, p=DEVICES_PER_CUSTOMER_P)).astype(np.int8)
        slots = np.full((n, 3), -1, np.int64)
        for k in range(3):
            has = count > k
            slots[has, k] = self.devices.add(rng, shop.c_market[customers[has]], customers[has])
        new = shop.c_created[customers] >= day_start
        # A new customer's first device may be a visitor's that browsed before (not today: the sign-up
        # session is today's first session on it).
        reuse = new & (rng.random(n) < FROM_VISITOR_RATE)
        visitor = self._returning_visitors(rng, int(reuse.sum()))
        ok = visitor >= 0
        ok[np.setdiff1d(np.arange(len(visitor)), np.unique(visitor, return_index=True)[1])] = False
        ok[ok] &= self.devices["last_end"][visitor[ok]] < day_start - SESSION_GAP
        taken = np.flatnonzero(reuse)[ok]
        # the fresh device drawn for them stays unused: it is simply never seen
        slots[taken, 0] = visitor[ok]
        self.devices.arrays["owner"][visitor[ok]] = customers[taken]
        self.devices.arrays["market"][visitor[ok]] = shop.c_market[customers[taken]]
        self.devices.arrays["signed_in"][slots[~new, 0]] = True
        self.c_devices = np.concatenate([self.c_devices, slots])
        self.c_count = np.concatenate([self.c_count, count])
        return customers[new]

    def _returning_visitors(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Devices of visitors who browsed in the last days (anonymous, not a crawler's); -1 where the draw
        met another kind of device."""
        days = self.devices_before_day
        low = days[max(0, len(days) - 1 - VISITOR_MEMORY_DAYS)]
        high = days[-1]
        if high <= low or n == 0:
            return np.full(n, -1, np.int64)
        device = rng.integers(low, high, n)
        ok = (self.devices["owner"][device] < 0) & ~self.devices["bot"][device]
        return np.where(ok, device, -1)

    def _another_of_theirs(
        self,
        sessions: np.ndarray,
        device: np.ndarray,
        owner: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        conv: np.ndarray,
    ) -> np.ndarray:
        """For orders' sessions that must move off their device: a buyer who has three devices already moves
        to another of them that is free then (``device`` is updated); which did."""
        done = np.zeros(len(sessions), bool)
        full = (owner[sessions] >= 0) & (self.c_count[np.maximum(owner[sessions], 0)] >= 3)
        if not full.any():
            return done
        theirs = self.c_devices[owner[sessions[full]]].ravel()
        windows: dict[int, list[tuple[int, int]]] = {}
        for i in conv[np.isin(device[conv], theirs)].tolist():
            windows.setdefault(int(device[i]), []).append((int(start[i]), int(end[i])))
        last_end = self.devices["last_end"]
        for j in np.flatnonzero(full).tolist():
            i = int(sessions[j])
            begins, ends = int(start[i]), int(end[i])
            for d in self.c_devices[owner[i]].tolist():
                if d == device[i] or last_end[d] + SESSION_GAP > begins:
                    continue
                if any(b < ends + SESSION_GAP and begins < e + SESSION_GAP for b, e in windows.get(d, [])):
                    continue
                windows.setdefault(d, []).append((begins, ends))
                device[i] = d
                done[j] = True
                break
        return done

    def _new_device(self, rng: np.random.Generator, customer: np.ndarray, market: np.ndarray) -> np.ndarray:
        """A device never seen before, for each of ``customer`` (-1: a visitor); a customer keeps it among
        their devices while they have fewer than three."""
        device = self.devices.add(rng, market, customer)
        mine = customer >= 0
        # (one at a time: a customer may be named twice, and the first may take their last free place)
        for c, d in zip(customer[mine].tolist(), device[mine].tolist(), strict=True):
            if self.c_count[c] < 3:
                self.c_devices[c, self.c_count[c]] = d
                self.c_count[c] += 1
        return device

    # -- sessions -------------------------------------------------------------------------------------------

    def _converting(
        self, rng: np.random.Generator, shop: Shop, day_start: int, placed: PlacedOrders
    ) -> Columns:
        """One session per order, ending with its ``order_completed`` at ``ordered_at``."""
        n = len(placed.order_id)
        customer = placed.customer
        registered = customer >= 0
        device = np.full(n, -1, np.int64)
        c = customer[registered]
        pick = (rng.random(len(c)) * self.c_count[c]).astype(np.int64)
        first_order = shop.c_created[c] >= day_start
        device[registered] = np.where(first_order, self.c_devices[c, 0], self.c_devices[c, pick])
        guests = np.flatnonzero(~registered)
        returning = guests[rng.random(len(guests)) < GUEST_RETURNING_RATE]
        device[returning] = self._returning_visitors(rng, len(returning))
        fresh = device < 0
        device[fresh] = self.devices.add(rng, placed.market[fresh], np.full(int(fresh.sum()), -1))
        extra = rng.integers(0, 4, n)  # products viewed but not bought
        removed = (extra > 0) & (rng.random(n) < 0.2)  # one of them carted, then removed
        signup_at = np.full(n, -1, np.int64)
        signup_at[registered] = np.where(first_order, shop.c_created[c], -1)
        sessions = _session_table(
            rng,
            n,
            device=device,
            owner=customer,
            anchor=placed.ordered_at,
            converting=np.ones(n, bool),
            n_pv=_geometric(rng, 0.5, n, 4),
            n_prod=extra + placed.size,
            n_atc=placed.size + removed,
            n_rm=removed.astype(np.int64),
            n_co=np.ones(n, np.int64),
            n_oc=np.ones(n, np.int64),
            extra=extra,
            line_start=placed.line_start,
            order=placed.order_id,
            signup_at=signup_at,
        )
        self._count("converting_sessions", n)
        return sessions

    def _signups(
        self,
        rng: np.random.Generator,
        shop: Shop,
        day_start: int,
        new_customers: np.ndarray,
        placed: PlacedOrders,
    ) -> Columns:
        """The sessions in which the new customers who did not order yet signed up: browsing that signs in
        at the sign-up."""
        buyers = placed.customer[placed.customer >= 0]
        customer = np.setdiff1d(new_customers, buyers)
        n = len(customer)
        if n == 0:
            return {}
        created = shop.c_created[customer]
        start = np.maximum(created - rng.integers(0, 900, n), day_start)
        sessions = self._browsing_table(rng, n, self.c_devices[customer, 0], customer, start)
        sessions["signup_at"] = created
        return sessions

    def _browsing(self, rng: np.random.Generator, shop: Shop, index: int, day_start: int, n: int) -> Columns:
        """Sessions without an order: customers on their devices, visitors coming back, new visitors."""
        if n == 0:
            return {}
        kind = rng.random(n)
        by_customer = kind < CUSTOMER_BROWSING_SHARE
        returning = ~by_customer & (
            kind < CUSTOMER_BROWSING_SHARE + (1 - CUSTOMER_BROWSING_SHARE) * RETURNING_VISITOR_SHARE
        )
        device = np.full(n, -1, np.int64)
        eligible = (shop.c_created < day_start) & (shop.c_erased_at > day_start + DAY)
        weight = np.where(eligible, shop.c_propensity, 0.0)
        m = int(by_customer.sum())
        if weight.sum() > 0 and m:
            customer = rng.choice(len(weight), m, p=weight / weight.sum())
            pick = (rng.random(m) * self.c_count[customer]).astype(np.int64)
            device[by_customer] = self.c_devices[customer, pick]
        device[returning] = self._returning_visitors(rng, int(returning.sum()))
        # A draw that found no device (a quiet start, another kind of device) is a new visitor's.
        fresh = (device < 0) & ~by_customer
        device[fresh] = self.devices.add(
            rng,
            rng.choice(len(MARKET_SHARE), int(fresh.sum()), p=MARKET_SHARE).astype(np.int8),
            np.full(int(fresh.sum()), -1),
        )
        keep = device >= 0
        device = device[keep]
        owner = self.devices["owner"][device]
        # A device whose customer asked to be erased is not seen again.
        gone = owner >= 0
        gone[gone] = shop.c_erased_at[owner[gone]] <= day_start + DAY
        device, owner = device[~gone], owner[~gone]
        hours = rng.choice(24, len(device), p=self.hourly_p)
        start = day_start + hours * HOUR + rng.integers(0, HOUR, len(device))
        return self._browsing_table(rng, len(device), device, owner, start)

    def _browsing_table(
        self, rng: np.random.Generator, n: int, device: np.ndarray, owner: np.ndarray, start: np.ndarray
    ) -> Columns:
        n_pv = _geometric(rng, PAGE_VIEWS_P, n, 15)
        n_prod = np.where(rng.random(n) < PRODUCT_VIEW_RATE, _geometric(rng, PRODUCT_VIEWS_P, n, 12), 0)
        carted = (n_prod > 0) & (rng.random(n) < ADD_TO_CART_RATE)
        n_atc = np.where(carted, np.minimum(n_prod, _geometric(rng, CART_ADDS_P, n, 6)), 0)
        n_rm = (carted & (rng.random(n) < REMOVE_RATE)).astype(np.int64)
        n_co = (carted & (rng.random(n) < CHECKOUT_RATE)).astype(np.int64)
        return _session_table(
            rng,
            n,
            device=device,
            owner=owner,
            anchor=start,
            converting=np.zeros(n, bool),
            n_pv=n_pv,
            n_prod=n_prod,
            n_atc=n_atc,
            n_rm=n_rm,
            n_co=n_co,
            n_oc=np.zeros(n, np.int64),
            extra=n_prod,
            line_start=np.full(n, -1, np.int64),
            order=np.full(n, -1, np.int64),
            signup_at=np.full(n, -1, np.int64),
        )

    def _bots(self, rng: np.random.Generator, day_start: int, n: int) -> Columns:
        """Crawlers: many page views in quick succession, a new cookie each visit, never a sign-in."""
        if n == 0:
            return {}
        device = self.devices.add_bots(rng, n)
        sessions = _session_table(
            rng,
            n,
            device=device,
            owner=np.full(n, -1, np.int64),
            anchor=day_start + rng.integers(0, DAY, n),
            converting=np.zeros(n, bool),
            n_pv=rng.integers(*BOT_PAGES, n),
            n_prod=np.zeros(n, np.int64),
            n_atc=np.zeros(n, np.int64),
            n_rm=np.zeros(n, np.int64),
            n_co=np.zeros(n, np.int64),
            n_oc=np.zeros(n, np.int64),
            extra=np.zeros(n, np.int64),
            line_start=np.full(n, -1, np.int64),
            order=np.full(n, -1, np.int64),
            signup_at=np.full(n, -1, np.int64),
        )
        sessions["bot"] = np.ones(n, bool)
        for name in ("source", "campaign", "referrer"):
            sessions[name] = np.full(n, -1, np.int8)
        return sessions

    # -- events -------------------------------------------------------------------------------------------

    def _events(
        self, rng: np.random.Generator, shop: Shop, day_start: int, s: Columns, placed: PlacedOrders
    ) -> Columns:
        """Settle the day's sessions (their times, which device each is on, which happened, their sign-ins)
        and expand them into events, packed for the queue (see :func:`unpack`)."""
        blocks = np.stack([s["n_pv"], s["n_prod"], s["n_atc"], s["n_rm"], s["n_co"], s["n_oc"]], axis=1)
        counts = blocks.sum(axis=1)
        first = np.cumsum(counts) - counts
        total = int(counts.sum())

        # Times: gaps of seconds to minutes (a crawler's: seconds); a session ending in an order ends at its
        # ordered_at and starts no earlier than the day (its gaps shrink to fit, for an order just after
        # midnight).
        # (log-uniform, in single precision: whole seconds need no more)
        spread = np.float32(np.log(EVENT_GAP[1] / EVENT_GAP[0]))
        gap = np.exp(np.float32(np.log(EVENT_GAP[0])) + spread * rng.random(total, np.float32)).astype(
            np.int64
        )
        crawled = np.flatnonzero(np.repeat(s["bot"], counts))
        gap[crawled] = rng.integers(*BOT_GAP, len(crawled), endpoint=True)
        gap[first] = 0
        elapsed = _within(gap, first, counts)
        duration = elapsed[first + counts - 1]
        converting = s["converting"]
        room = s["anchor"] - day_start
        squeeze = converting & (duration > room)
        if squeeze.any():
            factor = np.where(squeeze, room / np.maximum(duration, 1), 1.0)
            gap = np.floor(gap * np.repeat(factor, counts)).astype(np.int64)
            elapsed = _within(gap, first, counts)
            duration = elapsed[first + counts - 1]
        start = np.where(converting, s["anchor"] - duration, s["anchor"])
        end = start + duration

        # Devices: an order's session on a device busy within half an hour moves to a new device of its
        # buyer; another session on a device an order's session uses today, or too close to another
        # session of its device, never happened.
        device = s["device"].copy()
        owner = s["owner"]
        conv = np.flatnonzero(converting)
        clash = _clashes(device[conv], start[conv], end[conv], self.devices["last_end"])
        moved = conv[clash]
        moved = moved[~self._another_of_theirs(moved, device, owner, start, end, conv)]
        # (an order's session is the order's own: sessions begin with the day's orders, in their order)
        market = np.where(owner[moved] >= 0, shop.c_market[np.maximum(owner[moved], 0)], placed.market[moved])
        device[moved] = self._new_device(rng, owner[moved], market.astype(np.int8))
        self._count("converting_sessions_moved", int(clash.sum()))
        busy = np.zeros(self.devices.n, bool)
        busy[device[conv]] = True
        new_customer_today = owner >= 0
        new_customer_today[new_customer_today] = shop.c_created[owner[new_customer_today]] >= day_start
        signup = s["signup_at"] >= 0
        # Devices of today's new customers carry only their sign-up or first order's session today.
        today = self.c_devices[np.unique(owner[new_customer_today])].ravel()
        busy[today[today >= 0]] = True
        other = np.flatnonzero(~converting & ~signup)
        dropped = busy[device[other]]
        rest = other[~dropped]
        dropped_too = rest[_clashes(device[rest], start[rest], end[rest], self.devices["last_end"])]
        keep = np.ones(len(counts), bool)
        keep[other[dropped]] = False
        keep[dropped_too] = False
        self._count("browsing_sessions_dropped", (~keep).sum())

        # Sign-ins: the event from which a session carries its customer (never, for a visitor).
        never = np.iinfo(np.int64).max
        sign_in = np.full(len(counts), never, np.int64)
        has_owner = owner >= 0
        signed = np.zeros(len(counts), bool)
        signed[has_owner] = self.devices["signed_in"][device[has_owner]]
        # ... signed in on this device earlier today (sessions of one device in time order)
        want = has_owner & keep & ~converting & ~signup & (rng.random(len(counts)) < SIGN_IN_RATE)
        want &= counts >= 2
        order = _by_device_then_time(device, start)
        d_sorted = device[order]
        group_start = np.r_[True, d_sorted[1:] != d_sorted[:-1]]
        signs_in = want[order] | signup[order]
        earlier: np.ndarray = np.cumsum(signs_in) - signs_in
        earlier -= np.maximum.accumulate(np.where(group_start, earlier, 0))
        signed[order] |= (earlier > 0) & keep[order]
        remembered = rng.random(len(counts)) < REMEMBERED_RATE
        later = 1 + (rng.random(len(counts)) * np.maximum(counts - 1, 1)).astype(np.int64)
        checkout = counts - 2  # an order's checkout_started
        later_in_order = 1 + (rng.random(len(counts)) * np.maximum(checkout, 1)).astype(np.int64)
        browsing_owner = has_owner & ~converting & ~signup
        sign_in = np.where(browsing_owner & signed, np.where(remembered | (counts < 2), 0, later), sign_in)
        sign_in = np.where(browsing_owner & ~signed & want, later, sign_in)
        buying = has_owner & converting & ~signup
        sign_in = np.where(buying, np.where(signed & remembered, 0, later_in_order), sign_in)
        # A sign-up: from the first event at or after the account was created.
        up = np.flatnonzero(signup)
        if len(up):
            index = np.concatenate([np.arange(first[k], first[k] + counts[k]) for k in up.tolist()])
            at = np.repeat(start[up], counts[up]) + elapsed[index]
            up_pos = index - np.repeat(first[up], counts[up])
            after = np.where(at >= np.repeat(s["signup_at"][up], counts[up]), up_pos, never)
            # (never from the first event: a device's first session begins anonymous)
            sign_in[up] = np.maximum(np.minimum.reduceat(after, np.cumsum(counts[up]) - counts[up]), 1)

        # Keep the sessions that happened; update the devices.
        self.devices.arrays["last_end"][device[keep]] = np.maximum(
            self.devices["last_end"][device[keep]], end[keep]
        )
        did_sign_in = keep & has_owner & (sign_in < counts)
        self.devices.arrays["signed_in"][device[did_sign_in]] = True
        self._count("sessions", keep.sum())
        self._count("bot_sessions", (keep & s["bot"]).sum())
        self._count("sessions_signed_in", did_sign_in.sum())

        # The events of the sessions kept, session by session.
        k = np.flatnonzero(keep)
        # (in the order the sessions began: the events then need only moving a little to be in time order)
        k = k[np.argsort(start[k], kind="stable")]
        was_first = first[k]
        blocks, counts = blocks[k], counts[k]
        n = int(counts.sum())
        first = np.cumsum(counts) - counts
        elapsed = elapsed[np.repeat(was_first - first, counts) + np.arange(n)]
        etype = np.repeat(np.tile(np.arange(6, dtype=np.int8), len(k)), blocks.ravel())
        block_first = (np.cumsum(blocks.ravel()) - blocks.ravel()).reshape(blocks.shape)
        t = np.repeat(start[k], counts) + elapsed
        pos = np.arange(n) - np.repeat(first, counts)
        is_bot = np.repeat(s["bot"][k], counts)
        converting_k = converting[k]

        # Pages: the landing page, other pages browsed, each step's own page; a crawler's: any, mostly
        # products (no product view of the tracker's).
        page = BLOCK_PAGES[etype]
        views = np.flatnonzero(etype == PAGE_VIEW)
        page[views] = np.where(
            rng.random(len(views)) < 0.2, HOME, 1 + rng.integers(0, len(CATEGORY_PAGES), len(views))
        )
        page[first] = s["landing"][k]
        # Products: an order's own at the end of its session's product views; others by popularity.
        product = np.full(n, -1, np.int64)
        on_sale = shop.p_popularity * shop.p_active
        cdf = np.cumsum(on_sale / on_sale.sum())
        viewed = np.flatnonzero(etype == PRODUCT_VIEW)
        product[viewed] = np.minimum(np.searchsorted(cdf, rng.random(len(viewed)) * cdf[-1]), len(cdf) - 1)
        session_of_view = np.repeat(np.arange(len(k)), blocks[:, PRODUCT_VIEW])
        in_block = viewed - block_first[session_of_view, PRODUCT_VIEW]
        extra = s["extra"][k][session_of_view]
        own = converting_k[session_of_view] & (in_block >= extra)
        line = s["line_start"][k][session_of_view] + in_block - extra
        product[viewed[own]] = placed.product[line[own]]
        # Adds to the cart take the products viewed (an order's: its own); a removal takes the first.
        carted = np.flatnonzero((etype == ADD_TO_CART) | (etype == REMOVE_FROM_CART))
        session_of_cart = np.repeat(np.arange(len(k)), blocks[:, ADD_TO_CART] + blocks[:, REMOVE_FROM_CART])
        cart_index = carted - block_first[session_of_cart, ADD_TO_CART]
        bought = blocks[session_of_cart, ADD_TO_CART] - blocks[session_of_cart, REMOVE_FROM_CART]
        which = np.where(
            converting_k[session_of_cart],
            np.where(cart_index < bought, s["extra"][k][session_of_cart] + cart_index, 0),
            cart_index,
        )
        which[etype[carted] == REMOVE_FROM_CART] = 0
        product[carted] = product[block_first[session_of_cart, PRODUCT_VIEW] + which]
        bots = np.flatnonzero(is_bot)
        page[bots] = np.where(
            rng.random(len(bots)) < 0.7, PRODUCT_PAGE, rng.integers(0, len(CATEGORY_PAGES) + 1, len(bots))
        )
        product[bots] = rng.integers(0, len(cdf), len(bots))  # the page's product (no product_id)

        # Who: the device, and the customer from the sign-in on.
        dev = device[k]
        look = self.devices["agent"][dev] | self.devices["market"][dev].astype(np.int32) << 8
        look |= self.devices["kind"][dev].astype(np.int32) << 16
        customer = np.where(pos >= np.repeat(sign_in[k], counts), np.repeat(owner[k], counts), -1)
        landing = np.zeros(n, np.int32)
        referrer, source, campaign = (
            s[name][k].astype(np.int32) + 1 for name in ("referrer", "source", "campaign")
        )
        landing[first] = referrer | source << 8 | campaign << 16
        order_id = np.full(n, -1, np.int64)
        order_id[first[converting_k] + counts[converting_k] - 1] = s["order"][k][converting_k]
        # Each event's number on its device (the tracker's counter), in the order the device sent them.
        order = _by_device_then_time(dev, start[k])
        sorted_dev, sorted_counts = dev[order], counts[order]
        group_start = np.r_[True, sorted_dev[1:] != sorted_dev[:-1]]
        before = np.cumsum(sorted_counts) - sorted_counts
        before -= np.maximum.accumulate(np.where(group_start, before, 0))
        first_number = np.empty(len(k), np.int64)
        first_number[order] = self.devices["sent"][sorted_dev] + before
        np.add.at(self.devices.arrays["sent"], dev, counts)
        events: Columns = {
            "number": np.repeat(first_number, counts) + pos,
            "device_key": np.repeat(mix(dev, self.device_salt), counts),
            "customer": customer.astype(np.int32),
            "kind": (etype | page.astype(np.int16) << 8).astype(np.int16),
            "occurred_at": t,
            "lands_at": t.copy(),
            "product": product.astype(np.int32),
            "order": order_id,
            "look": np.repeat(look, counts).astype(np.int32),
            "landing": landing,
        }
        self._count("events", n)
        self._count("bot_events", len(bots))
        # A client's clock a few seconds behind: an event stamped before the one it followed.
        skew = (pos > 0) & (etype != ORDER_COMPLETED) & (rng.random(n) < CLOCK_SKEW_RATE)
        skew[1:] &= ~skew[:-1]
        skewed = np.flatnonzero(skew)
        events["occurred_at"][skewed] = t[skewed - 1] - rng.integers(1, 6, len(skewed))
        self._count("events_clock_behind", len(skewed))
        return events

    def _deliver(self, rng: np.random.Generator, events: Columns) -> None:
        """Queue the events for the day they arrive (at once, a few days late, or twice), in the order they
        arrive."""
        n = len(events["lands_at"])
        late = np.flatnonzero(rng.random(n) < LATE_EVENT_RATE)
        events["lands_at"][late] += DAY * rng.integers(LATE_EVENT_DAYS[0], LATE_EVENT_DAYS[1] + 1, len(late))
        again = np.flatnonzero(rng.random(n) < DUPLICATE_EVENT_RATE)
        delay = np.where(rng.random(len(again)) < 0.5, rng.integers(1, 600, len(again)), DAY)
        self._count("events_late", len(late))
        self._count("events_delivered_twice", len(again))
        lands = np.concatenate([events["lands_at"], events["lands_at"][again] + delay])
        rows = np.concatenate([np.arange(n), again])
        # In the order they arrive, then as sent: one sort of (arrival, position) keys, and the events
        # moved into that order as records (one move each, not one per column).
        base = int(lands.min())
        order = (np.sort((lands - base) << 32 | np.arange(len(lands))) & 0xFFFFFFFF).astype(np.int64)
        records = np.empty(n, EVENT_RECORD)
        for name in EVENT_RECORD.names or ():
            records[name] = events[name]
        arrived = np.take(records, rows[order])  # (np.take: a record at a time; indexing goes by field)
        arrived["lands_at"] = lands[order]
        days = arrived["lands_at"] // DAY
        cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
        for a, b in zip([0, *cuts.tolist()], [*cuts.tolist(), len(days)], strict=True):
            # what arrives on a later day waits: a copy, so today's array can go
            self.arrivals.setdefault(int(days[a]), []).append(arrived[a:b] if a == 0 else arrived[a:b].copy())

    def deliveries(self, until: int) -> Columns:
        """The events that arrived before ``until`` (the end of a day), in the order they arrived, as columns
        (the fields of EVENT_RECORD)."""
        days = sorted(day for day in self.arrivals if day * DAY < until)
        parts = [part for day in days for part in self.arrivals.pop(day)]
        if not parts:
            return {}
        # The day's own events (the most, in order already), and the few that arrive with them from earlier
        # days (in order among themselves) put in their places: one copy of the day's.
        largest = max(range(len(parts)), key=lambda i: len(parts[i]))
        records = parts.pop(largest)
        if parts:
            others = np.concatenate(parts)
            others = np.take(others, np.argsort(others["lands_at"], kind="stable"))
            at = np.searchsorted(records["lands_at"], others["lands_at"], side="right")
            records = np.insert(records, at, others)
        return {name: records[name] for name in EVENT_RECORD.names or ()}


# -- helpers ---------------------------------------------------------------------------------------------


def _session_table(rng: np.random.Generator, n: int, **columns: np.ndarray) -> Columns:
    """Sessions with their landing: a campaign's parameters and referrer, or an organic referrer (or none);
    the home page or a category."""
    campaign = rng.random(n) < CAMPAIGN_RATE
    source = np.where(campaign, rng.choice(len(CAMPAIGN_SOURCE_P), n, p=CAMPAIGN_SOURCE_P), -1)
    organic = ORGANIC_REFERRER[rng.choice(len(ORGANIC_P), n, p=ORGANIC_P)]
    referrer = np.where(campaign, CAMPAIGN_REFERRER[np.maximum(source, 0)], organic)
    landing = np.where(rng.random(n) < LANDING_HOME_RATE, HOME, 1 + rng.integers(0, len(CATEGORY_PAGES), n))
    return {
        **{k: np.asarray(v, np.int64) if k != "converting" else v for k, v in columns.items()},
        "source": source.astype(np.int8),
        "campaign": np.where(campaign, rng.integers(0, len(catalog.CAMPAIGNS), n), -1).astype(np.int8),
        "referrer": referrer.astype(np.int8),
        "landing": landing.astype(np.int16),
        "bot": np.zeros(n, bool),
    }


def _concat(parts: list[Columns]) -> Columns:
    parts = [p for p in parts if p and len(next(iter(p.values())))]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _geometric(rng: np.random.Generator, p: float, n: int, cap: int) -> np.ndarray:
    return np.minimum(rng.geometric(p, n), cap).astype(np.int64)


def _within(gap: np.ndarray, first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Seconds since each event's session began, from the gaps before each event (0 for a first)."""
    total = np.cumsum(gap)
    since: np.ndarray = total - np.repeat(total[first], counts)
    return since


def _by_device_then_time(device: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The order of sessions by device, then start: one sort of a key packing both (ties: any order)."""
    if len(device) == 0:
        return np.zeros(0, np.int64)
    since = start - int(start.min())
    bits = max(int(since.max()).bit_length(), 1)
    order: np.ndarray = np.argsort(device.astype(np.int64) << bits | since)
    return order


def _clashes(device: np.ndarray, start: np.ndarray, end: np.ndarray, last_end: np.ndarray) -> np.ndarray:
    """Which sessions begin within SESSION_GAP of the end of an earlier session of their device (an earlier
    day's, or another of these)."""
    if len(device) == 0:
        return np.zeros(0, bool)
    order = _by_device_then_time(device, start)
    d, s, e = device[order], start[order], end[order]
    group = np.cumsum(np.r_[True, d[1:] != d[:-1]])
    base = int(e.min())
    span = int(e.max()) - base + 1
    running = np.maximum.accumulate(group * span + (e - base)) - group * span + base
    before = np.r_[np.iinfo(np.int64).min // 2, running[:-1]]
    same = np.r_[False, d[1:] == d[:-1]]
    previous = np.where(same, before, np.iinfo(np.int64).min // 2)
    previous = np.maximum(previous, last_end[d])
    clash = np.zeros(len(device), bool)
    clash[order] = s < previous + SESSION_GAP
    return clash
