"""Signed bill download through the Alipay open API.

Step 1: ``alipay.data.dataservice.bill.downloadurl.query`` (signed by python-alipay-sdk with the app's
``sign_type``, RSA2 or an older app's RSA, whose gateway is ``config.gateway_url``; the SDK also verifies
the response's signature with Alipay's public key and that same algorithm: Alipay signs its answers as
the app is set to sign); in certificate mode the request also carries app_cert_sn and alipay_root_cert_sn,
and the key is the one of Alipay's public-key certificate: ``config.AlipayConfig``; a third-party app
pulling for a merchant that authorised it sends that merchant's ``app_auth_token``). Step 2: GET
``bill_download_url`` (a zip) with httpx and check that the zip is whole. Timeouts, connection
errors, HTTP 5xx, unreadable responses and damaged zips are retried with exponential backoff; a forged response signature or a business error from Alipay
(e.g. isp.bill_not_exist) is not. Every failure ends as ``ChannelError`` naming the channel, the
method, the bill date and the last cause.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import socket
import time
import urllib.error
import zipfile
from collections.abc import Callable
from zoneinfo import ZoneInfo

import httpx
from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig as SdkConfig

from paymatch.channels.alipay.config import AlipayConfig, check_key
from paymatch.channels.retry import Transient as _Transient  # a failure worth another try
from paymatch.channels.retry import retrying
from paymatch.errors import ChannelError, NoBillThatDay
from paymatch.schema import TZ

METHOD = "alipay.data.dataservice.bill.downloadurl.query"
RESPONSE_KEY = METHOD.replace(".", "_") + "_response"
_BEIJING = ZoneInfo(TZ)


class AlipayCertChanged(Exception):
    """A certificate-mode answer names another Alipay certificate (``alipay_cert_sn``) than the configured one."""


class _AliPay(AliPay):
    """The SDK's client; in certificate mode it first compares the answer's ``alipay_cert_sn`` with the SN of the
    configured alipayCertPublicKey_RSA2.crt: when Alipay renews its certificate its answers name the new one, and
    "the signature does not verify" would read as a forgery where a certificate is to be downloaded again."""

    expected_cert_sn = ""

    def _verify_and_return_sync_response(self, raw_string, response_type):
        if self.expected_cert_sn:
            try:
                named = json.loads(raw_string).get("alipay_cert_sn")
            except (ValueError, AttributeError):
                named = None  # the SDK reports what is wrong with the answer
            if named and named != self.expected_cert_sn:
                raise AlipayCertChanged(named)
        return super()._verify_and_return_sync_response(raw_string, response_type)


def make_sdk_client(config: AlipayConfig) -> AliPay:
    """The python-alipay-sdk client for ``config``, its gateway pointed at ``config.gateway_url``; a key the SDK
    cannot read is a ConfigError naming it (the SDK's own error names neither the app nor the key)."""
    check_key(config.app_private_key_pem, True, f"alipay app {config.app_id}: app_private_key")
    check_key(config.alipay_public_key_pem, False, f"alipay app {config.app_id}: alipay_public_key")
    client = _AliPay(appid=config.app_id, app_private_key_string=config.app_private_key_pem,
                    alipay_public_key_string=config.alipay_public_key_pem, sign_type=config.sign_type,
                    config=SdkConfig(timeout=config.timeout))
    # the SDK only knows its production and sandbox gateways; the URL it calls is this attribute
    client._gateway = config.gateway_url
    if config.cert_mode:
        from paymatch.channels.alipay.certs import cert_sn

        client.expected_cert_sn = cert_sn(config.alipay_cert_pem, "Alipay public-key certificate")
    return client


class AlipayBillClient:
    """Downloads Alipay bills for one app; ``sleep`` is injectable so tests need not wait."""

    def __init__(self, config: AlipayConfig, *, sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self._sdk = make_sdk_client(config)
        self._params = config.request_params()
        self._sleep = sleep

    def query_download_url(self, bill_date: dt.date | str, bill_type: str = "trade") -> str:
        """Step 1 only: the verified ``bill_download_url`` for that day ('yyyy-MM-dd') or month ('yyyy-MM')."""
        day = _bill_date(bill_date)
        return self._retrying(day, lambda: self._query(day, bill_type))

    def download_bill(self, bill_date: dt.date | str, bill_type: str = "trade") -> bytes:
        """The bill zip for ``bill_date`` as Alipay serves it (query the URL, then download it)."""
        day = _bill_date(bill_date)
        return self._retrying(day, lambda: self._fetch_zip(self._query(day, bill_type)))

    # -- steps ------------------------------------------------------------------------------

    def _query(self, day: str, bill_type: str) -> str:
        biz = {"bill_type": bill_type, "bill_date": day}
        # Alipay wants Beijing time; the SDK would stamp the server's local time (often UTC)
        stamp = dt.datetime.now(_BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        try:
            # in certificate mode app_cert_sn and alipay_root_cert_sn, in third-party-app mode app_auth_token: signed
            # common parameters
            result = self._sdk.server_api(METHOD, biz_content=biz, timestamp=stamp, **self._params)
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise _Transient(f"HTTP {exc.code} from the gateway") from None
            raise ChannelError(self._what(day, f"HTTP {exc.code} from the gateway")) from None
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError) as exc:
            raise _Transient(f"gateway unreachable: {getattr(exc, 'reason', exc)}") from None
        except json.JSONDecodeError:
            raise _Transient("gateway answered with unreadable JSON") from None
        except AlipayCertChanged as exc:
            raise ChannelError(self._what(
                day, f"the answer is signed with Alipay certificate {exc} (alipay_cert_sn), not the configured "
                     f"one ({self._sdk.expected_cert_sn}): Alipay has renewed its public-key certificate\n"
                     "Hint: download alipayCertPublicKey_RSA2.crt again (open platform, the app's 接口加签方式) "
                     "and point alipay_cert_file at it")) from None
        except AliPayValidationError:
            raise ChannelError(self._what(day, "response signature does not verify with the Alipay public key")) \
                from None
        except AliPayException as exc:
            hint = ""
            if "isv.missing-signature-config" in str(exc):  # 应用未配置对应签名算法的公钥或者证书
                hint = (f"\nHint: app {self.config.app_id} has no key for sign_type {self.config.sign_type} on the "
                        "open platform: set the account's sign_type as its 接口加签方式 is (RSA2, or RSA for an "
                        "older app's SHA1withRSA keys), with the keys of that pair")
            raise ChannelError(self._what(day, f"gateway refused the request: {_short(str(exc))}{hint}")) from None
        if result.get("code") != "10000" or not result.get("bill_download_url"):
            cause = f"code {result.get('code')} {result.get('sub_code', '')} {result.get('sub_msg', result.get('msg', ''))}"
            if str(result.get("code")) == "20000":  # Alipay: service temporarily unavailable
                raise _Transient(cause.strip())
            if result.get("sub_code") == "isp.bill_not_exist":  # no trade that day: no bill to store
                raise NoBillThatDay(self._what(day, f"no bill for that day ({cause.strip()})"))
            if str(result.get("sub_code", "")) == "aop.invalid-app-auth-token-no-api":  # 商户未授权当前接口
                raise ChannelError(self._what(
                    day, f"{cause.strip()}\nHint: the merchant's authorisation of app {self.config.app_id} does not "
                         f"include {METHOD}: the merchant must authorise that API (the token itself is valid)"))
            if str(result.get("sub_code", "")).startswith(("aop.invalid-app-auth-token", "aop.app-auth-token")):
                raise ChannelError(self._what(
                    day, f"{cause.strip()}\nHint: the merchant's authorisation of app {self.config.app_id} is revoked, "
                         "expired or refreshed: put its current app_auth_token into the account's "
                         "app_auth_token_file|_env"))
            raise ChannelError(self._what(day, cause.strip()))
        return result["bill_download_url"]

    def _fetch_zip(self, url: str) -> bytes:
        try:
            resp = httpx.get(url, timeout=self.config.timeout, follow_redirects=True)
        except httpx.TransportError as exc:
            raise _Transient(f"bill download failed: {exc.__class__.__name__}") from None
        if resp.status_code >= 500:
            raise _Transient(f"bill download: HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise ChannelError(f"alipay: bill download answered HTTP {resp.status_code} for {url.split('?')[0]}")
        data = resp.content
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise _Transient(f"downloaded zip is damaged ({exc})") from None
        if bad is not None:
            raise _Transient(f"downloaded zip member {bad!r} fails its CRC")
        return data

    # -- plumbing ---------------------------------------------------------------------------

    def _retrying(self, day: str, step: Callable[[], object]):
        return retrying(step, retries=self.config.retries, backoff=self.config.backoff, sleep=self._sleep,
                        what=lambda cause: self._what(day, cause))

    def _what(self, day: str, cause: str) -> str:
        merchant = f" for merchant {self.config.seller_id} (app_auth_token)" if self.config.app_auth_token else ""
        return f"alipay: {METHOD} bill_date={day} app_id={self.config.app_id}{merchant}: {cause}"


def download_bill(config: AlipayConfig, bill_date: dt.date | str, bill_type: str = "trade") -> bytes:
    """One-call form of ``AlipayBillClient(config).download_bill``."""
    return AlipayBillClient(config).download_bill(bill_date, bill_type)


def _bill_date(value: dt.date | str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        (dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.strptime(value, "%Y-%m"))
    except ValueError:
        raise ChannelError(f"alipay: {METHOD}: bill_date {value!r} is neither yyyy-MM-dd nor yyyy-MM") from None
    return value


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
