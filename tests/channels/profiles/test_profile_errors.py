"""Bad profiles are ConfigErrors naming file and key; bad exports are LoadErrors naming line and column."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paymatch.channels.profiles import Profile, load_profile, parse_with_profile
from paymatch.errors import ConfigError, LoadError

BASE = {
    "name": "t",
    "channel": "test_pay",
    "sniff": {"headers": ["流水号", "金额"]},
    "columns": {"channel_tx_id": "流水号", "order_no": "订单号", "amount": "金额", "occurred_at": "时间",
                "type": "类型", "status": "状态", "fee": "手续费"},
    "status": {"map": {"成功": "success", "失败": "failed"}},
    "type": {"rule": "column", "map": {"支付": "payment", "退款": "refund"}},
}
HEADER = "流水号,订单号,金额,时间,类型,状态,手续费"


def profile(**over) -> Profile:
    """BASE with top-level keys replaced."""
    return Profile.model_validate({**BASE, **over})


def parse(text: str, prof: Profile | None = None, encoding: str = "utf-8"):
    """Parse a CSV text with a test profile."""
    return parse_with_profile(prof or profile(), text.encode(encoding), "t.csv")


def write(tmp_path: Path, text: str) -> Path:
    """A profile file with ``text``."""
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("yaml_text, key", [
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c}\nbogus: 1\n",
     "bogus"),
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c}\n"
     "status: {map: {ok: great}}\n", "status.map.ok"),
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, occurred_at: c}\n", "(top level)"),
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c}\n"
     "time: {timezone: Mars/Base}\n", "time.timezone"),
    ("name: x\nchannel: y\nsniff: {regex: '(['}\ncolumns: {order_no: a, amount: b, occurred_at: c}\n", "sniff.regex"),
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c, colour: d}\n",
     "columns.colour"),
    ("name: x\nchannel: y\ncolumns: {order_no: a, amount: b, occurred_at: c}\n", "sniff"),
    ("- just\n- a list\n", "mapping"),
    ("name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c}\n"
     "file: {trailer_regex: '(?=x)'}\n", "file.trailer_regex"),
])
def test_bad_profile_names_file_and_key(tmp_path: Path, yaml_text: str, key: str):
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert str(path) in str(info.value) and key in str(info.value)


def test_good_rows_are_typed_exactly():
    bill = parse(f"{HEADER}\n"
                 "T1,O1,\" ¥1,234.50 \",2026-11-20 23:59:59,支付,成功,`0.01\n"
                 "T2,O1,-100.00\t,2026-11-21 00:00:01,退款,成功,-0.01\n"
                 "T3,O2,=\"0.10\",2026-11-21 08:00:00,支付,失败,\n")
    rows = bill.transactions.to_pylist()
    assert [r["amount_fen"] for r in rows] == [123450, 10000, 10]
    assert [r["fee_fen"] for r in rows] == [1, -1, None]
    assert [r["type"] for r in rows] == ["payment", "refund", "payment"]
    assert [r["status"] for r in rows] == ["success", "success", "failed"]
    assert rows[0]["occurred_at"] == dt.datetime(2026, 11, 20, 15, 59, 59, tzinfo=dt.timezone.utc)
    assert [r["bill_date"] for r in rows] == [dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 21)]
    assert [r["src_line"] for r in rows] == [2, 3, 4]
    assert bill.bill_date == dt.date(2026, 11, 21)


def test_every_bad_value_is_reported_with_line_and_column():
    text = (f"{HEADER}\n"
            "T1,O1,12.345,2026-11-20 10:00:00,支付,成功,0\n"       # 3 decimals
            "\n"                                                   # blank line keeps numbering honest
            "T2,O2,,2026-11-20 10:00:00,支付,成功,0\n"             # empty amount
            "T3,O3,1.00,20/11/2026,支付,成功,0\n"                  # time format
            "T4,O4,1.00,2026-11-20 10:00:00,冲正,成功,0\n"         # unknown type
            "T5,O5,1.00,2026-11-20 10:00:00,支付,未知,0\n"         # unknown status
            "T6,O6,1.00,2026-11-20 10:00:00,支付,成功\n"           # missing a field
            ",,1.00,2026-11-20 10:00:00,支付,成功,0\n")            # no id at all
    with pytest.raises(LoadError) as info:
        parse(text)
    got = {(p.line, p.field, p.value) for p in info.value.problems}
    assert (2, "金额", "12.345") in got
    assert (4, "金额", None) in got
    assert (5, "时间", "20/11/2026") in got
    assert (6, "类型", "冲正") in got
    assert (7, "状态", "未知") in got
    assert any(p.line == 8 and "fields" in p.message for p in info.value.problems)
    assert (9, "流水号", None) in got
    assert all(p.file == "t.csv" for p in info.value.problems)
    assert info.value.total == len(info.value.problems) == 7


def test_problems_are_capped_at_fifty_but_counted():
    rows = "".join(f"T{i},O{i},bad,2026-11-20 10:00:00,支付,成功,0\n" for i in range(120))
    with pytest.raises(LoadError) as info:
        parse(f"{HEADER}\n{rows}")
    assert len(info.value.problems) == 50 and info.value.total == 120
    assert "70 more problem" in str(info.value)


def test_missing_column_is_named():
    with pytest.raises(LoadError) as info:
        parse("流水号,订单号,金额,时间,类型\nT1,O1,1.00,2026-11-20 10:00:00,支付\n")
    assert info.value.problems[0].field == "状态" and info.value.problems[0].line == 1


def test_header_not_found():
    with pytest.raises(LoadError, match="header row"):
        parse("a,b,c\n1,2,3\n")


def test_wrong_encoding_points_at_the_line():
    text = f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n".encode("utf-8") + b"T2,\xff\xfe\n"
    with pytest.raises(LoadError) as info:
        parse_with_profile(profile(), text, "t.csv")  # neither UTF-8 nor GBK
    assert "not valid utf-8" in str(info.value) and info.value.problems[0].line == 3


def test_gbk_file_under_a_utf8_profile_and_back():
    """The same export comes GBK from one console and UTF-8 from another (or after a re-save)."""
    text = f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n"
    assert parse(text, encoding="gbk").transactions.column("amount_fen").to_pylist() == [100]
    gbk = profile(file={"encoding": "gbk"})
    for enc in ("utf-8", "utf-8-sig"):
        assert parse(text, gbk, encoding=enc).transactions.column("amount_fen").to_pylist() == [100]


def test_totals_that_do_not_tie_out_reject_the_file():
    prof = profile(file={"trailer_regex": "^合计"},
                   totals=[{"regex": r"合计,(?P<count>\d+)笔,(?P<amount>[\d.]+)", "scope": "payment"}])
    body = f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\nT2,O2,2.00,2026-11-20 10:00:00,支付,成功,0\n"
    assert parse(body + "合计,2笔,3.00\n", prof).totals == {"payment_count": 2, "payment_amount_fen": 300}
    with pytest.raises(LoadError) as info:
        parse(body + "合计,3笔,3.01\n", prof)
    msgs = [p for p in info.value.problems if p.field == "totals"]
    assert len(msgs) == 2 and all(p.line == 4 for p in msgs)
    with pytest.raises(LoadError, match="control totals line") as info:
        parse(body, prof)
    # said as the line reads, not as the profile's regex (a field sample: a 账务明细 workbook without its '#' totals)
    assert "like '合计,<count>笔,<amount>' not found" in str(info.value) and "(?P<" not in str(info.value)


def test_quoted_value_spanning_lines_keeps_line_numbers():
    bill = parse(f"{HEADER}\n"
                 "T1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n"
                 "T2,\"O2\nsecond line\",2.00,2026-11-20 10:00:00,支付,成功,0\n"
                 "T3,O3,3.00,2026-11-20 10:00:00,支付,成功,0\n")
    rows = bill.transactions.to_pylist()
    assert [r["src_line"] for r in rows] == [2, 3, 5]
    assert rows[1]["order_no"] == "O2\nsecond line"


def test_fen_amounts_reject_decimals():
    prof = profile(amount={"unit": "fen"})
    assert parse(f"{HEADER}\nT1,O1,000000012345,2026-11-20 10:00:00,支付,成功,5\n", prof
                 ).transactions.column("amount_fen").to_pylist() == [12345]
    with pytest.raises(LoadError, match="whole fen"):
        parse(f"{HEADER}\nT1,O1,123.45,2026-11-20 10:00:00,支付,成功,5\n", prof)


def test_iso_times_with_offsets_and_other_zones():
    prof = profile(time={"formats": ["iso"], "timezone": "Asia/Tokyo"})
    rows = parse(f"{HEADER}\nT1,O1,1.00,2026-11-20T10:00:00+08:00,支付,成功,0\n"
                 "T2,O2,1.00,2026-11-20T10:00:00,支付,成功,0\n", prof).transactions.to_pylist()
    assert rows[0]["occurred_at"] == dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
    assert rows[1]["occurred_at"] == dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)  # Tokyo is +9


def test_header_only_file_gives_no_rows():
    bill = parse(f"{HEADER}\n")
    assert bill.transactions.num_rows == 0 and bill.bill_date is None


def test_large_export_is_parsed_in_bulk():
    # 100k rows: vectorised path, a few hundred ms; a per-row Python loop would be far slower
    rows = "\n".join(f"T{i},O{i},{i % 9999}.{i % 100:02d},2026-11-20 10:{i % 60:02d}:00,支付,成功,0.01"
                     for i in range(100_000))
    bill = parse(f"{HEADER}\n{rows}\n")
    t = bill.transactions
    assert t.num_rows == 100_000
    assert t.column("src_line").to_pylist()[-1] == 100_001
    assert sum(t.column("amount_fen").to_pylist()) == sum((i % 9999) * 100 + i % 100 for i in range(100_000))


def test_xlsx_problems_name_the_excel_row(tmp_path: Path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["导出标题"])
    ws.append(HEADER.split(","))
    ws.append(["T1", "O1", 12.5, dt.datetime(2026, 11, 20, 10, 0), "支付", "成功", 0.06])
    ws.append([None] * 7)  # a blank row in the middle
    ws.append(["T2", "O2", "12.345", dt.datetime(2026, 11, 20, 11, 0), "支付", "成功", 0])
    buf = tmp_path / "x.xlsx"
    wb.save(buf)
    prof = profile(file={"type": "xlsx"})
    with pytest.raises(LoadError) as info:
        parse_with_profile(prof, buf.read_bytes(), "x.xlsx")
    [problem] = info.value.problems
    assert (problem.line, problem.field, problem.value) == (5, "金额", "12.345")
    ws.delete_rows(5)
    wb.save(buf)
    [row] = parse_with_profile(prof, buf.read_bytes(), "x.xlsx").transactions.to_pylist()
    assert (row["amount_fen"], row["fee_fen"], row["src_line"]) == (1250, 6, 3)
    assert row["occurred_at"] == dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)


def test_row_filter_keeps_non_sales_rows_out_but_in_the_totals():
    prof = profile(rows={"column": "类型", "drop": ["手续费"]}, file={"trailer_regex": "^合计"},
                   totals=[{"regex": r"合计,(?P<count>\d+)笔"}],
                   type={"rule": "column", "map": {"支付": "payment", "退款": "refund"}})
    bill = parse(f"{HEADER}\n"
                 "T1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n"
                 ",,0.01,2026-11-20 10:00:00,手续费,,\n"  # no ids, no status: fine, it is dropped
                 "合计,2笔\n", prof)
    assert bill.transactions.column("channel_tx_id").to_pylist() == ["T1"]
    assert bill.totals == {"all_count": 2}
    with pytest.raises(LoadError) as info:  # a dropped row's amount still has to be readable
        parse(f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n,,x,2026-11-20 10:00:00,手续费,,\n合计,2笔\n", prof)
    assert [(p.line, p.field) for p in info.value.problems] == [(3, "金额")]


def test_skip_lines_header_by_name_and_bill_date_from_a_title_line():
    prof = profile(file={"skip_lines": 1, "header_contains": ["流水号", "时间"]},
                   constants={"bill_date": {"regex": r"账单日[:：](\S+)"}, "merchant_id": {"value": "M9"}})
    text = (f"流水号,时间\n"                      # skipped: looks like a header but is line 1
            "账单日：2026年11月19日\n"
            f"{HEADER}\n"
            "T1,O1,1.00,2026-11-20 00:10:00,支付,成功,0\n")
    bill = parse(text, prof)
    [row] = bill.transactions.to_pylist()
    assert (row["bill_date"], row["merchant_id"], row["src_line"]) == (dt.date(2026, 11, 19), "M9", 4)
    assert bill.bill_date == dt.date(2026, 11, 19)
    with pytest.raises(LoadError, match="not a date"):
        parse(text.replace("2026年11月19日", "yesterday"), prof)


def test_header_names_match_across_width_blanks_and_case():
    """交易金额（元） (full-width, console export) is the profile's 交易金额(元); English headers ignore case."""
    prof = profile(sniff={"headers": ["流水号", "金额(元)"]},
                   columns={**BASE["columns"], "amount": "金额(元)", "order_no": "Out_Trade_No"})
    text = "流水号 ,OUT_TRADE_NO,金额（元）,时间,类型,状态,手续费\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n"
    assert prof.sniff(text)
    row = parse(text, prof).transactions.to_pylist()[0]
    assert (row["order_no"], row["amount_fen"]) == ("O1", 100)


