"""Orders ↔ channel payments: full outer join on the order key, then classification.

Kinds (first rule that applies wins):
  unpaid             order not paid (unpaid/closed), no successful channel record — consistent (whatever its
                     method: an unpaid points order is no internal payment)
  internal           order paid by an internal method (balance, points…) and no successful channel record (an
                     attempt through a channel that did not go through is none); also a paid order of 0.00 (fully
                     discounted) without one (detail ``zero_amount``)
  pending_cross_day  order paid at/after window_end − grace, no successful channel record in this window
  order_only         order says paid, no channel record                       (平台单边)
  channel_only       channel record, no order                                  (渠道单边)
  duplicate_payment  two or more successful channel payments for one order     (重复支付)
  status_mismatch    order unpaid/closed but channel success, or order paid but channel not success
  channel_mismatch   the payment came through another channel than the order's method settles through
                     (a record naming the method itself as its channel, huabei for huabei, is not one),
                     or an internal-method order has a channel payment (not its method's own journal: a points
                     ledger's record naming points matches a points order)
  merchant_mismatch  the payment was credited to another merchant number than the order names (收款商户号不符;
                     the order's merchant_id is a number the channel's records use on that channel; off with
                     ``compare_merchant``)
  amount_mismatch    |channel − order| > tolerance                              (金额不符 长款/短款)
  time_mismatch      the channel booked the payment further than ``max_time_gap`` (default 24 h) from the
                     order's paid time: an order number reused, a stale payment       (时间不符)
  fee_mismatch       all else agrees, but the successful record's fee is not what its contracted rate
                     (``fee_rates``: rate × its settlement amount or amount, rounded, capped) gives   (手续费不符)
  unconfirmed        amounts agree but only a real-time notification, no bill, says so
  matched            all agree                                                   (已对平)

Under ``key_scope = ["merchant_id"]`` an order is its merchant number and order number. An order that names no merchant
number (an export without the column) matches the payments of its order number that name none, else those of the
one merchant number that carries its order number and that no order of that number names (detail ``by_order_no``
when matched); two or more such merchant numbers: it is not guessed, the order and those payments stay apart with
detail ``ambiguous_merchant:<how many>:<least>:<greatest>`` (``_by_order_number``). Its outcome id stays
``P-/<order_no>`` whichever payment it matched.
"""

from __future__ import annotations

import narwhals as nw

from .channel_side import aggregate, compared_amount, finish_with_attempts, paired_columns
from .expr import case, is_in, key_expr, settle_channel_expr, utc_time
from .ops import Ops
from .params import MatchParams

PAID = ["paid", "refunded", "partially_refunded"]


