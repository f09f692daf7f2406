"""Engine invariants over random data: conservation, order independence, each injected defect → its kind."""

import random

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness import order, refund, run, tx

from paymatch.engine.params import FeeRule

amounts = st.integers(min_value=1, max_value=5_000_000)


@st.composite
def clean_day(draw):
    """A consistent day: paid orders each with exactly one matching payment; some refunds."""
    n = draw(st.integers(min_value=1, max_value=25))
    amts = draw(st.lists(amounts, min_size=n, max_size=n))
    orders = [order(f"O{i}", a, channel=draw(st.sampled_from(["wechat", "alipay"]))) for i, a in enumerate(amts)]
    txs = [tx(f"T{i}", o["order_no"], o["amount_fen"], channel=o["channel"]) for i, o in enumerate(orders)]
    refunds = []
    for i, o in enumerate(orders):
        if draw(st.booleans()):
            ra = draw(st.integers(min_value=1, max_value=o["amount_fen"]))
            refunds.append(refund(f"R{i}", o["order_no"], ra))
            txs.append(tx(f"T{i}", o["order_no"], ra, type="refund", refund_no=f"R{i}", refund_id=f"WR{i}",
                          channel=o["channel"]))
    return orders, refunds, txs


def _conserved(orders, refunds, txs, out):
    pay = [o for o in out.values() if not o["outcome_id"].startswith("R-")]
    ref = [o for o in out.values() if o["outcome_id"].startswith("R-")]
    assert sum(o["order_rows"] for o in pay) == len(orders)
    assert sum(o["order_total_fen"] for o in pay) == sum(o["amount_fen"] for o in orders)
    assert sum(o["order_rows"] for o in ref) == len(refunds)
    assert sum(o["order_total_fen"] for o in ref) == sum(r["amount_fen"] for r in refunds)
    assert sum(o["channel_rows"] for o in out.values()) == len(txs)
    assert sum(o["channel_total_fen"] for o in out.values()) == sum(t["amount_fen"] for t in txs)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clean_day())
