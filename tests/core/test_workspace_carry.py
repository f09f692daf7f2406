"""Workspace mode across loads and days: a channel record delivered twice, a pending order that never arrives."""

import csv
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

runner = CliRunner()

ORDERS = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
REFUNDS = "refund_no,order_no,amount,created_at,status\n"
TX = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date\n"


def _write(path: Path, header: str, *rows: str) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _ok(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.output


def _stored(w: Path, day: str) -> dict[str, tuple]:
    with Workspace(w) as ws:
        return {r[0]: r[1:] for r in ws.con.execute(
            "SELECT outcome_id, kind, order_amount_fen, channel_amount_fen, channel_rows FROM outcomes "
            "WHERE period_from = ?", [day]).fetchall()}


def test_a_record_in_two_files_is_stored_once_or_flagged(tmp_path):
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,1600000001,wechat,140.00,paid,2026-11-18 10:00:00,2026-11-18 10:00:05,,,0",
               "A2,S1,1600000001,wechat,20.00,paid,2026-11-18 11:00:00,2026-11-18 11:00:05,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS)
    t1 = _write(tmp_path / "t1.csv", TX,
                "wechat,1600000001,T1,A1,payment,,,140.00,0.84,success,2026-11-18 10:00:06,2026-11-18",
                "wechat,1600000001,T2,A2,payment,,,20.00,0.12,success,2026-11-18 11:00:06,2026-11-18")
    # an overlapping export: T2 again with the same values (the same record), T1 again with another amount
    t2 = _write(tmp_path / "t2.csv", TX,
                "wechat,1600000001,T1,A1,payment,,,150.00,0.90,success,2026-11-18 10:00:06,2026-11-18",
                "wechat,1600000001,T2,A2,payment,,,20.00,0.12,success,2026-11-18 11:00:06,2026-11-18")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t1)])
    out = _ok(["ingest", "--workspace", str(w), "--transactions", str(t2)])
    assert "1 of them already stored with the same values" in out
    with Workspace(w) as ws:
        stored = ws.con.execute("SELECT channel_tx_id, amount_fen, src_file FROM transactions ORDER BY rowid").fetchall()
    assert [(x[0], x[1]) for x in stored] == [("T1", 14000), ("T2", 2000), ("T1", 15000)]
    assert stored[0][2].endswith("t1.csv") and stored[2][2].endswith("t2.csv")  # provenance of each copy

    _ok(["reconcile", "--workspace", str(w), "--date", "2026-11-18", "--out", str(tmp_path / "out")])
    got = _stored(w, "2026-11-18")
    # the first stored copy is primary (as file order decides in a file run); the later one is flagged, not lost
    assert got["P-A1"] == ("matched", 14000, 14000, 1)
    assert got["P-A2"][0] == "matched"
    assert got["D-wechat:T1:payment:"][0] == "duplicate_record"
    assert got["D-wechat:T1:payment:"][2] == 15000

    # the same two files given to one file run: the same outcomes (the identical T2 is the overlap of two deliveries
    # there too; it was a duplicate_record more in a file run before helper-50)
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(t1), "--transactions", str(t2),
         "--out", str(tmp_path / "files")])
    rows = (tmp_path / "files" / "outcomes.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(x.split(",")[0].strip('"') + ":" + x.split(",")[1].strip('"') for x in rows) == sorted(
        f"{k}:{v[0]}" for k, v in got.items())


