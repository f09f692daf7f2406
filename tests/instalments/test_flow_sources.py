"""Instalment flows from mapping profiles and folders/archives, beside the canonical flow CSV."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paymatch.channels.detect import detect, load_bills
from paymatch.channels.profiles import builtin_flow_profiles, builtin_profiles, builtin_sample, load_profile
from paymatch.cli import app
from paymatch.errors import ConfigError, LoadError
from paymatch.instalments.flows import FLOW_ARROW, load_flows, load_flows_csv, parse_flows_with_profile

FLOW_PROFILES = {p.name: p for p in builtin_flow_profiles()}
# Facts about the shipped samples, written down from the sample text (not from the parser).
EXPECTED = {
    "jd_baitiao_instalment_flows": dict(
        channel="baitiao", rows=4, fen=10001 + 10000 + 100000 + 100000, fee=60 + 60 + 600 + 600,
        periods=[("BT1001", 1, 3), ("BT1001", 2, 3), ("BT1002", 1, 12), ("BT1002", 2, 12)],
        statuses=["success", "success", "success", "failed"], lines=[4, 5, 7, 8],
        first_utc="2026-09-10T02:00:00+00:00"),
    "wechat_payscore_deductions": dict(
        channel="wechat_payscore", rows=4, fen=10001 + 10000 + 10000 + 5000, fee=30,
        periods=[("P1", 1, 3), ("P1", 2, 3), ("P1", 3, 3), ("P3", 1, 6)],
        statuses=["success", "success", "failed", "processing"], lines=[3, 4, 5, 6],
        first_utc="2026-09-10T02:00:00+00:00"),
    "alipay_cycle_deductions": dict(
        channel="alipay_pay_later", rows=3, fen=30000, fee=0,
        periods=[("P2", 1, 6), ("P2", 2, 6), ("P2", 3, 6)],
        statuses=["success", "success", "failed"], lines=[5, 6, 7],
        first_utc="2026-09-10T02:00:00+00:00"),
}


def sample(name: str) -> bytes:
    return builtin_sample(FLOW_PROFILES[name]).read_bytes()


def test_flow_profiles_ship_and_stay_out_of_bill_detection():
    assert set(FLOW_PROFILES) == set(EXPECTED)
    assert not {p.name for p in builtin_profiles()} & set(FLOW_PROFILES)
    assert all(p.target == "instalment_flows" for p in FLOW_PROFILES.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_to_expected_flows(name):
    exp, profile = EXPECTED[name], FLOW_PROFILES[name]
    table = parse_flows_with_profile(profile, sample(name), f"{name}.csv")
    assert table.schema == FLOW_ARROW
    rows = table.to_pylist()
    assert len(rows) == exp["rows"]
    assert [(r["order_no"], r["period_no"], r["periods"]) for r in rows] == exp["periods"]
    assert sum(r["amount_fen"] for r in rows) == exp["fen"] and sum(r["fee_fen"] for r in rows) == exp["fee"]
    assert [r["status"] for r in rows] == exp["statuses"]
    assert [r["src_line"] for r in rows] == exp["lines"]
    assert {r["channel"] for r in rows} == {exp["channel"]} and {r["src_file"] for r in rows} == {f"{name}.csv"}
    assert rows[0]["occurred_at"].isoformat() == exp["first_utc"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_recognised_by_its_flow_profile_only(name):
    data = sample(name)
    assert detect(name, data, list(FLOW_PROFILES.values())).name == name
    assert detect(name, data) is None  # the bill profiles do not take it for transactions


def test_flow_export_among_bills_is_rejected_with_a_pointer(tmp_path):
    bills, prof = tmp_path / "bills", tmp_path / "profiles"
    bills.mkdir(), prof.mkdir()
    (bills / "deductions.csv").write_bytes(sample("wechat_payscore_deductions"))
    (prof / "wx.yaml").write_text(Path(FLOW_PROFILES["wechat_payscore_deductions"].path).read_text("utf-8"), "utf-8")
    with pytest.raises(LoadError) as err:
        load_bills(bills, [prof])
    rejected = err.value.scan.rejected
    assert [r.channel for r in rejected] == ["wechat_payscore"]
    assert "instalment-flow export" in rejected[0].error.problems[0].message
    assert "--instalments" in str(rejected[0].error)


def jd_export(rows: list[str]) -> bytes:
    head = "京东白条分期还款明细\n订单编号,白条交易号,分期期次,还款时间,本期还款金额(元),本期手续费(元),还款状态\n"
    return (head + "\n".join(rows) + "\n").encode("utf-8")


def test_bad_rows_name_file_line_and_field():
    data = jd_export([
        "B1,T1,1/3,2026-09-10 10:00:00,100.00,0.60,已还款",    # line 3: fine
        "B1,T1,4/3,2026-10-10 10:00:00,100.00,0.60,已还款",    # line 4: beyond its term
        "B1,T1,x/3,2026-10-10 10:00:00,100.00,0.60,已还款",    # line 5: no period number
        "B1,T1,2/3,2026-10-10 10:00:00,-5.00,0.60,已还款",     # line 6: negative
        "B1,T1,3/3,10.10.2026,100.00,0.60,已还款",             # line 7: time
        "B1,T1,3/3,2026-11-10 10:00:00,100.001,0.60,已还款",   # line 8: a tenth of a fen
        "B1,T1,3/3,2026-11-10 10:00:00,100.00,0.60,不知道",    # line 9: status
        "B1,T1,3,2026-11-10 10:00:00,100.00,0.60,已还款",      # line 10: no k/n
        ",T1,3/3,2026-11-10 10:00:00,100.00,0.60,已还款",      # line 11: no order
    ])
    with pytest.raises(LoadError) as err:
        parse_flows_with_profile(FLOW_PROFILES["jd_baitiao_instalment_flows"], data, "jd.csv")
    got = {(p.line, p.field) for p in err.value.problems}
    assert all(p.file == "jd.csv" for p in err.value.problems)
    assert {(4, "分期期次"), (5, "分期期次"), (6, "本期还款金额(元)"), (7, "还款时间"), (8, "本期还款金额(元)"),
            (9, "还款状态"), (10, "分期期次"), (11, "订单编号")} <= got
    assert not any(line == 3 for line, _ in got)


def test_two_column_periods_and_totals_are_checked():
    profile = FLOW_PROFILES["wechat_payscore_deductions"]
    text = sample("wechat_payscore_deductions").decode("utf-8-sig")
    with pytest.raises(LoadError) as err:  # the trailer says 5 rows, the file has 4
        parse_flows_with_profile(profile, text.replace("总扣款笔数：4", "总扣款笔数：5").encode(), "wx.csv")
    assert err.value.problems[0].field == "totals"
    bad = text.replace("`2,`3,`100.00", "`0,`3,`100.00").encode()
    with pytest.raises(LoadError) as err:
        parse_flows_with_profile(profile, bad, "wx.csv")
    assert [(p.line, p.field) for p in err.value.problems] == [(4, "当前期数")]


def test_profile_rules_are_validated(tmp_path):
    base = {"name": "x", "channel": "x", "target": "instalment_flows", "sniff": {"regex": "x"},
            "columns": {"order_no": "o", "amount": "a", "occurred_at": "t", "period_no": "k"}}
    for columns, why in (({"period": "p"}, "either 'period'"), ({}, "both 'period_no' and 'periods'"),
                         ({"periods": "n", "channel_tx_id": "i"}, "maps only")):
        path = tmp_path / "p.yaml"
        path.write_text(json.dumps({**base, "columns": {**base["columns"], **columns}}), "utf-8")
        with pytest.raises(ConfigError, match=why):
            load_profile(path)
    path.write_text(json.dumps({**base, "target": "transactions", "columns": {**base["columns"], "periods": "n"}}))
    with pytest.raises(ConfigError, match="need target: instalment_flows"):
        load_profile(path)


CANONICAL = """channel,order_no,period_no,periods,amount,fee,status,occurred_at
wechat_payscore,P9,1,3,10.00,,success,2026-09-10 10:00:00
"""


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_folder_of_archives_and_canonical_csv(tmp_path):
    folder = tmp_path / "flows" / "2026-11"
    folder.mkdir(parents=True)
    (folder / "export.zip").write_bytes(zip_bytes({"jd/分期.csv": sample("jd_baitiao_instalment_flows"),
                                                   "ali/cycle.csv": sample("alipay_cycle_deductions")}))
    (folder / "wx.csv.gz").write_bytes(gzip.compress(sample("wechat_payscore_deductions")))
    (folder / "wx.csv").write_bytes(sample("wechat_payscore_deductions"))  # same content: read once
    (folder / "canonical.csv").write_text(CANONICAL, "utf-8")
    (folder / "README.md").write_text("not a flow file", "utf-8")
    table = load_flows(tmp_path / "flows")
    assert table.schema == FLOW_ARROW
    by_channel: dict[str, int] = {}
    for row in table.to_pylist():
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + 1
    assert by_channel == {"baitiao": 4, "alipay_pay_later": 3, "wechat_payscore": 4 + 1}
    assert any(f.endswith("export.zip!ali/cycle.csv") for f in table.column("src_file").to_pylist())


def test_canonical_csv_path_unchanged(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text(CANONICAL, "utf-8")
    assert load_flows(path).equals(load_flows_csv(path))


def test_unrelated_or_bad_file_fails_the_whole_load(tmp_path):
    (tmp_path / "good.csv").write_bytes(sample("alipay_cycle_deductions"))
    jd_pay = next(p for p in builtin_profiles() if p.name == "jd_pay")
    (tmp_path / "bill.csv").write_bytes(builtin_sample(jd_pay).read_bytes())
    with pytest.raises(LoadError) as err:
        load_flows(tmp_path)
    assert [p.file for p in err.value.problems] == [str(tmp_path / "bill.csv")]
    assert "not an instalment-flow file" in err.value.problems[0].message
    (tmp_path / "bill.csv").unlink()
    (tmp_path / "c.csv").write_text(CANONICAL.replace(",1,3,", ",4,3,"), "utf-8")
    with pytest.raises(LoadError) as err:
        load_flows(tmp_path)
    assert [(p.file, p.line, p.field) for p in err.value.problems] == [(str(tmp_path / "c.csv"), 2, "period_no")]


def test_shop_flow_profile_from_a_folder(tmp_path):
    prof = tmp_path / "profiles"
    prof.mkdir()
    (prof / "mine.yaml").write_text(
        "name: my_pay_later\nchannel: wechat_payscore\ntarget: instalment_flows\nsniff: {headers: [单号, 期, 金额分]}\n"
        "columns: {order_no: 单号, period: 期, amount: 金额分, occurred_at: 时间}\namount: {unit: fen}\n"
        "status: {default: success}\nflows: {period_separator: of}\n", "utf-8")
    (tmp_path / "x.txt").write_text("单号,期,金额分,时间\nP1,2 of 3,10000,2026-10-10 10:00:00\n", "utf-8")
    rows = load_flows(tmp_path / "x.txt", [prof]).to_pylist()
    assert [(r["order_no"], r["period_no"], r["periods"], r["amount_fen"], r["src_line"]) for r in rows] == [
        ("P1", 2, 3, 10000, 2)]


ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.01,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
P2,S1,M1,alipay_pay_later,600.00,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U2,gold,6
W1,S1,M1,wechat,10.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
wechat,M1,W1X,W1,payment,,,10.00,0.06,10.00,success,2026-11-20 11:00:06,2026-11-20,wechat
"""


