"""splink's Spark connected components on the benchmark's links: `cluster_pairwise_predictions_at_threshold` with
splink's SparkAPI, every edge a link. Runs in splink's own interpreter (benchmarks/splink_env.py), so it imports
nothing of the project: `python -m benchmarks.splink_components MASTER SCRATCH` prints one JSON line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(master: str, scratch: Path) -> dict:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from splink import SparkAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    # The same sizes as the project's implementations get in benchmarks/identity_spark.py.
    spark = (SparkSession.builder.master(master).appName("bench-splink")
             .config("spark.executor.memory", "768m").config("spark.sql.shuffle.partitions", "8")
             .config("spark.sql.warehouse.dir", str(scratch / "warehouse-splink")).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(scratch / "checkpoints-splink"))
    edges = spark.read.parquet(str(scratch / "baseline_edges.parquet"))
    nodes = spark.read.parquet(str(scratch / "baseline_nodes.parquet"))
    started = time.perf_counter()
    # Clustering needs none of splink's string-similarity functions, so its jar is not registered.
    db_api = SparkAPI(spark_session=spark, register_udfs_automatically=False)
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes, edges, db_api=db_api, node_id_column_name="node_id", edge_id_column_name_left="left_id",
        edge_id_column_name_right="right_id")
    sizes = clusters.as_spark_dataframe().groupBy("cluster_id").count()
    components, largest = sizes.agg(F.count("*"), F.max("count")).first()
    return {"work_seconds": round(time.perf_counter() - started, 3), "components": int(components),
            "largest": int(largest)}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