def test_sniff_header_alternatives():
    """A sniff/header entry that is a list is satisfied by any one of its names."""
    prof = profile(sniff={"headers": ["流水号", ["金额", "交易金额"]]},
                   columns={**BASE["columns"], "amount": ["金额", "交易金额"]})
    assert prof.sniff("流水号,交易金额\n") and prof.sniff("流水号,金额\n") and not prof.sniff("流水号,实收\n")
    text = "流水号,订单号,交易金额,时间,类型,状态,手续费\nT1,O1,2.00,2026-11-20 10:00:00,支付,成功,0\n"
    assert parse(text, prof).transactions.column("amount_fen").to_pylist() == [200]


def test_times_in_another_year_first_layout_are_read():
    """A profile's own format first, then unambiguous year-first ones: the API bill writes
    20261120100000 where the console writes 2026-11-20 10:00:00, and Excel re-saves 2026/11/20 9:05."""
    prof = profile(time={"formats": ["%Y%m%d%H%M%S"]})
    text = (f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\nT2,O2,1.00,2026/11/20 9:05,支付,成功,0\n"
            "T3,O3,1.00,20261120100001,支付,成功,0\n")
    got = [r["occurred_at"].astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
           for r in parse(text, prof).transactions.to_pylist()]
    assert got == ["2026-11-20 10:00:00", "2026-11-20 09:05:00", "2026-11-20 10:00:01"]
    with pytest.raises(LoadError, match="time does not match"):
        parse(f"{HEADER}\nT1,O1,1.00,20/11/2026 10:00,支付,成功,0\n", prof)  # day-first: never guessed


