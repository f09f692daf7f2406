"""PySpark backend: the selections are handed over as Parquet, the same engine runs on Spark
DataFrames, and the outcomes come back as Parquet read by DuckDB.

Local mode by default (``local[2]``); ``--spark-master`` points at a cluster (the exchange
directory must then be on storage every executor can read).
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
    spark = session(master)
    work = Path(tempfile.mkdtemp(prefix="_pm_spark_"))
    frames = {}
    for name in ("orders", "refunds", "txs", "order_dims"):
        path = work / f"{name}.parquet"
        con.execute(f"COPY ({getattr(sel, name)}) TO '{path}' (FORMAT parquet)")
        frames[name] = nw.from_native(spark.read.parquet(str(path)))
    if leave_out is not None:
        frames["orders"] = frames["orders"].filter(~leave_out.fill_null(False))
    out = reconcile(Inputs(**frames, records_unique=sel.records_unique), params,
                    Ops(persist=lambda lf: nw.from_native(lf.to_native().cache()))).to_native()
    out_path = work / "outcomes"
    try:
        out.write.mode("overwrite").parquet(str(out_path))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_spark_out AS SELECT * FROM read_parquet('{out_path}/*.parquet')"
                    ).fetchall()
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the exchange files are not needed once read back
    return con.table("_pm_spark_out")
