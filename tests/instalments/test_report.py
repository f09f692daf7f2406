"""Instalment report and per-member outstanding: figures worked out by hand."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from paymatch.instalments.config import ChannelTerms, InstalmentConfig
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
    # Huabei takes the seller's fee (690) at the sale, on Jan 31: none of it in February
    assert (h["overdue_periods"], h["seller_fee_fen"]) == (0, 0)
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


def test_seller_fee_where_the_channel_charges_it():
    # up front (Huabei): the whole fee in the window of the sale's local day; per period: each share when due.
    # H2 is paid at 00:30 on Feb 1 in Shanghai (Jan 31 in UTC): a February sale
    cfg = InstalmentConfig(channels={
        "huabei": ChannelTerms("huabei", {3: 300}),
        "payscore": ChannelTerms("payscore", {3: 300}, per_period=True, first_due_offset_months=0),
    })
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    plan = expand_plans(duck(con, "orders", orders_table([
        order("H1", "huabei", 30000, 3, T0),                                                  # fee 900
        order("H2", "huabei", 10000, 3, dt.datetime(2024, 2, 1, 0, 30, tzinfo=SH)),          # fee 300
        order("P1", "payscore", 30000, 3, T0),                          # fee 900: 300 due Jan 31, Feb 29, Mar 31
    ])), cfg)
    as_of = dt.date(2024, 4, 30)

    def fees(first, last):
        t = instalment_report(plan, None, as_of, first, last)
        return {r["channel"]: r["seller_fee_fen"] for r in t.to_pylist()}

    assert fees(dt.date(2024, 1, 1), dt.date(2024, 1, 31)) == {"huabei": 900, "payscore": 300}
    assert fees(dt.date(2024, 2, 1), dt.date(2024, 2, 29)) == {"huabei": 300, "payscore": 300}
    assert fees(dt.date(2024, 3, 1), dt.date(2024, 4, 30)) == {"huabei": 0, "payscore": 300}
    assert fees(dt.date(2024, 1, 1), dt.date(2024, 12, 31)) == {"huabei": 1200, "payscore": 900}
