"""paymatch serve: UnionPay 全渠道 back notifications (POST /notify/unionpay) on 127.0.0.1 — verified against the test
root/middle CA, stored, answered as UnionPay expects; the ZM bill then confirms them as one transaction each."""

from __future__ import annotations

import csv
import datetime as dt
import urllib.parse

import httpx
import pytest
from acp_fake_server import MER_ID, UNIONPAY_CN, Pki, cert, key, notification, notification_500, pem
from loopback import serve
from unionpay_zmgen import zm_file, zm_line

from paymatch.channels import unionpay as zm
from paymatch.config import load_config
from paymatch.run import reconcile_workspace
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

DAY = dt.date(2019, 9, 16)
PAY1, PAY2 = "201909161055160000001", "201909161100000000002"
REFUND1, CANCEL2 = "201909161200000000003", "201909161300000000004"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.make()


def _config(tmp_path, pki: Pki, *extra: str):
    pki.write(tmp_path)
    cfg = tmp_path / "rules.toml"
    cfg.write_text("\n".join(["[channels.unionpay]", f'mer_id = "{MER_ID}"', 'pfx_file = "acp_sign.pfx"',
                              'pfx_password_file = "pfx_password.txt"', 'root_cert_file = "acp_root.cer"',
                              'middle_cert_file = "acp_middle.cer"', *extra]) + "\n", encoding="utf-8")
    return cfg


def fields(**over: str) -> dict[str, str]:
    """A 消费 (txnType 01) notification's fields as UnionPay sends them (5.1.0), before signing."""
    base = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "01", "txnSubType": "01",
            "bizType": "000201", "accessType": "0", "merId": MER_ID, "orderId": "ORDER1",
            "txnTime": "20190916105510", "txnAmt": "1000", "currencyCode": "156", "queryId": PAY1,
            "respCode": "00", "respMsg": "成功[0000000]", "settleAmt": "1000", "settleCurrencyCode": "156",
            "settleDate": "0916", "traceNo": "123456", "traceTime": "0916105516"}
    return {**base, **over}


PAYMENT2 = dict(orderId="ORDER2", queryId=PAY2, txnAmt="5000", settleAmt="5000", txnTime="20190916110000",
                traceTime="0916110000")
REFUND = dict(txnType="04", txnSubType="00", orderId="REFUND1", origQryId=PAY1, queryId=REFUND1, txnAmt="300",
              settleAmt="300", txnTime="20190916120000", traceTime="0916120000")
CANCEL = dict(txnType="31", txnSubType="00", orderId="CANCEL2", origQryId=PAY2, queryId=CANCEL2, txnAmt="5000",
              settleAmt="5000", txnTime="20190916130000", traceTime="0916130000")


def signed(pki: Pki, **over: str) -> dict[str, str]:
    """Signed by the test UnionPay key, whose certificate chains to the test middle and root."""
    return notification(key("unionpay"), pki.unionpay, **fields(**over))


def post(url: str, form: dict[str, str], encoding: str = "utf-8") -> httpx.Response:
    return httpx.post(f"{url}/notify/unionpay", content=urllib.parse.urlencode(form, encoding=encoding),
                      headers={"Content-Type": f"application/x-www-form-urlencoded;charset={encoding}"}, timeout=10)


def _kinds(w, tmp_path):
    res = reconcile_workspace(w, DAY, DAY, tmp_path / "out")
    with open(res.outcomes_csv, encoding="utf-8") as f:
        return {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}


