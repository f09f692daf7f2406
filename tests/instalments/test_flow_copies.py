"""A deduction one export lists twice (a double charge) stays two rows when another export lists it once.

Overlapping exports deliver a row again, and a row an earlier file lists with the same values is read once. But
November's export listing period 2 twice (the channel charged it twice) beside October's export listing it once
lost the second charge when October's came first: both copies equalled the stored row, so neither was stored and
the instalment_duplicate vanished; given November's first, it stayed. Now a later file's n-th copy of a row is the
n-th copy read before: the file listing a row most often decides how many there are, whichever order the files
come in, in file runs and in a workspace alike.
"""

import csv

import pytest
from typer.testing import CliRunner

from paymatch.cli import app

from tests.instalments.helpers import FLOW_HEADER, PAYSCORE_ORDER_CSV, TXS_HEADER

runner = CliRunner()
ORDERS, TXS, HEAD = PAYSCORE_ORDER_CSV, TXS_HEADER, FLOW_HEADER
P2 = "wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00\n"
OCT = HEAD + "wechat_payscore,P1,1,3,100.00,0,success,2026-09-10 10:00:00\n" + P2
NOV = HEAD + P2 + P2 + "wechat_payscore,P1,3,3,100.00,0,success,2026-11-10 10:00:00\n"
WANT = {"I-P1-1": ("instalment_matched", "10000"), "I-P1-2": ("instalment_matched", "10000"),
        "I-P1-2#2": ("instalment_duplicate", "10000"), "I-P1-3": ("instalment_matched", "10000")}


def _files(tmp_path):
    for name, text in (("orders.csv", ORDERS), ("tx.csv", TXS), ("oct.csv", OCT), ("nov.csv", NOV)):
        (tmp_path / name).write_text(text, encoding="utf-8")


def _outcomes(out):
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return {r["outcome_id"]: (r["kind"], r["channel_amount_fen"]) for r in csv.DictReader(f)}


@pytest.mark.parametrize("order", [("oct.csv", "nov.csv"), ("nov.csv", "oct.csv")])
def test_file_run_keeps_a_double_charge_whichever_export_comes_first(tmp_path, order):
    _files(tmp_path)
    flows = [a for name in order for a in ("--instalments", str(tmp_path / name))]
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), *flows, "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert _outcomes(tmp_path / "out") == WANT


@pytest.mark.parametrize("order", [("oct.csv", "nov.csv"), ("nov.csv", "oct.csv")])
def test_workspace_keeps_a_double_charge_whichever_export_is_stored_first(tmp_path, order):
    _files(tmp_path)
    w = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv")]).exit_code == 0
    for name in order:
        r = runner.invoke(app, ["ingest", "--workspace", w, "--instalments", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--from", "2026-09-01", "--to", "2026-11-20",
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert _outcomes(tmp_path / "out") == WANT
    # the same files again store nothing
    for name in order:
        r = runner.invoke(app, ["ingest", "--workspace", w, "--instalments", str(tmp_path / name)])
        assert r.exit_code == 0 and "already loaded" in r.output, r.output
