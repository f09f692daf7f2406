"""Canonical CSVs that Excel damaged are refused by line and column: an id turned into a rounded number
(4.20000092520210E+27 — every such row would share one order or transaction number, so orders would merge or
records become duplicates) and an Excel error value (#N/A) in a text column. Ids that merely contain 'E+' or '#'
load. Real DuckDB, real files, both loading paths and the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from paymatch.errors import LoadError
from paymatch.workspace import Workspace

ORDERS = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
TXS = "channel,merchant_id,channel_tx_id,order_no,type,amount,fee,status,occurred_at,bill_date\n"


def _order(no: str, store: str = "S1") -> str:
    return f"{no},{store},M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:05+08:00\n"


def _tx(tx: str, no: str) -> str:
    return f"wechat,M1,{tx},{no},payment,10.00,0.06,success,2026-11-20T10:00:05+08:00,2026-11-20\n"


def _loads(kind: str, p: Path):
    """Both loading paths: a workspace ingest (ordered) and a file-only staging (unordered)."""
    return [lambda: Workspace(None).ingest_csv(kind, p), lambda: Workspace(None).stage_file(kind, p)]


def _problems(load) -> list[tuple]:
    with pytest.raises(LoadError) as e:
        load()
    return [(pr.line, pr.field, pr.value, pr.message) for pr in e.value.problems]


def test_order_numbers_excel_rounded_are_refused_by_line(tmp_path):
    rows = [_order(f"2026112000{i:08d}") for i in range(6)]
    rows[2] = _order("2.02611E+17")
    rows[4] = _order(" 2.02611200000E+17 ")  # as a re-saved file with outer blanks
    p = tmp_path / "orders.csv"
    p.write_text(ORDERS + "".join(rows), encoding="utf-8")
    for load in _loads("orders", p):
        got = _problems(load)
        assert [(g[0], g[1], g[2]) for g in got] == [(4, "order_no", "2.02611E+17"), (6, "order_no", "2.02611200000E+17")]
        assert all("rounded number" in g[3] and "digits are lost" in g[3] for g in got)
    with pytest.raises(LoadError) as e:
        _loads("orders", p)[0]()
    assert "opened in Excel and saved again" in str(e.value)


def test_transaction_ids_excel_rounded_are_refused(tmp_path):
    """The 28-digit 微信订单号 as Excel shows it; before, every such record shared one id."""
    p = tmp_path / "tx.csv"
    p.write_text(TXS + _tx("4200000925202101284997714292", "A1") + _tx("4.20000092520210E+27", "A2")
                 + _tx("4.2E+27", "A3") + _tx("4E+27", "A4"), encoding="utf-8")
    for load in _loads("transactions", p):
        assert [(g[0], g[1]) for g in _problems(load)] == [(3, "channel_tx_id"), (4, "channel_tx_id"), (5, "channel_tx_id")]


def test_excel_error_values_in_text_columns_are_refused(tmp_path):
    rows = [_order("A1"), _order("A2", store="#N/A"), _order("A3", store="  #REF! "), _order("A4")]
    p = tmp_path / "orders.csv"
    p.write_text(ORDERS + "".join(rows), encoding="utf-8")
    for load in _loads("orders", p):
        got = _problems(load)
        assert [(g[0], g[1], g[2]) for g in got] == [(3, "store_id", "#N/A"), (4, "store_id", "#REF!")]
        assert all("Excel error value" in g[3] for g in got)
    # a payment method written as an error value (a lookup that found no method) is named as such too
    p.write_text(ORDERS + _order("A1").replace(",wechat,", ",#N/A,"), encoding="utf-8")
    assert [(g[1], g[3][:20]) for g in _problems(_loads("orders", p)[0])] == [("channel", "an Excel error value")]


@pytest.mark.parametrize("value", ["SO2E+10", "A#1", "#12", "1E5", "2026E+X", "1.5", "E+27", "123456789012"])
def test_ids_that_only_look_damaged_load(tmp_path, value):
    p = tmp_path / "orders.csv"
    p.write_text(ORDERS + _order(value) + _order("B1", store=value), encoding="utf-8")
    for load in _loads("orders", p):
        load()
    with Workspace(None) as ws:
        ws.ingest_csv("orders", p)
        assert ws.con.execute("SELECT order_no, store_id FROM orders ORDER BY order_no").fetchall() == \
            sorted([(value, "S1"), ("B1", value)])


def test_cli_names_the_damaged_line_and_stores_nothing(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS + _order("A1"), encoding="utf-8")
    tx = tmp_path / "tx.csv"
    tx.write_text(TXS + _tx("4200000925202101284997714292", "A1"), encoding="utf-8")
    ws = tmp_path / "ws.duckdb"
    run = [sys.executable, "-m", "paymatch", "ingest", "--workspace", str(ws)]
    assert subprocess.run(run + ["--orders", str(orders), "--transactions", str(tx)], capture_output=True).returncode == 0
    bad = tmp_path / "tx2.csv"
    bad.write_text(TXS + _tx("4200000925202101284997714293", "A2") + _tx("4.20000092520210E+27", "A3"), encoding="utf-8")
    res = subprocess.run(run + ["--transactions", str(bad)], capture_output=True, text=True)
    assert res.returncode != 0
    assert f"{bad}:3" in res.stderr + res.stdout and "channel_tx_id" in res.stderr + res.stdout
    with Workspace(ws) as w:
        assert w.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 1
