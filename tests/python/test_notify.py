"""Run summaries reach their readers: the log, a webhook over real HTTP, an SNS topic on the local server."""

from __future__ import annotations

import urllib.error
from datetime import UTC, date, datetime, timedelta

import orjson
import pytest
from support import free_port

from shopwarehouse.config import Settings
from shopwarehouse.errors import TransientError
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.notify import LogNotifier, SnsNotifier, WebhookNotifier, notifiers
from shopwarehouse.pipeline.report import FAILED, Notice, RunReport, StepResult


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


def test_the_sns_topic_receives_the_summary(s3_endpoint: str, notice: Notice) -> None:
    sns, sqs = aws_client("sns", s3_endpoint), aws_client("sqs", s3_endpoint)
    topic = sns.create_topic(Name="shopwarehouse-runs")["TopicArn"]
    queue = sqs.create_queue(QueueName="run-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    assert SnsNotifier(topic, s3_endpoint).send(notice) == "sns"
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    envelope = orjson.loads(messages[0]["Body"])
    assert envelope["Subject"] == (
        "shopwarehouse run for 2024-03-03 on duckdb: failed, after the promised 2024-03-04 06:00 UTC"
    )
    assert orjson.loads(envelope["Message"])["error"] == "build: a test failed"


def test_the_settings_choose_the_notifiers() -> None:
    assert [type(n) for n in notifiers(Settings())] == [LogNotifier]
    configured = Settings(notify_webhook_url="https://hooks.example/run",
                          notify_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:runs",
                          s3_endpoint_url="http://127.0.0.1:1")  # fmt: skip
    assert [type(n) for n in notifiers(configured)] == [LogNotifier, WebhookNotifier, SnsNotifier]
    with pytest.raises(ValueError, match="not an http"):
        WebhookNotifier("ftp://hooks.example/run")
