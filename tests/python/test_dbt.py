"""The dbt project on the embedded default: built from loaded data, documented, reconciled, incremental."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support import REPO, Page, cli, dbt, duckdb_env, run_models

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.load.loader import LoadOptions, run_load
from shopwarehouse.load.raw.duckdb import DuckDBRawLoader
from shopwarehouse.surfaces import dashboard
from shopwarehouse.surfaces.docs import server
from shopwarehouse.surfaces.publish import publish
from shopwarehouse.warehouse.duckdb import DuckDBClient, DuckDBCredentials

# The module's tests share one built warehouse: run them on one worker, so it is built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dbt_duckdb")]

START = date(2024, 2, 16)  # across a month end: two cohorts on the dashboard
# Marts compared between a day-by-day build and a full refresh: all but fct_order_fulfilment, which is built
# on the daily snapshots and so, by design, knows the statuses each daily run saw.
MARTS = (
    "fct_orders", "fct_order_items", "fct_payments", "fct_sessions", "fct_reviews", "dim_customers",
    "dim_products", "dim_date", "kpi_daily", "kpi_payment_methods", "kpi_customer_cohorts",
    "kpi_customer_value", "kpi_funnel_daily", "kpi_product_reviews", "dq_bot_traffic_daily",
)  # fmt: skip


@dataclass(frozen=True)
class Built:
    root: Path
    env: dict[str, str]
    results: Counter[tuple[str, str]]  # (resource type, status) -> nodes

    @property
    def warehouse(self) -> Path:
        return Path(self.env["SHOPWAREHOUSE_DUCKDB_PATH"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Thirty generated days, loaded with ``shopwarehouse load`` and built with ``dbt build``, documented."""
    root = tmp_path_factory.mktemp("dbt-built")
    generate(
        LocalLanding(root / "landing"),
        GenerateOptions(start=START, days=30, seed=7, orders_per_day=120, clickstream_scale=0.25),
    )
    env = duckdb_env(root, root / "landing")
    cli("load", "--all", env=env)
    dbt("build", env=env, tmp_path=root)
    run_results = json.loads((root / "target" / "run_results.json").read_text())
    results = Counter(
        (r["unique_id"].split(".")[0], r["status"])
        for r in run_results["results"]
        if not r["unique_id"].startswith(("exposure.", "operation."))  # operation: the on-run-end hook
    )
    dbt("docs", "generate", env=env, tmp_path=root)
    return Built(root, env, results)


def test_build_runs_every_seed_model_snapshot_and_test(built: Built) -> None:
    kinds = {kind for kind, _ in built.results}
    assert kinds == {"seed", "model", "snapshot", "test", "unit_test"}
    assert {status for _, status in built.results} <= {"success", "pass"}, built.results
    assert built.results["model", "success"] == 34
    assert built.results["test", "pass"] >= 130
    assert built.results["unit_test", "pass"] >= 8


def test_every_model_and_column_is_documented_and_every_model_tested(built: Built) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_dbt_coverage.py"), str(built.root / "target")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
    assert "tested models: 34/34 = 100.0%" in result.stdout