def payment_outcomes(orders: nw.LazyFrame, txs: nw.LazyFrame, p: MatchParams, ops: Ops = Ops(), *,
                     merchants: nw.LazyFrame | None = None, wildcard: nw.LazyFrame | None = None) -> nw.LazyFrame:
    """Outcomes for every scoped order and every primary channel payment record (``ops``: the backend's
    shortcuts, ``engine.ops``; ``merchants``: ``frames.Inputs.merchants``; ``wildcard``:
    ``frames.Inputs.wildcard_orders``)."""
    pays = txs.filter(nw.col("type") == "payment")
    fallback = nw.concat_str([nw.lit("~"), nw.col("channel"), nw.lit(":"), nw.col("channel_tx_id")])
    # without a key scope the key *is* the order number (or a '~' fallback when the channel gave none)
    carry: tuple[str, ...] = ("order_no",) if p.key_scope else ()
    sums: tuple[str, ...] = ()
    via = _via_methods(p)
    if p.fee_rates:  # columns only when rates are configured: a run without them carries nothing more
        pays = _with_fees(pays, p)
        carry = (*carry, "fee_rule", *(f"fee_rule_v{k}" for k in range(len(via))))
        sums = tuple(f"{n}{v}" for v in ("", *(f"_v{k}" for k in range(len(via))))
                     for n in ("fee_expected_fen", "fee_gap_fen"))
    side = aggregate(pays, nw.coalesce(key_expr("order_no", p.key_scope), fallback), nw.col("channel_tx_id"), carry,
                     ops, sums=sums)
    o = orders.with_columns(_pm_key=key_expr("order_no", p.key_scope), _pm_has_o=nw.lit(True))
    # under key_scope: the orders naming no merchant number that match by order number (None: there are none)
    by_number = _by_order_number(orders, pays, wildcard, ops) if p.key_scope else None
    if by_number is not None:
        # such an order joins on the key of the one merchant number its payments name ('<merchant>/<order_no>'),
        # its outcome id stays its own ('/<order_no>', ``_pm_wid``)
        one = nw.col("merchant_id").is_null() & (nw.col("_pm_w_n") == 1).fill_null(False)
        o = o.join(by_number, on="order_no", how="left").with_columns(
            _pm_wid=nw.when(one).then(nw.col("_pm_key")),
            _pm_key=nw.when(one).then(nw.concat_str([nw.col("_pm_w_lo"), nw.lit("/"), nw.col("order_no")]))
            .otherwise(nw.col("_pm_key")),
            _pm_amb=nw.when(nw.col("merchant_id").is_null()).then(nw.col("_pm_w_amb")),
        ).drop("_pm_w_n", "_pm_w_lo", "_pm_w_amb")
    derived = {}
    if not p.key_scope:  # the channel side's order number is its key (derived after the join: a narrower join)
        derived["c_order_no"] = nw.when(~nw.col("_pm_key_right").str.starts_with("~")).then(nw.col("_pm_key_right"))
    j = o.join(side.frame, on="_pm_key", how="full").with_columns(
        _pm_key=nw.coalesce(nw.col("_pm_key"), nw.col("_pm_key_right")),
        _pm_has_o=nw.col("_pm_has_o").fill_null(False),
        _pm_has_c=~nw.col("c_rows").is_null(),
        **derived,
    )
    # the channel the order's method settles through, once per row (the rules read it three times)
    j = side.complete(j).with_columns(_pm_expected=settle_channel_expr(p.settle_channel, "channel"))
    if p.fee_rates and via:
        # the order's method picks the rate of records that name only their channel (``_via_methods``)
        fee_cols = ("fee_rule", "fee_expected_fen", "fee_gap_fen")
        j = j.with_columns(**{f"c_{n}": case([(nw.col("channel") == m, nw.col(f"c_{n}_v{k}"))
                                              for k, (m, _) in enumerate(via)], nw.col(f"c_{n}")) for n in fee_cols}
                           ).drop(*(f"c_{n}_v{k}" for n in fee_cols for k in range(len(via))))
    if by_number is not None:
        # the payments of a number in doubt, for their reason (``_pm_amb_c``)
        doubt = by_number.filter(~nw.col("_pm_w_amb").is_null()).select(
            nw.col("order_no").alias("c_order_no"), nw.col("_pm_w_amb").alias("_pm_amb_c"))
        j = j.join(doubt, on="c_order_no", how="left").with_columns(
            _pm_key=nw.coalesce(nw.col("_pm_wid"), nw.col("_pm_key")))
    if p.compare_merchant:
        # looked up only where the numbers differ (NULL elsewhere: no match, nothing to compare)
        acct = nw.when(nw.col("merchant_id") != nw.col("c_merchant")).then(_account(p, "c_channel"))
        j = j.with_columns(_pm_mch_acct=acct).join(
            _merchant_numbers(txs if merchants is None else merchants, p, ops), left_on=["_pm_mch_acct", "merchant_id"],
            right_on=["_pm_mch_channel", "_pm_mch"], how="left")
    return finish_with_attempts(j, _classify(p, by_number is not None))


