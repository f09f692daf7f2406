"""POST /notify/wechat through FastAPI's TestClient: answers as WeChat expects."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from wechat_notifygen import notification, payment_resource, refund_resource, signed_headers

from paymatch.channels.wechat.notify import WechatNotifyVerifier
from paymatch.web.notify_wechat import make_router

NOW = 1_795_000_000


@pytest.fixture
def app(wechat_keys):
    stored = []
    state = {"fail": False}

    def on_tx(table):
        if state["fail"]:
            raise RuntimeError("database down")
        stored.append(table)

    v = WechatNotifyVerifier({wechat_keys.platform_id: wechat_keys.platform_pub_pem}, wechat_keys.apiv3_key,
                             clock=lambda: NOW)
    api = FastAPI()
    api.include_router(make_router(v, on_tx))
    with TestClient(api) as client:
        yield client, stored, state


def test_success_then_resend_is_confirmed_once(wechat_keys, app):
    client, stored, _ = app
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
    r = client.post("/notify/wechat", content=body, headers=headers)
    assert r.status_code == 204 and r.content == b""
    assert len(stored) == 1 and stored[0].column("order_no").to_pylist() == ["ORD000001"]
    # WeChat resends the same id under a new nonce: confirmed, not stored twice
    r = client.post("/notify/wechat", content=body, headers=signed_headers(wechat_keys, body, ts=NOW))
    assert r.status_code == 204 and len(stored) == 1
    # exact replay of the captured request: rejected
    r = client.post("/notify/wechat", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["code"] == "FAIL"


def test_forged_and_expired_get_fail(wechat_keys, app):
    client, stored, _ = app
    headers, body = notification(wechat_keys, "REFUND.SUCCESS", refund_resource(), ts=NOW)
    r = client.post("/notify/wechat", content=body.replace(b"REFUND.SUCCESS", b"REFUND.CLOSED"), headers=headers)
    assert r.status_code == 401 and r.json() == {"code": "FAIL", "message": r.json()["message"]}
    assert "signature" in r.json()["message"]
    headers, body = notification(wechat_keys, "REFUND.SUCCESS", refund_resource(), ts=NOW - 3600)
    r = client.post("/notify/wechat", content=body, headers=headers)
    assert r.status_code == 401 and "timestamp" in r.json()["message"]
    assert stored == []


def test_store_failure_gives_500_and_resend_succeeds(wechat_keys, app):
    client, stored, state = app
    headers, body = notification(wechat_keys, "REFUND.SUCCESS", refund_resource(), ts=NOW, nid="EV-R")
    state["fail"] = True
    r = client.post("/notify/wechat", content=body, headers=headers)
    assert r.status_code == 500 and r.json()["code"] == "FAIL"
    state["fail"] = False
    r = client.post("/notify/wechat", content=body, headers=signed_headers(wechat_keys, body, ts=NOW))
    assert r.status_code == 204
    assert stored[0].column("type").to_pylist() == ["refund"]


def test_a_signed_body_that_is_no_notification_json_is_401(wechat_keys, app):
    # as the README says: WeChat signed it, but it is no JSON object (401 as a failed check, not 400), nothing stored
    client, stored, _ = app
    for body in (b"not json", b"[1, 2]"):
        r = client.post("/notify/wechat", content=body, headers=signed_headers(wechat_keys, body, ts=NOW))
        assert r.status_code == 401 and "not a notification JSON object" in r.json()["message"], r.text
    assert stored == []
