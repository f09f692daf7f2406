"""Alipay 业务明细 / 汇总 parsing: canonical rows, totals tie-out, zip, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from alipay_billgen import HEADER, Row, bill_zip, detail_bytes, detail_text, sample_rows

from paymatch.channels.alipay import parse, parse_zip, sniff, sniff_bytes
from paymatch.errors import LoadError
from paymatch.schema import TRANSACTION_ARROW


def test_detail_rows_become_canonical_transactions():
    bill = parse(detail_bytes(sample_rows()), "d.csv")
    assert bill.kind == "alipay_detail" and bill.channel == "alipay"
    assert bill.bill_date == dt.date(2019, 9, 16)
    assert bill.transactions.schema == TRANSACTION_ARROW
    rows = bill.transactions.to_pylist()
    pay, refund, huabei = rows
    assert pay["merchant_id"] == "2088021109625633"  # PID, account suffix 0156 dropped
    assert (pay["type"], pay["amount_fen"], pay["settle_amount_fen"], pay["fee_fen"]) == ("payment", 10000, 9500, 57)
    assert pay["occurred_at"] == dt.datetime(2019, 9, 16, 2, 55, 23, tzinfo=dt.UTC)
    assert (pay["src_line"], pay["method"], pay["status"], pay["refund_no"]) == (6, "alipay", "success", None)
    assert refund["type"] == "refund" and refund["amount_fen"] == 3000 and refund["settle_amount_fen"] == 3000
    assert refund["fee_fen"] == -18  # fee returned with the refund
    assert refund["refund_no"] == refund["channel_refund_id"] == "RF-1"
    assert refund["channel_tx_id"] == pay["channel_tx_id"] and refund["order_no"] == "ORD-1"
    assert huabei["method"] == "huabei"
    assert huabei["occurred_at"] == dt.datetime(2019, 9, 16, 15, 59, 59, tzinfo=dt.UTC)
    assert bill.totals["payment_count"] == 2 and bill.totals["refund_settle_fen"] == -3000


def test_sniff_by_content_not_name():
    data = detail_bytes(sample_rows())
    assert sniff(data[:4096].decode("gbk", "ignore")) == "alipay_detail"
    assert sniff_bytes(data) == "alipay_detail"
    assert sniff("order_no,amount\n1,2\n") is None
    assert sniff_bytes("交易时间,交易类型\n".encode("gbk")) is None


def test_reordered_columns_and_ascii_parentheses():
    cols = HEADER.split(",")
    order = list(range(len(cols)))[::-1]
    text = detail_text(sample_rows(), header=",".join(cols[i].replace("（", "(").replace("）", ")") for i in order))
    lines = text.split("\r\n")
    for i in range(5, 8):
        cells = lines[i].split(",")
        lines[i] = ",".join(cells[j] for j in order)
    bill = parse("\r\n".join(lines).encode("gbk"), "r.csv")
    assert bill.transactions.column("amount_fen").to_pylist() == [10000, 3000, 2000]
    assert bill.transactions.column("method").to_pylist() == ["alipay", "alipay", "huabei"]


def test_utf8_copy_is_read_too():
    bill = parse(detail_text(sample_rows()).encode("utf-8"), "u.csv")
    assert bill.transactions.num_rows == 3
    assert bill.transactions.column("method").to_pylist()[-1] == "huabei"
    with_bom = parse(b"\xef\xbb\xbf" + detail_text(sample_rows()).encode("utf-8"), "bom.csv")
    assert with_bom.transactions.num_rows == 3


def test_totals_must_tie_out():
    rows = sample_rows()
    bad = ("#交易合计：2笔，商家实收共115.01元，商家优惠共5.00元", "#退款合计：2笔，商家实收退款共-30.00元，商家优惠退款共0.00元")
    with pytest.raises(LoadError) as err:
        parse(detail_bytes(rows, totals=bad), "t.csv")
    msgs = [(p.line, p.message) for p in err.value.problems]
    assert any(line == 10 and "115.01" in m for line, m in msgs)
    assert any(line == 11 and "says 笔 2" in m for line, m in msgs)


def test_missing_totals_or_end_marker_is_truncation():
    lines = detail_text(sample_rows()).split("\r\n")
    no_end = "\r\n".join(lines[:8]) + "\r\n"  # cut after the last row
    with pytest.raises(LoadError, match="truncated"):
        parse(no_end.encode("gbk"), "x.csv")
    no_totals = "\r\n".join(lines[:9]) + "\r\n"  # end marker, then nothing
    with pytest.raises(LoadError, match="truncated"):
        parse(no_totals.encode("gbk"), "x.csv")


def test_one_totals_line_missing_is_named():
    """A 业务明细 with '#交易合计' but no '#退款合计' (a field sample, QuantumNous/new-api, trimmed by hand) names the
    line it lacks, not both: the file's own '#交易合计' is there to see."""
    lines = detail_text(sample_rows()).split("\r\n")
    refund_total = next(i for i, line in enumerate(lines) if line.startswith("#退款合计"))
    cut = "\r\n".join(lines[:refund_total] + lines[refund_total + 1:])
    with pytest.raises(LoadError, match="truncated") as err:
        parse(cut.encode("gbk"), "x.csv")
    assert "no '#退款合计' totals line after the table" in str(err.value)
    assert "#交易合计'" not in str(err.value)


