"""Bad input: clear errors naming file, line and field; nothing stored changes; re-loading is a no-op."""

from pathlib import Path

import pytest

from paymatch.errors import LoadError
from paymatch.workspace import Workspace

HEADER = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
GOOD = "A1,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:01+08:00,,,0\n"


def _write(tmp_path: Path, text: str, name="orders.csv", encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _counts(ws):
    return [ws.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("orders", "batches")]


@pytest.mark.parametrize("bad,field,line", [
    ("A2,S1,M1,wechat,12.3.4,paid,2026-11-20T10:00:00+08:00,,,,0\n", "amount", 3),
    ("A2,S1,M1,wechat,1e5,paid,2026-11-20T10:00:00+08:00,,,,0\n", "amount", 3),
    ("A2,S1,M1,wechat,1.001,paid,2026-11-20T10:00:00+08:00,,,,0\n", "amount", 3),
    ("A2,S1,M1,wechat,1.00,paid,yesterday,,,,0\n", "created_at", 3),
    ("A2,S1,M1,wechat,1.00,shipped,2026-11-20T10:00:00+08:00,,,,0\n", "status", 3),
    ("A2,S1,M1,wechat,1.00,paid,2026-11-20T10:00:00+08:00,,,,-1\n", "instalments", 3),
    (",S1,M1,wechat,1.00,paid,2026-11-20T10:00:00+08:00,,,,0\n", "order_no", 3),
])
def test_bad_value_names_file_line_field(tmp_path, bad, field, line):
    ws = Workspace(tmp_path / "w.duckdb")
    ws.ingest_csv("orders", _write(tmp_path, HEADER + GOOD, "first.csv"))
    before = _counts(ws)
    p = _write(tmp_path, HEADER + "A0,S1,M1,wechat,1.00,paid,2026-11-20T10:00:00+08:00,,,,0\n" + bad)
    with pytest.raises(LoadError) as e:
        ws.ingest_csv("orders", p)
    prob = e.value.problems[0]
    assert (prob.file, prob.line, prob.field) == (str(p), line, field)
    assert str(p) in str(e.value) and f":{line}" in str(e.value) and "Hint:" in str(e.value)
    assert _counts(ws) == before  # nothing stored changed


def test_all_problems_reported_in_one_error(tmp_path):
    rows = "".join(f"B{i},S1,M1,wechat,x{i},paid,2026-11-20T10:00:00+08:00,,,,0\n" for i in range(80))
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, HEADER + rows))
    assert e.value.total == 80 and len(e.value.problems) == 50
    assert "30 more problem" in str(e.value)


def test_missing_column(tmp_path):
    p = _write(tmp_path, "order_no,channel,status\nA1,wechat,paid\n")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", p)
    assert {pr.field for pr in e.value.problems} == {"amount"}
    assert e.value.problems[0].line == 1


def test_duplicate_order_no(tmp_path):
    p = _write(tmp_path, HEADER + GOOD + GOOD.replace("10.00", "11.00"))
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", p)
    pr = e.value.problems[0]
    assert pr.field == "order_no" and pr.line == 3 and "line(s) 2" in pr.message


def test_ragged_row_is_rejected(tmp_path):
    p = _write(tmp_path, HEADER + GOOD + "A2,S1,M1\n")
    with pytest.raises(LoadError, match="orders.csv"):
        Workspace(None).ingest_csv("orders", p)


def test_gbk_file_is_read(tmp_path):
    text = HEADER + GOOD.replace("S1", "上海一店")
    p = _write(tmp_path, text, encoding="gbk")
    ws = Workspace(None)
    ws.ingest_csv("orders", p)
    assert ws.con.execute("SELECT store_id FROM orders").fetchone()[0] == "上海一店"


def test_wrong_encoding(tmp_path):
    p = tmp_path / "orders.csv"
    p.write_bytes(HEADER.encode() + b"A1,\xff\xfe\xff,M1,wechat,1.00,paid,2026-11-20,,,,0\n")
    with pytest.raises(LoadError, match="not UTF-8 or GBK text"):
        Workspace(None).ingest_csv("orders", p)


def test_bom_and_crlf(tmp_path):
    p = _write(tmp_path, ("\ufeff" + HEADER + GOOD).replace("\n", "\r\n"))
    ws = Workspace(None)
    r = ws.ingest_csv("orders", p)
    assert r.rows == 1
    assert ws.con.execute("SELECT order_no, amount_fen, src_line FROM orders").fetchone() == ("A1", 1000, 2)