def _by_order_number(orders: nw.LazyFrame, pays: nw.LazyFrame, wildcard: nw.LazyFrame | None,
                     ops: Ops) -> nw.LazyFrame | None:
    """Under key_scope, the order numbers of the orders that name no merchant number, with what their payments say:
    ``_pm_w_n``, how many merchant numbers carry the number that no order of it names, ``_pm_w_lo`` / ``_pm_w_hi``
    the least and greatest of them, ``_pm_w_amb`` the detail of a number in doubt (two or more:
    'ambiguous_merchant:<n>:<least>:<greatest>'). A number whose payments include one naming no merchant number is
    left out: that payment is the order's own (its key), as a refund naming none is the shop's only refund of its
    number (``sources.specs.WILDCARD_SCOPE``). Every payment record counts, whatever its status (a closed attempt
    at another merchant number makes the number as doubtful as a payment there). None when the backend knows
    there is no such order (``Ops.empty``): a run whose orders all name their merchant number joins nothing more.
    ``wildcard``: ``frames.Inputs.wildcard_orders`` (None: ``orders``'s)."""
    mid = nw.col("merchant_id")
    nos = orders.filter(mid.is_null()) if wildcard is None else wildcard
    nos = ops.persist(nos.select("order_no"))
    if ops.empty(nos):
        return None
    recs = pays.join(nos, on="order_no", how="semi").select("order_no", "merchant_id")
    own = recs.filter(mid.is_null()).select("order_no")
    named = orders.filter(~mid.is_null()).join(nos, on="order_no", how="semi").select("order_no", "merchant_id")
    # a group-by, not ``unique()`` (a row_number() window on DuckDB)
    cand = recs.filter(~mid.is_null()).group_by("order_no", "merchant_id").agg(nw.len().alias("_pm_w_rows")).join(
        named, on=["order_no", "merchant_id"], how="anti")
    per = cand.group_by("order_no").agg(nw.len().alias("_pm_w_n"), mid.min().alias("_pm_w_lo"),
                                       mid.max().alias("_pm_w_hi")).join(own, on="order_no", how="anti")
    return ops.persist(per.select(
        "order_no", nw.col("_pm_w_n").cast(nw.Int64), "_pm_w_lo",
        _pm_w_amb=nw.when(nw.col("_pm_w_n") >= 2).then(nw.concat_str([
            nw.lit("ambiguous_merchant:"), nw.col("_pm_w_n").cast(nw.String), nw.lit(":"), nw.col("_pm_w_lo"),
            nw.lit(":"), nw.col("_pm_w_hi")]))))


#: an amount at or above this (100 billion yuan) is not held to a rate: amount × rate would leave 64-bit integers
_FEE_BASE_LIMIT = 10**13


def _ranked(p: MatchParams) -> list:
    """The fee rules, most specific first; a record's rule is its index here."""
    return sorted(p.fee_rates, key=lambda r: r.specificity)


def _via_methods(p: MatchParams) -> list[tuple[str, str]]:
    """(method, channel) of the rates naming a method that settles through their channel (``[methods]
    settle_channel``: huabei through alipay). A record of that channel that names no method but the channel (Alipay's
    25-column 业务明细 has no fund-channel column: a 花呗 payment whose 备注 does not say so reads as plain alipay)
    cannot say which rate it was charged at; its order can: the order's method picks the rate
    (``payment_outcomes``). Empty (the usual case without such rates): nothing more is computed or carried."""
    return sorted({(r.method, r.channel) for r in p.fee_rates
                   if r.method is not None and r.method != r.channel and p.settle_channel.get(r.method) == r.channel})


def _with_fees(pays: nw.LazyFrame, p: MatchParams) -> nw.LazyFrame:
    """Per payment record held to a rate: ``fee_rule``, the index (``_ranked``) of the most specific rule it falls
    under, ``fee_expected_fen``, the fee that rule expects, and ``fee_gap_fen``, the fee charged (whatever sign the
    bill prints it with) minus that. All three NULL for a record no rule names, one that did not succeed, and one
    whose fee is 0.00 or not given (bills print 0.00 where no fee was taken: a waiver, a promotion; a canonical file
    without fees reads as 0.00). Only these go through the join: the rule's figures are looked up after it.
    For each method of ``_via_methods`` (k-th) the same three as ``_v<k>``: for a record of its channel naming no
    other method, as if it named that one; for every other record its own figures (so a group's sums stay whole)."""
    rules = _ranked(p)
    method = nw.col("method").str.to_lowercase()  # a profile bill keeps the export's spelling (Huabei)

    def rule_of(m: nw.Expr) -> nw.Expr:  # the most specific rule of a record naming method m
        def applies(r) -> nw.Expr:
            cond = nw.col("channel") == r.channel
            if r.merchant_id is not None:
                cond = cond & (nw.col("merchant_id") == r.merchant_id)
            if r.method is not None:  # rules are lower-case
                cond = cond & (m == r.method)
            return cond.fill_null(False)
        return case([(applies(r), i) for i, r in enumerate(rules)], None)

    charged = ((nw.col("status") == "success") & (nw.col("fee_fen") != 0)).fill_null(False)
    pays = _rated(pays, rules, nw.when(charged).then(rule_of(method)).cast(nw.Int32), "")
    for k, (m, channel) in enumerate(_via_methods(p)):
        plain = ((nw.col("channel") == channel) & (method.is_null() | (method == channel))).fill_null(False)
        pays = _rated(pays, rules, nw.when(charged & plain).then(rule_of(nw.lit(m))).cast(nw.Int32), f"_v{k}")
        pays = pays.with_columns(**{f"{n}_v{k}": nw.when(plain).then(nw.col(f"{n}_v{k}")).otherwise(nw.col(n))
                                    for n in ("fee_rule", "fee_expected_fen", "fee_gap_fen")})
    return pays


