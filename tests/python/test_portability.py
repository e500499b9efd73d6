"""The same project on every warehouse: built on DuckDB, PostgreSQL and Snowflake (the fakesnow emulator)
from the same loaded data with equal KPIs, and compiled for Redshift, where every statement must parse."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError
from support import (
    REPO,
    WarehouseTarget,
    cli,
    dbt,
    local_target,
    target_env,
)

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.surfaces import dashboard
from shopwarehouse.surfaces import publish as publishing
from shopwarehouse.surfaces.dashboard import read_kpis
from shopwarehouse.surfaces.publish import open_published, publish

START = date(2024, 3, 1)

# The module's tests share the three built warehouses: run them on one worker, so each is built once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("portability")]

# What the Snowflake emulator cannot run, and why; dbt runs everything else there. (On Snowflake itself
# all of it runs.) The README lists the same.
SNOWFLAKE_EMULATOR_EXCLUDES = {
    "test_type:unit": "dbt unit tests create temporary tables, which fakesnow cannot",
}
# On a second build, also:
SNOWFLAKE_EMULATOR_RERUN_EXCLUDES = {
    "resource_type:snapshot": "a snapshot's second run merges, and fakesnow's MERGE fails on dbt's query",
}
KPI_MARTS = {
    "kpi_daily": ("date_day",),
    "kpi_payment_methods": ("date_day", "payment_method"),
    "kpi_customer_cohorts": ("cohort_month", "months_since_first_order"),
    "kpi_funnel_daily": ("date_day", "channel", "device"),
    "kpi_product_reviews": ("date_day", "product_id"),
}


@dataclass
class Built:
    target: WarehouseTarget
    builds: list[Counter[tuple[str, str]]]  # per build: (resource type, status) -> nodes, from run_results


def marts_schema(target: WarehouseTarget) -> str:
    return {"duckdb": "main_marts", "postgres": "analytics_marts", "snowflake": "analytics_marts"}[
        target.name
    ]


def excludes(target: WarehouseTarget, *, rerun: bool) -> list[str]:
    if target.name != "snowflake":
        return []
    return [*SNOWFLAKE_EMULATOR_EXCLUDES, *(SNOWFLAKE_EMULATOR_RERUN_EXCLUDES if rerun else {})]


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """The project built on each local warehouse from the same generated days: ten days landed, loaded
    and built, then four more landed, loaded and built incrementally on top."""
    root = tmp_path_factory.mktemp("portability")
    targets = [
        local_target(name, request, root / "warehouse.duckdb") for name in ("duckdb", "postgres", "snowflake")
    ]
    results = {}
    for target in targets:
        landing = root / target.name / "landing"
        env = target_env(target, landing)
        builds = []
        for days, rerun in ((10, False), (14, True)):
            options = GenerateOptions(
                start=START, days=days, seed=5, orders_per_day=60, clickstream_scale=0.25
            )
            generate(LocalLanding(landing), options)
            cli("load", env=env)
            exclude = excludes(target, rerun=rerun)
            dbt("build", *(["--exclude", *exclude] if exclude else []), env=env, tmp_path=root / target.name)
            run_results = json.loads((root / target.name / "target" / "run_results.json").read_text())
            builds.append(
                Counter(
                    (r["unique_id"].split(".")[0], r["status"])
                    for r in run_results["results"]
                    if not r["unique_id"].startswith("operation.")
                )  # the on-run-end hook
            )
        results[target.name] = Built(target, builds)
    return results


# Nodes each build runs, all passing: (resource type, status) -> count, for the first build and the
# incremental one. On the emulator, unit tests and (on the second build) snapshots are the exclusions above.
EXPECTED_NODES = {
    "duckdb": [{"seed": 8, "model": 34, "snapshot": 2, "test": 219, "unit_test": 15}] * 2,
    "postgres": [{"seed": 8, "model": 34, "snapshot": 2, "test": 219, "unit_test": 15}] * 2,
    "snowflake": [
        {"seed": 8, "model": 34, "snapshot": 2, "test": 219},
        {"seed": 8, "model": 34, "test": 215},  # without the snapshots' 4 tests
    ],
}


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres", "snowflake"])
def test_dbt_build_is_green_on_each_warehouse(built: dict[str, Built], warehouse: str) -> None:
    for build, expected in zip(built[warehouse].builds, EXPECTED_NODES[warehouse], strict=True):
        nodes = {(kind, status): n for (kind, status), n in build.items() if kind != "exposure"}
        assert {status for _, status in nodes} <= {"success", "pass"}, build
        assert Counter({kind: n for (kind, _), n in nodes.items()}) == Counter(expected)
    target = built[warehouse].target
    assert target.count(f"select count(*) from {marts_schema(target)}.fct_orders") > 0


def kpi_rows(target: WarehouseTarget, mart: str) -> list[dict[str, Any]]:
    """The mart's rows, without the incremental cursor (``source_loaded_at``): each warehouse was loaded at
    its own time."""
    rows = target.records(
        f"select * from {marts_schema(target)}.{mart} order by {', '.join(KPI_MARTS[mart])}"
    )
    return [{k: v for k, v in row.items() if k.lower() != "source_loaded_at"} for row in rows]


def same(column: str, left: Any, right: Any) -> bool:
    """Equal as the issue asks: money to the cent, rates to 1e-9, everything else exactly."""
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, (int, float)) or hasattr(left, "as_tuple"):
        tolerance = 1e-9 if column.endswith("_rate") else 0.005
        return math.isclose(float(left), float(right), rel_tol=0, abs_tol=tolerance)
    return bool(left == right)


@pytest.mark.parametrize("mart", list(KPI_MARTS))
def test_kpi_marts_are_equal_on_every_warehouse(built: dict[str, Built], mart: str) -> None:
    reference = kpi_rows(built["duckdb"].target, mart)
    assert reference
    for warehouse in ("postgres", "snowflake"):
        rows = kpi_rows(built[warehouse].target, mart)
        assert len(rows) == len(reference), (
            f"{mart}: {warehouse} has {len(rows)} rows, duckdb {len(reference)}"
        )
        for expected, actual in zip(reference, rows, strict=True):
            assert set(actual) == set(expected)
            differing = {c: (expected[c], actual[c]) for c in expected if not same(c, expected[c], actual[c])}
            assert not differing, f"{mart} on {warehouse} differs from duckdb: {differing}"


def test_the_dashboard_reads_the_same_kpis_on_every_warehouse(
    built: dict[str, Built], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # GIVEN each built warehouse, as the dashboard reads it (DuckDB: the published copy)
    monkeypatch.chdir(REPO)
    read = {}
    for name, warehouse in built.items():
        env = target_env(warehouse.target, tmp_path, DBT_TARGET_PATH=str(tmp_path / "t"))
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        settings = Settings.from_env()
        assert (publish(settings) is None) == (name != "duckdb")
        with open_published(settings) as connection:
            read[name] = (settings, read_kpis(connection, publishing.marts_schema(settings)))
    # THEN every warehouse gives the dashboard the same figures: the KPI marts' rows, the funnel's counts, the
    # reviews summed by day in the warehouse, and the rated products
    duckdb_settings, reference = read["duckdb"]
    defined = dashboard.definitions(duckdb_settings, REPO)
    keys = {"daily": KPI_MARTS["kpi_daily"], "methods": KPI_MARTS["kpi_payment_methods"],
            "cohorts": KPI_MARTS["kpi_customer_cohorts"], "funnel": KPI_MARTS["kpi_funnel_daily"],
            "ratings": ("date_day",), "products": ("product_id",)}  # fmt: skip
    for name, (settings, kpis) in read.items():
        for part, key in keys.items():
            rows, expected = (sorted(getattr(k, part), key=itemgetter(*key)) for k in (kpis, reference))
            assert len(rows) == len(expected) > 0, (name, part)
            for row, want in zip(rows, expected, strict=True):
                differing = {c: (want[c], row[c]) for c in want
                             if c != "source_loaded_at" and not same(c, want[c], row[c])}  # fmt: skip
                assert not differing, f"{part} on {name}: {differing}"
        # AND the dashboard draws all its charts from them: seven, the funnel and conversion by channel and
        # by device, and four of ratings
        page = dashboard.render(kpis, defined, settings.target, datetime(2024, 3, 15, 7, tzinfo=UTC))
        assert page.count('class="plotly-graph-div"') == 7 + 3 + 4, name


# -- Redshift: compiled without a cluster, every statement parsed -------------------------------------------

# Constructs Redshift does not have, by the sqlglot node that stands for them.
REDSHIFT_LACKS: dict[type[exp.Expr], str] = {
    exp.Filter: "aggregate FILTER (WHERE ...)",
    exp.Lateral: "LATERAL",
    exp.GenerateSeries: "generate_series (leader node only)",
    exp.ArrayAgg: "array_agg",
    exp.GroupConcat: "string_agg / group_concat (Redshift has listagg)",
    exp.Unnest: "unnest",
    exp.TryCast: "try_cast",
}


def redshift_problems(sql: str) -> list[str]:
    """Why ``sql`` would not run on Redshift: a parse error, or the constructs it uses that Redshift lacks."""
    try:
        statements = sqlglot.parse(sql, read="redshift", error_level=ErrorLevel.RAISE)
    except ParseError as error:
        return [f"does not parse as Redshift SQL: {error}"]
    problems = []
    for statement in statements:
        if statement is None:
            continue
        for node in statement.walk():
            if type(node) in REDSHIFT_LACKS:
                problems.append(REDSHIFT_LACKS[type(node)])
            if isinstance(node, exp.Distinct) and node.args.get("on"):
                problems.append("DISTINCT ON")
            if isinstance(node, exp.Anonymous) and node.name.lower() in {"timezone", "isodow", "date_part"}:
                problems.append(f"function {node.name}")
    return problems


REDSHIFT_PROFILE = """
shopwarehouse:
  target: redshift
  outputs:
    redshift:
      type: redshift
      host: redshift.invalid
      port: 5439
      user: compile_only
      password: not-a-secret
      dbname: shopwarehouse
      schema: analytics
      threads: 2
