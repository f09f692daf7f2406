"""What every channel parser returns, and the common detection contract.

A parser turns one bill file (bytes as delivered, already gunzipped/unzipped by ``detect``)
into canonical transactions (``schema.TRANSACTION_ARROW``) plus the bill's own control totals,
which the parser has checked against the parsed rows (a bill whose totals don't tie out raises
``LoadError`` naming the channel, file and the totals line).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True)
class ParsedBill:
    """One parsed bill file.

    channel:   canonical channel name ('wechat', 'alipay', 'unionpay', or a profile's channel).
    kind:      bill kind within the channel ('trade_all', 'trade_success', 'trade_refund',
               'fundflow', 'alipay_detail', 'unionpay_com', 'profile:<name>' ...).
    source:    path (or name) of the file as given.
    sha256:    hex SHA-256 of the file's bytes as delivered (before decompression).
    bill_date: the bill's date when known (from content, else the latest row date); None if empty.
    transactions: canonical rows, ``schema.TRANSACTION_ARROW`` (may be empty, e.g. fund-flow bills).
    totals:    the bill's control totals as printed, in fen/counts (e.g. {'count': 3, 'settle_fen': 3}).
    extra:     channel rows that are not transactions (fund-flow lines) as an Arrow table, or None.
    period:    (first, last) day the bill says it covers, when it says so (an Alipay month's 业务明细): a file run's
               window spans it even where the bill has no rows (an order of the month's last day without a record
               is order_only, not pending_cross_day).
    layout:    what a channel module knows the file as when a mapping profile read it (``alipay_fundflow``: an
               Alipay 账务明细, whatever the profile is called; ``detect.scan_bills``), else None: a layout the
               workspace records with the batch, as the file's own answer to what it was.
    """

    channel: str
    kind: str
    source: str
    sha256: str
    bill_date: dt.date | None
    transactions: pa.Table
    totals: dict[str, int] = field(default_factory=dict)
    extra: pa.Table | None = None
    period: tuple[dt.date, dt.date] | None = None
    layout: str | None = None


def header_line(head: str, titles: tuple[str, ...], columns: tuple[str, ...], within: int = 60) -> int | None:
    """1-based line of ``head`` (a file's decoded first lines) holding every one of ``columns``, among its first
    ``within`` lines, when every one of ``titles`` is in ``head`` too; else None (how a layout with title lines above
    its header is recognised: the channels' personal bills)."""
    if not all(t in head for t in titles):
        return None
    for i, line in enumerate(head.splitlines()[:within], 1):
        if all(c in line for c in columns):
            return i
    return None


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """A zip member's name as the channel meant it: Chinese tools write GBK bytes without the UTF-8
    flag, which ``zipfile`` decodes as cp437; undo that when the flag is absent."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename
