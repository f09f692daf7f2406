"""Workspace mode: ingest, reconcile by date, cross-day pending resolved by the next day's run, idempotent reruns."""

import csv
import json
from pathlib import Path

import pytest

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

runner = CliRunner()


def _outcomes(ws_path, day):
    with Workspace(ws_path) as ws:
        return {r[0]: r[1] for r in ws.con.execute(
            "SELECT outcome_id, kind FROM outcomes WHERE period_from = ?", [day]).fetchall()}


def test_two_days_cross_day_and_idempotent(demo_small, tmp_path):
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(demo_small.orders),
                            "--refunds", str(demo_small.refunds), "--transactions", str(demo_small.transactions)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(demo_small.orders)])
    assert "already loaded, unchanged" in r.output

    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-01", "--out", str(tmp_path / "d1")])
    assert r.exit_code == 0, r.output
    day1 = _outcomes(w, "2026-11-01")
    pending = [k for k, v in day1.items() if v == "pending_cross_day"]
    assert pending, "the demo puts late orders on every day"

    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-02"])
    assert r.exit_code == 0, r.output
    day2 = _outcomes(w, "2026-11-02")
    # the next day's bill carries their payments: the same outcome ids are matched there
    assert all(day2.get(k) == "matched" for k in pending)

    # rerun: same ids, same kinds, no duplicated rows, one stored result per period
    with Workspace(w) as ws:
        n_before = ws.con.execute("SELECT count(*) FROM outcomes").fetchone()[0]
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-01", "--out", str(tmp_path / "d1b")])
    assert r.exit_code == 0
    assert _outcomes(w, "2026-11-01") == day1
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM outcomes").fetchone()[0] == n_before
    a = (tmp_path / "d1" / "outcomes.csv").read_text(encoding="utf-8").splitlines()
    b = (tmp_path / "d1b" / "outcomes.csv").read_text(encoding="utf-8").splitlines()
    assert a[0] == b[0] and sorted(a[1:]) == sorted(b[1:])  # same rows; row order is not significant
    s = json.loads((tmp_path / "d1" / "summary.json").read_text())
    assert s["conservation"] and s["period"] == {"from": "2026-11-01", "to": "2026-11-01"}


def test_range_equals_file_mode_kinds(demo_small, tmp_path):
    w = tmp_path / "w.duckdb"
    runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(demo_small.orders),
                        "--refunds", str(demo_small.refunds), "--transactions", str(demo_small.transactions)])
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--from", "2026-11-01", "--to", "2026-11-02",
                            "--out", str(tmp_path / "range"), "--config", str(demo_small.rules)])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "range" / "outcomes.csv", encoding="utf-8") as f:
        got = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    with open(demo_small.expected, encoding="utf-8") as f:
        want = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert got == want


def test_failed_load_keeps_results(demo_small, tmp_path):
    w = tmp_path / "w.duckdb"
    runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(demo_small.orders),
                        "--transactions", str(demo_small.transactions)])
    runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-01"])
    with Workspace(w) as ws:
        snap = ws.con.execute("SELECT count(*), sum(order_total_fen) FROM outcomes").fetchone()
        tx = ws.con.execute("SELECT count(*) FROM transactions").fetchone()
    bad = tmp_path / "bad.csv"
    text = Path(demo_small.transactions).read_text(encoding="utf-8").splitlines()
    text[5] = text[5].replace("success", "okay")
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--transactions", str(bad)])
    assert r.exit_code == 2 and "bad.csv:6 [status]" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), sum(order_total_fen) FROM outcomes").fetchone() == snap
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone() == tx


def test_month_report_counts_each_order_once(demo_small, tmp_path):
    """Daily runs, then a range run over the same days: the month report still counts every order once."""
    import datetime as dt

    from paymatch.reports.recon import build_reconciliation

    w = tmp_path / "w.duckdb"
    runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(demo_small.orders),
                        "--refunds", str(demo_small.refunds), "--transactions", str(demo_small.transactions)])
    for args in (["--date", "2026-11-01"], ["--date", "2026-11-02"], ["--from", "2026-11-01", "--to", "2026-11-02"]):
        assert runner.invoke(app, ["reconcile", "--workspace", str(w), *args]).exit_code == 0
    with Workspace(w) as ws:
        rep = build_reconciliation(ws.con, "month", dt.date(2026, 11, 15), group_by=["merchant_id"])
        total = rep.table("summary").arrow().to_pylist()[-1]
        n, fen = ws.con.execute("SELECT count(*), sum(amount_fen) FROM orders").fetchall()[0]
    assert (total["orders_count"], total["orders_fen"]) == (n, fen)


def test_a_command_waits_while_another_process_holds_the_workspace(tmp_path, monkeypatch):
    """serve opens the shared workspace for each notification: a command started meanwhile waits for the file
    (PAYMATCH_LOCK_WAIT, default 30 s) instead of failing at once (helper-62: a nightly ingest failed at random)."""
    import subprocess
    import sys
    import time

    from paymatch.errors import PaymatchError
    from paymatch.workspace import Workspace

    w = tmp_path / "w.duckdb"
    Workspace(w).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); time.sleep(1.5); c.close()", str(w)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("PAYMATCH_LOCK_WAIT", "0.2")
        with pytest.raises(PaymatchError, match="cannot open workspace") as refused:
            Workspace(w)
        # the refusal says it waited and how to wait longer (it said only "is another paymatch using it?")
        assert "waited 0.2 s" in str(refused.value) and "PAYMATCH_LOCK_WAIT" in str(refused.value)
        # a caller's own wait (serve's 2 s) is not the variable's: it is not suggested there
        with pytest.raises(PaymatchError, match="cannot open workspace") as refused:
            Workspace(w, lock_wait=0.1999987)
        assert "waited 0.2 s" in str(refused.value) and "PAYMATCH_LOCK_WAIT" not in str(refused.value)
        started = time.monotonic()
        with Workspace(w, lock_wait=20) as ws:
            assert ws.con.execute("SELECT count(*) FROM orders").fetchone() == (0,)
        assert time.monotonic() - started < 15
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_process_leaves_no_lock_behind(tmp_path):
    """A command killed outright (SIGKILL) while it holds the workspace in a transaction: the next one opens it at
    once (DuckDB's lock ends with the process) and finds it as it was before the transaction."""
    import signal
    import subprocess
    import sys

    from paymatch.workspace import Workspace

    w = tmp_path / "w.duckdb"
    Workspace(w).close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "c.execute('BEGIN TRANSACTION'); c.execute(\"INSERT INTO batches (batch_id) VALUES "
                               "('half')\"); print('held', flush=True); time.sleep(60)", str(w)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with Workspace(w, lock_wait=0) as ws:
            assert ws.con.execute("SELECT count(*) FROM batches").fetchone() == (0,)
    finally:
        holder.kill()
        holder.wait()
