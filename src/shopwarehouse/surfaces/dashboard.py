"""The KPI dashboard: one self-contained HTML file drawn from the KPI marts with plotly.

plotly.js and the data are inlined, so the file opens from disk, or as a mail attachment, with no network.
Each chart is titled with its definition, taken from the column descriptions of the dbt project (the same
text the docs site shows), so the dashboard and the docs cannot disagree. The marts are read as analysts read
them: on DuckDB from the published copy (:mod:`shopwarehouse.surfaces.publish`).

Every section covers the days of the header (``kpi_daily``'s first to last day). Rates over several days,
channels or products are never averages of the marts' rates: the counts are summed, then divided, as the
marts' docs ask. A shop that sends no clickstream, or has no reviews, gets the dashboard with a line saying so
in place of those charts.
"""

from __future__ import annotations

import html
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.surfaces.publish import marts_schema, open_published
from shopwarehouse.transform.dbt import parsed
from shopwarehouse.warehouse import SqlClient
from shopwarehouse.warehouse.base import identifier, qualified

log = logging.getLogger(__name__)

AVERAGE_DAYS = 7
"""The window of the moving averages drawn over the daily series."""

_DAILY = ("date_day", "valid_orders", "net_revenue", "average_order_value", "new_customers",
          "returning_customers", "refund_rate", "source_loaded_at")  # fmt: skip
_METHODS = ("date_day", "payment_method", "payment_success_rate")
_COHORTS = ("cohort_month", "months_since_first_order", "retention_rate")
_UNKNOWN = ("entity", "column_name", "code", "row_count", "first_seen_on", "last_seen_on", "fix")
_FUNNEL_STEPS = {"sessions": "Sessions", "product_view_sessions": "Product view",
                 "add_to_cart_sessions": "Add to cart", "checkout_sessions": "Checkout",
                 "ordered_sessions": "Order"}  # fmt: skip
"""kpi_funnel_daily's counts, each step's sessions within the step before's, with their labels."""
_FUNNEL = ("date_day", "channel", "device", *_FUNNEL_STEPS)
_RATINGS = ("reviews", "rating_total", "low_rating_reviews", "on_time_reviews", "on_time_rating_total",
            "late_reviews", "late_rating_total")  # fmt: skip
"""kpi_product_reviews' counts and rating totals, summed per day over the products."""
_PRODUCTS = ("product_id", "product_name", "rating_count", "average_rating")
_DESCRIBED = ("dim_products",)
"""Models besides the KPI marts whose column descriptions the dashboard quotes."""

MIN_PRODUCT_RATINGS = 5
"""The reviews a product needs to be ranked among the best and worst rated."""
RANKED_PRODUCTS = 5
"""How many products are shown at each end of the ranking."""


class NoKpis(Exception):
    pass


@dataclass(frozen=True)
class Kpis:
    """What the dashboard shows, as read from the marts: rows of the named columns, oldest first."""

    daily: list[dict[str, Any]]
    methods: list[dict[str, Any]]
    cohorts: list[dict[str, Any]]
    unknown_codes: list[dict[str, Any]]
    """dq_unknown_codes: codes the build met that no seed lists (see :func:`read_unknown_codes`)."""
    funnel: list[dict[str, Any]]
    """kpi_funnel_daily's session counts by day, channel and device, within the days of ``daily``; none
    without clickstream."""
    ratings: list[dict[str, Any]]
    """kpi_product_reviews summed by day over the products (see ``_RATINGS``), days with a review within
    the days of ``daily``; none without reviews."""
    products: list[dict[str, Any]]
    """dim_products' rated products with at least :data:`MIN_PRODUCT_RATINGS` reviews."""

    @property
    def first_day(self) -> date:
        first: date = self.daily[0]["date_day"]
        return first

    @property
    def last_day(self) -> date:
        last: date = self.daily[-1]["date_day"]
        return last

    @property
    def last_loaded_at(self) -> datetime | None:
        """The latest load time of the data the marts were built from."""
        return max((r["source_loaded_at"] for r in self.daily if r["source_loaded_at"]), default=None)


def _rows(
    warehouse: SqlClient, schema: str, table: str, columns: Sequence[str], order_by: str
) -> list[dict[str, Any]]:
    typed = [(column, ColumnType.STRING) for column in columns]  # names only: nothing is created
    found = warehouse.select_rows(schema, table, typed, order_by=order_by)
    return [
        {c: float(v) if isinstance(v, Decimal) else v for c, v in zip(columns, row, strict=True)}
        for row in found
    ]


