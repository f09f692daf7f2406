"""UnionPay ZM file: fixed-width parse, refunds, year inference, layout and value errors."""

from __future__ import annotations

import datetime as dt

import pytest
from unionpay_zmgen import zm_file, zm_line

from paymatch.channels.unionpay import parse, sniff
from paymatch.errors import LoadError
from paymatch.schema import TRANSACTION_ARROW

NAME = "INN190917 88ZM_802310048993424".replace(" ", "")


def sample() -> bytes:
    return zm_file([
        zm_line(),
        zm_line(txn_type="04", amount_fen=300, fee="C000000000002", settle="D000000000298",
                query_id="201909161200000000002", order_id="REFUND-1", orig_query_id="201909161055160000001",
                orig_order_id="ORDER-1", txn_time="0916120000"),
        zm_line(amount_fen=5000, query_id="201912311200000000003", order_id="ORDER-2", txn_time="1231235959",
                full=False),
    ])


def test_rows_become_canonical_transactions():
    bill = parse(sample(), NAME)
    assert bill.kind == "unionpay_zm" and bill.bill_date == dt.date(2019, 9, 17)
    assert bill.transactions.schema == TRANSACTION_ARROW
    pay, refund, old = bill.transactions.to_pylist()
    assert (pay["type"], pay["amount_fen"], pay["fee_fen"], pay["settle_amount_fen"]) == ("payment", 1000, 6, 994)
    assert pay["channel_tx_id"] == "201909161055160000001" and pay["order_no"] == "ORDER-1"
    assert pay["merchant_id"] == "802310048993424" and pay["src_line"] == 1
    assert pay["occurred_at"] == dt.datetime(2019, 9, 16, 2, 55, 16, tzinfo=dt.UTC)
    assert (refund["type"], refund["amount_fen"], refund["fee_fen"], refund["settle_amount_fen"]) == \
        ("refund", 300, -2, 298)
    assert refund["refund_no"] == "REFUND-1" and refund["order_no"] == "ORDER-1"
    assert refund["channel_tx_id"] == pay["channel_tx_id"] and refund["channel_refund_id"] == "201909161200000000002"
    assert old["occurred_at"].year == 2018  # Dec 31 in a file settled on Sep 17: the year before
    assert bill.totals == {"payment_count": 2, "refund_count": 1, "payment_amount_fen": 6000, "refund_amount_fen": 300}


def test_sniff_by_content():
    assert sniff(sample()[:4096].decode("gbk", "ignore")) == "unionpay_zm"
    assert sniff("order_no,amount\n") is None
    assert sniff("#支付宝业务明细查询\n") is None


def test_bad_lines_are_listed():
    lines = [zm_line(), zm_line(txn_type="99"), zm_line(amount_fen=1)[:200], zm_line(fee="X00000000000A")]
    with pytest.raises(LoadError) as err:
        parse(zm_file(lines), NAME)
    found = {(p.line, p.field) for p in err.value.problems}
    assert (2, "交易类型") in found and (3, None) in found and (4, "商户手续费") in found
    assert all(p.line != 1 for p in err.value.problems)


def test_settle_date_needed_for_the_year():
    with pytest.raises(LoadError, match="settle date"):
        parse(sample(), "zm.txt")
    assert parse(sample(), "zm.txt", bill_date=dt.date(2019, 9, 17)).transactions.num_rows == 3


def test_empty_file_and_blank_lines():
    assert parse(b"", NAME).transactions.num_rows == 0
    bill = parse(zm_file([zm_line(), b"", zm_line(order_id="ORDER-3")]), NAME)
    assert bill.transactions.column("src_line").to_pylist() == [1, 3]


def test_zme_error_file_is_not_taken_for_zm():
    # the ZME (差错) file of the same zip: 22 fields, its separators fall elsewhere than a ZM line's
    widths = [3, 11, 11, 6, 10, 19, 12, 4, 2, 2, 6, 10, 4, 12, 13, 13, 15, 15, 1, 12, 2, 135]
    zme = " ".join("1" * w for w in widths) + " "
    assert sniff(zme + "\r\n" + zme) == "unionpay_zme"  # recognised as ZME, never read as ZM


def test_line_trimmed_right_after_merchant_code_is_read_and_sniff_never_raises():
    # tools that strip trailing blanks leave a line ending with 商户代码 (fields 28+ empty): no
    # separator after it; detection used to raise IndexError on such a first line
    line = zm_line(full=False).rstrip(b" ")
    assert sniff(line.decode("gbk")) == "unionpay_zm"
    bill = parse(zm_file([line]), NAME)
    assert bill.transactions.column("amount_fen").to_pylist() == [1000]
    assert sniff("A" * 308) is None and sniff("ABC" + "x" * 305) is None


ZME_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 2, 6, 10, 4, 12, 13, 13, 15, 15, 1, 12, 2, 135]


def zme_line(amount_fen: int, txn_time: str = "0916153000", trace: str = "654321") -> bytes:
    """One ZME (差错交易流水) line in the ACP demo's widths; values other than the shared ones made up."""
    values = {0: "E22", 3: trace, 4: txn_time, 5: "6216***********0018", 6: f"{amount_fen:012d}", 7: "5411",
              8: "07", 14: "D000000000006", 15: "C000000000994", 16: "802310048993424"}
    return b" ".join(values.get(i, "").encode().ljust(w) for i, w in enumerate(ZME_WIDTHS)) + b" "


def test_zme_file_in_the_same_delivery_is_recognised_not_refused(tmp_path):
    import io
    import zipfile

    from paymatch.channels.detect import scan_bills

    zme = zm_file([zme_line(1000), zme_line(250, trace="654322")])
    assert sniff(zme.decode("gbk")) == "unionpay_zme"
    bill = parse(zme, "INN19091788ZME_802310048993424")
    assert bill.kind == "unionpay_zme" and bill.transactions.num_rows == 0
    assert bill.totals == {"count": 2, "amount_fen": 1250} and bill.bill_date == dt.date(2019, 9, 17)
    assert bill.extra.column("src_line").to_pylist() == [1, 2]
    assert bill.extra.column("trace_no").to_pylist() == ["654321", "654322"]

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("INN19091788ZM_802310048993424", sample())
        zf.writestr("INN19091788ZME_802310048993424", zme)
    (tmp_path / "802310048993424_20190917.zip").write_bytes(buf.getvalue())
    scan = scan_bills(tmp_path)
    assert not scan.rejected
    assert sorted((b.kind, b.transactions.num_rows) for b in scan.bills) == [("unionpay_zm", 3), ("unionpay_zme", 0)]


def test_zme_line_with_blank_fields_is_not_taken_for_zm():
    # blanks put spaces where a ZM line has its separators; ZM needs a 查询流水号 there
    blank = b" ".join(v.encode().ljust(w) for v, w in zip(
        ["E74", "", "", "123456", "0301101010", "6216***0018", "000000001000", "5411", "07"] + [""] * 13, ZME_WIDTHS))
    assert sniff(blank.decode() + " ") == "unionpay_zme"
    assert parse(zm_file([blank + b" "]), NAME.replace("ZM_", "ZME_")).kind == "unionpay_zme"


def test_zme_bad_line_is_refused_with_its_line():
    zme = zm_file([zme_line(1000), zme_line(250)[:150]])
    with pytest.raises(LoadError) as err:
        parse(zme, "INN19091788ZME_802310048993424")
    assert [p.line for p in err.value.problems] == [2]
