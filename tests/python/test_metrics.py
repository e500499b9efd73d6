"""The run's metrics: what a step and a run emit, CloudWatch on the local server, Prometheus' text format read
back with prometheus-client's own parser, and a sink that fails without failing anything."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import free_port, read_metric

from shopwarehouse.config import Settings
from shopwarehouse.pipeline import metrics
from shopwarehouse.pipeline.metrics import (
    CloudWatchSink,
    Metric,
    TextfileSink,
    per_entity,
    prometheus_name,
    run_metrics,
    step_metrics,
)
from shopwarehouse.pipeline.report import FAILED, SKIPPED, SUCCEEDED, WARNED, RunReport, StepResult

DAY = date(2024, 3, 3)
START = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)
WINDOW = (START - timedelta(hours=1), START + timedelta(hours=1))


def step(status: str, name: str, minutes: float, **counts: Any) -> StepResult:
    return StepResult(status, name=name, attempts=2, started_at=START,
                      finished_at=START + timedelta(minutes=minutes), **counts)  # fmt: skip


def values(found: list[Metric]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(metric.name, metric.dimensions): metric.value for metric in found}


@pytest.mark.parametrize(
    ("status", "succeeded", "failed"), [(SUCCEEDED, 1, 0), (WARNED, 1, 0), (FAILED, 0, 1)]
)
def test_a_step_emits_its_outcome_duration_and_attempts(status: str, succeeded: int, failed: int) -> None:
    where = (("Step", "build"),)
    assert values(step_metrics(step(status, "build", 1.5))) == {
        ("StepSucceeded", where): succeeded,
        ("StepFailed", where): failed,
        ("StepDuration", where): 90.0,
        ("StepAttempts", where): 2,
    }


def test_a_skipped_step_emits_nothing() -> None:
    assert step_metrics(step(SKIPPED, "publish", 0)) == []


def run_of(status: str, finished: datetime) -> RunReport:
    steps = [
        step(WARNED, "load", 5, rows_loaded=900, files_quarantined=2),
        step(status, "build", 20, tests_passed=300, tests_warned=3, tests_failed=int(status == FAILED)),
    ]
    return RunReport("r-1", DAY, "duckdb", START, finished, steps=steps, sla_deadline=DEADLINE)


@pytest.mark.parametrize(
    ("status", "finished", "sla_met"),
    [(SUCCEEDED, START + timedelta(minutes=30), 1),
     (SUCCEEDED, DEADLINE + timedelta(minutes=1), 0),  # late
     (FAILED, START + timedelta(minutes=30), 0)],  # no data by the deadline
)  # fmt: skip
def test_a_run_emits_its_outcome_duration_counts_and_whether_it_met_its_promise(
    status: str, finished: datetime, sla_met: int
) -> None:
    found = values(run_metrics(run_of(status, finished), earlier=[]))
    seconds = (finished - START).total_seconds()
    assert found == {
        ("RunSucceeded", ()): int(status != FAILED),
        ("RunFailed", ()): int(status == FAILED),
        ("RunDuration", ()): seconds,
        ("FilesQuarantined", ()): 2,
        ("TestsPassed", ()): 300,
        ("TestsWarned", ()): 3,
        ("TestsFailed", ()): int(status == FAILED),
        ("SlaMet", ()): sla_met,
    }  # no earlier runs: no duration against the median


def test_the_duration_is_compared_with_the_median_of_the_seven_days_before() -> None:
    run = run_of(SUCCEEDED, START + timedelta(minutes=30))  # 1,800 s
    earlier = [
        (DAY - timedelta(days=8), 10.0),  # more than 7 days before: left out
        (DAY - timedelta(days=7), 600.0),
        (DAY - timedelta(days=3), 900.0),
        (DAY - timedelta(days=3), 1200.0),  # a day run twice counts twice
        (DAY - timedelta(days=1), 100.0),
        (DAY, 1.0),  # the same day's earlier run: not before it
        (DAY + timedelta(days=1), 1.0),  # a later day, seen in a backfill: left out
    ]
    found = values(run_metrics(run, earlier))
    # 1,800 s against the median of 100, 600, 900 and 1,200 s
    assert found[("RunDurationToMedian", ())] == pytest.approx(1800 / 750)


def test_prometheus_names_follow_its_conventions() -> None:
    duration = Metric("StepDuration", 1, metrics.SECONDS)
    assert prometheus_name(duration) == "shopwarehouse_step_duration_seconds"
    assert prometheus_name(Metric("RowsLoaded", 1)) == "shopwarehouse_rows_loaded"
    assert prometheus_name(Metric("RunDurationToMedian", 1, metrics.NONE)) == (
        "shopwarehouse_run_duration_to_median"
    )


def test_the_textfile_is_prometheus_text_that_its_parser_reads_back(tmp_path: Path) -> None:
    sink = TextfileSink(tmp_path / "metrics")
    found = [
        *step_metrics(step(SUCCEEDED, "load", 2)),
        *per_entity("RowsLoaded", {"orders": 30, "payments": 0}),
    ]
    path = tmp_path / "metrics/shopwarehouse-prod-step-load.prom"
    assert sink.put("prod", "step-load", found, START) == str(path)

    text = path.read_text()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    env = ("environment", "prod")
    assert samples == {
        ("shopwarehouse_step_succeeded", (env, ("step", "load"))): 1.0,
        ("shopwarehouse_step_failed", (env, ("step", "load"))): 0.0,
        ("shopwarehouse_step_duration_seconds", (env, ("step", "load"))): 120.0,
        ("shopwarehouse_step_attempts", (env, ("step", "load"))): 2.0,
        ("shopwarehouse_rows_loaded", (("entity", "orders"), env)): 30.0,
        ("shopwarehouse_rows_loaded", (("entity", "payments"), env)): 0.0,
        ("shopwarehouse_metrics_written_timestamp_seconds", (env,)): START.timestamp(),
    }
    # Written again, the file holds the new values only (replaced whole, not appended to)
    sink.put("prod", "step-load", per_entity("RowsLoaded", {"orders": 5}), START)
    again = path.read_text()
    assert "shopwarehouse_step_succeeded" not in again
    assert 'shopwarehouse_rows_loaded{entity="orders",environment="prod"} 5.0' in again


def test_cloudwatch_gets_every_metric_in_batches_with_the_environment_dimension(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPWAREHOUSE_NOW", START.isoformat())
    namespace = f"ShopWarehouseTest/{uuid.uuid4().hex[:8]}"
    calls: list[int] = []
    sink = CloudWatchSink(namespace, s3_endpoint)
    sink.client.meta.events.register(
        "provide-client-params.cloudwatch.PutMetricData",
        lambda params, **_: calls.append(len(params["MetricData"])),
    )
    # 1,500 entities' rows: more than one PutMetricData call takes
    many = per_entity("RowsLoaded", {f"entity{n:04d}": n for n in range(1500)})
    assert sink.put("staging", "step-load", many, START) == f"cloudwatch {namespace}"
    assert calls == [1000, 500]
    staging = {"Environment": "staging", "Entity": "entity1234"}
    assert read_metric(s3_endpoint, namespace, "RowsLoaded", staging, *WINDOW) == [1234.0]
    assert (
        read_metric(s3_endpoint, namespace, "RowsLoaded", {**staging, "Environment": "prod"}, *WINDOW) == []
    )


def test_a_sink_that_fails_is_logged_and_fails_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # CloudWatch that does not answer, and a textfile directory that is a file
    (tmp_path / "not-a-directory").write_text("")
    settings = Settings(metrics_namespace="ShopWarehouse", s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
                        metrics_textfile_dir=str(tmp_path / "not-a-directory"))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="shopwarehouse.pipeline.metrics"):
        assert metrics.publish(settings, "run", [Metric("RunSucceeded", 1)]) == []
    warned = [record.getMessage() for record in caplog.records]
    assert any("not published to CloudWatchSink" in line for line in warned), warned
    assert any("not published to TextfileSink" in line for line in warned), warned


def test_the_settings_choose_the_sinks(tmp_path: Path) -> None:
    assert [type(sink) for sink in metrics.sinks(Settings(metrics_textfile_dir=None))] == []
    assert [type(sink) for sink in metrics.sinks(Settings())] == [TextfileSink]
    both = Settings(metrics_namespace="ShopWarehouse", s3_endpoint_url="http://127.0.0.1:1")
    assert [type(sink) for sink in metrics.sinks(both)] == [CloudWatchSink, TextfileSink]
    assert metrics.publish(Settings(metrics_textfile_dir=None), "run", [Metric("RunFailed", 1)]) == []
