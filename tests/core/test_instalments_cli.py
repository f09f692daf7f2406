"""reconcile --instalments: per-period orders leave the payment match and get one outcome per period."""

import csv
import json

from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.01,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
P2,S1,M1,alipay_pay_later,600.00,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U2,gold,6
H1,S1,M1,huabei,120.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,U3,gold,3
W1,S1,M1,wechat,10.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
alipay,M1,A1,H1,payment,,,120.00,0.96,120.00,success,2026-11-20 10:00:06,2026-11-20,huabei
wechat,M1,W1X,W1,payment,,,10.00,0.06,10.00,success,2026-11-20 11:00:06,2026-11-20,wechat
"""
FLOWS = """channel,order_no,period_no,periods,amount,fee,status,occurred_at
wechat_payscore,P1,1,3,100.01,0,success,2026-09-10 10:00:00
wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00
wechat_payscore,P1,3,3,99.00,0,success,2026-11-10 10:00:00
alipay_pay_later,P2,1,6,100.00,0,success,2026-09-10 10:00:00
alipay_pay_later,P2,2,6,100.00,0,success,2026-10-10 10:00:00
"""


def _reconcile(tmp_path, orders=ORDERS, txs=TXS, flows=FLOWS) -> dict[str, dict]:
    """Write the three files, run `reconcile --instalments … --as-of 2026-11-20`; outcomes by id."""
    for name, text in (("orders.csv", orders), ("tx.csv", txs), ("flows.csv", flows)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), "--instalments", str(tmp_path / "flows.csv"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_instalment_periods_in_outcomes(tmp_path):
    rows = _reconcile(tmp_path)
    kinds = {k: (v["kind"], v["period_no"]) for k, v in rows.items()}
    assert kinds["P-W1"] == ("matched", "") and kinds["P-H1"] == ("matched", "")  # huabei: paid up front
    assert "P-P1" not in kinds and "P-P2" not in kinds  # per-period orders left to their plan
    assert kinds["I-P1-1"] == ("instalment_matched", "1")
    assert kinds["I-P1-3"] == ("instalment_amount_mismatch", "3")
    assert kinds["I-P2-3"] == ("instalment_missing", "3")        # due 2026-11-10, not received
    assert kinds["I-P2-4"] == ("instalment_not_due", "4")
    assert rows["I-P2-3"]["reason"] and rows["I-P2-3"]["due_date"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    ct = summary["control_totals"]
    assert ct["instalment_flows"]["input_rows"] == 5 and ct["orders"]["input_rows"] == 2
    assert summary["conservation"] is True, ct


def test_workspace_run_and_instalment_report(tmp_path):
    from openpyxl import load_workbook

    for name, text in (("orders.csv", ORDERS), ("tx.csv", TXS), ("flows.csv", FLOWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"),
                               "--transactions", str(tmp_path / "tx.csv")]).exit_code == 0
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--instalments",
                            str(tmp_path / "flows.csv"), "--as-of", "2026-11-20"])
    assert r.exit_code == 0, r.output
    xlsx = tmp_path / "inst.xlsx"
    r = runner.invoke(app, ["report", "instalments", "--workspace", w, "--from", "2026-11-01", "--to", "2026-11-30",
                            "--as-of", "2026-11-20", "--excel", str(xlsx), "--lang", "en"])
    assert r.exit_code == 0, r.output
    sheet = load_workbook(xlsx, read_only=True)["Instalments"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    got = {(r[header.index("Channel")], r[header.index("Term")]): r for r in body}
    # independently: P2 (alipay_pay_later, 600.00 in 6) has periods 3..6 open = 400.00, period 3 overdue;
    # P1 (wechat_payscore, 3): periods 1-2 received, period 3 short-paid (99.00) so still open; H1 (huabei 120.00 in 3, paid up front) settles on due dates
    p2 = got[("alipay_pay_later", 6)]
    assert p2[header.index("Outstanding periods")] == 4 and p2[header.index("Outstanding")] == 400.00
    assert p2[header.index("Overdue periods")] == 1 and p2[header.index("Overdue")] == 100.00
    p1 = got[("wechat_payscore", 3)]
    assert p1[header.index("Outstanding periods")] == 1 and p1[header.index("Overdue periods")] == 1


def test_plan_dates_follow_the_shanghai_payment_day(tmp_path):
    # paid 02:00 Asia/Shanghai = the previous day in UTC: the plan starts on the local day (run selections hand
    # the matcher naive UTC times; read in the session's zone they had moved every due date a day back)
    orders = ORDERS.splitlines()[0] + "\nE1,S1,M1,wechat_payscore,300.00,paid,2026-09-10 02:00:00,2026-09-10 02:00:00,,,3\n"
    flows = FLOWS.splitlines()[0] + "\nwechat_payscore,E1,1,3,100.00,0,success,2026-09-10 02:00:01\n"
    rows = _reconcile(tmp_path, orders, TXS.splitlines()[0] + "\n", flows)
    due = {row["period_no"]: (row["kind"], row["due_date"]) for row in rows.values()}
    assert due == {"1": ("instalment_matched", "2026-09-10"), "2": ("instalment_missing", "2026-10-10"),
                   "3": ("instalment_missing", "2026-11-10")}
