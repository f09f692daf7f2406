"""UnionPay 全渠道 商户交易汇总表: the ``RD…_<merId>`` report delivered in the day's zip beside the ZM file.

A GBK text report for one merchant code (商户代码) and settle date (清算日期): per 交易类型, then per 卡性质, the
交易笔数 and three amounts in yuan, each as 借 (debit to the merchant) and 贷 (credit): 交易金额, 费用, 资金清算差额.
Layout as in the sample delivery UnionPay ships with its ACP SDK (``802310048993424_20150905.zip``: ``INN15090588ZM_…``
and ``RD201015090501_…``).

It lists no transaction of its own: ``parse`` returns kind 'unionpay_rd' with no rows and the first table's 总计 in
``totals``, and ``cross_check`` ties it out against the ZM rows of its merchant code and settle date read in the same
scan (each record once): the count, 交易金额 贷 − 借 = payments − refunds, 费用 借 − 贷 = the fees (``fee_fen``: positive
when charged). These identities hold whichever column a refund is printed in (a 借 amount, or a smaller 贷). A report
counting trades with no ZM rows beside it (the day's ZM missing, or empty) is refused; one counting none is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from paymatch.channels.base import ParsedBill
from paymatch.errors import LoadError, Problem
from paymatch.money import format_yuan, parse_yuan
from paymatch.schema import TRANSACTION_ARROW

KIND = "unionpay_rd"
TITLE = "商户交易汇总表"
#: what tells two ZM lines apart (查询流水号 of the payment, of the refund)
_IDENTITY = ["merchant_id", "type", "channel_tx_id", "channel_refund_id"]
#: the 总计 line's amounts, in order
AMOUNTS = ("amount_debit_fen", "amount_credit_fen", "fee_debit_fen", "fee_credit_fen", "net_debit_fen", "net_credit_fen")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")


def decode(data: bytes) -> str:
    """The report's text: GBK as UnionPay delivers it, or UTF-8 (a BOM allowed) when saved again as that."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def sniff(head: str) -> bool:
    """Whether ``head`` (decoded) starts a 商户交易汇总表."""
    return TITLE in head[:2000] and "清算日期" in head


def _fail(source: str, line: int | None, message: str) -> LoadError:
    return LoadError([Problem(source, line, None, None, f"unionpay 汇总表: {message}")],
                     hint="is this the RD… 商户交易汇总表 of UnionPay's daily zip, as delivered?")


def parse(data: bytes, source: str) -> ParsedBill:
    """Read the report's merchant code, settle date and first 总计 line (see module docstring)."""
    try:
        text = decode(data)
    except UnicodeDecodeError as exc:
        raise _fail(source, data.count(b"\n", 0, exc.start) + 1, "neither GBK nor UTF-8 text") from None
    lines = text.splitlines()
    merchant = re.search(r"商户代码\s*[:：]\s*(\S+)", text)
    day = re.search(r"清算日期\s*[:：]\s*([0-9]{8})", text)
    if merchant is None or day is None:
        raise _fail(source, None, "商户代码 or 清算日期 missing")
    try:
        settle = dt.datetime.strptime(day.group(1), "%Y%m%d").date()
    except ValueError:
        raise _fail(source, text.count("\n", 0, day.start()) + 1, f"清算日期 {day.group(1)} is not a date") from None
    total_at = next((i for i, ln in enumerate(lines) if ln.strip().startswith("总计")), None)
    if total_at is None:
        raise _fail(source, None, "no 总计 line")
    values = _NUMBER.findall(lines[total_at].strip()[2:])
    if len(values) != 1 + len(AMOUNTS) or not values[0].replace(",", "").isdigit():
        raise _fail(source, total_at + 1, f"总计 has {len(values)} numbers, not a count and {len(AMOUNTS)} amounts")
    try:
        amounts = [parse_yuan(v.replace(",", "")) for v in values[1:]]
    except ValueError as exc:
        raise _fail(source, total_at + 1, f"总计: {exc}") from None
    totals = {"merchant_id": merchant.group(1), "count": int(values[0].replace(",", "")), **dict(zip(AMOUNTS, amounts)),
              "total_line": total_at + 1}
    return ParsedBill(channel="unionpay", kind=KIND, source=source, sha256=hashlib.sha256(data).hexdigest(),
                      bill_date=settle, transactions=TRANSACTION_ARROW.empty_table(), totals=totals)


def _sums(bills: list[ParsedBill], merchant: str) -> dict[str, int]:
    """The ZM rows of ``merchant`` in ``bills``, each record once (a copy of the ZM beside the zip, with other line
    ends, lists the same records: the scan reads both, the workspace keeps each record once)."""
    rows = pa.concat_tables([b.transactions.select(_IDENTITY + ["amount_fen", "fee_fen"]) for b in bills])
    rows = rows.filter(pc.equal(rows.column("merchant_id"), merchant))
    con = duckdb.connect()
    try:
        con.register("_pm_zm_rows", rows)
        count, net, fee = con.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN type = 'payment' THEN amount_fen ELSE -amount_fen END), 0), "
            "coalesce(sum(fee_fen), 0) FROM (SELECT DISTINCT * FROM _pm_zm_rows)").fetchall()[0]
    finally:
        con.close()
    return {"count": count, "net": net, "fee": fee}


def cross_check(bills: list[ParsedBill]) -> list[tuple[list[ParsedBill], LoadError]]:
    """Each 汇总表 that does not tie out with the ZM rows of its merchant code and settle date: (the report and
    those ZM bills, why). A report counting no trade needs no ZM beside it; one counting trades does."""
    out = []
    for rd in (b for b in bills if b.kind == KIND):
        merchant = rd.totals["merchant_id"]
        zms = [b for b in bills if b.kind == "unionpay_zm" and b.bill_date == rd.bill_date
               and pc.any(pc.equal(b.transactions.column("merchant_id"), merchant)).as_py()]
        if not zms and rd.totals["count"] == 0:
            continue
        got = _sums(zms, merchant) if zms else {"count": 0, "net": 0, "fee": 0}
        want = {"count": rd.totals["count"],
                "net": rd.totals["amount_credit_fen"] - rd.totals["amount_debit_fen"],
                "fee": rd.totals["fee_debit_fen"] - rd.totals["fee_credit_fen"]}
        words = {"count": "交易笔数", "net": "交易金额 (贷 − 借)", "fee": "费用 (借 − 贷)"}
        off = [f"{words[k]} {want[k] if k == 'count' else format_yuan(want[k])} ≠ "
               f"{got[k] if k == 'count' else format_yuan(got[k])} in the ZM rows" for k in want if want[k] != got[k]]
        if off:
            names = ", ".join(b.source for b in zms) or "no ZM file (the day's ZM is missing or empty)"
            out.append(([rd, *zms], LoadError(
                [Problem(rd.source, rd.totals["total_line"], "总计", None,
                         f"unionpay 汇总表 of {merchant} on {rd.bill_date} does not tie out with {names}: "
                         + "; ".join(off))],
                hint="a file of the delivery is missing rows or was altered: download the day's zip again")))
    return out
