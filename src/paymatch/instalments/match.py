"""Per-period matching for channels that pay the merchant once per period (周期扣款).

``match_instalments`` is a pure frame -> frame function in Narwhals (DuckDB and PySpark alike).
Orders it owns: ``owned_orders_expr`` (per-period channel, instalments != 0, money taken); the
main engine must leave exactly those out, because their periods replace the single payment match.
Up-front channels (Huabei, Baitiao, cards) are matched by the main engine; only their plan (fee,
outstanding) is used, by ``report``.

Conservation: each plan period, each owned order that cannot have a plan, and each flow row ends
in exactly one outcome. A plan period and its flow share one outcome (order_rows = channel_rows = 1).

Orders are keyed by order_no, or by (merchant_id, order_no) under ``key_scope = ["merchant_id"]``
(``match_instalments(key_scope=...)``); a flow is attributed to its own merchant number when it names
one (an optional merchant_id column), else to the only per-period order of its number.

Kinds (period_no on every row that has one):
  instalment_matched            period received with the planned amount (within tolerance)
  instalment_amount_mismatch    received, amount differs
  instalment_failed             the channel reports the period's deduction failed/processing/closed
  instalment_missing            due on or before as_of, no flow
  instalment_not_due            due after as_of, no flow yet (not a problem; keeps conservation)
  instalment_plan_mismatch      the flow's ``periods`` differs from the order's instalments
  instalment_channel_mismatch   the flow came through another channel than the order's (compared by the
                                channel each settles through, ``[methods] settle_channel``)
  instalment_unexpected         flow for an unknown order, a period beyond the order's plan, or (under
                                key_scope) a flow naming no merchant number for an order number that
                                several merchant numbers use
  instalment_duplicate          another successful flow for a period already paid; the period's flow
                                is its first successful one by (src_file, src_line), else its first
  instalment_attempt            a deduction of a period that did not succeed (failed/processing/closed)
                                beside the period's flow (a retry that succeeded, or the first attempt):
                                clean, no money
  instalment_bad_term           an order whose term the channel doesn't offer (no plan made): the
                                order's row (with its amount), and every flow of it. Also, as a signal
                                only (order_rows = 0), a paid order on an up-front channel with such a
                                term, whose payment the main engine matches
  instalment_ended              a period of a refunded order (status refunded) due on or after the
                                refund's day, with no deduction or a deduction that did not succeed: the
                                service ended, nothing is owed (clean). A refund dated after as_of has not
                                ended the plan yet; a refunded order no refund dates ended before any period
  instalment_after_refund       a successful deduction made after a refunded order's refund: money the
                                shop must return (difference_fen = the deduction)

Refunds (``refunds``: merchant_id, order_no, created_at, end_day): a full refund (the order's status
``refunded``) ends the plan at its latest refund; a partial refund (``partially_refunded``) changes no
period: the channels (WeChat Pay Score, Alipay 周期扣款) keep deducting what the shop asks and define no
shrinking of the remaining periods, so they stay due and the refund is reconciled on its own.
plan_status per owned order: 'reconciled' (every period matched), 'open' (no problem, some
periods not due yet), 'exception' (anything else); 'exception' for an up-front signal row;
NULL for rows without a known order.
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw

from paymatch.instalments.config import DEFAULT_CONFIG, InstalmentConfig
from paymatch.instalments.expand import bad_term_reason, expand_plans, offered_expr
from paymatch.schema import OUTCOME_COLUMNS, PAID_STATUSES, today_local

INSTALMENT_OUTCOME_COLUMNS = [*OUTCOME_COLUMNS, "period_no", "due_date", "plan_status"]
INSTALMENT_KINDS = (
    "instalment_matched", "instalment_amount_mismatch", "instalment_failed", "instalment_missing",
    "instalment_not_due", "instalment_plan_mismatch", "instalment_channel_mismatch", "instalment_unexpected",
    "instalment_duplicate", "instalment_attempt", "instalment_bad_term", "instalment_ended",
    "instalment_after_refund",
)
#: kinds that need no action
CLEAN_INSTALMENT_KINDS = frozenset({"instalment_matched", "instalment_not_due", "instalment_attempt",
                                   "instalment_ended"})


def owned_orders_expr(config: InstalmentConfig = DEFAULT_CONFIG) -> nw.Expr:
    """Orders reconciled through their plan instead of the main engine's payment match."""
    n = nw.col("instalments")
    return (
        nw.col("channel").is_in(list(config.per_period_channels))
        & ~n.is_null() & (n != 0)
        & nw.col("status").is_in([str(s) for s in PAID_STATUSES])
    )


