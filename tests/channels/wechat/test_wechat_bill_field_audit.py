"""WeChat Pay bills as they come from the field (helper-71's audit): variants of the real layouts that were read wrongly.

Each bill is synthetic (made-up values) in the layout WeChat Pay documents and real downloads show.
"""

from __future__ import annotations

import datetime as dt

import pytest
from wechat_billgen import payment, refund, trade_bill

from paymatch.channels.wechat.bill import parse
from paymatch.errors import LoadError

UTC = dt.timezone.utc


def test_a_refund_bill_is_the_day_its_refunds_were_accepted_not_the_day_they_succeeded():
    """WeChat bills a refund on the day it accepted it (退款申请时间); a refund to a bank card often succeeds after
    midnight (退款成功时间 the next day). The 20th's REFUND bill was read as the 21st's: every row on the wrong day."""
    rows = [refund(1, 500, applied="2026-11-20 15:00:00", done="2026-11-20 15:00:05"),
            refund(2, 300, applied="2026-11-20 23:59:58", done="2026-11-21 00:00:03"),
            refund(3, 200, applied="2026-11-20 16:00:00", done="", status="PROCESSING")]
    bill = parse(trade_bill(rows, "REFUND"), "1900000109Refund2026-11-20.csv")
    assert bill.bill_date == dt.date(2026, 11, 20)
    assert set(bill.transactions.column("bill_date").to_pylist()) == {dt.date(2026, 11, 20)}
    # a refund's time is when it was accepted, as an ALL bill prints it
    assert bill.transactions.column("occurred_at").to_pylist() == [
        dt.datetime(2026, 11, 20, 7, 0, tzinfo=UTC), dt.datetime(2026, 11, 20, 15, 59, 58, tzinfo=UTC),
        dt.datetime(2026, 11, 20, 8, 0, tzinfo=UTC)]
    assert bill.transactions.column("status").to_pylist() == ["success", "success", "processing"]


def test_an_all_bill_still_takes_its_day_from_the_latest_trade_time():
    rows = [payment(1, 1000, time="2026-11-20 23:59:59"), payment(2, 500, time="2026-11-20 08:00:00")]
    assert parse(trade_bill(rows, "ALL"), "all.csv").bill_date == dt.date(2026, 11, 20)


@pytest.mark.parametrize("kind", ["ALL", "SUCCESS", "REFUND"])
def test_a_bill_in_another_currency_is_refused_by_line(kind):
    """货币种类 says what every amount of the row is in; a cross-border merchant's HKD bill was read as yuan."""
    rows = [payment(1, 1000), payment(2, 2000)] if kind != "REFUND" else [refund(1, 100), refund(2, 200)]
    rows[1]["货币种类"] = "HKD"
    with pytest.raises(LoadError) as err:
        parse(trade_bill(rows, kind), "hk.csv")
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.field, problem.value) == ("hk.csv", 3, "货币种类", "HKD")
    assert "CNY" in problem.message


def test_cny_and_an_empty_currency_are_read():
    rows = [payment(1, 1000), payment(2, 2000)]
    rows[1]["货币种类"] = ""
    bill = parse(trade_bill(rows, "ALL"), "cny.csv")
    assert bill.transactions.column("amount_fen").to_pylist() == [1000, 2000]


#: a personal 微信支付账单明细 as the WeChat app sends it (title lines, then the table); made-up values
PERSONAL_BILL = "\n".join([
    "微信支付账单明细,,,,,,,,", "微信昵称：[小店],,,,,,,,", "起始时间：[2026-11-01 00:00:00] 终止时间：[2026-11-30 23:59:59],,,,,,,,",
    "导出类型：[全部],,,,,,,,", "导出时间：[2026-12-01 09:00:00],,,,,,,,", ",,,,,,,,", "共2笔记录,,,,,,,,",
    "收入：1笔 10.00元,,,,,,,,", "支出：1笔 5.00元,,,,,,,,", "中性交易：0笔 0.00元,,,,,,,,", "注：,,,,,,,,", ",,,,,,,,",
    "----------------------微信支付账单明细列表--------------------,,,,,,,,",
    "交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注",
    "2026-11-20 10:00:00,二维码收款,顾客,/,收入,¥10.00,/,已收钱,10001000992026112000001\t,/,/",
    "2026-11-20 11:00:00,商户消费,某店,咖啡,支出,¥5.00,零钱,支付成功,4200000001202611200001\t,ORD1\t,/",
]) + "\n"


