"""Deterministic stitching of identifier observations into profiles.

Semantics (Segment Unify style), defined as if records were applied one at a time in order:
- A record is one source row carrying identifiers (an event, a user row, an export row).
- Its identifiers are taken in priority order; the first is the anchor. Every identifier
  already seen in an earlier record belongs to an existing profile.
- If the record touches more than `max_merge` existing profiles it is not applied: it goes to
  review (unless approved).
- Otherwise each other identifier's profile is merged into the anchor's, unless the merged
  profile would hold more values of some type than its limit; then that identifier is dropped
  from this link (recorded as rejected) and keeps its own profile.

Applying records one by one in Python would be slow, so most of the work is vectorized and
exact: plain connected components (scipy, linear time, no iteration and so no convergence cap)
give the answer for every component in which no rule can fire — no type exceeds its limit over
the whole component, and no record holds more than `max_merge` identifiers seen before it.
Only the remaining components are replayed record by record with a union-find.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass
class Graph:
    """Observations as dense integer codes.

    Records are numbered in processing order (0 = first); nodes are distinct identifiers.
    `node_group` indexes rows of `limits` (one row per brand, one column per type).
    """

    obs_record: np.ndarray  # int64, one entry per (record, identifier) observation
    obs_node: np.ndarray  # int64
    node_type: np.ndarray  # int64, column of `limits`
    node_priority: np.ndarray  # int64, lower is stronger
    node_group: np.ndarray  # int64, row of `limits`
    limits: np.ndarray  # int64 [groups, types]: max values of a type in one profile
    max_merge: int = 3
    approved_records: np.ndarray | None = None  # int64 record numbers allowed past the review rule

    @property
    def n_nodes(self) -> int:
        return len(self.node_type)


@dataclass
class StitchResult:
    profile: np.ndarray  # int64 per node: dense profile number
    edge_record: np.ndarray  # star edges: record, its anchor, one other identifier
    edge_anchor: np.ndarray
    edge_node: np.ndarray
    edge_made: np.ndarray  # bool: the link was applied
    review: list[tuple[int, list[int]]] = field(default_factory=list)  # (record, nodes of the matched profiles' roots)
    rejected: list[tuple[int, int, int]] = field(default_factory=list)  # (record, node, type over its limit)
    record_anchor: np.ndarray | None = None  # per record number: its strongest identifier
    replayed_components: int = 0
    replayed_records: int = 0
    component: np.ndarray | None = None  # per node: its connected component (links before any rule)
    replayed: np.ndarray | None = None  # per component: some rule could fire in it, so it was replayed


def record_order(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (record, node) pairs sorted by record, then priority, then node (one integer sort)."""
    record, node = graph.obs_record, graph.obs_node
    n_nodes = max(graph.n_nodes, 1)
    n_priorities = int(graph.node_priority.max()) + 1 if len(node) else 1
    key = (record * n_priorities + graph.node_priority[node]) * n_nodes + node
    key = np.sort(key)
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key  # repeated observations collapse
    return key // (n_priorities * n_nodes), key % n_nodes


def star_edges(record: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each record, an edge from its anchor (strongest identifier) to each other identifier.

    Takes the pairs in record_order, so each record's anchor comes first."""
    first = np.ones(len(record), dtype=bool)
    first[1:] = record[1:] != record[:-1]
    anchor = node[np.maximum.accumulate(np.where(first, np.arange(len(record)), 0))]
    keep = ~first
    return record[keep], anchor[keep], node[keep]


def _components(n_nodes: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    matrix = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n_nodes, n_nodes)).tocsr()
    return connected_components(matrix, directed=False)[1].astype(np.int64)


