"""Shop refunds ↔ channel refund records: full outer join on refund_no (out_refund_no).

Only successful refunds are expected on a bill. Kinds (first rule that applies wins):
  refund_failed           shop refund failed and no successful channel refund — consistent
  refund_pending          shop refund processing and no successful channel refund — consistent (not yet on a bill)
  internal                shop refund of an order paid by an internal method (balance, points), no channel refund:
                          paid back there (detail ``internal_refund``); a shop refund of 0.00 with no channel
                          refund (detail ``zero_refund``)
  pending_cross_day       shop refund created at/after window_end − grace, not on this window's bill
  refund_order_only       shop says refunded, no channel refund                  (退款平台单边)
  refund_channel_only     channel refund the shop never recorded                 (退款渠道单边)
  duplicate_refund        two or more successful channel refunds for one refund_no
  refund_order_mismatch   the channel refunded another order than the shop's refund names (money went
                          back to the wrong payer)
  refund_status_mismatch  one side success, the other not
  refund_amount_mismatch  |channel − shop| > tolerance                           (退款金额不符)
  over_refund             all agree, but with this refund the order's successful channel refunds add up to more
                          than was paid: the order's amount, or the channel's successful payments of the order when
                          they are more (a double payment refunded in full is no over-refund) (超额退款; detail
                          '<refunded through it>:<paid>', difference_fen the excess). Records count once each, on
                          every bill up to the run's end (``refund_history``), refunds in the order of their bill day,
                          then time, then refund id, then refund number (what a day's run has seen: a refund on a later bill counts after
                          those on earlier ones, whatever its time): the refund that crosses the amount and every
                          later one are over, whether run day by day or over a range
  unconfirmed             all agree, but only a real-time notification (no bill) says the channel paid it back
  refund_matched          all agree                                               (退款已对平)

A channel refund without the shop's refund number is paired with a shop refund of the same order and amount, in time
order (``_named_by_order_and_amount``; under key_scope only when unambiguous; detail ``by_order_amount``).
"""

from __future__ import annotations

import narwhals as nw

from .channel_side import aggregate, compared_amount, finish_with_attempts, paired_columns
from .expr import case, is_in, key_expr, settle_channel_expr, utc_time
from .ops import Ops
from .params import MatchParams