def _totals(
    warehouse: SqlClient, schema: str, table: str, by: str, sums: Sequence[str]
) -> list[dict[str, Any]]:
    """The ``sums`` columns of ``schema.table`` summed per value of ``by`` (nothing if it does not exist yet),
    ordered by it. For a mart too fine-grained to read row by row."""
    if not warehouse.table_exists(schema, table):
        return []
    summed = ", ".join(f"sum({identifier(name)}) as {identifier(name)}" for name in sums)
    key = identifier(by)
    # identifiers checked by identifier()
    sql = f"select {key}, {summed} from {qualified(table, schema)} group by {key} order by {key}"  # noqa: S608
    found = warehouse.execute(sql)
    columns = (by, *sums)
    return [
        {c: float(v) if isinstance(v, Decimal) else v for c, v in zip(columns, row, strict=True)}
        for row in found
    ]


def read_unknown_codes(warehouse: SqlClient, schema: str) -> list[dict[str, Any]]:
    """The rows of the data-quality mart ``dq_unknown_codes`` (none before it is built), most rows first."""
    rows = _rows(warehouse, schema, "dq_unknown_codes", _UNKNOWN, "entity")
    return sorted(rows, key=lambda row: (-row["row_count"], row["entity"], row["column_name"], row["code"]))


def describe_unknown_codes(rows: Sequence[dict[str, Any]]) -> str:
    """One line for people: each unknown code with its column, rows and days."""
    return "; ".join(
        f"{row['entity']}.{row['column_name']} {row['code']!r} "
        f"({row['row_count']:,.0f} {'row' if row['row_count'] == 1 else 'rows'}, "
        f"{row['first_seen_on']} to {row['last_seen_on']})"
        for row in rows
    )


def read_kpis(warehouse: SqlClient, schema: str) -> Kpis:
    daily = _rows(warehouse, schema, "kpi_daily", _DAILY, "date_day")
    if not daily:
        raise NoKpis(f"{schema}.kpi_daily has no rows (or does not exist): build the marts first")
    first: date = daily[0]["date_day"]
    last: date = daily[-1]["date_day"]

    def shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [row for row in rows if first <= row["date_day"] <= last]

    products = _rows(warehouse, schema, "dim_products", _PRODUCTS, "product_id")
    kpis = Kpis(
        daily=daily,
        methods=_rows(warehouse, schema, "kpi_payment_methods", _METHODS, "date_day"),
        cohorts=_rows(warehouse, schema, "kpi_customer_cohorts", _COHORTS, "cohort_month"),
        unknown_codes=read_unknown_codes(warehouse, schema),
        funnel=shown(_rows(warehouse, schema, "kpi_funnel_daily", _FUNNEL, "date_day")),
        ratings=[
            row
            for row in shown(_totals(warehouse, schema, "kpi_product_reviews", "date_day", _RATINGS))
            if row["reviews"]
        ],
        products=[row for row in products if (row["rating_count"] or 0) >= MIN_PRODUCT_RATINGS],
    )
    log.debug(
        "read %d funnel rows and %d days of ratings from %s", len(kpis.funnel), len(kpis.ratings), schema
    )
    return kpis


def definitions(settings: Settings, project_dir: Path) -> dict[str, str]:
    """``model.column`` -> its description, for the columns of the KPI marts (and of ``_DESCRIBED``), from the
    parsed dbt project."""
    from dbt.artifacts.resources.types import NodeType

    manifest = parsed(settings, project_dir)
    return {
        f"{node.name}.{column.name}": " ".join(column.description.split())
        for node in manifest.nodes.values()
        if node.resource_type == NodeType.Model and (node.name.startswith("kpi_") or node.name in _DESCRIBED)
        for column in node.columns.values()
    }


def moving_average(values: Sequence[float | None], days: int = AVERAGE_DAYS) -> list[float | None]:
    """The mean of each value and the ``days - 1`` before it, over the values that are there."""
    averages: list[float | None] = []
    for end in range(len(values)):
        window = [v for v in values[max(0, end - days + 1) : end + 1] if v is not None]
        averages.append(sum(window) / len(window) if window else None)
    return averages


