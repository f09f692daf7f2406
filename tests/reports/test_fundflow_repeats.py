"""Fund flow counts a channel record listed twice once: by its first stored copy, as reconciliation does.

The same record (channel, channel_tx_id, type, refund key) delivered by two overlapping bills with a
different fee is stored twice (the later copy becomes a ``duplicate_record`` outcome, "not money"); fund
flow must not count its amount, refund or fee twice, nor list the copy in the drill-down or detail.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.compute as pc
import pytest

from paymatch.reports.fundflow import DIMENSIONS, build_fund_flow, drill
from paymatch.workspace import Workspace

HEAD = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
        "status,occurred_at,bill_date,method\n")
A, B = dt.date(2026, 11, 20), dt.date(2026, 11, 21)


@pytest.fixture()
def repeated_ws(tmp_path):
    # bill 1 (20th): payment T1 (fee 0.10), its refund RF1, and payment T3 listed twice in the same file
    (tmp_path / "bill1.csv").write_text(HEAD + (
        "wechat,M1,T1,O1,payment,,,100.00,0.10,,success,2026-11-20T10:00:00+08:00,2026-11-20,\n"
        "wechat,M1,T1,O1,refund,R1,RF1,30.00,-0.03,,success,2026-11-20T12:00:00+08:00,2026-11-20,\n"
        "alipay,M2,T3,O3,payment,,,7.00,0.01,,success,2026-11-20T13:00:00+08:00,2026-11-20,\n"
        "alipay,M2,T3,O3,payment,,,7.00,0.02,,success,2026-11-20T13:00:00+08:00,2026-11-20,\n"),
        encoding="utf-8")
    # bill 2, a re-export overlapping bill 1 (another fee, dated the 21st) plus a new payment T2
    (tmp_path / "bill2.csv").write_text(HEAD + (
        "wechat,M1,T1,O1,payment,,,100.00,0.60,,success,2026-11-20T10:00:00+08:00,2026-11-21,\n"
        "wechat,M1,T1,O1,refund,R1,RF1,30.00,-0.05,,success,2026-11-20T12:00:00+08:00,2026-11-21,\n"
        "wechat,M1,T2,O2,payment,,,50.00,0.05,,success,2026-11-21T09:00:00+08:00,2026-11-21,\n"),
        encoding="utf-8")
    path = tmp_path / "W.duckdb"
    with Workspace(path) as ws:
        ws.ingest_csv("transactions", tmp_path / "bill1.csv")
        ws.ingest_csv("transactions", tmp_path / "bill2.csv")
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall() == [(7,)]  # every copy stored
    return path


def test_a_record_listed_twice_counts_once_by_its_first_copy(repeated_ws):
    with Workspace(repeated_ws) as ws:
        rep = build_fund_flow(ws.con, A, B, by="time", grain="day")
        rows = {r["key"]: r for r in rep.table("summary").arrow().to_pylist()}
        detail = rep.table("detail").arrow()
    total = rows["合计"]
    # T1 100.00 + T3 7.00 + T2 50.00 in; RF1 30.00 out once; fees of the first copies: 10 - 3 + 1 + 5
    assert (total["inflow_count"], total["inflow_fen"]) == (3, 15700)
    assert (total["refund_count"], total["refund_fen"]) == (1, 3000)
    assert total["fee_fen"] == 13
    assert total["net_fen"] == 15700 - 3000 - 13
    assert total["tx_count"] == detail.num_rows == 4
    # the first copies are dated the 20th: the re-export's bill date does not move them to the 21st
    assert (rows["2026-11-20"]["inflow_fen"], rows["2026-11-21"]["inflow_fen"]) == (10700, 5000)
    assert sorted(zip(detail.column("channel_tx_id").to_pylist(),
                      [Path(f).name for f in detail.column("src_file").to_pylist()],
                      detail.column("src_line").to_pylist())) == [
        ("T1", "bill1.csv", 2), ("T1", "bill1.csv", 3), ("T2", "bill2.csv", 4), ("T3", "bill1.csv", 4)]


@pytest.mark.parametrize("by", DIMENSIONS)
def test_drill_lists_one_copy(repeated_ws, by):
    with Workspace(repeated_ws) as ws:
        rep = build_fund_flow(ws.con, A, B, by=by, grain="day")
        for r in rep.table("summary").arrow().to_pylist()[:-1]:
            d = drill(ws.con, A, B, by, "day", r["key"])
            assert d.num_rows == r["tx_count"]
            ids = list(zip(d.column("channel_tx_id").to_pylist(), d.column("type").to_pylist()))
            assert len(ids) == len(set(ids)), f"{r['key']}: a record listed twice in the drill-down"
            assert int(pc.sum(d.column("fee_fen")).as_py() or 0) == r["fee_fen"]


def test_matches_what_reconciliation_calls_money(repeated_ws):
    """The copies fund flow leaves out are exactly the rows reconciliation reports as duplicate_record."""
    from paymatch.run import reconcile_workspace

    reconcile_workspace(repeated_ws, A, B, None)
    with Workspace(repeated_ws) as ws:
        dup_rows, dup_fee = ws.con.execute(
            "SELECT sum(channel_rows), sum(fee_fen) FROM outcomes WHERE kind = 'duplicate_record'").fetchall()[0]
        all_rows, all_fee = ws.con.execute("SELECT count(*), sum(fee_fen) FROM transactions").fetchall()[0]
        total = build_fund_flow(ws.con, A, B, detail=False).table("summary").arrow().to_pylist()[-1]
    assert (total["tx_count"], total["fee_fen"]) == (all_rows - dup_rows, all_fee - dup_fee)
