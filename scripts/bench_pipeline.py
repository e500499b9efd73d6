"""Benchmark the whole pipeline on the embedded default (DuckDB, a landing directory) beside its floor.

    python scripts/bench_pipeline.py [--orders 1000000] [--orders-per-day 10000] [--out docs/benchmarks]

For a history of ORDERS orders at about ORDERS-PER-DAY a day (so ORDERS / ORDERS-PER-DAY days), plus one
more day, each phase in a fresh process (its wall time and peak memory measured by the parent):
- generate: the history and the extra day, CSV, from a steady shop (``generate --steady``: no growth, so
  the extra day has the same volume whatever the history's length; it is always DAY, so the same weekday
  and season too);
- load: ``shopwarehouse load --until <last day of history>``, then each file's ``_loaded_at`` set to 02:00
  UTC the day after its export, as daily loads would have stamped it (not timed);
- build: ``dbt build``, the whole project from empty (seeds, models, snapshots, every test);
- daily: ``shopwarehouse run --date <extra day>``: the day loaded and built on top of the history, with
  every step of the daily run (freshness, the incremental build and every test, the quality gate);
- floor: one hand-written DuckDB SQL script (``bench_floor.sql``) computing the daily KPIs straight from
  the same raw files (the latest version of each row, currency conversion, first orders), checked equal to
  the pipeline's ``kpi_daily``;
- growth: the same daily run on a history a tenth as long (same daily volume), so the daily run's cost at
  1x and 10x history can be compared.
Writes ``bench-<orders>.md`` and ``.json`` under --out and prints the table, and with them a checksum of
every mart after the daily run (see :func:`mart_checksums`): the same generated data gives the same marts,
so a change that should not change a figure can be checked not to.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from shopwarehouse.landing.contract import ENTITIES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAY = date(2025, 4, 16)  # the daily run's day: a Wednesday of average demand (seasonal factor 1.0)
# The clickstream thinned to a twentieth (about 9 events an order): this benchmark is the orders' pipeline;
# bench_sessions.py measures sessionization at full volume.
CLICKSTREAM_SCALE = 0.05
KPI_COLUMNS = (
    "orders_placed", "valid_orders", "gross_revenue", "discounts", "refunds", "net_revenue", "paid_revenue",
    "average_order_value", "units_sold", "guest_orders", "new_customers", "returning_customers",
    "active_customers", "payment_attempts", "payment_success_rate", "refund_rate",
)  # fmt: skip


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    peak_mb: float


def run_phase(name: str, command: list[str], env: dict[str, str]) -> Phase:
    """``command`` in a process of its own; its wall time and peak resident memory (its own or a child's)."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 (the benchmark's own commands)
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{name}: {' '.join(command)} failed:\n{output.decode(errors='replace')[-4000:]}")
    return Phase(name, seconds, usage.ru_maxrss / 1024)


def environment(landing: Path, database: Path, target: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SHOPWAREHOUSE_TARGET": "duckdb",
        "SHOPWAREHOUSE_LANDING": str(landing),
        "SHOPWAREHOUSE_DUCKDB_PATH": str(database),
        "SHOPWAREHOUSE_MISSING_EXPORT": "warn",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }


@dataclass(frozen=True)
class History:
    orders: int
    days: int
    raw_mb: float
    raw_rows: int
    phases: dict[str, Phase]
    daily_steps: dict[str, float]  # the daily run's steps (from its run ledger), seconds
    daily_nodes: dict[str, float]  # the daily build's nodes (from run_results.json), seconds
    checksums: dict[str, str]  # each mart after the daily run: rows and a digest of their values