def refund_outcomes(refunds: nw.LazyFrame, txs: nw.LazyFrame, order_dims: nw.LazyFrame, p: MatchParams,
                    ops: Ops = Ops(), *, history: nw.LazyFrame | None = None) -> nw.LazyFrame:
    """Outcomes for every scoped shop refund and every primary channel refund record (``ops``: the
    backend's shortcuts, ``engine.ops``; ``history``: ``frames.Inputs.refund_history``)."""
    # refund records are a few per cent of all records and several steps read them: materialised once
    scoped = bool(p.key_scope)
    chan = ops.persist(txs.filter(nw.col("type") == "refund"))
    rid = nw.coalesce(nw.col("channel_refund_id"), nw.col("channel_tx_id"))
    fallback = nw.concat_str([nw.lit("~"), nw.col("channel"), nw.lit(":"), rid])
    # a shop refund that failed is no candidate for a record without a refund number (a failed refund retried under a
    # new number would make the retry's pairing ambiguous)
    open_refunds = refunds.filter(~(nw.col("status") == "failed").fill_null(False))
    chan = _numbered_as_its_order(chan, refunds)
    if scoped:  # refund numbers unique per merchant number: the key is '<merchant>/<refund_no>' ('/<refund_no>': shop-wide)
        shop_key = key_expr("refund_no", ("merchant_id",))
        chan = _scoped_named_by_order_and_amount(_scoped_merchant(chan, refunds),
                                                 open_refunds.with_columns(_pm_skey=shop_key))
        key = nw.concat_str([nw.col("_pm_km"), nw.lit("/"), nw.col("refund_no")])
    else:
        chan, key = _named_by_order_and_amount(chan, open_refunds), nw.col("refund_no")
        shop_key = key
    # the successful record's bill date and id: where the over-refund check places the refund among its order's
    side = aggregate(chan.with_columns(_pm_hid=rid), nw.coalesce(key, fallback), rid,
                     ("order_no", "refund_no", "_pm_inferred"), ops, succ_carry=("bill_date", "_pm_hid"))
    r = refunds.with_columns(_pm_key=shop_key, _pm_has_o=nw.lit(True))
    j = r.join(side.frame, on="_pm_key", how="full").with_columns(
        _pm_key=nw.coalesce(nw.col("_pm_key"), nw.col("_pm_key_right")),
        _pm_has_o=nw.col("_pm_has_o").fill_null(False),
        _pm_has_c=~nw.col("c_rows").is_null(),
        _pm_order_no=nw.coalesce(nw.col("order_no"), nw.col("c_order_no")),
    )
    if p.key_scope:
        # Order numbers repeat across merchant numbers: the refund belongs to the order of its own merchant
        # number when the shop names it, else of the one its channel record carries; without one (or without
        # that order), one attribution per order number (never two rows).
        exact = _dims(order_dims, "_x").rename({"_pm_merchant_x": "_pm_c_merchant"})
        j = j.with_columns(_pm_c_merchant=nw.coalesce(nw.col("merchant_id"), nw.col("c_merchant"))).join(
            exact, on=["_pm_order_no", "_pm_c_merchant"], how="left")
        # one whole order per number (the one of the lowest merchant number), never columns of two orders mixed
        mch = nw.col("merchant_id").fill_null("").alias("_pm_mch")
        first = order_dims.group_by("order_no").agg(mch.min())
        order_dims = order_dims.with_columns(mch).join(first, on=["order_no", "_pm_mch"], how="semi").drop("_pm_mch")
    j = j.join(_dims(order_dims, ""), on="_pm_order_no", how="left")
    if p.key_scope:  # the exact order when found (its method is never NULL), else the per-number one
        found = ~nw.col("_pm_method_x").is_null()
        j = j.with_columns(
            _pm_merchant=nw.when(found).then(nw.col("_pm_c_merchant"))
            .otherwise(nw.coalesce(nw.col("merchant_id"), nw.col("_pm_merchant"))),
            _pm_store=nw.when(found).then(nw.col("_pm_store_x")).otherwise(nw.col("_pm_store")),
            _pm_method=nw.when(found).then(nw.col("_pm_method_x")).otherwise(nw.col("_pm_method")),
            _pm_order_amt=nw.when(found).then(nw.col("_pm_order_amt_x")).otherwise(nw.col("_pm_order_amt")),
        )
    if history is None:  # the run's own records: the refunds, and the payments of the refunded orders
        ok = nw.col("status") == "success"
        # a record naming no order number belongs to the order of the shop refund of its number (one order's)
        shop = refunds.filter(~nw.col("order_no").is_null()).group_by("refund_no").agg(
            nw.col("order_no").min().alias("_pm_ono"), nw.col("order_no").max().alias("_pm_ono2"))
        shop = shop.filter(nw.col("_pm_ono") == nw.col("_pm_ono2")).select("refund_no", "_pm_ono")
        chan_h = chan.filter(ok).join(shop, on="refund_no", how="left").with_columns(
            order_no=nw.coalesce(nw.col("order_no"), nw.col("_pm_ono"))).drop("_pm_ono")
        refunded = chan_h.filter(~nw.col("order_no").is_null()).select("order_no").unique()
        history = nw.concat([
            chan_h.select("order_no", "merchant_id", "type", rid.alias("refund_id"), "refund_no",
                                   "occurred_at", _bill_day("bill_date", "occurred_at").alias("bill_day"), "amount_fen"),
            txs.filter(ok & (nw.col("type") == "payment")).join(refunded, on="order_no", how="semi").select(
                "order_no", "merchant_id", "type", nw.col("channel_tx_id").alias("refund_id"), "refund_no",
                "occurred_at", _bill_day("bill_date", "occurred_at").alias("bill_day"), "amount_fen"),
        ], how="vertical")
    j = j.join(_refunded_through(j, ops.persist(history), scoped), on="_pm_key", how="left")
    return finish_with_attempts(side.complete(j), _classify(p))


def _bill_day(bill_date: str, occurred_at: str) -> nw.Expr:
    """A record's bill day: its bill date, else the Asia/Shanghai day it occurred (engine times are naive UTC; the
    zone is a fixed +08:00 since 1992), as the workspace's selections take it."""
    return nw.coalesce(nw.col(bill_date), nw.col(occurred_at).dt.offset_by("8h").cast(nw.Date))


