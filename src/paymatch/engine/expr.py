"""Small expression helpers shared by the engine's steps (Narwhals only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import narwhals as nw


def case(branches: Sequence[tuple[nw.Expr, object]], default: object) -> nw.Expr:
    """CASE WHEN … THEN … ELSE default END from (condition, value) pairs, first match wins."""
    def lit(v: object) -> nw.Expr:
        return v if isinstance(v, nw.Expr) else nw.lit(v)

    (c0, v0), *rest = branches
    e = nw.when(c0).then(lit(v0))
    for c, v in rest:
        e = e.when(c).then(lit(v))
    return e.otherwise(lit(default))


def key_expr(base: str, scope: Sequence[str]) -> nw.Expr:
    """The match key: ``base`` alone, or scope columns and base joined by '/' (NULL if base is NULL)."""
    if not scope:
        return nw.col(base)
    parts: list[nw.Expr] = []
    for s in scope:
        parts += [nw.col(s).fill_null(""), nw.lit("/")]
    return nw.concat_str([*parts, nw.col(base)])


def is_in(col: str, values: Sequence[str]) -> nw.Expr:
    """``col`` is one of ``values`` (False for an empty list and for NULL)."""
    if not values:
        return nw.lit(False)
    return nw.col(col).is_in(list(values)).fill_null(False)


def settle_channel_expr(mapping: dict[str, str], method_col: str) -> nw.Expr:
    """The channel expected to settle a payment method, or NULL when the method is not mapped."""
    if not mapping:
        return nw.lit(None, dtype=nw.String)
    return case([(nw.col(method_col) == m, c) for m, c in sorted(mapping.items())], None)


def utc_time(value: dt.datetime) -> nw.Expr:
    """A naive UTC time as a literal the engine's naive-UTC columns compare with on every backend.

    Written as its text cast to a time without zone: PySpark turns a Python datetime literal into an instant by the
    Python process's local zone (``time.mktime``) and compares it with the columns' wall-clock times in the session's
    UTC, so on a machine set to Asia/Shanghai the cross-day boundary moved 8 h earlier on Spark only (an order paid
    at 20:00 was pending_cross_day there, order_only on DuckDB)."""
    if value.tzinfo is not None:
        raise ValueError("utc_time takes a naive UTC datetime")
    return nw.lit(value.isoformat(sep=" ")).cast(nw.Datetime("us"))