def _figure(title: str, definition: str, traces: Sequence[go.BaseTraceType], **layout: Any) -> go.Figure:
    """A chart titled ``title``, with its definition under the title; ``layout`` adds to (or overrides) the
    common layout."""
    lines = textwrap.wrap(definition, 110)
    subtitle = "<br>".join(html.escape(line) for line in lines)
    figure = go.Figure(data=list(traces))
    figure.update_layout(
        title={"text": f"<b>{html.escape(title)}</b>", "subtitle": {"text": subtitle}},
        template="plotly_white",
        **{
            "height": 380,
            "margin": {"t": max(90, 24 + 32 * len(lines)), "l": 60, "r": 20, "b": 40},
            "legend": {"orientation": "h", "y": -0.15},
            **layout,
        },
    )
    return figure


def figures(kpis: Kpis, defined: dict[str, str]) -> list[go.Figure]:
    """The dashboard's charts of orders, revenue, customers and payments, in reading order (the clickstream's
    and the reviews' follow: :func:`funnel_figures`, :func:`rating_figures`)."""
    daily = kpis.daily
    days = [r["date_day"] for r in daily]

    def series(column: str) -> list[Any]:
        return [r[column] for r in daily]

    def with_average(column: str, name: str, title: str, unit: str) -> go.Figure:
        values = series(column)
        return _figure(
            title,
            f"{name}: {defined[f'kpi_daily.{column}']} Line: {AVERAGE_DAYS}-day moving average.",
            [
                go.Bar(x=days, y=values, name=name),
                go.Scatter(x=days, y=moving_average(values), name=f"{AVERAGE_DAYS}-day average"),
            ],
            yaxis={"title": unit},
        )

    methods = sorted({r["payment_method"] for r in kpis.methods})
    months = sorted({r["cohort_month"] for r in kpis.cohorts})
    offsets = sorted({r["months_since_first_order"] for r in kpis.cohorts})
    retention = {
        (r["cohort_month"], r["months_since_first_order"]): r["retention_rate"] for r in kpis.cohorts
    }

    def success_by(method: str) -> go.Scatter:
        rows = [r for r in kpis.methods if r["payment_method"] == method]
        y = [r["payment_success_rate"] for r in rows]
        return go.Scatter(x=[r["date_day"] for r in rows], y=y, name=method, mode="lines")

    new, returning = defined["kpi_daily.new_customers"], defined["kpi_daily.returning_customers"]
    return [
        with_average("net_revenue", "Net revenue", "Daily net revenue", "reporting currency"),
        with_average("valid_orders", "Valid orders", "Daily orders", "orders"),
        _figure(
            "Average order value (AOV)",
            f"AOV: {defined['kpi_daily.average_order_value']}",
            [go.Scatter(x=days, y=series("average_order_value"), name="AOV", mode="lines+markers")],
            yaxis={"title": "reporting currency"},
        ),
        _figure(
            "New vs returning customers",
            f"New: {new} Returning: {returning}",
            [
                go.Bar(x=days, y=series("new_customers"), name="new"),
                go.Bar(x=days, y=series("returning_customers"), name="returning"),
            ],
            barmode="stack",
            yaxis={"title": "customers"},
        ),
        _figure(
            "Payment success rate by method",
            f"Success rate: {defined['kpi_payment_methods.payment_success_rate']} By day of the attempt.",
            [success_by(method) for method in methods],
            yaxis={"title": "success rate", "tickformat": ".0%"},
        ),
        _figure(
            "Refund rate",
            f"Refund rate: {defined['kpi_daily.refund_rate']}",
            [go.Scatter(x=days, y=series("refund_rate"), name="refund rate", mode="lines+markers")],
            yaxis={"title": "refund rate", "tickformat": ".1%"},
        ),
        _figure(
            "Retention by monthly cohort",
            f"Retention: {defined['kpi_customer_cohorts.retention_rate']} "
            f"Cohort: {defined['kpi_customer_cohorts.cohort_month']}",
            [
                go.Heatmap(
                    x=offsets,
                    y=[month.isoformat()[:7] for month in months],
                    z=[[retention.get((month, offset)) for offset in offsets] for month in months],
                    colorscale="Blues",
                    zmin=0,
                    zmax=1,
                    texttemplate="%{z:.0%}",
                    colorbar={"tickformat": ".0%"},
                )
            ],
            xaxis={"title": "months since the first order", "dtick": 1},
            yaxis={"title": "cohort", "autorange": "reversed", "type": "category"},
        ),
    ]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; ``None`` where the denominator is 0 (or missing)."""
    if not denominator or numerator is None:
        return None
    return numerator / denominator


def summed(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, float]:
    """The sum of each of ``columns`` over ``rows`` (a missing value counts 0)."""
    return {column: sum(row[column] or 0 for row in rows) for column in columns}


def summed_by(
    rows: Sequence[dict[str, Any]], key: str, columns: Sequence[str]
) -> dict[Any, dict[str, float]]:
    """:func:`summed` per value of ``key``, the largest first by the first of ``columns``."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    totals = {value: summed(group, columns) for value, group in groups.items()}
    return dict(sorted(totals.items(), key=lambda item: (-item[1][columns[0]], str(item[0]))))


