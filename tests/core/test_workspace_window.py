"""A workspace period run reads its window either from temp-table copies (a small window, the daily routine) or
where it is stored (a window of more than ``run._COPY_MAX_RECORDS`` records): both give the same stored outcomes,
day by day with pending orders carried over, and over a range. Real DuckDB, demo data."""

from __future__ import annotations

import datetime as dt
import shutil

import paymatch.run as run
from paymatch.demo import generate
from paymatch.run import reconcile_workspace
from paymatch.workspace import Workspace


def _stored(path) -> list[tuple]:
    with Workspace(path) as w:
        cols = [c[0] for c in w.con.execute("DESCRIBE outcomes").fetchall() if c[0] != "run_id"]
        return w.con.execute(f"SELECT {', '.join(cols)} FROM outcomes ORDER BY ALL").fetchall()


def test_copied_and_stored_windows_give_the_same_outcomes(tmp_path, monkeypatch):
    first = dt.date(2026, 11, 1)
    files = generate(tmp_path / "data", stores=12, days=3, start=first)
    base = tmp_path / "base.duckdb"
    with Workspace(base) as w:
        for kind, f in (("orders", files.orders), ("refunds", files.refunds), ("transactions", files.transactions)):
            w.ingest_csv(kind, f)
    periods = [(first + dt.timedelta(days=i),) * 2 for i in range(3)] + [(first, first + dt.timedelta(days=2))]
    got = {}
    for limit in (None, 0):  # None: from the memory limit (these windows are copied); 0: none is copied
        monkeypatch.setattr(run, "_COPY_MAX_RECORDS", limit)
        path = tmp_path / f"ws_{limit}.duckdb"
        shutil.copyfile(base, path)
        for a, b in periods:
            assert reconcile_workspace(path, a, b, None).summary["conservation"]
        got[limit] = _stored(path)
    kinds = {r[3] for r in got[0]}
    assert {"pending_cross_day", "matched", "refund_matched"} <= kinds  # orders carried from day to day too
    assert got[None] == got[0] and len(got[0]) > 1000
