"""Scalar plans: sums, remainder rules, due dates, fees, bad terms; vectorised == scalar."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymatch.instalments.config import DEFAULT_CONFIG, ChannelTerms, InstalmentConfig
from paymatch.instalments.expand import bad_terms, expand_plans
from paymatch.instalments.plan import PlanError, add_months, make_plan, plan_for_order, seller_fee_fen, split_fen
from tests.instalments.helpers import SH, UTC, duck, order, orders_table, rows


def test_remainder_rules():
    assert split_fen(10000, 3, "first") == [3334, 3333, 3333]
    assert split_fen(10000, 3, "last") == [3333, 3333, 3334]
    assert split_fen(10001, 3, "spread") == [3334, 3334, 3333]
    assert split_fen(2, 3) == [2, 0, 0]


def test_due_dates_clamp_to_month_end_and_keep_the_day():
    plan = make_plan("O1", 100_00, 3, dt.date(2024, 1, 31), channel="huabei")
    assert [p.due_date for p in plan.periods] == [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    assert add_months(dt.date(2023, 11, 30), 3) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    # a Jan 30 purchase billed from next month keeps day 30 after February
    plan = plan_for_order("O2", 300, 3, dt.date(2025, 1, 30), "huabei")
    assert [p.due_date for p in plan.periods] == [dt.date(2025, 2, 28), dt.date(2025, 3, 30), dt.date(2025, 4, 30)]


def test_seller_fee_half_up_on_the_fen():
    # 3333 * 230 bp = 76.659 fen -> 77 ; 50 * 100 bp = 0.5 fen -> 1 (half up) ; 49 -> 0.49 -> 0
    assert seller_fee_fen(3333, 230) == 77
    assert seller_fee_fen(50, 100) == 1
    assert seller_fee_fen(49, 100) == 0
    plan = make_plan("O1", 10000, 3, dt.date(2024, 1, 1), channel="huabei")
    assert plan.rate_bp == 230 and plan.seller_fee_fen == 230
    assert sum(p.fee_fen for p in plan.periods) == 230


def test_rate_override_and_no_channel():
    assert make_plan("O", 10000, 6, dt.date(2024, 1, 1), channel="huabei", seller_rate_bp=0).seller_fee_fen == 0
    assert make_plan("O", 10000, 7, dt.date(2024, 1, 1)).seller_fee_fen == 0


@pytest.mark.parametrize("term", [0, -3, 5, 2.0, True])
def test_bad_terms_are_clear_errors(term):
    with pytest.raises(PlanError, match="term|periods"):
        make_plan("O", 10000, term, dt.date(2024, 1, 1), channel="huabei")


def test_unknown_channel_and_bad_rule():
    with pytest.raises(PlanError, match="offers no instalments"):
        make_plan("O", 10000, 3, dt.date(2024, 1, 1), channel="cash")
    with pytest.raises(PlanError, match="rule"):
        make_plan("O", 10000, 3, dt.date(2024, 1, 1), rule="middle")
    with pytest.raises(PlanError, match="negative"):
        make_plan("O", -1, 3, dt.date(2024, 1, 1))


@given(amount=st.integers(0, 10**13), term=st.integers(1, 60), rule=st.sampled_from(["first", "last", "spread"]))
def test_periods_sum_exactly(amount, term, rule):
    plan = make_plan("O", amount, term, dt.date(2024, 1, 31), rule=rule, seller_rate_bp=777)
    assert sum(p.amount_fen for p in plan.periods) == amount
    assert sum(p.fee_fen for p in plan.periods) == plan.seller_fee_fen
    assert [p.period_no for p in plan.periods] == list(range(1, term + 1))
    amounts = [p.amount_fen for p in plan.periods]
    assert max(amounts) - min(amounts) <= max(term - 1, 1)  # remainder never exceeds n-1 fen


def test_bad_terms_frame_lists_every_unplannable_order():
    con = duckdb.connect()
    t = dt.datetime(2024, 1, 1, tzinfo=UTC)
    lf = duck(con, "orders", orders_table([
        order("A", "huabei", 100, 5, t), order("B", "cash", 100, 3, t), order("C", "huabei", 100, -3, t),
        order("D", "huabei", 100, 3, t), order("E", "wechat", 100, 0, t),
    ]))
    got = {r["order_no"]: r["reason"] for r in rows(bad_terms(lf), "order_no")}
    assert got == {"A": "huabei does not offer 5 periods (offers 3, 6, 12)", "B": "channel offers no instalments",
                   "C": "instalments is negative"}


_CHANNELS = sorted(DEFAULT_CONFIG.channels)


@st.composite
def _orders(draw):
    n = draw(st.integers(1, 12))
    out = []
    for i in range(n):
        ch = draw(st.sampled_from(_CHANNELS))
        term = draw(st.sampled_from(DEFAULT_CONFIG.channels[ch].terms))
        paid = draw(st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2090, 12, 31), timezones=st.just(UTC)))
        out.append(order(f"O{i}", ch, draw(st.integers(0, 10**12)), term, paid))
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=_orders(), rule=st.sampled_from(["first", "last", "spread"]),
       zone=st.sampled_from(["UTC", "Asia/Shanghai"]))
def test_vectorised_equals_scalar(orders, rule, zone):
    cfg = InstalmentConfig(channels=DEFAULT_CONFIG.channels, rule=rule)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")  # fixed-offset session zones give the same dates
    got = rows(expand_plans(duck(con, "orders", orders_table(orders)), cfg), "order_no", "period_no")
    want = []
    for o in orders:
        local = o["paid_at"].astimezone(SH).date()
        plan = plan_for_order(o["order_no"], o["amount_fen"], o["instalments"], local, o["channel"], cfg)
        for p in plan.periods:
            want.append((o["order_no"], p.period_no, p.due_date, p.amount_fen, p.fee_fen, plan.seller_fee_fen))
    assert [(r["order_no"], r["period_no"], r["due_date"], r["amount_fen"], r["fee_fen"], r["seller_fee_fen"])
            for r in got] == sorted(want, key=lambda w: (w[0], str(w[1])))


def test_config_from_mapping_validates():
    from paymatch.errors import ConfigError
    cfg = InstalmentConfig.from_mapping({"rule": "last", "channels": {
        "huabei": {"rates_bp": {"3": 180, "6": 450}}, "payscore": {"rates_bp": {3: 0}, "per_period": True}}})
    assert cfg.per_period_channels == ("payscore",) and cfg.channels["huabei"].terms == (3, 6)
    with pytest.raises(ConfigError):
        InstalmentConfig.from_mapping({"channels": {"x": {"rates_bp": {"0": 1}}}})
    with pytest.raises(ConfigError):
        InstalmentConfig(rule="middle")
    with pytest.raises(ConfigError):
        ChannelTerms("x", {})
