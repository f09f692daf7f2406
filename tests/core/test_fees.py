"""Contracted fee rates ([fees]): a successful payment charged another fee than its rate gives is fee_mismatch."""

import csv
import datetime as dt
import json

import pytest
from harness import order, run, tx
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.config import Config, load_config
from paymatch.engine.params import FeeRule
from paymatch.run import params_for

runner = CliRunner()

ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at
A1,S1,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A2,S1,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A3,S1,1600000001,wechat,3333.33,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A4,S2,2088000001,huabei,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A5,S3,1600000002,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A6,S1,898000001,unionpay,50000.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A7,S1,898000001,unionpay,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A8,S4,JD01,baitiao,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
A9,S1,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
B1,S2,2088000001,alipay,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
B2,S1,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05
"""
REFUNDS = """refund_no,order_no,amount,created_at,status
RF1,A1,50.00,2026-11-20 11:00:00,success
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
wechat,1600000001,T1,A1,payment,,,100.00,0.60,100.00,success,2026-11-20 10:00:06,2026-11-20,
wechat,1600000001,T2,A2,payment,,,100.00,0.61,100.00,success,2026-11-20 10:00:06,2026-11-20,
wechat,1600000001,T3,A3,payment,,,3333.33,20.00,3333.33,success,2026-11-20 10:00:06,2026-11-20,
alipay,2088000001,T4,A4,payment,,,100.00,0.60,100.00,success,2026-11-20 10:00:06,2026-11-20,huabei
wechat,1600000002,T5,A5,payment,,,100.00,0.38,90.00,success,2026-11-20 10:00:06,2026-11-20,
unionpay,898000001,T6,A6,payment,,,50000.00,20.00,,success,2026-11-20 10:00:06,2026-11-20,
unionpay,898000001,T7,A7,payment,,,100.00,0.49,,success,2026-11-20 10:00:06,2026-11-20,
jd_baitiao,JD01,T8,A8,payment,,,100.00,9.99,,success,2026-11-20 10:00:06,2026-11-20,
wechat,1600000001,T9,A9,payment,,,100.00,,100.00,success,2026-11-20 10:00:06,2026-11-20,
alipay,2088000001,T10,B1,payment,,,100.00,0.60,100.00,success,2026-11-20 10:00:06,2026-11-20,
wechat,1600000001,T11,B2,payment,,,100.01,0.61,100.01,success,2026-11-20 10:00:06,2026-11-20,
wechat,1600000001,W1,A1,refund,RF1,WR1,50.00,-0.99,50.00,success,2026-11-20 11:00:01,2026-11-20,
"""
RULES = """[fees]
[[fees.rates]]
channel = "WeChat"
rate = "0.6%"

[[fees.rates]]
channel = "wechat"
merchant_id = "1600000002"
rate = "0.38%"

[[fees.rates]]
channel = "alipay"
rate = 0.006

[[fees.rates]]
channel = "alipay"
method = "Huabei"
rate = "0.8%"

