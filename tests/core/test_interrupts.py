"""A command stopped by SIGTERM or Ctrl-C (SIGINT) stores nothing half, leaves no temp folder and no half-written
output, and says so in one line (exit 130); SIGKILL cannot be handled, but what it interrupts is not stored either.

Real processes (``python -m paymatch``), each stopped at a point the code reaches: a small driver wraps one
function of the library to send the signal to its own process there (no sleeps, no timing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
          "A1,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:30+08:00\n"
          "A2,S1,M1,wechat,20.00,paid,2026-11-20T11:00:00+08:00,2026-11-20T11:00:30+08:00\n")
TXS = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
       "status,occurred_at,bill_date,method\n"
       "wechat,M1,T1,A1,payment,,,10.00,0.06,,success,2026-11-20T10:00:31+08:00,2026-11-20,\n"
       "wechat,M1,T2,A2,payment,,,20.00,0.12,,success,2026-11-20T11:00:31+08:00,2026-11-20,\n")

#: ``python -c`` driver: wraps ``module.attr`` so that its first call (where ``when`` holds of its arguments) sends
#: ``sig`` to this process, then runs the CLI as ``python -m paymatch`` does
DRIVER = """
import importlib, os, signal, sys
# as a shell starts a command: SIGINT and SIGTERM not blocked, Ctrl-C raising KeyboardInterrupt (a process
# inherits its parent's blocked signals and an ignored SIGINT, and a test runner's worker may have either)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
signal.signal(signal.SIGINT, signal.default_int_handler)
module, attr, when, sig = sys.argv[1:5]
target = importlib.import_module(module)
owner = target
for part in attr.split(".")[:-1]:
    owner = getattr(owner, part)
name = attr.split(".")[-1]
orig = getattr(owner, name)
def hooked(*a, **k):
    if eval(when):
        os.kill(os.getpid(), getattr(signal, sig))
    return orig(*a, **k)
