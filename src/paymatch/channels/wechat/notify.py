"""WeChat Pay API v3 notifications (支付/退款通知): verify, decrypt, turn into a transaction row.

Order of checks, each failure a ``NotificationRejected`` (a ChannelError naming the notification):
headers present -> not WeChat's signature probe (``SignatureProbe``) -> platform key known
(Wechatpay-Serial: a configured key, or a valid certificate of an account's ``platform_cert_dir``) -> timestamp within ``max_skew`` of the injectable clock -> RSA-SHA256
signature over "timestamp\\nnonce\\nbody\\n" -> replay (nonce, then id, via a ``ReplayStore``) ->
AEAD_AES_256_GCM decryption of ``resource`` with the APIv3 key.
Replay keys are only recorded for notifications whose signature is valid, so forgeries cannot
fill the store. The id is remembered for ``id_ttl`` (default 25 h, longer than WeChat's ~24 h
resend schedule) because WeChat resends the same notification under a fresh nonce.
"""

from __future__ import annotations

import binascii
import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from wechatpayv3.utils import aes_decrypt, rsa_verify

from paymatch.channels.wechat.api import SIGNATURE_PROBE
from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.keys import PlatformCertFolder, certs_hint, load_platform_key
from paymatch.channels.wechat.layout import CHANNEL
from paymatch.channels.wechat.replay import MemoryReplayStore, ReplayStore
from paymatch.errors import ChannelError, ConfigError
from paymatch.schema import TRANSACTION_ARROW, TZ, YEARS

PAYMENT_EVENTS = frozenset({"TRANSACTION.SUCCESS"})
REFUND_EVENTS = frozenset({"REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"})


class NotificationRejected(ChannelError):
    """A notification failed verification; ``notification_id`` is set once the body was readable."""

    def __init__(self, reason: str, notification_id: str | None = None):
        self.reason = reason
        self.notification_id = notification_id
        super().__init__(f"{CHANNEL}: notification {notification_id or '(unknown id)'} rejected: {reason}")


class SignatureProbe(NotificationRejected):
    """WeChat Pay's own signature probe (Wechatpay-Signature starting ``WECHATPAY/SIGNTEST/``): refused as WeChat
    expects, but routine traffic, not a forgery for a person to look at (the web route does not quarantine it)."""


class NotificationReplayed(NotificationRejected):
    """Seen before: ``same_id`` means WeChat re-sent a notification it sent before (fresh nonce), ``stored`` that
    the first delivery was stored (``WechatNotifyVerifier.stored``; else it is still being handled, or failed);
    otherwise the exact request (same nonce) was played again."""

    def __init__(self, reason: str, notification_id: str | None, *, same_id: bool, stored: bool = False):
        self.same_id, self.stored = same_id, stored
        super().__init__(reason, notification_id)


@dataclass(frozen=True)
class WechatNotification:
    """A verified, decrypted notification. ``resource`` is the decrypted JSON object."""

    id: str
    event_type: str
    create_time: str
    summary: str
    nonce: str
    resource: dict[str, Any] = field(repr=False)