def test_reingest_same_file_changes_nothing(tmp_path):
    ws = Workspace(tmp_path / "w.duckdb")
    p = _write(tmp_path, HEADER + GOOD)
    assert not ws.ingest_csv("orders", p).skipped
    before = _counts(ws)
    assert ws.ingest_csv("orders", p).skipped
    assert _counts(ws) == before


def test_newer_load_replaces_same_order(tmp_path):
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + GOOD, "a.csv"))
    ws.ingest_csv("orders", _write(tmp_path, HEADER + GOOD.replace(",paid,", ",refunded,"), "b.csv"))
    assert ws.con.execute("SELECT count(*), min(status), min(src_file) FROM orders").fetchone() == (1, "refunded", str(tmp_path / "b.csv"))


def test_provenance_kept(tmp_path):
    ws = Workspace(None)
    p = _write(tmp_path, HEADER + GOOD + GOOD.replace("A1", "A2"))
    ws.ingest_csv("orders", p)
    assert ws.con.execute("SELECT order_no, src_file, src_line FROM orders ORDER BY 1").fetchall() == [
        ("A1", str(p), 2), ("A2", str(p), 3)]


def test_negative_refund_amounts_become_positive(tmp_path):
    head = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
            "status,occurred_at,bill_date,method\n")
    p = _write(tmp_path, head + "wechat,M1,T1,O1,refund,R1,WR1,-12.30,-0.07,,success,2026-11-20 10:00:00,,\n"
                         "wechat,M1,T2,O2,payment,,,1.00,0,,success,2026-11-20 10:00:00,,\n", "tx.csv")
    ws = Workspace(None)
    ws.ingest_csv("transactions", p)
    assert ws.con.execute("SELECT type, amount_fen, fee_fen FROM transactions ORDER BY 1").fetchall() == [
        ("payment", 100, 0), ("refund", 1230, -7)]


def test_a_payment_below_zero_is_refused(tmp_path):
    """Not matched as a shortfall of twice its size: money going back is a row of type refund."""
    head = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at\n"
    p = _write(tmp_path, head + "wechat,M1,T1,O1,payment,,,100.00,0,success,2026-11-20 10:00:00\n"
                         "wechat,M1,T2,O2,payment,,,-100.00,0,success,2026-11-20 10:00:00\n"
                         "wechat,M1,T3,O3,payment,,,-0.00,0,success,2026-11-20 10:00:00\n", "tx.csv")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("transactions", p)
    assert [(x.line, x.field, x.value) for x in e.value.problems] == [(3, "amount", "-100.00")]
    assert "type refund" in e.value.problems[0].message


def test_an_amount_too_large_says_so(tmp_path):
    p = _write(tmp_path, HEADER + "A2,S1,M1,wechat,1000000000000000.00,paid,2026-11-20T10:00:00+08:00,,,,0\n"
                                  "A3,S1,M1,wechat,12345678901234.567,paid,2026-11-20T10:00:00+08:00,,,,0\n"
                                  "A4,S1,M1,wechat,99999999999999.99,paid,2026-11-20T10:00:00+08:00,,,,0\n")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", p)
    assert [(x.line, x.message.split(":")[0]) for x in e.value.problems] == [
        (2, "amount too large"), (3, "not a yuan amount with at most 2 decimals (e.g. 12.30; more only as zeros")]


def test_shop_refunds_written_negative_are_compared_by_their_size(tmp_path):
    """ERP refund exports often write a refund as -12.30: it is the refund of 12.30 the channel's bill lists
    (refund_matched), not a mismatch of 24.60; a positive refund stays as it is."""
    from paymatch.run import reconcile_files

    orders = _write(tmp_path, HEADER + GOOD + GOOD.replace("A1", "A2"))
    refunds = _write(tmp_path, "refund_no,order_no,amount,created_at,status\n"
                               "R1,A1,-2.30,2026-11-20T11:00:00+08:00,success\n"
                               "R2,A2,3.00,2026-11-20T11:00:00+08:00,success\n", "refunds.csv")
    head = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
            "status,occurred_at,bill_date,method\n")
    txs = _write(tmp_path, head + "".join(
        f"wechat,M1,T{o},{o},payment,,,10.00,0,,success,2026-11-20 10:00:01,2026-11-20,\n" for o in ("A1", "A2"))
        + "wechat,M1,T9,A1,refund,R1,WR1,-2.30,0,,success,2026-11-20 11:00:00,2026-11-20,\n"
        + "wechat,M1,T8,A2,refund,R2,WR2,3.00,0,,success,2026-11-20 11:00:00,2026-11-20,\n", "tx.csv")
    for ws_file in (None, tmp_path / "w.duckdb"):
        r = reconcile_files(orders, refunds, [txs], tmp_path / "out", workspace=ws_file)
        kinds = {k["kind"]: k["count"] for k in r.summary["by_kind"]}
        assert kinds["refund_matched"] == 2 and "refund_amount_mismatch" not in kinds, kinds
        assert r.summary["conservation"]
    ws = Workspace(tmp_path / "w.duckdb")
    assert ws.con.execute("SELECT refund_no, amount_fen FROM refunds ORDER BY 1").fetchall() == [("R1", 230), ("R2", 300)]


