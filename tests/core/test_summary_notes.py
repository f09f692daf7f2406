"""summary.json's notes on the inputs as a whole: a bill of another merchant account given by mistake, and an empty
bill loaded for a day (no bill left out)."""

import json

from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()

HEAD = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
TX_HEAD = "channel,merchant_id,channel_tx_id,order_no,type,amount,fee,settle_amount,status,occurred_at,bill_date\n"


def _summary(out):
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_a_bill_of_another_merchant_number_is_named_once(tmp_path):
    # 1900009999's two payments: no order, no [stores] entry, no account names it (a bill given by mistake);
    # 1900000102 has no order today but [stores] names it; the shop's own export names 1900000103's orders by the
    # store code S3, its records carry the orders' numbers: none of these is another account's
    (tmp_path / "o.csv").write_text(
        HEAD + "W1,S1,1900000101,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00\n"
        "W3,S3,S3,wechat,30.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        TX_HEAD + "wechat,1900000101,T1,W1,payment,10.00,0,10.00,success,2026-11-20 10:00:01,2026-11-20\n"
        "wechat,1900000102,T2,X2,payment,20.00,0,20.00,success,2026-11-20 11:00:01,2026-11-20\n"
        "wechat,1900000103,T3,W3,payment,30.00,0,30.00,success,2026-11-20 10:00:01,2026-11-20\n"
        "wechat,1900009999,T8,F1,payment,12.00,0,12.00,success,2026-11-20 12:00:01,2026-11-20\n"
        "wechat,1900009999,T9,F2,payment,1222.56,0,1222.56,success,2026-11-20 12:30:01,2026-11-20\n",
        encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[stores]\n"1900000102" = "S2"\n', encoding="utf-8")
    args = ["--orders", str(tmp_path / "o.csv"), "--config", str(tmp_path / "rules.toml")]
    res = runner.invoke(app, ["reconcile", *args, "--transactions", str(tmp_path / "t.csv"),
                              "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    want = [{"channel": "wechat", "merchant_id": "1900009999", "records": 2, "amount_fen": 123456}]
    assert _summary(tmp_path / "out")["merchant_numbers_without_orders"] == want
    said = " ".join(res.output.split())
    assert ("wechat merchant number 1900009999: 2 records, ¥1234.56 — no order or configured store names it: a "
            "bill of another account?") in said
    # a workspace day run says the same
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["ingest", "--workspace", w, *args, "--transactions", str(tmp_path / "t.csv")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconcile", "--workspace", w, "--config", str(tmp_path / "rules.toml"),
                              "--date", "2026-11-20", "--out", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "ws")["merchant_numbers_without_orders"] == want
    # a channel account the config names is the shop's own
    (tmp_path / "rules.toml").write_text('[stores]\n"1900000102" = "S2"\n[channels.wechat]\nsub_mchids = '
                                         '["1900009999"]\n', encoding="utf-8")
    res = runner.invoke(app, ["reconcile", *args, "--transactions", str(tmp_path / "t.csv"),
                              "--out", str(tmp_path / "out2")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "out2")["merchant_numbers_without_orders"] == []
    assert "another account" not in res.output


# WeChat's ALL trade bill of a day without a sale: its header, the summary header and a zero summary line
EMPTY_WX = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
            "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
            "手续费,费率,订单金额,申请退款金额,费率备注\r\n"
            "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n"
            "`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00\r\n")


def test_an_empty_bill_loaded_is_no_bill_left_out(tmp_path):
    # the shop had a WeChat order on day 22 paid elsewhere (order_only), and WeChat's bill of the day lists nothing
    (tmp_path / "o.csv").write_text(
        HEAD + "W1,S1,1900000101,wechat,15.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n"
        "W2,S1,1900000101,wechat,16.00,paid,2026-11-23 10:00:00,2026-11-23 10:00:00\n", encoding="utf-8")
    bill = tmp_path / "bills" / "1900000101_20261122_ALL.csv"
    bill.parent.mkdir()
    bill.write_bytes(EMPTY_WX.encode("utf-8"))
    res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bill.parent),
                              "--date", "2026-11-22", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    s = _summary(tmp_path / "out")
    assert {k["kind"]: k["count"] for k in s["by_kind"]}.get("order_only") == 1
    assert s["channels_without_records"] == []
    assert "Was its bill left out" not in res.output
    # a workspace stores the empty bill as a batch of its day: that day's run says nothing, the next day's (no bill
    # loaded for it) still names the channel
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"),
                              "--bills", str(bill.parent)])
    assert res.exit_code == 0, res.output
    for day, named in (("2026-11-22", []), ("2026-11-23", ["wechat"])):
        res = runner.invoke(app, ["reconcile", "--workspace", w, "--date", day, "--out", str(tmp_path / day)])
        assert res.exit_code == 0, res.output
        assert [c["channel"] for c in _summary(tmp_path / day)["channels_without_records"]] == named, day


