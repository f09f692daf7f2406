"""A deduction for a per-period order that was closed (cancelled after its first period) says so.

The order took no money at the sale (closed), so it has no plan and the payment match calls it unpaid; the
channel's deduction for it is instalment_unexpected. Its reason said "no per-period instalment order with this
order_no", sending staff looking for an order that is there: now it names the order's state and what to do.
"""

import csv

from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
C1,S1,M1,wechat_payscore,300.00,closed,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
"""
TXS = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
       "occurred_at,bill_date,method\n")
FLOWS = """channel,order_no,period_no,periods,amount,fee,status,occurred_at
wechat_payscore,C1,1,3,100.00,0,success,2026-09-10 10:00:00
wechat_payscore,X9,1,3,100.00,0,success,2026-09-10 10:00:00
"""


def test_deduction_for_a_closed_order_names_its_state(tmp_path):
    for name, text in (("orders.csv", ORDERS), ("tx.csv", TXS), ("flows.csv", FLOWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), "--instalments", str(tmp_path / "flows.csv"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert rows["P-C1"]["kind"] == "unpaid"
    c1 = rows["I-C1-1"]
    assert (c1["kind"], c1["channel_amount_fen"], c1["channel_rows"]) == ("instalment_unexpected", "10000", "1")
    assert c1["reason"].startswith("period 1 deducted for an order that is closed")
    # an order number the shop does not have at all keeps its reason
    assert rows["I-X9-1"]["reason"] == "no per-period instalment order with this order_no"
