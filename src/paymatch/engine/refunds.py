"""Shop refunds ↔ channel refund records: full outer join on refund_no (out_refund_no).

Only successful refunds are expected on a bill. Kinds (first rule that applies wins):
  refund_failed           shop refund failed and no successful channel refund — consistent
  refund_pending          shop refund processing and no successful channel refund — consistent (not yet on a bill)
  pending_cross_day       shop refund created at/after window_end − grace, not on this window's bill
  refund_order_only       shop says refunded, no channel refund                  (退款平台单边)
  refund_channel_only     channel refund the shop never recorded                 (退款渠道单边)
  duplicate_refund        two or more successful channel refunds for one refund_no
  refund_order_mismatch   the channel refunded another order than the shop's refund names (money went
                          back to the wrong payer)
  refund_status_mismatch  one side success, the other not
  refund_amount_mismatch  |channel − shop| > tolerance                           (退款金额不符)
  refund_matched          all agree                                               (退款已对平)

A channel refund without the shop's refund number is paired with the shop refund of the same order and
amount when that is unambiguous (``_named_by_order_and_amount``; detail ``by_order_amount``).
"""

from __future__ import annotations

import narwhals as nw

from .channel_side import aggregate, compared_amount, paired_columns
from .expr import case, key_expr, settle_channel_expr
from .frames import finish
from .ops import Ops
from .params import MatchParams


def refund_outcomes(refunds: nw.LazyFrame, txs: nw.LazyFrame, order_dims: nw.LazyFrame, p: MatchParams,
                    ops: Ops = Ops()) -> nw.LazyFrame:
    """Outcomes for every scoped shop refund and every primary channel refund record (``ops``: the
    backend's shortcuts, ``engine.ops``)."""
    # refund records are a few per cent of all records and several steps read them: materialised once
    scoped = bool(p.key_scope)
    chan = _named_by_order_and_amount(ops.persist(txs.filter(nw.col("type") == "refund")), refunds, scoped)
    rid = nw.coalesce(nw.col("channel_refund_id"), nw.col("channel_tx_id"))
    fallback = nw.concat_str([nw.lit("~"), nw.col("channel"), nw.lit(":"), rid])
    key = nw.col("refund_no")
    if scoped:  # refund numbers unique per merchant number: the key is '<merchant>/<refund_no>' ('/<refund_no>': shop-wide)
        chan = _scoped_merchant(chan, refunds)
        key = nw.concat_str([nw.col("_pm_km"), nw.lit("/"), nw.col("refund_no")])
    side = aggregate(chan, nw.coalesce(key, fallback), rid, ("order_no", "refund_no", "_pm_inferred"), ops)
    r = refunds.with_columns(_pm_key=key_expr("refund_no", ("merchant_id",) if scoped else ()),
                             _pm_has_o=nw.lit(True))
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
        order_dims = order_dims.group_by("order_no").agg(
            nw.col("store_id").min(), nw.col("merchant_id").min(), nw.col("channel").min())
    j = j.join(_dims(order_dims, ""), on="_pm_order_no", how="left")
    if p.key_scope:  # the exact order when found (its method is never NULL), else the per-number one
        found = ~nw.col("_pm_method_x").is_null()
        j = j.with_columns(
            _pm_merchant=nw.when(found).then(nw.col("_pm_c_merchant"))
            .otherwise(nw.coalesce(nw.col("merchant_id"), nw.col("_pm_merchant"))),
            _pm_store=nw.when(found).then(nw.col("_pm_store_x")).otherwise(nw.col("_pm_store")),
            _pm_method=nw.when(found).then(nw.col("_pm_method_x")).otherwise(nw.col("_pm_method")),
        )
    return finish(side.complete(j), _classify(p))