def test_pending_order_missing_from_the_next_bill_becomes_order_only(tmp_path):
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "B1,S1,1600000001,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0",
               # paid 4 minutes before midnight: its payment is expected on the 21st's bill
               "B2,S1,1600000001,wechat,11.00,paid,2026-11-20 23:56:00,2026-11-20 23:56:02,,,0",
               "B3,S1,1600000001,wechat,12.00,paid,2026-11-20 23:57:00,2026-11-20 23:57:02,,,0",
               "B4,S1,1600000001,wechat,13.00,paid,2026-11-21 09:00:00,2026-11-21 09:00:02,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS,
               "RB1,B1,1.00,2026-11-20 23:58:00,success")  # refunded just before midnight, never on a bill
    day1 = _write(tmp_path / "d1.csv", TX,
                  "wechat,1600000001,T1,B1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20")
    day2 = _write(tmp_path / "d2.csv", TX,  # B2 arrives, B3 never does
                  "wechat,1600000001,T2,B2,payment,,,11.00,0.07,success,2026-11-20 23:56:03,2026-11-21",
                  "wechat,1600000001,T4,B4,payment,,,13.00,0.08,success,2026-11-21 09:00:03,2026-11-21")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(day1)])
    _ok(["reconcile", "--workspace", str(w), "--date", "2026-11-20"])
    first = _stored(w, "2026-11-20")
    assert first["P-B2"][0] == first["P-B3"][0] == first["R-RB1"][0] == "pending_cross_day"

    _ok(["ingest", "--workspace", str(w), "--transactions", str(day2)])
    _ok(["reconcile", "--workspace", str(w), "--date", "2026-11-21"])
    second = _stored(w, "2026-11-21")
    assert second["P-B2"][0] == "matched"
    assert second["P-B3"][0] == "order_only"  # not pending for ever
    assert second["R-RB1"][0] == "refund_order_only"
    assert second["P-B4"][0] == "matched"
    assert "P-B1" not in second  # settled on the 20th: not carried


def test_carried_orders_keep_to_their_merchant_number_under_key_scope(tmp_path):
    # order numbers unique only per merchant number: K1 and K2 exist under both M1 and M2
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "K1,S1,M1,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0",
               "K1,S2,M2,wechat,20.00,paid,2026-11-21 10:00:00,2026-11-21 10:00:05,,,0",
               "K2,S1,M1,wechat,30.00,paid,2026-11-20 23:57:00,2026-11-20 23:57:02,,,0",  # pending on the 20th
               "K2,S2,M2,wechat,40.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS)
    day1 = _write(tmp_path / "d1.csv", TX,
                  "wechat,M1,T1,K1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20",
                  "wechat,M2,T4,K2,payment,,,40.00,0.24,success,2026-11-20 11:00:06,2026-11-20")
    day2 = _write(tmp_path / "d2.csv", TX,
                  "wechat,M2,T2,K1,payment,,,20.00,0.12,success,2026-11-21 10:00:06,2026-11-21",
                  "wechat,M1,T3,K2,payment,,,30.00,0.18,success,2026-11-20 23:57:03,2026-11-21")
    _ok(["ingest", "--workspace", str(w), "--config", str(cfg), "--orders", str(o), "--refunds", str(r),
         "--transactions", str(day1), "--transactions", str(day2)])
    _ok(["reconcile", "--workspace", str(w), "--config", str(cfg), "--date", "2026-11-20"])
    first = _stored(w, "2026-11-20")
    assert first["P-M1/K1"][0] == first["P-M2/K2"][0] == "matched"
    assert first["P-M1/K2"][0] == "pending_cross_day"
    _ok(["reconcile", "--workspace", str(w), "--config", str(cfg), "--date", "2026-11-21"])
    second = _stored(w, "2026-11-21")
    # only M2's K1 (paid on the 21st) and M1's K2 (carried, its payment on the 21st's bill): the namesakes
    # settled on the 20th are not pulled in as order_only
    assert {k: v[0] for k, v in second.items()} == {"P-M2/K1": "matched", "P-M1/K2": "matched"}


