"""A channel record a bill lists twice: its duplicate_record outcome is in its order's store, as the matched copy is,
so a store manager's reconciliation report (``--store``) shows it (audit round 11: it was under (unknown))."""

import csv
import json

from typer.testing import CliRunner

from paymatch.cli import app

TX = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date\n"
ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,paid_at\n"
          "A1,S007,M1,wechat,50.00,paid,2026-11-18 09:00:00\n"
          "B1,S003,M2,wechat,20.00,paid,2026-11-18 09:30:00\n"
          "B1,S004,M3,wechat,20.00,paid,2026-11-18 09:40:00\n")
BILL = ("wechat,M1,T1,A1,payment,,,50.00,0.30,success,2026-11-18 09:00:05,2026-11-18\n"
        "wechat,M1,T1,A1,payment,,,50.00,0.30,success,2026-11-18 09:00:05,2026-11-18\n"  # the bill lists it twice
        "wechat,M1,T0,A1,payment,,,50.00,0,failed,2026-11-18 08:59:05,2026-11-18\n"
        "wechat,M1,T0,A1,payment,,,50.00,0,failed,2026-11-18 08:59:05,2026-11-18\n"      # a failed try, twice
        "wechat,M3,T3,B1,payment,,,20.00,0.12,success,2026-11-18 09:40:05,2026-11-18\n"
        "wechat,M3,T3,B1,payment,,,20.00,0.12,success,2026-11-18 09:40:05,2026-11-18\n"  # B1 under M3: S004's
        "wechat,M2,T2,B1,payment,,,20.00,0.12,success,2026-11-18 09:30:05,2026-11-18\n")


def _files(tmp_path):
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "t.csv").write_text(TX + BILL, encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")


def test_a_duplicate_listing_is_in_its_orders_store(tmp_path):
    _files(tmp_path)
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                 str(tmp_path / "t.csv"), "--config", str(tmp_path / "rules.toml"),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    dups = {k: v for k, v in rows.items() if v["kind"] == "duplicate_record"}
    assert {k: v["store_id"] for k, v in dups.items()} == {
        "D-wechat:T1:payment:": "S007", "D-wechat:T0:payment:": "S007",
        "D-wechat:T3:payment:": "S004"}  # the order number under the record's merchant number, not S003's


def test_a_store_managers_report_shows_its_duplicate_listings(tmp_path):
    _files(tmp_path)
    w = str(tmp_path / "w.duckdb")
    cfg = ["--config", str(tmp_path / "rules.toml")]
    for args in (["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"), "--transactions",
                  str(tmp_path / "t.csv"), *cfg],
                 ["reconcile", "--workspace", w, "--date", "2026-11-18", "--out", str(tmp_path / "out"), *cfg],
                 ["report", "reconciliation", "--workspace", w, "--period", "day", "--date", "2026-11-18",
                  "--store", "S007", "--json", str(tmp_path / "s7.json"), "--lang", "en", *cfg]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "s7.json").read_text(encoding="utf-8"))
    unmatched = next(t for t in doc["tables"] if t["name"] == "unmatched")["rows"]
    assert sorted((u["outcome_id"], u["store_id"]) for u in unmatched) == [
        ("D-wechat:T0:payment:", "S007"), ("D-wechat:T1:payment:", "S007")]


def test_a_day_run_finds_the_store_of_a_record_whose_other_copy_is_on_an_earlier_bill(tmp_path):
    # the 19th's day run copies its window (``run._copied``) after adding earlier bills' records of its orders
    # (``run.with_earlier``): the UnionPay payment listed processing on the 18th's bill and successful on the 19th's
    # is a record_update in its order's store, not (unknown)
    (tmp_path / "o.csv").write_text("order_no,store_id,merchant_id,channel,amount,status,paid_at\n"
                                    "U1,S007,M2,unionpay,50.00,paid,2026-11-18 23:30:00\n", encoding="utf-8")
    for day, status in (("18", "processing"), ("19", "success")):
        (tmp_path / f"t{day}.csv").write_text(
            TX + f"unionpay,M2,UU1,U1,payment,,,50.00,0.25,{status},2026-11-18 23:30:05,2026-11-{day}\n", encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    for args in (["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"), "--transactions",
                  str(tmp_path / "t18.csv"), "--transactions", str(tmp_path / "t19.csv")],
                 ["reconcile", "--workspace", w, "--date", "2026-11-19", "--out", str(tmp_path / "out")]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {x["outcome_id"]: (x["kind"], x["store_id"]) for x in csv.DictReader(f)}
    assert rows == {"P-U1": ("matched", "S007"), "D-unionpay:UU1:payment:": ("record_update", "S007")}
