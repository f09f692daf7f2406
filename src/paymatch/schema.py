"""Canonical column names, types and enums shared by every stage.

Inside paymatch every amount is integer fen (``*_fen`` columns, BIGINT / int64) and every
time is timezone-aware (stored as TIMESTAMPTZ; channels' naive times are Asia/Shanghai).
Canonical *files* (CSV) carry yuan with 2 decimals in columns without the ``_fen`` suffix;
``sources.canonical`` converts them.

Absent values are NULL. Each table row also keeps its provenance: ``src_file`` (path as
given), ``src_line`` (1-based physical line, header counted) and ``batch_id`` (the load).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

import pyarrow as pa

TZ = "Asia/Shanghai"


class OrderStatus(StrEnum):
    """Shop-side order status."""

    PAID = "paid"
    UNPAID = "unpaid"
    CLOSED = "closed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


#: order statuses meaning the buyer's money was taken (a channel payment is expected)
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED)


class RefundStatus(StrEnum):
    """Shop-side refund status."""

    SUCCESS = "success"
    PROCESSING = "processing"
    FAILED = "failed"


class TxType(StrEnum):
    """Kind of channel transaction."""

    PAYMENT = "payment"
    REFUND = "refund"


class TxStatus(StrEnum):
    """Channel-side transaction status."""

    SUCCESS = "success"
    PROCESSING = "processing"
    FAILED = "failed"
    CLOSED = "closed"


class OutcomeKind(StrEnum):
    """Every outcome kind the engine produces; the Chinese label is what finance staff say."""

    MATCHED = "matched"
    ORDER_ONLY = "order_only"
    CHANNEL_ONLY = "channel_only"
    AMOUNT_MISMATCH = "amount_mismatch"
    STATUS_MISMATCH = "status_mismatch"
    DUPLICATE_PAYMENT = "duplicate_payment"
    PENDING_CROSS_DAY = "pending_cross_day"
    UNPAID = "unpaid"
    INTERNAL = "internal"
    DUPLICATE_RECORD = "duplicate_record"
    RECORD_UPDATE = "record_update"
    REFUND_MATCHED = "refund_matched"
    REFUND_ORDER_ONLY = "refund_order_only"
    REFUND_CHANNEL_ONLY = "refund_channel_only"
    REFUND_AMOUNT_MISMATCH = "refund_amount_mismatch"
    OVER_REFUND = "over_refund"
    REFUND_STATUS_MISMATCH = "refund_status_mismatch"
    REFUND_PENDING = "refund_pending"
    REFUND_FAILED = "refund_failed"
    DUPLICATE_REFUND = "duplicate_refund"
    CHANNEL_MISMATCH = "channel_mismatch"
    MERCHANT_MISMATCH = "merchant_mismatch"
    TIME_MISMATCH = "time_mismatch"
    FEE_MISMATCH = "fee_mismatch"
    REFUND_ORDER_MISMATCH = "refund_order_mismatch"
    UNCONFIRMED = "unconfirmed"


KIND_LABEL_ZH: dict[str, str] = {
    "matched": "已对平",
    "order_only": "平台单边(渠道漏单)",
    "channel_only": "渠道单边(平台漏单)",
    "amount_mismatch": "金额不符",
    "status_mismatch": "状态不符",
    "duplicate_payment": "重复支付",
    "pending_cross_day": "跨日待对",
    "unpaid": "未支付(无流水)",
    "internal": "内部支付(储值/积分)",
    "duplicate_record": "重复流水记录",
    "record_update": "流水状态更新",
    "refund_matched": "退款已对平",
    "refund_order_only": "退款平台单边",
    "refund_channel_only": "退款渠道单边",
    "refund_amount_mismatch": "退款金额不符",
    "over_refund": "超额退款",
    "refund_status_mismatch": "退款状态不符",
    "refund_pending": "退款处理中(未到账)",
    "refund_failed": "退款失败(一致)",
    "duplicate_refund": "重复退款",
    "channel_mismatch": "渠道不符",
    "merchant_mismatch": "收款商户号不符",
    "time_mismatch": "时间不符",
    "fee_mismatch": "手续费不符",
    "refund_order_mismatch": "退款订单不符",
    "unconfirmed": "待账单确认(仅实时通知)",
    "instalment_matched": "分期已对平",
    "instalment_amount_mismatch": "分期金额不符",
    "instalment_failed": "分期扣款失败",
    "instalment_missing": "分期未到账",
    "instalment_not_due": "分期未到期",
    "instalment_plan_mismatch": "分期期数不符",
    "instalment_channel_mismatch": "分期渠道不符",
    "instalment_unexpected": "分期渠道单边",
    "instalment_duplicate": "分期重复流水",
    "instalment_attempt": "分期扣款重试",
    "instalment_bad_term": "分期期数不支持",
    "instalment_ended": "分期因退款终止",
    "instalment_after_refund": "退款后仍扣款",
}

#: kinds that need no action from finance staff
CLEAN_KINDS = frozenset({"matched", "unpaid", "internal", "refund_matched", "refund_pending", "refund_failed",
                         "record_update", "instalment_matched", "instalment_not_due",
                         "instalment_attempt", "instalment_ended"})

# --- canonical tables (in-database form) ------------------------------------------------------

ORDER_COLUMNS = [
    "order_no", "store_id", "merchant_id", "channel", "amount_fen", "status",
    "created_at", "paid_at", "member_id", "member_level", "instalments",
]
REFUND_COLUMNS = ["refund_no", "order_no", "amount_fen", "created_at", "status", "merchant_id"]
TRANSACTION_COLUMNS = [
    "channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no",
    "channel_refund_id", "amount_fen", "fee_fen", "settle_amount_fen", "status",
    "occurred_at", "bill_date", "method",
]
PROVENANCE_COLUMNS = ["src_file", "src_line", "batch_id"]

_ts = pa.timestamp("us", tz="UTC")

#: Arrow schema a channel parser returns (channels/*): one row per bill/notification transaction.
#: amount_fen: the order total as the channel reports it (WeChat 订单金额 / Alipay 订单金额), or the
#:   refund amount for refunds; always positive whatever sign the channel uses.
#: fee_fen: the channel's fee, signed as the channel books it (a refund returning fee is negative).
#: settle_amount_fen: what settles to the merchant (WeChat 应结订单金额 / Alipay 商家实收); NULL if unknown.
#: method: the buyer's payment method when the channel says it (e.g. 'huabei'); NULL otherwise.
#: src_line: 1-based physical line in the source file (NULL for notifications).
TRANSACTION_ARROW = pa.schema([
    ("channel", pa.string()),
    ("merchant_id", pa.string()),
    ("channel_tx_id", pa.string()),
    ("order_no", pa.string()),
    ("type", pa.string()),
    ("refund_no", pa.string()),
    ("channel_refund_id", pa.string()),
    ("amount_fen", pa.int64()),
    ("fee_fen", pa.int64()),
    ("settle_amount_fen", pa.int64()),
    ("status", pa.string()),
    ("occurred_at", _ts),
    ("bill_date", pa.date32()),
    ("method", pa.string()),
    ("src_file", pa.string()),
    ("src_line", pa.int64()),
])

#: DuckDB DDL types for the canonical tables
DUCK_TYPES: dict[str, str] = {
    "order_no": "VARCHAR", "store_id": "VARCHAR", "merchant_id": "VARCHAR", "channel": "VARCHAR",
    "amount_fen": "BIGINT", "status": "VARCHAR", "created_at": "TIMESTAMPTZ", "paid_at": "TIMESTAMPTZ",
    "member_id": "VARCHAR", "member_level": "VARCHAR", "instalments": "INTEGER",
    "refund_no": "VARCHAR", "channel_tx_id": "VARCHAR", "type": "VARCHAR",
    "channel_refund_id": "VARCHAR", "fee_fen": "BIGINT", "settle_amount_fen": "BIGINT",
    "occurred_at": "TIMESTAMPTZ", "bill_date": "DATE", "method": "VARCHAR",
    "src_file": "VARCHAR", "src_line": "BIGINT", "batch_id": "VARCHAR",
}

# --- outcomes -----------------------------------------------------------------------------------

OUTCOME_COLUMNS = [
    "outcome_id", "kind", "channel", "merchant_id", "store_id", "order_no", "refund_no",
    "channel_tx_id", "order_amount_fen", "channel_amount_fen", "difference_fen", "fee_fen",
    "order_status", "channel_status", "order_rows", "channel_rows", "order_channel",
    "occurred_at", "reason",
]


#: the years a time or day of a payment can fall in (DuckDB also reads infinity, epoch, 26-11-20 as the year 26, BC;
#: China kept summer time 1986–1991, so Asia/Shanghai was not +08:00 all year before 1992: helper-56)
YEARS = (2000, 2100)


def bill_day_sql(alias: str = "") -> str:
    """DuckDB SQL: a channel record's bill day, its bill date, else the calendar day of its instant in Asia/Shanghai
    (a workspace connection's TimeZone, so a plain CAST: a per-row zone conversion costs seconds per 10M rows)."""
    p = f"{alias}." if alias else ""
    return f"coalesce({p}bill_date, CAST({p}occurred_at AS DATE))"


def today_local(tz: str = TZ) -> dt.date:
    """Today in the channels' time zone (a server on UTC is a day behind Shanghai for 8 hours a day: helper-56)."""
    return dt.datetime.now(ZoneInfo(tz)).date()


def sql_strptime_in_years(text: str, fmt: str) -> str:
    """SQL: ``try_strptime(text, fmt)``, NULL for a time outside ``YEARS`` too. The channels' own bill readers parse
    their fixed format so; without the years a WeChat or Alipay bill's ``0001-01-01 00:00:00`` was stored as a
    payment of the year 1 BC (bill day 0001-01-01), where a canonical file or a profile bill refuses it."""
    t = f"try_strptime({text}, '{fmt}')"
    return (f"CASE WHEN {t} >= TIMESTAMP '{YEARS[0]}-01-01 00:00:00' AND {t} < TIMESTAMP '{YEARS[1]}-01-01 00:00:00' "
            f"THEN {t} END")


#: a bill reader's message for a time it cannot read (``sql_strptime_in_years``)
BILL_TIME_TEXT = "not a time (YYYY-MM-DD HH:MM:SS) of the years {}–{}".format(YEARS[0], YEARS[1] - 1)


def sql_out_of_years(typed: str, kind: str) -> str:
    """SQL: the parsed time (TIMESTAMPTZ) or date ``typed`` lies outside ``YEARS`` (NULL when it is NULL)."""
    if kind == "date":
        return f"({typed} < DATE '{YEARS[0]}-01-01' OR {typed} >= DATE '{YEARS[1]}-01-01')"
    return (f"({typed} < TIMESTAMPTZ '{YEARS[0]}-01-01 00:00:00+00' OR "
            f"{typed} >= TIMESTAMPTZ '{YEARS[1]}-01-01 00:00:00+00')")