def _refunded_through(j: nw.LazyFrame, history: nw.LazyFrame, scoped: bool) -> nw.LazyFrame:
    """Per refund key with one successful channel refund: ``_pm_refunded``, what the channel refunded of its order up
    to and including it (the ``history`` refunds before it, by bill day, time and refund id, plus its own amount), and
    ``_pm_paid``, the order's successful payments in ``history``. Under key_scope a record of another merchant number
    is another order's."""
    own = j.filter(nw.col("_pm_has_c") & (nw.col("c_succ") == 1) & ~nw.col("_pm_order_no").is_null()).select(
        "_pm_key", "_pm_order_no", "c_occurred", "c__pm_hid", "c_merchant", "c_succ_amt",
        _bill_day("c_bill_date", "c_occurred").alias("_pm_day"), nw.col("c_refund_no").fill_null("").alias("_pm_rno"))
    h = history.select(nw.col("order_no").alias("_pm_order_no"), nw.col("merchant_id").alias("_pm_h_merchant"),
                       nw.col("type").alias("_pm_h_type"), nw.col("refund_id").alias("_pm_h_id"),
                       nw.col("refund_no").fill_null("").alias("_pm_h_rno"),
                       nw.col("occurred_at").alias("_pm_h_at"), nw.col("bill_day").alias("_pm_h_day"),
                       nw.col("amount_fen").alias("_pm_h_amt"))
    at, occurred, day, h_day = nw.col("_pm_h_at"), nw.col("c_occurred"), nw.col("_pm_day"), nw.col("_pm_h_day")
    h_id, c_id = nw.col("_pm_h_id"), nw.col("c__pm_hid")
    refund = nw.col("_pm_h_type") == "refund"
    # the refund number last: refunds of one WeChat payment share its id (no channel refund id), and a batch refunds
    # several in one second (helper-46). Only two numbers tell two records apart: a stored record without one is the
    # record a run paired by order and amount, never one before itself (helper-49)
    h_rno, c_rno = nw.col("_pm_h_rno"), nw.col("_pm_rno")
    same_day_before = (at < occurred) | ((at == occurred) & (
        (h_id < c_id) | ((h_id == c_id) & (h_rno != "") & (c_rno != "") & (h_rno < c_rno))))
    before = refund & ((h_day < day) | ((h_day == day) & same_day_before))
    pairs = own.join(h, on="_pm_order_no", how="inner")
    if scoped:
        pairs = pairs.filter(nw.col("_pm_h_merchant").is_null() | nw.col("c_merchant").is_null()
                             | (nw.col("_pm_h_merchant") == nw.col("c_merchant")))
    sums = pairs.group_by("_pm_key").agg(
        nw.when(before.fill_null(False)).then(nw.col("_pm_h_amt")).otherwise(0).sum().alias("_pm_before"),
        nw.when(~refund).then(nw.col("_pm_h_amt")).otherwise(0).sum().alias("_pm_paid"))
    return own.join(sums, on="_pm_key", how="left").select(
        "_pm_key", (nw.col("_pm_before").fill_null(0) + nw.col("c_succ_amt")).alias("_pm_refunded"),
        nw.col("_pm_paid").fill_null(0).alias("_pm_paid"))


def _numbered_as_its_order(chan: nw.LazyFrame, refunds: nw.LazyFrame) -> nw.LazyFrame:
    """Records whose channel refund id is their own order number and that name no refund number (Alipay's 业务明细
    lists a refund made without out_request_no so, and its reader leaves refund_no empty) take that number when the
    shop numbers a refund of that order with the order number itself: such a shop gave Alipay its refund number as
    out_request_no. Paired by order and amount instead, the two disagreeing in amount were a refund_channel_only
    and a refund_order_only, not one refund_amount_mismatch. Only refunds numbered as their order are joined (few)."""
    own = refunds.filter((nw.col("refund_no") == nw.col("order_no")).fill_null(False)).select(
        nw.col("refund_no").alias("_pm_own_no")).unique().with_columns(_pm_own=nw.lit(1))
    bare = (nw.col("refund_no").is_null() & (nw.col("channel_refund_id") == nw.col("order_no"))).fill_null(False)
    return chan.join(own, left_on="channel_refund_id", right_on="_pm_own_no", how="left").with_columns(
        refund_no=nw.when(bare & (nw.col("_pm_own") == 1).fill_null(False)).then(nw.col("channel_refund_id"))
        .otherwise(nw.col("refund_no"))).drop("_pm_own")


