"""Alipay 账务明细 (bill_type=signcustomer): fund-flow rows, totals tie-out, bad values, zip, detection,
ingest into fund_flows, and the pull wiring against the fake gateway."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest
from alipay_billgen import (
    ACCOUNT, FUND_HEADER, FundRow, bill_zip, detail_text, fund_bytes, fund_rows, fund_summary_bytes, fund_text,
    fund_zip, sample_rows,
)
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem
from typer.testing import CliRunner

from paymatch.accounts import Account
from paymatch.channels.alipay import parse, parse_zip, sniff_bytes
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.channels.detect import detect, scan_bills
from paymatch.channels.wechat.fundflow import FUNDFLOW_ARROW
from paymatch.cli import app
from paymatch.errors import ConfigError, LoadError
from paymatch.pull import pull_day
from paymatch.workspace import Workspace

UTC = dt.UTC
APP_ID = "2021000000000001"


def lines_of(text: str) -> list[str]:
    return text.split("\r\n")


def test_rows_become_fund_flows():
    bill = parse(fund_bytes(fund_rows()), "f.csv")
    assert (bill.channel, bill.kind, bill.bill_date) == ("alipay", "fundflow", dt.date(2019, 9, 16))
    assert bill.transactions.num_rows == 0 and bill.extra.schema == FUNDFLOW_ARROW
    rows = bill.extra.to_pylist()
    pay, fee, refund, fee_back, pay2, withdraw = rows
    assert pay == {
        "booked_at": dt.datetime(2019, 9, 16, 2, 55, 23, tzinfo=UTC), "wx_business_no": "2019091622001458860515315453",
        "flow_no": "20190916200040011100860000000001", "name": "测试商品", "business_type": "在线支付",
        "direction": "in", "amount_fen": 9500, "balance_fen": 109500, "applicant": "*津水(602***@qq.com)",
        "note": None, "voucher_no": "ORD-1", "src_line": 6}
    assert (fee["direction"], fee["amount_fen"], fee["business_type"], fee["note"]) == \
        ("out", 57, "收费", "服务费[2019091622001458860515315453]")
    assert (refund["direction"], refund["amount_fen"], refund["voucher_no"]) == ("out", 3000, "ORD-1")
    assert (fee_back["direction"], fee_back["amount_fen"]) == ("in", 18)
    assert pay2["booked_at"] == dt.datetime(2019, 9, 16, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    assert (withdraw["direction"], withdraw["amount_fen"], withdraw["balance_fen"], withdraw["wx_business_no"]) == \
        ("out", 100000, 8461, None)
    assert [r["src_line"] for r in rows] == list(range(6, 12))
    assert bill.totals == {"in_count": 3, "in_fen": 11518, "out_count": 3, "out_fen": 103057}


def test_same_result_from_gbk_utf8_and_bom():
    text = fund_text(fund_rows())
    want = parse(text.encode("gbk"), "g.csv").extra
    assert parse(text.encode("utf-8"), "u.csv").extra.equals(want)
    assert parse(b"\xef\xbb\xbf" + text.encode("utf-8"), "b.csv").extra.equals(want)
    assert parse(text.replace("\r\n", "\n").encode("gbk"), "lf.csv").extra.equals(want)


def test_sniff_tells_the_four_alipay_files_apart():
    assert sniff_bytes(fund_bytes(fund_rows())) == "alipay_fundflow"
    assert sniff_bytes(fund_summary_bytes(fund_rows())) == "alipay_fund_summary"
    assert sniff_bytes(fund_text(fund_rows()).encode("utf-8-sig")) == "alipay_fundflow"
    assert sniff_bytes("账务流水号,发生时间,收入金额（+元）\n1,2,3\n".encode("gbk")) is None  # no '#' frame


def test_columns_found_by_name_extra_columns_and_positive_expense():
    """Newer exports add columns (业务描述 …) and move them about; some print expenses without the minus."""
    cols = FUND_HEADER.split(",")
    order = list(range(len(cols)))[::-1]
    header = ",".join([cols[i].replace("（", "(").replace("）", ")") for i in order] + ["业务描述"])
    text = fund_text(fund_rows(), header=header)
    lines = lines_of(text)
    for i in range(5, 11):
        cells = lines[i].split(",")
        lines[i] = ",".join([cells[j].replace("-", "") if j == 7 else cells[j] for j in order] + ["交易收款"])
    bill = parse("\r\n".join(lines).encode("gbk"), "r.csv")
    assert bill.extra.column("amount_fen").to_pylist() == [9500, 57, 3000, 18, 2000, 100000]
    assert bill.extra.column("direction").to_pylist() == ["in", "out", "out", "in", "in", "out"]
    assert bill.extra.column("name").to_pylist()[1] == "交易收款"  # no 商品名称: 业务描述


def test_empty_day_is_a_bill_without_rows():
    bill = parse(fund_bytes([]), "e.csv")
    assert bill.extra.num_rows == 0 and bill.totals == {"in_count": 0, "in_fen": 0, "out_count": 0, "out_fen": 0}


@pytest.mark.parametrize("line_no,totals,field,says", [
    (14, ("#支出合计：3笔，共-1030.57元", "#收入合计：3笔，共115.19元"), "#收入合计", "115.19"),
    (13, ("#支出合计：4笔，共-1030.57元", "#收入合计：3笔，共115.18元"), "#支出合计", "4笔"),
    (13, ("#支出合计：3笔，共-1,030.56元", "#收入合计：3笔，共115.18元"), "#支出合计", "1030.56"),
])
def test_totals_that_do_not_tie_out_are_refused(line_no, totals, field, says):
    with pytest.raises(LoadError) as err:
        parse(fund_bytes(fund_rows(), totals=totals), "t.csv")
    (p,) = err.value.problems
    assert (p.file, p.line, p.field) == ("t.csv", line_no, field) and says in p.message
    assert lines_of(fund_text(fund_rows(), totals=totals))[line_no - 1] == totals[line_no - 13]
    assert f"t.csv:{line_no} [{field}]" in str(err.value)


def test_one_totals_line_is_enough_none_is_truncated():
    ins = fund_text(fund_rows()).split("\r\n")[13]
    assert parse(fund_bytes(fund_rows(), totals=(ins,)), "one.csv").totals == {"in_count": 3, "in_fen": 11518}
    with pytest.raises(LoadError, match="no '#收入合计' / '#支出合计'"):
        parse(fund_bytes(fund_rows(), totals=()), "none.csv")
    with pytest.raises(LoadError, match="totals line is not"):
        parse(fund_bytes(fund_rows(), totals=("#收入合计：三笔",)), "words.csv")


def test_truncated_file_is_refused():
    text = fund_text(fund_rows())
    cut = text[: text.index("#----------------------------------------" + "-账务明细列表结束")]
    with pytest.raises(LoadError, match="账务明细列表结束"):
        parse(cut.encode("gbk"), "cut.csv")


@pytest.mark.parametrize("change,field,value,message", [
    (dict(expense="-12.3.4"), "支出金额（-元）", "-12.3.4", "not a yuan amount"),
    (dict(income="1e5"), "收入金额（+元）", "1e5", "not a yuan amount"),
    (dict(income="95.001"), "收入金额（+元）", "95.001", "not a yuan amount"),
    (dict(balance='"1,095.00"'), "账户余额（元）", "1,095.00", "not a yuan amount"),  # quoted CSV value
    (dict(when="2019-09-16 25:61:00"), "发生时间", "2019-09-16 25:61:00", "not a time"),
    (dict(flow_no=""), "账务流水号", "", "empty 账务流水号"),
    (dict(income="-95.00"), "收入金额（+元）", "-95.00", "negative"),
    (dict(expense="-1.00"), "支出金额（-元）", "-1.00", "both non-zero"),
    (dict(income="0.00"), "收入金额（+元）", "0.00", "neither"),
])
def test_bad_value_is_refused_with_file_line_and_field(change, field, value, message):
    rows = fund_rows()
    for k, v in change.items():
        setattr(rows[0], k, v)
    with pytest.raises(LoadError) as err:
        parse(fund_bytes(rows, totals=("#收入合计：3笔，共115.18元",)), "bad.csv")
    p = err.value.problems[0]
    assert (p.file, p.line, p.field, p.value) == ("bad.csv", 6, field, value) and message in p.message
    assert f"bad.csv:6 [{field}]" in str(err.value)


def test_missing_column_and_ragged_row_are_refused():
    with pytest.raises(LoadError, match=r"\[发生时间\]: column missing"):
        parse(fund_bytes(fund_rows(), header=FUND_HEADER.replace("发生时间", "时间")), "m.csv")
    lines = lines_of(fund_text(fund_rows()))
    lines[7] += ",extra"
    with pytest.raises(LoadError) as err:
        parse("\r\n".join(lines).encode("gbk"), "ragged.csv")
    assert err.value.problems[0].line == 8


def test_zip_gives_fund_flows_and_the_summary_is_cross_checked():
    bills = parse_zip(fund_zip(fund_rows()), "fnd.zip")
    assert [b.kind for b in bills] == ["fundflow", "alipay_fund_summary"]
    assert bills[0].source == f"fnd.zip!{ACCOUNT}_20190916_账务明细.csv"
    assert bills[1].totals == {"in_count": 3, "in_fen": 11518, "out_count": 3, "out_fen": 103057}
    assert bills[1].extra.column("type").to_pylist() == ["在线支付", "收费", "交易退款", "提现"]
    with pytest.raises(LoadError, match="汇总 says 115.19"):
        parse_zip(fund_zip(fund_rows(), summary_tamper=1), "bad.zip")


def test_summary_total_must_add_up():
    data = fund_summary_bytes(fund_rows()).decode("gbk").replace("合计\t,3,115.18", "合计\t,3,115.20").encode("gbk")
    with pytest.raises(LoadError) as err:
        parse(data, "s.csv")
    p = err.value.problems[0]
    assert (p.file, p.line, p.field, p.value) == ("s.csv", 10, "收入金额（+元）", "115.20")
    assert data.decode("gbk").split("\r\n")[9].startswith("合计")


def test_detected_by_content_in_a_zip_in_a_folder(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "download(3).zip").write_bytes(fund_zip(fund_rows()))
    (tmp_path / "a" / "utf8.zip").write_bytes(_zip({"x.csv": fund_text(fund_rows()).encode("utf-8-sig"),
                                                     "y.csv": fund_summary_bytes(fund_rows())}))
    scan = scan_bills(tmp_path)
    assert not scan.rejected
    # utf8.zip's 汇总 is byte-identical to the first one: skipped as a copy, still pairs with its detail
    assert sorted(b.kind for b in scan.bills) == ["alipay_fund_summary", "fundflow", "fundflow"]
    assert all(b.channel == "alipay" for b in scan.bills)
    assert dict(scan.skipped)[str(tmp_path / "a" / "utf8.zip") + "!y.csv"].startswith("same content as")


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_lone_detail_stays_with_the_builtin_profile_unless_it_does_not_match(tmp_path):
    """The builtin profile alipay_merchant_console_export reads the same layout as transactions; a lone
    账务明细 CSV (no 汇总 beside it) is still read by that profile, a variant it does not match here."""
    assert detect("x", fund_bytes(fund_rows())).name == "alipay_merchant_console_export"
    variant = fund_bytes(fund_rows(), header=FUND_HEADER.replace("业务流水号", "业务订单号"))
    assert detect("x", variant).name == "alipay"
    (tmp_path / "lone.csv").write_bytes(fund_bytes(fund_rows()))
    (tmp_path / "variant.csv").write_bytes(variant)
    (tmp_path / "only_summary.zip").write_bytes(_zip({"s.csv": fund_summary_bytes(fund_rows())}))
    kinds = {b.source.rsplit("/", 1)[-1]: b.kind for b in scan_bills(tmp_path).bills}
    assert kinds == {"lone.csv": "profile:alipay_merchant_console_export", "variant.csv": "fundflow",
                     "only_summary.zip!s.csv": "alipay_fund_summary"}


def test_a_disagreeing_summary_rejects_both_members(tmp_path):
    (tmp_path / "fnd.zip").write_bytes(fund_zip(fund_rows(), summary_tamper=-5))
    scan = scan_bills(tmp_path)
    assert not scan.bills
    assert sorted(r.name.rsplit("_", 1)[1] for r in scan.rejected) == ["账务明细(汇总).csv", "账务明细.csv"]
    assert all(r.channel == "alipay" for r in scan.rejected)


def test_ingest_stores_fund_flows_and_the_report_does_not_count_them_twice(tmp_path):
    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (bills / "fnd.zip").write_bytes(fund_zip(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(bills)])
    assert res.exit_code == 0, res.output
    assert "6 rows (fundflow)" in res.output
    again = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(bills)])
    assert again.exit_code == 0 and again.output.count("already loaded, unchanged") == 4
    with Workspace(w) as ws:
        got = ws.con.execute(
            "SELECT channel, direction, count(*), sum(amount_fen) FROM fund_flows GROUP BY ALL ORDER BY 2").fetchall()
        assert got == [("alipay", "in", 3, 11518), ("alipay", "out", 3, 103057)]
        first = ws.con.execute("SELECT booked_at, business_no, voucher_no, balance_fen, src_file, src_line FROM fund_flows "
                               "ORDER BY src_line LIMIT 1").fetchall()[0]
        assert first[0] == dt.datetime(2019, 9, 16, 2, 55, 23, tzinfo=UTC)
        assert first[1:4] == ("2019091622001458860515315453", "ORD-1", 109500)
        assert first[4].endswith("fnd.zip!20880211096256330156_20190916_账务明细.csv") and first[5] == 6
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3
    # the fund-flow report reads the transactions: the trade bill's three, not the account movements again
    out = tmp_path / "f.json"
    res = runner.invoke(app, ["report", "fund-flow", "--workspace", w, "--from", "2019-09-16", "--to", "2019-09-16",
                              "--by", "channel", "--json", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text(encoding="utf-8"))["tables"][0]["rows"]
    total = [r for r in summary if r["tx_count"] == 3]
    assert total, summary


def test_bill_types_config_is_checked():
    key = "-----BEGIN KEY-----\nx\n-----END KEY-----\n"
    assert AlipayConfig("a", key, key).bill_types == ("trade",)
    assert AlipayConfig("a", key, key, bill_types=["trade", "signcustomer"]).bill_types == ("trade", "signcustomer")
    assert AlipayConfig("a", key, key, bill_types="signcustomer").bill_types == ("signcustomer",)
    for bad in (("trade", "trade"), ("fund",), ()):
        with pytest.raises(ConfigError, match="bill_types"):
            AlipayConfig("a", key, key, bill_types=bad)


def _config(gw, app_key, alipay_key, **kw) -> AlipayConfig:
    return AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gw.gateway_url,
                        timeout=1.0, retries=1, backoff=0.01, **kw)


def test_pull_downloads_signcustomer_when_the_account_asks(tmp_path):
    app_key, alipay_key = new_key(), new_key()
    day = dt.date(2019, 9, 16)
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {str(day): bill_zip(sample_rows())},
                           fund_zips={str(day): fund_zip(fund_rows())}, app_id=APP_ID, stall=0.5) as gw:
        acct = Account("alipay", APP_ID, _config(gw, app_key, alipay_key, bill_types=("trade", "signcustomer")))
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            results = pull_day(ws, [acct], day)
            assert [(r.kind, r.rows, r.error) for r in results] == [
                ("alipay_detail", 3, None), ("alipay_summary", 0, None),
                ("fundflow", 6, None), ("alipay_fund_summary", 0, None)]
            assert [json.loads(r["biz_content"])["bill_type"] for r in gw.requests] == ["trade", "signcustomer"]
            assert all(r.skipped for r in pull_day(ws, [acct], day))
            assert ws.con.execute("SELECT count(*), min(src_file) FROM fund_flows").fetchall()[0] == \
                (6, f"alipay:{APP_ID}:signcustomer:{day}!{ACCOUNT}_20190916_账务明细.csv")


def test_pull_of_a_bad_signcustomer_zip_is_quarantined(tmp_path):
    app_key, alipay_key = new_key(), new_key()
    day = dt.date(2019, 9, 16)
    rows = fund_rows()
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {str(day): bill_zip(sample_rows())},
                           fund_zips={str(day): fund_zip(rows, summary_tamper=3)}, app_id=APP_ID) as gw:
        acct = Account("alipay", APP_ID, _config(gw, app_key, alipay_key, bill_types=("trade", "signcustomer")))
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            results = pull_day(ws, [acct], day)
            assert [r.kind for r in results if r.error is None] == ["alipay_detail", "alipay_summary"]
            (bad,) = [r for r in results if r.error]
            assert bad.kind == "signcustomer" and "汇总 says" in bad.error
            assert ws.con.execute("SELECT count(*) FROM fund_flows").fetchall()[0][0] == 0
            assert ws.con.execute("SELECT source FROM quarantine").fetchall() == [(f"alipay:{APP_ID}:signcustomer:{day}",)]


def test_default_pull_asks_for_the_trade_bill_only(tmp_path):
    app_key, alipay_key = new_key(), new_key()
    day = dt.date(2019, 9, 16)
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {str(day): bill_zip(sample_rows())},
                           fund_zips={str(day): fund_zip(fund_rows())}, app_id=APP_ID) as gw:
        acct = Account("alipay", APP_ID, _config(gw, app_key, alipay_key))
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            assert [r.kind for r in pull_day(ws, [acct], day)] == ["alipay_detail", "alipay_summary"]
    assert [json.loads(r["biz_content"])["bill_type"] for r in gw.requests] == ["trade"]


def test_fund_row_generator_round_trip():
    """The generator's own arithmetic (yuan strings) agrees with the parser's integer fen."""
    rows = [FundRow(f"F{i:04d}", f"B{i:04d}", income=f"{i}.{i % 100:02d}", balance=f"{i * 3}.00") for i in range(1, 40)]
    bill = parse(fund_bytes(rows), "g.csv")
    assert bill.totals["in_fen"] == sum(i * 100 + i % 100 for i in range(1, 40)) == sum(bill.extra["amount_fen"].to_pylist())


@pytest.mark.parametrize("loose", ["0_fund.csv", "z_fund.csv"])  # read before / after the zip
def test_a_loose_copy_of_a_zips_detail_is_read_as_the_zip_member(tmp_path, loose):
    """The same 账务明细 bytes loose and inside a signcustomer zip: the zip member is read (fund flows, checked against
    its 汇总) whatever the file order; with a tampered 汇总 the zip is rejected either way (a loose copy read first
    by the console-export profile had left the 汇总 unchecked)."""
    (tmp_path / loose).write_bytes(fund_bytes(fund_rows()))
    (tmp_path / "m_fnd.zip").write_bytes(fund_zip(fund_rows()))
    scan = scan_bills(tmp_path)
    assert sorted(b.kind for b in scan.bills) == ["alipay_fund_summary", "fundflow"] and not scan.rejected
    assert all(b.source.startswith(str(tmp_path / "m_fnd.zip")) for b in scan.bills)
    (tmp_path / "m_fnd.zip").write_bytes(fund_zip(fund_rows(), summary_tamper=-5))
    scan = scan_bills(tmp_path)
    assert not scan.bills and len(scan.rejected) == 2


def test_a_loose_detail_beside_its_summary_or_the_accounts_trade_bill_is_read_as_fund_flows(tmp_path):
    """An unzipped signcustomer delivery (账务明细 and its 汇总 side by side in a folder) is read as the zip is; a
    账务明细 beside the same account's 业务明细 too. The profile read it as transactions there: each payment twice
    (a duplicate_record) and the refund, which has no refund number in the 账务明细, as a second refund nobody
    recorded (refund_channel_only)."""
    unzipped = tmp_path / "unzipped"
    unzipped.mkdir()
    (unzipped / "x_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    (unzipped / "x_账务明细(汇总).csv").write_bytes(fund_summary_bytes(fund_rows()))
    assert sorted(b.kind for b in scan_bills(unzipped).bills) == ["alipay_fund_summary", "fundflow"]

    both = tmp_path / "both"
    both.mkdir()
    (both / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (both / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    scan = scan_bills(both)
    assert not scan.rejected
    kinds = {b.source.rsplit("/", 1)[-1]: b.kind for b in scan.bills}
    assert kinds["lone_账务明细.csv"] == "fundflow"
    assert sum(b.transactions.num_rows for b in scan.bills) == 3  # the 业务明细's own rows, once
    # another account's 业务明细, or the account's of another day, leaves a lone 账务明细 to the profile
    other = tmp_path / "other"
    other.mkdir()
    (other / "lone.csv").write_bytes(fund_bytes(fund_rows(), account="20889999999999990156"))
    (other / "next_day.csv").write_bytes(fund_bytes([replace(r, when=r.when.replace("09-16", "09-17"))
                                                     for r in fund_rows()]))
    (other / "trade.zip").write_bytes(bill_zip(sample_rows()))
    kinds = {b.source.rsplit("/", 1)[-1]: b.kind for b in scan_bills(other).bills}
    assert kinds["lone.csv"] == kinds["next_day.csv"] == "profile:alipay_merchant_console_export"


def test_a_detail_given_apart_from_the_accounts_trade_bill_is_still_read_as_fund_flows(tmp_path):
    """--bills trade.zip --bills 账务明细.csv: each path is scanned on its own, yet the 账务明细 is read as fund flows
    beside the 业务明细 of the other path, as in one folder (it was read by the profile: every payment stored twice)."""
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    res = CliRunner().invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "trade.zip"),
                                   "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert res.exit_code == 0, res.output
    assert "6 rows (fundflow)" in res.output and "profile:" not in res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3
        assert ws.con.execute("SELECT count(*) FROM fund_flows").fetchall()[0][0] == 6


def test_an_unzipped_pair_given_as_two_paths_is_read_as_the_zip_is(tmp_path):
    """--bills x_账务明细.csv --bills x_账务明细(汇总).csv (the signcustomer zip unzipped, each file named): fund flows
    and their 汇总, as from the zip or the folder (the detail was read by the profile as transactions)."""
    from paymatch.channels.detect import scan_paths

    (tmp_path / "x_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    (tmp_path / "x_账务明细(汇总).csv").write_bytes(fund_summary_bytes(fund_rows()))
    scans = scan_paths([tmp_path / "x_账务明细.csv", tmp_path / "x_账务明细(汇总).csv"])
    assert [b.kind for scan in scans for b in scan.bills] == ["fundflow", "alipay_fund_summary"]


def test_a_detail_ingested_after_the_accounts_trade_bill_is_read_as_fund_flows(tmp_path):
    """The 业务明细 ingested (or pulled) first, the day's 账务明细 by a later ingest: it is the account's fund flows,
    as when both come in one command (the profile stored its movements as transactions: each payment again, each
    refund a second time without its number)."""
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    for path in ("trade.zip", "lone_账务明细.csv"):
        res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / path)])
        assert res.exit_code == 0, res.output
    assert "6 rows (fundflow)" in res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3


def test_a_trade_bill_without_a_detail_to_read_again_is_not_looked_at_row_by_row(tmp_path, monkeypatch):
    """A 业务明细's (merchant number, day) pairs are wanted only when a profile read an Alipay file that may be a
    账务明细 (``alipay.scan.read_fund_details_as_flows``): every scan of a 业务明细 alone (ingest, reconcile, one path or
    several) listed each of its rows' pairs in Python, three times with two --bills paths, seconds and gigabytes on a
    bill of millions of rows. Where a 账务明细 is beside it, its pairs are still found (by Arrow, distinct)."""
    import paymatch.channels.alipay.scan as scan_mod
    from paymatch.channels.detect import scan_paths

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "b" / "trade.zip").write_bytes(bill_zip(sample_rows()[:1]))
    real = scan_mod._account_days
    calls: list[str] = []
    monkeypatch.setattr(scan_mod, "_account_days", lambda bill: calls.append(bill.source) or real(bill))
    assert [b.kind for b in scan_bills(tmp_path / "a").bills] == ["alipay_detail", "alipay_summary"]
    scans = scan_paths([tmp_path / "a", tmp_path / "b"], stored_trade_days={(ACCOUNT[:16], dt.date(2019, 9, 15))})
    assert sum(len(s.bills) for s in scans) == 4 and not any(s.rejected for s in scans)
    assert calls == []

    (tmp_path / "b" / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    scans = scan_paths([tmp_path / "a", tmp_path / "b"])
    assert [b.kind for b in scans[1].bills if b.source.endswith("lone_账务明细.csv")] == ["fundflow"]
    assert calls  # looked at, now that a 账务明细 may be read again
    assert real(scans[0].bills[0]) == {(ACCOUNT[:16], dt.date(2019, 9, 16))}  # its PID


def test_an_ingest_without_a_detail_to_read_again_does_not_read_the_workspaces_trade_days(tmp_path, monkeypatch):
    """The workspace's Alipay 业务明细 days (a DISTINCT over every stored channel record) are read only when an ingest
    brings a file a profile read as Alipay's, which may be a 账务明细 (it was read for every ingest of any bill);
    then they still count (the 账务明细 is read as fund flows)."""
    import paymatch.cli as cli

    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    real = cli._stored_alipay_trade_days
    asked: list[str] = []
    monkeypatch.setattr(cli, "_stored_alipay_trade_days", lambda ws: asked.append(str(ws)) or real(ws))
    runner = CliRunner()
    for _ in range(2):  # the second ingest of the 业务明细: the workspace exists, still nothing to read it for
        res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "trade.zip")])
        assert res.exit_code == 0, res.output
    assert asked == []
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert res.exit_code == 0 and "6 rows (fundflow)" in res.output, res.output
    assert asked == [w]


def test_a_shops_own_profile_of_another_channel_still_gives_way_to_the_zips_fund_flows(tmp_path):
    """A shop profile that reads the 账务明细 under a channel name of its own (``alipay_cn``) matched the zip's detail
    first: beside its 汇总 it is still read as fund flows, as before the 业务明细 days were looked for lazily."""
    from pathlib import Path as _P

    import paymatch

    builtin = _P(paymatch.__file__).parent / "profiles" / "alipay_merchant_console_export.yaml"
    own = tmp_path / "profiles"
    own.mkdir()
    (own / "shop_fund_detail.yaml").write_text(
        builtin.read_text(encoding="utf-8").replace("name: alipay_merchant_console_export", "name: shop_fund_detail")
        .replace("channel: alipay\n", "channel: alipay_cn\n")
        .replace("headers: [账务流水号, 业务流水号, 收入金额（+元）]", "headers: [账务流水号, 业务流水号, 收入金额（+元）, 业务类型]"),
        encoding="utf-8")  # more specific than the builtin profile: it wins
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "signcustomer.zip").write_bytes(fund_zip(fund_rows()))
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    assert [b.kind for b in scan_bills(lone, [own]).bills] == ["profile:shop_fund_detail"]  # the profile is used
    assert sorted(b.kind for b in scan_bills(tmp_path / "in", [own]).bills) == ["alipay_fund_summary", "fundflow"]


def test_a_trade_bill_ingested_after_its_detail_was_stored_as_transactions_is_refused(tmp_path):
    """The lone 账务明细 ingested first (the profile stored its movements as transactions), the same account's
    业务明细 of that day by a later ingest: stored, each payment and refund was in the workspace twice and the run
    showed duplicate_record / refund_channel_only outcomes without a word why. Refused now, nothing of the command
    stored, naming the earlier file, its batch and the day; a 业务明细 of another day is stored as before."""
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    (tmp_path / "orders.csv").write_text("order_no,store_id,channel,amount,status,created_at,paid_at\n"
                                         "ORD-1,S001,alipay,100.00,paid,2019-09-16 10:55:16,2019-09-16 10:55:23\n",
                                         encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert res.exit_code == 0 and "profile:alipay_merchant_console_export" in res.output, res.output
    with Workspace(w) as ws:
        batch = ws.con.execute("SELECT batch_id FROM batches").fetchall()[0][0]
    res = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"),
                              "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code != 0
    said = "".join(res.output.split())  # (a long path is broken where the terminal width ends)
    for part in ("业务明细.csv: this Alipay 业务明细 of 2088021109625633 on 2019-09-16 would count each payment",
                 f"/lone_账务明细.csv, batch {batch},", "nothing was loaded", "without that 账务明细"):
        assert "".join(part.split()) in said, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 1
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the profile's, once
        assert ws.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == 0

    # the account's 业务明细 of another day: no 账务明细 of that day stored, nothing counted twice
    text = detail_text([replace(r, created=r.created.replace("09-16", "09-17"),
                                finished=r.finished.replace("09-16", "09-17")) for r in sample_rows()])
    text = text.replace("[2019年09月17日 00:00:00]", "[2019年09月18日 00:00:00]").replace(
        "[2019年09月16日 00:00:00]", "[2019年09月17日 00:00:00]")
    (tmp_path / "next_业务明细.csv").write_bytes(text.encode("gbk"))
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "next_业务明细.csv")])
    assert res.exit_code == 0 and "3 rows (alipay_detail)" in res.output, res.output
    assert "账务明细 of those days" not in res.output


def test_a_workspace_holding_both_already_is_warned_on_the_trade_bill_again(tmp_path, monkeypatch):
    """A workspace that got both before the refusal (the 业务明细 stored over the profile's rows): the same 业务明细
    ingested again changes nothing, and says why the day's outcomes show each record twice. An ingest of other bills
    does not look for the 业务明细's days (nor read the stored rows)."""
    import paymatch.cli as cli
    from paymatch.channels.detect import scan_bills as scan

    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    with Workspace(w) as ws:  # stored as the ingest did before: the profile's reading, then the 业务明细
        for bill in [*scan(tmp_path / "lone_账务明细.csv").bills, *scan(tmp_path / "trade.zip").bills]:
            ws.store_bill(bill)
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 6
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code == 0, res.output
    said = "".join(res.output.split())  # (a long path is broken where the terminal width ends)
    for part in ("already loaded, unchanged", "warning:", "/lone_账务明细.csv, batch transactions:",
                 "业务明细 of 2088021109625633 on 2019-09-16 counts each payment and refund twice"):
        assert "".join(part.split()) in said, res.output

    real = cli._trade_bill_over_fund_detail
    asked: list[int] = []
    monkeypatch.setattr(cli, "_trade_bill_over_fund_detail", lambda ws, bills: asked.append(1) or real(ws, bills))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x_账务明细.csv").write_bytes(fund_bytes(fund_rows()[:1]))
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "other" / "x_账务明细.csv")])
    assert res.exit_code == 0 and "warning" not in res.output, res.output
    assert asked == []  # no 业务明细 stored: the stored batches not looked at


def test_a_utf8_line_in_the_gbk_fund_detail_is_refused_by_line():
    """helper-107 (bench/fuzz_inputs2.py): a UTF-8 line pasted into the GBK 账务明细 was read with U+FFFD in place of
    its Chinese (交易渠道, 业务类型, 备注 stored so, the bill accepted); it is refused naming its line, as the README
    says of a GBK file's line in another encoding (the 业务明细's columns too)."""
    from paymatch.errors import LoadError

    lines = fund_text(fund_rows()).split("\r\n")
    data = b"\r\n".join(ln.encode("utf-8" if i == 6 else "gbk") for i, ln in enumerate(lines))
    with pytest.raises(LoadError) as err:
        parse(data, "f.csv")
    assert [p.line for p in err.value.problems] == [7], err.value.problems
    lines = detail_text(sample_rows()).split("\r\n")
    data = b"\r\n".join(ln.encode("utf-8" if i == 5 else "gbk") for i, ln in enumerate(lines))
    with pytest.raises(LoadError) as err:
        parse(data, "d.csv")
    assert [p.line for p in err.value.problems] == [6], err.value.problems