def test_a_personal_wechat_bill_is_refused_for_what_it_is(tmp_path):
    """A shop taking money through a personal QR code only has the app's 微信支付账单明细: no merchant number, no
    order numbers. It was refused as an 'unknown bill layout' with the advice to write a profile for it."""
    (tmp_path / "微信支付账单(20261101-20261130).csv").write_bytes(("\ufeff" + PERSONAL_BILL).encode("utf-8"))
    from paymatch.channels.detect import scan_bills

    scan = scan_bills(tmp_path)
    assert scan.bills == []
    [rejected] = scan.rejected
    assert rejected.channel == "wechat"
    [problem] = rejected.error.problems
    assert problem.line == 14 and "personal WeChat Pay bill" in problem.message
    assert "交易账单" in rejected.error.hint
    with pytest.raises(LoadError, match="personal WeChat Pay bill"):
        parse(PERSONAL_BILL.encode("utf-8"), "p.csv")


def test_a_personal_wechat_bill_as_a_workbook_is_refused_too(tmp_path):
    """The app now mails the personal bill as .xlsx (微信支付账单流水文件); same refusal, its sheet row named."""
    import csv
    import io

    openpyxl = pytest.importorskip("openpyxl")
    from paymatch.channels.detect import scan_bills

    wb = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(PERSONAL_BILL)):
        wb.active.append(row)
    wb.save(tmp_path / "微信支付账单流水文件(20261101-20261130).xlsx")
    [rejected] = scan_bills(tmp_path).rejected
    assert rejected.channel == "wechat"
    assert [(p.line, "personal WeChat Pay bill" in p.message) for p in rejected.error.problems] == [(14, True)]


def test_a_trade_bill_saved_as_a_workbook_is_read_as_the_bill(tmp_path):
    """A trade bill opened in Excel and kept as .xlsx (every value stays text behind its backtick) was refused as an
    'unknown bill layout'; it is read as the bill, totals checked."""
    import io

    openpyxl = pytest.importorskip("openpyxl")
    from paymatch.channels.detect import scan_bills

    text = trade_bill([payment(1, 1000, fee_fen=6), refund(1, 500)], "ALL").decode("utf-8")
    wb = openpyxl.Workbook()
    for line in text.splitlines():
        wb.active.append(line.split(","))
    data = io.BytesIO()
    wb.save(data)
    (tmp_path / "1900000109All2026-11-20.xlsx").write_bytes(data.getvalue())
    [bill] = scan_bills(tmp_path).bills
    as_csv = parse(text.encode("utf-8"), "all.csv")
    assert (bill.channel, bill.kind, bill.bill_date) == ("wechat", "trade_all", as_csv.bill_date)
    assert bill.transactions.drop_columns(["src_file"]).equals(as_csv.transactions.drop_columns(["src_file"]))


def _excel_line(values: list[str]) -> str:
    """One CSV line as Excel writes it: a value holding a comma or a quote is quoted, its quotes doubled."""
    import csv
    import io

    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return out.getvalue()


def test_a_bill_excel_saved_again_with_quoted_values_is_read():
    """Opened in Excel and saved again (GBK, CRLF), a bill whose 商品名称 or JSON 商户数据包 holds a comma gets that
    value quoted ("`咖啡,大杯"). It was refused as 'wrong number of fields' on every such row."""
    from wechat_billgen import ALL_HEADER, SUMMARY_HEADER, _cell, summary_values

    rows = [payment(1, 1000, fee_fen=6), payment(2, 500), refund(1, 300)]
    rows[0]["商品名称"], rows[0]["商户数据包"] = "咖啡,大杯", '{"store":"S1","till":2}'
    rows[2]["商品名称"] = '12" 披萨, 两份'
    lines = [",".join(ALL_HEADER), *(_excel_line([_cell(c, r[c]) for c in ALL_HEADER]) for r in rows),
             SUMMARY_HEADER, ",".join("`" + v for v in summary_values(rows))]
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    assert b'"`\xbf\xa7\xb7\xc8,' in data  # "`咖啡, quoted as Excel does
    bill = parse(data, "resaved.csv")
    tx = bill.transactions
    assert tx.column("order_no").to_pylist() == ["ORD000001", "ORD000002", "ORD000001"]
    assert tx.column("amount_fen").to_pylist() == [1000, 500, 300]
    assert tx.column("fee_fen").to_pylist() == [6, 0, 0]
    assert tx.column("src_line").to_pylist() == [2, 3, 4]
    # a row really cut short is still refused by line
    short = data.replace(b",`0.60%,`10.00,`0.00,`\r\n", b",`0.60%\r\n", 1)
    with pytest.raises(LoadError) as err:
        parse(short, "resaved.csv")
    assert [p.line for p in err.value.problems] == [2]


