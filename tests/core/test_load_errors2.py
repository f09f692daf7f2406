"""Bad input, continued: ragged rows, wrong encodings and negative order amounts are named by line;
a missing input file is one clean error line (no thread traceback). Real DuckDB, real files."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paymatch.errors import LoadError
from paymatch.workspace import Workspace

HEADER = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"


def _row(i: int, amount: str = "10.00") -> str:
    return f"A{i},S1,M1,wechat,{amount},paid,2026-11-20T10:00:00+08:00,,,,0\n"


def _rows(n: int) -> list[str]:
    return [_row(i) for i in range(n)]


def _write(tmp_path: Path, data: str | bytes, name: str = "orders.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def _loads(p: Path):
    """Both loading paths: a workspace ingest (ordered) and a file-only staging (unordered)."""
    return [lambda: Workspace(None).ingest_csv("orders", p), lambda: Workspace(None).stage_file("orders", p)]


def _problems(load) -> tuple[LoadError, list[tuple]]:
    with pytest.raises(LoadError) as e:
        load()
    return e.value, [(pr.line, pr.field, pr.message) for pr in e.value.problems]


# --- ragged rows ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n_rows,bad_index", [(8, 5), (300_000, 299_998)])  # inside / far past the sniffer's sample
@pytest.mark.parametrize("change,fields", [(lambda r: r.rstrip("\n") + ",extra,cells\n", 13),  # more fields
                                           (lambda r: r.split(",paid,")[0] + ",paid\n", 6)])  # fewer fields
def test_ragged_row_names_its_line(tmp_path, n_rows, bad_index, change, fields):
    rows = _rows(n_rows)
    rows[bad_index] = change(rows[bad_index])
    p = _write(tmp_path, HEADER + "".join(rows))
    line = bad_index + 2  # the header is line 1
    for load in _loads(p):
        err, got = _problems(load)
        assert got == [(line, None, f"row has {fields} fields, the header has 11")]
        first = str(err).splitlines()[0]
        assert first == f"{p}:{line}: row has {fields} fields, the header has 11"
        assert "sniffing" not in str(err) and "strict_mode" not in str(err)


def test_every_ragged_row_is_listed_and_counted(tmp_path):
    rows = _rows(200)
    for i in range(0, 200, 3):  # 67 ragged rows: 50 listed, all counted
        rows[i] = rows[i].rstrip("\n") + ",x\n"
    p = _write(tmp_path, HEADER + "".join(rows))
    err, got = _problems(_loads(p)[0])
    assert err.total == 67 and len(got) == 50
    assert [g[0] for g in got] == [i + 2 for i in range(0, 150, 3)]
    assert "17 more problem" in str(err)


def test_ragged_row_line_counts_physical_lines_and_skips_blank_ones(tmp_path):
    """A quoted field over two lines and a blank line (DuckDB skips it) before the ragged row: the line
    named is the one an editor shows."""
    text = (HEADER + _row(1) + 'A2,"two\nlines",M1,wechat,1.00,paid,,,,,0\n' + "\n"
            + _row(3).rstrip("\n") + ",surplus\n")
    p = _write(tmp_path, text)
    for load in _loads(p):
        assert _problems(load)[1] == [(6, None, "row has 12 fields, the header has 11")]


def test_well_formed_file_with_blank_lines_still_loads(tmp_path):
    p = _write(tmp_path, HEADER + _row(1) + "\n" + _row(2) + "\n\n")
    ws = Workspace(None)
    assert ws.ingest_csv("orders", p).rows == 2


def test_unclosed_quote_names_the_line_it_opens(tmp_path):
    rows = _rows(30_000)
    rows[20_000] = 'Z9,S1,M1,wechat,"1.00,paid,,,,,0\n'
    p = _write(tmp_path, HEADER + "".join(rows))
    for load in _loads(p):
        line, field, msg = _problems(load)[1][-1]
        assert (line, field) == (20_002, None) and msg == "a quoted field opened on this line does not close"


@pytest.mark.parametrize("long", ['"' + "x" * 2_050_000 + '"',  # one value over DuckDB's 2,000,000-byte line
                                  '"' + "中" * 700_000 + '"',  # 700,000 characters, 2.1 MB in UTF-8
                                  '"' + ("y" * 99 + "\n") * 20_500 + '"'])  # short lines, one record
def test_a_record_over_duckdbs_line_limit_is_named_by_line(tmp_path, long):
    """DuckDB refuses a record of 2,000,000 bytes or more; the error names its line and the limit, not DuckDB's
    own message (a value under Python's csv limit in characters is still over DuckDB's in bytes)."""
    rows = _rows(5)
    rows[3] = rows[3].replace(",wechat,", f",{long},")
    p = _write(tmp_path, HEADER + "".join(rows))
    for load in _loads(p):
        assert _problems(load)[1][-1][:2] == (5, None)
        assert "2 MB or more (DuckDB's line limit)" in _problems(load)[1][-1][2]


def test_ragged_gbk_file_names_the_line(tmp_path):
    """A GBK file is read through a UTF-8 copy: the line named is still the user's file's."""
    rows = [_row(i).replace("S1", "上海一店") for i in range(10)]
    rows[6] = rows[6].rstrip("\n") + ",多余\n"
    p = _write(tmp_path, (HEADER + "".join(rows)).encode("gbk"))
    err, got = _problems(_loads(p)[0])
    assert got == [(8, None, "row has 12 fields, the header has 11")] and str(p) in str(err)


# --- encodings ------------------------------------------------------------------------------------

def test_invalid_bytes_name_line_and_column(tmp_path):
    rows = [r.encode() for r in _rows(6)]
    rows[3] = rows[3].replace(b",", b",\xff\xfe", 1)  # file line 5, after "A3,"
    p = _write(tmp_path, HEADER.encode() + b"".join(rows))
    for load in _loads(p):
        err, got = _problems(load)
        assert got == [(5, "store_id", "not UTF-8 or GBK text (bytes ff fe at column 4)")]
        assert str(err).splitlines()[0] == f"{p}:5 [store_id]: not UTF-8 or GBK text (bytes ff fe at column 4)"


def test_invalid_bytes_after_a_utf8_head_name_the_line(tmp_path):
    """The encoding is decided on the first 64 KiB; a bad line far after them is named too."""
    rows = [r.encode() for r in _rows(300_000)]
    rows[299_998] = rows[299_998].replace(b",", b",\xff\xfe", 1)
    p = _write(tmp_path, HEADER.encode() + b"".join(rows))
    for load in _loads(p):
        assert _problems(load)[1] == [(300_000, "store_id", "not UTF-8 text (bytes ff fe at column 9)")]


def test_bad_bytes_name_the_field_they_are_in(tmp_path):
    """helper-110 (README: every problem as `file:line [field]`): a byte neither UTF-8 nor GBK named the file, line
    and column but not the field; now the header's name of the field it is in, also in a GBK file, where the GBK
    reading stops (a line of another encoding), and in an ERP export below its title lines, by the export's own
    column name. A line whose fields do not line up with any header names none rather than a wrong one."""
    rows = [_row(i).encode() for i in range(4)]
    rows[2] = rows[2].replace(b"wechat", b"we\xffchat")  # the channel column, file line 4
    p = _write(tmp_path, HEADER.encode() + b"".join(rows))
    for load in _loads(p):
        assert _problems(load)[1] == [(4, "channel", "not UTF-8 or GBK text (byte ff at column 12)")]
    gbk = [_row(i).replace("S1", "上海一店").encode("gbk") for i in range(4)]
    gbk[1] = gbk[1].replace("上海一店".encode("gbk"), "上海一店".encode("gbk") + b"\xff")
    p = _write(tmp_path, HEADER.encode() + b"".join(gbk), "gbk.csv")
    assert _problems(_loads(p)[0])[1][0][:2] == (3, "store_id")
    p = _write(tmp_path, HEADER.encode() + b"".join(rows[:2]) + b"A9,S1\xff,M1\n", "short.csv")
    assert _problems(_loads(p)[0])[1][0][:2] == (4, None)
    # an ERP export (GBK, a title line above its header) with a Latin-1 byte in its 门店编码
    cfg = _write(tmp_path, '[inputs.orders.columns]\norder_no = "订单编号"\nstore_id = "门店编码"\nchannel = "支付方式"\n'
                 'amount = "实付金额"\nstatus = "订单状态"\npaid_at = "支付时间"\n', "rules.toml")
    head = "订单导出\n订单编号,门店编码,支付方式,实付金额,订单状态,支付时间\n".encode("gbk")
    erp = _write(tmp_path, head + "SO1,上海一店,微信支付,1.00,已支付,2026/11/20 10:00\n".encode("gbk")
                 + b"SO2,S\xfc01,\xce\xa2\xd0\xc5,1.00,paid,2026/11/20 10:00\n", "erp.csv")
    from typer.testing import CliRunner

    from paymatch.cli import app
    r = CliRunner().invoke(app, ["reconcile", "--config", str(cfg), "--orders", str(erp), "--transactions",
                                 str(_write(tmp_path, "channel,channel_tx_id,order_no,type,amount,status,occurred_at,"
                                            "bill_date\n", "tx.csv")), "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and f"{erp}:4 [门店编码]: not UTF-8 or GBK text" in " ".join(r.output.split()), r.output


@pytest.mark.parametrize("encoding,what", [("utf-16", "bytes ff fe at column 1"),  # with a BOM
                                           ("utf-16-le", "byte 00 at column 2")])  # without: NUL bytes
def test_utf16_file_is_named_as_such(tmp_path, encoding, what):
    p = _write(tmp_path, (HEADER + _row(1)).encode(encoding))
    for load in _loads(p):
        err, got = _problems(load)
        assert got == [(1, None, f"not UTF-8 or GBK text ({what})")]
        assert "UTF-16" in err.hint


def test_gbk_file_with_bad_bytes_names_the_exact_line(tmp_path):
    """A file read as GB18030 (its head is GBK) with an undecodable line past the first MiB: that line."""
    rows = [_row(i).replace("S1", "上海一店").encode("gbk") for i in range(40_000)]
    rows[30_000] = rows[30_000].replace(b",", b",\xff", 1)
    p = _write(tmp_path, HEADER.encode() + b"".join(rows))
    _, got = _problems(_loads(p)[0])
    assert got == [(30_002, "store_id", "not gb18030 text (byte ff at column 8)")]


# --- order amounts ------------------------------------------------------------------------------

def test_negative_order_amount_is_rejected(tmp_path):
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + _row(0), "first.csv"))
    rows = _rows(6)
    rows[3] = _row(3, "-140.00")
    p = _write(tmp_path, HEADER + "".join(rows))
    for load in [lambda: ws.ingest_csv("orders", p), lambda: ws.stage_file("orders", p)]:
        err, got = _problems(load)
        assert got == [(5, "amount", "negative order amount")]
        assert str(err).splitlines()[0] == f"{p}:5 [amount]: negative order amount (value '-140.00')"
    assert ws.con.execute("SELECT count(*) FROM orders").fetchone()[0] == 1  # nothing stored changed


def test_zero_order_amount_and_negative_refund_and_channel_amounts_load(tmp_path):
    ws = Workspace(None)
    ws.ingest_csv("orders", _write(tmp_path, HEADER + _row(1, "0.00") + _row(2, " 0 ")))
    assert ws.con.execute("SELECT list(amount_fen ORDER BY order_no) FROM orders").fetchone()[0] == [0, 0]
    refunds = "refund_no,order_no,amount,created_at,status\nR1,A1,-5.00,2026-11-20 10:00:00,success\n"
    ws.ingest_csv("refunds", _write(tmp_path, refunds, "refunds.csv"))
    tx = ("channel,channel_tx_id,order_no,type,refund_no,amount,status,occurred_at\n"
          "wechat,T1,A1,refund,R1,-1.00,success,2026-11-20 10:00:00\n")
    ws.ingest_csv("transactions", _write(tmp_path, tx, "tx.csv"))
    assert ws.con.execute("SELECT count(*) FROM refunds").fetchone()[0] == 1
    assert ws.con.execute("SELECT amount_fen FROM transactions").fetchone()[0] == 100  # a refund is its size
    # (a payment below zero is refused: test_load_errors.test_a_payment_below_zero_is_refused)


def test_negative_amount_listed_with_other_problems(tmp_path):
    rows = _rows(4)
    rows[1] = _row(1, "-0.01")
    rows[2] = _row(2, "1.2.3")
    p = _write(tmp_path, HEADER + "".join(rows))
    _, got = _problems(_loads(p)[1])
    assert [(g[0], g[1], g[2].split(" (")[0]) for g in got] == [
        (3, "amount", "negative order amount"), (4, "amount", "not a yuan amount with at most 2 decimals")]


# --- missing input files --------------------------------------------------------------------------

@pytest.mark.parametrize("args", [["ingest", "--workspace", "w.duckdb", "--orders", "missing.csv"],
                                  ["reconcile", "--workspace", "w.duckdb", "--orders", "missing.csv", "--out", "out"],
                                  ["reconcile", "--orders", "missing.csv", "--transactions", "missing_tx.csv",
                                   "--out", "out"]])
def test_missing_input_file_is_one_clean_error(tmp_path, args):
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "paymatch", *args], cwd=tmp_path, capture_output=True, text=True,
                       env=env, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "Traceback" not in out and "Exception in thread" not in out
    assert "error: missing.csv: file not found" in out


def test_ingest_of_a_missing_file_raises_only_the_load_error(tmp_path):
    import threading

    seen = []
    old, threading.excepthook = threading.excepthook, seen.append
    try:
        with pytest.raises(LoadError, match="file not found"):
            Workspace(None).ingest_csv("orders", tmp_path / "missing.csv")
    finally:
        threading.excepthook = old
    assert seen == []  # the hashing thread raised nothing


def test_gbk_whose_first_chinese_comes_after_the_sniffed_head_loads(tmp_path):
    """A GBK export whose first non-ASCII text sits past the first 64 KiB is judged by that text, not taken for
    UTF-8 (the head alone is ASCII either way)."""
    rows = _rows(3_000)
    rows[2_500] = rows[2_500].replace(",S1,", ",门店一,")
    p = _write(tmp_path, (HEADER + "".join(rows)).encode("gbk"))
    assert p.read_bytes()[:1 << 16].isascii()
    for load in _loads(p):
        staged = load()
        assert staged.rows == 3_000


def test_a_short_file_ending_in_a_lone_byte_is_neither_utf8_nor_gbk(tmp_path):
    """The whole file fits in the sniffed head and ends in 0xFF: not a GBK character cut short by the head (it was
    read as GBK, then refused as 'not gb18030 text' with a hint about an --encoding nobody gave)."""
    p = _write(tmp_path, HEADER.encode() + b"bad\xff")  # no line end after it
    for load in _loads(p):
        err, got = _problems(load)
        assert got == [(2, None, "not UTF-8 or GBK text (byte ff at column 4)")]
        assert "gb18030" not in str(err)


def test_a_short_gbk_file_cut_inside_its_last_character_names_the_last_line(tmp_path):
    """GBK text (金卡 on line 2) cut in the middle of a character on line 4: the line named is the cut one."""
    p = _write(tmp_path, "order_no,store_id\nA1,".encode() + "金卡".encode("gbk") + b"\nA2,S1\nA3,\xbd")
    err, got = _problems(_loads(p)[0])
    assert got == [(4, "store_id", "not UTF-8 or GBK text (byte bd at column 4)")]
    assert "ends inside a character" in str(err)


def test_a_folder_given_as_a_file_says_so(tmp_path):
    (tmp_path / "bills").mkdir()
    with pytest.raises(LoadError, match="a folder, not a file"):
        Workspace(None).ingest_csv("orders", tmp_path / "bills")
