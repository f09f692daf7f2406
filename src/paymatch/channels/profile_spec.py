"""The parts of a mapping profile (file layout, constants, amount/time/status/type rules, totals
check, row filter, sniff rules, flow settings): validated pydantic models. ``profiles.Profile``
assembles them; see its module docstring for every key.
"""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from paymatch.schema import TZ, TxStatus, TxType

FIELDS = (
    "channel_tx_id", "order_no", "refund_no", "channel_refund_id", "amount", "amount_in", "amount_out",
    "fee", "settle_amount", "status", "occurred_at", "occurred_date", "bill_date", "merchant_id", "type", "method",
)
#: fields an ``instalment_flows`` profile may map (``period`` is one "k/n" column)
FLOW_FIELDS = ("order_no", "period_no", "periods", "period", "amount", "fee", "status", "occurred_at", "merchant_id")
CanonField = Literal[
    "channel_tx_id", "order_no", "refund_no", "channel_refund_id", "amount", "amount_in", "amount_out",
    "fee", "settle_amount", "status", "occurred_at", "occurred_date", "bill_date", "merchant_id", "type", "method",
    "period_no", "periods", "period",
]
TARGETS = ("transactions", "instalment_flows")


class _Strict(BaseModel):
    """Base for profile sections: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


class FileSpec(_Strict):
    """How the file is laid out: type, encoding, where the table starts and ends."""

    type: Literal["csv", "xlsx"] = "csv"
    encoding: Literal["utf-8", "utf-8-sig", "gbk", "gb18030"] = "utf-8-sig"
    delimiter: str = Field(",", min_length=1, max_length=1)
    #: other separators the same export comes with (a bank's TSV download and its CSV): the
    #: first one, after ``delimiter``, that splits out the header row is used
    alt_delimiters: list[str] = []
    quote: str = Field('"', min_length=1, max_length=1)
    #: physical lines to skip before looking for the header row
    skip_lines: int = Field(0, ge=0)
    #: header row = first line holding all these cells (a list entry: any one of its names);
    #: default: sniff.headers, else first table line
    header_contains: list[str | list[str]] = []
    #: lines starting with this are comments wherever they are (kept for constants/totals)
    comment_prefix: str | None = None
    #: the first body line matching this regex starts the trailer: it and all after are dropped
    trailer_regex: str | None = None
    #: drop this many non-blank lines at the end of the body
    trailer_lines: int = Field(0, ge=0)
    #: xlsx only: sheet name (default: the first sheet)
    sheet: str | None = None

    @field_validator("alt_delimiters")
    @classmethod
    def _one_char(cls, value: list[str]) -> list[str]:
        if any(len(d) != 1 for d in value):
            raise ValueError("each delimiter is one character")
        return value

    @field_validator("trailer_regex")
    @classmethod
    def _re2(cls, value: str | None) -> str | None:
        # applied by Arrow (RE2) to every line, so it must be valid there, not only in Python
        _regex(value)
        if value is not None:
            import pyarrow as pa
            import pyarrow.compute as pc

            try:
                pc.match_substring_regex(pa.array([""]), value)
            except pa.ArrowInvalid as exc:
                raise ValueError(f"not a valid RE2 regular expression {value!r}: {exc}") from exc
        return value


class Constant(_Strict):
    """A value that is not in a column: fixed, or captured by a regex's group 1 from the
    lines around the table (title, comment and trailer lines)."""

    value: str | None = None
    regex: str | None = None
    #: where ``regex`` is searched: the lines around the table, or the file's name (a bank that names its
    #: download ``SHOP.<merchant number>.<date>.txt`` and prints the number nowhere inside); inside an archive the
    #: member's name first, then the archive's
    search: Literal["lines", "file_name"] = "lines"
    #: no matching line is fine (the value stays empty) instead of rejecting the file: for lines
    #: one download of the channel has and another (the API bill, an Excel re-save) has not
    optional: bool = False

    _check_regex = field_validator("regex")(_regex)

    @model_validator(mode="after")
    def _one_of(self) -> Constant:
        if (self.value is None) == (self.regex is None):
            raise ValueError("give exactly one of 'value' or 'regex'")
        if self.value is not None and self.search != "lines":
            raise ValueError("'search' goes with 'regex'")
        if self.regex is not None and re.compile(self.regex).groups < 1:
            raise ValueError("regex needs a capturing group")
        return self


class AmountSpec(_Strict):
    """How money is written: yuan with decimals, or integer fen."""

    unit: Literal["yuan", "fen"] = "yuan"
    #: most decimals an amount may show (digits past the fen must be zeros); 2 or 5
    decimals: Literal[2, 5] = 2
    fee_decimals: Literal[2, 5] = 2


def has_year(fmt: str) -> bool:
    """Whether a profile's time format names the year ('iso' does; ``%m%d%H%M%S``, as acquirers' clearing files
    write the time of a transaction, does not: the year is then taken from the row's bill date)."""
    return fmt == "iso" or any(d in fmt for d in ("%Y", "%y", "%G", "%c", "%x", "%s"))


