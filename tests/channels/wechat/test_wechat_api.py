"""Signed bill download against the fake WeChat Pay gateway (real signatures, real gzip, faults)."""

from __future__ import annotations

import datetime as dt

import pytest
from wechat_billgen import fundflow_bill, payment, refund, trade_bill

from paymatch.channels.wechat.bill import parse
from paymatch.errors import ChannelError

DAY = "2026-11-20"


def _serve_all(server) -> bytes:
    plain = trade_bill([payment(1, 10000, coupon_fen=500, fee_fen=60), refund(2, 2500, fee_fen=-15)],
                       bom=True, crlf=True)
    server.bills[("/v3/bill/tradebill", "ALL", DAY)] = plain
    return plain


def test_pull_parse_end_to_end(fake_wechat, wechat_client):
    plain = _serve_all(fake_wechat)
    data = wechat_client().download_bill(dt.date(2026, 11, 20))
    assert data == plain
    bill = parse(data, f"wechat:tradebill:ALL:{DAY}")
    rows = {r["order_no"]: r for r in bill.transactions.to_pylist()}
    assert (rows["ORD000001"]["amount_fen"], rows["ORD000001"]["settle_amount_fen"]) == (10000, 9500)
    assert (rows["ORD000002"]["type"], rows["ORD000002"]["amount_fen"]) == ("refund", 2500)
    assert [s for s, _p, _c in fake_wechat.log] == ["apply", "file"]
    assert fake_wechat.log[0][1] == f"/v3/bill/tradebill?bill_date={DAY}&bill_type=ALL&tar_type=GZIP"


def test_fundflow_download(fake_wechat, wechat_client):
    plain = fundflow_bill([("2026-11-20 10:00:00", "收入", 100, 100)])
    fake_wechat.bills[("/v3/bill/fundflowbill", "BASIC", DAY)] = plain
    assert wechat_client().download_fundflow(DAY) == plain


@pytest.mark.parametrize("faults", [
    {"apply": ["500"]}, {"apply": ["timeout"]}, {"file": ["truncate"]}, {"file": ["500"]},
    {"apply": ["wrong_hash"]}, {"apply": ["500"], "file": ["truncate"]},
])
def test_faults_are_retried(fake_wechat, wechat_client, faults):
    plain = _serve_all(fake_wechat)
    fake_wechat.faults.update(faults)
    assert wechat_client().download_bill(DAY) == plain


def test_persistent_fault_reports_channel_endpoint_date_and_cause(fake_wechat, wechat_client):
    _serve_all(fake_wechat)
    fake_wechat.faults["apply"] = ["wrong_hash"] * 3
    with pytest.raises(ChannelError) as err:
        wechat_client(retries=2).download_bill(DAY)
    msg = str(err.value)
    assert "wechat" in msg and "/v3/bill/tradebill" in msg and DAY in msg
    assert "3 attempt" in msg and "SHA1" in msg
    fake_wechat.faults["file"] = ["truncate"] * 2
    with pytest.raises(ChannelError, match="RemoteProtocolError|ReadError"):
        wechat_client(retries=1).download_bill(DAY)


def test_backoff_is_exponential_and_bounded(fake_wechat, wechat_keys):
    from paymatch.channels.wechat.api import WechatPayClient, WechatPayConfig

    _serve_all(fake_wechat)
    fake_wechat.faults["apply"] = ["500"] * 4
    waits: list[float] = []
    cfg = WechatPayConfig(mchid="1900000109", merchant_serial_no="5157F09EFDC096DE15EBE81A47057A72",
                          merchant_private_key_pem=wechat_keys.merchant_pem,
                          platform_key_pem=wechat_keys.platform_pub_pem, platform_key_id=wechat_keys.platform_id,
                          base_url=fake_wechat.base_url, retries=3, backoff_base=1.0, backoff_max=3.0)
    with WechatPayClient(cfg, sleep=waits.append) as client, pytest.raises(ChannelError, match="HTTP 500"):
        client.download_bill(DAY)
    assert waits == [1.0, 2.0, 3.0]
    assert "merchant_private_key_pem" not in repr(cfg) and "PRIVATE" not in repr(cfg)


@pytest.mark.parametrize("fault,match", [("bad_signature", "signature is invalid"), ("unsigned", "not signed"),
                                         ("stale", "timestamp")])
def test_bad_response_signature_is_rejected(fake_wechat, wechat_client, fault, match):
    _serve_all(fake_wechat)
    fake_wechat.faults["apply"] = [fault]
    with pytest.raises(ChannelError, match=match):
        wechat_client().download_bill(DAY)
    assert [s for s, _p, _c in fake_wechat.log] == ["apply"]  # not retried, file never fetched


def test_wrong_merchant_key_and_missing_bill_are_4xx(fake_wechat, wechat_client, wechat_keys):
    _serve_all(fake_wechat)
    with pytest.raises(ChannelError, match="NO_STATEMENT_EXIST"):
        wechat_client().download_bill("2026-11-21")
    with pytest.raises(ChannelError, match="SIGN_ERROR"):
        wechat_client(merchant_serial_no="DEADBEEF").download_bill(DAY)
    with pytest.raises(ChannelError, match="unknown key"):
        wechat_client(platform_key_id="PUB_KEY_ID_OTHER").download_bill(DAY)
