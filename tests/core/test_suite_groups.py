"""The test command's own set-up: `make test` runs `pytest -n 2 --dist loadgroup`, so that the Spark tests
(xdist_group "spark") run one after another on one worker with one JVM. pytest 9.2 keeps a node's id where
pytest-xdist 3.8 cannot add the group to it: every Spark test became a group of its own, both workers started a
JVM and the suite ran Spark on both cores at once. This checks the installed pair really groups."""

import os
import subprocess
import sys
import textwrap


def test_loadgroup_keeps_a_group_on_one_worker(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_grouped.py").write_text(textwrap.dedent("""
        import os
        import time

        import pytest

        @pytest.mark.parametrize("n", range(6))
        @pytest.mark.xdist_group("g")
        def test_grouped(n):
            time.sleep(0.05)
            with open(os.environ["PAYMATCH_GROUP_LOG"], "a") as f:
                f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")

        @pytest.mark.parametrize("n", range(6))
        def test_free(n):
            time.sleep(0.05)
    """), encoding="utf-8")
    log = tmp_path / "workers.txt"
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-q", "-p",
                          "no:cacheprovider", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PAYMATCH_GROUP_LOG": str(log)})
    assert run.returncode == 0, run.stdout + run.stderr
    workers = log.read_text(encoding="utf-8").split()
    assert len(workers) == 6
    assert len(set(workers)) == 1, f"the group ran on {sorted(set(workers))}"
