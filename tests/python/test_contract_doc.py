"""docs/source-contract.md and contract.py describe the same columns, types and nullability."""

from __future__ import annotations

import re

import pytest
from support import REPO

from shopwarehouse.landing.contract import ENTITIES

ROW = re.compile(r"^\| (?P<name>[a-z_]+) \| (?P<type>[a-z]+) \| (?P<null>yes|no) \|")


def documented_columns() -> dict[str, list[tuple[str, str, bool]]]:
    tables: dict[str, list[tuple[str, str, bool]]] = {}
    entity = None
    for line in (REPO / "docs" / "source-contract.md").read_text().splitlines():
        if line.startswith("### "):
            entity = line[4:].strip()
            tables[entity] = []
        elif entity and (match := ROW.match(line)) and match["name"] != "column":
            tables[entity].append((match["name"], match["type"], match["null"] == "yes"))
    return tables


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_documented_columns_match_the_code(entity: str) -> None:
    in_code = [(c.name, c.type.value, c.nullable) for c in ENTITIES[entity].columns]
    assert documented_columns()[entity] == in_code


def test_every_documented_entity_exists_in_code() -> None:
    assert set(documented_columns()) == set(ENTITIES)
