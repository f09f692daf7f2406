"""A refunded instalment order: its per-period plan ends at the refund, its periods are owed no more.

Before, a refunded WeChat Pay Score / Alipay 周期扣款 order kept its whole plan: every period after the refund (the
shop ended the service, the channel deducts no more) was instalment_missing month after month, a false exception,
and the instalment report and credit check counted them (and a refunded Huabei plan's) as the buyer's debt."""

from __future__ import annotations

import csv
import datetime as dt
import json

import duckdb
import pyarrow as pa
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.expand import expand_plans
from paymatch.instalments.match import match_instalments
from paymatch.instalments.report import instalment_report, member_outstanding_fen
from paymatch.instalments.stored import stored_plans
from tests.instalments.helpers import SH, duck, flow, flows_table, order, orders_table, rows

T0 = dt.datetime(2026, 9, 10, 10, 0, tzinfo=SH)  # periods due Sep 10, Oct 10, Nov 10 (3) ... Feb 10 (6)
AS_OF = dt.date(2026, 11, 20)
REFUND_ARROW = pa.schema([("merchant_id", pa.string()), ("order_no", pa.string()),
                          ("created_at", pa.timestamp("us", tz="UTC")), ("end_day", pa.date32())])


def _refund(order_no, at, merchant="M1"):
    return {"merchant_id": merchant, "order_no": order_no, "created_at": at, "end_day": at.astimezone(SH).date()}


def _match(orders, flows, refunds, as_of=AS_OF, **kw):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    o = duck(con, "orders", orders_table(orders))
    f = duck(con, "flows", flows_table(flows))
    r = duck(con, "refunds", pa.Table.from_pylist(refunds, schema=REFUND_ARROW)) if refunds is not None else None
    return {x["outcome_id"]: x for x in rows(match_instalments(o, f, DEFAULT_CONFIG, as_of, refunds=r, **kw))}


def test_a_full_refund_ends_the_plan_and_a_later_deduction_is_money_to_return():
    refund_at = dt.datetime(2026, 9, 20, 12, 0, tzinfo=SH)
    got = _match(
        [order("P1", "wechat_payscore", 30000, 3, T0, status="refunded")],
        [flow("P1", 1, 3, 10000, T0, line=2),
         flow("P1", 2, 3, 10000, dt.datetime(2026, 10, 10, 10, 0, tzinfo=SH), line=3),   # after the refund
         flow("P1", 3, 3, 10000, dt.datetime(2026, 11, 10, 10, 0, tzinfo=SH), line=4, status="failed")],
        [_refund("P1", refund_at)])
    kinds = {k: (v["kind"], v["difference_fen"], v["order_rows"], v["channel_rows"]) for k, v in got.items()}
    assert kinds == {"I-P1-1": ("instalment_matched", 0, 1, 1),
                     "I-P1-2": ("instalment_after_refund", 10000, 1, 1),
                     "I-P1-3": ("instalment_ended", 0, 1, 1)}
    assert got["I-P1-2"]["reason"] == ("period 2/3 deducted after the order was refunded on 2026-09-20: "
                                       "money to return (退款后扣款)")
    assert got["I-P1-3"]["reason"] == ("deduction for period 3 is failed, after the order was refunded on "
                                       "2026-09-20: nothing owed")
    assert {v["plan_status"] for v in got.values()} == {"exception"}  # the deduction after the refund


def test_periods_due_from_the_refund_day_on_are_ended_earlier_ones_stay_missing():
    # refunded on Oct 10 (period 2's due day): period 1 (Sep 10) was due before and never came: still missing
    got = _match([order("P1", "alipay_pay_later", 60000, 6, T0, status="refunded")], [],
                 [_refund("P1", dt.datetime(2026, 10, 10, 9, 0, tzinfo=SH))])
    kinds = {k: v["kind"] for k, v in got.items()}
    assert kinds == {"I-P1-1": "instalment_missing", **{f"I-P1-{k}": "instalment_ended" for k in range(2, 7)}}
    assert got["I-P1-4"]["reason"] == ("period 4/6 due 2026-12-10 not owed: the order was refunded on 2026-10-10 "
                                       "(服务已终止)")
    assert got["I-P1-4"]["difference_fen"] == 0


def test_a_refund_after_the_as_of_day_has_not_ended_the_plan_yet():
    # a day reconciled again later sees what it saw: as of Nov 20 the Dec 1 refund had not happened
    got = _match([order("P1", "wechat_payscore", 30000, 3, T0, status="refunded")],
                 [flow("P1", 1, 3, 10000, T0, line=2)],
                 [_refund("P1", dt.datetime(2026, 12, 1, 12, 0, tzinfo=SH))])
    assert {k: v["kind"] for k, v in got.items()} == {
        "I-P1-1": "instalment_matched", "I-P1-2": "instalment_missing", "I-P1-3": "instalment_missing"}


