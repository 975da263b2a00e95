"""The Dagster asset publishes the warehouse mart into <data dir>/cards and reports what it did."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from publishing.card_store import CardStoreReader
from tests.publishing.conftest import MEMBERS


def test_card_snapshots_asset(dbt_manifest: Path, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path):
    warehouse.close()  # the asset opens the warehouse itself
    from assets.card_publishing import card_snapshots
    from orchestration.resources import WarehouseResource

    result = dg.materialize([card_snapshots], resources={"warehouse": WarehouseResource(data_dir=str(tmp_path))},
                            run_config={"ops": {"card_snapshots": {"config": {"retention_hours": 1}}}})

    (event,) = result.get_asset_materialization_events()
    metadata = {key: value.value for key, value in event.materialization.metadata.items()}
    assert (metadata["version"], metadata["members_published"], metadata["changed"]) == (1, len(MEMBERS), len(MEMBERS))
    assert metadata["store_size_bytes"] > 0
    reader = CardStoreReader(tmp_path / "cards")
    assert reader.current_version() == 1
    reader.close()