def _s(expr: nw.Expr) -> nw.Expr:
    """Integer expression as text, for reasons."""
    return expr.cast(nw.String)


def _yuan(fen: nw.Expr) -> nw.Expr:
    """An amount in fen as yuan text (-0.05, 99.00), as every other reason writes amounts."""
    a = fen.abs()
    sign = nw.when(fen < 0).then(nw.lit("-")).otherwise(nw.lit(""))
    return nw.concat_str([sign, _s(a // 100), nw.lit("."), _s(a % 100).str.zfill(2)])


def _settles(channel: nw.Expr, settle_channel: dict[str, str]) -> nw.Expr:
    """The channel a method settles through (``[methods] settle_channel``); a name the map lacks is its own."""
    expr = channel
    for method, target in sorted(settle_channel.items()):
        if method != target:
            expr = nw.when(channel == method).then(nw.lit(target)).otherwise(expr)
    return expr


def _order_info(orders: nw.LazyFrame, config: InstalmentConfig) -> nw.LazyFrame:
    """One row per order the matcher speaks of: owned orders (``o_owned``) and paid orders on up-front
    channels whose term no channel plan can have (only a signal: their payment stays with the main engine).
    ``o_bad_reason``: why the order has no plan (NULL when it has one)."""
    n = nw.col("instalments")
    owned = owned_orders_expr(config)
    unplannable = ~n.is_null() & (n != 0) & ~offered_expr(config)
    paid = nw.col("status").is_in([str(s) for s in PAID_STATUSES])
    return orders.filter(owned | (unplannable & paid)).select(
        "_pm_mkey", "order_no", n.cast(nw.Int64).alias("o_instalments"),
        nw.col("store_id").alias("o_store_id"), nw.col("merchant_id").alias("o_merchant_id"),
        nw.col("channel").alias("o_channel"), nw.col("status").alias("o_status"),
        nw.col("amount_fen").cast(nw.Int64).alias("o_amount_fen"), owned.alias("o_owned"),
        nw.when(unplannable).then(bad_term_reason(config)).otherwise(nw.lit(None, dtype=nw.String))
        .alias("o_bad_reason"),
    )


def _moneyless(orders: nw.LazyFrame, config: InstalmentConfig) -> nw.LazyFrame:
    """Orders on a per-period channel with instalments that took no money (unpaid, closed: no plan), by key, with
    their status (``u_status``). A deduction for one (an order cancelled after its first period) is
    instalment_unexpected; its reason said "no per-period instalment order with this order_no", sending staff
    looking for an order that is there, closed."""
    n = nw.col("instalments")
    return orders.filter(
        nw.col("channel").is_in(list(config.per_period_channels)) & ~n.is_null() & (n != 0)
        & ~nw.col("status").is_in([str(s) for s in PAID_STATUSES])
    ).select("_pm_mkey", "order_no", nw.col("status").cast(nw.String).alias("u_status"))


def _refund_ends(info: nw.LazyFrame, refunds: nw.LazyFrame | None, scoped: bool) -> nw.LazyFrame | None:
    """Per refunded owned order (status ``refunded``): its latest refund's instant (``r_at``) and local day
    (``r_day``), the moment the shop ended the service. ``refunds``: merchant_id, order_no, created_at, end_day
    (shop refunds and the channel's refund records that did not fail). Under key_scope a refund naming a merchant
    number is that number's order's; one naming none is its number's."""
    if refunds is None:
        return None
    r = refunds.select("order_no", nw.col("merchant_id").alias("r_mid"), nw.col("created_at").alias("r_at"),
                       nw.col("end_day").alias("r_day"))
    ended = info.filter(nw.col("o_owned") & (nw.col("o_status") == "refunded")).select("_pm_mkey", "order_no")
    j = ended.join(r, on="order_no", how="inner")
    if scoped:
        j = j.filter(nw.col("r_mid").is_null() | (nw.col("r_mid") == nw.col("_pm_mkey")))
    return j.group_by("_pm_mkey", "order_no").agg(nw.col("r_at").max(), nw.col("r_day").max())


def _plan_side(orders: nw.LazyFrame, info: nw.LazyFrame, config: InstalmentConfig, mkey: nw.Expr) -> nw.LazyFrame:
    """Plan periods of owned orders, plus one row (period_no NULL) per order in ``info`` that has no plan."""
    plans = expand_plans(orders.filter(owned_orders_expr(config)), config).select(
        mkey.alias("_pm_mkey"), "order_no", "period_no", nw.lit(0, dtype=nw.Int64).alias("_pm_slot"), "due_date",
        nw.col("amount_fen").alias("plan_amount_fen"), nw.lit(None, dtype=nw.String).alias("bad_reason"),
    )
    bad = info.filter(~nw.col("o_bad_reason").is_null()).select(
        "_pm_mkey", "order_no", nw.lit(None, dtype=nw.Int64).alias("period_no"),
        nw.lit(0, dtype=nw.Int64).alias("_pm_slot"),
        nw.lit(None, dtype=nw.Date).alias("due_date"), nw.lit(None, dtype=nw.Int64).alias("plan_amount_fen"),
        nw.col("o_bad_reason").alias("bad_reason"),
    )
    return nw.concat([plans, bad]).with_columns(nw.lit(True).alias("_pm_p"))


def _flow_side(flows: nw.LazyFrame, owners: nw.LazyFrame | None) -> nw.LazyFrame:
    """Flows keyed by (_pm_mkey, order_no, period_no): slot 0 is the period's flow that counts, the first
    successful one by (src_file, src_line, then time and amount), else the first; every other flow is slot 1,
    numbered by ``_pm_nth`` (its place among the period's flows in that order).

    ``owners`` (under key_scope: per order_no, how many owned orders have it and the least merchant key)
    attributes a flow: to its own merchant number when it names one, else to the number's only order; a flow
    naming none for a number several merchant numbers use is ``_pm_ambiguous`` and matches nothing.
    """
    # zero-padding makes text order = line order; one file name and line may hold two stored flows (an export
    # downloaded again under its name with a row changed is stored beside the first: ``Workspace.ingest_flows``),
    # so the deduction's time (as text: the same order on either engine, whose zone is one for all rows), then its
    # amount, tell them apart: one is the period's flow, the other its duplicate/attempt, each with its own id
    fkey = nw.concat_str([nw.col("src_file"), nw.lit(":"), nw.col("src_line").cast(nw.String).str.zfill(12),
                          nw.lit(":"), nw.col("occurred_at").dt.to_string("%Y-%m-%d %H:%M:%S.%f").fill_null(""),
                          nw.lit(":"), nw.col("amount_fen").cast(nw.String).str.zfill(20).fill_null("")])
    if owners is None:
        flows = flows.with_columns(nw.lit("").alias("_pm_mkey"), nw.lit(False).alias("_pm_ambiguous"),
                                   nw.lit(None, dtype=nw.Int64).alias("_pm_owners"),
                                   nw.lit(None, dtype=nw.String).alias("_pm_fmid"))
    else:
        own = (nw.col("merchant_id") if "merchant_id" in flows.collect_schema().names()
               else nw.lit(None, dtype=nw.String))
        flows = (
            flows.with_columns(own.alias("_pm_fmid")).join(owners, on="order_no", how="left")
            .with_columns(
                nw.when(~nw.col("_pm_fmid").is_null()).then(nw.col("_pm_fmid"))
                .when(nw.col("_pm_owners") == 1).then(nw.col("_pm_owner"))
                .otherwise(nw.lit(None, dtype=nw.String)).alias("_pm_mkey"),
                (nw.col("_pm_fmid").is_null() & (nw.col("_pm_owners") > 1)).fill_null(False).alias("_pm_ambiguous"),
            )
        )
    success_first = nw.when(nw.col("status") == "success").then(nw.lit("0")).otherwise(nw.lit("1"))
    period = ["_pm_mkey", "order_no", "period_no"]
    return (
        flows.with_columns(fkey.alias("_pm_fkey"))
        .with_columns(nw.concat_str([success_first, nw.col("_pm_fkey")]).alias("_pm_pkey"))
        .with_columns(
            nw.col("_pm_pkey").min().over(*period).alias("_pm_pmin"),
            nw.col("_pm_fkey").rank("ordinal").over(*period).cast(nw.Int64).alias("_pm_nth"),
        )
        .select(
            "_pm_mkey", "order_no", nw.col("period_no").cast(nw.Int64),
            nw.when(nw.col("_pm_pkey") == nw.col("_pm_pmin")).then(0).otherwise(1).cast(nw.Int64).alias("_pm_slot"),
            nw.col("channel").alias("f_channel"), nw.col("periods").cast(nw.Int64).alias("f_periods"),
            nw.col("amount_fen").alias("f_amount_fen"), nw.col("fee_fen").alias("f_fee_fen"),
            nw.col("status").alias("f_status"), "occurred_at", "_pm_nth", "_pm_ambiguous",
            nw.col("_pm_owners").cast(nw.Int64).alias("_pm_owners"), "_pm_fmid",
            nw.col("_pm_pmin").str.starts_with("0").alias("_pm_paid"),
            nw.lit(True).alias("_pm_f"),
        )
    )


def match_instalments(
    orders: nw.LazyFrame,
    flows: nw.LazyFrame,
    config: InstalmentConfig = DEFAULT_CONFIG,
    as_of: dt.date | None = None,
    *,
    key_scope: tuple[str, ...] = (),
    settle_channel: dict[str, str] | None = None,
    refunds: nw.LazyFrame | None = None,
) -> nw.LazyFrame:
    """Per-period outcomes (``INSTALMENT_OUTCOME_COLUMNS``) for orders on per-period channels.

    orders: ORDER_COLUMNS; flows: ``flows.FLOW_ARROW`` columns (same backend/connection), and optionally
    merchant_id (the merchant number the deduction was credited to).
    as_of: periods due on or before it must have been received (default: today in Asia/Shanghai).
    key_scope: ``[match] key_scope``; with "merchant_id" an order is (merchant_id, order_no), as in the
    payment match, and its ids are ``I-<merchant>/<order_no>-<period>``.
    settle_channel: ``[methods] settle_channel``: a flow's channel and its order's are compared by the
    channel each settles through (a name the map lacks is its own).
    refunds: the orders' refunds (merchant_id, order_no, created_at as the flows' occurred_at, end_day: its local
    date), those that did not fail; a refunded order's plan ends at its latest (module docstring). None: no refund
    dates any order (a refunded order's plan ended before its first period).
    """
    as_of = as_of or today_local()
    scoped = "merchant_id" in key_scope
    mkey = nw.coalesce(nw.col("merchant_id"), nw.lit("")) if scoped else nw.lit("")
    orders = orders.with_columns(mkey.alias("_pm_mkey"))
    info = _order_info(orders, config)
    owners = (
        info.filter(nw.col("o_owned")).group_by("order_no")
        .agg(nw.len().cast(nw.Int64).alias("_pm_owners"), nw.col("_pm_mkey").min().alias("_pm_owner"))
        if scoped else None
    )
    keys = ["_pm_mkey", "order_no", "period_no", "_pm_slot"]
    joined = (
        _plan_side(orders, info, config, mkey)
        .join(_flow_side(flows, owners), on=keys, how="full")
        .select(
            *[nw.coalesce(nw.col(k), nw.col(k + "_right")).alias(k) for k in keys],
            nw.exclude(*keys, *[k + "_right" for k in keys]),
        )
        .join(info, on=["_pm_mkey", "order_no"], how="left")
        .join(_moneyless(orders, config), on=["_pm_mkey", "order_no"], how="left")
    )
    ends = _refund_ends(info, refunds, scoped)
    if ends is None:
        joined = joined.with_columns(nw.lit(None, dtype=nw.Date).alias("r_day"), nw.lit(False).alias("_pm_after"))
    else:
        joined = joined.join(ends, on=["_pm_mkey", "order_no"], how="left").with_columns(
            (nw.col("occurred_at") > nw.col("r_at")).fill_null(False).alias("_pm_after"))
    joined = (
        joined.with_columns(
            nw.col("_pm_p").fill_null(False), nw.col("_pm_f").fill_null(False),
            nw.col("_pm_ambiguous").fill_null(False),
            nw.col("o_owned").fill_null(False).alias("_pm_known"),
            (nw.col("f_amount_fen") - nw.col("plan_amount_fen")).alias("_pm_diff"),
        )
    )
    p, f, known, diff = nw.col("_pm_p"), nw.col("_pm_f"), nw.col("_pm_known"), nw.col("_pm_diff")
    extra = nw.col("_pm_slot") == 1
    # a refunded order's plan has ended as of as_of when its latest refund is on or before it (or no refund dates
    # it); a period due on or after the refund's day is then owed no more
    refunded = known & (nw.col("o_status") == "refunded")
    r_day = nw.col("r_day")
    ended = refunded & (r_day.is_null() | (r_day <= nw.lit(as_of)))
    ended_period = ended & (r_day.is_null() | (nw.col("due_date") >= r_day))
    after = f & refunded & ~r_day.is_null() & (r_day <= nw.lit(as_of)) & nw.col("_pm_after")
    no_plan = p & ~nw.col("bad_reason").is_null()  # the row of an order that has no plan
    settle = dict(settle_channel or {})
    channel_ok = _settles(nw.col("f_channel"), settle) == _settles(nw.col("o_channel"), settle)
    tol = config.amount_tolerance_fen
    kind = (
        nw.when(no_plan).then(nw.lit("instalment_bad_term"))
        .when(f & known & ~nw.col("o_bad_reason").is_null()).then(nw.lit("instalment_bad_term"))
        .when(f & nw.col("_pm_ambiguous")).then(nw.lit("instalment_unexpected"))
        .when(f & extra & (nw.col("f_status") != "success")).then(nw.lit("instalment_attempt"))
        .when(f & extra).then(nw.lit("instalment_duplicate"))
        .when(f & known & ~channel_ok).then(nw.lit("instalment_channel_mismatch"))
        .when(f & known & (nw.col("f_periods") != nw.col("o_instalments"))).then(nw.lit("instalment_plan_mismatch"))
        .when(f & ~p).then(nw.lit("instalment_unexpected"))
        .when(after & (nw.col("f_status") == "success")).then(nw.lit("instalment_after_refund"))
        .when(p & ended_period & (~f | (nw.col("f_status") != "success"))).then(nw.lit("instalment_ended"))
        .when(p & ~f & (nw.col("due_date") <= nw.lit(as_of))).then(nw.lit("instalment_missing"))
        .when(p & ~f).then(nw.lit("instalment_not_due"))
        .when(nw.col("f_status") != "success").then(nw.lit("instalment_failed"))
        .when((diff > tol) | (diff < -tol)).then(nw.lit("instalment_amount_mismatch"))
        .otherwise(nw.lit("instalment_matched"))
    )
    k, n = _s(nw.col("period_no")), _s(nw.col("o_instalments"))
    is_ = lambda name: nw.col("_pm_kind") == name  # noqa: E731
    refund_said = (nw.when(r_day.is_null()).then(nw.lit("refunded (no refund dates it)"))
                   .otherwise(nw.concat_str([nw.lit("refunded on "), _s(r_day)])))
    reason = (
        nw.when(is_("instalment_bad_term") & p & ~known)
        .then(nw.concat_str([nw.lit("no plan: "), nw.col("bad_reason"),
                             nw.lit("; the payment is reconciled as usual")]))
        .when(is_("instalment_bad_term") & p)
        .then(nw.concat_str([nw.lit("no plan: "), nw.col("bad_reason")]))
        .when(is_("instalment_bad_term"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(" of an order without a plan: "), nw.col("o_bad_reason")]))
        .when(is_("instalment_unexpected") & nw.col("_pm_ambiguous"))
        .then(nw.concat_str([nw.lit("the flow names no merchant number and "), _s(nw.col("_pm_owners")),
                             nw.lit(" merchant numbers have a per-period order with this order_no")]))
        .when(is_("instalment_attempt") & nw.col("_pm_paid"))
        .then(nw.concat_str([nw.lit("deduction attempt for period "), k, nw.lit(" is "), nw.col("f_status"),
                             nw.lit("; another deduction of the period succeeded")]))
        .when(is_("instalment_attempt"))
        .then(nw.concat_str([nw.lit("deduction attempt for period "), k, nw.lit(" is "), nw.col("f_status"),
                             nw.lit("; the period's first attempt stands for it")]))
        .when(is_("instalment_duplicate"))
        .then(nw.concat_str([nw.lit("another flow for period "), k, nw.lit(" came first")]))
        .when(is_("instalment_channel_mismatch"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(" came through "), nw.col("f_channel"),
                             nw.lit(", the order's channel is "), nw.col("o_channel"), nw.lit(" (渠道不符)")]))
        .when(is_("instalment_plan_mismatch"))
        .then(nw.concat_str([nw.lit("flow says "), _s(nw.col("f_periods")), nw.lit(" periods, order has "), n]))
        .when(is_("instalment_unexpected") & known)
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(" is beyond the order's "), n, nw.lit(" periods")]))
        .when(is_("instalment_unexpected") & ~nw.col("u_status").is_null())
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(" deducted for an order that is "), nw.col("u_status"),
                             nw.lit(" (no money taken at the sale, so no plan): money to return or an order to "
                                    "correct")]))
        .when(is_("instalment_unexpected") & ~nw.col("_pm_fmid").is_null())
        .then(nw.concat_str([nw.lit("no per-period instalment order with this order_no under merchant number "),
                             nw.col("_pm_fmid")]))
        .when(is_("instalment_unexpected"))
        .then(nw.lit("no per-period instalment order with this order_no"))
        .when(is_("instalment_after_refund"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" deducted after the order was refunded on "),
                             _s(r_day), nw.lit(": money to return (退款后扣款)")]))
        .when(is_("instalment_ended") & f)
        .then(nw.concat_str([nw.lit("deduction for period "), k, nw.lit(" is "), nw.col("f_status"),
                             nw.lit(", after the order was "), refund_said, nw.lit(": nothing owed")]))
        .when(is_("instalment_ended"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" due "), _s(nw.col("due_date")),
                             nw.lit(" not owed: the order was "), refund_said, nw.lit(" (服务已终止)")]))
        .when(is_("instalment_missing"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" due "), _s(nw.col("due_date")),
                             nw.lit(" not received")]))
        .when(is_("instalment_not_due"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" due "), _s(nw.col("due_date"))]))
        .when(is_("instalment_failed"))
        .then(nw.concat_str([nw.lit("deduction for period "), k, nw.lit(" is "), nw.col("f_status")]))
        .when(is_("instalment_amount_mismatch"))
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(": channel "), _yuan(nw.col("f_amount_fen")),
                             nw.lit(" ≠ plan "), _yuan(nw.col("plan_amount_fen")), nw.lit(" ("),
                             nw.when(diff > 0).then(nw.lit("+")).otherwise(nw.lit("")), _yuan(diff), nw.lit(")")]))
        .otherwise(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" received")]))
    )
    bad = ~nw.col("_pm_kind").is_in(list(CLEAN_INSTALMENT_KINDS))
    plan_status = (
        nw.when(nw.col("o_owned").is_null()).then(nw.lit(None, dtype=nw.String))
        .when(nw.col("_pm_bad") > 0).then(nw.lit("exception"))
        .when(nw.col("_pm_open") > 0).then(nw.lit("open"))
        .otherwise(nw.lit("reconciled"))
    )
    # ids: I-<order>-<period> (I-<order>-term for an order without a plan); a period's other flows add
    # #<n>, their place among the period's flows by (src_file, src_line): unique, and the same on a rerun
    order_key = (nw.concat_str([nw.coalesce(nw.col("_pm_mkey"), nw.lit("?")), nw.lit("/"), nw.col("order_no")])
                 if scoped else nw.col("order_no"))
    oid = nw.concat_str([nw.lit("I-"), order_key, nw.lit("-"), nw.coalesce(k, nw.lit("term"))])
    oid = nw.when(f & extra).then(nw.concat_str([oid, nw.lit("#"), _s(nw.col("_pm_nth"))])).otherwise(oid)
    order_of = ["_pm_mkey", "order_no"]
    return (
        joined.with_columns(kind.alias("_pm_kind"))
        .with_columns(
            bad.cast(nw.Int64).sum().over(*order_of).alias("_pm_bad"),
            (nw.col("_pm_kind") == "instalment_not_due").cast(nw.Int64).sum().over(*order_of).alias("_pm_open"),
        )
        .select(
            oid.alias("outcome_id"),
            nw.col("_pm_kind").alias("kind"),
            nw.coalesce(nw.col("f_channel"), nw.col("o_channel")).alias("channel"),
            # a flow of no known order keeps the merchant number it names (under key_scope; reports group by it)
            nw.coalesce(nw.col("o_merchant_id"), nw.col("_pm_fmid")).alias("merchant_id"),
            nw.col("o_store_id").alias("store_id"),
            "order_no",
            nw.lit(None, dtype=nw.String).alias("refund_no"),
            nw.lit(None, dtype=nw.String).alias("channel_tx_id"),
            # an order without a plan carries its own amount (its one order row ties out the control totals)
            nw.when(no_plan).then(nw.col("o_amount_fen")).otherwise(nw.col("plan_amount_fen"))
            .alias("order_amount_fen"),
            nw.col("f_amount_fen").alias("channel_amount_fen"),
            # a period not yet due is no shortfall, nor an order without a plan, nor an attempt beside the
            # period's flow; a failed deduction brought nothing in; everything else: channel minus plan
            # an ended period is owed no more; a deduction after the refund is all money to return
            nw.when(nw.col("_pm_kind").is_in(["instalment_not_due", "instalment_attempt", "instalment_ended"])
                    | no_plan).then(0)
            .when(nw.col("_pm_kind") == "instalment_after_refund").then(nw.col("f_amount_fen"))
            .when(nw.col("_pm_kind") == "instalment_failed").then(-nw.col("plan_amount_fen"))
            .otherwise(nw.col("f_amount_fen").fill_null(0) - nw.col("plan_amount_fen").fill_null(0))
            .cast(nw.Int64).alias("difference_fen"),
            nw.col("f_fee_fen").alias("fee_fen"),
            nw.col("o_status").alias("order_status"),
            nw.col("f_status").alias("channel_status"),
            # an owned order that got no plan still counts as its one order row; an up-front order's
            # signal row counts none (its payment outcome holds the order)
            nw.when(p & ~extra & known).then(1).otherwise(0).cast(nw.Int64).alias("order_rows"),
            nw.when(f).then(1).otherwise(0).cast(nw.Int64).alias("channel_rows"),
            nw.col("o_channel").alias("order_channel"),
            "occurred_at",
            reason.alias("reason"),
            "period_no",
            "due_date",
            plan_status.alias("plan_status"),
        )
    )
