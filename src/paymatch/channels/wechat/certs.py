"""Downloading WeChat Pay's platform certificates (获取平台证书列表) into an account's ``platform_cert_dir``.

A merchant still in platform-certificate mode (平台证书) checks WeChat's answers and notifications with a certificate
WeChat hands out only through GET /v3/certificates: each listed certificate comes encrypted with AEAD_AES_256_GCM
under the merchant's APIv3 key (``encrypt_certificate``: nonce, associated_data, ciphertext). WeChat rotates them:
a new certificate is listed about 24 hours before it is used, and for a while answers and notifications are signed
with either; so the folder is brought up to date regularly (``paymatch wechat-certs``, e.g. daily), and a pull or a
notification signed by a serial the folder lacks says to run it.

Every certificate of an answer is checked before any is written: it decrypts with the APIv3 key (a tampered or
forged entry does not), it is an X.509 certificate of the serial listed, issued by WeChat Pay's CA (issuer CN
"Tenpay.com Root CA", the check WeChat's certificate FAQ asks for) and with an RSA key. One failing refuses the whole
answer: all of WeChat's entries are encrypted with the same key, so one that is not is not WeChat's. Certificates
expired or not valid yet are skipped (said). The answer's signature is checked with a key already trusted (the
configured platform key or a valid certificate of the folder); only when there is none yet (a first download, or
``bootstrap=True``) with the certificate of the answer itself its Wechatpay-Serial names, which is said: such a
first certificate is then as good as the APIv3 key and the HTTPS connection it came through.

Files are ``<SERIAL>.pem``, written whole then renamed (never half a certificate); certificates already in the folder
are never removed, so one still valid, which WeChat may still sign with, is never lost.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from paymatch.channels.wechat.api import UnknownPlatformSerial, WechatPayClient
from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.keys import PLATFORM_CERT_ISSUER, is_serial_of, serial_hex, valid_at
from paymatch.errors import ChannelError, ConfigError

#: the only encryption WeChat names for encrypt_certificate (the other, SM4 for national-crypto merchants, is not
#: spoken here)
CERT_ALGORITHM = "AEAD_AES_256_GCM"


@dataclass
class CertUpdate:
    """What one account's download did: ``written`` / ``unchanged`` / ``skipped`` (serial, why) certificates,
    ``kept`` (valid certificates of the folder the answer no longer lists), ``bootstrap`` when the answer was checked
    with a certificate it carried itself."""

    mchid: str
    folder: Path
    bootstrap: bool = False
    written: list[tuple[str, x509.Certificate]] = field(default_factory=list)
    unchanged: list[tuple[str, x509.Certificate]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    kept: list[tuple[str, x509.Certificate]] = field(default_factory=list)


def update_certificates(config: WechatPayConfig, *, bootstrap: bool = False, now: dt.datetime | None = None,
                        client: WechatPayClient | None = None) -> CertUpdate:
    """Download the account's platform certificates, check them and write the valid ones to its folder.

    ``bootstrap`` checks the answer with its own certificate even when a key is trusted (after every trusted
    certificate expired, say). Raises ConfigError without ``platform_cert_dir`` or an APIv3 key, ChannelError when
    the answer or any certificate in it is refused (nothing is written then)."""
    where = f"wechat account {config.mchid}"
    folder = config.cert_folder()
    if folder is None:
        raise ConfigError(f"{where}: no 'platform_cert_dir' configured: name the folder the platform certificates "
                          "are to be kept in (e.g. platform_cert_dir = \"keys/wechatpay_certs\")")
    if len(config.apiv3_key.encode()) != 32:
        raise ConfigError(f"{where}: the APIv3 key (apiv3_key_file|_env) must be 32 bytes: WeChat encrypts its "
                          "platform certificates with it")
    now = now or dt.datetime.now(dt.UTC)
    held = folder.all()
    trusted = bool(config.platform_keys()) or any(valid_at(c, now) for c in held.values())
    if not trusted and held and not bootstrap:
        raise ConfigError(f"{where}: every certificate in platform_cert_dir {folder.path} has expired, so none can "
                          "check WeChat's answer\nHint: run again with --bootstrap: the answer is then checked with "
                          "a certificate it carries itself (as on a first download)")
    report = CertUpdate(config.mchid, folder.path, bootstrap=bootstrap or not trusted)

    def answer_keys(answer: dict) -> dict[str, RSAPublicKey]:
        return {s: c.public_key() for s, c in _certificates(answer, config, where).items() if valid_at(c, now)}

    own = client is None
    client = client or WechatPayClient(config, require_platform_key=False)
    try:
        answer = client.platform_certificates(answer_keys if report.bootstrap else None)
    except UnknownPlatformSerial as e:
        raise ChannelError(f"{where}: the certificate list is signed with platform certificate {e.serial}, which "
                           f"platform_cert_dir {folder.path} does not hold valid: its signature cannot be checked "
                           "with a trusted key, so nothing is taken from it\nHint: WeChat rotated its certificate "
                           "since the last run (run this command daily: the next certificate is listed a day before "
                           "it signs); run again with --bootstrap to check the list with its own certificate") from None
    finally:
        if own:
            client.close()
    checked = _certificates(answer, config, where)  # the answer whose signature was checked (not a retried one)
    for serial, cert in checked.items():
        if now < cert.not_valid_before_utc:
            report.skipped.append((serial, f"not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"))
        elif cert.not_valid_after_utc < now:
            report.skipped.append((serial, f"expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"))
        elif serial in held and held[serial] == cert:
            report.unchanged.append((serial, cert))
        else:
            _write_atomic(folder.path / f"{serial}.pem", cert.public_bytes(Encoding.PEM))
            report.written.append((serial, cert))
    report.kept = [(s, c) for s, c in held.items() if s not in checked and valid_at(c, now)]
    return report


def _certificates(answer: dict, config: WechatPayConfig, where: str) -> dict[str, x509.Certificate]:
    """serial -> certificate of every entry of a /v3/certificates answer, each decrypted and checked (module
    docstring); ChannelError names the entry and what is wrong with it."""
    data = answer.get("data")
    if not isinstance(data, list) or not data:
        raise ChannelError(f"{where}: GET /v3/certificates: the answer lists no certificate ({str(answer)[:200]!r})")
    out: dict[str, x509.Certificate] = {}
    for i, entry in enumerate(data, start=1):
        what = f"{where}: GET /v3/certificates: certificate {i}"
        try:
            serial = str(entry["serial_no"]).upper()
            enc = entry["encrypt_certificate"]
            algorithm, nonce, ciphertext = enc["algorithm"], enc["nonce"], enc["ciphertext"]
            associated = enc.get("associated_data") or ""
        except (KeyError, TypeError) as exc:
            raise ChannelError(f"{what}: entry lacks {exc} ({str(entry)[:200]!r})") from None
        what += f" (serial {serial})"
        if algorithm != CERT_ALGORITHM:
            raise ChannelError(f"{what}: encrypted with {algorithm!r}, not {CERT_ALGORITHM}")
        try:
            pem = AESGCM(config.apiv3_key.encode()).decrypt(str(nonce).encode(), base64.b64decode(ciphertext),
                                                            str(associated).encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise ChannelError(f"{what}: does not decrypt with the APIv3 key (apiv3_key_file|_env): tampered or "
                               "forged, or the APIv3 key is not this account's; nothing written") from None
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError:
            raise ChannelError(f"{what}: decrypts to no X.509 certificate; nothing written") from None
        # WeChat lists the serial byte by byte ("0A1B…" for a first byte 0x0A): compared as a number
        if not is_serial_of(serial, cert):
            raise ChannelError(f"{what}: the certificate inside is serial {serial_hex(cert)}, not the one listed; "
                               "nothing written")
        issuer = [a.value for a in cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if issuer != [PLATFORM_CERT_ISSUER]:
            raise ChannelError(f"{what}: issued by {cert.issuer.rfc4514_string()!r}, not WeChat Pay's CA "
                               f"(CN={PLATFORM_CERT_ISSUER}); nothing written")
        if not isinstance(cert.public_key(), RSAPublicKey):
            raise ChannelError(f"{what}: its key is not RSA (WECHATPAY2-SHA256-RSA2048); nothing written")
        if serial in out:
            raise ChannelError(f"{what}: listed twice; nothing written")
        out[serial] = cert
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole: a temporary file in the same folder, flushed to disk, then renamed over it (a crash
    leaves the old file or the new one, never a half certificate a pull would stumble on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def certs_command(config_path: Path, account: str | None, bootstrap: bool, say) -> None:
    """``paymatch wechat-certs``: update the folder of every WeChat account with a ``platform_cert_dir`` (or of
    ``account`` only), telling ``say`` what each did; one account failing does not stop the others, then
    ChannelError says which failed."""
    from paymatch.accounts import accounts
    from paymatch.config import load_config

    try:
        accts = [a for a in accounts(load_config(config_path), config_path.parent, "wechat")]
    except ConfigError as e:
        raise ConfigError(str(e) if str(e).startswith(f"{config_path}:") else f"{config_path}: {e}") from None
    if account is not None:
        chosen = [a for a in accts if a.config.mchid == account]
        if not chosen:
            raise ConfigError(f"{config_path}: no [channels.wechat] account {account} (configured: "
                              f"{', '.join(a.config.mchid for a in accts)})")
    else:
        chosen = [a for a in accts if a.config.platform_cert_dir]
        if not chosen:
            raise ConfigError(f"{config_path}: no [channels.wechat] account names a platform_cert_dir\nHint: add "
                              'platform_cert_dir = "keys/wechatpay_certs" to the account (see config.example.toml)')
    failed = []
    for a in chosen:
        try:
            r = update_certificates(a.config, bootstrap=bootstrap)
        except (ChannelError, ConfigError) as e:
            say(f"wechat {a.config.mchid}: failed: {e}")
            failed.append(a.config.mchid)
            continue
        if r.bootstrap:
            say(f"wechat {r.mchid}: bootstrap: no platform key was trusted yet, so the answer's signature was checked "
                "with a certificate the answer itself carries (decrypted with the APIv3 key, over HTTPS); compare "
                "the serial below with the one the merchant platform shows (API安全) if in doubt")
        for serial, cert in r.written:
            say(f"wechat {r.mchid}: {serial} written to {r.folder / (serial + '.pem')} (valid "
                f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})")
        for serial, cert in r.unchanged:
            say(f"wechat {r.mchid}: {serial} already in {r.folder}, unchanged (valid to "
                f"{cert.not_valid_after_utc:%Y-%m-%d})")
        for serial, why in r.skipped:
            say(f"wechat {r.mchid}: {serial} skipped: {why}")
        for serial, cert in r.kept:
            say(f"wechat {r.mchid}: {serial} kept in {r.folder} (no longer listed, valid to "
                f"{cert.not_valid_after_utc:%Y-%m-%d})")
    if failed:
        raise ChannelError(f"platform certificates of {len(failed)} account(s) not updated ({', '.join(failed)}); "
                           "nothing was written for them")
