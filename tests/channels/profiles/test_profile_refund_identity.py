"""(helper-117) A profile bill's refund rows that carry only their payment's transaction id (the built-in samples'
layout: Lakala, ICBC e-Pay, ABC, BOC, CMB, Cloud QuickPass, Huabei … list a refund under the trade's serial, no
refund id of its own) are each a refund: two partial refunds of one order were one channel record listed twice
(the second a duplicate_record, its shop refund refund_order_only). The same row listed twice is still one record
listed twice, and the same bill given again is still the same records delivered twice."""

import csv
import json

from typer.testing import CliRunner

from paymatch.channels.profiles import builtin_profiles, parse_with_profile
from paymatch.cli import app

runner = CliRunner()
PROFILES = {p.name: p for p in builtin_profiles()}

HEAD = "交易时间,商户号,终端号,交易类型,交易金额,手续费,结算金额,交易流水号,订单号,卡号,交易状态"
PAY = "2026-11-20 10:00:05,822584000000123,L0001,消费,\t100.00,\t0.60,\t99.40,184200131872119,O1,,成功"
REF1 = "2026-11-20 12:00:05,822584000000123,L0001,退货,\t30.00,\t-0.18,\t30.18,184200131872119,O1,,成功"
REF2 = "2026-11-20 13:00:05,822584000000123,L0001,退货,\t20.00,\t-0.12,\t20.12,184200131872119,O1,,成功"


def _bill(*rows: str) -> bytes:
    return ("拉卡拉商户交易明细\n" + HEAD + "\n" + "\n".join(rows) + "\n").encode("gbk")


def test_refund_rows_under_their_payments_id_get_an_identity_each():
    got = parse_with_profile(PROFILES["lakala"], _bill(PAY, REF1, REF2, REF2), "l.csv").transactions.to_pylist()
    pay, r1, r2, r2again = got
    assert pay["channel_refund_id"] is None  # a payment keeps its own id only
    assert r1["channel_tx_id"] == r2["channel_tx_id"] == "184200131872119"
    # each refund's own id reads as the serial, its Beijing time (as the bill prints it) and its amount in fen
    assert (r1["channel_refund_id"], r2["channel_refund_id"]) == ("184200131872119/20261120120005/3000",
                                                                  "184200131872119/20261120130005/2000")
    assert r2again["channel_refund_id"] == r2["channel_refund_id"]  # the same row again: the same record


def _run(tmp_path, name, *bills):
    (tmp_path / "o.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "O1,S1,822584000000123,lakala,100.00,partially_refunded,2026-11-20 10:00:00,2026-11-20 10:00:00\n",
        encoding="utf-8")
    (tmp_path / "r.csv").write_text(
        "refund_no,order_no,amount,created_at,status\nRF1,O1,30.00,2026-11-20 12:00:00,success\n"
        "RF2,O1,20.00,2026-11-20 13:00:00,success\n", encoding="utf-8")
    folder = tmp_path / f"bills_{name}"
    folder.mkdir()
    for i, b in enumerate(bills):
        (folder / f"lakala_{i}.csv").write_bytes(b)
    res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
                              "--bills", str(folder), "--out", str(tmp_path / name)])
    assert res.exit_code == 0, res.output
    with open(tmp_path / name / "outcomes.csv", encoding="utf-8") as f:
        out = {r["outcome_id"]: r for r in csv.DictReader(f)}
    summary = json.loads((tmp_path / name / "summary.json").read_text(encoding="utf-8"))
    assert summary["conservation"] is True
    return out


def test_two_partial_refunds_of_one_order_are_two_refunds(tmp_path):
    out = _run(tmp_path, "two", _bill(PAY, REF1, REF2))
    assert {k: (v["kind"], v["channel_amount_fen"]) for k, v in out.items()} == {
        "P-O1": ("matched", "10000"), "R-RF1": ("refund_matched", "3000"), "R-RF2": ("refund_matched", "2000")}
    # the outcome names the refund by that id: the serial a finance user finds in the channel's console
    assert out["R-RF2"]["channel_tx_id"] == "184200131872119/20261120130005/2000"
    # a row the bill lists twice is still a record listed twice
    out = _run(tmp_path, "twice", _bill(PAY, REF1, REF2, REF2))
    assert sorted(v["kind"] for v in out.values()) == ["duplicate_record", "matched", "refund_matched",
                                                       "refund_matched"]
    # the same bill given twice (an overlapping export): the same records delivered twice, counted once
    out = _run(tmp_path, "again", _bill(PAY, REF1, REF2), _bill(PAY, REF1, REF2, "") + b"\n")
    assert sorted(v["kind"] for v in out.values()) == ["matched", "refund_matched", "refund_matched"]


def test_a_workspace_from_before_the_refund_ids_takes_an_overlapping_export_as_the_same_records(tmp_path):
    # a workspace the code before stored these rows in holds the refund row without a refund id: an overlapping
    # export read now (its refund row with one) added the refund a second time, a refund_channel_only of 30.00
    import duckdb

    for name, text in (("o.csv", "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
                                 "O1,S1,822584000000123,lakala,100.00,partially_refunded,2026-11-20 10:00:00,"
                                 "2026-11-20 10:00:00\n"),
                       ("r.csv", "refund_no,order_no,amount,created_at,status\n"
                                 "RF1,O1,30.00,2026-11-20 12:00:00,success\nRF2,O1,20.00,2026-11-20 13:00:00,success\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    for folder, data in (("day", _bill(PAY, REF1, REF2)), ("week", _bill(PAY, REF1, REF2) + b"\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"lakala_{folder}.csv").write_bytes(data)
    ws = str(tmp_path / "W.duckdb")
    res = runner.invoke(app, ["ingest", "--workspace", ws, "--orders", str(tmp_path / "o.csv"), "--refunds",
                              str(tmp_path / "r.csv"), "--bills", str(tmp_path / "day")])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(ws)  # as the code before stored them: no refund id, no mark of one in the batch
    con.execute("UPDATE transactions SET channel_refund_id = NULL")
    con.execute("UPDATE batches SET meta = json_object('channel', 'lakala', 'kind', 'profile:lakala', 'totals', "
                "json_object(), 'layout', '') WHERE kind = 'transactions'")
    con.close()
    res = runner.invoke(app, ["ingest", "--workspace", ws, "--bills", str(tmp_path / "week")])
    assert res.exit_code == 0, res.output
    assert "3 of them already stored" in res.output
    res = runner.invoke(app, ["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        out = {r["outcome_id"]: (r["kind"], r["channel_tx_id"]) for r in csv.DictReader(f)}
    assert out == {"P-O1": ("matched", "184200131872119"),
                   "R-RF1": ("refund_matched", "184200131872119/20261120120005/3000"),
                   "R-RF2": ("refund_matched", "184200131872119/20261120130005/2000")}
