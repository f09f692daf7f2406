"""Alipay's legacy sign_type RSA (SHA1withRSA, the 1024-bit keys of apps made before 2018): notifications and API
answers of an app configured ``sign_type = "RSA"`` verify; an RSA2 app takes no SHA1-signed message (a downgrade).

Real keys both ways: the notifications go to ``paymatch serve``'s app on 127.0.0.1 (uvicorn, a real workspace),
the bill download to the fake gateway, which checks the request's SHA1 signature as Alipay does."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import httpx
import pytest
from alipay_billgen import bill_zip, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem, rsa2_sign
from loopback import serve

from paymatch.accounts import accounts
from paymatch.channels.alipay import parse_zip
from paymatch.channels.alipay.api import AlipayBillClient
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.channels.alipay.notify import AlipayNotifyVerifier
from paymatch.config import load_config
from paymatch.errors import ChannelError, ConfigError
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

APP_ID = "2016072300100200"
DAY = "2019-09-16"


@pytest.fixture(scope="module")
def legacy_keys():
    """(the app's, 'Alipay''s) 1024-bit key pairs: an RSA (SHA1) app's keys are 1024-bit."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return tuple(rsa.generate_private_key(public_exponent=65537, key_size=1024) for _ in range(2))


def notification(key, sign_type: str = "RSA", *, claimed: str | None = None, charset: str = "utf-8", **over) -> dict:
    """A trade_status_sync notification signed as Alipay does: the sorted k=v pairs without sign and sign_type, in
    the notification's charset, SHA1withRSA (RSA) or SHA256withRSA (RSA2); ``claimed``: the sign_type it names."""
    body = {"notify_id": "legacy-1", "notify_type": "trade_status_sync", "notify_time": "2019-09-16 10:55:30",
            "app_id": APP_ID, "charset": charset, "version": "1.0", "trade_no": "2019091622001458861000000001",
            "out_trade_no": "ORD-1", "seller_id": "2088021109625633", "trade_status": "TRADE_SUCCESS",
            "total_amount": "100.00", "receipt_amount": "100.00", "gmt_create": "2019-09-16 10:55:16",
            "gmt_payment": "2019-09-16 10:55:23", "subject": "测试商品：双人套餐", **over}
    text = "&".join(f"{k}={v}" for k, v in sorted(body.items()))
    return {**body, "sign_type": claimed or sign_type, "sign": rsa2_sign(key, text, sign_type, charset)}


def config(keys, **kw) -> AlipayConfig:
    return AlipayConfig(APP_ID, private_pem(keys[0]), public_pem(keys[1]), **kw)


def test_an_rsa_app_takes_sha1_notifications_and_only_those(legacy_keys):
    """sign_type = "RSA": a SHA1withRSA notification verifies (UTF-8 and GBK); tampered, signed with another key or
    signed RSA2 it is refused. Before, every sign_type but RSA2 was refused: an older app's notifications never
    verified (and AlipayConfig had no sign_type)."""
    v = AlipayNotifyVerifier(config(legacy_keys, sign_type="RSA"))
    row = v.verify(notification(legacy_keys[1])).to_pylist()[0]
    assert (row["order_no"], row["amount_fen"], row["status"]) == ("ORD-1", 10000, "success")
    assert v.verify(notification(legacy_keys[1], notify_id="gbk-1", charset="gbk")).num_rows == 1
    with pytest.raises(ChannelError, match=r"signature does not verify with the Alipay public key \(RSA\)"):
        v.verify({**notification(legacy_keys[1], notify_id="t-1"), "total_amount": "1000.00"})
    with pytest.raises(ChannelError, match="signature does not verify"):
        v.verify(notification(new_key(), notify_id="t-2"))
    with pytest.raises(ChannelError, match="sign_type 'RSA2' is not the sign_type app 2016072300100200 is "
                                           r"configured with \(RSA\)"):
        v.verify(notification(legacy_keys[1], "RSA2", notify_id="t-3"))
    with pytest.raises(ChannelError, match="signature does not verify"):  # SHA256 naming itself RSA
        v.verify(notification(legacy_keys[1], "RSA2", claimed="RSA", notify_id="t-4"))


def test_an_rsa2_app_takes_no_sha1_notification(keys):
    """The downgrade: a notification signed SHA1withRSA with Alipay's own key, to an RSA2 app (the default), is
    refused whatever sign_type it names or leaves out: the algorithm is the configured one, never the message's."""
    v = AlipayNotifyVerifier(config(keys))
    with pytest.raises(ChannelError, match="sign_type 'RSA' is not the sign_type app .* configured with .RSA2."):
        v.verify(notification(keys[1], "RSA"))
    with pytest.raises(ChannelError, match=r"signature does not verify with the Alipay public key \(RSA2\)"):
        v.verify(notification(keys[1], "RSA", claimed="RSA2"))
    unnamed = {k: v for k, v in notification(keys[1], "RSA").items() if k != "sign_type"}
    with pytest.raises(ChannelError, match="signature does not verify"):
        v.verify(unnamed)
    assert v.verify(notification(keys[1], "RSA2")).num_rows == 1  # the app's own RSA2 one is taken


