"""Instalment plans and their periods' outcomes as a workspace stores them.

The one reading the instalment report (``reports.instalments``) and the credit check
(``credit.setup``) share, so what counts as outstanding is decided in one place:

- plans: orders with instalments > 0 whose money was taken (``PAID_STATUSES``: paid, refunded,
  partially refunded), as the per-period matcher owns them (``match.owned_orders_expr``); an unpaid
  or closed order never started a plan, so it owes nothing and is overdue on nothing;
- under ``[match] key_scope = ["merchant_id"]`` a plan is its merchant number and order number, as the matcher
  keys it (``_pm_mkey`` on both frames): two merchant numbers' orders of one number are two plans, each
  decided by its own periods' outcomes (helper-63: one order number's outcomes stood for both);
- a period's outcome: the period's own row (``order_rows = 1``; a repeated flow's
  ``instalment_duplicate`` row and a flow beyond the plan have none), as the stored run that judged it
  as of the latest day saw it (the run's ``as_of``), then the run reaching furthest (latest period_to,
  then period_from; the outcome id breaks what is left, so the choice never depends on the table's
  row order).

``report._with_status`` then decides: a per-period plan's period is settled when that outcome is
``instalment_matched`` (or its order's refund ended it: ``report.SETTLED_KINDS``); an up-front plan's once it is
due, or at once when its order is refunded.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw

from paymatch.instalments.config import InstalmentConfig
from paymatch.instalments.expand import expand_plans
from paymatch.schema import ORDER_COLUMNS, PAID_STATUSES, TZ

_PAID = ", ".join(f"'{s}'" for s in PAID_STATUSES)


def _plan_orders(member_param: str | None) -> str:
    """SQL condition on ``orders``: the orders that have a plan (of the member named by ``$member_param``)."""
    where = f"instalments > 0 AND status IN ({_PAID})"
    return where if member_param is None else f"{where} AND member_id = ${member_param}"


def stored_plans(con: duckdb.DuckDBPyConnection, config: InstalmentConfig,
                 member_id: str | None = None, as_of: dt.date | None = None, *,
                 key_scope: tuple[str, ...] = ()) -> tuple[nw.LazyFrame, nw.LazyFrame]:
    """(plan, outcomes) lazy frames for ``report.instalment_report`` / ``report.member_outstanding_fen``.

    plan: ``expand.PLAN_COLUMNS`` of the plans (of one member's orders when ``member_id`` is given) and
    ``_pm_mkey``, the merchant part of the plan's key ('' unless ``key_scope`` holds merchant_id);
    outcomes: _pm_mkey, order_no, period_no, kind, order_rows — at most one row per (_pm_mkey, order_no,
    period_no). With ``as_of``, a
    period matched by a deduction after that day (Asia/Shanghai) was not received yet as of it: its kind reads
    ``instalment_missing`` (helper-63: the report as of 20 Nov counted a period paid on 25 Nov as received), and
    so does a period a refund after that day ended (``instalment_ended`` / ``instalment_after_refund``); a plan sold
    after that day (its ``sale_date``) is left out.
    """
    cols = ", ".join(ORDER_COLUMNS)
    # an outcome's merchant_id is its order's (``match``: o_merchant_id), so both sides key alike
    mkey = "coalesce(merchant_id, '')" if "merchant_id" in key_scope else "''"
    one = member_id is not None
    # each relation names its own parameter: DuckDB refuses to join two relations that share one
    orders = con.sql(f"SELECT {cols} FROM orders WHERE {_plan_orders('member' if one else None)}",
                     params={"member": member_id} if one else None)
    of_member = f" AND order_no IN (SELECT order_no FROM orders WHERE {_plan_orders('member_o')})" if one else ""
    kind = "kind"
    if as_of is not None:  # stored outcome times are naive UTC
        end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(TZ))
        end_utc = end.astimezone(dt.UTC).replace(tzinfo=None)
        # a period a refund after that day ended (instalment_ended, or a deduction after it: instalment_after_refund)
        # was still owed as of it: the plan's latest refund ends it (``match``), and a refund after the as-of day
        # has not ended the plan yet (helper-111: the report as of 24 Oct owed nothing on a plan refunded on the 27th)
        scope = " AND (rf.merchant_id IS NULL OR rf.merchant_id = o.merchant_id)" if "merchant_id" in key_scope else ""
        later_refund = (
            f"EXISTS (SELECT 1 FROM (SELECT merchant_id, order_no, created_at AS at FROM refunds "
            f"WHERE status IN ('success', 'processing') UNION ALL SELECT merchant_id, order_no, occurred_at "
            f"FROM transactions WHERE type = 'refund' AND status IN ('success', 'processing')) rf "
            f"WHERE rf.order_no = o.order_no{scope} AND rf.at >= TIMESTAMPTZ '{end.isoformat()}')")
        kind = (f"CASE WHEN kind = 'instalment_matched' AND occurred_at >= TIMESTAMP '{end_utc.isoformat(' ')}' "
                "THEN 'instalment_missing' "
                f"WHEN kind IN ('instalment_ended', 'instalment_after_refund') AND {later_refund} "
                "THEN 'instalment_missing' ELSE kind END AS kind")
    # the run that judged the period as of the latest day (a range run ending after its as-of does not outrank a
    # later day's run: helper-63), then the run reaching furthest
    outcomes = con.sql(
        f"SELECT {mkey} AS _pm_mkey, order_no, period_no, {kind}, order_rows FROM outcomes o LEFT JOIN (SELECT run_id, "
        "TRY_CAST(json_extract_string(summary, '$.as_of') AS DATE) AS run_as_of FROM runs) r USING (run_id) "
        f"WHERE period_no IS NOT NULL AND order_rows = 1{of_member} "
        "QUALIFY row_number() OVER (PARTITION BY _pm_mkey, order_no, period_no "
        "ORDER BY run_as_of DESC NULLS LAST, period_to DESC, period_from DESC, outcome_id) = 1",
        params={"member_o": member_id} if one else None)
    plan = expand_plans(nw.from_native(orders), config).with_columns(
        (nw.col("merchant_id").fill_null("") if "merchant_id" in key_scope else nw.lit("")).alias("_pm_mkey"))
    if as_of is not None:
        # a plan sold after the as-of day did not exist as of it: nothing of it was outstanding then (helper-111: the
        # report as of 31 Oct, made on 20 Nov, counted November's plans as outstanding on 31 Oct)
        plan = plan.filter(nw.col("sale_date") <= nw.lit(as_of))
    return plan, nw.from_native(outcomes)
