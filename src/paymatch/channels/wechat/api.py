"""Signed WeChat Pay API v3 client for bill downloads (交易账单 / 资金账单).

Two steps per bill: (1) GET /v3/bill/tradebill (or /fundflowbill) returns JSON
{hash_type: 'SHA1', hash_value, download_url}; its response is signed by WeChat Pay and verified
here; (2) GET download_url (the request is signed, the file response is not -- WeChat documents
that the download skips response signatures) returns the gzip bytes. A service provider (服务商) asks
for one sub-merchant's trade bill with ``sub_mchid``, and for its fund-flow bill through
/v3/bill/sub-merchant-fundflowbill, whose files come AES-256-GCM encrypted
(``download_sub_merchant_fundflow``). Per the API reference,
hash_value is the digest of the *original bill*, "gzip需要解压缩": the SHA1 is checked on the
decompressed CSV, not on the gzip bytes.

Requests are signed with wechatpayv3's ``build_authorization`` and responses checked with its
``rsa_verify`` (both thin wrappers over ``cryptography``); transport, retries, hashing and gunzip
are ours because the SDK does none of them. Timeouts, 5xx, truncated bodies, broken gzip, a
wrong hash and an answer carrying WeChat's signature probe (``SIGNATURE_PROBE``) are retried with
exponential backoff; then ChannelError names the channel, endpoint, bill date and last cause. Signature failures
and 4xx answers are not retried; a signed 4xx is verified too (``_check_status``).

An account in platform-certificate mode (``platform_cert_dir``) has its answers checked with the certificate of that
folder their Wechatpay-Serial names; ``platform_certificates`` fetches the list (GET /v3/certificates) that
``paymatch wechat-certs`` (certs.py) fills the folder from.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import gzip
import hashlib
import json
import time
import zlib
from typing import Callable
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3.utils import build_authorization, rsa_verify

from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.keys import certs_hint, load_platform_key, load_private_key
from paymatch.errors import ChannelError, ConfigError, NoBillThatDay

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
#: how WeChat Pay's signature probes begin: "微信支付会在极少数应答或通知回调中生成错误签名，以探测商户系统是否正确地验证了
#: 签名" (回调签名验证失败排查指引, 情况四); such an answer is refused, as WeChat expects, and asked for again
SIGNATURE_PROBE = "WECHATPAY/SIGNTEST/"
#: seconds a signed response's Wechatpay-Timestamp may differ from our clock
RESPONSE_MAX_SKEW = 300
#: WeChat Pay's API v3 domains: the main one (就近接入点) and the backup (备域名, 异地接入点); either may hand out
#: download URLs on the other
WECHATPAY_API_HOSTS = ("api.mch.weixin.qq.com", "api2.mch.weixin.qq.com")
#: the encryption asked for a sub-merchant's fund-flow bill (the other value, SM4_GCM, needs a national-crypto stack)
BILL_ALGORITHM = "AEAD_AES_256_GCM"
#: how WeChat encrypts a bill file's key with the merchant certificate's public key
#: (RSA/ECB/OAEPWithSHA-1AndMGF1Padding, as for its other encrypted fields)
_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
__all__ = ["WechatPayClient", "WechatPayConfig", "SIGNATURE_TYPE"]


class UnknownPlatformSerial(ChannelError):
    """An answer signed with a platform certificate the account's ``platform_cert_dir`` does not hold (valid)."""

    def __init__(self, message: str, serial: str):
        self.serial = serial
        super().__init__(message)


class _Retryable(Exception):
    """A failure worth another attempt (server or network trouble, damaged download)."""


