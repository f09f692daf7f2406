"""A payment's channel, id and attribution come from what succeeded (helper-46): a closed attempt on another channel
says nothing about how the order was paid, and a refund is attributed to one whole order."""

from __future__ import annotations

from tests.core.harness import order, refund, run, tx


def test_a_closed_attempt_on_another_channel_is_no_channel_mismatch():
    out = run([order("C1", 10000, channel="wechat"), order("C3", 10000, channel="alipay"),
               order("C2", 10000, channel="wechat")],
              [],
              [tx("ALI1", "C1", 10000, channel="alipay", status="closed"), tx("TXC", "C1", 10000),
               tx("WX3", "C3", 10000, status="closed"), tx("ALI3", "C3", 10000, channel="alipay"),
               tx("ALI2", "C2", 10000, channel="alipay", status="closed"), tx("TXC2", "C2", 10000),
               tx("TXC3", "C2", 10000)])
    c1, c3, c2 = out["P-C1"], out["P-C3"], out["P-C2"]
    assert (c1["kind"], c1["channel"], c1["channel_tx_id"]) == ("matched", "wechat", "TXC")
    assert (c3["kind"], c3["channel"], c3["channel_tx_id"]) == ("matched", "alipay", "ALI3")
    # a double payment on one channel beside a closed attempt on another: not "on two channels"
    assert (c2["kind"], c2["channel"], c2["detail"]) == ("duplicate_payment", "wechat", None)
    assert (c2["channel_tx_id"], c2["channel_tx_id_last"]) == ("TXC2", "TXC3")
    # every record is still counted in its outcome
    assert (c1["channel_rows"], c3["channel_rows"], c2["channel_rows"]) == (2, 2, 3)


def test_a_refund_of_a_number_two_merchants_use_takes_one_whole_order():
    """Under key_scope a refund naming no merchant, of an order number two merchant numbers both use, is attributed
    to one of the two orders (the lowest merchant number's): store, method and amount all of that order."""
    out = run([order("K1", 3000, channel="alipay", store="S9", merchant="M1"),
               order("K1", 10000, channel="wechat", store="S1", merchant="M2")],
              [refund("RK", "K1", 2000)], [], key_scope=("merchant_id",))
    rk = out["R-RK"]
    assert (rk["kind"], rk["merchant_id"], rk["store_id"], rk["order_channel"]) == (
        "refund_order_only", "M1", "S9", "alipay")


def test_a_closed_attempt_before_the_window_end_leaves_the_order_pending():
    """Paid at 23:58 after an attempt closed at 23:57 on the day's bill: the payment is on the next bill, so the order is
    pending_cross_day (a status_mismatch before, though the next day and a range both match it)."""
    import datetime as dt

    late = dt.datetime(2026, 11, 20, 15, 58)  # naive UTC: 23:58 Asia/Shanghai
    out = run([order("L1", 5000, at=late), order("L2", 5000, at=late - dt.timedelta(hours=2))], [],
              [tx("X1", "L1", 5000, status="closed", at=late - dt.timedelta(minutes=1)),
               tx("X2", "L2", 5000, status="closed", at=late - dt.timedelta(hours=2))])
    assert (out["P-L1"]["kind"], out["P-L1"]["detail"], out["P-L1"]["channel_rows"]) == ("pending_cross_day", "late", 1)
    assert out["P-L2"]["kind"] == "status_mismatch"  # paid two hours before the end: no payment is a break


def test_a_refund_of_nothing_expects_no_channel_refund():
    out = run([order("Z1", 0)], [refund("RZ", "Z1", 0), refund("RZ2", "Z1", 100)], [])
    assert (out["R-RZ"]["kind"], out["R-RZ"]["detail"]) == ("internal", "zero_refund")
    assert out["R-RZ2"]["kind"] == "refund_order_only"
