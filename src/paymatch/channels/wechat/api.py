"""Signed WeChat Pay API v3 client for bill downloads (交易账单 / 资金账单).

Two steps per bill: (1) GET /v3/bill/tradebill (or /fundflowbill) returns JSON
{hash_type: 'SHA1', hash_value, download_url}; its response is signed by WeChat Pay and verified
here; (2) GET download_url (the request is signed, the file response is not -- WeChat documents
that the download skips response signatures) returns the gzip bytes. Per the API reference,
hash_value is the digest of the *original bill*, "gzip需要解压缩": the SHA1 is checked on the
decompressed CSV, not on the gzip bytes.

Requests are signed with wechatpayv3's ``build_authorization`` and responses checked with its
``rsa_verify`` (both thin wrappers over ``cryptography``); transport, retries, hashing and gunzip
are ours because the SDK does none of them. Timeouts, 5xx, truncated bodies, broken gzip, a
wrong hash and an answer carrying WeChat's signature probe (``SIGNATURE_PROBE``) are retried with
exponential backoff; then ChannelError names the channel, endpoint, bill date and last cause. Signature failures and 4xx answers are not retried.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import time
import zlib
from typing import Callable
from urllib.parse import urlencode, urlsplit

import httpx
from wechatpayv3.utils import build_authorization, rsa_verify

from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.keys import load_platform_key, load_private_key
from paymatch.errors import ChannelError, NoBillThatDay

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
#: how WeChat Pay's signature probes begin: "微信支付会在极少数应答或通知回调中生成错误签名，以探测商户系统是否正确地验证了
#: 签名" (回调签名验证失败排查指引, 情况四); such an answer is refused, as WeChat expects, and asked for again
SIGNATURE_PROBE = "WECHATPAY/SIGNTEST/"
#: seconds a signed response's Wechatpay-Timestamp may differ from our clock
RESPONSE_MAX_SKEW = 300
__all__ = ["WechatPayClient", "WechatPayConfig", "SIGNATURE_TYPE"]


class _Retryable(Exception):
    """A failure worth another attempt (server or network trouble, damaged download)."""


class WechatPayClient:
    """Downloads WeChat Pay bills through the signed API v3 (see module docstring)."""

    def __init__(self, config: WechatPayConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self._key = load_private_key(config.merchant_private_key_pem)
        self._platform = {serial: load_platform_key(pem) for serial, pem in config.platform_keys().items()}
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

    def download_bill(self, bill_date: dt.date | str, bill_type: str = "ALL", tar_type: str = "GZIP") -> bytes:
        """The trade bill of ``bill_date`` (ALL/SUCCESS/REFUND) as plain CSV bytes, SHA1-checked."""
        if bill_type not in ("ALL", "SUCCESS", "REFUND"):
            raise ValueError(f"bill_type must be ALL, SUCCESS or REFUND, not {bill_type!r}")
        query = {"bill_date": _day(bill_date), "bill_type": bill_type, "tar_type": tar_type}
        return self._with_retries("/v3/bill/tradebill", query, tar_type)

    def download_fundflow(self, bill_date: dt.date | str, account_type: str = "BASIC",
                          tar_type: str = "GZIP") -> bytes:
        """The fund-flow bill of ``bill_date`` for BASIC/OPERATION/FEES as plain CSV bytes, SHA1-checked."""
        if account_type not in ("BASIC", "OPERATION", "FEES"):
            raise ValueError(f"account_type must be BASIC, OPERATION or FEES, not {account_type!r}")
        query = {"bill_date": _day(bill_date), "account_type": account_type, "tar_type": tar_type}
        return self._with_retries("/v3/bill/fundflowbill", query, tar_type)

    # -- one attempt ---------------------------------------------------------------------------

    def _with_retries(self, path: str, query: dict[str, str], tar_type: str) -> bytes:
        what = f"GET {path} ({', '.join(f'{k}={v}' for k, v in query.items())})"
        attempts = 1 + max(0, self.config.retries)
        last: Exception | None = None
        for attempt in range(attempts):
            try:
                return self._once(f"{path}?{urlencode(query)}", tar_type, what)
            except (_Retryable, httpx.TimeoutException, httpx.TransportError) as exc:
                last = exc
                if attempt + 1 < attempts:
                    self._sleep(min(self.config.backoff_max, self.config.backoff_base * 2 ** attempt))
        raise ChannelError(f"wechat: {what} failed after {attempts} attempt(s): "
                           f"{type(last).__name__}: {last}")

    def _once(self, path_query: str, tar_type: str, what: str) -> bytes:
        resp = self._get(path_query)
        self._check_status(resp, what)
        self._verify(resp, what)
        try:
            meta = json.loads(resp.content)
            hash_type, hash_value, url = meta["hash_type"], meta["hash_value"], meta["download_url"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ChannelError(f"wechat: {what}: unexpected answer {resp.text[:200]!r}") from exc
        if str(hash_type).upper() != "SHA1":
            raise ChannelError(f"wechat: {what}: unsupported hash_type {hash_type!r}")
        file_resp = self._get(self._same_origin_path(url, what))
        self._check_status(file_resp, what + " download")
        data = file_resp.content
        if tar_type == "GZIP":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise _Retryable(f"downloaded gzip is damaged ({exc})") from exc
        got = hashlib.sha1(data).hexdigest()
        if got.lower() != str(hash_value).lower():
            raise _Retryable(f"SHA1 of the bill {got} != hash_value {hash_value}")
        return data

    def _get(self, path_query: str) -> httpx.Response:
        c = self.config
        auth = build_authorization(path_query, "GET", c.mchid, c.merchant_serial_no, self._key)
        # Wechatpay-Serial names the key WeChat is to sign its answer with: a merchant switching from the platform
        # certificate to the WeChat Pay public key gets answers signed with the certificate without it (helper-51)
        return self._http.get(path_query, headers={
            "Authorization": auth, "Accept": "application/json", "User-Agent": "paymatch",
            "Wechatpay-Serial": c.platform_key_id})

    def _same_origin_path(self, url: str, what: str) -> str:
        # the Authorization header must never travel to a host other than the configured gateway
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (self._origin.scheme, self._origin.netloc):
            raise ChannelError(f"wechat: {what}: download_url {url!r} is not on {self.config.base_url}")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    @staticmethod
    def _check_status(resp: httpx.Response, what: str) -> None:
        if resp.status_code >= 500 or resp.status_code == 429:
            raise _Retryable(f"HTTP {resp.status_code} {resp.text[:200]}")
        if resp.status_code >= 300:
            try:
                err = resp.json()
                detail = f"{err.get('code')}: {err.get('message')}"
            except ValueError:
                detail = resp.text[:200]
            if detail.startswith("NO_STATEMENT_EXIST:"):
                raise NoBillThatDay(f"wechat: {what}: no bill for that day ({detail})")
            raise ChannelError(f"wechat: {what}: HTTP {resp.status_code} {detail}")

    def _verify(self, resp: httpx.Response, what: str) -> None:
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
        key = self._platform.get(serial)
        if key is None:
            raise ChannelError(f"wechat: {what}: response signed with unknown key {serial!r} "
                               f"(configured {', '.join(map(repr, self._platform))})")
        try:
            body = resp.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ChannelError(f"wechat: {what}: response body is not UTF-8") from exc
        if not rsa_verify(ts, nonce, body, sig, key):
            raise ChannelError(f"wechat: {what}: response signature is invalid")


def _day(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else dt.date.fromisoformat(value).isoformat()
