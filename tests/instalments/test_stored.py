"""The instalment report and the credit check read a workspace's plans one way (``instalments.stored``).

Real workspaces filled by the CLI (ingest, reconcile --instalments); the report and the member's outstanding
are asked of the same workspace and must agree.
"""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.credit.setup import workspace_outstanding
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.reports.instalments import build_instalments
from paymatch.workspace import Workspace

runner = CliRunner()
HEADER = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
FLOW_HEADER = "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
TX_HEADER = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
             "status,occurred_at,bill_date,method\n")
AS_OF = dt.date(2026, 11, 20)


def _workspace(tmp_path, orders: str, flows: str | None = None) -> str:
    """Ingest the orders and reconcile 2026-11-19 (with the flows when given), as of 2026-11-20."""
    (tmp_path / "orders.csv").write_text(HEADER + orders, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(TX_HEADER, encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    r = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"),
                            "--transactions", str(tmp_path / "tx.csv")])
    assert r.exit_code == 0, r.output
    args = ["reconcile", "--workspace", w, "--date", "2026-11-19", "--as-of", str(AS_OF)]
    if flows is not None:
        (tmp_path / "flows.csv").write_text(FLOW_HEADER + flows, encoding="utf-8")
        args += ["--instalments", str(tmp_path / "flows.csv")]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return w


def _report_and_outstanding(w: str, member: str) -> tuple[list[dict], int]:
    with Workspace(w) as ws:
        rep = build_instalments(ws.con, dt.date(2026, 8, 1), dt.date(2026, 11, 30), AS_OF, DEFAULT_CONFIG)
        return rep.tables[0].rows.to_pylist(), workspace_outstanding(ws, DEFAULT_CONFIG, member, AS_OF)


def test_a_repeated_flow_row_does_not_make_a_paid_period_overdue(tmp_path):
    # 400 fully paid 3-period Pay Score plans, each order's period 1 listed twice: the second copy is an
    # instalment_duplicate outcome (order_rows 0) of the same (order_no, period_no) and the same run. Picking one
    # row per period by the run alone let the duplicate's row win about half the time (DuckDB breaks the tie as it
    # pleases: 197 of 400 once), and the period read as unpaid and overdue, in the report and in the member's
    # outstanding
    paid = "2026-08-10T10:00:00+08:00"
    orders = "".join(f"D{i:03d},S1,M1,wechat_payscore,300.00,paid,{paid},{paid},A8,gold,3\n" for i in range(400))
    flows = "".join(
        f"wechat_payscore,D{i:03d},{k},3,100.00,0.00,success,2026-{7 + k:02d}-10T10:00:00+08:00\n"
        for i in range(400) for k in (1, 2, 3, 1))
    rows, outstanding = _report_and_outstanding(_workspace(tmp_path, orders, flows), "A8")
    got = [(r["plans"], r["periods"], r["outstanding_periods"], r["overdue_periods"]) for r in rows]
    assert got == [(400, 1200, 0, 0)]
    assert outstanding == 0


def test_unpaid_and_closed_orders_have_no_plan(tmp_path):
    # A9's Huabei order was never paid and their Pay Score order was closed: no money was taken, nothing is owed
    # or overdue. A paid plan of A9 still counts (Huabei 300.00 in 3, paid 2026-11-18: nothing due yet)
    orders = ("Q1,S1,M1,huabei,3000.00,unpaid,2026-11-18T10:00:00+08:00,,A9,gold,3\n"
              "Q2,S1,M1,wechat_payscore,1500.00,closed,2026-11-18T10:00:00+08:00,,A9,gold,3\n"
              "Q3,S1,M1,huabei,300.00,paid,2026-11-18T10:00:00+08:00,2026-11-18T10:00:05+08:00,A9,gold,3\n")
    rows, outstanding = _report_and_outstanding(_workspace(tmp_path, orders), "A9")
    assert [(r["channel"], r["plans"], r["outstanding_fen"], r["overdue_periods"]) for r in rows] == [
        ("huabei", 1, 30000, 0)]
    assert outstanding == 30000


