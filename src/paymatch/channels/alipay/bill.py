"""Alipay bill files: detect by content, parse one CSV, or the downloaded zip.

Two bills: the 业务明细 (bill_type=trade: ``detail`` / ``summary``, transactions) and the 账务明细
(bill_type=signcustomer: ``fundflow``, the account's money movements as fund-flow rows).

``sniff`` looks at decoded text only (the caller decides how to decode; ``sniff_bytes`` does it
for raw bytes). ``parse`` takes one CSV as delivered (GBK bytes) and dispatches on its content.
``parse_zip`` reads the zip Alipay serves from bill_download_url: GBK CSVs whose names are
GBK-encoded without the zip UTF-8 flag (账号_日期_业务明细.csv, 账号_日期_业务明细(汇总).csv);
member kinds come from content, names are only used for ``source``; the summary is cross-checked
against the detail when both are present. The signcustomer zip (…_账务明细.csv, …_账务明细(汇总).csv)
is read the same way.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace

from paymatch.channels.alipay.detail import parse_detail
from paymatch.channels.alipay.fundflow import (
    KIND as FUND_KIND, SUMMARY_KIND as FUND_SUMMARY_KIND, cross_check_fund, parse_fund_detail, parse_fund_summary,
    sniff_detail as sniff_fund_detail, sniff_summary as sniff_fund_summary,
)
from paymatch.channels.alipay.layout import DETAIL_START, SUMMARY_START, decode_head
from paymatch.channels.alipay.summary import cross_check, parse_summary
from paymatch.channels.base import ParsedBill, header_line, zip_member_name
from paymatch.errors import LoadError, Problem


#: (detail kind, summary kind, cross-check) of the two bills whose zip holds a detail and its summary
PAIRS = (("alipay_detail", "alipay_summary", cross_check), (FUND_KIND, FUND_SUMMARY_KIND, cross_check_fund))
#: every kind this module's parsers return
KINDS = frozenset(k for pair in PAIRS for k in pair[:2])
#: a bill kept as a workbook (.xlsx, opened in Excel and saved so) is read here as the CSV its sheet holds (``detect``)
WORKBOOK_AS_CSV = True
#: sniff kinds a builtin mapping profile reads too: a lone 账务明细 CSV is also what the profile
#: ``alipay_merchant_console_export`` reads as transactions (收入 = payment, 支出 = refund). Detection
#: lets a matching profile read such a lone file (``detect``), and reads it here, as fund flows, when
#: its archive (or, unzipped, its folder) also holds the 账务明细(汇总): that pair is what bill_type=signcustomer
#: delivers; or when the scan holds the account's 业务明细, its transaction bill.
#: An account's own transaction record (``PERSONAL``) is refused only when no profile reads it: a shop may write one.
DEFER_TO_PROFILE = frozenset({"alipay_fundflow", "alipay_personal"})


def is_fund_detail(data: bytes) -> bool:
    """True when a file a profile matched is a 账务明细: ``detect`` has it read here, as fund flows, when it came
    with its 汇总 or beside the same account's 业务明细."""
    return sniff_bytes(data) == "alipay_fundflow"


#: an Alipay account's own transaction record (支付宝 → 我的 → 账单 → 开具交易流水证明, or the older 交易记录明细查询
#: download from alipay.com), not the merchant bill: recognised to be refused (unless a shop's profile reads it)
PERSONAL = "alipay_personal"
#: (words in the title lines, the columns of its header) of its two layouts: the older web download and the app's
_PERSONAL_LAYOUTS = ((("交易记录明细",), ("交易号", "商家订单号", "收/支", "交易状态")),
                     (("电子客户回单",), ("交易时间", "交易分类", "收/支", "交易订单号", "商家订单号")))


def _personal_header_line(head: str) -> int | None:
    """1-based line of a personal bill's column header in ``head``, when its title line is there too."""
    return next((line for titles, columns in _PERSONAL_LAYOUTS
                 if (line := header_line(head, titles, columns)) is not None), None)


def _refuse_personal(data: bytes, source: str) -> LoadError:
    """An account's transaction record lists its owner's payments and receipts (a personal QR code's included), with
    no merchant number, amounts signed by a 收/支 word and statuses in words. It is no merchant bill, so it is named
    for what it is, with the file the shop needs instead (it was an 'unknown bill layout')."""
    head = decode_head(data, 16384)
    return LoadError([Problem(source, _personal_header_line(head[0]) if head else None, None, None,
                              "alipay: a personal Alipay transaction record (an account's payments and receipts, "
                              "交易记录明细 / 电子客户回单), not the merchant bill; it names no merchant number and no "
                              "业务类型")],
                     hint="download the merchant's 业务明细 (对账中心 → 下载账单, or `paymatch pull`); to read this "
                          "record anyway, write a bill profile for it and name its folder under [bills] profile_dirs")


