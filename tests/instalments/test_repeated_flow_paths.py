"""reconcile --instalments given more than once: every path is read (it kept only the last one).

Typer keeps the last value of an option that is not a list, so `--instalments oct.csv --instalments nov.csv` read
November's export alone: October's deductions were silently left out and their periods reported
instalment_missing. `ingest --instalments` was already repeatable; now `reconcile` is too, in file and workspace
runs, and two overlapping exports read a row they both list once.
"""

import csv
import json

from typer.testing import CliRunner

from paymatch.cli import app

from tests.instalments.helpers import FLOW_HEADER, PAYSCORE_ORDER_CSV, TXS_HEADER

runner = CliRunner()
ORDERS, TXS, HEAD = PAYSCORE_ORDER_CSV, TXS_HEADER, FLOW_HEADER
SEP = HEAD + ("wechat_payscore,P1,1,3,100.00,0,success,2026-09-10 10:00:00\n"
              "wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00\n")
# November's export lists October's deduction again (overlapping exports) and November's own
NOV = HEAD + ("wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00\n"
              "wechat_payscore,P1,3,3,100.00,0,success,2026-11-10 10:00:00\n")


def _files(tmp_path):
    for name, text in (("orders.csv", ORDERS), ("tx.csv", TXS), ("sep.csv", SEP), ("nov.csv", NOV)):
        (tmp_path / name).write_text(text, encoding="utf-8")


def _outcomes(out):
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}


def test_file_run_reads_every_instalments_path(tmp_path):
    _files(tmp_path)
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), "--instalments", str(tmp_path / "sep.csv"), "--instalments",
                            str(tmp_path / "nov.csv"), "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert _outcomes(tmp_path / "out") == {"I-P1-1": "instalment_matched", "I-P1-2": "instalment_matched",
                                           "I-P1-3": "instalment_matched"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["conservation"] is True
    assert summary["control_totals"]["instalment_flows"]["input_rows"] == 3  # the repeated row read once


def test_workspace_run_stores_every_instalments_path(tmp_path):
    _files(tmp_path)
    w = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv")]).exit_code == 0
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--from", "2026-09-01", "--to", "2026-11-20",
                            "--instalments", str(tmp_path / "sep.csv"), "--instalments", str(tmp_path / "nov.csv"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert _outcomes(tmp_path / "out") == {"I-P1-1": "instalment_matched", "I-P1-2": "instalment_matched",
                                           "I-P1-3": "instalment_matched"}
