"""Check the dbt project's documentation and test coverage from dbt's own artefacts.

    python scripts/check_dbt_coverage.py [TARGET_DIR]

Reads TARGET_DIR/manifest.json and TARGET_DIR/catalog.json (``dbt docs generate`` writes both; the
catalog lists the columns each relation really has). Prints the coverage figures and exits with 1 unless
all are 100%:
- every model, source table, seed, snapshot and project macro (dispatched ones through their
  dispatcher) has a description;
- every column a model, seed or snapshot really has (per the catalog) has a description;
- every model has at least one test (a data test on it or a unit test of it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROJECT = "shopwarehouse"


def coverage(manifest: dict[str, Any], catalog: dict[str, Any]) -> dict[str, list[str]]:
    """For each check, the names that fail it (an empty list is 100%); '<check>/all' keys count the total."""
    nodes = [node for node in manifest["nodes"].values() if node["package_name"] == PROJECT]
    models = [node for node in nodes if node["resource_type"] == "model"]
    documented = [node for node in nodes if node["resource_type"] in ("model", "seed", "snapshot")]
    sources = [s for s in manifest["sources"].values() if s["package_name"] == PROJECT]
    # An adapter's implementation of a dispatched macro (duckdb__utc_date) is described by its dispatcher.
    macros = [
        m for m in manifest["macros"].values() if m["package_name"] == PROJECT and "__" not in m["name"]
    ]

    tested: set[str] = set()
    for node in nodes:
        if node["resource_type"] == "test":
            tested.update(node["depends_on"]["nodes"])
    for unit_test in manifest.get("unit_tests", {}).values():
        tested.update(unit_test["depends_on"]["nodes"][:1])  # the model under test comes first

    undocumented_columns = []
    column_count = 0
    for node in documented:
        described = {name.lower(): col["description"] for name, col in node["columns"].items()}
        real = catalog["nodes"].get(node["unique_id"], {}).get("columns", {})
        for name in real:
            column_count += 1
            if not described.get(name.lower()):
                undocumented_columns.append(f"{node['name']}.{name.lower()}")
    if not column_count:
        raise SystemExit("the catalog lists no columns: run `dbt docs generate` after a build first")

    failing = {
        "described models, seeds, snapshots": [n["name"] for n in documented if not n["description"]],
        "described sources": [f"{s['source_name']}.{s['name']}" for s in sources if not s["description"]],
        "described macros": [m["name"] for m in macros if not m["description"]],
        "described columns": undocumented_columns,
        "tested models": [m["name"] for m in models if m["unique_id"] not in tested],
    }
    totals = {
        "described models, seeds, snapshots": len(documented),
        "described sources": len(sources),
        "described macros": len(macros),
        "described columns": column_count,
        "tested models": len(models),
    }
    for check, names in failing.items():
        percent = 100.0 * (totals[check] - len(names)) / totals[check] if totals[check] else 100.0
        print(f"{check}: {totals[check] - len(names)}/{totals[check]} = {percent:.1f}%")
        for name in names:
            print(f"  missing: {name}")
    return failing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", type=Path, default=Path("target"))
    args = parser.parse_args()
    manifest = json.loads((args.target / "manifest.json").read_text())
    catalog = json.loads((args.target / "catalog.json").read_text())
    failing = coverage(manifest, catalog)
    sys.exit(1 if any(failing.values()) else 0)


if __name__ == "__main__":
    main()