def _named_by_order_and_amount(chan: nw.LazyFrame, refunds: nw.LazyFrame) -> nw.LazyFrame:
    """Channel refunds with ``_pm_inferred`` (1 when ``refund_no`` was taken from the shop's refund).

    Some exports (aggregators, consoles) carry no merchant refund number. Such records take the numbers of the shop
    refunds (not failed) of the same order and amount that no channel record names, in time order: the first record
    (by bill day, time, id) the first refund (by time, number), the second the second; records or refunds beyond
    the other side's count stay unpaired (a refund_channel_only, a refund_order_only). Refunds of one order and
    amount are alike in money, so time order decides only which number is shown, and a day's run pairs as a range
    run over the same days does: the day's records with the day's open refunds, earlier pairs already matched
    (helper-46: two such refunds on two days were matched day by day, four breaks in a range).
    """
    open_key = ["order_no", "amount_fen"]
    named = chan.filter(~nw.col("refund_no").is_null()).select("refund_no").unique()
    records = chan.filter(nw.col("refund_no").is_null() & ~nw.col("order_no").is_null()).with_columns(
        _pm_one=nw.lit(1), _pm_day=_bill_day("bill_date", "occurred_at"),
        _pm_rid=nw.coalesce(nw.col("channel_refund_id"), nw.col("channel_tx_id")))
    records = records.with_columns(_pm_k=nw.col("_pm_one").cum_sum().over(
        *open_key, order_by=["_pm_day", "occurred_at", "_pm_rid", "_pm_row"])).select("_pm_row", *open_key, "_pm_k")
    shop = refunds.join(named, on="refund_no", how="anti").filter(~nw.col("order_no").is_null()).with_columns(
        _pm_one=nw.lit(1))
    shop = shop.with_columns(_pm_k=nw.col("_pm_one").cum_sum().over(*open_key, order_by=["created_at", "refund_no"])
                             ).select(*open_key, "_pm_k", nw.col("refund_no").alias("_pm_shop_refund"))
    pairs = records.join(shop, on=[*open_key, "_pm_k"], how="inner").select("_pm_row", "_pm_shop_refund")
    return chan.join(pairs, on="_pm_row", how="left").with_columns(
        _pm_inferred=(nw.col("refund_no").is_null() & ~nw.col("_pm_shop_refund").is_null()).cast(nw.Int8),
        refund_no=nw.coalesce(nw.col("refund_no"), nw.col("_pm_shop_refund")),
    ).drop("_pm_shop_refund")