def test_payment_refund_cancellation_then_the_zm_bill_confirms_each_once(tmp_path, pki):
    w = tmp_path / "w.duckdb"
    app = create_app(w, load_config(_config(tmp_path, pki)), tmp_path)
    assert app.state.mounted == ["unionpay"]
    with serve(app) as url:
        for over in ({}, PAYMENT2, REFUND, CANCEL):
            r = post(url, signed(pki, **over))
            assert (r.status_code, r.text) == (200, "ok"), r.text
        r = post(url, signed(pki))  # UnionPay sends it again (our "ok" lost): "ok", nothing new stored
        assert (r.status_code, r.text) == (200, "ok")
        with Workspace(w) as ws:
            rows = ws.con.execute(
                "SELECT type, channel_tx_id, order_no, refund_no, channel_refund_id, amount_fen, merchant_id, status, "
                "origin, strftime(occurred_at AT TIME ZONE 'Asia/Shanghai', '%Y-%m-%d %H:%M:%S') FROM transactions "
                "ORDER BY occurred_at").fetchall()
    assert rows == [
        ("payment", PAY1, "ORDER1", None, None, 1000, MER_ID, "success", "notify", "2019-09-16 10:55:16"),
        ("payment", PAY2, "ORDER2", None, None, 5000, MER_ID, "success", "notify", "2019-09-16 11:00:00"),
        ("refund", PAY1, None, "REFUND1", REFUND1, 300, MER_ID, "success", "notify", "2019-09-16 12:00:00"),
        ("refund", PAY2, None, "CANCEL2", CANCEL2, 5000, MER_ID, "success", "notify", "2019-09-16 13:00:00")]

    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        f"ORDER1,S1,{MER_ID},unionpay,10.00,partially_refunded,2019-09-16 10:55:00,2019-09-16 10:55:10\n"
        f"ORDER2,S1,{MER_ID},unionpay,50.00,refunded,2019-09-16 10:59:50,2019-09-16 10:59:58\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text(
        "refund_no,order_no,amount,created_at,status\n"
        "REFUND1,ORDER1,3.00,2019-09-16 11:59:50,success\n"
        "CANCEL2,ORDER2,50.00,2019-09-16 12:59:50,success\n", encoding="utf-8")
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
        ws.ingest_csv("refunds", tmp_path / "refunds.csv")
    # only the notifications say so: unconfirmed
    assert _kinds(w, tmp_path) == {"P-ORDER1": "unconfirmed", "P-ORDER2": "unconfirmed",
                                   "R-REFUND1": "unconfirmed", "R-CANCEL2": "unconfirmed"}

    # the day's ZM lists the same four: its 查询流水号 / 原交易查询流水号 are the notifications' queryId / origQryId
    data = zm_file([
        zm_line(order_id="ORDER1", query_id=PAY1, amount_fen=1000, txn_time="0916105516"),
        zm_line(order_id="ORDER2", query_id=PAY2, amount_fen=5000, fee="D000000000030", settle="C000000004970",
                txn_time="0916110000"),
        zm_line(txn_type="04", order_id="REFUND1", query_id=REFUND1, orig_query_id=PAY1, amount_fen=300,
                fee="C000000000002", settle="D000000000298", txn_time="0916120000"),
        zm_line(txn_type="31", order_id="CANCEL2", query_id=CANCEL2, orig_query_id=PAY2, amount_fen=5000,
                fee="C000000000030", settle="D000000004970", txn_time="0916130000")])
    bill = zm.parse(data, f"INN19091688ZM_{MER_ID}")
    with Workspace(w) as ws:
        ws.ingest_transactions(bill.transactions, source=bill.source, sha256=bill.sha256, origin="bill")
        assert ws.con.execute("SELECT count(*), min(origin), max(origin) FROM transactions").fetchone() == (
            4, "bill", "bill")
    assert _kinds(w, tmp_path) == {"P-ORDER1": "matched", "P-ORDER2": "matched",
                                   "R-REFUND1": "refund_matched", "R-CANCEL2": "refund_matched"}


def _forged(pki):
    return notification(key("rogue"), pki.unionpay, **fields())  # UnionPay's certificate, another key's signature


def _tampered(pki):
    return {**signed(pki), "txnAmt": "100000"}


def _unsigned(pki):
    return fields()


def _wrong_chain(pki):
    # issued in the test middle CA's name by another key (what a forger would make): only the signature tells
    return notification(key("rogue"), cert(UNIONPAY_CN, key("rogue"), "CFCA TEST OCA1", key("rogue_mid")), **fields())


def _not_unionpay(pki):
    return notification(key("rogue"), cert("041@Z12@某某支付有限公司@00000001", key("rogue"), "CFCA TEST OCA1",
                                           key("middle")), **fields())


def _expired(pki):
    return notification(key("unionpay"), cert(UNIONPAY_CN, key("unionpay"), "CFCA TEST OCA1", key("middle"),
                                              days=(-400, -1)), **fields())


def _unknown_mer_id(pki):
    return signed(pki, merId="802310048990000")  # genuinely UnionPay's, for a merchant not configured


