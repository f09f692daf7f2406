"""The text around an Alipay 业务明细 table: encoding, '#' comment lines, header names, totals.

An Alipay detail bill (账号_日期_业务明细.csv, GBK) looks like::

    #支付宝业务明细查询
    #账号：[20880211096256330156]
    #起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]
    #-----------------------------------------业务明细列表----------------------------------------
    支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,...,服务费（元）,分润（元）,备注
    2019091622001458860515315453\t,service_1568601259302\t,交易\t,...
    #-----------------------------------------业务明细列表结束------------------------------------
    #交易合计：6笔，商家实收共0.06元，商家优惠共0.00元
    #退款合计：4笔，商家实收退款共-0.04元，商家优惠退款共0.00元
    #导出时间：[2019年09月17日 05:46:49]

The 汇总 file has the same frame with 业务汇总列表 markers. Older exports word the totals
lines differently ('交易金额共…元，优惠金额共…元'), so totals are read as "<label>共<amount>元"
pairs and matched on the label's meaning, not its exact text.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field

from paymatch.errors import LoadError, Problem
from paymatch.money import parse_yuan

#: encodings an Alipay CSV may come in; GBK is what the download delivers, UTF-8 what some
#: tools re-save it as. UTF-8 is tried first: GBK Chinese text practically never validates as
#: UTF-8, while GB18030 (a superset of GBK) would decode almost any bytes into nonsense.
ENCODINGS = ("utf-8", "gb18030")

DETAIL_START = "业务明细列表"
DETAIL_END = "业务明细列表结束"
SUMMARY_START = "业务汇总列表"
SUMMARY_END = "业务汇总列表结束"
#: 账务明细 (bill_type=signcustomer): the account's money movements, same '#' frame
FUND_START = "账务明细列表"
FUND_END = "账务明细列表结束"


def norm_header(name: str) -> str:
    """Normalise one header cell: no tabs/spaces/BOM, ASCII parentheses made full-width."""
    return name.strip().strip("\ufeff\t ").replace("(", "（").replace(")", "）")


def decode_head(data: bytes, limit: int = 8192) -> tuple[str, str] | None:
    """Decode the first ``limit`` bytes with the first encoding that reads them; (text, encoding).

    A multi-byte character cut by the limit is tolerated (the tail is dropped).
    """
    chunk = data[:limit]
    for enc in ENCODINGS:
        try:
            return chunk.decode(enc), enc
        except UnicodeDecodeError as exc:
            # a character cut at the very end of the chunk is not a wrong encoding
            if exc.start >= len(chunk) - 4 and len(data) > limit:
                try:
                    return chunk[: exc.start].decode(enc), enc
                except UnicodeDecodeError:
                    pass
    # neither reads the whole head: a line in another encoding than the file's (a UTF-8 line pasted into the GBK
    # bill). The file's encoding is its first Chinese line's; the rows' readers name the line that does not fit
    # (was "not an Alipay 业务明细 / 账务明细 / 汇总 CSV", no line)
    first = next((ln for ln in chunk.split(b"\n") if not ln.isascii()), b"")
    for enc in ENCODINGS:
        try:
            first.decode(enc)
        except UnicodeDecodeError:
            continue
        return chunk.decode(enc, errors="replace"), enc
    return None


@dataclass
class Frame:
    """Where the table sits in the file and what the comment lines say.

    header_line: 1-based physical line of the column header.
    body_start/body_end: byte offsets of the data rows (after the header line, before the end
        marker, trailing blank lines excluded); marker_at: byte offset of the end marker line.
    account: the raw '#账号：[...]' value; start/end: the dates of '#起始日期' / '终止日期' (the end the first day
        not covered: '[… 00:00:00]' itself, the next day after a '[… 23:59:59]').
    trailer: the '#' lines from the end marker on, each with its index below the end marker
        (0 = the marker itself); ``line_of`` turns that into a 1-based line number.
    """

    encoding: str
    header: list[str]
    header_line: int
    body_start: int
    body_end: int
    account: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    trailer: list[tuple[int, str]] = field(default_factory=list)
    marker_at: int = 0
    data: bytes = field(default=b"", repr=False)

    @functools.cached_property
    def end_line(self) -> int:
        """1-based line of the end marker; counting the newlines of a big file costs, so only on demand."""
        return self.header_line + self.data.count(b"\n", self.body_start, self.marker_at) + 1

    def line_of(self, rel: int) -> int:
        """1-based line number of the trailer line ``rel`` lines below the end marker."""
        return self.end_line + rel


_ACCOUNT = re.compile(r"#\s*账号[：:]\s*\[([^\]]*)\]")
_DATES = re.compile(r"(起始日期|终止日期)[：:]\s*\[(\d{4})年(\d{2})月(\d{2})日\s*(\d{2}:\d{2}:\d{2})?")


def _stated_day(m: re.Match) -> dt.date:
    """The day a ``_DATES`` match names; a '终止日期 … 23:59:59' covers its own day, so its end is the next day's
    start (as '… 00:00:00' of the next day says). ValueError for a date that does not exist."""
    day = dt.date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
    if m.group(1) == "终止日期" and m.group(5) not in (None, "00:00:00"):
        day += dt.timedelta(days=1)
    return day


def covered_days(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The (first, last) day a bill from ``start`` to ``end`` (the next period's first moment, ``_stated_day``)
    covers: the end's own day is not covered unless it is the start's."""
    if start is None or end is None:
        return None
    return start, max(start, end - dt.timedelta(days=1))


