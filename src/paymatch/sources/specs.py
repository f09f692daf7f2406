"""Column specifications of the canonical CSV files: which columns, required or not, how parsed.

Each field spec yields a DuckDB expression over the raw VARCHAR column (trimmed) and a validity
check; ``canonical`` turns a spec into one SQL statement. Kinds:
  text       kept as is (``fold_case``: stored lower-case); required → must be non-empty
  money      yuan with ≤ 2 decimals → fen (BIGINT)
  fee        yuan with ≤ 5 decimals, sub-fen digits zero → fen
  time       ISO-8601 with offset, or naive (read as Asia/Shanghai) → TIMESTAMPTZ
  date       YYYY-MM-DD (also YYYYMMDD and YYYY/MM/DD, as channels name their bill days) → DATE
  int        non-negative integer
  enum       one of the listed values (case-insensitive, stored lower-case)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..schema import OrderStatus, RefundStatus, TxStatus, TxType


@dataclass(frozen=True)
class Field:
    """One canonical CSV column.

    name:     column name in the file (yuan columns drop the ``_fen`` suffix: ``amount``).
    target:   column name in the table (``amount_fen``).
    kind:     text|money|fee|time|date|int|enum.
    required: the column must exist in the header; ``nonempty`` additionally forbids empty values.
    default:  SQL expression used when the column is absent or the value empty (None → NULL).
    values:   allowed values for enum.
    fold_case: text stored lower-case (channel names: an ERP's ``WeChat`` is the bill's ``wechat``).
    below_zero: for money: a value below 0 is a load problem with this message (None: any sign is kept).
    """

    name: str
    target: str
    kind: str = "text"
    required: bool = True
    nonempty: bool = False
    default: str | None = None
    values: tuple[str, ...] = ()
    fold_case: bool = False
    below_zero: str | None = None


ORDERS = (
    Field("order_no", "order_no", nonempty=True),
    Field("store_id", "store_id", required=False),
    Field("merchant_id", "merchant_id", required=False),
    Field("channel", "channel", nonempty=True, fold_case=True),
    # 0 is a fully discounted order; a shop refund is read as its size whatever its sign (-12.30 = 12.30), a
    # channel record by its type (a refund row's amount is positive inside paymatch)
    Field("amount", "amount_fen", "money", nonempty=True, below_zero="negative order amount"),
    Field("status", "status", "enum", nonempty=True, values=tuple(s.value for s in OrderStatus)),
    Field("created_at", "created_at", "time", required=False),
    Field("paid_at", "paid_at", "time", required=False),
    Field("member_id", "member_id", required=False),
    Field("member_level", "member_level", required=False),
    Field("instalments", "instalments", "int", required=False, default="0"),
)

REFUNDS = (
    Field("refund_no", "refund_no", nonempty=True),
    Field("order_no", "order_no", nonempty=True),
    Field("amount", "amount_fen", "money", nonempty=True),
    Field("created_at", "created_at", "time", required=False),
    Field("status", "status", "enum", nonempty=True, values=tuple(s.value for s in RefundStatus)),
    # optional: under key_scope = ["merchant_id"] refund numbers are unique per merchant number when given
    Field("merchant_id", "merchant_id", required=False),
)

TRANSACTIONS = (
    Field("channel", "channel", nonempty=True, fold_case=True),
    Field("merchant_id", "merchant_id", required=False),
    Field("channel_tx_id", "channel_tx_id", nonempty=True),
    Field("order_no", "order_no", required=False),
    Field("type", "type", "enum", nonempty=True, values=tuple(s.value for s in TxType)),
    Field("refund_no", "refund_no", required=False),
    Field("channel_refund_id", "channel_refund_id", required=False),
    Field("amount", "amount_fen", "money", nonempty=True),
    Field("fee", "fee_fen", "fee", required=False, default="0"),
    Field("settle_amount", "settle_amount_fen", "money", required=False),
    Field("status", "status", "enum", nonempty=True, values=tuple(s.value for s in TxStatus)),
    Field("occurred_at", "occurred_at", "time", nonempty=True),
    Field("bill_date", "bill_date", "date", required=False),
    Field("method", "method", required=False, fold_case=True),
)

SPECS = {"orders": ORDERS, "refunds": REFUNDS, "transactions": TRANSACTIONS}

#: the natural key of each table; a duplicate key inside one orders/refunds file is a load error
KEYS = {"orders": ("order_no",), "refunds": ("refund_no",)}

#: kinds whose key_scope column may be empty on a row, standing for any value: a refund without a merchant number is
#: the shop's only refund of its number (refund files before the column existed), one with a merchant number is
#: unique per merchant (orders key an empty merchant number as a value of its own)
WILDCARD_SCOPE = frozenset({"refunds"})
