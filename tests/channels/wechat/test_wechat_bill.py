"""WeChat bill parser: real samples, generated bills in every vintage, and rejections."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest
from wechat_billgen import fundflow_bill, payment, refund, summary_values, trade_bill

from paymatch.channels.wechat.bill import parse, sniff
from paymatch.errors import LoadError
from paymatch.schema import TRANSACTION_ARROW

UTC = dt.timezone.utc


def test_real_all_bill_parses_and_ties_out(wechat_sample):
    for name in ("gunsluo_tradebill_ALL_20210128.csv", "gunsluo_tradebill_ALL_20210128.csv.gz"):
        bill = parse(wechat_sample(name), name)
        assert bill.kind == "trade_all" and bill.channel == "wechat"
        assert bill.bill_date == dt.date(2021, 1, 28)
        assert bill.transactions.schema == TRANSACTION_ARROW
        rows = bill.transactions.to_pylist()
        assert len(rows) == 3 and bill.totals["count"] == 3 and bill.totals["settle_fen"] == 3
        first = rows[0]
        assert first["channel_tx_id"] == "4200000925202101284997714292"
        assert first["order_no"] == "S20210128170702357723"
        assert (first["type"], first["status"], first["amount_fen"], first["settle_amount_fen"],
                first["fee_fen"]) == ("payment", "success", 1, 1, 0)
        assert first["merchant_id"] == "1601959334"
        assert first["occurred_at"] == dt.datetime(2021, 1, 28, 9, 7, 11, tzinfo=UTC)  # 17:07:11 +08:00
        assert [r["src_line"] for r in rows] == [2, 3, 4]


def test_real_refund_bill(wechat_sample):
    bill = parse(wechat_sample("gunsluo_tradebill_REFUND_20210201.csv"), "r.csv")
    assert bill.kind == "trade_refund" and bill.bill_date == dt.date(2021, 2, 1)
    rows = bill.transactions.to_pylist()
    assert [r["type"] for r in rows] == ["refund", "refund"]
    r = rows[0]
    assert r["refund_no"] == "S20210201143320649393"
    assert r["channel_refund_id"] == "50300807172021020106006664916"
    assert (r["amount_fen"], r["settle_amount_fen"], r["status"]) == (1, 1, "success")
    assert r["occurred_at"] == dt.datetime(2021, 2, 1, 6, 33, 21, tzinfo=UTC)  # 退款申请时间: when WeChat accepted it
    assert bill.totals["refund_fen"] == 2


def test_real_success_bill(wechat_sample):
    bill = parse(wechat_sample("gunsluo_tradebill_SUCCESS_20210201.csv"), "s.csv")
    assert bill.kind == "trade_success" and bill.transactions.num_rows == 1
    assert bill.transactions.column("amount_fen").to_pylist() == [1]


def test_real_fundflow_sample_is_rejected(wechat_sample):
    name = "gunsluo_fundflowbill_BASIC_20210201.csv"
    with pytest.raises(LoadError) as err:
        parse(wechat_sample(name), name)
    fields = {p.field for p in err.value.problems}
    assert "资金流水总笔数" in fields and "收入笔数" in fields
    assert all(p.file == name and p.line == 5 for p in err.value.problems)
    assert "wechat" in str(err.value) and "does not tie out" in str(err.value)
    with pytest.raises(LoadError):
        parse(wechat_sample(name + ".gz"), name + ".gz")


def test_sniff_by_content(wechat_sample):
    assert sniff(wechat_sample("gunsluo_tradebill_ALL_20210128.csv").decode()[:4096]) == "trade_all"
    assert sniff(wechat_sample("gunsluo_tradebill_REFUND_20210201.csv").decode()) == "trade_refund"
    assert sniff(wechat_sample("gunsluo_tradebill_SUCCESS_20210201.csv").decode()) == "trade_success"
    assert sniff(wechat_sample("gunsluo_fundflowbill_BASIC_20210201.csv").decode()) == "fundflow"


def test_sniff_generated_and_foreign():
    assert sniff("\ufeff" + trade_bill([payment(1, 100)], bom=False).decode()) == "trade_all"
    assert sniff(fundflow_bill([], fullwidth=True).decode()) == "fundflow"
    assert sniff("#支付宝业务明细查询\n#账号:[2088]\n") is None
    assert sniff("order_no,amount\nA1,1.00\n") is None
    assert sniff("") is None


def test_generated_all_bill_bom_crlf_coupons_refunds_fees():
    rows = [
        payment(1, 10000, coupon_fen=500, fee_fen=57, time="2026-11-20 00:10:00"),
        payment(2, 2550, fee_fen=15, sub_mch="1900000999", time="2026-11-20 23:59:59"),
        payment(3, 990, status="REVOKED"),
        refund(4, 3000, fee_fen=-18, time="2026-11-18 08:00:00"),
        refund(5, 100, status="PROCESSING"),
    ]
    data = trade_bill(rows, bom=True, crlf=True)
    for blob in (data, gzip.compress(data)):
        bill = parse(blob, "wx_all.csv")
        got = {r["order_no"]: r for r in bill.transactions.to_pylist()}
        assert bill.bill_date == dt.date(2026, 11, 20)
        p1 = got["ORD000001"]
        assert (p1["amount_fen"], p1["settle_amount_fen"], p1["fee_fen"]) == (10000, 9500, 57)
        assert p1["occurred_at"] == dt.datetime(2026, 11, 19, 16, 10, tzinfo=UTC)
        assert got["ORD000002"]["merchant_id"] == "1900000999"  # service-provider mode: 特约商户号
        assert p1["merchant_id"] == "1900000109"
        assert got["ORD000003"]["status"] == "closed"
        r4 = got["ORD000004"]
        assert (r4["type"], r4["amount_fen"], r4["settle_amount_fen"], r4["fee_fen"], r4["status"]) == (
            "refund", 3000, 3000, -18, "success")
        assert (r4["refund_no"], r4["src_line"]) == ("RF000004", 5)
        # ALL bills have no refund times: the row's 交易时间 is used
        assert r4["occurred_at"] == dt.datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
        assert got["ORD000005"]["status"] == "processing"
        assert bill.totals["fee_fen"] == 57 + 15 - 18
        assert len(bill.sha256) == 64


def test_refund_bill_time_fallbacks():
    rows = [refund(1, 100, done=""), refund(2, 200, applied="", done="")]
    bill = parse(trade_bill(rows, "REFUND"), "ref.csv", bill_date=dt.date(2026, 11, 21))
    times = bill.transactions.column("occurred_at").to_pylist()
    assert times == [dt.datetime(2026, 11, 20, 3, 0, tzinfo=UTC), dt.datetime(2026, 11, 19, 1, 0, tzinfo=UTC)]
    assert set(bill.transactions.column("bill_date").to_pylist()) == {dt.date(2026, 11, 21)}


def test_tampered_total_is_rejected():
    rows = [payment(1, 100), payment(2, 200)]
    summ = summary_values(rows)
    summ[1] = "3.01"  # 应结订单总金额
    with pytest.raises(LoadError) as err:
        parse(trade_bill(rows, summary=summ), "t.csv")
    (p,) = err.value.problems
    assert (p.file, p.line, p.field, p.value) == ("t.csv", 5, "应结订单总金额", "3.01")
    assert "3.01" in p.message and "3.00" in p.message


def _refused(rows: list[dict], edits: dict[tuple[int, str], str], summary: list[str], **kw) -> LoadError:
    """The LoadError of a trade bill of ``rows`` with ``edits`` ((row index, column) → text) applied."""
    for (i, col), text in edits.items():
        rows[i][col] = text
    with pytest.raises(LoadError) as err:
        parse(trade_bill(rows, summary=summary, **kw), "bad.csv")
    return err.value


def test_bad_values_name_their_physical_line():
    err = _refused([payment(i, 100) for i in range(5)], {(0, "订单金额"): "1.0x", (1, "交易时间"): "2026-11-31 10:00:00"},
                   ["5", "5.00", "0.00", "0.00", "0.00000", "4.00", "0.00"], crlf=True)
    probs = [(p.line, p.field, p.value) for p in err.problems]
    assert probs == [(2, "订单金额", "1.0x"), (3, "交易时间", "2026-11-31 10:00:00")]
    assert err.total == len(probs)


def test_excel_error_values_in_id_columns_are_refused_by_line():
    """A bill someone opened and saved in Excel with a failed formula: '#N/A' is no order number."""
    rows, summ = [payment(i, 100) for i in range(3)], ["3", "3.00", "0.00", "0.00", "0.00000", "3.00", "0.00"]
    err = _refused(rows, {(1, "商户订单号"): "#N/A", (2, "微信订单号"): "#VALUE!"}, summ)
    assert [(p.line, p.field, p.value) for p in err.problems] == [(3, "商户订单号", "#N/A"), (4, "微信订单号", "#VALUE!")]
    assert "an Excel error value" in err.problems[0].message
    rows[1]["商户订单号"], rows[2]["微信订单号"] = "ORD#1", "4200#2"  # a '#' inside an id is fine
    assert parse(trade_bill(rows, summary=summ), "ok.csv").transactions.num_rows == 3


def test_ids_excel_turned_into_rounded_numbers_are_refused_by_line():
    """A bill saved again by Excel after its guarding backticks were taken off: a 28-digit 微信订单号 becomes
    4.2E+27 (and a numeric order number 2.02611E+17); stored, every such payment would share one id."""
    rows, summ = [payment(i, 100) for i in range(3)], ["3", "3.00", "0.00", "0.00", "0.00000", "3.00", "0.00"]
    err = _refused(rows, {(0, "微信订单号"): "4.2E+27", (2, "商户订单号"): "2.02611e+17"}, summ)
    assert [(p.line, p.field, p.value) for p in err.problems] == [(2, "微信订单号", "4.2E+27"), (4, "商户订单号", "2.02611e+17")]
    assert "re-saved by Excel" in err.problems[0].message
    rows[0]["微信订单号"], rows[2]["商户订单号"] = "4200E+27", "SO2E+17"  # not a number: an id like any other
    assert parse(trade_bill(rows, summary=summ), "ok.csv").transactions.num_rows == 3


def test_sub_fen_fee_and_wrong_field_count():
    rows = [payment(1, 100), payment(2, 100)]
    text = trade_bill(rows).decode()
    with pytest.raises(LoadError) as err:  # a sub-fen fee is read (rounded to 0.00), the total no longer ties out
        parse(text.replace("`0.00000", "`0.00001", 1).encode(), "fee.csv")
    assert err.value.problems[0].field == "手续费总金额" and "(0.00001)" in err.value.problems[0].message
    with pytest.raises(LoadError) as err:
        parse(text.replace("`0.00000", "`0.000001", 1).encode(), "fee.csv")
    assert err.value.problems[0].field == "手续费" and err.value.problems[0].line == 2
    lines = text.split("\n")
    lines[2] = lines[2] + ",`extra"
    with pytest.raises(LoadError) as err:
        parse("\n".join(lines).encode(), "cols.csv")
    assert err.value.problems[0].line == 3 and "number of fields" in err.value.problems[0].message


def test_short_row_and_blank_line_are_located():
    rows = [payment(i, 100) for i in range(1, 5)]
    lines = trade_bill(rows, crlf=True).decode().split("\r\n")
    lines[4] = "`2026-11-20 10:00:00,`wx"  # a cut-off row (line 5) whose text also starts line 2
    lines[2] = ""  # a blank line inside the data (line 3)
    with pytest.raises(LoadError) as err:
        parse("\r\n".join(lines).encode(), "cut.csv")
    assert [(p.line, p.value) for p in err.value.problems] == [(5, "`2026-11-20 10:00:00,`wx")]
    lines[4] = lines[3]
    with pytest.raises(LoadError) as err:
        parse("\r\n".join(lines).encode(), "blank.csv")
    assert [(p.line, p.message) for p in err.value.problems] == [(3, "wechat: a blank line between the bill's rows")]


def test_unknown_layout_missing_summary_wrong_encoding():
    with pytest.raises(LoadError, match="unknown column layout"):
        parse(b"order_no,amount\nA,1.00\n", "x.csv")
    text = trade_bill([payment(1, 100)]).decode()
    with pytest.raises(LoadError, match="summary section"):
        parse(text.split("总交易单数")[0].encode(), "cut.csv")
    with pytest.raises(LoadError, match="neither UTF-8 nor GBK") as err:
        parse(text.encode("gbk").replace("交易时间".encode("gbk"), b"\xff\xfe", 1), "garbled.csv")
    assert err.value.problems[0].line == 1
    with pytest.raises(LoadError, match="gzip"):
        parse(gzip.compress(text.encode())[:-10], "cut.csv.gz")


def test_a_bill_saved_again_as_gbk_reads_as_the_same_bill():
    """Opened in Excel on a Chinese Windows and saved as CSV: GBK, the backticks (and so the ids) intact."""
    rows = [payment(1, 10000, coupon_fen=500, fee_fen=57), refund(4, 3000, fee_fen=-18), payment(3, 990, status="REVOKED")]
    utf8 = trade_bill(rows, bom=False, crlf=True)
    gbk = utf8.decode("utf-8").encode("gbk")
    assert gbk != utf8
    a, b = parse(utf8, "wx.csv"), parse(gbk, "wx_gbk.csv")
    cols = ["order_no", "channel_tx_id", "type", "refund_no", "amount_fen", "fee_fen", "settle_amount_fen", "status",
            "occurred_at", "merchant_id", "src_line"]
    assert b.transactions.select(cols).to_pylist() == a.transactions.select(cols).to_pylist()
    assert (b.bill_date, b.totals) == (a.bill_date, a.totals) and b.sha256 != a.sha256  # the hash is of the bytes


def test_empty_bill():
    bill = parse(trade_bill([]), "empty.csv")
    assert bill.transactions.num_rows == 0 and bill.totals["count"] == 0 and bill.bill_date is None


def test_generated_fundflow_bill():
    rows = [("2026-11-20 10:00:00", "收入", 9943, 100000), ("2026-11-20 11:00:00", "支出", 3000, 97000)]
    bill = parse(fundflow_bill(rows, fullwidth=True), "ff.csv")
    assert bill.kind == "fundflow" and bill.transactions.num_rows == 0
    assert bill.bill_date == dt.date(2026, 11, 20)
    extra = bill.extra.to_pylist()
    assert [(e["direction"], e["amount_fen"], e["balance_fen"], e["src_line"]) for e in extra] == [
        ("in", 9943, 100000, 2), ("out", 3000, 97000, 3)]
    assert extra[0]["booked_at"] == dt.datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert bill.totals == {"count": 2, "in_count": 1, "in_fen": 9943, "out_count": 1, "out_fen": 3000}
    with pytest.raises(LoadError, match="支出金额"):
        parse(fundflow_bill(rows, summary=["2", "1", "99.43", "1", "30.01"]), "ff.csv")


def test_a_fund_flow_bill_delivered_again_compressed_is_stored_once(tmp_path):
    """(helper-50) The same 资金账单 as .csv, then as .csv.gz (another hash, so another batch): each flow is stored once."""
    from typer.testing import CliRunner

    from paymatch.cli import app
    from paymatch.workspace import Workspace

    data = fundflow_bill([("2026-11-20 10:00:00", "收入", 1000, 1000), ("2026-11-20 11:00:00", "支出", 300, 700)])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "fundflow_20261120.csv").write_bytes(data)
    (tmp_path / "b" / "fundflow_20261120.csv.gz").write_bytes(gzip.compress(data))
    w = tmp_path / "w.duckdb"
    for folder in ("a", "b"):
        r = CliRunner().invoke(app, ["ingest", "--workspace", str(w), "--bills", str(tmp_path / folder)])
        assert r.exit_code == 0, r.output
    assert "2 of them already stored" in " ".join(r.output.split())
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), count(DISTINCT flow_no) FROM fund_flows").fetchall() == [(2, 2)]
