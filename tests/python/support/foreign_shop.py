"""A shop nobody here generated (test helper): four years of history, 2012-2015, written straight into the
source contract's files by code of its own, not by the project's generator, with what real exports bring:

- codes the seeds do not list: a sales channel (``kiosk``), a payment method (``klarna``), a country
  (``ZZ``); each is known here, so a test can check that the data-quality mart lists exactly these;
- zero amounts (fully discounted orders paid by a gift card of 0.00), guest checkouts (no customer), an
  order whose customer never lands;
- two currencies besides the dollar whose rates change every business day (none on weekends: the last
  rate carries over), payments made a day after their order (converted at their own day's rate);
- a second export day that moves orders on (one is returned and refunded) and corrects one EUR rate late.

It also computes, from its own rows and with :class:`~decimal.Decimal`, what ``kpi_daily`` must show per
day: the independent figure the marts are checked against.
"""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.zone import Landing

FIRST_DAY, LAST_DAY = date(2012, 1, 1), date(2015, 12, 31)
HISTORY_EXPORT = date(2016, 1, 1)  # the whole history lands as one export...
UPDATE_EXPORT = date(2016, 1, 2)  # ...and the next day's brings changes and a late rate correction
CORRECTED_DAY = date(2013, 6, 5)  # a Wednesday: its EUR rate is corrected on the second export day
SAME_AMOUNT_DAYS = (date(2014, 2, 3), date(2014, 9, 15))  # 100.00 BRL ordered on each
VALID = {"paid", "shipped", "delivered", "returned"}
CAPTURED = {"succeeded", "refunded", "partially_refunded"}
# The unknown codes the shop brings: (entity, column) -> code. The marts must list exactly these.
UNKNOWN = {("orders", "channel"): "kiosk", ("payments", "payment_method"): "klarna",
           ("customers", "country_code"): "ZZ"}  # fmt: skip
CENT = Decimal("0.01")