def test_records_of_one_order_or_refund_on_two_days_bills(tmp_path):
    """Reconciled day by day, a day's run sees the earlier bills' records of its orders and refunds: a second payment
    or refund after midnight is a duplicate (not a match on each day), a closed retry after a match is no status
    break, a payment booked seconds before midnight belongs to the order paid just after it, and a refund moving from
    processing to success is the later bill's success. Day runs agree with a range run over both days."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "DUP,S1,M1,wechat,20.00,paid,2026-11-18 10:00:00,2026-11-18 10:00:00,,,0",
               "CL,S1,M1,wechat,10.00,paid,2026-11-18 11:00:00,2026-11-18 11:00:00,,,0",
               "SKEW,S1,M1,wechat,10.00,paid,2026-11-19 00:00:03,2026-11-19 00:00:03,,,0",
               "RO,S1,M1,wechat,50.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:00,,,0",
               "RP,S1,M1,wechat,30.00,paid,2026-11-18 09:30:00,2026-11-18 09:30:00,,,0",
               "Z,S1,M1,wechat,100.00,paid,2026-11-18 08:00:00,2026-11-18 08:00:00,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS,
               "RR1,RO,10.00,2026-11-18 12:00:00,success",
               "RP1,RP,30.00,2026-11-18 12:00:00,success",
               "RZ,Z,30.00,2026-11-18 15:00:00,success")
    d18 = _write(tmp_path / "d18.csv", TX,
                 "wechat,M1,XDUPa,DUP,payment,,,20.00,0,success,2026-11-18 10:00:05,2026-11-18",
                 "wechat,M1,XCLa,CL,payment,,,10.00,0,success,2026-11-18 11:00:05,2026-11-18",
                 "wechat,M1,XSKEW,SKEW,payment,,,10.00,0,success,2026-11-18 23:59:58,2026-11-18",
                 "wechat,M1,XRO,RO,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18",
                 "wechat,M1,XRO,RO,refund,RR1,IRR1a,10.00,0,success,2026-11-18 12:00:05,2026-11-18",
                 "wechat,M1,XRP,RP,payment,,,30.00,0,success,2026-11-18 09:30:05,2026-11-18",
                 "wechat,M1,XRP,RP,refund,RP1,IRP1,30.00,0,processing,2026-11-18 12:00:05,2026-11-18",
                 "wechat,M1,XZ,Z,payment,,,100.00,0,success,2026-11-18 08:00:05,2026-11-18")
    d19 = _write(tmp_path / "d19.csv", TX,
                 "wechat,M1,XDUPb,DUP,payment,,,20.00,0,success,2026-11-19 09:00:05,2026-11-19",
                 "wechat,M1,XCLb,CL,payment,,,10.00,0,closed,2026-11-19 00:10:00,2026-11-19",
                 "wechat,M1,XRO,RO,refund,RR1,IRR1b,10.00,0,success,2026-11-19 08:00:00,2026-11-19",
                 "wechat,M1,XRP,RP,refund,RP1,IRP1,30.00,0,success,2026-11-19 08:00:00,2026-11-19",
                 "wechat,M1,XZ,Z,refund,,IRZ,30.00,0,success,2026-11-19 09:00:00,2026-11-19")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(d18),
         "--transactions", str(d19)])
    want = {"P-DUP": ("duplicate_payment", 2000, 4000, 2), "P-CL": ("matched", 1000, 1000, 2),
            "P-SKEW": ("matched", 1000, 1000, 1), "R-RR1": ("duplicate_refund", 1000, 2000, 2),
            "R-RP1": ("refund_matched", 3000, 3000, 1), "R-RZ": ("refund_matched", 3000, 3000, 1)}
    for day in ("2026-11-18", "2026-11-19"):
        _ok(["reconcile", "--workspace", str(w), "--date", day])
    got = _stored(w, "2026-11-19")
    assert {k: got[k] for k in want} == want
    assert not any(k.startswith("R-~") for k in got)  # IRZ paired
    # RP1's processing copy of the 18th is the record's earlier state: no break, and no money
    assert {k: v[0] for k, v in got.items() if k.startswith("D-")} == {"D-wechat:XRP:refund:IRP1": "record_update"}
    # the month, as reports count it (each outcome as the run reaching furthest saw it): no false break left
    with Workspace(w) as ws:
        latest = dict(ws.con.execute(
            "SELECT outcome_id, arg_max(kind, period_to) FROM outcomes GROUP BY outcome_id").fetchall())
    assert {k: v for k, v in latest.items() if k in want} == {k: v[0] for k, v in want.items()}
    assert latest["P-RO"] == latest["P-RP"] == latest["P-Z"] == "matched"
    # the range run over both days sees the same outcomes, RP1's processing copy included
    _ok(["reconcile", "--workspace", str(w), "--from", "2026-11-18", "--to", "2026-11-19"])
    with Workspace(w) as ws:
        ranged = {r[0]: r[1:] for r in ws.con.execute(
            "SELECT outcome_id, kind, order_amount_fen, channel_amount_fen, channel_rows FROM outcomes "
            "WHERE period_from = DATE '2026-11-18' AND period_to = DATE '2026-11-19'").fetchall()}
    assert {k: ranged[k] for k in want} == want
    assert ranged["D-wechat:XRP:refund:IRP1"] == got["D-wechat:XRP:refund:IRP1"] == ("record_update", None, 3000, 1)


def _month(w: Path) -> dict[str, str]:
    """Each outcome as reports count it: the copy of the run reaching furthest."""
    with Workspace(w) as ws:
        return dict(ws.con.execute("SELECT outcome_id, arg_max(kind, period_to) FROM outcomes GROUP BY outcome_id")
                    .fetchall())


def test_a_number_less_channel_refund_before_its_shop_refund_is_counted_once(tmp_path):
    """The channel refunded on the 18th without the shop's refund number; the shop recorded the refund on the 19th.
    Each day's run must leave the record in exactly one counted outcome (not paired on the 18th with a refund the
    19th reads again without it)."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "Z,S1,M1,wechat,100.00,paid,2026-11-18 08:00:00,2026-11-18 08:00:00,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS, "RZ,Z,30.00,2026-11-19 09:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,XZ,Z,payment,,,100.00,0,success,2026-11-18 08:00:05,2026-11-18",
               "wechat,M1,XZ,Z,refund,,IRZ,30.00,0,success,2026-11-18 15:00:00,2026-11-18")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t)])
    for day in ("2026-11-18", "2026-11-19"):
        _ok(["reconcile", "--workspace", str(w), "--date", day])
    month = _month(w)
    with Workspace(w) as ws:
        rows = dict(ws.con.execute(
            "SELECT outcome_id, arg_max(channel_rows, period_to) FROM outcomes GROUP BY outcome_id").fetchall())
    assert sum(rows.values()) == 2  # the payment and the refund record, each counted once
    assert month["P-Z"] == "matched"


