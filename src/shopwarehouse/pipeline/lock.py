"""One writer at a time per warehouse and environment: a lease in the warehouse itself, in the environment's
``ops.pipeline_lock`` (environments write schemas of their own, so they do not wait for each other).

Two schedulers may start the same day's run at once (a cron job and a manual re-run, two orchestrator
workers); a person may start ``shopwarehouse load`` during the nightly run. Each of these takes the lease
before it writes anything and gives it back when it is done, so the second one waits
(``SHOPWAREHOUSE_LOCK_WAIT_SECONDS``) or stops at once with a message naming the holder, and exits with 75
(try again later). The lease lives where the data does, so it holds across hosts, for every warehouse.

It is one row, taken by a conditional ``update``: the update sets this holder only where the row is free,
and a holder reads the row back to learn whether it won. Every warehouse runs such an update atomically
(PostgreSQL re-reads the row after waiting for its lock; DuckDB has one writer; Redshift and Snowflake
serialise writers to the table), so exactly one of any number of claimants wins. A lease is free when no one
holds it, when it has expired (``SHOPWAREHOUSE_LOCK_TTL_SECONDS``, for a holder that died on another host),
or when its holder was a process of this host that no longer runs (killed, say). The holder of a run's
lease is its run id, so the steps of one run (one process each under an orchestrator) share it; the notify
step, the last, gives it back.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from shopwarehouse import clock
from shopwarehouse.config import Settings
from shopwarehouse.errors import Fault, WarehouseBusy
from shopwarehouse.landing.contract import ColumnType
from shopwarehouse.pipeline.ledger import OPS_SCHEMA
from shopwarehouse.warehouse import SqlClient, fault_of, open_client
from shopwarehouse.warehouse.base import identifier, literal, qualified

log = logging.getLogger(__name__)

LOCK_TABLE = "pipeline_lock"
LOCK_NAME = "writer"
S, INT, T = ColumnType.STRING, ColumnType.INTEGER, ColumnType.TIMESTAMP
LOCK_COLUMNS = (("lock_name", S), ("holder", S), ("host", S), ("pid", INT), ("acquired_at", T),
                ("expires_at", T))  # fmt: skip
_POLL_SECONDS = 1.0


class LockHeld(Exception):
    """Someone else writes to the warehouse now; the same command may succeed later (exit 75)."""


@dataclass(frozen=True)
class Lease:
    holder: str | None
    host: str | None
    pid: int | None
    acquired_at: datetime | None
    expires_at: datetime | None

    def free_for(self, holder: str, now: datetime) -> bool:
        if self.holder is None or self.holder == holder:
            return True
        if self.expires_at is not None and self.expires_at < now:
            return True
        return self.host == socket.gethostname() and self.pid is not None and not _running(self.pid)

    def __str__(self) -> str:
        since, until = f"{self.acquired_at:%Y-%m-%d %H:%M:%S}", f"{self.expires_at:%H:%M:%S}"
        return f"{self.holder} (process {self.pid} on {self.host}, since {since}, lease until {until} UTC)"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def _read(warehouse: SqlClient, schema: str) -> Lease:
    table = qualified(LOCK_TABLE, schema)
    mark = warehouse.placeholder
    rows = warehouse.transact(
        [(f"select holder, host, pid, acquired_at, expires_at from {table} where lock_name = {mark} "
          "order by holder", (LOCK_NAME,))]
    )  # fmt: skip
    return Lease(*rows[0]) if rows else Lease(None, None, None, None, None)


def _create(warehouse: SqlClient, schema: str) -> None:
    """The lease's table, where missing, created with its one row by one statement.

    Not ``create table if not exists`` and then an insert where the row is missing: two claimants that
    both find no row (PostgreSQL reads committed rows only) would both insert one. A ``create table ... as``
    is atomic, so a claimant that lost the race to create the table fails, finds the table there, and uses
    the winner's row.
    """
    if warehouse.table_exists(schema, LOCK_TABLE):
        return
    values = {"lock_name": literal(LOCK_NAME)}
    row = ", ".join(
        f"cast({values.get(name, 'null')} as {warehouse.sql_type(name, kind, {})}) as {identifier(name)}"
        for name, kind in LOCK_COLUMNS
    )
    table = qualified(LOCK_TABLE, schema)
    try:
        warehouse.run_ddl([f"create schema if not exists {identifier(schema)}",
                           f"create table {table} as select {row}"])  # fmt: skip
    except Exception:
        if not warehouse.table_exists(schema, LOCK_TABLE):
            raise
        log.info("another claimant created %s.%s first", schema, LOCK_TABLE)


def _claim(warehouse: SqlClient, schema: str, holder: str, ttl: timedelta) -> Lease:
    """One attempt: take the lease if it is free; the lease as it then is."""
    table = qualified(LOCK_TABLE, schema)
    mark = warehouse.placeholder
    _create(warehouse, schema)
    now = clock.now()
    current = _read(warehouse, schema)
    if not current.free_for(holder, now):
        return current
    # Taken only from the holder seen just now: if another claimant got there first, this updates nothing.
    seen = "holder is null" if current.holder is None else f"holder = {mark}"
    warehouse.transact(
        [(f"update {table} set holder = {mark}, host = {mark}, pid = {mark}, acquired_at = {mark}, "
          f"expires_at = {mark} where lock_name = {mark} and {seen}",
          (holder, socket.gethostname(), os.getpid(), now, now + ttl, LOCK_NAME,
           *(() if current.holder is None else (current.holder,))))]
    )  # fmt: skip
    return _read(warehouse, schema)


def acquire(settings: Settings, holder: str) -> None:
    """Take the warehouse's writer lease for ``holder`` (a run id or load id), waiting up to
    ``settings.lock_wait_seconds`` for it; :class:`LockHeld` if it stays taken."""
    deadline = time.monotonic() + settings.lock_wait_seconds
    ttl = timedelta(seconds=settings.lock_ttl_seconds)
    races = 0
    while True:
        try:
            with open_client(settings) as warehouse:
                lease = _claim(warehouse, settings.schema(OPS_SCHEMA), holder, ttl)
            if lease.holder == holder:
                log.info("writer lease taken by %s", holder)
                return
            busy = f"another writer holds the warehouse: {lease}"
        except WarehouseBusy as error:  # the DuckDB file is open for writing in another process
            busy = str(error)
        except Exception as error:
            # Claimants racing to create the schema or to update the row: one wins, look again.
            if fault_of(error) is not Fault.LOST_RACE or races == 3:
                raise
            races += 1
            continue
        if time.monotonic() >= deadline:
            raise LockHeld(
                f"{busy}; {holder} did not start. Nothing was written: try again when it is done, or set "
                "SHOPWAREHOUSE_LOCK_WAIT_SECONDS to wait for it"
            )
        log.info("%s waits: %s", holder, busy)
        time.sleep(_POLL_SECONDS)


def release(settings: Settings, holder: str) -> None:
    """Give the lease back, if ``holder`` still has it."""
    with open_client(settings) as warehouse:
        mark = warehouse.placeholder
        table = qualified(LOCK_TABLE, settings.schema(OPS_SCHEMA))
        warehouse.transact(
            [(f"update {table} set holder = null, host = null, pid = null, "
              f"acquired_at = null, expires_at = null where lock_name = {mark} and holder = {mark}",
              (LOCK_NAME, holder))]
        )  # fmt: skip
    log.info("writer lease given back by %s", holder)


@contextmanager
def holding(settings: Settings, holder: str) -> Iterator[None]:
    acquire(settings, holder)
    try:
        yield
    finally:
        release(settings, holder)