def test_a_fund_flow_bill_excel_saved_again_keeps_its_quoted_note_whole():
    from wechat_billgen import fundflow_bill

    text = fundflow_bill([("2026-11-20 10:00:00", "收入", 1000, 1000), ("2026-11-20 11:00:00", "支出", 6, 994)])
    lines = text.decode("utf-8").splitlines()
    cells = lines[1].split(",")
    cells[9] = "`退款总金额0.01元,含手续费0.00元"
    lines[1] = _excel_line(cells)
    bill = parse(("\r\n".join(lines) + "\r\n").encode("gbk"), "flow.csv")
    assert bill.extra.column("note").to_pylist() == ["退款总金额0.01元,含手续费0.00元", ""]
    assert bill.extra.column("amount_fen").to_pylist() == [1000, 6]


def test_a_shops_own_profile_for_the_personal_bill_still_reads_it(tmp_path):
    """The refusal is the default only: a shop that wrote a profile for its personal bill keeps it (native layouts
    are tried before profiles, so without deferring the refusal would have shut such a profile out)."""
    from paymatch.channels.detect import detect, profiles_with

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "wx_personal.yaml").write_text("\n".join([
        "name: my_wechat_personal", "channel: wechat", "method: wechat", "description: a personal bill",
        "provenance: the shop's own", "sniff:", "  regex: '微信支付账单明细'", "  headers: [交易单号, 商户单号, 收/支]",
        "columns:", "  occurred_at: 交易时间", "  channel_tx_id: 交易单号", "  order_no: 商户单号",
        "  amount: 金额(元)", "type:", "  rule: constant", "  value: payment"]) + "\n", encoding="utf-8")
    data = PERSONAL_BILL.encode("utf-8")
    assert detect("p.csv", data, profiles_with([tmp_path / "profiles"])).name == "my_wechat_personal"
    assert detect("p.csv", data, profiles_with([])).name == "wechat"  # the channel's refusal


def test_an_all_and_a_refund_bill_of_one_day_give_a_refund_one_time(tmp_path):
    """WeChat Pay's format documentation: an ALL bill's 交易时间 is a refund's 发起退款成功时间, "not the refund's
    success time"; a REFUND bill prints it as 退款申请时间 (its 交易时间 is the payment's). A REFUND bill's refund was
    timed by 退款成功时间, so a shop that downloaded both bills of a day (overlapping exports) got every refund that
    took seconds to succeed as a duplicate_record beside its refund_matched."""
    import csv

    from typer.testing import CliRunner

    from paymatch.cli import app

    bills = tmp_path / "bills"
    bills.mkdir()
    pay = payment(1, 1000, fee_fen=6, time="2026-11-20 10:00:00")
    in_all = refund(1, 400, fee_fen=-2, time="2026-11-20 15:00:00", applied="", done="")
    in_refund = refund(1, 400, fee_fen=-2, time="2026-11-20 10:00:00", applied="2026-11-20 15:00:00",
                       done="2026-11-20 15:00:07")
    (bills / "1900000109All2026-11-20.csv").write_bytes(trade_bill([pay, in_all], "ALL"))
    (bills / "1900000109Refund2026-11-20.csv").write_bytes(trade_bill([in_refund], "REFUND"))
    assert parse(trade_bill([in_refund], "REFUND"), "r.csv").transactions.column("occurred_at").to_pylist() == \
        parse(trade_bill([pay, in_all], "ALL"), "a.csv").transactions.column("occurred_at").to_pylist()[1:]
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD000001,S1,1900000109,wechat,10.00,partially_refunded,2026-11-20 09:59:00,2026-11-20 10:00:00\n")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF000001,ORD000001,4.00,2026-11-20 15:00:00,success\n")
    result = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--refunds",
                                      str(tmp_path / "refunds.csv"), "--bills", str(bills), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = sorted(row["kind"] for row in csv.DictReader(f))
    assert kinds == ["matched", "refund_matched"]


