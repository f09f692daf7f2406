"""The instalment plan of one order: periods in integer fen, due dates, seller-borne fee.

Pure functions over frozen records. The vectorised twin for whole order frames is
``paymatch.instalments.expand``; a property test holds the two equal.

Rounding rules (all integer fen, no float anywhere):
- period amounts: ``base = amount // n``; the remainder ``amount - base*n`` (0..n-1 fen) goes to
  the first period ('first', default), the last ('last'), or one fen to each of the first
  ``remainder`` periods ('spread'). So the periods always sum exactly to the amount.
- seller fee: ``amount * rate_bp / 10000`` rounded half-up on the fen, i.e.
  ``(amount * rate_bp + 5000) // 10000``; then split over the periods by the same rule.
- due dates: period k is due ``first_due + (k-1) months``, same day of month, clamped to the
  month's last day (Jan 31 -> Feb 29 -> Mar 31: each is computed from first_due, not chained).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from paymatch.errors import PaymatchError
from paymatch.instalments.config import DEFAULT_CONFIG, RULES, InstalmentConfig


class PlanError(PaymatchError, ValueError):
    """An instalment plan cannot be made (bad term, unknown channel, negative amount, bad rule)."""


@dataclass(frozen=True)
class Period:
    """One period of a plan.

    period_no: 1-based. due_date: local (Asia/Shanghai) calendar date the period is due.
    amount_fen: principal due in this period. fee_fen: this period's share of the seller fee.
    """

    period_no: int
    due_date: dt.date
    amount_fen: int
    fee_fen: int


@dataclass(frozen=True)
class Plan:
    """An order's instalment plan.

    channel: payment channel, or None when made without one (no term check, rate given).
    rate_bp: seller-borne rate applied (0 when the buyer pays the interest).
    seller_fee_fen: total seller-borne fee; equals the sum of the periods' fee_fen.
    """

    order_no: str
    channel: str | None
    amount_fen: int
    term: int
    rule: str
    rate_bp: int
    seller_fee_fen: int
    periods: tuple[Period, ...]


def add_months(day: dt.date, months: int, day_of_month: int | None = None) -> dt.date:
    """``day`` moved by ``months`` calendar months, on ``day_of_month`` (default: day's own day)
    clamped to the target month's end."""
    idx = day.year * 12 + (day.month - 1) + months
    year, month = divmod(idx, 12)
    month += 1
    want = day.day if day_of_month is None else day_of_month
    return dt.date(year, month, min(want, calendar.monthrange(year, month)[1]))


def split_fen(total: int, n: int, rule: str = "first") -> list[int]:
    """Split ``total`` fen into ``n`` parts summing exactly to it, remainder placed by ``rule``."""
    if rule not in RULES:
        raise PlanError(f"unknown remainder rule {rule!r} (use one of {', '.join(RULES)})")
    if n <= 0:
        raise PlanError(f"number of periods must be positive, got {n}")
    base, rem = divmod(total, n)
    if rule == "first":
        return [base + rem if k == 1 else base for k in range(1, n + 1)]
    if rule == "last":
        return [base + rem if k == n else base for k in range(1, n + 1)]
    return [base + 1 if k <= rem else base for k in range(1, n + 1)]


def seller_fee_fen(amount_fen: int, rate_bp: int) -> int:
    """Seller-borne fee: ``amount * rate_bp / 10000`` rounded half-up on the fen."""
    if amount_fen < 0 or rate_bp < 0:
        raise PlanError("amount and rate must not be negative")
    return (amount_fen * rate_bp + 5000) // 10000


def check_term(channel: str, term: int, config: InstalmentConfig = DEFAULT_CONFIG) -> int:
    """The seller rate (bp) for ``term`` on ``channel``; PlanError if the channel doesn't offer it."""
    if isinstance(term, bool) or not isinstance(term, int) or term <= 0:
        raise PlanError(f"instalment term must be a positive whole number of periods, got {term!r}")
    terms = config.channels.get(channel)
    if terms is None:
        offered = ", ".join(sorted(config.channels)) or "none"
        raise PlanError(f"channel {channel!r} offers no instalments (configured: {offered})")
    if term not in terms.rates_bp:
        offered = ", ".join(str(t) for t in terms.terms)
        raise PlanError(f"channel {channel!r} does not offer {term} periods (offers {offered})")
    return terms.rates_bp[term]


def make_plan(
    order_no: str,
    amount_fen: int,
    periods: int,
    first_due: dt.date,
    rule: str = "first",
    channel: str | None = None,
    seller_rate_bp: int | None = None,
    config: InstalmentConfig = DEFAULT_CONFIG,
    day_of_month: int | None = None,
) -> Plan:
    """Make the plan of one order.

    With ``channel`` the term must be one the channel offers (config), and the rate defaults to
    the configured one; ``seller_rate_bp`` overrides it. Without a channel no term check is made
    and the rate is ``seller_rate_bp`` or 0. ``day_of_month`` is the day periods fall on
    (default first_due's day; a plan starting Feb 28 for a Jan 31 purchase passes 31).
    Raises PlanError on any bad argument.
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise PlanError(f"amount_fen must be int fen, got {type(amount_fen).__name__}")
    if amount_fen < 0:
        raise PlanError(f"order {order_no}: amount {amount_fen} fen is negative")
    if channel is not None:
        rate = check_term(channel, periods, config)
    elif isinstance(periods, bool) or not isinstance(periods, int) or periods <= 0:
        raise PlanError(f"instalment term must be a positive whole number of periods, got {periods!r}")
    else:
        rate = 0
    if seller_rate_bp is not None:
        rate = seller_rate_bp
    fee = seller_fee_fen(amount_fen, rate)
    amounts = split_fen(amount_fen, periods, rule)
    fees = split_fen(fee, periods, rule)
    rows = tuple(
        Period(k, add_months(first_due, k - 1, day_of_month), amounts[k - 1], fees[k - 1]) for k in range(1, periods + 1)
    )
    return Plan(order_no, channel, amount_fen, periods, rule, rate, fee, rows)


def plan_for_order(
    order_no: str,
    amount_fen: int,
    term: int,
    paid_on: dt.date,
    channel: str,
    config: InstalmentConfig = DEFAULT_CONFIG,
) -> Plan:
    """The plan of an order paid on local date ``paid_on``: what ``expand.expand_plans`` computes.

    The first period is due ``first_due_offset_months`` after payment; every period falls on the
    payment's day of month (clamped), so a Jan 31 purchase is due Feb 29, Mar 31, Apr 30.
    """
    spec = config.channels.get(channel)
    offset = spec.first_due_offset_months if spec else 1
    return make_plan(order_no, amount_fen, term, add_months(paid_on, offset), rule=config.rule,
                     channel=channel, config=config, day_of_month=paid_on.day)
