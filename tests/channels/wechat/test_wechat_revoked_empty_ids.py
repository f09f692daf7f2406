"""A payment revoked after its success (交易状态 REVOKED, the money in the refund columns) whose 商户退款单号 (or
微信退款单号) is printed empty, a bare backtick, is a refund without a refund number, as one printing `0 is.

Read as the refund number '' it became the outcome `R-` (not `R-~wechat:<id>`), two such rows shared that id, and
it was never paired with the shop's refund of its order and amount (audit_round6)."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner
from wechat_billgen import payment, trade_bill

from paymatch.channels.wechat.bill import parse
from paymatch.cli import app


def _revoked(n: int, fen: int, refund_no: str, refund_id: str) -> dict:
    row = payment(n, 0, status="REVOKED", time="2026-11-20 12:10:00")
    row.update({"微信退款单号": refund_id, "商户退款单号": refund_no, "退款金额": fen, "申请退款金额": fen})
    return row


def _bill() -> bytes:
    return trade_bill([payment(1, 10000), _revoked(1, 10000, "", "50300000000000000000000001"),
                       payment(2, 5000), _revoked(2, 5000, "", ""), payment(3, 700), _revoked(3, 700, "0", "0")])


def test_empty_refund_ids_of_a_revoked_payment_are_none():
    rows = [r for r in parse(_bill(), "wx.csv").transactions.to_pylist() if r["type"] == "refund"]
    assert [(r["order_no"], r["refund_no"], r["channel_refund_id"]) for r in rows] == [
        ("ORD000001", None, "50300000000000000000000001"), ("ORD000002", None, None), ("ORD000003", None, None)]


def test_revoked_payments_get_their_own_outcomes_and_pair_with_the_shop_refund(tmp_path: Path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "1900000109_20261120_ALL.csv").write_bytes(_bill())
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        + "".join(f"ORD00000{n},S1,1900000109,wechat,{a},refunded,2026-11-20 10:00:00,2026-11-20 10:00:00,,,0\n"
                  for n, a in ((1, "100.00"), (2, "50.00"), (3, "7.00"))), encoding="utf-8")
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("refund_no,order_no,amount,created_at,status\nRF1,ORD000001,100.00,2026-11-20 12:09:00,success\n",
                       encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(orders), "--refunds", str(refunds),
                                 "--bills", str(tmp_path / "bills"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = {row["outcome_id"]: row["kind"] for row in csv.DictReader((out / "outcomes.csv").open(encoding="utf-8"))}
    assert got == {"P-ORD000001": "matched", "P-ORD000002": "matched", "P-ORD000003": "matched",
                   "R-RF1": "refund_matched",  # paired by order and amount
                   "R-~wechat:4200000000000000000000000002": "refund_channel_only",  # no refund id: the tx id
                   "R-~wechat:4200000000000000000000000003": "refund_channel_only"}