def test_file_only_load_names_the_right_lines_in_a_big_file(tmp_path):
    """A file-only run loads orders in any order (faster); a file with problems is read again in order,
    so the lines named are the file's, also when DuckDB split the file between threads."""
    n = 400_000
    rows = [f"A{i},S{i % 7},M1,wechat,{i % 900}.{i % 100:02d},paid,2026-11-20T10:00:00+08:00,,,,0\n" for i in range(n)]
    rows[n - 5] = rows[n - 5].replace(",paid,", ",shipped,")
    rows[n - 2] = rows[3]  # order_no A3 again
    p = _write(tmp_path, HEADER + "".join(rows))
    with pytest.raises(LoadError) as e:
        Workspace(None).stage_file("orders", p)
    got = {(pr.field, pr.line) for pr in e.value.problems}
    assert got == {("status", n - 5 + 2), ("order_no", n - 2 + 2)}
    dup = next(pr for pr in e.value.problems if pr.field == "order_no")
    assert "line(s) 5" in dup.message


def test_values_are_trimmed_like_before(tmp_path):
    """Outer ASCII and Unicode spaces (U+3000, U+00A0) go, inner ones and tabs stay, '' and '  ' are empty;
    enum values and channel names are case-insensitive (stored lower-case). Both loading paths (workspace and file-only staging) agree."""
    rows = ('  A1 ,"\u3000门店一\u3000",M1, WECHAT ,10.00, Paid ,2026-11-20T10:00:00+08:00,,"",  ,0\n'
            'A2,\u00a0S 2,"",alipay, 1.50 ,paid,,,m\t1,gold,\n'
            'A3,门店三,M3,alipay,2.00,closed,,,,,3\n'
            '"A4\t\u3000",S4,M4,alipay,1.00,paid,,,,,\n'  # a tab and U+3000 mixed
            '"A5\t\u3000\t","\u3000\tS5",M5,alipay,"84.50\t\u3000",paid,,,,,\n')
    p = _write(tmp_path, HEADER + rows)
    want = [("A1", "门店一", "M1", "wechat", 1000, "paid", None, None),
            ("A2", "S 2", None, "alipay", 150, "paid", "m\t1", "gold"),
            ("A3", "门店三", "M3", "alipay", 200, "closed", None, None),
            ("A4", "S4", "M4", "alipay", 100, "paid", None, None),
            ("A5", "S5", "M5", "alipay", 8450, "paid", None, None)]
    ws = Workspace(None)
    ws.ingest_csv("orders", p)
    got = ws.con.execute("SELECT order_no, store_id, merchant_id, channel, amount_fen, status, member_id, member_level "
                         "FROM orders ORDER BY order_no").fetchall()
    assert got == want
    st = ws.stage_file("orders", p, drop=("member_id", "member_level", "instalments"))
    cols = [r[0] for r in ws.con.execute(f"DESCRIBE {st.table}").fetchall()]
    assert "member_id" not in cols and "instalments" not in cols  # checked, not kept
    got = ws.con.execute(f"SELECT order_no, store_id, merchant_id, channel, amount_fen, status::VARCHAR "
                         f"FROM {st.table} ORDER BY order_no").fetchall()
    assert got == [w[:6] for w in want]


def test_dropped_columns_are_still_checked(tmp_path):
    p = _write(tmp_path, HEADER + GOOD + "A2,S1,M1,wechat,1.00,paid,2026-11-20T10:00:00+08:00,,,,many\n")
    with pytest.raises(LoadError) as e:
        Workspace(None).stage_file("orders", p, drop=("member_id", "member_level", "instalments"))
    assert [(pr.line, pr.field) for pr in e.value.problems] == [(3, "instalments")]