def _rated(pays: nw.LazyFrame, rules: list, rule: nw.Expr, sfx: str) -> nw.LazyFrame:
    """``fee_rule<sfx>`` (``rule``: the record's rule index, NULL for none), ``fee_expected_fen<sfx>`` and
    ``fee_gap_fen<sfx>`` (``_with_fees``)."""
    rule_col = f"fee_rule{sfx}"

    def per_rule(value) -> nw.Expr:
        return case([(nw.col(rule_col) == i, value(r)) for i, r in enumerate(rules)], None)

    pays = pays.with_columns(**{rule_col: rule})
    settle = nw.coalesce(nw.col("settle_amount_fen"), nw.col("amount_fen"))

    def scaled(r) -> nw.Expr:  # base × rate + rounding; NULL for a base out of range (not held to a rate)
        base = nw.col("amount_fen") if r.on_amount else settle
        return nw.when((base >= 0) & (base < _FEE_BASE_LIMIT)).then(base * r.ppm + r.round_add)

    # one CASE per row for the base, the rate and its rounding (nearly every row is checked: each CASE is paid 10M
    # times); a record whose base is out of range loses its rule
    pays = pays.with_columns(_pm_fee_scaled=per_rule(scaled))
    pays = pays.with_columns(**{rule_col: nw.when(~nw.col("_pm_fee_scaled").is_null()).then(nw.col(rule_col))})
    sc = nw.col("_pm_fee_scaled")
    # exact on every backend: the division meets an exact multiple (PySpark divides integers in floating point)
    fee = ((sc - sc % 1_000_000) / 1_000_000).round(0).cast(nw.Int64)
    if any(r.cap_fen is not None for r in rules):
        cap = per_rule(lambda r: r.cap_fen).cast(nw.Int64)
        fee = nw.when(cap.is_null() | (fee <= cap)).then(fee).otherwise(cap)
    pays = pays.with_columns(**{f"fee_expected_fen{sfx}": fee}).drop("_pm_fee_scaled")
    return pays.with_columns(**{f"fee_gap_fen{sfx}": nw.col("fee_fen").abs() - nw.col(f"fee_expected_fen{sfx}")})


def _fee_detail(p: MatchParams) -> nw.Expr:
    """fee_mismatch's detail, '<expected fee>:<charged − expected>:<rate ppm>:<cap, when it decided the fee, or
    empty>:<amount charged on, or empty>' (fen; the reason quotes them). The amount (and so whether the cap decided)
    is known for an order with one channel record; a group's settlement amounts are summed over all its records."""
    rules, rule = _ranked(p), nw.col("c_fee_rule")
    one = nw.col("c_rows") == 1
    settle = nw.coalesce(nw.col("c_settle"), nw.col("c_succ_amt"))
    base = case([(rule == i, nw.col("c_succ_amt") if r.on_amount else settle) for i, r in enumerate(rules)], None)
    # the cap decided when the uncapped fee is above it: base × ppm + round_add ≥ (cap + 1) × 1,000,000
    capped = [(one & (rule == i) & (base * r.ppm + r.round_add >= (r.cap_fen + 1) * 1_000_000), str(r.cap_fen))
              for i, r in enumerate(rules) if r.cap_fen is not None]
    cap = case(capped, "") if capped else nw.lit("")
    ppm = case([(rule == i, str(r.ppm)) for i, r in enumerate(rules)], None)
    return nw.concat_str([nw.col("c_fee_expected_fen").cast(nw.String), nw.lit(":"),
                          nw.col("c_fee_gap_fen").cast(nw.String), nw.lit(":"), ppm, nw.lit(":"), cap, nw.lit(":"),
                          nw.when(one).then(base.cast(nw.String)).otherwise(nw.lit(""))])


def _account(p: MatchParams, col: str) -> nw.Expr:
    """The merchant account family a record's channel books into: the channel its name settles through
    (a record named ``huabei`` is booked by Alipay's merchant numbers), else the channel itself."""
    return nw.coalesce(settle_channel_expr(p.settle_channel, col), nw.col(col))