"""


@pytest.fixture(scope="module")
def redshift_compiled(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every model, snapshot and test compiled for Redshift with no cluster, both branches of the
    incremental models (as a first build and as an incremental run)."""
    root = tmp_path_factory.mktemp("redshift")
    (root / "profiles.yml").write_text(REDSHIFT_PROFILE)
    files = []
    for incremental in ("true", "false"):
        out = root / incremental
        assume = f"{{assume_incremental: {incremental}}}"
        dbt("--no-populate-cache", "compile", "--no-introspect", "--vars", assume,
            env={"DBT_PROFILES_DIR": str(root)}, tmp_path=out)  # fmt: skip
        files += sorted((out / "target" / "compiled").rglob("*.sql"))
    return files


def test_every_compiled_statement_runs_on_redshift(redshift_compiled: list[Path]) -> None:
    assert len(redshift_compiled) > 200
    problems = {
        str(path): found for path in redshift_compiled if (found := redshift_problems(path.read_text()))
    }
    assert not problems


@pytest.mark.parametrize(
    ("model", "incremental_only"), [("fct_orders", "renumber_from"), ("fct_sessions", "rebuild_from")]
)
def test_incremental_branch_is_compiled_too(
    redshift_compiled: list[Path], model: str, incremental_only: str
) -> None:
    facts = [p for p in redshift_compiled if p.name == f"{model}.sql"]
    assert len(facts) == 2
    assert sum(incremental_only in p.read_text() for p in facts) == 1


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("select count(*) filter (where amount > 0) as paid from orders", "aggregate FILTER (WHERE ...)"),
        ("select distinct on (customer_id) customer_id, ordered_at from orders", "DISTINCT ON"),
        ("select array_agg(order_id) as ids from orders", "array_agg"),
        ("select timezone('UTC', ordered_at) as at_utc from orders", "function timezone"),
    ],
)
def test_a_redshift_incompatible_construct_fails_the_check(sql: str, problem: str) -> None:
    assert problem in redshift_problems(sql)
    assert not redshift_problems("select count(case when amount > 0 then 1 end) as paid from orders")
