"""Vectorised plans: expand an orders LazyFrame into one row per order per period (Narwhals).

Same rules as ``plan.make_plan`` (a property test holds them equal), written with expressions
only so it runs unchanged on DuckDB and PySpark:

- periods: cross join with a tiny frame 1..max_term, keep ``period_no <= instalments``;
- the local payment date comes from the instant's epoch seconds + 8 h (Asia/Shanghai has had no
  DST since 1991), turned into a civil date with integer arithmetic (H. Hinnant's
  days->civil algorithm), because DuckDB reads timestamptz parts in the *connection's* zone.
  Caveat: DuckDB subtracts TIMESTAMPTZ values in the session calendar, so its session time zone
  must keep one UTC offset from 2000 on (UTC or Asia/Shanghai; the workspace sets Asia/Shanghai);
  a DST zone would shift some dates by an hour. Spark subtracts instants exactly;
- due date = that date + offset + (k-1) months, day clamped to month end, built as text and parsed.

Orders whose channel has no instalments configured or whose term the channel doesn't offer are
not expanded; ``bad_terms`` lists them so the caller can report them (nothing silently dropped).
"""

from __future__ import annotations

import datetime as dt

import narwhals as nw

from paymatch.instalments.config import DEFAULT_CONFIG, InstalmentConfig

PLAN_COLUMNS = [
    "order_no", "store_id", "merchant_id", "channel", "member_id", "order_status",
    "order_amount_fen", "term", "per_period", "rate_bp", "seller_fee_fen", "sale_date",
    "period_no", "due_date", "amount_fen", "fee_fen",
]
# reference instant after Shanghai's last DST (1991) so the subtraction is exact in that zone
_REF = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
_REF_EPOCH_S = 946_684_800
_SHANGHAI_OFFSET_S = 8 * 3600


def _epoch_seconds(ts: nw.Expr, implementation: nw.Implementation, tz_aware: bool = True) -> nw.Expr:
    """Whole seconds since 1970-01-01T00:00Z of a timestamp: the one dialect difference.

    ``tz_aware``: the column carries its zone; otherwise it is a naive UTC time (what a run's selections
    hand the engines), which must not be read in the session's zone.
    Spark casts a timestamp to BIGINT as epoch seconds but Narwhals has no ``total_seconds`` there (a
    naive TIMESTAMP_NTZ is first made a timestamp in the session zone, UTC); DuckDB can't cast TIMESTAMPTZ
    to BIGINT but subtracts (see the module caveat on time zones; naive minus naive is exact).
    """
    if implementation in (nw.Implementation.PYSPARK, nw.Implementation.PYSPARK_CONNECT, nw.Implementation.SQLFRAME):
        if not tz_aware:
            ts = ts.cast(nw.Datetime("us", "UTC"))
        return ts.cast(nw.Int64)
    return (ts - nw.lit(_REF if tz_aware else _REF.replace(tzinfo=None))).dt.total_seconds() + _REF_EPOCH_S


def _tz_aware(frame: nw.LazyFrame, col: str) -> bool:
    dtype = frame.collect_schema()[col]
    return not isinstance(dtype, nw.Datetime) or dtype.time_zone is not None


def _chain(pairs: list[tuple[nw.Expr, object]], default: object) -> nw.Expr:
    """when(c1).then(v1).otherwise(when(c2)...) — nested so every backend accepts it."""
    expr: nw.Expr = nw.lit(default) if not isinstance(default, nw.Expr) else default
    for cond, value in reversed(pairs):
        expr = nw.when(cond).then(value if isinstance(value, nw.Expr) else nw.lit(value)).otherwise(expr)
    return expr


def offered_expr(config: InstalmentConfig) -> nw.Expr:
    """Boolean: the order's (channel, instalments) is a term its channel offers."""
    ch, n = nw.col("channel"), nw.col("instalments")
    conds = [(ch == c) & n.is_in(list(t.terms)) for c, t in sorted(config.channels.items())]
    if not conds:
        return nw.lit(False)
    return nw.any_horizontal(*conds, ignore_nulls=True)


