"""Instalment figures per channel / store / term, and outstanding instalments per member.

Pure functions of the plan frame (``expand.expand_plans``) and, for per-period channels, the
outcome frame (``match.match_instalments``). The lead's report model wraps the returned Arrow
table; nothing here renders.

Definitions (as_of is a local date):
- a period is *settled* when its outcome is ``instalment_matched`` (per-period channels), or
  ``instalment_ended`` / ``instalment_after_refund`` (the order was refunded: the period is owed no more,
  a deduction after the refund is money the shop returns, not the buyer's debt), or, for up-front
  channels, once it is due (the channel paid the seller at purchase and collects the period from the
  buyer itself) or its order is refunded (status ``refunded``: the refund went back through the
  channel, which cancels what the buyer still owed it);
- *outstanding* = not settled; *overdue* = per-period, due on or before as_of and not settled;
- *seller fee for the period* = the seller-borne fee where the channel charges it:
  up-front channels (Huabei, Baitiao, card instalments) deduct the whole interest-free fee from
  the sale's settlement, so it counts in full when the sale's local day (``sale_date``) is within
  [period_start, period_end]; per-period channels charge it with each deduction, so a period's
  share (``fee_fen``, split by the same remainder rule as the principal) counts when the period is
  due within the window.

Which orders have plans and which stored outcome decides a period: ``stored.stored_plans``.
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import pyarrow as pa

#: a per-period period's outcome that leaves nothing owed: received, or owed no more after its order's refund
SETTLED_KINDS = ("instalment_matched", "instalment_ended", "instalment_after_refund")

REPORT_COLUMNS = [
    "channel", "store_id", "term", "plans", "periods", "outstanding_periods", "outstanding_fen",
    "overdue_periods", "overdue_fen", "seller_fee_fen",
]


def _with_status(plan: nw.LazyFrame, outcomes: nw.LazyFrame | None, as_of: dt.date) -> nw.LazyFrame:
    """Plan rows plus ``_pm_settled`` / ``_pm_overdue`` flags (0/1)."""
    due = nw.col("due_date") <= nw.lit(as_of)
    if outcomes is None:
        # no outcomes: nothing per-period counts as received yet
        lf = plan.with_columns(nw.lit(False).alias("_pm_matched"))
    else:
        # a plan is (_pm_mkey, order_no) where both frames carry the merchant part (``stored``: under key_scope)
        keys = ["order_no", "period_no"]
        if "_pm_mkey" in outcomes.collect_schema().names() and "_pm_mkey" in plan.collect_schema().names():
            keys = ["_pm_mkey", *keys]
        got = outcomes.filter((nw.col("order_rows") == 1) & ~nw.col("period_no").is_null()).select(
            *keys, nw.col("kind").is_in(list(SETTLED_KINDS)).alias("_pm_matched")
        )
        lf = plan.join(got, on=keys, how="left").with_columns(
            nw.col("_pm_matched").fill_null(False)
        )
    settled = nw.when(nw.col("per_period")).then(nw.col("_pm_matched")).otherwise(
        due | (nw.col("order_status") == "refunded"))
    overdue = nw.col("per_period") & due & ~nw.col("_pm_matched")
    return lf.with_columns(
        settled.cast(nw.Int64).alias("_pm_settled"), overdue.cast(nw.Int64).alias("_pm_overdue")
    )


def instalment_report(
    plan: nw.LazyFrame,
    outcomes: nw.LazyFrame | None,
    as_of: dt.date,
    period_start: dt.date,
    period_end: dt.date,
) -> pa.Table:
    """One row per (channel, store_id, term), columns ``REPORT_COLUMNS``, amounts in fen, sorted."""
    if period_end < period_start:
        raise ValueError("period_end is before period_start")
    lf = _with_status(plan, outcomes, as_of)
    open_ = 1 - nw.col("_pm_settled")
    def in_window(day: str) -> nw.Expr:
        return (nw.col(day) >= nw.lit(period_start)) & (nw.col(day) <= nw.lit(period_end))

    # up front: the whole fee, once (on period 1's row), in the window of the sale; per period: each share when due
    fee = (
        nw.when(nw.col("per_period")).then(nw.when(in_window("due_date")).then(nw.col("fee_fen")).otherwise(0))
        .otherwise(nw.when((nw.col("period_no") == 1) & in_window("sale_date")).then(nw.col("seller_fee_fen"))
                   .otherwise(0))
    )
    out = (
        lf.with_columns(
            open_.alias("_pm_open"),
            (open_ * nw.col("amount_fen")).alias("_pm_open_fen"),
            (nw.col("_pm_overdue") * nw.col("amount_fen")).alias("_pm_overdue_fen"),
            fee.alias("_pm_fee"),
        )
        .group_by("channel", "store_id", "term")
        .agg(
            # every plan has one period 1: a plan counted by its key, not by its order number (under key_scope
            # two merchant numbers' orders of one number are two plans: helper-63)
            (nw.col("period_no") == 1).cast(nw.Int64).sum().cast(nw.Int64).alias("plans"),
            nw.len().cast(nw.Int64).alias("periods"),
            nw.col("_pm_open").sum().cast(nw.Int64).alias("outstanding_periods"),
            nw.col("_pm_open_fen").sum().cast(nw.Int64).alias("outstanding_fen"),
            nw.col("_pm_overdue").sum().cast(nw.Int64).alias("overdue_periods"),
            nw.col("_pm_overdue_fen").sum().cast(nw.Int64).alias("overdue_fen"),
            nw.col("_pm_fee").sum().cast(nw.Int64).alias("seller_fee_fen"),
        )
        .select(REPORT_COLUMNS)
        .sort("channel", "store_id", "term")
    )
    return out.collect().to_arrow()


def outstanding_by_member(plan: nw.LazyFrame, outcomes: nw.LazyFrame | None, as_of: dt.date) -> nw.LazyFrame:
    """Lazy frame (member_id, outstanding_periods, outstanding_fen): what each buyer still owes on plans."""
    lf = _with_status(plan, outcomes, as_of).filter(~nw.col("member_id").is_null() & (nw.col("_pm_settled") == 0))
    return lf.group_by("member_id").agg(
        nw.len().cast(nw.Int64).alias("outstanding_periods"),
        nw.col("amount_fen").sum().cast(nw.Int64).alias("outstanding_fen"),
    )


def member_outstanding_fen(
    plan: nw.LazyFrame, outcomes: nw.LazyFrame | None, as_of: dt.date, member_id: str
) -> int:
    """Outstanding instalment principal of one member in fen (0 when none); collects one row."""
    lf = outstanding_by_member(plan, outcomes, as_of).filter(nw.col("member_id") == member_id)
    rows = lf.collect().to_arrow().column("outstanding_fen").to_pylist()
    return int(rows[0]) if rows else 0
