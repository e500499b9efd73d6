"""dbt run inside this process, on the target of the settings: the daily run's build and docs steps, and
``shopwarehouse docs``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shopwarehouse.config import Settings
from shopwarehouse.errors import Fault, StepFailed, TransientError
from shopwarehouse.warehouse import fault_of
from shopwarehouse.warehouse.profile import read_target

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult
    from dbt.contracts.graph.manifest import Manifest

_manifests: dict[tuple[Path, str, str], Manifest] = {}
"""Parsed projects by directory, environment and rendered profile target (the manifest names the target's
database and the environment's schemas)."""


def invoke_dbt(settings: Settings, project_dir: Path, *args: str) -> dbtRunnerResult:
    """Run dbt on the settings' target, in this process, on the project :func:`parsed` once. A failure to run
    at all is transient when its cause is (a connection refused, say), else a :class:`StepFailed`; what the
    nodes did is for the caller to read."""
    from dbt.cli.main import dbtRunner

    manifest = parsed(settings, project_dir)
    with _in_env(settings):
        return _invoke(dbtRunner(manifest=manifest), *args, *_where(settings, project_dir))


def parsed(settings: Settings, project_dir: Path) -> Manifest:
    """The project parsed for the settings' target: once per process, which saves seconds a day in a long
    backfill. Its nodes carry the descriptions of the models and their columns."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    key = (project_dir, settings.env, repr(sorted(read_target(settings.target).items())))
    if key not in _manifests:
        with _in_env(settings):
            manifest = _invoke(dbtRunner(), "parse", *_where(settings, project_dir)).result
        assert isinstance(manifest, Manifest)  # what dbt parse returns
        _manifests[key] = manifest
    return _manifests[key]


@contextmanager
def _in_env(settings: Settings) -> Iterator[None]:
    """dbt reads the environment from ``SHOPWAREHOUSE_ENV`` (the macro ``env_schema``, the sources' schema):
    while it runs, that is the settings' environment."""
    before = os.environ.get("SHOPWAREHOUSE_ENV")
    os.environ["SHOPWAREHOUSE_ENV"] = settings.env
    try:
        yield
    finally:
        if before is None:
            del os.environ["SHOPWAREHOUSE_ENV"]
        else:
            os.environ["SHOPWAREHOUSE_ENV"] = before


def _where(settings: Settings, project_dir: Path) -> list[str]:
    return ["--project-dir", str(project_dir), "--target", settings.target, "--quiet"]


def target_dir(project_dir: Path) -> Path:
    """Where dbt writes its artefacts: ``DBT_TARGET_PATH``, else the project's ``target``."""
    return Path(os.environ.get("DBT_TARGET_PATH") or project_dir / "target")


def _invoke(runner: Any, *args: str) -> dbtRunnerResult:
    result: dbtRunnerResult = runner.invoke(list(args))
    if result.exception is not None:
        cause = result.exception.__cause__ or result.exception
        if (
            fault_of(cause) is Fault.TRANSIENT
            or isinstance(cause, ConnectionError | TimeoutError)
            or type(cause).__name__ == "FailedToConnectError"
        ):
            raise TransientError(f"dbt {args[0]} could not connect: {result.exception}")
        raise StepFailed(f"dbt {args[0]} could not run: {result.exception}")
    return result
