"""What a scan of bills does with Alipay's 账务明细 (the account's fund movements, read by the built-in profile as
transactions when it comes alone): read as fund flows when it came with its 汇总 or beside the same account's
业务明细 (``read_fund_details_as_flows``, ``alipay_trade_days``), refused when it is a Taobao/Tmall seller's
(``refuse_taobao``). ``detect.scan_bills`` and ``scan_paths`` call these after reading every file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from paymatch.channels.base import ParsedBill
from paymatch.channels.bill_scan import BillScan, Rejected
from paymatch.channels.bill_walk import among_siblings, walk
from paymatch.channels.profiles import Profile, builtin_profiles
from paymatch.errors import LoadError, Problem

#: an order's 商户订单号 in a Taobao/Tmall seller's Alipay 账务明细: 'T200P' and the 淘宝订单号 (飞猪's: 'T10000P'); a
#: 淘宝订单号 has 15 digits or more
_TAOBAO_ORDER = r"^T\d+P\d{15,}$"


def refuse_taobao(scan: BillScan, profiles: Sequence[Profile]) -> None:
    """A Taobao/Tmall seller's Alipay 账务明细 read as transactions by the built-in profile is refused: it books an
    order's money when the buyer confirms receipt (交易付款, days after the payment), net of the refunds made
    before, which never show, under 'T200P<淘宝订单号>'; read as the payments of the shop's orders, every order
    would be a break. (Beside the account's 业务明细 or 汇总 it was read as fund flows; a shop's own profile of it
    reads it as the shop maps it.)"""
    import pyarrow.compute as pc

    builtin = {p.name: p.path for p in builtin_profiles()}
    own = {p.name: p.path for p in profiles}
    for bill in list(scan.bills):
        name = bill.kind.removeprefix("profile:")
        if bill.layout != "alipay_fundflow" or name not in builtin or own.get(name) != builtin[name]:
            continue
        hits = pc.fill_null(pc.match_substring_regex(bill.transactions.column("order_no"), _TAOBAO_ORDER), False)
        if not pc.any(hits).as_py():
            continue
        row = bill.transactions.filter(hits).slice(0, 1).to_pylist()[0]
        scan.bills.remove(bill)
        scan.rejected.append(Rejected(bill.source, LoadError(
            [Problem(bill.source, row["src_line"], "商户订单号", row["order_no"],
                     f"alipay: a Taobao/Tmall shop's 账务明细 ({pc.sum(hits).as_py()} rows of orders 'T200P<淘宝订单号>'): "
                     "it books an order's money when the buyer confirms receipt (交易付款), not when the order is "
                     "paid, less the refunds made before, which it never lists; read as the payments of your orders "
                     "every order would be a break (another day, another amount, refunds missing)")],
            hint="leave it out of --bills: paymatch does not reconcile Taobao orders from the seller's 账务明细; to read "
                 "its movements anyway write a profile of your own for it ([bills] profile_dirs; where the export has "
                 "the 业务基础订单号 column, it holds the 淘宝订单号: map order_no to it)"), bill.sha256, "alipay"))


def _delivery(name: str) -> str:
    """What a file came with: a zip or tar member's archive, else the folder of the file on disk (an unzipped
    delivery's files sit side by side)."""
    if among_siblings(name):
        return name.rsplit("!", 1)[0]
    return str(Path(name.split("!", 1)[0]).parent)


def _account_days(bill: ParsedBill) -> set[tuple[str, dt.date]]:
    """(merchant number, bill day) of the bill's rows: the distinct pairs, found by Arrow (a Python set of every
    row's pair cost seconds and gigabytes on a 业务明细 of millions of rows, scanned for each such bill)."""
    pairs = bill.transactions.select(["merchant_id", "bill_date"]).group_by(["merchant_id", "bill_date"]).aggregate([])
    return {(m, d) for m, d in zip(pairs.column("merchant_id").to_pylist(), pairs.column("bill_date").to_pylist())
            if m}


def profile_read_alipay(scan: BillScan) -> bool:
    """Whether a profile read a file of the scan (an Alipay one or, beside its 汇总, any), or refused an Alipay one:
    only such a file may be a 账务明细 to read again (``read_fund_details_as_flows``), so only then are the 业务明细's
    days worth finding (an ingest of a big 业务明细 alone does not look at its rows' days)."""
    return (any(b.kind.startswith("profile:") for b in scan.bills)
            or any(r.channel == "alipay" for r in scan.rejected))


