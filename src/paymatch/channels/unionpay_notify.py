"""UnionPay 全渠道 (ACP) back notifications (后台通知, the request's backUrl) -> one canonical transaction, verified.

What UnionPay sends (acpsdk demos ``BackRcvResponse``; a 5.1.0 sandbox notification checked against this module's
signature check): a form POST, application/x-www-form-urlencoded, its values percent-encoded in the charset its
``encoding`` field names (UTF-8, or GBK). Fields of a 消费 (txnType 01): version, encoding, signMethod, txnType,
txnSubType, bizType, accessType, merId, orderId (the merchant's order number), txnTime (the merchant's order time,
yyyyMMddHHmmss), txnAmt (fen), currencyCode 156, queryId (UnionPay's id of the transaction), respCode, respMsg,
settleAmt, settleCurrencyCode, settleDate (MMDD), traceNo, traceTime (MMDDhhmmss), signPubKeyCert and signature;
a 退货 (04) or 消费撤销 (31) also origQryId, the payment's queryId, and its orderId is the refund's own order number.
A 前台 transaction (a payment) is notified when it succeeded; a 后台 one (refund, cancellation) when it ended,
successful or not (the demos: "后台类交易交易结束之后成功失败都会发通知"). respCode 00 and A6 (success with a defect)
are success (the demos: "判断respCode=00、A6"); any other code a failed transaction. The merchant answers HTTP 200
(the demos print "ok") once it has taken the notification; anything else makes UnionPay send it again.

Accepting one means, in order: its merId is a configured ``[channels.unionpay]`` account; it is signed as the
file-download answer is (5.1.0: ``unionpay_acp.verify_answer`` — signPubKeyCert chained to that account's root and
middle certificates, valid now, naming 中国银联股份有限公司; SHA256withRSA over the SHA-256 hex of the sorted fields),
or, version 5.0.0 (acpsdk's ``validate``: no certificate in the message), with signMethod 01 and the certId of one of
the account's ``verify_cert_file`` certificates (UnionPay's 验签证书, by serial number), SHA1withRSA over the SHA-1 hex
of the sorted fields (``unionpay_acp.verify_by_cert_id``; without verify_cert_file it is refused naming the key);
its fields map cleanly. signMethod 11/12 (a shared secure key, 密钥方式) is refused: certificates only. Fields sent empty are left out first, as acpsdk's ``getAllRequestParam`` does (UnionPay
sends none). The signed text is hashed in the notification's ``encoding`` (acpsdk's sha256X16(text, encoding)): a
GBK notification's GBK bytes. Anything else raises ChannelError naming merId, queryId and the cause.

The row agrees with the ZM reader's (``channels.unionpay``), so that the bill's row replaces the notification's
(same channel, channel_tx_id, type and refund key): a payment's channel_tx_id is its queryId (ZM 查询流水号); a
refund's is origQryId (ZM 原交易查询流水号), its channel_refund_id its own queryId and its refund_no its orderId
(ZM 商户订单号); its order_no is unknown (the notification does not carry the payment's orderId; the shop's refund
names it). occurred_at is traceTime (ZM 交易传输时间, Beijing time; its year is txnTime's, or the one next to it
that puts it nearest), else txnTime. bill_date is settleDate (MMDD, the year that puts it nearest occurred_at): the
settle date whose ZM lists the transaction, so a notification counts on the day its bill row will (a trade after
23:00 Beijing time is on the next day's ZM); without settleDate, the day of occurred_at. settleAmt is not ZM's
结算金额 (net of the fee): no settlement amount or fee is read. 02 预授权 / 32 预授权撤销 move no money (as in ZM): taken,
nothing stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

import pyarrow as pa

from paymatch.channels.unionpay import HOLD_TYPES, PAYMENT_TYPES, REFUND_TYPES
from paymatch.channels.unionpay_acp import UnionPayConfig, verify_answer, verify_by_cert_id
from paymatch.errors import ChannelError, ConfigError
from paymatch.schema import TRANSACTION_ARROW, TZ, YEARS

#: respCode of a successful transaction (A6: 有缺陷的成功, success with a defect)
SUCCESS_CODES = ("00", "A6")
#: signMethod of a signature made with a shared secure key (密钥方式), not a certificate: refused
SECURE_KEY_METHODS = {"11": "SHA-256", "12": "SM3"}
_BEIJING = ZoneInfo(TZ)


class UnionPayNotifyVerifier:
    """Verifies notifications for the configured merchants (``[[channels.unionpay]]``: each by its merId's account).
    ``clock`` gives the time certificates must be valid at (now, by default)."""

    def __init__(self, configs: Sequence[UnionPayConfig], *, clock: Callable[[], dt.datetime] | None = None):
        self._accounts: dict[str, UnionPayConfig] = {}
        for c in configs:
            if c.mer_id in self._accounts:
                raise ConfigError(f"unionpay: mer_id {c.mer_id} is configured twice")
            self._accounts[c.mer_id] = c
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def verify(self, form: Mapping[str, str]) -> pa.Table:
        """Check ``form`` (the POSTed fields, decoded) and return its one-row ``TRANSACTION_ARROW`` table (no row for
        a hold); ChannelError when it is refused."""
        fields = {k: v for k, v in form.items() if v != ""}
        fail = _failer(fields)
        account = self._accounts.get(fields.get("merId", ""))
        if account is None:
            raise fail(f"merId {fields.get('merId')!r} is not a configured [channels.unionpay] account")
        encoding = fields.get("encoding") or "utf-8"
        method, version = fields.get("signMethod", ""), fields.get("version", "")
        if method in SECURE_KEY_METHODS:
            raise fail(f"refused: signMethod {method} ({SECURE_KEY_METHODS[method]} with a secure key, 密钥方式) is not "
                       "accepted; paymatch verifies certificate signatures only (signMethod 01): have UnionPay "
                       "send the account's notifications signed with certificates")
        try:
            if version == "5.0.0":
                if method != "01":
                    raise fail(f"refused: a version 5.0.0 notification with signMethod {method or '(none)'!r}, not "
                               "01 (RSA with UnionPay's certificate)")
                if not account.verify_certs:
                    raise fail(f"refused: a version 5.0.0 notification is verified with UnionPay's verify-sign "
                               f"certificate (验签证书) its certId names; none is configured: set 'verify_cert_file' "
                               f"in the [channels.unionpay] account of merId {account.mer_id}")
                verify_by_cert_id(fields, account.verify_certs, encoding)
            else:
                verify_answer(fields, account.root_cert, account.middle_cert, self._clock(), encoding=encoding)
        except ValueError as exc:
            raise fail(f"refused, not UnionPay's: {exc}".replace("the answer", "the notification")) from None
        return to_transaction(fields)


def _failer(fields: Mapping[str, str]) -> Callable[[str], ChannelError]:
    what = f"merId={fields.get('merId', '?')} queryId={fields.get('queryId', '?')}"
    return lambda why: ChannelError(f"unionpay: notification {what}: {why}")


def _occurred(fields: Mapping[str, str], fail) -> dt.datetime:
    txn_time = fields.get("txnTime", "")
    try:  # (strptime alone takes "2026112010" as 2026-11-20 01:00:00)
        if not re.fullmatch(r"[0-9]{14}", txn_time):
            raise ValueError(txn_time)
        sent = dt.datetime.strptime(txn_time, "%Y%m%d%H%M%S")
    except ValueError:
        raise fail(f"txnTime {txn_time!r} is not yyyyMMddHHmmss") from None
    if not YEARS[0] <= sent.year < YEARS[1]:
        raise fail(f"txnTime {txn_time!r} is not a time of a payment: outside the years {YEARS[0]}–{YEARS[1] - 1}")
    trace = fields.get("traceTime")
    if trace is None:
        return sent.replace(tzinfo=_BEIJING)
    return _nearest(trace, "MMDDhhmmss", sent, fail).replace(tzinfo=_BEIJING)


def _nearest(text: str, what: str, near: dt.datetime, fail) -> dt.datetime:
    """``text`` (MMDDhhmmss or MMDD, no year) in the year — ``near``'s, or the one before or after — that puts it
    nearest ``near`` (naive Beijing time)."""
    fmt = {"MMDDhhmmss": ("%m%d%H%M%S", 10), "MMDD": ("%m%d", 4)}[what]
    field = "traceTime" if what == "MMDDhhmmss" else "settleDate"
    if not re.fullmatch(rf"[0-9]{{{fmt[1]}}}", text):
        raise fail(f"{field} {text!r} is not {what}")
    options = []
    for year in (near.year - 1, near.year, near.year + 1):
        try:
            options.append(dt.datetime.strptime(f"{year}{text}", f"%Y{fmt[0]}"))
        except ValueError:  # Feb 29 of another year
            continue
    if not options:
        raise fail(f"{field} {text!r} is no date")
    return min(options, key=lambda t: abs(t - near))


def to_transaction(fields: Mapping[str, str]) -> pa.Table:
    """Map verified notification fields to a one-row canonical table (an empty one for a hold)."""
    fail = _failer(fields)
    txn_type = fields.get("txnType", "")
    if txn_type in HOLD_TYPES:
        return TRANSACTION_ARROW.empty_table()
    if txn_type not in PAYMENT_TYPES + REFUND_TYPES:
        raise fail(f"txnType {txn_type!r} is not a payment (01, 03) or a refund (04 退货, 31 消费撤销, 33)")
    query_id = fields.get("queryId", "")
    if not query_id:
        raise fail("no queryId")
    amount = fields.get("txnAmt", "")
    if not re.fullmatch(r"[0-9]{1,12}", amount):
        raise fail(f"txnAmt {amount!r} is not an amount of fen")
    if fields.get("currencyCode", "156") != "156":
        raise fail(f"currencyCode {fields['currencyCode']!r} is not 156 (CNY): amounts are read as fen")
    if not fields.get("orderId"):
        raise fail("no orderId")
    occurred = _occurred(fields, fail)
    settle = fields.get("settleDate")  # (the ZM that lists it: a trade after 23:00 is on the next day's)
    bill_date = _nearest(settle, "MMDD", occurred.replace(tzinfo=None), fail).date() if settle else None
    row = {"channel": "unionpay", "merchant_id": fields["merId"], "amount_fen": int(amount), "fee_fen": None,
           "settle_amount_fen": None, "status": "success" if fields.get("respCode") in SUCCESS_CODES else "failed",
           "occurred_at": occurred.astimezone(dt.UTC), "bill_date": bill_date, "method": "unionpay",
           "src_file": f"notify:unionpay:{query_id}", "src_line": None}
    if txn_type in PAYMENT_TYPES:
        row.update(type="payment", channel_tx_id=query_id, order_no=fields["orderId"], refund_no=None,
                   channel_refund_id=None)
    else:
        if not fields.get("origQryId"):
            raise fail(f"a refund (txnType {txn_type}) without origQryId, the payment's queryId")
        row.update(type="refund", channel_tx_id=fields["origQryId"], order_no=None, refund_no=fields["orderId"],
                   channel_refund_id=query_id)
    return pa.Table.from_pylist([row], schema=TRANSACTION_ARROW)
