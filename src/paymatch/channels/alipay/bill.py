"""Alipay bill files: detect by content, parse one CSV, or the downloaded zip.

``sniff`` looks at decoded text only (the caller decides how to decode; ``sniff_bytes`` does it
for raw bytes). ``parse`` takes one CSV as delivered (GBK bytes) and dispatches on its content.
``parse_zip`` reads the zip Alipay serves from bill_download_url: GBK CSVs whose names are
GBK-encoded without the zip UTF-8 flag (账号_日期_业务明细.csv, 账号_日期_业务明细(汇总).csv);
member kinds come from content, names are only used for ``source``; the summary is cross-checked
against the detail when both are present.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace

from paymatch.channels.alipay.detail import parse_detail
from paymatch.channels.alipay.layout import DETAIL_START, SUMMARY_START, decode_head
from paymatch.channels.alipay.summary import cross_check, parse_summary
from paymatch.channels.base import ParsedBill, zip_member_name
from paymatch.errors import LoadError, Problem


def sniff(head: str) -> str | None:
    """'alipay_detail' / 'alipay_summary' when ``head`` (decoded first ~4 KB) is such a bill, else None."""
    if "#" not in head:
        return None
    if SUMMARY_START in head and "门店编号" in head and "交易订单总笔数" in head:
        return "alipay_summary"
    if DETAIL_START in head and "支付宝交易号" in head and "业务类型" in head:
        return "alipay_detail"
    return None


def sniff_bytes(data: bytes) -> str | None:
    """``sniff`` on raw file bytes (GBK or UTF-8)."""
    head = decode_head(data, 4096)
    return sniff(head[0]) if head else None


def parse(data: bytes, source: str) -> ParsedBill:
    """Parse one Alipay CSV (detail or summary, detected by content) into a ParsedBill."""
    kind = sniff_bytes(data)
    if kind == "alipay_detail":
        return parse_detail(data, source)
    if kind == "alipay_summary":
        return parse_summary(data, source)
    raise LoadError([Problem(source, None, None, None, "not an Alipay 业务明细 / 汇总 CSV")],
                    hint="Alipay bills start with '#支付宝业务明细查询' lines and are GBK-encoded")


def parse_zip(data: bytes, source: str) -> list[ParsedBill]:
    """Parse every Alipay CSV in a downloaded bill zip; details first, then summaries.

    Each bill's ``source`` is '<zip source>!<member name>' and its ``sha256`` the zip's (the bytes
    as delivered). Non-CSV members and CSVs that are not Alipay bills are ignored; a zip with no
    Alipay bill at all, a damaged zip, or a detail/summary disagreement raises LoadError.
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
    bills.sort(key=lambda b: b.kind != "alipay_detail")
    details = [b for b in bills if b.kind == "alipay_detail"]
    summaries = [b for b in bills if b.kind == "alipay_summary"]
    if len(details) == 1 and len(summaries) == 1:
        cross_check(details[0], summaries[0])
    return bills
