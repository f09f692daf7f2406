"""WeChat Pay bill files: detect (``sniff``) and parse (``parse``) trade and fund-flow bills.

``parse`` accepts the bytes as downloaded (gzip, recognised by its magic number) or the plain
CSV, old (BOM + CRLF) or new. See ``trade`` and ``fundflow`` for the column mapping.
"""

from __future__ import annotations

import datetime as dt

from paymatch.channels.base import ParsedBill, header_line
from paymatch.errors import LoadError, Problem
from paymatch.channels.wechat import layout
from paymatch.channels.wechat.billtext import decompress, split
from paymatch.channels.wechat.fundflow import parse_fundflow
from paymatch.channels.wechat.trade import parse_trade

#: a bill kept as a workbook (.xlsx, opened in Excel and saved so) is read here as the CSV its sheet holds (``detect``)
WORKBOOK_AS_CSV = True
KINDS = (layout.TRADE_ALL, layout.TRADE_SUCCESS, layout.TRADE_REFUND, layout.FUNDFLOW)

#: a WeChat user's own bill (微信 → 我 → 服务 → 钱包 → 账单 → 下载账单), not a merchant's: recognised to be refused (unless a
#: shop's profile reads it)
PERSONAL = "wechat_personal"
#: sniff kinds a matching mapping profile reads instead (``detect``): a shop may write one for its personal bills
DEFER_TO_PROFILE = frozenset({PERSONAL})
_PERSONAL_TITLE = "微信支付账单明细"
_PERSONAL_HEADER = ("交易时间", "交易类型", "交易对方", "收/支", "交易单号", "商户单号")


def _personal_header_line(head: str) -> int | None:
    """1-based line of a personal bill's column header in ``head``, when its title line is there too."""
    return header_line(head, (_PERSONAL_TITLE,), _PERSONAL_HEADER)


def sniff(head: str) -> str | None:
    """Bill kind ('trade_all', 'trade_success', 'trade_refund', 'fundflow') when ``head`` -- the
    decoded first ~4 KB of a file -- starts with a WeChat bill header; 'wechat_personal' for a user's own
    微信支付账单明细 (refused by ``parse``: it names no merchant order); None otherwise."""
    kind = layout.sniff(head)
    if kind is None and _personal_header_line(head.lstrip("\ufeff")) is not None:
        return PERSONAL
    return kind


def _refuse_personal(head: str, source: str) -> LoadError:
    """A personal bill lists a WeChat user's payments and receipts (a 个人收款码 included): no merchant number, no
    merchant order numbers ('/'), amounts as '¥10.00', statuses in words. Read as a merchant bill it would match
    nothing; so it is named for what it is, with the file the shop needs instead."""
    line = _personal_header_line(head.lstrip("\ufeff"))
    return LoadError([Problem(source, line, None, None,
                              f"{layout.CHANNEL}: a personal WeChat Pay bill ({_PERSONAL_TITLE}: one user's payments "
                              "and receipts), not a merchant's bill; it names no merchant number or order numbers")],
                     hint="download the merchant's trade bill (交易账单) from pay.weixin.qq.com (交易中心 → 账单下载) "
                          "or with `paymatch pull`; to read this bill anyway, write a bill profile for it and name "
                          "its folder under [bills] profile_dirs")


def parse(data: bytes, source: str, bill_date: dt.date | None = None) -> ParsedBill:
    """Parse one WeChat bill (plain CSV or gzip bytes) into a checked ``ParsedBill``.

    ``source`` names the file in errors and ``src_file``. ``bill_date`` overrides the date taken
    from the content (the latest transaction/booking day). Raises ``LoadError`` naming channel
    'wechat', the file and line for bad values, an unknown layout or totals that do not tie out.
    """
    try:
        bill = split(data, source)
    except LoadError:  # (checked only then: a merchant bill's bytes are never decoded twice)
        from paymatch.channels.detect import decode_head

        head = decode_head(decompress(data, source))
        if sniff(head) == PERSONAL:
            raise _refuse_personal(head, source) from None
        raise
    if bill.kind == layout.FUNDFLOW:
        return parse_fundflow(bill, bill_date)
    return parse_trade(bill, bill_date)