def test_date_and_time_in_two_columns():
    """交易日期 + 交易时间 (bank and acquirer statements): occurred_date is put in front of a time-only cell."""
    prof = profile(columns={**BASE["columns"], "occurred_date": "日期"})
    text = ("流水号,订单号,金额,日期,时间,类型,状态,手续费\nT1,O1,1.00,20261120,10:00:00,支付,成功,0\n"
            "T2,O2,1.00,2026-11-20,093000,支付,成功,0\nT3,O3,1.00,2026-11-20,2026-11-20 23:59:59,支付,成功,0\n")
    got = [r["occurred_at"].astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
           for r in parse(text, prof).transactions.to_pylist()]
    assert got == ["2026-11-20 10:00:00", "2026-11-20 09:30:00", "2026-11-20 23:59:59"]


def test_optional_title_constants_and_totals_may_be_missing():
    """The console adds a 商户号 title and a 合计 trailer; the API download has neither."""
    prof = profile(file={"trailer_regex": "^合计"},
                   constants={"merchant_id": {"regex": r"商户号[:：](\w+)", "optional": True}},
                   totals=[{"regex": r"合计,(?P<count>\d+)笔", "optional": True}])
    body = f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n"
    bare = parse(body, prof)
    assert bare.transactions.column("merchant_id").to_pylist() == [None] and bare.totals == {}
    full = parse("商户号：M9\n" + body + "合计,1笔\n", prof)
    assert full.transactions.column("merchant_id").to_pylist() == ["M9"] and full.totals == {"all_count": 1}
    with pytest.raises(LoadError, match="totals say 2"):
        parse(body + "合计,2笔\n", prof)  # present, so still checked


