"""Benchmark sessionization on the embedded default (DuckDB) beside a hand-written DuckDB query.

    python scripts/bench_sessions.py [--days 7] [--orders-per-day 500] [--clickstream-scale 1] [--out DIR]

Twice, for a history of DAYS days and of ten times as many (a steady shop: every day the same volume),
plus one more day:
- generate the history and the day (``shopwarehouse generate --steady``), load the history and stamp each
  file as loaded at 02:00 the day after its export (as daily loads would have), and build the project;
- full: ``dbt run --full-refresh`` of the sessionization (``stg_clickstream__events``,
  ``int_clickstream__identities``, ``fct_sessions``), timed by dbt per model (no start-up);
- floor: one hand-written DuckDB query over the same raw events (first copy of each event, bots out, the
  30-minute and new-campaign rule), timed in the same process, and its sessions checked equal to
  ``fct_sessions`` (anonymous id, start, end, events);
- daily: the extra day loaded, then the same three models run incrementally, timed the same way.
Prints the figures (events, seconds, events/s, the full build as a multiple of the floor, the daily run at
10x the history as a multiple of the daily run at 1x) and writes them as JSON under --out if given.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

import duckdb

from bench_pipeline import BIN, DAY, environment, run_phase, stamp_as_daily_loads

SESSION_MODELS = ("stg_clickstream__events", "int_clickstream__identities", "fct_sessions")

# The hand-written floor: the rules of fct_sessions (dbt_project.yml's defaults) in DuckDB's own dialect.
FLOOR_SQL = r"""
create or replace table floor_sessions as
with first_copies as (
    select *
    from raw.events
    qualify row_number() over (
        partition by event_id order by _loaded_at, _source_file, _source_row_number
    ) = 1
),
people as (
    select
        anonymous_id,
        event_id,
        occurred_at,
        case when coalesce(nullif(trim(utm_source), ''), nullif(trim(utm_medium), ''),
                           nullif(trim(utm_campaign), '')) is not null
            then concat_ws('|', coalesce(nullif(trim(utm_source), ''), ''),
                           coalesce(lower(nullif(trim(utm_medium), '')), ''),
                           coalesce(nullif(trim(utm_campaign), ''), ''))
        end as campaign
    from first_copies
    where not regexp_matches(
        lower(coalesce(user_agent, '')),
        'bot|crawler|spider|slurp|headless|python-requests|curl/|wget/|scrapy'
    )
),
visits as (
    select
        *,
        sum(case when previous_at is null or occurred_at > previous_at + interval 30 minute then 1 else 0 end)
            over (partition by anonymous_id order by occurred_at, event_id) as visit
    from (
        select
            *,
            lag(occurred_at) over (partition by anonymous_id order by occurred_at, event_id) as previous_at
        from people
    )
),
flagged as (
    select
        *,
        case
            when previous_at is null or occurred_at > previous_at + interval 30 minute then 1
            -- a campaign other than the last one the visit brought
            when campaign is not null and campaign is distinct from last_value(campaign ignore nulls) over (
                partition by anonymous_id, visit order by occurred_at, event_id
                rows between unbounded preceding and 1 preceding
            ) then 1
            else 0
        end as is_start
    from visits
),
starts as (
    select *, sum(is_start) over (partition by anonymous_id order by occurred_at, event_id) as session
    from flagged
)
select anonymous_id, min(occurred_at) as started_at, max(occurred_at) as ended_at, count(*) as events
from starts
group by anonymous_id, session
"""


@dataclass(frozen=True)
class Figures:
    days: int
    events: int
    generate_s: float
    load_s: float
    full_s: float
    floor_s: float
    daily_s: float
    daily_events: int


def dbt_seconds(target: Path) -> float:
    """The execution time dbt reports for the sessionization models of the last run."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return float(sum(r["execution_time"] for r in results if r["unique_id"].split(".")[-1] in SESSION_MODELS))


def measure(work: Path, days: int, per_day: int, scale: float) -> Figures:
    landing, database, target = work / "landing", work / "warehouse.duckdb", work / "target"
    env = environment(landing, database, target)
    shopwarehouse, dbt = str(BIN / "shopwarehouse"), str(BIN / "dbt")
    last = DAY - timedelta(days=1)
    generate = [shopwarehouse, "generate", "--steady", "--start", (DAY - timedelta(days=days)).isoformat(),
                "--days", str(days + 1), "--orders-per-day", str(per_day),
                "--clickstream-scale", str(scale)]  # fmt: skip
    generated = run_phase("generate", generate, env)
    loaded = run_phase("load", [shopwarehouse, "load", "--until", last.isoformat()], env)
    stamp_as_daily_loads(database)
    run_phase("build", [dbt, "build", "--quiet", "--exclude", "test_type:unit"], env)
    models = " ".join(SESSION_MODELS)
    run_phase("full", [dbt, "run", "--full-refresh", "--select", models], env)
    full_s = dbt_seconds(target)
    with duckdb.connect(str(database)) as conn:
        (events,) = conn.execute("select count(*) from raw.events").fetchone() or (0,)
        started = time.perf_counter()
        conn.execute(FLOOR_SQL)
        floor_s = time.perf_counter() - started
        built = "select anonymous_id, started_at, ended_at, events from main_marts.fct_sessions"
        (differing,) = conn.execute(
            f"select count(*) from (({built} except all select * from floor_sessions) "
            f"union all (select * from floor_sessions except all {built}))"
        ).fetchone() or (0,)
        if differing:
            sys.exit(f"the floor's sessions differ from fct_sessions in {differing} rows")
        conn.execute("drop table floor_sessions")
    run_phase("load day", [shopwarehouse, "load", "--until", DAY.isoformat()], env)
    with duckdb.connect(str(database)) as conn:
        (daily_events,) = conn.execute(
            "select count(*) from raw.events where _source_file like ?", [f"%date={DAY}%"]
        ).fetchone() or (0,)
    run_phase("daily", [dbt, "run", "--select", models], env)
    return Figures(
        days, events, generated.seconds, loaded.seconds, full_s, floor_s, dbt_seconds(target), daily_events
    )


def report(small: Figures, large: Figures) -> str:
    lines = [
        "| history | events | generate s | load s | full sessionization s | floor s | full / floor "
        "| daily s (day's events) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for figures in (small, large):
        lines.append(
            f"| {figures.days} days | {figures.events:,} | {figures.generate_s:.1f} | {figures.load_s:.1f} "
            f"| {figures.full_s:.1f} | {figures.floor_s:.1f} | {figures.full_s / figures.floor_s:.2f}x "
            f"| {figures.daily_s:.2f} ({figures.daily_events:,}) |"
        )
    lines.append(
        f"\nDaily sessionization at {large.days // small.days}x the history: "
        f"{large.daily_s / small.daily_s:.2f}x the time at 1x (target < 1.5x). Full sessionization: "
        f"{large.full_s / large.floor_s:.2f}x the hand-written query on the larger history (target < 2x)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--orders-per-day", type=int, default=500)
    parser.add_argument("--clickstream-scale", type=float, default=1.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as small_dir, tempfile.TemporaryDirectory() as large_dir:
        small = measure(Path(small_dir), args.days, args.orders_per_day, args.clickstream_scale)
        large = measure(Path(large_dir), 10 * args.days, args.orders_per_day, args.clickstream_scale)
    table = report(small, large)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench-sessions.md").write_text(f"# Sessionization benchmark\n\n{table}\n")
        (args.out / "bench-sessions.json").write_text(
            json.dumps({"small": asdict(small), "large": asdict(large)}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
