"""The ``shopwarehouse`` command: parses flags, builds settings, calls the package. No logic of its own."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from shopwarehouse import clock
from shopwarehouse.config import TARGETS, Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.dev.generate.export import FORMATS
from shopwarehouse.errors import ConfigurationError, StepFailed
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.s3 import ensure_landing_bucket, make_client
from shopwarehouse.landing.zone import Landing, LandingUnavailable, open_landing
from shopwarehouse.load.loader import FileOutcome, LoadOptions, LoadSummary, new_load_id, run_load
from shopwarehouse.load.raw import LoadError, RawLoader, check_landing, open_raw_loader
from shopwarehouse.load.report import summary_table
from shopwarehouse.pipeline import lock, metrics, notify
from shopwarehouse.pipeline.ledger import past_runs
from shopwarehouse.pipeline.lock import LockHeld
from shopwarehouse.pipeline.metrics import Metric
from shopwarehouse.pipeline.orchestrate import DEFAULT_INSTALL_DIR, STEP_NAMES, write_definitions
from shopwarehouse.pipeline.report import EXIT_FAILED, EXIT_TRANSIENT, FAILED
from shopwarehouse.pipeline.retry import RetryPolicy, is_transient
from shopwarehouse.pipeline.runner import NOTIFY, backfill, run_day, run_step
from shopwarehouse.pipeline.sla import MISSED, PENDING, sla_state
from shopwarehouse.surfaces.dashboard import NoKpis, write_dashboard
from shopwarehouse.surfaces.docs import build_site, server
from shopwarehouse.surfaces.publish import NotPublished
from shopwarehouse.warehouse.profile import ProfileError

log = logging.getLogger("shopwarehouse")

DEFAULT_LOCAL_BUCKET = "s3://shopwarehouse-landing"


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None  # set by main()
    return settings


class _Commands(click.Group):
    """The commands, each ended the same way by what it did not handle itself: a configuration error by its
    one line and exit 1 (never retried: running it again will not help), a fault that may pass by exit 75
    and the advice to run it again."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigurationError as error:
            raise click.ClickException(str(error)) from error
        except Exception as error:
            command = ctx.invoked_subcommand or "the command"
            _exit_if_it_may_pass(ctx, error, f"{command} stopped on a fault that may pass", "Run it again.")
            raise


@click.group(cls=_Commands)
@click.option("--target", type=click.Choice(TARGETS), help="dbt profile target [SHOPWAREHOUSE_TARGET].")
@click.option("--landing", help="Landing zone: s3://bucket[/prefix] or a directory [SHOPWAREHOUSE_LANDING].")
@click.option("--s3-endpoint-url", help="S3 endpoint; unset means AWS [SHOPWAREHOUSE_S3_ENDPOINT_URL].")
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.pass_context
def main(
    ctx: click.Context, target: str | None, landing: str | None, s3_endpoint_url: str | None, verbose: bool
) -> None:
    """shopwarehouse: land, load and model an e-commerce shop's data."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_env().with_overrides(
            target=target, landing=landing, s3_endpoint_url=s3_endpoint_url
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    ctx.obj = settings


@main.command(name="generate")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="First export day [default: DAYS days before today, so the last is yesterday].",
)
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True)
@click.option(
    "--orders-per-day",
    type=click.FloatRange(min=0, min_open=True),
    default=500.0,
    show_default=True,
    help="Base order volume before weekly, seasonal and growth factors.",
)
@click.option(
    "--growth/--steady",
    default=True,
    show_default=True,
    help="Sign-ups and repeat orders grow day by day, or stay level (a steady shop, for benchmarks).",
)
@click.option("--format", "file_format", type=click.Choice(FORMATS), default="csv", show_default=True)
@click.option("--gzip/--no-gzip", default=False, show_default=True, help="Gzip CSV and JSON Lines files.")
@click.option("--max-rows-per-file", type=click.IntRange(min=1), default=250_000, show_default=True)
@click.option(
    "--clickstream-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiplies the clickstream's sessions without an order (0: only each order's own session).",
)
@click.option(
    "--events-format",
    type=click.Choice(FORMATS),
    default="jsonl",
    show_default=True,
    help="The clickstream's format, whatever --format says.",
)
@click.option("--events-gzip/--no-events-gzip", default=True, show_default=True, help="Gzip the clickstream.")
@click.pass_context
def generate_command(
    ctx: click.Context,
    seed: int,
    start: datetime | None,
    days: int,
    orders_per_day: float,
    growth: bool,
    file_format: str,
    gzip: bool,
    max_rows_per_file: int,
    clickstream_scale: float,
    events_format: str,
    events_gzip: bool,
) -> None:
    """Write DAYS daily exports of a simulated shop to the landing zone, per the source contract."""
    settings = _settings(ctx)
    first_day = start.date() if start else clock.now().date() - timedelta(days=days)
    options = GenerateOptions(
        start=first_day,
        days=days,
        seed=seed,
        orders_per_day=orders_per_day,
        growth=growth,
        file_format=file_format,
        gzip=gzip,
        max_rows_per_file=max_rows_per_file,
        clickstream_scale=clickstream_scale,
        events_format=events_format,
        events_gzip=events_gzip,
    )
    summary = generate(open_landing(settings), options)
    last_day = first_day + timedelta(days=days - 1)
    log.info(
        "generated %s .. %s into %s: %d orders, %d files, %.1f MB in %.1f s (%s)",
        first_day,
        last_day,
        settings.landing,
        summary.orders,
        summary.files,
        summary.bytes / 1e6,
        summary.seconds,
        ", ".join(f"{entity} {rows} rows" for entity, rows in sorted(summary.rows.items())),
    )
    clicks = summary.clickstream
    if clicks.get("sessions"):
        log.info(
            "clickstream: %d sessions (%.1f%% with an order), %d events (%.1f%% crawlers'); "
            "delivered late %d, twice %d; clocks behind %d",
            clicks["sessions"],
            100 * clicks["converting_sessions"] / clicks["sessions"],
            clicks["events"],
            100 * clicks.get("bot_events", 0) / clicks["events"],
            clicks.get("events_late", 0),
            clicks.get("events_delivered_twice", 0),
            clicks.get("events_clock_behind", 0),
        )


@main.group()
def s3() -> None:
    """The landing bucket: a local S3 server, and the bucket's set-up on any S3."""


