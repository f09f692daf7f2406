"""Report periods and time buckets.

Days are calendar days in Asia/Shanghai (``schema.TZ``): a bill date, or an instant converted to
local time first. A week starts on Monday; a month is the calendar month. ``bucket_sql`` gives the
same rule as a DuckDB expression over a DATE column, so bucketing happens in the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ..errors import PaymatchError

PeriodKind = Literal["day", "week", "month"]
PERIOD_LABEL_ZH = {"day": "日", "week": "周", "month": "月"}


def period_bounds(kind: str, date: dt.date, *, week_start: str = "monday") -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the day/week/month containing ``date``."""
    if kind == "day":
        return date, date
    if kind == "week":
        if week_start != "monday":
            raise PaymatchError(f"unsupported week start {week_start!r}; weeks start on monday")
        first = date - dt.timedelta(days=date.weekday())
        return first, first + dt.timedelta(days=6)
    if kind == "month":
        first = date.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return first, nxt - dt.timedelta(days=1)
    raise PaymatchError(f"unknown period {kind!r}\nHint: use day, week or month")


def bucket_sql(date_col: str, grain: str) -> str:
    """DuckDB DATE expression: the first day of ``date_col``'s day/week (Monday)/month bucket."""
    if grain == "day":
        return f"CAST({date_col} AS DATE)"
    if grain == "week":
        # ISO weeks: date_trunc('week') lands on Monday
        return f"CAST(date_trunc('week', {date_col}) AS DATE)"
    if grain == "month":
        return f"CAST(date_trunc('month', {date_col}) AS DATE)"
    raise PaymatchError(f"unknown grain {grain!r}\nHint: use day, week or month")


def day_spans(days: list[dt.date]) -> str:
    """Sorted days as runs of consecutive days ('2026-11-03, 2026-11-08 ~ 2026-11-30'): a note names a month's
    missing days in one line, not 23 dates."""
    spans: list[list[dt.date]] = []
    for d in days:
        if spans and d == spans[-1][1] + dt.timedelta(days=1):
            spans[-1][1] = d
        else:
            spans.append([d, d])
    return ", ".join(a.isoformat() if a == b else f"{a.isoformat()} ~ {b.isoformat()}" for a, b in spans)


def days_without(con, first: dt.date, last: dt.date, having: str) -> list[dt.date]:
    """The days of first..last for which the SQL condition ``having`` (over a DATE ``d``) finds nothing."""
    return [r[0] for r in con.execute(
        f"SELECT CAST(d AS DATE) AS d FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP) + INTERVAL 1 DAY, "
        f"INTERVAL 1 DAY) t(d) WHERE NOT EXISTS ({having.replace('{d}', 'CAST(t.d AS DATE)')}) ORDER BY 1",
        [first, last]).fetchall()]


def parse_date(text: str, option: str = "--date") -> dt.date:
    """An ISO date from the command line, with a clear error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise PaymatchError(f"{option}: bad date {text!r}\nHint: use YYYY-MM-DD") from None
