"""Retrying a pipeline step: transient failures (a dropped connection, throttling) are retried with
exponential backoff and jitter; anything else (bad data, a failing test, a bug, and above all a
:class:`~shopwarehouse.errors.ConfigurationError`: a missing database, refused credentials) fails at once."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shopwarehouse.config import Settings
from shopwarehouse.errors import ConfigurationError, Fault, TransientError
from shopwarehouse.landing import s3
from shopwarehouse.landing.zone import LandingUnavailable
from shopwarehouse.warehouse import fault_of

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = Settings.retry_attempts
    """Attempts in all, the first included."""
    base_seconds: float = Settings.retry_base_seconds
    """The wait after the first failure; it doubles after each further one."""
    max_seconds: float = 60.0
    jitter: float = 0.25
    """Each wait is varied by up to this fraction, so retries from several runs do not collide."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(attempts=settings.retry_attempts, base_seconds=settings.retry_base_seconds)

    def delay(self, failures: int, rng: random.Random) -> float:
        wait: float = min(self.max_seconds, self.base_seconds * 2.0 ** (failures - 1))
        return wait * (1.0 + rng.uniform(-self.jitter, self.jitter))


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` comes from the network or a service's momentary state, so a retry may succeed.

    A :class:`~shopwarehouse.errors.ConfigurationError` never is: the backends and the landing zone raise it
    in place of the driver's error when the server refused the configuration itself (no such database or
    role, a wrong password, no such bucket), which the drivers report with the same exception classes as a
    refused or dropped connection."""
    if isinstance(error, ConfigurationError):
        return False
    if isinstance(error, TransientError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, LandingUnavailable):  # as transient as what the S3 client gave up on
        return error.__cause__ is not None and is_transient(error.__cause__)
    fault = fault_of(error)  # a warehouse driver's error: its client says what it means
    if fault is not None:
        return fault is Fault.TRANSIENT
    return s3.is_transient(error)


def call_with_retries(
    work: Callable[[], T],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> tuple[T, int]:
    """``work()``'s result and the attempts it took; its last error if every attempt failed or the error was
    not transient."""
    rng = rng or random.Random()
    for attempt in range(1, policy.attempts + 1):
        try:
            return work(), attempt
        except Exception as error:
            if attempt == policy.attempts or not is_transient(error):
                raise
            wait = policy.delay(attempt, rng)
            log.warning("%s failed (%s: %s); attempt %d of %d in %.1f s", what, type(error).__name__, error,
                        attempt + 1, policy.attempts, wait)  # fmt: skip
            sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")
