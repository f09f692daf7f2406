"""A duplicate payment or refund counts its successful records, not every record of its order or refund number:
a closed attempt or a failed refund beside two successes is no third success (helper-118: the reason said
"3 successful channel refunds total 100.00" of two refunds of 50.00 and a failed one)."""

import csv

from typer.testing import CliRunner

from paymatch.cli import app

ORDERS = """order_no,channel,amount,status,paid_at
D1,wechat,100.00,paid,2026-11-20 09:00:00
D2,wechat,100.00,refunded,2026-11-20 09:00:00
D3,wechat,100.00,paid,2026-11-20 09:00:00
"""
REFUNDS = """refund_no,order_no,amount,created_at,status
RD2,D2,50.00,2026-11-20 10:00:00,success
"""
TXS = """channel,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,status,occurred_at
wechat,W1,D1,payment,,,100.00,success,2026-11-20 09:00:01
wechat,W1b,D1,payment,,,100.00,success,2026-11-20 09:01:01
wechat,W1c,D1,payment,,,100.00,closed,2026-11-20 09:02:01
wechat,W2,D2,payment,,,100.00,success,2026-11-20 09:00:01
wechat,W2,D2,refund,RD2,CR2a,50.00,success,2026-11-20 10:00:01
wechat,W2,D2,refund,RD2,CR2b,50.00,success,2026-11-20 10:00:02
wechat,W2,D2,refund,RD2,CR2c,50.00,failed,2026-11-20 10:00:03
wechat,W3,D3,payment,,,100.00,success,2026-11-20 09:00:01
wechat,W3b,D3,payment,,,100.00,success,2026-11-20 09:00:02
"""


def _outcomes(tmp_path) -> dict[str, dict]:
    for name, text in (("o.csv", ORDERS), ("r.csv", REFUNDS), ("t.csv", TXS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
                                 "--transactions", str(tmp_path / "t.csv"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_a_duplicate_says_how_many_records_succeeded(tmp_path):
    rows = _outcomes(tmp_path)
    # every record stays in its outcome (conservation): the closed attempt and the failed refund too
    assert [(rows[k]["kind"], rows[k]["channel_rows"], rows[k]["channel_amount_fen"]) for k in ("P-D1", "R-RD2", "P-D3")
            ] == [("duplicate_payment", "3", "20000"), ("duplicate_refund", "3", "10000"), ("duplicate_payment", "2", "20000")]
    assert rows["P-D1"]["reason"] == ("2 channel payments (W1 … W1b) total 200.00 for one order of 100.00; "
                                      "besides 1 attempt that did not succeed (重复支付)")
    assert rows["R-RD2"]["reason"] == ("2 successful channel refunds total 100.00 for one shop refund of 50.00; "
                                       "besides 1 that did not succeed")
    # without such an attempt the reason is as before
    assert rows["P-D3"]["reason"] == "2 channel payments (W3 … W3b) total 200.00 for one order of 100.00 (重复支付)"


def test_several_payments_or_refunds_without_a_shop_row_are_not_one_of_their_sum(tmp_path):
    # two successful payments of an order number the shop does not have read "channel success payment 20.00": no
    # payment of 20.00 exists; two refunds of one refund number on two channels likewise
    txs = """channel,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,status,occurred_at
wechat,W1,Q1,payment,,,10.00,success,2026-11-20 09:00:01
wechat,W2,Q1,payment,,,10.00,success,2026-11-20 09:00:02
wechat,W3,Q1,payment,,,10.00,closed,2026-11-20 09:00:03
wechat,W4,Q2,payment,,,10.00,success,2026-11-20 09:00:01
wechat,W4,Q2,refund,RQ,CR1,5.00,success,2026-11-20 10:00:01
alipay,A4,Q2,refund,RQ,CR2,5.00,success,2026-11-20 10:00:02
"""
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(txs, encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                 str(tmp_path / "t.csv"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert [(rows[k]["kind"], rows[k]["channel_rows"], rows[k]["channel_amount_fen"]) for k in ("P-Q1", "P-Q2", "R-RQ")
            ] == [("channel_only", "3", "2000"), ("channel_only", "1", "1000"), ("refund_channel_only", "2", "1000")]
    assert rows["P-Q1"]["reason"] == ("2 successful channel payments (W1 … W2) total 20.00 for order Q1 that the shop "
                                      "does not have; besides 1 attempt that did not succeed (渠道单边/平台漏单)")
    assert rows["R-RQ"]["reason"] == ("2 successful channel refunds (CR1 … CR2) total 10.00 the shop never recorded "
                                      "(退款渠道单边)")
    # one payment reads as before
    assert rows["P-Q2"]["reason"] == ("channel success payment 10.00 for order Q2 that the shop does not have "
                                      "(渠道单边/平台漏单)")
