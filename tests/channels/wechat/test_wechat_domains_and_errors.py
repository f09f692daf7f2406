"""Two smaller WeChat Pay API v3 rules, against the fake gateway (real signatures): download URLs on WeChat's other
API domain, and 4xx answers, which WeChat signs too when it accepted the request's signature."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner
from wechat_billgen import payment, trade_bill

from paymatch.channels.wechat.api import WechatPayClient, WechatPayConfig
from paymatch.cli import app
from paymatch.errors import ChannelError, NoBillThatDay
from paymatch.workspace import Workspace

DAY = "2026-11-20"


class _ToLocal(httpx.BaseTransport):
    """Sends every request to the fake gateway on 127.0.0.1 whatever host its URL names (the Host header keeps the
    name: the fake records it), so a client configured for https://api2.mch.weixin.qq.com talks to the fake."""

    def __init__(self, port: int):
        self.port, self.inner = port, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return self.inner.handle_request(httpx.Request(request.method, url, headers=request.headers,
                                                       content=request.read()))

    def close(self) -> None:
        self.inner.close()


def _client(keys, fake, base_url: str) -> WechatPayClient:
    cfg = WechatPayConfig(mchid="1900000109", merchant_serial_no="5157F09EFDC096DE15EBE81A47057A72",
                          merchant_private_key_pem=keys.merchant_pem, platform_key_pem=keys.platform_pub_pem,
                          platform_key_id=keys.platform_id, base_url=base_url, timeout=1.0, retries=0)
    return WechatPayClient(cfg, transport=_ToLocal(fake.server_address[1]))


@pytest.mark.parametrize("base,files", [("https://api2.mch.weixin.qq.com", "https://api.mch.weixin.qq.com"),
                                        ("https://api.mch.weixin.qq.com", "https://api2.mch.weixin.qq.com")])
def test_download_url_on_wechats_other_domain_is_followed(wechat_keys, fake_wechat, base, files):
    """A merchant on the backup domain (备域名) was refused every bill: its download_url is on the main domain."""
    plain = trade_bill([payment(1, 1000)])
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", DAY)] = plain
    fake_wechat.download_origin = files
    with _client(wechat_keys, fake_wechat, base) as client:
        assert client.download_bill(DAY) == plain
    assert fake_wechat.hosts == [base.split("//")[1], files.split("//")[1]]
    assert [(s, c) for s, _p, c in fake_wechat.log] == [("apply", 200), ("file", 200)]  # the signed request passed


@pytest.mark.parametrize("files", ["https://api.mch.weixin.qq.com.evil.example", "http://api.mch.weixin.qq.com",
                                   "https://evil.example", "https://api.mch.weixin.qq.com:8443"])
def test_download_url_elsewhere_is_still_refused(wechat_keys, fake_wechat, files):
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", DAY)] = trade_bill([payment(1, 1000)])
    fake_wechat.download_origin = files
    with _client(wechat_keys, fake_wechat, "https://api2.mch.weixin.qq.com") as client, \
            pytest.raises(ChannelError, match="is not on https://api2.mch.weixin.qq.com"):
        client.download_bill(DAY)
    assert len(fake_wechat.hosts) == 1  # the Authorization header never went there


@pytest.mark.parametrize("fault,match", [("bad_signature", "signature is invalid"),
                                         ("unsigned", "not signed: not taken as 'no bill for that day'")])
def test_forged_or_stripped_no_bill_answer_is_a_failure(fake_wechat, wechat_client, fault, match):
    """A 400 NO_STATEMENT_EXIST was believed unverified: a forged one made pull say "no bill" and exit 0, the day's
    bill never pulled. WeChat signs it (the request's signature was good), so it is verified now."""
    fake_wechat.faults["apply"] = [fault]
    with pytest.raises(ChannelError, match=match) as err:
        wechat_client().download_bill(DAY)
    assert not isinstance(err.value, NoBillThatDay)


def test_genuine_no_bill_answer_and_probe_on_it(fake_wechat, wechat_client):
    with pytest.raises(NoBillThatDay):
        wechat_client().download_bill(DAY)
    fake_wechat.probe_next = 1  # WeChat's signature probe on the 4xx: refused, asked again
    with pytest.raises(NoBillThatDay):
        wechat_client().download_bill(DAY)
    assert [c for _s, _p, c in fake_wechat.log] == [400, 400, 400]


def test_pull_reports_forged_no_bill_as_failed(tmp_path, wechat_keys, fake_wechat):
    from test_pull_e2e import _config

    fake_wechat.faults["apply"] = ["bad_signature"]
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    w = tmp_path / "w.duckdb"
    r = CliRunner().invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--all"])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    assert "tradebill failed" in out and "signature is invalid" in out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