def test_a_bill_exported_for_several_days_puts_each_row_on_its_own_day(tmp_path):
    """WeChat cuts its trade bills at 00:00 by each row's data time (a payment's success, a refund's acceptance); a
    file the merchant platform exports for a range of days holds several of them. Every row was put on the range's
    last day, so a workspace's day run of the 19th did not see the 19th's payment (order_only) and the 20th's run
    judged it. A daily bill is unchanged (its rows are all of its day), and a pulled bill keeps the day it was asked
    for."""
    from typer.testing import CliRunner

    from paymatch.cli import app

    rows = [payment(1, 1000, time="2026-11-19 23:59:59"), payment(2, 500, time="2026-11-20 08:00:00"),
            refund(1, 1000, time="2026-11-20 09:00:00")]
    data = trade_bill(rows, "ALL")
    bill = parse(data, "1900000109All2026-11-19_2026-11-20.csv")
    assert bill.bill_date == dt.date(2026, 11, 20)
    assert bill.transactions.column("bill_date").to_pylist() == [
        dt.date(2026, 11, 19), dt.date(2026, 11, 20), dt.date(2026, 11, 20)]
    pulled = parse(data, "x.csv", bill_date=dt.date(2026, 11, 20))
    assert set(pulled.transactions.column("bill_date").to_pylist()) == {dt.date(2026, 11, 20)}

    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "1900000109All2026-11-19_2026-11-20.csv").write_bytes(data)
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
    orders = tmp_path / "orders.csv"
    orders.write_text(head + "ORD000001,S1,1900000109,wechat,10.00,refunded,2026-11-19T23:59:50+08:00,"
                      "2026-11-19T23:59:59+08:00,,,0\nORD000002,S1,1900000109,wechat,5.00,paid,2026-11-20T08:00:00+08:00,"
                      "2026-11-20T08:00:00+08:00,,,0\n", encoding="utf-8")
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("refund_no,order_no,amount,created_at,status\nRF000001,ORD000001,10.00,"
                       "2026-11-20T09:00:00+08:00,success\n", encoding="utf-8")
    ws = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "--workspace", ws, "--orders", str(orders), "--refunds", str(refunds),
                            "--bills", str(bills)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", ws, "--date", "2026-11-19", "--out", str(tmp_path / "d19")])
    assert r.exit_code == 0, r.output
    import csv

    with open(tmp_path / "d19" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {row["order_no"]: row["kind"] for row in csv.DictReader(f) if row["outcome_id"].startswith("P-")}
    assert kinds.get("ORD000001") == "matched", kinds


def _revoked(n: int, fen: int, time: str) -> dict:
    """A payment revoked after its success (撤销) as the bill lists it: 交易状态 REVOKED, the money in the refund
    columns under the payment's numbers, no refund numbers ('0')."""
    row = payment(n, 0, status="REVOKED", time=time)
    row.update({"退款金额": fen, "申请退款金额": fen, "退款类型": "ORIGINAL", "退款状态": "SUCCESS"})
    return row


def test_a_payment_revoked_after_its_success_is_money_going_back(tmp_path):
    """WeChat lists a payment revoked after its success (付款码 at a till) as a row of its own, REVOKED, "支出-撤销",
    with the money in the refund columns. It was read as a closed payment of 0.00 beside the success: a later state
    of one record, so the order stayed matched while the 10.00 went back to the buyer. It is a refund without a
    refund number now: a shop that did not record it sees refund_channel_only, in the day's refunds."""
    import csv

    from typer.testing import CliRunner

    from paymatch.cli import app

    rows = [payment(1, 1000, time="2026-11-20 10:00:00"), _revoked(1, 1000, "2026-11-20 10:03:00"),
            payment(2, 500, time="2026-11-20 11:00:00"), payment(3, 700, status="REVOKED", time="2026-11-20 12:00:00")]
    bill = parse(trade_bill(rows, "ALL"), "all.csv")
    t = bill.transactions.to_pylist()
    assert [(r["type"], r["amount_fen"], r["status"], r["refund_no"], r["channel_refund_id"]) for r in t] == [
        ("payment", 1000, "success", None, None), ("refund", 1000, "success", None, None),
        ("payment", 500, "success", None, None),
        ("payment", 700, "closed", None, None)]  # a REVOKED row with no money back stays a closed payment
    assert t[1]["channel_tx_id"] == t[0]["channel_tx_id"] and t[1]["order_no"] == "ORD000001"

    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "1900000109All2026-11-20.csv").write_bytes(trade_bill(rows[:3], "ALL"))
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
    orders = tmp_path / "orders.csv"
    orders.write_text(head + "".join(f"ORD00000{n},S1,1900000109,wechat,{a},paid,2026-11-20T{h}:00:00+08:00,"
                                     f"2026-11-20T{h}:00:00+08:00,,,0\n" for n, a, h in ((1, "10.00", 10),
                                                                                         (2, "5.00", 11))),
                      encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(orders), "--bills", str(bills), "--out",
                                 str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "o" / "outcomes.csv", encoding="utf-8") as f:
        kinds = sorted((row["kind"], row["order_no"], row["channel_amount_fen"]) for row in csv.DictReader(f))
    assert kinds == [("matched", "ORD000001", "1000"), ("matched", "ORD000002", "500"),
                     ("refund_channel_only", "ORD000001", "1000")]