def stated_period(head: str) -> tuple[dt.date, dt.date] | None:
    """The days an Alipay bill's '#起始日期 … 终止日期' line among ``head`` (its decoded first lines, a workbook's
    rows as text) says it covers, None when it names no such line or a date that does not exist: what a mapping
    profile reading an Alipay 账务明细 gives its bill as ``period``, as the 业务明细 reader does."""
    days: dict[str, dt.date] = {}
    for line in head.splitlines():
        if line.lstrip(" \ufeff\"").startswith("#"):
            for m in _DATES.finditer(line):
                try:
                    days[m.group(1)] = _stated_day(m)
                except ValueError:
                    return None
    return covered_days(days.get("起始日期"), days.get("终止日期"))


def locate(data: bytes, source: str, start_marker: str, end_marker: str) -> Frame:
    """Find the header, the data rows and the comment lines of an Alipay CSV.

    Only the comment lines and the header are decoded here; the rows stay bytes so that the
    bulk parse can work on them without a whole-file decode.
    """
    head = decode_head(data)
    if head is None:
        raise LoadError([Problem(source, 1, None, None, "not GBK or UTF-8 text")],
                        hint="Alipay bills are GBK-encoded CSV files; pass the file as downloaded")
    enc = head[1]
    frame: dict = {}
    pos, line_no = 0, 0
    start_b = start_marker.encode(enc)
    # Walk the prelude line by line: it is a handful of lines, never the bulk.
    while pos < len(data):
        nl = data.find(b"\n", pos)
        nl = len(data) if nl < 0 else nl
        line_no += 1
        raw = data[pos:nl].lstrip(b"\xef\xbb\xbf")  # a UTF-8 copy may start with a BOM
        if raw.lstrip().startswith(b"#"):
            text = raw.decode(enc, errors="replace").strip()
            if m := _ACCOUNT.search(text):
                frame["account"] = m.group(1).strip()
            for m in _DATES.finditer(text):
                try:
                    day = _stated_day(m)
                except ValueError:  # 2019年13月17日 (an edited line): was a ValueError traceback
                    raise LoadError([Problem(source, line_no, m.group(1), m.group(0), "not a date")],
                                    hint="download the bill again") from None
                frame["start" if m.group(1) == "起始日期" else "end"] = day
            if start_b in raw and end_marker.encode(enc) not in raw:
                pos = nl + 1
                break
        elif raw.strip():
            raise LoadError([Problem(source, line_no, None, raw[:60].decode(enc, "replace"),
                                     f"data before the '{start_marker}' line")])
        pos = nl + 1
    else:
        raise LoadError([Problem(source, None, None, None, f"no '{start_marker}' line")],
                        hint="is this an Alipay 业务明细 bill?")
    # the header line follows the start marker
    nl = data.find(b"\n", pos)
    nl = len(data) if nl < 0 else nl
    line_no += 1
    try:
        header = [norm_header(c) for c in data[pos:nl].decode(enc).rstrip("\r").split(",")]
    except UnicodeDecodeError:
        raise LoadError([Problem(source, line_no, None, None, f"header is not {enc} text")]) from None
    body_start = nl + 1
    # The end marker is near the end of the file: search backwards for it (a scan of the
    # whole body would cost), then check it starts a line.
    mark = data.rfind(end_marker.encode(enc), body_start)
    end_at = data.rfind(b"\n", body_start - 1, mark) + 1 if mark >= 0 else -1
    if end_at <= 0 or not data[end_at:mark].lstrip(b"#-").strip() == b"" or data[end_at:end_at + 1] != b"#":
        raise LoadError([Problem(source, None, None, None, f"no '{end_marker}' line: file truncated?")],
                        hint="download the bill again")
    trailer_text = data[end_at:].decode(enc, errors="replace").splitlines()
    trailer = [(i, t.strip()) for i, t in enumerate(trailer_text) if t.strip()]
    body_end = end_at
    while body_end > body_start and data[body_end - 1 : body_end] in (b"\n", b"\r", b" ", b"\t"):
        body_end -= 1
    return Frame(enc, header, line_no, body_start, body_end, frame.get("account"),
                 frame.get("start"), frame.get("end"), trailer, end_at, data)


