"""One component's share of the resolution, on pandas frames: what Spark runs per group.

The Spark resolution groups the observations of each component that needs the rules by component
and calls `replay_component` on each group (applyInPandas); it groups the profiles whose previous
ids are retired and calls `merge_causes` on each group (cogroup). Both renumber the group's nodes
and records densely, in their global order, and call the same pure functions the DuckDB resolution
calls (identity.stitch, identity.merge_causes), so both paths apply identical rules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from identity.merge_causes import first_merge_causes
from identity.resolve import NO_LIMIT
from identity.stitch import Graph, record_order, replay, star_edges

# One output schema for all of a replay's findings, told apart by `kind`:
# root (node, root), review (rec, node: a root of a matched profile), rejected (rec, node, type), unmade (rec, node).
REPLAY_SCHEMA = "kind string, rec long, node long, value long"
CAUSE_SCHEMA = "prev_id string, rec long, anchor long, node long"


def replay_component(frame: pd.DataFrame, max_merge: int, n_types: int) -> pd.DataFrame:
    """frame: one component's observations (rec, node, priority, type_code, max_per_profile, approved)."""
    nodes, local_node = np.unique(frame["node"].to_numpy(np.int64), return_inverse=True)
    recs, local_rec = np.unique(frame["rec"].to_numpy(np.int64), return_inverse=True)
    first = np.unique(local_node, return_index=True)[1]  # one row per node, in node order
    node_type = frame["type_code"].to_numpy(np.int64)[first]
    limits = np.full((1, n_types), NO_LIMIT, dtype=np.int64)
    limits[0, node_type] = frame["max_per_profile"].to_numpy(np.int64)[first]  # one brand per component
    approved = np.unique(local_rec[frame["approved"].to_numpy(bool)])
    graph = Graph(obs_record=local_rec.astype(np.int64), obs_node=local_node.astype(np.int64), node_type=node_type,
                  node_priority=frame["priority"].to_numpy(np.int64)[first], node_group=np.zeros(len(nodes), np.int64),
                  limits=limits, max_merge=max_merge, approved_records=approved)
    ordered_record, ordered_node = record_order(graph)
    result = replay(graph, np.arange(len(nodes), dtype=np.int64), ordered_record, ordered_node)
    edge_record, _, edge_node = star_edges(ordered_record, ordered_node)
    unmade = [(r, n) for r, n in zip(edge_record.tolist(), edge_node.tolist()) if (r, n) not in result.made]
    rows = [("root", -1, nodes[i], nodes[r]) for i, r in enumerate(result.root.tolist())]
    rows += [("review", recs[r], nodes[n], -1) for r, roots in result.review for n in roots]
    rows += [("rejected", recs[r], nodes[n], t) for r, n, t in result.rejected]
    rows += [("unmade", recs[r], nodes[n], -1) for r, n in unmade]
    return pd.DataFrame(rows, columns=["kind", "rec", "node", "value"]).astype(
        {"rec": "int64", "node": "int64", "value": "int64"})


def merge_causes(links: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """links: the group's applied links (rec, anchor, node, priority); previous: its registry nodes
    (node, prev_created_at, prev_id, retired). Returns the cause of each retired id."""
    if links.empty or previous.empty:
        return pd.DataFrame({"prev_id": pd.Series(dtype=str), "rec": pd.Series(dtype="int64"),
                             "anchor": pd.Series(dtype="int64"), "node": pd.Series(dtype="int64")})
    ordered = links.sort_values(["rec", "priority", "node"], kind="stable")  # the order stitching applied them
    node_prev = {int(n): (c, p) for n, c, p in zip(previous["node"], previous["prev_created_at"], previous["prev_id"])}
    wanted = set(previous.loc[previous["retired"], "prev_id"])
    causes = first_merge_causes(node_prev, zip(ordered["rec"].tolist(), ordered["anchor"].tolist(),
                                               ordered["node"].tolist()), wanted)
    return pd.DataFrame([(p, *c) for p, c in causes.items()], columns=["prev_id", "rec", "anchor", "node"]).astype(
        {"rec": "int64", "anchor": "int64", "node": "int64"})
