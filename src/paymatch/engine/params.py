"""The parameters one reconciliation run is computed with (derived from config + window)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: channels whose records' settlement amount is before the fee (WeChat 应结订单金额, Alipay 商家实收): what the fee is
#: charged on (``FeeRate.base`` "auto") and what the record's settlement before the fee is (``channel_side``); every
#: other channel's settlement amount (UnionPay's, 银联商务's, CCB's 结算/清算金额) is net of the fee
SETTLE_BASED = frozenset({"wechat", "alipay"})


def settle_before_fee_sql(amount: str = "amount_fen") -> str:
    """SQL: a record's (or a one-channel outcome's) settlement before the fee, by its channel: its settlement amount
    on the ``SETTLE_BASED`` channels, its settlement amount plus its fee on every other channel, ``amount`` when it
    gives none. The SQL twin of ``channel_side.settle_before_fee``, for what reads stored rows (the shares of
    ``outcome_splits``, the backfill of ``outcomes_store``, the reports' fallback for outcomes stored without it)."""
    based = ", ".join(f"'{c}'" for c in sorted(SETTLE_BASED))
    return (f"CASE WHEN settle_amount_fen IS NULL THEN {amount} WHEN channel IN ({based}) THEN settle_amount_fen "
            "ELSE settle_amount_fen + coalesce(fee_fen, 0) END")


@dataclass(frozen=True)
class FeeRule:
    """A contracted fee rate for the channel records it names (None: any merchant number / method).

    ppm: the rate in millionths (0.6 % = 6000); expected fee = (base × ppm + round_add) // 1,000,000, at most
    cap_fen; base = the record's settlement amount, else its amount (``on_amount``: its amount). round_add:
    500,000 rounds half up, 0 down, 999,999 up.
    """

    channel: str
    merchant_id: str | None
    method: str | None
    ppm: int
    cap_fen: int | None = None
    round_add: int = 500_000
    on_amount: bool = False

    @property
    def specificity(self) -> int:
        """Rank of a rule among the ones a record may fall under: lower wins (merchant + method first)."""
        return (self.merchant_id is None) * 2 + (self.method is None)


@dataclass(frozen=True)
class MatchParams:
    """Everything the engine needs besides the input frames.

    window_end:   end of the reconciled window (exclusive), timezone-aware.
    grace:        orders paid in [window_end - grace, ∞) with no channel record are pending_cross_day.
    tolerance_fen: |channel - order| ≤ this is equal.
    internal_methods: payment methods with no external record (balance, points…).
    settle_channel: payment method → channel whose records settle it; methods not listed settle
                  through a channel of their own name and are not checked for channel agreement.
    key_scope:    extra key columns besides order_no / refund_no (e.g. ('merchant_id',)).
    compare_merchant: an order and its channel payment naming different merchant numbers is merchant_mismatch.
    max_time_gap: a payment the channel booked further than this from the order's paid time is time_mismatch
                  (None: not checked).
    fee_rates:    contracted rates; a successful payment record under one whose fee differs from the rate's by
                  more than ``fee_tolerance_fen`` makes its order fee_mismatch (empty: fees not checked).
    """

    window_end: dt.datetime
    grace: dt.timedelta = dt.timedelta(minutes=10)
    tolerance_fen: int = 0
    internal_methods: tuple[str, ...] = ("balance", "points", "gift_card", "coupon_only")
    settle_channel: dict[str, str] = field(default_factory=dict)
    key_scope: tuple[str, ...] = ()
    compare_merchant: bool = True
    max_time_gap: dt.timedelta | None = dt.timedelta(days=1)
    fee_rates: tuple[FeeRule, ...] = ()
    fee_tolerance_fen: int = 0

    def __post_init__(self) -> None:
        if self.window_end.tzinfo is None:
            raise ValueError("window_end must be timezone-aware")

    @property
    def window_end_utc(self) -> dt.datetime:
        """window_end as a naive UTC datetime (how the engine's frames carry times)."""
        return self.window_end.astimezone(dt.UTC).replace(tzinfo=None)

    @property
    def cross_day_from_utc(self) -> dt.datetime:
        """Start of the cross-day grace zone, naive UTC."""
        return self.window_end_utc - self.grace
