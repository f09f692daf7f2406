"""Readable golden case: a small chain day in canonical CSVs → the expected outcome for every row."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paymatch.cli import app

GOLDEN = Path(__file__).parent / "golden"


def _read(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("case", sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()))
def test_golden_case(case, tmp_path):
    d = GOLDEN / case
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(d / "orders.csv"), "--refunds", str(d / "refunds.csv"),
                                   "--transactions", str(d / "transactions.csv"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    got = {r["outcome_id"]: r for r in _read(tmp_path / "outcomes.csv")}
    want = _read(d / "expected.csv")
    assert sorted(got) == sorted(w["outcome_id"] for w in want)
    for w in want:
        g = got[w["outcome_id"]]
        assert g["kind"] == w["kind"], (w["outcome_id"], g["reason"])
        assert g["difference_fen"] == w["difference_fen"], w["outcome_id"]
        assert g["reason"], "every outcome says why"
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["conservation"] is True


def test_golden_reasons_are_human(tmp_path):
    d = GOLDEN / "basic"
    CliRunner().invoke(app, ["reconcile", "--orders", str(d / "orders.csv"), "--refunds", str(d / "refunds.csv"),
                             "--transactions", str(d / "transactions.csv"), "--out", str(tmp_path)])
    got = {r["outcome_id"]: r for r in _read(tmp_path / "outcomes.csv")}
    assert got["P-A002"]["reason"] == "channel 100.01 ≠ order 100.00 (+0.01, 长款: channel received more)"
    assert "2 channel payments" in got["P-A003"]["reason"]
    assert got["P-A001"]["settle_amount_fen"] == "9500"  # coupon lowers settlement, not a break
    assert got["P-A001"]["fee_fen"] == "60"
    # times come out in Asia/Shanghai with the offset
    assert got["P-A001"]["occurred_at"] == "2026-11-20T10:00:05+08:00"
    assert got["P-A002"]["occurred_at"] == "2026-11-20T10:01:05+08:00"  # naive input read as Asia/Shanghai


def test_matched_within_tolerance_says_so(tmp_path):
    d = GOLDEN / "basic"
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[match]\namount_tolerance_fen = 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(d / "orders.csv"), "--refunds", str(d / "refunds.csv"),
                                   "--transactions", str(d / "transactions.csv"), "--out", str(tmp_path / "o"),
                                   "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    got = {r["outcome_id"]: r for r in _read(tmp_path / "o" / "outcomes.csv")}
    assert got["P-A002"]["kind"] == "matched" and got["P-A002"]["difference_fen"] == "1"
    assert got["P-A002"]["reason"] == "channel 100.01 ≈ order 100.00 (+0.01, within the tolerance: 已对平)"
    assert got["R-R011"]["kind"] == "refund_matched"
    assert got["R-R011"]["reason"] == "channel refund 9.99 ≈ shop refund 10.00 (-0.01, within the tolerance: 退款已对平)"
    assert got["P-A001"]["reason"] == "channel = order (已对平)"


def test_unnamed_channel_refund_paired_by_order_and_amount_says_so(tmp_path):
    d = GOLDEN / "refunds_unnamed"
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(d / "orders.csv"), "--refunds", str(d / "refunds.csv"),
                                   "--transactions", str(d / "transactions.csv"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    got = {r["outcome_id"]: r for r in _read(tmp_path / "outcomes.csv")}
    assert got["R-RA1"]["channel_tx_id"] == "W1" and got["R-RA1"]["channel_rows"] == "1"
    assert "paired by order and amount" in got["R-RA1"]["reason"]
    assert got["R-RC1"]["reason"] == "channel refund = shop refund (退款已对平)"
    # two refunds of one order and amount, two such records: paired in time order
    assert (got["R-RB1"]["channel_tx_id"], got["R-RB2"]["channel_tx_id"]) == ("W2", "W3")


def test_merchant_mismatch_reason_and_switch(tmp_path):
    """The reason names both merchant numbers (and an amount difference as well); compare_merchant = false
    turns the comparison off."""
    d = GOLDEN / "merchants"
    args = ["reconcile", "--orders", str(d / "orders.csv"), "--transactions", str(d / "transactions.csv")]
    assert CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")]).exit_code == 0
    got = {r["outcome_id"]: r for r in _read(tmp_path / "a" / "outcomes.csv")}
    assert got["P-M002"]["reason"] == "order of merchant 1600000001 but the channel credited merchant 1600000002 (收款商户号不符)"
    assert got["P-M007"]["reason"].endswith("; amounts: channel 17.01, order 17.00 (+0.01)")
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[match]\ncompare_merchant = false\n", encoding="utf-8")
    assert CliRunner().invoke(app, [*args, "--config", str(cfg), "--out", str(tmp_path / "b")]).exit_code == 0
    kinds = {r["outcome_id"]: r["kind"] for r in _read(tmp_path / "b" / "outcomes.csv")}
    assert kinds["P-M002"] == "matched" and kinds["P-M007"] == "amount_mismatch"


def test_time_mismatch_gap_is_configuration(tmp_path):
    """A payment booked more than a day from the order's paid time is time_mismatch; the gap is a rule
    (0 turns the check off); an order without a paid time is not compared."""
    (tmp_path / "o.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "T1,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:02+08:00\n"
        "T2,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:02+08:00\n"
        "T3,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:02+08:00\n"
        "T4,S1,M1,wechat,10.00,paid,2026-11-17T10:00:00+08:00,\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
        "wechat,M1,X1,T1,payment,10.00,success,2026-11-20T10:00:03+08:00,2026-11-20\n"
        "wechat,M1,X2,T2,payment,10.00,success,2026-11-17T09:00:00+08:00,2026-11-17\n"
        "wechat,M1,X3,T3,payment,10.00,success,2026-11-21T10:00:03+08:00,2026-11-21\n"
        "wechat,M1,X4,T4,payment,10.00,success,2026-11-20T10:00:03+08:00,2026-11-20\n", encoding="utf-8")
    args = ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions", str(tmp_path / "t.csv")]
    assert CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")]).exit_code == 0
    got = {r["outcome_id"]: r for r in _read(tmp_path / "a" / "outcomes.csv")}
    assert {k: r["kind"] for k, r in got.items()} == {"P-T1": "matched", "P-T2": "time_mismatch",
                                                      "P-T3": "time_mismatch", "P-T4": "matched"}
    assert got["P-T2"]["reason"].startswith("channel booked the payment 2026-11-17 09:00:00 but the order was paid "
                                            "2026-11-20 10:00:02 (Asia/Shanghai; -73 h 0 min 2 s)")
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[match]\nmax_time_gap_minutes = 1500\n", encoding="utf-8")
    assert CliRunner().invoke(app, [*args, "--config", str(cfg), "--out", str(tmp_path / "b")]).exit_code == 0
    kinds = {r["outcome_id"]: r["kind"] for r in _read(tmp_path / "b" / "outcomes.csv")}
    assert kinds == {"P-T1": "matched", "P-T2": "time_mismatch", "P-T3": "matched", "P-T4": "matched"}
    cfg.write_text("[match]\nmax_time_gap_minutes = 0\n", encoding="utf-8")
    assert CliRunner().invoke(app, [*args, "--config", str(cfg), "--out", str(tmp_path / "c")]).exit_code == 0
    assert {r["kind"] for r in _read(tmp_path / "c" / "outcomes.csv")} == {"matched"}


def test_time_mismatch_reason_keeps_fractions_of_a_second(tmp_path):
    """Times with milliseconds (an ERP's paid time, a notification) keep them in the reason, and the gap is exact:
    a payment booked 60.6 s after the order against a limit of one minute read '10:01:05 … 10:00:05 (+0 h 1 min
    0 s)', a gap equal to the limit; whole seconds read as before."""
    (tmp_path / "o.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "T1,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:05.300+08:00\n"
        "T2,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:05+08:00\n"
        "T3,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:02:05.000001+08:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
        "wechat,M1,X1,T1,payment,10.00,success,2026-11-20T10:01:05.900+08:00,2026-11-20\n"
        "wechat,M1,X2,T2,payment,10.00,success,2026-11-20T10:01:05.250+08:00,2026-11-20\n"
        "wechat,M1,X3,T3,payment,10.00,success,2026-11-20T10:01:05+08:00,2026-11-20\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[match]\nmax_time_gap_minutes = 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                   str(tmp_path / "t.csv"), "--config", str(cfg), "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    got = {r["outcome_id"]: r for r in _read(tmp_path / "a" / "outcomes.csv")}
    assert {r["kind"] for r in got.values()} == {"time_mismatch"}
    assert got["P-T1"]["reason"].startswith("channel booked the payment 2026-11-20 10:01:05.9 but the order was paid "
                                            "2026-11-20 10:00:05.3 (Asia/Shanghai; +0 h 1 min 0.6 s), beyond")
    assert got["P-T2"]["reason"].startswith("channel booked the payment 2026-11-20 10:01:05.25 but the order was paid "
                                            "2026-11-20 10:00:05 (Asia/Shanghai; +0 h 1 min 0.25 s), beyond")
    assert got["P-T3"]["reason"].startswith("channel booked the payment 2026-11-20 10:01:05 but the order was paid "
                                            "2026-11-20 10:02:05.000001 (Asia/Shanghai; -0 h 1 min 0.000001 s), beyond")