@pytest.mark.parametrize("bad", ["Z9,S1,M1,wechat,1.00,paid,,,,,0,surplus\n",  # one field too many
                                 'Z9,S1,M1,wechat,"1.00,paid,,,,,0\n'])  # a quote that never closes
def test_structural_errors_past_the_sniffer_sample_are_rejected(tmp_path, bad):
    """DuckDB's sniffer reads the first ~20k rows; a broken row after them must still reject the file
    (a lenient reader would drop the surplus field or swallow the rest of the file into one value)."""
    rows = "".join(f"B{i},S1,M1,wechat,1.00,paid,,,,,0\n" for i in range(30_000))
    p = _write(tmp_path, HEADER + rows + bad + GOOD)
    for load in (lambda ws: ws.ingest_csv("orders", p), lambda ws: ws.stage_file("orders", p)):
        with pytest.raises(LoadError, match="orders.csv"):
            load(Workspace(None))


def test_typed_values_with_outer_spaces_parse_like_trimmed_ones(tmp_path):
    """Typed values are parsed as written and only a failing value is trimmed and parsed again: spaces
    (ASCII, U+3000, U+00A0) around amounts, times, dates, enums and counts must still be accepted, a
    blank optional value still takes its default, and a refund's sign still follows its (spaced) type."""
    head = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,amount,fee,status,occurred_at,bill_date\n"
    rows = ("wechat,M1,T1,O1, Refund ,R1,\u3000-12.30\u3000,  ,\u00a0SUCCESS , 2026-11-20 10:00:00 ,\u30002026-11-20\n"
            "wechat,M1,T2,O2,payment,,5.00,0.01000,success,2026-11-20T10:00:00+08:00,\n")
    p = _write(tmp_path, head + rows, "tx.csv")
    ws = Workspace(None)
    for table in (ws.stage_file("transactions", p).table, ws.stage_file("transactions", p, ordered=True).table):
        got = ws.con.execute(f"SELECT channel_tx_id, type::VARCHAR, amount_fen, fee_fen, status::VARCHAR, "
                             f"strftime(occurred_at, '%Y-%m-%d %H:%M'), bill_date::VARCHAR FROM {table} ORDER BY 1").fetchall()
        assert got == [("T1", "refund", 1230, 0, "success", "2026-11-20 10:00", "2026-11-20"),
                       ("T2", "payment", 500, 1, "success", "2026-11-20 10:00", None)]
    o = _write(tmp_path, HEADER + "A1,S1,M1,wechat,1.00,paid,,,,, \u3000\n" + "A2,S1,M1,wechat,1.00,paid,,,,, 3 \n")
    ws.ingest_csv("orders", o)
    assert ws.con.execute("SELECT order_no, instalments FROM orders ORDER BY 1").fetchall() == [("A1", 0), ("A2", 3)]
    bad = _write(tmp_path, HEADER + "A1,S1,M1,wechat, 1.2.3 ,paid,,,,,0\n" + "A2,S1,M1,wechat,\u3000,paid,,,,,0\n", "bad.csv")
    with pytest.raises(LoadError) as e:
        ws.stage_file("orders", bad)
    assert [(pr.line, pr.field, pr.message.split(" (")[0]) for pr in e.value.problems] == [
        (2, "amount", "not a yuan amount with at most 2 decimals"), (3, "amount", "required value is empty")]


def test_bill_dates_in_the_forms_channels_use(tmp_path):
    """A bill day as YYYY-MM-DD, YYYYMMDD (WeChat/Alipay bill names) or YYYY/MM/DD; anything else is named."""
    head = "channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
    rows = ("wechat,M1,T1,O1,payment,1.00,success,2026-11-20 10:00:00,2026-11-20\n"
            "wechat,M1,T2,O2,payment,1.00,success,2026-11-20 10:00:00,20261120\n"
            "wechat,M1,T3,O3,payment,1.00,success,2026-11-20 10:00:00, 2026/11/20 \n")
    ws = Workspace(None)
    ws.ingest_csv("transactions", _write(tmp_path, head + rows, "tx.csv"))
    assert {r[0].isoformat() for r in ws.con.execute("SELECT bill_date FROM transactions").fetchall()} == {"2026-11-20"}
    bad = _write(tmp_path, head + rows + "wechat,M1,T4,O4,payment,1.00,success,2026-11-20 10:00:00,20261320\n", "b.csv")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("transactions", bad)
    assert [(p.line, p.field, p.value) for p in e.value.problems] == [(5, "bill_date", "20261320")]


