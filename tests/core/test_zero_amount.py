"""A paid order of 0.00 (fully discounted): no channel takes a payment of nothing, so none is expected."""

import csv
import datetime as dt

from harness import order, run, tx
from typer.testing import CliRunner

from paymatch.cli import app


def test_a_paid_order_of_nothing_expects_no_channel_record():
    late = dt.datetime(2026, 11, 20, 15, 58)  # naive UTC: 23:58 Asia/Shanghai, in the grace before the window end
    o = [order("Z1", 0), order("Z2", 0, at=late), order("Z3", 0), order("Z4", 0, status="unpaid"), order("N1", 500)]
    out = run(o, [], [tx("T3", "Z3", 1)])
    assert {k: (v["kind"], v["detail"]) for k, v in out.items()} == {
        "P-Z1": ("internal", "zero_amount"), "P-Z2": ("internal", "zero_amount"),  # never pending: nothing will come
        "P-Z3": ("amount_mismatch", None),  # the channel did take 0.01
        "P-Z4": ("unpaid", None),
        "P-N1": ("order_only", None)}


def test_its_reason_says_so(tmp_path):
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nZ1,wechat,0.00,paid,2026-11-20 10:00:00\n",
                                    encoding="utf-8")
    (tmp_path / "t.csv").write_text("channel,channel_tx_id,order_no,type,amount,status,occurred_at\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                 str(tmp_path / "t.csv"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["kind"], row["reason"]) == ("internal", "order of 0.00 (fully discounted): nothing to collect; "
                                                        "no external record expected")


def test_the_reason_of_an_internal_refund(tmp_path):
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nB1,balance,50.00,refunded,2026-11-20 10:00:00\n",
                                    encoding="utf-8")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\nRB1,B1,50.00,2026-11-20 11:00:00,success\n",
                                    encoding="utf-8")
    (tmp_path / "t.csv").write_text("channel,channel_tx_id,order_no,type,amount,status,occurred_at\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
                                 "--transactions", str(tmp_path / "t.csv"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert (rows["R-RB1"]["kind"], rows["R-RB1"]["reason"]) == (
        "internal", "shop refund 50.00 of an order paid by internal method balance: paid back there; no external "
                    "refund expected")
    assert rows["P-B1"]["kind"] == "internal"
