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


def _inject(kind, o, orders, refunds, txs, rnd):
    """Apply one defect to the order ``o``. Returns a function giving (the outcome_id that must get the defect's kind,
    that kind), asked once every defect of the day is in: a merchant_mismatch depends on the day's other records."""
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
        # the order's merchant_id is no number this channel's records use: not compared (see engine.payments)
        return lambda: (oid, kind if any(t["channel"] == pay["channel"] and t["merchant_id"] == o["merchant_id"]
                                         for t in txs) else "matched")
    elif kind == "duplicate_record":
        txs.append(dict(pay))
        return lambda: ("D-" + pay["channel"] + ":" + pay["channel_tx_id"] + ":payment:", kind)
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
            no = o["order_no"]
            r = refund(f"RX{no}", no, 1)
            refunds.append(r)
            txs.append(tx(f"TX{no}", no, 1, type="refund", refund_no=f"RX{no}", refund_id=f"WRX{no}", channel=o["channel"]))
        rt = next(t for t in txs if t["type"] == "refund" and t["refund_no"] == r["refund_no"])
        if kind == "refund_order_only":
            txs.remove(rt)
        elif kind == "refund_channel_only":
            refunds.remove(r)
        elif kind == "refund_amount_mismatch":
            rt["amount_fen"] += 1
        return lambda: ("R-" + r["refund_no"], kind)
    return lambda: (oid, kind)


@st.composite
def defect_day(draw, kinds=tuple(DEFECTS)):
    """A clean day with one to four defects, each of a random kind on an order of its own; with the outcome_id
    each must give and its kind. Defects on different orders must not change each other's outcomes, so a day
    carries several (one engine run checks them all)."""
    orders, refunds, txs = draw(clean_day())
    k = draw(st.integers(min_value=1, max_value=min(4, len(orders))))
    victims = draw(st.permutations(range(len(orders))))[:k]
    picks = draw(st.lists(st.sampled_from(kinds), min_size=k, max_size=k))
    rnd = draw(st.randoms(use_true_random=False))
    targets = [orders[i] for i in victims]  # (before any defect removes an order from the list)
    expect = [_inject(kind, o, orders, refunds, txs, rnd) for kind, o in zip(picks, targets)]
    return orders, refunds, txs, dict(e() for e in expect)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(defect_day())
def test_injected_defects_yield_exactly_their_kinds(day):
    orders, refunds, txs, want = day
    out = run(orders, refunds, txs, fee_rates=FEE_RATES)  # every clean record's fee is its rate's
    for victim, kind in want.items():
        assert out[victim]["kind"] == kind, (out[victim], want)
    others = {o["kind"] for oid, o in out.items() if oid not in want}
    assert others <= {"matched", "refund_matched"}, (want, others)
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


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(defect_day(kinds=tuple(d for d in DEFECTS if d != "duplicate_record")))
def test_skipping_the_duplicate_search_changes_nothing_when_no_record_repeats(day):
    """``records_unique`` (a loader proved no record repeats) must give exactly the outcomes of the full search."""
    orders, refunds, txs, _ = day
    ident = [(t["channel"], t["channel_tx_id"], t["type"], t["channel_refund_id"] or t["refund_no"] or "") for t in txs]
    if len(ident) != len(set(ident)):
        return  # a defect happened to repeat a record: not the case under test
    assert run(orders, refunds, txs, records_unique=True) == run(orders, refunds, txs)


#: one key_scope refund scenario: the shop's refunds (number, merchant number, amount) and the channel's refund
#: records (number or None, merchant number or None, amount), all of one order paid at M1 and at M2
_SHOP = st.lists(st.tuples(st.sampled_from(["R1", "R2", "R3"]), st.sampled_from([None, "M1", "M2"]),
                           st.integers(1, 3)), max_size=6)
_RECORDS = st.lists(st.tuples(st.sampled_from(["R1", "R2", "R3", None]), st.sampled_from([None, "M1", "M2", "M3"]),
                              st.integers(1, 3)), max_size=6)


