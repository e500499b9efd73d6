"""Redshift cannot run here: its backend runs for real against the local S3 server, and a stand-in for the
cluster records each statement and reads the manifest and staged file from S3, as COPY would."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pytest
import redshift_connector.error
from support import read_landed

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import STAGE_PREFIX
from shopwarehouse.landing.zone import Landing, S3Landing, open_landing
from shopwarehouse.load.loader import LoadOptions, LoadSummary, run_load
from shopwarehouse.load.raw.base import LoadError, to_csv
from shopwarehouse.load.raw.redshift import RedshiftRawLoader
from shopwarehouse.load.tables import raw_columns
from shopwarehouse.pipeline.retry import RetryPolicy, call_with_retries
from shopwarehouse.warehouse.redshift import RedshiftClient

ROLE = "arn:aws:iam::123456789012:role/shopwarehouse-loader"
COPY = re.compile(
    r"copy raw\.(?P<entity>\w+) \((?P<columns>[^)]*)\) from '(?P<manifest>s3://[^']+)' (?P<rest>.*)"
)


class RecordingCluster:
    """Enough of a Redshift connection for the loader: statements are recorded; COPY reads its manifest
    and the staged file from S3 and counts the rows; a COPY can be made to fail with load errors."""

    def __init__(self, landing: S3Landing, fail_copy: bool = False, drop_copies: int = 0) -> None:
        self.landing = landing
        self.fail_copy = fail_copy
        self.drop_copies = drop_copies  # how many COPYs lose the connection, as the driver reports it
        self.statements: list[str] = []
        self.manifests: list[dict[str, Any]] = []
        self.copied: dict[str, list[dict[str, str]]] = {}  # the staged rows each COPY read, by table
        self.last_copy_count = 0
        self.commits = self.rollbacks = 0

    def cursor(self) -> RecordingCluster:
        return self

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.statements.append(sql)
        self.description: list[str] | None = None
        self.rows: list[tuple[Any, ...]] = []
        if match := COPY.fullmatch(sql):
            if self.fail_copy:
                raise RuntimeError("Load into table failed. Check 'sys_load_error_detail' for details.")
            if self.drop_copies:
                self.drop_copies -= 1
                raise redshift_connector.error.InterfaceError(
                    "BrokenPipe: server socket closed. Please check that client side networking "
                    "configurations such as Proxies, firewalls, VPN, etc. are not affecting your network "
                    "connection."
                )
            manifest = orjson.loads(self._read(match["manifest"]))
            self.manifests.append(manifest)
            data = gzip.decompress(self._read(manifest["entries"][0]["url"]))
            assert (
                len(self._read(manifest["entries"][0]["url"]))
                == manifest["entries"][0]["meta"]["content_length"]
            )
            rows = list(csv.DictReader(io.StringIO(data.decode())))
            self.copied.setdefault(match["entity"], []).extend(rows)
            self.last_copy_count = len(rows)
        elif sql == "select pg_last_copy_count()":
            self.description, self.rows = ["count"], [(self.last_copy_count,)]
        elif "information_schema.tables" in sql:
            self.description, self.rows = ["count"], [(0,)]
        elif "sys_load_error_detail" in sql:
            self.description = ["file_name", "line_number", "column_name", "error_message"]
            self.rows = [("s3://bucket/x.csv.gz", 7, "total_amount", "Invalid digit, Value 's'")]

    def _read(self, url: str) -> bytes:
        prefix = f"s3://{self.landing.bucket}/{self.landing.prefix}"
        assert url.startswith(prefix)
        return read_landed(self.landing, url[len(prefix) :])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def close(self) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1


def one_day(s3_settings: Settings, name: str, file_format: str, gz: bool) -> S3Landing:
    landing = open_landing(s3_settings.with_overrides(landing=f"{s3_settings.landing}-redshift-{name}"))
    assert isinstance(landing, S3Landing)
    options = GenerateOptions(
        start=date(2024, 3, 1),
        days=1,
        orders_per_day=20,
        file_format=file_format,
        gzip=gz,
        clickstream_scale=0.05,
    )
    generate(landing, options)
    return landing


@pytest.mark.parametrize(
    ("file_format", "gz"), [("csv", False), ("csv", True), ("jsonl", True), ("parquet", False)]
)
def test_copy_statements_and_manifests_for_each_source_format(
    s3_settings: Settings, file_format: str, gz: bool
) -> None:
    landing = one_day(s3_settings, f"{file_format}{gz}", file_format, gz)
    cluster = RecordingCluster(landing)
    summary = run_load(landing, RedshiftRawLoader(RedshiftClient(cluster), landing, ROLE), LoadOptions())

    copies = [COPY.fullmatch(sql) for sql in cluster.statements if sql.startswith("copy ")]
    assert len(copies) == len(summary.outcomes) == len(landing.list("raw/"))  # one COPY per landed file
    for match, outcome in zip(copies, summary.outcomes, strict=True):
        assert match is not None
        # Whatever the delivered format, Redshift copies the validated rows, staged as gzipped CSV in
        # raw-table column order, through a manifest naming exactly that object.
        assert match["entity"] == outcome.entity
        assert match["columns"] == ", ".join(name for name, _ in raw_columns(outcome.entity))
        assert match["manifest"].startswith(f"s3://{landing.bucket}/{landing.prefix}{STAGE_PREFIX}")
        assert match["rest"] == (
            f"iam_role '{ROLE}' manifest format as csv quote as '\"' ignoreheader 1 gzip emptyasnull "
            "timeformat 'auto' dateformat 'auto' maxerror 0 compupdate off statupdate off"
        )
    for manifest in cluster.manifests:
        (entry,) = manifest["entries"]
        assert entry["mandatory"] is True
        assert entry["url"].endswith(".csv.gz")
    assert [o.status for o in summary.outcomes] == ["loaded"] * len(copies)
    assert cluster.commits >= 5
    assert cluster.rollbacks == 0
    assert not landing.list(STAGE_PREFIX), "staged files and manifests are removed once copied"
    # Exchange rates: a date column and a decimal of 8 places, staged as COPY reads them (no exponent)
    (create,) = [
        sql for sql in cluster.statements if sql.startswith("create table if not exists raw.fx_rates")
    ]
    assert "rate_date date," in create
    assert "usd_per_unit decimal(18, 8)," in create
    assert "total_amount decimal(18, 2)," in next(
        sql for sql in cluster.statements if sql.startswith("create table if not exists raw.orders")
    )
    rates = cluster.copied["fx_rates"]
    assert {row["rate_date"] for row in rates} == {"2024-03-01"}
    assert all(re.fullmatch(r"\d+\.\d{8}", row["usd_per_unit"]) for row in rates), rates


def test_refused_copy_reports_the_load_errors_and_rolls_back(s3_settings: Settings) -> None:
    landing = one_day(s3_settings, "refused", "csv", False)
    cluster = RecordingCluster(landing, fail_copy=True)
    with pytest.raises(LoadError, match=r"line 7 column total_amount: Invalid digit, Value 's'"):
        run_load(landing, RedshiftRawLoader(RedshiftClient(cluster), landing, ROLE), LoadOptions())
    assert cluster.rollbacks >= 1
    assert not any(sql.startswith("insert into raw._load_files") for sql in cluster.statements)
    assert not landing.list(STAGE_PREFIX)


def test_a_connection_dropped_mid_copy_is_retried_and_the_load_completes(s3_settings: Settings) -> None:
    # GIVEN a cluster whose connection drops during the first COPY (a restart, the network)
    landing = one_day(s3_settings, "dropped", "csv", False)
    cluster = RecordingCluster(landing, drop_copies=1)

    def load() -> LoadSummary:
        return run_load(landing, RedshiftRawLoader(RedshiftClient(cluster), landing, ROLE), LoadOptions())

    # WHEN the load runs under the pipeline's retry policy
    summary, attempts = call_with_retries(load, RetryPolicy(attempts=3), what="load", sleep=lambda _: None)
    # THEN the driver's report of the lost connection counted as transient: the batch in flight was rolled
    # back, the second attempt loaded every file, and nothing staged was left behind
    assert attempts == 2
    assert [o.status for o in summary.outcomes] == ["loaded"] * len(landing.list("raw/"))
    assert cluster.rollbacks == 1
    assert not landing.list(STAGE_PREFIX)


def test_default_role_and_a_local_landing_zone(s3_settings: Settings, tmp_path: Any) -> None:
    landing: Landing = one_day(s3_settings, "default-role", "csv", False)
    assert isinstance(landing, S3Landing)
    cluster = RecordingCluster(landing)
    run_load(
        landing,
        RedshiftRawLoader(RedshiftClient(cluster), landing, "default"),
        LoadOptions(entities=("products",)),
    )
    assert any(" iam_role default manifest " in sql for sql in cluster.statements)
    with pytest.raises(ValueError, match="Redshift loads from S3"):
        RedshiftRawLoader(RedshiftClient(cluster), open_landing(Settings(landing=str(tmp_path))), ROLE)


def test_staged_decimals_never_carry_an_exponent() -> None:
    # Arrow writes a decimal under 10**-6 as 1E-8, which COPY refuses as a number: the staged CSV does not.
    rate = [Decimal("0.00000001"), Decimal("0"), Decimal("0.5"), None]
    money = [Decimal("0"), Decimal("1.5"), None, Decimal("2")]
    rates = pa.table(
        {
            "usd_per_unit": pa.array(rate, pa.decimal128(18, 8)),
            "amount": pa.array(money, pa.decimal128(18, 2)),
        }
    )
    rows = list(csv.reader(io.StringIO(to_csv(rates).decode())))
    assert rows[1:] == [["0.00000001", "0.00"], ["0.00000000", "1.50"], ["0.50000000", ""], ["", "2.00"]]
