"""Alipay 业务明细(汇总) (summary) file: per-store totals, and its cross-check with the detail.

Layout (GBK, same '#' frame as the detail, markers 业务汇总列表 / 业务汇总列表结束)::

    门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,
    商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）
    <one row per store>
    合计,,<counts and amounts over all stores>

Amounts are as Alipay prints them (refunds netted in, fees negative). The file is one row per
store, so it is read with the csv module. The 合计 row must equal the sum of the store rows, and
(``cross_check``) the detail bill's rows: counts, 订单金额, 商家实收 and 服务费, netted the same way.
"""

from __future__ import annotations

import csv
import hashlib
import io

import pyarrow as pa
import pyarrow.compute as pc

from paymatch.channels.alipay.layout import SUMMARY_END, SUMMARY_START, locate, norm_header
from paymatch.channels.base import ParsedBill
from paymatch.errors import LoadError, Problem
from paymatch.money import format_yuan, parse_yuan
from paymatch.schema import TRANSACTION_ARROW

#: summary field -> header name; counts first, then yuan amounts
FIELDS = {
    "payment_count": "交易订单总笔数", "refund_count": "退款订单总笔数",
    "order_fen": "订单金额（元）", "settle_fen": "商家实收（元）", "fee_fen": "服务费（元）",
    "net_fen": "实收净额（元）",
}
EXTRA_SCHEMA = pa.schema([
    ("store_id", pa.string()), ("store_name", pa.string()),
    *[(k, pa.int64()) for k in FIELDS], ("src_line", pa.int64()),
])


def parse_summary(data: bytes, source: str) -> ParsedBill:
    """Parse a 业务明细(汇总) CSV: ``extra`` holds the store rows, ``totals`` the 合计 row."""
    frame = locate(data, source, SUMMARY_START, SUMMARY_END)
    where = {k: frame.header.index(h) for k, h in FIELDS.items() if h in frame.header}
    missing = [h for k, h in FIELDS.items() if k not in where and k != "net_fen"]
    if missing or "门店编号" not in frame.header:
        raise LoadError([Problem(source, frame.header_line, m, None, "column missing")
                         for m in missing or ["门店编号"]], hint="unknown Alipay summary layout")
    text = data[frame.body_start:frame.body_end].decode(frame.encoding)
    stores: list[dict] = []
    total: dict | None = None
    problems: list[Problem] = []
    for i, cells in enumerate(csv.reader(io.StringIO(text))):
        line = frame.header_line + 1 + i
        cells = [c.strip("\t \r") for c in cells]
        if not any(cells):
            continue
        row: dict = {"store_id": cells[0] or None, "src_line": line,
                     "store_name": cells[1] if len(cells) > 1 else None}
        for key, col in where.items():
            raw = cells[col] if col < len(cells) else ""
            try:
                row[key] = (int(raw) if key.endswith("count") else parse_yuan(raw)) if raw else 0
            except ValueError as exc:
                problems.append(Problem(source, line, FIELDS[key], raw, str(exc)))
        if norm_header(cells[0]) == "合计":
            total = row
        else:
            stores.append(row)
    if problems:
        raise LoadError(problems)
    if total is None:
        raise LoadError([Problem(source, None, "合计", None, "no 合计 row in the summary")])
    for key in where:
        added = sum(s[key] for s in stores)
        if stores and added != total[key]:
            problems.append(Problem(source, total["src_line"], FIELDS[key], str(total[key]),
                                    f"合计 differs from the sum of the store rows ({added})"))
    if problems:
        raise LoadError(problems)
    extra = pa.Table.from_pylist([{**{k: None for k in EXTRA_SCHEMA.names}, **s} for s in stores],
                                 schema=EXTRA_SCHEMA)
    totals = {k: total[k] for k in where}
    return ParsedBill(
        channel="alipay", kind="alipay_summary", source=source,
        sha256=hashlib.sha256(data).hexdigest(), bill_date=frame.start,
        transactions=TRANSACTION_ARROW.empty_table(), totals=totals, extra=extra,
    )


def detail_figures(detail: ParsedBill) -> dict[str, int]:
    """The detail's rows summed the way the summary prints them (refunds netted, fees negative)."""
    tx = detail.transactions
    is_pay = pc.equal(tx["type"], "payment")

    def net(col: str) -> int:
        """Payments minus refunds of one column (refunds are positive in canonical form)."""
        pay = pc.sum(pc.if_else(is_pay, tx[col], 0)).as_py() or 0
        ref = pc.sum(pc.if_else(is_pay, 0, tx[col])).as_py() or 0
        return pay - ref

    return {
        "payment_count": pc.sum(is_pay.cast(pa.int64())).as_py() or 0,
        "refund_count": tx.num_rows - (pc.sum(is_pay.cast(pa.int64())).as_py() or 0),
        "order_fen": net("amount_fen"), "settle_fen": net("settle_amount_fen"),
        # as printed (``detail`` keeps the sum: fee_fen's sign follows the row type, not the print)
        "fee_fen": detail.totals.get("fee_printed_fen", -(pc.sum(tx["fee_fen"]).as_py() or 0)),
    }


def cross_check(detail: ParsedBill, summary: ParsedBill) -> None:
    """Raise LoadError naming both files when the summary's 合计 and the detail rows disagree."""
    got = detail_figures(detail)
    problems = []
    for key, value in summary.totals.items():
        if key in got and got[key] != value:
            shown = (value, got[key]) if key.endswith("count") else (format_yuan(value), format_yuan(got[key]))
            problems.append(Problem(summary.source, None, FIELDS[key], str(shown[0]),
                                    f"summary 合计 says {shown[0]}, {detail.source} adds up to {shown[1]}"))
    if problems:
        raise LoadError(problems, hint="the detail and summary files of this bill disagree")


__all__ = ["parse_summary", "cross_check", "detail_figures"]
