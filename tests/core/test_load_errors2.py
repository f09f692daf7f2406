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


# --- encodings ------------------------------------------------------------------------------------

def test_invalid_bytes_name_line_and_column(tmp_path):
    rows = [r.encode() for r in _rows(6)]
    rows[3] = rows[3].replace(b",", b",\xff\xfe", 1)  # file line 5, after "A3,"
    p = _write(tmp_path, HEADER.encode() + b"".join(rows))
    for load in _loads(p):
        err, got = _problems(load)
        assert got == [(5, None, "not UTF-8 or GBK text (bytes ff fe at column 4)")]
        assert str(err).splitlines()[0] == f"{p}:5: not UTF-8 or GBK text (bytes ff fe at column 4)"


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
    assert got == [(30_002, None, "not gb18030 text (byte ff at column 8)")]


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
    tx = ("channel,channel_tx_id,order_no,type,amount,status,occurred_at\n"
          "wechat,T1,A1,payment,-1.00,success,2026-11-20 10:00:00\n")
    ws.ingest_csv("transactions", _write(tmp_path, tx, "tx.csv"))
    assert ws.con.execute("SELECT count(*) FROM refunds").fetchone()[0] == 1
    assert ws.con.execute("SELECT amount_fen FROM transactions").fetchone()[0] == -100


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
                                  ["reconcile", "--workspace", "w.duckdb", "--date", "2026-11-20",
                                   "--orders", "missing.csv", "--out", "out"],
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
