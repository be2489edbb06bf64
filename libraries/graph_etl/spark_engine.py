"""Run the graph ETL's SQL stages on Apache Spark, for chains that do not fit one machine.

:func:`.graph.build_graph` takes any :class:`.graph.SqlEngine`; this one registers the block
tables as Spark temporary views and runs the very SQL DuckDB runs, each stage cached as a
temporary view, so a cluster (or ``local[N]``) produces the same nodes and edges. Tables cross
the Python/JVM boundary as Arrow. On a cluster, point Spark at Parquet block tables instead of
registering in-memory ones (``spark.read.parquet``) and keep the same stages.
"""

from __future__ import annotations

import pyarrow as pa

from libraries.graph_etl.errors import GraphConfigError


class SparkEngine:
    def __init__(self, master: str = "local[2]", session: object | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise GraphConfigError("the Spark engine needs pyspark (pip install 'chainsleuth[spark]') "
                                   "and a Java 17+ runtime") from exc
        self.spark = session or (SparkSession.builder.master(master)
                                 .appName("chainsleuth-bitcoin-graph")
                                 .config("spark.sql.shuffle.partitions", "4")
                                 .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                                 .config("spark.ui.enabled", "false")
                                 .getOrCreate())
        self.owned = session is None
        self.views: list[str] = []

    def register(self, name: str, table: pa.Table) -> None:
        from pyspark.sql.pandas.types import from_arrow_schema

        frame = self.spark.createDataFrame(table.to_pandas(), schema=from_arrow_schema(table.schema))
        frame.createOrReplaceTempView(name)
        self.views.append(name)

    def materialize(self, name: str, query: str) -> None:
        self.spark.sql(query).cache().createOrReplaceTempView(name)
        self.views.append(name)

    def query(self, query: str) -> pa.Table:
        return self.spark.sql(query).toArrow()

    def close(self) -> None:
        for name in self.views:
            self.spark.catalog.dropTempView(name)
        if self.owned:
            self.spark.stop()