Row = dict[str, Any]


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ForeignShop:
    rows: dict[date, dict[str, list[Row]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    """Export day -> entity -> rows, as landed."""
    rates: dict[str, dict[date, Decimal]] = field(default_factory=lambda: defaultdict(dict))
    """The rates in force after every export (the correction applied): currency -> rate date -> USD."""

    def rate_on(self, currency: str, day: date) -> Decimal:
        """The latest rate on or before ``day`` (the dollar is 1)."""
        if currency == "USD":
            return Decimal(1)
        days = sorted(self.rates[currency])
        return self.rates[currency][days[bisect.bisect_right(days, day) - 1]]

    def latest(self, entity: str, key: str) -> dict[str, Row]:
        """The latest version of every key of ``entity`` over all export days."""
        found: dict[str, Row] = {}
        for export_day in sorted(self.rows):
            for row in self.rows[export_day][entity]:
                found[row[key]] = row
        return found

    def expected_kpi_daily(self) -> dict[date, tuple[Decimal, Decimal, int]]:
        """Per order day: gross revenue and paid revenue (USD, each amount converted at its own day's rate
        and rounded to the cent), and guest orders, computed from the rows alone."""
        orders = self.latest("orders", "order_id")
        gross: dict[date, Decimal] = defaultdict(Decimal)
        paid: dict[date, Decimal] = defaultdict(Decimal)
        guests: dict[date, int] = defaultdict(int)
        order_day = {}
        for order in orders.values():
            day = datetime.fromisoformat(order["ordered_at"]).astimezone(UTC).date()
            order_day[order["order_id"]] = day
            gross[day] += Decimal(0)
            if order["order_status"] in VALID:
                rate = self.rate_on(order["currency"], day)
                gross[day] += (Decimal(order["total_amount"]) * rate).quantize(CENT, ROUND_HALF_UP)
                guests[day] += not order["customer_id"]
        for payment in self.latest("payments", "payment_id").values():
            if payment["payment_status"] in CAPTURED:
                day = datetime.fromisoformat(payment["created_at"]).astimezone(UTC).date()
                rate = self.rate_on(payment["currency"], day)
                converted = (Decimal(payment["amount"]) * rate).quantize(CENT, ROUND_HALF_UP)
                paid[order_day[payment["order_id"]]] += converted
        return {day: (gross[day], paid[day], guests[day]) for day in gross}

    def expected_unknown_codes(self) -> set[tuple[str, str, str, int]]:
        """(entity, column, code, rows) of every injected unknown code, counted in the latest rows."""
        keys = {"orders": "order_id", "payments": "payment_id", "customers": "customer_id"}
        found = set()
        for (entity, column), code in UNKNOWN.items():
            rows = sum(row[column] == code for row in self.latest(entity, keys[entity]).values())
            found.add((entity, column, code, rows))
        return found

    def land(self, landing: Landing) -> None:
        """Every export day's files: orders, customers and rates as CSV, lines and products as CSV too,
        payments as gzipped JSON Lines."""
        for export_day, entities in self.rows.items():
            for entity, rows in entities.items():
                columns = [column.name for column in ENTITIES[entity].columns]
                prefix = f"raw/{entity}/date={export_day}/"
                if entity == "payments":
                    lines = "".join(json.dumps({c: row[c] for c in columns}) + "\n" for row in rows)
                    landing.put(prefix + "payments.jsonl.gz", gzip.compress(lines.encode()))
                    continue
                text = io.StringIO()
                writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
                writer.writeheader()
                # An empty CSV field is a null (a guest order's customer_id, a missing channel).
                writer.writerows({c: "" if row[c] is None else row[c] for c in columns} for row in rows)
                landing.put(prefix + f"{entity}.csv", text.getvalue().encode())


def make_shop(seed: int = 2012) -> ForeignShop:
    rng = random.Random(seed)
    shop = ForeignShop()
    history = shop.rows[HISTORY_EXPORT]
    exported = datetime.combine(HISTORY_EXPORT, time(23, 0), UTC)

    # Rates: EUR and BRL, every business day from late 2011 (so the first order has one), 8 places.
    walk = {"EUR": Decimal("1.30"), "BRL": Decimal("0.55")}
    day = FIRST_DAY - timedelta(days=5)
    while day <= LAST_DAY:
        if day.weekday() < 5:
            for currency in walk:
                step = Decimal(str(round(rng.gauss(0, 0.006), 6)))
                walk[currency] = (walk[currency] * (1 + step)).quantize(Decimal("0.00000001"))
                shop.rates[currency][day] = walk[currency]
                history["fx_rates"].append({
                    "currency": currency, "rate_date": day.isoformat(), "usd_per_unit": str(walk[currency]),
                    "updated_at": stamp(exported),
                })  # fmt: skip
        day += timedelta(days=1)

    countries = ["US", "BR", "DE", "FR", "GB"]
    customers = []
    for number in range(1, 81):
        created = datetime.combine(FIRST_DAY + timedelta(days=rng.randrange(0, 1400)), time(9), UTC)
        customer = {
            "customer_id": f"K{number:04d}", "email": f"k{number}@example.org", "first_name": "Ana",
            "last_name": f"Nr{number}", "phone": None, "country_code": countries[number % 5], "city": "Porto",
            "postal_code": None, "marketing_opt_in": "true" if number % 3 else "false",
            "created_at": stamp(created), "updated_at": stamp(created), "is_deleted": None,
        }  # fmt: skip
        customers.append(customer)
    customers[7]["country_code"] = UNKNOWN[("customers", "country_code")]
    history["customers"].extend(customers)

    products = []
    for number in range(1, 11):
        products.append({
            "product_id": f"P{number:03d}", "sku": f"SKU-{number}", "product_name": f"Thing {number}",
            "category": None if number == 10 else "Things", "unit_price": f"{10 * number}.00",
            "currency": "USD",
            "is_active": "true", "created_at": stamp(exported - timedelta(days=1500)),
            "updated_at": stamp(exported - timedelta(days=1500)),
        })  # fmt: skip
    history["products"].extend(products)

    statuses = ["delivered"] * 12 + ["shipped", "paid", "returned", "cancelled", "pending"]
    span = (LAST_DAY - FIRST_DAY).days
    planned: list[tuple[date, str | None]] = [
        (FIRST_DAY + timedelta(days=rng.randrange(span + 1)), None) for _ in range(560)
    ]
    planned += [(CORRECTED_DAY, "EUR"), (CORRECTED_DAY, "EUR")]
    planned += [(day, "BRL-100") for day in SAME_AMOUNT_DAYS]
    planned.sort(key=lambda plan: plan[0])
    for number, (day, kind) in enumerate(planned, start=1):
        order_id = f"O{number:05d}"
        placed = datetime.combine(day, time(rng.randrange(24), rng.randrange(60)), UTC)
        currency = "BRL" if kind == "BRL-100" else kind or rng.choice(["USD", "USD", "EUR", "BRL"])
        status = "delivered" if kind else rng.choice(statuses)
        quantity = 1 if kind == "BRL-100" else rng.randint(1, 3)
        unit = Decimal(rng.randrange(500, 9000)) / 100
        free = kind is None and number % 40 == 0  # fully discounted: a total of zero
        subtotal = Decimal("100.00") if kind == "BRL-100" else unit * quantity
        discount = subtotal if free else Decimal(0)
        shipping = Decimal(0) if free or kind == "BRL-100" else Decimal("4.90")
        total = subtotal - discount + shipping
        customer_id = None if number % 25 == 0 else customers[rng.randrange(len(customers))]["customer_id"]
        if number == 100:
            customer_id = "NEVER-LANDS"
        channel = UNKNOWN[("orders", "channel")] if number % 97 == 0 else rng.choice(["web", "mobile", None])
        history["orders"].append({
            "order_id": order_id, "customer_id": customer_id, "order_status": status, "channel": channel,
            "currency": currency, "subtotal_amount": str(subtotal), "discount_amount": str(discount),
            "shipping_amount": str(shipping), "tax_amount": "0.00", "total_amount": str(total),
            "ordered_at": stamp(placed), "updated_at": stamp(placed + timedelta(days=2)),
        })  # fmt: skip
        history["order_items"].append({
            "order_item_id": f"{order_id}-1", "order_id": order_id,
            "product_id": f"P{rng.randint(1, 10):03d}",
            "quantity": quantity, "unit_price": str(subtotal / quantity),
            "discount_amount": "0.00", "updated_at": stamp(placed),
        })  # fmt: skip
        if status == "pending":
            continue
        method = (
            "gift_card" if free else UNKNOWN[("payments", "payment_method")] if number % 151 == 0 else "card"
        )
        attempts = [("failed", Decimal(0))] if status == "cancelled" else []
        if status != "cancelled":
            if number % 9 == 0:
                attempts.append(("failed", Decimal(0)))
            attempts.append(("refunded" if status == "returned" else "succeeded", total))
        for attempt, (payment_status, refunded) in enumerate(attempts, start=1):
            # Most attempts are made within the hour; every seventh the next day, at that day's rate.
            made = placed + (timedelta(days=1) if number % 7 == 0 else timedelta(minutes=5 * attempt))
            history["payments"].append({
                "payment_id": f"{order_id}-P{attempt}", "order_id": order_id, "payment_method": method,
                "payment_status": payment_status, "amount": str(total),
                "refunded_amount": str(refunded) if payment_status == "refunded" else None,
                "currency": currency, "failure_reason": "declined" if payment_status == "failed" else None,
                "created_at": stamp(made), "updated_at": stamp(made),
            })  # fmt: skip

    # The next export: three late orders move on (one returned and refunded), a customer moves, and the
    # EUR rate of CORRECTED_DAY is corrected.
    update = shop.rows[UPDATE_EXPORT]
    changed = datetime.combine(UPDATE_EXPORT, time(8), UTC)
    shipped = [order for order in history["orders"] if order["order_status"] == "shipped"][-3:]
    for index, order in enumerate(shipped):
        status = "returned" if index == 0 else "delivered"
        update["orders"].append({**order, "order_status": status, "updated_at": stamp(changed)})
        update["order_items"].extend(
            {**item, "updated_at": stamp(changed)} for item in history["order_items"]
            if item["order_id"] == order["order_id"]
        )  # fmt: skip
        if status == "returned":
            update["payments"].extend(
                {**payment, "payment_status": "refunded", "refunded_amount": payment["amount"],
                 "updated_at": stamp(changed)}
                for payment in history["payments"]
                if payment["order_id"] == order["order_id"] and payment["payment_status"] == "succeeded"
            )  # fmt: skip
    update["customers"].append({**customers[0], "city": "Lisboa", "updated_at": stamp(changed)})
    corrected = (shop.rates["EUR"][CORRECTED_DAY] * Decimal("1.05")).quantize(Decimal("0.00000001"))
    shop.rates["EUR"][CORRECTED_DAY] = corrected
    update["fx_rates"].append({"currency": "EUR", "rate_date": CORRECTED_DAY.isoformat(),
                               "usd_per_unit": str(corrected), "updated_at": stamp(changed)})  # fmt: skip
    return shop