def test_clean_day_all_matched_and_conserved(day):
    orders, refunds, txs = day
    out = run(orders, refunds, txs)
    assert {o["kind"] for o in out.values()} <= {"matched", "refund_matched"}
    _conserved(orders, refunds, txs, out)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clean_day(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(day, rnd):
    orders, refunds, txs = day
    a = run(orders, refunds, txs)
    o2, r2, t2 = orders[:], refunds[:], txs[:]
    for lst in (o2, r2, t2):
        rnd.shuffle(lst)
    b = run(o2, r2, t2)
    assert a == b


DEFECTS = ["order_only", "channel_only", "amount_mismatch", "status_mismatch", "duplicate_payment",
           "channel_mismatch", "merchant_mismatch", "time_mismatch", "refund_order_only", "refund_channel_only", "refund_amount_mismatch",
           "duplicate_record", "pending_cross_day", "unconfirmed", "fee_mismatch"]
#: the rates the harness's records are charged (``harness.tx``: 0.6 % of the amount, rounded down)
FEE_RATES = (FeeRule("wechat", None, None, 6000, round_add=0), FeeRule("alipay", None, None, 6000, round_add=0))


def _inject(kind, orders, refunds, txs, rnd):
    """Apply one defect to a random victim; return the outcome_id that must get ``kind``."""
    i = rnd.randrange(len(orders))
    o = orders[i]
    pay = next(t for t in txs if t["order_no"] == o["order_no"] and t["type"] == "payment")
    oid = "P-" + o["order_no"]
    if kind == "order_only":
        txs.remove(pay)
    elif kind == "channel_only":
        orders.remove(o)
        # the order's refunds now point at an unknown order but still match by refund_no
    elif kind == "amount_mismatch":
        pay["amount_fen"] += rnd.choice([-1, 1, 250])
        if pay["amount_fen"] <= 0:
            pay["amount_fen"] = o["amount_fen"] + 1
    elif kind == "status_mismatch":
        o.update(status="unpaid", paid_at=None)
    elif kind == "duplicate_payment":
        txs.append(dict(pay, channel_tx_id=pay["channel_tx_id"] + "-2"))
    elif kind == "channel_mismatch":
        pay["channel"] = "alipay" if o["channel"] == "wechat" else "wechat"
    elif kind == "time_mismatch":  # a payment booked days before the order: its number was used before
        import datetime as dt

        pay["occurred_at"] = o["paid_at"] - dt.timedelta(days=rnd.choice([2, 9]), minutes=rnd.randrange(60))
    elif kind == "merchant_mismatch":
        pay["merchant_id"] = o["merchant_id"] + "-other"
        if not any(t["channel"] == pay["channel"] and t["merchant_id"] == o["merchant_id"] for t in txs):
            # the order's merchant_id is no number this channel's records use: not compared (see engine.payments)
            return oid, "matched"
    elif kind == "duplicate_record":
        txs.append(dict(pay))
        return "D-" + pay["channel"] + ":" + pay["channel_tx_id"] + ":payment:"
    elif kind == "pending_cross_day":
        import datetime as dt

        late = dt.datetime(2026, 11, 20, 15, 55)  # 23:55 Asia/Shanghai
        o.update(paid_at=late, created_at=late)
        txs.remove(pay)
    elif kind == "unconfirmed":
        pay["origin"] = "notify"
    elif kind == "fee_mismatch":  # never to 0.00: a fee of nothing is not checked (a waiver)
        d = rnd.choice([-1, 1, 50])
        pay["fee_fen"] += d if pay["fee_fen"] + d != 0 else -d
    else:
        r = next((r for r in refunds if r["order_no"] == o["order_no"]), None)
        if r is None:
            r = refund("RX", o["order_no"], 1)
            refunds.append(r)
            txs.append(tx("TX", o["order_no"], 1, type="refund", refund_no="RX", refund_id="WRX", channel=o["channel"]))
        rt = next(t for t in txs if t["type"] == "refund" and t["refund_no"] == r["refund_no"])
        if kind == "refund_order_only":
            txs.remove(rt)
        elif kind == "refund_channel_only":
            refunds.remove(r)
        elif kind == "refund_amount_mismatch":
            rt["amount_fen"] += 1
        return "R-" + r["refund_no"]
    return oid


@settings(max_examples=36, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clean_day(), st.sampled_from(DEFECTS), st.randoms(use_true_random=False))
def test_injected_defect_yields_exactly_that_kind(day, kind, rnd):
    orders, refunds, txs = day
    victim = _inject(kind, orders, refunds, txs, rnd)
    victim, kind = victim if isinstance(victim, tuple) else (victim, kind)
    out = run(orders, refunds, txs, fee_rates=FEE_RATES)  # every clean record's fee is its rate's
    assert out[victim]["kind"] == kind, out[victim]
    others = {o["kind"] for oid, o in out.items() if oid != victim}
    if kind == "duplicate_record":
        others.discard("matched")
    assert others <= {"matched", "refund_matched"}, (kind, others)
    _conserved(orders, refunds, txs, out)


def test_tolerance_is_configuration():
    o = [order("O1", 10000)]
    t = [tx("T1", "O1", 10001)]
    assert run(o, [], t)["P-O1"]["kind"] == "amount_mismatch"
    assert run(o, [], t, tolerance_fen=1)["P-O1"]["kind"] == "matched"


def test_internal_and_unpaid_orders_get_outcomes():
    out = run([order("O1", 500, channel="balance"), order("O2", 700, status="closed")], [], [])
    assert out["P-O1"]["kind"] == "internal" and out["P-O2"]["kind"] == "unpaid"


def test_key_scope_merchant():
    a = order("O1", 100, merchant="M1")
    b = order("O1", 200, merchant="M2")
    t1 = dict(tx("T1", "O1", 100), merchant_id="M1")
    t2 = dict(tx("T2", "O1", 200), merchant_id="M2")
    out = run([a, b], [], [t1, t2], key_scope=("merchant_id",))
    assert out["P-M1/O1"]["kind"] == "matched" and out["P-M2/O1"]["kind"] == "matched"


def test_random_chain_conserves():
    rnd = random.Random(7)
    orders = [order(f"O{i}", rnd.randint(1, 10**6), status=rnd.choice(["paid", "unpaid", "closed", "refunded"]))
              for i in range(300)]
    txs = [tx(f"T{i}", f"O{rnd.randint(0, 350)}", rnd.randint(1, 10**6),
              status=rnd.choice(["success", "success", "closed", "failed", "processing"])) for i in range(300)]
    txs += [dict(txs[5]), dict(txs[9])]
    out = run(orders, [], txs)
    _conserved(orders, [], txs, out)


def test_refund_of_another_order_is_flagged():
    o = [order("O1", 1000), order("O2", 2000)]
    t = [tx("T1", "O1", 1000), tx("T2", "O2", 2000),
         tx("T2", "O2", 500, type="refund", refund_no="R1", refund_id="WR1")]
    out = run(o, [refund("R1", "O1", 500)], t)
    assert out["R-R1"]["kind"] == "refund_order_mismatch"


def test_key_scope_refund_counts_once():
    a, b = order("O1", 100, merchant="M1", store="S1"), order("O1", 200, merchant="M2", store="S2")
    t = [dict(tx("T1", "O1", 100), merchant_id="M1"), dict(tx("T2", "O1", 200), merchant_id="M2"),
         dict(tx("T1", "O1", 50, type="refund", refund_no="R1", refund_id="WR1"), merchant_id="M1")]
    out = run([a, b], [refund("R1", "O1", 50)], t, key_scope=("merchant_id",))
    assert out["R-R1"]["kind"] == "refund_matched"
    assert sum(1 for k in out if k == "R-R1") == 1 and len(out) == 3


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clean_day(), st.sampled_from([d for d in DEFECTS if d != "duplicate_record"]),
       st.randoms(use_true_random=False))