def _unknown_txn_type(pki):
    return signed(pki, txnType="79")


@pytest.mark.parametrize("make, said", [
    (_forged, "signature does not verify"),
    (_tampered, "signature does not verify"),
    (_unsigned, "unsigned"),
    (_wrong_chain, "not issued by the configured middle certificate"),
    (_not_unionpay, "does not name 中国银联股份有限公司"),
    (_expired, "is not valid now"),
    (_unknown_mer_id, "merId '802310048990000' is not a configured [channels.unionpay] account"),
    (_unknown_txn_type, "txnType '79' is not a payment"),
])
def test_a_refused_notification_is_quarantined_answered_non_200_and_nothing_stored(tmp_path, pki, make, said):
    w = tmp_path / "w.duckdb"
    with serve(create_app(w, load_config(_config(tmp_path, pki)), tmp_path)) as url:
        r = post(url, make(pki))
        assert r.status_code == 400 and r.text != "ok"
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0
        (source, reason), = ws.con.execute("SELECT source, reason FROM quarantine").fetchall()
    assert source == "notify:unionpay" and said in reason and f"queryId={PAY1}" in reason, reason


def test_gbk_notification_failed_refund_hold_and_unreadable_body(tmp_path, pki):
    """encoding=GBK: the form's escapes and the signed text are GBK (acpsdk hashes the text in the message's
    encoding); a refund that failed (respCode not 00/A6: 后台 transactions are notified either way) is stored as
    failed; A6 is a success; a field sent empty is no part of the signed text; a 预授权 (02, no money) is taken and
    nothing stored; a body that is no form is refused."""
    w = tmp_path / "w.duckdb"
    with serve(create_app(w, load_config(_config(tmp_path, pki)), tmp_path)) as url:
        r = post(url, signed(pki, encoding="GBK", respMsg="成功[0000000]"), encoding="gbk")
        assert (r.status_code, r.text) == (200, "ok"), r.text
        refused = {**REFUND, "respCode": "12", "respMsg": "重复交易"}
        assert post(url, signed(pki, **refused)).status_code == 200
        # a field sent empty is left out of the signed text, as acpsdk's getAllRequestParam leaves it out
        assert post(url, {**signed(pki, **{**PAYMENT2, "respCode": "A6"}), "reqReserved": ""}).status_code == 200
        assert post(url, signed(pki, txnType="02", queryId="201909161400000000009")).text == "ok"
        junk = httpx.post(f"{url}/notify/unionpay", content="signature=%ZZ&merId=\xff".encode("latin-1"), timeout=10)
        assert junk.status_code == 400
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT channel_refund_id, status FROM transactions ORDER BY 1 NULLS FIRST, 2").fetchall()
        assert got == [(None, "success"), (None, "success"), (REFUND1, "failed")]
        (reason,) = ws.con.execute("SELECT reason FROM quarantine").fetchone()
    assert "unreadable body" in reason


