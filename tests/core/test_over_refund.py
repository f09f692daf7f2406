"""Refunds that add up to more than the order: the refund that crosses the amount, and every later one, is
over_refund (超额退款), in a file run, day by day and over a range alike."""

import csv
from pathlib import Path

from tests.core.test_workspace_carry import REFUNDS, TX, _ok, _write, days_and_range

ORDERS = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"


def _inputs(tmp_path: Path):
    o = _write(tmp_path / "o.csv", ORDERS,
               "A1,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05",
               "A2,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05",
               "A3,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05",
               "A4,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05")
    r = _write(tmp_path / "r.csv", REFUNDS,
               "RA1,A1,60.00,2026-11-18 12:00:00,success", "RA2,A1,30.00,2026-11-19 10:00:00,success",
               "RA3,A1,20.00,2026-11-19 11:00:00,success", "RA4,A1,5.00,2026-11-19 12:00:00,success",
               # A2: refunded exactly in full, in two parts: no over-refund
               "RB1,A2,40.00,2026-11-18 12:00:00,success", "RB2,A2,60.00,2026-11-19 10:00:00,success",
               # A3 paid twice, both payments refunded: 200.00 back of 200.00 taken, no over-refund
               "RC1,A3,100.00,2026-11-18 12:00:00,success", "RC2,A3,100.00,2026-11-19 10:00:00,success",
               # a refund of an order neither the orders nor the bills of the run have (paid in another period)
               "RZ1,Z9,10.00,2026-11-18 12:00:00,success",
               # A4: the 19th's bill brings a refund made before the one on the 18th's (helper-39): what a day's run
               # has seen comes first, so the 19th's refund is the one over, whether run day by day or as a range
               "RD1,A4,60.00,2026-11-18 10:00:00,success", "RD2,A4,50.00,2026-11-18 12:00:00,success")
    d18 = _write(tmp_path / "d18.csv", TX,
                 "wechat,M1,T1,A1,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,T2,A2,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,T1,A1,refund,RA1,CA1,60.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,T2,A2,refund,RB1,CB1,40.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,T3,A3,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,T3b,A3,payment,,,100.00,0,success,2026-11-18 09:01:06,2026-11-18",
                 "wechat,M1,T3,A3,refund,RC1,CC1,100.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,TZ,Z9,refund,RZ1,CZ1,10.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,T4,A4,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,T4,A4,refund,RD2,CD2,50.00,0,success,2026-11-18 12:00:01,2026-11-18")
    d19 = _write(tmp_path / "d19.csv", TX,
                 "wechat,M1,T1,A1,refund,RA2,CA2,30.00,0,success,2026-11-19 10:00:01,2026-11-19",
                 "wechat,M1,T1,A1,refund,RA3,CA3,20.00,0,success,2026-11-19 11:00:01,2026-11-19",
                 "wechat,M1,T1,A1,refund,RA4,CA4,5.00,0,success,2026-11-19 12:00:01,2026-11-19",
                 "wechat,M1,T2,A2,refund,RB2,CB2,60.00,0,success,2026-11-19 10:00:01,2026-11-19",
                 "wechat,M1,T3b,A3,refund,RC2,CC2,100.00,0,success,2026-11-19 10:00:01,2026-11-19",
                 "wechat,M1,T4,A4,refund,RD1,CD1,60.00,0,success,2026-11-18 10:00:01,2026-11-19")
    return o, r, d18, d19


WANT = {"R-RA1": ("refund_matched", 0), "R-RA2": ("refund_matched", 0), "R-RA3": ("over_refund", 1000),
        "R-RA4": ("over_refund", 1500), "R-RB1": ("refund_matched", 0), "R-RB2": ("refund_matched", 0),
        "R-RC1": ("refund_matched", 0), "R-RC2": ("refund_matched", 0), "R-RZ1": ("refund_matched", 0),
        "R-RD2": ("refund_matched", 0), "R-RD1": ("over_refund", 1000)}


