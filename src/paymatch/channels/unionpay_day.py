"""A UnionPay day zip as the file download (``unionpay_acp``) serves it: read, tied out, checked to be the one asked for.

The zip (``<merId>_<yyyyMMdd>.zip``, UnionPay's sample delivery ``802310048993424_20150905.zip``) holds the day's
``INN<yymmdd>88ZM_<merId>`` (transactions), ``INN<yymmdd>88ZME_<merId>`` (差错, kept, not reconciled) and
``RD…_<merId>`` (商户交易汇总表), read by the same parsers as ``--bills`` (``unionpay``, ``unionpay_rd``) and the
汇总表 tied out against the ZM rows (``unionpay_rd.cross_check``). What is stored is stored under the merchant and
day the request named, so the zip must be of them: its name (when it has UnionPay's form), each member's name
(``_<merId>`` at its end, ``INN<yymmdd>`` its settle date), every ZM row's 商户代码, the 汇总表's 商户代码 and 清算日期.
Anything else is a LoadError naming the member, line, field, what it is and what was asked for: nothing of the zip
is stored (``pull`` quarantines it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import replace

import pyarrow.compute as pc

from paymatch.channels import unionpay, unionpay_rd
from paymatch.channels.base import ParsedBill, zip_member_name
from paymatch.errors import LoadError, Problem

_ZIP_NAME = re.compile(r"([A-Za-z0-9]{15})_(\d{8})\.zip")
_INN = re.compile(r"INN(\d{6})88(ZME|ZM)_([A-Za-z0-9]+)")
_RD = re.compile(r"RD\d*_([A-Za-z0-9]+)")
NOT_STORED = "not stored (the answer is not the file requested)"


def parse_day_zip(data: bytes, source: str, mer_id: str, day: dt.date, file_name: str = "") -> list[ParsedBill]:
    """The bills of the day zip ``data`` (each named ``<source>!<member>``, each with the zip's SHA-256), checked
    to be of ``mer_id`` and settle date ``day`` (see module docstring); LoadError otherwise."""
    asked = f"merchant {mer_id}'s file of {day}"
    problems: list[Problem] = []
    if (m := _ZIP_NAME.fullmatch(file_name)) and (m.group(1) != mer_id or m.group(2) != f"{day:%Y%m%d}"):
        problems.append(Problem(source, None, "fileName", file_name, f"unionpay: a zip named for merchant "
                                f"{m.group(1)} and day {m.group(2)} where {asked} was asked for: {NOT_STORED}"))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [(zip_member_name(i), archive.read(i)) for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise LoadError([Problem(source, None, None, None, f"unionpay: damaged zip ({exc})")],
                        hint="download the day's file again") from None
    digest = hashlib.sha256(data).hexdigest()
    bills: list[ParsedBill] = []
    for name, content in members:
        src = f"{source}!{name}"
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        inn, rd = _INN.fullmatch(base), _RD.fullmatch(base)
        if not (inn or rd):
            continue  # not a file of the day's delivery that paymatch reads
        owner = inn.group(3) if inn else rd.group(1)
        if owner != mer_id:
            problems.append(Problem(src, None, "商户代码", owner, f"unionpay: a file of merchant {owner} where "
                                                                 f"{asked} was asked for: {NOT_STORED}"))
            continue
        if inn and inn.group(1) != f"{day:%y%m%d}":
            problems.append(Problem(src, None, "清算日期", inn.group(1), f"unionpay: a file of settle date "
                                    f"{inn.group(1)} (yymmdd) where {asked} was asked for: {NOT_STORED}"))
            continue
        zme = inn is not None and inn.group(2) == "ZME"  # (an empty ZME, no trade in error, read as what it is)
        bill = (unionpay.parse_zme if zme else unionpay.parse)(content, src, bill_date=day)
        problems.extend(_content_problems(bill, mer_id, day, asked))
        bills.append(replace(bill, sha256=digest))
    if not any(b.kind == "unionpay_zm" for b in bills) and not problems:
        problems.append(Problem(source, None, None, None, f"unionpay: no ZM file (INN{day:%y%m%d}88ZM_{mer_id}) in "
                                                          f"the zip: {NOT_STORED}"))
    if problems:
        raise LoadError(problems, hint=f"UnionPay's file download for merId {mer_id} settleDate {day:%m%d} served "
                                       "another file than the one asked for; nothing of it was stored (kept in the "
                                       "quarantine): pull again, and check the account's mer_id")
    for _group, exc in unionpay_rd.cross_check(bills):
        raise exc
    return bills


def _content_problems(bill: ParsedBill, mer_id: str, day: dt.date, asked: str) -> list[Problem]:
    """A ZM row of another 商户代码, or a 汇总表 of another merchant or 清算日期."""
    if bill.kind == unionpay_rd.KIND:
        out = []
        if bill.totals["merchant_id"] != mer_id:
            out.append(Problem(bill.source, None, "商户代码", bill.totals["merchant_id"],
                               f"unionpay: a 汇总表 of merchant {bill.totals['merchant_id']} where {asked} was "
                               f"asked for: {NOT_STORED}"))
        if bill.bill_date != day:
            out.append(Problem(bill.source, None, "清算日期", str(bill.bill_date),
                               f"unionpay: a 汇总表 of {bill.bill_date} where {asked} was asked for: {NOT_STORED}"))
        return out
    if bill.kind != "unionpay_zm" or not bill.transactions.num_rows:
        return []
    rows = bill.transactions
    other = rows.filter(pc.not_equal(rows.column("merchant_id"), mer_id))
    if not other.num_rows:
        return []
    first = other.slice(0, 1).to_pylist()[0]
    return [Problem(bill.source, first["src_line"], "商户代码", first["merchant_id"],
                    f"unionpay: {other.num_rows} row(s) of merchant {first['merchant_id']} in {asked}: {NOT_STORED}")]
