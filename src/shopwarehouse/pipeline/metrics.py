"""The run's metrics: what each step and each run did, as numbers for dashboards and alarms.

Each step emits, as it ends, whether it succeeded or failed, its duration and attempts, and its own figures
(rows loaded per entity, files quarantined, tests passed, warned and failed, each source's freshness lag,
the rows with codes no seed lists per entity); the run emits, from its last step, whether it succeeded or
failed, its duration against the median of the week before, and whether the day's data was there by the
promised time. ``shopwarehouse status --check-sla``, at that time, emits whether the promise was missed.

They go to two places:

- **CloudWatch** (``PutMetricData``, up to 1,000 values a call), in ``SHOPWAREHOUSE_METRICS_NAMESPACE``
  when it is set, with the dimension ``Environment`` on every metric and ``Step`` or ``Entity`` where one
  applies. The CloudFormation stack's alarms read them.
- **Prometheus' text format**, one file per step and one per run under ``SHOPWAREHOUSE_METRICS_TEXTFILE_DIR``,
  for node_exporter's textfile collector. A daily batch job is gone long before Prometheus would scrape a
  ``/metrics`` endpoint of its own; node_exporter serves the files it leaves, each the last value of its
  gauges (``shopwarehouse_rows_loaded{environment="prod",entity="orders"}``). Each file is replaced whole
  (written aside, then renamed), so the collector never reads half of one.

A metric that cannot be published is logged and dropped: it never fails the run.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.report import FAILED, SKIPPED, RunReport, StepResult

log = logging.getLogger(__name__)

COUNT, SECONDS, NONE = "Count", "Seconds", "None"
"""CloudWatch's units of the metrics here."""
CLOUDWATCH_BATCH = 1000
"""The most values one ``PutMetricData`` call takes."""
MEDIAN_DAYS = 7
"""The run's duration is compared with the median duration of the runs of this many days before it."""


@dataclass(frozen=True)
class Metric:
    """One value: a CloudWatch metric name, unit and dimensions (``Environment`` is added when published)."""

    name: str
    value: float
    unit: str = COUNT
    dimensions: tuple[tuple[str, str], ...] = ()


def step_metrics(step: StepResult) -> list[Metric]:
    """How one step went: succeeded (warnings included) or failed, how long it took and how many attempts;
    nothing for a step that did not run."""
    if step.status == SKIPPED:
        return []
    where = (("Step", step.name),)
    failed = step.status == FAILED
    return [
        Metric("StepSucceeded", 0 if failed else 1, COUNT, where),
        Metric("StepFailed", 1 if failed else 0, COUNT, where),
        Metric("StepDuration", step.seconds, SECONDS, where),
        Metric("StepAttempts", step.attempts, COUNT, where),
    ]


def per_entity(name: str, values: Mapping[str, float], unit: str = COUNT) -> list[Metric]:
    """One value of ``name`` per entity (dimension ``Entity``)."""
    return [Metric(name, value, unit, (("Entity", entity),)) for entity, value in sorted(values.items())]


def entity_totals(name: str, counts: Iterable[tuple[str, float]]) -> list[Metric]:
    """A count of ``name`` for every entity of the contract (0 for one not in ``counts``), each the sum of
    its ``(entity, count)`` pairs."""
    totals: dict[str, float] = dict.fromkeys(ENTITIES, 0)
    for entity, count in counts:
        totals[entity] = totals.get(entity, 0) + count
    return per_entity(name, totals)


def run_metrics(report: RunReport, earlier: Sequence[tuple[date, float]]) -> list[Metric]:
    """How the run went, once its last step has ended: succeeded or failed, its duration, that duration
    over the median of the runs of the :data:`MEDIAN_DAYS` days before (``earlier``: each past run's day
    and seconds; none, no ratio), the day's tests and quarantined files, and whether it made the day's data
    available by the promised time (``SlaMet``, 0 when it failed or finished late)."""
    assert report.finished_at is not None, "a run's metrics are taken when it has ended"
    failed = report.status == FAILED
    seconds = (report.finished_at - report.started_at).total_seconds()
    metrics = [
        Metric("RunSucceeded", 0 if failed else 1),
        Metric("RunFailed", 1 if failed else 0),
        Metric("RunDuration", seconds, SECONDS),
        Metric("FilesQuarantined", report.total("files_quarantined")),
        Metric("TestsPassed", report.total("tests_passed")),
        Metric("TestsWarned", report.total("tests_warned")),
        Metric("TestsFailed", report.total("tests_failed")),
        Metric("SlaMet", 0 if failed or report.late(report.finished_at) else 1),
    ]
    week = [s for day, s in earlier if report.run_date - timedelta(days=MEDIAN_DAYS) <= day < report.run_date]
    median = statistics.median(week) if week else 0
    if median > 0:
        metrics.append(Metric("RunDurationToMedian", seconds / median, NONE))
    return metrics