def test_times_and_days_as_erp_exports_write_them(tmp_path):
    """Besides ISO-8601: 2026年11月20日 09:05, 2026.11.20 09:05, 20261120090500, an offset after a blank, and a
    bare day; all naive ones are Asia/Shanghai. A time that is no time (month 13, hour 25) is still named."""
    forms = ["2026年11月20日 09:05", "2026年11月20日09:05:07", "2026.11.20 09:05", "2026.11.20", "20261120090500",
             "2026-11-20 09:05:00 +08:00", "2026 年 11 月 20 日", "2026年1月5日 9:05",
             "2026/11/20 下午 3:05:00", "2026年11月20日上午12:05", "2026/11/20 3:05 PM", "2026-11-20 11:05:09 a.m.",
             "2026-11-20 20:05:00 CST", "2026-11-20 12:05:00 GMT"]
    rows = "".join(f"A{i},S1,M1,wechat,1.00,paid,,{t},,,0\n" for i, t in enumerate(forms))
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + rows))
    got = [r[0] for r in ws.con.execute(
        "SELECT strftime(timezone('Asia/Shanghai', paid_at), '%Y-%m-%d %H:%M:%S') FROM orders ORDER BY src_line").fetchall()]
    assert got == ["2026-11-20 09:05:00", "2026-11-20 09:05:07", "2026-11-20 09:05:00", "2026-11-20 00:00:00",
                   "2026-11-20 09:05:00", "2026-11-20 09:05:00", "2026-11-20 00:00:00", "2026-01-05 09:05:00",
                   "2026-11-20 15:05:00", "2026-11-20 00:05:00", "2026-11-20 15:05:00", "2026-11-20 11:05:09",
                   "2026-11-20 20:05:00", "2026-11-20 20:05:00"]  # CST: China Standard Time, as Chinese servers print it
    bad = _write(tmp_path, HEADER + "B1,S1,M1,wechat,1.00,paid,,2026.13.01 10:00,,,0\n"
                 "B2,S1,M1,wechat,1.00,paid,,2026年11月20日 25:00,,,0\n" "B3,S1,M1,wechat,1.00,paid,,20261120,,,0\n"
                 "B4,S1,M1,wechat,1.00,paid,,2026/11/20 下午 13:05,,,0\n", "bad.csv")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", bad)
    assert [(p.line, p.field, p.value) for p in e.value.problems] == [
        (2, "paid_at", "2026.13.01 10:00"), (3, "paid_at", "2026年11月20日 25:00"), (4, "paid_at", "20261120"),
        (5, "paid_at", "2026/11/20 下午 13:05")]


def test_bill_days_as_erp_exports_write_them(tmp_path):
    head = "channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
    rows = ("wechat,M1,T1,O1,payment,1.00,success,2026年11月20日 10:00,2026年11月20日\n"
            "wechat,M1,T2,O2,payment,1.00,success,2026.11.20 10:00,2026.11.20\n")
    ws = Workspace(None)
    ws.ingest_csv("transactions", _write(tmp_path, head + rows, "tx.csv"))
    assert {r[0].isoformat() for r in ws.con.execute("SELECT bill_date FROM transactions").fetchall()} == {"2026-11-20"}


def test_lines_are_the_files_own_with_blank_lines_and_values_spanning_lines(tmp_path):
    """DuckDB skips blank lines and reads a quoted value across lines as one record: errors, duplicates and the
    stored src_line still name the line the user sees (a record's first line)."""
    text = (HEADER + "A1,S1,M1,wechat,1.00,paid,,,,,0\n\n\n"          # lines 2, 3-4 blank
            + '"A\n2",S1,M1,wechat,2.00,paid,,,,,0\n'                 # lines 5-6
            + "A3,S1,M1,wechat,3.00,paid,,,,,0\r\n\r\n"               # line 7, line 8 blank (CRLF here: mixed)
            + "A4,S1,M1,wechat,4.00,paid,,,,,0\n")                    # line 9
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, text))
    assert ws.con.execute("SELECT order_no, src_line FROM orders ORDER BY src_line").fetchall() == [
        ("A1", 2), ("A\n2", 5), ("A3", 7), ("A4", 9)]
    bad = text.replace("3.00", "3.0.0") + "A1,S1,M1,wechat,5.00,paid,,,,,0\n"  # line 10 repeats line 2's order
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, bad, "bad.csv"))
    assert [(p.line, p.field) for p in e.value.problems] == [(7, "amount"), (10, "order_no")]
    assert "also on line(s) 2" in e.value.problems[1].message
    # a file run (no workspace) names the same lines
    with pytest.raises(LoadError) as e:
        Workspace(None).stage_file("orders", tmp_path / "bad.csv")
    assert [p.line for p in e.value.problems] == [7, 10]


