"""WeChat bills as merchants really receive them, beyond the layouts the API reference shows.

Each test builds its bill here (synthetic values) in a structure seen in public samples:
free text with commas (WeChat quotes nothing: parsers in the wild split on ",`").
"""

from __future__ import annotations

import pytest
from wechat_billgen import payment, refund, summary_values, trade_bill

from paymatch.channels.wechat.bill import parse
from paymatch.errors import LoadError


def _with_text(row: dict, name: str, attach: str) -> dict:
    return {**row, "商品名称": name, "商户数据包": attach}


def test_commas_inside_product_name_and_attach_are_one_value():
    rows = [_with_text(payment(1, 2000, coupon_fen=150, fee_fen=11), "拿铁, 大杯,去冰", '{"store":"S01","table":7}'),
            payment(2, 10000, fee_fen=38),
            _with_text(refund(2, 3000, fee_fen=-11), "套餐,A", "a,b,c")]
    bill = parse(trade_bill(rows, "ALL", crlf=True), "all.csv")
    got = bill.transactions.to_pylist()
    assert [r["src_line"] for r in got] == [2, 3, 4]
    assert [(r["order_no"], r["type"], r["amount_fen"], r["settle_amount_fen"], r["fee_fen"]) for r in got] == [
        ("ORD000001", "payment", 2000, 1850, 11), ("ORD000002", "payment", 10000, 10000, 38),
        ("ORD000002", "refund", 3000, 3000, -11)]
    assert bill.totals["count"] == 3 and bill.totals["settle_fen"] == 11850


def test_commas_in_text_still_report_a_truncated_row_and_a_bad_value_by_line():
    rows = [_with_text(payment(1, 2000), "拿铁,大杯", ""), payment(2, 500), payment(3, 700)]
    data = trade_bill(rows, "SUCCESS").decode()
    lines = data.split("\n")
    lines[2] = lines[2].rsplit(",", 2)[0]  # row 2 (line 3) loses its last two fields
    with pytest.raises(LoadError) as err:
        parse("\n".join(lines).encode(), "s.csv")
    assert [(p.line, "wrong number of fields" in p.message) for p in err.value.problems] == [(3, True)]

    bad = trade_bill(rows, "SUCCESS").replace(b"`20.00", b"`20.0x", 1)
    with pytest.raises(LoadError) as err:
        parse(bad, "s.csv")
    assert {(p.line, p.field, p.value) for p in err.value.problems} == {(2, "应结订单金额", "20.0x")}


def test_totals_are_still_checked_when_text_has_commas():
    rows = [_with_text(payment(1, 2000), "拿铁,大杯", "x,y")]
    wrong = summary_values(rows)
    wrong[1] = "20.01"
    with pytest.raises(LoadError) as err:
        parse(trade_bill(rows, "SUCCESS", summary=wrong), "s.csv")
    assert [(p.line, p.field) for p in err.value.problems] == [(4, "应结订单总金额")]


def test_fundflow_note_with_commas():
    text = ("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n"
            "`2026-03-01 10:00:00,`B1,`F1,`退款,`退款,`支出,`5.00,`95.00,`1900000109API,`退款总金额5.00元,含手续费0.03元,`V1\n"
            "`2026-03-01 11:00:00,`B2,`F2,`交易,`交易,`收入,`20.00,`115.00,`1900000109API,`,`V2\n"
            "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`2,`1,`20.00,`1,`5.00\n")
    bill = parse(text.encode(), "ff.csv")
    notes = bill.extra.column("note").to_pylist()
    assert notes == ["退款总金额5.00元,含手续费0.03元", ""]
    assert bill.extra.column("amount_fen").to_pylist() == [500, 2000]
