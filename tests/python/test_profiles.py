"""The repository's dbt profile works on every local target; the production example holds no secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REPO, dbt


@pytest.mark.slow
def test_duckdb_is_the_default_target(tmp_path: Path) -> None:
    # (test_dbt.py builds the project on it, from loaded data)
    env = {"SHOPWAREHOUSE_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")}
    debug = dbt("debug", env=env, tmp_path=tmp_path)
    assert "type: duckdb" in debug.stdout
    assert "Connection test: [OK connection ok]" in debug.stdout


@pytest.mark.slow
def test_postgres_target_connects(tmp_path: Path, postgres_database: str) -> None:
    env = {"SHOPWAREHOUSE_TARGET": "postgres", "SHOPWAREHOUSE_PG_DATABASE": postgres_database}
    debug = dbt("debug", env=env, tmp_path=tmp_path)
    assert "Connection test: [OK connection ok]" in debug.stdout


@pytest.mark.slow
def test_snowflake_target_connects_to_fakesnow(tmp_path: Path, fakesnow_port: int) -> None:
    env = {"SHOPWAREHOUSE_TARGET": "snowflake", "SHOPWAREHOUSE_FAKESNOW_PORT": str(fakesnow_port)}
    debug = dbt("debug", env=env, tmp_path=tmp_path)
    assert "Connection test: [OK connection ok]" in debug.stdout


def _outputs(path: Path) -> dict[str, dict[str, Any]]:
    profile = yaml.safe_load(path.read_text())["shopwarehouse"]
    return dict(profile["outputs"])


def test_production_example_documents_every_auth_method_through_env_vars() -> None:
    outputs = _outputs(REPO / "profiles.yml.example")
    methods = {(o["type"], o.get("method") or ("key-pair" if "private_key" in o else "password"))
               for o in outputs.values()}  # fmt: skip
    assert {("redshift", "iam"), ("redshift", "database"), ("snowflake", "key-pair"),
            ("snowflake", "password")} <= methods  # fmt: skip
    for name, output in outputs.items():
        for key, value in output.items():
            if key in ("type", "method", "threads", "sslmode"):
                continue
            assert re.fullmatch(r"\{\{ env_var\('[A-Z_]+'(, '[^']*')?\)( \| as_number)? \}\}", str(value)), (
                f"{name}.{key} must come from env_var(), not be written in the file: {value!r}"
            )


@pytest.mark.parametrize("target", ["duckdb", "postgres", "snowflake"])
def test_repository_profile_has_the_local_targets(target: str) -> None:
    assert target in _outputs(REPO / "profiles.yml")
