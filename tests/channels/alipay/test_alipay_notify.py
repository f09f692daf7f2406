"""Alipay async notifications: RSA2 verified, app checked, replays refused, mapped; and the HTTP route."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import httpx
import pytest
from fake_gateway import new_key, private_pem, public_pem, rsa2_sign
from fastapi import FastAPI
from loopback import serve

from paymatch.channels.alipay.config import AlipayConfig
from paymatch.channels.alipay.notify import AlipayNotifyVerifier, NotificationAlreadyAccepted
from paymatch.errors import ChannelError
from paymatch.web.notify_alipay import make_router

APP_ID = "2016101100660467"


@pytest.fixture
def verifier(keys):
    app_key, alipay_key = keys
    return AlipayNotifyVerifier(AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key)))


def signed(params: dict, key) -> dict:
    """Sign as Alipay does: sorted k=v pairs without sign/sign_type, SHA256withRSA."""
    body = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    text = "&".join(f"{k}={v}" for k, v in sorted(body.items()))
    return {**body, "sign_type": "RSA2", "sign": rsa2_sign(key, text)}


def payment(**over) -> dict:
    base = {
        "notify_id": "4e5a35340926d9e4405f4f7b75b5d45gji", "notify_type": "trade_status_sync",
        "notify_time": "2017-04-11 14:55:50", "app_id": APP_ID, "charset": "utf-8", "version": "1.0",
        "trade_no": "2017041121001004070200183979", "out_trade_no": "20170411145511",
        "seller_id": "2088102179075543", "trade_status": "TRADE_SUCCESS", "total_amount": "12.00",
        "receipt_amount": "11.50", "gmt_create": "2017-04-11 14:55:44", "gmt_payment": "2017-04-11 14:55:49",
        "subject": "测试", "fund_bill_list": '[{"amount":"12.00","fundChannel":"ALIPAYACCOUNT"}]',
    }
    return {**base, **over}


def test_payment_notification_maps_to_one_row(verifier, keys):
    row = verifier.verify(signed(payment(), keys[1])).to_pylist()[0]
    assert row["type"] == "payment" and row["status"] == "success" and row["amount_fen"] == 1200
    assert row["settle_amount_fen"] == 1150 and row["method"] == "alipay"
    assert row["occurred_at"] == dt.datetime(2017, 4, 11, 6, 55, 49, tzinfo=dt.UTC)
    assert row["src_file"] == "notify:alipay:4e5a35340926d9e4405f4f7b75b5d45gji"
    assert row["merchant_id"] == "2088102179075543" and row["channel_tx_id"] == "2017041121001004070200183979"


def test_huabei_closed_and_refund(verifier, keys):
    hb = payment(notify_id="n2", fund_bill_list='[{"amount":"12.00","fundChannel":"PCREDIT"}]')
    assert verifier.verify(signed(hb, keys[1]))["method"].to_pylist() == ["huabei"]
    closed = payment(notify_id="n3", trade_status="TRADE_CLOSED", gmt_payment="", gmt_close="2017-04-12 10:00:00")
    assert verifier.verify(signed(closed, keys[1]))["status"].to_pylist() == ["closed"]
    refund = payment(notify_id="n4", refund_fee="2.50", gmt_refund="2017-04-12 10:00:00.123", out_biz_no="RF-9")
    row = verifier.verify(signed(refund, keys[1])).to_pylist()[0]
    assert (row["type"], row["amount_fen"], row["refund_no"], row["status"]) == ("refund", 250, "RF-9", "success")
    assert row["occurred_at"] == dt.datetime(2017, 4, 12, 2, 0, 0, 123000, tzinfo=dt.UTC)


def test_tampered_foreign_or_replayed_notifications_are_rejected(verifier, keys):
    good = signed(payment(), keys[1])
    with pytest.raises(ChannelError, match="signature"):
        verifier.verify({**good, "total_amount": "1200.00"})
    with pytest.raises(ChannelError, match="signature"):
        verifier.verify(signed(payment(), new_key()))
    with pytest.raises(ChannelError, match="app_id"):
        verifier.verify(signed(payment(app_id="2016000000000000"), keys[1]))
    verifier.verify(good)
    with pytest.raises(NotificationAlreadyAccepted, match="already accepted") as err:
        verifier.verify(good)
    assert "4e5a35340926d9e4405f4f7b75b5d45gji" in str(err.value)
    with pytest.raises(ChannelError, match="trade_status"):
        verifier.verify(signed(payment(notify_id="n9", trade_status="NOPE"), keys[1]))


def test_shared_samples_sign_and_verify(verifier, keys, alipay_notify_sample):
    sandbox = alipay_notify_sample("fzlee_sandbox_notify_WAIT_BUYER_PAY.json")
    assert verifier.verify(signed(sandbox, keys[1]))["status"].to_pylist() == ["processing"]
    docs = alipay_notify_sample("fzlee_docs_notify_TRADE_SUCCESS_redacted.json")
    docs = {**docs, "app_id": APP_ID, "notify_id": "docs-1"}
    row = verifier.verify(signed(docs, keys[1])).to_pylist()[0]
    assert row["amount_fen"] == 1 and row["status"] == "success"


@pytest.fixture
def server(verifier):
    """uvicorn on 127.0.0.1 (ephemeral port) serving the notify router; yields (url, stored)."""
    stored: list = []
    fail_next: list[bool] = []

    def on_tx(table):
        if fail_next and fail_next.pop():
            raise RuntimeError("disk full")
        stored.append(table)

    app = FastAPI()
    app.include_router(make_router(verifier, on_tx))
    with serve(app) as base:
        yield f"{base}/notify/alipay", stored, fail_next


def post(url: str, params: dict, charset: str = "utf-8") -> str:
    body = urllib.parse.urlencode(params, encoding=charset)
    return httpx.post(url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}).text


def test_http_route_answers_as_alipay_expects(server, keys):
    url, stored, fail_next = server
    good = signed(payment(), keys[1])
    fail_next.append(True)
    assert post(url, good) == "failure"  # storing failed: Alipay must retry, and the retry is accepted
    assert post(url, good) == "success"
    # Alipay resends one notification (same notify_id) until it reads "success": answered so again, stored once
    # (helper-51: it was "failure", so Alipay retried for a day and each resend was quarantined as a forgery)
    assert post(url, good) == "success"
    assert post(url, {**good, "total_amount": "99.00"}) == "failure"
    assert len(stored) == 1 and stored[0]["order_no"].to_pylist() == ["20170411145511"]
    assert httpx.post(url, content=b"\xff\xfe", headers={"Content-Type": "text/plain"}).text == "failure"


def test_notification_and_bill_row_share_their_identity(verifier, keys):
    from alipay_billgen import Row, detail_bytes

    from paymatch.channels.alipay import parse

    note = verifier.verify(signed(payment(notify_id="same-1"), keys[1])).to_pylist()[0]
    row = Row("2017041121001004070200183979", "20170411145511", order_amt="12.00", settle="11.50",
              finished="2017-04-11 14:55:49")
    billed = parse(detail_bytes([row], account="20881021790755430156"), "d.csv").transactions.to_pylist()[0]
    key = ("channel", "merchant_id", "channel_tx_id", "order_no", "type", "amount_fen", "settle_amount_fen",
           "occurred_at")
    assert {k: note[k] for k in key} == {k: billed[k] for k in key}


def test_several_apps_each_verified_with_its_own_key(keys):
    """[[channels.alipay]] with two apps: a notification is checked with the key of the app its app_id names; the
    other app's key does not verify it, an unknown app_id is refused, two sections with one app_id are refused."""
    from paymatch.errors import ConfigError

    other_app, other_alipay = new_key(), new_key()
    v = AlipayNotifyVerifier([AlipayConfig(APP_ID, private_pem(keys[0]), public_pem(keys[1])),
                              AlipayConfig("2021000000000002", private_pem(other_app), public_pem(other_alipay),
                                           seller_id="2088000000000002")])
    assert v.verify(signed(payment(), keys[1]))["order_no"].to_pylist() == ["20170411145511"]
    second = payment(notify_id="n-2", app_id="2021000000000002", seller_id="2088000000000002", out_trade_no="B-1")
    assert v.verify(signed(second, other_alipay))["merchant_id"].to_pylist() == ["2088000000000002"]
    with pytest.raises(ChannelError, match="signature"):  # the second app's notification signed with the first key
        v.verify(signed(dict(second, notify_id="n-3"), keys[1]))
    with pytest.raises(ChannelError, match="seller_id"):
        v.verify(signed(dict(second, notify_id="n-4", seller_id="2088102179075543"), other_alipay))
    with pytest.raises(ChannelError, match="not ours"):
        v.verify(signed(payment(notify_id="n-5", app_id="2021999999999999"), keys[1]))
    with pytest.raises(ConfigError, match="twice"):
        AlipayNotifyVerifier([AlipayConfig(APP_ID, private_pem(keys[0]), public_pem(keys[1]))] * 2)