def _refund_scenario(j: int, shop, records):
    """Scenario ``j``'s rows: its own order number (O<j>), refund numbers (<j>R1 …) and record ids, so scenarios
    reconciled in one run share nothing (refunds pair by number, or by order and amount)."""
    order_no, seen, refunds = f"O{j}", set(), []
    for no, m, amt in shop:  # what loading allows: a number once without a merchant, or once per merchant
        if (no, None) in seen or (no, m) in seen or (m is None and any(n == no for n, _ in seen)):
            continue
        seen.add((no, m))
        refunds.append(refund(f"{j}{no}", order_no, amt, merchant_id=m))
    orders = [order(order_no, 10, merchant="M1", store="S1"), order(order_no, 10, merchant="M2", store="S2")]
    # the payments' ids are T<j>-1 and T<j>-2, and refund record i names the payment id T<j>-i: records 1 and 2 name
    # a real payment's (as a refund row names the payment it refunds), the others none
    pays = [dict(tx(f"T{j}-1", order_no, 10), merchant_id="M1"), dict(tx(f"T{j}-2", order_no, 10), merchant_id="M2")]
    records = [dict(tx(f"T{j}-{i}", order_no, amt, type="refund", refund_no=no and f"{j}{no}", refund_id=f"WR{j}-{i}"),
                    merchant_id=m) for i, (no, m, amt) in enumerate(records)]
    return orders, refunds, pays, records


#: scenarios where a wrong pairing was found or is easy to make, reconciled together in one run
_REFUND_CASES = [
    ([("R1", "M1", 1), ("R1", "M2", 2)], [("R1", None, 1)]),  # ambiguous: never guessed
    ([("R1", "M1", 1)], [("R1", "M2", 1), ("R1", None, 2), ("R1", "M1", 1)]),
    ([("R1", None, 1)], [("R1", "M2", 1)]),  # a shop-wide number
    ([("R1", "M1", 2)], [(None, "M2", 2)]),  # by order and amount: not across merchant numbers
    ([("R1", "M1", 2)], [(None, None, 2)]),
    ([("R1", "M1", 1), ("R1", "M2", 2)], [(None, None, 1)]),  # a namesake under another merchant number
    ([("R1", "M1", 1), ("R2", "M2", 1)], [(None, "M1", 1)]),  # same order and amount at both merchant numbers
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_SHOP, _RECORDS), min_size=1, max_size=4))
@example(_REFUND_CASES)
def test_key_scope_refunds_conserve_whatever_merchant_numbers_say(scenarios):
    """Under key_scope, refunds that name their merchant number or not, and channel refunds that do or not: every shop
    refund and every channel refund is in exactly one outcome, and a pair only ever joins compatible merchant numbers.
    Several scenarios (each of its own order) are reconciled in one run and checked each on its own."""
    built = [_refund_scenario(j, shop, records) for j, (shop, records) in enumerate(scenarios)]
    out = run([o for b in built for o in b[0]], [r for b in built for r in b[1]], [t for b in built for t in b[2] + b[3]],
              key_scope=("merchant_id",))
    for j, (_, refunds, _, records) in enumerate(built):
        rows = [r for k, r in out.items() if k.startswith(("R-", "D-")) and r["order_no"] == f"O{j}"]
        _check_refund_scenario(rows, refunds, records)
    every = [r for k, r in out.items() if k.startswith(("R-", "D-"))]  # none left outside the scenarios
    assert sum(r["channel_rows"] for r in every) == sum(len(b[3]) for b in built)
    assert sum(r["order_rows"] for r in every) == sum(len(b[1]) for b in built)


def _check_refund_scenario(rows, refunds, records):
    assert sum(r["order_rows"] for r in rows) == len(refunds)
    assert sum(r["channel_rows"] for r in rows) == len(records)
    assert sum(r["order_total_fen"] for r in rows) == sum(r["amount_fen"] for r in refunds)
    for r in rows:
        if r["order_rows"] and r["channel_rows"] and r["outcome_id"].startswith("R-"):
            shop_m = next(x["merchant_id"] for x in refunds if "R-" + (f"{x['merchant_id']}/" if x["merchant_id"] else "")
                          + x["refund_no"] == r["outcome_id"])
            recs = {t["merchant_id"] for t in records if t["channel_refund_id"] in (r["channel_tx_id"], r["channel_tx_id_last"])}
            assert recs, r
            assert shop_m is None or recs <= {shop_m, None}, (r, refunds, records)
            if None in recs and shop_m is not None and r["detail"] != "by_order_amount":
                # a record naming its refund number but no merchant: only the number's one refund
                assert sum(1 for x in refunds if x["refund_no"] == r["refund_no"]) == 1, (r, refunds, records)
        elif r["channel_rows"] and r["outcome_id"].startswith("R-"):
            # a channel-only refund beside the shop's refund of its number and merchant number would be a missed pair
            recs = [t for t in records if t["channel_refund_id"] in (r["channel_tx_id"], r["channel_tx_id_last"])]
            for t in recs:
                assert r["order_rows"] or t["refund_no"] == r["refund_no"], (r, refunds, records)  # a number never lent
                assert not any(x["refund_no"] == t["refund_no"] and x["merchant_id"] in (None, t["merchant_id"])
                               for x in refunds), (r, refunds, records)
