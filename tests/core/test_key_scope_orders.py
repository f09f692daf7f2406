"""key_scope = ["merchant_id"]: an order whose export names no merchant number matches the payments of its order number
when one merchant number carries it (no order of that number naming it); two or more: ambiguous, kept apart, said so."""

import csv
import datetime as dt
import re
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.reports.labels import reason_sql
from paymatch.reports.provenance import outcomes_in

runner = CliRunner()
HEAD = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
TX_HEAD = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date\n"

# KNM: one merchant number carries it; KAM: two do (ambiguous); KNN: an order names 1900000002, so only 1900000001 is
# left for the order naming none; KOW: a payment naming no merchant number is the order's own, the other stays apart
ORDERS = HEAD + """KNM,S001,,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KAM,S001,,wechat,20.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KNN,S002,1900000002,wechat,30.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KNN,S001,,wechat,31.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KOW,S001,,wechat,5.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
"""
TXS = TX_HEAD + """wechat,1900000001,T1,KNM,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000001,T2,KAM,payment,,,20.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000003,T3,KAM,payment,,,20.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000002,T4,KNN,payment,,,30.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000001,T5,KNN,payment,,,31.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,,T6,KOW,payment,,,5.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000001,T7,KOW,payment,,,5.00,0.06,success,2026-11-20 10:00:06,2026-11-20
"""