def test_reconcile_with_a_zipped_flow_export(tmp_path):
    (tmp_path / "orders.csv").write_text(ORDERS, "utf-8")
    (tmp_path / "tx.csv").write_text(TXS, "utf-8")
    export = tmp_path / "flows.zip"
    export.write_bytes(zip_bytes({"微信/扣款.csv": sample("wechat_payscore_deductions"),
                                  "支付宝/周期扣款.csv.gz": gzip.compress(sample("alipay_cycle_deductions"))}))
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions",
                                 str(tmp_path / "tx.csv"), "--instalments", str(export), "--as-of", "2026-11-20",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    kinds = {k: (v["kind"], v["period_no"]) for k, v in rows.items() if k.startswith("I-")}
    assert kinds["I-P1-1"] == ("instalment_matched", "1") and kinds["I-P1-2"] == ("instalment_matched", "2")
    assert kinds["I-P1-3"] == ("instalment_failed", "3")       # the export says 扣款失败
    assert kinds["I-P2-2"] == ("instalment_matched", "2") and kinds["I-P2-3"] == ("instalment_failed", "3")
    assert kinds["I-P2-4"] == ("instalment_not_due", "4")      # due 2026-12-10
    assert kinds["I-P3-1"] == ("instalment_unexpected", "1")   # P3 is not among the orders
    assert rows["P-W1"]["kind"] == "matched"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["control_totals"]["instalment_flows"]["input_rows"] == 4 + 3
    assert summary["conservation"] is True, summary["control_totals"]


