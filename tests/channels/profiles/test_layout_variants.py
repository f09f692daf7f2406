"""Builtin profiles read the other shapes their channel's exports come in (console vs API
download, GBK vs UTF-8, full-width headers, no title/trailer lines, date and time apart).

Every file here is synthetic (own values); the layouts follow what public material shows of each
channel, named in the profile's ``provenance`` and comments.
"""

from __future__ import annotations

import datetime as dt

import pytest

from paymatch.channels.detect import detect

SH = dt.timezone(dt.timedelta(hours=8))


def read(text: str, encoding: str = "utf-8-sig", name: str = "x.csv"):
    data = text.encode(encoding)
    parser = detect(name, data)
    assert parser is not None, "layout not recognised"
    bill = parser.parse(data, name)
    return parser, [(r["type"], r["order_no"], r["channel_tx_id"], r["amount_fen"], r["fee_fen"], r["status"],
                     r["occurred_at"].astimezone(SH).strftime("%Y-%m-%d %H:%M:%S"))
                    for r in bill.transactions.to_pylist()]


def test_jd_baitiao_full_width_headers_without_title_or_trailer():
    text = ("交易时间,商户订单号,京东交易流水号,退款单号,交易类型,交易金额（元）,手续费（元）,结算金额（元）,交易状态\n"
            "2026-11-20 10:00:00,SO1,JDT1,,消费,128.80,0.77,128.03,交易成功\n"
            "2026-11-20 13:00:00,SO1,JDT1,RF1,退款,28.80,-0.17,-28.63,交易成功\n")
    parser, rows = read(text)
    assert parser.name == "jd_baitiao"
    assert rows == [("payment", "SO1", "JDT1", 12880, 77, "success", "2026-11-20 10:00:00"),
                    ("refund", "SO1", "JDT1", 2880, -17, "success", "2026-11-20 13:00:00")]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_jd_pay_console_times_zero_refund_column_any_encoding(encoding):
    text = ("商户号,商户订单号,商户退款单号,京东支付流水号,交易时间,交易类型,订单金额,退款金额,手续费,交易状态\n"
            "110998877001,SO2,,JP1,2026-11-20 10:00:00,支付,39.90,0.00,0.24,成功\n"
            "110998877001,SO2,RF2,JP1,2026-11-20 11:00:00,退款,0.00,9.90,-0.06,成功\n")
    parser, rows = read(text, encoding)
    assert parser.name == "jd_pay"
    assert [r[:4] for r in rows] == [("payment", "SO2", "JP1", 3990), ("refund", "SO2", "JP1", 990)]


def test_douyin_guaranteed_payment_bill():
    """担保支付 payment bill: 订单号 is the developer's order number, 平台订单号 Douyin's."""
    text = ("序号,支付时间,商户号,openid,订单号,平台订单号,渠道订单号,订单金额,支付方式,支付状态\n"
            "1,2026-11-20 10:00:00,70001,oX1,SO3,N71001,4200001,25.00,WX,SUCCESS\n"
            "2,2026-11-20 10:05:00,70001,oX2,SO4,N71002,2026112022001,12.50,ALIPAY,SUCCESS\n")
    parser, rows = read(text, "utf-8")
    assert parser.name == "douyin_pay"
    assert [r[:4] + r[5:6] for r in rows] == [("payment", "SO3", "N71001", 2500, "success"),
                                              ("payment", "SO4", "N71002", 1250, "success")]


def test_shouqianba_without_title_split_date_and_cancel():
    text = ("交易日期,交易时间,商户订单号,收钱吧订单号,支付渠道交易号,支付方式,交易类型,交易金额,手续费,实收金额,交易状态\n"
            "2026-11-20,10:00:00,SO5,7895001,4200005,微信,支付,58.00,0.22,57.78,成功\n"
            "2026-11-20,10:20:00,SO6,7895002,2026112022006,支付宝,撤单,12.00,0.00,-12.00,成功\n")
    parser, rows = read(text)
    assert parser.name == "shouqianba"
    assert rows == [("payment", "SO5", "7895001", 5800, 22, "success", "2026-11-20 10:00:00"),
                    ("refund", "SO6", "7895002", 1200, 0, "success", "2026-11-20 10:20:00")]


def test_lakala_named_headers_and_split_date():
    text = ("拉卡拉交易明细\n商户编号,交易日期,交易时间,终端号,拉卡拉流水号,商户订单号,卡号,交易类型,交易金额,手续费,结算金额,交易状态\n"
            "822584000000123,20261120,093000,L0001,LK001,SO7,,消费,100.00,0.38,99.62,成功\n"
            "822584000000123,20261120,101500,L0001,LK002,SO7,,消费撤销,100.00,-0.38,-99.62,成功\n")
    parser, rows = read(text, "gbk")
    assert parser.name == "lakala"
    assert rows == [("payment", "SO7", "LK001", 10000, 38, "success", "2026-11-20 09:30:00"),
                    ("refund", "SO7", "LK002", 10000, -38, "success", "2026-11-20 10:15:00")]