def test_a_refunded_order_no_refund_dates_owes_no_period_not_received():
    got = _match([order("P1", "wechat_payscore", 30000, 3, T0, status="refunded")],
                 [flow("P1", 1, 3, 10000, T0, line=2)], None)
    assert {k: v["kind"] for k, v in got.items()} == {
        "I-P1-1": "instalment_matched", "I-P1-2": "instalment_ended", "I-P1-3": "instalment_ended"}
    assert got["I-P1-2"]["reason"].endswith("not owed: the order was refunded (no refund dates it) (服务已终止)")


def test_a_partial_refund_changes_no_period():
    # the channels define no shrinking of the remaining periods: they stay due, the refund stands on its own
    got = _match([order("P1", "wechat_payscore", 30000, 3, T0, status="partially_refunded")],
                 [flow("P1", 1, 3, 10000, T0, line=2)],
                 [_refund("P1", dt.datetime(2026, 9, 20, 12, 0, tzinfo=SH))])
    assert {k: v["kind"] for k, v in got.items()} == {
        "I-P1-1": "instalment_matched", "I-P1-2": "instalment_missing", "I-P1-3": "instalment_missing"}


def test_under_key_scope_a_refund_ends_only_its_merchant_numbers_order():
    o1 = order("K1", "wechat_payscore", 30000, 3, T0, status="refunded")
    o2 = {**order("K1", "wechat_payscore", 30000, 3, T0, status="refunded"), "merchant_id": "M2"}
    got = _match([o1, o2], [], [_refund("K1", dt.datetime(2026, 9, 20, 12, 0, tzinfo=SH), merchant="M2")],
                 key_scope=("merchant_id",))
    kinds = {k: v["kind"] for k, v in got.items()}
    assert kinds["I-M2/K1-2"] == kinds["I-M2/K1-3"] == "instalment_ended"
    assert kinds["I-M2/K1-1"] == "instalment_missing"
    # M1's order: no refund of its own dates it (refunded, undated): nothing not received is owed
    assert {kinds[f"I-M1/K1-{k}"] for k in (1, 2, 3)} == {"instalment_ended"}


def test_report_and_credit_owe_nothing_on_a_refunded_plan():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    orders = duck(con, "orders", orders_table([
        order("H1", "huabei", 30000, 3, T0, status="refunded", member="m1"),          # up front, refunded
        order("W1", "wechat_payscore", 30000, 3, T0, status="refunded", member="m1"),  # per period, refunded
    ]))
    flows = duck(con, "flows", flows_table([flow("W1", 1, 3, 10000, T0, line=2)]))
    refunds = duck(con, "refunds", pa.Table.from_pylist(
        [_refund("W1", dt.datetime(2026, 9, 20, 12, 0, tzinfo=SH))], schema=REFUND_ARROW))
    as_of = dt.date(2026, 10, 1)
    plan, outcomes = expand_plans(orders), match_instalments(orders, flows, as_of=as_of, refunds=refunds)
    t = {(r["channel"], r["term"]): r for r in
         instalment_report(plan, outcomes, as_of, dt.date(2026, 9, 1), dt.date(2026, 9, 30)).to_pylist()}
    for key in (("huabei", 3), ("wechat_payscore", 3)):
        assert (t[key]["plans"], t[key]["outstanding_periods"], t[key]["outstanding_fen"],
                t[key]["overdue_periods"]) == (1, 0, 0, 0), key
    assert member_outstanding_fen(plan, outcomes, as_of, "m1") == 0


