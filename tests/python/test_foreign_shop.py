"""A shop nobody here generated builds: history of 2012-2015, codes the seeds do not list, zero amounts, guest
checkouts, an order whose customer never lands, daily rates for two currencies and a late rate correction
(see ``foreign_shop.py``). The backfill and ``dbt build`` end with warnings and no error, money reconciles
with an independent computation from the rows landed, and the data-quality mart lists exactly the codes
injected; on DuckDB and PostgreSQL through the daily run's backfill, on the Snowflake emulator as one load
and build (its MERGE cannot run a snapshot twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import WarehouseTarget, cli, dbt, duckdb_target, local_target, run_models, target_env
from support.foreign_shop import (
    CORRECTED_DAY,
    FIRST_DAY,
    HISTORY_EXPORT,
    LAST_DAY,
    SAME_AMOUNT_DAYS,
    UPDATE_EXPORT,
    ForeignShop,
    make_shop,
)

from shopwarehouse.landing.zone import LocalLanding

# Each warehouse is built once for the module's tests: keep them on one worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("foreign_shop")]

SCHEMA = {"duckdb": "main_marts", "postgres": "analytics_marts", "snowflake": "analytics_marts"}
# Marts a day-by-day build must hold exactly as a full refresh does (fct_order_fulfilment is built on the
# daily snapshots, so it knows what each run saw, by design).
MARTS = ("fct_orders", "fct_order_items", "fct_payments", "dim_customers", "dim_products", "dim_date",
         "kpi_daily", "kpi_payment_methods", "kpi_customer_cohorts", "kpi_customer_value",
         "dq_unknown_codes")  # fmt: skip


@dataclass
class Built:
    shop: ForeignShop
    target: WarehouseTarget
    env: dict[str, str]
    root: Path
    output: str  # what the backfill (or the emulator's build) printed

    def records(self, sql: str) -> list[dict[str, Any]]:
        return self.target.records(sql.format(marts=SCHEMA[self.target.name]))


@pytest.fixture(scope="module", params=["duckdb", "postgres", "snowflake"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp(f"foreign_{request.param}")
    target = local_target(request.param, request, root / "warehouse.duckdb")
    shop = make_shop()
    shop.land(LocalLanding(root / "landing"))
    env = target_env(target, root / "landing", SHOPWAREHOUSE_REPORT_PATH=str(root / "kpi.html"),
                     DBT_TARGET_PATH=str(root / "target"), DBT_LOG_PATH=str(root / "logs"))  # fmt: skip
    if target.name == "snowflake":
        cli("load", env=env)
        output = dbt("build", "--exclude", "test_type:unit", env=env, tmp_path=root).stdout
    else:
        output = cli("backfill", "--start", str(HISTORY_EXPORT), "--end", str(UPDATE_EXPORT), env=env).stdout
    return Built(shop, target, env, root, output)


def test_the_backfill_ends_with_warnings_and_no_error(built: Built) -> None:
    if built.target.name == "snowflake":
        summary = next(line for line in built.output.splitlines() if "Done. PASS=" in line)
        assert "ERROR=0" in summary, built.output
        assert "WARN=0" not in summary, built.output
        return
    days = {
        line.split()[0]: line.split()[1] for line in built.output.splitlines() if line.startswith("2016-")
    }
    # warned: the unknown codes' tests warn; every day ran, none failed
    assert days == {str(HISTORY_EXPORT): "warned", str(UPDATE_EXPORT): "warned"}, built.output
    runs = built.target.records("select run_date, status, tests_failed, tests_warned from ops.pipeline_runs")
    assert sorted((str(r["run_date"]), r["status"], r["tests_failed"]) for r in runs) == [
        (str(HISTORY_EXPORT), "warned", 0), (str(UPDATE_EXPORT), "warned", 0)
    ]  # fmt: skip
    assert all(r["tests_warned"] >= 3 for r in runs)  # channel, payment method, country


def test_the_data_quality_mart_lists_exactly_the_injected_unknown_codes(built: Built) -> None:
    found = built.records(
        "select entity, column_name, code, row_count, is_blocking from {marts}.dq_unknown_codes"
    )
    assert {(r["entity"], r["column_name"], r["code"], r["row_count"]) for r in found} == (
        built.shop.expected_unknown_codes()
    )
    assert not any(r["is_blocking"] for r in found)


def test_kpi_daily_equals_an_independent_computation_from_the_landed_rows(built: Built) -> None:
    expected = built.shop.expected_kpi_daily()
    rows = built.records("select date_day, gross_revenue, paid_revenue, guest_orders from {marts}.kpi_daily")
    got = {r["date_day"]: (Decimal(r["gross_revenue"]), Decimal(r["paid_revenue"]), r["guest_orders"])
           for r in rows}  # fmt: skip
    assert min(got) == min(expected)
    assert max(got) == max(expected)
    # every day from the first to the last day with orders, days without orders at zero
    assert len(got) == (max(got) - min(got)).days + 1
    wrong = {
        day: (got[day], expected.get(day, (Decimal(0), Decimal(0), 0)))
        for day in got
        if got[day] != expected.get(day, (Decimal(0), Decimal(0), 0))
    }
    assert not wrong, f"{len(wrong)} days differ (kpi_daily, expected), e.g. {sorted(wrong.items())[:3]}"


def test_each_amount_converts_at_its_own_days_rate_and_the_correction_holds(built: Built) -> None:
    shop = built.shop
    orders = built.records(
        "select ordered_date, currency, total_amount, reporting_rate, total_amount_reporting "
        "from {marts}.fct_orders where currency <> 'USD'"
    )
    by_day: dict[tuple[date, str], list[dict[str, Any]]] = {}
    for order in orders:
        by_day.setdefault((order["ordered_date"], order["currency"]), []).append(order)
    # The same 100.00 BRL on two days converts at two rates, each its own day's
    same = [by_day[(day, "BRL")] for day in SAME_AMOUNT_DAYS]
    hundreds = [next(o for o in day if Decimal(o["total_amount"]) == 100) for day in same]
    rates = [Decimal(o["reporting_rate"]) for o in hundreds]
    assert rates == [shop.rate_on("BRL", day) for day in SAME_AMOUNT_DAYS]
    assert rates[0] != rates[1]
    assert [Decimal(o["total_amount_reporting"]) for o in hundreds] == [
        (100 * r).quantize(Decimal("0.01")) for r in rates
    ]
    # The EUR orders of the corrected day take the corrected rate (landed a day after the history)
    corrected = by_day[(CORRECTED_DAY, "EUR")]
    assert {Decimal(o["reporting_rate"]) for o in corrected} == {shop.rates["EUR"][CORRECTED_DAY]}
    # A Saturday keeps Friday's rate
    saturday = next(day for (day, currency) in by_day if currency == "EUR" and day.weekday() == 5)
    assert {Decimal(o["reporting_rate"]) for o in by_day[(saturday, "EUR")]} == {
        shop.rates["EUR"][saturday - timedelta(days=1)]
    }


def test_the_calendar_follows_the_data_and_guests_and_unlanded_customers_have_their_members(
    built: Built,
) -> None:
    # from the first order (payments come after it) to the last order or payment (a payment may be made
    # the day after its order) plus 30 days: no setting names a year
    calendar = built.records("select min(date_day) as first, max(date_day) as last from {marts}.dim_date")[0]
    order_days = built.shop.expected_kpi_daily()
    assert FIRST_DAY <= min(order_days) == calendar["first"]
    assert max(order_days) <= LAST_DAY
    assert max(order_days) + timedelta(days=30) <= calendar["last"] <= max(order_days) + timedelta(days=31)
    members = built.records(
        "select customer_id, is_guest, is_placeholder, cohort_month, lifetime_valid_orders "
        "from {marts}.dim_customers where is_guest or is_placeholder"
    )
    guest = [m for m in members if m["is_guest"]]
    assert len(guest) == 1
    assert guest[0]["cohort_month"] is None
    assert guest[0]["lifetime_valid_orders"] == sum(g for _, _, g in built.shop.expected_kpi_daily().values())
    assert [m["customer_id"] for m in members if m["is_placeholder"]] == ["NEVER-LANDS"]
    # guests are in no customer KPI
    assert (
        built.records("select count(*) as n from {marts}.kpi_customer_value where customer_id = 'guest'")[0][
            "n"
        ]
        == 0
    )
    zero = built.records(
        "select count(*) as n from {marts}.fct_orders where total_amount = 0 and is_valid_order"
    )
    assert zero[0]["n"] > 0


def test_the_day_by_day_build_equals_a_full_refresh(built: Built) -> None:
    if built.target.name == "snowflake":
        pytest.skip(
            "one build on the emulator: a second would run the snapshots' MERGE, which fakesnow cannot"
        )
    before = {mart: marts_rows(built, mart) for mart in MARTS}
    run_models(built.env, built.root, "--full-refresh")
    for mart in MARTS:
        assert marts_rows(built, mart) == before[mart], f"{mart} differs after a full refresh"


def marts_rows(built: Built, mart: str) -> list[tuple[str, ...]]:
    rows = built.records(f"select * from {{marts}}.{mart}")
    assert rows, f"{mart} is empty"
    return sorted(tuple(repr(value) for value in row.values()) for row in rows)


def test_an_unknown_status_or_currency_stops_the_build_naming_the_code_and_the_fix(tmp_path: Path) -> None:
    # GIVEN the foreign shop with an order status, a payment status and a currency no seed or rate knows,
    # and a BRL order dated before BRL's first rate
    shop = make_shop()
    late = shop.rows[UPDATE_EXPORT]
    order = dict(late["orders"][0])
    late["orders"].append({**order, "order_id": "ON-HOLD", "order_status": "on_hold"})
    payment = dict(late["payments"][0])
    late["payments"].append({**payment, "payment_id": "CHARGEBACK", "payment_status": "chargeback"})
    shop.land(LocalLanding(tmp_path / "landing"))
    target = duckdb_target(tmp_path / "warehouse.duckdb")
    env = target_env(target, tmp_path / "landing")
    cli("load", env=env)

    # WHEN dbt builds it, THEN each status stops the build with its code, rows, dates and the seed to extend
    output = dbt("build", "--exclude", "test_type:unit", env=env, tmp_path=tmp_path, returncode=1).stdout
    assert (
        "stg_shop__orders.order_status has codes that order_statuses does not list: 'on_hold' (1 row"
        in output
    )
    assert "Add them to seeds/order_statuses.csv" in output
    assert (
        "stg_payments__payments.payment_status has codes that payment_statuses does not list: 'chargeback'"
        in output
    )
    assert "Add them to seeds/payment_statuses.csv" in output
    assert "SKIP relation main_marts.fct_orders" in output  # nothing after the failing tests is built

    # WHEN the statuses are fixed but an order is in JPY and another dated before BRL's first rate
    fixed = tmp_path / "landing2"
    rows = shop.rows[UPDATE_EXPORT]
    rows["orders"][-1] = {**rows["orders"][-1], "order_status": "paid"}
    rows["payments"][-1] = {**rows["payments"][-1], "payment_status": "failed"}
    rows["orders"].append({**order, "order_id": "IN-YEN", "currency": "JPY"})
    rows["orders"].append({**order, "order_id": "TOO-OLD", "currency": "BRL",
                           "ordered_at": "2011-06-01T10:00:00Z"})  # fmt: skip
    shop.land(LocalLanding(fixed))
    build_env = {
        **env,
        "SHOPWAREHOUSE_LANDING": str(fixed),
        "SHOPWAREHOUSE_DUCKDB_PATH": str(tmp_path / "w2.duckdb"),
    }
    cli("load", env=build_env)
    output = dbt(
        "build", "--exclude", "test_type:unit", env=build_env, tmp_path=tmp_path, returncode=1
    ).stdout
    # THEN the error names each currency, its dates and the rates to deliver
    assert "'JPY' (1 row, " in output
    assert "no rate for it was ever delivered" in output
    assert "'BRL' (1 row, 2011-06-01 to 2011-06-01; its first rate is for 2011-12-27)" in output
    assert "under raw/fx_rates/" in output
