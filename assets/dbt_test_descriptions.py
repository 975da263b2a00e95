"""A sentence for every dbt data test, shown as its asset check's description (plain Python, no Dagster).

A test's own `description` in YAML wins; otherwise the sentence says what the generic test promises about
which column of which model, so a failed check in the UI reads as the broken promise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REF = re.compile(r"""ref\(\s*['"]([^'"]+)['"]\s*\)""")


def describe_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    if test.get("description"):
        return test["description"]
    model = _model_name(manifest, test)
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = f"`{kwargs.get('column_name')}` of `{model}`"
    name = metadata.get("name")
    if name == "not_null":
        sentence = f"Column {column} is never null."
    elif name == "unique":
        sentence = f"Column {column} has no duplicate values."
    elif name == "accepted_values":
        sentence = f"Column {column} only holds {', '.join(map(str, kwargs.get('values', [])))}."
    elif name == "accepted_range":
        sentence = f"Column {column} stays within [{kwargs.get('min_value')}, {kwargs.get('max_value')}]."
    elif name == "relationships":
        target = REF.search(str(kwargs.get("to", "")))
        sentence = (f"Every {column} exists as `{kwargs.get('field')}` in "
                    f"`{target.group(1) if target else kwargs.get('to')}`.")
    elif name == "unique_combination":
        sentence = f"No two rows of `{model}` share the same ({', '.join(kwargs.get('columns', []))})."
    elif name:
        sentence = f"Generic test `{name}` on `{model}` finds no failing rows."
    else:
        sentence = f"Singular test `{test.get('name')}` on `{model}` finds no failing rows."
    where = (test.get("config") or {}).get("where")
    if where:
        sentence = f"{sentence[:-1]}, among rows where {where}."
    if str((test.get("config") or {}).get("severity", "error")).lower() == "warn":
        sentence += " A failure warns and does not block downstream models."
    return sentence


def _model_name(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    attached = test.get("attached_node") or next(iter((test.get("depends_on") or {}).get("nodes", [])), None)
    node = manifest.get("nodes", {}).get(attached) or manifest.get("sources", {}).get(attached) or {}
    return node.get("name") or str(attached)