class WechatPayClient:
    """Downloads WeChat Pay bills through the signed API v3 (see module docstring)."""

    def __init__(self, config: WechatPayConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, require_platform_key: bool = True):
        """``require_platform_key=False`` is for ``paymatch wechat-certs``'s first download only (a certificate
        folder still empty): every other answer needs a key WeChat's signature is checked with."""
        self.config = config
        self._key = load_private_key(config.merchant_private_key_pem)
        self._platform = {serial: load_platform_key(pem) for serial, pem in config.platform_keys().items()}
        self._folder = config.cert_folder()
        # the certificate named in requests' Wechatpay-Serial: the configured key, else the folder's newest
        self._serial = config.platform_key_id
        if not self._serial and self._folder is not None:
            try:
                self._serial = next(iter(self._folder.valid()), "")
            except ConfigError as exc:  # a damaged file: this account fails in pull, the others are still pulled
                raise ChannelError(str(exc)) from None
        if require_platform_key and not self._platform and not self._serial:
            # a ChannelError, not a ConfigError: pull reports this account as failed and still pulls the others
            raise ChannelError(f"wechat account {config.mchid}: platform_cert_dir {config.platform_cert_dir} holds no "
                              f"platform certificate valid now: {certs_hint(config.mchid)} (it downloads WeChat "
                              "Pay's platform certificates into that folder)")
        self._origin = urlsplit(config.base_url.rstrip("/"))
        self._http = httpx.Client(base_url=config.base_url.rstrip("/"), timeout=config.timeout,
                                  transport=transport, follow_redirects=False)
        self._sleep = sleep

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> WechatPayClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def download_bill(self, bill_date: dt.date | str, bill_type: str = "ALL", tar_type: str = "GZIP", *,
                      sub_mchid: str | None = None) -> bytes:
        """The trade bill of ``bill_date`` (ALL/SUCCESS/REFUND) as plain CSV bytes, SHA1-checked; a service
        provider's ``sub_mchid`` asks for that sub-merchant's bill only (申请交易账单: without it the provider gets
        the full bill of all its sub-merchants)."""
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise ValueError(f"bill_type must be ALL, SUCCESS or REFUND, not {bill_type!r}")
        query = {"bill_date": _day(bill_date), **({"sub_mchid": sub_mchid} if sub_mchid else {}),
                 "bill_type": bill_type, "tar_type": tar_type}
        return self._with_retries("/v3/bill/tradebill", query,
                                  lambda meta, what: self._plain_file(meta, tar_type, what))

    def download_fundflow(self, bill_date: dt.date | str, account_type: str = "BASIC",
                          tar_type: str = "GZIP") -> bytes:
        """The fund-flow bill of ``bill_date`` for BASIC/OPERATION/FEES as plain CSV bytes, SHA1-checked."""
        _check_account_type(account_type)
        query = {"bill_date": _day(bill_date), "account_type": account_type, "tar_type": tar_type}
        return self._with_retries("/v3/bill/fundflowbill", query,
                                  lambda meta, what: self._plain_file(meta, tar_type, what))

    def download_sub_merchant_fundflow(self, sub_mchid: str, bill_date: dt.date | str, account_type: str = "BASIC",
                                       tar_type: str = "GZIP") -> bytes:
        """A sub-merchant's fund-flow bill (申请单个子商户资金账单, service providers only) as plain CSV bytes.

        The answer lists the files (``download_bill_list``, one per ``bill_sequence``: WeChat splits a bill above
        about 16 GB uncompressed); each is encrypted with AEAD_AES_256_GCM under its own key, which comes
        RSA-OAEP-encrypted with the merchant certificate's public key (``encrypt_key``), so only the merchant private
        key opens it. Per 下载单个子商户/二级商户资金账单 (文件分割和合并) the files, once decrypted, are joined in
        bill_sequence order (numbered from 1) "为完整的资金账单文件": pieces of one bill, not bills of their own (one
        header, one summary, a cut anywhere). Each file is decrypted, gunzipped ("先解密、再解压"), SHA1-checked against
        its own hash_value ("原始账单(gzip需要解压缩)的摘要值") and the pieces joined; numbers other than 1..count are
        refused."""
        _check_account_type(account_type)
        query = {"sub_mchid": sub_mchid, "bill_date": _day(bill_date), "account_type": account_type,
                 "algorithm": BILL_ALGORITHM, "tar_type": tar_type}
        return self._with_retries("/v3/bill/sub-merchant-fundflowbill", query,
                                  lambda meta, what: self._encrypted_files(meta, tar_type, what))

    def platform_certificates(self, answer_keys: Callable[[dict], dict[str, RSAPublicKey]] | None = None) -> dict:
        """获取平台证书列表 (GET /v3/certificates): the answer's JSON ``{"data": [...]}``, its signature checked.

        With ``answer_keys`` (a first download, no key trusted yet) the signature is checked with a key the answer
        itself carries (``answer_keys(answer)``: serial -> key of the certificates it holds, once decrypted with the
        APIv3 key); otherwise with the configured key and certificate folder only."""
        return self._with_retries("/v3/certificates", {}, lambda meta, what: meta, answer_keys)

    # -- one attempt ---------------------------------------------------------------------------

    def _with_retries(self, path: str, query: dict[str, str], fetch: Callable[[dict, str], bytes],
                      answer_keys: Callable[[dict], dict[str, RSAPublicKey]] | None = None) -> bytes:
        what = f"GET {path}" + (f" ({', '.join(f'{k}={v}' for k, v in query.items())})" if query else "")
        attempts = 1 + max(0, self.config.retries)
        last: Exception | None = None
        for attempt in range(attempts):
            try:
                return self._once(f"{path}?{urlencode(query)}" if query else path, fetch, what, answer_keys)
            except (_Retryable, httpx.TimeoutException, httpx.TransportError) as exc:
                last = exc
                if attempt + 1 < attempts:
                    self._sleep(min(self.config.backoff_max, self.config.backoff_base * 2 ** attempt))
        raise ChannelError(f"wechat: {what} failed after {attempts} attempt(s): "
                           f"{type(last).__name__}: {last}")

    def _once(self, path_query: str, fetch: Callable[[dict, str], bytes], what: str,
              answer_keys: Callable[[dict], dict[str, RSAPublicKey]] | None = None) -> bytes:
        resp = self._get(path_query)
        # a first certificate download trusts no key yet: an error answer (which carries no certificate to check it
        # with) is an error as it stands, WeChat's reason shown, not one "signed by a certificate the folder lacks"
        self._check_status(resp, what, signed_4xx=answer_keys is None)
        if answer_keys is None:
            self._verify(resp, what)
        try:
            meta = json.loads(resp.content)
            if not isinstance(meta, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError) as exc:
            raise ChannelError(f"wechat: {what}: unexpected answer {resp.text[:200]!r}") from exc
        if answer_keys is not None:  # a first download: the key is in the answer (decrypted, then trusted)
            self._verify(resp, what, answer_keys(meta))
        return fetch(meta, what)

    def _plain_file(self, meta: dict, tar_type: str, what: str) -> bytes:
        """Step 2 of a trade / fund-flow bill: the file at ``download_url``, unzipped and SHA1-checked."""
        try:
            hash_type, hash_value, url = meta["hash_type"], meta["hash_value"], meta["download_url"]
        except KeyError as exc:
            raise ChannelError(f"wechat: {what}: unexpected answer (no {exc}) {json.dumps(meta)[:200]!r}") from exc
        return self._checked(self._download(url, what), tar_type, hash_type, hash_value, what)

    def _encrypted_files(self, meta: dict, tar_type: str, what: str) -> bytes:
        """Step 2 of a sub-merchant fund-flow bill: every listed file, decrypted, unzipped, checked, in order."""
        try:
            entries = sorted(meta["download_bill_list"], key=lambda e: int(e["bill_sequence"]))
            count = int(meta.get("download_bill_count", len(entries)))
            parts = [(int(e["bill_sequence"]), e["download_url"], e["encrypt_key"], e["nonce"], e["hash_type"],
                      e["hash_value"]) for e in entries]
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelError(f"wechat: {what}: unexpected answer {json.dumps(meta)[:200]!r}") from exc
        if not parts or count != len(parts):
            raise ChannelError(f"wechat: {what}: download_bill_count {count} but {len(parts)} file(s) listed")
        # the files are pieces of one bill joined in this order ("起始值为1"): a number twice or one missing would join
        # a piece twice or leave one out, a bill refused later (if at all) as merely truncated
        sequences = [p[0] for p in parts]
        if sequences != list(range(1, count + 1)):
            raise ChannelError(f"wechat: {what}: the listed files have bill_sequence {sequences}, not 1..{count}: "
                               "the bill cannot be put together")
        out = []
        for seq, url, encrypt_key, nonce, hash_type, hash_value in parts:
            label = f"file {seq} of {count} (bill_sequence {seq})" if count > 1 else ""
            part, at = (f"{what}: {label}", f"{label}: ") if label else (what, "")
            try:
                key = self._key.decrypt(base64.b64decode(encrypt_key), _OAEP)
            except (ValueError, binascii.Error) as exc:
                # not retried: another attempt brings a key for the same (wrong) merchant certificate
                raise ChannelError(f"wechat: {part}: encrypt_key does not open with the merchant private key "
                                   f"(is merchant_serial_no the certificate of this key?)") from exc
            if len(key) != 32:
                raise ChannelError(f"wechat: {part}: encrypt_key is {len(key)} bytes, not an AES-256 key")
            ciphertext = self._download(url, part)
            try:
                data = AESGCM(key).decrypt(str(nonce).encode(), ciphertext, b"")
            except InvalidTag as exc:  # GCM's tag is the file's integrity check: a damaged or cut download
                raise _Retryable(f"{at}downloaded bill does not decrypt (AEAD_AES_256_GCM tag mismatch)") from exc
            out.append(self._checked(data, tar_type, hash_type, hash_value, part, name=label))
        # not CSVs of their own: the header is in the first piece, the summary in the last, and a cut may fall inside
        # a line or a character; so the pieces are joined as bytes, and only the whole is read as a bill
        return b"".join(out)

    def _download(self, url: str, what: str) -> bytes:
        file_resp = self._get(self._download_target(url, what))
        self._check_status(file_resp, what + " download", signed_4xx=False)
        return file_resp.content

    @staticmethod
    def _checked(data: bytes, tar_type: str, hash_type: object, hash_value: object, what: str,
                 name: str = "") -> bytes:
        """``data`` unzipped and SHA1-checked; ``name`` says which file of a split bill a retried failure was of."""
        at = f"{name}: " if name else ""
        if str(hash_type).upper() != "SHA1":
            raise ChannelError(f"wechat: {what}: unsupported hash_type {hash_type!r}")
        if tar_type == "GZIP":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise _Retryable(f"{at}downloaded gzip is damaged ({exc})") from exc
        got = hashlib.sha1(data).hexdigest()
        if got.lower() != str(hash_value).lower():
            raise _Retryable(f"{at}SHA1 of the bill {got} != hash_value {hash_value}")
        return data

    def _get(self, path_query: str) -> httpx.Response:
        """GET a path on the gateway, or a whole URL on WeChat's other API domain (``_download_target``); the
        signature covers the path and query only, as WeChat's canonical request does."""
        c = self.config
        auth = build_authorization(_path_query(urlsplit(path_query)), "GET", c.mchid, c.merchant_serial_no, self._key)
        # Wechatpay-Serial names the key WeChat is to sign its answer with: a merchant switching from the platform
        # certificate to the WeChat Pay public key gets answers signed with the certificate without it (helper-51)
        headers = {"Authorization": auth, "Accept": "application/json", "User-Agent": "paymatch"}
        if self._serial:  # none before the first certificate download
            headers["Wechatpay-Serial"] = self._serial
        return self._http.get(path_query, headers=headers)

    def _download_target(self, url: str, what: str) -> str:
        """What to GET for a ``download_url``: its path on the configured gateway, or the whole URL when it is on
        WeChat Pay's other API domain. The Authorization header must never travel to anyone but WeChat Pay: a
        merchant on the backup domain (api2.mch.weixin.qq.com, 备域名) is handed download URLs on the main one, and
        the reverse may happen too; both are WeChat's, over HTTPS. Any other host is refused."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) == (self._origin.scheme, self._origin.netloc):
            return _path_query(parts)
        if (self._origin.scheme, parts.scheme) == ("https", "https") and {self._origin.netloc, parts.netloc} <= \
                set(WECHATPAY_API_HOSTS):
            return url
        raise ChannelError(f"wechat: {what}: download_url {url!r} is not on {self.config.base_url}"
                           + (" nor on WeChat Pay's other API domain" if self._origin.netloc in WECHATPAY_API_HOSTS
                              else ""))

    def _check_status(self, resp: httpx.Response, what: str, *, signed_4xx: bool = True) -> None:
        """Refuse a non-2xx answer; 5xx and 429 are retried. WeChat signs every answer to a request whose signature
        it accepted, errors included ("对于签名验证成功的请求，微信支付API v3会使用微信支付的平台私钥对应答进行签名"), and
        asks that every signed answer be verified; a 401 for a bad request signature comes unsigned. So a signed
        4xx is verified like a 2xx (a forged one is refused), an unsigned one is still an error, but never "no
        bill that day": that answer makes ``pull`` store nothing and exit 0, so it must be WeChat's (a forged or
        stripped NO_STATEMENT_EXIST would silently skip a day's bill). The file download's answers are never
        signed, and a first certificate download has no key to check one with (``signed_4xx=False``)."""
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retryable(f"HTTP {resp.status_code} {resp.text[:200]}")
        if resp.status_code >= 300:
            try:
                err = resp.json()
                detail = f"{err.get('code')}: {err.get('message')}"
            except (ValueError, AttributeError):
                detail = resp.text[:200]
            signed = signed_4xx and bool(resp.headers.get("Wechatpay-Signature"))
            if signed:
                self._verify(resp, what)
            if detail.startswith("NO_STATEMENT_EXIST:"):
                if not signed:
                    raise ChannelError(f"wechat: {what}: HTTP {resp.status_code} {detail}, but the answer is not "
                                       "signed: not taken as 'no bill for that day'")
                raise NoBillThatDay(f"wechat: {what}: no bill for that day ({detail})")
            raise ChannelError(f"wechat: {what}: HTTP {resp.status_code} {detail}")

    def _verify(self, resp: httpx.Response, what: str, keys: dict[str, RSAPublicKey] | None = None) -> None:
        """Check an answer's signature with the key its Wechatpay-Serial names: one of ``keys`` (a first certificate
        download), else the configured platform key or a valid certificate of the account's folder."""
        h = resp.headers
        sig, ts, nonce, serial = (h.get("Wechatpay-Signature"), h.get("Wechatpay-Timestamp"),
                                  h.get("Wechatpay-Nonce"), h.get("Wechatpay-Serial"))
        if not (sig and ts and nonce and serial):
            raise ChannelError(f"wechat: {what}: response is not signed (Wechatpay-* headers missing)")
        if h.get("Wechatpay-Signature-Type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise ChannelError(f"wechat: {what}: unsupported signature type {h.get('Wechatpay-Signature-Type')}")
        if not ts.isdigit() or abs(time.time() - int(ts)) > RESPONSE_MAX_SKEW:
            # an old, validly signed answer replayed by a man in the middle
            raise ChannelError(f"wechat: {what}: response timestamp {ts!r} is not within 5 minutes of now")
        if sig.startswith(SIGNATURE_PROBE):  # refused (never verified); the next answer is genuinely signed
            raise _Retryable("answer carries a WeChat Pay signature probe (WECHATPAY/SIGNTEST/), refused")
        key = keys.get(serial) if keys is not None else self._platform.get(serial)
        if key is None and keys is None and self._folder is not None:
            try:
                key = self._folder.key(serial)
            except ConfigError as exc:
                raise ChannelError(str(exc)) from None
        if key is None and keys is not None:
            raise ChannelError(f"wechat: {what}: response signed with key {serial!r}, none of the certificates the "
                               f"answer carries ({', '.join(map(repr, keys)) or 'none valid now'})")
        if key is None and self._folder is not None:
            held = self._folder.certificate(serial)
            state = (f"its certificate there expired on {held.not_valid_after_utc:%Y-%m-%d}" if held is not None
                     else "no certificate of that serial there")
            raise UnknownPlatformSerial(
                f"wechat account {self.config.mchid}: {what}: response signed with platform certificate {serial!r}, "
                f"not in platform_cert_dir {self.config.platform_cert_dir} ({state}): WeChat Pay may have rotated "
                f"its platform certificate; {certs_hint(self.config.mchid)}", serial)
        if key is None:
            raise ChannelError(f"wechat: {what}: response signed with unknown key {serial!r} "
                               f"(configured {', '.join(map(repr, self._platform))})")
        try:
            body = resp.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelError(f"wechat: {what}: response body is not UTF-8") from exc
        if not rsa_verify(ts, nonce, body, sig, key):
            raise ChannelError(f"wechat: {what}: response signature is invalid")


def _path_query(parts) -> str:
    """A split URL's path and query: what a request's signature covers, and what is asked of the gateway."""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _check_account_type(account_type: str) -> None:
    """A fund-flow bill's account (资金账户): BASIC, OPERATION or FEES."""
    if account_type not in ("BASIC", "OPERATION", "FEES"):
        raise ValueError(f"account_type must be BASIC, OPERATION or FEES, not {account_type!r}")


def _day(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else dt.date.fromisoformat(value).isoformat()