def test_refunds_beyond_the_order_in_a_file_run(tmp_path):
    o, r, d18, d19 = _inputs(tmp_path)
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(d18), "--transactions", str(d19),
         "--out", str(tmp_path / "out")])
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {x["outcome_id"]: x for x in csv.DictReader(f)}
    assert {k: (rows[k]["kind"], int(rows[k]["difference_fen"])) for k in WANT} == WANT
    assert rows["R-RA3"]["reason"] == ("channel refunds of order A1 reach 110.00 with this one, above the 100.00 "
                                       "paid (+10.00; 超额退款)")
    assert rows["P-A1"]["kind"] == rows["P-A2"]["kind"] == "matched" and rows["P-A3"]["kind"] == "duplicate_payment"


def test_day_by_day_and_a_range_run_see_the_same_over_refunds(tmp_path):
    o, r, d18, d19 = _inputs(tmp_path)
    w = tmp_path / "w.duckdb"
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(d18),
         "--transactions", str(d19)])
    daily, ranged = days_and_range(w, ["2026-11-18", "2026-11-19"], "difference_fen")
    assert {k: daily[k] for k in WANT} == {k: ranged[k] for k in WANT} == WANT
    # the month's report lists them as items to act on
    _ok(["report", "reconciliation", "--workspace", str(w), "--period", "month", "--date", "2026-11-19",
         "--csv", str(tmp_path / "rep")])
    text = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "rep").rglob("*.csv"))
    assert "R-RA3" in text and "R-RA4" in text and "超额退款" in text


def test_a_refunds_failed_attempt_on_another_bill_does_not_move_it(tmp_path):
    """(helper-40) A refund placed by its failed attempt's earlier bill counted after the refund that took the order
    over, and a refund whose success has no bill date placed by a later failed attempt counted itself twice: a refund
    is placed by its successful record alone."""
    o = _write(tmp_path / "o.csv", ORDERS, "A1,S1,M1,wechat,100.00,paid,2026-11-17 09:00:00,2026-11-17 09:00:05",
               "A2,S1,M1,wechat,100.00,paid,2026-11-17 09:00:00,2026-11-17 09:00:05")
    r = _write(tmp_path / "r.csv", REFUNDS, "RA1,A1,60.00,2026-11-17 10:00:00,success",
               "RA2,A1,60.00,2026-11-18 10:00:00,success", "RB1,A2,60.00,2026-11-17 10:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,T1,A1,payment,,,100.00,0,success,2026-11-17 09:00:06,2026-11-17",
               "wechat,M1,T1,A1,refund,RA1,CA1x,60.00,0,failed,2026-11-17 10:00:01,2026-11-17",
               "wechat,M1,T1,A1,refund,RA2,CA2,60.00,0,success,2026-11-18 10:00:01,2026-11-18",
               "wechat,M1,T1,A1,refund,RA1,CA1,60.00,0,success,2026-11-19 09:00:01,2026-11-19",
               "wechat,M1,T2,A2,payment,,,100.00,0,success,2026-11-17 09:00:06,2026-11-17",
               "wechat,M1,T2,A2,refund,RB1,CB1,60.00,0,success,2026-11-17 10:00:01,",
               "wechat,M1,T2,A2,refund,RB1,CB1x,60.00,0,failed,2026-11-18 10:00:01,2026-11-18")
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(t),
         "--out", str(tmp_path / "out")])
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {x["outcome_id"]: x["kind"] for x in csv.DictReader(f)}
    assert (rows["R-RA2"], rows["R-RA1"], rows["R-RB1"]) == ("refund_matched", "over_refund", "refund_matched")


