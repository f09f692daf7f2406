"""Is a downloaded Alipay zip the bill ``pull`` asked for? Kind, account and day, as the files' own '#' lines say.

``alipay.data.dataservice.bill.downloadurl.query`` answers with a URL; what the zip there holds is stored under the
account and day the request named. Nothing in the parse checked that: a 账务明细 zip answering a bill_type=trade
request (or a 业务明细 zip a signcustomer one), another merchant's zip (a third-party app's token of another
merchant, a URL of another account), or another day's would be stored as that account's bill of that day, and the
day's reconciliation run on it. Each file of an Alipay bill zip opens with the same lines (GBK)::

    #支付宝业务明细查询            (业务汇总 / 账务明细 / 账务汇总: which bill it is)
    #账号：[20880211096256330156]   (the account's PID, 2088 and 12 digits, and Alipay's 4-digit suffix, 0156)
    #起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]

(the bill_download_url names the same account, userId = PID + "0156"). Kind is what the parsers found each member to
be; account and days are read from these lines where the file prints them: an account printed as something else
than a PID (a login e-mail in older exports) cannot be compared and is not, nor is any account when the configured
one has no ``seller_id`` (an app's own bills: the PID the account is known by, when the config says it).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

from paymatch.channels.alipay.layout import _ACCOUNT, _DATES, decode_head
from paymatch.channels.base import ParsedBill, zip_member_name
from paymatch.errors import LoadError, Problem

#: bill_type -> (the bill's name as Alipay titles it, the parsed kinds of its zip's members)
BILLS = {"trade": ("业务明细", frozenset({"alipay_detail", "alipay_summary"})),
         "signcustomer": ("账务明细", frozenset({"fundflow", "alipay_fund_summary"}))}
#: a member's parsed kind -> what it is, in Alipay's words
WHAT = {"alipay_detail": "a 业务明细 (bill_type=trade)", "alipay_summary": "a 业务明细(汇总) (bill_type=trade)",
        "fundflow": "a 账务明细 (bill_type=signcustomer)",
        "alipay_fund_summary": "a 账务明细(汇总) (bill_type=signcustomer)"}
_TITLE = re.compile(r"#\s*支付宝\S*查询")
#: the '#账号' value of a merchant account: the 16-digit PID, maybe followed by Alipay's 4-digit suffix
_PID = re.compile(r"(2088\d{12})(\d{4})?")
NOT_STORED = "not stored (the answer is not the bill requested)"


def check_requested(bills: list[ParsedBill], data: bytes, source: str, bill_type: str, day: dt.date,
                    pid: str | None) -> list[ParsedBill]:
    """``bills`` (``parse_zip(data, source)``) when every member is of ``bill_type``, of the account ``pid`` (when
    known and printed) and of ``day`` alone; else LoadError naming each member, line, field, what it is and what was
    asked for, so that nothing of the zip is stored."""
    name, kinds = BILLS[bill_type]
    heads = _heads(data)
    problems: list[Problem] = []
    for bill in bills:
        member = bill.source.partition("!")[2]
        lines = _prelude(heads.get(member, b""))
        title = next(((n, t) for n, t in lines if _TITLE.match(t)), (1, None))
        if bill.kind not in kinds:
            problems.append(Problem(bill.source, title[0], None, title[1],
                                    f"alipay: {WHAT.get(bill.kind, bill.kind)} where the {name} "
                                    f"(bill_type={bill_type}) was asked for: {NOT_STORED}"))
        for line_no, text in lines:
            if (m := _ACCOUNT.search(text)) and pid and (got := _PID.fullmatch(m.group(1).strip())) \
                    and got.group(1) != pid:
                problems.append(Problem(bill.source, line_no, "账号", m.group(1),
                                        f"alipay: a bill of account {got.group(1)} where account {pid}'s (seller_id) "
                                        f"was asked for: {NOT_STORED}"))
            if problem := _days(bill.source, line_no, text, day):
                problems.append(problem)
    if problems:
        raise LoadError(problems, hint=f"Alipay's bill_download_url for {bill_type} {day} served another bill than "
                                       "the one asked for; nothing of it was stored (kept in the quarantine): pull "
                                       "again, and check the account's seller_id and app_auth_token")
    return bills


def _heads(data: bytes, limit: int = 4096) -> dict[str, bytes]:
    """The first ``limit`` bytes of each zip member, by the name ``parse_zip`` gives it (its '#' lines are there)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        out = {}
        for info in archive.infolist():
            if not info.is_dir():
                with archive.open(info) as f:
                    out[zip_member_name(info)] = f.read(limit)
        return out


def _prelude(head: bytes) -> list[tuple[int, str]]:
    """(1-based line, text) of the '#' lines before the table's header."""
    decoded = decode_head(head, len(head))
    if decoded is None:
        return []
    out = []
    for n, text in enumerate(decoded[0].lstrip("\ufeff").splitlines(), start=1):
        text = text.strip()
        if not text.startswith("#"):
            break
        out.append((n, text))
    return out


def _days(source: str, line_no: int, text: str, day: dt.date) -> Problem | None:
    """A problem when the '#起始日期 … 终止日期' line ``text`` says another period than ``day`` (its 00:00 to the next
    day's 00:00; a '终止日期 … 23:59:59' covers its own day, as ``layout.locate`` reads it)."""
    printed: dict[str, tuple[dt.date, str]] = {}
    for m in _DATES.finditer(text):
        try:
            got = dt.date(int(m.group(2)), int(m.group(3)), int(m.group(4)))
        except ValueError:
            return Problem(source, line_no, m.group(1), m.group(0), "not a date")
        if m.group(1) == "终止日期" and m.group(5) not in (None, "00:00:00"):
            got += dt.timedelta(days=1)
        printed[m.group(1)] = got, m.group(0).partition("[")[2]
    start, end = (printed.get(f, (None, ""))[0] for f in ("起始日期", "终止日期"))
    for field, want in (("起始日期", day), ("终止日期", day + dt.timedelta(days=1))):
        if field in printed and printed[field][0] != want:
            return Problem(source, line_no, field, printed[field][1],
                           f"alipay: a bill of {_covers(start, end)} where the bill of {day} was asked for: "
                           f"{NOT_STORED}")
    return None


def _covers(start: dt.date | None, end: dt.date | None) -> str:
    """The days a bill covers, in words ('2019-09-15', '2019-09-01 to 2019-09-30'); ``end`` the first day after."""
    if start is None:
        return f"the days before {end}"
    if end is None or end - start <= dt.timedelta(days=1):
        return str(start)
    return f"{start} to {end - dt.timedelta(days=1)}"
