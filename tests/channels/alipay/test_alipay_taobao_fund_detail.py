"""A Taobao/Tmall seller's Alipay 账务明细 (the layout of real exports in public code: 商户订单号 'T200P<淘宝订单号>'
on the 交易付款 a buyer's 确认收货 releases, 售后退款 naming it in the 备注) is refused by the built-in profile, for
what it is: it books an order's money on receipt, not on payment, net of the refunds made before. Before, it was read
as payments of orders 'T200P…' that no ERP export names: every row channel_only, every order order_only."""

from __future__ import annotations

import csv

import pytest
from alipay_billgen import FundRow, fund_bytes, fund_rows, fund_text, fund_zip
from typer.testing import CliRunner

import paymatch
from paymatch.channels.detect import scan_bills, scan_paths
from paymatch.cli import app

TB1, TB2 = "3299194706518006493", "3299194706518006494"


def taobao_rows() -> list[FundRow]:
    """A day of a Tmall shop's account: two orders released by the buyers' receipt, an after-sale refund of one."""
    return [
        FundRow("20190916200040011100860000000101", "2019091022001458860500000001", f"T200P{TB1}", income="199.00",
                balance="1199.00", when="2019-09-16 10:55:23", biz="交易付款", goods="连衣裙"),
        FundRow("20190916200040011100860000000102", "2019091122001458860500000002", f"T200P{TB2}", income="58.00",
                balance="1257.00", when="2019-09-16 11:02:10", biz="交易付款", goods="袜子"),
        FundRow("20190916200040011100860000000103", "2019091622001458860500000003", f"T200P{TB1}", expense="-20.00",
                balance="1237.00", when="2019-09-16 15:20:00", biz="交易退款", goods="连衣裙",
                remark=f"售后退款-0001-T200P{TB1}"),
    ]


def test_a_tmall_shops_detail_is_refused_for_what_it_is(tmp_path):
    (tmp_path / "20880211096256330156_账务明细.csv").write_bytes(fund_bytes(taobao_rows()))
    scan = scan_bills(tmp_path)
    assert scan.bills == []
    [rejected] = scan.rejected
    assert rejected.channel == "alipay"
    [problem] = rejected.error.problems
    assert (problem.line, problem.field, problem.value) == (6, "商户订单号", f"T200P{TB1}")
    assert "Taobao/Tmall shop's 账务明细 (3 rows" in problem.message and "confirms receipt" in problem.message
    assert "leave it out of --bills" in rejected.error.hint and "业务基础订单号" in rejected.error.hint


def test_the_reconcile_command_refuses_it_naming_line_and_order(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "账务明细.csv").write_bytes(fund_bytes(taobao_rows()))
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        f"{TB1},S1,,alipay,199.00,paid,2019-09-10T10:00:00+08:00,2019-09-10T10:00:10+08:00\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--bills",
                                 str(tmp_path / "bills"), "--out", str(tmp_path / "out")])
    said = "".join(r.output.split())
    assert r.exit_code != 0 and "Taobao/Tmallshop's账务明细" in said, r.output
    assert f"T200P{TB1}" in said


def test_the_workbook_of_the_newer_layout_is_refused_too(tmp_path):
    """The newer export (业务描述, 业务基础订单号 holding the 淘宝订单号), saved as a workbook: header on row 5."""
    from openpyxl import Workbook

    header = ("账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,"
              "交易渠道,业务类型,备注,业务描述,业务账单来源,业务基础订单号,业务订单号")
    lines = fund_text(taobao_rows()).splitlines()
    wb = Workbook()
    for i, line in enumerate(lines):
        cells = list(csv.reader([line]))[0]
        if i == 4:
            cells = header.split(",")
        elif 4 < i < 8:
            base = cells[2].strip().removeprefix("T200P")
            cells += ["0010001|交易收款-交易收款", "交易", base, ""]
        wb.active.append(cells)
    wb.save(tmp_path / "对账.xlsx")
    [rejected] = scan_bills(tmp_path).rejected
    assert "Taobao/Tmall shop's 账务明细" in rejected.error.problems[0].message


def test_an_ordinary_shops_detail_is_still_read(tmp_path):
    (tmp_path / "账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    scan = scan_bills(tmp_path)
    assert not scan.rejected and scan.bills[0].kind == "profile:alipay_merchant_console_export"


def test_beside_its_summary_it_is_read_as_fund_flows(tmp_path):
    (tmp_path / "signcustomer.zip").write_bytes(fund_zip(taobao_rows()))
    scan = scan_bills(tmp_path)
    assert not scan.rejected, scan.rejected[0].error
    assert sorted(b.kind for b in scan.bills) == ["alipay_fund_summary", "fundflow"]


def test_beside_the_accounts_trade_bill_given_apart_it_is_read_as_fund_flows(tmp_path):
    """Given with the account's 业务明细 of its day on another --bills path: read as fund flows (the refusal waits
    for the paths to be looked at together)."""
    from alipay_billgen import bill_zip, sample_rows

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "b" / "账务明细.csv").write_bytes(fund_bytes(taobao_rows()))
    scans = scan_paths([tmp_path / "a", tmp_path / "b"])
    assert not any(s.rejected for s in scans), [r.error for s in scans for r in s.rejected]
    assert not any(b.kind.startswith("profile:") for s in scans for b in s.bills)


def test_a_shops_own_profile_of_it_still_reads_it(tmp_path):
    builtin = paymatch.__file__.replace("__init__.py", "profiles/alipay_merchant_console_export.yaml")
    own = tmp_path / "profiles"
    own.mkdir()
    with open(builtin, encoding="utf-8") as f:
        text = f.read()
    (own / "tmall.yaml").write_text(
        text.replace("name: alipay_merchant_console_export", "name: tmall_fund_detail")
        .replace("headers: [账务流水号, 业务流水号, 收入金额（+元）]", "headers: [账务流水号, 业务流水号, 收入金额（+元）, 业务类型]"),
        encoding="utf-8")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "账务明细.csv").write_bytes(fund_bytes(taobao_rows()))
    scan = scan_bills(tmp_path / "bills", [own])
    assert not scan.rejected and scan.bills[0].kind == "profile:tmall_fund_detail"


@pytest.mark.parametrize("order", ["T200PX1", "T200P12345678901234", "AT200P3299194706518006493", "T1P20261120"])
def test_order_numbers_that_only_look_alike_are_read(tmp_path, order):
    """A shop's own numbers that merely start so (fewer than 15 digits after the P, more before the T) are read."""
    rows = taobao_rows()[:1]
    rows[0].order_no = order
    (tmp_path / "账务明细.csv").write_bytes(fund_bytes(rows))
    assert not scan_bills(tmp_path).rejected




def test_ingest_refuses_it_and_stores_nothing_but_beside_a_stored_trade_bill_it_is_fund_flows(tmp_path):
    """Alone, ``ingest`` quarantines it (exit 2, nothing stored); after the account's 业务明细 of its day was ingested
    it is that account's fund flows, read so (the refusal waits for the workspace's trade days)."""
    from alipay_billgen import bill_zip, sample_rows

    from paymatch.workspace import Workspace

    (tmp_path / "账务明细.csv").write_bytes(fund_bytes(taobao_rows()))
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "账务明细.csv")])
    assert r.exit_code == 2 and "Taobao/Tmallshop's账务明细" in "".join(r.output.split()), r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 0
    assert runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "trade.zip")]).exit_code == 0
    r = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "账务明细.csv")])
    assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the 业务明细's only
