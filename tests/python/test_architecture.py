"""The package's layout is its data flow (ARCHITECTURE.md): a module imports only from its own stage or an
earlier one, and a warehouse driver only from that warehouse's client."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support import REPO

PACKAGE = REPO / "src" / "shopwarehouse"

# The stages in the order data flows through them; the modules of one stage may import from it and from the
# stages before it, never from one after it. The development tools (the generator, the local S3 server)
# come after everything the pipeline runs, so nothing at run time depends on them.
STAGES = (
    ("foundation", ("shopwarehouse", "shopwarehouse.clock", "shopwarehouse.config", "shopwarehouse.errors")),
    ("landing", ("shopwarehouse.landing",)),
    ("warehouse", ("shopwarehouse.warehouse",)),
    ("load", ("shopwarehouse.load",)),
    ("transform", ("shopwarehouse.transform",)),
    ("surfaces", ("shopwarehouse.surfaces",)),
    ("pipeline", ("shopwarehouse.pipeline",)),
    ("dev", ("shopwarehouse.dev",)),
    ("cli", ("shopwarehouse.cli", "shopwarehouse.__main__")),
)
DRIVERS = {
    "duckdb": "duckdb",
    "psycopg2": "postgres",
    "snowflake": "snowflake",
    "redshift_connector": "redshift",
}


def stage_of(module: str) -> int:
    """The index of the stage ``module`` belongs to: the longest prefix that names one."""
    found = [
        (len(prefix), index)
        for index, (_, prefixes) in enumerate(STAGES)
        for prefix in prefixes
        if module == prefix or (prefix != "shopwarehouse" and module.startswith(prefix + "."))
    ]
    assert found, f"{module} belongs to no stage: add it to STAGES and ARCHITECTURE.md"
    return max(found)[1]


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (at the top or inside a function), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def later_imports(module: str, path: Path) -> list[str]:
    own = stage_of(module)
    return [
        f"{path.name}:{line} imports {imported} ({STAGES[stage_of(imported)][0]} comes after "
        f"{STAGES[own][0]})"
        for line, imported in imports(path)
        if imported.split(".")[0] == "shopwarehouse" and stage_of(imported) > own
    ]


def stray_drivers(module: str, path: Path) -> list[str]:
    return [
        f"{path.name}:{line} imports {imported}"
        for line, imported in imports(path)
        if (client := DRIVERS.get(imported.split(".")[0])) and module != f"shopwarehouse.warehouse.{client}"
    ]


@pytest.mark.parametrize(("module", "path"), modules(), ids=[name for name, _ in modules()])
def test_a_module_imports_nothing_from_a_later_stage(module: str, path: Path) -> None:
    later = later_imports(module, path)
    assert not later, "\n".join(later)


@pytest.mark.parametrize(("module", "path"), modules(), ids=[name for name, _ in modules()])
def test_a_warehouse_driver_is_imported_by_its_client_alone(module: str, path: Path) -> None:
    strays = stray_drivers(module, path)
    assert not strays, "\n".join(strays)


def test_the_checks_find_a_later_stage_and_a_stray_driver(tmp_path: Path) -> None:
    # GIVEN config importing from the pipeline, and a lock importing psycopg2 inside a function
    config = tmp_path / "config.py"
    config.write_text("from shopwarehouse import clock\nfrom shopwarehouse.pipeline.sla import deadline_of\n")
    lock = tmp_path / "lock.py"
    lock.write_text("def claim():\n    import psycopg2.errors\n")
    # THEN each is named, with its line; the client itself may import its driver
    assert later_imports("shopwarehouse.config", config) == [
        "config.py:2 imports shopwarehouse.pipeline.sla (pipeline comes after foundation)"
    ]
    assert stray_drivers("shopwarehouse.pipeline.lock", lock) == ["lock.py:2 imports psycopg2.errors"]
    assert stray_drivers("shopwarehouse.warehouse.postgres", lock) == []