def test_while_another_command_holds_the_workspace_the_notification_is_not_taken_then_stored_when_resent(tmp_path,
                                                                                                        pki):
    """Another process holds the workspace file: the notification is answered 500 (not 200: UnionPay sends it
    again), nothing quarantined; the resend is stored."""
    import subprocess
    import sys

    w = tmp_path / "w.duckdb"
    app = create_app(w, load_config(_config(tmp_path, pki)), tmp_path)
    app.state.access.wait = 0.2
    with serve(app) as url:
        hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(30)"
        holder = subprocess.Popen([sys.executable, "-c", hold, str(w)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            assert post(url, signed(pki)).status_code == 500
        finally:
            holder.kill()
            holder.wait()
        assert (post(url, signed(pki)).status_code, post(url, signed(pki)).text) == (200, "ok")
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), min(channel_tx_id) FROM transactions").fetchone() == (1, PAY1)
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_trace_time_takes_the_year_that_puts_it_next_to_txn_time():
    """traceTime (MMDDhhmmss, ZM's 交易传输时间) carries no year: an order sent at 2020-01-01 00:00:05 whose
    transaction UnionPay timed 12-31 23:59:59 is of 2019; without traceTime, txnTime is the time."""
    from paymatch.channels.unionpay_notify import to_transaction

    def when(**over):
        return to_transaction(fields(**over))["occurred_at"][0].as_py().astimezone(dt.timezone(dt.timedelta(hours=8)))

    assert when(txnTime="20200101000005", traceTime="1231235959").isoformat() == "2019-12-31T23:59:59+08:00"
    assert when(txnTime="20190916105510", traceTime="0916105516").isoformat() == "2019-09-16T10:55:16+08:00"
    f = fields()
    del f["traceTime"]
    assert to_transaction(f)["occurred_at"][0].as_py().isoformat() == "2019-09-16T02:55:10+00:00"


def test_settle_date_is_the_bill_day_the_year_next_to_the_trade():
    """settleDate (MMDD) is the day of the ZM that lists the transaction: a trade after 23:00 Beijing time is on the
    next day's, and at the year's end that day is of the next year (a payment at 2026-12-31 23:30, settleDate 0101,
    is on INN270101's ZM, bill day 2027-01-01); without settleDate the bill day is the trade's day."""
    from paymatch.channels.unionpay_notify import to_transaction

    def day(**over):
        return to_transaction(fields(**over))["bill_date"][0].as_py()

    assert day(txnTime="20261231232950", traceTime="1231233000", settleDate="0101") == dt.date(2027, 1, 1)
    assert day(txnTime="20270101000010", traceTime="0101000015", settleDate="1231") == dt.date(2026, 12, 31)
    assert day() == DAY
    f = fields()
    del f["settleDate"]
    assert to_transaction(f)["bill_date"][0].as_py() is None


def test_a_payment_after_23_00_and_its_refund_count_on_the_zm_day_before_and_after_the_bill(tmp_path, pki):
    """A payment notified at 23:30 on the 16th (settleDate 0917) and its refund on the 17th, then the 17th's ZM, its
    refund line carrying 原始交易订单号: the 16th's run and the 17th's say the same of the order before the bill and
    after it (order_only on the 16th, as for an order paid after 23:00 without notification; counted on the 17th:
    unconfirmed while only notified, then matched), and the bill's rows replace the notifications'."""
    late = dict(txnTime="20190916232950", traceTime="0916233000", settleDate="0917")
    refund = dict(REFUND, txnTime="20190917120000", traceTime="0917120000", settleDate="0917")
    w = tmp_path / "w.duckdb"
    with serve(create_app(w, load_config(_config(tmp_path, pki)), tmp_path)) as url:
        for over in (late, refund):
            assert post(url, signed(pki, **over)).text == "ok"
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        f"ORDER1,S1,{MER_ID},unionpay,10.00,partially_refunded,2019-09-16 23:29:40,2019-09-16 23:29:55\n",
        encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "REFUND1,ORDER1,3.00,2019-09-17 11:59:50,success\n", encoding="utf-8")
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
        ws.ingest_csv("refunds", tmp_path / "refunds.csv")

    def kinds(day):
        res = reconcile_workspace(w, day, day, tmp_path / f"out{day}")
        with open(res.outcomes_csv, encoding="utf-8") as f:
            return {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}

    d16, d17 = DAY, DAY + dt.timedelta(days=1)
    assert (kinds(d16), kinds(d17)) == ({"P-ORDER1": "order_only"},
                                        {"P-ORDER1": "unconfirmed", "R-REFUND1": "unconfirmed"})
    bill = zm.parse(zm_file([
        zm_line(order_id="ORDER1", query_id=PAY1, amount_fen=1000, txn_time="0916233000"),
        zm_line(txn_type="04", order_id="REFUND1", query_id=REFUND1, orig_query_id=PAY1, orig_order_id="ORDER1",
                amount_fen=300, fee="C000000000002", settle="D000000000298", txn_time="0917120000")]),
        f"INN19091788ZM_{MER_ID}")
    with Workspace(w) as ws:
        ws.store_bill(bill)
        assert ws.con.execute("SELECT type, order_no, refund_no, origin, bill_date FROM transactions ORDER BY type"
                              ).fetchall() == [("payment", "ORDER1", None, "bill", d17),
                                               ("refund", "ORDER1", "REFUND1", "bill", d17)]
    assert (kinds(d16), kinds(d17)) == ({"P-ORDER1": "order_only"},
                                        {"P-ORDER1": "matched", "R-REFUND1": "refund_matched"})