def test_a_failed_refund_retried_under_a_new_number_still_pairs(tmp_path):
    """RZ1 failed; the retry RZ2 succeeded and the channel's refund names no refund number: RZ2 pairs with it."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "Z,S1,M1,wechat,100.00,paid,2026-11-18 08:00:00,2026-11-18 08:00:00,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS, "RZ1,Z,30.00,2026-11-18 14:00:00,failed",
               "RZ2,Z,30.00,2026-11-19 09:00:00,success")
    t18 = _write(tmp_path / "t18.csv", TX, "wechat,M1,XZ,Z,payment,,,100.00,0,success,2026-11-18 08:00:05,2026-11-18")
    t19 = _write(tmp_path / "t19.csv", TX, "wechat,M1,XZ,Z,refund,,IRZ,30.00,0,success,2026-11-19 09:00:05,2026-11-19")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t18),
         "--transactions", str(t19)])
    for day in ("2026-11-18", "2026-11-19"):
        _ok(["reconcile", "--workspace", str(w), "--date", day])
    month = _month(w)
    assert (month["R-RZ1"], month["R-RZ2"]) == ("refund_failed", "refund_matched")
    assert not any(k.startswith("R-~") for k in month)
    _ok(["reconcile", "--workspace", str(w), "--from", "2026-11-18", "--to", "2026-11-19"])
    assert (_month(w)["R-RZ2"]) == "refund_matched"


def days_and_range(w: Path, days: list[str], column: str) -> tuple[dict, dict]:
    """Reconcile ``days`` one by one, then as one range; each outcome's (kind, ``column``): the days' as reports count
    them (the run reaching furthest), and the range run's."""
    for day in days:
        _ok(["reconcile", "--workspace", str(w), "--date", day])
    with Workspace(w) as ws:
        daily = {k: (kind, v) for k, kind, v in ws.con.execute(
            f"SELECT outcome_id, arg_max(kind, period_to), arg_max({column}, period_to) FROM outcomes "
            "GROUP BY outcome_id").fetchall()}
    _ok(["reconcile", "--workspace", str(w), "--from", days[0], "--to", days[-1]])
    with Workspace(w) as ws:
        ranged = {k: (kind, v) for k, kind, v in ws.con.execute(
            f"SELECT outcome_id, kind, {column} FROM outcomes WHERE period_from <> period_to").fetchall()}
    return daily, ranged


