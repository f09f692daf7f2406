"""WeChat bills as merchants really receive them, beyond the layouts the API reference shows.

Each test builds its bill here (synthetic values) in a structure seen in public samples:
free text with commas (WeChat quotes nothing: parsers in the wild split on ",`"), and the older
普通结算对账单 layout (子商户号/总金额/企业红包金额 or 代金券或立减优惠金额, summary 总交易额...) that
merchants without 免充值券 settlement still receive.
"""

from __future__ import annotations

import datetime as dt

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


@pytest.mark.parametrize("counts,ok", [(("2.0", "1.0", "1.00"), True), (("2", "1", "1"), True),
                                       (("2.5", "1", "1"), False), (("2.", "1", "1"), False)])
def test_fundflow_counts_printed_with_zero_decimals(counts, ok):
    """The fund-flow bill in WeChat Pay's documentation prints its counts as `20.0,`17.0: a whole number is a count
    however many zero decimals it has; 2.5 is not."""
    n, i, o = counts
    text = ("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n"
            "`2026-03-01 10:00:00,`B1,`F1,`退款,`退款,`支出,`5.00,`95.00,`1900000109API,`,`V1\n"
            "`2026-03-01 11:00:00,`B2,`F2,`交易,`交易,`收入,`20.00,`115.00,`1900000109API,`,`V2\n"
            f"资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`{n},`{i},`20.00,`{o},`5.00\n")
    if ok:
        assert parse(text.encode(), "ff.csv").extra.column("amount_fen").to_pylist() == [500, 2000]
    else:
        with pytest.raises(LoadError) as err:
            parse(text.encode(), "ff.csv")
        assert "not a count" in str(err.value)


# --- 普通结算对账单 (legacy layout) ------------------------------------------------------------------

_LEGACY_COMMON = "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,{c}"
_LEGACY_TAIL = {
    "ALL": ",微信退款单号,商户退款单号,退款金额,{c}退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率",
    "SUCCESS": ",商品名称,商户数据包,手续费,费率",
    "REFUND": ",退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,{c}退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率",
}


def _legacy(kind: str, rows: list[dict], totals: list[str], *, coupon: str = "企业红包") -> bytes:
    """A 普通结算 bill; ``coupon`` is the vintage's coupon wording (企业红包 or 代金券或立减优惠)."""
    header = (_LEGACY_COMMON + _LEGACY_TAIL[kind]).format(c=coupon + "金额").replace("金额退款金额", "退款金额")
    names = header.split(",")
    lines = [header] + [",".join("`" + r.get(n, "") for n in names) for r in rows]
    lines += [f"总交易单数,总交易额,总退款金额,总{coupon}退款金额,手续费总金额", ",".join("`" + v for v in totals)]
    return ("\r\n".join(lines) + "\r\n").encode()


def _pay(n: int, total: str, fee: str, sub: str = "0") -> dict:
    return {"交易时间": f"2017-07-14 1{n}:40:49", "公众账号ID": "wx00000000000000aa", "商户号": "1200000001",
            "子商户号": sub, "微信订单号": f"40000120012017071407{n:08d}", "商户订单号": f"LG{n}", "用户标识": "oU",
            "交易类型": "NATIVE", "交易状态": "SUCCESS", "付款银行": "CFT", "货币种类": "CNY", "总金额": total,
            "企业红包金额": "0.00", "代金券或立减优惠金额": "0.00", "微信退款单号": "0", "商户退款单号": "0",
            "退款金额": "0.00", "企业红包退款金额": "0.00", "代金券或立减优惠退款金额": "0.00", "商品名称": "充值",
            "手续费": fee, "费率": "0.60%"}


def _ref(n: int, amount: str, fee: str, sub: str = "0") -> dict:
    return {**_pay(n, "0.00", fee, sub), "交易状态": "REFUND", "微信退款单号": f"20000120012017071410{n:08d}",
            "商户退款单号": f"LG{n}-R", "退款金额": amount, "退款类型": "ORIGINAL", "退款状态": "SUCCESS",
            "退款申请时间": "2017-07-15 09:00:00", "退款成功时间": "2017-07-15 09:00:03"}