def trailing(
    rows: Sequence[dict[str, Any]], numerator: str, denominator: str, days: int = AVERAGE_DAYS
) -> list[float | None]:
    """For each row (by ``date_day``): the sum of ``numerator`` over the ``days`` calendar days to its day
    divided by the sum of ``denominator`` over them; a ratio of sums, never an average of ratios."""
    by_day = {row["date_day"]: row for row in rows}
    out = []
    for row in rows:
        window = [by_day[d] for k in range(days) if (d := row["date_day"] - timedelta(days=k)) in by_day]
        totals = summed(window, (numerator, denominator))
        out.append(ratio(totals[numerator], totals[denominator]))
    return out


def _counted(count: float, noun: str) -> str:
    """``count`` with ``noun``, plural unless it is 1: ``1 session``, ``1,204 sessions``."""
    return f"{count:,.0f} {noun}{'' if count == 1 else 's'}"


def _days_shown(kpis: Kpis) -> dict[str, Any]:
    """A date x-axis over the header's days, whatever days a series has."""
    half = timedelta(hours=12)
    first, last = (datetime.combine(day, time()) for day in (kpis.first_day, kpis.last_day))
    return {"type": "date", "range": [first - half, last + half]}


def funnel_figures(kpis: Kpis, defined: dict[str, str]) -> list[go.Figure]:
    """The clickstream's charts: the funnel over the days shown, and conversion by channel and by device;
    none without sessions."""
    steps = list(_FUNNEL_STEPS)
    total = summed(kpis.funnel, steps)
    if not total["sessions"]:
        return []
    period = f"Sessions that started {kpis.first_day} to {kpis.last_day}, summed, then divided."
    funnel = _figure(
        "Conversion funnel",
        " ".join(f"{label}: {defined[f'kpi_funnel_daily.{step}']}" for step, label in _FUNNEL_STEPS.items())
        + f" {period} Each step: its sessions (its share of the step before).",
        [
            go.Funnel(
                y=list(_FUNNEL_STEPS.values()),
                x=[total[step] for step in steps],
                texttemplate="%{value:,.0f} (%{percentPrevious:.1%})",
                hovertemplate="%{label}: %{value:,.0f} sessions<br>%{percentPrevious:.1%} of the step before"
                "<br>%{percentInitial:.1%} of all sessions<extra></extra>",
                name="sessions",
            )
        ],
        height=440,
        yaxis={"automargin": True},
    )

    def conversion_by(key: str) -> go.Figure:
        groups = summed_by(kpis.funnel, key, ("sessions", "ordered_sessions"))
        return _figure(
            f"Conversion by {key}",
            f"Conversion: {defined['kpi_funnel_daily.conversion_rate']} {period} "
            f"Under each {key}: its sessions.",
            [
                go.Bar(
                    x=[f"{value}<br>{_counted(t['sessions'], 'session')}" for value, t in groups.items()],
                    y=[ratio(t["ordered_sessions"], t["sessions"]) for t in groups.values()],
                    texttemplate="%{y:.1%}",
                    textposition="outside",
                    customdata=[[t["sessions"], t["ordered_sessions"]] for t in groups.values()],
                    hovertemplate="%{y:.2%} conversion: %{customdata[1]:,.0f} of %{customdata[0]:,.0f} "
                    "sessions ordered<extra></extra>",
                    name="conversion",
                )
            ],
            yaxis={"title": "conversion rate", "tickformat": ".1%", "rangemode": "tozero"},
            xaxis={"title": key},
        )

    return [funnel, conversion_by("channel"), conversion_by("device")]