def test_earlier_states_of_a_refund_the_shop_never_recorded_are_read_by_day_runs(tmp_path):
    """A console refund (no shop refund) processing on the 17th's bill and successful on the 18th's: the 18th's run
    reads the earlier copy (helper-39), so its record_update is there day by day as in a range run, and every record
    is in exactly one counted outcome. (A record without a refund number is not carried: see scope.by_window.)"""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS,
               "C4,S1,M1,wechat,100.00,paid,2026-11-17 09:00:00,2026-11-17 09:00:05,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS)
    d17 = _write(tmp_path / "d17.csv", TX,
                 "wechat,M1,T4,C4,payment,,,100.00,0,success,2026-11-17 09:00:06,2026-11-17",
                 "wechat,M1,T4,C4,refund,RX4,CX4,10.00,0,processing,2026-11-17 10:00:01,2026-11-17")
    d18 = _write(tmp_path / "d18.csv", TX,
                 "wechat,M1,T4,C4,refund,RX4,CX4,10.00,0,success,2026-11-18 10:00:01,2026-11-18")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(d17),
         "--transactions", str(d18)])
    daily, ranged = days_and_range(w, ["2026-11-17", "2026-11-18"], "channel_rows")
    assert daily == ranged
    assert {k: v for k, v in ranged.items() if not k.startswith("P-")} == {
        "R-RX4": ("refund_channel_only", 1), "D-wechat:T4:refund:CX4": ("record_update", 1)}
    assert sum(rows for _, rows in daily.values()) == 3  # every record once