def build_history(work: Path, orders: int, per_day: int, *, full: bool) -> History:
    """Generate ``orders`` orders of history plus one day, load the history and build it; with ``full``,
    also time the floor. Then time the daily run of the extra day."""
    days = max(2, round(orders / per_day))
    landing, database, target = work / "landing", work / "warehouse.duckdb", work / "target"
    env = environment(landing, database, target)
    shopwarehouse = str(BIN / "shopwarehouse")
    day, last = DAY, DAY - timedelta(days=1)
    phases = {}
    generate = ["generate", "--steady", "--start", (DAY - timedelta(days=days)).isoformat(),
                "--clickstream-scale", str(CLICKSTREAM_SCALE)]  # fmt: skip
    phases["generate"] = run_phase(
        "generate", [shopwarehouse, *generate, "--days", str(days + 1), "--orders-per-day", str(per_day)], env
    )
    history_files = [p for p in (landing / "raw").rglob("*.csv") if f"date={day}" not in str(p)]
    raw_mb = sum(p.stat().st_size for p in history_files) / 1e6
    phases["load"] = run_phase("load", [shopwarehouse, "load", "--until", last.isoformat()], env)
    stamp_as_daily_loads(database)
    dbt_build = [str(BIN / "dbt"), "build", "--project-dir", str(REPO), "--target", "duckdb", "--quiet"]
    phases["build"] = run_phase("build", dbt_build, env)
    if full:
        floor_db = work / "floor.duckdb"
        floor_args = ["--floor", str(landing), str(floor_db), last.isoformat()]
        phases["floor"] = run_phase("floor", [sys.executable, __file__, *floor_args], env)
        check_floor(floor_db, database)
    phases["daily"] = run_phase("daily", [shopwarehouse, "run", "--date", day.isoformat()], env)
    with duckdb.connect(str(database), read_only=True) as conn:
        made = conn.execute(
            "select count(*) from main_marts.fct_orders where ordered_date <= ?", [last]
        ).fetchone()
        rows = conn.execute(
            "select sum(row_count) from raw._load_files where status = 'loaded' and file_key not like ?",
            [f"%date={day}%"],
        ).fetchone()
        checksums = mart_checksums(conn)
        steps = conn.execute(
            "select step, epoch(finished_at) - epoch(started_at) from ops.pipeline_steps "
            "where run_date = ? order by step_number",
            [day],
        ).fetchall()
    nodes = json.loads((target / "run_results.json").read_text())["results"]
    return History(
        made[0] if made else 0,
        days,
        raw_mb,
        rows[0] if rows else 0,
        phases,
        {step: seconds for step, seconds in steps},
        {node["unique_id"]: node["execution_time"] for node in nodes},
        checksums,
    )


MART_SCHEMAS = ("main_marts", "main_restricted")


def _volatile(column: str) -> bool:
    """A column that holds when a row was loaded or built, which differs between two runs on the same data."""
    return "loaded_at" in column or column.startswith("dbt_") or column.endswith("built_at")


def mart_checksums(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each mart's row count and the MD5 of its rows (every column but the volatile ones, as text, sorted)."""
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in (?, ?) "
        "order by 1, 2",
        list(MART_SCHEMAS),
    ).fetchall()
    sums = {}
    for schema, table in tables:
        names = [row[0] for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, table]).fetchall()]  # fmt: skip
        kept = ", ".join(f'"{name}"' for name in names if not _volatile(name))
        count, digest = conn.execute(
            f"select count(*), md5(coalesce(string_agg(row_text, chr(10) order by row_text), '')) from "
            f'(select cast(row({kept}) as varchar) as row_text from "{schema}"."{table}")'
        ).fetchone() or (0, "")
        sums[f"{schema}.{table}"] = f"{count} rows, md5 {digest}"
    return sums


def stamp_as_daily_loads(database: Path) -> None:
    """Make the history look loaded as it is in production: each file at 02:00 UTC the day after its
    export, not all of it a minute ago. The incremental models look back ``lookback_hours`` (72) of load
    time from what they hold, so a history loaded in one go would be all "new" to the daily run."""
    with duckdb.connect(str(database)) as conn:
        for entity in ENTITIES:
            export_day = "cast(regexp_extract(_source_file, 'date=([0-9-]+)', 1) as date)"
            conn.execute(f"update raw.{entity} set _loaded_at = {export_day} + interval 26 hour")


