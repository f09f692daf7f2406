"""UnionPay 全渠道 (ACP) file download: the day's reconciliation zip through the signed 文件传输类交易 (txnType 76).

Request (open.unionpay.com, 文件传输类交易; the acpsdk demos ``Form_7_2_FileTransfer``): a UTF-8 form POSTed to the
file-transfer URL (production https://filedownload.95516.com/, ``base_url``) with version 5.1.0, encoding UTF-8,
signMethod 01 (RSA), txnType 76, txnSubType 01 (对账文件下载), bizType 000000, accessType 0 (商户直连接入), merId,
settleDate (MMDD), txnTime (yyyyMMddHHmmss, Beijing), fileType 00, certId and signature.

Signing as acpsdk's SDKUtil does it for 5.1.0: the fields but ``signature`` sorted by name and joined as
``k=v&k=v`` (``coverMap2String``); its SHA-256 as lowercase hex (``sha256X16``); that hex text signed with
SHA256withRSA by the merchant's key (``signBySoft256``), base64. certId is the signing certificate's serial number in
decimal. Key and certificate come from the merchant's PKCS#12 file (.pfx) UnionPay issued.

Answer: ``k=v&k=v`` without URL-encoding (acpsdk's ``parseQString``: the first '=' ends the key, an '&' ends the
value unless inside {…} or […]). It is verified as acpsdk's ``validate`` does for 5.1.0 before anything is read:
``signPubKeyCert`` (PEM) must be within its validity, chain to the configured middle and root certificates, and
carry 中国银联股份有限公司 as the third '@'-part of its subject CN (``verifyCertificate`` with ifValidateCNName
true, the production setting); then ``signature`` is checked with its key over the other fields, the same way
they are signed. An answer without them, or one that fails, is refused (never retried: ChannelError; its
respCode and respMsg said, unverified: an unsigned answer is mostly UnionPay refusing the request).
respCode 00: ``fileContent`` is base64 of the zip compressed with zlib (java.util.zip.Deflater / Inflater(nowrap
false): a zlib stream with its header), ``fileName`` its name (``<merId>_<yyyyMMdd>.zip``). respCode 98: no file
for that settle date (NoBillThatDay; integrators read 98 as 文件不存在, e.g. a day without trade or not made yet).
Timeouts, connection errors and HTTP 5xx are retried (``channels.retry``); every failure ends as ChannelError
naming merId, settle date and the cause. Secrets (key, password) are never logged nor in any message.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from paymatch.channels.retry import Transient, retrying
from paymatch.errors import ChannelError, ConfigError, NoBillThatDay
from paymatch.schema import TZ

DEFAULT_BASE_URL = "https://filedownload.95516.com/"
#: the owner UnionPay's answer certificates name (the third '@'-part of the subject CN), as acpsdk checks it
UNIONPAY_CN = "中国银联股份有限公司"
#: respCode of "no file for that settle date" (文件不存在)
NO_FILE = "98"
_BEIJING = ZoneInfo(TZ)


@dataclass(frozen=True)
class UnionPayConfig:
    """One UnionPay 全渠道 merchant: mer_id (商户代码, 15 characters), the signing key and certificate (from its
    .pfx), UnionPay's root and middle certificates that answers must chain to, verify_certs (UnionPay's verify-sign
    certificates, only for 5.0.0 notifications: ``verify_by_cert_id``), base_url (the file-transfer URL),
    timeout (seconds per request), retries (attempts after the first on transient failures), backoff (first wait,
    doubled). Keys never appear in repr()."""

    mer_id: str
    sign_key: rsa.RSAPrivateKey = field(repr=False)
    sign_cert: x509.Certificate = field(repr=False)
    root_cert: x509.Certificate = field(repr=False)
    middle_cert: x509.Certificate = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    #: UnionPay's verify-sign certificates (验签证书, ``verify_cert_file``): a 5.0.0 notification names one by certId
    verify_certs: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0

    @property
    def cert_id(self) -> str:
        """certId: the signing certificate's serial number in decimal."""
        return str(self.sign_cert.serial_number)

    @classmethod
    def from_section(cls, section: Mapping[str, Any], *, where: str = "channels.unionpay",
                     base_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> UnionPayConfig:
        """Build from a config-file section: mer_id, pfx_file, pfx_password_file|pfx_password_env, root_cert_file,
        middle_cert_file, verify_cert_file (one file or a list), base_url, timeout, retries, backoff; paths relative to ``base_dir``; ConfigError naming
        ``where`` and the key."""
        env = os.environ if env is None else env
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        known = {"mer_id", "pfx_file", "pfx_password_file", "pfx_password_env", "root_cert_file",
                 "middle_cert_file", "verify_cert_file", "base_url", "timeout", "retries", "backoff"}
        if "pfx_password" in section:  # (its value is not repeated here)
            raise ConfigError(f"{where}: key 'pfx_password': the .pfx password is never written in the config; name "
                              "a file (pfx_password_file) or an environment variable (pfx_password_env) holding it")
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}")
        mer_id = section.get("mer_id")
        if not (isinstance(mer_id, str) and mer_id.isascii() and mer_id.isalnum() and len(mer_id) == 15):
            raise ConfigError(f"{where}: key 'mer_id' must be the 15-character 商户代码 as a string, e.g. "
                              f"\"802310048993424\", got {mer_id!r}")

        def read(key: str, path: Any = None) -> bytes:
            path = section.get(key) if path is None else path
            if not isinstance(path, str) or not path:
                raise ConfigError(f"{where}: key '{key}' must name a file")
            try:
                return (base / path).read_bytes()
            except OSError as e:
                raise ConfigError(f"{where}.{key}: cannot read {base / path} ({e.strerror})") from None

        if "pfx_password_file" in section:
            password = read("pfx_password_file").decode("utf-8", "replace").rstrip("\r\n")
        elif var := section.get("pfx_password_env"):
            if var not in env:
                raise ConfigError(f"{where}: environment variable {var} (pfx_password_env) is not set")
            password = env[var]
        else:
            raise ConfigError(f"{where}: set 'pfx_password_file' or 'pfx_password_env' (the .pfx password is "
                              "never written in the config)")
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(read("pfx_file"), password.encode("utf-8"))
        except ValueError:
            raise ConfigError(f"{where}.pfx_file: not a PKCS#12 file this password opens (check the file and "
                              "pfx_password_file|_env)") from None
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise ConfigError(f"{where}.pfx_file: holds no RSA key with its certificate (signMethod 01 signs with "
                              "RSA)")
        opts: dict[str, Any] = {}
        for name, kind in (("base_url", str), ("timeout", (int, float)), ("retries", int), ("backoff", (int, float))):
            if name in section:
                if not isinstance(section[name], kind) or isinstance(section[name], bool):
                    raise ConfigError(f"{where}: key '{name}' has the wrong type ({section[name]!r})")
                opts[name] = section[name]
        if "verify_cert_file" in section:
            paths = section["verify_cert_file"]
            paths = [paths] if isinstance(paths, str) else paths
            if not isinstance(paths, list) or not paths:
                raise ConfigError(f"{where}: key 'verify_cert_file' must name a file or a list of files")
            opts["verify_certs"] = tuple(_cert(read("verify_cert_file", p), f"{where}.verify_cert_file ({p})")
                                         for p in paths)
        return cls(mer_id, key, cert, _cert(read("root_cert_file"), f"{where}.root_cert_file"),
                   _cert(read("middle_cert_file"), f"{where}.middle_cert_file"), **opts)