class WechatNotifyVerifier:
    """Verifies and decrypts WeChat Pay notifications (see module docstring).

    platform_keys: Wechatpay-Serial value -> platform public key or certificate (PEM or key object).
    apiv3_key: the APIv3 key that decrypts the resources; or, for several merchant accounts, a mapping of
    Wechatpay-Serial -> the APIv3 keys of the accounts that serial signs for (sub-merchants of one service
    provider share its platform key; AES-GCM tells a wrong key from the right one).
    clock: returns epoch seconds; injectable so tests can replay old vectors.
    cert_folders: (platform certificate folder, APIv3 key) of accounts in platform-certificate mode
    (``platform_cert_dir``): a serial none of ``platform_keys`` names is looked up there, when the notification
    comes, so a certificate ``paymatch wechat-certs`` wrote while the service runs is used at once.
    """

    def __init__(self, platform_keys: Mapping[str, str | bytes | RSAPublicKey],
                 apiv3_key: str | Mapping[str, Sequence[str]], *,
                 clock: Callable[[], float] = time.time, max_skew: float = 300.0,
                 store: ReplayStore | None = None, id_ttl: float = 25 * 3600,
                 cert_folders: Sequence[tuple[PlatformCertFolder, str]] = ()):
        by_serial = ({s: (apiv3_key,) for s in platform_keys} if isinstance(apiv3_key, str)
                     else {s: tuple(v) for s, v in apiv3_key.items()})
        self._folders = tuple(cert_folders)
        for keys in [*by_serial.values(), *((k,) for _f, k in self._folders)]:
            if not keys or any(len(k.encode()) not in (16, 24, 32) for k in keys):  # real: 32; SDK vectors: 16
                raise ChannelError(f"{CHANNEL}: the APIv3 key must be 32 bytes")
        self._keys = {s: k if isinstance(k, RSAPublicKey) else load_platform_key(k)
                      for s, k in platform_keys.items()}
        self._apiv3_keys = by_serial
        self._clock, self._max_skew, self._id_ttl = clock, max_skew, id_ttl
        self._store = store if store is not None else MemoryReplayStore()

    @classmethod
    def from_config(cls, config: WechatPayConfig, **kw: Any) -> WechatNotifyVerifier:
        """A verifier for one account's platform key and APIv3 key (``kw`` as for the constructor)."""
        return cls.from_configs([config], **kw)

    @classmethod
    def from_configs(cls, configs: Sequence[WechatPayConfig], **kw: Any) -> WechatNotifyVerifier:
        """One verifier for every configured merchant account (``[[channels.wechat]]``): a notification is
        checked with the platform key its Wechatpay-Serial names and decrypted with that key's accounts'
        APIv3 keys. Two accounts naming one serial with different keys are refused."""
        pems: dict[str, str] = {}
        apiv3: dict[str, list[str]] = {}
        folders: list[tuple[PlatformCertFolder, str]] = []
        for c in configs:
            if not c.apiv3_key:
                raise ConfigError(f"{CHANNEL}: account {c.mchid} has no APIv3 key (apiv3_key_file/_env)")
            if (folder := c.cert_folder()) is not None:
                if not c.platform_keys() and not folder.valid():
                    raise ConfigError(f"{CHANNEL} account {c.mchid}: platform_cert_dir {c.platform_cert_dir} holds "
                                      f"no platform certificate valid now: {certs_hint(c.mchid)}")
                folders.append((folder, c.apiv3_key))
            for serial, pem in c.platform_keys().items():
                if pems.setdefault(serial, pem).strip() != pem.strip():
                    raise ConfigError(f"{CHANNEL}: accounts name platform key id {serial!r} with two different "
                                      f"keys (account {c.mchid})")
                if c.apiv3_key not in apiv3.setdefault(serial, []):
                    apiv3[serial].append(c.apiv3_key)
        return cls(pems, apiv3, cert_folders=folders, **kw)

    def verify(self, headers: Mapping[str, str], body: bytes | str) -> WechatNotification:
        """Check signature, freshness and replay, decrypt; return the notification or raise NotificationRejected."""
        h = {k.lower(): v for k, v in headers.items()}
        ts, nonce = h.get("wechatpay-timestamp", ""), h.get("wechatpay-nonce", "")
        sig, serial = h.get("wechatpay-signature", ""), h.get("wechatpay-serial", "")
        if not (ts and nonce and sig and serial):
            raise NotificationRejected("Wechatpay-Timestamp/Nonce/Signature/Serial header missing")
        if sig.startswith(SIGNATURE_PROBE):
            raise SignatureProbe("WeChat Pay signature probe (WECHATPAY/SIGNTEST/): refused, as WeChat expects")
        if h.get("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048") != "WECHATPAY2-SHA256-RSA2048":
            raise NotificationRejected(f"unsupported signature type {h['wechatpay-signature-type']!r}")
        now = self._clock()
        key, apiv3_keys = self._keys.get(serial), self._apiv3_keys.get(serial, ())
        if key is None:
            key, apiv3_keys = self._folder_key(serial, now)
        if key is None:
            accounts = [f.mchid for f, _k in self._folders]
            hint = (f": no valid certificate of that serial in the platform_cert_dir of account(s) {', '.join(accounts)}"
                    "; WeChat Pay may have rotated its platform certificate: "
                    + certs_hint(accounts[0] if len(accounts) == 1 else None)) if accounts else ""
            raise NotificationRejected(f"unknown platform key serial {serial!r}{hint}")
        if not ts.isdigit() or abs(now - int(ts)) > self._max_skew:
            raise NotificationRejected(f"timestamp {ts!r} is more than {self._max_skew:.0f} s from now")
        try:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
        except UnicodeDecodeError as exc:
            raise NotificationRejected("body is not UTF-8") from exc
        if not rsa_verify(ts, nonce, text, sig, key):
            raise NotificationRejected("signature does not verify with the platform key")
        try:
            doc = json.loads(text)
            nid = str(doc["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationRejected("body is not a notification JSON object") from exc
        self._remember(nid, nonce, now)
        try:
            resource = self._decrypt(doc, nid, apiv3_keys)
        except NotificationRejected:
            self._forget_keys(nid, nonce)
            raise
        return WechatNotification(nid, str(doc.get("event_type", "")), str(doc.get("create_time", "")),
                                  str(doc.get("summary", "")), nonce, resource)

    def stored(self, notification: WechatNotification) -> None:
        """Mark a notification as stored: a resend of it is then answered as taken (204). Until then a resend is
        not (helper-62: a resend answered 204 while the first delivery waited, which then failed: lost)."""
        now = self._clock()
        self._store.add_if_absent(f"wechat:stored:{notification.id}", now + self._id_ttl, now)

    def forget(self, notification: WechatNotification) -> None:
        """Drop the replay marks of a notification whose handling failed, so WeChat's resend is accepted."""
        self._forget_keys(notification.id, notification.nonce)

    def _remember(self, nid: str, nonce: str, now: float) -> None:
        if not self._store.add_if_absent(f"wechat:nonce:{nonce}", now + 2 * self._max_skew, now):
            raise NotificationReplayed(f"nonce {nonce!r} already used", nid, same_id=False)
        if not self._store.add_if_absent(f"wechat:id:{nid}", now + self._id_ttl, now):
            stored = self._store.contains(f"wechat:stored:{nid}", now)
            raise NotificationReplayed("notification id already handled" if stored else
                                       "notification id being handled", nid, same_id=True, stored=stored)

    def _forget_keys(self, nid: str, nonce: str) -> None:
        self._store.discard(f"wechat:id:{nid}")
        self._store.discard(f"wechat:nonce:{nonce}")

    def _folder_key(self, serial: str, now: float) -> tuple[RSAPublicKey | None, tuple[str, ...]]:
        """The key of ``serial`` from the accounts' certificate folders (valid at ``now``), with the APIv3 keys of
        the accounts whose folder holds it."""
        at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
        key, apiv3 = None, []
        for folder, apiv3_key in self._folders:
            try:
                found = folder.key(serial, at)
            except ConfigError as exc:  # a damaged file in the folder: said, the notification not taken
                raise NotificationRejected(str(exc)) from None
            if found is not None:
                key = key or found
                if apiv3_key not in apiv3:
                    apiv3.append(apiv3_key)
        return key, tuple(apiv3)

    def _decrypt(self, doc: dict, nid: str, apiv3_keys: Sequence[str]) -> dict[str, Any]:
        res = doc.get("resource")
        if not isinstance(res, dict) or res.get("algorithm") != "AEAD_AES_256_GCM":
            raise NotificationRejected("resource missing or not AEAD_AES_256_GCM", nid)
        plain = None
        for apiv3_key in apiv3_keys:  # the accounts the signing key serves
            try:
                plain = aes_decrypt(nonce=res["nonce"], ciphertext=res["ciphertext"],
                                    associated_data=res.get("associated_data") or "", apiv3_key=apiv3_key)
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise NotificationRejected(f"resource is malformed ({exc})", nid) from exc
            if plain is not None:
                break
        if plain is None:
            raise NotificationRejected("resource does not decrypt (tampered, or wrong APIv3 key)", nid)
        try:
            out = json.loads(plain)
        except ValueError as exc:
            raise NotificationRejected("decrypted resource is not JSON", nid) from exc
        if not isinstance(out, dict):
            raise NotificationRejected("decrypted resource is not a JSON object", nid)
        return out


def to_transactions(n: WechatNotification) -> pa.Table:
    """One canonical transaction row (``TRANSACTION_ARROW``) for TRANSACTION.SUCCESS / REFUND.*;
    a zero-row table for other event types (they are verified but carry no transaction).

    Payments: amount = amount.total, settle = total minus merchant-funded (NOCASH) coupons,
    as 应结订单金额 in the bill. Refunds: amount = amount.refund (positive), settle = the
    settlement refund when given. Fee is unknown in notifications (NULL); src_line is NULL.
    """
    if n.event_type not in PAYMENT_EVENTS | REFUND_EVENTS:
        return TRANSACTION_ARROW.empty_table()
    r = n.resource
    refund = n.event_type in REFUND_EVENTS
    try:
        amount = r.get("amount")
        if not isinstance(amount, dict):
            raise ValueError(f"amount {amount!r} is not an object")
        if amount.get("currency", "CNY") != "CNY":
            raise ValueError(f"amount.currency {amount['currency']!r} is not CNY: amounts are read as fen")
        when = _time(r.get("success_time") or n.create_time, "success_time" if r.get("success_time") else "create_time")
        if refund:
            fen = _fen(amount, "refund")
            settle = _fen(amount, "settlement_refund") if "settlement_refund" in amount else fen
            status = _state(r, "refund_status", {"SUCCESS": "success", "PROCESSING": "processing"},
                            ("CLOSED", "ABNORMAL"))
        else:
            fen = _fen(amount, "total")
            promotions = r.get("promotion_detail") or []
            if not isinstance(promotions, list):
                raise ValueError(f"promotion_detail {str(promotions)[:80]!r} is not a list")
            nocash = sum(_fen(p, "amount") for p in promotions
                         if isinstance(p, dict) and p.get("type") == "NOCASH" and "amount" in p)
            settle = fen - nocash
            status = _state(r, "trade_state", {"SUCCESS": "success", "USERPAYING": "processing", "NOTPAY": "closed",
                                               "CLOSED": "closed", "REVOKED": "closed"}, ("REFUND", "PAYERROR"))
        merchant = r.get("sub_mchid") or r.get("mchid")
        for name in ("transaction_id", "out_trade_no") + (("out_refund_no", "refund_id") if refund else ()):
            if not isinstance(r.get(name), str) or not r[name]:
                raise ValueError(f"{name} {r.get(name)!r} is missing or no text")
        if not merchant:
            raise ValueError("mchid is missing")
        row = {
            "channel": CHANNEL, "merchant_id": str(merchant),
            "channel_tx_id": r["transaction_id"], "order_no": r["out_trade_no"],
            "type": "refund" if refund else "payment",
            "refund_no": r["out_refund_no"] if refund else None,
            "channel_refund_id": r["refund_id"] if refund else None,
            "amount_fen": fen, "fee_fen": None, "settle_amount_fen": settle, "status": status,
            "occurred_at": when, "bill_date": when.astimezone(_zone()).date(), "method": CHANNEL,
            "src_file": f"notify:{CHANNEL}:{n.id}", "src_line": None,
        }
    except ValueError as exc:
        raise NotificationRejected(f"{n.event_type} resource: {exc}", n.id) from exc
    return pa.Table.from_pylist([row], schema=TRANSACTION_ARROW)


#: the largest amount of fen a workspace holds (BIGINT)
_MAX_FEN = 2 ** 63 - 1


def _fen(amounts: Mapping[str, Any], name: str) -> int:
    # amounts in notifications are integer fen already; anything else is refused, never rounded
    value = amounts.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_FEN:
        raise ValueError(f"amount.{name} {value!r} is not integer fen at or above zero")
    return value


def _state(r: Mapping[str, Any], name: str, mapped: Mapping[str, str], failed: Sequence[str]) -> str:
    value = r.get(name)
    if value in mapped:
        return mapped[value]
    if value in failed:
        return "failed"
    raise ValueError(f"{name} {value!r} is none of {', '.join([*mapped, *failed])}")


def _time(text: Any, name: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {text!r} is not an RFC 3339 time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_zone())
    if not YEARS[0] <= t.year < YEARS[1]:
        raise ValueError(f"{name} {text!r} is not a time of a payment: outside the years {YEARS[0]}–{YEARS[1] - 1}")
    return t.astimezone(dt.timezone.utc)


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(TZ)
