"""Fixtures for the WeChat Pay channel tests: the shared real samples (skipped when absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# helper modules (bill generator, fake server) live next to the tests
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SAMPLES = HERE.parents[2] / ".." / "shared" / "fixtures" / "channels" / "wechat"


@pytest.fixture
def wechat_sample():
    """Return a function giving the bytes of a shared WeChat sample, skipping when it is absent."""

    def load(name: str) -> bytes:
        path = SAMPLES / name
        if not path.is_file():
            pytest.skip(f"shared fixture {name} not present")
        return path.read_bytes()

    return load


@pytest.fixture(scope="session")
def wechat_keys():
    """RSA keys generated for this test session: the merchant's and the WeChat Pay platform's."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def pair():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
        pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        return key, priv, pub

    m_key, m_priv, _m_pub = pair()
    p_key, _p_priv, p_pub = pair()
    return SimpleNamespace(merchant=m_key, merchant_pem=m_priv, platform=p_key, platform_pub_pem=p_pub,
                           platform_id="PUB_KEY_ID_0000000000000000000000000001", apiv3_key="0123456789abcdef0123456789ABCDEF")


@pytest.fixture
def fake_wechat(wechat_keys):
    """A running fake WeChat Pay gateway on 127.0.0.1 (stopped after the test)."""
    from wechat_fake_server import FakeWechatPay

    server = FakeWechatPay(mchid="1900000109", merchant_serial="5157F09EFDC096DE15EBE81A47057A72",
                           merchant_public_key=wechat_keys.merchant.public_key(),
                           platform_key=wechat_keys.platform, platform_key_id=wechat_keys.platform_id,
                           delay=1.5).start()
    yield server
    server.stop()


@pytest.fixture
def wechat_client(wechat_keys, fake_wechat):
    """A WechatPayClient pointed at the fake gateway, with short timeouts and backoff."""
    from paymatch.channels.wechat.api import WechatPayClient, WechatPayConfig

    def make(**overrides):
        cfg = dict(mchid="1900000109", merchant_serial_no="5157F09EFDC096DE15EBE81A47057A72",
                   merchant_private_key_pem=wechat_keys.merchant_pem,
                   platform_key_pem=wechat_keys.platform_pub_pem, platform_key_id=wechat_keys.platform_id,
                   apiv3_key=wechat_keys.apiv3_key, base_url=fake_wechat.base_url, timeout=1.0,
                   retries=2, backoff_base=0.01, backoff_max=0.05)
        cfg.update(overrides)
        return WechatPayClient(WechatPayConfig(**cfg))

    clients = []

    def factory(**overrides):
        client = make(**overrides)
        clients.append(client)
        return client

    yield factory
    for c in clients:
        c.close()