class Sink(Protocol):
    def put(self, env: str, group: str, metrics: Sequence[Metric], at: datetime) -> str:
        """Publish ``metrics`` of environment ``env``; ``group`` names what they are of (``run``,
        ``step-load``, ``sla``). A word on where they went."""


class CloudWatchSink:
    def __init__(self, namespace: str, endpoint_url: str | None) -> None:
        self.namespace = namespace
        self.client = aws_client("cloudwatch", endpoint_url)

    def put(self, env: str, group: str, metrics: Sequence[Metric], at: datetime) -> str:
        data = [
            {
                "MetricName": metric.name,
                "Dimensions": [
                    {"Name": name, "Value": value}
                    for name, value in (("Environment", env), *metric.dimensions)
                ],
                "Timestamp": at,
                "Value": float(metric.value),
                "Unit": metric.unit,
            }
            for metric in metrics
        ]
        for start in range(0, len(data), CLOUDWATCH_BATCH):
            self.client.put_metric_data(
                Namespace=self.namespace, MetricData=data[start : start + CLOUDWATCH_BATCH]
            )
        return f"cloudwatch {self.namespace}"


class TextfileSink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, env: str, group: str) -> Path:
        return self.directory / f"shopwarehouse-{env}-{group}.prom"

    def put(self, env: str, group: str, metrics: Sequence[Metric], at: datetime) -> str:
        registry = CollectorRegistry()
        gauges: dict[str, Gauge] = {}
        for metric in metrics:
            labels = ["environment", *(_snake(name) for name, _ in metric.dimensions)]
            if metric.name not in gauges:
                gauges[metric.name] = Gauge(
                    prometheus_name(metric), f"shopwarehouse {metric.name} ({metric.unit})", labels,
                    registry=registry,
                )  # fmt: skip
            gauges[metric.name].labels(env, *(value for _, value in metric.dimensions)).set(metric.value)
        written = Gauge(
            "shopwarehouse_metrics_written_timestamp_seconds", "When this file's values were taken",
            ["environment"], registry=registry,
        )  # fmt: skip
        written.labels(env).set(at.timestamp())
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(env, group)
        write_to_textfile(str(path), registry)  # written aside, then renamed over the file
        return str(path)


def prometheus_name(metric: Metric) -> str:
    """``StepDuration`` in seconds is ``shopwarehouse_step_duration_seconds``; ``RowsLoaded``,
    ``shopwarehouse_rows_loaded``."""
    return f"shopwarehouse_{_snake(metric.name)}" + ("_seconds" if metric.unit == SECONDS else "")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def sinks(settings: Settings) -> list[Sink]:
    """Where the settings send metrics: CloudWatch when a namespace is set, the textfile directory when one
    is."""
    found: list[Sink] = []
    if settings.metrics_namespace:
        found.append(CloudWatchSink(settings.metrics_namespace, settings.s3_endpoint_url))
    if settings.metrics_textfile_dir:
        found.append(TextfileSink(Path(settings.metrics_textfile_dir)))
    return found


def publish(settings: Settings, group: str, metrics: Iterable[Metric]) -> list[str]:
    """``metrics`` to every sink of the settings; where they went. A sink that fails is logged and
    skipped: metrics never fail a run."""
    values, at, sent = list(metrics), clock.now(), list[str]()
    if not values:
        return sent
    for sink in _sinks_or_none(settings):
        try:
            sent.append(sink.put(settings.env, group, values, at))
        except Exception as error:
            log.warning("metrics of %s not published to %s: %s: %s", group, type(sink).__name__,
                        type(error).__name__, error)  # fmt: skip
    return sent


def _sinks_or_none(settings: Settings) -> list[Sink]:
    try:
        return sinks(settings)
    except Exception as error:  # a client that cannot be made (a bad region, say) is a sink that fails
        log.warning("metrics not published: %s: %s", type(error).__name__, error)
        return []
