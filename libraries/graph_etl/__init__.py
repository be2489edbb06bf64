"""The Bitcoin graph ETL: parsed blocks -> columnar tables -> the temporal heterogeneous graph.

* :mod:`.tables`: blocks (from :mod:`libraries.bitcoin_wire`) as Arrow tables; UTXO tables from
  btcd entries, Core snapshots, Parquet / CSV tables or Core JSON prevouts.
* :mod:`.graph`: the EBA v1 graph built by SQL stages (DuckDB by default; the same SQL runs on
  Spark, :mod:`.spark_engine`).
* :mod:`.eba_v2` / :mod:`.eba_v2_files`: EBA's current (transaction-centred) model from Core
  JSON, and its gzip TSV layout (``--schema eba-v2``).
* :mod:`.store`: an incremental, crash-safe graph store (Parquet parts + generations) that
  follows re-orgs within the undo data it keeps.
* :mod:`.export`: TSV for neo4j-admin, degree distributions; :mod:`.graph_database`: ladybug.
* :mod:`.sampling`: Forest Fire and rooted samples, in memory and in the database.

Heavy dependencies are optional (the ``graph`` extra: duckdb, ladybug; ``spark``: pyspark);
:mod:`.tables` needs neither. Errors: :class:`~.errors.GraphDataError` and
:class:`~.errors.GraphConfigError` (both :class:`ValueError`).
"""