def test_a_gbk_notification_verifies_over_its_gbk_bytes(server, keys):
    """An app set to charset=GBK gets notifications signed over the GBK bytes of the sorted pairs; with Chinese in
    a signed field (subject, body) they never verified (the SDK encodes UTF-8). Signed over UTF-8 they are refused."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    url, stored, _ = server
    params = payment(notify_id="gbk-1", charset="gbk", subject="测试商品：双人套餐", body="门店 S1")

    def sign_as(p: dict, encoding: str) -> dict:
        text = "&".join(f"{k}={v}" for k, v in sorted(p.items()))
        sig = keys[1].sign(text.encode(encoding), padding.PKCS1v15(), hashes.SHA256())
        import base64
        return {**p, "sign_type": "RSA2", "sign": base64.b64encode(sig).decode()}

    assert post(url, sign_as(dict(params, notify_id="gbk-0"), "utf-8"), charset="gbk") == "failure"
    assert post(url, sign_as(params, "gbk"), charset="gbk") == "success"
    assert [t["order_no"].to_pylist() for t in stored] == [["20170411145511"]]
    tampered = sign_as(dict(params, notify_id="gbk-2"), "gbk")
    assert post(url, {**tampered, "subject": "测试商品：单人套餐"}, charset="gbk") == "failure"


def test_refund_notifications_store_each_refunds_own_amount(verifier, keys, tmp_path):
    """Alipay's refund_fee is the trade's total refunded so far: two partial refunds of 30.00 and 20.00 notify 30.00
    and 50.00; the workspace stores 30.00 and 20.00 (helper-51: the second was a refund_amount_mismatch of +30.00),
    whichever arrives first. A refund notification without out_biz_no (optional) gives way to the bill's refund of
    its trade; one without seller_id (optional too) is taken when the config names a seller_id."""
    from alipay_billgen import Row, detail_bytes

    from paymatch.channels.alipay import parse
    from paymatch.workspace import Workspace

    def note(nid, total, when, biz=None):
        extra = {"out_biz_no": biz} if biz else {}
        return verifier.verify(signed(payment(notify_id=nid, refund_fee=total, gmt_refund=when, **extra), keys[1]))

    with Workspace(tmp_path / "w.duckdb") as ws:
        second = note("r2", "50.00", "2017-04-12 11:00:00.200", "RF-2")
        first = note("r1", "30.00", "2017-04-12 10:00:00.100", "RF-1")
        for n, t in (("r2", second), ("r1", first)):  # out of order: the later one first
            ws.ingest_transactions(t, source=f"notify:alipay:{n}", origin="notify")
        assert ws.con.execute("SELECT refund_no, amount_fen FROM transactions WHERE type = 'refund' ORDER BY 1"
                              ).fetchall() == [("RF-1", 3000), ("RF-2", 2000)]
    with Workspace(tmp_path / "n.duckdb") as ws:
        ws.ingest_transactions(note("r3", "12.00", "2017-04-12 10:00:00.100"), source="notify:alipay:r3",
                               origin="notify")
        row = Row("2017041121001004070200183979", "20170411145511", biz="退款", order_amt="-12.00", settle="-12.00",
                  refund_no="2017041121001004070200183979-1", finished="2017-04-12 10:00:00")
        bill = parse(detail_bytes([row], account="20881021790755430156"), "d.csv")
        ws.ingest_transactions(bill.transactions, source="d.csv", sha256=bill.sha256, origin="bill")
        assert ws.con.execute("SELECT origin, refund_no, amount_fen FROM transactions").fetchall() == [
            ("bill", "2017041121001004070200183979-1", 1200)]
    strict = AlipayNotifyVerifier(AlipayConfig(APP_ID, private_pem(keys[0]), public_pem(keys[1]),
                                               seller_id="2088102179075543"))
    without = {k: v for k, v in payment(notify_id="s1").items() if k != "seller_id"}
    assert strict.verify(signed(without, keys[1]))["amount_fen"].to_pylist() == [1200]
    with pytest.raises(ChannelError, match="seller_id"):
        strict.verify(signed(payment(notify_id="s2", seller_id="2088000000000009"), keys[1]))


def test_late_and_out_of_order_notifications_against_the_bill(verifier, keys, tmp_path):
    """helper-62: (a) the bill bringing an earlier refund restates a later refund's notification (50.00 total → 20.00;
    it stayed 50.00 until the earlier refund's own notification came); (b) a late notification without out_biz_no
    of a refund the bill lists under its number is no second refund; (c) a WAIT_BUYER_PAY resent after the
    TRADE_SUCCESS does not turn the payment back to processing."""
    from alipay_billgen import Row, detail_bytes

    from paymatch.channels.alipay import parse
    from paymatch.workspace import Workspace

    trade = "2017041121001004070200183979"

    def store(ws, params, nid):
        ws.ingest_transactions(verifier.verify(signed(payment(notify_id=nid, **params), keys[1])),
                               source=f"notify:alipay:{nid}", origin="notify")

    def bill(ws, rows, name):
        b = parse(detail_bytes(rows, account="20881021790755430156"), name)
        ws.ingest_transactions(b.transactions, source=name, sha256=b.sha256, origin="bill")

    refund = Row(trade, "20170411145511", biz="退款", order_amt="-30.00", settle="-30.00", refund_no="RF-1",
                 finished="2017-04-12 10:00:00")
    with Workspace(tmp_path / "a.duckdb") as ws:
        store(ws, {"refund_fee": "50.00", "gmt_refund": "2017-04-12 11:00:00.200", "out_biz_no": "RF-2"}, "n2")
        bill(ws, [refund], "d1.csv")
        assert ws.con.execute("SELECT refund_no, amount_fen, origin FROM transactions ORDER BY 1").fetchall() == [
            ("RF-1", 3000, "bill"), ("RF-2", 2000, "notify")]
    with Workspace(tmp_path / "b.duckdb") as ws:
        bill(ws, [refund], "d1.csv")
        store(ws, {"refund_fee": "30.00", "gmt_refund": "2017-04-12 10:00:00.100"}, "late")
        assert ws.con.execute("SELECT refund_no, amount_fen, origin FROM transactions").fetchall() == [
            ("RF-1", 3000, "bill")]
    with Workspace(tmp_path / "c.duckdb") as ws:
        store(ws, {}, "paid")
        store(ws, {"trade_status": "WAIT_BUYER_PAY", "gmt_payment": ""}, "waiting")
        assert ws.con.execute("SELECT status FROM transactions").fetchall() == [("success",)]


@pytest.mark.parametrize("over, named", [
    ({"fund_bill_list": "null"}, "fund_bill_list"),                  # was TypeError: answered 500
    ({"fund_bill_list": "5"}, "fund_bill_list"),                     # was TypeError: answered 500
    ({"fund_bill_list": '{"a": 1}'}, "fund_bill_list"),              # was stored
    ({"gmt_payment": "0001-01-01 00:00:00"}, "gmt_payment"),         # was OverflowError: answered 500
    ({"gmt_payment": "9999-12-31 23:59:59"}, "gmt_payment"),         # was stored
    ({"total_amount": "-5.00"}, "total_amount"),                     # was stored as a payment of -5.00
    ({"total_amount": "１２.00"}, "total_amount"),                   # full-width digits: was stored as 12.00
    ({"receipt_amount": "-1.00"}, "receipt_amount"),
])
def test_a_signed_notification_with_a_bad_value_is_refused_naming_the_field(verifier, keys, over, named):
    """helper-107 (bench/fuzz_notify.py): a validly signed notification with a bad value is refused (ChannelError:
    "failure", quarantined) naming the field, never a 500 or a row stored with it."""
    with pytest.raises(ChannelError, match=named):
        verifier.verify(signed(payment(notify_id="bad-" + named, **over), keys[1]))


def test_an_unreadable_body_is_quarantined(verifier):
    """helper-107: a body that is no form (bytes past ASCII, an unknown charset) was answered "failure" but not
    kept: every other refused notification is quarantined with its reason."""
    kept: list = []
    app = FastAPI()
    app.include_router(make_router(verifier, lambda t: None, lambda body, why: kept.append((body, why))))
    with serve(app) as base:
        assert httpx.post(f"{base}/notify/alipay", content=b"\xff\xfe").text == "failure"
        assert httpx.post(f"{base}/notify/alipay", content=b"charset=klingon&a=1").text == "failure"
    assert [b for b, _ in kept] == [b"\xff\xfe", b"charset=klingon&a=1"]
    assert "unreadable body" in kept[0][1] and "charset" in kept[1][1]
