"""Fund flow: each summary row drills down to exactly the transactions that sum to it; links land right."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from paymatch.reports.excel import write_excel
from paymatch.reports.fundflow import DIMENSIONS, build_fund_flow, drill
from paymatch.schema import TRANSACTION_ARROW
from paymatch.workspace import Workspace

A, B = dt.date(2026, 11, 1), dt.date(2026, 11, 3)


def _sum(t: pa.Table, col: str, mask=None) -> int:
    c = t.column(col) if mask is None else t.column(col).filter(mask)
    return int(pc.sum(c).as_py() or 0)


@pytest.mark.parametrize("by", DIMENSIONS)
def test_drill_reaches_exactly_the_rows_of_each_summary_row(ws, by):
    grain = "week" if by == "merchant" else "day"
    rep = build_fund_flow(ws.con, A, B, by=by, grain=grain)
    rows = rep.table("summary").arrow().to_pylist()
    detail = rep.table("detail").arrow()
    heads = rep.table("detail").columns
    assert len({c.zh for c in heads}) == len({c.en for c in heads}) == len(heads)  # no column twice (渠道 by channel)
    seen = 0
    for r in rows[:-1]:
        d = drill(ws.con, A, B, by, grain, r["key"])
        pay = pc.equal(d.column("type"), "payment")
        ref = pc.equal(d.column("type"), "refund")
        assert d.num_rows == r["tx_count"] and set(d.column("key").to_pylist()) == {r["key"]}
        assert _sum(d, "amount_fen", pay) == r["inflow_fen"] and _sum(d, "amount_fen", ref) == r["refund_fen"]
        assert _sum(d, "fee_fen") == r["fee_fen"]
        assert r["net_fen"] == r["inflow_fen"] - r["refund_fen"] - r["fee_fen"]
        # the detail sheet's rows of this key start where the summary row says
        first = r["_pm_first_row"] - 1
        assert detail.slice(first, r["tx_count"]).column("key").to_pylist() == [r["key"]] * r["tx_count"]
        seen += d.num_rows
    total = rows[-1]
    assert total["_pm_total"] and seen == total["tx_count"] == detail.num_rows
    # each channel record once (its first stored copy: the demo lists some twice), by a window here
    n, s = ws.con.execute(f"""SELECT count(*), sum(amount_fen) FILTER (WHERE type = 'payment') FROM (
          SELECT *, row_number() OVER (PARTITION BY channel, channel_tx_id, type,
            coalesce(channel_refund_id, refund_no, '') ORDER BY rowid) AS copy FROM transactions)
        WHERE copy = 1 AND status = 'success' AND coalesce(bill_date, CAST(timezone('Asia/Shanghai', occurred_at) AS DATE))
        BETWEEN DATE '{A}' AND DATE '{B}'""").fetchall()[0]
    assert (total["tx_count"], total["inflow_fen"]) == (n, s)


def test_excel_links_point_at_the_first_detail_row_of_each_key(ws, tmp_path):
    rep = build_fund_flow(ws.con, A, B, by="channel", grain="day")
    wb = openpyxl.load_workbook(write_excel(rep, tmp_path / "ff.xlsx", max_rows=200), read_only=False)
    summary = wb["资金流水汇总"]
    links = 0
    for r in summary.iter_rows(min_row=2):
        if r[0].hyperlink is None:
            assert r[0].value == "合计"
            continue
        sheet, ref = r[0].hyperlink.location.rsplit("!", 1)
        target = wb[sheet.strip("'")]
        cell = target[ref]
        assert cell.value == r[0].value
        assert cell.row == 2 or target.cell(cell.row - 1, 1).value != r[0].value
        links += 1
    assert links == rep.table("summary").arrow().num_rows - 1
    assert len([s for s in wb.sheetnames if s.startswith("资金流水明细")]) > 1  # split happened


def test_days_are_asia_shanghai_days():
    def tx(i, when, bill_date=None):
        return {"channel": "wechat", "merchant_id": "M", "channel_tx_id": f"T{i}", "order_no": f"O{i}",
                "type": "payment", "refund_no": None, "channel_refund_id": None, "amount_fen": 100 * (i + 1),
                "fee_fen": 1, "settle_amount_fen": None, "status": "success", "occurred_at": when,
                "bill_date": bill_date, "method": None, "src_file": "t.csv", "src_line": i + 2}

    utc = dt.UTC
    rows = [tx(0, dt.datetime(2026, 11, 30, 16, 30, tzinfo=utc)),  # 12-01 00:30 in Shanghai
            tx(1, dt.datetime(2026, 11, 30, 15, 59, tzinfo=utc)),  # 11-30 23:59 in Shanghai
            tx(2, dt.datetime(2026, 11, 30, 17, 0, tzinfo=utc), dt.date(2026, 11, 30))]  # the bill date wins
    with Workspace(None) as w:
        w.ingest_transactions(pa.Table.from_pylist(rows, TRANSACTION_ARROW), source="t.csv")
        rep = build_fund_flow(w.con, dt.date(2026, 11, 1), dt.date(2026, 12, 31), by="time", grain="month")
        got = {r["key"]: r["inflow_fen"] for r in rep.table("summary").arrow().to_pylist()}
        # no orders stored: the store comes from config ``stores`` by merchant number, else the label of a missing store
        by_store = build_fund_flow(w.con, dt.date(2026, 11, 1), dt.date(2026, 12, 31), by="store", grain="month",
                                   stores={"M": "S9"}, lang="en")
        keys = [r["key"] for r in by_store.table("summary").arrow().to_pylist()]
        plain = build_fund_flow(w.con, dt.date(2026, 11, 1), dt.date(2026, 12, 31), by="store", grain="month")
        keys_plain = [r["key"] for r in plain.table("summary").arrow().to_pylist()]
    assert got == {"2026-11-01": 200 + 300, "2026-12-01": 100, "合计": 600}
    assert keys == ["2026-11-01|S9", "2026-12-01|S9", "Total"]
    assert keys_plain == ["2026-11-01|(未知)", "2026-12-01|(未知)", "合计"]


def test_orders_keyed_per_merchant_number():
    """With match.key_scope = ['merchant_id'] the same order number under two merchant numbers is two orders."""
    from paymatch.reports.anomalies import build_anomalies

    when = dt.datetime(2026, 11, 5, 4, tzinfo=dt.UTC)
    txs = [{"channel": "wechat", "merchant_id": m, "channel_tx_id": f"T{m}", "order_no": "O1", "type": "payment",
            "refund_no": None, "channel_refund_id": None, "amount_fen": fen, "fee_fen": 0, "settle_amount_fen": None,
            "status": "success", "occurred_at": when, "bill_date": None, "method": None, "src_file": "t.csv",
            "src_line": 2} for m, fen in (("MA", 100), ("MB", 250))]
    with Workspace(None) as w:
        w.ingest_transactions(pa.Table.from_pylist(txs, TRANSACTION_ARROW), source="t.csv")
        w.con.execute("INSERT INTO orders (order_no, store_id, merchant_id, amount_fen, status, member_id) VALUES "
                      "('O1', 'SA', 'MA', 100, 'paid', 'U1'), ('O1', 'SB', 'MB', 250, 'paid', 'U2')")
        day = dt.date(2026, 11, 5)
        rep = build_fund_flow(w.con, day, day, by="store", key_scope=["merchant_id"])
        got = {r["dim"]: r["inflow_fen"] for r in rep.table("summary").arrow().to_pylist() if not r["_pm_total"]}
        board = build_anomalies(w.con, day, day, key_scope=["merchant_id"])
        assert board.table("anomalies").arrow().num_rows == 0
    assert got == {"SA": 100, "SB": 250}
