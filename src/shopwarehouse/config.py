"""Settings, read from environment variables in this one place.

Every setting has a documented default (README, "Configuration"); command-line flags override them through
:meth:`Settings.with_overrides`. Warehouse connections are not settings of their own: they come from the dbt
profile target named by ``SHOPWAREHOUSE_TARGET``: a warehouse is configured once, for dbt and loaders alike.
The clock (``SHOPWAREHOUSE_NOW``) is read by :mod:`shopwarehouse.clock`, which any code may call without
settings; it is checked here with the rest, so a bad value stops a command before it starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, time
from typing import Any

from shopwarehouse import clock

TARGETS = ("duckdb", "postgres", "snowflake", "redshift")
DEFAULT_ENV = "dev"
ENV_NAME = re.compile(r"[a-z][a-z0-9]{0,15}")
"""An environment's name: it prefixes schema and AWS resource names, so it is short, lowercase and plain."""
ENV_PLACEHOLDER = "{env}"


def env_schema(env: str, schema: str) -> str:
    """The schema ``schema`` of environment ``env``: the default environment keeps the plain name (so a
    warehouse made before environments existed is the ``dev`` one); any other prefixes it with its name. The
    dbt project says the same in the macro ``env_schema`` and in its sources' ``schema``."""
    return schema if env == DEFAULT_ENV else f"{env}_{schema}"


