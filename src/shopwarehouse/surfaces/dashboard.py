"""The KPI dashboard: one self-contained HTML file drawn from the KPI marts with plotly.

plotly.js and the data are inlined, so the file opens from disk, or as a mail attachment, with no network.
Each chart is titled with its definition, taken from the column descriptions of the dbt project (the same
text the docs site shows), so the dashboard and the docs cannot disagree. The marts are read as analysts read
them: on DuckDB from the published copy (:mod:`shopwarehouse.surfaces.publish`).
"""

from __future__ import annotations

import html
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
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

log = logging.getLogger(__name__)

AVERAGE_DAYS = 7
"""The window of the moving averages drawn over the daily series."""

_DAILY = ("date_day", "valid_orders", "net_revenue", "average_order_value", "new_customers",
          "returning_customers", "refund_rate", "source_loaded_at")  # fmt: skip
_METHODS = ("date_day", "payment_method", "payment_success_rate")
_COHORTS = ("cohort_month", "months_since_first_order", "retention_rate")
_UNKNOWN = ("entity", "column_name", "code", "row_count", "first_seen_on", "last_seen_on", "fix")


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
    kpis = Kpis(
        daily=_rows(warehouse, schema, "kpi_daily", _DAILY, "date_day"),
        methods=_rows(warehouse, schema, "kpi_payment_methods", _METHODS, "date_day"),
        cohorts=_rows(warehouse, schema, "kpi_customer_cohorts", _COHORTS, "cohort_month"),
        unknown_codes=read_unknown_codes(warehouse, schema),
    )
    if not kpis.daily:
        raise NoKpis(f"{schema}.kpi_daily has no rows (or does not exist): build the marts first")
    return kpis


def definitions(settings: Settings, project_dir: Path) -> dict[str, str]:
    """``model.column`` -> its description, for the KPI marts' columns, from the parsed dbt project."""
    from dbt.artifacts.resources.types import NodeType

    manifest = parsed(settings, project_dir)
    return {
        f"{node.name}.{column.name}": " ".join(column.description.split())
        for node in manifest.nodes.values()
        if node.resource_type == NodeType.Model and node.name.startswith("kpi_")
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
    """A chart titled ``title``, with its definition under the title."""
    subtitle = "<br>".join(html.escape(line) for line in textwrap.wrap(definition, 110))
    figure = go.Figure(data=list(traces))
    figure.update_layout(
        title={"text": f"<b>{html.escape(title)}</b>", "subtitle": {"text": subtitle}},
        template="plotly_white",
        height=380,
        margin={"t": 90, "l": 60, "r": 20, "b": 40},
        legend={"orientation": "h", "y": -0.15},
        **layout,
    )
    return figure


def figures(kpis: Kpis, defined: dict[str, str]) -> list[go.Figure]:
    """The dashboard's charts, in reading order."""
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
    charts = "\n".join(
        f'<section class="chart">{figure.to_html(full_html=False, include_plotlyjs=False)}</section>'
        for figure in figures(kpis, defined)
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
{quality}
</body>
</html>
"""


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
