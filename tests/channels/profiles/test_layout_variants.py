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


def test_douyin_export_whose_refunds_are_printed_positive_is_refused_not_read_as_payments():
    """helper-72: types come from the amount's sign; an export printing a refund positive beside 业务类型 退款 was read
    as a payment of that amount (no totals line to tell). The type column is now held against the sign."""
    from paymatch.errors import LoadError

    head = "订单号,商户订单号,支付渠道单号,业务类型,下单时间,金额(元),手续费(元),结算状态\n"
    pay = "DY1,SO7,1001,支付,2026-11-20T10:00:00+08:00,25.00,0.15,已结算\n"
    parser, rows = read(head + pay + "DY1,SO7,1001,退款,2026-11-20T13:00:00+08:00,-25.00,-0.15,已结算\n", "utf-8")
    assert parser.name == "douyin_pay" and [r[0] for r in rows] == ["payment", "refund"]
    data = (head + pay + "DY1,SO7,1001,退款,2026-11-20T13:00:00+08:00,25.00,0.15,已结算\n").encode()
    with pytest.raises(LoadError) as err:
        detect("dy.csv", data).parse(data, "dy.csv")
    [problem] = err.value.problems
    assert (problem.line, problem.field, problem.value) == (3, "业务类型", "退款")
    assert "sign" in problem.message


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


def _ccb_lines() -> list[str]:
    """A CCB Long Pay SHOP.<merchant>.<date>.txt in the layout of a real download (values made up): one payment, a
    partial refund of it (negative, 订单号 the paid order, 商户流水号 the refund's number), another payment."""
    head = ["交易时间", "记账日期", "银行流水号", "商户流水号", "订单号", "订单状态", "付款方账号/客户号", "付款方户名", "订单金额",
            "交易金额", "手续费", "结算金额", "柜台代码", "发卡行/通道", "支付卡种", "交易类型", "期数", "授权号", "项目号",
            "基本户", "备注一", "备注二"]
    rows = [["2026-11-20 00:07:19", "20261120", "1010113981733155639867173", "", "1050000806268682687", "成功", "8888****88",
             "o****", "2000.00", "2000.00", "0.00", "2000.00", "067507881", "微信", "其他卡种", "", "1", "", "", "", "--", "--"],
            ["2026-11-20 09:30:00", "20261120", "1010113981733155639867999", "R1050000806268682687", "1050000806268682687",
             "成功", "8888****88", "o****", "2000.00", "-11.00", "0.00", "-11.00", "067507881", "微信", "其他卡种", "", "1",
             "", "", "", "--", "--"],
            ["2026-11-20 23:59:59", "20261120", "1010113981733155639868000", "", "1050000806268682688", "成功", "2088****01",
             "1****", "50.00", "50.00", "0.30", "49.70", "067507881", "支付宝", "其他卡种", "", "1", "", "", "", "--", "--"]]
    summary = "出单日期[20261121]\t交易日期[20261120]\t交易笔数[3]\t交易金额[2039.00]\t手续费[0.30]\t结算金额[2038.70]"
    return [summary + "\t"] + ["\t".join(r) + "\t" for r in [head, *rows]]


def test_ccb_long_pay_as_downloaded_merchant_from_the_file_name(tmp_path):
    """The bank's zip SHOP.<merchant>.<date>….zip holds SHOP.<merchant>.<date>.txt; the number is in no line."""
    import zipfile

    from paymatch.channels.detect import load_bills

    text = "\n".join(_ccb_lines()) + "\n"
    with zipfile.ZipFile(tmp_path / "SHOP.105000080626868.20261120.20261120.20261121080000000.AbCd.zip", "w") as z:
        z.writestr("SHOP.105000080626868.20261120.txt", text.encode("utf-8"))
    (bill,) = load_bills(tmp_path)
    assert bill.kind == "profile:ccb_long_pay" and bill.channel == "ccb_long_pay"
    rows = bill.transactions.to_pylist()
    assert [(r["type"], r["order_no"], r["refund_no"], r["channel_tx_id"], r["amount_fen"], r["fee_fen"],
             r["settle_amount_fen"], r["method"], r["merchant_id"]) for r in rows] == [
        ("payment", "1050000806268682687", None, "1010113981733155639867173", 200000, 0, 200000, "微信", "105000080626868"),
        ("refund", "1050000806268682687", "R1050000806268682687", "1010113981733155639867999", 1100, 0, -1100, "微信",
         "105000080626868"),
        ("payment", "1050000806268682688", None, "1010113981733155639868000", 5000, 30, 4970, "支付宝", "105000080626868")]
    assert bill.bill_date == dt.date(2026, 11, 20)
    # the summary: payments less refunds, its fees and settlement too
    assert bill.totals == {"all_count": 3, "all_amount_fen": 203900, "all_fee_fen": 30, "all_settle_fen": 203870}
    # the table loose, under another name: read the same, without a merchant number
    data = text.encode("gbk")
    parser = detect("ccb.txt", data)
    assert parser is not None and parser.name == "ccb_long_pay"
    assert {r["merchant_id"] for r in parser.parse(data, "ccb.txt").transactions.to_pylist()} == {None}