def test_legacy_all_bill_is_read_and_ties_out():
    rows = [_pay(1, "150.00", "0.90000"), _pay(2, "30.00", "0.18000", sub="1200000099"),
            _ref(2, "10.00", "-0.06000", sub="1200000099")]
    bill = parse(_legacy("ALL", rows, ["3", "180.00", "10.00", "0.00", "1.02000"]), "old_all.csv")
    assert bill.kind == "trade_all" and bill.bill_date == dt.date(2017, 7, 14)
    got = [(r["merchant_id"], r["order_no"], r["type"], r["refund_no"], r["amount_fen"], r["settle_amount_fen"],
            r["fee_fen"], r["status"], r["src_line"]) for r in bill.transactions.to_pylist()]
    assert got == [("1200000001", "LG1", "payment", None, 15000, 15000, 90, "success", 2),
                   ("1200000099", "LG2", "payment", None, 3000, 3000, 18, "success", 3),
                   ("1200000099", "LG2", "refund", "LG2-R", 1000, 1000, -6, "success", 4)]
    assert bill.totals == {"count": 3, "order_fen": 18000, "refund_fen": 1000, "cash_coupon_refund_fen": 0,
                           "fee_fen": 102}


@pytest.mark.parametrize("coupon", ["企业红包", "代金券或立减优惠"])
def test_legacy_success_and_refund_bills(coupon):
    ok = parse(_legacy("SUCCESS", [_pay(1, "0.01", "0.00000")], ["1", "0.01", "0.00", "0.00", "0.00000"],
                       coupon=coupon), "s.csv")
    assert ok.kind == "trade_success" and ok.transactions.column("amount_fen").to_pylist() == [1]
    ref = parse(_legacy("REFUND", [_ref(3, "5.00", "0.00000")], ["1", "0.00", "5.00", "0.00", "0.00000"],
                        coupon=coupon), "r.csv")
    r = ref.transactions.to_pylist()[0]
    assert ref.kind == "trade_refund" and (r["type"], r["amount_fen"], r["settle_amount_fen"]) == ("refund", 500, 500)
    # when WeChat accepted the refund (退款申请时间, +08:00), as an ALL bill times it (helper-71)
    assert r["occurred_at"] == dt.datetime(2017, 7, 15, 1, 0, 0, tzinfo=dt.timezone.utc)


def test_legacy_totals_and_values_are_refused_by_their_printed_names():
    rows = [_pay(1, "150.00", "0.90000"), _ref(1, "10.00", "-0.06000")]
    with pytest.raises(LoadError) as err:
        parse(_legacy("ALL", rows, ["2", "150.01", "10.00", "0.00", "0.84000"]), "old.csv")
    assert [(p.line, p.field, p.value) for p in err.value.problems] == [(5, "总交易额", "150.01")]
    bad = _legacy("ALL", rows, ["2", "150.00", "10.00", "0.00", "0.84000"]).replace(b"`150.00,", b"`15O.00,", 1)
    with pytest.raises(LoadError) as err:
        parse(bad, "old.csv")
    assert [(p.line, p.field, p.value) for p in err.value.problems] == [(2, "总金额", "15O.00")]


def test_sub_fen_fees_of_an_old_bill_round_to_the_fen_and_tie_out_exactly():
    """A real 2015 企业红包 bill (helper-44: GitHub h136799711/2015cjfx) charged 2% of 0.01: 手续费 0.00020 per row,
    手续费总金额 0.00040. Each fee is kept rounded to the fen (half away from zero, as WeChat charges it); the total ties
    out with the rows' exact sum, so a total that does not is still refused, naming it as printed."""
    rows = [_pay(1, "0.01", "0.00020"), _pay(2, "0.01", "0.00020"), _pay(3, "1.25", "0.00500"),
            _ref(3, "1.25", "-0.00500")]
    bill = parse(_legacy("ALL", rows, ["4", "1.27", "1.25", "0.00", "0.00040"]), "hb.csv")
    assert [r["fee_fen"] for r in bill.transactions.to_pylist()] == [0, 0, 1, -1]
    assert bill.totals["fee_fen"] == 0
    with pytest.raises(LoadError) as err:
        parse(_legacy("ALL", rows, ["4", "1.27", "1.25", "0.00", "0.00050"]), "hb.csv")
    assert [(p.line, p.field, p.value) for p in err.value.problems] == [(7, "手续费总金额", "0.00050")]
    assert "0.00050 does not tie out with the rows (0.00040)" in str(err.value)
