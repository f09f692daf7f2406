"""Instalment report and per-member outstanding: figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from paymatch.instalments.expand import expand_plans
from paymatch.instalments.match import match_instalments
from paymatch.instalments.report import REPORT_COLUMNS, instalment_report, member_outstanding_fen, outstanding_by_member
from tests.instalments.helpers import SH, duck, flow, flows_table, order, orders_table, rows

T0 = dt.datetime(2024, 1, 31, 1, 0, tzinfo=SH)


@pytest.fixture
def frames():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    orders = duck(con, "orders", orders_table([
        order("H1", "huabei", 30000, 3, T0, member="m1"),              # up front; 230 bp -> fee 690 = 230 x 3
        order("W1", "wechat_payscore", 30000, 3, T0, member="m1"),     # per period: Jan 31, Feb 29, Mar 31
        order("W2", "wechat_payscore", 60000, 6, T0, store="S2", member="m2"),
    ]))
    flows = duck(con, "flows", flows_table([
        flow("W1", 1, 3, 10000, T0, line=2),
        flow("W2", 1, 6, 10000, T0, line=3), flow("W2", 2, 6, 10000, T0 + dt.timedelta(days=29), line=4),
    ]))
    as_of = dt.date(2024, 2, 29)
    return expand_plans(orders), match_instalments(orders, flows, as_of=as_of), as_of


def test_report_figures(frames):
    plan, outcomes, as_of = frames
    t = instalment_report(plan, outcomes, as_of, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert t.column_names == REPORT_COLUMNS
    got = {(r["channel"], r["store_id"], r["term"]): r for r in t.to_pylist()}
    h = got[("huabei", "S1", 3)]
    # Huabei billed from next month: Feb 29, Mar 31, Apr 30; as of Feb 29 one is due -> 2 outstanding
    assert (h["plans"], h["periods"], h["outstanding_periods"], h["outstanding_fen"]) == (1, 3, 2, 20000)
    assert (h["overdue_periods"], h["seller_fee_fen"]) == (0, 230)
    w1 = got[("wechat_payscore", "S1", 3)]
    # W1: p1 received, p2 due Feb 29 missing -> overdue; p3 not due
    assert (w1["outstanding_periods"], w1["outstanding_fen"], w1["overdue_periods"], w1["overdue_fen"]) == (2, 20000, 1, 10000)
    w2 = got[("wechat_payscore", "S2", 6)]
    assert (w2["outstanding_periods"], w2["overdue_periods"], w2["seller_fee_fen"]) == (4, 0, 0)


def test_outstanding_per_member(frames):
    plan, outcomes, as_of = frames
    got = {r["member_id"]: r["outstanding_fen"] for r in rows(outstanding_by_member(plan, outcomes, as_of), "member_id")}
    assert got == {"m1": 40000, "m2": 40000}
    assert member_outstanding_fen(plan, outcomes, as_of, "m1") == 40000
    assert member_outstanding_fen(plan, outcomes, as_of, "nobody") == 0


def test_report_rejects_reversed_window(frames):
    plan, outcomes, as_of = frames
    with pytest.raises(ValueError):
        instalment_report(plan, outcomes, as_of, dt.date(2024, 3, 1), dt.date(2024, 2, 1))