def test_skipping_the_duplicate_search_changes_nothing_when_no_record_repeats(day, kind, rnd):
    """``records_unique`` (a loader proved no record repeats) must give exactly the outcomes of the full search."""
    orders, refunds, txs = day
    _inject(kind, orders, refunds, txs, rnd)
    ident = [(t["channel"], t["channel_tx_id"], t["type"], t["channel_refund_id"] or t["refund_no"] or "") for t in txs]
    if len(ident) != len(set(ident)):
        return  # this defect happened to repeat a record: not the case under test
    assert run(orders, refunds, txs, records_unique=True) == run(orders, refunds, txs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["R1", "R2", "R3"]), st.sampled_from([None, "M1", "M2"]),
                          st.integers(1, 3)), max_size=6),
       st.lists(st.tuples(st.sampled_from(["R1", "R2", "R3", None]), st.sampled_from([None, "M1", "M2", "M3"]),
                          st.integers(1, 3)), max_size=6))
@example([("R1", "M1", 1), ("R1", "M2", 2)], [("R1", None, 1)])  # ambiguous: never guessed
@example([("R1", "M1", 1)], [("R1", "M2", 1), ("R1", None, 2), ("R1", "M1", 1)])
@example([("R1", None, 1)], [("R1", "M2", 1)])  # a shop-wide number
@example([("R1", "M1", 2)], [(None, "M2", 2)])  # by order and amount: not across merchant numbers
@example([("R1", "M1", 2)], [(None, None, 2)])
@example([("R1", "M1", 1), ("R1", "M2", 2)], [(None, None, 1)])  # a namesake under another merchant number
@example([("R1", "M1", 1), ("R2", "M2", 1)], [(None, "M1", 1)])  # same order and amount at both merchant numbers
def test_key_scope_refunds_conserve_whatever_merchant_numbers_say(shop, records):
    """Under key_scope, refunds that name their merchant number or not, and channel refunds that do or not: every shop
    refund and every channel refund is in exactly one outcome, and a pair only ever joins compatible merchant numbers."""
    seen, refunds = set(), []
    for no, m, amt in shop:  # what loading allows: a number once without a merchant, or once per merchant
        if (no, None) in seen or (no, m) in seen or (m is None and any(n == no for n, _ in seen)):
            continue
        seen.add((no, m))
        refunds.append(refund(no, "O1", amt, merchant_id=m))
    orders = [order("O1", 10, merchant="M1", store="S1"), order("O1", 10, merchant="M2", store="S2")]
    txs = [dict(tx("T1", "O1", 10), merchant_id="M1"), dict(tx("T2", "O1", 10), merchant_id="M2")]
    for i, (no, m, amt) in enumerate(records):
        txs.append(dict(tx(f"T{i}", "O1", amt, type="refund", refund_no=no, refund_id=f"WR{i}"), merchant_id=m))
    out = run(orders, refunds, txs, key_scope=("merchant_id",))
    rows = [r for k, r in out.items() if k.startswith(("R-", "D-"))]
    assert sum(r["order_rows"] for r in rows) == len(refunds)
    assert sum(r["channel_rows"] for r in rows) == len(txs) - 2
    assert sum(r["order_total_fen"] for r in rows) == sum(r["amount_fen"] for r in refunds)
    for r in rows:
        if r["order_rows"] and r["channel_rows"] and r["outcome_id"].startswith("R-"):
            shop_m = next(x["merchant_id"] for x in refunds if "R-" + (f"{x['merchant_id']}/" if x["merchant_id"] else "")
                          + x["refund_no"] == r["outcome_id"])
            recs = {t["merchant_id"] for t in txs[2:] if t["channel_refund_id"] in (r["channel_tx_id"], r["channel_tx_id_last"])}
            assert recs, r
            assert shop_m is None or recs <= {shop_m, None}, (r, refunds, txs)
            if None in recs and shop_m is not None and r["detail"] != "by_order_amount":
                # a record naming its refund number but no merchant: only the number's one refund
                assert sum(1 for x in refunds if x["refund_no"] == r["refund_no"]) == 1, (r, refunds, txs)
        elif r["channel_rows"] and r["outcome_id"].startswith("R-"):
            # a channel-only refund beside the shop's refund of its number and merchant number would be a missed pair
            recs = [t for t in txs[2:] if t["channel_refund_id"] in (r["channel_tx_id"], r["channel_tx_id_last"])]
            for t in recs:
                assert r["order_rows"] or t["refund_no"] == r["refund_no"], (r, refunds, txs)  # a number never lent
                assert not any(x["refund_no"] == t["refund_no"] and x["merchant_id"] in (None, t["merchant_id"])
                               for x in refunds), (r, refunds, txs)
