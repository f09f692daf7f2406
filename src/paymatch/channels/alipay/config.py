"""Alipay merchant account settings; key material comes from files or the environment."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from paymatch.errors import ConfigError

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
#: bill_type values of alipay.data.dataservice.bill.downloadurl.query that paymatch reads
BILL_TYPES = ("trade", "signcustomer")
#: sign_type values: RSA2 (SHA256withRSA, the 2048-bit keys every app made since 2018-01-05 has) and RSA
#: (SHA1withRSA, the 1024-bit keys older apps set under 使用其他加签方式 and may still use)
SIGN_TYPES = ("RSA2", "RSA")


@dataclass(frozen=True)
class AlipayConfig:
    """One Alipay open-platform app.

    app_id: the app's id. app_private_key_pem: the app's RSA private key (PEM) that signs
    requests. alipay_public_key_pem: Alipay's public key (PEM) that verifies responses and
    notifications. gateway_url: the open-API gateway (a local server in tests). timeout: seconds
    per HTTP request. retries: attempts after the first on transient failures; backoff: first
    wait in seconds, doubled each retry. seller_id: the merchant PID (2088…), checked against
    notifications and the '#账号' of pulled bills when set. bill_types: the bills ``paymatch pull`` downloads
    per day: 'trade' (业务明细, transactions) and/or 'signcustomer' (账务明细, the account's money movements, stored
    as fund flows). Keys never appear in repr().

    Public-key-certificate mode (an app whose 接口加签方式 is 公钥证书; ``paymatch.channels.alipay.certs``):
    app_cert_pem (appCertPublicKey_<app_id>.crt), alipay_cert_pem (alipayCertPublicKey_RSA2.crt) and
    alipay_root_cert_pem (alipayRootCert.crt), all three or none; alipay_public_key_pem may then be "" (it is
    taken from alipay_cert_pem). Requests then carry app_cert_sn and alipay_root_cert_sn.

    Third-party-app mode (第三方应用授权): app_auth_token, the token a merchant's authorisation of this app gave
    (alipay.open.auth.token.app). Requests then carry it as the common parameter ``app_auth_token`` and Alipay
    answers with the authorising merchant's bills, not the app owner's; seller_id (that merchant's PID) is then
    required: the account is known by it, since many merchants' accounts share the one app_id.

    sign_type: how the app signs and Alipay signs back, as set on the open platform: "RSA2" (SHA256withRSA, the
    default) or "RSA" (SHA1withRSA, an older app's 1024-bit keys; the keys are then that pair's). Requests are
    signed with it, answers and notifications verified with it, and a notification whose sign_type is another
    is refused: an RSA2 app takes no SHA1-signed notification (a downgrade). Certificate mode is RSA2 only.
    """

    app_id: str
    app_private_key_pem: str = field(repr=False)
    alipay_public_key_pem: str = field(repr=False)
    gateway_url: str = DEFAULT_GATEWAY
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 1.0
    seller_id: str | None = None
    bill_types: tuple[str, ...] = ("trade",)
    app_cert_pem: str = field(default="", repr=False)
    alipay_cert_pem: str = field(default="", repr=False)
    alipay_root_cert_pem: str = field(default="", repr=False)
    app_auth_token: str = field(default="", repr=False)
    sign_type: str = "RSA2"

    @property
    def label(self) -> str:
        """How pull names this account: the authorising merchant's PID in third-party-app mode, else the app_id."""
        return self.seller_id if self.app_auth_token and self.seller_id else self.app_id

    def request_params(self) -> dict[str, str]:
        """The common request parameters beyond the SDK's: certificate SNs, and app_auth_token when set."""
        return {**self.cert_params(), **({"app_auth_token": self.app_auth_token} if self.app_auth_token else {})}

    @property
    def cert_mode(self) -> bool:
        """Whether requests carry the certificate SNs (公钥证书模式)."""
        return bool(self.app_cert_pem)

    def cert_params(self) -> dict[str, str]:
        """The common request parameters of certificate mode (app_cert_sn, alipay_root_cert_sn); {} otherwise."""
        if not self.cert_mode:
            return {}
        from paymatch.channels.alipay.certs import cert_sn, root_cert_sn

        return {"app_cert_sn": cert_sn(self.app_cert_pem),
                "alipay_root_cert_sn": root_cert_sn(self.alipay_root_cert_pem)}

    def __post_init__(self) -> None:
        object.__setattr__(self, "app_private_key_pem", _rsa_pem(self.app_private_key_pem, True))
        object.__setattr__(self, "alipay_public_key_pem", _rsa_pem(self.alipay_public_key_pem, False))
        if self.sign_type not in SIGN_TYPES:
            raise ConfigError(f"alipay app {self.app_id}: sign_type must be one of {list(SIGN_TYPES)} (the app's "
                              f"接口加签方式: RSA2 is SHA256withRSA, RSA the older SHA1withRSA), got {self.sign_type!r}")
        certs = (self.app_cert_pem, self.alipay_cert_pem, self.alipay_root_cert_pem)
        if any(certs) and self.sign_type != "RSA2":
            raise ConfigError(f"alipay app {self.app_id}: certificate mode (公钥证书) signs with RSA2 only, "
                              f"not sign_type {self.sign_type!r}")
        if any(certs) and not all(certs):
            raise ConfigError(f"alipay app {self.app_id}: certificate mode needs the app certificate, Alipay's "
                              "public-key certificate and Alipay's root certificate (app_cert_*, alipay_cert_*, "
                              "alipay_root_cert_*), all three")
        if self.alipay_cert_pem:
            from paymatch.channels.alipay.certs import cert_sn, public_key_pem, root_cert_sn

            cert_sn(self.app_cert_pem)  # unreadable certificates are refused here, not at the first request
            root_cert_sn(self.alipay_root_cert_pem)
            key = public_key_pem(self.alipay_cert_pem)
            named = f"alipay app {self.app_id}: alipay_public_key"
            if self.alipay_public_key_pem and _numbers(self.alipay_public_key_pem, named) != _numbers(key, ""):
                raise ConfigError(f"alipay app {self.app_id}: alipay_public_key is not the key of the Alipay "
                                  "public-key certificate (give one of them)")
            object.__setattr__(self, "alipay_public_key_pem", key)
        elif not self.alipay_public_key_pem:
            raise ConfigError(f"alipay app {self.app_id}: Alipay's public key (or, in certificate mode, its "
                              "public-key certificate) is missing")
        if self.app_auth_token:
            token = self.app_auth_token
            if not (token.isascii() and token.isprintable() and not any(c.isspace() for c in token)):
                raise ConfigError(f"alipay app {self.app_id}: app_auth_token is not a token (printable ASCII, no "
                                  "spaces: the app_auth_token alipay.open.auth.token.app returned)")
            if not self.seller_id:
                raise ConfigError(f"alipay app {self.app_id}: app_auth_token needs seller_id, the authorising "
                                  "merchant's PID (2088…): its bills are pulled and stored under it")
        types = (self.bill_types,) if isinstance(self.bill_types, str) else tuple(self.bill_types)
        bad = [t for t in types if t not in BILL_TYPES]
        if bad or not types or len(set(types)) != len(types):
            raise ConfigError(f"alipay app {self.app_id}: bill_types must be distinct values of "
                              f"{list(BILL_TYPES)}, got {list(types)}")
        object.__setattr__(self, "bill_types", types)

    @classmethod
    def from_files(cls, app_id: str, app_private_key_path: str | Path, alipay_public_key_path: str | Path,
                   **kw) -> AlipayConfig:
        """Build a config reading both PEM keys from files (ConfigError naming the file if unreadable)."""
        return cls(app_id, _read(app_private_key_path), _read(alipay_public_key_path), **kw)

    @classmethod
    def from_env(cls, prefix: str = "PAYMATCH_ALIPAY_", **kw) -> AlipayConfig:
        """Build a config from <prefix>APP_ID, <prefix>APP_PRIVATE_KEY(_FILE), <prefix>ALIPAY_PUBLIC_KEY(_FILE)."""

        def secret(name: str) -> str:
            """The value of <prefix><name>, else the content of the file <prefix><name>_FILE names."""
            if value := os.environ.get(prefix + name):
                return value
            if path := os.environ.get(prefix + name + "_FILE"):
                return _read(path)
            raise ConfigError(f"environment: {prefix}{name} or {prefix}{name}_FILE is not set")

        app_id = os.environ.get(prefix + "APP_ID")
        if not app_id:
            raise ConfigError(f"environment: {prefix}APP_ID is not set")
        return cls(app_id, secret("APP_PRIVATE_KEY"), secret("ALIPAY_PUBLIC_KEY"), **kw)


def _numbers(public_pem: str, what: str):
    return check_key(public_pem, False, what).public_numbers()


def check_key(text: str, private: bool, what: str) -> rsa.RSAPrivateKey | rsa.RSAPublicKey:
    """The RSA key in ``text`` (PEM, or the bare base64 Alipay's key tool writes); ConfigError naming ``what``."""
    text = text.strip()
    try:
        if "-----BEGIN" in text:
            key = (serialization.load_pem_private_key(text.encode(), password=None) if private
                   else serialization.load_pem_public_key(text.encode()))
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = (serialization.load_der_private_key(der, password=None) if private
                   else serialization.load_der_public_key(der))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigError(f"{what} is neither a PEM key nor the bare base64 key Alipay's key tool writes "
                          f"({exc.__class__.__name__}: {exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise ConfigError(f"{what} is not an RSA key (sign_type RSA2 signs with RSA)")
    return key


def _rsa_pem(text: str, private: bool) -> str:
    """A bare base64 key -- what Alipay's key tool (支付宝开放平台密钥工具) writes into 应用私钥RSA2048.txt and what the
    open platform shows as 支付宝公钥, both without BEGIN/END lines -- as PEM: python-alipay-sdk reads PEM only (such
    a key failed at the first request with "RSA key format is not supported"). Other text is kept as given; it is
    checked, naming the key, when the SDK client is made (``api.make_sdk_client``)."""
    if "-----BEGIN" in text or not text.strip():
        return text
    try:
        key = check_key(text, private, "")
    except ConfigError:
        return text
    if private:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read key file ({exc.__class__.__name__})") from None
