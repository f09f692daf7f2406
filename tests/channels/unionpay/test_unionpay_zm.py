"""UnionPay ZM file: fixed-width parse, refunds, year inference, layout and value errors."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from unionpay_zmgen import rd_report, zm_file, zm_line

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
    assert bill.totals == {"payment_count": 2, "refund_count": 1, "payment_amount_fen": 6000, "refund_amount_fen": 300,
                           "hold_count": 0}


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
    # the file's own name, not a folder's (helper-50: a copy kept under INN201120_old/ moved a year)
    assert parse(sample(), f"/bills/INN201120_old/{NAME}").bill_date == dt.date(2019, 9, 17)
    with pytest.raises(LoadError, match="settle date"):
        parse(sample(), "/bills/INN190917/zm.txt")


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


def _delivery(tmp_path, rd: bytes, zm: bytes | None = None):
    import io
    import zipfile

    from paymatch.channels.detect import scan_bills

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("INN19091788ZM_802310048993424", sample() if zm is None else zm)
        zf.writestr("RD201019091701_802310048993424", rd)
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "802310048993424_20190917.zip").write_bytes(buf.getvalue())
    return scan_bills(tmp_path)


def test_the_summary_report_in_the_delivery_is_read_and_ties_out(tmp_path):
    # sample(): payments 10.00 (fee 0.06) and 50.00 (fee 0.06), a refund of 3.00 (fee 0.02 returned)
    rd = rd_report(count=3, amount=("3.00", "60.00"), fee=("0.12", "0.02"), net=("0.00", "56.90"))
    assert sniff(rd.decode("gbk")) == "unionpay_rd"
    scan = _delivery(tmp_path, rd)
    assert not scan.rejected
    kinds = {b.kind: b for b in scan.bills}
    assert sorted(kinds) == ["unionpay_rd", "unionpay_zm"]
    report = kinds["unionpay_rd"]
    assert report.transactions.num_rows == 0 and report.bill_date == dt.date(2019, 9, 17)
    assert (report.totals["count"], report.totals["amount_credit_fen"], report.totals["fee_debit_fen"]) == (3, 6000, 12)
    # a refund printed as a smaller 贷 instead of a 借 amount ties out the same
    assert not _delivery(tmp_path / "b", rd_report(count=3, amount=("0.00", "57.00"), fee=("0.10", "0.00"),
                                                   net=("0.00", "56.90"))).rejected


@pytest.mark.parametrize("change", [dict(count=2), dict(amount=("3.00", "60.01")), dict(fee=("0.10", "0.02"))])
def test_a_summary_report_that_does_not_tie_out_rejects_the_delivery(tmp_path, change):
    kw = {**dict(count=3, amount=("3.00", "60.00"), fee=("0.12", "0.02"), net=("0.00", "56.90")), **change}
    scan = _delivery(tmp_path, rd_report(**kw))
    assert not scan.bills
    assert sorted(r.name.rsplit("!", 1)[1] for r in scan.rejected) == ["INN19091788ZM_802310048993424",
                                                                        "RD201019091701_802310048993424"]
    problem = scan.rejected[0].error.problems[0]
    assert problem.file.endswith("RD201019091701_802310048993424") and problem.line == 13 and problem.field == "总计"
    assert "does not tie out" in problem.message


def test_a_day_after_the_settle_date_is_of_its_year_and_a_zero_fee_may_have_no_letter():
    # UnionPay's own sample delivery lists trades of the day after its settle date, and prints zero amounts
    # as a blank and 12 zeros
    bill = parse(zm_file([zm_line(txn_time="0918101500", fee=" 000000000000", settle="C000000001000")]), NAME)
    row = bill.transactions.to_pylist()[0]
    assert row["occurred_at"] == dt.datetime(2019, 9, 18, 2, 15, tzinfo=dt.UTC) and row["fee_fen"] == 0
    jan = parse(zm_file([zm_line(txn_time="1231235959"), zm_line(txn_time="0102080000", query_id="2")]),
                "INN20010288ZM_802310048993424")
    assert [r["occurred_at"].date() for r in jan.transactions.to_pylist()] == [dt.date(2019, 12, 31), dt.date(2020, 1, 2)]


def test_a_completed_preauthorisation_reversed_is_a_refund():
    line = zm_line(txn_type="33", amount_fen=1000, fee="C000000000006", settle="D000000000994", query_id="9",
                   order_id="REV-1", orig_query_id="201909161055160000001", orig_order_id="ORDER-1")
    row = parse(zm_file([line]), NAME).transactions.to_pylist()[0]
    assert (row["type"], row["refund_no"], row["order_no"], row["fee_fen"]) == ("refund", "REV-1", "ORDER-1", -6)


def test_summary_report_edges(tmp_path):
    """helper-43: copies of the ZM count once; a report counting trades beside an empty ZM is refused; a count with
    thousands separators and a report saved again as UTF-8 are read."""
    from paymatch.channels import unionpay_rd
    from paymatch.channels.detect import scan_bills

    rd = rd_report(count=3, amount=("3.00", "60.00"), fee=("0.12", "0.02"), net=("0.00", "56.90"))
    scan = _delivery(tmp_path / "copy", rd)
    (tmp_path / "copy" / "INN19091788ZM_802310048993424").write_bytes(sample().replace(b"\r\n", b"\n"))
    scan = scan_bills(tmp_path / "copy")
    assert not scan.rejected and sum(b.kind == "unionpay_zm" for b in scan.bills) == 2

    scan = _delivery(tmp_path / "empty", rd, zm=b"")
    assert [r.name.rsplit("!", 1)[1] for r in scan.rejected] == ["RD201019091701_802310048993424"]
    assert "ZM is missing or empty" in scan.rejected[0].error.problems[0].message

    wide = rd.decode("gbk").replace("           3            3.00", "       1,234            3.00")
    assert unionpay_rd.parse(wide.encode("gbk"), "RD.txt").totals["count"] == 1234
    utf8 = ("\ufeff" + rd.decode("gbk")).encode("utf-8")
    again = parse(utf8, "RD201019091701_802310048993424")
    assert again.kind == "unionpay_rd" and again.totals["count"] == 3
    assert again.sha256 == hashlib.sha256(utf8).hexdigest()  # its own bytes, not a ZM's encoding back


def test_only_a_zero_may_go_without_its_letter():
    with pytest.raises(LoadError) as err:
        parse(zm_file([zm_line(fee=" 000000000006")]), NAME)
    assert err.value.problems[0].field == "商户手续费"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_file_saved_again_as_utf8_is_read_in_its_gbk_widths(bom):
    """helper-72: the widths count GBK bytes. Saved again as UTF-8, 二级商户简称 takes 3 bytes per character, every
    later field moves and 原始交易订单号 (field 40) was read cut short: the refund named another order."""
    orig = "SO20261120000000000000000000001"  # 31 of the field's 32 bytes
    line = zm_line(txn_type="04", amount_fen=300, fee="C000000000002", settle="D000000000298", query_id="Q3",
                   order_id="RF-1", orig_query_id="Q1", orig_order_id=orig, sub_name="上海一号店餐饮")
    gbk = zm_file([line])
    utf8 = bom + gbk.decode("gbk").encode("utf-8")
    assert len(utf8) > len(gbk) + len(bom)  # the Chinese really takes more bytes
    want = parse(gbk, NAME).transactions.to_pylist()
    got = parse(utf8, NAME)
    assert got.transactions.to_pylist() == want and want[0]["order_no"] == orig
    assert got.sha256 == hashlib.sha256(utf8).hexdigest()  # the file as delivered, for its provenance


def test_a_hold_and_its_release_are_counted_not_read_as_money():
    """helper-72: 02 预授权 and 32 预授权撤销 (the spec fills 原始交易订单号 on 预授权撤销 lines: they come in ZM) refused
    the whole file; they move no money (the 03 completing a hold is the payment) and are counted, not read."""
    hold = zm_line(txn_type="02", amount_fen=50000, fee=" 000000000000", settle=" 000000000000", query_id="H1",
                   order_id="HOTEL-1")
    release = zm_line(txn_type="32", amount_fen=50000, fee=" 000000000000", settle=" 000000000000", query_id="H2",
                      order_id="HOTEL-1-R", orig_query_id="H1", orig_order_id="HOTEL-1")
    done = zm_line(txn_type="03", amount_fen=30000, fee="D000000000018", settle="C000000029982", query_id="H3",
                   order_id="HOTEL-2", orig_query_id="H0")
    bill = parse(zm_file([hold, release, done]), NAME)
    rows = bill.transactions.to_pylist()
    assert [(r["type"], r["order_no"], r["amount_fen"], r["src_line"]) for r in rows] == [("payment", "HOTEL-2", 30000, 3)]
    assert bill.totals["hold_count"] == 2 and bill.totals["payment_amount_fen"] == 30000
    with pytest.raises(LoadError) as err:  # a hold line is checked like any other
        parse(zm_file([zm_line(txn_type="32", amount_fen=1, fee="X00000000000A")]), NAME)
    assert err.value.problems[0].field == "商户手续费"


def test_gbk_whose_bytes_happen_to_be_valid_utf8_is_read_as_gbk():
    """The UTF-8 copy is recognised by where the layout's separators fall, not by guessing the encoding: 唷班啊 in GBK
    is valid UTF-8 (ࡰడ…) and a guess would have taken it for a re-saved file and moved every later field."""
    orig = "SO20261120000000000000000000001"
    line = zm_line(txn_type="04", amount_fen=300, fee="C000000000002", settle="D000000000298", query_id="Q3",
                   order_id="RF-1", orig_query_id="Q1", orig_order_id=orig, sub_name="唷班啊")
    data = zm_file([line])
    data.decode("utf-8")  # valid UTF-8, yet GBK
    row = parse(data, NAME).transactions.to_pylist()[0]
    assert row["order_no"] == orig and row["refund_no"] == "RF-1"


def test_a_refund_without_its_original_order_number_takes_its_payments_from_the_same_file():
    """helper-72: 原始交易订单号 is blank by default (and a line may end after 商户代码); the refund's order was then
    unknown although its 原交易查询流水号 names a payment of the same file. That payment's 商户订单号 is taken; a
    payment of another file (another day) is not known here, and another merchant code's payment is not taken."""
    pay = zm_line(query_id="Q1", order_id="SO-9")
    other = zm_line(query_id="Q1", order_id="SO-OTHER", mer_id="802310048990000")
    refund = zm_line(txn_type="04", amount_fen=300, fee="C000000000002", settle="D000000000298", query_id="Q3",
                     order_id="RF-9", orig_query_id="Q1", full=False)
    stray = zm_line(txn_type="04", amount_fen=300, fee="C000000000002", settle="D000000000298", query_id="Q4",
                    order_id="RF-10", orig_query_id="Q-EARLIER", full=False)
    rows = parse(zm_file([other, refund, pay, stray]), NAME).transactions.to_pylist()
    got = [(r["type"], r["order_no"], r["refund_no"], r["channel_tx_id"], r["src_line"]) for r in rows]
    assert got == [("payment", "SO-OTHER", None, "Q1", 1), ("refund", "SO-9", "RF-9", "Q1", 2),
                   ("payment", "SO-9", None, "Q1", 3), ("refund", None, "RF-10", "Q-EARLIER", 4)]
