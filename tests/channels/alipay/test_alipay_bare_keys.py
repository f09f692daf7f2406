"""Alipay keys as Alipay delivers them: its key tool (支付宝开放平台密钥工具) writes 应用私钥RSA2048.txt as one bare base64
line, and the open platform shows 支付宝公钥 the same way, without BEGIN/END lines. python-alipay-sdk reads PEM only:
such keys failed at the first request with a bare ValueError ("RSA key format is not supported"), no file or key
named. They are turned into PEM when the config is read; a key that is neither is a ConfigError naming it."""

from __future__ import annotations

import datetime as dt

import pytest
from alipay_billgen import bill_zip, sample_rows
from cryptography.hazmat.primitives import serialization
from fake_gateway import FakeAlipayGateway, new_key, public_pem

from paymatch.accounts import accounts
from paymatch.config import load_config
from paymatch.errors import ConfigError
from paymatch.pull import pull_day
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"
DAY = dt.date(2019, 9, 16)


def _bare(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def _rules(tmp_path, private_text: str, public_text: str, gateway_url: str):
    (tmp_path / "应用私钥RSA2048.txt").write_text(private_text, encoding="utf-8")
    (tmp_path / "alipay_public_key.txt").write_text(public_text, encoding="utf-8")
    p = tmp_path / "rules.toml"
    p.write_text("\n".join([
        "[channels.alipay]", f'app_id = "{APP_ID}"', 'app_private_key_file = "应用私钥RSA2048.txt"',
        'alipay_public_key_file = "alipay_public_key.txt"', f'gateway_url = "{gateway_url}"', "timeout = 1.0",
        "retries = 0"]) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("private_format", [serialization.PrivateFormat.PKCS8,
                                            serialization.PrivateFormat.TraditionalOpenSSL])
def test_bare_base64_keys_pull(tmp_path, private_format):
    app_key, alipay_key = new_key(), new_key()
    private_text = _bare(app_key.private_bytes(serialization.Encoding.PEM, private_format,
                                               serialization.NoEncryption()).decode())
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {str(DAY): bill_zip(sample_rows())},
                           app_id=APP_ID) as gw:
        rules = _rules(tmp_path, private_text + "\n", _bare(public_pem(alipay_key)), gw.gateway_url)
        accts = accounts(load_config(rules), rules.parent, "alipay")
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            results = pull_day(ws, accts, DAY)
    assert [(r.kind, r.rows, r.error) for r in results] == [("alipay_detail", 3, None), ("alipay_summary", 0, None)]


def test_a_key_that_is_no_key_is_named(tmp_path):
    rules = _rules(tmp_path, "not a key", _bare(public_pem(new_key())), "http://127.0.0.1:9/gateway.do")
    accts = accounts(load_config(rules), rules.parent, "alipay")
    with Workspace(str(tmp_path / "w.duckdb")) as ws, \
            pytest.raises(ConfigError, match=f"alipay app {APP_ID}: app_private_key is neither a PEM key"):
        pull_day(ws, accts, DAY)
