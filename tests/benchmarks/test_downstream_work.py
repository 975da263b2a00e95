"""The benchmark's account of what a run changed downstream, read from the materializations of that run."""

import dagster as dg

from benchmarks.pipeline import downstream_work, fresh_dagster_home


def materialize(instance: dg.DagsterInstance, changed: int, identifies: int) -> str:
    """A run materializing the two assets the benchmark reads, with the metadata fields they report."""

    @dg.asset(key="card_snapshots")
    def cards() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"members_published": 10, "documents_built": changed + 1, "changed": changed,
                                              "seconds": 1.5})

    @dg.asset(key=["activation", "customerio_outbound_queue"])
    def queue() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"identifies_queued": identifies, "people_unchanged": 10 - identifies,
                                              "events_queued": 7, "events_deduplicated": 3})

    return dg.materialize([cards, queue], instance=instance).run_id


def test_each_run_reports_its_own_materializations(tmp_path):
    home = fresh_dagster_home(tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        first, second = materialize(instance, changed=10, identifies=10), materialize(instance, changed=4, identifies=2)
    assert downstream_work(home, [second]) == {
        "card documents": 10, "card documents built": 5, "card documents rewritten": 4, "identifies queued": 2, "people unchanged": 8,
        "events queued": 7, "events read again (queued before)": 3}
    assert downstream_work(home, [first])["card documents rewritten"] == 10  # not the newer run's
    assert downstream_work(home, ["a run that materialized neither"]) == {}
