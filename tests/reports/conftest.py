"""Fixtures for the report tests: a small reconciled chain in a workspace file, and a hand-made one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

FIRST_DAY = dt.date(2026, 11, 1)  # a Sunday: the week of 11-02 starts on Monday 11-02
DAYS = 3


@pytest.fixture(scope="session")
def recon_ws(tmp_path_factory) -> Path:
    """A workspace with 6 stores × 3 days of demo data, reconciled day by day (outcomes stored)."""
    from paymatch.demo import generate
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    base = tmp_path_factory.mktemp("reports")
    files = generate(base / "data", stores=6, days=DAYS, per_store_day=60, start=FIRST_DAY)
    path = base / "ws.duckdb"
    with Workspace(path) as ws:
        ws.ingest_csv("orders", files.orders)
        ws.ingest_csv("refunds", files.refunds)
        ws.ingest_csv("transactions", files.transactions)
    for i in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=i)
        reconcile_workspace(path, day, day, None)
    return path


@pytest.fixture()
def ws(recon_ws):
    """The reconciled workspace, opened (closed after the test)."""
    from paymatch.workspace import Workspace

    w = Workspace(recon_ws)
    yield w
    w.close()