def test_id_text_guards_of_exports_are_dropped(tmp_path):
    """Exports guard long numbers against Excel with a tab before or after, ="…" or a leading apostrophe; the
    stored id is the number itself, so it matches the channel's. Other text keeps its = and '."""
    rows = ("\t2026112000001,S1,M1,wechat,1.00,paid,,,,,0\n" '="2026112000002",S1,M1,wechat,\t2.00,paid,,,,,0\n'
            "'2026112000003,S1,M1,wechat,3.00\t,paid,,,,,0\n" "2026112000004\t,S1,M1,wechat,4.00,paid,,,,,0\n"
            "A=1,S1,M1,wechat,5.00,paid,,,,,0\n" "\tX'Y ,=S2,M1,wechat,6.00,paid,,,,,0\n")
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + rows))
    assert ws.con.execute("SELECT order_no, store_id, amount_fen FROM orders ORDER BY amount_fen").fetchall() == [
        ("2026112000001", "S1", 100), ("2026112000002", "S1", 200), ("2026112000003", "S1", 300),
        ("2026112000004", "S1", 400), ("A=1", "S1", 500), ("X'Y", "=S2", 600)]
    tx = ("channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at\n"
          'wechat,M1,="4200001",\t2026112000002,payment,2.00,success,2026-11-20 10:00:00\n')
    ws.ingest_csv("transactions", _write(tmp_path, tx, "tx.csv"))
    assert ws.con.execute("SELECT channel_tx_id, order_no FROM transactions").fetchall() == [("4200001", "2026112000002")]


def test_excel_serial_day_numbers_are_times(tmp_path):
    """A workbook's date column that lost its format holds Excel serial days (46346.5 = 2026-11-20 12:00,
    Asia/Shanghai); only five-digit serials of 1970–2099 are read so, anything else is still named."""
    rows = "A1,S1,M1,wechat,1.00,paid,,46346.5,,,0\nA2,S1,M1,wechat,1.00,paid,,46346.4166666667,,,0\n"
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + rows))
    assert [r[0] for r in ws.con.execute("SELECT strftime(timezone('Asia/Shanghai', paid_at), '%Y-%m-%d %H:%M:%S') "
                                         "FROM orders ORDER BY order_no").fetchall()] == ["2026-11-20 12:00:00",
                                                                                          "2026-11-20 10:00:00"]
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, HEADER + "B1,S1,M1,wechat,1.00,paid,,12345,,,0\n"
                                                    "B2,S1,M1,wechat,1.00,paid,,4634x.5,,,0\n", "bad.csv"))
    assert [(p.line, p.value) for p in e.value.problems] == [(2, "12345"), (3, "4634x.5")]


def test_lines_after_a_very_long_value_and_in_utf16(tmp_path):
    """A value longer than the csv module's default field limit and a blank line; a UTF-16 file with a blank line."""
    text = HEADER.rstrip("\n") + ",note\n" + "A1,S1,M1,wechat,1.00,paid,,,,,0," + "x" * 200_000 + "\n\n" \
        + "A2,S1,M1,wechat,2.00,paid,,,,,0,y\n"
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, text))
    assert ws.con.execute("SELECT order_no, src_line FROM orders ORDER BY 1").fetchall() == [("A1", 2), ("A2", 4)]
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + GOOD + "\n" + GOOD.replace("A1", "A2"), "u16.csv", "utf-16"),
                  encoding="utf-16")
    assert ws.con.execute("SELECT order_no, src_line FROM orders ORDER BY 1").fetchall() == [("A1", 2), ("A2", 4)]


def test_amounts_with_more_decimals_only_as_zeros(tmp_path):
    """84.5000 (an ERP keeping 4 decimals) is 8450 fen exactly; a digit past the fen is never rounded away."""
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + "A1,S1,M1,wechat,84.5000,paid,,,,,0\n"
                                   "A2,S1,M1,wechat,1.000,paid,,,,,0\n"
                                   "A3,S1,M1,wechat,12.300000,paid,,,,,0\n"  # any number of zeros (helper-48)
                                   "A4,S1,M1,wechat,0000000000000012.30,paid,,,,,0\n"))  # and leading ones
    assert ws.con.execute("SELECT amount_fen FROM orders ORDER BY order_no").fetchall() == [(8450,), (100,), (1230,),
                                                                                          (1230,)]
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, HEADER + "B1,S1,M1,wechat,84.5010,paid,,,,,0\n"
                                                    "B2,S1,M1,wechat,30.299999999999997,paid,,,,,0\n", "bad.csv"))
    assert [(p.line, p.value) for p in e.value.problems] == [(2, "84.5010"), (3, "30.299999999999997")]


