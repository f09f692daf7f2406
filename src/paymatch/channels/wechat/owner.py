"""Whose rows a pulled WeChat trade bill holds: every row must be of the merchant numbers it was asked for.

A service provider (服务商) asks for one sub-merchant's trade bill with ``sub_mchid``; per WeChat's field list
(交易账单详细说明) a row's 商户号 is the merchant that placed the order -- the provider, in service-provider mode -- and
its 特约商户号 the sub-merchant ("0" for a direct merchant's own trade). ``pull`` stores the file under the sub-merchant
it asked for, and each transaction under its 特约商户号; so a bill listing another sub-merchant's rows (a
misconfigured number, a server mix-up) would have been stored as the asked-for account's bill, the other shop's
payments matched against this shop's orders. Each row is compared here; one that differs refuses the whole file,
naming the line, the field and both numbers, so nothing of it is stored (``pull`` quarantines it).

Fund-flow bills name no merchant number in their rows (资金变更提交申请人 is an operator, not an account): not checked;
``pull`` refuses a fund-flow bill that answers a trade-bill request (and the reverse) before this check.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from paymatch.channels.wechat.billtext import PROBLEM_LIMIT, read_rows, split
from paymatch.channels.wechat.layout import CHANNEL, FUNDFLOW, sources
from paymatch.errors import LoadError, Problem

MERCHANT, SUB_MERCHANT = "商户号", "特约商户号"


def check_owner(data: bytes, source: str, *, mchid: str, sub_mchid: str | None = None) -> None:
    """Raise LoadError unless every row of the trade bill ``data`` has 商户号 ``mchid`` and, when ``sub_mchid`` is
    given, 特约商户号 ``sub_mchid`` (the older 普通结算 layout's 子商户号 stands for it). A fund-flow bill passes."""
    bill = split(data, source)
    if bill.kind == FUNDFLOW or not bill.has_rows:
        return
    src = sources(bill.header)
    wanted = [(MERCHANT, mchid), *([(SUB_MERCHANT, sub_mchid)] if sub_mchid else [])]
    missing = [name for name, _n in wanted if name not in src]
    if missing:  # (kind_of_header requires both; kept so a layout change cannot skip the check silently)
        raise LoadError([Problem(source, 1, missing[0], None, f"{CHANNEL}: no {missing[0]} column: the bill cannot "
                                                              "be checked to be of the merchant asked for")])
    con = duckdb.connect()
    try:
        rows = read_rows(bill, list(dict.fromkeys(src[name] for name, _n in wanted)), con)
    finally:
        con.close()
    problems: list[Problem] = []
    total = 0
    for name, expected in wanted:
        column = rows.column(src[name])
        # the number as the reader stores it (``trade``: the backtick stripped, nothing else): a number padded with
        # spaces is another merchant number than the one asked for, stored so, and is refused here
        got = pc.utf8_ltrim(column, "`")
        wrong = pc.indices_nonzero(pc.not_equal(got, pa.scalar(expected)))
        total += len(wrong)
        off = wrong.slice(0, PROBLEM_LIMIT).to_pylist()  # (a bill of another merchant: not 300k ints in Python)
        role = "sub-merchant (特约商户)" if name == SUB_MERCHANT else "merchant (服务商)"
        for i in off:  # each column's first ones: the first lines of all are kept below
            value = got[i].as_py()
            shown = "(empty)" if not value else value if value == value.strip() else repr(value)
            problems.append(Problem(source, rows.column("_pm_line")[i].as_py(), src[name], value,
                                    f"{CHANNEL}: {src[name]} {shown} is not {expected}, the {role} "
                                    "this bill was asked for"))
    if problems:
        problems = sorted(problems, key=lambda p: p.line or 0)[:PROBLEM_LIMIT]
        raise LoadError(problems, total=total,
                        hint="the bill holds rows of another merchant number: nothing of it was stored (it is kept "
                             "in the quarantine); check the account's mchid and sub_mchids / sub_merchants, and pull "
                             "again; if the numbers are right, ask WeChat Pay about this bill")
