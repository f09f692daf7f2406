"""Properties of profile parsing: money decorations never change the fen, line numbers always
point at the row's physical line whatever blank/comment lines surround it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from paymatch.channels.profiles import Profile, parse_with_profile

PROFILE = Profile.model_validate({
    "name": "prop", "channel": "prop_pay",
    "file": {"comment_prefix": "#"},
    "sniff": {"headers": ["单号", "金额"]},
    "columns": {"order_no": "单号", "amount": "金额", "occurred_at": "时间"},
    "type": {"rule": "sign"},
})
DECOR = st.sampled_from(["{}", "¥{}", "￥{}", " {} ", "\t{}", "`{}", "{}\t", '="{}"', "{}元", "CNY{}"])


def yuan(fen: int, commas: bool) -> str:
    """fen as a yuan string, optionally with thousands separators."""
    whole = f"{abs(fen) // 100:,}" if commas else str(abs(fen) // 100)
    return f"{'-' if fen < 0 else ''}{whole}.{abs(fen) % 100:02d}"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**12, 10**12).filter(bool), st.booleans(), DECOR), min_size=1, max_size=8))
def test_decorated_amounts_parse_to_exact_fen(rows):
    lines = ["单号,金额,时间"]
    for i, (fen, commas, decor) in enumerate(rows):
        lines.append(f'O{i},"{decor.format(yuan(fen, commas)).replace(chr(34), chr(34) * 2)}",2026-11-20 10:00:00')
    bill = parse_with_profile(PROFILE, ("\n".join(lines) + "\n").encode(), "p.csv")
    got = bill.transactions.to_pylist()
    assert [r["amount_fen"] for r in got] == [abs(f) for f, _, _ in rows]
    assert [r["type"] for r in got] == ["refund" if f < 0 else "payment" for f, _, _ in rows]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["row", "blank", "comment", "commas"]), min_size=1, max_size=30))
def test_src_line_is_the_physical_line(kinds):
    lines, expect = ["# export", "单号,金额,时间"], []
    for i, kind in enumerate(kinds):
        if kind == "row":
            lines.append(f"O{i},1.00,2026-11-20 10:00:00")
            expect.append((f"O{i}", len(lines)))
        else:
            lines.append({"blank": "", "comment": "# note", "commas": ",,"}[kind])
    bill = parse_with_profile(PROFILE, ("\r\n".join(lines) + "\r\n").encode(), "p.csv")
    assert [(r["order_no"], r["src_line"]) for r in bill.transactions.to_pylist()] == expect
