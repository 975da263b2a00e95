"""The dbt docs site is generated when the project changed, not by every build of new data."""

from __future__ import annotations

import copy
import json

import dagster as dg

from publishing.docs_site import FINGERPRINT_FILE, documents, project_fingerprint


def test_the_fingerprint_ignores_parse_times_and_follows_the_project_and_the_engine(dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    reparsed = copy.deepcopy(manifest)
    reparsed["metadata"] |= {"generated_at": "2030-01-01T00:00:00Z", "invocation_id": "another"}
    for node in reparsed["nodes"].values():
        node["created_at"] = 1.0
    assert project_fingerprint(reparsed, "duckdb") == project_fingerprint(manifest, "duckdb")

    described = copy.deepcopy(manifest)
    described["nodes"]["model.synergy.profiles"]["description"] += " Edited."
    assert project_fingerprint(described, "duckdb") != project_fingerprint(manifest, "duckdb")
    assert project_fingerprint(manifest, "spark") != project_fingerprint(manifest, "duckdb")


def test_a_site_documents_a_project_only_with_its_page_and_its_fingerprint(tmp_path):
    assert not documents(tmp_path, "abc")
    (tmp_path / FINGERPRINT_FILE).write_text("abc\n")
    assert not documents(tmp_path, "abc")  # the page itself is missing
    (tmp_path / "index.html").write_text("<html></html>")
    assert documents(tmp_path, "abc") and not documents(tmp_path, "abd")


def test_a_build_generates_the_site_only_for_a_project_it_does_not_document(data_dir, dbt_manifest):
    from assets.dbt_docs import dbt_docs
    from assets.dbt_models import dbt_resource
    from orchestration.resources import WarehouseResource

    def materialize(regenerate: bool = False) -> dict:
        result = dg.materialize([dbt_docs], resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
                                run_config={"ops": {"dbt_docs": {"config": {"regenerate": regenerate}}}})
        assert result.success
        [materialization] = result.asset_materializations_for_node("dbt_docs")
        return {name: value.value for name, value in materialization.metadata.items()}

    site = data_dir.docs / "index.html"
    first = materialize()
    fingerprint = first["project_fingerprint"]
    assert first["regenerated"] and '"model.synergy.profiles"' in site.read_text()
    assert (data_dir.docs / FINGERPRINT_FILE).read_text().strip() == fingerprint
    generated = site.stat().st_mtime_ns

    again = materialize()
    assert not again["regenerated"] and again["project_fingerprint"] == fingerprint
    assert site.stat().st_mtime_ns == generated

    # The folder documents another project (the site of an older checkout, or a crash left no fingerprint).
    (data_dir.docs / FINGERPRINT_FILE).write_text("0" * 64 + "\n")
    assert materialize()["regenerated"] and documents(data_dir.docs, fingerprint)
    assert site.stat().st_mtime_ns != generated

    regenerated = site.stat().st_mtime_ns
    assert materialize(regenerate=True)["regenerated"] and site.stat().st_mtime_ns != regenerated
