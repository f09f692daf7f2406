"""Alipay bills as they come from the field (helper-71's audit): variants of the real layouts that were read wrongly.

Each file is synthetic (made-up values) in the layout public importers of real downloads document.
"""

from __future__ import annotations

import pytest

from paymatch.channels.alipay import parse
from paymatch.channels.detect import scan_bills
from paymatch.errors import LoadError

#: the older web download of a user's own record (支付宝交易记录明细查询), GBK, padded cells
PERSONAL_OLD = "\r\n".join([
    "支付宝交易记录明细查询", "账号:[shop@example.com]", "起始日期:[2026-11-01 00:00:00]    终止日期:[2026-12-01 00:00:00]",
    "---------------------------------交易记录明细列表------------------------------------",
    "交易号                  ,商家订单号               ,交易创建时间              ,付款时间                ,最近修改时间"
    "              ,交易来源地     ,类型              ,交易对方            ,商品名称                ,金额（元）   ,收/支     "
    ",交易状态    ,服务费（元）   ,成功退款（元）  ,备注                  ,资金状态     ,",
    "2026112022001400000000000001\t,\t,2026-11-20 10:00:00 ,2026-11-20 10:00:05 ,2026-11-20 10:00:05 ,其他,"
    "即时到账交易          ,顾客             ,收款                ,10.00   ,收入      ,交易成功    ,0.00     ,0.00     ,"
    "                    ,已收入      ,",
    "------------------------------------------------------------------------------------",
    "共1笔记录", "已收入:1笔,10.00元", "待收入:0笔,0.00元", "已支出:0笔,0.00元", "待支出:0笔,0.00元",
    "导出时间:[2026-12-01 09:00:00]    用户:小店"]) + "\r\n"
#: the app's newer export (电子客户回单 title), GBK
PERSONAL_NEW = "\r\n".join([
    "------------------------------------------------------------------------------------", "导出信息：",
    "姓名：小店", "支付宝账户：shop@example.com", "起始时间：[2026-11-01 00:00:00]    终止时间：[2026-12-01 00:00:00]",
    "导出交易类型：[全部]", "导出时间：[2026-12-01 09:00:00]", "共1笔记录", "收入：1笔 10.00元", "支出：0笔 0.00元",
    "不计收支：0笔 0.00元", "", "特别提示：", "1.本回单内容可表明支付宝受理了此笔业务；", "",
    "----------------------支付宝（中国）网络技术有限公司  电子客户回单----------------------",
    "交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,",
    "2026-11-20 10:00:00,收款,顾客,c***@example.com,收钱码收款,收入,10.00,,交易成功,2026112022001400000000000001\t,,,",
]) + "\r\n"


@pytest.mark.parametrize("text, line", [(PERSONAL_OLD, 5), (PERSONAL_NEW, 17)])
def test_a_personal_alipay_record_is_refused_for_what_it_is(tmp_path, text, line):
    """A shop taking money through a personal QR code only has the user's own transaction record: no merchant
    account, no 业务类型. It was refused as an 'unknown bill layout' with the advice to write a profile for it."""
    (tmp_path / "alipay_record_20261201.csv").write_bytes(text.encode("gbk"))
    scan = scan_bills(tmp_path)
    assert scan.bills == []
    [rejected] = scan.rejected
    assert rejected.channel == "alipay"
    [problem] = rejected.error.problems
    assert problem.line == line and "personal Alipay transaction record" in problem.message
    assert "业务明细" in rejected.error.hint
    with pytest.raises(LoadError, match="personal Alipay"):
        parse(text.encode("gbk"), "p.csv")


def _workbook(text: str, typed: bool = True) -> bytes:
    """``text`` (a CSV bill) as Excel saves it once opened: amounts as numbers and times as dates when ``typed``."""
    import csv
    import datetime as dt
    import io

    openpyxl = pytest.importorskip("openpyxl")

    def cell(value: str):
        if not typed or value.startswith("#"):
            return value
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            pass
        try:
            return float(value) if len(value) < 15 else value
        except ValueError:
            return value

    wb = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(text)):
        wb.active.append([cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_detail_saved_as_a_workbook_is_read_as_the_bill(tmp_path):
    """Finance staff open the 业务明细 in Excel and keep it as .xlsx (public bill readers take both). It was refused as
    an 'unknown bill layout'; it is the same bill: same rows, same totals checked, lines are the sheet's rows."""
    from alipay_billgen import Row, detail_text

    rows = [Row("2019091622001458860515315453", "ORD1", order_amt="10.10", settle="10.10", fee="-0.06"),
            Row("2019091622001458860515315453", "ORD1", biz="退款", order_amt="-10.10", settle="-10.10", fee="0.06",
                refund_no="RF1", finished="2019-09-16 12:00:00"),
            Row("2019091622001458860515315454", "ORD2", order_amt="100.00", settle="100.00", fee="-0.60")]
    text = detail_text(rows)
    (tmp_path / "业务明细.xlsx").write_bytes(_workbook(text))
    scan = scan_bills(tmp_path)
    assert scan.rejected == []
    [bill] = scan.bills
    as_csv = parse(text.encode("gbk"), "业务明细.csv")
    assert (bill.channel, bill.kind, bill.bill_date) == ("alipay", "alipay_detail", as_csv.bill_date)
    assert bill.transactions.drop_columns(["src_file"]).equals(as_csv.transactions.drop_columns(["src_file"]))
    assert bill.transactions.column("amount_fen").to_pylist() == [1010, 1010, 10000]

    bad = text.replace("100.00,100.00", "100.00,99.00")  # the totals no longer tie out
    (tmp_path / "业务明细.xlsx").write_bytes(_workbook(bad))
    [rejected] = scan_bills(tmp_path).rejected
    assert rejected.channel == "alipay" and "totals line" in rejected.error.problems[0].message
    (tmp_path / "业务明细.xlsx").write_bytes(_workbook(text.replace("10.10,10.10", "10.1x,10.10", 1), typed=False))
    [rejected] = scan_bills(tmp_path).rejected
    [problem] = rejected.error.problems
    assert (problem.line, problem.field, problem.value) == (6, "订单金额（元）", "10.1x")  # the sheet's row 6


def test_a_detail_excel_saved_again_says_so():
    """Opened in Excel and saved as CSV again, a 业务明细's times come back as '2019/9/16 10:55' (no seconds). The
    bill is refused by line and column as before; the hint now says what happened instead of nothing."""
    import re

    from alipay_billgen import Row, detail_text

    text = detail_text([Row("2019091622001458860515315453", "ORD1"), Row("2019091622001458860515315454", "ORD2")])
    resaved = re.sub(r"(?<=,)(\d{4})-0?(\d{1,2})-0?(\d{1,2}) (\d{2}):(\d{2}):\d{2}",
                     lambda m: f"{m[1]}/{m[2]}/{m[3]} {int(m[4])}:{m[5]}", text)
    with pytest.raises(LoadError) as err:
        parse(resaved.encode("gbk"), "业务明细.csv")
    first = err.value.problems[0]
    assert (first.line, first.field, first.value) == (6, "完成时间", "2019/9/16 10:55")
    assert "opened in Excel and saved again" in err.value.hint
    with pytest.raises(LoadError) as err:  # any other bad value: the plain hint
        parse(text.replace("10.00,10.00", "10.0x,10.00", 1).encode("gbk"), "业务明细.csv")
    assert "Excel" not in err.value.hint
