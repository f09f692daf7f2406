"""Per-period matching: golden case, conservation on generated data with injected defects, Spark parity."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import duckdb
import narwhals as nw
import pyarrow as pa
import pytest

from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.expand import expand_plans
from paymatch.instalments.match import INSTALMENT_KINDS, INSTALMENT_OUTCOME_COLUMNS, match_instalments, owned_orders_expr
from tests.instalments.helpers import SH, duck, flow, flows_table, order, orders_table, rows

T0 = dt.datetime(2024, 1, 31, 1, 0, tzinfo=SH)  # local Jan 31: periods Jan 31, Feb 29, Mar 31 ...
AS_OF = dt.date(2024, 3, 31)


def _golden():
    orders = [
        order("A", "wechat_payscore", 30001, 3, T0),          # all 3 paid -> reconciled
        order("B", "wechat_payscore", 60000, 6, T0),          # p1 ok, p2 wrong amount, p3 missing, 4..6 not due
        order("C", "alipay_pay_later", 9000, 3, T0),          # flows say 6 periods -> plan mismatch
        order("D", "wechat_payscore", 900, 5, T0),            # term not offered
        order("E", "huabei", 10000, 3, T0),                   # up front: not ours
        order("F", "wechat_payscore", 300, 3, T0, status="unpaid"),  # no money taken: not ours
        order("G", "alipay_pay_later", 600, 3, T0),           # p1 failed, p2 duplicate
    ]
    d = lambda m, day: dt.datetime(2024, m, day, 9, tzinfo=SH)  # noqa: E731
    flows = [
        flow("A", 1, 3, 10001, d(1, 31), line=2), flow("A", 2, 3, 10000, d(2, 29), line=3),
        flow("A", 3, 3, 10000, d(3, 31), line=4),
        flow("B", 1, 6, 10000, d(1, 31), line=5), flow("B", 2, 6, 9999, d(2, 29), line=6),
        flow("C", 1, 6, 1500, d(1, 31), line=7, channel="alipay_pay_later"),
        flow("G", 1, 3, 200, d(1, 31), line=8, channel="alipay_pay_later", status="failed"),
        flow("G", 2, 3, 200, d(2, 29), line=9, channel="alipay_pay_later"),
        flow("G", 2, 3, 200, d(2, 29), line=10, channel="alipay_pay_later"),
        flow("Z", 1, 3, 500, d(2, 1), line=11),               # unknown order
        flow("A", 4, 3, 10000, d(3, 31), line=12),            # beyond A's plan
    ]
    return orders, flows


def _run(orders, flows, as_of=AS_OF):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    out = match_instalments(duck(con, "orders", orders_table(orders)), duck(con, "flows", flows_table(flows)),
                            DEFAULT_CONFIG, as_of)
    return rows(out)


def test_golden_outcomes():
    orders, flows = _golden()
    out = _run(orders, flows)
    got = {r["outcome_id"]: (r["kind"], r["plan_status"], r["difference_fen"]) for r in out}
    # amounts in reasons are yuan, as in every other kind's reason
    assert {r["outcome_id"]: r["reason"] for r in out}["I-B-2"] == "period 2: channel 99.99 ≠ plan 100.00 (-0.01)"
    assert got == {
        "I-A-1": ("instalment_matched", "exception", 0),
        "I-A-2": ("instalment_matched", "exception", 0),
        "I-A-3": ("instalment_matched", "exception", 0),
        "I-A-4": ("instalment_unexpected", "exception", 10000),
        "I-B-1": ("instalment_matched", "exception", 0),
        "I-B-2": ("instalment_amount_mismatch", "exception", -1),
        "I-B-3": ("instalment_missing", "exception", -10000),
        "I-B-4": ("instalment_not_due", "exception", 0),
        "I-B-5": ("instalment_not_due", "exception", 0),
        "I-B-6": ("instalment_not_due", "exception", 0),
        "I-C-1": ("instalment_plan_mismatch", "exception", -1500),
        "I-C-2": ("instalment_missing", "exception", -3000),
        "I-C-3": ("instalment_missing", "exception", -3000),
        "I-D-term": ("instalment_bad_term", "exception", 0),
        "I-G-1": ("instalment_failed", "exception", -200),
        "I-G-2": ("instalment_matched", "exception", 0),
        "I-G-2#2": ("instalment_duplicate", "exception", 200),
        "I-G-3": ("instalment_missing", "exception", -200),
        "I-Z-1": ("instalment_unexpected", None, 500),
    }


def test_reconciled_and_open_plans():
    orders, flows = _golden()
    clean = [f for f in flows if f["order_no"] == "A" and f["period_no"] <= 3]
    got = {r["outcome_id"]: r for r in _run([orders[0], orders[1]], clean + [flows[3]])}
    assert {got[f"I-A-{k}"]["plan_status"] for k in (1, 2, 3)} == {"reconciled"}
    # B with as_of on the first due date: p1 matched, the rest not due -> open
    got = {r["outcome_id"]: r for r in _run([orders[1]], [flows[3]], as_of=dt.date(2024, 1, 31))}
    assert got["I-B-1"]["kind"] == "instalment_matched" and got["I-B-1"]["plan_status"] == "open"
    assert got["I-B-1"]["reason"] == "period 1/6 received" and got["I-B-2"]["due_date"] == dt.date(2024, 2, 29)


def test_columns_ids_and_rerun_stability():
    orders, flows = _golden()
    first = _run(orders, flows)
    assert list(first[0]) == INSTALMENT_OUTCOME_COLUMNS
    assert {r["kind"] for r in first} <= set(INSTALMENT_KINDS)
    assert len({r["outcome_id"] for r in first}) == len(first)
    assert _run(list(reversed(orders)), list(reversed(flows))) == first


def _generate(seed: int, n_orders: int = 60):
    """Orders with instalments and their flows, with injected defects; returns (orders, flows)."""
    rnd = random.Random(seed)
    orders, flows, line = [], [], 2
    for i in range(n_orders):
        ch = rnd.choice(["wechat_payscore", "alipay_pay_later", "huabei"])
        term = rnd.choice(DEFAULT_CONFIG.channels[ch].terms)
        if rnd.random() < 0.05:
            term = 5  # not offered
        paid = T0 + dt.timedelta(days=rnd.randint(-200, 40), hours=rnd.randint(0, 23))
        o = order(f"O{i:03d}", ch, rnd.randint(1, 10**7), term, paid)
        orders.append(o)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    plan = rows(expand_plans(duck(con, "orders", orders_table(orders))), "order_no", "period_no")
    for p in plan:
        if not p["per_period"] or p["due_date"] > AS_OF + dt.timedelta(days=20):
            continue
        r = rnd.random()
        if r < 0.08:
            continue  # missing
        amount = p["amount_fen"] + (rnd.choice([-1, 1]) if r < 0.14 else 0)
        periods = p["term"] + (1 if r > 0.97 else 0)
        when = dt.datetime.combine(p["due_date"], dt.time(10), SH)
        flows.append(flow(p["order_no"], p["period_no"], periods, amount, when, line=line, channel=p["channel"]))
        line += 1
        if rnd.random() < 0.03:
            flows.append(flow(p["order_no"], p["period_no"], periods, amount, when, line=line, channel=p["channel"]))
            line += 1
    flows.append(flow("NOPE", 1, 3, 100, T0, line=line))
    return orders, flows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_conservation_every_row_in_exactly_one_outcome(seed):
    orders, flows = _generate(seed)
    out = _run(orders, flows)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    olf = duck(con, "orders", orders_table(orders))
    owned = rows(olf.filter(owned_orders_expr(DEFAULT_CONFIG)), "order_no")
    plan = rows(expand_plans(olf.filter(owned_orders_expr(DEFAULT_CONFIG))), "order_no", "period_no")
    planned = {p["order_no"] for p in plan}
    unplanned = [o for o in owned if o["order_no"] not in planned]
    assert sum(r["order_rows"] for r in out) == len(plan) + len(unplanned)
    assert sum(r["channel_rows"] for r in out) == len(flows)
    kinds = Counter(r["kind"] for r in out)
    assert kinds["instalment_matched"] > 0 and kinds["instalment_missing"] > 0
    assert kinds["instalment_amount_mismatch"] > 0 and kinds["instalment_unexpected"] >= 1
    # every plan period appears exactly once as an order row
    seen = Counter((r["order_no"], r["period_no"]) for r in out if r["order_rows"] and r["period_no"] is not None)
    assert set(seen.values()) == {1} and len(seen) == len(plan)


@pytest.mark.spark
@pytest.mark.xdist_group("spark")  # the worker that has the JVM running already (one JVM per suite, not two)
def test_spark_gives_identical_outcomes(spark_local):
    import pandas as pd  # noqa: F401  (Spark's createDataFrame from pandas)

    orders, flows = _golden()
    g_orders, g_flows = _generate(7, n_orders=25)
    orders, flows = orders + g_orders, flows + [dict(f, src_line=f["src_line"] + 100) for f in g_flows]
    want = _run(orders, flows)
    sdf_o = spark_local.createDataFrame(orders_table(orders).to_pandas())
    sdf_f = spark_local.createDataFrame(flows_table(flows).to_pandas())
    out = match_instalments(nw.from_native(sdf_o), nw.from_native(sdf_f), DEFAULT_CONFIG, AS_OF).to_native()
    got = sorted((r.asDict() for r in out.collect()), key=lambda r: r["outcome_id"])
    norm = lambda rs: [  # noqa: E731  times compared as instants
        {k: (v.astimezone(dt.timezone.utc).replace(tzinfo=None) if isinstance(v, dt.datetime) and v.tzinfo else v)
         for k, v in r.items()} for r in rs]
    assert [r["outcome_id"] for r in got] == [r["outcome_id"] for r in want]
    assert norm(got) == norm(want)


def test_key_scope_attributes_a_flow_to_its_own_merchant_number():
    # flows that carry merchant_id (the number the deduction was credited to) are matched under it; without
    # key_scope every K1 flow met every K1 order
    orders = [dict(order("K1", "wechat_payscore", 30000, 3, T0), merchant_id="M1"),
              dict(order("K1", "wechat_payscore", 60000, 3, T0), merchant_id="M2")]
    flows = flows_table([flow("K1", 1, 3, 20000, T0, line=2), flow("K1", 1, 3, 10000, T0, line=3),
                         flow("K1", 1, 3, 10000, T0, line=4)])
    flows = flows.set_column(flows.schema.get_field_index("merchant_id"), "merchant_id", pa.array(["M2", "M1", "M9"]))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    out = rows(match_instalments(duck(con, "orders", orders_table(orders)), duck(con, "flows", flows),
                                 DEFAULT_CONFIG, AS_OF, key_scope=("merchant_id",)))
    got = {r["outcome_id"]: (r["kind"], r["merchant_id"], r["channel_amount_fen"]) for r in out if r["period_no"] == 1}
    assert got == {"I-M1/K1-1": ("instalment_matched", "M1", 10000),
                   "I-M2/K1-1": ("instalment_matched", "M2", 20000),
                   "I-M9/K1-1": ("instalment_unexpected", "M9", 10000)}
    # a flow naming a merchant number without such an order says so (K1 exists, under other merchant numbers)
    assert next(r["reason"] for r in out if r["outcome_id"] == "I-M9/K1-1") == (
        "no per-period instalment order with this order_no under merchant number M9")
    assert sum(r["order_rows"] for r in out) == 6 and sum(r["channel_rows"] for r in out) == 3
