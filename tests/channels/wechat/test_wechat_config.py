"""WeChat account config: secrets from files or environment, clear ConfigErrors, nothing in repr."""

from __future__ import annotations

import hashlib

import pytest

from paymatch.channels.wechat.api import WechatPayClient
from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.notify import WechatNotifyVerifier
from paymatch.errors import ConfigError


def test_from_section_files_and_env(tmp_path, wechat_keys, fake_wechat, wechat_sample):
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "apiclient_key.pem").write_text(wechat_keys.merchant_pem)
    (tmp_path / "keys" / "pub_key.pem").write_text(wechat_keys.platform_pub_pem)
    section = {"mchid": "1900000109", "merchant_serial_no": "5157F09EFDC096DE15EBE81A47057A72",
               "merchant_private_key_file": "keys/apiclient_key.pem", "platform_key_file": "keys/pub_key.pem",
               "platform_key_id": wechat_keys.platform_id, "apiv3_key_env": "WX_V3",
               "base_url": fake_wechat.base_url, "timeout": 2.0}
    cfg = WechatPayConfig.from_section(section, base_dir=tmp_path, env={"WX_V3": wechat_keys.apiv3_key})
    assert cfg.apiv3_key == wechat_keys.apiv3_key and cfg.timeout == 2.0
    assert wechat_keys.apiv3_key not in repr(cfg) and "PRIVATE" not in repr(cfg)
    WechatNotifyVerifier.from_config(cfg)
    # the real sample through the fake gateway: its documented SHA1 is the *unzipped* bill's
    plain = wechat_sample("gunsluo_tradebill_ALL_20210128.csv")
    assert hashlib.sha1(plain).hexdigest() == "b18b51eb64422040e5ad738d47b358a40b1a7997"
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", "2021-01-28")] = plain
    with WechatPayClient(cfg) as client:
        assert client.download_bill("2021-01-28") == plain


def test_from_env(wechat_keys):
    env = {"PAYMATCH_WECHAT_MCHID": "1900000109", "PAYMATCH_WECHAT_MERCHANT_SERIAL_NO": "AB",
           "PAYMATCH_WECHAT_PLATFORM_KEY_ID": "PUB_KEY_ID_1",
           "PAYMATCH_WECHAT_MERCHANT_PRIVATE_KEY": wechat_keys.merchant_pem,
           "PAYMATCH_WECHAT_PLATFORM_KEY": wechat_keys.platform_pub_pem}
    cfg = WechatPayConfig.from_env(env=env)
    assert cfg.mchid == "1900000109" and cfg.apiv3_key == ""
    with pytest.raises(ConfigError, match="APIv3"):
        WechatNotifyVerifier.from_config(cfg)


@pytest.mark.parametrize("change,match", [
    ({"mchid": ""}, "mchid"), ({"colour": "red"}, "unknown key"),
    ({"merchant_private_key_file": "nope.pem"}, "merchant_private_key_file"),
    ({"apiv3_key_env": "UNSET_VAR"}, "UNSET_VAR"),
])
def test_config_errors_name_the_key(tmp_path, change, match):
    (tmp_path / "k.pem").write_text("x")
    section = {"mchid": "1", "merchant_serial_no": "AB", "merchant_private_key_file": "k.pem",
               "platform_key_file": "k.pem", "platform_key_id": "P", **change}
    with pytest.raises(ConfigError, match=match):
        WechatPayConfig.from_section(section, base_dir=tmp_path, env={})
