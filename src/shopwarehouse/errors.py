"""Errors a person must fix before anything can work, told apart from faults that may pass.

A fault that may pass (a refused or dropped connection, throttling, a file locked by another process) is
retried, and a command that gives up on one exits with 75: the same command may succeed later (see
:mod:`shopwarehouse.pipeline.retry`). A :class:`ConfigurationError` is never retried: the warehouse has no
such database, the credentials are refused, the bucket or the landing directory does not exist, the dbt
profile has no such target. The command exits with 1 and prints the error's message, one line that says
what is wrong and what to change.

Each part that talks to a service knows its own service's refusals and raises this error for them: the
warehouse clients (``warehouse/*.py``) when they connect, the landing zone (``landing/zone.py``) when it
lists or reads, the profile (``warehouse/profile.py``) when it reads ``profiles.yml``. Each warehouse client
also says what any other error of its driver means, as a :class:`Fault`
(:func:`shopwarehouse.warehouse.fault_of`), so nothing outside a client imports its driver.
"""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    """What a driver's error means to the code that called it."""

    TRANSIENT = "transient"
    """The network or the service's momentary state (a dropped connection, a file locked by another
    process): the same work may succeed later."""
    LOST_RACE = "lost race"
    """Two writers did the same thing at once (created one table, updated one row) and this one lost: look
    again, and the winner's work is there."""
    DATA = "data"
    """The warehouse refused the values (a type, a constraint): retrying will not help."""


class TransientError(Exception):
    """A failure worth retrying: the connection or the service, not the data."""


class WarehouseBusy(TransientError):
    """The warehouse cannot be opened now because another process holds it (DuckDB's one writer)."""


class StepFailed(Exception):
    """A step found something wrong with the data or the models: retrying would not help."""


class ConfigurationError(Exception):
    """The configuration is wrong and running again will not help: exit 1, never retried. The message is
    one line (whitespace and line breaks in it are folded) naming what is wrong and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))
