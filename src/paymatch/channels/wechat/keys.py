"""Loading the keys WeChat Pay API v3 needs (PEM text in, ``cryptography`` key objects out).

The WeChat Pay side is identified either by a *platform public key* (newer accounts; its id looks
like 'PUB_KEY_ID_...') or by a *platform certificate* (older accounts; its id is the certificate
serial in upper-case hex). Both arrive as PEM; ``load_platform_key`` accepts either.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from paymatch.errors import ConfigError


def _bytes(pem: str | bytes) -> bytes:
    return pem.encode("ascii") if isinstance(pem, str) else pem


def load_private_key(pem: str | bytes) -> RSAPrivateKey:
    """The merchant's RSA private key (apiclient_key.pem) from PEM text; ConfigError if unusable."""
    try:
        key = load_pem_private_key(_bytes(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"wechat: merchant private key is not an unencrypted PEM key ({exc})") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ConfigError("wechat: merchant private key must be RSA (WECHATPAY2-SHA256-RSA2048)")
    return key


def load_platform_key(pem: str | bytes) -> RSAPublicKey:
    """The WeChat Pay platform RSA public key from a PUBLIC KEY or CERTIFICATE PEM."""
    data = _bytes(pem)
    try:
        if b"CERTIFICATE" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(f"wechat: platform key/certificate is not valid PEM ({exc})") from exc
    if not isinstance(key, RSAPublicKey):
        raise ConfigError("wechat: platform key must be RSA")
    return key


def certificate_serial(pem: str | bytes) -> str:
    """Upper-case hex serial of a certificate PEM: the id WeChat sends in Wechatpay-Serial."""
    return format(x509.load_pem_x509_certificate(_bytes(pem)).serial_number, "X")
