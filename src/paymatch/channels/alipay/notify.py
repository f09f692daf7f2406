"""Alipay asynchronous notifications (异步通知) -> one canonical transaction, verified.

Alipay POSTs form fields (trade_status_sync). Accepting one means, in order:
1. ``sign`` verifies over the sorted ``k=v`` params without ``sign`` and ``sign_type`` (Alipay's 异步通知验签),
   with Alipay's public key and the algorithm of the app's configured ``sign_type``: RSA2 (SHA256withRSA), or
   RSA (SHA1withRSA) for an older app configured so; a ``sign_type`` other than the configured one is refused
   before any signature is looked at (an RSA2 app takes no SHA1 signature: a downgrade);
2. ``app_id`` is ours (and ``seller_id`` too when the config names one);
3. ``notify_id`` was not accepted before (replays are rejected; a notification whose handling
   failed is forgotten again so that Alipay's own retry is accepted);
4. the fields map cleanly: trade_status TRADE_SUCCESS / TRADE_FINISHED -> payment success,
   TRADE_CLOSED -> closed, WAIT_BUYER_PAY -> processing; a notification carrying refund_fee /
   gmt_refund / out_biz_no is a refund (amount refund_fee, refund_no out_biz_no, success);
   fund_bill_list with fundChannel PCREDIT -> method 'huabei'.
Anything else raises ChannelError naming the channel and the notification id.

In a refund notification Alipay's ``refund_fee`` is the trade's *total* refunded so far: the row keeps it in
``extra`` (``refunded_total_fen``) and the workspace stores the refund's own amount, the total less the trade's
refunds before it (``Workspace.restate_refund_totals``); the bill's 退款 row (one per refund) replaces it.
A resent notification already accepted is answered "success" again (``NotificationAlreadyAccepted``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

import pyarrow as pa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from paymatch.channels.alipay.config import AlipayConfig, check_key
from paymatch.errors import ChannelError, ConfigError
from paymatch.money import parse_yuan
from paymatch.schema import TRANSACTION_ARROW, TZ, YEARS

STATUS = {"TRADE_SUCCESS": "success", "TRADE_FINISHED": "success", "TRADE_CLOSED": "closed",
          "WAIT_BUYER_PAY": "processing"}
REFUND_MARKERS = ("refund_fee", "gmt_refund", "out_biz_no")
#: sign_type -> the digest Alipay signs with (PKCS#1 v1.5 padding both)
DIGESTS = {"RSA2": hashes.SHA256, "RSA": hashes.SHA1}
_LOCAL = ZoneInfo(TZ)


class NotificationAlreadyAccepted(ChannelError):
    """A genuine notification accepted before: Alipay resends one (same notify_id) until it reads "success", so a
    resend after a lost answer is answered "success" again, and nothing is stored twice."""


class AlipayNotifyVerifier:
    """Verifies notifications for the configured apps (one, or several ``[[channels.alipay]]``: a notification is
    checked with the public key of the app its ``app_id`` names) and remembers the last ``remember`` accepted
    notify_ids."""

    def __init__(self, config: AlipayConfig | Sequence[AlipayConfig], *, remember: int = 100_000):
        configs = [config] if isinstance(config, AlipayConfig) else list(config)
        self.config = configs[0]
        self._apps: dict[str, tuple[AlipayConfig, object]] = {}
        # the seller_ids an app's notifications may name: a third-party app is configured once per merchant that
        # authorised it (app_auth_token), the same app_id each time; None: not checked (an account names none)
        self._sellers: dict[str, set[str] | None] = {}
        for c in configs:
            if c.app_id in self._apps:
                first = self._apps[c.app_id][0]
                if not (c.app_auth_token or first.app_auth_token) or \
                        c.alipay_public_key_pem != first.alipay_public_key_pem or c.sign_type != first.sign_type:
                    raise ConfigError(f"alipay: app_id {c.app_id} is configured twice")
            else:
                # the app's private key is checked too, as by the SDK client pull makes: a bad one fails at start
                check_key(c.app_private_key_pem, True, f"alipay app {c.app_id}: app_private_key")
                self._apps[c.app_id] = (c, check_key(c.alipay_public_key_pem, False,
                                                     f"alipay app {c.app_id}: alipay_public_key"))
                self._sellers[c.app_id] = set()
            sellers = self._sellers[c.app_id]
            if sellers is not None:
                self._sellers[c.app_id] = sellers | {c.seller_id} if c.seller_id else None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()

    def verify(self, params: Mapping[str, str]) -> pa.Table:
        """Check ``params`` (the POSTed form) and return a one-row ``TRANSACTION_ARROW`` table."""
        nid = params.get("notify_id") or "?"
        fail = _failer(nid)
        sign = params.get("sign")
        if not sign:
            raise fail("no sign")
        app = self._apps.get(params.get("app_id") or "")
        if app is None:
            raise fail(f"app_id {params.get('app_id')!r} is not ours")
        config, public_key = app
        # the algorithm is the app's, as configured, never the one the notification names: it only has to agree
        # (absent, the configured one is meant: Alipay always sends it)
        claimed = params.get("sign_type") or config.sign_type
        if claimed != config.sign_type:
            raise fail(f"sign_type {claimed!r} is not the sign_type app {config.app_id} is configured with "
                       f"({config.sign_type}): refused (an RSA2 app takes no SHA1withRSA signature; an app Alipay "
                       "now signs for otherwise needs its sign_type and Alipay public key set anew)")
        unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
        if not _signed(public_key, DIGESTS[config.sign_type], unsigned, sign):
            raise fail(f"signature does not verify with the Alipay public key ({config.sign_type})")
        # seller_id is optional in a notification: checked when it is there (the signature and app_id already are)
        sellers = self._sellers[config.app_id]
        if sellers and params.get("seller_id") and params["seller_id"] not in sellers:
            raise fail(f"seller_id {params.get('seller_id')!r} is not ours")
        if nid == "?":
            raise fail("no notify_id")
        table = to_transaction(params)
        with self._lock:
            if nid in self._seen:
                raise NotificationAlreadyAccepted(f"alipay: notification {nid}: already accepted")
            self._seen[nid] = None
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return table

    def forget(self, notify_id: str) -> None:
        """Drop an accepted notify_id (its handling failed, so Alipay's retry must be accepted)."""
        with self._lock:
            self._seen.pop(notify_id, None)


def _signed(public_key, digest, unsigned: Mapping[str, str], sign: str) -> bool:
    """``sign`` (base64) over the sorted ``k=v`` pairs, as bytes of the notification's own ``charset``: Alipay signs
    a GBK notification's GBK bytes (python-alipay-sdk's ``verify`` encoded UTF-8, so Chinese fields such as
    ``subject`` of a GBK notification never verified with it). False for anything that does not verify."""
    charset = (unsigned.get("charset") or "utf-8").lower()
    try:
        message = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items())).encode(charset)
        public_key.verify(base64.b64decode(sign), message, padding.PKCS1v15(), digest())
    except (InvalidSignature, ValueError, TypeError, LookupError):
        return False
    return True


