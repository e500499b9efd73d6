"""Telling people how a run went, or that the promised time passed: every notice goes to the log, and,
where configured, to a webhook (an HTTP POST of its JSON) and to an SNS topic. A run's data-quality alert
(quarantined files, tests that warned or failed) goes to the log and to a topic of its own, for the people
who own the data rather than the pipeline."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Protocol

from shopwarehouse.config import Settings
from shopwarehouse.errors import TransientError
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.report import Notice

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, notice: Notice) -> str:
        """Deliver the notice; a word on where it went."""


class LogNotifier:
    def send(self, notice: Notice) -> str:
        log.log(logging.ERROR if notice.failed else logging.INFO, "notice %s", notice.as_json().decode())
        return "log"


class WebhookNotifier:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"SHOPWAREHOUSE_NOTIFY_WEBHOOK_URL={url!r} is not an http(s) URL")
        self.url, self.timeout = url, timeout

    def send(self, notice: Notice) -> str:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            self.url, data=notice.as_json(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as error:
            if error.code >= 500 or error.code == 429:
                raise TransientError(f"webhook answered {error.code}") from error
            raise
        except urllib.error.URLError as error:
            raise TransientError(f"webhook unreachable: {error.reason}") from error
        return "webhook"


class SnsNotifier:
    def __init__(self, topic_arn: str, endpoint_url: str | None) -> None:
        # arn:aws:sns:<region>:<account>:<name>: the client must be in the topic's region.
        region = topic_arn.split(":")[3] if topic_arn.count(":") == 5 else None
        self.topic_arn = topic_arn
        self.client = aws_client("sns", endpoint_url, region)

    def send(self, notice: Notice) -> str:
        # SNS subjects: at most 100 characters, printable ASCII.
        self.client.publish(
            TopicArn=self.topic_arn, Subject=notice.subject[:100], Message=notice.as_json().decode()
        )
        return "sns"


def send(settings: Settings, notice: Notice) -> list[str]:
    """``notice`` to every notifier the settings name; where it went."""
    return [notifier.send(notice) for notifier in notifiers(settings)]


def send_quality(settings: Settings, notice: Notice) -> list[str]:
    """A data-quality alert to the log and to the data-quality topic the settings name; where it went."""
    found: list[Notifier] = [LogNotifier()]
    if settings.notify_dq_sns_topic_arn:
        found.append(SnsNotifier(settings.notify_dq_sns_topic_arn, settings.s3_endpoint_url))
    return [notifier.send(notice) for notifier in found]


def notifiers(settings: Settings) -> list[Notifier]:
    """The log, plus the webhook and the SNS topic the settings name."""
    found: list[Notifier] = [LogNotifier()]
    if settings.notify_webhook_url:
        found.append(WebhookNotifier(settings.notify_webhook_url))
    if settings.notify_sns_topic_arn:
        found.append(SnsNotifier(settings.notify_sns_topic_arn, settings.s3_endpoint_url))
    return found
