"""Tie out a WeChat bill's summary (control totals) with what the parsed rows add up to.

A bill whose printed totals disagree with its rows is rejected as a whole: either it was
truncated/edited, or the parser misread it, and in both cases reconciling it would be wrong.
"""

from __future__ import annotations

import re

from paymatch.channels.wechat.billtext import BillText
from paymatch.channels.wechat.layout import CHANNEL
from paymatch.errors import LoadError, Problem
from paymatch.money import format_fee_units, format_yuan, parse_fee_units, parse_yuan


def printed_totals(bill: BillText, names: dict[str, str], *, fee_names: frozenset[str] = frozenset()
                   ) -> dict[str, int]:
    """The summary's values as ints keyed by ``names[summary name]`` (counts, or fen for amounts; ``fee_names``:
    exactly, in 1/100,000 yuan, ``money.parse_fee_units``).

    Raises LoadError on the summary line when a value is no number or the count is missing.
    """
    out: dict[str, int] = {}
    problems = []
    for zh, key in names.items():
        raw = bill.summary.get(zh)
        if raw is None:
            continue  # older vintages lack some totals; the ones printed are still checked
        try:
            if key.endswith("count"):
                # a count as the fund-flow bill's documentation prints it (`20.0): a whole number with zero decimals
                m = re.fullmatch(r"([0-9]+)(?:\.0+)?", raw)
                if m is None:
                    raise ValueError(f"not a count: {raw!r}")
                out[key] = int(m.group(1))
            else:
                out[key] = parse_fee_units(raw) if zh in fee_names else parse_yuan(raw)
        except ValueError as exc:
            problems.append(Problem(bill.source, bill.summary_line, zh, raw, f"{CHANNEL}: {exc}"))
    if "count" not in out and not problems:
        problems.append(Problem(bill.source, bill.summary_line, None, None,
                                f"{CHANNEL}: summary has no row count"))
    if problems:
        raise LoadError(problems)
    return out


def tie_out(bill: BillText, names: dict[str, str], printed: dict[str, int], computed: dict[str, int], *,
            fee_names: frozenset[str] = frozenset()) -> None:
    """Raise LoadError naming each summary total that differs from the rows' sum/count (``fee_names``: compared in
    1/100,000 yuan)."""
    problems = []
    for zh, key in names.items():
        if key not in printed or zh not in bill.summary:  # a meaning may have two names; one is printed
            continue
        want, got = printed[key], computed.get(key, 0)
        if want != got:
            shown = (str, str) if key.endswith("count") else (
                (format_fee_units, format_fee_units) if zh in fee_names else (format_yuan, format_yuan))
            problems.append(Problem(
                bill.source, bill.summary_line, zh, bill.summary.get(zh),
                f"{CHANNEL}: control total {zh} = {shown[0](want)} does not tie out with the rows "
                f"({shown[1](got)})"))
    if problems:
        raise LoadError(problems, hint="the bill is incomplete or was edited; download it again "
                        "from WeChat Pay (nothing from it was stored)")