def test_meituan_workbook_without_title_row(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["门店名称", "门店ID", "美团订单号", "商家订单号", "交易类型", "交易时间", "订单原价（元）", "商家实收（元）",
               "平台服务费（元）", "状态"])
    ws.append(["望京店", "MT6001", "MT1", "SO8", "支付", dt.datetime(2026, 11, 20, 12, 0), 88.0, 83.6, 4.4, "已完成"])
    ws.append(["望京店", "MT6001", "MT2", "SO9", "退款", dt.datetime(2026, 11, 20, 12, 30), -19.9, -18.9, -1.0, "已完成"])
    path = tmp_path / "m.xlsx"
    wb.save(path)
    data = path.read_bytes()
    parser = detect("m.xlsx", data)
    assert parser is not None and parser.name == "meituan"
    rows = parser.parse(data, "m.xlsx").transactions.to_pylist()
    assert [(r["type"], r["order_no"], r["amount_fen"], r["settle_amount_fen"]) for r in rows] == [
        ("payment", "SO8", 8800, 8360), ("refund", "SO9", 1990, -1890)]


def test_bank_statement_csv_ccb_spelling():
    """A comma CSV (not TSV) with CCB's header spellings and 0.00 in the unused money column."""
    text = ("账号,账户名称,交易时间,借方发生额（支取）,贷方发生额（收入）,余额,币种,对方户名,对方账号,记账日期,摘要,备注,账户明细编号-交易流水号\n"
            "4401,某某公司,20261120 18:22:21,0.00,1280.00,9000.00,人民币元,甲公司,9441,20261120,货款,SO10,4401-0001\n"
            "4401,某某公司,20261120 19:00:00,80.00,0.00,8920.00,人民币元,甲公司,9441,20261120,退款,SO10,4401-0002\n")
    parser, rows = read(text, "gb18030")
    assert parser.name == "bank_transfer"
    assert rows == [("payment", "SO10", "4401-0001", 128000, None, "success", "2026-11-20 18:22:21"),
                    ("refund", "SO10", "4401-0002", 8000, None, "success", "2026-11-20 19:00:00")]


def test_bank_statement_cmb_date_and_time_apart():
    text = ("账号\t账号名称\t币种\t交易日\t交易时间\t起息日\t交易类型\t借方金额\t贷方金额\t余额\t摘要\t流水号\t用途\t收(付)方名称\n"
            "7559\t某某公司\t人民币\t20261120\t10:11:12\t20261120\t转账\t\t66.00\t100.00\t汇入\tC001\tSO11\t乙公司\n")
    parser, rows = read(text, "gb18030")
    assert parser.name == "bank_transfer"
    assert rows == [("payment", "SO11", "C001", 6600, None, "success", "2026-11-20 10:11:12")]


def test_cloud_quickpass_keys_on_query_id_not_the_trace_number():
    """系统跟踪号 is 6 digits and repeats; 查询流水号 (queryId) is the record's id."""
    text = ("清算日期|交易时间|商户代码|终端号|商户订单号|系统跟踪号|查询流水号|交易类型|交易金额|商户手续费|状态\n"
            "20261120|20261120100000|898310000000001|T1|SO12|000123|622611201000000001|消费|000000001000|000000000006|成功\n"
            "20261120|20261120110000|898310000000001|T2|SO13|000123|622611201100000002|消费|000000002000|000000000012|成功\n")
    parser, rows = read(text, "gb18030")
    assert parser.name == "cloud_quickpass"
    assert [r[1:5] for r in rows] == [("SO12", "622611201000000001", 1000, 6), ("SO13", "622611201100000002", 2000, 12)]


def test_csv_profile_reads_the_xlsx_download_of_the_same_export(tmp_path):
    """Consoles offer .xlsx next to .csv; ``as_xlsx`` reads the same table from the workbook."""
    import openpyxl

    from paymatch.channels.profile_xlsx import xlsx_head
    from paymatch.channels.profiles import builtin_profiles

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["收钱吧交易明细"])
    ws.append(["商户号:SQB1680000001"])
    ws.append(["交易日期时间", "商户订单号", "收钱吧订单号", "支付方式", "交易类型", "交易金额", "手续费", "实收金额", "交易状态"])
    ws.append([dt.datetime(2026, 11, 20, 10, 0), "SO14", 7895003, "微信", "收款", 58, 0.22, 57.78, "成功"])
    ws.append([dt.datetime(2026, 11, 20, 11, 0), "SO14", 7895004, "微信", "退款", 8, 0, -8, "成功"])
    ws.append(["总计", "笔数:2", "净额:50.00"])
    path = tmp_path / "sqb.xlsx"
    wb.save(path)
    data = path.read_bytes()
    profile = next(p for p in builtin_profiles() if p.name == "shouqianba").as_xlsx()
    assert profile.file.type == "xlsx" and profile.sniff(xlsx_head(data))
    bill = profile.parse(data, "sqb.xlsx")
    assert [(r["type"], r["order_no"], r["channel_tx_id"], r["amount_fen"], r["merchant_id"])
            for r in bill.transactions.to_pylist()] == [("payment", "SO14", "7895003", 5800, "SQB1680000001"),
                                                         ("refund", "SO14", "7895004", 800, "SQB1680000001")]
    assert bill.totals == {"all_count": 2, "all_amount_fen": 5000}
    # detection by content finds it too (no workbook profile matches: the CSV profile's twin does)
    from paymatch.channels.detect import detect

    found = detect("sqb.xlsx", data)
    assert found is not None and found.name == "shouqianba" and found.file.type == "xlsx"
    assert found.parse(data, "sqb.xlsx").transactions.num_rows == 2