def test_bad_values_listed_with_lines():
    rows = sample_rows()
    rows[0].order_amt = "1O0.00"
    rows[2].finished = rows[2].created = "yesterday"
    rows[1].biz = "转账"
    with pytest.raises(LoadError) as err:
        parse(detail_bytes(rows, totals=("#交易合计：0笔", "#退款合计：0笔")), "b.csv")
    found = {(p.line, p.field) for p in err.value.problems}
    assert (6, "订单金额（元）") in found and (7, "业务类型") in found and (8, "完成时间") in found


def test_ids_damaged_by_excel_are_refused_by_line():
    """A 业务明细 opened and saved again in Excel: the 28-digit 支付宝交易号 lose their guarding tab and become
    2.01909E+27 (every payment then shares one id); a failed formula leaves #N/A for an order number."""
    rows = sample_rows()
    rows[0].trade_no, rows[1].trade_no = "2.01909E+27", "2.01909E+27"
    rows[2].order_no = "#N/A"
    with pytest.raises(LoadError) as err:
        parse(detail_bytes(rows), "b.csv")
    got = [(p.line, p.field, p.value.strip()) for p in err.value.problems]
    assert got == [(6, "支付宝交易号", "2.01909E+27"), (7, "支付宝交易号", "2.01909E+27"), (8, "商户订单号", "#N/A")]
    assert "re-saved by Excel" in err.value.problems[0].message and "Excel error" in err.value.problems[2].message
    rows = sample_rows()  # ids that merely hold 'E+' or '#' are ids like any other
    rows[0].order_no, rows[2].order_no = "SO2E+10", "A#1"
    assert parse(detail_bytes(rows), "ok.csv").transactions.column("order_no").to_pylist() == ["SO2E+10", "ORD-1", "A#1"]


def test_refund_with_positive_amount_is_rejected():
    rows = sample_rows()
    rows[1].order_amt = "30.00"
    with pytest.raises(LoadError, match="sign does not match"):
        parse(detail_bytes(rows), "s.csv")


def test_row_with_extra_column_names_its_line():
    text = detail_text(sample_rows()).replace("花呗分期3期", "花呗,分期")
    with pytest.raises(LoadError) as err:
        parse(text.encode("gbk"), "c.csv")
    assert err.value.problems[0].line == 8


def test_unknown_layout_and_empty_bill():
    with pytest.raises(LoadError, match="column missing"):
        parse(detail_bytes(sample_rows(), header="支付宝交易号,业务类型,x"), "h.csv")
    empty = parse(detail_bytes([]), "e.csv")
    assert empty.transactions.num_rows == 0 and empty.totals["payment_count"] == 0
    with pytest.raises(LoadError) as err:
        parse(detail_bytes([], totals=("#交易合计：1笔，商家实收共1.00元", "#退款合计：0笔")), "e.csv")
    assert {p.line for p in err.value.problems} == {7}


