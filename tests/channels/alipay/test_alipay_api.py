"""Signed bill download against the fake Alipay gateway: real RSA2 both ways, faults, end to end."""

from __future__ import annotations

import datetime as dt

import pytest
from alipay_billgen import bill_zip, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem

from paymatch.channels.alipay import parse_zip
from paymatch.channels.alipay.api import AlipayBillClient, download_bill
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.errors import ChannelError, ConfigError

APP_ID = "2021000000000001"
DAY = "2019-09-16"


@pytest.fixture
def gateway(keys):
    app_key, alipay_key = keys
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {DAY: bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.6) as gw:
        yield gw


def config_for(gw, keys, **kw) -> AlipayConfig:
    app_key, alipay_key = keys
    opts = {"timeout": 0.3, "retries": 2, "backoff": 0.01, **kw}
    return AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gw.gateway_url, **opts)


def test_pull_then_parse_end_to_end(gateway, keys):
    data = AlipayBillClient(config_for(gateway, keys)).download_bill(dt.date(2019, 9, 16))
    assert gateway.requests[0]["method"] == "alipay.data.dataservice.bill.downloadurl.query"
    assert gateway.requests[0]["sign_type"] == "RSA2"
    sent = dt.datetime.strptime(gateway.requests[0]["timestamp"], "%Y-%m-%d %H:%M:%S")
    beijing_now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)
    assert abs((sent - beijing_now).total_seconds()) < 120  # Beijing time, whatever the server's zone
    detail, summary = parse_zip(data, "alipay/2019-09-16.zip")
    rows = detail.transactions.to_pylist()
    assert [(r["type"], r["order_no"], r["amount_fen"], r["fee_fen"], r["method"]) for r in rows] == [
        ("payment", "ORD-1", 10000, 57, "alipay"),
        ("refund", "ORD-1", 3000, -18, "alipay"),
        ("payment", "ORD-2", 2000, 12, "huabei"),
    ]
    assert summary.totals["payment_count"] == 2


def test_transient_faults_are_retried(gateway, keys):
    gateway.query_faults[:] = ["http500", "timeout"]
    gateway.download_faults[:] = ["truncated"]
    sleeps: list[float] = []
    client = AlipayBillClient(config_for(gateway, keys, retries=4), sleep=sleeps.append)
    data = client.download_bill(DAY)
    assert len(parse_zip(data, "z")) == 2
    assert sleeps == [0.01, 0.02, 0.04]  # exponential backoff between the four tries


def test_gives_up_with_channel_error_naming_the_request(gateway, keys):
    gateway.download_faults[:] = ["truncated"] * 3
    with pytest.raises(ChannelError) as err:
        AlipayBillClient(config_for(gateway, keys), sleep=lambda s: None).download_bill(DAY)
    msg = str(err.value)
    assert "alipay" in msg and "downloadurl.query" in msg and "bill_date=2019-09-16" in msg
    assert "damaged" in msg and "3 attempts" in msg


def test_forged_response_signature_is_rejected_at_once(gateway, keys):
    gateway.query_faults[:] = ["bad_signature"]
    with pytest.raises(ChannelError, match="signature does not verify"):
        AlipayBillClient(config_for(gateway, keys), sleep=lambda s: None).download_bill(DAY)
    assert len(gateway.requests) == 1 and gateway.downloads == 0


def test_request_signed_with_wrong_key_is_refused_by_gateway(gateway, keys):
    wrong = (new_key(), keys[1])
    with pytest.raises(ChannelError, match="invalid-signature"):
        download_bill(config_for(gateway, wrong), DAY)
    assert gateway.requests == []


def test_unknown_bill_date_is_a_business_error(gateway, keys):
    with pytest.raises(ChannelError, match="isp.bill_not_exist"):
        AlipayBillClient(config_for(gateway, keys)).download_bill("2019-09-17")
    with pytest.raises(ChannelError, match="neither"):
        AlipayBillClient(config_for(gateway, keys)).download_bill("16/09/2019")


def test_unreadable_gateway_answer_retried_then_reported(gateway, keys):
    gateway.query_faults[:] = ["garbage"] * 3
    with pytest.raises(ChannelError, match="unreadable JSON"):
        AlipayBillClient(config_for(gateway, keys), sleep=lambda s: None).download_bill(DAY)


def test_config_keys_from_files_and_env(tmp_path, keys, monkeypatch):
    app_key, alipay_key = keys
    (tmp_path / "app.pem").write_text(private_pem(app_key))
    (tmp_path / "ali.pem").write_text(public_pem(alipay_key))
    cfg = AlipayConfig.from_files(APP_ID, tmp_path / "app.pem", tmp_path / "ali.pem")
    assert "PRIVATE" not in repr(cfg) and cfg.gateway_url.startswith("https://openapi.alipay.com")
    with pytest.raises(ConfigError, match="missing.pem"):
        AlipayConfig.from_files(APP_ID, tmp_path / "missing.pem", tmp_path / "ali.pem")
    monkeypatch.setenv("PAYMATCH_ALIPAY_APP_ID", APP_ID)
    monkeypatch.setenv("PAYMATCH_ALIPAY_APP_PRIVATE_KEY_FILE", str(tmp_path / "app.pem"))
    monkeypatch.setenv("PAYMATCH_ALIPAY_ALIPAY_PUBLIC_KEY", public_pem(alipay_key))
    assert AlipayConfig.from_env().app_private_key_pem == cfg.app_private_key_pem