def test_erased_customers_keep_no_personal_data_and_the_marts_hold_none_at_all(built: Built) -> None:
    with duckdb.connect(str(built.warehouse), read_only=True) as conn:
        erased = conn.execute(
            "select count(*), count(email), count(email_hash), count(first_name), count(last_name), "
            "count(phone), count(postal_code) from main_restricted.dim_customers_pii where is_erased"
        ).fetchone()
        kept = conn.execute("select count(email) from main_restricted.dim_customers_pii").fetchone()
    assert erased is not None
    assert erased[0] > 0, "the generated days should hold erasure requests"
    assert erased[1:] == (0, 0, 0, 0, 0, 0)
    assert kept is not None
    assert kept[0] > 0
    # Every column tagged pii is in staging or in the restricted schema, never in a mart analysts read
    manifest = json.loads((built.root / "target" / "manifest.json").read_text())
    places = {
        (node["config"]["schema"], node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column in node["columns"].values()
        if "pii" in column.get("tags", []) + column.get("config", {}).get("tags", [])
    }
    assert {schema for schema, _ in places} == {"staging", "restricted"}, places


@pytest.mark.parametrize(
    ("tamper", "test_name"),
    [
        # One payment's captured amount off by a cent: payments no longer match orders and the KPI.
        (
            "update main_marts.fct_payments set amount_reporting = amount_reporting + 0.01 "
            "where payment_id = (select min(payment_id) from main_marts.fct_payments where is_captured)",
            "assert_payments_reconcile_with_orders_and_kpi_daily",
        ),
        # One day's gross revenue inflated: the KPI no longer matches the orders.
        (
            "update main_marts.kpi_daily set gross_revenue = gross_revenue + 100 "
            "where date_day = (select min(date_day) from main_marts.kpi_daily)",
            "assert_gross_revenue_reconciles_with_orders",
        ),
        # One order staged twice, in the daily run's scope too.
        (
            "insert into main_staging.stg_shop__orders select * from main_staging.stg_shop__orders "
            "where order_id = (select max(order_id) from main_staging.stg_shop__orders)",
            'assert_every_raw_key_is_staged_once --vars {"test_scope":"recent"}',
        ),
        # One customer lost by staging.
        (
            "delete from main_staging.stg_shop__customers "
            "where customer_id = (select min(customer_id) from main_staging.stg_shop__customers)",
            "assert_every_raw_key_is_staged_once",
        ),
    ],
)
def test_reconciliation_fails_when_a_number_is_broken(
    built: Built, tmp_path: Path, tamper: str, test_name: str
) -> None:
    # GIVEN a copy of the built warehouse, where every test passed (test_build_runs_every_seed_model_...)
    copy = tmp_path / "tampered.duckdb"
    shutil.copy(built.warehouse, copy)
    env = {**built.env, "SHOPWAREHOUSE_DUCKDB_PATH": str(copy)}
    # WHEN one number is broken THEN the reconciliation test fails
    with duckdb.connect(str(copy)) as conn:
        conn.execute(tamper)
    result = dbt("test", "--select", *test_name.split(), env=env, tmp_path=tmp_path, returncode=1)
    name = test_name.split()[0]
    assert f"FAIL 1 {name}" in result.stdout.replace("\x1b[31m", "").replace("\x1b[0m", "")


def test_a_sessions_order_must_have_landed_once_the_orders_feed_has_caught_up(
    built: Built, tmp_path: Path
) -> None:
    # GIVEN the built warehouse: the clickstream runs past the orders export's cutoff, so the last day's
    # latest completed orders are not loaded yet, and the test lets them pass
    copy = tmp_path / "orders.duckdb"
    shutil.copy(built.warehouse, copy)
    env = {**built.env, "SHOPWAREHOUSE_DUCKDB_PATH": str(copy)}
    waiting = (
        "select count(*) from main_marts.fct_sessions where order_id not in "
        "(select order_id from main_marts.fct_orders)"
    )
    with duckdb.connect(str(copy)) as conn:
        assert conn.execute(waiting).fetchone() == (1,)
        # WHEN an order completed well before the orders feed's newest change goes missing
        conn.execute(
            "delete from main_marts.fct_orders where order_id = (select min(order_id) "
            "from main_marts.fct_sessions where ended_at < timestamptz '2024-03-01 00:00:00+00')"
        )
    # THEN the test warns of that order alone
    result = dbt("test", "--select", "test_name:relationships_once_landed", env=env, tmp_path=tmp_path)
    assert "WARN 1 relationships_once_landed_fct_sessions_ended_at__order_id" in result.stdout, result.stdout


def test_the_daily_scope_tests_the_recent_rows_only(built: Built, tmp_path: Path) -> None:
    # GIVEN a copy of the built warehouse with one old order staged twice (loaded 30 days before the rest)
    copy = tmp_path / "scoped.duckdb"
    shutil.copy(built.warehouse, copy)
    # dbt's artefacts of this test's own runs, which it reads
    env = {**built.env, "SHOPWAREHOUSE_DUCKDB_PATH": str(copy), "DBT_TARGET_PATH": str(tmp_path / "target")}
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "insert into main_staging.stg_shop__orders select * from main_staging.stg_shop__orders "
            "where order_id = (select min(order_id) from main_staging.stg_shop__orders)"
        )
        conn.execute(
            "update main_staging.stg_shop__orders set loaded_at = loaded_at - interval 30 day "
            "where order_id = (select min(order_id) from main_staging.stg_shop__orders)"
        )
    unique = "unique_stg_shop__orders_order_id"
    # WHEN the uniqueness test runs on every row THEN it fails
    dbt("test", "--select", unique, env=env, tmp_path=tmp_path, returncode=1)
    # WHEN it runs in the daily run's scope (the lookback's rows) THEN the old duplicate is out of it
    dbt("test", "--select", unique, "--vars", "{test_scope: recent}", env=env, tmp_path=tmp_path)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    assert [r["status"] for r in results if r["unique_id"].startswith("test.")] == ["pass"]
    compiled = next((tmp_path / "target" / "compiled").rglob(f"{unique}.sql")).read_text()
    assert "loaded_at >" in compiled, compiled