@pytest.mark.parametrize("over, named", [
    ({"txnAmt": "１０００"}, "txnAmt"),                                  # full-width digits: was stored as 10.00
    ({"txnTime": "2019091610"}, "txnTime"),                             # was read as 2019-09-16 01:00:00
    ({"txnTime": "00010916105510"}, "txnTime"),                         # was stored in the year 1
    ({"traceTime": "０９16105516"}, "traceTime"),
])
def test_a_bad_amount_or_time_is_refused_naming_the_field(over, named):
    """helper-107 (bench/fuzz_notify.py): the mapping of a verified notification refuses a value it read loosely
    (Python's \\d and int() take full-width digits; strptime takes a 10-digit txnTime as 14)."""
    from paymatch.channels.unionpay_notify import to_transaction
    from paymatch.errors import ChannelError

    with pytest.raises(ChannelError, match=named):
        to_transaction(fields(**over))


def test_a_5_0_0_notification_is_verified_with_the_configured_verify_certificate_its_cert_id_names(tmp_path, pki):
    """5.0.0 (acpsdk's validate): no certificate in the message; certId names UnionPay's verify-sign certificate the
    merchant configured (verify_cert_file), SHA1withRSA over the SHA-1 hex of the sorted fields."""
    other = cert("041@Z12@中国银联股份有限公司@00000002", key("other"), "CFCA TEST OCA1", key("middle"))
    (tmp_path / "acp_verify_sign.cer").write_bytes(pem(pki.unionpay))
    (tmp_path / "acp_verify_old.cer").write_bytes(pem(other))
    w = tmp_path / "w.duckdb"
    v5 = {k: v for k, v in fields().items() if k != "version"}
    cfg = _config(tmp_path, pki, 'verify_cert_file = ["acp_verify_old.cer", "acp_verify_sign.cer"]')
    with serve(create_app(w, load_config(cfg), tmp_path)) as url:
        r = post(url, notification_500(key("unionpay"), pki.unionpay, **v5))
        assert (r.status_code, r.text) == (200, "ok"), r.text
        gbk = notification_500(key("unionpay"), pki.unionpay, **{**v5, **PAYMENT2, "encoding": "GBK"})
        assert post(url, gbk, encoding="gbk").text == "ok"
        forged = notification_500(key("other"), pki.unionpay, **{**v5, **REFUND})  # the key of another certificate
        tampered = {**notification_500(key("unionpay"), pki.unionpay, **{**v5, **CANCEL}), "txnAmt": "1"}
        unknown = notification_500(key("unionpay"), cert(UNIONPAY_CN, key("unionpay"), "CFCA TEST OCA1",
                                                          key("middle"), serial=777), **{**v5, **CANCEL})
        secure_key = {**fields(), "signMethod": "11", "signature": "0" * 64}
        for form in (forged, tampered, unknown, secure_key):
            assert post(url, form).status_code == 400
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT channel_tx_id, type, amount_fen FROM transactions ORDER BY 1").fetchall()
        reasons = {r for (r,) in ws.con.execute("SELECT reason FROM quarantine").fetchall()}
    assert got == [(PAY1, "payment", 1000), (PAY2, "payment", 5000)]
    said = [f"queryId={REFUND1}: refused, not UnionPay's: the notification's signature does not verify with the "
            f"verify certificate of certId {pki.unionpay.serial_number}",
            f"queryId={CANCEL2}: refused, not UnionPay's: the notification's signature does not verify",
            "certId '777' names none of the configured verify certificates",
            f"queryId={PAY1}: refused: signMethod 11 (SHA-256 with a secure key, 密钥方式) is not accepted"]
    assert len(reasons) == 4 and all(any(s in r for r in reasons) for s in said), reasons


def test_a_5_0_0_notification_without_a_verify_certificate_configured_is_refused_naming_the_key(tmp_path, pki):
    w = tmp_path / "w.duckdb"
    v5 = {k: v for k, v in fields().items() if k != "version"}
    with serve(create_app(w, load_config(_config(tmp_path, pki)), tmp_path)) as url:
        assert post(url, notification_500(key("unionpay"), pki.unionpay, **v5)).status_code == 400
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0
        (reason,) = ws.con.execute("SELECT reason FROM quarantine").fetchone()
    assert "version 5.0.0" in reason and "set 'verify_cert_file'" in reason and MER_ID in reason, reason