def test_number_less_refunds_of_one_order_and_amount_pair_in_time_order(tmp_path):
    """(helper-46) Two shop refunds of 30.00 of one order, on two days, and the channel's two refunds of it without the
    shop's number, one on each day's bill: paired in time order, matched day by day and over the range alike (the
    range called them ambiguous: four breaks). A third record beyond the shop's refunds stays channel-only."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "X,S1,M1,wechat,100.00,paid,2026-11-20 08:00:00,2026-11-20 08:00:00,,,0")
    r = _write(tmp_path / "r.csv", REFUNDS, "RX1,X,30.00,2026-11-20 09:00:00,success",
               "RX2,X,30.00,2026-11-21 09:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,XX,X,payment,,,100.00,0,success,2026-11-20 08:00:05,2026-11-20",
               "wechat,M1,XX,X,refund,,F1,30.00,0,success,2026-11-20 09:00:05,2026-11-20",
               "wechat,M1,XX,X,refund,,F2,30.00,0,success,2026-11-21 09:00:05,2026-11-21",
               "wechat,M1,XX,X,refund,,F3,30.00,0,success,2026-11-21 10:00:05,2026-11-21")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t)])
    daily, ranged = days_and_range(w, ["2026-11-20", "2026-11-21"], "channel_tx_id")
    want = {"R-RX1": ("refund_matched", "F1"), "R-RX2": ("refund_matched", "F2"),
            "R-~wechat:F3": ("refund_channel_only", "F3")}
    assert {k: v for k, v in daily.items() if k.startswith("R-")} == want
    assert {k: v for k, v in ranged.items() if k.startswith("R-")} == want
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(t), "--out", str(tmp_path / "f")])
    with (tmp_path / "f" / "outcomes.csv").open(encoding="utf-8") as f:
        files = {x["outcome_id"]: (x["kind"], x["channel_tx_id"]) for x in csv.DictReader(f)
                 if x["outcome_id"].startswith("R-")}
    assert files == want


def test_a_payment_credited_to_another_merchant_number_is_found_day_by_day_as_over_the_range(tmp_path):
    """(helper-47) Which merchant numbers are the shop's on a channel comes from every stored record, not the day's:
    a payment of an M1 order credited to M2 on a day M1 took nothing else was matched day by day, merchant_mismatch
    over the range."""
    w = tmp_path / "w.duckdb"
    o = _write(tmp_path / "o.csv", ORDERS, "A1,S1,M1,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0",
               "A2,S1,M1,wechat,10.00,paid,2026-11-21 09:00:00,2026-11-21 09:00:05,,,0",
               "A3,S2,M2,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0")
    t1 = _write(tmp_path / "t1.csv", TX, "wechat,M1,X1,A1,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20",
                "wechat,M2,X3,A3,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20")
    t2 = _write(tmp_path / "t2.csv", TX, "wechat,M2,X2,A2,payment,,,10.00,0,success,2026-11-21 09:00:06,2026-11-21")
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--transactions", str(t1), "--transactions", str(t2)])
    daily, ranged = days_and_range(w, ["2026-11-20", "2026-11-21"], "merchant_id")
    assert daily["P-A2"] == ranged["P-A2"] == ("merchant_mismatch", "M1")
    assert daily["P-A1"] == ranged["P-A1"] == ("matched", "M1")


def test_a_file_listing_a_record_twice_keeps_its_second_listing_whatever_came_first(tmp_path):
    """(helper-50) A record stored from one file, then a file listing it twice with the same values: the second file's
    first copy is the record delivered again (not stored), its second listing is a duplicate_record, as when the
    files come the other way round."""
    o = _write(tmp_path / "o.csv", ORDERS, "D1,S1,M1,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0")
    row = "wechat,M1,XD1,D1,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20"
    once, twice = _write(tmp_path / "once.csv", TX, row), _write(tmp_path / "twice.csv", TX, row, row)
    for name, files in (("a", (once, twice)), ("b", (twice, once))):
        w = tmp_path / f"{name}.duckdb"
        _ok(["ingest", "--workspace", str(w), "--orders", str(o), *sum((["--transactions", str(f)] for f in files), [])])
        _ok(["reconcile", "--workspace", str(w), "--date", "2026-11-20"])
        with Workspace(w) as ws:
            kinds = dict(ws.con.execute("SELECT outcome_id, kind FROM outcomes").fetchall())
        assert kinds == {"P-D1": "matched", "D-wechat:XD1:payment:": "duplicate_record"}, name


def test_a_file_run_counts_a_record_two_files_list_alike_once_as_a_workspace_does(tmp_path):
    """(helper-50) Two files listing a record with the same values (overlapping exports): a workspace stores it once;
    a file run gave a duplicate_record more. Now both give one record; a file's own second listing stays a
    duplicate_record, and a copy with another value stays one too."""
    o = _write(tmp_path / "o.csv", ORDERS, "D1,S1,M1,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0",
               "D2,S1,M1,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0",
               "D3,S1,M1,wechat,10.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05,,,0")
    r1 = "wechat,M1,X1,D1,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20"
    r2 = "wechat,M1,X2,D2,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20"
    r3 = "wechat,M1,X3,D3,payment,,,10.00,0,success,2026-11-20 09:00:06,2026-11-20"
    a = _write(tmp_path / "a.csv", TX, r1, r2, r3)
    b = _write(tmp_path / "b.csv", TX, r1, r2, r2, r3.replace("10.00,0,", "10.00,0.06,"))
    want = {"P-D1": "matched", "P-D2": "matched", "P-D3": "matched", "D-wechat:X2:payment:": "duplicate_record",
            "D-wechat:X3:payment:": "duplicate_record"}
    args = ["--orders", str(o), "--transactions", str(a), "--transactions", str(b)]
    out = _ok(["reconcile", *args, "--out", str(tmp_path / "f")])
    assert "listed again" in out  # said, as ingest says "already stored"
    with (tmp_path / "f" / "outcomes.csv").open(encoding="utf-8") as f:
        assert {x["outcome_id"]: x["kind"] for x in csv.DictReader(f)} == want
    _ok(["reconcile", *args, "--workspace", str(tmp_path / "w.duckdb"), "--out", str(tmp_path / "w")])
    with (tmp_path / "w" / "outcomes.csv").open(encoding="utf-8") as f:
        assert {x["outcome_id"]: x["kind"] for x in csv.DictReader(f)} == want