def _cert(data: bytes, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise ConfigError(f"{what}: not a readable X.509 certificate ({e})") from None


# -- the message format ---------------------------------------------------------------------------------------------

def signing_text(fields: Mapping[str, str]) -> str:
    """The text acpsdk signs: every field but ``signature``, sorted by name, as ``k=v`` joined with '&'."""
    return "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "signature")


def _digest_hex(fields: Mapping[str, str], encoding: str = "utf-8") -> bytes:
    # the text's bytes in the message's ``encoding`` (acpsdk's sha256X16(data, encoding)): UTF-8, or GBK for a
    # notification whose request said encoding=GBK
    return hashlib.sha256(signing_text(fields).encode(encoding)).hexdigest().encode("ascii")


def sign(fields: Mapping[str, str], key: rsa.RSAPrivateKey, cert: x509.Certificate) -> dict[str, str]:
    """``fields`` with certId and signature (5.1.0, signMethod 01)."""
    out = {**fields, "certId": str(cert.serial_number)}
    out["signature"] = base64.b64encode(key.sign(_digest_hex(out), padding.PKCS1v15(), hashes.SHA256())).decode()
    return out


def parse_answer(text: str) -> dict[str, str]:
    """acpsdk's ``parseQString``: ``k=v&…`` as sent, not URL-decoded; the first '=' ends a key (an '&' before it
    ends a key without value: ""); an '&' ends a value unless inside {…} or […], which run to the first matching
    close (not counted: "{a{b}c&d}" ends at the first '}'); a later key wins.

    Split at '&' in C; only a value holding '{' or '[' is read further (``_value_end``), so the work is linear and a
    value of tens of MB (``fileContent``) is never walked character by character in Python."""
    out: dict[str, str] = {}
    pieces = text.split("&")
    k = at = 0  # the piece read next and where it starts in ``text``
    while k < len(pieces):
        key, eq, value = pieces[k].partition("=")  # (no '=': a key without value, "")
        if eq and ("{" in value or "[" in value):  # an '&' inside {…} or […] is the value's
            start = at + len(key) + 1
            end = _value_end(text, start)
            value = text[start:end]
            while at <= end:  # past the pieces the value spans
                at += len(pieces[k]) + 1
                k += 1
        else:
            at += len(pieces[k]) + 1
            k += 1
        out[key] = value
    out.pop("", None)
    return out


#: a value: runs of anything but '&', '{' and '['; a {…} or […] to its first close (or, unclosed, to the end of the
#: text) with whatever '&' it holds. Possessive (no backtracking): one pass in C
_VALUE = re.compile(r"(?:[^&{\[]++|\{[^}]*+(?:\}|\Z)|\[[^\]]*+(?:\]|\Z))*+")


def _value_end(text: str, start: int) -> int:
    """Where the value starting at ``start`` ends: the first '&' outside {…} and […], or the end of ``text``."""
    return _VALUE.match(text, start).end()


def check_answer_cert(pem: str, root: x509.Certificate, middle: x509.Certificate,
                      now: dt.datetime | None = None) -> x509.Certificate:
    """The answer's signPubKeyCert when it is UnionPay's: within validity, issued by ``middle`` (itself valid and
    issued by ``root``), subject CN naming 中国银联股份有限公司; else ValueError saying which."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ValueError("signPubKeyCert is not a PEM certificate") from None
    for c, name in ((cert, "signPubKeyCert"), (middle, "the configured middle certificate")):
        if not c.not_valid_before_utc <= now <= c.not_valid_after_utc:
            raise ValueError(f"{name} is not valid now (valid {c.not_valid_before_utc:%Y-%m-%d} to "
                             f"{c.not_valid_after_utc:%Y-%m-%d})")
    for child, parent, link in ((cert, middle, "signPubKeyCert is not issued by the configured middle certificate"),
                                (middle, root, "the middle certificate is not issued by the configured root")):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise ValueError(link) from None
    cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    parts = str(cns[0].value).split("@") if cns else []
    if len(parts) < 3 or parts[2] != UNIONPAY_CN:
        raise ValueError(f"signPubKeyCert's subject CN {cns[0].value if cns else None!r} does not name {UNIONPAY_CN}")
    return cert


def verify_answer(fields: Mapping[str, str], root: x509.Certificate, middle: x509.Certificate,
                  now: dt.datetime | None = None, encoding: str = "utf-8") -> None:
    """ValueError unless ``fields`` carry a signPubKeyCert of UnionPay (``check_answer_cert``) whose key verifies
    their ``signature`` (SHA256withRSA over the SHA-256 hex of ``signing_text``, as bytes of ``encoding``)."""
    if not fields.get("signature") or not fields.get("signPubKeyCert"):
        raise ValueError("the answer is unsigned (no signature / signPubKeyCert)")
    cert = check_answer_cert(fields["signPubKeyCert"], root, middle, now)
    try:
        sig = base64.b64decode(fields["signature"], validate=True)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("signPubKeyCert holds no RSA key")
        key.verify(sig, _digest_hex(fields, encoding), padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, InvalidSignature, UnicodeEncodeError, LookupError):
        raise ValueError("the answer's signature does not verify with its signPubKeyCert") from None


def verify_by_cert_id(fields: Mapping[str, str], certs: Sequence[x509.Certificate], encoding: str = "utf-8") -> None:
    """ValueError unless ``fields`` (5.0.0, signMethod 01) carry a certId naming one of ``certs`` (UnionPay's
    verify-sign certificates the merchant configured, by serial number in decimal) whose key verifies their
    ``signature``: SHA1withRSA over the SHA-1 hex of ``signing_text`` as bytes of ``encoding`` (acpsdk's
    ``validate`` for 5.0.0: no certificate travels with the message, so no chain or name is checked; the configured
    certificate is the trust)."""
    if not fields.get("signature") or not fields.get("certId"):
        raise ValueError("the answer is unsigned (no signature / certId)")
    by_id = {str(c.serial_number): c for c in certs}
    cert = by_id.get(fields["certId"])
    if cert is None:
        raise ValueError(f"certId {fields['certId'][:40]!r} names none of the configured verify certificates "
                         f"(verify_cert_file: certId {', '.join(sorted(by_id))})")
    try:
        sig = base64.b64decode(fields["signature"], validate=True)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError(f"the verify certificate of certId {fields['certId']} holds no RSA key")
        digest = hashlib.sha1(signing_text(fields).encode(encoding)).hexdigest().encode("ascii")
        key.verify(sig, digest, padding.PKCS1v15(), hashes.SHA1())
    except (binascii.Error, InvalidSignature, UnicodeEncodeError, LookupError):
        raise ValueError(f"the answer's signature does not verify with the verify certificate of certId "
                         f"{fields['certId']}") from None


def _unverified(fields: Mapping[str, str]) -> str:
    """What a refused answer says of itself, marked unverified: an answer UnionPay did not sign is mostly its refusal
    of the request (its signature, certId or fields), which only its respCode and respMsg tell; nothing else of it is
    read."""
    code = fields.get("respCode", "")[:8]
    msg = fields.get("respMsg", "")[:120]
    return f"; unverified, it says respCode {code} {msg}".rstrip() if code else ""


# -- the client -----------------------------------------------------------------------------------------------------

class UnionPayFileClient:
    """Downloads one merchant's day zips; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(self, config: UnionPayConfig, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], dt.datetime] | None = None):
        self.config = config
        self._sleep = sleep
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def request_fields(self, day: dt.date) -> dict[str, str]:
        """The signed request of ``day``'s reconciliation file (settleDate = its MMDD)."""
        fields = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "76", "txnSubType": "01",
                  "bizType": "000000", "accessType": "0", "merId": self.config.mer_id, "settleDate": f"{day:%m%d}",
                  "txnTime": f"{self._clock().astimezone(_BEIJING):%Y%m%d%H%M%S}", "fileType": "00"}
        return sign(fields, self.config.sign_key, self.config.sign_cert)

    def download(self, day: dt.date) -> tuple[str, bytes]:
        """(fileName, the zip's bytes) of ``day``; NoBillThatDay on respCode 98, ChannelError on any other failure."""
        return retrying(lambda: self._once(day), retries=self.config.retries, backoff=self.config.backoff,
                        sleep=self._sleep, what=lambda cause: self._what(day, cause))

    def _once(self, day: dt.date) -> tuple[str, bytes]:
        body = urlencode(self.request_fields(day))
        try:
            resp = httpx.post(self.config.base_url, content=body, timeout=self.config.timeout,
                              headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            raise Transient(f"file-transfer URL unreachable: {exc.__class__.__name__}") from None
        if resp.status_code >= 500:
            raise Transient(f"HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise ChannelError(self._what(day, f"HTTP {resp.status_code}"))
        fields = parse_answer(resp.content.decode("utf-8", "replace").strip())
        try:
            verify_answer(fields, self.config.root_cert, self.config.middle_cert, self._clock())
        except ValueError as exc:
            said = _unverified(fields)
            raise ChannelError(self._what(day, f"answer refused, not UnionPay's: {exc}{said}")) from None
        code, msg = fields.get("respCode", ""), fields.get("respMsg", "")
        if code == NO_FILE:
            raise NoBillThatDay(self._what(day, f"no file for that settle date (respCode {code} {msg})".strip()))
        if code != "00":
            raise ChannelError(self._what(day, f"respCode {code or '(none)'} {msg}".strip()))
        for name in ("merId", "settleDate"):  # signed: the answer must be of the merchant and day asked for
            want = self.config.mer_id if name == "merId" else f"{day:%m%d}"
            if fields.get(name, want) != want:
                raise ChannelError(self._what(day, f"the answer's {name} is {fields[name]!r}, not {want!r}"))
        try:
            data = zlib.decompress(base64.b64decode(fields.get("fileContent", ""), validate=True))
        except (binascii.Error, zlib.error) as exc:
            raise ChannelError(self._what(day, f"fileContent is not base64 of a zlib stream ({exc})")) from None
        return fields.get("fileName", ""), data

    def _what(self, day: dt.date, cause: str) -> str:
        return f"unionpay: file transfer (txnType 76) merId={self.config.mer_id} settleDate={day:%m%d} ({day}): {cause}"
