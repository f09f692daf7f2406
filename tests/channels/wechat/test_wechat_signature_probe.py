"""WeChat Pay's signature probes: "微信支付会在极少数应答或通知回调中生成错误签名，以探测商户系统是否正确地验证了签名"
(developers.weixin.qq.com, 回调签名验证失败排查指引, 情况四). A probe must fail verification; it is routine traffic.

Before: a probe on the bill API's answer failed the whole download at once (not retried: "response signature is
invalid", the bill quarantined, exit 2) though asking again gets a genuinely signed answer; a probe notification was
quarantined and logged as a forgery for a person to look at.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_wechat_api import _serve_all
from wechat_notifygen import notification, payment_resource

from paymatch.channels.wechat.notify import SignatureProbe, WechatNotifyVerifier
from paymatch.errors import ChannelError
from paymatch.web.notify_wechat import make_router

NOW = 1_795_000_000
DAY = dt.date(2026, 11, 20)


def test_a_probed_answer_is_refused_and_asked_again(fake_wechat, wechat_client):
    _serve_all(fake_wechat)
    fake_wechat.probe_next = 1
    data = wechat_client().download_bill(DAY)
    assert data == fake_wechat.bills[("/v3/bill/tradebill", "ALL", str(DAY))]
    assert [s for s, _p, _c in fake_wechat.log] == ["apply", "apply", "file"]


def test_probes_on_every_answer_end_in_a_named_failure(fake_wechat, wechat_client):
    _serve_all(fake_wechat)
    fake_wechat.probe_next = 99
    with pytest.raises(ChannelError, match="signature probe"):
        wechat_client().download_bill(DAY)
    assert "file" not in [s for s, _p, _c in fake_wechat.log]  # a probed answer's download_url is never used


def test_a_probe_notification_is_refused_but_not_quarantined(wechat_keys):
    stored, rejected = [], []
    v = WechatNotifyVerifier({wechat_keys.platform_id: wechat_keys.platform_pub_pem}, wechat_keys.apiv3_key,
                             clock=lambda: NOW)
    api = FastAPI()
    api.include_router(make_router(v, stored.append, lambda body, reason: rejected.append(reason)))
    headers, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-P")
    probe = {**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + headers["Wechatpay-Signature"]}
    with pytest.raises(SignatureProbe):
        v.verify(probe, body)
    with TestClient(api) as client:
        r = client.post("/notify/wechat", content=body, headers=probe)
        assert r.status_code == 401 and r.json()["code"] == "FAIL" and "probe" in r.json()["message"]
        assert stored == [] and rejected == []
        # the genuine delivery of that notification is then taken; a forgery is still kept aside
        assert client.post("/notify/wechat", content=body, headers=headers).status_code == 204
        forged = {**headers, "Wechatpay-Signature": headers["Wechatpay-Signature"][::-1]}
        assert client.post("/notify/wechat", content=body, headers=forged).status_code == 401
    assert len(stored) == 1 and len(rejected) == 1