def test_an_empty_bills_days_from_its_file_name():
    import datetime as dt

    from paymatch.summary_notes import name_days

    d = dt.date(2026, 11, 22)
    assert name_days("/x/1900000101_20261122_ALL.csv") == (d, d)  # the merchant number is no date
    assert name_days("微信支付账单_1900000199_2026-11-22.csv") == (d, d)
    assert name_days("/x/2026-11-01/a.zip!1900000101_20261122_ALL.csv") == (d, d)  # the member's own name first
    assert name_days("/bills/20261122.zip!download") == (d, d)  # else the archive's
    assert name_days("1900000101_20261120-20261122.csv") == (dt.date(2026, 11, 20), d)
    assert name_days("download") is None and name_days("bill_20261340.csv") is None
    assert name_days("a_20260101_20261122.csv") is None  # not the days of one bill


def test_an_empty_bill_of_another_day_in_a_file_run_is_no_bill_of_the_run(tmp_path):
    # day 22's WeChat order and day 21's empty WeChat bill (the wrong file given): day 22's bill is left out, as a
    # workspace run of day 22 would say; the empty bill of day 22 itself still counts
    (tmp_path / "o.csv").write_text(
        HEAD + "W1,S1,1900000101,wechat,15.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n", encoding="utf-8")
    for day, named in (("20261121", ["wechat"]), ("20261122", [])):
        bills = tmp_path / day
        bills.mkdir()
        (bills / f"1900000101_{day}_ALL.csv").write_bytes(EMPTY_WX.encode("utf-8"))
        out = tmp_path / f"out{day}"
        res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bills),
                                  "--date", "2026-11-22", "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert [c["channel"] for c in _summary(out)["channels_without_records"]] == named, day


def test_a_missing_bill_of_one_merchant_number_is_named_beside_anothers_records(tmp_path):
    # a chain with two WeChat accounts: 1900000101's bill is there (W1 matched), 1900000102's is left out (W2, W3
    # order_only); S3's orders carry the shop's store code, their records the real number: none is named for S3
    (tmp_path / "o.csv").write_text(
        HEAD + "W1,S1,1900000101,wechat,10.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n"
        "W2,S2,1900000102,wechat,20.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n"
        "W3,S2,1900000102,wechat,30.50,paid,2026-11-22 11:00:00,2026-11-22 11:00:00\n"
        "W4,S2,1900000102,wechat,5.00,unpaid,2026-11-22 11:00:00,\n"
        "W5,S3,S3,wechat,7.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        TX_HEAD + "wechat,1900000101,T1,W1,payment,10.00,0,10.00,success,2026-11-22 10:00:01,2026-11-22\n"
        "wechat,1900000103,T5,W5,payment,7.00,0,7.00,success,2026-11-22 10:00:01,2026-11-22\n", encoding="utf-8")
    want = [{"channel": "wechat", "merchant_id": "1900000102", "orders": 2, "order_amount_fen": 5050}]
    args = ["--orders", str(tmp_path / "o.csv"), "--transactions", str(tmp_path / "t.csv")]
    res = runner.invoke(app, ["reconcile", *args, "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    s = _summary(tmp_path / "out")
    assert s["channels_without_records"] == [] and s["merchant_numbers_without_records"] == want
    assert ("No wechat records of merchant number 1900000102 in this run, yet 2 paid orders (¥50.50) name it. Was "
            "its bill left out?") in " ".join(res.output.split())
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["ingest", "--workspace", w, *args])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-22", "--out", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "ws")["merchant_numbers_without_records"] == want


def test_an_empty_bill_of_one_merchant_number_does_not_hide_anothers_missing_bill(tmp_path):
    # 1900000101's WeChat bill of day 22 is empty; 1900000102's is left out: its order is named, 1900000101's not;
    # with 1900000102's empty bill loaded too, nothing is named
    (tmp_path / "o.csv").write_text(
        HEAD + "W1,S1,1900000101,wechat,15.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n"
        "W2,S2,1900000102,wechat,16.00,paid,2026-11-22 10:00:00,2026-11-22 10:00:00\n", encoding="utf-8")
    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "1900000101_20261122_ALL.csv").write_bytes(EMPTY_WX.encode("utf-8"))
    want = [{"channel": "wechat", "merchant_id": "1900000102", "orders": 1, "order_amount_fen": 1600}]
    res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bills),
                              "--date", "2026-11-22", "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    s = _summary(tmp_path / "out")
    assert s["channels_without_records"] == [] and s["merchant_numbers_without_records"] == want
    w = str(tmp_path / "w.duckdb")
    res = runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"), "--bills", str(bills)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-22", "--out", str(tmp_path / "ws")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "ws")["merchant_numbers_without_records"] == want
    (bills / "1900000102_20261122_ALL.csv").write_bytes(EMPTY_WX.encode("utf-8"))
    res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bills),
                              "--date", "2026-11-22", "--out", str(tmp_path / "out2")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "out2")["merchant_numbers_without_records"] == []
    res = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(bills)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-22", "--out", str(tmp_path / "ws2")])
    assert res.exit_code == 0, res.output
    assert _summary(tmp_path / "ws2")["merchant_numbers_without_records"] == []