def _merchant_numbers(txs: nw.LazyFrame, p: MatchParams, ops: Ops) -> nw.LazyFrame:
    """(account, merchant number) pairs the channel records name, each once, flagged ``_pm_mch_known``: a few
    hundred rows. An order's merchant_id is compared with its payment's only when it is one of these on the
    payment's account (``_account``), so a shop whose merchant_id is its own store code (never a channel's
    number), or one number for a store that holds another on each channel, gets no merchant_mismatch for it."""
    # a group-by, not ``unique()``: Narwhals writes that as a row_number() window on DuckDB, 10× slower here
    pairs = txs.filter(~nw.col("merchant_id").is_null()).group_by(
        _account(p, "channel").alias("_pm_mch_channel"), nw.col("merchant_id").alias("_pm_mch")).agg(
        nw.len().alias("_pm_n"))
    return ops.persist(pairs.select("_pm_mch_channel", "_pm_mch", _pm_mch_known=nw.lit(True)))


def _classify(p: MatchParams, by_number: bool = False) -> dict[str, nw.Expr]:
    """The outcome columns; ``by_number``: the frame has ``_by_order_number``'s columns (``_pm_amb``, ``_pm_amb_c``)."""
    has_o, has_c = nw.col("_pm_has_o"), nw.col("_pm_has_c")
    paidlike = is_in("status", PAID)
    internal = is_in("channel", p.internal_methods)
    succ = nw.col("c_succ").fill_null(0)
    late = nw.col("paid_at").fill_null(nw.col("created_at")) >= utc_time(p.cross_day_from_utc)
    diff = compared_amount() - nw.col("amount_fen")
    expected = nw.col("_pm_expected")
    # paid by stored value or points, no channel payment succeeded (an attempt through one that did not go through)
    paid_internally = has_o & internal & paidlike & (succ == 0)

    def elsewhere(c: str) -> nw.Expr:  # neither the settling channel nor the method itself (a bill naming it), nor a
        # method settling through it (a record naming huabei for an alipay order: Huabei settles through Alipay)
        through = (settle_channel_expr(p.settle_channel, c) == expected).fill_null(False)
        return (nw.col(c) != expected) & (nw.col(c) != nw.col("channel")).fill_null(True) & ~through

    # an internal method's order paid through a channel, unless the records are the method's own journal (the points
    # or gift-card ledger a profile reads names the method itself: helper-47)
    own_journal = ((nw.col("c_channel") == nw.col("channel")) & (nw.col("c_channel_last") == nw.col("channel"))
                   ).fill_null(False)
    wrong_channel = (internal & ~own_journal) | (
        ~expected.is_null() & (elsewhere("c_channel") | elsewhere("c_channel_last"))).fill_null(False)
    # known only where the numbers differ and the order's is one of the account's (``payment_outcomes``)
    other_merchant = nw.col("_pm_mch_known").fill_null(False) if p.compare_merchant else nw.lit(False)
    # Nearly every row is a clean match. Testing that first (exactly the rows no rule below catches) lets the
    # backend skip the other conditions for them: SQL CASE evaluates a WHEN only on the rows still undecided.
    far = nw.lit(False)
    if p.max_time_gap is not None:
        gap, paid, booked = nw.lit(p.max_time_gap), nw.col("paid_at"), nw.col("c_occurred")
        far = ((booked > paid + gap) | (booked < paid - gap)).fill_null(False)
    fee_off = nw.lit(False)
    if p.fee_rates:  # the fees of the records held to a rate against what it expects (a group sums them)
        fee_off = (~nw.col("c_fee_rule").is_null() & (nw.col("c_fee_gap_fen").abs() > p.fee_tolerance_fen)
                   ).fill_null(False)
    # a payment that agrees with its order in everything but its fee
    agrees = (has_o & has_c & (succ == 1) & paidlike & ~wrong_channel & ~other_merchant
              & (diff.abs() <= p.tolerance_fen) & ~far)
    clean = agrees & ~fee_off & (nw.col("c_bill_rows") != 0)
    kind = case(
        [
            (clean, "matched"),
            # an order not paid is unpaid whatever its method (a points order left unpaid is no internal payment)
            (has_o & ~has_c & ~paidlike, "unpaid"),
            (has_o & ~has_c & internal, "internal"),
            # a paid order of 0.00 (a coupon or points covered it all): no channel takes a payment of nothing
            (has_o & ~has_c & (nw.col("amount_fen") == 0), "internal"),
            (has_o & ~has_c & late.fill_null(False), "pending_cross_day"),
            (has_o & ~has_c, "order_only"),
            (~has_o, "channel_only"),
            (succ >= 2, "duplicate_payment"),
            ((succ == 1) & ~paidlike, "status_mismatch"),
            # paid just before the window's end, only a closed or failed attempt on this window's bills: the payment
            # itself is on the next day's (helper-46: an attempt closed at 23:57, paid at 23:58)
            ((succ == 0) & paidlike & ~internal & late.fill_null(False), "pending_cross_day"),
            # paid by stored value or points after an attempt through a channel that did not go through (helper-47)
            (paid_internally, "internal"),
            ((succ == 0) & paidlike, "status_mismatch"),
            ((succ == 0) & ~paidlike, "unpaid"),
            (wrong_channel, "channel_mismatch"),
            (other_merchant, "merchant_mismatch"),
            (diff.abs() > p.tolerance_fen, "amount_mismatch"),
            (far, "time_mismatch"),
            (fee_off, "fee_mismatch"),
            (nw.col("c_bill_rows") == 0, "unconfirmed"),
        ],
        "matched",
    )
    two_channels = nw.col("c_channel") != nw.col("c_channel_last")
    # more successful legs than successful rows from a bill: one of them at least is only a notification (a closed
    # attempt notified beside two bill payments is not, helper-39; nor does a closed bill row hide one, helper-40)
    notified = nw.col("c_succ") > nw.col("c_bill_rows")
    # an order naming no merchant number matched by its order number (``_by_order_number``), or in doubt
    wild = [] if not by_number else [
        (clean & nw.col("merchant_id").is_null() & ~nw.col("c_merchant").is_null(), "by_order_no")]
    doubt = [] if not by_number else [
        (has_o & ~has_c & paidlike & ~internal, nw.col("_pm_amb")),
        (~has_o, nw.col("_pm_amb_c")),
    ]
    detail = case(
        [
            *wild,
            (clean, None),
            (has_o & ~has_c & paidlike & ~internal & (nw.col("amount_fen") == 0), "zero_amount"),
            (has_o & late.fill_null(False) & paidlike & ~internal & (succ == 0), "late"),
            *doubt,
            (~has_o | ~has_c, None),
            # a duplicate payment on two channels, and/or with a leg no bill confirms yet (a notification only)
            ((succ >= 2) & two_channels & notified, "cross_channel,notification"),
            ((succ >= 2) & two_channels, "cross_channel"),
            ((succ >= 2) & notified, "notification"),
            (internal & has_c & (succ >= 1) & ~own_journal, "internal_method_paid"),
            (~expected.is_null() & elsewhere("c_channel"), "unexpected_channel"),
            # merchant_mismatch: the merchant number the channel credited (the outcome's merchant_id is the order's)
            (other_merchant & (succ == 1) & paidlike, nw.col("c_merchant")),
            # time_mismatch: when the channel booked it (UTC, as every engine time), to the microsecond (a reason
            # said '10:01:05 … 10:00:05 (+0 h 1 min 0 s)' of a gap of 60.6 s over a limit of a minute)
            (far & (succ == 1) & paidlike & (diff.abs() <= p.tolerance_fen),
             nw.col("c_occurred").dt.to_string("%Y-%m-%d %H:%M:%S.%f")),
            *([(agrees & fee_off, _fee_detail(p))] if p.fee_rates else []),
        ],
        None,
    )
    return {
        **paired_columns(has_o, has_c),
        "outcome_id": nw.concat_str([nw.lit("P-"), nw.col("_pm_key")]),
        "kind": kind,
        "detail": detail,  # (``finish_with_attempts`` adds the attempts)
        # an internal payment beside an attempt through a channel that did not go through: the method's
        "channel": nw.when(paid_internally).then(nw.coalesce(expected, nw.col("channel")))
        .otherwise(nw.coalesce(nw.col("c_channel"), expected, nw.col("channel"))),
        "merchant_id": nw.coalesce(nw.col("merchant_id"), nw.col("c_merchant")),
        "store_id": nw.col("store_id"),
        "order_no": nw.coalesce(nw.col("order_no"), nw.col("c_order_no")),
        "order_channel": nw.col("channel"),
        "occurred_at": nw.coalesce(nw.col("paid_at"), nw.col("c_occurred"), nw.col("created_at")),
    }
