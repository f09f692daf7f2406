"""Ctrl-C while Spark works ends as any other command's: one line, exit 130, no temp folder, nothing stored.

PySpark's own SIGINT handler cancelled the jobs through py4j from inside the handler, while the main thread's py4j
call waited for the JVM: a "reentrant call", and py4j logged that and the KeyboardInterrupt with their tracebacks
(``ERROR:root:KeyboardInterrupt while sending command.``), then the jobs it had failed to cancel printed Java stack
traces over the removed exchange files. A real process (``python -m paymatch`` through a driver, as
``test_interrupts``), stopped while a Spark job runs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.core.test_interrupts import ORDERS, SRC, TXS

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

#: ``python -c`` driver: sends SIGINT to its own process as soon as the JVM runs a job of the engine's output write
#: (the run's longest Spark call: the main thread is inside py4j, waiting for the JVM), then runs the CLI
DRIVER = """
import os, signal, sys, threading, time
# as a shell starts a command: SIGINT and SIGTERM not blocked, Ctrl-C raising KeyboardInterrupt (a process
# inherits its parent's blocked signals and an ignored SIGINT, and a test runner's worker may have either)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
signal.signal(signal.SIGINT, signal.default_int_handler)
import pyspark.sql.readwriter as rw
write = rw.DataFrameWriter.parquet
def hooked(self, *a, **k):
    from pyspark import SparkContext
    tracker = SparkContext._active_spark_context.statusTracker()
    def stop():
        while not tracker.getActiveJobsIds():
            time.sleep(0.005)  # (a bare spin holds the GIL the run's own py4j calls need)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=stop, daemon=True).start()
    return write(self, *a, **k)
rw.DataFrameWriter.parquet = hooked
sys.argv = ["paymatch", *sys.argv[1:]]
from paymatch.cli import main
main()
"""


def test_ctrl_c_during_a_spark_job_is_one_line(tmp_path):
    pytest.importorskip("pyspark")
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "t.csv").write_text(TXS, encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(SRC), "TMPDIR": str(tmp_path / "tmp")}
    args = ["reconcile", "--engine", "spark", "--orders", tmp_path / "o.csv", "--transactions", tmp_path / "t.csv",
            "--out", tmp_path / "out"]
    res = subprocess.run([sys.executable, "-c", DRIVER, *map(str, args)], env=env, capture_output=True, text=True,
                         timeout=300)  # a loaded 2-core machine took 110 s for a local Spark run
    assert res.returncode == 130, (res.returncode, res.stderr)
    assert "interrupted" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "ERROR" not in res.stderr, res.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # the exchange folder is removed
    assert not (tmp_path / "out" / "outcomes.csv").exists()
