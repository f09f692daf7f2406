"""Two stored flows of one period from the same file name and line: a flow export downloaded again under the same
name with a row changed (the deduction's time corrected) is stored beside the first (``Workspace.ingest_flows``:
another value, another row). Both were the period's flow (slot 0: the key was file and line alone) and both got the
outcome id I-<order>-<period>: two outcomes of one id, the control totals off, the workspace run refused."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
from typer.testing import CliRunner

from paymatch.cli import app

from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.match import match_instalments
from tests.instalments.helpers import (FLOW_HEADER, PAYSCORE_ORDER_CSV, SH, TXS_HEADER, duck, flow, flows_table,
                                       order, orders_table, rows)

T0 = dt.datetime(2026, 9, 10, 10, 0, tzinfo=SH)


def _match(flows):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    o = duck(con, "orders", orders_table([order("P1", "wechat_payscore", 30000, 3, T0)]))
    f = duck(con, "flows", flows_table(flows))
    return rows(match_instalments(o, f, DEFAULT_CONFIG, dt.date(2026, 9, 30)))


def test_a_period_listed_on_the_same_file_line_twice_is_one_flow_and_a_duplicate():
    later = dt.datetime(2026, 9, 10, 13, 0, tzinfo=SH)
    got = _match([flow("P1", 1, 3, 10000, later, line=2), flow("P1", 1, 3, 10000, T0, line=2)])
    ids = [r["outcome_id"] for r in got]
    assert len(ids) == len(set(ids)), ids
    kinds = {r["outcome_id"]: (r["kind"], r["occurred_at"]) for r in got if r["period_no"] == 1}
    # the earlier deduction is the period's flow, whichever order the rows come in; the other is the duplicate
    assert kinds == {"I-P1-1": ("instalment_matched", T0), "I-P1-1#2": ("instalment_duplicate", later)}
    again = _match([flow("P1", 1, 3, 10000, T0, line=2), flow("P1", 1, 3, 10000, later, line=2)])
    assert [(r["outcome_id"], r["kind"]) for r in again] == [(r["outcome_id"], r["kind"]) for r in got]


def test_workspace_run_over_an_export_downloaded_again_with_a_row_changed(tmp_path):
    w, out = str(tmp_path / "w.duckdb"), tmp_path / "out"
    (tmp_path / "orders.csv").write_text(PAYSCORE_ORDER_CSV, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(TXS_HEADER, encoding="utf-8")
    flows = tmp_path / "flows.csv"
    runner = CliRunner()
    for at in ("2026-09-10 10:00:00", "2026-09-10 13:00:00"):  # the same name, period 1's time changed
        flows.write_text(FLOW_HEADER + f"wechat_payscore,P1,1,3,100.00,0,success,{at}\n", encoding="utf-8")
        r = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"),
                                "--transactions", str(tmp_path / "tx.csv"), "--instalments", str(flows)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-09-30", "--as-of", "2026-09-30",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output  # (before: "control totals do not tie out; nothing was stored")
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        got = {x["outcome_id"]: x["kind"] for x in csv.DictReader(f) if x["outcome_id"].startswith("I-P1-1")}
    assert got == {"I-P1-1": "instalment_matched", "I-P1-1#2": "instalment_duplicate"}
    assert json.loads((out / "summary.json").read_text())["conservation"] is True
