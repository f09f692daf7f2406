"""A third-party Alipay app (第三方应用授权) pulling the bills of merchants that authorised it: each account names
the merchant's app_auth_token (a signed common request parameter) and PID; against the fake gateway (real RSA2)."""

from __future__ import annotations

import re

import pytest
from alipay_billgen import Row, bill_zip, sample_rows
from fake_gateway import FakeAlipayGateway, private_pem, public_pem
from typer.testing import CliRunner

from paymatch.channels.alipay.api import AlipayBillClient
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.cli import app
from paymatch.errors import ChannelError, ConfigError
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"
DAY = "2019-09-16"
PID_1, PID_2 = "2088000000000011", "2088000000000022"
TOKEN_1, TOKEN_2 = "201909BBf9c9781043854fe58c25b4b378350A11", "201909BBf9c9781043854fe58c25b4b378350A22"


@pytest.fixture
def gateway(keys):
    app_key, alipay_key = keys
    other = [Row("2019091622001458860599999999", "ORD-9", order_amt="9.00", settle="9.00", fee="-0.05")]
    own = [Row("2019091622001458860511111111", "ORD-7", order_amt="7.00", settle="7.00", fee="-0.04")]
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {DAY: bill_zip(own)}, app_id=APP_ID,
                           stall=0.5) as gw:
        gw.auth_tokens = {TOKEN_1: PID_1, TOKEN_2: PID_2}
        # each merchant's bill names its account: the PID and Alipay's 4-digit suffix
        gw.merchant_zips = {(PID_1, DAY): bill_zip(sample_rows(), account=PID_1 + "0156"),
                            (PID_2, DAY): bill_zip(other, account=PID_2 + "0156")}
        yield gw


def test_request_carries_the_token_and_gets_the_merchants_bill(gateway, keys):
    app_key, alipay_key = keys
    cfg = AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gateway.gateway_url,
                       timeout=1.0, retries=0, app_auth_token=TOKEN_1, seller_id=PID_1)
    assert AlipayBillClient(cfg).download_bill(DAY) == gateway.merchant_zips[(PID_1, DAY)]
    assert gateway.requests[-1]["app_auth_token"] == TOKEN_1  # verified by the gateway as part of the signed string
    assert TOKEN_1 not in repr(cfg)


def test_revoked_token_is_an_error_saying_what_to_do(gateway, keys):
    app_key, alipay_key = keys
    cfg = AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gateway.gateway_url,
                       timeout=1.0, retries=0, app_auth_token="201909BBrevoked", seller_id=PID_1)
    with pytest.raises(ChannelError) as err:
        AlipayBillClient(cfg).download_bill(DAY)
    msg = str(err.value)
    assert "aop.invalid-app-auth-token" in msg and f"merchant {PID_1}" in msg and "app_auth_token_file" in msg


def test_a_token_without_the_bill_api_says_to_authorise_it_not_to_replace_it(gateway, keys):
    app_key, alipay_key = keys
    gateway.tokens_without_bill_api.add(TOKEN_2)
    cfg = AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gateway.gateway_url,
                       timeout=1.0, retries=0, app_auth_token=TOKEN_2, seller_id=PID_2)
    with pytest.raises(ChannelError) as err:
        AlipayBillClient(cfg).download_bill(DAY)
    msg = str(err.value)
    assert "aop.invalid-app-auth-token-no-api" in msg and "must authorise" in msg and "revoked" not in msg


def test_token_needs_the_merchants_pid(keys):
    app_key, alipay_key = keys
    with pytest.raises(ConfigError, match="app_auth_token needs seller_id"):
        AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), app_auth_token=TOKEN_1)
    with pytest.raises(ConfigError, match="app_auth_token is not a token"):
        AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), app_auth_token="20 19", seller_id=PID_1)


def _config(tmp_path, keys, gw, *accounts: list[str]) -> str:
    app_key, alipay_key = keys
    (tmp_path / "app.pem").write_text(private_pem(app_key))
    (tmp_path / "alipay.pem").write_text(public_pem(alipay_key))
    lines = []
    for extra in accounts:
        lines += ["[[channels.alipay]]", f'app_id = "{APP_ID}"', 'app_private_key_file = "app.pem"',
                  'alipay_public_key_file = "alipay.pem"', f'gateway_url = "{gw.gateway_url}"', "timeout = 1.0",
                  "retries = 0", *extra]
    cfg = tmp_path / "rules.toml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(cfg)


def test_pull_each_authorising_merchant_under_its_pid(tmp_path, keys, gateway, monkeypatch):
    (tmp_path / "token1").write_text(TOKEN_1 + "\n")
    monkeypatch.setenv("SHOP2_ALIPAY_TOKEN", TOKEN_2)
    cfg = _config(tmp_path, keys, gateway, [],
                  ['app_auth_token_file = "token1"', f'seller_id = "{PID_1}"'],
                  ['app_auth_token_env = "SHOP2_ALIPAY_TOKEN"', f'seller_id = "{PID_2}"'])
    w = str(tmp_path / "w.duckdb")
    r = CliRunner().invoke(app, ["pull", "--workspace", w, "--config", cfg, "--date", DAY, "--channel", "alipay"])
    assert r.exit_code == 0, r.output
    out = [" ".join(line.split()) for line in r.output.splitlines()]
    assert f"alipay {APP_ID} alipay_detail 1 rows stored" in out, out  # the app owner's own bill, no token
    assert f"alipay {PID_1} alipay_detail 3 rows stored" in out and f"alipay {PID_2} alipay_detail 1 rows stored" in out
    assert [p.get("app_auth_token") for p in gateway.requests] == [None, TOKEN_1, TOKEN_2]
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), count(DISTINCT order_no) FROM transactions").fetchone() == (5, 4)