def _scoped_named_by_order_and_amount(chan: nw.LazyFrame, refunds: nw.LazyFrame) -> nw.LazyFrame:
    """``_named_by_order_and_amount`` under key_scope: merchant numbers decide which pairs are possible.

    ``chan``: the records with ``_pm_km`` (``_scoped_merchant``); ``refunds``: the shop refunds with their key
    ``_pm_skey``. A shop refund is open when no record's key names it. A record without a refund number may pair
    with an open refund of its order and amount whose merchant number is its own, or where either names none.
    Where every record and refund of an order number and amount names its merchant number, the records of one
    merchant number pair with its refunds in time order, as without key_scope (refunds of one order and amount are
    alike in money; a day's run pairs as a range run does: two such refunds on two days were matched day by day
    and left four breaks in a range, helper-73). Where one of them names none (the merchant number is in doubt), a
    record takes the refund's number and key (``_pm_km``) only when that refund is its only possible pair and it
    is that refund's only possible record.
    """
    named = chan.filter(~nw.col("refund_no").is_null()).select(
        nw.concat_str([nw.col("_pm_km"), nw.lit("/"), nw.col("refund_no")]).alias("_pm_skey")).unique()
    shop = refunds.join(named, on="_pm_skey", how="anti").select(
        "order_no", "amount_fen", "_pm_skey", nw.col("refund_no").alias("_pm_shop_refund"),
        nw.col("merchant_id").alias("_pm_sm"), nw.col("created_at").alias("_pm_created"))
    cand = chan.filter(nw.col("refund_no").is_null() & ~nw.col("order_no").is_null()).select(
        "_pm_row", "order_no", "amount_fen", nw.col("merchant_id").alias("_pm_cm"),
        _bill_day("bill_date", "occurred_at").alias("_pm_day"), "occurred_at",
        nw.coalesce(nw.col("channel_refund_id"), nw.col("channel_tx_id")).alias("_pm_rid")).join(
        shop, on=["order_no", "amount_fen"], how="inner").filter(
        nw.col("_pm_sm").is_null() | nw.col("_pm_cm").is_null() | (nw.col("_pm_sm") == nw.col("_pm_cm")))
    # windows over the one candidate frame (no self-joins: a plain lazy plan inlines each reader again).
    # An order number and amount where a record or a refund names no merchant number is in doubt: only unambiguous
    # pairs. Elsewhere each record of a group (merchant number, order, amount) is a candidate of each of its refunds
    # (n records x m refunds rows): the n-th record by time pairs with the n-th refund by time.
    group = ["order_no", "amount_fen", "_pm_cm"]
    one = nw.col("_pm_row").is_null().cast(nw.Int64) + 1   # 1 on every row (a literal cannot take a window)
    cand = cand.with_columns(
        _pm_loose=(nw.col("_pm_sm").is_null() | nw.col("_pm_cm").is_null()).cast(nw.Int32).max()
        .over("order_no", "amount_fen"),
        _pm_nr=one.sum().over("_pm_row"), _pm_ns=one.sum().over("_pm_skey"),
        _pm_pr=one.cum_sum().over(*group, order_by=["_pm_day", "occurred_at", "_pm_rid", "_pm_row", "_pm_created",
                                                     "_pm_shop_refund"]),
        _pm_ps=one.cum_sum().over(*group, order_by=["_pm_created", "_pm_shop_refund", "_pm_day", "occurred_at",
                                                     "_pm_rid", "_pm_row"]),
    )
    unique = (nw.col("_pm_loose") == 1) & (nw.col("_pm_nr") == 1) & (nw.col("_pm_ns") == 1)
    # in a sure group _pm_nr is its refunds' count m and _pm_ns its records' count n
    ranked = (nw.col("_pm_loose") == 0) & (
        (nw.col("_pm_pr") - 1) // nw.col("_pm_nr") == (nw.col("_pm_ps") - 1) // nw.col("_pm_ns"))
    pairs = cand.filter(unique | ranked).select(
        "_pm_row", "_pm_shop_refund", nw.col("_pm_sm").fill_null("").alias("_pm_shop_km"))
    inferred = ~nw.col("_pm_shop_refund").is_null()
    return chan.join(pairs, on="_pm_row", how="left").with_columns(
        _pm_inferred=inferred.cast(nw.Int8),
        refund_no=nw.coalesce(nw.col("refund_no"), nw.col("_pm_shop_refund")),
        _pm_km=nw.when(inferred).then(nw.col("_pm_shop_km")).otherwise(nw.col("_pm_km")),
    ).drop("_pm_shop_refund", "_pm_shop_km")


def _scoped_merchant(chan: nw.LazyFrame, refunds: nw.LazyFrame) -> nw.LazyFrame:
    """Channel refunds with ``_pm_km``: the merchant part of their key under key_scope (refund numbers unique per
    merchant number), so that each record pairs with at most one shop refund, whatever the records say.

    A shop refund names its merchant number (``merchant_id``) or not; loading keeps a number either once without
    a merchant or once per merchant (``sources.canonical``). A record of number r takes: '' when the shop lists r
    without a merchant (a shop-wide number, as without key_scope); its own merchant number when the shop lists r
    under it; when the record names no merchant, the one merchant the shop lists r under (several: none); else its
    own merchant number ('' if none): a refund_channel_only keyed as the shop would key it.
    """
    # per refund number: rows without a merchant number (at most one), rows with one (and that one, when alone)
    per_no = refunds.select(nw.col("refund_no").alias("_pm_rn"), "merchant_id").group_by("_pm_rn").agg(
        nw.col("merchant_id").is_null().cast(nw.Int32).sum().alias("_pm_wide"),
        nw.col("merchant_id").count().alias("_pm_nm"), nw.col("merchant_id").min().alias("_pm_one"))
    m = nw.col("merchant_id")
    return (chan.join(per_no, left_on="refund_no", right_on="_pm_rn", how="left")
            .with_columns(_pm_km=nw.when((nw.col("_pm_wide") > 0).fill_null(False)).then(nw.lit(""))
                          .when(m.is_null() & (nw.col("_pm_nm") == 1).fill_null(False)).then(nw.col("_pm_one"))
                          .otherwise(m.fill_null("")))
            .drop("_pm_wide", "_pm_nm", "_pm_one"))


def _dims(order_dims: nw.LazyFrame, suffix: str) -> nw.LazyFrame:
    """The orders' attribution columns, named for the refund join (``_pm_order_no`` + suffixed others)."""
    return order_dims.select(
        nw.col("order_no").alias("_pm_order_no"),
        nw.col("store_id").alias(f"_pm_store{suffix}"),
        nw.col("merchant_id").alias(f"_pm_merchant{suffix}"),
        nw.col("channel").alias(f"_pm_method{suffix}"),
        nw.col("amount_fen").alias(f"_pm_order_amt{suffix}"),
    )


def _shown_key(p: MatchParams) -> nw.Expr:
    """The key as outcome ids show it: under key_scope a shop-wide number's key is '/<refund_no>', its id stays
    R-<refund_no> (as without key_scope); a number the shop gives under a merchant is R-<merchant>/<refund_no>.
    A shop-wide number holding a '/' keeps its leading '/' (R-/a/b), so that no two refunds share an id."""
    key = nw.col("_pm_key")
    if not p.key_scope:
        return key
    rest = key.str.slice(1)
    return nw.when(key.str.starts_with("/") & ~rest.str.contains("/", literal=True)).then(rest).otherwise(key)


def _classify(p: MatchParams) -> dict[str, nw.Expr]:
    has_o, has_c = nw.col("_pm_has_o"), nw.col("_pm_has_c")
    shop_ok = (nw.col("status") == "success").fill_null(False)
    succ = nw.col("c_succ").fill_null(0)
    late = (nw.col("created_at") >= utc_time(p.cross_day_from_utc)).fill_null(False)
    diff = compared_amount() - nw.col("amount_fen")
    paid = nw.max_horizontal(nw.col("_pm_order_amt"), nw.col("_pm_paid"))
    excess = nw.col("_pm_refunded") - paid
    # an order the run knows nothing of (neither the order nor a payment: paid in another file's period) is not held
    known = ~nw.col("_pm_order_amt").is_null() | (nw.col("_pm_paid") > 0).fill_null(False)
    over = (known & (excess > 0)).fill_null(False)
    kind = case(
        [
            (has_o & (nw.col("status") == "failed").fill_null(False) & (succ == 0), "refund_failed"),
            (has_o & ~shop_ok & (succ == 0), "refund_pending"),
            # money paid back to stored value or points: no channel refunds it (its order paid no channel either)
            (has_o & ~has_c & is_in("_pm_method", p.internal_methods), "internal"),
            # a refund of nothing (a 0.00 order's, a coupon given back): no channel pays back 0.00 (helper-46)
            (has_o & ~has_c & (nw.col("amount_fen") == 0).fill_null(False), "internal"),
            (has_o & ~has_c & late, "pending_cross_day"),
            (has_o & ~has_c, "refund_order_only"),
            (~has_o, "refund_channel_only"),
            (succ >= 2, "duplicate_refund"),
            ((nw.col("order_no") != nw.col("c_order_no")).fill_null(False), "refund_order_mismatch"),
            (shop_ok != (succ == 1), "refund_status_mismatch"),
            (diff.abs() > p.tolerance_fen, "refund_amount_mismatch"),
            (over, "over_refund"),
            # agrees, but only a real-time notification says the channel paid it back: no bill confirms it yet
            (nw.col("c_bill_rows") == 0, "unconfirmed"),
        ],
        "refund_matched",
    )
    paired = paired_columns(has_o, has_c)
    clean_but_over = kind == "over_refund"
    detail = (nw.when(clean_but_over).then(nw.concat_str([nw.col("_pm_refunded").cast(nw.String), nw.lit(":"),
                                                         paid.cast(nw.String)]))
              .when(has_o & ~has_c & is_in("_pm_method", p.internal_methods)).then(nw.lit("internal_refund"))
              .when(has_o & ~has_c & (nw.col("amount_fen") == 0).fill_null(False)).then(nw.lit("zero_refund"))
              .when(has_o & ~has_c & late & shop_ok).then(nw.lit("refund_late"))
              .when(nw.col("c__pm_inferred") == 1).then(nw.lit("by_order_amount")))
    return {
        **paired,
        "difference_fen": nw.when(clean_but_over).then(excess).otherwise(paired["difference_fen"]),
        "outcome_id": nw.concat_str([nw.lit("R-"), _shown_key(p)]),
        "kind": kind,
        "detail": detail,  # (``finish_with_attempts`` adds the attempts)
        "channel": nw.coalesce(nw.col("c_channel"), settle_channel_expr(p.settle_channel, "_pm_method"),
                               nw.col("_pm_method")),
        "merchant_id": nw.coalesce(nw.col("_pm_merchant"), nw.col("c_merchant")),
        "store_id": nw.col("_pm_store"),
        "order_no": nw.col("_pm_order_no"),
        "refund_no": nw.coalesce(nw.col("refund_no"), nw.col("c_refund_no")),
        "order_channel": nw.col("_pm_method"),
        "occurred_at": nw.coalesce(nw.col("created_at"), nw.col("c_occurred")),
    }
