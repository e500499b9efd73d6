"""The SQL client every warehouse implements, and the SQL helpers they share.

A client owns one connection to its warehouse, opened with typed credentials read from the dbt profile
target (so the pipeline connects where ``dbt build`` does). It runs statements and transactions, creates the
tables the pipeline keeps for itself, and says what an error of its driver means (:meth:`SqlClient.fault`).
Everything that talks to a warehouse goes through one: the raw loaders (:mod:`shopwarehouse.load.raw`), the
writer's lease and the run ledger (:mod:`shopwarehouse.pipeline`), the dashboard and the published copy
(:mod:`shopwarehouse.surfaces`). No driver is imported outside its client's module.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from shopwarehouse.errors import Fault
from shopwarehouse.landing.contract import ColumnType

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def identifier(name: str) -> str:
    """``name`` for use in SQL. Every identifier the pipeline writes comes from the contract or its own
    modules, so a name outside ``[a-z_][a-z0-9_]*`` is a bug, refused rather than quoted."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain lowercase SQL identifier")
    return name


def qualified(table: str, schema: str) -> str:
    return f"{identifier(schema)}.{identifier(table)}"


def column_list(columns: Sequence[tuple[str, ColumnType]]) -> str:
    return ", ".join(identifier(name) for name, _ in columns)


def literal(value: str) -> str:
    """``value`` as a SQL string literal, for the places a warehouse takes no bound parameter (stage URLs,
    COPY sources, attached files). Quotes and backslashes are refused rather than escaped: no URL or path
    the pipeline writes needs them."""
    if any(char in value for char in "'\\") or not value.isprintable():
        raise ValueError(f"{value!r} holds a quote, backslash or control character; it cannot go into SQL")
    return f"'{value}'"


class SqlClient(ABC):
    """A connection to one warehouse; a subclass supplies the driver, the type names and what its errors
    mean."""

    types: ClassVar[Mapping[ColumnType, str]]
    """Each type's SQL name; the decimal's holds ``{scale}``, the column's own (see :meth:`sql_type`)."""
    placeholder: ClassVar[str] = "%s"
    connection: Any

    # -- what each client supplies --------------------------------------------------------------------------

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the current transaction; the rows it returns, if any."""

    @classmethod
    @abstractmethod
    def fault(cls, error: BaseException) -> Fault | None:
        """What ``error``, raised by this client's driver, means; ``None`` for anything else (a bug, say)."""

    # Transactions through a DB-API connection, which opens one with the first statement; a client whose
    # driver works otherwise (DuckDB autocommits, Snowflake takes SQL) overrides these.

    def begin(self) -> None:  # noqa: B027 (a hook: nothing to do for a DB-API driver)
        """Open a transaction (a DB-API driver opens one with the first statement)."""

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()

    def run_ddl(self, statements: Sequence[str]) -> None:
        """DDL statements in one transaction (a warehouse where DDL commits by itself overrides this)."""
        self.transact([(statement, ()) for statement in statements])

    # -- shared ---------------------------------------------------------------------------------------------

    def transact(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[tuple[Any, ...]]:
        """``statements`` (SQL with this client's placeholders, and its parameters) in one transaction:
        committed when they all ran, rolled back when one fails; the rows the last one returns."""
        rows: list[tuple[Any, ...]] = []
        self.begin()
        try:
            for sql, params in statements:
                rows = self.execute(sql, params)
        except BaseException:
            self.rollback_after_failure()
            raise
        self.commit()
        return rows

    def rollback_after_failure(self) -> None:
        """Roll back what a failure interrupted. When the failure was the connection itself (the server
        ended it), the server has rolled back already and the rollback's own error would hide the cause."""
        try:
            self.rollback()
        except Exception as error:
            log.warning("rollback failed (%s: %s); the server rolled the transaction back when the "
                        "connection ended", type(error).__name__, error)  # fmt: skip

    def table_exists(self, schema: str, table: str) -> bool:
        ((count,),) = self.execute(
            "select count(*) from information_schema.tables where lower(table_schema) = "
            f"{self.placeholder} and lower(table_name) = {self.placeholder}",
            (schema, table),
        )
        return bool(count)

    def append_rows(
        self,
        schema: str,
        table: str,
        columns: Sequence[tuple[str, ColumnType]],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """``rows`` into ``schema.table`` (created where missing), committed together."""
        self.run_ddl([f"create schema if not exists {identifier(schema)}",
                      self.create_table_sql(table, columns, schema)])  # fmt: skip
        marks = ", ".join([self.placeholder] * len(columns))
        sql = f"insert into {qualified(table, schema)} ({column_list(columns)}) values ({marks})"
        self.transact([(sql, row) for row in rows])

    def select_rows(
        self, schema: str, table: str, columns: Sequence[tuple[str, ColumnType]], order_by: str
    ) -> list[tuple[Any, ...]]:
        """Every row of ``schema.table`` (none if it does not exist yet), ordered by ``order_by``."""
        if not self.table_exists(schema, table):
            return []
        return self.execute(
            f"select {column_list(columns)} from {qualified(table, schema)} order by {identifier(order_by)}"
        )

    def create_table_sql(
        self,
        table: str,
        columns: Sequence[tuple[str, ColumnType]],
        schema: str,
        scales: Mapping[str, int] | None = None,
    ) -> str:
        """``create table if not exists``; ``scales`` names the scale of each decimal column."""
        body = ",\n    ".join(
            f"{identifier(name)} {self.sql_type(name, ctype, scales or {})}" for name, ctype in columns
        )
        return f"create table if not exists {qualified(table, schema)} (\n    {body}\n)"

    def sql_type(self, name: str, ctype: ColumnType, scales: Mapping[str, int]) -> str:
        """The SQL type of column ``name``: a decimal at the scale ``scales`` gives it, which it must."""
        if ctype is not ColumnType.DECIMAL:
            return self.types[ctype]
        if name not in scales:
            raise ValueError(f"decimal column {name!r} has no scale: give it one in scales")
        return self.types[ctype].format(scale=scales[name])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