def test_money_alternatives_skip_a_zero():
    """退款金额 0.00 on a payment row (the way WeChat-style bills fill unused money columns)."""
    prof = profile(sniff={"headers": ["流水号"]}, columns={**BASE["columns"], "amount": ["退款金额", "订单金额"]})
    text = ("流水号,订单号,订单金额,退款金额,时间,类型,状态,手续费\nT1,O1,12.00,0.00,2026-11-20 10:00:00,支付,成功,0\n"
            "T1,O1,0.00,5.00,2026-11-20 11:00:00,退款,成功,0\nT2,O2,0.00,0.00,2026-11-20 12:00:00,支付,成功,0\n")
    assert parse(text, prof).transactions.column("amount_fen").to_pylist() == [1200, 500, 0]


def test_dash_for_none_and_full_width_minus():
    """Bank statements write '-' in the unused money column; some exports a full-width minus."""
    prof = profile(sniff={"headers": ["流水号"]}, type={"rule": "in_out"}, status={"default": "success"},
                   columns={"channel_tx_id": "流水号", "occurred_at": "时间", "amount_in": "收入", "amount_out": "支出"})
    text = ("流水号,时间,收入,支出\nT1,2026-11-20 10:00:00,12.00,-\nT2,2026-11-20 11:00:00,--,－3.50\n"
            "T3,2026-11-20 12:00:00,—,−1.00\n")
    rows = parse(text, prof).transactions.to_pylist()
    assert [(r["type"], r["amount_fen"]) for r in rows] == [("payment", 1200), ("refund", 350), ("refund", 100)]
    # a plain dash in a column of plain numbers (nothing else there to clean) is no amount too
    text = "流水号,时间,收入,支出\nT1,2026-11-20 10:00:00,12.00,-\nT2,2026-11-20 11:00:00,-,3.50\n"
    rows = parse(text, prof).transactions.to_pylist()
    assert [(r["type"], r["amount_fen"]) for r in rows] == [("payment", 1200), ("refund", 350)]


