"""Reconciliation report over real workspaces reconciled through the CLI (helper-53's findings): net settlement on
channels whose settlement amount is net of the fee, instalment orders counted once, a day reconciled without activity,
a later run replacing the days it covers, CSV times in whole seconds."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.reports.fundflow import build_fund_flow
from paymatch.reports.recon import build_reconciliation
from paymatch.workspace import Workspace

runner = CliRunner()
DAY = dt.date(2026, 11, 30)
ORDERS = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
TX = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
      "occurred_at,bill_date,method\n")


def _write(path: Path, header: str, *rows: str) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _ok(*args: str) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def _summary(w: Path, period: str = "day", date: dt.date = DAY, group_by: str = "channel") -> dict[str, dict]:
    with Workspace(w) as ws:
        rows = build_reconciliation(ws.con, period, date, group_by=group_by).table("summary").arrow().to_pylist()
    return {r[group_by if group_by != "merchant" else "merchant_id"]: r for r in rows}


def test_net_settlement_takes_the_fee_off_once(tmp_path):
    """UnionPay's settlement amount is net of the fee (199.00 of 200.00, fee 1.00): its net settlement is 199.00,
    not 198.00. WeChat's 应结订单金额 is before the fee and smaller than the amount by a merchant-funded coupon
    (97.00 of 100.00, fee 0.58): 96.42. Fund flow's 净额 (on the amounts) agrees on UnionPay and is the coupon more
    on WeChat."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,M1,wechat,100.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:05,,,0",
               "U1,S1,M2,unionpay,200.00,paid,2026-11-30 11:00:00,2026-11-30 11:00:05,,,0",
               "U2,S1,M2,unionpay,50.00,refunded,2026-11-30 12:00:00,2026-11-30 12:00:05,,,0")
    r = _write(tmp_path / "r.csv", "refund_no,order_no,amount,created_at,status\n",
               "RU2,U2,50.00,2026-11-30 13:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,W1,A1,payment,,,100.00,0.58,97.00,success,2026-11-30 10:00:06,2026-11-30,",
               "unionpay,M2,Y1,U1,payment,,,200.00,1.00,199.00,success,2026-11-30 11:00:06,2026-11-30,",
               "unionpay,M2,Y2,U2,payment,,,50.00,0.25,49.75,success,2026-11-30 12:00:06,2026-11-30,",
               # the refund gives its fee back: 50.00 out, 0.25 returned
               "unionpay,M2,Y2,U2,refund,RU2,YR2,50.00,-0.25,49.75,success,2026-11-30 13:00:06,2026-11-30,")
    _ok("ingest", "--workspace", w, "--orders", o, "--refunds", r, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    got = _summary(w)
    assert (got["wechat"]["fee_fen"], got["wechat"]["net_fen"]) == (58, 9700 - 58)
    assert (got["unionpay"]["fee_fen"], got["unionpay"]["net_fen"]) == (100, 19900 + 4975 - 5000 + 25)
    assert got["全链合计"]["net_fen"] == got["wechat"]["net_fen"] + got["unionpay"]["net_fen"]
    with Workspace(w) as ws:
        flow = {r["dim"]: r for r in build_fund_flow(ws.con, DAY, DAY, by="channel", detail=False)
                .table("summary").arrow().to_pylist()}
    assert flow["unionpay"]["net_fen"] == got["unionpay"]["net_fen"]
    assert flow["wechat"]["net_fen"] - got["wechat"]["net_fen"] == 300  # the merchant-funded coupon


def test_an_instalment_order_is_one_order(tmp_path):
    """One regular order and one 3-period WeChat Pay Score order: 2 orders, as the run's control totals say (not one
    per plan period); its amount is the plan's."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,1900000001,wechat_payscore,300.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:10,M1,gold,3",
               "A2,S1,1900000001,wechat,50.00,paid,2026-11-30 11:00:00,2026-11-30 11:00:10,M1,gold,0")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,1900000001,T2,A2,payment,,,50.00,0.30,50.00,success,2026-11-30 11:00:15,2026-11-30,wechat")
    f = _write(tmp_path / "flows.csv", "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n",
               "wechat_payscore,A1,1,3,100.00,0.00,success,2026-11-30 10:00:20")
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[instalments.channels.wechat_payscore]\nrates_bp = { 3 = 0 }\nper_period = true\n")
    _ok("ingest", "--workspace", w, "--config", cfg, "--orders", o, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--date", DAY, "--instalments", f, "--as-of", DAY)
    total = _summary(w, group_by="merchant")["全链合计"]
    with Workspace(w) as ws:
        control = json.loads(ws.con.execute("SELECT summary FROM runs").fetchone()[0])["control_totals"]
    orders, plans = control["orders"], control["instalment_orders"]
    assert total["orders_count"] == orders["outcome_rows"] + plans["outcome_rows"] == 2
    assert total["orders_fen"] == orders["outcome_fen"] + plans["outcome_fen"] == 35000


def test_a_day_reconciled_without_activity_has_a_report_of_zeros(tmp_path):
    """A run covered 1 Dec and found nothing: its daily report is all zeros (Excel, CSV, JSON), naming the run; a day
    no run covered is still an error. CSV times are whole seconds."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "A1,S1,M1,wechat,30.00,paid,2026-11-30 13:00:00,2026-11-30 13:05:00,,,0")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,T1,A1,payment,,,30.00,0.18,30.00,success,2026-11-30 13:05:05,2026-11-30,wechat")
    _ok("ingest", "--workspace", w, "--orders", o, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    _ok("reconcile", "--workspace", w, "--date", "2026-12-01")
    _ok("report", "reconciliation", "--workspace", w, "--date", "2026-12-01", "--excel", tmp_path / "r.xlsx",
        "--csv", tmp_path / "csv", "--json", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    summary, unmatched = doc["tables"]
    assert len(summary["rows"]) == 1 and unmatched["rows"] == []
    assert summary["rows"][0]["orders_count"] == summary["rows"][0]["outcomes_count"] == 0
    assert summary["rows"][0]["net_fen"] == 0
    with Workspace(w) as ws:
        day_run = ws.con.execute("SELECT run_id FROM runs WHERE period_from = DATE '2026-12-01'").fetchone()[0]
    assert doc["run_ids"] == [day_run]
    r = runner.invoke(app, ["report", "reconciliation", "--workspace", str(w), "--date", "2026-12-02"])
    assert r.exit_code == 2 and "paymatch reconcile" in r.output
    _ok("report", "fund-flow", "--workspace", w, "--from", DAY, "--to", DAY, "--csv", tmp_path / "ff")
    with (tmp_path / "ff" / "detail.csv").open(encoding="utf-8-sig") as fh:
        times = [row[2] for row in csv.reader(fh)][1:]
    assert times == ["2026-11-30 13:05:05"]


KS_TX = ("wechat,1900000001,4200000000000000001,A1,payment,,,100.00,0.60,100.00,success,2026-11-30 10:00:15,"
         "2026-11-30,wechat",
         "wechat,1900000001,5000000000000000001,A1,refund,RF9,5000000000000000001,100.00,-0.60,100.00,success,"
         "2026-11-30 12:00:05,2026-11-30,wechat")


def _refund_reexported(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A workspace under key_scope with refund RF9 loaded without its merchant number (outcome R-RF9), and the
    re-export that adds it (R-1900000001/RF9) to load later."""
    w = tmp_path / "w.duckdb"
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\nkey_scope = ["merchant_id"]\n')
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,1900000001,wechat,100.00,refunded,2026-11-30 10:00:00,2026-11-30 10:00:10,M1,gold,0")
    r1 = _write(tmp_path / "r1.csv", "refund_no,order_no,amount,created_at,status\n",
                "RF9,A1,100.00,2026-11-30 12:00:00,success")
    r2 = _write(tmp_path / "r2.csv", "refund_no,order_no,amount,created_at,status,merchant_id\n",
                "RF9,A1,100.00,2026-11-30 12:00:00,success,1900000001")
    t = _write(tmp_path / "t.csv", TX, *KS_TX)
    _ok("ingest", "--workspace", w, "--config", cfg, "--orders", o, "--refunds", r1, "--transactions", t)
    return w, cfg, r2


def _refunds_counted(w: Path) -> tuple[int, int, set[str]]:
    total = _summary(w, "month", group_by="merchant")["全链合计"]
    with Workspace(w) as ws:
        from paymatch.reports.provenance import outcomes_in

        ids = {r[0] for r in ws.con.execute(f"SELECT outcome_id FROM {outcomes_in(DAY, DAY)}").fetchall()}
    return total["shop_refund_count"], total["channel_refund_fen"], ids


def test_a_range_run_replaces_the_days_it_covers(tmp_path):
    """A day run stored R-RF9; the re-export adds the merchant number and a range run over that day stores
    R-1900000001/RF9: the month counts the refund once (the day run's copy under the old id is gone)."""
    w, cfg, r2 = _refund_reexported(tmp_path)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--date", DAY)
    _ok("ingest", "--workspace", w, "--config", cfg, "--refunds", r2)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--from", DAY, "--to", "2026-12-01")
    assert _refunds_counted(w) == (1, 10000, {"P-1900000001/A1", "R-1900000001/RF9"})


def test_a_day_run_replaces_that_day_of_a_range_run(tmp_path):
    """The other way round: a range run stored R-RF9 on 30 Nov, a day run after the re-export replaces that day."""
    w, cfg, r2 = _refund_reexported(tmp_path)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--from", DAY, "--to", "2026-12-01")
    _ok("ingest", "--workspace", w, "--config", cfg, "--refunds", r2)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--date", DAY)
    assert _refunds_counted(w) == (1, 10000, {"P-1900000001/A1", "R-1900000001/RF9"})


def test_a_pending_order_matched_the_next_day_stays_matched(tmp_path):
    """Paid at 23:58 on 30 Nov, on 1 Dec's bill: pending on day 1, matched by day 2's run; rerunning day 1 (a day run,
    the latest run of that day) does not undo that, nor does a range run over day 1 alone."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "A1,S1,M1,wechat,30.00,paid,2026-11-30 23:57:00,2026-11-30 23:58:00,,,0")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,T1,A1,payment,,,30.00,0.18,30.00,success,2026-12-01 00:00:30,2026-12-01,wechat")
    _ok("ingest", "--workspace", w, "--orders", o, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    assert _summary(w)["全链合计"]["k_pending_cross_day_count"] == 1
    for args in (("--date", "2026-12-01"), ("--date", DAY), ("--from", "2026-11-29", "--to", DAY)):
        _ok("reconcile", "--workspace", w, *args)
        dec = _summary(w, date=dt.date(2026, 12, 1))["全链合计"]
        assert (dec["k_matched_count"], dec["orders_count"]) == (1, 1), args
        assert _summary(w)["全链合计"]["orders_count"] == 0, args  # not also pending on 30 Nov


def test_a_processing_refund_moves_no_money_nor_fee(tmp_path):
    """helper-64: a refund still processing (its returned fee printed) took the payment's fee back in 手续费 and in
    net settlement: 100.00 paid with 0.60 fee nets 99.40 until the refund succeeds, as fund flow says."""
    o = _write(tmp_path / "o.csv", ORDERS, "A1,S1,M1,wechat,100.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:00,,,0")
    r = _write(tmp_path / "r.csv", "refund_no,order_no,amount,created_at,status\n",
               "R1,A1,100.00,2026-11-30 11:00:00,processing")
    t = _write(tmp_path / "t.csv", TX, "wechat,M1,T1,A1,payment,,,100.00,0.60,100.00,success,2026-11-30 10:00:05,2026-11-30,wechat",
               "wechat,M1,T1,A1,refund,R1,RF1,100.00,-0.60,100.00,processing,2026-11-30 11:00:05,2026-11-30,wechat")
    w = tmp_path / "w.duckdb"
    _ok("ingest", "--workspace", w, "--orders", o, "--refunds", r, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY.isoformat(), "--out", tmp_path / "out")
    got = _summary(w)["wechat"]
    assert (got["fee_fen"], got["net_fen"]) == (60, 9940)


def test_key_scope_orders_of_one_number_under_two_merchants_count_twice_in_the_chain(tmp_path):
    """helper-64: per-period instalment orders A1 under two merchant numbers: each group 1, the chain total was 1."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,M1,wechat_payscore,300.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:00,U1,,3",
               "A1,S1,M2,wechat_payscore,300.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:00,U2,,3")
    flows = _write(tmp_path / "f.csv", "channel,order_no,period_no,periods,amount,fee,status,occurred_at,merchant_id\n",
                   "wechat_payscore,A1,1,3,100.00,0.00,success,2026-11-30 10:00:05,M1")
    w = tmp_path / "w.duckdb"
    _ok("ingest", "--workspace", w, "--config", cfg, "--orders", o)
    _ok("reconcile", "--workspace", w, "--config", cfg, "--date", DAY.isoformat(), "--instalments", flows,
        "--as-of", DAY.isoformat(), "--out", tmp_path / "out")
    with Workspace(w) as ws:
        rows = build_reconciliation(ws.con, "day", DAY, group_by="merchant").table("summary").arrow().to_pylist()
    counts = {r["merchant_id"]: r["orders_count"] for r in rows}
    assert sum(v for k, v in counts.items() if k in ("M1", "M2")) == 2 and max(counts.values()) == 2


def test_net_settlement_of_an_outcome_on_two_channels_is_each_records_own(tmp_path):
    """helper-64 f1: O3 is paid through WeChat (100.00, fee 0.60, settlement before the fee 100.00) and through
    UnionPay (100.00, fee 0.50, settlement net of it 99.50): one duplicate_payment outcome. Its net settlement is
    99.40 + 99.50, not its summed settlement 199.50 read as UnionPay's (+ fee − fee); grouped by channel each channel
    gets its own records' money and fees, and the outcome counts once, under its own channel."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "O1,S1,M1,wechat,100.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:10,,,0",
               "O2,S1,M1,unionpay,100.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:10,,,0",
               "O3,S1,M1,wechat,100.00,paid,2026-11-30 11:00:00,2026-11-30 11:00:10,,,0")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,W1,O1,payment,,,100.00,0.60,100.00,success,2026-11-30 10:00:15,2026-11-30,wechat",
               "unionpay,M1,U2,O2,payment,,,100.00,0.50,99.50,success,2026-11-30 10:00:15,2026-11-30,unionpay",
               "wechat,M1,W3,O3,payment,,,100.00,0.60,100.00,success,2026-11-30 11:00:15,2026-11-30,wechat",
               "unionpay,M1,U3,O3,payment,,,100.00,0.50,99.50,success,2026-11-30 11:01:15,2026-11-30,unionpay")
    _ok("ingest", "--workspace", w, "--orders", o, "--transactions", t)
    for args in (("--date", DAY), ("--from", DAY, "--to", "2026-12-01")):
        _ok("reconcile", "--workspace", w, *args)
        got = _summary(w)
        assert got["全链合计"]["net_fen"] == 2 * (10000 - 60) + 2 * 9950, args
        assert got["全链合计"]["fee_fen"] == 220, args
        for ch, net, fee in (("wechat", 2 * 9940, 120), ("unionpay", 2 * 9950, 100)):
            assert (got[ch]["channel_count"], got[ch]["channel_fen"], got[ch]["fee_fen"], got[ch]["net_fen"]) == (
                2, 20000, fee, net), (args, ch)
        # O3 is one outcome (a duplicate payment) and one order, under the channel the outcome names
        assert got["全链合计"]["outcomes_count"] == got["wechat"]["outcomes_count"] + got["unionpay"]["outcomes_count"] == 3
        assert got["全链合计"]["orders_count"] == got["wechat"]["orders_count"] + got["unionpay"]["orders_count"] == 3
        assert got["全链合计"]["k_duplicate_payment_count"] == 1, args
        assert got["全链合计"]["k_duplicate_payment_fen"] == sum(
            got[ch].get("k_duplicate_payment_fen", 0) for ch in ("wechat", "unionpay")) == 20000, args
        by_merchant = _summary(w, group_by="merchant")
        assert by_merchant["M1"]["net_fen"] == got["全链合计"]["net_fen"], args


def test_an_instalment_order_counts_on_one_day_and_one_channel_whatever_its_periods(tmp_path):
    """helper-69: a range run places an instalment order's period outcomes on their own days (period 1 deducted on
    the 7th, the early deduction of period 2 on the 8th, period 3 not due: the range's last day) and period 2's came
    through another channel (instalment_channel_mismatch). The order counted once in every day and every channel
    holding one of its periods: the days added up to 3 orders in a month of 1, the channels to 2 in a chain of 1.
    It counts once, where its first period's outcome is."""
    d7, d10 = dt.date(2026, 11, 7), dt.date(2026, 11, 10)
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,M1,wechat_payscore,300.00,paid,2026-11-07 10:00:00,2026-11-07 10:00:00,U1,,3")
    flows = _write(tmp_path / "f.csv", "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n",
                   "wechat_payscore,A1,1,3,100.00,0.00,success,2026-11-07 10:00:05",
                   "alipay,A1,2,3,100.00,0.00,success,2026-11-08 10:00:05")
    w = tmp_path / "w.duckdb"
    _ok("ingest", "--workspace", w, "--orders", o)
    _ok("reconcile", "--workspace", w, "--from", d7.isoformat(), "--to", d10.isoformat(), "--instalments", flows,
        "--as-of", d10.isoformat())
    month = _summary(w, "month", d7)
    assert month["全链合计"]["orders_count"] == 1
    assert sum(r["orders_count"] for k, r in month.items() if k != "全链合计") == 1
    days = [_summary(w, "day", d7 + dt.timedelta(days=i))["全链合计"]["orders_count"] for i in range(4)]
    assert days == [1, 0, 0, 0]


def test_a_refund_on_two_channels_gives_each_channel_its_own_records(tmp_path):
    """helper-69: refund R3 of an order paid twice (WeChat and UnionPay) was refunded through both: one
    duplicate_refund outcome with a record on each channel. Grouped by channel its whole money (80.00 out, both
    returned fees) went to the outcome's channel: WeChat's net was 39.76 too high, UnionPay's as much too low. Each
    channel gets its own refund record, as payments' shares do; the outcome counts once."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "O3,S1,M1,wechat,40.00,refunded,2026-11-30 11:00:00,2026-11-30 11:00:10,,,0")
    r = _write(tmp_path / "r.csv", "refund_no,order_no,amount,created_at,status\n",
               "R3,O3,40.00,2026-11-30 12:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,W3,O3,payment,,,40.00,0.24,40.00,success,2026-11-30 11:00:15,2026-11-30,wechat",
               "unionpay,M1,U3,O3,payment,,,40.00,0.20,39.80,success,2026-11-30 11:01:15,2026-11-30,unionpay",
               "wechat,M1,W3,O3,refund,R3,WR3,40.00,-0.24,40.00,success,2026-11-30 12:00:15,2026-11-30,wechat",
               "unionpay,M1,U3,O3,refund,R3,UR3,40.00,-0.20,39.80,success,2026-11-30 12:00:15,2026-11-30,unionpay")
    _ok("ingest", "--workspace", w, "--orders", o, "--refunds", r, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    got = _summary(w)
    assert (got["wechat"]["channel_refund_count"], got["wechat"]["channel_refund_fen"]) == (1, 4000)
    assert (got["unionpay"]["channel_refund_count"], got["unionpay"]["channel_refund_fen"]) == (1, 4000)
    # each channel: its payment's settlement before the fee − its refund − its fees (the refund's returned)
    assert got["wechat"]["net_fen"] == 4000 - 4000 - (24 - 24)
    assert got["unionpay"]["net_fen"] == (3980 + 20) - 4000 - (20 - 20)
    assert got["全链合计"]["net_fen"] == 0 and got["全链合计"]["shop_refund_count"] == 1
    assert sum(g["outcomes_count"] for k, g in got.items() if k != "全链合计") == got["全链合计"]["outcomes_count"]


def test_an_outcome_at_two_merchant_numbers_gives_each_merchant_number_its_own_records(tmp_path):
    """helper-69: O3 (merchant number M1) paid through WeChat at M1 and again through UnionPay at M2: grouped by
    merchant number, M2's UnionPay payment (its amount, fee and settlement) went to M1, the outcome's. Each merchant
    number gets its own records' money, as each channel does; the outcome and its order count once, under M1."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "O1,S1,M2,unionpay,50.00,paid,2026-11-30 10:00:00,2026-11-30 10:00:10,,,0",
               "O3,S1,M1,wechat,100.00,paid,2026-11-30 11:00:00,2026-11-30 11:00:10,,,0")
    t = _write(tmp_path / "t.csv", TX,
               "unionpay,M2,U1,O1,payment,,,50.00,0.25,49.75,success,2026-11-30 10:00:15,2026-11-30,unionpay",
               "wechat,M1,W3,O3,payment,,,100.00,0.60,100.00,success,2026-11-30 11:00:15,2026-11-30,wechat",
               "unionpay,M2,U3,O3,payment,,,100.00,0.50,99.50,success,2026-11-30 11:01:15,2026-11-30,unionpay")
    _ok("ingest", "--workspace", w, "--orders", o, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    for group_by, m1, m2 in (("merchant", "M1", "M2"), ("channel", "wechat", "unionpay")):
        got = _summary(w, group_by=group_by)
        assert (got[m1]["channel_count"], got[m1]["channel_fen"], got[m1]["fee_fen"], got[m1]["net_fen"]) == (
            1, 10000, 60, 9940), group_by
        assert (got[m2]["channel_count"], got[m2]["channel_fen"], got[m2]["fee_fen"], got[m2]["net_fen"]) == (
            2, 15000, 75, 4975 + 9950), group_by
        # O3 counts once, under the merchant number / the channel the outcome names
        assert got[m1]["outcomes_count"] + got[m2]["outcomes_count"] == 2 == got["全链合计"]["outcomes_count"]
        assert got[m1]["orders_count"] + got[m2]["orders_count"] == 2 == got["全链合计"]["orders_count"]
        if group_by == "merchant":
            assert (got["M1"]["outcomes_count"], got["M1"]["orders_count"]) == (1, 1)
    with Workspace(w) as ws:
        rows = build_reconciliation(ws.con, "day", DAY, group_by=["merchant", "channel"]).table("summary")
        both = {(r["merchant_id"], r["channel"]): r for r in rows.arrow().to_pylist()}
    assert both[("M2", "unionpay")]["channel_fen"] == 15000 and both[("M1", "wechat")]["channel_fen"] == 10000


def test_records_without_merchant_numbers_stay_with_the_outcomes_merchant_number(tmp_path):
    """Records naming no merchant number (a canonical file without the column) on two channels: grouped by merchant
    number the outcome's money stays with its order's merchant number (not a '(none)' group of its own)."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "O3,S1,M1,wechat,100.00,paid,2026-11-30 11:00:00,2026-11-30 11:00:10,,,0")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,,W3,O3,payment,,,100.00,0.60,100.00,success,2026-11-30 11:00:15,2026-11-30,wechat",
               "unionpay,,U3,O3,payment,,,100.00,0.50,99.50,success,2026-11-30 11:01:15,2026-11-30,unionpay")
    _ok("ingest", "--workspace", w, "--orders", o, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    got = _summary(w, group_by="merchant")
    assert set(got) == {"M1", "全链合计"}
    assert (got["M1"]["channel_count"], got["M1"]["net_fen"]) == (2, 9940 + 9950)


def test_net_settlement_of_a_refunded_coupon_order_is_what_went_back(tmp_path):
    """A WeChat order of 50.00 paid with a merchant-funded coupon of 5.00 (应结订单金额 45.00, fee 0.27) and refunded
    in full: the shop asked 50.00 back (申请退款金额), WeChat took 45.00 (退款金额) and returned the fee, so the
    channel's payout for the order is 0.00 - not -5.00, a coupon the shop never received counted as paid back
    (audit_round7). Alipay alike: 商家实收 54.00 of 60.00 (商家优惠 6.00), the refund 商家实收 -54.00. UnionPay's
    refund keeps its amount (its 结算金额 is net of the returned fee). The shop refund and the channel refund amount
    (订单金额 / 申请退款金额) still agree: refund_matched."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "C1,S1,M1,wechat,50.00,refunded,2026-11-30 10:00:00,2026-11-30 10:00:05,,,0",
               "C2,S1,M3,alipay,60.00,refunded,2026-11-30 10:00:00,2026-11-30 10:00:05,,,0",
               "U2,S1,M2,unionpay,50.00,refunded,2026-11-30 12:00:00,2026-11-30 12:00:05,,,0")
    r = _write(tmp_path / "r.csv", "refund_no,order_no,amount,created_at,status\n",
               "RC1,C1,50.00,2026-11-30 11:00:00,success", "RC2,C2,60.00,2026-11-30 11:00:00,success",
               "RU2,U2,50.00,2026-11-30 13:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,W1,C1,payment,,,50.00,0.27,45.00,success,2026-11-30 10:00:06,2026-11-30,",
               "wechat,M1,W1,C1,refund,RC1,WR1,50.00,-0.27,45.00,success,2026-11-30 11:00:06,2026-11-30,",
               "alipay,M3,A1,C2,payment,,,60.00,0.32,54.00,success,2026-11-30 10:00:06,2026-11-30,",
               "alipay,M3,A1,C2,refund,RC2,RC2,60.00,-0.32,54.00,success,2026-11-30 11:00:06,2026-11-30,",
               "unionpay,M2,Y2,U2,payment,,,50.00,0.25,49.75,success,2026-11-30 12:00:06,2026-11-30,",
               "unionpay,M2,Y2,U2,refund,RU2,YR2,50.00,-0.25,49.75,success,2026-11-30 13:00:06,2026-11-30,")
    _ok("ingest", "--workspace", w, "--orders", o, "--refunds", r, "--transactions", t)
    _ok("reconcile", "--workspace", w, "--date", DAY)
    got = _summary(w)
    assert (got["wechat"]["channel_refund_fen"], got["wechat"]["channel_refund_count"]) == (5000, 1)
    assert (got["wechat"]["fee_fen"], got["wechat"]["net_fen"]) == (0, 0)
    assert (got["alipay"]["fee_fen"], got["alipay"]["net_fen"]) == (0, 0)
    assert got["unionpay"]["net_fen"] == 0
    assert got["全链合计"]["net_fen"] == 0
    with Workspace(w) as ws:  # the detail sheet's rows add up to the summary's
        rep = build_reconciliation(ws.con, "day", DAY, group_by="channel", detail=True)
        detail = rep.table("detail").arrow().to_pylist()
    assert sum(d["d_net_fen"] or 0 for d in detail) == 0