def test_refunds_counted_whatever_their_records_lack(tmp_path):
    """(helper-46) Two refunds of 60.00 on a 100.00 order: the second is over whether the first's record names no order
    number (it belongs to the order of the shop refund of its number), or both records carry the payment's id and the
    same second (WeChat-style rows without a channel refund id, refunded in one batch: the refund number decides).
    In a file run, day by day and over a range alike."""
    o = _write(tmp_path / "o.csv", ORDERS, "N1,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05",
               "W1,S1,M1,wechat,100.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05")
    r = _write(tmp_path / "r.csv", REFUNDS, "RN1,N1,60.00,2026-11-18 12:00:00,success",
               "RN2,N1,60.00,2026-11-19 12:00:00,success", "RW1,W1,60.00,2026-11-18 12:00:00,success",
               "RW2,W1,60.00,2026-11-18 12:00:00,success")
    d18 = _write(tmp_path / "d18.csv", TX,
                 "wechat,M1,TN,N1,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,TN,,refund,RN1,CN1,60.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,TW,W1,payment,,,100.00,0,success,2026-11-18 09:00:06,2026-11-18",
                 "wechat,M1,TW,W1,refund,RW2,,60.00,0,success,2026-11-18 12:00:01,2026-11-18",
                 "wechat,M1,TW,W1,refund,RW1,,60.00,0,success,2026-11-18 12:00:01,2026-11-18")
    d19 = _write(tmp_path / "d19.csv", TX, "wechat,M1,TN,N1,refund,RN2,CN2,60.00,0,success,2026-11-19 12:00:01,2026-11-19")
    want = {"R-RN1": ("refund_matched", 0), "R-RN2": ("over_refund", 2000), "R-RW1": ("refund_matched", 0),
            "R-RW2": ("over_refund", 2000)}
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(d18), "--transactions", str(d19),
         "--out", str(tmp_path / "out")])
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {x["outcome_id"]: x for x in csv.DictReader(f)}
    assert {k: (rows[k]["kind"], int(rows[k]["difference_fen"])) for k in want} == want
    w = tmp_path / "w.duckdb"
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(d18),
         "--transactions", str(d19)])
    daily, ranged = days_and_range(w, ["2026-11-18", "2026-11-19"], "difference_fen")
    assert {k: daily[k] for k in want} == {k: ranged[k] for k in want} == want


def test_a_number_less_refund_paired_by_order_and_amount_counts_once(tmp_path):
    """(helper-49) A channel refund without the shop's refund number, paired by order and amount: stored without a
    number, a workspace run's history counted it once more before itself (25.00 of 40.00 was an over-refund of
    10.00; 30.00 + 20.00 reached 70.00). File, day and range runs agree."""
    o = _write(tmp_path / "o.csv", ORDERS, "Q1,S1,M1,wechat,40.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05",
               "Q2,S1,M1,wechat,40.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05")
    r = _write(tmp_path / "r.csv", REFUNDS, "RQ1,Q1,25.00,2026-11-18 12:00:00,success",
               "RQ2a,Q2,30.00,2026-11-18 12:00:00,success", "RQ2b,Q2,20.00,2026-11-18 13:00:00,success")
    t = _write(tmp_path / "t.csv", TX,
               "wechat,M1,TQ1,Q1,payment,,,40.00,0,success,2026-11-18 09:00:06,2026-11-18",
               "wechat,M1,TQ1,Q1,refund,,CQ1,25.00,0,success,2026-11-18 12:00:01,2026-11-18",
               "wechat,M1,TQ2,Q2,payment,,,40.00,0,success,2026-11-18 09:00:06,2026-11-18",
               "wechat,M1,TQ2,Q2,refund,RQ2a,CQ2a,30.00,0,success,2026-11-18 12:00:01,2026-11-18",
               "wechat,M1,TQ2,Q2,refund,,CQ2b,20.00,0,success,2026-11-18 13:00:01,2026-11-18")
    want = {"R-RQ1": ("refund_matched", 0), "R-RQ2a": ("refund_matched", 0), "R-RQ2b": ("over_refund", 1000)}
    _ok(["reconcile", "--orders", str(o), "--refunds", str(r), "--transactions", str(t), "--out", str(tmp_path / "f")])
    with (tmp_path / "f" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {x["outcome_id"]: x for x in csv.DictReader(f)}
    assert {k: (rows[k]["kind"], int(rows[k]["difference_fen"])) for k in want} == want
    w = tmp_path / "w.duckdb"
    _ok(["ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t)])
    daily, ranged = days_and_range(w, ["2026-11-18", "2026-11-19"], "difference_fen")
    assert {k: daily[k] for k in want} == {k: ranged[k] for k in want} == want