def bad_term_reason(config: InstalmentConfig) -> nw.Expr:
    """Why an order's (channel, instalments) can have no plan, in the words of ``plan.check_term``
    ("huabei does not offer 5 periods (offers 3, 6, 12)"); only meaningful where ``offered_expr`` is false."""
    ch, n = nw.col("channel"), nw.col("instalments")
    offers = _chain([(ch == c, ", ".join(str(t) for t in spec.terms)) for c, spec in sorted(config.channels.items())],
                    "")
    return (
        nw.when(n < 0).then(nw.lit("instalments is negative"))
        .otherwise(nw.when(~ch.is_in(sorted(config.channels))).then(nw.lit("channel offers no instalments"))
                   .otherwise(nw.concat_str([ch, nw.lit(" does not offer "), n.cast(nw.String),
                                             nw.lit(" periods (offers "), offers, nw.lit(")")])))
    )


def bad_terms(orders: nw.LazyFrame, config: InstalmentConfig = DEFAULT_CONFIG) -> nw.LazyFrame:
    """Orders with instalments != 0 that cannot have a plan, with the reason (order_no, channel, instalments, reason)."""
    n = nw.col("instalments")
    return (
        orders.filter(~n.is_null() & (n != 0) & ~offered_expr(config))
        .select("order_no", "channel", "instalments", bad_term_reason(config).alias("reason"))
    )


