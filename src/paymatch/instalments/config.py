"""Instalment rules as data: terms and seller-borne rates per channel, and who pays per period.

Rates are basis points (1 bp = 0.01 %) of the order amount, charged to the seller when the
plan is interest-free for the buyer (Alipay calls this ``hb_fq_seller_percent=100``).

Default rates below are EXAMPLE VALUES, not a quote. Huabei's terms 3/6/12 are documented in
Alipay's integration notes (``hb_fq_num`` accepts only 3, 6, 12; see
https://developer.aliyun.com/article/710927 and https://blog.csdn.net/bloodyer/article/details/78560514);
the commonly cited buyer-side fee rates of 2.3 % / 4.5 % / 7.5 % are used here as placeholders.
Actual seller rates are negotiated per contract and must come from the merchant's config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from paymatch.errors import ConfigError

RULES = ("first", "last", "spread")


@dataclass(frozen=True)
class ChannelTerms:
    """What one channel offers for instalments.

    channel: payment-method name as in orders.channel ('huabei', 'wechat_payscore', ...).
    rates_bp: offered term (number of periods) -> seller-borne rate in basis points (0 = buyer pays).
    per_period: True when the channel pays the merchant once per period (周期扣款) and so reports
        one flow per period; False when it pays the whole amount up front (Huabei, Baitiao, cards).
    first_due_offset_months: months from the payment date to the first due date (0 = the first
        period is taken at purchase, as periodic deductions do; 1 = next month, as Huabei bills).
    """

    channel: str
    rates_bp: Mapping[int, int]
    per_period: bool = False
    first_due_offset_months: int = 1

    def __post_init__(self) -> None:
        if not self.rates_bp:
            raise ConfigError(f"instalments.channels.{self.channel}: no terms offered")
        for term, bp in self.rates_bp.items():
            if not isinstance(term, int) or term <= 0:
                raise ConfigError(f"instalments.channels.{self.channel}: term {term!r} must be a positive int")
            if not isinstance(bp, int) or bp < 0 or bp > 10000:
                raise ConfigError(f"instalments.channels.{self.channel}.{term}: rate {bp!r} bp out of 0..10000")
        if self.first_due_offset_months < 0:
            raise ConfigError(f"instalments.channels.{self.channel}: first_due_offset_months < 0")
        # frozen record: nobody mutates the terms behind our back
        object.__setattr__(self, "rates_bp", MappingProxyType(dict(sorted(self.rates_bp.items()))))

    @property
    def terms(self) -> tuple[int, ...]:
        """Terms offered, ascending."""
        return tuple(self.rates_bp)


@dataclass(frozen=True)
class InstalmentConfig:
    """All instalment rules.

    channels: channel name -> its terms.
    rule: where the rounding remainder goes: 'first' (default), 'last' or 'spread' (one fen to
        each of the first ``remainder`` periods).
    amount_tolerance_fen: a per-period flow within this many fen of the plan still matches.
    """

    channels: Mapping[str, ChannelTerms] = field(default_factory=dict)
    rule: str = "first"
    amount_tolerance_fen: int = 0

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ConfigError(f"instalments.rule: {self.rule!r} is not one of {', '.join(RULES)}")
        if self.amount_tolerance_fen < 0:
            raise ConfigError("instalments.amount_tolerance_fen must be >= 0")
        object.__setattr__(self, "channels", MappingProxyType(dict(self.channels)))

    @property
    def per_period_channels(self) -> tuple[str, ...]:
        """Channels that pay per period, sorted."""
        return tuple(sorted(c for c, t in self.channels.items() if t.per_period))

    @property
    def max_term(self) -> int:
        """Longest term any channel offers (the size of the periods frame)."""
        return max((max(t.terms) for t in self.channels.values()), default=0)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> InstalmentConfig:
        """Build from a parsed YAML/TOML mapping; keys mirror the fields. Raises ConfigError."""
        chans = {}
        for name, spec in (data.get("channels") or {}).items():
            try:
                rates = {int(k): int(v) for k, v in (spec.get("rates_bp") or {}).items()}
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"instalments.channels.{name}.rates_bp: {exc}") from None
            chans[name] = ChannelTerms(
                channel=name,
                rates_bp=rates,
                per_period=bool(spec.get("per_period", False)),
                first_due_offset_months=int(spec.get("first_due_offset_months", 1)),
            )
        return cls(
            channels=chans,
            rule=str(data.get("rule", "first")),
            amount_tolerance_fen=int(data.get("amount_tolerance_fen", 0)),
        )


#: A usable default; every rate is an example value (see module docstring).
DEFAULT_CONFIG = InstalmentConfig(
    channels={
        "huabei": ChannelTerms("huabei", {3: 230, 6: 450, 12: 750}),
        "baitiao": ChannelTerms("baitiao", {3: 230, 6: 450, 12: 750, 24: 1300}),
        "credit_card": ChannelTerms("credit_card", {3: 0, 6: 0, 12: 0, 24: 0}),
        "wechat_payscore": ChannelTerms(
            "wechat_payscore", {3: 0, 6: 0, 12: 0}, per_period=True, first_due_offset_months=0
        ),
        "alipay_pay_later": ChannelTerms(
            "alipay_pay_later", {3: 0, 6: 0, 12: 0}, per_period=True, first_due_offset_months=0
        ),
    }
)