def test_ids_mangled_by_excel_are_refused():
    """A CSV opened and saved in Excel shows long ids as 4.20000061203213E+27: the digits are lost."""
    with pytest.raises(LoadError) as info:
        parse(f"{HEADER}\n4.20000061203213E+27,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n")
    assert info.value.problems[0].field == "流水号" and "scientific notation" in info.value.problems[0].message


def test_constant_from_the_file_name():
    """``search: file_name``: the member's name, then the archive's; a required one names the file when absent."""
    prof = profile(constants={"merchant_id": {"regex": r"^SHOP\.(\d+)\.", "search": "file_name"}})
    data = f"{HEADER}\nT1,O1,1.00,2026-11-20 10:00:00,支付,成功,0\n".encode()

    def merchant(source: str):
        return parse_with_profile(prof, data, source).transactions.column("merchant_id").to_pylist()

    assert merchant("d/SHOP.1050.20261120.txt") == ["1050"]
    assert merchant("d/SHOP.7.x.zip!SHOP.1050.20261120.txt") == ["1050"]  # the member's name wins
    assert merchant("d/SHOP.7.x.zip!bill.txt") == ["7"]
    assert merchant("SHOP.8.zip!inner/SHOP.9.txt") == ["9"]
    with pytest.raises(LoadError, match="the file name does not match"):
        merchant("SHOP.d/bill.txt")  # a folder's name is not the file's
    with pytest.raises(ValueError, match="'search' goes with 'regex'"):
        profile(constants={"merchant_id": {"value": "M9", "search": "file_name"}})


def test_a_time_without_its_year_takes_the_year_of_its_bill_date():
    """Acquirers' clearing files write 交易时间 as MMDDhhmmss (helper-45: 银联商务's 清算明细, 0702200726 beside 清算日期
    20170702). The year is the bill date's, or the one next to it that puts the time nearest the bill date (a
    December time on a January bill); 29 February where that year has one. It was the year 1900 before."""
    prof = profile(columns={**BASE["columns"], "bill_date": "清算日期"}, time={"formats": ["%m%d%H%M%S"]})
    rows = parse(f"{HEADER},清算日期\n"
                 "T1,O1,1.00,0702200726,支付,成功,0.01,20170702\n"
                 "T2,O2,1.00,1231235959,支付,成功,0.01,20180101\n"
                 "T3,O3,1.00,0101000001,支付,成功,0.01,20171231\n"
                 "T4,O4,1.00,0229120000,支付,成功,0.01,20240301\n", prof).transactions.to_pylist()
    sh = dt.timezone(dt.timedelta(hours=8))
    assert [r["occurred_at"].astimezone(sh).replace(tzinfo=None) for r in rows] == [
        dt.datetime(2017, 7, 2, 20, 7, 26), dt.datetime(2017, 12, 31, 23, 59, 59), dt.datetime(2018, 1, 1, 0, 0, 1),
        dt.datetime(2024, 2, 29, 12, 0)]
    assert all(r["occurred_at"].astimezone(sh).utcoffset() == dt.timedelta(hours=8) for r in rows)
    with pytest.raises(LoadError) as e:  # no 29 February in 2023
        parse(f"{HEADER},清算日期\nT5,O5,1.00,0229120000,支付,成功,0.01,20230301\n", prof)
    assert (e.value.problems[0].line, e.value.problems[0].field) == (2, "时间")