def _write(d: Path, orders: str, txs: str) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "o.csv").write_text(orders, encoding="utf-8")
    (d / "t.csv").write_text(txs, encoding="utf-8")
    (d / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    return ["--orders", str(d / "o.csv"), "--transactions", str(d / "t.csv"), "--config", str(d / "rules.toml")]


def _invoke(*args) -> None:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output


def _rows(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as f:
        return {r["outcome_id"]: r for r in csv.DictReader(f)}


def test_an_order_naming_no_merchant_number_matches_its_only_merchant_numbers_payment(tmp_path):
    # the brief's case: order_only P-/KNM and channel_only P-1900000001/KNM ("that the shop does not have") before
    args = _write(tmp_path, HEAD + "KNM,S001,,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0\n",
                  TX_HEAD + "wechat,1900000001,T1,KNM,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n")
    for out in ("a", "b"):  # the same id on a rerun
        _invoke("reconcile", *args, "--out", tmp_path / out)
        got = _rows(tmp_path / out / "outcomes.csv")
        assert list(got) == ["P-/KNM"]
        r = got["P-/KNM"]
        assert (r["kind"], r["merchant_id"], r["store_id"], r["channel_tx_id"]) == ("matched", "1900000001", "S001", "T1")
        assert r["reason"] == ("channel = order (已对平); paired by order number: the order names no merchant number "
                               "and only merchant 1900000001's payments carry it")


def test_merchant_numbers_decide_which_payments_an_order_naming_none_takes(tmp_path):
    args = _write(tmp_path, ORDERS, TXS)
    _invoke("reconcile", *args, "--out", tmp_path / "out")
    got = _rows(tmp_path / "out" / "outcomes.csv")
    kinds = {k: (r["kind"], r["channel_tx_id"]) for k, r in got.items()}
    assert kinds == {
        "P-/KNM": ("matched", "T1"),
        # two merchant numbers carry KAM: not guessed
        "P-/KAM": ("order_only", ""), "P-1900000001/KAM": ("channel_only", "T2"),
        "P-1900000003/KAM": ("channel_only", "T3"),
        # 1900000002's payment is its own order's; 1900000001 is the only one left for the order naming none
        "P-1900000002/KNN": ("matched", "T4"), "P-/KNN": ("matched", "T5"),
        # a payment naming no merchant number is the order's own (its key): 1900000001's stays apart
        "P-/KOW": ("matched", "T6"), "P-1900000001/KOW": ("channel_only", "T7"),
    }
    assert got["P-/KAM"]["reason"] == (
        "order paid 20.00 names no merchant number, and the payments of order KAM name 2 merchant numbers "
        "(1900000001, 1900000003): ambiguous, not matched to any of them (平台单边/渠道漏单)")
    assert got["P-1900000003/KAM"]["reason"] == (
        "channel success payment 20.00 for order KAM of merchant 1900000003: the shop's order of this number names no "
        "merchant number, and 2 merchant numbers' payments carry it (1900000001, 1900000003): ambiguous, not matched "
        "(渠道单边/平台漏单)")
    assert "does not have" in got["P-1900000001/KOW"]["reason"]
    assert got["P-/KNN"]["merchant_id"] == "1900000001" and got["P-/KOW"]["merchant_id"] == ""

    # a workspace day run: the same outcomes, and a zh report says the same facts in Chinese
    w = tmp_path / "w.duckdb"
    _invoke("ingest", "--workspace", w, *args)
    _invoke("reconcile", "--workspace", w, "--date", "2026-11-20", "--config", tmp_path / "rules.toml",
            "--out", tmp_path / "ws")
    ws = _rows(tmp_path / "ws" / "outcomes.csv")
    assert {k: (r["kind"], r["channel_tx_id"], r["reason"]) for k, r in ws.items()} == {
        k: (r["kind"], r["channel_tx_id"], r["reason"]) for k, r in got.items()}
    con = duckdb.connect(str(w), read_only=True)
    try:
        zh = dict(con.execute(f"SELECT outcome_id, {reason_sql('zh')} FROM outcomes").fetchall())
    finally:
        con.close()
    for oid in ("P-/KNM", "P-/KAM", "P-1900000003/KAM"):
        assert not re.search(r"[A-Za-z]{3,}", re.sub(r"K[A-Z]{2}", "", zh[oid])), zh[oid]  # (order numbers aside)
        assert sorted(re.findall(r"\d+(?:\.\d+)?", zh[oid])) == sorted(
            re.findall(r"\d+(?:\.\d+)?", got[oid]["reason"])), (zh[oid], got[oid]["reason"])
    assert "无法确定归属" in zh["P-/KAM"] and "按订单号配对" in zh["P-/KNM"]


# Day runs and one range run over the same days. KD1 (no merchant number) paid at 23:58 on the 20th, its payment on
# the 21st's bill. KD2 matched on the 20th, another merchant number's payment of KD2 on the 21st: ambiguous. KD3 matched
# on the 20th and paid again at the same merchant number on the 21st: a duplicate payment. KD4: an order of
# 1900000001 matched on the 20th; an order KD4 naming none paid on the 21st at 1900000002 (the 20th's payment stays
# with its own order).
DAYS_ORDERS = HEAD + """KD1,S001,,wechat,10.00,paid,2026-11-20 23:58:00,2026-11-20 23:58:00,,,0
KD2,S001,,wechat,20.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KD3,S001,,wechat,30.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KD4,S002,1900000001,wechat,40.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
KD4,S001,,wechat,41.00,paid,2026-11-21 10:00:00,2026-11-21 10:00:05,,,0
"""
DAYS_TXS = TX_HEAD + """wechat,1900000001,P1,KD1,payment,,,10.00,0.06,success,2026-11-21 00:00:30,2026-11-21
wechat,1900000001,P2,KD2,payment,,,20.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000002,P3,KD2,payment,,,20.00,0.06,success,2026-11-21 10:00:06,2026-11-21
wechat,1900000001,P4,KD3,payment,,,30.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000001,P5,KD3,payment,,,30.00,0.06,success,2026-11-21 10:00:06,2026-11-21
wechat,1900000001,P6,KD4,payment,,,40.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1900000002,P7,KD4,payment,,,41.00,0.06,success,2026-11-21 10:00:06,2026-11-21
"""


def _live(w: Path) -> dict[str, tuple]:
    con = duckdb.connect(str(w), read_only=True)
    try:
        rows = con.execute("SELECT outcome_id, kind, channel_tx_id, channel_tx_id_last, merchant_id, channel_rows "
                           f"FROM {outcomes_in(dt.date(2026, 11, 20), dt.date(2026, 11, 21))}"
                           ).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in rows}


def test_day_runs_and_a_range_run_agree_on_orders_naming_no_merchant_number(tmp_path):
    args = _write(tmp_path, DAYS_ORDERS, DAYS_TXS)
    rules = tmp_path / "rules.toml"
    by_day, ranged = tmp_path / "days.duckdb", tmp_path / "range.duckdb"
    for w in (by_day, ranged):
        _invoke("ingest", "--workspace", w, *args)
    _invoke("reconcile", "--workspace", by_day, "--date", "2026-11-20", "--config", rules, "--out", tmp_path / "d20")
    d20 = _rows(tmp_path / "d20" / "outcomes.csv")
    assert d20["P-/KD1"]["kind"] == "pending_cross_day"
    assert d20["P-/KD2"]["kind"] == d20["P-/KD3"]["kind"] == d20["P-1900000001/KD4"]["kind"] == "matched"
    _invoke("reconcile", "--workspace", by_day, "--date", "2026-11-21", "--config", rules, "--out", tmp_path / "d21")
    d21 = _rows(tmp_path / "d21" / "outcomes.csv")
    assert (d21["P-/KD1"]["kind"], d21["P-/KD1"]["channel_tx_id"]) == ("matched", "P1")
    assert d21["P-/KD2"]["kind"] == "order_only" and "ambiguous" in d21["P-/KD2"]["reason"]
    assert d21["P-1900000001/KD2"]["kind"] == d21["P-1900000002/KD2"]["kind"] == "channel_only"
    assert d21["P-/KD3"]["kind"] == "duplicate_payment" and d21["P-/KD3"]["channel_rows"] == "2"
    assert (d21["P-/KD4"]["kind"], d21["P-/KD4"]["channel_tx_id"]) == ("matched", "P7")
    assert "P-1900000001/KD4" not in d21  # its payment stays with its own order, judged on the 20th
    _invoke("reconcile", "--workspace", ranged, "--from", "2026-11-20", "--to", "2026-11-21", "--config", rules,
            "--out", tmp_path / "range")
    assert _live(by_day) == _live(ranged)
    assert len(_live(ranged)) == 7


def test_an_order_naming_none_paid_twice_on_two_channels_is_shared_out_by_channel(tmp_path):
    # its two payments at its one merchant number, through WeChat and UnionPay: each channel's money is that channel's
    # in the reports (``outcome_splits``; the records are keyed by their own merchant number, not the order's '/')
    args = _write(tmp_path, HEAD + "KDC,S001,,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0\n",
                  TX_HEAD + "wechat,1900000001,W1,KDC,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n"
                  "unionpay,1900000001,U1,KDC,payment,,,10.00,0.05,success,2026-11-20 10:01:06,2026-11-20\n")
    w = tmp_path / "w.duckdb"
    _invoke("ingest", "--workspace", w, *args)
    _invoke("reconcile", "--workspace", w, "--date", "2026-11-20", "--config", tmp_path / "rules.toml")
    con = duckdb.connect(str(w), read_only=True)
    try:
        assert con.execute("SELECT kind FROM outcomes").fetchall() == [("duplicate_payment",)]
        shares = con.execute("SELECT channel, channel_amount_fen, fee_fen FROM outcome_splits "
                             "WHERE outcome_id = 'P-/KDC' ORDER BY channel").fetchall()
    finally:
        con.close()
    assert shares == [("unionpay", 1000, 5), ("wechat", 1000, 6)]


def test_refunds_of_an_order_matched_by_number_are_that_orders(tmp_path):
    # the refund records name 1900000001, which no order names: the order naming none is theirs (its store, its 10.00
    # held against the refunds), not the other merchant number's order of the same number
    args = _write(tmp_path, HEAD + "KNM,S001,,wechat,10.00,refunded,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0\n"
                  "KNM,S002,1900000002,wechat,50.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0\n",
                  TX_HEAD + "wechat,1900000001,T1,KNM,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n"
                  "wechat,1900000002,T2,KNM,payment,,,50.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n"
                  "wechat,1900000001,T1,KNM,refund,RF1,WR1,10.00,0,success,2026-11-20 12:00:06,2026-11-20\n"
                  "wechat,1900000001,T1,KNM,refund,RF2,WR2,1.00,0,success,2026-11-20 13:00:06,2026-11-20\n")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                    "RF1,KNM,10.00,2026-11-20 12:00:00,success\n"
                                    "RF2,KNM,1.00,2026-11-20 13:00:00,success\n", encoding="utf-8")
    _invoke("reconcile", *args, "--refunds", tmp_path / "r.csv", "--out", tmp_path / "out")
    got = {k: (r["kind"], r["merchant_id"], r["store_id"], r["difference_fen"])
           for k, r in _rows(tmp_path / "out" / "outcomes.csv").items()}
    assert got == {"P-/KNM": ("matched", "1900000001", "S001", "0"),
                   "P-1900000002/KNM": ("matched", "1900000002", "S002", "0"),
                   "R-RF1": ("refund_matched", "1900000001", "S001", "0"),
                   "R-RF2": ("over_refund", "1900000001", "S001", "100")}