def _split_cols(lf: nw.LazyFrame, total: str, out: str, rule: str) -> nw.LazyFrame:
    """Add ``out``: period k's share of ``total`` over ``term`` periods; mirrors ``plan.split_fen``."""
    c, k, n = nw.col, nw.col("period_no"), nw.col("term")
    lf = lf.with_columns((c(total) // n).alias("_pm_base")).with_columns(
        (c(total) - c("_pm_base") * n).alias("_pm_rem")
    )
    if rule == "first":
        extra = nw.when(k == 1).then(c("_pm_rem")).otherwise(0)
    elif rule == "last":
        extra = nw.when(k == n).then(c("_pm_rem")).otherwise(0)
    else:
        extra = nw.when(k <= c("_pm_rem")).then(1).otherwise(0)
    return lf.with_columns((c("_pm_base") + extra).cast(nw.Int64).alias(out)).drop("_pm_base", "_pm_rem")


def _civil(lf: nw.LazyFrame, days: str, pre: str) -> nw.LazyFrame:
    """Add year/month/day (``pre``y/m/d) of a days-since-1970 column (valid from 0000-03-01).

    ``//`` is only ever applied to expressions of plain columns: Narwhals spells floor division as
    a CASE that repeats its operands, so nesting them would make the SQL grow exponentially; and
    few steps, because Spark re-analyses the whole plan at every ``with_columns``.
    """
    c = nw.col
    return (
        lf.with_columns(
            (c(days) + 719468).alias("_pm_z"), ((c(days) + 719468) // 146097).alias("_pm_era"),
        )
        .with_columns((c("_pm_z") - c("_pm_era") * 146097).alias("_pm_doe"))
        .with_columns(
            (c("_pm_doe") // 1460).alias("_pm_q1"), (c("_pm_doe") // 36524).alias("_pm_q2"),
            (c("_pm_doe") // 146096).alias("_pm_q3"),
        )
        .with_columns(((c("_pm_doe") - c("_pm_q1") + c("_pm_q2") - c("_pm_q3")) // 365).alias("_pm_yoe"))
        .with_columns(
            (c("_pm_doe") - (c("_pm_yoe") * 365 + c("_pm_yoe") // 4 - c("_pm_yoe") // 100)).alias("_pm_doy")
        )
        .with_columns(((c("_pm_doy") * 5 + 2) // 153).alias("_pm_mp"))
        .with_columns(
            (c("_pm_doy") - (c("_pm_mp") * 153 + 2) // 5 + 1).alias(pre + "d"),
            nw.when(c("_pm_mp") < 10).then(c("_pm_mp") + 3).otherwise(c("_pm_mp") - 9).alias(pre + "m"),
            (c("_pm_yoe") + c("_pm_era") * 400 + nw.when(c("_pm_mp") >= 10).then(1).otherwise(0)).alias(pre + "y"),
        )
        .drop("_pm_z", "_pm_era", "_pm_doe", "_pm_q1", "_pm_q2", "_pm_q3", "_pm_yoe", "_pm_doy", "_pm_mp")
    )


def _days_in_month(y: nw.Expr, m: nw.Expr) -> nw.Expr:
    """Number of days in month ``m`` of year ``y`` (Gregorian)."""
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return (
        nw.when(m == 2).then(nw.when(leap).then(29).otherwise(28))
        .otherwise(nw.when(m.is_in([4, 6, 9, 11])).then(30).otherwise(31))
    )


def _date_from_parts(y: nw.Expr, m: nw.Expr, d: nw.Expr) -> nw.Expr:
    """A DATE from valid integer parts (text then parse: the one date constructor every backend has)."""
    text = nw.concat_str(
        [y.cast(nw.String), nw.lit("-"), m.cast(nw.String).str.zfill(2), nw.lit("-"), d.cast(nw.String).str.zfill(2)]
    )
    return text.str.to_date("%Y-%m-%d")


def expand_plans(orders: nw.LazyFrame, config: InstalmentConfig = DEFAULT_CONFIG) -> nw.LazyFrame:
    """One row per period of every order with a valid instalment term (columns ``PLAN_COLUMNS``).

    Reads orders' ORDER_COLUMNS; the plan starts from paid_at (created_at when paid_at is NULL), whose
    local day is ``sale_date``.
    """
    chans = sorted(config.channels.items())
    ch, n = nw.col("channel"), nw.col("instalments").cast(nw.Int64)
    rate = _chain([((ch == c) & (n == t), bp) for c, spec in chans for t, bp in spec.rates_bp.items()], 0)
    per_period = _chain([(ch == c, spec.per_period) for c, spec in chans], False)
    offset = _chain([(ch == c, spec.first_due_offset_months) for c, spec in chans], 1)
    c = nw.col
    base = (
        orders.filter(~n.is_null() & (n > 0) & offered_expr(config))
        .with_columns(
            (
                _epoch_seconds(nw.coalesce(c("paid_at"), c("created_at")), orders.implementation,
                               _tz_aware(orders, "paid_at"))
                + _SHANGHAI_OFFSET_S
            ).alias("_pm_secs"),
            rate.cast(nw.Int64).alias("rate_bp"),
            offset.alias("_pm_offset"),
        )
        .with_columns((c("_pm_secs") // 86400).alias("_pm_days"))
        .pipe(_civil, "_pm_days", "_pm_paid_")
        # half-up on the fen, in integers: (amount * bp + 5000) // 10000
        .with_columns((c("amount_fen").cast(nw.Int64) * c("rate_bp") + 5000).alias("_pm_fee_num"))
        .select(
            "order_no", "store_id", "merchant_id", "channel", "member_id",
            c("status").alias("order_status"),
            c("amount_fen").cast(nw.Int64).alias("order_amount_fen"),
            n.alias("term"),
            per_period.alias("per_period"),
            "rate_bp",
            (c("_pm_fee_num") // 10000).cast(nw.Int64).alias("seller_fee_fen"),
            (c("_pm_paid_y") * 12 + c("_pm_paid_m") - 1 + c("_pm_offset")).alias("_pm_month0"),
            c("_pm_paid_d").alias("_pm_day"),
            _date_from_parts(c("_pm_paid_y"), c("_pm_paid_m"), c("_pm_paid_d")).alias("sale_date"),
        )
    )
    # a periods frame 1..max_term, derived from the (unprocessed) orders frame so it lives on the same
    # backend and connection (a frame made elsewhere can't be joined to a DuckDB relation of another
    # connection); an empty orders frame gives no periods, and then there is nothing to expand anyway
    periods = nw.concat(
        [orders.head(1).select(nw.lit(k, dtype=nw.Int64).alias("period_no"))
         for k in range(1, max(config.max_term, 1) + 1)]
    )
    k, term = c("period_no"), c("term")
    return (
        base.join(periods, how="cross")
        .filter(k <= term)
        .with_columns((c("_pm_month0") + k - 1).alias("_pm_idx"))
        .with_columns((c("_pm_idx") // 12).alias("_pm_y"), (c("_pm_idx") % 12 + 1).alias("_pm_m"))
        .with_columns(_days_in_month(c("_pm_y"), c("_pm_m")).alias("_pm_dim"))
        .with_columns(
            nw.when(c("_pm_day") > c("_pm_dim")).then(c("_pm_dim")).otherwise(c("_pm_day")).alias("_pm_d")
        )
        .with_columns(_date_from_parts(c("_pm_y"), c("_pm_m"), c("_pm_d")).alias("due_date"))
        .pipe(_split_cols, "order_amount_fen", "amount_fen", config.rule)
        .pipe(_split_cols, "seller_fee_fen", "fee_fen", config.rule)
        .select(PLAN_COLUMNS)
    )