def _named_by_order_and_amount(chan: nw.LazyFrame, refunds: nw.LazyFrame, scoped: bool = False) -> nw.LazyFrame:
    """Channel refunds with ``_pm_inferred`` (1 when ``refund_no`` was taken from the shop's refund).

    Some exports (aggregators, consoles) carry no merchant refund number. Such a record takes the
    number of the shop refund of the same order and amount when that pairing is unambiguous: exactly
    one such record and exactly one such shop refund that no channel record names. Otherwise it stays
    unnamed (a refund_channel_only beside the shop's refund_order_only), never guessed.
    ``scoped`` (key_scope): a shop refund that names its merchant number pairs only with a record of that
    number (or of none).
    """
    open_key = ["order_no", "amount_fen"]
    unnamed = chan.filter(nw.col("refund_no").is_null() & ~nw.col("order_no").is_null())
    named = chan.filter(~nw.col("refund_no").is_null()).select("refund_no").unique()
    records = unnamed.group_by(open_key).agg(nw.len().alias("_pm_n")).filter(nw.col("_pm_n") == 1)
    shop_m = [nw.col("merchant_id").min().alias("_pm_shop_merchant")] if scoped else []
    shop = (refunds.join(named, on="refund_no", how="anti").group_by(open_key)
            .agg(nw.len().alias("_pm_n"), nw.col("refund_no").min().alias("_pm_shop_refund"), *shop_m)
            .filter(nw.col("_pm_n") == 1))
    pairs = records.join(shop.drop("_pm_n"), on=open_key, how="inner").drop("_pm_n")
    c = chan.join(pairs, on=open_key, how="left")
    if scoped:  # another merchant number's refund of a namesake order is not this one
        other = (nw.col("_pm_shop_merchant") != nw.col("merchant_id")).fill_null(False)
        c = c.with_columns(_pm_shop_refund=nw.when(~other).then(nw.col("_pm_shop_refund"))).drop("_pm_shop_merchant")
    return c.with_columns(
        _pm_inferred=(nw.col("refund_no").is_null() & ~nw.col("_pm_shop_refund").is_null()).cast(nw.Int8),
        refund_no=nw.coalesce(nw.col("refund_no"), nw.col("_pm_shop_refund")),
    ).drop("_pm_shop_refund")


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
    )


def _shown_key(p: MatchParams) -> nw.Expr:
    """The key as outcome ids show it: under key_scope a shop-wide number's key is '/<refund_no>', its id stays
    R-<refund_no> (as without key_scope); a number the shop gives under a merchant is R-<merchant>/<refund_no>."""
    key = nw.col("_pm_key")
    if not p.key_scope:
        return key
    return nw.when(key.str.starts_with("/")).then(key.str.slice(1)).otherwise(key)


def _classify(p: MatchParams) -> dict[str, nw.Expr]:
    has_o, has_c = nw.col("_pm_has_o"), nw.col("_pm_has_c")
    shop_ok = (nw.col("status") == "success").fill_null(False)
    succ = nw.col("c_succ").fill_null(0)
    late = (nw.col("created_at") >= nw.lit(p.cross_day_from_utc)).fill_null(False)
    diff = compared_amount() - nw.col("amount_fen")
    kind = case(
        [
            (has_o & (nw.col("status") == "failed").fill_null(False) & (succ == 0), "refund_failed"),
            (has_o & ~shop_ok & (succ == 0), "refund_pending"),
            (has_o & ~has_c & late, "pending_cross_day"),
            (has_o & ~has_c, "refund_order_only"),
            (~has_o, "refund_channel_only"),
            (succ >= 2, "duplicate_refund"),
            ((nw.col("order_no") != nw.col("c_order_no")).fill_null(False), "refund_order_mismatch"),
            (shop_ok != (succ == 1), "refund_status_mismatch"),
            (diff.abs() > p.tolerance_fen, "refund_amount_mismatch"),
        ],
        "refund_matched",
    )
    return {
        **paired_columns(has_o, has_c),
        "outcome_id": nw.concat_str([nw.lit("R-"), _shown_key(p)]),
        "kind": kind,
        "detail": nw.when(has_o & ~has_c & late & shop_ok).then(nw.lit("refund_late"))
        .when(nw.col("c__pm_inferred") == 1).then(nw.lit("by_order_amount")),
        "channel": nw.coalesce(nw.col("c_channel"), settle_channel_expr(p.settle_channel, "_pm_method"),
                               nw.col("_pm_method")),
        "merchant_id": nw.coalesce(nw.col("_pm_merchant"), nw.col("c_merchant")),
        "store_id": nw.col("_pm_store"),
        "order_no": nw.col("_pm_order_no"),
        "refund_no": nw.coalesce(nw.col("refund_no"), nw.col("c_refund_no")),
        "order_channel": nw.col("_pm_method"),
        "occurred_at": nw.coalesce(nw.col("created_at"), nw.col("c_occurred")),
    }