def test_ccb_long_pay_summary_that_does_not_tie_out_is_refused():
    from paymatch.errors import LoadError

    lines = _ccb_lines()
    lines[0] = lines[0].replace("交易金额[2039.00]", "交易金额[2050.00]")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    parser = detect("SHOP.1.20261120.txt", data)
    assert parser is not None and parser.name == "ccb_long_pay"
    with pytest.raises(LoadError) as e:
        parser.parse(data, "SHOP.1.20261120.txt")
    assert "2050.00" in str(e.value) and "2039.00" in str(e.value)
    # the same line's 手续费 and 结算金额 are tied out too (helper-55: a real download's changed fee passed)
    for printed, said in (("手续费[0.30]", "手续费[99.99]"), ("结算金额[2038.70]", "结算金额[1.00]")):
        lines = _ccb_lines()
        lines[0] = lines[0].replace(printed, said)
        with pytest.raises(LoadError) as e:
            parser.parse(("\n".join(lines) + "\n").encode("utf-8"), "SHOP.1.20261120.txt")
        assert said[-6:-1] in str(e.value) and ("of fees" in str(e.value) or "of settlement" in str(e.value))


def test_workbook_whose_stored_dimension_is_wrong_is_still_recognised(tmp_path):
    """CCB's .xlsx download stores <dimension ref="A1"/> though its rows run to column V; read-only openpyxl
    trusts it, so sniffing saw column A only and the workbook was an unknown layout."""
    import re
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for line in _ccb_lines():
        ws.append(line.rstrip("\t").split("\t"))
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "SHOP.105000080626868.20261120.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1"/>', body)
                assert n == 1
            dst.writestr(item, body)
    data = bad.read_bytes()
    parser = detect(bad.name, data)
    assert parser is not None and parser.name == "ccb_long_pay" and parser.file.type == "xlsx"
    rows = parser.parse(data, str(bad)).transactions.to_pylist()
    assert [(r["type"], r["amount_fen"], r["merchant_id"]) for r in rows] == [
        ("payment", 200000, "105000080626868"), ("refund", 1100, "105000080626868"), ("payment", 5000, "105000080626868")]


def test_chinaums_trailer_ties_out_amount_settlement_and_fee():
    """The real 对账明细查询 prints 交易金额, 结算金额 and 手续费 beside 总笔数 (helper-45: GitHub pingjianwei/csv_parser's
    20170625.txt.netbank): a row whose amount, settlement or fee was changed (or misread) no longer ties out; an
    export printing only 总笔数 is read on its count."""
    from paymatch.channels.profiles import builtin_profiles, builtin_sample
    from paymatch.errors import LoadError

    profile = next(p for p in builtin_profiles() if p.name == "chinaums_pos")
    text = builtin_sample(profile).read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("20261120\t"))
    trailer = next(i for i, line in enumerate(lines) if line.startswith("总笔数"))
    parser, good = read(text)
    assert parser.name == "chinaums_pos"
    bill = parser.parse(text.encode("utf-8-sig"), "x.txt")
    fee = sum(r["fee_fen"] for r in bill.transactions.to_pylist())
    assert bill.totals["all_fee_fen"] == fee and bill.totals["all_settle_fen"] == bill.totals["all_amount_fen"] - fee
    for column, what in ((4, "元 for all rows"), (5, "元 of settlement"), (6, "元 of fees")):
        cells = lines[row].split("\t")
        cells[column] = f"{float(cells[column]) + 0.01:.2f}"
        changed = lines[:row] + ["\t".join(cells)] + lines[row + 1:]
        with pytest.raises(LoadError) as e:
            read("\n".join(changed) + "\n")
        assert e.value.problems[0].line == trailer + 1 and what in str(e.value), column
    count_only = lines[:trailer] + [lines[trailer].split("\t交易金额")[0]] + lines[trailer + 1:]
    assert read("\n".join(count_only) + "\n")[1] == good


def test_chinaums_clearing_database_numbers_and_times_without_a_year():
    """银联商务 清算明细 as an institution receives it (the layout of a real file, helper-45): amounts like 19000, 34.2
    and .54, 交易时间 0702200726 in the year of 清算日期 (December's late swipes on the 1 January file the year before);
    a 交易类型 other than 000000 (a void, a return: not seen in the field) refuses the file by line."""
    from paymatch.channels.profiles import builtin_profiles, builtin_sample
    from paymatch.errors import LoadError

    profile = next(p for p in builtin_profiles() if p.name == "chinaums_clearing")
    header = builtin_sample(profile).read_bytes().decode("utf-8-sig").splitlines()[0]
    width = len(header.split(","))

    def row(day, at, amount, fee, kind="000000", ref="726237945550"):
        cells = [""] * width
        cells[0], cells[1], cells[4], cells[7], cells[8], cells[11], cells[18] = day, at, "898319860120025", amount, fee, kind, ref
        return ",".join(cells)

    text = "\n".join([header, row("20170702", "0702200726", "19000", "34.2"),
                      row("20170702", "0702200808", "5440", ".54", ref="808860715014"),
                      row("20180101", "1231235959", "1.5", "0", ref="808860715015")]) + "\n"
    parser, rows = read(text)
    assert parser.name == "chinaums_clearing"
    assert rows == [("payment", None, "726237945550", 1900000, 3420, "success", "2017-07-02 20:07:26"),
                    ("payment", None, "808860715014", 544000, 54, "success", "2017-07-02 20:08:08"),
                    ("payment", None, "808860715015", 150, 0, "success", "2017-12-31 23:59:59")]
    with pytest.raises(LoadError) as e:
        read(text + row("20170702", "0702210000", "10", "0", kind="200000", ref="808860715016") + "\n")
    assert (e.value.problems[0].line, e.value.problems[0].field, e.value.problems[0].value) == (5, "交易类型", "200000")
