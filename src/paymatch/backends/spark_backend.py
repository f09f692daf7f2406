"""PySpark backend: the selections are handed over as Parquet, the same engine runs on Spark
DataFrames, and the outcomes come back as Parquet read by DuckDB.

Local mode by default (``local[2]``); ``--spark-master`` points at a cluster (the exchange
directory must then be on storage every executor can read).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
import narwhals as nw

from ..engine import MatchParams, reconcile
from ..engine.frames import Inputs
from ..engine.ops import Ops
from ..errors import PaymatchError
from .scope import Selections

_SESSION = None


def session(master: str | None = None):
    """A shared SparkSession (UTC session time zone so naive-UTC times compare as on DuckDB)."""
    global _SESSION
    if _SESSION is not None:
        return _SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise PaymatchError("engine 'spark' needs PySpark\nHint: pip install 'paymatch[spark]'") from e
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise PaymatchError("engine 'spark' needs Java 17\nHint: apt-get install openjdk-17-jre-headless")
    builder = (
        SparkSession.builder.master(master or os.environ.get("PAYMATCH_SPARK_MASTER", "local[2]"))
        .appName("paymatch")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("PAYMATCH_SPARK_PARTITIONS", "8"))
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "true")
    )
    _SESSION = builder.getOrCreate()
    _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def run(con: duckdb.DuckDBPyConnection, sel: Selections, params: MatchParams, *, master: str | None = None,
        leave_out: nw.Expr | None = None):
    """Reconcile on Spark; returns a DuckDB relation over the outcomes read back from Parquet."""
    def build(frames: dict[str, nw.LazyFrame]) -> nw.LazyFrame:
        if leave_out is not None:
            frames["orders"] = frames["orders"].filter(~leave_out.fill_null(False))
        return reconcile(Inputs(**frames, records_unique=sel.records_unique), params,
                         Ops(persist=lambda lf: nw.from_native(lf.to_native().cache())))

    sqls = {name: getattr(sel, name) for name in ("orders", "refunds", "txs", "order_dims", "refund_history", "merchants")
            if getattr(sel, name)}
    return on_spark(con, sqls, build, "_pm_spark_out", master=master)


def on_spark(con: duckdb.DuckDBPyConnection, sqls: dict[str, str],
             build: Callable[[dict[str, nw.LazyFrame]], nw.LazyFrame], table: str, *,
             master: str | None = None) -> duckdb.DuckDBPyRelation:
    """Hand each DuckDB selection in ``sqls`` to Spark as Parquet, run ``build`` on the Spark frames (by
    name) and read its result back into the DuckDB temp table ``table``; returns that table."""
    spark = session(master)
    work = Path(tempfile.mkdtemp(prefix="_pm_spark_"))
    try:
        frames = {}
        for name, sql in sqls.items():
            path = work / f"{name}.parquet"
            con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")
            frames[name] = nw.from_native(spark.read.parquet(str(path)))
        out_path = work / "out"
        build(frames).to_native().write.mode("overwrite").parquet(str(out_path))
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_parquet('{out_path}/*.parquet')"
                    ).fetchall()
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the exchange files are not needed once read back
    return con.table(table)