def test_a_merchant_number_from_an_empty_bills_file_name():
    from paymatch.summary_notes import name_merchant

    assert name_merchant("/x/1900000101_20261122_ALL.csv") == "1900000101"
    assert name_merchant("/bills/1900000101.zip!20261122_ALL.csv") == "1900000101"
    assert name_merchant("/x/20261122_ALL.csv") is None and name_merchant("1900000101_1900000102.csv") is None


def test_a_method_whose_own_records_are_in_the_run_is_no_bill_left_out(tmp_path):
    """(helper-117) Cloud QuickPass orders settle through unionpay by default, and the built-in cloud_quickpass bill
    names its records cloud_quickpass (the method itself: not a channel_mismatch). One such order without a record
    (order_only, under unionpay) beside its method's records was said as 'No unionpay records in this run … Was its
    bill left out?': the bill was there. A unionpay order without a record is still said, and so are the Cloud
    QuickPass orders when no record of theirs is in the run."""
    (tmp_path / "o.csv").write_text(
        HEAD + "Q1,S1,,cloud_quickpass,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00\n"
        "Q2,S1,,cloud_quickpass,20.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        TX_HEAD + "cloud_quickpass,898310000000001,T1,Q1,payment,10.00,0,10.00,success,2026-11-20 10:00:01,"
        "2026-11-20\n", encoding="utf-8")
    (tmp_path / "o2.csv").write_text(
        (tmp_path / "o.csv").read_text(encoding="utf-8")
        + "U3,S1,,unionpay,30.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:00\n", encoding="utf-8")
    (tmp_path / "none.csv").write_text(TX_HEAD, encoding="utf-8")

    def run(orders, tx, out):
        res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / orders), "--transactions",
                                  str(tmp_path / tx), "--out", str(tmp_path / out)])
        assert res.exit_code == 0, res.output
        return _summary(tmp_path / out)["channels_without_records"], " ".join(res.output.split())

    named, said = run("o.csv", "t.csv", "out")
    assert named == [] and "No unionpay records" not in said
    named, said = run("o2.csv", "t.csv", "out2")  # the unionpay order's bill is missing: said, for it alone
    assert named == [{"channel": "unionpay", "order_only": 1, "order_amount_fen": 3000}], named
    assert "No unionpay records in this run, yet 1 paid orders (¥30.00)" in said
    named, _ = run("o.csv", "none.csv", "out3")  # no Cloud QuickPass record at all: its bill left out
    assert named == [{"channel": "unionpay", "order_only": 2, "order_amount_fen": 3000}], named


def test_an_empty_bill_of_the_orders_method_is_no_unionpay_bill_left_out(tmp_path):
    """A Cloud QuickPass order (settling through unionpay) beside the day's cloud_quickpass bill that lists no row:
    that bill was given, as the method's bill with records is (above) and as an empty bill of the settling channel
    is: 'No unionpay records … Was its bill left out?' named a bill nobody left out. A unionpay order is still said."""
    folder = tmp_path / "bills"
    folder.mkdir()
    (folder / "cloud_quickpass_20261120.txt").write_bytes(
        "云闪付商户交易明细\n清算日期|交易时间|商户代码|终端号|订单号|系统跟踪号|交易类型|交易金额|手续费|状态\n".encode("gb18030"))
    (tmp_path / "o.csv").write_text(
        HEAD + "Q1,S1,,cloud_quickpass,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00\n", encoding="utf-8")
    (tmp_path / "o2.csv").write_text((tmp_path / "o.csv").read_text(encoding="utf-8")
                                     + "U3,S1,,unionpay,30.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:00\n",
                                     encoding="utf-8")
    for orders, out, want in (("o.csv", "out", []),
                              ("o2.csv", "out2", [{"channel": "unionpay", "order_only": 1, "order_amount_fen": 3000}])):
        res = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / orders), "--bills", str(folder),
                                  "--out", str(tmp_path / out)])
        assert res.exit_code == 0, res.output
        assert _summary(tmp_path / out)["channels_without_records"] == want
