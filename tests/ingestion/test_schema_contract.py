"""The SQL compiled from the JSON Schemas agrees with an independent JSON Schema validator."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from ingestion.paths import PROJECT_ROOT, SCHEMA_DIR
from ingestion.sources import ACTION_LOGS, ALL_SOURCES
from tests.ingestion.helpers import event, load, query, write_lines

ROWS = [
    event("ok-1"),
    event("ok-2", user_id=..., identifiers={"cookie_id": "ck_1"}, channel="web", action_type="page_view"),
    event("ok-3", amount=12.5, identifiers={"email": "a@b.c", "phone": "+14155550123"}, context={"x": [1]}),
    event("ok-4", occurred_at="2026-11-19T10:00:00.123456-08:00", user_id=None),
    event("bad-1", brand_id="1"),
    event("bad-2", brand_id=0),
    event("bad-3", user_id=1.5),
    event("bad-4", action_type="Product_Scanned"),
    event("bad-5", occurred_at="2026-11-19"),
    event("bad-6", occurred_at=...),
    event("bad-7", identifiers={"phone": 4155550123}),
    event("bad-8", context="not an object"),
    event("bad-9", amount="12"),
    event("", brand_id=1),
    {"brand_id": 1},
]


@pytest.mark.parametrize("schema_path", sorted(SCHEMA_DIR.rglob("*.schema.json")), ids=lambda p: p.stem)
def test_every_contract_is_a_valid_json_schema_used_by_a_source(schema_path: Path):
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema_path.relative_to(SCHEMA_DIR).as_posix() in {s.schema_file for s in ALL_SOURCES}
    assert schema.get("x-contract-version") == 1


def test_loader_accepts_exactly_what_jsonschema_accepts(data_dir):
    schema = json.loads((SCHEMA_DIR / ACTION_LOGS.schema_file).read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    expected_valid = {row.get("event_id") for row in ROWS if validator.is_valid(row)}
    assert not validator.is_valid(event("z", occurred_at="yesterday"))  # formats are really checked
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/rows.ndjson", ROWS)
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    loaded = {r[0] for r in query(data_dir.warehouse, "SELECT event_id FROM raw.app_action_logs")}
    assert loaded == expected_valid
    assert len(loaded) == 4


def test_generated_action_logs_validate_against_the_contract(small_sample: Path):
    """Apart from the rows the generator breaks on purpose, every line it writes is valid."""
    schema = json.loads((SCHEMA_DIR / ACTION_LOGS.schema_file).read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    invalid = total = 0
    for path in sorted((small_sample / "landing/app/action_logs").rglob("*.ndjson.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            total += 1
            try:
                ok = validator.is_valid(json.loads(line))
            except json.JSONDecodeError:
                ok = False
            invalid += not ok
    expected = json.loads((small_sample / "ground_truth/expected.json").read_text())
    assert total == expected["action_log_rows_written"]
    assert invalid == sum(expected["action_log_malformed"].values())


def test_the_dbt_projects_action_types_are_the_contracts():
    """Staging's accepted values and the engagement features' action diversity read the `action_types` var: it must
    list what ingestion admits, no more and no fewer."""
    admitted = json.loads((SCHEMA_DIR / ACTION_LOGS.schema_file).read_text())["properties"]["action_type"]["enum"]
    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project" / "dbt_project.yml").read_text())["vars"]
    assert project_vars["action_types"] == admitted