def test_an_amount_below_one_yuan_without_its_zero(tmp_path):
    """.54 (a database export's number below 1: Oracle's TO_CHAR writes it so) is 54 fen; a point alone is no amount."""
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + "A1,S1,M1,wechat,.54,paid,,,,,0\nA2,S1,M1,wechat,.5000,paid,,,,,0\n"))
    assert ws.con.execute("SELECT amount_fen FROM orders ORDER BY order_no").fetchall() == [(54,), (50,)]
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, HEADER + "B1,S1,M1,wechat,.,paid,,,,,0\n"
                                                    "B2,S1,M1,wechat,.541,paid,,,,,0\n", "bad.csv"))
    assert [(p.line, p.field, p.value) for p in e.value.problems] == [(2, "amount", "."), (3, "amount", ".541")]


def test_a_utc_offset_no_place_has_is_refused(tmp_path):
    """DuckDB reads ``+25:00`` and ``+08:60`` as offsets and shifts the time by them (helper-36's audit); offsets from
    -14:00 to +14:00, with or without a colon, hours only, after a blank, stay times."""
    good = ["2026-11-20T10:00:00+14:00", "2026-11-20T10:00:00-1200", "2026-11-20T10:00:00+08", "2026-11-20T10:00:00Z",
            "2026-11-20 10:00:00 +05:45", "2026-11-20T10:00:00.5+08:00", "2026-11-20T10:00:00+08:00:00", "2026-1-2 1:00"]
    rows = "".join(f"G{i},S1,M1,wechat,1.00,paid,,{t},,,0\n" for i, t in enumerate(good))
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + rows))
    assert ws.con.execute("SELECT count(paid_at) FROM orders").fetchall() == [(len(good),)]
    bad = ["2026-11-20T10:00:00+25:00", "2026-11-20T10:00:00+08:60", "2026-11-20T10:00:00-1500", "2026-11-20 10:00+25",
           "2026-11-20T10:00:00+14:30", "2026-11-20 10:00:00 +99:99 ",
           # (helper-39) with seconds, a short day and hour, west of -12:00
           "2026-11-20T10:00:00+25:00:00", "2026-11-20T10:00:00+08:60:00", "2026-1-2 1:00+25", "2026-11-20T10:00:00-13:00"]
    p = _write(tmp_path, HEADER + GOOD + "".join(f"B{i},S1,M1,wechat,1.00,paid,{t},,,,0\n" for i, t in enumerate(bad)),
               "bad.csv")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", p)
    assert [(x.line, x.field, x.value) for x in e.value.problems] == [
        (3 + i, "created_at", t) for i, t in enumerate(bad)]
    assert "UTC offset" in e.value.problems[0].message


def test_times_and_days_no_payment_has_are_refused(tmp_path):
    """DuckDB reads infinity, epoch, a year of two or five digits and BC dates as times (helper-48: stored as the year
    26, matched at an infinite time, a traceback for an infinite bill day): refused by line and field."""
    bad = ["epoch", "infinity", "-infinity", "26-11-20 10:00:00", "-2026-11-20 10:00:00", "99999-11-20 10:00:00",
           "1970-01-01 08:00:00", "0001-01-01 00:00:00", "1991-07-01 23:30:00"]
    rows = "".join(f"B{i},S1,M1,wechat,1.00,paid,,{t},,,0\n" for i, t in enumerate(bad))
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, HEADER + rows + "G1,S1,M1,wechat,1.00,paid,,2000-01-01 08:00:00,,,0\n"))
    assert [(p.line, p.field, p.value) for p in e.value.problems] == [(i + 2, "paid_at", t) for i, t in enumerate(bad)]
    assert "outside the years 2000–2099" in e.value.problems[0].message
    tx = ("channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
          "wechat,M1,T1,O1,payment,1.00,success,2026-11-20 10:00:00,infinity\n"
          "wechat,M1,T2,O2,payment,1.00,success,2026-11-20 10:00:00,26-11-20\n"
          "wechat,M1,T3,O3,payment,1.00,success,2026-11-20 10:00:00,2026-11-20\n")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("transactions", _write(tmp_path, tx, "t.csv"))
    assert [(p.line, p.field, p.value) for p in e.value.problems] == [(2, "bill_date", "infinity"),
                                                                     (3, "bill_date", "26-11-20")]