def floor(landing: str, database: str, last_day: str) -> None:
    """The floor's own process: the hand-written KPI script over the history's raw files."""
    sql = Path(__file__).with_name("bench_floor.sql").read_text()
    for name, value in (("landing", landing), ("seeds", str(REPO / "seeds")), ("last_day", last_day)):
        sql = sql.replace(f"{{{name}}}", value)
    # under the same memory limit as the pipeline's DuckDB (profiles.yml), so the two are compared alike
    limit = os.environ.get("SHOPWAREHOUSE_DUCKDB_MEMORY_LIMIT", "3GB")
    with duckdb.connect(database, config={"memory_limit": limit}) as conn:
        conn.execute(sql)


def check_floor(floor_db: Path, database: Path) -> None:
    """The floor computes what the pipeline does, or its time means nothing."""
    columns = ", ".join(KPI_COLUMNS)
    with duckdb.connect(str(database), read_only=True) as conn:
        pipeline = conn.execute(f"select date_day, {columns} from main_marts.kpi_daily order by 1").fetchall()
    with duckdb.connect(str(floor_db), read_only=True) as conn:
        hand = conn.execute(f"select date_day, {columns} from floor_kpi_daily order by 1").fetchall()
    if pipeline != hand:
        differ = [(p, h) for p, h in zip(pipeline, hand, strict=False) if p != h][:3]
        sys.exit(f"the floor's KPIs differ from kpi_daily ({len(pipeline)} vs {len(hand)} days): {differ}")


def report(scale: History, small: History, orders: int) -> tuple[str, dict[str, object]]:
    p = scale.phases
    pipeline = p["load"].seconds + p["build"].seconds
    total = p["generate"].seconds + pipeline + p["daily"].seconds
    peak = max(phase.peak_mb for name, phase in p.items() if name != "floor")  # the pipeline's
    over_floor = pipeline / p["floor"].seconds
    daily_share = p["daily"].seconds / p["build"].seconds
    growth = p["daily"].seconds / small.phases["daily"].seconds
    load_rate = (
        f"{scale.raw_mb / p['load'].seconds:,.0f} MB/s, {scale.raw_rows / p['load'].seconds:,.0f} rows/s"
    )

    def row(name: str, phase: Phase | None, seconds: float, figures: str) -> str:
        return f"| {name} | {seconds:.1f} | {(phase.peak_mb if phase else peak):,.0f} | {figures} |"

    rows = [
        row(
            "generate",
            p["generate"],
            p["generate"].seconds,
            f"{scale.orders:,} orders, {scale.days + 1} days",
        ),
        row(
            "load",
            p["load"],
            p["load"].seconds,
            f"{load_rate} ({scale.raw_mb:,.0f} MB, {scale.raw_rows:,} rows)",
        ),
        row(
            "full dbt build",
            p["build"],
            p["build"].seconds,
            "seeds, models, snapshots, every test, from empty",
        ),
        row(
            "pipeline (load + build)", None, pipeline, f"**{over_floor:.2f}x the floor** (target: within 3x)"
        ),
        row(
            "floor (hand-written DuckDB SQL)", p["floor"], p["floor"].seconds, "kpi_daily from the raw files"
        ),
        row(
            "daily run, one more day",
            p["daily"],
            p["daily"].seconds,
            f"**{daily_share:.1%} of the full build** (targets: < 10 s, < 10%)",
        ),
        row(
            f"daily run on a {small.orders:,}-order history",
            small.phases["daily"],
            small.phases["daily"].seconds,
            f"**10x the history costs {growth:.2f}x** (target: < 1.5x)",
        ),
        row(
            "total (generate, load, build, daily run)",
            None,
            total,
            f"peak {peak / 1024:.2f} GB (target: < 4 GB)",
        ),
    ]
    table = "\n".join(["| phase | seconds | peak MB | figures |", "|---|---:|---:|---|", *rows])
    text = (
        f"# Benchmark: {scale.orders:,} orders\n\nMeasured with `make bench ORDERS={orders}` on "
        f"{os.cpu_count()} cores: DuckDB, a landing directory, each phase in a fresh process. The floor's "
        "kpi_daily is checked equal to the pipeline's.\n\n"
        + table
        + "\n\n"
        + daily_profile(scale, small)
        + "\n"
        + checksum_table(scale)
    )
    figures = {
        "orders": scale.orders,
        "days": scale.days,
        "raw_mb": scale.raw_mb,
        "raw_rows": scale.raw_rows,
        "phases": {name: asdict(phase) for name, phase in p.items()},
        "pipeline_over_floor": over_floor,
        "daily_over_build": daily_share,
        "small_history_orders": small.orders,
        "small_history_daily": asdict(small.phases["daily"]),
        "growth_10x": growth,
        "peak_mb": peak,
        "daily_steps": scale.daily_steps,
        "daily_nodes": scale.daily_nodes,
        "small_history_daily_steps": small.daily_steps,
        "small_history_daily_nodes": small.daily_nodes,
        "mart_checksums": scale.checksums,
    }
    return text, figures