_COUNT = re.compile(r"(\d[\d,]*)\s*笔")
_AMOUNT = re.compile(r"([^，,：:；;]*?)共\s*([+-]?\d[\d,]*(?:\.\d+)?)\s*元")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _ungrouped(raw: str) -> str:
    """A totals-line number without its thousands grouping ('7,563,180.81', as the 账务明细's totals may print a
    sum); any other comma is no number."""
    if "," in raw:
        if not _GROUPED.fullmatch(raw):
            raise ValueError(f"not a number: {raw!r}")
        raw = raw.replace(",", "")
    return raw


def read_totals(frame: Frame, source: str) -> dict[str, int]:
    """Read '#交易合计' / '#退款合计' into counts and fen: {'payment_count', 'payment_settle_fen', ...}.

    Labels: 商家实收 -> settle; 商家优惠 -> merchant_discount; the older bare 优惠金额 -> discount (kept, not tied out:
    whether it counts Alipay's own discounts is not known); other 金额 -> amount. Both lines must be
    present: a bill without them is treated as truncated.
    """
    totals: dict[str, int] = {}
    for rel, text in frame.trailer:
        body = text.lstrip("#")
        kind = "payment" if body.startswith("交易合计") else "refund" if body.startswith("退款合计") else None
        if kind is None:
            continue
        m = _COUNT.search(body)
        if not m:
            raise LoadError([Problem(source, frame.line_of(rel), None, text, "totals line has no count (N笔)")])
        try:
            totals[f"{kind}_count"] = int(_ungrouped(m.group(1)))
        except ValueError as exc:
            raise LoadError([Problem(source, frame.line_of(rel), None, m.group(1), str(exc))]) from None
        found = _AMOUNT.findall(body)
        if body.count("共") > len(found):  # a total printed in a way not read here was passed over, unchecked
            raise LoadError([Problem(source, frame.line_of(rel), None, text,
                                     "totals line has an amount not read as '…共<yuan>元'")],
                            hint="the totals line is not as Alipay prints it; download the bill again")
        for label, amount in found:
            # older exports say 交易金额 / 交易退款金额 without saying which column they add up:
            # kept as 'amount' and accepted when it equals either 商家实收 or 订单金额
            # the older bare 优惠金额 may count Alipay's own discounts too (unverified): kept as 'discount', not tied out
            key = ("merchant_discount" if "商家优惠" in label else "discount" if "优惠" in label
                   else "settle" if "实收" in label else "amount" if "金额" in label else None)
            if key is None:
                continue
            try:
                totals[f"{kind}_{key}_fen"] = parse_yuan(_ungrouped(amount))
            except ValueError as exc:
                raise LoadError([Problem(source, frame.line_of(rel), label, amount, str(exc))]) from None
        totals[f"_{kind}_rel"] = rel
    missing = [f"'#{label}'" for label, k in (("交易合计", "payment_count"), ("退款合计", "refund_count"))
               if k not in totals]
    if missing:
        raise LoadError([Problem(source, None, None, None,
                                 f"no {' / '.join(missing)} totals line after the table")],
                        hint="the bill looks truncated; download it again")
    return totals
