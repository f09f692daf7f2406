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


def test_a_range_run_is_split_by_day_and_month(tmp_path):
    # one reconciliation over 30 Oct – 1 Nov: its days are reported one by one and it feeds both months
    from paymatch.demo import generate
    from paymatch.reports.recon import build_reconciliation
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    first = dt.date(2026, 10, 30)
    files = generate(tmp_path / "data", stores=3, days=3, per_store_day=40, start=first)
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as w:
        for kind, f in (("orders", files.orders), ("refunds", files.refunds), ("transactions", files.transactions)):
            w.ingest_csv(kind, f)
    reconcile_workspace(path, first, first + dt.timedelta(days=2), None)

    def orders(report):
        total = report.tables[0].arrow().to_pylist()[-1]
        return total["orders_count"], total["orders_fen"]

    with Workspace(path) as w:
        stored = w.con.execute("SELECT sum(order_rows) FILTER (WHERE NOT starts_with(outcome_id, 'R-')), "
                               "sum(order_total_fen) FILTER (WHERE NOT starts_with(outcome_id, 'R-')) "
                               "FROM outcomes").fetchone()
        days = [orders(build_reconciliation(w.con, "day", first + dt.timedelta(days=i))) for i in range(3)]
        months = [orders(build_reconciliation(w.con, "month", d)) for d in (first, dt.date(2026, 11, 1))]
        whole = build_reconciliation(w.con, "month", first)
    assert all(n > 0 for n, _ in days)
    assert tuple(map(sum, zip(*days))) == stored == tuple(map(sum, zip(*months)))
    assert months[1] == days[2]  # 1 Nov is November's only day here
    assert len(whole.run_ids) == 1


def test_daily_runs_then_a_range_run_count_each_outcome_once(tmp_path):
    """Days 1 and 2 reconciled one by one, then together: an order pending on day 1 and matched by the range run
    counts once, on the day the range run gives it (the day-2 run's older copy of it counted on day 2 as well, when
    the range run put it on day 1); the days add up to the month."""
    from paymatch.demo import generate
    from paymatch.reports.provenance import outcomes_in
    from paymatch.reports.recon import build_reconciliation
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    first = dt.date(2026, 11, 1)
    second = first + dt.timedelta(days=1)
    files = generate(tmp_path / "data", stores=30, days=2, start=first)
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as w:
        for kind, f in (("orders", files.orders), ("refunds", files.refunds), ("transactions", files.transactions)):
            w.ingest_csv(kind, f)
    for a, b in ((first, first), (second, second), (first, second)):
        reconcile_workspace(path, a, b, None)

    def ids(w, day):
        return {r[0] for r in w.con.execute(f"SELECT outcome_id FROM {outcomes_in(day, day)}").fetchall()}

    def count(report):
        return report.tables[0].arrow().to_pylist()[-1]["orders_count"]

    with Workspace(path) as w:
        one, two = ids(w, first), ids(w, second)
        pending_first = {r[0] for r in w.con.execute(
            "SELECT outcome_id FROM outcomes WHERE kind = 'pending_cross_day' AND period_to = ? AND period_from = ?",
            [first, first]).fetchall()}
        latest = w.con.execute("SELECT count(DISTINCT outcome_id) FROM outcomes").fetchone()[0]
        days = [count(build_reconciliation(w.con, "day", d)) for d in (first, second)]
        month = count(build_reconciliation(w.con, "month", first))
    assert pending_first, "the data set needs an order pending at the end of day 1"
    assert not one & two
    assert len(one) + len(two) == latest
    assert pending_first <= one | two  # on the day the range run gives it
    assert sum(days) == month