[[fees.rates]]
channel = "unionpay"
rate = "0.5%"
cap_fen = 2000
rounding = "down"
"""


def _reconcile(tmp_path, *extra, rules=RULES):
    for name, text in (("o.csv", ORDERS), ("r.csv", REFUNDS), ("t.csv", TXS), ("rules.toml", rules)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
                            "--transactions", str(tmp_path / "t.csv"), "--out", str(tmp_path / "out"),
                            "--config", str(tmp_path / "rules.toml"), *extra])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_each_payment_is_held_to_its_most_specific_rate(tmp_path):
    out = _reconcile(tmp_path)
    kinds = {k: v["kind"] for k, v in out.items()}
    assert kinds == {
        "P-A1": "matched",        # 0.6 % of 100.00 = 0.60
        "P-A2": "fee_mismatch",   # 0.61 charged
        "P-A3": "matched",        # 0.6 % of 3333.33 = 19.99998, half up: 20.00
        "P-A4": "fee_mismatch",   # huabei through alipay: 0.8 % (the method's rate beats the channel's), 0.60 charged
        "P-A5": "fee_mismatch",   # the merchant's own 0.38 % of the settled 90.00 = 0.34, 0.38 charged
        "P-A6": "matched",        # 0.5 % of 50000.00 capped at 20.00
        "P-A7": "fee_mismatch",   # 0.5 % of 100.00 = 0.50 (rounded down or not), 0.49 charged
        "P-A8": "matched",        # jd_baitiao: no rate configured, not checked
        "P-A9": "matched",        # no fee on the record (0.00: a waiver, or a file without fees): not checked
        "P-B1": "matched",        # alipay's own 0.6 %
        "P-B2": "amount_mismatch",  # the amount differs: that is the finding, whatever the fee
        "R-RF1": "refund_matched",  # a refund's returned fee is not checked
    }
    assert out["P-A2"]["reason"] == ("channel fee 0.61 ≠ 0.60 expected at the contracted rate 0.60% of 100.00 "
                                     "(+0.01; 手续费不符)")
    assert out["P-A5"]["reason"] == ("channel fee 0.38 ≠ 0.34 expected at the contracted rate 0.38% of 90.00 "
                                     "(+0.04; 手续费不符)")
    assert out["P-A4"]["reason"].startswith("channel fee 0.60 ≠ 0.80 expected at the contracted rate 0.80% of 100.00")
    assert out["P-A7"]["reason"] == ("channel fee 0.49 ≠ 0.50 expected at the contracted rate 0.50% of 100.00 "
                                     "(-0.01; 手续费不符)")
    # the amounts still agree: the outcome's difference is the payment's, the fee's is in the reason
    assert out["P-A2"]["difference_fen"] == "0" and out["P-A2"]["fee_fen"] == "61"
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["conservation"] is True
    assert {k["kind"]: k["count"] for k in s["by_kind"]}["fee_mismatch"] == 4


def test_tolerance_and_no_rates(tmp_path):
    lenient = RULES.replace("[fees]\n", "[fees]\ntolerance_fen = 1\n")
    out = _reconcile(tmp_path, rules=lenient)
    assert [k for k, v in out.items() if v["kind"] == "fee_mismatch"] == ["P-A4", "P-A5"]
    # without [fees] nothing is checked
    out = _reconcile(tmp_path, rules="")
    assert not [k for k, v in out.items() if v["kind"] == "fee_mismatch"]


def test_a_rate_on_the_order_total(tmp_path):
    # A5's merchant pays 0.38 % of the order's 100.00 (coupons or not), not of the settled 90.00
    rules = RULES.replace('merchant_id = "1600000002"\nrate = "0.38%"\n',
                          'merchant_id = "1600000002"\nrate = "0.38%"\nbase = "amount"\n')
    assert rules != RULES
    out = _reconcile(tmp_path, rules=rules)
    assert out["P-A5"]["kind"] == "matched"
    out = _reconcile(tmp_path, rules=rules.replace('rate = "0.38%"', 'rate = "0.3%"'))
    assert out["P-A5"]["reason"] == ("channel fee 0.38 ≠ 0.30 expected at the contracted rate 0.30% of 100.00 "
                                     "(+0.08; 手续费不符)")


def test_workspace_run_and_report(tmp_path):
    _reconcile(tmp_path)  # writes the inputs
    w = str(tmp_path / "w.duckdb")
    r = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"), "--refunds",
                            str(tmp_path / "r.csv"), "--transactions", str(tmp_path / "t.csv")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--out", str(tmp_path / "ws"),
                            "--config", str(tmp_path / "rules.toml")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "ws" / "outcomes.csv").open(encoding="utf-8") as f:
        got = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert sorted(k for k, v in got.items() if v == "fee_mismatch") == ["P-A2", "P-A4", "P-A5", "P-A7"]
    r = runner.invoke(app, ["report", "reconciliation", "--workspace", w, "--period", "day", "--date", "2026-11-20",
                            "--excel", str(tmp_path / "r.xlsx"), "--json", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.xlsx").stat().st_size > 0
    total = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["tables"][0]["rows"][-1]
    # fees above the contracted rates: A2 +0.01, A4 -0.20, A5 +0.04, A7 -0.01
    assert total["fee_diff_fen"] == 1 - 20 + 4 - 1 and total["k_fee_mismatch_count"] == 4


@pytest.mark.parametrize("bad, says", [
    ('rate = "abc"', "is not a rate"),
    ('rate = "0.6"', "more than 10 %"),        # 0.6 meant as a percentage
    ('rate = "-0.1%"', "at least 0 %"),
    ('rate = "0.00001%"', "exact to 0.0001 %"),
    ('rate = "0.6%"\nrounding = "bankers"', "rounding"),
    ('rate = "0.6%"\ncap_fen = -1', "cap_fen"),
    ('rate = "NaN"', "is not a rate"),
    ('rate = "0.6%"\nmethod = "  "', "blank"),
    ('rate = false', "is not a rate"),
])
def test_bad_rates_are_refused_naming_the_key(tmp_path, bad, says):
    p = tmp_path / "rules.toml"
    p.write_text(f'[fees]\n[[fees.rates]]\nchannel = "wechat"\n{bad}\n', encoding="utf-8")
    with pytest.raises(Exception) as e:
        load_config(p)
    assert "fees.rates.0" in str(e.value) and says in str(e.value)


def test_two_rates_for_the_same_records_are_refused(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text('[fees]\n[[fees.rates]]\nchannel = "wechat"\nrate = "0.6%"\n'
                 '[[fees.rates]]\nchannel = "WECHAT"\nrate = "0.38%"\n', encoding="utf-8")
    with pytest.raises(Exception, match="a second rate for channel = 'wechat'"):
        load_config(p)
    p.write_text('[fees]\n[[fees.rates]]\nchannel = "wechat"\nrate = "0.6%"\n', encoding="utf-8")
    assert load_config(p).fees.rates[0].ppm == 6000


def test_large_amounts_and_every_rounding_are_exact():
    # 0.3845 % of 9,999,999,999.99 yuan: the product needs 17 digits, the result is exact on every backend
    big = 999_999_999_999
    rates = {"half_up": 500_000, "down": 0, "up": 999_999}
    exact = big * 3845  # / 1,000,000 = 3,844,999,999.996155 fen
    for name, add in rates.items():
        want = {"half_up": 3_845_000_000, "down": 3_844_999_999, "up": 3_845_000_000}[name]
        assert (exact + add) // 1_000_000 == want
        fee_rates = (FeeRule("wechat", None, None, 3845, None, add),)
        t = tx("T1", "O1", big)
        t["fee_fen"] = want
        out = run([order("O1", big)], [], [t], fee_rates=fee_rates)
        assert out["P-O1"]["kind"] == "matched", name
        t["fee_fen"] = want + 1
        out = run([order("O1", big)], [], [t], fee_rates=fee_rates)
        assert out["P-O1"]["kind"] == "fee_mismatch", name
        assert out["P-O1"]["detail"] == f"{want}:1:3845::{big}"


def test_only_successful_payments_with_a_fee_are_held_to_a_rate():
    rates = (FeeRule("wechat", None, None, 6000),)

    def rec(tx_id, fee, **kw):
        t = tx(tx_id, "O1", 10000, **kw)
        t["fee_fen"] = fee
        return t

    # a closed attempt's fee is not held to the rate, nor summed with the payment's
    out = run([order("O1", 10000)], [], [rec("T0", 77, status="closed"), rec("T1", 60)], fee_rates=rates)
    assert out["P-O1"]["kind"] == "matched"
    out = run([order("O1", 10000)], [], [rec("T0", 77, status="closed"), rec("T1", 61)], fee_rates=rates)
    assert out["P-O1"]["kind"] == "fee_mismatch"
    assert out["P-O1"]["detail"] == "60:1:6000::"  # two records: the amount charged on is not given
    # a channel no rate names is not checked, whatever its records' fees add up to
    out = run([order("O1", 10000, channel="alipay")], [],
              [rec("T0", 0, status="closed", channel="alipay"), rec("T1", 60, channel="alipay")], fee_rates=rates)
    assert out["P-O1"]["kind"] == "matched"
    # 0.00 (a waiver; a canonical file without fees reads as 0.00) is not checked; a fee printed negative
    # (Alipay-style exports read by a profile) is held to the rate by its size
    assert run([order("O1", 10000)], [], [rec("T1", 0)], fee_rates=rates)["P-O1"]["kind"] == "matched"
    assert run([order("O1", 10000)], [], [rec("T1", -60)], fee_rates=rates)["P-O1"]["kind"] == "matched"
    assert run([order("O1", 10000)], [], [rec("T1", -61)], fee_rates=rates)["P-O1"]["kind"] == "fee_mismatch"


def test_method_spelling_base_by_channel_cap_and_huge_amounts():
    # a profile bill keeps the export's spelling of the method (Huabei); the rule's is read lower-case
    t = tx("T1", "O1", 10000, channel="alipay")
    t.update(method="Huabei", fee_fen=60)
    out = run([order("O1", 10000, channel="huabei")], [], [t], fee_rates=(FeeRule("alipay", None, "huabei", 8000),))
    assert out["P-O1"]["kind"] == "fee_mismatch" and out["P-O1"]["detail"] == "80:-20:8000::10000"
    # UnionPay's 结算金额 is net of the fee: by default ("auto") a unionpay rate is charged on the amount
    t = tx("T1", "O1", 100000, channel="unionpay")
    t.update(fee_fen=500, settle_amount_fen=99500)
    cfg = Config.model_validate({"fees": {"rates": [{"channel": "unionpay", "rate": "0.5%", "cap_fen": 2000}]}})
    rates = params_for(cfg, dt.date(2026, 11, 20)).fee_rates  # as a run derives them from the config
    o = order("O1", 100000, channel="unionpay")
    assert run([o], [], [t], fee_rates=rates)["P-O1"]["kind"] == "matched"
    # the cap: 0.5 % of 10,000.00 is 50.00, capped at 20.00; the reason says so only when it applied
    t.update(amount_fen=1_000_000, fee_fen=2001, settle_amount_fen=None)
    o = order("O1", 1_000_000, channel="unionpay")
    out = run([o], [], [t], fee_rates=rates)
    assert out["P-O1"]["detail"] == "2000:1:5000:2000:1000000"
    t.update(amount_fen=400_000, fee_fen=1900)  # 0.5 % of 4,000.00 is 20.00 itself: not capped
    out = run([order("O1", 400_000, channel="unionpay")], [], [t], fee_rates=rates)
    assert out["P-O1"]["detail"] == "2000:-100:5000::400000"
    # an amount of 100 billion yuan or more is not held to a rate (the product would leave 64-bit integers)
    t = tx("T1", "O1", 9_999_999_999_999_900)
    assert run([order("O1", 9_999_999_999_999_900)], [], [t],
               fee_rates=(FeeRule("wechat", None, None, 6000),))["P-O1"]["kind"] == "matched"


def test_the_reason_names_the_cap_only_when_it_applied(tmp_path):
    out = _reconcile(tmp_path, rules=RULES.replace("cap_fen = 2000", "cap_fen = 50"))
    # 0.5 % of 100.00 is 0.50: the cap did not decide it
    assert out["P-A7"]["reason"] == ("channel fee 0.49 ≠ 0.50 expected at the contracted rate 0.50% of 100.00 "
                                     "(-0.01; 手续费不符)")
    assert out["P-A6"]["reason"] == ("channel fee 20.00 ≠ 0.50 expected at the contracted rate 0.50% of 50000.00 "
                                     "(capped at 0.50) (+19.50; 手续费不符)")


def test_the_examples_rates_load(tmp_path):
    # config.example.toml shows the rates commented out (the example is the defaults): they must be valid as shown
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "config.example.toml").read_text(encoding="utf-8")
    block = text[text.index("[fees]"):text.index("[report]")]
    rates = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines() if line.startswith("# "))
    p = tmp_path / "rules.toml"
    p.write_text("[fees]\n" + rates + "\n", encoding="utf-8")
    got = load_config(p).fees.rates
    assert [(r.channel, r.method, r.merchant_id, r.ppm, r.cap_fen) for r in got] == [
        ("wechat", None, None, 6000, None), ("alipay", "huabei", None, 8000, None),
        ("unionpay", None, "898310000000001", 5000, 2000)]


def test_a_wechat_bill_as_downloaded_is_held_to_the_rate(tmp_path):
    # WeChat rounds each payment's fee to the fen (a bill from the field: 32.50 at 0.60 % → `0.20000`) and charges
    # it on 应结订单金额 (a 10.00 coupon leaves 90.00)
    from tests.channels.wechat.wechat_billgen import payment, trade_bill

    rows = [payment(1, 3250, fee_fen=20), payment(2, 10000, coupon_fen=1000, fee_fen=54), payment(3, 9500, fee_fen=58)]
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "wx_20261120.csv").write_bytes(trade_bill(rows))
    (tmp_path / "o.csv").write_text(
        "order_no,merchant_id,channel,amount,status,paid_at\n"
        "ORD000001,1900000109,wechat,32.50,paid,2026-11-20 10:00:00\n"
        "ORD000002,1900000109,wechat,100.00,paid,2026-11-20 10:00:00\n"
        "ORD000003,1900000109,wechat,95.00,paid,2026-11-20 10:00:00\n", encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[fees]\n[[fees.rates]]\nchannel = "wechat"\nrate = "0.60%"\n', encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(tmp_path / "bills"),
                            "--out", str(tmp_path / "out"), "--config", str(tmp_path / "rules.toml")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        out = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert {k: v["kind"] for k, v in out.items()} == {
        "P-ORD000001": "matched", "P-ORD000002": "matched", "P-ORD000003": "fee_mismatch"}
    assert out["P-ORD000003"]["reason"] == ("channel fee 0.58 ≠ 0.57 expected at the contracted rate 0.60% of 95.00 "
                                            "(+0.01; 手续费不符)")


def test_a_huabei_order_picks_the_rate_of_a_record_naming_only_alipay():
    # Alipay's 25-column 业务明细 has no fund-channel column: a 花呗 payment whose 备注 does not say 花呗 reads as
    # plain alipay. The order says huabei (which settles through alipay): the huabei rate is the one it was charged
    rates = (FeeRule("alipay", None, None, 6000), FeeRule("alipay", None, "huabei", 8000))

    def rec(tx_id, order_no, fee, method="alipay", **kw):
        t = tx(tx_id, order_no, 10000, channel="alipay", **kw)
        t.update(method=method, fee_fen=fee)
        return t

    orders = [order("H1", 10000, channel="huabei"), order("H2", 10000, channel="huabei"),
              order("H3", 10000, channel="alipay"), order("H4", 10000, channel="alipay"),
              order("H5", 10000, channel="huabei"), order("H6", 10000, channel="huabei")]
    txs = [rec("T1", "H1", 80), rec("T2", "H2", 60, method=None), rec("T3", "H3", 60), rec("T4", "H4", 80),
           rec("T5", "H5", 80, method="huabei"),
           rec("T6", "H6", 99, status="closed"), rec("T7", "H6", 80)]   # a closed attempt beside the payment
    out = run(orders, [], txs, fee_rates=rates)
    assert out["P-H1"]["kind"] == "matched"       # huabei's 0.8 %, not alipay's 0.6 %
    assert out["P-H2"]["kind"] == "fee_mismatch"  # charged alipay's 0.60 on a huabei order: 0.80 expected
    assert out["P-H2"]["detail"] == "80:-20:8000::10000"
    assert out["P-H3"]["kind"] == "matched"       # an alipay order keeps alipay's rate
    assert out["P-H4"]["kind"] == "fee_mismatch" and out["P-H4"]["detail"] == "60:20:6000::10000"
    assert out["P-H5"]["kind"] == "matched"       # the record names huabei itself
    assert out["P-H6"]["kind"] == "matched"
    # a record naming another method keeps its own (a huabei record on an alipay order: huabei's rate)
    out = run([order("H7", 10000, channel="alipay")], [], [rec("T8", "H7", 80, method="huabei")], fee_rates=rates)
    assert out["P-H7"]["kind"] == "matched"
    # a channel-only record (no order to ask) keeps the channel's rate
    out = run([], [], [rec("T9", "H9", 80)], fee_rates=rates)
    assert out["P-H9"]["kind"] == "channel_only"
