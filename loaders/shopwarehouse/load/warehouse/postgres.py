"""Postgres: ``COPY raw.<entity> FROM STDIN`` streaming the validated rows as CSV."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg2
import pyarrow as pa

from shopwarehouse.contract import ColumnType
from shopwarehouse.load.tables import LedgerEntry, raw_columns
from shopwarehouse.load.warehouse.base import Warehouse, column_list, qualified, to_csv


class PostgresWarehouse(Warehouse):
    types: ClassVar[dict[ColumnType, str]] = {
        ColumnType.STRING: "text",
        ColumnType.DECIMAL: "numeric(18, {scale})",
        ColumnType.INTEGER: "bigint",
        ColumnType.BOOLEAN: "boolean",
        ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.DATE: "date",
    }

    def __init__(self, profile: dict[str, Any]) -> None:
        self.connection = psycopg2.connect(
            host=profile["host"],
            port=profile.get("port", 5432),
            user=profile["user"],
            password=profile.get("password") or None,
            dbname=profile.get("dbname") or profile["database"],
            sslmode=profile.get("sslmode"),
            connect_timeout=profile.get("connect_timeout", 10),
            application_name="shopwarehouse-load",
            options="-c timezone=UTC",
        )

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(params))
            return cursor.fetchall() if cursor.description else []

    def _bulk_load(self, entity: str, rows: pa.Table, first: LedgerEntry, part: int) -> int:
        sql = (
            f"copy {qualified(entity)} ({column_list(raw_columns(entity))}) "
            "from stdin with (format csv, header true)"
        )
        with self.connection.cursor() as cursor:
            cursor.copy_expert(sql, io.BytesIO(to_csv(rows)))
            return int(cursor.rowcount)