def test_the_calendar_follows_the_data_over_any_years(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "calendar.duckdb"
    shutil.copy(built.warehouse, copy)
    env = {**built.env, "SHOPWAREHOUSE_DUCKDB_PATH": str(copy)}
    calendar = "select min(date_day), max(date_day), count(*) from main_marts.dim_date"
    # GIVEN the built warehouse, its calendar from the first generated order to the last plus 30 days
    with duckdb.connect(str(copy), read_only=True) as conn:
        first, last, _ = conn.execute(calendar).fetchone() or (None,) * 3
        last_order = conn.execute("select max(ordered_date) from main_marts.fct_orders").fetchone()
    assert first == START
    assert last_order is not None
    assert last >= last_order[0] + timedelta(days=30)  # a payment may come days after the last order

    # WHEN an order of 2003 lands late (a backfill of older history) and the day's models are built
    with duckdb.connect(str(copy)) as conn:
        conn.execute(
            "insert into raw.orders select * replace ('OLD-1' as order_id, 'USD' as currency, "
            "timestamptz '2003-05-01 12:00:00+00' as ordered_at, now() as _loaded_at) "
            "from raw.orders limit 1"
        )
    dbt("run", "--select", "stg_shop__orders", "int_calendar__days", "dim_date", env=env, tmp_path=tmp_path)
    # THEN the calendar starts on its day, with no setting changed
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert (conn.execute(calendar).fetchone() or ())[0] == date(2003, 5, 1)

    # WHEN the vars stretch it over a whole century
    century = '{calendar_start: "2000-01-01", calendar_end: "2100-12-31"}'
    dbt("run", "--select", "int_calendar__days", "dim_date", "--vars", century, env=env, tmp_path=tmp_path)
    # THEN every day of 2000-2100 is there once, with its calendar attributes right at both ends
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert conn.execute(calendar).fetchone() == (date(2000, 1, 1), date(2100, 12, 31), 36_890)
        ends = conn.execute(
            "select date_day, iso_week_number, iso_day_of_week, is_month_end from main_marts.dim_date "
            "where date_day in ('2000-01-01', '2000-02-29', '2100-02-28') order by 1"
        ).fetchall()
    # 2000-01-01 is a Saturday in ISO week 52 of 1999; 2000 is a leap year, 2100 is not
    assert ends == [
        (date(2000, 1, 1), 52, 6, False),
        (date(2000, 2, 29), 9, 2, True),
        (date(2100, 2, 28), 8, 7, True),
    ]


def test_day_by_day_build_equals_full_refresh(tmp_path: Path) -> None:
    # GIVEN six days landing one at a time, each loaded and built incrementally, with no lookback margin at
    # all: rows landing two days late (from day 3), the orders file of day 5 re-sent under another name, and
    # orders moving on from day to day (six days hold every one of these cases, as twelve did)
    landing = LocalLanding(tmp_path / "landing")
    daily = tmp_path / "daily.duckdb"
    env = duckdb_env(tmp_path, tmp_path / "landing", warehouse=daily)
    dbt("seed", env=env, tmp_path=tmp_path)
    for days in range(1, 7):
        generate(
            landing,
            GenerateOptions(start=START, days=days, seed=11, orders_per_day=80, clickstream_scale=0.25),
        )
        with DuckDBRawLoader(DuckDBClient(DuckDBCredentials(daily))) as warehouse:
            run_load(landing, warehouse, LoadOptions())
        run_models(env, tmp_path)

    # WHEN the same raw data is built from scratch
    full = tmp_path / "full.duckdb"
    shutil.copy(daily, full)
    full_env = {**env, "SHOPWAREHOUSE_DUCKDB_PATH": str(full)}
    run_models(full_env, tmp_path, "--full-refresh")

    # THEN every mart is the same, table for table, row for row
    with duckdb.connect() as conn:
        conn.execute(f"attach '{daily}' as daily (read_only)")
        conn.execute(f"attach '{full}' as full_refresh (read_only)")
        for table in MARTS:
            rows = conn.execute(f"select count(*) > 0 from daily.main_marts.{table}").fetchone()
            assert rows == (True,), f"{table} is empty"
            for left, right in (("daily", "full_refresh"), ("full_refresh", "daily")):
                differing = conn.execute(
                    f"select count(*) from (select * from {left}.main_marts.{table} "
                    f"except all select * from {right}.main_marts.{table})"
                ).fetchone()
                assert differing == (0,), f"{table}: rows in {left} that {right} lacks"


def test_docs_site_is_one_file_with_the_models_and_kpi_definitions_and_is_served(
    built: Built, tmp_path: Path, page: Page
) -> None:
    # GIVEN a built warehouse
    copy = tmp_path / "docs.duckdb"
    shutil.copy(built.warehouse, copy)
    target = tmp_path / "target"
    env = {
        **built.env,
        "SHOPWAREHOUSE_DUCKDB_PATH": str(copy),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    # WHEN the docs site is built
    result = cli("docs", env=env)
    # THEN it is one file holding the manifest (every model, with lineage) and the catalog (columns)
    site = target / "static_index.html"
    assert f"docs site: {site}" in result.stdout
    html = site.read_text()
    for name in (
        "model.shopwarehouse.fct_orders",
        "model.shopwarehouse.kpi_daily",
        "source.shopwarehouse.shop",
    ):
        assert name in html, name
    assert "Orders count on the UTC day they were placed" in html  # the KPI definitions' doc block
    # AND the local server serves that file and nothing else
    httpd = server(site, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        with urllib.request.urlopen(f"{url}/", timeout=10) as response:  # noqa: S310 (a local URL)
            assert response.status == 200
            assert response.read() == site.read_bytes()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/manifest.json", timeout=10)  # noqa: S310 (a local URL)
        assert missing.value.code == 404
        # AND in a browser, an analyst searching for fct_orders finds it and reads its columns
        page.page.goto(f"{url}/")
        page.page.get_by_placeholder("Search for models...").fill("fct_orders")
        page.page.locator("h4").filter(has=page.page.get_by_text("fct_orders", exact=True)).first.click()
        page.page.wait_for_function("location.hash.endsWith('/model/model.shopwarehouse.fct_orders')")
        for column in ("order_id", "order_status", "total_amount_reporting", "customer_order_number"):
            page.page.get_by_text(column, exact=True).filter(visible=True).first.wait_for(timeout=10_000)
        assert (
            page.page.get_by_text("One row per order placed").filter(visible=True).count() == 1
        )  # its description
        page.screenshot("docs-fct_orders.png")
    finally:
        httpd.shutdown()
        httpd.server_close()
    # dbt's docs site asks its own server for icon paths it has not filled in (404s, not our doing); it
    # throws nothing, and asks nothing of the network
    assert not [error for error in page.errors if error.startswith("uncaught")], page.errors
    assert all(request.startswith(url) for request in page.requests), page.requests


CHARTS = (
    ("Daily net revenue", "Net revenue: Gross revenue - refunds, reporting currency."),
    ("Daily orders", "Valid orders: Valid orders placed that day (paid, shipped, delivered, returned)."),
    ("Average order value (AOV)", "AOV: Gross revenue / valid orders"),
    (
        "New vs returning customers",
        "New: Customers whose first order was placed that day (guest checkouts left out).",
    ),
    ("Payment success rate by method", "Success rate: Captured / (captured + failed) attempts"),
    ("Refund rate", "Refund rate: Refunds / paid revenue of the day's orders."),
    ("Retention by monthly cohort", "Retention: Active customers / cohort customers."),
)
CLICKSTREAM_CHARTS = (
    ("Conversion funnel", "Product view: Sessions that viewed a product (or went further)."),
    ("Conversion by channel", "Conversion: ordered_sessions / sessions, the overall conversion."),
    ("Conversion by device", "Conversion: ordered_sessions / sessions, the overall conversion."),
)
REVIEW_CHARTS = (
    ("Average rating", "Average rating: rating_total / reviews; null without a review."),
    ("Share of 1-2 star reviews", "Low ratings: Reviews of one or two stars."),
    ("Rating: on-time vs late delivery", "Late: Reviews of orders delivered later than that."),
    ("Best and worst rated products", "Average rating: The product's average rating, 1 to 5 stars"),
)


def test_the_kpi_dashboard_is_one_offline_file_whose_charts_all_render_with_data(
    built: Built, tmp_path: Path, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the built warehouse, published for readers
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    for name, value in {**built.env, "SHOPWAREHOUSE_DUCKDB_PATH": str(warehouse)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(REPO)
    published = publish(Settings.from_env())
    assert published == tmp_path / "warehouse.published.duckdb"
    # WHEN the dashboard is written
    out = tmp_path / "kpi.html"
    result = cli("report", "--out", str(out), env={**os.environ, "DBT_TARGET_PATH": str(tmp_path / "t")})
    assert f"KPI dashboard: {out}" in result.stdout
    # THEN it is one file, plotly.js inlined: opened from disk, it asks for nothing else
    page.page.goto(out.as_uri())
    expected = CHARTS + CLICKSTREAM_CHARTS + REVIEW_CHARTS
    page.page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(expected)}"
    )
    assert page.requests == [out.as_uri()]
    assert page.errors == []
    # AND the top says which days it covers and when the data was last loaded
    with duckdb.connect(str(published), read_only=True) as conn:
        first, last, days, loaded = (
            conn.execute(
                "select min(date_day), max(date_day), count(*), max(source_loaded_at) "
                "from main_marts.kpi_daily"
            ).fetchone()
            or (None,) * 4
        )
        averages = [
            float(value)
            for (value,) in conn.execute(
                "select avg(valid_orders) over (order by date_day rows between 6 preceding and current row) "
                "from main_marts.kpi_daily order by date_day"
            ).fetchall()
        ]
    header = page.page.locator("header").inner_text()
    assert f"{first} to {last} ({days} days, UTC)" in header
    assert f"data last loaded {loaded.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in header
    # AND every chart is drawn, titled with its definition, with data in every series (the funnel's and the
    # horizontal bars' values are on x)
    charts = page.page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].map(chart => ({
            title: chart.querySelector('.gtitle').textContent,
            subtitle: [...chart.querySelectorAll('.gtitle-subtitle tspan.line')].map(l => l.textContent)
                .join(' ') || chart.querySelector('.gtitle-subtitle').textContent,
            points: chart.data.map(t => (
                t.z ? t.z.flat() : t.type === 'funnel' || t.orientation === 'h' ? t.x : t.y
            ).filter(v => v !== null).length),
            drawn: chart.querySelectorAll('.trace, .hm, .heatmaplayer image').length,
        }))"""
    )
    assert [chart["title"] for chart in charts] == [title for title, _ in expected]
    for chart, (title, definition) in zip(charts, expected, strict=True):
        assert definition in chart["subtitle"], (title, chart["subtitle"])
        assert chart["points"], title
        assert all(points > 0 for points in chart["points"]), (title, chart["points"])
        assert chart["drawn"] > 0, title
    assert len(charts[4]["points"]) == 5  # a line per payment method
    # AND the data-quality section says every code is known (the generator uses only the seeds' codes)
    assert "Every code in the data is known" in page.page.locator("#data-quality").inner_text()
    # AND the 7-day average drawn is the warehouse's own moving average
    drawn = page.page.evaluate("() => document.querySelectorAll('.js-plotly-plot')[1].data[1].y")
    assert drawn == pytest.approx(averages)
    # AND the funnel, the conversion and the ratings are the period's counts summed, then divided
    plotted = drawn_funnel_and_ratings(page)
    for part, want in summed_funnel_and_ratings(published, first, last).items():
        assert want, part  # the generated shop has clickstream and reviews
        assert plotted[part] == pytest.approx(want), part
    page.screenshot("kpi-dashboard.png")
    page.page.evaluate(  # the new sections under the header, for the README
        "() => document.querySelectorAll('body > .chart, #data-quality')"
        ".forEach(e => { e.style.display = 'none'; })"
    )
    page.screenshot("kpi-dashboard-funnel-and-ratings.png")
    # AND a shop without clickstream or reviews gets the dashboard, with a line in their place
    with DuckDBClient(DuckDBCredentials(published), read_only=True) as client:
        kpis = dashboard.read_kpis(client, "main_marts")
    undefined: defaultdict[str, str] = defaultdict(str)  # what the charts say is checked above
    bare = dashboard.render(
        replace(kpis, funnel=[], ratings=[], products=[]), undefined, "duckdb", clock.now()
    )
    assert bare.count('class="plotly-graph-div"') == len(CHARTS)
    assert "No clickstream data: no sessions started" in bare
    assert "No review data: no product was reviewed" in bare


def drawn_funnel_and_ratings(page: Page) -> dict[str, Any]:
    """The dashboard's funnel steps, conversion by channel and by device, daily average rating and on-time
    and late ratings, as plotted."""
    plotted: dict[str, Any] = page.page.evaluate(
        """() => {
            const charts = Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(
                chart => [chart.querySelector('.gtitle').textContent, chart.data]));
            const by = data => Object.fromEntries(
                data[0].x.map((x, i) => [x.split('<br>')[0], data[0].y[i]]));
            return {
                funnel: charts['Conversion funnel'][0].x,
                channel: by(charts['Conversion by channel']),
                device: by(charts['Conversion by device']),
                rating: Object.fromEntries(charts['Average rating'][0].x.map(
                    (x, i) => [x, charts['Average rating'][0].y[i]])),
                delivery: by(charts['Rating: on-time vs late delivery']),
            };
        }"""
    )
    return plotted


def summed_funnel_and_ratings(published: Path, first: date, last: date) -> dict[str, Any]:
    """What :func:`drawn_funnel_and_ratings` should find, summed from the marts in SQL: never an average of
    the marts' rates. The on-time and late ratings from the reviews themselves."""
    period = [first, last]
    with duckdb.connect(str(published), read_only=True) as conn:
        funnel = conn.execute(
            "select sum(sessions), sum(product_view_sessions), sum(add_to_cart_sessions), "
            "sum(checkout_sessions), sum(ordered_sessions) from main_marts.kpi_funnel_daily "
            "where date_day between ? and ?",
            period,
        ).fetchone()

        def conversion(key: str) -> dict[str, float]:
            return dict(conn.execute(
                f"select {key}, sum(ordered_sessions) / sum(sessions) from main_marts.kpi_funnel_daily "
                f"where date_day between ? and ? group by {key}",
                period,
            ).fetchall())  # fmt: skip

        rating = conn.execute(
            "select strftime(date_day, '%Y-%m-%d'), sum(rating_total) / sum(reviews) "
            "from main_marts.kpi_product_reviews where date_day between ? and ? group by date_day "
            "having sum(reviews) > 0",
            period,
        ).fetchall()
        delivery = conn.execute(
            "select case when is_late_delivery then 'late' else 'on time' end, avg(rating) "
            "from main_marts.fct_reviews where product_id is not null and is_late_delivery is not null "
            "and created_date between ? and ? group by 1",
            period,
        ).fetchall()
        return {
            "funnel": [float(count) for count in funnel or ()],
            "channel": conversion("channel"),
            "device": conversion("device"),
            "rating": dict(rating),
            "delivery": dict(delivery),
        }