def test_sign_type_in_the_config(tmp_path, keys):
    """``sign_type = "RSA"`` in [channels.alipay] reaches the account; other values, and RSA in certificate mode
    (公钥证书 is RSA2 only), are refused naming the section; two sections of one third-party app must agree."""
    (tmp_path / "app.pem").write_text(private_pem(keys[0]))
    (tmp_path / "alipay.pem").write_text(public_pem(keys[1]))

    def acct(extra: str):
        (tmp_path / "c.toml").write_text(f'[channels.alipay]\napp_id = "{APP_ID}"\napp_private_key_file = "app.pem"\n'
                                         f'alipay_public_key_file = "alipay.pem"\n{extra}', encoding="utf-8")
        return accounts(load_config(tmp_path / "c.toml"), tmp_path)

    assert acct("")[0].config.sign_type == "RSA2"
    assert acct('sign_type = "RSA"\n')[0].config.sign_type == "RSA"
    with pytest.raises(ConfigError, match=r"channels.alipay: alipay app .*: sign_type must be one of \['RSA2', "
                                          r"'RSA'\] .* got 'SHA1'"):
        acct('sign_type = "SHA1"\n')
    with pytest.raises(ConfigError, match="certificate mode .* RSA2 only, not sign_type 'RSA'"):
        AlipayConfig(APP_ID, private_pem(keys[0]), "", app_cert_pem="x", alipay_cert_pem="y",
                     alipay_root_cert_pem="z", sign_type="RSA")
    with pytest.raises(ConfigError, match="configured twice"):
        AlipayNotifyVerifier([config(keys, app_auth_token="t1", seller_id="2088000000000001"),
                              config(keys, app_auth_token="t2", seller_id="2088000000000002", sign_type="RSA")])


@pytest.fixture
def served(tmp_path, legacy_keys):
    """``paymatch serve``'s app for an RSA app (config file with sign_type = "RSA") on 127.0.0.1; yields (url,
    workspace path)."""
    (tmp_path / "app.pem").write_text(private_pem(legacy_keys[0]))
    (tmp_path / "alipay.pem").write_text(public_pem(legacy_keys[1]))
    (tmp_path / "c.toml").write_text(f'[channels.alipay]\napp_id = "{APP_ID}"\napp_private_key_file = "app.pem"\n'
                                     'alipay_public_key_file = "alipay.pem"\nsign_type = "RSA"\n', encoding="utf-8")
    w = tmp_path / "w.duckdb"
    Workspace(w).close()
    app = create_app(w, load_config(tmp_path / "c.toml"), tmp_path)
    with serve(app) as base:
        yield f"{base}/notify/alipay", w


def post(url: str, params: dict) -> str:
    body = urllib.parse.urlencode(params, encoding=params.get("charset", "utf-8"))
    return httpx.post(url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}).text


def test_serve_stores_an_rsa_apps_notification_and_quarantines_the_rest(served, legacy_keys):
    url, w = served
    assert post(url, notification(legacy_keys[1])) == "success"
    gbk = notification(legacy_keys[1], notify_id="gbk-1", charset="gbk", out_trade_no="ORD-2",
                       trade_no="2019091622001458861000000002")
    assert post(url, gbk) == "success"
    tampered = {**notification(legacy_keys[1], notify_id="t-1", out_trade_no="ORD-3"), "total_amount": "1.00"}
    assert post(url, tampered) == "failure"
    assert post(url, notification(legacy_keys[1], "RSA2", notify_id="t-2", out_trade_no="ORD-4")) == "failure"
    with Workspace(w) as ws:
        stored = ws.con.execute("SELECT order_no, amount_fen FROM transactions ORDER BY order_no").fetchall()
        kept = [r[0] for r in ws.con.execute("SELECT reason FROM quarantine ORDER BY reason").fetchall()]
    assert stored == [("ORD-1", 10000), ("ORD-2", 10000)]
    assert len(kept) == 2 and "signature does not verify" in kept[0] and "sign_type 'RSA2'" in kept[1]


def test_an_rsa_app_pulls_its_bill_with_sha1_both_ways(legacy_keys, keys):
    """The request is signed SHA1withRSA with sign_type=RSA (the gateway checks it with the app's key) and the
    answer, signed so by Alipay, verifies; before, an RSA app's request was signed RSA2 and refused by Alipay."""
    with FakeAlipayGateway(legacy_keys[0].public_key(), legacy_keys[1], {DAY: bill_zip(sample_rows())},
                           app_id=APP_ID, sign_type="RSA") as gw:
        data = AlipayBillClient(config(legacy_keys, sign_type="RSA", gateway_url=gw.gateway_url)).download_bill(DAY)
        assert gw.requests[0]["sign_type"] == "RSA"
        assert [b.kind for b in parse_zip(data, "z.zip")] == ["alipay_detail", "alipay_summary"]
        rsa2 = AlipayBillClient(config(legacy_keys, gateway_url=gw.gateway_url, retries=0))
        with pytest.raises(ChannelError, match="isv.missing-signature-config") as err:  # as Alipay refuses it
            rsa2.download_bill(dt.date(2019, 9, 16))
        assert "has no key for sign_type RSA2 on the open platform: set the account's sign_type" in str(err.value)


def test_an_rsa2_app_takes_no_sha1_signed_answer(keys):
    """An answer signed with Alipay's own key but SHA1withRSA, to an RSA2 app, is refused as a forged signature
    (not retried)."""
    with FakeAlipayGateway(keys[0].public_key(), keys[1], {DAY: bill_zip(sample_rows())}, app_id=APP_ID) as gw:
        gw.query_faults[:] = ["sha1_signature"]
        client = AlipayBillClient(config(keys, gateway_url=gw.gateway_url, retries=2, backoff=0.01))
        with pytest.raises(ChannelError, match="response signature does not verify"):
            client.download_bill(DAY)
        assert len(gw.requests) == 1