def sniff(head: str) -> str | None:
    """'alipay_detail' / 'alipay_summary' (业务明细), 'alipay_fundflow' / 'alipay_fund_summary' (账务明细)
    when ``head`` (decoded first ~4 KB) is such a bill; 'alipay_personal' for a user's own transaction record
    (refused by ``parse``); else None."""
    if "#" not in head:
        return PERSONAL if _personal_header_line(head) is not None else None
    if SUMMARY_START in head and "门店编号" in head and "交易订单总笔数" in head:
        return "alipay_summary"
    if DETAIL_START in head and "支付宝交易号" in head and "业务类型" in head:
        return "alipay_detail"
    if sniff_fund_detail(head):
        return "alipay_fundflow"
    if sniff_fund_summary(head):
        return "alipay_fund_summary"
    return None


def sniff_bytes(data: bytes) -> str | None:
    """``sniff`` on raw file bytes (GBK or UTF-8)."""
    head = decode_head(data, 4096)
    return sniff(head[0]) if head else None


def parse(data: bytes, source: str) -> ParsedBill:
    """Parse one Alipay CSV (业务明细 or 账务明细, detail or summary, detected by content) into a ParsedBill."""
    kind = sniff_bytes(data)
    if kind == "alipay_detail":
        return parse_detail(data, source)
    if kind == "alipay_summary":
        return parse_summary(data, source)
    if kind == "alipay_fundflow":
        return parse_fund_detail(data, source)
    if kind == "alipay_fund_summary":
        return parse_fund_summary(data, source)
    if kind == PERSONAL:
        raise _refuse_personal(data, source)
    raise LoadError([Problem(source, None, None, None, "not an Alipay 业务明细 / 账务明细 / 汇总 CSV")],
                    hint="Alipay bills start with '#支付宝业务明细查询' or '#支付宝账务明细查询' lines and are GBK-encoded")


def cross_check_members(bills: list[ParsedBill]) -> list[tuple[list[ParsedBill], LoadError]]:
    """For the Alipay bills of one zip: every detail/summary pair that disagrees, with the error.

    A pair is checked when the zip holds exactly one detail and one summary of that bill type.
    """
    failed = []
    for detail_kind, summary_kind, check in PAIRS:
        details = [b for b in bills if b.channel == "alipay" and b.kind == detail_kind]
        summaries = [b for b in bills if b.channel == "alipay" and b.kind == summary_kind]
        if len(details) == 1 and len(summaries) == 1:
            try:
                check(details[0], summaries[0])
            except LoadError as exc:
                failed.append(([details[0], summaries[0]], exc))
    return failed


def parse_zip(data: bytes, source: str) -> list[ParsedBill]:
    """Parse every Alipay CSV in a downloaded bill zip; details first, then summaries.

    Each bill's ``source`` is '<zip source>!<member name>' and its ``sha256`` the zip's (the bytes
    as delivered). Non-CSV members and CSVs that are not Alipay bills are ignored; a zip with no
    Alipay bill at all, a damaged zip, or a detail/summary disagreement raises LoadError. A trade zip
    gives 'alipay_detail' + 'alipay_summary', a signcustomer zip 'fundflow' + 'alipay_fund_summary'.
    """
    digest = hashlib.sha256(data).hexdigest()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        members = [(zip_member_name(i), archive.read(i)) for i in infos]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise LoadError([Problem(source, None, None, None, f"damaged zip: {exc}")],
                        hint="download the bill again") from None
    bills: list[ParsedBill] = []
    for name, content in members:
        kind = sniff_bytes(content)
        if kind is None:
            continue
        parsed = parse(content, f"{source}!{name}")
        bills.append(replace(parsed, sha256=digest))
    if not bills:
        raise LoadError([Problem(source, None, None, None, "no Alipay bill CSV in the zip")])
    summary_kinds = {pair[1] for pair in PAIRS}
    bills.sort(key=lambda b: b.kind in summary_kinds)
    for _pair, exc in cross_check_members(bills):
        raise exc
    return bills