def _bucket_url(settings: Settings) -> str:
    return settings.landing if settings.landing.startswith("s3://") else DEFAULT_LOCAL_BUCKET


@s3.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=9000, show_default=True)
@click.pass_context
def s3_serve(ctx: click.Context, host: str, port: int) -> None:
    """Run a local S3 server (in memory) with the landing bucket and its lifecycle rules, until stopped."""
    try:  # moto is heavy, and a development tool: import it only for this command
        from shopwarehouse.dev.s3server import serve
    except ImportError as error:
        raise ConfigurationError(
            f"the local S3 server is a development tool ({error}): install it with "
            "pip install 'shopwarehouse[dev]'"
        ) from error

    serve(host, port, _bucket_url(_settings(ctx)))


@s3.command(name="init")
@click.pass_context
def s3_init(ctx: click.Context) -> None:
    """Create the landing bucket if missing, apply its lifecycle rules and lock it down (on AWS or the
    configured endpoint)."""
    settings = _settings(ctx)
    if not settings.landing.startswith("s3://"):
        raise click.UsageError(f"the landing zone {settings.landing!r} is a directory, not a bucket")
    ensure_landing_bucket(make_client(settings.s3_endpoint_url), settings.landing)


@main.command(name="load")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Only this day's exports.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only exports of this day and later.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="No exports of a later day.")
@click.option("--all", "load_all", is_flag=True, help="Every export in the landing zone (the default).")
@click.option(
    "--entity",
    "entities",
    type=click.Choice(list(ENTITIES)),
    multiple=True,
    help="Only this entity (repeatable) [default: all].",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.pass_context
def load_command(
    ctx: click.Context,
    on: datetime | None,
    since: datetime | None,
    until: datetime | None,
    load_all: bool,
    entities: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Load landed files not loaded before into the warehouse's raw tables, exactly once.

    Files that fail validation are quarantined with their reason; the others still load. Exits with 1 when
    any file was quarantined, so a scheduler notices.
    """
    if sum(map(bool, (on, since or until, load_all))) > 1:
        raise click.UsageError("give at most one of --date, --since/--until and --all")
    settings = _settings(ctx)
    options = LoadOptions(
        entities=entities or tuple(ENTITIES),
        on=on.date() if on else None,
        since=since.date() if since else None,
        until=until.date() if until else None,
        dry_run=dry_run,
        max_file_bytes=settings.max_file_bytes,
        stream_file_bytes=settings.stream_file_bytes,
        batch_rows=settings.load_batch_rows,
    )
    landing = open_landing(settings)
    try:
        check_landing(settings, landing)  # before the lease: a configuration error connects to nothing
        writer = contextlib.nullcontext() if dry_run else lock.holding(settings, f"load {new_load_id()}")
        with writer, open_raw_loader(settings, landing) as warehouse:
            summary = _load_with_progress(landing, warehouse, options)
    except Exception as error:
        # A dropped connection, throttling that outlasted the retries...: what was committed stays, with its
        # ledger rows; the batch in flight was rolled back. The same command loads the rest, once.
        _exit_if_it_may_pass(
            ctx,
            error,
            "the load stopped on a fault that may pass",
            ("The files committed before it are loaded and recorded; the others are not. Run it again."),
        )
        if isinstance(error, ProfileError | LoadError | LandingUnavailable):
            raise click.ClickException(str(error)) from error
        raise
    click.echo(summary_table(summary))
    if summary.rejected:
        ctx.exit(1)


def _exit_if_it_may_pass(ctx: click.Context, error: Exception, what: str, then: str = "") -> None:
    """Exit with 75, saying what happened, when ``error`` is another writer's lease or a fault that may pass
    (the same command may then succeed); return otherwise."""
    if isinstance(error, LockHeld):
        click.echo(f"Error: {error}", err=True)
    elif is_transient(error):
        click.echo(f"Error: {what}: {type(error).__name__}: {error}".rstrip() + (f"\n{then}" if then else ""),
                   err=True)  # fmt: skip
    else:
        return
    ctx.exit(EXIT_TRANSIENT)


def _load_with_progress(landing: Landing, warehouse: RawLoader, options: LoadOptions) -> LoadSummary:
    """On a terminal, a progress bar over the files (per-file log lines quietened); otherwise log lines."""
    if not sys.stderr.isatty():
        return run_load(landing, warehouse, options)
    loader_log = logging.getLogger("shopwarehouse.load")
    level = loader_log.level
    loader_log.setLevel(logging.WARNING)
    try:
        with click.progressbar(length=1, label="loading", file=sys.stderr, show_pos=True) as bar:

            def advance(outcome: FileOutcome, total: int) -> None:
                bar.length = total
                bar.update(1)

            return run_load(landing, warehouse, options, on_file=advance)
    finally:
        loader_log.setLevel(level)


RUN_ID = re.compile(r"[A-Za-z0-9_.:+-]{1,128}")


@main.command(name="run")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The day to run [default: yesterday, UTC].",
)
@click.option("--step", type=click.Choice(STEP_NAMES), help="Only this step (an orchestrator's task).")
@click.option("--run-id", help="The run the step belongs to (with --step): the orchestrator's run id.")
@click.pass_context
def run_command(ctx: click.Context, day: datetime | None, step: str | None, run_id: str | None) -> None:
    """Run the daily pipeline for one day: check the landing zone, load, source freshness, dbt build,
    quality gate, publish the readers' copy (DuckDB), docs, the KPI dashboard, notify.

    Exits with 1 when the run fails on its data or models, and with 75 when it gave up on a transient fault
    (the same command may succeed later). With --step, runs that one step of run --run-id, and exits as the
    step did; the notify step exits as the whole run did.
    """
    if (step is None) != (run_id is None):
        raise click.UsageError("give --step and --run-id together")
    if run_id is not None and not RUN_ID.fullmatch(run_id):
        raise click.UsageError(f"--run-id {run_id!r}: use 1 to 128 of A-Z a-z 0-9 _ . : + -")
    settings = _settings(ctx)
    run_date = day.date() if day else clock.yesterday()
    policy = RetryPolicy.from_settings(settings)
    try:
        if step is None:
            report = run_day(settings, run_date, policy, Path.cwd())
            exit_code = report.exit_code
        else:
            assert run_id is not None
            result, report = run_step(settings, run_date, step, run_id, policy, Path.cwd())
            exit_code = result.exit_code or (EXIT_FAILED if step == NOTIFY and report.status == FAILED else 0)
    except ValueError as error:  # a run id of another day
        raise click.ClickException(str(error)) from error
    except Exception as error:
        _exit_if_it_may_pass(ctx, error, "the run did not start", "Run it again.")
        raise
    for result in report.steps:
        attempts = f"{result.attempts} attempt(s)"
        click.echo(
            f"{result.name:<17}{result.status:<10}{attempts:<13}{result.seconds:>7.1f} s  {result.detail}"
        )
    click.echo(f"run {report.run_id} for {run_date} on {settings.target}: {report.status}")
    if report.status == FAILED:  # the failed step's one line; a configuration error's says what to fix
        advice = " (a fault that may pass: run it again)" if exit_code == EXIT_TRANSIENT else ""
        click.echo(f"Error: {report.error}{advice}", err=True)
    ctx.exit(exit_code)


@main.command(name="report")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write [default: SHOPWAREHOUSE_REPORT_PATH, data/kpi_report.html].",
)  # fmt: skip
@click.pass_context
def report_command(ctx: click.Context, out: Path | None) -> None:
    """Write the KPI dashboard: one self-contained HTML file (plotly.js and data inlined, no network needed)
    with daily revenue and orders, AOV, new vs returning customers, payment success by method, refund rate
    and retention cohorts, each chart titled with its definition. On DuckDB it reads the published copy."""
    settings = _settings(ctx)
    try:
        written = write_dashboard(settings, Path.cwd(), out or Path(settings.report_path))
    except (NotPublished, NoKpis, StepFailed) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"KPI dashboard: {written}")


@main.command(name="docs")
@click.option("--serve", is_flag=True, help="Then serve it on http://HOST:PORT/ until interrupted.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(min=0, max=65535), default=8080, show_default=True)
@click.pass_context
def docs_command(ctx: click.Context, serve: bool, host: str, port: int) -> None:
    """Build the dbt docs site as one static HTML file (lineage from sources to the KPI marts, every model,
    column and KPI definition), which opens from disk; with --serve, also serve it locally."""
    settings = _settings(ctx)
    try:
        site = build_site(settings, Path.cwd())
    except StepFailed as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"docs site: {site}")
    if serve:
        httpd = server(site, host, port)
        click.echo(f"serving it on http://{host}:{httpd.server_address[1]}/ (Ctrl-C stops)")
        with httpd, contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()


@main.command(name="backfill")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The first day.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The last day.")
@click.option("--force", is_flag=True, help="Run again the days already done.")
@click.pass_context
def backfill_command(ctx: click.Context, start: datetime, end: datetime, force: bool) -> None:
    """Run the daily pipeline for each day from START to END, in order: days already done are skipped, and
    the backfill stops at the first failed day (run it again to resume). Exits as the failed day's run."""
    if end < start:
        raise click.UsageError("--end is before --start")
    settings = _settings(ctx)
    policy = RetryPolicy.from_settings(settings)
    try:
        reports = backfill(settings, start.date(), end.date(), policy, Path.cwd(), force=force)
    except Exception as error:
        _exit_if_it_may_pass(ctx, error, "the backfill stopped before a day's run")
        raise
    for report in reports:
        rows = report.total("rows_loaded")
        click.echo(f"{report.run_date}  {report.status:<10}{rows:>10} rows  {report.error or ''}")
    click.echo(f"backfill {start.date()} .. {end.date()}: {len(reports)} day(s) run")
    ctx.exit(max((report.exit_code for report in reports), default=0))


@main.command(name="status")
@click.option("--last", type=click.IntRange(min=1), default=10, show_default=True, help="Runs to show.")
@click.option(
    "--check-sla",
    is_flag=True,
    help="When yesterday's data missed its promised time, notify (as a run does) and exit with 1.",
)
@click.pass_context
def status_command(ctx: click.Context, last: int, check_sla: bool) -> None:
    """The last runs from the run ledger, and whether yesterday's data was available by its promised time
    (SHOPWAREHOUSE_SLA_DEADLINE_UTC)."""
    settings = _settings(ctx)
    runs = past_runs(settings)
    for run in runs[-last:]:
        finished = f"{run.finished_at:%Y-%m-%d %H:%M}"
        click.echo(f"{run.run_id}  {run.run_date}  {run.status:<10}{finished}  {run.error or ''}")
    now = clock.now()
    ended = [(run.run_date, run.status, run.finished_at) for run in runs]
    yesterday = clock.yesterday(now)
    state = sla_state(ended, yesterday, settings.sla_deadline, now)
    click.echo(state.line())
    if check_sla and state.state != PENDING:
        metrics.publish(settings, "sla", [Metric("SlaMissed", 1 if state.state == MISSED else 0)])
    if check_sla and state.state == MISSED:
        notify.send(settings, state.notice())
        ctx.exit(1)


@main.command(name="orchestration")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("deploy"),
    show_default=True,
    help="Where to write the definitions.",
)
@click.option(
    "--install-dir",
    default=DEFAULT_INSTALL_DIR,
    show_default=True,
    help="Where the project is installed on the machine (cron, Airflow) that runs it.",
)
@click.pass_context
def orchestration_command(ctx: click.Context, out: Path, install_dir: str) -> None:
    """Write the crontab, the Airflow DAG and the Step Functions state machine with its EventBridge
    schedules, all made from the daily run's list of steps and the retry and SLA settings."""
    for path in write_definitions(out, _settings(ctx), install_dir):
        click.echo(f"wrote {path}")
