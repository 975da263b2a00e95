"""Which applied link first joined two previous profiles: the cause recorded with each merge.

Pure logic shared by the DuckDB and the Spark resolution. Previous profiles are sets of nodes (their
identifiers, from the id registry); replaying the applied links in order with a union-find, the
first link that joins a set holding a wanted (retired) id to a set holding an older id is its cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def first_merge_causes(node_prev: Mapping[int, tuple], links: Iterable[tuple[int, int, int]],
                       wanted: set[str]) -> dict[str, tuple[int, int, int]]:
    """node_prev: node -> (previous profile's created_at, previous id); links: (record, anchor, node) in the
    order they were applied; returns retired id -> the (record, anchor, node) that merged it into an older one."""
    parent: dict[int, int] = {}
    oldest: dict[int, tuple] = {}  # per set: its oldest previous (created_at, id)
    first_node: dict[str, int] = {}
    for node, key in node_prev.items():
        anchor = first_node.setdefault(key[1], node)
        parent[node] = anchor
        oldest[anchor] = min(oldest.get(anchor, key), key)

    def find(x: int) -> int:
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    causes: dict[str, tuple[int, int, int]] = {}
    for record, anchor, node in links:
        a, b = find(anchor), find(node)
        if a == b:
            continue
        oa, ob = oldest.get(a), oldest.get(b)
        if oa is not None and ob is not None:
            younger = max(oa, ob)
            if younger[1] in wanted and younger[1] not in causes:
                causes[younger[1]] = (record, anchor, node)
        parent[b] = a
        if ob is not None:
            oldest[a] = min(oa, ob) if oa is not None else ob
    return causes