def test_a_time_format_without_a_year_needs_a_bill_date(tmp_path: Path):
    path = write(tmp_path, "name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns: {order_no: a, amount: b, occurred_at: c}\n"
                           "status: {default: success}\ntime: {formats: ['%m%d%H%M%S']}\n")
    with pytest.raises(ConfigError, match="has no year"):
        load_profile(path)


def test_a_bad_value_deep_in_a_profile_names_its_line(tmp_path: Path):
    """helper-107 (bench/fuzz_inputs2.py): a profile's bad key was named without its line (a built-in profile is
    some 40 lines; a shop's copy of one, under profile_dirs, longer)."""
    path = write(tmp_path, "name: x\nchannel: y\nsniff: {headers: [a]}\ncolumns:\n  order_no: a\n  amount: b\n"
                           "  occurred_at: c\nstatus:\n  map:\n    ok: success\n    bad: great\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:11: invalid profile: key 'status\.map\.bad'"):
        load_profile(path)


# --- a shop's own profile damaged as bench/fuzz_config3.py damages it (helper-112) ------------------------------

GOOD = ("name: t\nchannel: test_pay\nsniff:\n  headers: [流水号, 金额]\ncolumns:\n  channel_tx_id: 流水号\n"
        "  order_no: 订单号\n  amount: 金额\n  occurred_at: 时间\n  status: 状态\n"
        "status:\n  map: {成功: success}\n")


def _profile_error(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "p.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(ConfigError) as e:
        load_profile(path)
    return str(e.value)


def test_a_column_mapped_twice_is_refused_by_line(tmp_path):
    # PyYAML kept the second: amount read from 手续费, every payment then an amount_mismatch, nothing said
    msg = _profile_error(tmp_path, GOOD.replace("  amount: 金额\n", "  amount: 金额\n  amount: 手续费\n"))
    assert "p.yaml:9:" in msg and "'amount' given twice (first on line 8)" in msg, msg


def test_an_anchor_bomb_is_refused(tmp_path):
    bomb = "l0: &l0 [a, b, c, d, e, f, g, h, i]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    msg = _profile_error(tmp_path, GOOD + bomb)
    assert "p.yaml:" in msg and "anchor bomb" in msg, msg


def test_yaml_syntax_and_encoding_errors_name_the_line(tmp_path):
    msg = _profile_error(tmp_path, GOOD.replace("columns:\n", "columns:\n  - x\n"))
    assert "p.yaml:7: cannot read profile: not valid YAML" in msg, msg  # (was: no line but PyYAML's own text)
    msg = _profile_error(tmp_path, ("# 本店\n" + GOOD).encode("gbk"))
    assert "p.yaml:1: cannot read profile: not UTF-8 text" in msg, msg


def test_a_typo_of_a_required_key_is_named_by_its_line(tmp_path):
    # 'columns' required (no line: it is not in the file) came first, and the message named no line at all
    msg = _profile_error(tmp_path, GOOD.replace("columns:", "colums:"))
    assert "p.yaml:5: invalid profile" in msg and "'colums'" in msg, msg


def test_a_profile_nested_thousands_deep_is_refused_naming_the_file(tmp_path: Path):
    # (helper-113) PyYAML recurses: a RecursionError traceback, no file named
    p = write(tmp_path, "name: x\ncolumns: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply") as e:
        load_profile(p)
    assert str(p) in str(e.value)