def alipay_trade_days(bills: Iterable[ParsedBill]) -> set[tuple[str, dt.date]]:
    """(merchant number, day) that the Alipay 业务明细 among ``bills`` cover: their rows' (which name the account's
    PID, as the profile's do), and every day of the period a bill says it covers (a day without trades is covered
    too)."""
    out: set[tuple[str, dt.date]] = set()
    for bill in bills:
        if bill.channel == "alipay" and bill.kind == "alipay_detail":
            rows = _account_days(bill)
            out |= rows
            if bill.period is not None:
                first, last = bill.period
                days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
                out |= {(m, d) for m in {m for m, _ in rows} for d in days}
    return out


def delivered_kinds(scan: BillScan) -> dict[str, set[str]]:
    """The bill kinds read from each delivery (``_delivery``: an archive, or a folder of loose files)."""
    siblings: dict[str, set[str]] = {}
    kind_of = {bill.source: bill.kind for bill in scan.bills}
    same = "same content as "  # a member skipped as a copy of a bill read elsewhere counts as that bill
    members = [*kind_of.items(), *((name, kind_of.get(why[len(same):])) for name, why in scan.skipped
                                   if why.startswith(same))]
    for source, kind in members:
        if kind is not None:
            siblings.setdefault(_delivery(source), set()).add(kind)
    return siblings


def read_fund_details_as_flows(scan: BillScan, traded: set[tuple[str, dt.date]] = frozenset(),
                            delivered: dict[str, set[str]] | None = None) -> None:
    """A 账务明细 a profile read (as transactions) is read by the Alipay module instead, as fund flows, when it came
    with its 汇总 (the signcustomer delivery: in one archive, or unzipped into one folder), or when the scan holds
    the same account's 业务明细 of a day it lists: that is the account's transaction bill, and the 账务明细's
    movements read as transactions beside it counted each payment twice and made each refund (no refund number
    there) a second, unrecorded one. Only such files are read again, from disk (a scan may be looked at again: what
    was read here is no profile's any more)."""
    try:
        from paymatch.channels.alipay import bill as abill
    except ImportError:
        return
    # (``traded``, ``delivered``: what the other paths of the command read, ``scan_paths``)
    if not profile_read_alipay(scan):
        return  # nothing a profile read or refused as Alipay's: no file to read again
    siblings = delivered_kinds(scan) if delivered is None else delivered
    # (``scan_paths`` passes what the other paths of the command read, this scan's 业务明细 included)
    traded = traded if delivered is not None else alipay_trade_days(scan.bills)

    def paired(name: str) -> bool:
        return abill.FUND_SUMMARY_KIND in siblings.get(_delivery(name), set())

    def beside_trade(bill: ParsedBill) -> bool:  # a 账务明细's rows of an account and day a 业务明细 covers
        # (known by its layout: a shop's profile of it may name another channel, ``alipay_cn``, as well as itself)
        return bill.layout == "alipay_fundflow" and bool(traded & _account_days(bill))

    # what a profile read, or refused while reading (a profile of channel alipay recognised it)
    candidates: dict[str, ParsedBill | Rejected] = {
        **{b.source: b for b in scan.bills if b.kind.startswith("profile:") and (paired(b.source) or beside_trade(b))},
        **{r.name: r for r in scan.rejected if r.channel == "alipay" and paired(r.name)}}
    for outer in sorted({source.split("!", 1)[0] for source in candidates}):
        for entry in walk(Path(outer)):
            old = candidates.get(entry.name)
            if old is None or entry.skip is not None or entry.error is not None:
                continue
            if not abill.is_fund_detail(entry.data):
                continue
            if isinstance(old, ParsedBill):  # keep the file order of the good bills
                at = scan.bills.index(old)
                del scan.bills[at]
            else:
                scan.rejected.remove(old)
                at = len(scan.bills)
            try:
                scan.bills.insert(at, replace(abill.parse(entry.data, entry.name), sha256=entry.sha256,
                                              source=entry.name))
            except LoadError as exc:
                scan.rejected.append(Rejected(entry.name, exc, entry.sha256, "alipay"))
