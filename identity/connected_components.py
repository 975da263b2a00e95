"""Distributed connected components on Spark: alternating large-star and small-star.

Each round is one large-star and one small-star step over the edge list (each a join-free
aggregation and a shuffle); the graph converges to one star per component, centred on the
component's smallest node. The number of rounds grows with the logarithm of the graph's size along
a path (its diameter), not with the diameter itself as label propagation's would, so long chains
of cookies cost a few rounds more, not thousands.
Reference: Kiveris, Lattanzi, Mirrokni, Rastogi, Vassilvitskii, "Connected Components in MapReduce
and Beyond" (SoCC 2014).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

MAX_ROUNDS = 200  # far above log2 of any real diameter; reaching it means a bug, not a big graph


@dataclass
class Components:
    labels: DataFrame  # node, component (the smallest node of its component)
    rounds: int


def _undirected(edges: DataFrame) -> DataFrame:
    """(hi, lo) with hi > lo, once per pair: the canonical form the steps and the convergence test use."""
    return (edges.where(F.col("a") != F.col("b"))
            .select(F.greatest("a", "b").alias("hi"), F.least("a", "b").alias("lo")).distinct())


def large_star(edges: DataFrame) -> DataFrame:
    """Each node links its larger neighbours to the smallest node of its neighbourhood (itself included)."""
    both = edges.select(F.col("hi").alias("u"), F.col("lo").alias("v")).unionByName(
        edges.select(F.col("lo").alias("u"), F.col("hi").alias("v")))
    smallest = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
    return _undirected(both.where(F.col("v") > F.col("u")).join(smallest, "u")
                       .select(F.col("v").alias("a"), F.col("m").alias("b")))


def small_star(edges: DataFrame) -> DataFrame:
    """Each node links itself and its smaller neighbours to the smallest of them."""
    smallest = edges.groupBy("hi").agg(F.min("lo").alias("m"))
    linked = edges.join(smallest, "hi").select(F.col("lo").alias("a"), F.col("m").alias("b"))
    return _undirected(linked.unionByName(smallest.select(F.col("hi").alias("a"), F.col("m").alias("b"))))


def _differ(a: DataFrame, b: DataFrame) -> bool:
    joined = a.withColumn("in_a", F.lit(True)).join(b.withColumn("in_b", F.lit(True)), ["hi", "lo"], "full_outer")
    return not joined.where(F.col("in_a").isNull() | F.col("in_b").isNull()).isEmpty()


def connected_components(edges: DataFrame, nodes: DataFrame, max_rounds: int = MAX_ROUNDS) -> Components:
    """edges(a, b) and nodes(node), all longs; every node gets the smallest node of its component.

    Rounds repeat until one leaves the edges as they were; that last round is counted too."""
    current = _undirected(edges).localCheckpoint()
    rounds = 0
    while True:
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
        # Checkpoints cut the lineage, which would otherwise grow with every round.
        following = small_star(large_star(current)).localCheckpoint()
        if not _differ(following, current):
            break
        current = following
    # Converged: every component is a star whose centre is its smallest node; lone nodes are their own.
    centre = current.groupBy("hi").agg(F.min("lo").alias("component"))
    labels = (nodes.select("node").join(centre.withColumnRenamed("hi", "node"), "node", "left")
              .select("node", F.coalesce("component", "node").alias("component")))
    return Components(labels=labels, rounds=rounds)