def test_canonical_csv_with_words_for_numbers_is_a_load_error(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text(CANONICAL.replace(",1,3,", ",x,abc,"), "utf-8")
    with pytest.raises(LoadError) as err:
        load_flows(path)
    assert [(p.line, p.field) for p in err.value.problems] == [(2, "period_no"), (2, "periods")]


def test_a_flows_csv_with_a_misnamed_column_names_what_it_lacks(tmp_path):
    """A hand-made flows CSV with `period` for period_no (and no fee/status/time) was refused as "not an
    instalment-flow file (an unknown layout)": nothing said which of the canonical columns it lacked."""
    p = tmp_path / "flows.csv"
    p.write_text("\nchannel,order_no,period,periods,amount,status,occurred_at\n"
                 "wechat_payscore,P1,1,3,100.00,success,2026-11-20 10:00:00\n", encoding="utf-8")
    with pytest.raises(LoadError) as e:
        load_flows(p)
    (problem,) = e.value.problems
    assert (problem.file, problem.line) == (str(p), 2)
    assert "column(s) period_no, fee missing" in problem.message and "the header has: channel, order_no, period," \
        in problem.message
    q = tmp_path / "other.csv"  # a file with nothing of the canonical header stays "an unknown layout"
    q.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(LoadError, match="an unknown layout"):
        load_flows(q)
