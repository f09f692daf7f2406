"""Reconciliation report: totals tie to the stored outcomes; groups add up to the chain."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paymatch.errors import PaymatchError
from paymatch.reports.recon import MEASURES, build_reconciliation
from paymatch.schema import CLEAN_KINDS
from paymatch.workspace import Workspace

FIRST_DAY = dt.date(2026, 11, 1)  # as in conftest.py (the demo chain starts on a Sunday)

SUMMED = [m[0] for m in MEASURES]


@pytest.mark.parametrize("group", ["store", "merchant", "channel"])
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_groups_add_up_to_the_chain_total(ws, group, period):
    rep = build_reconciliation(ws.con, period, FIRST_DAY + dt.timedelta(days=1), group_by=group)
    rows = rep.table("summary").arrow().to_pylist()
    total = [r for r in rows if r["_pm_total"]]
    groups = [r for r in rows if not r["_pm_total"]]
    assert len(total) == 1 and rows[-1]["_pm_total"]
    kind_cols = [k for k in rows[0] if k.startswith("k_")]
    for col in SUMMED + kind_cols:
        assert sum(r[col] for r in groups) == total[0][col], col
    # the cover's control totals are the total row's numbers
    for ct in rep.control_totals:
        assert (ct.count if ct.count is not None else ct.fen) == total[0][ct.key]


def test_totals_tie_to_outcomes_and_runs(ws):
    rep = build_reconciliation(ws.con, "month", FIRST_DAY, group_by="store")
    total = rep.table("summary").arrow().to_pylist()[-1]
    o = ws.con.execute("""SELECT count(*),
        sum(order_rows) FILTER (WHERE outcome_id NOT LIKE 'R-%'), sum(order_total_fen) FILTER (WHERE outcome_id NOT LIKE 'R-%'),
        sum(channel_rows) FILTER (WHERE outcome_id NOT LIKE 'R-%'), sum(channel_total_fen) FILTER (WHERE outcome_id NOT LIKE 'R-%'),
        sum(order_rows) FILTER (WHERE outcome_id LIKE 'R-%'), sum(channel_rows) FILTER (WHERE outcome_id LIKE 'R-%')
        FROM outcomes""").fetchone()
    assert (total["outcomes_count"], total["orders_count"], total["orders_fen"], total["channel_count"],
            total["channel_fen"], total["shop_refund_count"], total["channel_refund_count"]) == tuple(int(x) for x in o)
    # the runs' own control totals (what the engine saw as input) agree with the report
    import json

    runs = [json.loads(s) for (s,) in ws.con.execute("SELECT summary FROM runs").fetchall()]
    assert sum(r["control_totals"]["orders"]["input_rows"] for r in runs) == total["orders_count"]
    assert sum(r["control_totals"]["transactions"]["input_rows"] for r in runs) == \
        total["channel_count"] + total["channel_refund_count"]
    assert set(rep.run_ids) == {r["run_id"] for r in runs}
    by_kind = dict(ws.con.execute("SELECT kind, count(*) FROM outcomes GROUP BY kind").fetchall())
    for kind, n in by_kind.items():
        assert total[f"k_{kind}_count"] == n
    unmatched = rep.table("unmatched").arrow()
    assert unmatched.num_rows == sum(n for k, n in by_kind.items() if k not in CLEAN_KINDS)
    assert all(r for r in unmatched.column("reason").to_pylist())
    assert {s.kind for s in rep.sources} == {"orders", "refunds", "transactions"}
    assert all(len(s.sha256) == 64 for s in rep.sources)


def test_day_report_only_reads_that_day(ws):
    rep = build_reconciliation(ws.con, "day", FIRST_DAY, group_by="channel")
    n = ws.con.execute("SELECT count(*) FROM outcomes WHERE period_from = ?", [FIRST_DAY]).fetchone()[0]
    assert rep.table("summary").arrow().to_pylist()[-1]["outcomes_count"] == n
    assert len(rep.run_ids) == 1 and rep.title_zh == "对账日报"


def test_no_results_is_a_clear_error(ws):
    with pytest.raises(PaymatchError, match="paymatch reconcile"):
        build_reconciliation(ws.con, "day", dt.date(2025, 1, 1))
    with pytest.raises(PaymatchError, match="cannot group"):
        build_reconciliation(ws.con, "day", FIRST_DAY, group_by="city")


# --- property: random outcome sets, golden sums computed here in Python ----------------------------

KINDS = ["matched", "order_only", "channel_only", "amount_mismatch", "duplicate_payment", "duplicate_record",
         "record_update", "unpaid", "internal", "refund_matched", "refund_order_only", "refund_pending", "refund_failed"]
_amount = st.integers(min_value=0, max_value=10**9)
_row = st.tuples(st.sampled_from(KINDS), st.sampled_from(["S1", "S2", None]), st.integers(0, 2), st.integers(0, 2),
                 _amount, _amount, st.one_of(st.none(), _amount), st.integers(-1000, 10**6),
                 st.one_of(st.none(), _amount), st.integers(0, 2), st.sampled_from(["payment", "refund"]),
                 st.sampled_from(["wechat", "alipay", "unionpay", "ccb_long_pay", None]))


@pytest.fixture(scope="module")
def mem_ws():
    """One in-memory workspace reused by every hypothesis example (emptied each time)."""
    w = Workspace(None)
    yield w
    w.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_row, min_size=1, max_size=30))
def test_property_totals_tie_to_random_outcomes(mem_ws, rows):
    w = mem_ws
    w.con.execute("DELETE FROM outcomes")
    w.con.execute("DELETE FROM runs")  # one day run per day (a report reads the latest run of each day)
    w.con.execute("INSERT INTO runs (run_id, period_from, period_to, finished_at) "
                  "SELECT 'run-' || d, d, d, now() FROM (SELECT unnest([DATE '2026-11-01', DATE '2026-11-02', "
                  "DATE '2026-11-03']) AS d)")
    data = []
    for i, (kind, store, orows, crows, ototal, ctotal, camount, fee, settle, day, rtype, channel) in enumerate(rows):
        # a record's extra copies (engine.dedupe): "D-…", the record's type as detail
        copies = kind in ("duplicate_record", "record_update")
        oid = ("D-" if copies else "R-" if kind.startswith("refund") else "P-") + f"{i:04d}"
        d = FIRST_DAY + dt.timedelta(days=day)
        # the channel's best status: every third outcome with records has none that succeeded (a closed attempt)
        status = None if not crows else "closed" if i % 3 == 0 else "success"
        data.append((f"run-{d}", d, d, oid, kind, rtype if copies else None, store, channel, orows, crows, ototal,
                     ctotal, ototal, camount, fee, settle, (camount or 0) - ototal, status))
    w.con.executemany(
        "INSERT INTO outcomes (run_id, period_from, period_to, outcome_id, kind, detail, store_id, channel, "
        "order_rows, channel_rows, order_total_fen, channel_total_fen, order_amount_fen, channel_amount_fen, fee_fen, "
        "settle_amount_fen, difference_fen, channel_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?)",
        data)
    rep = build_reconciliation(w.con, "month", FIRST_DAY, group_by="store")
    got = {r["store_id"]: r for r in rep.table("summary").arrow().to_pylist()}
    want: dict = defaultdict(lambda: defaultdict(int))
    for (_, _, _, oid, kind, detail, store, channel, orows, crows, ototal, ctotal, oamt, camt, fee, settle, diff,
         cst) in data:
        for g in (store or "(未知)", "全链合计"):
            w_ = want[g]
            dup, clean = kind in ("duplicate_record", "record_update"), kind in CLEAN_KINDS
            refund = oid.startswith("R-") or (dup and detail == "refund")  # a refund record's copies: under refunds
            side = "refund" if refund else "pay"
            w_[f"{side}_orows"] += orows
            w_[f"{side}_ototal"] += ototal
            w_[f"{side}_crows"] += crows
            w_[f"{side}_ctotal"] += ctotal
            w_["n"] += 1
            w_[f"k_{kind}_count"] += 1
            w_[f"k_{kind}_fen"] += camt if camt is not None else oamt
            if not dup:
                moved = cst == "success"  # only money that moved settles (a closed attempt, a processing refund: none)
                w_["fee"] += fee * moved  # (nor is its fee charged or returned)
                # a payment's settlement before the fee: wechat's and alipay's settle amount, else settle + fee
                before_fee = ((camt or 0) if settle is None else settle if channel in ("wechat", "alipay")
                              else settle + fee)
                # a refund takes back its settlement amount on wechat and alipay (退款金额, 商家实收: a coupon order's
                # refund takes back what the payment settled), else its amount
                back = settle if settle is not None and channel in ("wechat", "alipay") else (camt or 0)
                w_["net"] += ((-back if refund else before_fee) - fee) * moved
            if not clean:
                w_["unmatched"] += 1
                w_["diff"] += diff
    assert set(got) == set(want)
    for g, w_ in want.items():
        r = got[g]
        assert (r["orders_count"], r["orders_fen"], r["channel_count"], r["channel_fen"]) == \
            (w_["pay_orows"], w_["pay_ototal"], w_["pay_crows"], w_["pay_ctotal"])
        assert (r["shop_refund_count"], r["shop_refund_fen"], r["channel_refund_count"], r["channel_refund_fen"]) == \
            (w_["refund_orows"], w_["refund_ototal"], w_["refund_crows"], w_["refund_ctotal"])
        assert (r["fee_fen"], r["net_fen"], r["outcomes_count"], r["unmatched_count"], r["difference_fen"]) == \
            (w_["fee"], w_["net"], w_["n"], w_["unmatched"], w_["diff"])
        for k in KINDS:
            if f"k_{k}_count" in r:
                assert (r[f"k_{k}_count"], r[f"k_{k}_fen"]) == (w_[f"k_{k}_count"], w_[f"k_{k}_fen"])


@pytest.mark.parametrize("group", ["store", "channel"])
def test_long_and_short_are_the_amount_mismatches_each_way(ws, group):
    """差异金额 nets opposite signs (+1.17 and -0.69 read as +0.48); 长款 (the channel took more than the order says)
    and 短款 (less) are each side on its own, summed over the amount_mismatch outcomes of the stored runs."""
    rep = build_reconciliation(ws.con, "month", FIRST_DAY, group_by=group)
    total = rep.table("summary").arrow().to_pylist()[-1]
    long_fen, short_fen, n_long, n_short = ws.con.execute("""SELECT
        coalesce(sum(difference_fen) FILTER (WHERE difference_fen > 0), 0),
        coalesce(-sum(difference_fen) FILTER (WHERE difference_fen < 0), 0),
        count(*) FILTER (WHERE difference_fen > 0), count(*) FILTER (WHERE difference_fen < 0)
        FROM outcomes WHERE kind = 'amount_mismatch'""").fetchone()
    assert n_long and n_short  # the demo chain has both
    assert (total["long_fen"], total["short_fen"]) == (long_fen, short_fen)
    assert long_fen > 0 and short_fen > 0
