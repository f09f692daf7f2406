"""PySpark backend: the selections are handed over as Parquet, the same engine runs on Spark
DataFrames, and the outcomes come back as Parquet read by DuckDB.

Local mode by default (``local[2]``). A cluster (``--spark-master`` / ``[spark] master``) needs an exchange
folder every executor reads and writes at the same path (``[spark] exchange_dir`` / ``PAYMATCH_SPARK_EXCHANGE``,
a shared mount): executors on other machines cannot see this machine's temp folder. The engine is DataFrame
expressions only (no Python UDFs), so executors start no Python: their Python version does not matter.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import narwhals as nw

from ..engine import MatchParams, reconcile
from ..engine.frames import Inputs
from ..engine.ops import Ops
from ..config import exchange_dir_problem
from ..errors import PaymatchError
from .scope import Selections

DEFAULT_MASTER = "local[2]"
#: settings the exchange relies on: times cross as naive UTC (Parquet TIMESTAMP_NTZ) and compare as on DuckDB
FIXED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}


@dataclass(frozen=True)
class SparkSettings:
    """Where and how the Spark engine runs (a config's ``[spark]`` section; see ``configure``).

    master: the Spark master URL; exchange_dir: the folder the selections and outcomes cross (each run in its own
    sub-folder, removed afterwards); conf: extra Spark properties (``spark.executor.memory`` …)."""

    master: str | None = None
    exchange_dir: str | None = None
    conf: tuple[tuple[str, str], ...] = ()


_SETTINGS = SparkSettings()
_SESSION = None
_SESSION_KEY: tuple | None = None  # (master, conf) the session was built with: another one needs a new session


def configure(rules=None) -> None:
    """Use a config's ``[spark]`` section (``config.SparkRules``) for the Spark runs that follow in this process
    (the command line calls it with the config file's); ``configure()`` goes back to the defaults."""
    global _SETTINGS
    _SETTINGS = SparkSettings() if rules is None else SparkSettings(
        master=rules.master, exchange_dir=rules.exchange_dir, conf=tuple(sorted(rules.conf_strings().items())))


def resolve_master(master: str | None = None) -> str:
    """The master a run uses: the one given (``--spark-master``), else ``PAYMATCH_SPARK_MASTER``, else the
    configured one (``[spark] master``), else local mode."""
    return master or os.environ.get("PAYMATCH_SPARK_MASTER") or _SETTINGS.master or DEFAULT_MASTER


def on_this_machine(master: str) -> bool:
    """Whether every executor of ``master`` runs on this machine (local mode, or a standalone master on the
    loopback address), so this machine's temp folder and its loopback address serve as exchange and driver."""
    if master.startswith("local"):
        return True
    host = urlsplit(master.split(",")[0]).hostname if "://" in master else None
    return host in ("127.0.0.1", "localhost", "::1")


def session_conf(master: str, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The Spark properties a session on ``master`` is built with: defaults, then ``extra``, then ``FIXED_CONF``.

    The driver binds to the loopback address only when every executor is on this machine: on a cluster an
    executor on another machine would be told to connect back to its own 127.0.0.1 and never reach the driver."""
    conf = {
        "spark.app.name": "paymatch",
        "spark.sql.shuffle.partitions": os.environ.get("PAYMATCH_SPARK_PARTITIONS", "8"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",  # a progress bar per stage drowned the run's own progress lines
        # PySpark's call-site capture for error contexts: ~5 py4j round trips around each of the ~2,600 column
        # functions the engine's plan is built with (a third of its py4j calls); `[spark.conf]` can turn it back on
        "spark.python.sql.dataFrameDebugging.enabled": "false",
    }
    if on_this_machine(master):
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return conf | dict(extra) | FIXED_CONF


def session(master: str | None = None):
    """The process's SparkSession on ``resolve_master(master)`` (UTC session time zone so naive-UTC times compare
    as on DuckDB). One session serves every run asking for the same master and properties; asking for another
    stops it and builds a new one (a process that ran on a cluster and then asks for local mode must not keep
    sending its work to the cluster, nor the other way round)."""
    global _SESSION, _SESSION_KEY
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise PaymatchError("engine 'spark' needs PySpark\nHint: pip install 'paymatch[spark]'") from e
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise PaymatchError("engine 'spark' needs Java 17\nHint: apt-get install openjdk-17-jre-headless")
    master = resolve_master(master)
    conf = session_conf(master, _SETTINGS.conf)
    key = (master, tuple(sorted(conf.items())))
    if _SESSION is not None and _SESSION_KEY == key and _alive(_SESSION):
        return _SESSION
    stop_session()
    active = SparkSession.getActiveSession()
    if active is not None and _alive(active) and active.sparkContext.master != master:
        active.stop()  # a session someone else built on another master: getOrCreate would hand back that one
    builder = SparkSession.builder.master(master)
    for k, v in conf.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    for k in ("spark.sql.shuffle.partitions", *FIXED_CONF):  # runtime settings: also on a session built elsewhere
        spark.conf.set(k, conf[k])
    spark.sparkContext.setLogLevel("ERROR")
    _SESSION, _SESSION_KEY = spark, key
    return spark


def _alive(spark) -> bool:
    return getattr(spark.sparkContext, "_jsc", None) is not None


def stop_session() -> None:
    """Stop the process's SparkSession (the next run builds a new one)."""
    global _SESSION, _SESSION_KEY
    if _SESSION is not None and _alive(_SESSION):
        _SESSION.stop()
    _SESSION = _SESSION_KEY = None


def exchange_root(master: str) -> Path | None:
    """The folder the runs' exchange sub-folders are made in: ``PAYMATCH_SPARK_EXCHANGE``, else ``[spark]
    exchange_dir``, else (None) the temp folder, which only a master on this machine may use."""
    env = os.environ.get("PAYMATCH_SPARK_EXCHANGE")
    value, what = (env, "PAYMATCH_SPARK_EXCHANGE") if env else (_SETTINGS.exchange_dir, "[spark] exchange_dir")
    if not value:
        if on_this_machine(master):
            return None
        raise PaymatchError(
            f"engine 'spark' on {master}: the executors cannot read this machine's temp folder\nHint: set "
            "[spark] exchange_dir (or PAYMATCH_SPARK_EXCHANGE) to a folder every executor mounts at the same path")
    return check_exchange_dir(value, what)


def check_exchange_dir(value: str, what: str) -> Path:
    """``value`` as an exchange folder: an absolute path of an existing folder this process can write in."""
    problem = exchange_dir_problem(value)
    if problem:
        raise PaymatchError(f"{what} {problem}")
    p = Path(value)
    if not p.is_dir():
        raise PaymatchError(f"{what} {value!r}: no such folder\nHint: create it on a mount every executor shares")
    if not os.access(p, os.W_OK | os.X_OK):
        raise PaymatchError(f"{what} {value!r}: this user cannot write in it")
    return p


def run(con: duckdb.DuckDBPyConnection, sel: Selections, params: MatchParams, *, master: str | None = None,
        leave_out: nw.Expr | None = None):
    """Reconcile on Spark; returns a DuckDB relation over the outcomes read back from Parquet."""
    def build(frames: dict[str, nw.LazyFrame]) -> nw.LazyFrame:
        if leave_out is not None:
            frames["orders"] = frames["orders"].filter(~leave_out.fill_null(False))
        return reconcile(Inputs(**frames, records_unique=sel.records_unique), params, Ops(persist=persist))

    cached: list = []

    def persist(lf: nw.LazyFrame) -> nw.LazyFrame:
        df = lf.to_native().cache()
        cached.append(df)
        return nw.from_native(df)

    names = ("orders", "refunds", "txs", "order_dims", "refund_history", "merchants", "wildcard_orders")
    sqls = {name: getattr(sel, name) for name in names if getattr(sel, name)}
    try:
        return on_spark(con, sqls, build, "_pm_spark_out", master=master)
    finally:
        # the outcomes are read back by then: the cached frames are released, or a process running one run after
        # another (the Python API, a test session) kept every run's in the driver's memory until a broadcast
        # join found none left ("Not enough memory to build and broadcast the table", the 12th run of an audit)
        for df in cached:
            df.unpersist()


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")


def on_spark(con: duckdb.DuckDBPyConnection, sqls: dict[str, str],
             build: Callable[[dict[str, nw.LazyFrame]], nw.LazyFrame], table: str, *,
             master: str | None = None) -> duckdb.DuckDBPyRelation:
    """Hand each DuckDB selection in ``sqls`` to Spark as Parquet, run ``build`` on the Spark frames (by
    name) and read its result back into the DuckDB temp table ``table``; returns that table.

    The Parquet files live in a sub-folder of ``exchange_root`` of this run's own, removed afterwards (also when
    the run fails). Spark is given ``file://`` URIs: a bare path would be looked for on the cluster's default file
    system (HDFS on a Hadoop cluster)."""
    master = resolve_master(master)
    root = exchange_root(master)
    spark = session(master)
    work = Path(tempfile.mkdtemp(prefix="_pm_spark_", dir=root))
    try:
        with _stopped_in_one_line(spark, con) as stop:
            if root is not None:  # executors may run as another user of the configured folder's group: the
                # run's folder is open to that group as the configured one is (mkdtemp makes it the owner's only),
                # never others
                os.chmod(work, 0o700 | (root.stat().st_mode & (0o070 | stat.S_ISGID)))
            frames = {}
            for name, sql in sqls.items():
                path = work / f"{name}.parquet"
                con.execute(f"COPY ({sql}) TO '{_sql_path(path)}' (FORMAT parquet)")
                frames[name] = nw.from_native(spark.read.parquet(path.as_uri()))
                stop.check()
            out_path = work / "out"
            try:
                build(frames).to_native().write.mode("overwrite").parquet(out_path.as_uri())
            except Exception as e:
                if not _out_of_memory(e):
                    raise  # a bug to show whole (an interruption is said as one by _stopped_in_one_line)
                raise PaymatchError(_OUT_OF_MEMORY) from e
            stop.check()
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM "
                        f"read_parquet('{_sql_path(out_path)}/*.parquet')").fetchall()
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the exchange files are not needed once read back
    return con.table(table)


#: what Spark says when the driver's heap is too small for the run (a broadcast join's table, or the heap itself)
_OOM_TEXTS = ("Not enough memory to build and broadcast", "java.lang.OutOfMemoryError")
_OUT_OF_MEMORY = (
    "the Spark driver ran out of memory for this run (Spark: not enough memory to build and broadcast a table, or "
    "OutOfMemoryError)\nHint: give it more in the config: [spark.conf] \"spark.driver.memory\" = \"4g\" (local mode runs "
    "the whole engine in the driver; Spark's default is 1g), or turn broadcast joins off: "
    "\"spark.sql.autoBroadcastJoinThreshold\" = \"-1\"")


def _out_of_memory(e: BaseException) -> bool:
    """``e`` (a py4j or PySpark error of a Spark job) is the driver running out of memory (helper-115: a 2.7M-order
    month at 512m ended in a 214-line traceback)."""
    text = str(e)
    return any(t in text for t in _OOM_TEXTS)


class _Stop:
    """A Ctrl-C (or SIGTERM) noted while Spark works; ``check`` raises it as KeyboardInterrupt."""

    def __init__(self) -> None:
        self.seen = threading.Event()

    def check(self) -> None:
        """Raise KeyboardInterrupt if a signal came (a step started after the jobs were cancelled runs to its end)."""
        if self.seen.is_set():
            raise KeyboardInterrupt("stopped while Spark ran")


@contextmanager
def _stopped_in_one_line(spark, con: duckdb.DuckDBPyConnection) -> Iterator[_Stop]:
    """Ctrl-C, or SIGTERM (``cli.main`` ends a command by it as by Ctrl-C), while Spark works: the jobs are cancelled
    and the run ends as KeyboardInterrupt once the JVM has answered, so the CLI says it in its one line (exit 130).

    PySpark's own SIGINT handler cancels the jobs through py4j from inside the handler, on the main thread, whose
    py4j connection is waiting for the JVM: a "reentrant call" error, and py4j logged it and the KeyboardInterrupt
    on the root logger, two tracebacks on stderr; the jobs it failed to cancel then went on and failed on the
    exchange files the cleanup had removed (Java stack traces). Here the handler only notes the signal; a thread of
    its own cancels the Spark jobs and interrupts DuckDB (an exchange COPY), the main thread's call returns with their
    error, and that is raised as the interruption. A second Ctrl-C stops at once. Only on the main thread (signals
    are handled there); the handlers before are restored."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def cancel() -> None:
        for call in (spark.sparkContext.cancelAllJobs, con.interrupt):
            try:
                call()
            except Exception:  # a JVM already gone, a connection closed: nothing left to stop
                pass

    def noted(signum, frame) -> None:
        if stop.seen.is_set():
            raise KeyboardInterrupt(f"signal {signum}")
        stop.seen.set()
        threading.Thread(target=cancel, name="_pm_spark_cancel", daemon=True).start()

    before = {s: signal.signal(s, noted) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    except Exception:
        if stop.seen.is_set():  # what the cancelled job (or the interrupted query) raised: the interruption
            raise KeyboardInterrupt("stopped while Spark ran") from None
        raise
    finally:
        for s, handler in before.items():
            if handler is not None:  # (None: a handler not set from Python, which cannot be put back)
                signal.signal(s, handler)
    stop.check()
