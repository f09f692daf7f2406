"""WeChat Pay bill files: detect (``sniff``) and parse (``parse``) trade and fund-flow bills.

``parse`` accepts the bytes as downloaded (gzip, recognised by its magic number) or the plain
CSV, old (BOM + CRLF) or new. See ``trade`` and ``fundflow`` for the column mapping.
"""

from __future__ import annotations

import datetime as dt

from paymatch.channels.base import ParsedBill
from paymatch.channels.wechat import layout
from paymatch.channels.wechat.billtext import split
from paymatch.channels.wechat.fundflow import parse_fundflow
from paymatch.channels.wechat.trade import parse_trade

KINDS = (layout.TRADE_ALL, layout.TRADE_SUCCESS, layout.TRADE_REFUND, layout.FUNDFLOW)


def sniff(head: str) -> str | None:
    """Bill kind ('trade_all', 'trade_success', 'trade_refund', 'fundflow') when ``head`` -- the
    decoded first ~4 KB of a file -- starts with a WeChat bill header; None otherwise."""
    return layout.sniff(head)


def parse(data: bytes, source: str, bill_date: dt.date | None = None) -> ParsedBill:
    """Parse one WeChat bill (plain CSV or gzip bytes) into a checked ``ParsedBill``.

    ``source`` names the file in errors and ``src_file``. ``bill_date`` overrides the date taken
    from the content (the latest transaction/booking day). Raises ``LoadError`` naming channel
    'wechat', the file and line for bad values, an unknown layout or totals that do not tie out.
    """
    bill = split(data, source)
    if bill.kind == layout.FUNDFLOW:
        return parse_fundflow(bill, bill_date)
    return parse_trade(bill, bill_date)