def test_a_column_named_twice_is_refused_and_names_are_read_as_trimmed(tmp_path):
    """(helper-48) amount twice, Amount beside amount (DuckDB binds names whatever their case: the extra column kept
    the wrong value), Note beside NOTE, a _pm_ name: refused by line 1 and name. A tab after a header name is an outer
    blank like a space (DuckDB kept it and the load failed with its own binder message)."""
    head = "order_no,store_id,merchant_id,channel,amount,status"
    for extra, name in ((",amount", "amount"), (",Amount", "Amount"), (",Note,NOTE", "NOTE"), (",_pm_t0", "_pm_t0")):
        with pytest.raises(LoadError) as e:
            Workspace(None).ingest_csv("orders", _write(tmp_path, head + extra + "\nA1,S1,M1,wechat,12.30,paid" +
                                                        ",x" * extra.count(",") + "\n", "twice.csv"))
        assert [(p.line, p.field) for p in e.value.problems] == [(1, name)], extra
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, head.replace("amount", "amount\t") + ",note\t\nA1,S1,M1,wechat,12.30,paid,n\n"))
    assert ws.con.execute("SELECT amount_fen, extra FROM orders").fetchall() == [(1230, '{"note":"n"}')]


def test_gbk_text_that_is_valid_utf8_too_is_read_as_gbk(tmp_path):
    """(helper-48) 唯品 and 千元 in GBK are byte pairs UTF-8 reads as ΨƷ and ǧԪ: a GBK export whose only Chinese words are
    such was stored garbled. UTF-8 Chinese, and UTF-8 with é, stay UTF-8; a UTF-8 BOM before GBK text is refused by line."""
    head = "order_no,store_id,merchant_id,channel,amount,status,member_level\n"
    cases = [("gbk", "O1,唯品,M1,wechat,12.30,paid,千元\n", "gbk", ("唯品", "千元")),
             ("utf8", "O1,唯品,M1,wechat,12.30,paid,千元\n", "utf-8", ("唯品", "千元")),
             ("latin", "O1,Café,M1,wechat,12.30,paid,ü\n", "utf-8", ("Café", "ü"))]
    for name, row, enc, want in cases:
        ws = Workspace(None)
        path = tmp_path / f"{name}.csv"
        path.write_bytes((head + row).encode(enc))
        ws.ingest_csv("orders", path)
        assert ws.con.execute("SELECT store_id, member_level FROM orders").fetchall() == [want], name
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (head + "O1,对账,M1,wechat,12.30,paid,千元\n").encode("gbk"))
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", bom)
    assert e.value.problems[0].line == 2 and "not UTF-8" in e.value.problems[0].message


def test_a_ragged_last_row_is_refused_not_taken_for_the_header(tmp_path):
    """DuckDB's sniffer took a last row with one field more for the header and read nothing above it; the header is
    line 1 (read with skip=0), so the row is named."""
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", _write(tmp_path, "order_no,channel,amount,status\nA1,wechat,10.00,paid\n"
                                                    "A2,wechat,20.00,paid,x\n"))
    assert e.value.problems[0].line == 3 and "5 fields" in e.value.problems[0].message


def test_a_stray_nul_byte_is_not_taken_for_utf16(tmp_path):
    """(helper-48) A NUL byte in UTF-8 text is refused by its line, without the UTF-16 hint; UTF-16 text keeps it."""
    stray = tmp_path / "nul.csv"
    stray.write_bytes((HEADER + "A1,S1,M1,wechat,1.00,paid,,,,,0\n").encode() + b"A2,S1,M1,wech\x00at,1.00,paid,,,,,0\n")
    with pytest.raises(LoadError) as e:
        Workspace(None).ingest_csv("orders", stray)
    assert e.value.problems[0].line == 3 and "UTF-16" not in str(e.value)
    wide = tmp_path / "u16.csv"
    wide.write_bytes((HEADER + "A1,S1,M1,wechat,1.00,paid,,,,,0\n").encode("utf-16-le"))
    with pytest.raises(LoadError, match="looks like UTF-16"):
        Workspace(None).ingest_csv("orders", wide)
