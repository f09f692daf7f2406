"""A range run's order_only / refund_order_only of an order or refund within the cross-day grace before a day's end
counts on the next day, the day whose day run judges it (the day run of its own day leaves it pending_cross_day).

Placed on its own day, a day run of that day after the range run replaced it there, and the month counted the
order as pending_cross_day though the range run had seen the next day's bill without it (audit_round6)."""

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.reports.provenance import outcomes_in
from paymatch.workspace import Workspace
from tests.core.test_workspace_carry import ORDERS, REFUNDS, TX, _write

runner = CliRunner()



def _ok(*args):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output


def _counted(w: Path) -> dict[str, tuple[str, dt.date]]:
    """Each outcome as the month's reports count it: (kind, the day it counts on)."""
    with Workspace(w) as ws:
        return {r[0]: (r[1], r[2]) for r in ws.con.execute(
            f"SELECT outcome_id, kind, recon_day FROM {outcomes_in(dt.date(2026, 11, 1), dt.date(2026, 11, 30))}"
        ).fetchall()}


def _workspace(tmp_path: Path, grace: int | None = None) -> tuple[Path, list]:
    w = tmp_path / "w.duckdb"
    cfg = []
    if grace is not None:
        cfg = ["--config", _write(tmp_path / "rules.toml", f"[match]\ncross_day_grace_minutes = {grace}\n", "")]
    o = _write(tmp_path / "o.csv", ORDERS,
               "B1,S1,1600000001,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0",
               # paid 3 minutes before midnight, never on a bill: pending on the 20th, order_only on the 21st
               "B3,S1,1600000001,wechat,12.00,paid,2026-11-20 23:57:00,2026-11-20 23:57:02,,,0",
               # paid 10 min 1 s before midnight: outside the grace, order_only on the 20th itself
               "B5,S1,1600000001,wechat,14.00,paid,2026-11-20 23:49:00,2026-11-20 23:49:59,,,0",
               # paid 25 minutes before midnight: within a grace of 30 minutes
               "B6,S1,1600000001,wechat,15.00,paid,2026-11-20 23:35:00,2026-11-20 23:35:00,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS, "RB1,B1,1.00,2026-11-20 23:58:00,success")  # never on a bill
    d1 = _write(tmp_path / "d1.csv", TX,
                "wechat,1600000001,T1,B1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20")
    d2 = _write(tmp_path / "d2.csv", TX,
                "wechat,1600000001,T9,X9,payment,,,1.00,0.00,success,2026-11-21 09:00:03,2026-11-21")
    _ok("ingest", "--workspace", w, *cfg, "--orders", o, "--refunds", r, "--transactions", d1)
    _ok("ingest", "--workspace", w, *cfg, "--transactions", d2)
    return w, cfg


def test_range_run_then_a_day_rerun_keeps_the_order_only_of_a_pending_order(tmp_path):
    w, cfg = _workspace(tmp_path)
    _ok("reconcile", "--workspace", w, *cfg, "--from", "2026-11-20", "--to", "2026-11-21")
    ranged = _counted(w)
    d20, d21 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
    assert ranged["P-B3"] == ("order_only", d21)
    assert ranged["R-RB1"] == ("refund_order_only", d21)
    assert ranged["P-B5"] == ("order_only", d20)  # outside the grace: its own day judges it
    assert ranged["P-B6"] == ("order_only", d20)

    # the 20th reconciled again on its own: it sees B3 and RB1 pending, but the range run reached further
    _ok("reconcile", "--workspace", w, *cfg, "--date", "2026-11-20")
    again = _counted(w)
    assert again["P-B3"] == ("order_only", d21)
    assert again["R-RB1"] == ("refund_order_only", d21)
    assert again["P-B5"] == ("order_only", d20)
    assert not [k for k, (kind, _) in again.items() if kind == "pending_cross_day"]

    # as day runs alone count them
    (tmp_path / "days").mkdir()
    w2, _ = _workspace(tmp_path / "days")
    for day in ("2026-11-20", "2026-11-21"):
        _ok("reconcile", "--workspace", w2, "--date", day)
    assert {k: _counted(w2)[k] for k in ("P-B3", "R-RB1", "P-B5")} == \
        {k: again[k] for k in ("P-B3", "R-RB1", "P-B5")}


def test_the_grace_of_the_run_decides_the_day(tmp_path):
    w, cfg = _workspace(tmp_path, grace=30)
    _ok("reconcile", "--workspace", w, *cfg, "--from", "2026-11-20", "--to", "2026-11-21")
    _ok("reconcile", "--workspace", w, *cfg, "--date", "2026-11-20")
    counted = _counted(w)
    assert counted["P-B6"] == ("order_only", dt.date(2026, 11, 21))
    assert counted["P-B5"] == ("order_only", dt.date(2026, 11, 21))


def test_range_run_then_the_next_day_alone_still_counts_the_order_only(tmp_path):
    """The next day's run carries in what the range run placed on it: rerun alone (no day run of the 20th ever
    stored a pending_cross_day to carry), it replaced the range run's 21st, and the month lost B3 and RB1."""
    w, cfg = _workspace(tmp_path)
    _ok("reconcile", "--workspace", w, *cfg, "--from", "2026-11-20", "--to", "2026-11-21")
    _ok("reconcile", "--workspace", w, *cfg, "--date", "2026-11-21")
    counted = _counted(w)
    d21 = dt.date(2026, 11, 21)
    assert counted["P-B3"] == ("order_only", d21)
    assert counted["R-RB1"] == ("refund_order_only", d21)
    assert counted["P-B5"] == ("order_only", dt.date(2026, 11, 20))
    assert set(counted) == {"P-B1", "P-B3", "P-B5", "P-B6", "R-RB1", "P-X9"}


def test_under_key_scope_the_next_day_carries_the_order_of_its_merchant_number(tmp_path):
    w = tmp_path / "w.duckdb"
    cfg = ["--config", _write(tmp_path / "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n', "")]
    o = _write(tmp_path / "o.csv", ORDERS,
               "K1,S1,1600000001,wechat,12.00,paid,2026-11-20 23:57:00,2026-11-20 23:57:02,,,0",
               "K1,S2,1600000002,wechat,13.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:02,,,0")
    d1 = _write(tmp_path / "d1.csv", TX,
                "wechat,1600000002,T2,K1,payment,,,13.00,0.06,success,2026-11-20 12:00:06,2026-11-20")
    d2 = _write(tmp_path / "d2.csv", TX,
                "wechat,1600000001,T9,X9,payment,,,1.00,0.00,success,2026-11-21 09:00:03,2026-11-21")
    _ok("ingest", "--workspace", w, *cfg, "--orders", o, "--transactions", d1)
    _ok("ingest", "--workspace", w, *cfg, "--transactions", d2)
    _ok("reconcile", "--workspace", w, *cfg, "--from", "2026-11-20", "--to", "2026-11-21")
    _ok("reconcile", "--workspace", w, *cfg, "--date", "2026-11-21")
    counted = _counted(w)
    assert counted["P-1600000001/K1"] == ("order_only", dt.date(2026, 11, 21))
    assert counted["P-1600000002/K1"] == ("matched", dt.date(2026, 11, 20))
    with Workspace(w) as ws:  # the 21st's run carried only merchant 1's K1 (merchant 2's was matched on the 20th)
        assert ws.con.execute("SELECT outcome_id FROM outcomes WHERE period_from = DATE '2026-11-21' "
                              "AND order_no = 'K1'").fetchall() == [("P-1600000001/K1",)]


def test_a_day_rerun_since_the_range_run_decides_what_the_next_day_carries(tmp_path):
    """B3's payment comes late, on the 20th's bill, after the range run placed B3's order_only on the 21st. The 20th
    rerun matches it; the 21st rerun then carried B3 in by the range run's stale order_only (the 20th's latest run is
    no longer the range run) and matched it again there: counted on the 21st, where day runs alone count it on the
    20th."""
    w, cfg = _workspace(tmp_path)
    _ok("reconcile", "--workspace", w, *cfg, "--from", "2026-11-20", "--to", "2026-11-21")
    late = _write(tmp_path / "late.csv", TX,
                  "wechat,1600000001,T3,B3,payment,,,12.00,0.07,success,2026-11-20 23:57:05,2026-11-20")
    _ok("ingest", "--workspace", w, *cfg, "--transactions", late)
    for day in ("2026-11-20", "2026-11-21"):
        _ok("reconcile", "--workspace", w, *cfg, "--date", day)
    counted = _counted(w)
    assert counted["P-B3"] == ("matched", dt.date(2026, 11, 20))
    assert counted["R-RB1"] == ("refund_order_only", dt.date(2026, 11, 21))  # left pending by the 20th's rerun
    with Workspace(w) as ws:  # the 21st's run did not judge B3 at all
        assert ws.con.execute("SELECT count(*) FROM outcomes WHERE period_from = DATE '2026-11-21' "
                              "AND order_no = 'B3'").fetchall() == [(0,)]

    (tmp_path / "days").mkdir()  # as day runs alone count them
    w2, _ = _workspace(tmp_path / "days")
    _ok("ingest", "--workspace", w2, "--transactions", late)
    for day in ("2026-11-20", "2026-11-21"):
        _ok("reconcile", "--workspace", w2, "--date", day)
    assert _counted(w2) == counted