def _failer(nid: str):
    return lambda why: ChannelError(f"alipay: notification {nid}: {why}")


def _time(value: str | None, fail, name: str) -> dt.datetime | None:
    if not value:
        return None
    # gmt_refund carries milliseconds ("2015-04-28 15:45:57.320"), the other times do not
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in value else "%Y-%m-%d %H:%M:%S"
    try:
        local = dt.datetime.strptime(value, fmt).replace(tzinfo=_LOCAL)
    except ValueError:
        raise fail(f"{name} {value!r} is not yyyy-MM-dd HH:mm:ss[.SSS]") from None
    if not YEARS[0] <= local.year < YEARS[1]:
        raise fail(f"{name} {value!r} is not a time of a payment: outside the years {YEARS[0]}–{YEARS[1] - 1}")
    return local.astimezone(dt.UTC)


def _fen(params: Mapping[str, str], name: str, fail) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        fen = parse_yuan(value)
    except ValueError as exc:
        raise fail(f"{name}: {exc}") from None
    if fen < 0:
        raise fail(f"{name} {value!r} is below zero")
    return fen


def _method(params: Mapping[str, str], fail) -> str:
    raw = params.get("fund_bill_list")
    if not raw:
        return "alipay"
    try:
        funds = json.loads(raw)
    except json.JSONDecodeError:
        raise fail("fund_bill_list is not JSON") from None
    if not isinstance(funds, list):
        raise fail(f"fund_bill_list {raw[:80]!r} is not a JSON list")
    channels = {str(f.get("fundChannel") or f.get("fund_channel") or "") for f in funds if isinstance(f, dict)}
    return "huabei" if "PCREDIT" in channels else "alipay"


def to_transaction(params: Mapping[str, str]) -> pa.Table:
    """Map verified notification params to a one-row canonical table (no signature check here)."""
    nid = params.get("notify_id") or "?"
    fail = _failer(nid)
    status = STATUS.get(params.get("trade_status", ""))
    if status is None:
        raise fail(f"unknown trade_status {params.get('trade_status')!r}")
    if not params.get("trade_no") and not params.get("out_trade_no"):
        raise fail("neither trade_no nor out_trade_no")
    refund = any(params.get(k) for k in REFUND_MARKERS)
    row = {
        "channel": "alipay", "merchant_id": params.get("seller_id") or None,
        "channel_tx_id": params.get("trade_no") or None, "order_no": params.get("out_trade_no") or None,
        "fee_fen": None, "bill_date": None, "method": _method(params, fail),
        "src_file": f"notify:alipay:{nid}", "src_line": None,
    }
    if refund:
        amount = _fen(params, "refund_fee", fail)
        if amount is None:
            raise fail("refund notification without refund_fee")
        when = _time(params.get("gmt_refund"), fail, "gmt_refund") or _time(params.get("notify_time"), fail,
                                                                             "notify_time")
        # refund_fee is the trade's total refunded so far: the workspace turns it into this refund's own amount
        # (``Workspace.restate_refund_totals``); the bill's row, when it comes, replaces the notification's
        row.update(type="refund", refund_no=params.get("out_biz_no") or None,
                   channel_refund_id=params.get("out_biz_no") or None, amount_fen=abs(amount),
                   settle_amount_fen=None, status="success", occurred_at=when,
                   extra=json.dumps({"refunded_total_fen": abs(amount)}))
    else:
        amount = _fen(params, "total_amount", fail)
        if amount is None:
            raise fail("no total_amount")
        when = (_time(params.get("gmt_payment"), fail, "gmt_payment")
                or _time(params.get("gmt_close"), fail, "gmt_close")
                or _time(params.get("gmt_create"), fail, "gmt_create")
                or _time(params.get("notify_time"), fail, "notify_time"))
        row.update(type="payment", refund_no=None, channel_refund_id=None, amount_fen=amount,
                   settle_amount_fen=_fen(params, "receipt_amount", fail), status=status, occurred_at=when)
    extra = row.pop("extra", None)
    table = pa.Table.from_pylist([row], schema=TRANSACTION_ARROW)
    return table.append_column("extra", pa.array([extra], pa.string())) if extra else table
