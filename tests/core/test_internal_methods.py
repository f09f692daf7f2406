"""Internal methods (stored-value balance, points): no channel takes or returns their money."""

from harness import order, refund, run, tx

INTERNAL = ("balance", "points")


def test_an_unpaid_internal_order_is_unpaid_and_a_paid_one_internal():
    o = [order("B1", 5000, channel="balance"), order("P2", 1000, channel="points", status="unpaid"),
         order("P3", 1000, channel="points", status="closed")]
    out = run(o, [], [], internal_methods=INTERNAL)
    assert {k: v["kind"] for k, v in out.items()} == {"P-B1": "internal", "P-P2": "unpaid", "P-P3": "unpaid"}


def test_the_refund_of_an_internal_order_expects_no_channel_refund():
    o = [order("B1", 5000, channel="balance"), order("W1", 5000)]
    r = [refund("RB1", "B1", 5000), refund("RB2", "B1", 100, status="processing"), refund("RW1", "W1", 5000)]
    out = run(o, r, [tx("T1", "W1", 5000)], internal_methods=INTERNAL)
    assert (out["R-RB1"]["kind"], out["R-RB1"]["detail"]) == ("internal", "internal_refund")
    assert out["R-RB2"]["kind"] == "refund_pending"
    assert out["R-RW1"]["kind"] == "refund_order_only"  # a channel order's refund still expects the channel's
    # a channel refund of the internal order all the same: paired as any other
    out = run(o, r[:1], [tx("T9", "B1", 5000, type="refund", refund_no="RB1", refund_id="X9")],
              internal_methods=INTERNAL)
    assert out["R-RB1"]["kind"] == "refund_matched"