@dataclass(frozen=True)
class Settings:
    env: str = DEFAULT_ENV
    """The environment (``dev``, ``staging``, ``prod`` or any short lowercase name): it namespaces the
    warehouse schemas (:func:`env_schema`), the metrics (dimension ``Environment``) and, through ``{env}``
    in the settings below, the landing zone and the topics."""

    landing: str = "data/landing"
    """``s3://bucket[/prefix]`` or a local directory: where raw exports land. ``{env}`` in it is replaced by
    the environment: ``s3://acme-{env}-landing`` gives a bucket each, ``s3://acme-landing/{env}`` a prefix
    each."""

    s3_endpoint_url: str | None = None
    """S3 API endpoint; ``None`` means AWS itself. The local server is ``http://127.0.0.1:9000``."""

    s3_timeout_seconds: float = 30.0
    """How long an S3 call waits to connect, and for each answer, before the SDK counts it as failed and
    retries it (with backoff, on throttling, server errors, timeouts and resets alike)."""

    target: str = "duckdb"
    """The dbt profile target that both dbt and the loaders use."""

    max_file_bytes: int = 16 << 30
    """Landed files larger than this (16 GiB) are quarantined unread: split big exports."""

    stream_file_bytes: int = 64 << 20
    """Landed files larger than this (64 MiB) are never held in memory: they are validated part by part, then
    read again and loaded part by part. Smaller ones are read once and held until loaded."""

    load_batch_rows: int = 500_000
    """The loaders commit once the files loaded since the last commit hold this many rows."""

    missing_export: str = "fail"
    """What the daily run does when an entity's export for the day has not landed: ``fail`` or ``warn``."""

    retry_attempts: int = 3
    """Attempts per pipeline step on transient failures (the first included)."""

    retry_base_seconds: float = 2.0
    """The wait after a step's first transient failure; it doubles after each further one (with jitter)."""

    lock_wait_seconds: int = 0
    """How long a run or load waits for another writer of the same warehouse to finish before giving up
    (exit 75); 0 gives up at once."""

    lock_ttl_seconds: int = 6 * 3600
    """How long a writer's lease lasts: a holder that died on another host blocks others this long at most."""

    dbt_selector: str = "daily"
    """The selector (``selectors.yml``) the daily run's ``dbt build`` runs: ``daily`` is every node but the
    unit tests, which belong to development and CI."""

    test_scope: str = "recent"
    """What the daily run's data tests read (dbt var ``test_scope``): ``recent``, the rows loaded within the
    incremental lookback; ``all``, every row."""

    docs_generate: bool = False
    """Whether the daily run also regenerates the docs site (``dbt docs generate``) after the quality gate."""

    report_path: str = "data/kpi_report.html"
    """Where the daily run and ``shopwarehouse report`` write the KPI dashboard (one HTML file)."""

    sla_deadline_utc: str = "06:00"
    """The time (UTC, ``HH:MM``) of the next day by which a day's data is promised."""

    notify_webhook_url: str | None = None
    """Where the daily run POSTs its JSON summary, besides the log."""

    notify_sns_topic_arn: str | None = None
    """The SNS topic the daily run publishes its summary to, besides the log (through the S3 endpoint's
    server when one is set: the local moto server serves SNS too). ``{env}`` in it is the environment."""

    notify_dq_sns_topic_arn: str | None = None
    """The SNS topic for data-quality alerts: a run that quarantined files or had tests warn or fail (a code
    no seed lists makes its test warn) publishes a notice of them here too. ``{env}`` in it is the
    environment."""

    metrics_namespace: str | None = None
    """The CloudWatch namespace the run's metrics are put in (``ShopWarehouse`` in the CloudFormation
    stack); unset, no metric goes to CloudWatch."""

    metrics_textfile_dir: str | None = "data/metrics"
    """The directory the run writes its metrics to in Prometheus' text format, one ``.prom`` file per step
    and one per run, for node_exporter's textfile collector (``--collector.textfile.directory``); empty
    turns them off."""

    redshift_iam_role: str = "default"
    """The IAM role ARN Redshift assumes to read the landing bucket in COPY; ``default`` is the cluster's."""

    snowflake_storage_integration: str | None = None
    """The storage integration of the Snowflake stage over an ``s3://`` landing zone."""

    @property
    def sla_deadline(self) -> time:
        """:attr:`sla_deadline_utc` as a time of day, UTC."""
        try:
            return time.fromisoformat(self.sla_deadline_utc).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(
                f"SHOPWAREHOUSE_SLA_DEADLINE_UTC={self.sla_deadline_utc!r} is not a time of day; use HH:MM"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        settings = cls(
            env=env.get("SHOPWAREHOUSE_ENV") or defaults.env,
            landing=env.get("SHOPWAREHOUSE_LANDING") or defaults.landing,
            s3_endpoint_url=env.get("SHOPWAREHOUSE_S3_ENDPOINT_URL") or None,
            s3_timeout_seconds=_seconds(env, "SHOPWAREHOUSE_S3_TIMEOUT_SECONDS", defaults.s3_timeout_seconds),
            target=env.get("SHOPWAREHOUSE_TARGET") or defaults.target,
            max_file_bytes=_whole_number(env, "SHOPWAREHOUSE_MAX_FILE_BYTES", defaults.max_file_bytes),
            stream_file_bytes=_whole_number(
                env, "SHOPWAREHOUSE_STREAM_FILE_BYTES", defaults.stream_file_bytes
            ),
            load_batch_rows=_whole_number(env, "SHOPWAREHOUSE_LOAD_BATCH_ROWS", defaults.load_batch_rows),
            missing_export=env.get("SHOPWAREHOUSE_MISSING_EXPORT") or defaults.missing_export,
            retry_attempts=_whole_number(env, "SHOPWAREHOUSE_RETRY_ATTEMPTS", defaults.retry_attempts),
            retry_base_seconds=_seconds(env, "SHOPWAREHOUSE_RETRY_BASE_SECONDS", defaults.retry_base_seconds),
            lock_wait_seconds=_whole_number(
                env, "SHOPWAREHOUSE_LOCK_WAIT_SECONDS", defaults.lock_wait_seconds
            ),
            lock_ttl_seconds=_whole_number(env, "SHOPWAREHOUSE_LOCK_TTL_SECONDS", defaults.lock_ttl_seconds),
            dbt_selector=env.get("SHOPWAREHOUSE_DBT_SELECTOR") or defaults.dbt_selector,
            test_scope=env.get("SHOPWAREHOUSE_TEST_SCOPE") or defaults.test_scope,
            docs_generate=_flag(env, "SHOPWAREHOUSE_DOCS_GENERATE"),
            report_path=env.get("SHOPWAREHOUSE_REPORT_PATH") or defaults.report_path,
            sla_deadline_utc=env.get("SHOPWAREHOUSE_SLA_DEADLINE_UTC") or defaults.sla_deadline_utc,
            notify_webhook_url=env.get("SHOPWAREHOUSE_NOTIFY_WEBHOOK_URL") or None,
            notify_sns_topic_arn=env.get("SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN") or None,
            notify_dq_sns_topic_arn=env.get("SHOPWAREHOUSE_NOTIFY_DQ_SNS_TOPIC_ARN") or None,
            metrics_namespace=env.get("SHOPWAREHOUSE_METRICS_NAMESPACE") or None,
            metrics_textfile_dir=env.get("SHOPWAREHOUSE_METRICS_TEXTFILE_DIR", defaults.metrics_textfile_dir)
            or None,
            redshift_iam_role=env.get("SHOPWAREHOUSE_REDSHIFT_IAM_ROLE") or defaults.redshift_iam_role,
            snowflake_storage_integration=env.get("SHOPWAREHOUSE_SNOWFLAKE_STORAGE_INTEGRATION") or None,
        )
        settings = settings.in_env()
        settings.validate()
        if env.get(clock.ENV):
            clock.parse(env[clock.ENV])  # a bad SHOPWAREHOUSE_NOW is a ValueError, as any bad setting is
        return settings

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced; ``None`` values (flags not given) are ignored."""
        known = {field.name for field in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        settings = replace(self, **{k: v for k, v in overrides.items() if v is not None}).in_env()
        settings.validate()
        return settings

    def in_env(self) -> Settings:
        """These settings with ``{env}`` in the landing zone and the topics replaced by the environment."""
        if not ENV_NAME.fullmatch(self.env):
            raise ValueError(
                f"SHOPWAREHOUSE_ENV={self.env!r} is not an environment name: use up to 16 lowercase letters "
                "and digits, starting with a letter (dev, staging, prod)"
            )
        named: dict[str, Any] = {
            name: value.replace(ENV_PLACEHOLDER, self.env)
            for name in ("landing", "notify_sns_topic_arn", "notify_dq_sns_topic_arn")
            if isinstance(value := getattr(self, name), str) and ENV_PLACEHOLDER in value
        }
        return replace(self, **named) if named else self

    def schema(self, name: str) -> str:
        """The warehouse schema ``name`` (``raw``, ``ops``, ``main_marts``) of this environment."""
        return env_schema(self.env, name)

    def validate(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(
                f"SHOPWAREHOUSE_TARGET={self.target!r} is not a known target; use one of {TARGETS}"
            )
        if self.test_scope not in ("recent", "all"):
            raise ValueError(f"SHOPWAREHOUSE_TEST_SCOPE={self.test_scope!r}: use recent or all")
        if self.missing_export not in ("fail", "warn"):
            raise ValueError(f"SHOPWAREHOUSE_MISSING_EXPORT={self.missing_export!r}: use fail or warn")
        for name, value in (
            ("MAX_FILE_BYTES", self.max_file_bytes),
            ("STREAM_FILE_BYTES", self.stream_file_bytes),
            ("LOAD_BATCH_ROWS", self.load_batch_rows),
            ("RETRY_ATTEMPTS", self.retry_attempts),
            ("LOCK_TTL_SECONDS", self.lock_ttl_seconds),
        ):
            if value < 1:
                raise ValueError(f"SHOPWAREHOUSE_{name}={value} must be at least 1")
        if self.lock_wait_seconds < 0:
            raise ValueError(f"SHOPWAREHOUSE_LOCK_WAIT_SECONDS={self.lock_wait_seconds} must be 0 or more")
        _ = self.sla_deadline
        if self.landing.startswith("s3://") and not self.landing[5:].split("/", 1)[0]:
            raise ValueError(
                f"SHOPWAREHOUSE_LANDING={self.landing!r} names no bucket; use s3://bucket[/prefix]"
            )


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (env.get(name) or "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f"{name}={value!r}: use true or false")
    return value in ("true", "1")


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number, e.g. {default}") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds, e.g. {default}") from None
    if seconds <= 0:
        raise ValueError(f"{name}={value!r} must be more than 0")
    return seconds
