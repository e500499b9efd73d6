"""Run summaries reach their readers: the log, a webhook over real HTTP, an SNS topic on the local server."""

from __future__ import annotations

import http.server
import threading
import urllib.error
from collections.abc import Iterator
from datetime import UTC, date, datetime

import orjson
import pytest
from conftest import free_port

from shopwarehouse.config import Settings
from shopwarehouse.pipeline.notify import LogNotifier, SnsNotifier, WebhookNotifier, notifiers
from shopwarehouse.pipeline.retry import TransientError
from shopwarehouse.pipeline.runner import RunReport
from shopwarehouse.s3 import aws_client


@pytest.fixture
def report() -> RunReport:
    started = datetime(2024, 3, 4, 2, 0, tzinfo=UTC)
    return RunReport(
        run_id="r-1", run_date=date(2024, 3, 3), target="duckdb", status="failed", started_at=started,
        error="build: a test failed",
    )  # fmt: skip


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes], list[int]]]:
    """A local HTTP server that records each POST body and answers with the next queued status (200)."""
    bodies: list[bytes] = []
    answers: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/run", bodies, answers
    server.shutdown()


def test_the_webhook_receives_the_json_summary(
    webhook: tuple[str, list[bytes], list[int]], report: RunReport
) -> None:
    url, bodies, _ = webhook
    assert WebhookNotifier(url).send(report) == "webhook"
    summary = orjson.loads(bodies[0])
    assert (summary["run_id"], summary["status"], summary["run_date"]) == ("r-1", "failed", "2024-03-03")


@pytest.mark.parametrize(("status", "transient"), [(503, True), (429, True), (400, False)])
def test_a_webhook_error_is_transient_only_when_the_service_is(
    webhook: tuple[str, list[bytes], list[int]], report: RunReport, status: int, transient: bool
) -> None:
    url, _, answers = webhook
    answers.append(status)
    with pytest.raises(TransientError if transient else urllib.error.HTTPError):
        WebhookNotifier(url).send(report)


def test_an_unreachable_webhook_is_transient(report: RunReport) -> None:
    with pytest.raises(TransientError, match="unreachable"):
        WebhookNotifier(f"http://127.0.0.1:{free_port()}/", timeout=2).send(report)


def test_the_sns_topic_receives_the_summary(s3_endpoint: str, report: RunReport) -> None:
    sns, sqs = aws_client("sns", s3_endpoint), aws_client("sqs", s3_endpoint)
    topic = sns.create_topic(Name="shopwarehouse-runs")["TopicArn"]
    queue = sqs.create_queue(QueueName="run-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    assert SnsNotifier(topic, s3_endpoint).send(report) == "sns"
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    envelope = orjson.loads(messages[0]["Body"])
    assert envelope["Subject"] == "shopwarehouse run 2024-03-03 on duckdb: failed"
    assert orjson.loads(envelope["Message"])["error"] == "build: a test failed"


def test_the_settings_choose_the_notifiers() -> None:
    assert [type(n) for n in notifiers(Settings())] == [LogNotifier]
    configured = Settings(notify_webhook_url="https://hooks.example/run",
                          notify_sns_topic_arn="arn:aws:sns:us-east-1:123456789012:runs",
                          s3_endpoint_url="http://127.0.0.1:1")  # fmt: skip
    assert [type(n) for n in notifiers(configured)] == [LogNotifier, WebhookNotifier, SnsNotifier]
    with pytest.raises(ValueError, match="not an http"):
        WebhookNotifier("ftp://hooks.example/run")