runner = CliRunner()
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.00,refunded,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
P2,S1,M1,alipay_pay_later,600.00,partially_refunded,2026-09-10 10:00:00,2026-09-10 10:00:00,U2,gold,6
H1,S1,M1,huabei,120.00,refunded,2026-09-10 10:00:00,2026-09-10 10:00:05,U3,gold,3
"""
REFUNDS = """refund_no,order_no,amount,created_at,status
R1,P1,100.00,2026-09-20 12:00:00,success
R2,P2,50.00,2026-09-20 12:00:00,success
R3,H1,120.00,2026-09-20 12:00:00,success
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
alipay,M1,A1,H1,payment,,,120.00,0.96,120.00,success,2026-09-10 10:00:06,2026-09-10,huabei
wechat,M1,WR1,P1,refund,R1,CR1,100.00,0,100.00,success,2026-09-20 12:00:05,2026-09-20,
alipay,M1,AR2,P2,refund,R2,CR2,50.00,0,50.00,success,2026-09-20 12:00:05,2026-09-20,
alipay,M1,AR3,H1,refund,R3,CR3,120.00,0,120.00,success,2026-09-20 12:00:05,2026-09-20,huabei
"""
FLOWS = """channel,order_no,period_no,periods,amount,fee,status,occurred_at
wechat_payscore,P1,1,3,100.00,0,success,2026-09-10 10:00:00
wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00
alipay_pay_later,P2,1,6,100.00,0,success,2026-09-10 10:00:00
alipay_pay_later,P2,2,6,100.00,0,success,2026-10-10 10:00:00
"""


def _write(tmp_path):
    for name, text in (("orders.csv", ORDERS), ("refunds.csv", REFUNDS), ("tx.csv", TXS), ("flows.csv", FLOWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")


def _kinds(out):
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        got = {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conservation"] is True, summary["control_totals"]
    return got, summary


def _expected(got):
    assert got["I-P1-1"] == "instalment_matched"
    assert got["I-P1-2"] == "instalment_after_refund"   # deducted Oct 10, after the Sep 20 refund
    assert got["I-P1-3"] == "instalment_ended"          # due Nov 10: the service had ended
    assert got["I-P2-3"] == "instalment_missing"        # partial refund: later periods still due


def test_file_run_ends_a_refunded_plan(tmp_path):
    _write(tmp_path)
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--refunds",
                            str(tmp_path / "refunds.csv"), "--transactions", str(tmp_path / "tx.csv"),
                            "--instalments", str(tmp_path / "flows.csv"), "--as-of", "2026-11-20",
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    got, summary = _kinds(tmp_path / "out")
    _expected(got)
    assert got["R-R1"] == got["R-R2"] == got["R-R3"] == "refund_matched"  # each refund reconciled on its own
    ct = summary["control_totals"]
    assert ct["instalment_orders"]["input_rows"] == ct["instalment_orders"]["outcome_rows"] == 2
    assert ct["instalment_flows"]["input_fen"] == ct["instalment_flows"]["outcome_fen"] == 40000


def test_workspace_run_reads_a_refund_stored_on_an_earlier_day_and_the_report_owes_nothing(tmp_path):
    _write(tmp_path)
    w = str(tmp_path / "w.duckdb")
    # the refund is ingested with September's files; November's run is given only its flows
    r = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"), "--refunds",
                            str(tmp_path / "refunds.csv"), "--transactions", str(tmp_path / "tx.csv")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--instalments",
                            str(tmp_path / "flows.csv"), "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    got, _ = _kinds(tmp_path / "out")
    _expected(got)
    con = duckdb.connect(w, read_only=True)
    try:
        plan, outcomes = stored_plans(con, DEFAULT_CONFIG, as_of=AS_OF)
        t = {r["channel"]: r for r in instalment_report(plan, outcomes, AS_OF, dt.date(2026, 11, 1),
                                                        dt.date(2026, 11, 30)).to_pylist()}
    finally:
        con.close()
    assert (t["wechat_payscore"]["outstanding_periods"], t["wechat_payscore"]["overdue_periods"]) == (0, 0)
    assert (t["huabei"]["outstanding_periods"], t["huabei"]["outstanding_fen"]) == (0, 0)
    # the partially refunded plan still owes its periods 3..6, period 3 overdue
    assert (t["alipay_pay_later"]["outstanding_periods"], t["alipay_pay_later"]["overdue_periods"]) == (4, 1)


def test_a_refund_only_on_the_bill_dates_the_end_by_its_shanghai_day(tmp_path):
    # no refunds.csv: the channel's refund record names the order. 07:00 on Oct 11 in Shanghai is Oct 10 in UTC:
    # period 2 (due Oct 10) was due before the refund's day, so it is missing, not ended
    orders = ORDERS.splitlines()[0] + "\n" + ORDERS.splitlines()[1] + "\n"
    txs = TXS.splitlines()[0] + "\nwechat,M1,WR1,P1,refund,R1,CR1,100.00,0,100.00,success,2026-10-11 07:00:00,2026-10-11,\n"
    flows = FLOWS.splitlines()[0] + "\n" + FLOWS.splitlines()[1] + "\n"
    for name, text in (("orders.csv", orders), ("tx.csv", txs), ("flows.csv", flows)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), "--instalments", str(tmp_path / "flows.csv"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    got, _ = _kinds(tmp_path / "out")
    assert (got["I-P1-1"], got["I-P1-2"], got["I-P1-3"]) == (
        "instalment_matched", "instalment_missing", "instalment_ended")