def test_a_period_paid_after_the_as_of_day_was_not_received_as_of_it(tmp_path):
    """helper-63: period 2 due 20 Nov, paid 25 Nov; the workspace reconciled as of the 25th. The report and the
    member's outstanding as of the 21st counted it received (a later payment is no payment yet)."""
    paid = "2026-10-20T10:00:00+08:00"
    w = str(tmp_path / "w.duckdb")
    (tmp_path / "orders.csv").write_text(HEADER + f"P1,S1,M1,wechat_payscore,300.00,paid,{paid},{paid},U1,gold,3\n",
                                         encoding="utf-8")
    (tmp_path / "flows.csv").write_text(FLOW_HEADER + f"wechat_payscore,P1,1,3,100.00,0.00,success,{paid}\n"
                                        "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-25T10:00:00+08:00\n",
                                        encoding="utf-8")
    for args in (["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"), "--instalments",
                  str(tmp_path / "flows.csv")],
                 ["reconcile", "--workspace", w, "--date", "2026-11-25", "--as-of", "2026-11-25"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        for as_of, overdue, owed in ((dt.date(2026, 11, 21), 1, 20000), (dt.date(2026, 11, 25), 0, 10000)):
            rows = build_instalments(ws.con, dt.date(2026, 10, 1), dt.date(2026, 12, 31), as_of,
                                     DEFAULT_CONFIG).tables[0].rows.to_pylist()
            assert sum(r["overdue_periods"] for r in rows) == overdue, as_of
            assert workspace_outstanding(ws, DEFAULT_CONFIG, "U1", as_of) == owed, as_of


def test_the_run_that_judged_a_period_latest_decides_it(tmp_path):
    """helper-63: a month-to-date range run as of 20 Nov (period 2 not yet paid: missing), then 22 Nov's day run as of
    that day matching it. The range's outcome (period_to 30 Nov) outranked the day's: period 2 owed and overdue."""
    paid = "2026-10-20T10:00:00+08:00"
    w = str(tmp_path / "w.duckdb")
    (tmp_path / "orders.csv").write_text(HEADER + f"P1,S1,M1,wechat_payscore,300.00,paid,{paid},{paid},U1,gold,3\n",
                                         encoding="utf-8")
    (tmp_path / "f1.csv").write_text(FLOW_HEADER + f"wechat_payscore,P1,1,3,100.00,0.00,success,{paid}\n", encoding="utf-8")
    (tmp_path / "f2.csv").write_text(FLOW_HEADER + "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-22T10:00:00+08:00\n",
                                     encoding="utf-8")
    for args in (["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"), "--instalments",
                  str(tmp_path / "f1.csv")],
                 ["reconcile", "--workspace", w, "--from", "2026-11-01", "--to", "2026-11-30", "--as-of", "2026-11-20"],
                 ["reconcile", "--workspace", w, "--date", "2026-11-22", "--instalments", str(tmp_path / "f2.csv"),
                  "--as-of", "2026-11-22"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        as_of = dt.date(2026, 11, 22)
        rows = build_instalments(ws.con, dt.date(2026, 11, 1), dt.date(2026, 11, 30), as_of,
                                 DEFAULT_CONFIG).tables[0].rows.to_pylist()
        assert (sum(r["outstanding_periods"] for r in rows), sum(r["overdue_periods"] for r in rows)) == (1, 0)
        assert workspace_outstanding(ws, DEFAULT_CONFIG, "U1", as_of) == 10000


def test_a_plan_refunded_after_the_as_of_day_was_still_owed_as_of_it(tmp_path):
    """helper-111 (audit round 10): a Pay Score plan refunded on 27 Oct, the workspace reconciled as of 20 Nov (its
    periods 2 and 3 instalment_ended). The report and the member's outstanding as of 24 Oct read those outcomes and
    owed nothing on them, although as of the 24th the refund had not happened: periods 2 and 3 (due 23 Nov, 23 Dec)
    were still outstanding, as a run as of the 24th says (README: a refund after the as-of day has not ended the
    plan yet). A period ended by a refund on or before the as-of day stays owed no more."""
    paid = "2026-10-23T10:00:00+08:00"
    w = str(tmp_path / "w.duckdb")
    (tmp_path / "orders.csv").write_text(
        HEADER + f"P1,S1,M1,wechat_payscore,300.00,refunded,{paid},{paid},U1,gold,3\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF1,P1,300.00,2026-10-27T19:10:00+08:00,success\n", encoding="utf-8")
    (tmp_path / "flows.csv").write_text(FLOW_HEADER + f"wechat_payscore,P1,1,3,100.00,0.00,success,{paid}\n",
                                        encoding="utf-8")
    for args in (["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"), "--refunds",
                  str(tmp_path / "refunds.csv"), "--instalments", str(tmp_path / "flows.csv")],
                 ["reconcile", "--workspace", w, "--date", "2026-11-20", "--as-of", "2026-11-20"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        for as_of, owed in ((dt.date(2026, 10, 24), 20000), (dt.date(2026, 10, 27), 0), (dt.date(2026, 11, 20), 0)):
            rows = build_instalments(ws.con, dt.date(2026, 10, 1), dt.date(2026, 12, 31), as_of,
                                     DEFAULT_CONFIG).tables[0].rows.to_pylist()
            assert [(r["outstanding_periods"], r["outstanding_fen"], r["overdue_periods"]) for r in rows] == [
                (2 if owed else 0, owed, 0)], as_of
            assert workspace_outstanding(ws, DEFAULT_CONFIG, "U1", as_of) == owed, as_of


def test_a_plan_sold_after_the_as_of_day_is_not_outstanding_as_of_it(tmp_path):
    """helper-111 (audit round 10): the report as of 31 Oct, made after November's runs, counted a plan sold on
    5 Nov as outstanding on 31 Oct (and a member's outstanding as of then with it)."""
    orders = ("N1,S1,M1,wechat_payscore,300.00,paid,2026-10-05T10:00:00+08:00,2026-10-05T10:00:00+08:00,U2,gold,3\n"
              "N2,S1,M1,wechat_payscore,600.00,paid,2026-11-05T10:00:00+08:00,2026-11-05T10:00:00+08:00,U2,gold,3\n"
              "N3,S1,M1,huabei,900.00,paid,2026-11-05T10:00:00+08:00,2026-11-05T10:00:00+08:00,U2,gold,3\n")
    flows = ("wechat_payscore,N1,1,3,100.00,0.00,success,2026-10-05T10:00:00+08:00\n"
             "wechat_payscore,N1,2,3,100.00,0.00,success,2026-11-05T10:00:00+08:00\n"
             "wechat_payscore,N2,1,3,200.00,0.00,success,2026-11-05T10:00:00+08:00\n")
    w = _workspace(tmp_path, orders, flows)
    with Workspace(w) as ws:
        for as_of, owed in ((dt.date(2026, 10, 31), 20000), (dt.date(2026, 11, 20), 10000 + 40000 + 90000)):
            rows = build_instalments(ws.con, dt.date(2026, 10, 1), dt.date(2026, 11, 30), as_of,
                                     DEFAULT_CONFIG).tables[0].rows.to_pylist()
            assert sum(r["outstanding_fen"] for r in rows) == owed, as_of
            assert workspace_outstanding(ws, DEFAULT_CONFIG, "U2", as_of) == owed, as_of
