"""The Spark engine on a real standalone cluster (a master and a 1-core worker on 127.0.0.1, started from the
installed PySpark), not only in local mode; and the ``[spark]`` settings a cluster needs (master, exchange folder,
properties), checked before anything runs."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from paymatch.config import load_config
from paymatch.errors import ConfigError, PaymatchError
from paymatch.run import reconcile_files
from tests.core.spark_batch import rows as _rows

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _wait_for(log: Path, pattern: str, procs: list, timeout: float = 60.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text(errors="replace"))
        if m:
            return m
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    raise AssertionError(f"{log.name}: no {pattern!r} within {timeout:.0f}s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """End the JVM's whole process group (spark-class execs java; the worker's executors are its children)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """A Spark standalone master and one worker (1 core, 1 GB, in Asia/Shanghai) on 127.0.0.1, random ports; stopped
    afterwards with every JVM they started, and the process's SparkSession with them (later tests build a local one)."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    pyspark = pytest.importorskip("pyspark")
    from paymatch.backends import spark_backend

    home = Path(pyspark.__file__).parent
    tmp = tmp_path_factory.mktemp("standalone")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(tmp / "work"),
           # no REST submission server: it takes the fixed port 6066, which another cluster may hold
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
           # the executors' JVMs in the shop's zone, as on a cluster in China: the exchange's naive UTC must not move
           "TZ": "Asia/Shanghai"}
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> Path:
        log = tmp / f"{name}.log"
        with open(log, "wb") as out:
            procs.append(subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True))
        return log

    t0 = time.monotonic()
    try:
        log = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", "0",
                    "--webui-port", "0")
        url = _wait_for(log, r"Starting Spark master at (spark://127\.0\.0\.1:\d+)", procs).group(1)
        log = start("worker", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port", "0",
                    "--webui-port", "0", "--cores", "1", "--memory", "1g", url)
        _wait_for(log, r"Successfully registered with master", procs)
        print(f"standalone cluster {url} up in {time.monotonic() - t0:.1f}s")
        yield url
    finally:
        spark_backend.stop_session()
        spark_backend.configure()
        for p in reversed(procs):
            _stop(p)


def test_reconcile_on_a_standalone_cluster_agrees_with_duckdb(standalone, tmp_path, monkeypatch):
    from paymatch.backends import spark_backend
    from paymatch.demo import generate

    t0 = time.monotonic()
    demo = generate(tmp_path / "data", stores=2, days=1, per_store_day=40)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    cfg = tmp_path / "rules.toml"
    cfg.write_text(Path(demo.rules).read_text(encoding="utf-8") +
                   f'\n[spark]\nmaster = "{standalone}"\nexchange_dir = "{exchange}"\n'
                   '[spark.conf]\n"spark.executor.memory" = "512m"\n"spark.sql.shuffle.partitions" = 2\n'
                   # a Hadoop cluster's default file system: the exchange is named by file:// URIs, not bare paths
                   '"spark.hadoop.fs.defaultFS" = "hdfs://127.0.0.1:9"\n',
                   encoding="utf-8")
    rules = load_config(cfg)
    # the engine is DataFrame expressions only: an executor that had to start Python would fail here
    monkeypatch.setenv("PYSPARK_PYTHON", str(tmp_path / "no-python-here"))
    monkeypatch.delenv("PAYMATCH_SPARK_MASTER", raising=False)
    spark_backend.configure(rules.spark)  # what `paymatch reconcile --config rules.toml --engine spark` does
    try:
        a = reconcile_files(demo.orders, demo.refunds, [demo.transactions], tmp_path / "duck", config=rules)
        b = reconcile_files(demo.orders, demo.refunds, [demo.transactions], tmp_path / "spark", config=rules,
                            engine="spark")
        sc = spark_backend.session().sparkContext
        assert sc.master == standalone  # the cluster's, not a local session left from an earlier test
        assert sc.getConf().get("spark.executor.memory") == "512m"  # [spark.conf] reaches the session
        # the driver and the worker's executor (a local session has the driver alone)
        assert sc._jsc.sc().getExecutorMemoryStatus().size() == 2
    finally:
        spark_backend.configure()
    assert _rows(a.outcomes_csv) == _rows(b.outcomes_csv)
    assert a.summary["by_kind"] == b.summary["by_kind"] and b.summary["conservation"] is True
    assert list(exchange.iterdir()) == []  # the run's own sub-folder is removed
    print(f"reconcile on the cluster (with DuckDB's and the data) {time.monotonic() - t0:.1f}s")

    # the next run without a master goes back to local mode: the cluster's session does not linger
    spark_backend.session()
    assert spark_backend.session().sparkContext.master == "local[2]"


def test_a_remote_master_needs_an_exchange_folder_and_the_driver_off_loopback(tmp_path, monkeypatch):
    from paymatch.backends import spark_backend

    monkeypatch.delenv("PAYMATCH_SPARK_EXCHANGE", raising=False)
    try:
        spark_backend.configure()
        # /tmp of this machine is not where an executor on another machine looks: refused before any work
        with pytest.raises(PaymatchError, match=r"spark://10\.1\.2\.3:7077: the executors cannot read this "
                                                r"machine's temp folder\nHint: set \[spark\] exchange_dir"):
            spark_backend.exchange_root("spark://10.1.2.3:7077")
        assert spark_backend.exchange_root("spark://127.0.0.1:7077") is None
        assert spark_backend.exchange_root("local[2]") is None
        # executors elsewhere connect back to the driver: it must not announce 127.0.0.1 to them
        assert "spark.driver.host" not in spark_backend.session_conf("spark://10.1.2.3:7077")
        assert spark_backend.session_conf("local[2]")["spark.driver.host"] == "127.0.0.1"
        assert spark_backend.session_conf("spark://10.1.2.3:7077", (("spark.driver.host", "10.1.2.9"),)
                                          )["spark.driver.host"] == "10.1.2.9"
        # PySpark's call-site capture (py4j round trips around every column function) is off unless [spark.conf] says
        debugging = "spark.python.sql.dataFrameDebugging.enabled"
        assert spark_backend.session_conf("local[2]")[debugging] == "false"
        assert spark_backend.session_conf("local[2]", ((debugging, "true"),))[debugging] == "true"

        monkeypatch.setenv("PAYMATCH_SPARK_EXCHANGE", str(tmp_path / "missing"))
        with pytest.raises(PaymatchError, match=r"PAYMATCH_SPARK_EXCHANGE '.*missing': no such folder"):
            spark_backend.exchange_root("spark://10.1.2.3:7077")
        monkeypatch.setenv("PAYMATCH_SPARK_EXCHANGE", "shared/x")
        with pytest.raises(PaymatchError, match=r"PAYMATCH_SPARK_EXCHANGE 'shared/x': give an absolute path"):
            spark_backend.exchange_root("local[2]")
        monkeypatch.setenv("PAYMATCH_SPARK_EXCHANGE", str(tmp_path))
        assert spark_backend.exchange_root("spark://10.1.2.3:7077") == tmp_path
    finally:
        spark_backend.configure()


@pytest.mark.parametrize("section, message", [
    ('exchange_dir = "shared/pm"', r"key 'spark\.exchange_dir': .*'shared/pm': give an absolute path"),
    ('exchange_dir = "hdfs://nn/pm"', r"key 'spark\.exchange_dir': .*not a URL"),
    ('master = "10.0.0.5:7077"', r"key 'spark\.master': .*is not a Spark master URL"),
    ('conf = { "executor.memory" = "2g" }', r"key 'spark\.conf': .*'executor\.memory' is not a Spark property"),
    ('conf = { "spark.sql.session.timeZone" = "Asia/Shanghai" }',
     r"key 'spark\.conf': .*'spark\.sql\.session\.timeZone' cannot be set here: the exchange relies on it"),
    ('conf = { "spark.master" = "local[4]" }', r"'spark\.master' cannot be set here: use \[spark\] master"),
    ('exchange = "/x"', r"key 'spark\.exchange': Extra inputs are not permitted"),
])
def test_bad_spark_section_is_refused_naming_the_key(tmp_path, section, message):
    cfg = tmp_path / "rules.toml"
    cfg.write_text(f"[spark]\n{section}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as e:
        load_config(cfg)
    assert str(cfg) in str(e.value)


def test_spark_section_does_not_change_the_run_id(tmp_path):
    # where the engine runs is not a rule of the results: the config hash and run id stay those of the rules
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[spark]\nmaster = "spark://10.1.2.3:7077"\nexchange_dir = "/mnt/pm"\n'
                   '[spark.conf]\n"spark.executor.memory" = "2g"\n"spark.eventLog.enabled" = true\n', encoding="utf-8")
    rules = load_config(cfg)
    assert rules.model_dump() == load_config(None).model_dump()
    assert rules.spark.conf_strings() == {"spark.executor.memory": "2g", "spark.eventLog.enabled": "true"}
    cfg.write_text('[spark]\nmaster = "yarn"\n', encoding="utf-8")  # YARN's master is the word, no URL
    assert load_config(cfg).spark.master == "yarn"


def test_each_run_has_its_own_exchange_folder_removed_also_on_failure(spark, tmp_path, monkeypatch):
    import duckdb
    import narwhals as nw

    from paymatch.backends import spark_backend

    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o2750)  # a shared folder of the executors' group
    monkeypatch.setenv("PAYMATCH_SPARK_EXCHANGE", str(exchange))
    con = duckdb.connect()
    seen = []

    def build(frames):
        (run_dir,) = exchange.iterdir()  # this run's own sub-folder, open to the folder's group as it is
        seen.append((run_dir.name, oct(run_dir.stat().st_mode & 0o7777)))
        return frames["t"].with_columns((nw.col("x") * 2).alias("y"))

    out = spark_backend.on_spark(con, {"t": "SELECT range AS x FROM range(3)"}, build, "_t_out")
    assert sorted(out.fetchall()) == [(0, 0), (1, 2), (2, 4)]

    def failing(frames):
        build(frames)
        raise RuntimeError("the engine failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        spark_backend.on_spark(con, {"t": "SELECT range AS x FROM range(3)"}, failing, "_t_out")
    assert list(exchange.iterdir()) == []  # removed after the run, and after the failed one too
    assert seen[0][0] != seen[1][0] and seen[0][1] == seen[1][1] == "0o2750"


def test_spark_master_with_another_engine_is_refused(tmp_path):
    from typer.testing import CliRunner

    from paymatch.cli import app

    res = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--spark-master",
                                   "spark://127.0.0.1:7077", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "--spark-master is for --engine spark (this run's engine is duckdb)" in res.output


def test_cli_reads_the_spark_section_and_refuses_a_remote_master_without_exchange(tmp_path, monkeypatch):
    # the config's [spark] reaches the run (no JVM is started: the exchange is checked first); --spark-master wins
    from typer.testing import CliRunner

    from paymatch.backends import spark_backend
    from paymatch.cli import app

    monkeypatch.delenv("PAYMATCH_SPARK_EXCHANGE", raising=False)
    monkeypatch.delenv("PAYMATCH_SPARK_MASTER", raising=False)
    (tmp_path / "o.csv").write_text("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
                                    "A1,S1,M1,wechat,1.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00\n",
                                    encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[spark]\nmaster = "spark://10.9.9.9:7077"\n', encoding="utf-8")
    args = ["reconcile", "--orders", str(tmp_path / "o.csv"), "--engine", "spark", "--config",
            str(tmp_path / "rules.toml"), "--out", str(tmp_path / "out")]
    try:
        for extra, master in (([], "spark://10.9.9.9:7077"), (["--spark-master", "spark://10.8.8.8:7077"],
                                                               "spark://10.8.8.8:7077")):
            res = CliRunner().invoke(app, args + extra)
            assert res.exit_code == 2, res.output
            assert (f"engine 'spark' on {master}: the executors cannot read this machine's temp folder"
                    in " ".join(res.output.split())), res.output
    finally:
        spark_backend.configure()
