"""Loading the keys WeChat Pay API v3 needs (PEM text in, ``cryptography`` key objects out).

The WeChat Pay side is identified either by a *platform public key* (newer accounts; its id looks
like 'PUB_KEY_ID_...') or by a *platform certificate* (older accounts; its id is the certificate
serial in upper-case hex). Both arrive as PEM; ``load_platform_key`` accepts either. A merchant in certificate
mode may instead keep the certificates ``paymatch wechat-certs`` downloads in a folder (``PlatformCertFolder``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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


def serial_hex(cert: x509.Certificate) -> str:
    """A certificate's serial as WeChat writes it (serial_no, Wechatpay-Serial): upper-case hex, two digits per byte,
    so a first byte below 0x10 keeps its leading '0' (the official Go SDK's ``SerialNumber.Bytes()`` hex, after
    wechatpay-go's fix "修复获取证书序列号时会丢弃其头部0的问题"); a plain integer-to-hex conversion drops it."""
    digits = format(cert.serial_number, "X")
    return digits if len(digits) % 2 == 0 else "0" + digits


def is_serial_of(serial: str, cert: x509.Certificate) -> bool:
    """Whether hex ``serial`` is ``cert``'s serial number (leading zeros or not)."""
    try:
        return int(serial, 16) == cert.serial_number
    except ValueError:
        return False


def certificate_serial(pem: str | bytes) -> str:
    """Upper-case hex serial of a certificate PEM: the id WeChat sends in Wechatpay-Serial (``serial_hex``)."""
    return serial_hex(x509.load_pem_x509_certificate(_bytes(pem)))


#: the issuer of WeChat Pay's platform certificates ("核对颁发者为 Tenpay.com Root CA", 平台证书常见问题)
PLATFORM_CERT_ISSUER = "Tenpay.com Root CA"
_SERIAL = re.compile(r"^[0-9A-F]{1,64}$")


def certs_hint(mchid: str | None) -> str:
    """What to run when an account's platform certificate folder lacks a certificate (None: every account)."""
    return "run `paymatch wechat-certs --config <your config>" + (f" --account {mchid}`" if mchid else "`")


def valid_at(cert: x509.Certificate, now: dt.datetime) -> bool:
    """Whether ``cert`` is within its validity period at ``now`` (tz-aware)."""
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


class PlatformCertFolder:
    """An account's ``platform_cert_dir``: WeChat Pay platform certificates, one ``<SERIAL>.pem`` each, written by
    ``paymatch wechat-certs``. Read per serial when an answer or notification names it, so a certificate written
    while ``serve`` runs is used at once (WeChat rotates its certificates, and for a while signs with either); an
    expired certificate, or a file whose certificate is not the serial its name says, is never used."""

    def __init__(self, path: str | Path, mchid: str):
        self.path, self.mchid = Path(path), mchid
        self._cache: dict[str, x509.Certificate] = {}

    def __repr__(self) -> str:
        return f"PlatformCertFolder({str(self.path)!r}, account {self.mchid})"

    def certificate(self, serial: str) -> x509.Certificate | None:
        """The stored certificate of ``serial`` (any validity), None when the folder has none."""
        serial = serial.upper()
        if serial in self._cache:
            return self._cache[serial]
        if not _SERIAL.match(serial):  # a serial is hex: anything else never reaches the file system
            return None
        file = self.path / f"{serial}.pem"
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"wechat account {self.mchid}: platform_cert_dir: cannot read {file} "
                              f"({exc.__class__.__name__})") from None
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError:
            raise ConfigError(f"wechat account {self.mchid}: platform_cert_dir: {file} is not a PEM certificate; "
                              f"remove it and {certs_hint(self.mchid)}") from None
        if not is_serial_of(serial, cert):
            raise ConfigError(f"wechat account {self.mchid}: platform_cert_dir: {file} holds the certificate of "
                              f"serial {serial_hex(cert)}, not {serial}; remove it and "
                              f"{certs_hint(self.mchid)}")
        self._cache[serial] = cert
        return cert

    def key(self, serial: str, now: dt.datetime | None = None) -> RSAPublicKey | None:
        """The public key of ``serial``'s certificate when the folder holds it and it is valid at ``now``."""
        cert = self.certificate(serial)
        if cert is None or not valid_at(cert, now or dt.datetime.now(dt.UTC)):
            return None
        key = cert.public_key()
        return key if isinstance(key, RSAPublicKey) else None

    def all(self) -> dict[str, x509.Certificate]:
        """Every certificate of the folder (expired ones too), by serial; {} when the folder does not exist."""
        if not self.path.exists():
            return {}
        if not self.path.is_dir():
            raise ConfigError(f"wechat account {self.mchid}: platform_cert_dir {self.path} is not a folder")
        out = {}
        for file in sorted(self.path.glob("*.pem")):
            cert = self.certificate(file.stem)
            if cert is not None:
                out[file.stem.upper()] = cert
        return out

    def valid(self, now: dt.datetime | None = None) -> dict[str, x509.Certificate]:
        """The folder's certificates valid at ``now``, newest expiry first (its first is the one to name in
        requests' Wechatpay-Serial)."""
        now = now or dt.datetime.now(dt.UTC)
        good = {s: c for s, c in self.all().items() if valid_at(c, now)}
        return dict(sorted(good.items(), key=lambda sc: sc[1].not_valid_after_utc, reverse=True))