def _all_and_refund_bills_of_one_day(tmp_path):
    """One day's ALL and REFUND bills as a field pair shows them (qdingnet's test, merchant 1510598081, 2018-08-21):
    the ALL bill prints a refund at 15:00:07, its 退款成功时间, two seconds after the REFUND bill's 退款申请时间."""
    bills = tmp_path / "bills"
    bills.mkdir()
    pay = payment(1, 1000, fee_fen=6, time="2026-11-20 10:00:00")
    in_all = refund(1, 400, fee_fen=-2, time="2026-11-20 15:00:07", applied="", done="")
    in_refund = refund(1, 400, fee_fen=-2, time="2026-11-20 10:00:00", applied="2026-11-20 15:00:05",
                       done="2026-11-20 15:00:07")
    (bills / "1900000109All2026-11-20.csv").write_bytes(trade_bill([pay, in_all], "ALL"))
    (bills / "1900000109Refund2026-11-20.csv").write_bytes(trade_bill([in_refund], "REFUND"))
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD000001,S1,1900000109,wechat,10.00,partially_refunded,2026-11-20 09:59:00,2026-11-20 10:00:00\n")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF000001,ORD000001,4.00,2026-11-20 15:00:00,success\n")
    return bills


def _kinds(out):
    import csv

    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return sorted(row["kind"] for row in csv.DictReader(f))


def test_a_refund_the_all_bill_times_seconds_later_is_the_same_record_in_a_file_run(tmp_path):
    """The same WeChat refund (its 微信退款单号) on one day's ALL and REFUND bills, a second or two apart, is one record
    delivered twice: it was a duplicate_record beside its refund_matched (three in the field pair)."""
    from typer.testing import CliRunner

    from paymatch.cli import app

    bills = _all_and_refund_bills_of_one_day(tmp_path)
    result = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--refunds",
                                      str(tmp_path / "refunds.csv"), "--bills", str(bills), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert _kinds(tmp_path / "out") == ["matched", "refund_matched"]


def test_a_refund_the_all_bill_times_seconds_later_is_stored_once(tmp_path):
    """A workspace given both bills stores the refund once (the REFUND bill's copy is the one already stored), and the
    day's run and a file run over the stored bills agree."""
    import duckdb
    from typer.testing import CliRunner

    from paymatch.cli import app

    bills = _all_and_refund_bills_of_one_day(tmp_path)
    ws = str(tmp_path / "W.duckdb")
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--workspace", ws, "--orders", str(tmp_path / "orders.csv"),
                                 "--refunds", str(tmp_path / "refunds.csv"), "--bills", str(bills)])
    assert result.exit_code == 0, result.output
    with duckdb.connect(ws, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM transactions WHERE type = 'refund'").fetchone() == (1,)
    result = runner.invoke(app, ["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out",
                                 str(tmp_path / "day")])
    assert result.exit_code == 0, result.output
    assert _kinds(tmp_path / "day") == ["matched", "refund_matched"]
