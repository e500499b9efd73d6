"""Security: credentials stay out of the repository, the output and the logs; hostile names stay inert."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
from support import REPO, WarehouseTarget, cli, dbt, duckdb_env

from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.warehouse.base import identifier

PASSWORD = "Zq7-distinctive-Pw-9wK4"  # noqa: S105 (a marker to search for, not a credential)

# What a committed credential looks like: an AWS key id, a private key, or a password, secret or token set to
# a literal (quoted, or the rest of the line) rather than read from the environment. Secrets Manager's name
# in an IAM action or an ARN (`secretsmanager:GetSecretValue`, `...:secret:shopwarehouse/...`) is none.
CREDENTIALS = re.compile(
    r"AKIA[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|(?<!:)(?i:password|passwd|secret(?!smanager)|token)\w*['\"]?\s*[:=]\s*"
    r"(?:(['\"])(?!\{\{)[^'\"\s]{4,}\1|(?![\"'{=(])[^\s(]{4,}\s*$)"
)
# Placeholders that look like credentials and are not, each for a reason.
NOT_CREDENTIALS = (
    "password: snow",  # profiles.yml: the Snowflake emulator, which checks no password
    'password="snow"',  # the tests' connection to the same emulator
    '_LOCAL_SECRET = "shopwarehouse", "local-only"',  # sent only to a local S3 server, which ignores them
    "password: not-a-secret",  # a profile compiled for Redshift with no cluster behind it
    "password=credentials.password,",  # a warehouse client passes the profile's password to its driver
    "password=passphrase)",  # the Snowflake client decrypts the profile's key with the profile's passphrase
    "password=None)",  # ... or an unencrypted key, with none
    "(-----BEGIN ENCRYPTED PRIVATE KEY----- ...)",  # profiles.yml.example: what the key's text looks like
    'MasterUserPassword="Placeholder1"',  # a cluster of the local server, which nothing logs in to
    '"AWS_SECRET_ACCESS_KEY": "task-role"',  # the local server's placeholder credentials
    '"SNOWFLAKE_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\\nnot read by parse',  # no key: a placeholder
    '"not a key": {"private_key": "-----BEGIN PRIVATE KEY-----',  # no key: a test of a refused one
)
SAMPLES = "tests/python/test_security.py"  # this file: its samples of what the search must find


def test_no_credential_is_committed() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    found = []
    for name in files.splitlines():
        path = REPO / name
        if name == SAMPLES or path.suffix in (".png", ".duckdb", ".parquet", ".gz") or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if CREDENTIALS.search(line) and not any(allowed in line for allowed in NOT_CREDENTIALS):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    assert not found, "credentials committed:\n" + "\n".join(found)


@pytest.mark.parametrize("line", [
    "aws_access_key_id = AKIAABCDEFGHIJKLMNOP",
    "-----BEGIN RSA PRIVATE KEY-----",
    'password: "hunter22"',
    "SNOWFLAKE_PASSWORD=s3cr3tvalue",
    "client_secret: abcd1234efgh",
])  # fmt: skip
def test_the_credential_search_finds_what_it_looks_for(line: str) -> None:
    assert CREDENTIALS.search(line)


@pytest.mark.parametrize("line", [
    "- secretsmanager:GetSecretValue",
    "Fn::Sub: arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:acme/prod",
    "password: \"{{ env_var('SNOWFLAKE_PASSWORD') }}\"",
])  # fmt: skip
def test_the_credential_search_passes_names_of_secrets_and_what_reads_them(line: str) -> None:
    assert not CREDENTIALS.search(line)


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_target", ["postgres"], indirect=True)
def test_a_password_appears_in_no_output_log_or_artefact_of_a_run(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN a warehouse password (PostgreSQL here takes any: trust authentication)
    generate(LocalLanding(tmp_path / "landing"), GenerateOptions(start=date(2024, 3, 1), days=3, seed=4,
                                                                 orders_per_day=40))  # fmt: skip
    env = {
        "SHOPWAREHOUSE_PG_PASSWORD": PASSWORD,
        "SHOPWAREHOUSE_LANDING": str(tmp_path / "landing"),
        "SHOPWAREHOUSE_DOCS_GENERATE": "true",
        "SHOPWAREHOUSE_REPORT_PATH": str(tmp_path / "kpi_report.html"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    # WHEN a whole run, a load, a status and a run that cannot connect (the notices included) go through it
    outputs = [
        cli("run", "--date", "2024-03-03", env=env),
        cli("load", env=env),
        cli("status", env=env),
        cli("run", "--date", "2024-03-03", env={**env, "SHOPWAREHOUSE_PG_PORT": "1",
                                                 "SHOPWAREHOUSE_RETRY_BASE_SECONDS": "0.01"}, returncode=75),
    ]  # fmt: skip
    # THEN the password is in none of their output, nor in any file they wrote, nor in the run ledger
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(written) > 10
    assert any(path.name == "dbt.log" for path in written)
    for result in outputs:
        assert PASSWORD not in result.stdout + result.stderr
    leaked = [str(path) for path in written if PASSWORD.encode() in path.read_bytes()]
    assert not leaked, leaked
    assert warehouse_target.count("select count(*) from ops.pipeline_steps") > 0
    assert not warehouse_target.query(f"select * from ops.pipeline_steps where detail like '%{PASSWORD}%'")


# -- hostile names ------------------------------------------------------------------------------------------

HOSTILE = ("orders'; drop table raw.orders; --", 'orders"; drop table raw.orders; --', "orders\n; select 1")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_identifier_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not a plain lowercase SQL identifier"):
        identifier(name)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_entity_name_on_the_command_line_is_refused(name: str) -> None:
    result = cli("load", "--entity", name, returncode=2)
    assert "Invalid value for '--entity'" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_target", ["duckdb", "postgres"], indirect=True)
def test_hostile_file_names_are_loaded_as_data_or_quarantined_and_never_run(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    # GIVEN exports whose file names hold quotes, semicolons and a newline, one in a hostile folder too
    root = tmp_path / "landing"
    generate(LocalLanding(root), GenerateOptions(start=date(2024, 3, 1), days=1, seed=4, orders_per_day=40))
    source = next((root / "raw" / "orders" / "date=2024-03-01").glob("*.csv"))
    names = [
        "o'; drop table raw.orders; --.csv",
        'o"; drop table raw._load_files; --.csv',
        "o\n; delete from raw.orders; --.csv",
    ]
    for prefix, name in zip((b'"xrd_', b'"yrd_', b'"zrd_'), names, strict=True):  # other orders in each
        (source.parent / name).write_bytes(source.read_bytes().replace(b'"ord_', prefix))
    misplaced = root / "raw" / "orders" / "date=2024-03-01'; drop schema raw cascade; --"
    misplaced.mkdir()
    (misplaced / "orders.csv").write_bytes(source.read_bytes())
    env = {"SHOPWAREHOUSE_LANDING": str(root)}
    # WHEN they are loaded
    cli("load", env=env, returncode=1)  # 1: the misplaced file is quarantined
    # THEN every name is data: recorded as it is, its rows loaded, no statement in it ran
    ledger: dict[str, str] = dict(warehouse_target.query("select file_key, status from raw._load_files"))
    for name in names:
        key = f"raw/orders/date=2024-03-01/{name}"
        assert ledger[key] == "loaded", (key, ledger)
    assert ledger[str((misplaced / "orders.csv").relative_to(root))] == "quarantined"
    tables = {name for (name,) in warehouse_target.query(
        "select table_name from information_schema.tables where table_schema = 'raw'")}  # fmt: skip
    assert {"orders", "_load_files"} <= tables
    lines = len(source.read_text().splitlines()) - 1
    assert warehouse_target.count("select count(*) from raw.orders") == lines * (1 + len(names))
    sources = {key for (key,) in warehouse_target.query("select distinct _source_file from raw.orders")}
    assert {f"raw/orders/date=2024-03-01/{name}" for name in names} <= sources


# -- access control and erasure -----------------------------------------------------------------------------

ANALYST = "shopwarehouse_analyst"


@pytest.mark.slow
@pytest.mark.parametrize("warehouse_target", ["postgres"], indirect=True)
def test_the_analyst_role_reads_every_mart_and_nothing_else(
    warehouse_target: WarehouseTarget, tmp_path: Path
) -> None:
    import psycopg2

    # GIVEN a login role for analysts (made by an administrator in production), and the project built with
    # SHOPWAREHOUSE_ANALYST_ROLE naming it
    with contextlib.suppress(psycopg2.errors.DuplicateObject, psycopg2.errors.UniqueViolation):
        warehouse_target.query(f"create role {ANALYST} login")
    generate(LocalLanding(tmp_path / "landing"), GenerateOptions(start=date(2024, 3, 1), days=3, seed=4,
                                                                 orders_per_day=40))  # fmt: skip
    env = {"SHOPWAREHOUSE_LANDING": str(tmp_path / "landing"), "SHOPWAREHOUSE_ANALYST_ROLE": ANALYST}
    cli("load", env=env)
    dbt("build", "--exclude", "test_type:unit", env={**os.environ, **env}, tmp_path=tmp_path)
    tables = warehouse_target.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw', 'ops') or table_schema like 'analytics%'"
    )
    database = os.environ["SHOPWAREHOUSE_PG_DATABASE"]

    def as_analyst(schema: str, table: str) -> str:
        conn = psycopg2.connect(host="127.0.0.1", port=5432, user=ANALYST, dbname=database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f'select count(*) from "{schema}"."{table}"')
                return "read"
        except psycopg2.errors.InsufficientPrivilege:
            return "denied"
        finally:
            conn.close()

    # THEN connected as the analyst role, every mart reads and every other table is refused
    found = {(schema, table): as_analyst(schema, table) for schema, table in tables}
    marts = {key for key in found if key[0] == "analytics_marts"}
    assert len(marts) == 17  # nine in the star schema, six KPI marts, two data-quality marts
    assert {found[key] for key in marts} == {"read"}
    assert {found[key] for key in set(found) - marts} == {"denied"}
    assert ("analytics_restricted", "dim_customers_pii") in found  # personal data: denied above
    assert {schema for schema, _ in found} >= {
        "raw",
        "analytics_staging",
        "analytics_intermediate",
        "analytics_snapshots",
    }


@pytest.mark.slow
def test_after_an_erasure_lands_no_table_nor_the_published_copy_holds_the_persons_data(
    tmp_path: Path,
) -> None:
    # GIVEN a run of ten generated days, in which customers asked to be erased
    generate(LocalLanding(tmp_path / "landing"), GenerateOptions(start=date(2024, 3, 1), days=10, seed=8,
                                                                 orders_per_day=80))  # fmt: skip
    warehouse = tmp_path / "warehouse.duckdb"
    env = duckdb_env(tmp_path, tmp_path / "landing")
    cli("run", "--date", "2024-03-10", env=env)
    # WHEN their personal data, as it landed before the request, is searched for in every table
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        values = {
            value.strip().lower()
            for row in conn.execute(
                "select email, phone from raw.customers where customer_id in "
                "(select customer_id from raw.customers where is_deleted)"
            ).fetchall()
            for value in row
            if value
        }
    assert any("@" in value for value in values), "the generated days should hold an erasure request"

    def holders(path: Path) -> set[str]:
        """Every column of every table (but the landed raw rows) holding one of the values."""
        found = set()
        with duckdb.connect(str(path), read_only=True) as conn:
            columns = conn.execute(
                "select table_schema, table_name, column_name from information_schema.columns "
                "where data_type = 'VARCHAR'"
            ).fetchall()
            for schema, table, column in columns:
                hits = conn.execute(
                    f'select count(*) from "{schema}"."{table}" where lower(trim("{column}")) in '
                    "(select unnest(?))",
                    [sorted(values)],
                ).fetchone()
                if hits and hits[0]:
                    found.add(f"{schema}.{table}.{column}")
        return found

    # THEN only the raw landed rows hold them (which shows the search finds them); no staging table, mart,
    # restricted model or snapshot does, and the published copy readers use holds nothing of them
    assert holders(warehouse) == {"raw.customers.email", "raw.customers.phone"}
    published = tmp_path / "warehouse.published.duckdb"
    assert holders(published) == set()
    with duckdb.connect(str(published), read_only=True) as conn:
        schemas = {
            row[0] for row in conn.execute("select table_schema from information_schema.tables").fetchall()
        }
    assert schemas == {"main_marts"}  # the marts and nothing else: DuckDB has no roles
