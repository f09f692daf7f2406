"""Property: any generated WeChat bill parses back to exactly the amounts and kinds it was built from."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechat_billgen import payment, refund, trade_bill

from paymatch.channels.wechat.bill import parse

_row = st.one_of(
    st.tuples(st.just("pay"), st.integers(1, 10**9), st.integers(0, 10**4), st.integers(0, 10**5)),
    st.tuples(st.just("ref"), st.integers(1, 10**9), st.just(0), st.integers(-10**5, 0)),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row, max_size=30), st.sampled_from(["ALL", "REFUND"]), st.booleans())
def test_roundtrip(spec, kind, crlf):
    if kind == "REFUND":
        spec = [s for s in spec if s[0] == "ref"]
    rows = []
    for n, (what, amt, coupon, fee) in enumerate(spec):
        if what == "pay":
            rows.append(payment(n, amt, coupon_fen=min(coupon, amt), fee_fen=fee))
        else:
            rows.append(refund(n, amt, fee_fen=fee))
    bill = parse(trade_bill(rows, kind, crlf=crlf, bom=crlf), "prop.csv")
    got = bill.transactions.to_pylist()
    assert len(got) == len(rows)
    for r, g, (what, amt, coupon, fee) in zip(rows, got, spec):
        assert g["order_no"] == r["商户订单号"] and g["fee_fen"] == fee and g["amount_fen"] == amt
        assert g["type"] == ("payment" if what == "pay" else "refund")
        assert g["settle_amount_fen"] == (amt - min(coupon, amt) if what == "pay" else amt)
    assert bill.totals["count"] == len(rows)
