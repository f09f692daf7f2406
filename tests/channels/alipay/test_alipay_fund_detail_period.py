"""A lone Alipay 账务明细 read by a mapping profile covers the days its '#起始日期 … 终止日期' line says, as the
业务明细 reader's bill does: a file run's window spans them even where no row falls (a quiet day)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from alipay_billgen import fund_bytes, fund_rows, fund_text
from typer.testing import CliRunner

from paymatch.channels.detect import scan_bills
from paymatch.cli import app

WEEK = ("#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]",
        "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月23日 00:00:00]")


def week_bytes() -> bytes:
    """The day's 账务明细 (rows on the 16th only) as an export of the week 16th-22nd: six quiet days."""
    return fund_text(fund_rows()).replace(*WEEK).encode("gbk")


@pytest.mark.parametrize("end, last", [("2019年09月23日 00:00:00", dt.date(2019, 9, 22)),
                                       ("2019年09月22日 23:59:59", dt.date(2019, 9, 22)),
                                       ("2019年09月17日 00:00:00", dt.date(2019, 9, 16))])
def test_the_profile_read_detail_has_the_period_its_title_lines_say(tmp_path, end, last):
    text = fund_text(fund_rows()).replace("终止日期：[2019年09月17日 00:00:00]", f"终止日期：[{end}]")
    (tmp_path / "账务明细.csv").write_bytes(text.encode("gbk"))
    scan = scan_bills(tmp_path)
    assert not scan.rejected, scan.rejected
    (bill,) = scan.bills
    assert (bill.kind, bill.layout) == ("profile:alipay_merchant_console_export", "alipay_fundflow")
    assert bill.period == (dt.date(2019, 9, 16), last)


def test_a_workbook_saved_detail_has_its_period_too(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    for line in fund_text(fund_rows()).replace(*WEEK).splitlines():
        wb.active.append(list(csv.reader([line]))[0])
    wb.save(tmp_path / "账务明细.xlsx")
    (bill,) = scan_bills(tmp_path).bills
    assert bill.period == (dt.date(2019, 9, 16), dt.date(2019, 9, 22))


def test_a_detail_without_the_dates_line_has_no_period(tmp_path):
    text = fund_text(fund_rows()).replace(WEEK[0] + "\r\n", "")
    (tmp_path / "账务明细.csv").write_bytes(text.encode("gbk"))
    (bill,) = scan_bills(tmp_path).bills
    assert bill.period is None


def test_a_weeks_detail_in_a_file_run_covers_its_quiet_days(tmp_path):
    """An order of the 20th, a day the week's 账务明细 covers without a row, is order_only: the window was the rows'
    day (the 16th) only, so it fell after the window's end. Its last day's order paid before midnight is
    pending_cross_day (the next day's bill may have it), as with the 业务明细."""
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "20880211096256330156_账务明细.csv").write_bytes(week_bytes())
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
    (tmp_path / "orders.csv").write_text(
        head + "ORD-8,S1,,alipay,6.00,paid,2019-09-20T12:00:00+08:00,2019-09-20T12:00:10+08:00\n"
        "ORD-9,S1,,alipay,5.00,paid,2019-09-22T23:55:00+08:00,2019-09-22T23:55:10+08:00\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--bills",
                                 str(tmp_path / "bills"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {row["order_no"]: row["kind"] for row in csv.DictReader(f) if not row["refund_no"]}
    assert (kinds["ORD-8"], kinds["ORD-9"]) == ("order_only", "pending_cross_day")


def test_the_day_detail_keeps_its_one_day(tmp_path):
    (tmp_path / "账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    (bill,) = scan_bills(tmp_path).bills
    assert bill.period == (dt.date(2019, 9, 16), dt.date(2019, 9, 16))
