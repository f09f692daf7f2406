"""Periods: Monday weeks, calendar months, and the SQL buckets agree with the Python bounds."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from paymatch.errors import PaymatchError
from paymatch.reports.periods import bucket_sql, period_bounds


def test_week_starts_monday_and_month_bounds():
    assert period_bounds("week", dt.date(2026, 11, 1)) == (dt.date(2026, 10, 26), dt.date(2026, 11, 1))
    assert period_bounds("week", dt.date(2026, 11, 2)) == (dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    assert period_bounds("month", dt.date(2026, 12, 31)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert period_bounds("month", dt.date(2028, 2, 10)) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert period_bounds("day", dt.date(2026, 3, 5)) == (dt.date(2026, 3, 5), dt.date(2026, 3, 5))
    with pytest.raises(PaymatchError):
        period_bounds("year", dt.date(2026, 3, 5))


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_sql_bucket_matches_python_bounds(grain):
    con = duckdb.connect()
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(0, 400, 3)]
    got = con.execute(f"SELECT d, {bucket_sql('d', grain)} FROM unnest(?::DATE[]) t(d) ORDER BY d", [days]).fetchall()
    for d, b in got:
        assert b == period_bounds(grain, d)[0]