def _needs_replay(graph: Graph, component: np.ndarray) -> np.ndarray:
    """Boolean per component: some rule could fire inside it."""
    n_types = graph.limits.shape[1]
    n_comp = int(component.max()) + 1 if len(component) else 0
    counts = np.bincount(component * n_types + graph.node_type, minlength=n_comp * n_types)
    node_limit = graph.limits[graph.node_group, graph.node_type]
    over = counts[component * n_types + graph.node_type] > node_limit
    flagged = np.zeros(n_comp, dtype=bool)
    flagged[component[over]] = True
    # A record can only touch more than max_merge profiles if it holds that many identifiers seen earlier.
    first_record = np.full(graph.n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(first_record, graph.obs_node, graph.obs_record)
    seen_before = first_record[graph.obs_node] < graph.obs_record
    if seen_before.any():
        per_record = np.bincount(graph.obs_record[seen_before])
        crowded = np.flatnonzero(per_record > graph.max_merge)
        if len(crowded):
            hit = np.isin(graph.obs_record, crowded)
            flagged[component[graph.obs_node[hit]]] = True
    return flagged


class _Replay:
    """Union-find over a subset of nodes that applies records one at a time with the rules."""

    def __init__(self, graph: Graph, nodes: np.ndarray):
        self.graph = graph
        self.local = {int(n): i for i, n in enumerate(nodes)}
        self.nodes = nodes
        self.parent = list(range(len(nodes)))
        n_types = graph.limits.shape[1]
        self.counts: list[list[int]] = []
        for n in nodes:
            row = [0] * n_types
            row[graph.node_type[n]] = 1
            self.counts.append(row)
        self.limit = [list(graph.limits[graph.node_group[n]]) for n in nodes]
        self.seen = [False] * len(nodes)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression, iterative: long chains are fine
            self.parent[i], i = root, self.parent[i]
        return root

    def over_limit(self, a: int, b: int) -> int:
        """Type that merging roots a and b would put over its limit, or -1."""
        ca, cb, limit = self.counts[a], self.counts[b], self.limit[a]
        for t, n in enumerate(cb):
            if n and ca[t] + n > limit[t]:
                return t
        return -1

    def union(self, a: int, b: int) -> int:
        if sum(self.counts[a]) < sum(self.counts[b]):  # union by size keeps the trees shallow
            a, b = b, a
        self.parent[b] = a
        self.counts[a] = [x + y for x, y in zip(self.counts[a], self.counts[b])]
        return a

    def apply(self, record: int, nodes: list[int], approved: bool,
              review: list, rejected: list, made: set) -> None:
        local = [self.local[n] for n in nodes]
        matched = {self.find(i) for i in local if self.seen[i]}
        for i in local:
            self.seen[i] = True
        if len(matched) > self.graph.max_merge and not approved:
            review.append((record, sorted(int(self.nodes[r]) for r in matched)))
            return
        anchor = self.find(local[0])
        for n, i in zip(nodes[1:], local[1:]):
            root = self.find(i)
            if root == anchor:
                made.add((record, n))
                continue
            over = self.over_limit(anchor, root)
            if over >= 0:
                rejected.append((record, n, over))
                continue
            anchor = self.union(anchor, root)
            made.add((record, n))


@dataclass
class Replayed:
    root: np.ndarray  # per replayed node, in the order given: the node number of its profile's root
    made: set[tuple[int, int]]  # (record, node) links applied
    review: list[tuple[int, list[int]]]
    rejected: list[tuple[int, int, int]]
    records: int


def replay(graph: Graph, nodes: np.ndarray, ordered_record: np.ndarray, ordered_node: np.ndarray) -> Replayed:
    """Apply the records of whole components one at a time with the rules.

    `nodes` are every node of those components, ascending; `ordered_record`/`ordered_node` their
    pairs in record_order. Components are independent, so this may run on one or on many at once."""
    state = _Replay(graph, nodes)
    rec, node = ordered_record.tolist(), ordered_node.tolist()
    approved = set() if graph.approved_records is None else set(graph.approved_records.tolist())
    review: list = []
    rejected: list = []
    made: set = set()
    records = 0
    start = 0
    while start < len(rec):
        end = start
        while end < len(rec) and rec[end] == rec[start]:
            end += 1
        state.apply(rec[start], node[start:end], rec[start] in approved, review, rejected, made)
        records += 1
        start = end
    root = nodes[np.array([state.find(i) for i in range(len(nodes))], dtype=np.int64)] if len(nodes) else nodes
    return Replayed(root=root.astype(np.int64), made=made, review=review, rejected=rejected, records=records)


def stitch(graph: Graph) -> StitchResult:
    ordered_record, ordered_node = record_order(graph)
    edge_record, edge_anchor, edge_node = star_edges(ordered_record, ordered_node)
    first = np.r_[True, ordered_record[1:] != ordered_record[:-1]] if len(ordered_record) else np.zeros(0, bool)
    record_anchor = np.full(int(graph.obs_record.max()) + 1 if len(graph.obs_record) else 0, -1, dtype=np.int64)
    record_anchor[ordered_record[first]] = ordered_node[first]
    component = _components(graph.n_nodes, edge_anchor, edge_node)
    flagged = _needs_replay(graph, component)
    profile = component.copy()
    made = np.ones(len(edge_record), dtype=bool)
    replay_nodes = np.flatnonzero(flagged[component])
    replayed = Replayed(root=replay_nodes, made=set(), review=[], rejected=[], records=0)
    if len(replay_nodes):
        in_replay = flagged[component[ordered_node]]
        replayed = replay(graph, replay_nodes, ordered_record[in_replay], ordered_node[in_replay])
        # Replayed nodes get profile numbers after all plain components, in the order of their roots.
        profile[replay_nodes] = component.max() + 1 + replayed.root
        replayed_edges = np.flatnonzero(flagged[component[edge_anchor]])
        made[replayed_edges] = [(int(edge_record[e]), int(edge_node[e])) in replayed.made for e in replayed_edges]
    _, dense = np.unique(profile, return_inverse=True)
    return StitchResult(profile=dense.astype(np.int64), edge_record=edge_record, edge_anchor=edge_anchor,
                        edge_node=edge_node, edge_made=made, review=replayed.review, rejected=replayed.rejected,
                        record_anchor=record_anchor, replayed_components=int(flagged.sum()),
                        replayed_records=replayed.records, component=component, replayed=flagged)
