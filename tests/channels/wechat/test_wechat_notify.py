"""WeChat notification verification/decryption: the official SDK vector and our own signed ones."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from wechat_notifygen import notification, payment_resource, refund_resource, signed_headers

from paymatch.channels.wechat.notify import (
    NotificationRejected, NotificationReplayed, WechatNotifyVerifier, to_transactions,
)
from paymatch.channels.wechat.keys import certificate_serial
from paymatch.schema import TRANSACTION_ARROW

NOW = 1_795_000_000  # a fixed "now" for the injected clock


def _verifier(keys, now=NOW, **kw):
    return WechatNotifyVerifier({keys.platform_id: keys.platform_pub_pem}, keys.apiv3_key,
                                clock=lambda: now, **kw)


def test_official_vector(wechat_sample):
    vec = json.loads(wechat_sample("wechatpay-go_notify_vector_payscore.json"))
    serial = vec["headers"]["Wechatpay-Serial"]
    assert certificate_serial(vec["wechatpay_certificate_pem"]) == serial
    ts = int(vec["headers"]["Wechatpay-Timestamp"])
    v = WechatNotifyVerifier({serial: vec["wechatpay_certificate_pem"]}, vec["apiv3_key"], clock=lambda: ts + 10)
    n = v.verify(vec["headers"], vec["body"].encode())
    assert n.id == "3119dfba-e649-5eec-ab1e-3412bc4d2e17" and n.event_type == "PAYSCORE.USER_OPEN_SERVICE"
    assert n.resource == json.loads(vec["expected_plaintext"])
    assert to_transactions(n).num_rows == 0  # a verified event that carries no transaction
    with pytest.raises(NotificationReplayed):
        v.verify(vec["headers"], vec["body"].encode())
    stale = WechatNotifyVerifier({serial: vec["wechatpay_certificate_pem"]}, vec["apiv3_key"])  # real clock
    with pytest.raises(NotificationRejected, match="timestamp"):
        stale.verify(vec["headers"], vec["body"].encode())
    forged = dict(vec["headers"], **{"Wechatpay-Nonce": "x" + vec["headers"]["Wechatpay-Nonce"][1:]})
    with pytest.raises(NotificationRejected, match="signature"):
        WechatNotifyVerifier({serial: vec["wechatpay_certificate_pem"]}, vec["apiv3_key"],
                             clock=lambda: ts).verify(forged, vec["body"])


def test_payment_notification_to_canonical_row(wechat_keys):
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-PAY")
    n = _verifier(wechat_keys).verify(headers, body)
    table = to_transactions(n)
    assert table.schema == TRANSACTION_ARROW
    (row,) = table.to_pylist()
    assert row["channel"] == "wechat" and row["type"] == "payment" and row["status"] == "success"
    assert (row["order_no"], row["channel_tx_id"], row["merchant_id"]) == (
        "ORD000001", "4200000000000000000000000001", "1900000109")
    assert (row["amount_fen"], row["settle_amount_fen"], row["fee_fen"]) == (10000, 9500, None)
    assert row["occurred_at"] == dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
    assert row["bill_date"] == dt.date(2026, 11, 20)
    assert (row["src_file"], row["src_line"]) == ("notify:wechat:EV-PAY", None)


@pytest.mark.parametrize("event,status", [("REFUND.SUCCESS", "success"), ("REFUND.ABNORMAL", "failed"),
                                          ("REFUND.CLOSED", "failed")])
def test_refund_notifications(wechat_keys, event, status):
    res = refund_resource(refund_status=event.split(".")[1], sub_mchid="1900000999")
    headers, body = notification(wechat_keys, event, res, ts=NOW)
    (row,) = to_transactions(_verifier(wechat_keys).verify(headers, body)).to_pylist()
    assert (row["type"], row["status"], row["amount_fen"], row["refund_no"], row["channel_refund_id"]) == (
        "refund", status, 2500, "RF000001", "50300000000000000000000001")
    assert row["merchant_id"] == "1900000999"


def test_forged_tampered_expired_replayed_are_rejected(wechat_keys):
    from cryptography.hazmat.primitives.asymmetric import rsa

    v = _verifier(wechat_keys)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, key=other)
    with pytest.raises(NotificationRejected, match="signature"):
        v.verify(headers, body)
    # tampered ciphertext, re-signed (as if by someone holding the platform key but not the APIv3 key)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-T")
    doc = json.loads(body)
    ct = doc["resource"]["ciphertext"]
    doc["resource"]["ciphertext"] = ("A" if ct[0] != "A" else "B") + ct[1:]
    body2 = json.dumps(doc).encode()
    with pytest.raises(NotificationRejected, match="decrypt") as err:
        v.verify(signed_headers(wechat_keys, body2, ts=NOW), body2)
    assert err.value.notification_id == "EV-T"
    # tampered body, old signature
    with pytest.raises(NotificationRejected, match="signature"):
        v.verify(headers, body.replace(b"EV-T", b"EV-X"))
    # expired / from the future
    for ts in (NOW - 301, NOW + 301):
        h, b = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=ts)
        with pytest.raises(NotificationRejected, match="timestamp"):
            v.verify(h, b)
    # the genuine one passes (the failed tampered attempt left no replay mark), then replays fail
    n = v.verify(headers, body)
    with pytest.raises(NotificationReplayed) as err:
        v.verify(headers, body)
    assert not err.value.same_id
    h2 = signed_headers(wechat_keys, body, ts=NOW)  # WeChat's resend: same id, new nonce
    with pytest.raises(NotificationReplayed) as err:
        v.verify(h2, body)
    assert err.value.same_id
    v.forget(n)  # handling failed: WeChat's next resend (fresh nonce again) must get through
    assert v.verify(signed_headers(wechat_keys, body, ts=NOW), body).id == "EV-T"


def test_unknown_serial_missing_headers_bad_amount(wechat_keys):
    v = _verifier(wechat_keys)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS",
                                 payment_resource(amount={"total": 100.5}), ts=NOW, nid="EV-F")
    with pytest.raises(NotificationRejected, match="serial"):
        v.verify(dict(headers, **{"Wechatpay-Serial": "OTHER"}), body)
    with pytest.raises(NotificationRejected, match="header missing"):
        v.verify({k: x for k, x in headers.items() if k != "Wechatpay-Signature"}, body)
    n = v.verify({k.lower(): x for k, x in headers.items()}, body)  # header names are case-insensitive
    with pytest.raises(NotificationRejected, match="integer fen"):
        to_transactions(n)


def test_a_resend_is_answered_as_taken_only_once_the_first_delivery_is_stored(wechat_keys):
    """helper-62: a resend (same id, fresh nonce) was answered 204 while the first delivery still waited for the
    workspace; that one then failed, and WeChat, told 204, never sent it again."""
    v = _verifier(wechat_keys)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-R")
    first = v.verify(headers, body)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-R")
    with pytest.raises(NotificationReplayed) as err:
        v.verify(headers, body)
    assert err.value.same_id and not err.value.stored
    v.stored(first)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-R")
    with pytest.raises(NotificationReplayed) as err:
        v.verify(headers, body)
    assert err.value.same_id and err.value.stored


@pytest.mark.parametrize("over, named", [
    ({"amount": {"total": 2 ** 70, "currency": "CNY"}}, "amount.total"),        # was OverflowError: answered 500
    ({"success_time": "0001-01-01T00:00:00+08:00"}, "success_time"),           # was OverflowError: answered 500
    ({"success_time": "9999-12-31T23:59:59-08:00"}, "success_time"),           # was OverflowError: answered 500
    ({"success_time": "1970-01-01T08:00:00+08:00"}, "outside the years"),      # was stored
    ({"amount": {"total": -5, "currency": "CNY"}}, "amount.total"),            # was stored as a payment of -0.05
    ({"amount": {"total": 100, "currency": "USD"}}, "amount.currency"),        # was stored as 1.00 yuan
    ({"trade_state": "NOPE"}, "trade_state"),                                  # was stored as failed
    ({"transaction_id": None}, "transaction_id"),                              # was stored without an id
    ({"success_time": "2026-02-30T10:00:00+08:00"}, "success_time"),           # was named only by Python's words
    ({"amount": "100.00"}, "amount"),
    ({"promotion_detail": 5}, "promotion_detail"),                             # was TypeError: answered 500
    ({"promotion_detail": {"type": "NOCASH", "amount": 50}}, "promotion_detail"),  # was read as no promotion
    ({"mchid": None}, "mchid"),
])
def test_a_signed_notification_with_a_bad_value_is_refused_naming_the_field(wechat_keys, over, named):
    """helper-107 (bench/fuzz_notify.py): a validly signed notification whose resource holds a bad value is refused
    (400, nothing stored) with the field named, never a 500 or a row stored with the bad value."""
    v = _verifier(wechat_keys)
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(**over), ts=NOW, nid="EV-B")
    n = v.verify(headers, body)
    with pytest.raises(NotificationRejected, match=named.replace(".", r"\.")):
        to_transactions(n)
