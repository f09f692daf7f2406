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
    # a double payment on one channel beside a closed attempt on another: not "on two channels"; the attempt is
    # counted apart (its reason says 2 payments besides 1 attempt, helper-118)
    assert (c2["kind"], c2["channel"], c2["detail"]) == ("duplicate_payment", "wechat", "attempts:1")
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


def test_an_internal_methods_own_journal_matches_and_a_failed_attempt_is_no_payment():
    """(helper-47) A points order with the points ledger's record (a profile names the record's channel points) is
    matched, not channel_mismatch; a balance order after a closed WeChat attempt is internal (the method's channel),
    not status_mismatch; a balance order a channel really took money for stays channel_mismatch."""
    out = run([order("PT1", 500, channel="points"), order("B1", 3000, channel="balance"),
               order("B3", 3000, channel="balance")], [],
              [tx("PTX1", "PT1", 500, channel="points"), tx("W1", "B1", 3000, status="closed"), tx("W3", "B3", 3000)],
              internal_methods=("balance", "points"))
    assert (out["P-PT1"]["kind"], out["P-PT1"]["channel"]) == ("matched", "points")
    assert (out["P-B1"]["kind"], out["P-B1"]["channel"], out["P-B1"]["channel_rows"]) == ("internal", "balance", 1)
    assert (out["P-B3"]["kind"], out["P-B3"]["detail"]) == ("channel_mismatch", "internal_method_paid")


def test_settlement_and_fees_are_the_successful_records_and_none_is_not_zero():
    """(helper-47) An order's settle amount and fee are its successful records' (a closed attempt's never moved), and
    stay empty when the bill gives none (Narwhals summed them to 0: the report's net settlement lost the payment)."""
    a, b = tx("A1", "S1", 1000, status="closed"), tx("A2", "S1", 1000)
    c, d = dict(tx("C1", "S2", 2000, status="closed"), settle_amount_fen=None, fee_fen=None), dict(
        tx("C2", "S2", 2000), settle_amount_fen=None, fee_fen=None)
    out = run([order("S1", 1000), order("S2", 2000)], [], [dict(a, settle_amount_fen=990, fee_fen=9), b, c, d])
    assert (out["P-S1"]["settle_amount_fen"], out["P-S1"]["fee_fen"]) == (b["settle_amount_fen"], b["fee_fen"])
    assert (out["P-S2"]["settle_amount_fen"], out["P-S2"]["fee_fen"]) == (None, None)


def test_a_record_of_a_method_settling_through_the_orders_channel_is_no_mismatch():
    """(helper-47) An alipay order whose record names huabei (Huabei settles through Alipay) is matched; a wechat
    record for it is still channel_mismatch."""
    out = run([order("H4", 1000, channel="alipay"), order("H6", 1000, channel="alipay")], [],
              [tx("A4", "H4", 1000, channel="huabei"), tx("W6", "H6", 1000, channel="wechat")])
    assert out["P-H4"]["kind"] == "matched" and out["P-H6"]["kind"] == "channel_mismatch"
