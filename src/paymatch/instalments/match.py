"""Per-period matching for channels that pay the merchant once per period (周期扣款).

``match_instalments`` is a pure frame -> frame function in Narwhals (DuckDB and PySpark alike).
Orders it owns: ``owned_orders_expr`` (per-period channel, instalments != 0, money taken); the
main engine must leave exactly those out, because their periods replace the single payment match.
Up-front channels (Huabei, Baitiao, cards) are matched by the main engine; only their plan (fee,
outstanding) is used, by ``report``.

Conservation: each plan period, each owned order that cannot have a plan, and each flow row ends
in exactly one outcome. A plan period and its flow share one outcome (order_rows = channel_rows = 1).

Kinds (period_no on every row that has one):
  instalment_matched            period received with the planned amount (within tolerance)
  instalment_amount_mismatch    received, amount differs
  instalment_failed             the channel reports the period's deduction failed/processing/closed
  instalment_missing            due on or before as_of, no flow
  instalment_not_due            due after as_of, no flow yet (not a problem; keeps conservation)
  instalment_plan_mismatch      the flow's ``periods`` differs from the order's instalments
  instalment_unexpected         flow for an unknown order, or a period beyond the order's plan
  instalment_duplicate          a second flow for the same (order_no, period_no); the first by
                                (src_file, src_line) is the one matched
  instalment_bad_term           owned order whose term the channel doesn't offer (no plan made)
plan_status per owned order: 'reconciled' (every period matched), 'open' (no problem, some
periods not due yet), 'exception' (anything else); NULL for rows without a known order.
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw

from paymatch.instalments.config import DEFAULT_CONFIG, InstalmentConfig
from paymatch.instalments.expand import bad_terms, expand_plans
from paymatch.schema import OUTCOME_COLUMNS, PAID_STATUSES

INSTALMENT_OUTCOME_COLUMNS = [*OUTCOME_COLUMNS, "period_no", "due_date", "plan_status"]
INSTALMENT_KINDS = (
    "instalment_matched", "instalment_amount_mismatch", "instalment_failed", "instalment_missing",
    "instalment_not_due", "instalment_plan_mismatch", "instalment_unexpected", "instalment_duplicate",
    "instalment_bad_term",
)
#: kinds that need no action
CLEAN_INSTALMENT_KINDS = frozenset({"instalment_matched", "instalment_not_due"})


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


def _plan_side(orders: nw.LazyFrame, config: InstalmentConfig) -> nw.LazyFrame:
    owned = orders.filter(owned_orders_expr(config))
    plans = expand_plans(owned, config).select(
        "order_no", "period_no", nw.lit(0, dtype=nw.Int64).alias("_pm_slot"), "due_date",
        nw.col("amount_fen").alias("plan_amount_fen"), nw.lit(None, dtype=nw.String).alias("bad_reason"),
    )
    bad = bad_terms(owned, config).select(
        "order_no", nw.lit(None, dtype=nw.Int64).alias("period_no"), nw.lit(0, dtype=nw.Int64).alias("_pm_slot"),
        nw.lit(None, dtype=nw.Date).alias("due_date"), nw.lit(None, dtype=nw.Int64).alias("plan_amount_fen"),
        nw.col("reason").alias("bad_reason"),
    )
    return nw.concat([plans, bad]).with_columns(nw.lit(True).alias("_pm_p"))


def _flow_side(flows: nw.LazyFrame) -> nw.LazyFrame:
    # the first row by (src_file, src_line) is the one that counts; zero-padding makes text order = line order
    key = nw.concat_str([nw.col("src_file"), nw.lit(":"), nw.col("src_line").cast(nw.String).str.zfill(12)])
    return (
        flows.with_columns(key.alias("_pm_fkey"))
        .with_columns(nw.col("_pm_fkey").min().over("order_no", "period_no").alias("_pm_fmin"))
        .select(
            "order_no", nw.col("period_no").cast(nw.Int64),
            nw.when(nw.col("_pm_fkey") == nw.col("_pm_fmin")).then(0).otherwise(1).cast(nw.Int64).alias("_pm_slot"),
            nw.col("channel").alias("f_channel"), nw.col("periods").cast(nw.Int64).alias("f_periods"),
            nw.col("amount_fen").alias("f_amount_fen"), nw.col("fee_fen").alias("f_fee_fen"),
            nw.col("status").alias("f_status"), "occurred_at", "src_line",
            nw.lit(True).alias("_pm_f"),
        )
    )


def match_instalments(
    orders: nw.LazyFrame,
    flows: nw.LazyFrame,
    config: InstalmentConfig = DEFAULT_CONFIG,
    as_of: dt.date | None = None,
) -> nw.LazyFrame:
    """Per-period outcomes (``INSTALMENT_OUTCOME_COLUMNS``) for orders on per-period channels.

    orders: ORDER_COLUMNS; flows: ``flows.FLOW_ARROW`` columns (same backend/connection).
    as_of: periods due on or before it must have been received (default: today).
    """
    as_of = as_of or dt.date.today()
    info = orders.filter(owned_orders_expr(config)).select(
        "order_no", nw.col("instalments").cast(nw.Int64).alias("o_instalments"),
        nw.col("store_id").alias("o_store_id"), nw.col("merchant_id").alias("o_merchant_id"),
        nw.col("channel").alias("o_channel"), nw.col("status").alias("o_status"),
    )
    keys = ["order_no", "period_no", "_pm_slot"]
    joined = (
        _plan_side(orders, config)
        .join(_flow_side(flows), on=keys, how="full")
        .select(
            *[nw.coalesce(nw.col(k), nw.col(k + "_right")).alias(k) for k in keys],
            nw.exclude(*keys, *[k + "_right" for k in keys]),
        )
        .join(info, on="order_no", how="left")
        .with_columns(
            nw.col("_pm_p").fill_null(False), nw.col("_pm_f").fill_null(False),
            (~nw.col("o_instalments").is_null()).alias("_pm_known"),
            (nw.col("f_amount_fen") - nw.col("plan_amount_fen")).alias("_pm_diff"),
        )
    )
    p, f, known, diff = nw.col("_pm_p"), nw.col("_pm_f"), nw.col("_pm_known"), nw.col("_pm_diff")
    tol = config.amount_tolerance_fen
    kind = (
        nw.when(~nw.col("bad_reason").is_null()).then(nw.lit("instalment_bad_term"))
        .when(f & (nw.col("_pm_slot") == 1)).then(nw.lit("instalment_duplicate"))
        .when(f & known & (nw.col("f_periods") != nw.col("o_instalments"))).then(nw.lit("instalment_plan_mismatch"))
        .when(f & ~p).then(nw.lit("instalment_unexpected"))
        .when(p & ~f & (nw.col("due_date") <= nw.lit(as_of))).then(nw.lit("instalment_missing"))
        .when(p & ~f).then(nw.lit("instalment_not_due"))
        .when(nw.col("f_status") != "success").then(nw.lit("instalment_failed"))
        .when((diff > tol) | (diff < -tol)).then(nw.lit("instalment_amount_mismatch"))
        .otherwise(nw.lit("instalment_matched"))
    )
    k, n = _s(nw.col("period_no")), _s(nw.col("o_instalments"))
    reason = (
        nw.when(nw.col("_pm_kind") == "instalment_bad_term")
        .then(nw.concat_str([nw.lit("no plan: "), nw.col("bad_reason")]))
        .when(nw.col("_pm_kind") == "instalment_duplicate")
        .then(nw.concat_str([nw.lit("another flow for period "), k, nw.lit(" came first")]))
        .when(nw.col("_pm_kind") == "instalment_plan_mismatch")
        .then(nw.concat_str([nw.lit("flow says "), _s(nw.col("f_periods")), nw.lit(" periods, order has "), n]))
        .when((nw.col("_pm_kind") == "instalment_unexpected") & known)
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(" is beyond the order's "), n, nw.lit(" periods")]))
        .when(nw.col("_pm_kind") == "instalment_unexpected")
        .then(nw.lit("no per-period instalment order with this order_no"))
        .when(nw.col("_pm_kind") == "instalment_missing")
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" due "), _s(nw.col("due_date")),
                             nw.lit(" not received")]))
        .when(nw.col("_pm_kind") == "instalment_not_due")
        .then(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" due "), _s(nw.col("due_date"))]))
        .when(nw.col("_pm_kind") == "instalment_failed")
        .then(nw.concat_str([nw.lit("deduction for period "), k, nw.lit(" is "), nw.col("f_status")]))
        .when(nw.col("_pm_kind") == "instalment_amount_mismatch")
        .then(nw.concat_str([nw.lit("period "), k, nw.lit(": channel "), _yuan(nw.col("f_amount_fen")),
                             nw.lit(" ≠ plan "), _yuan(nw.col("plan_amount_fen")), nw.lit(" ("),
                             nw.when(diff > 0).then(nw.lit("+")).otherwise(nw.lit("")), _yuan(diff), nw.lit(")")]))
        .otherwise(nw.concat_str([nw.lit("period "), k, nw.lit("/"), n, nw.lit(" received")]))
    )
    bad = ~nw.col("_pm_kind").is_in(list(CLEAN_INSTALMENT_KINDS))
    plan_status = (
        nw.when(~known).then(nw.lit(None, dtype=nw.String))
        .when(nw.col("_pm_bad") > 0).then(nw.lit("exception"))
        .when(nw.col("_pm_open") > 0).then(nw.lit("open"))
        .otherwise(nw.lit("reconciled"))
    )
    oid = nw.concat_str([nw.lit("I-"), nw.col("order_no"), nw.lit("-"),
                         nw.coalesce(k, nw.lit("term"))])
    oid = nw.when(nw.col("_pm_slot") == 1).then(
        nw.concat_str([oid, nw.lit("-dup-"), _s(nw.col("src_line"))])).otherwise(oid)
    return (
        joined.with_columns(kind.alias("_pm_kind"))
        .with_columns(
            bad.cast(nw.Int64).sum().over("order_no").alias("_pm_bad"),
            (nw.col("_pm_kind") == "instalment_not_due").cast(nw.Int64).sum().over("order_no").alias("_pm_open"),
        )
        .select(
            oid.alias("outcome_id"),
            nw.col("_pm_kind").alias("kind"),
            nw.coalesce(nw.col("f_channel"), nw.col("o_channel")).alias("channel"),
            nw.col("o_merchant_id").alias("merchant_id"),
            nw.col("o_store_id").alias("store_id"),
            "order_no",
            nw.lit(None, dtype=nw.String).alias("refund_no"),
            nw.lit(None, dtype=nw.String).alias("channel_tx_id"),
            nw.col("plan_amount_fen").alias("order_amount_fen"),
            nw.col("f_amount_fen").alias("channel_amount_fen"),
            # a period not yet due is no shortfall; a failed deduction brought nothing in;
            # everything else: channel minus plan
            nw.when(nw.col("_pm_kind") == "instalment_not_due").then(0)
            .when(nw.col("_pm_kind") == "instalment_failed").then(-nw.col("plan_amount_fen"))
            .otherwise(nw.col("f_amount_fen").fill_null(0) - nw.col("plan_amount_fen").fill_null(0))
            .cast(nw.Int64).alias("difference_fen"),
            nw.col("f_fee_fen").alias("fee_fen"),
            nw.col("o_status").alias("order_status"),
            nw.col("f_status").alias("channel_status"),
            # an owned order that got no plan still counts as its one order row
            nw.when(nw.col("_pm_p") & (nw.col("_pm_slot") == 0)).then(1).otherwise(0).cast(nw.Int64).alias("order_rows"),
            nw.when(nw.col("_pm_f")).then(1).otherwise(0).cast(nw.Int64).alias("channel_rows"),
            nw.col("o_channel").alias("order_channel"),
            "occurred_at",
            reason.alias("reason"),
            "period_no",
            "due_date",
            plan_status.alias("plan_status"),
        )
    )