def rating_figures(kpis: Kpis, defined: dict[str, str]) -> list[go.Figure]:
    """The reviews' charts: the average rating and the share of 1-2 stars over time, on-time against late
    deliveries, and the best and worst rated products; none without reviews."""
    rows = kpis.ratings
    if not rows:
        return []
    days = [r["date_day"] for r in rows]
    window = f"Line: the {AVERAGE_DAYS} days to each day, their sums divided."
    of_the_day = "Each day: every product's reviews of the day."
    stars = {"title": "stars", "range": [0.8, 5.2], "dtick": 1}
    figures_ = [
        _figure(
            "Average rating",
            f"Average rating: {defined['kpi_product_reviews.average_rating']} Rating total: "
            f"{defined['kpi_product_reviews.rating_total']} {of_the_day} {window}",
            [
                go.Scatter(
                    x=days,
                    y=[ratio(r["rating_total"], r["reviews"]) for r in rows],
                    name="day",
                    mode="markers",
                    customdata=[r["reviews"] for r in rows],
                    hovertemplate="%{x}: %{y:.2f} stars over %{customdata:,.0f} reviews<extra></extra>",
                ),
                go.Scatter(
                    x=days,
                    y=trailing(rows, "rating_total", "reviews"),
                    name=f"{AVERAGE_DAYS} days",
                    mode="lines",
                ),
            ],
            xaxis=_days_shown(kpis),
            yaxis=stars,
        ),
        _figure(
            "Share of 1-2 star reviews",
            f"Low ratings: {defined['kpi_product_reviews.low_rating_reviews']} Share: "
            f"{defined['kpi_product_reviews.low_rating_share']} {of_the_day} {window}",
            [
                go.Bar(x=days, y=[ratio(r["low_rating_reviews"], r["reviews"]) for r in rows], name="day"),
                go.Scatter(
                    x=days,
                    y=trailing(rows, "low_rating_reviews", "reviews"),
                    name=f"{AVERAGE_DAYS} days",
                    mode="lines",
                ),
            ],
            xaxis=_days_shown(kpis),
            yaxis={"title": "share of reviews", "tickformat": ".0%", "rangemode": "tozero"},
        ),
    ]
    total = summed(rows, list(_RATINGS))
    kinds = {"on time": "on_time", "late": "late"}
    if any(total[f"{kind}_reviews"] for kind in kinds.values()):  # else no review's delivery is known
        figures_.append(
            _figure(
                "Rating: on-time vs late delivery",
                f"On time: {defined['kpi_product_reviews.on_time_reviews']} Late: "
                f"{defined['kpi_product_reviews.late_reviews']} Average: their rating totals / their "
                f"reviews, {kpis.first_day} to {kpis.last_day}.",
                [
                    go.Bar(
                        x=[
                            f"{name}<br>{_counted(total[f'{k}_reviews'], 'review')}"
                            for name, k in kinds.items()
                        ],
                        y=[ratio(total[f"{k}_rating_total"], total[f"{k}_reviews"]) for k in kinds.values()],
                        texttemplate="%{y:.2f} stars",
                        textposition="outside",
                        name="average rating",
                    )
                ],
                yaxis={**stars, "range": [0, 5.4]},
            )
        )
    ranked = sorted(kpis.products, key=lambda r: (-r["average_rating"], -r["rating_count"], r["product_id"]))
    if ranked:
        best = ranked[:RANKED_PRODUCTS]
        worst = [r for r in ranked[-RANKED_PRODUCTS:] if r not in best]
        figures_.append(
            _figure(
                "Best and worst rated products",
                f"Average rating: {defined['dim_products.average_rating']} Reviews: "
                f"{defined['dim_products.rating_count']} All reviews to date, of the products with at least "
                f"{MIN_PRODUCT_RATINGS}: the {RANKED_PRODUCTS} best and the {RANKED_PRODUCTS} worst.",
                [
                    go.Bar(
                        y=[f"{r['product_name']} ({r['product_id']})" for r in group],
                        x=[r["average_rating"] for r in group],
                        text=[
                            f"{r['average_rating']:.2f} ({_counted(r['rating_count'], 'review')})"
                            for r in group
                        ],
                        textposition="outside",
                        orientation="h",
                        name=name,
                    )
                    for name, group in (("best", best), ("worst", worst))
                    if group
                ],
                xaxis={**stars, "range": [0, 6]},
                yaxis={"autorange": "reversed", "automargin": True},
                height=max(380, 160 + 30 * (len(best) + len(worst))),
            )
        )
    return figures_