setattr(owner, name, hooked)
sys.argv = ["paymatch", *sys.argv[5:]]
from paymatch.cli import main
main()
"""


def _run(tmp: Path, args: list, hook: tuple[str, str, str, str] | None = None):
    env = {**os.environ, "PYTHONPATH": str(SRC), "TMPDIR": str(tmp / "tmp"), "PAYMATCH_LOCK_WAIT": "5"}
    (tmp / "tmp").mkdir(exist_ok=True)
    cmd = [sys.executable, "-c", DRIVER, *hook] if hook else [sys.executable, "-m", "paymatch"]
    return subprocess.run([*cmd, *map(str, args)], env=env, capture_output=True, text=True, timeout=60)


def _tables(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("orders", "transactions", "batches", "outcomes", "runs")}
    finally:
        con.close()


@pytest.fixture()
def files(tmp_path) -> Path:
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "t.csv").write_text(TXS, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_stopped_ingest_stores_the_files_before_and_leaves_no_temp_folder(files, sig):
    """SIGTERM's default action ended the process at once: the spill folder (``_pm_spill_*``) stayed in the temp
    folder, and the exit said nothing. Now it ends as Ctrl-C does: the file being loaded is not stored, the ones
    before it are, the temp folder is clean, one line says so (exit 130) and a rerun completes the load."""
    w = files / "w.duckdb"
    args = ["ingest", "--workspace", w, "--orders", files / "o.csv", "--transactions", files / "t.csv"]
    # stopped as the transactions file is about to be stored (the orders file is stored already)
    hook = ("paymatch.workspace", "Workspace._commit", "a[1].kind == 'transactions'", sig)
    res = _run(files, args, hook)
    assert res.returncode == 130, (res.returncode, res.stderr)
    assert "interrupted" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert list((files / "tmp").iterdir()) == []
    assert _tables(w) == {"orders": 2, "transactions": 0, "batches": 1, "outcomes": 0, "runs": 0}
    again = _run(files, args)
    assert again.returncode == 0, again.stderr
    assert "already loaded, unchanged" in again.stdout
    assert _tables(w) == {"orders": 2, "transactions": 2, "batches": 2, "outcomes": 0, "runs": 0}


def test_sigterm_during_a_workspace_run_keeps_the_previous_results_and_outputs(files):
    """Stopped while storing a period's results: the workspace keeps the period's previous results, the out folder
    its previous files (no ``.part`` left), and no temp folder stays."""
    w, out = files / "w.duckdb", files / "out"
    assert _run(files, ["ingest", "--workspace", w, "--orders", files / "o.csv", "--transactions", files / "t.csv"]
                ).returncode == 0
    assert _run(files, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--out", out]).returncode == 0
    before = _tables(w), {p.name: p.read_bytes() for p in out.iterdir()}
    hook = ("paymatch.run", "_store", "True", "SIGTERM")
    res = _run(files, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--out", out], hook)
    assert res.returncode == 130, (res.returncode, res.stderr)
    assert "interrupted" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert list((files / "tmp").iterdir()) == []
    assert _tables(w) == before[0]
    assert sorted(p.name for p in out.iterdir()) == ["outcomes.csv", "summary.json"]


def test_a_query_interrupted_through_duckdb_is_said_as_interrupted():
    """A query DuckDB stopped (Ctrl-C during a query is a RuntimeError 'Query interrupted'; ``interrupt()`` an
    InterruptException) was a traceback and exit 1: now the same one line and exit 130."""
    import threading

    import typer

    from paymatch.cli_common import handle_errors

    con = duckdb.connect()
    done = threading.Event()

    @handle_errors
    def command():
        try:
            con.execute("SELECT count(*) FROM range(1000000000000) t(i) WHERE i % 7 = 3").fetchall()
        finally:
            done.set()

    def stop():
        while not done.wait(0.01):  # until the query has seen it (it would run for hours otherwise)
            con.interrupt()

    threading.Thread(target=stop, daemon=True).start()
    with pytest.raises(typer.Exit) as e:
        command()
    assert e.value.exit_code == 130


def test_an_out_folder_never_pairs_a_new_outcomes_csv_with_the_previous_summary(files):
    """outcomes.csv was moved into place before summary.json was computed and written (in place, not as a .part):
    a run stopped in between left the new outcomes.csv beside the previous run's summary.json, a pair a reader
    takes for one run. Now both are written as ``.part`` and moved into place together, once both are complete."""
    import json

    from paymatch.run import reconcile_files

    out = files / "out"
    first = reconcile_files(files / "o.csv", None, [files / "t.csv"], out)
    pair = out.joinpath("outcomes.csv").read_bytes(), out.joinpath("summary.json").read_bytes()
    files.joinpath("t2.csv").write_text(TXS.splitlines()[0] + "\n" + TXS.splitlines()[1] + "\n", encoding="utf-8")

    def stop(step: str) -> None:
        if step.startswith("checking control totals"):  # outcomes.csv is written, summary.json not yet
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reconcile_files(files / "o.csv", None, [files / "t2.csv"], out, progress=stop)
    assert (out.joinpath("outcomes.csv").read_bytes(), out.joinpath("summary.json").read_bytes()) == pair
    assert sorted(p.name for p in out.iterdir()) == ["outcomes.csv", "summary.json"]
    second = reconcile_files(files / "o.csv", None, [files / "t2.csv"], out)
    assert json.loads(out.joinpath("summary.json").read_text())["run_id"] == second.run_id != first.run_id


def test_a_stopped_report_csv_folder_keeps_the_previous_report_whole(files, monkeypatch):
    """``report … --csv DIR`` wrote cover.csv in place first, then each table: stopped after the first table, the
    folder held the new cover (its period and run ids) over the previous report's tables. Now every file is
    written as ``.part`` and moved into place once all are complete (cover.csv last: a folder with a cover is whole)."""
    import datetime as dt

    from paymatch.reports import render
    from paymatch.reports.recon import build_reconciliation
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    w, out = files / "w.duckdb", files / "csv"
    with Workspace(w) as ws:
        ws.ingest_csv("orders", files / "o.csv")
        ws.ingest_csv("transactions", files / "t.csv")
    reconcile_workspace(w, dt.date(2026, 11, 20), dt.date(2026, 11, 20), None)
    with Workspace(w) as ws:
        render.write_csv_dir(build_reconciliation(ws.con, "day", dt.date(2026, 11, 20), lang="en"), out, lang="en")
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        assert len(before) > 2
        month = build_reconciliation(ws.con, "month", dt.date(2026, 11, 20), lang="en")
        real = render._csv_batch

        def stop_in_the_first_table(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(render, "_csv_batch", stop_in_the_first_table)
        with pytest.raises(KeyboardInterrupt):
            render.write_csv_dir(month, out, lang="en")
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        monkeypatch.setattr(render, "_csv_batch", real)
        written = render.write_csv_dir(month, out, lang="en")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)
    assert b"month" in out.joinpath("cover.csv").read_bytes()


def test_a_stopped_report_json_leaves_no_part_file(files, monkeypatch):
    """``report … --json FILE`` streamed into ``FILE.part`` and renamed it, but only an OSError removed the part
    (``cli_common``): stopped by Ctrl-C or SIGTERM, ``FILE.part`` stayed beside the previous FILE."""
    import datetime as dt

    from paymatch.reports import render
    from paymatch.reports.recon import build_reconciliation
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    w, out = files / "w.duckdb", files / "r.json"
    with Workspace(w) as ws:
        ws.ingest_csv("orders", files / "o.csv")
        ws.ingest_csv("transactions", files / "t.csv")
    reconcile_workspace(w, dt.date(2026, 11, 20), dt.date(2026, 11, 20), None)
    with Workspace(w) as ws:
        rep = build_reconciliation(ws.con, "day", dt.date(2026, 11, 20), lang="en")
        render.report_to_json(rep, out, lang="en")
        before = out.read_bytes()

        def stopped(*a, **k):
            raise KeyboardInterrupt
            yield

        monkeypatch.setattr(render, "_rows", stopped)
        with pytest.raises(KeyboardInterrupt):
            render.report_to_json(rep, out, lang="en")
    assert sorted(p.name for p in files.iterdir() if p.name.startswith("r.json")) == ["r.json"]
    assert out.read_bytes() == before
