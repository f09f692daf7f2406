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