class TimeSpec(_Strict):
    """Time formats (strptime patterns, or 'iso') and the zone of naive times."""

    formats: list[str] = Field(default_factory=lambda: ["%Y-%m-%d %H:%M:%S"], min_length=1)
    timezone: str = TZ

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class StatusSpec(_Strict):
    """Source status value -> canonical status; ``default`` fills empty cells or a missing column."""

    map: dict[str, TxStatus] = {}
    default: TxStatus | None = None


class TypeSpec(_Strict):
    """How payment and refund rows are told apart.

    rule: column   -- the mapped ``type`` column's value through ``map``
          sign     -- a negative amount is a refund (a mapped ``type`` column's words in ``map`` must agree)
          in_out   -- money in ``amount_in`` is a payment, money in ``amount_out`` a refund
          constant -- every row is ``value``
    """

    rule: Literal["column", "sign", "in_out", "constant"] = "constant"
    map: dict[str, TxType] = {}
    value: TxType = TxType.PAYMENT


#: the named groups a totals regex may have: what each is compared with (a count, or a money column's sum)
TOTAL_GROUPS = {"count": None, "amount": "amount_fen", "fee": "fee_fen", "settle": "settle_amount_fen"}


class TotalsCheck(_Strict):
    """A control-total line (found by ``regex`` among the non-table lines) tied out against rows.

    Named groups ``count``, ``amount``, ``fee`` and ``settle`` are compared with the rows in ``scope`` (the
    amounts with the sum of the amount, fee and settle_amount columns); ``amount_mode: net`` compares payments
    minus refunds; ``either``: the sum or the net (a layout whose convention for refunds is not known from the
    field: a misread column ties out with neither).
    """

    regex: str
    scope: Literal["all", "payment", "refund"] = "all"
    amount_mode: Literal["sum", "net", "either"] = "sum"
    #: a file without the line is read unchecked instead of rejected (a line that does not tie
    #: out still rejects it)
    optional: bool = False

    @field_validator("regex")
    @classmethod
    def _groups(cls, value: str) -> str:
        _regex(value)
        names = set(re.compile(value).groupindex)
        if not names & set(TOTAL_GROUPS):
            raise ValueError("totals regex needs a named group 'count', 'amount', 'fee' or 'settle'")
        return value


class RowFilter(_Strict):
    """Which rows are transactions, by one column's value: ``keep`` these, or ``drop`` these.

    Statements mix in rows that are not sales (fee deductions, withdrawals, interest). Dropped
    rows still count for the control totals, which cover the whole file.
    """

    column: str
    keep: list[str] = []
    drop: list[str] = []

    @model_validator(mode="after")
    def _one_list(self) -> RowFilter:
        if bool(self.keep) == bool(self.drop):
            raise ValueError("give exactly one of 'keep' or 'drop'")
        return self


class SniffSpec(_Strict):
    """Content-based recognition: all ``headers`` in one line, and ``regex`` found in the head.

    An entry of ``headers`` may be a list of names: any one of them satisfies it (the same column
    is called differently in the console and API downloads of one channel).
    """

    headers: list[str | list[str]] = []
    regex: str | None = None

    _check_regex = field_validator("regex")(_regex)

    @model_validator(mode="after")
    def _something(self) -> SniffSpec:
        if not self.headers and not self.regex:
            raise ValueError("give 'headers' and/or 'regex' so the layout can be recognised")
        return self


class FlowSpec(_Strict):
    """Instalment-flow options: how a single ``period`` column splits into period_no / periods."""

    #: text between the period number and the term in a "k/n" cell
    period_separator: str = Field("/", min_length=1, max_length=3)