def test_zip_with_gbk_names_parses_and_cross_checks():
    bills = parse_zip(bill_zip(sample_rows()), "b.zip")
    assert [b.kind for b in bills] == ["alipay_detail", "alipay_summary"]
    assert bills[0].source.endswith("_业务明细.csv") and bills[1].source.endswith("_业务明细(汇总).csv")
    assert bills[0].sha256 == bills[1].sha256
    summary = bills[1]
    assert summary.totals == {"payment_count": 2, "refund_count": 1, "order_fen": 9000, "settle_fen": 8500,
                              "fee_fen": -51, "net_fen": 8449}
    assert summary.extra.column("store_id").to_pylist() == ["S001"]
    assert len(parse_zip(bill_zip(sample_rows(), utf8_names=True), "u.zip")) == 2


def test_zip_summary_disagreeing_with_detail_is_rejected():
    with pytest.raises(LoadError, match="disagree"):
        parse_zip(bill_zip(sample_rows(), summary_tamper=1), "b.zip")


def test_damaged_zip():
    data = bill_zip(sample_rows())
    with pytest.raises(LoadError, match="damaged zip"):
        parse_zip(data[: len(data) // 2], "cut.zip")


def test_many_rows_keep_order_and_lines():
    rows = [Row(f"20190916220014588605{i:08d}", f"O{i}", order_amt="1.00", settle="1.00", fee="0.00")
            for i in range(5000)]
    bill = parse(detail_bytes(rows), "m.csv")
    assert bill.transactions.column("order_no").to_pylist() == [f"O{i}" for i in range(5000)]
    assert bill.transactions.column("src_line").to_pylist()[-1] == 5005


def test_bill_merchant_matches_notification_seller_id():
    bill = parse(detail_bytes(sample_rows(), account="20881021790755430156"), "a.csv")
    assert set(bill.transactions.column("merchant_id").to_pylist()) == {"2088102179075543"}
    other = parse(detail_bytes(sample_rows(), account="merchant@example.com"), "b.csv")
    assert set(other.transactions.column("merchant_id").to_pylist()) == {"merchant@example.com"}


def test_older_totals_wording():
    rows = sample_rows()
    old = ("#交易合计：2笔，交易金额共115.00元，优惠金额共5.00元", "#退款合计：1笔，交易退款金额共-30.00元，优惠退款金额共0.00元")
    assert parse(detail_bytes(rows, totals=old), "o.csv").totals["payment_amount_fen"] == 11500
    by_order = ("#交易合计：2笔，交易金额共120.00元，优惠金额共5.00元", old[1])
    assert parse(detail_bytes(rows, totals=by_order), "o.csv").totals["payment_amount_fen"] == 12000
    # the bare 优惠金额 of the older wording may count Alipay's own discounts: kept, not held against 商家优惠
    wider = ("#交易合计：2笔，交易金额共115.00元，优惠金额共8.00元", old[1])
    assert parse(detail_bytes(rows, totals=wider), "o.csv").totals["payment_discount_fen"] == 800
    with pytest.raises(LoadError, match="金额"):
        parse(detail_bytes(rows, totals=("#交易合计：2笔，交易金额共121.00元", old[1])), "o.csv")


def test_bill_date_from_rows_when_no_date_line():
    text = detail_text(sample_rows()).replace("#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
                                              "#说明")
    bill = parse(text.encode("gbk"), "n.csv")
    assert bill.bill_date == dt.date(2019, 9, 16)
    assert set(bill.transactions.column("bill_date").to_pylist()) == {dt.date(2019, 9, 16)}


@pytest.mark.parametrize("bad_name", ["ali_bad.zip", "a_bad.zip"])  # read after / before the good zip
def test_a_tampered_summary_beside_a_copied_detail_is_still_checked(tmp_path, bad_name):
    """Two zips hold the same 业务明细 byte for byte; one's 汇总 was edited. The detail read second is skipped as a
    copy, but its 汇总 is checked against it all the same: that zip is rejected, the good zip's bill loads or the
    scan is refused, never a tampered 汇总 taken silently."""
    from paymatch.channels.detect import scan_bills

    (tmp_path / "ali.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / bad_name).write_bytes(bill_zip(sample_rows(), summary_tamper=1))
    scan = scan_bills(tmp_path)
    bad = {r.name.rsplit("/", 1)[-1].split("!")[0] for r in scan.rejected}
    assert bad_name in bad
    assert all(not b.source.endswith("(汇总).csv") or bad_name not in b.source for b in scan.bills)
    assert any("合计" in str(r.error) or "summary" in str(r.error) for r in scan.rejected)


def test_a_fee_printed_the_other_way_round_is_still_charged_on_payments_and_returned_on_refunds():
    """Which sign Alipay gives 服务费 on each row type is not confirmed by a real bill with a fee: a charge is a
    charge on a 交易 row and a return on a 退款 row either way (a contracted fee rate would flag every row else)."""
    import dataclasses

    flipped = [dataclasses.replace(r, fee=r.fee[1:] if r.fee.startswith("-") else "-" + r.fee) for r in sample_rows()]
    got = [(r["type"], r["fee_fen"]) for r in parse(detail_bytes(flipped), "f.csv").transactions.to_pylist()]
    want = [(r["type"], r["fee_fen"]) for r in parse(detail_bytes(sample_rows()), "d.csv").transactions.to_pylist()]
    assert got == want == [("payment", 57), ("refund", -18), ("payment", 12)]
    # delivered in its zip, the 汇总 prints the same 服务费 as the detail: it ties out (helper-43)
    zipped = [(r["type"], r["fee_fen"]) for b in parse_zip(bill_zip(flipped), "f.zip") if b.kind == "alipay_detail"
              for r in b.transactions.to_pylist()]
    assert zipped == want


def test_a_months_bill_puts_each_row_on_its_own_day():
    """A 业务明细 downloaded for a month (bill_date=2019-09: 起始日期 the 1st, 终止日期 the next month's 1st): each row is
    on the bill of its own day (helper-50: every row was on 09-01, so a day run of the 17th missed its payments); the
    bill's day is its latest row's. A day's bill keeps its one day."""
    rows = sample_rows() + [Row("2019091722001458860513822999", "ORD-3", order_amt="8.00", settle="8.00", fee="-0.05",
                                finished="2019-09-17 09:00:00")]
    text = detail_text(rows).replace("#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
                                     "#起始日期：[2019年09月01日 00:00:00]   终止日期：[2019年10月01日 00:00:00]")
    bill = parse(text.encode("gbk"), "20880211096256330156_201909_业务明细.csv")
    days = {r["order_no"]: r["bill_date"] for r in bill.transactions.to_pylist()}
    assert days == {"ORD-1": dt.date(2019, 9, 16), "ORD-2": dt.date(2019, 9, 16), "ORD-3": dt.date(2019, 9, 17)}
    assert bill.bill_date == dt.date(2019, 9, 17)
    day = parse(detail_bytes(rows), "20880211096256330156_20190916_业务明细.csv")
    assert {r["bill_date"] for r in day.transactions.to_pylist()} == {dt.date(2019, 9, 16)}


def test_a_bill_says_which_days_it_covers():
    """起始日期 / 终止日期: the end is the first moment not covered (the next day's 00:00), or a day's last second."""
    month = detail_text(sample_rows()).replace(
        "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
        "#起始日期：[2019年09月01日 00:00:00]   终止日期：[2019年10月01日 00:00:00]")
    assert parse(month.encode("gbk"), "m.csv").period == (dt.date(2019, 9, 1), dt.date(2019, 9, 30))
    assert parse(detail_bytes(sample_rows()), "d.csv").period == (dt.date(2019, 9, 16), dt.date(2019, 9, 16))
    inclusive = detail_text(sample_rows()).replace("终止日期：[2019年09月17日 00:00:00]", "终止日期：[2019年09月16日 23:59:59]")
    bill = parse(inclusive.encode("gbk"), "i.csv")
    assert bill.period == (dt.date(2019, 9, 16), dt.date(2019, 9, 16))
    assert {r["bill_date"] for r in bill.transactions.to_pylist()} == {dt.date(2019, 9, 16)}


def test_a_months_bill_in_a_file_run_covers_the_whole_month(tmp_path):
    """An order of the month's last day that the month's 业务明细 does not list is order_only: the bill covers that
    day though its last row is the 16th (the window was the rows' days, so it was pending_cross_day)."""
    import csv

    from typer.testing import CliRunner

    from paymatch.cli import app

    month = detail_text(sample_rows()).replace(
        "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
        "#起始日期：[2019年09月01日 00:00:00]   终止日期：[2019年10月01日 00:00:00]")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "20880211096256330156_201909_业务明细.csv").write_bytes(month.encode("gbk"))
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
    (tmp_path / "orders.csv").write_text(
        head + "ORD-1,S1,,alipay,100.00,paid,2019-09-16T10:50:00+08:00,2019-09-16T10:55:23+08:00\n"
        "ORD-9,S1,,alipay,5.00,paid,2019-09-30T23:55:00+08:00,2019-09-30T23:55:10+08:00\n"
        "ORD-8,S1,,alipay,6.00,paid,2019-09-20T12:00:00+08:00,2019-09-20T12:00:10+08:00\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--bills",
                                 str(tmp_path / "bills"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {row["order_no"]: row["kind"] for row in csv.DictReader(f) if not row["refund_no"]}
    # ORD-9 paid within the grace before the month's end: pending_cross_day; ORD-8, days after the last row: order_only
    assert (kinds["ORD-9"], kinds["ORD-8"]) == ("pending_cross_day", "order_only")


def test_totals_lines_with_thousands_grouping_are_checked_not_passed_over():
    """'商家实收共1,234.50元' (grouped, as the 账务明细's totals print a sum) is read and tied out: the 业务明细's
    totals regex stopped at the comma, so that total went unchecked whatever it said (a wrong one passed)."""
    rows = [Row("2019091622001458860515315453", "ORD-1", order_amt="1234.50", settle="1234.50"),
            Row("2019091622001458860513822558", "ORD-2", order_amt="1000.00", settle="1000.00")]
    refund = "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元"

    def bill(paid: str) -> bytes:
        return detail_bytes(rows, totals=(f"#交易合计：2笔，商家实收共{paid}元，商家优惠共0.00元", refund))

    assert parse(bill("2,234.50"), "g.csv").totals["payment_settle_fen"] == 223450
    with pytest.raises(LoadError) as err:  # a wrong grouped total is caught (it passed unchecked)
        parse(bill("3,234.50"), "g.csv")
    assert "商家实收 3234.50" in str(err.value)
    for odd in ("22,34.50", "2234.50 RMB"):  # no grouping, no amount: named, not passed over
        with pytest.raises(LoadError) as err:
            parse(bill(odd), "g.csv")
        assert err.value.problems[0].line == 9


def test_a_refund_without_request_number_carries_the_order_number_not_a_refund_number(tmp_path):
    """A full refund made without out_request_no is listed with 退款批次号/请求号 = 商户订单号 (Alipay's refund query:
    "如果在退款请求时未传入，则该值为创建交易时的商户订单号"): the row names no refund number of the shop's, so it is
    paired by order and amount with the shop's refund RF-9, not reported as an unknown refund "ORD-9" beside a
    refund the channel never made. A shop that numbers its refund with the order number still matches by number."""
    import csv

    from typer.testing import CliRunner

    from paymatch.cli import app

    rows = [Row("2019091622001458860515315001", "ORD-9", order_amt="25.00", settle="25.00", fee="-0.15"),
            Row("2019091622001458860515315001", "ORD-9", biz="退款", order_amt="-25.00", settle="-25.00",
                fee="0.15", refund_no="ORD-9", finished="2019-09-16 11:20:00"),
            Row("2019091622001458860515315002", "ORD-8", order_amt="32.00", settle="32.00", fee="-0.19"),
            Row("2019091622001458860515315002", "ORD-8", biz="退款", order_amt="-32.00", settle="-32.00",
                fee="0.19", refund_no="ORD-8", finished="2019-09-16 11:30:00")]
    bill = parse(detail_bytes(rows), "d.csv")
    refund = bill.transactions.to_pylist()[1]
    assert (refund["refund_no"], refund["channel_refund_id"]) == (None, "ORD-9")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "20880211096256330156_20190916_业务明细.csv").write_bytes(detail_bytes(rows))
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD-9,S1,,alipay,25.00,refunded,2019-09-16T10:50:00+08:00,2019-09-16T10:55:23+08:00\n"
        "ORD-8,S1,,alipay,32.00,refunded,2019-09-16T10:50:00+08:00,2019-09-16T10:55:23+08:00\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text(
        "refund_no,order_no,amount,created_at,status\nRF-9,ORD-9,25.00,2019-09-16T11:19:00+08:00,success\n"
        "ORD-8,ORD-8,32.00,2019-09-16T11:29:00+08:00,success\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--refunds",
                                 str(tmp_path / "refunds.csv"), "--bills", str(tmp_path / "bills"),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert kinds == {"P-ORD-9": "matched", "R-RF-9": "refund_matched", "P-ORD-8": "matched",
                     "R-ORD-8": "refund_matched"}


@pytest.mark.parametrize("scope", ["", '[match]\nkey_scope = ["merchant_id"]\n'])
def test_a_shop_numbering_its_refund_with_the_order_number_keeps_the_number_match(tmp_path, scope):
    """A shop that gives Alipay its refund number ORD-8 (= the order number) as out_request_no: the bill's refund
    10.01 against the shop's 10.00 is one refund_amount_mismatch R-ORD-8, as before the reader left such a number
    empty (it was a refund_channel_only and a refund_order_only, paired by order and amount that differ); a second
    partial refund of its own number still matches by it (with and without key_scope)."""
    import csv

    from typer.testing import CliRunner

    from paymatch.cli import app

    tx = "2019091622001458860515315002"
    rows = [Row(tx, "ORD-8", order_amt="32.00", settle="32.00", fee="-0.19"),
            Row(tx, "ORD-8", biz="退款", order_amt="-10.01", settle="-10.01", fee="0.06", refund_no="ORD-8",
                finished="2019-09-16 11:30:00"),
            Row(tx, "ORD-8", biz="退款", order_amt="-12.00", settle="-12.00", fee="0.07", refund_no="ORD-8-2",
                finished="2019-09-16 11:40:00")]
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "20880211096256330156_20190916_业务明细.csv").write_bytes(detail_bytes(rows))
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD-8,S1,2088021109625633,alipay,32.00,refunded,2019-09-16T10:50:00+08:00,2019-09-16T10:55:23+08:00\n",
        encoding="utf-8")
    (tmp_path / "refunds.csv").write_text(
        "refund_no,order_no,amount,created_at,status\nORD-8,ORD-8,10.00,2019-09-16T11:29:00+08:00,success\n"
        "ORD-8-2,ORD-8,12.00,2019-09-16T11:39:00+08:00,success\n", encoding="utf-8")
    (tmp_path / "rules.toml").write_text(scope, encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--refunds",
                                 str(tmp_path / "refunds.csv"), "--bills", str(tmp_path / "bills"),
                                 "--config", str(tmp_path / "rules.toml"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    pay = "P-2088021109625633/ORD-8" if scope else "P-ORD-8"  # a shop-wide refund number keeps its id R-<no>
    assert kinds == {pay: "matched", "R-ORD-8": "refund_amount_mismatch", "R-ORD-8-2": "refund_matched"}