def render(kpis: Kpis, defined: dict[str, str], target: str, now: datetime) -> str:
    """The whole dashboard as one HTML document."""
    loaded = kpis.last_loaded_at
    freshness = (
        f"data last loaded {loaded.astimezone(UTC):%Y-%m-%d %H:%M} UTC "
        f"({(now - loaded).total_seconds() / 3600:.1f} hours before this report)"
        if loaded
        else "no load time recorded"
    )
    quality = _unknown_codes_section(kpis.unknown_codes)
    charts = _charts(figures(kpis, defined))
    clickstream = _section(
        "clickstream",
        "Clickstream: the funnel and conversion",
        funnel_figures(kpis, defined),
        f"No clickstream data: no sessions started {kpis.first_day} to {kpis.last_day} "
        "(the shop sends no events, or none have been loaded).",
    )
    reviews = _section(
        "reviews",
        "Reviews and ratings",
        rating_figures(kpis, defined),
        f"No review data: no product was reviewed {kpis.first_day} to {kpis.last_day}.",
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>shopwarehouse KPIs {kpis.first_day} to {kpis.last_day}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 1rem; color: #222; }}
header {{ border-bottom: 1px solid #ccc; margin-bottom: 1rem; }}
header p {{ margin: 0.3rem 0 0.8rem; }}
.chart {{ margin-bottom: 1rem; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; }}
</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>shopwarehouse KPIs</h1>
<p id="range">{kpis.first_day} to {kpis.last_day} ({len(kpis.daily)} days, UTC), {html.escape(target)}</p>
<p id="freshness">Freshness: {freshness}. Report made {now:%Y-%m-%d %H:%M} UTC.</p>
</header>
{charts}
{clickstream}
{reviews}
{quality}
</body>
</html>
"""


def _charts(charts: Sequence[go.Figure]) -> str:
    return "\n".join(
        f'<section class="chart">{figure.to_html(full_html=False, include_plotlyjs=False)}</section>'
        for figure in charts
    )


def _section(section_id: str, heading: str, charts: Sequence[go.Figure], empty: str) -> str:
    """A titled section of ``charts``; the line ``empty`` in their place when there are none."""
    body = _charts(charts) if charts else f'<p class="empty">{html.escape(empty)}</p>'
    return f'<section id="{section_id}"><h2>{html.escape(heading)}</h2>\n{body}\n</section>'


def _unknown_codes_section(rows: Sequence[dict[str, Any]]) -> str:
    """The data-quality section (``dq_unknown_codes``): the codes no seed lists, each with what to extend, or
    that there are none."""
    if not rows:
        body = "<p>Every code in the data is known: no unknown codes.</p>"
    else:
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(value))}</td>" for value in (
                f"{row['entity']}.{row['column_name']}", row["code"], f"{row['row_count']:,.0f}",
                f"{row['first_seen_on']} to {row['last_seen_on']}", row["fix"],
            )) + "</tr>"
            for row in rows
        )  # fmt: skip
        body = (
            "<p>Codes in the data that no reference list knows. The marts keep them and show them in the "
            "group <code>unknown</code>; no figure is wrong, but the breakdowns by them are incomplete until "
            "the list is extended.</p>"
            "<table><thead><tr><th>column</th><th>code</th><th>rows</th>"
            f"<th>seen</th><th>fix</th></tr></thead><tbody>{cells}</tbody></table>"
        )
    return f'<section id="data-quality"><h2>Data quality: unknown codes</h2>{body}</section>'


def write_dashboard(settings: Settings, project_dir: Path, out: Path) -> Path:
    """Read the KPI marts and write the dashboard to ``out``; returns ``out``."""
    with open_published(settings) as warehouse:
        kpis = read_kpis(warehouse, marts_schema(settings))
    document = render(kpis, definitions(settings, project_dir), settings.target, clock.now())
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(document, encoding="utf-8")
    partial.replace(out)  # a reader with the page open, or a mail job, never picks up half a file
    log.info("KPI dashboard of %s to %s written to %s", kpis.first_day, kpis.last_day, out)
    return out
