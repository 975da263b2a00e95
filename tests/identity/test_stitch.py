"""Stitching rules on small hand-made graphs, long chains, and against a plain reference."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from identity.stitch import Graph, stitch

USER, EMAIL, DEVICE, COOKIE = 0, 1, 2, 3
DEFAULT_LIMITS = [1, 5, 5, 5]


def graph(records: list[list[int]], types: list[int], limits=None, max_merge: int = 3, approved=None) -> Graph:
    """Records in processing order, each a list of node numbers; priority follows the type."""
    rec = [i for i, nodes in enumerate(records) for _ in nodes]
    node = [n for nodes in records for n in nodes]
    types = np.array(types, dtype=np.int64)
    return Graph(obs_record=np.array(rec, dtype=np.int64), obs_node=np.array(node, dtype=np.int64),
                 node_type=types, node_priority=types.copy(), node_group=np.zeros(len(types), dtype=np.int64),
                 limits=np.array([limits or DEFAULT_LIMITS], dtype=np.int64), max_merge=max_merge,
                 approved_records=None if approved is None else np.array(approved, dtype=np.int64))


def partition(profile: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, p in enumerate(profile.tolist()):
        groups.setdefault(p, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def test_a_chain_of_ten_thousand_identifiers_is_one_profile():
    n = 10_000
    records = [[i, i + 1] for i in range(n - 1)]
    result = stitch(graph(records, [DEVICE] * n, limits=[1, 5, n, 5]))
    assert len(set(result.profile.tolist())) == 1


def test_a_chain_of_ten_thousand_replayed_with_rules_is_one_profile_too():
    # One crowded record forces the rule replay over the whole chain.
    n = 10_000
    records = [[i, i + 1] for i in range(n - 1)] + [[0, 10, 20, 30, 40]]
    result = stitch(graph(records, [DEVICE] * n, limits=[1, 5, n, 5]))
    assert result.replayed_components == 1
    assert len(set(result.profile.tolist())) == 1


def test_a_shared_device_does_not_merge_two_members():
    # Members 0 and 1; device 2 is the owner's (0) and sometimes used by 1.
    result = stitch(graph([[0, 2], [1, 2], [0, 2]], [USER, USER, DEVICE]))
    assert partition(result.profile) == {frozenset({0, 2}), frozenset({1})}
    assert result.rejected == [(1, 2, USER)]  # dropped from member 1's link: one user_id per profile
    assert result.edge_made.tolist() == [True, False, True]


def test_four_existing_profiles_go_to_review_and_three_merge():
    # Cookies 0..3 each seen alone (four anonymous profiles), then one record carries all of them.
    four = stitch(graph([[0], [1], [2], [3], [4, 0, 1, 2, 3]], [COOKIE] * 4 + [DEVICE]))
    assert len(partition(four.profile)) == 5
    assert four.review == [(4, [0, 1, 2, 3])]
    three = stitch(graph([[0], [1], [2], [4, 0, 1, 2]], [COOKIE] * 3 + [DEVICE] * 2))
    assert frozenset({0, 1, 2, 4}) in partition(three.profile)
    assert three.review == []


def test_an_approved_review_is_applied():
    result = stitch(graph([[0], [1], [2], [3], [4, 0, 1, 2, 3]], [COOKIE] * 4 + [DEVICE], approved=[4]))
    assert partition(result.profile) == {frozenset(range(5))}
    assert result.review == []


def test_per_type_limit_drops_the_weaker_identifier():
    # A member with six devices: the sixth stays outside (default limit five).
    records = [[0, d] for d in range(1, 7)]
    result = stitch(graph(records, [USER] + [DEVICE] * 6))
    assert partition(result.profile) == {frozenset(range(6)), frozenset({6})}
    assert result.rejected == [(5, 6, DEVICE)]


def test_brand_limits_apply_to_their_own_brand_only():
    g = graph([[0, 1], [0, 2]], [USER, DEVICE, DEVICE])
    g.node_group = np.array([1, 1, 1])
    g.limits = np.array([DEFAULT_LIMITS, [1, 5, 1, 5]])  # brand 1 allows one device
    assert partition(stitch(g).profile) == {frozenset({0, 1}), frozenset({2})}


def reference(records: list[list[int]], types: list[int], limits: list[int], max_merge: int) -> set[frozenset[int]]:
    """The rules applied literally, record by record, with plain Python sets."""
    profile_of = {n: frozenset({n}) for nodes in records for n in nodes}
    seen: set[int] = set()
    for nodes in records:
        nodes = sorted(set(nodes), key=lambda n: (types[n], n))
        matched = {profile_of[n] for n in nodes if n in seen}
        seen.update(nodes)
        if len(matched) > max_merge:
            continue
        current = profile_of[nodes[0]]
        for n in nodes[1:]:
            other = profile_of[n]
            if other == current:
                continue
            counts = Counter(types[m] for m in current | other)
            if any(counts[t] > limits[t] for t in counts):
                continue
            current = current | other
            for m in current:
                profile_of[m] = current
    return set(profile_of.values())


@pytest.mark.parametrize("seed", range(40))
def test_matches_the_literal_rules_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n_nodes = int(rng.integers(5, 60))
    types = rng.integers(0, 4, n_nodes).tolist()
    records = [rng.choice(n_nodes, int(rng.integers(1, 6)), replace=False).tolist() for _ in range(int(rng.integers(3, 80)))]
    # Tight rules replay most components; loose ones leave most to plain connected components.
    limits = rng.integers(1, 4 if seed % 2 else 12, 4).tolist()
    max_merge = int(rng.integers(1, 4))
    used = sorted({n for r in records for n in r})
    result = stitch(graph(records, types, limits=limits, max_merge=max_merge))
    ours = {frozenset(g) & set(used) for g in partition(result.profile)} - {frozenset()}
    assert ours == reference(records, types, limits, max_merge)


def test_same_input_same_profiles():
    rng = np.random.default_rng(3)
    types = rng.integers(0, 4, 200).tolist()
    records = [rng.choice(200, 3, replace=False).tolist() for _ in range(300)]
    a, b = stitch(graph(records, types)), stitch(graph(records, types))
    assert a.profile.tolist() == b.profile.tolist()
