"""Whatever sequence of day runs, range runs and reruns reconciled a month, its report counts every stored record
exactly once (helper-64 f3, helper-65): a range run places each outcome on the bill day of its latest channel record,
the day whose day run judges it, not on the time it happened (a channel_only payment at 23:59:50 on the 3rd listed
on the 4th's bill went with the 3rd, a day run of the 3rd replaced it, and no report held it). Fund flow and the
anomaly board read the records themselves and do not change with the runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paymatch.reports.anomalies import build_anomalies
from paymatch.reports.fundflow import build_fund_flow
from paymatch.reports.provenance import outcomes_in
from paymatch.reports.recon import build_reconciliation
from paymatch.run import reconcile_workspace
from paymatch.workspace import Workspace

D3, D4, D5 = dt.date(2026, 11, 3), dt.date(2026, 11, 4), dt.date(2026, 11, 5)
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
A1,S1,M1,wechat,10.00,paid,2026-11-03T12:00:00+08:00,2026-11-03T12:00:10+08:00,U1,gold,0
P1,S1,M1,wechat,30.00,paid,2026-11-03T23:57:00+08:00,2026-11-03T23:58:00+08:00,U1,gold,0
X1,S1,M1,wechat,20.00,paid,2026-11-04T00:00:01+08:00,2026-11-04T00:00:05+08:00,U1,gold,0
D1,S1,M1,wechat,40.00,paid,2026-11-03T10:00:00+08:00,2026-11-03T10:00:10+08:00,U1,gold,0
U1,S1,M2,unionpay,50.00,paid,2026-11-04T09:00:00+08:00,2026-11-04T09:00:10+08:00,U1,gold,0
O5,S1,M1,wechat,15.00,paid,2026-11-04T15:00:00+08:00,2026-11-04T15:00:10+08:00,U1,gold,0
B1,S1,M1,wechat,60.00,partially_refunded,2026-11-05T11:00:00+08:00,2026-11-05T11:00:10+08:00,U1,gold,0
"""
REFUNDS = """refund_no,order_no,amount,created_at,status
RB1,B1,20.00,2026-11-05T12:00:00+08:00,success
"""
TX = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
wechat,M1,T1,A1,payment,,,10.00,0.06,10.00,success,2026-11-03T12:00:15+08:00,2026-11-03,wechat
wechat,M1,T1,A1,payment,,,10.00,0.06,10.00,success,2026-11-03T12:00:15+08:00,2026-11-03,wechat
wechat,M1,T9,Z9,payment,,,50.00,0.30,50.00,success,2026-11-03T23:59:50+08:00,2026-11-04,wechat
wechat,M1,TP1,P1,payment,,,30.00,0.18,30.00,success,2026-11-04T00:00:30+08:00,2026-11-04,wechat
wechat,M1,TX1,X1,payment,,,20.00,0.12,20.00,success,2026-11-03T23:59:58+08:00,2026-11-03,wechat
wechat,M1,TD1,D1,payment,,,40.00,0.24,40.00,success,2026-11-03T10:00:15+08:00,2026-11-03,wechat
unionpay,M2,UD1,D1,payment,,,40.00,0.20,39.80,success,2026-11-04T10:00:15+08:00,2026-11-04,unionpay
unionpay,M2,UU1,U1,payment,,,50.00,0.25,49.75,processing,2026-11-04T09:00:15+08:00,2026-11-04,unionpay
unionpay,M2,UU1,U1,payment,,,50.00,0.25,49.75,success,2026-11-04T09:00:15+08:00,2026-11-05,unionpay
wechat,M1,T8,Z8,payment,,,70.00,0.42,70.00,success,2026-11-04T23:59:59+08:00,2026-11-05,wechat
wechat,M1,TB1,B1,payment,,,60.00,0.36,60.00,success,2026-11-05T11:00:15+08:00,2026-11-05,wechat
wechat,M1,TB1,B1,refund,RB1,WRB1,20.00,-0.12,20.00,success,2026-11-05T13:00:00+08:00,2026-11-05,wechat
"""
#: the runs a sequence is made of: (first, last) bill days
DAY3, DAY4, DAY5, R34, R45, R35 = (D3, D3), (D4, D4), (D5, D5), (D3, D4), (D4, D5), (D3, D5)
SEQUENCES = [
    [R34, DAY3, DAY5],           # helper-64 f3: the day run of the 3rd after the range over the 3rd and 4th
    [R34, DAY3, DAY4, DAY5, R45, DAY4],
    [DAY3, DAY4, DAY5, R34, DAY3, R45, DAY5],
    [R35, DAY4, DAY3, DAY5, R34],
    [DAY5, DAY4, DAY3, R45, DAY3, R34, DAY4],
    [R45, R34, DAY5, R35, DAY3, DAY4],
]
MEASURES = ("orders_count", "orders_fen", "channel_count", "channel_fen", "shop_refund_count", "shop_refund_fen",
            "channel_refund_count", "channel_refund_fen", "fee_fen", "net_fen")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """The inputs stored once; each test copies the file before reconciling."""
    base = tmp_path_factory.mktemp("seq")
    for name, text in (("o.csv", ORDERS), ("r.csv", REFUNDS), ("t.csv", TX)):
        (base / name).write_text(text, encoding="utf-8")
    w = base / "w.duckdb"
    with Workspace(w) as ws:
        ws.ingest_csv("orders", base / "o.csv")
        ws.ingest_csv("refunds", base / "r.csv")
        ws.ingest_csv("transactions", base / "t.csv")
    return w


def _stored(w: Path) -> dict[str, int]:
    """What the month must count: every stored order, refund and channel record once."""
    with Workspace(w) as ws:
        c = ws.con
        o = c.execute("SELECT count(*), sum(amount_fen) FROM orders").fetchone()
        r = c.execute("SELECT count(*), sum(amount_fen) FROM refunds").fetchone()
        p = c.execute("SELECT count(*), sum(amount_fen) FROM transactions WHERE type = 'payment'").fetchone()
        t = c.execute("SELECT count(*), sum(amount_fen) FROM transactions WHERE type = 'refund'").fetchone()
    return {"orders_count": o[0], "orders_fen": o[1], "shop_refund_count": r[0], "shop_refund_fen": r[1],
            "channel_count": p[0], "channel_fen": p[1], "channel_refund_count": t[0], "channel_refund_fen": t[1]}


def _totals(w: Path, period: str, day: dt.date) -> dict[str, int]:
    with Workspace(w) as ws:
        rows = build_reconciliation(ws.con, period, day, group_by="channel").table("summary").arrow().to_pylist()
    total = [r for r in rows if r["channel"] == "全链合计"][0]
    return {m: total[m] for m in MEASURES}


def _money_reports(w: Path) -> tuple:
    with Workspace(w) as ws:
        flow = build_fund_flow(ws.con, D3, D5, by="channel", detail=False).table("summary").arrow().to_pylist()
        per_day = [build_fund_flow(ws.con, d, d, by="time", detail=False).table("summary").arrow().to_pylist()
                   for d in (D3, D4, D5)]
        board = build_anomalies(ws.con, D3, D5).tables[0].arrow().to_pylist()
    return flow, per_day, board


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: "-".join(f"{a.day}..{b.day}" for a, b in s))
def test_every_record_counts_once_whatever_the_runs(loaded, tmp_path, sequence):
    w = tmp_path / "w.duckdb"
    w.write_bytes(loaded.read_bytes())
    stored = _stored(w)
    baseline = _money_reports(w)
    covered: set[dt.date] = set()
    for step, (first, last) in enumerate(sequence):
        reconcile_workspace(w, first, last, None)
        covered |= {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}
        if covered != {D3, D4, D5}:
            continue
        month = _totals(w, "month", D3)
        where = f"after {sequence[:step + 1]}"
        assert {k: month[k] for k in stored} == stored, where
        # each outcome on one day: the days add up to the month
        days = [_totals(w, "day", d) for d in (D3, D4, D5)]
        assert {m: sum(d[m] for d in days) for m in MEASURES} == month, where
        # the money: fees of the successful records once (the duplicate copy of T1 is none), net by record channel
        assert month["fee_fen"] == 6 + 30 + 18 + 12 + 24 + 20 + 25 + 42 + 36 - 12, where
        # settlement before the fee: WeChat's settlement amount, UnionPay's plus its fee (D1's second leg, U1)
        assert month["net_fen"] == (1000 + 5000 + 3000 + 2000 + 4000 + (3980 + 20) + (4975 + 25) + 7000 + 6000
                                    - 2000 - month["fee_fen"]), where
        with Workspace(w) as ws:
            kinds = dict(ws.con.execute(f"SELECT outcome_id, kind FROM {outcomes_in(D3, D5)}").fetchall())
        # pending on the 3rd when the 3rd's run judged it, matched by any run reading the 4th's bill
        assert kinds["P-P1"] == "matched", where
        assert kinds["P-Z9"] == "channel_only" and kinds["P-Z8"] == "channel_only", where
        assert kinds["P-D1"] == "duplicate_payment", where
    # fund flow and the anomaly board read the records by bill day, each once: no run changes them
    assert _money_reports(w) == baseline


@pytest.mark.parametrize("sequence", [[DAY3, DAY5], [DAY4, DAY5], [DAY3, DAY4, R45]],
                         ids=lambda s: "-".join(f"{a.day}..{b.day}" for a, b in s))
def test_a_range_run_stored_before_the_bill_day_was_kept_still_counts_each_record_once(loaded, tmp_path, sequence):
    """helper-69: a workspace whose range run over the 3rd..5th was stored by the code before ``bill_day`` (its
    outcomes read NULL there and went on the day they happened: Z9, paid at 23:59:50 on the 3rd and listed on the
    4th's bill, on the 3rd). A day run of the 3rd after the upgrade replaced the 3rd, Z9 was in no run's day and the
    month lost its record. Opening the workspace gives the stored range runs' outcomes the latest bill day of their
    records, as the engine now does, and an outcome with records on two channels (D1: WeChat and UnionPay) its
    settlement before the fee record by record (its summed settlement read as UnionPay's counted WeChat's fee as
    settled: net 0.24 high while the old run held it)."""
    w = tmp_path / "w.duckdb"
    w.write_bytes(loaded.read_bytes())
    reconcile_workspace(w, D3, D5, None)
    with Workspace(w) as ws:  # as the code before stored it: no bill_day, no settle_gross_fen, no shares
        ws.con.execute("ALTER TABLE outcomes DROP COLUMN bill_day")
        ws.con.execute("ALTER TABLE outcomes DROP COLUMN settle_gross_fen")
        ws.con.execute("DROP TABLE outcome_splits")
    with Workspace(w) as ws:
        days = dict(ws.con.execute("SELECT outcome_id, bill_day FROM outcomes").fetchall())
    assert days["P-Z9"] == D4 and days["P-Z8"] == D5 and days["P-U1"] == D5 and days["P-A1"] == D3
    assert days["P-O5"] is None  # no record
    stored = _stored(w)
    for first, last in sequence:
        reconcile_workspace(w, first, last, None)
        month = _totals(w, "month", D3)
        assert {k: month[k] for k in stored} == stored, (first, last)
        # D1's WeChat and UnionPay legs each by their own channel, whichever run (old or new) holds it
        assert month["net_fen"] == (1000 + 5000 + 3000 + 2000 + 4000 + (3980 + 20) + (4975 + 25) + 7000 + 6000
                                    - 2000 - month["fee_fen"]), (first, last)
        days = [_totals(w, "day", d) for d in (D3, D4, D5)]
        assert {m: sum(d[m] for d in days) for m in MEASURES} == month