def daily_profile(scale: History, small: History, top: int = 12) -> str:
    """Where the daily run's time goes, at both history lengths: its steps (wall time, from the run
    ledger) and the build's slowest nodes (execution time, from run_results.json; two threads run nodes
    side by side, so they add up to more than the build's wall time)."""
    header = [
        f"## The daily run, step by step and node by node ({scale.orders:,} vs {small.orders:,} orders of "
        "history)\n",
        "| step or node | seconds | at a tenth of the history |",
        "|---|---:|---:|",
    ]
    steps = [
        f"| step `{name}` | {seconds:.2f} | {small.daily_steps.get(name, 0):.2f} |"
        for name, seconds in scale.daily_steps.items()
    ]
    kinds = ("model", "snapshot", "seed", "test", "unit_test")
    totals = [
        f"| all {kind} nodes ({sum(1 for n in scale.daily_nodes if n.startswith(kind + '.'))}) | "
        f"{_kind_total(scale, kind):.2f} | {_kind_total(small, kind):.2f} |"
        for kind in kinds
        if any(n.startswith(kind + ".") for n in scale.daily_nodes)
    ]
    slowest = sorted(scale.daily_nodes.items(), key=lambda item: -item[1])[:top]
    nodes = [
        f"| `{node.split('.', 2)[-1]}` | {seconds:.2f} | {small.daily_nodes.get(node, 0):.2f} |"
        for node, seconds in slowest
    ]
    return "\n".join([*header, *steps, *totals, *nodes]) + "\n"


def checksum_table(history: History) -> str:
    rows = [f"| `{mart}` | {value} |" for mart, value in history.checksums.items()]
    return (
        "\n".join(["## Every mart after the daily run\n", "| mart | checksum |", "|---|---|", *rows]) + "\n"
    )


def _kind_total(history: History, kind: str) -> float:
    return sum(seconds for node, seconds in history.daily_nodes.items() if node.startswith(kind + "."))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--orders-per-day", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    parser.add_argument(
        "--floor", nargs=3, metavar=("LANDING", "DATABASE", "LAST_DAY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.floor:
        floor(*args.floor)
        return
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        small = build_history(Path(tmp) / "small", args.orders // 10, args.orders_per_day, full=False)
        scale = build_history(Path(tmp) / "scale", args.orders, args.orders_per_day, full=True)
    text, figures = report(scale, small, args.orders)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bench-{args.orders}.md").write_text(text)
    (args.out / f"bench-{args.orders}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