def test_another_merchants_bill_behind_a_merchants_token_is_quarantined(tmp_path, keys, gateway):
    """PID_1's token answered with PID_2's bill (its '#账号' names PID_2) was stored as PID_1's: PID_2's payments among
    PID_1's orders, PID_1's own missing. Refused naming file, line and both accounts; PID_2's own pull is stored."""
    gateway.merchant_zips[(PID_1, DAY)] = gateway.merchant_zips[(PID_2, DAY)]
    (tmp_path / "token1").write_text(TOKEN_1)
    (tmp_path / "token2").write_text(TOKEN_2)
    cfg = _config(tmp_path, keys, gateway, ['app_auth_token_file = "token1"', f'seller_id = "{PID_1}"'],
                  ['app_auth_token_file = "token2"', f'seller_id = "{PID_2}"'])
    w = str(tmp_path / "w.duckdb")
    r = CliRunner().invoke(app, ["pull", "--workspace", w, "--config", cfg, "--date", DAY, "--channel", "alipay"])
    assert r.exit_code == 2, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT merchant_id, count(*) FROM transactions GROUP BY 1").fetchall() == [(PID_2, 1)]
        reasons = dict(ws.con.execute("SELECT source, reason FROM quarantine").fetchall())
    reason = reasons[f"alipay:{PID_1}:trade:{DAY}"]
    assert f"{PID_2}0156_20190916_业务明细.csv:2 [账号]: alipay: a bill of account {PID_2} where account {PID_1}'s " \
           "(seller_id) was asked for: not stored" in reason, reason
    assert list(reasons) == [f"alipay:{PID_1}:trade:{DAY}"]


@pytest.mark.parametrize("extra,match", [
    (['app_auth_token_env = "NO_SUCH_TOKEN_VAR"', f'seller_id = "{PID_1}"'],
     r"channels.alipay\[0\]: environment variable NO_SUCH_TOKEN_VAR \(app_auth_token_env\) is not set"),
    (['app_auth_token_file = "missing"', f'seller_id = "{PID_1}"'], r"channels.alipay\[0\].app_auth_token_file"),
    (['app_auth_token_file = "token1"'], r"channels.alipay\[0\]: key 'seller_id'"),
    (['app_auth_token_file = "token1"', "seller_id = 2088000000000011"],
     r"channels.alipay\[0\]: key 'seller_id' must be the merchant's PID as a string"),
])
def test_bad_token_config_names_account_and_key(tmp_path, keys, gateway, extra, match):
    (tmp_path / "token1").write_text(TOKEN_1)
    cfg = _config(tmp_path, keys, gateway, extra)
    r = CliRunner().invoke(app, ["pull", "--workspace", str(tmp_path / "w.duckdb"), "--config", cfg, "--date", DAY,
                                 "--all"])
    assert r.exit_code != 0
    assert re.search(match, " ".join(r.output.split())), r.output


def test_serve_takes_one_app_configured_per_authorising_merchant(keys):
    """The same app_id once per merchant (third-party mode) was refused as "configured twice", so `serve` could not
    start on a config that `pull` reads; now the app's notifications are verified once and may name any of its
    merchants' PIDs, and no other."""
    from fake_gateway import rsa2_sign

    from paymatch.channels.alipay.notify import AlipayNotifyVerifier

    app_key, alipay_key = keys
    make = lambda **kw: AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), **kw)  # noqa: E731
    verifier = AlipayNotifyVerifier([make(seller_id="2088000000000001"),
                                     make(app_auth_token=TOKEN_1, seller_id=PID_1),
                                     make(app_auth_token=TOKEN_2, seller_id=PID_2)])

    def notification(n: int, seller: str) -> dict:
        body = {"notify_id": f"n{n}", "notify_type": "trade_status_sync", "notify_time": "2019-09-16 10:00:00",
                "app_id": APP_ID, "auth_app_id": "2019000000000099", "charset": "utf-8", "version": "1.0",
                "trade_no": f"20190916220014588605{n:08d}", "out_trade_no": f"ORD-{n}", "seller_id": seller,
                "trade_status": "TRADE_SUCCESS", "total_amount": "9.00", "receipt_amount": "9.00",
                "gmt_create": "2019-09-16 09:59:59", "gmt_payment": "2019-09-16 10:00:00"}
        text = "&".join(f"{k}={v}" for k, v in sorted(body.items()))
        return {**body, "sign_type": "RSA2", "sign": rsa2_sign(alipay_key, text)}

    assert verifier.verify(notification(1, PID_1)).to_pylist()[0]["merchant_id"] == PID_1
    assert verifier.verify(notification(2, "2088000000000001")).num_rows == 1
    with pytest.raises(ChannelError, match="seller_id '2088000000000999' is not ours"):
        verifier.verify(notification(3, "2088000000000999"))
    with pytest.raises(ConfigError, match="configured twice"):  # two plain accounts of one app stay an error
        AlipayNotifyVerifier([make(seller_id=PID_1), make(seller_id=PID_2)])
