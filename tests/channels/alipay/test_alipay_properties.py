"""Property: any set of well-formed rows parses back to the same amounts, and its totals tie out."""

from __future__ import annotations

from alipay_billgen import Row, detail_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymatch.channels.alipay import parse


def yuan(fen: int) -> str:
    return ("-" if fen < 0 else "") + f"{abs(fen) // 100}.{abs(fen) % 100:02d}"


rows_st = st.lists(st.tuples(st.integers(1, 10**9), st.booleans(), st.integers(0, 500), st.booleans()),
                   max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows_st)
def test_amounts_survive_and_totals_tie_out(spec):
    rows = []
    for i, (fen, is_refund, fee, huabei) in enumerate(spec):
        sign = -1 if is_refund else 1
        rows.append(Row(f"2019091622001{i:015d}", f"O{i}", biz="退款" if is_refund else "交易",
                        order_amt=yuan(sign * fen), settle=yuan(sign * fen), fee=yuan(-sign * fee),
                        refund_no=f"R{i}" if is_refund else "", remark="花呗" if huabei else "无"))
    tx = parse(detail_bytes(rows), "p.csv").transactions.to_pylist()
    assert [r["amount_fen"] for r in tx] == [fen for fen, *_ in spec]
    assert [r["fee_fen"] for r in tx] == [fee if not refund else -fee for _, refund, fee, _ in spec]
    assert [r["type"] == "refund" for r in tx] == [refund for _, refund, _, _ in spec]
    assert [r["method"] == "huabei" for r in tx] == [hb for *_, hb in spec]
