"""Run summaries reach their readers: the log, a webhook over real HTTP, an SNS topic on the local server."""

from __future__ import annotations

import urllib.error
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import orjson
import pytest
from support import free_port, topic_inbox

from shopwarehouse.config import Settings
from shopwarehouse.errors import TransientError
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.notify import LogNotifier, SnsNotifier, WebhookNotifier, notifiers, send_quality
from shopwarehouse.pipeline.report import FAILED, SUCCEEDED, WARNED, Notice, RunReport, StepResult


@pytest.fixture
def notice() -> Notice:
    """A failed run's notice, sent after the promised time."""
    started = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
    build = StepResult(FAILED, "a test failed", name="build", attempts=1, started_at=started,
                       finished_at=started + timedelta(minutes=5))  # fmt: skip
    run = RunReport("r-1", date(2024, 3, 3), "duckdb", started, steps=[build],
                    sla_deadline=datetime(2024, 3, 4, 6, 0, tzinfo=UTC))  # fmt: skip
    return run.notice(at=datetime(2024, 3, 4, 7, 0, tzinfo=UTC))


def test_the_webhook_receives_the_json_summary(
    webhook: tuple[str, list[bytes], list[int]], notice: Notice
) -> None:
    url, bodies, _ = webhook
    assert WebhookNotifier(url).send(notice) == "webhook"
    summary = orjson.loads(bodies[0])
    assert (summary["kind"], summary["run_id"], summary["status"], summary["run_date"]) == (
        "run", "r-1", "failed", "2024-03-03",
    )  # fmt: skip
    assert summary["steps"][0]["detail"] == "a test failed"
    assert summary["tests_failed"] == 0


@pytest.mark.parametrize(("status", "transient"), [(503, True), (429, True), (400, False)])
def test_a_webhook_error_is_transient_only_when_the_service_is(
    webhook: tuple[str, list[bytes], list[int]], notice: Notice, status: int, transient: bool
) -> None:
    url, _, answers = webhook
    answers.append(status)
    with pytest.raises(TransientError if transient else urllib.error.HTTPError):
        WebhookNotifier(url).send(notice)


def test_an_unreachable_webhook_is_transient(notice: Notice) -> None:
    with pytest.raises(TransientError, match="unreachable"):
        WebhookNotifier(f"http://127.0.0.1:{free_port()}/", timeout=2).send(notice)


def topic_with_inbox(endpoint: str, name: str) -> tuple[str, Callable[..., list[dict[str, Any]]]]:
    """A new SNS topic on the local server, and the inbox of a queue subscribed to it."""
    topic = aws_client("sns", endpoint).create_topic(Name=name)["TopicArn"]
    return topic, topic_inbox(endpoint, topic, f"{name}-inbox")


def test_the_sns_topic_receives_the_summary(s3_endpoint: str, notice: Notice) -> None:
    topic, inbox = topic_with_inbox(s3_endpoint, "shopwarehouse-runs")

    assert SnsNotifier(topic, s3_endpoint).send(notice) == "sns"
    [envelope] = inbox()
    assert envelope["Subject"] == (
        "shopwarehouse run for 2024-03-03 on duckdb: failed, after the promised 2024-03-04 06:00 UTC"
    )
    assert orjson.loads(envelope["Message"])["error"] == "build: a test failed"


def test_a_runs_data_quality_alert_goes_to_its_own_topic(s3_endpoint: str) -> None:
    # GIVEN a run that quarantined a file and had two tests warn
    started = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
    step = partial(StepResult, attempts=1, started_at=started, finished_at=started + timedelta(minutes=1))
    clean = [
        step(SUCCEEDED, "6 files", name="load"),
        step(SUCCEEDED, "300 tests passed", name="quality_gate"),
    ]
    assert RunReport("r-0", date(2024, 3, 3), "duckdb", started, steps=clean).quality_notice() is None
    run = RunReport("r-2", date(2024, 3, 3), "duckdb", started, steps=[
        step(WARNED, "5 files; quarantined: orders.csv: no order_id", name="load", files_quarantined=1),
        step(SUCCEEDED, "412 nodes; warn: a, b", name="build", tests_passed=300, tests_warned=2),
        step(WARNED, "2 tests warn; unknown codes: orders.channel 'kiosk'", name="quality_gate"),
    ])  # fmt: skip
    pipeline, pipeline_inbox = topic_with_inbox(s3_endpoint, "shopwarehouse-pipeline")
    quality, quality_inbox = topic_with_inbox(s3_endpoint, "shopwarehouse-data-quality")
    settings = Settings(notify_sns_topic_arn=pipeline, notify_dq_sns_topic_arn=quality,
                        s3_endpoint_url=s3_endpoint)  # fmt: skip
    # WHEN its alert is sent
    alert = run.quality_notice()
    assert alert is not None
    assert send_quality(settings, alert) == ["log", "sns"]
    # THEN it reaches the data-quality topic, and not the pipeline's
    [envelope] = quality_inbox()
    assert envelope["Subject"] == (
        "shopwarehouse data quality for 2024-03-03 on duckdb: 1 file quarantined, 2 tests warned"
    )
    body = orjson.loads(envelope["Message"])
    assert (body["kind"], body["run_id"], body["files_quarantined"], body["tests_warned"]) == (
        "data_quality", "r-2", 1, 2,
    )  # fmt: skip
    assert body["findings"] == [
        "load: 5 files; quarantined: orders.csv: no order_id",
        "build: 412 nodes; warn: a, b",
        "quality_gate: 2 tests warn; unknown codes: orders.channel 'kiosk'",
    ]
    # (the local server delivers to the queue before publish returns: no wait, which under faketime's clock
    # the server's long poll may not end)
    assert pipeline_inbox(wait_seconds=0) == []


def test_the_settings_choose_the_notifiers() -> None:
    assert [type(n) for n in notifiers(Settings())] == [LogNotifier]
    configured = Settings(notify_webhook_url="https://hooks.example/run",
                          notify_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:runs",
                          s3_endpoint_url="http://127.0.0.1:1")  # fmt: skip
    assert [type(n) for n in notifiers(configured)] == [LogNotifier, WebhookNotifier, SnsNotifier]
    with pytest.raises(ValueError, match="not an http"):
        WebhookNotifier("ftp://hooks.example/run")
