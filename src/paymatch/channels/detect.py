"""Find bill files in any folder layout and recognise each one by its content, never its name.

``iter_bill_files`` walks a file or folder (``bill_walk``: .gz, .zip with GBK member names too, and .tar
archives opened) and yields every candidate file. ``detect`` decodes a file's head (UTF-8, else GB18030)
and asks the native parsers (WeChat, Alipay, UnionPay modules, loaded lazily: a module not
written yet is skipped), then every mapping profile. ``scan_bills`` parses everything and keeps
the good bills and the rejected files apart, so a caller can load the first and quarantine the
second; ``load_bills`` is the strict form that raises when anything was rejected. What a scan does with Alipay's
账务明细 is in ``alipay.scan``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import importlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from paymatch.channels.alipay.layout import stated_period
from paymatch.channels.alipay.scan import (alipay_trade_days, delivered_kinds, profile_read_alipay,
                                           read_fund_details_as_flows, refuse_taobao)
from paymatch.channels.base import ParsedBill
from paymatch.channels.bill_scan import BillScan, Rejected, cross_check_alipay, cross_check_unionpay
from paymatch.channels.bill_walk import among_siblings, walk
from paymatch.channels.profile_xlsx import is_xlsx, sheet_rows, xlsx_head
from paymatch.channels.profiles import Profile, builtin_flow_profiles, builtin_profiles, load_profile_dir
from paymatch.errors import LoadError, PaymatchError, Problem

#: modules with ``sniff(head) -> str | None`` and ``parse(data, source) -> ParsedBill``; tried first
NATIVE_MODULES = ("paymatch.channels.wechat.bill", "paymatch.channels.alipay.bill", "paymatch.channels.unionpay")
HEAD_BYTES = 16384


class Parser(Protocol):
    """What detection hands back: something that recognises and parses one bill layout."""

    name: str

    def sniff(self, head: str) -> object:
        """Truthy when ``head`` (decoded first lines) is this parser's layout."""

    def parse(self, data: bytes, source: str) -> ParsedBill:
        """Parse the whole file."""


@dataclass(frozen=True)
class NativeParser:
    """A channel module's own parser (``sniff`` returns the bill kind or None)."""

    name: str
    module: object

    def sniff(self, head: str) -> str | None:
        """The module's bill kind for ``head``, or None."""
        return self.module.sniff(head)

    def parse(self, data: bytes, source: str) -> ParsedBill:
        """The module's ``parse``."""
        return self.module.parse(data, source)


@dataclass(frozen=True)
class WorkbookParser:
    """A channel's own bill layout in a workbook (modules that say ``WORKBOOK_AS_CSV = True``: WeChat Pay, Alipay): the
    bill opened in Excel and saved as .xlsx, or a console's Excel download of its CSV. The first sheet's rows, written back as the CSV the channel delivers (one line per row, so a
    message's line is the sheet's row), are read by the channel's parser: its checks and totals apply unchanged."""

    native: NativeParser

    @property
    def name(self) -> str:
        """The channel module's name (what rejected files are filed under)."""
        return self.native.name

    def sniff(self, head: str) -> str | None:
        """The module's bill kind for the workbook's head."""
        return self.native.sniff(head)

    def parse(self, data: bytes, source: str) -> ParsedBill:
        """The sheet as CSV text, parsed by the module."""
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(sheet_rows(data, None, source))
        return self.native.parse(out.getvalue().encode("utf-8"), source)


def native_parsers() -> list[NativeParser]:
    """Native parsers whose modules exist now (others are being written; skipped, not an error)."""
    found = []
    for mod_name in NATIVE_MODULES:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name and mod_name.startswith(exc.name):
                continue  # the module itself is missing, not one of its imports
            raise
        if callable(getattr(mod, "sniff", None)) and callable(getattr(mod, "parse", None)):
            found.append(NativeParser(mod_name.rsplit(".", 2)[-2] if mod_name.endswith(".bill")
                                      else mod_name.rsplit(".", 1)[-1], mod))
    return found


def decode_head(data: bytes, limit: int = HEAD_BYTES) -> str:
    """First ``limit`` bytes as text: UTF-8 (BOM dropped) if valid, else GB18030.

    An incremental decoder tolerates a multi-byte character cut by the limit.
    """
    chunk = data[:limit]
    first = chunk.split(b"\n", 1)[0]
    if not first.isascii():
        try:  # a UTF-8 header: the file is UTF-8 though a line below is not (a GBK line pasted in), and its reader
            first.decode("utf-8-sig")  # names that line; read whole as GB18030 its header was mojibake, "unknown
            return chunk.decode("utf-8-sig", errors="replace")  # layout: write a profile"
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return codecs.getincrementaldecoder(enc)().decode(chunk, final=len(data) <= limit)
        except UnicodeDecodeError:
            continue
    return chunk.decode("gb18030", errors="replace")


def profiles_with(extra_profile_dirs: Iterable[str | Path] = ()) -> list[Profile]:
    """Profiles from ``extra_profile_dirs`` (first, so a shop can override) then the builtins."""
    extra = [p for d in extra_profile_dirs for p in load_profile_dir(d)]
    names = {p.name for p in extra}
    return extra + [p for p in builtin_profiles() if p.name not in names]


def _pick(name: str, head: str, candidates: list[Profile]) -> Profile | None:
    hits = [p for p in candidates if p.sniff(head)]
    if len(hits) <= 1:
        return hits[0] if hits else None
    # the most specific wins: more required headers, a title regex
    score = {p.name: len(p.sniff_rules.headers) + (2 if p.sniff_rules.regex else 0) for p in hits}
    best = max(score.values())
    top = [p for p in hits if score[p.name] == best]
    if len(top) > 1:
        raise LoadError([Problem(name, None, None, None,
                                 f"ambiguous layout: profiles {[p.name for p in top]} all recognise it")],
                        hint="make one profile's sniff rules more specific (a title regex or more headers)")
    return top[0]


def detect(name: str, data: bytes, profiles: Sequence[Profile] | None = None) -> Parser | None:
    """The parser for one (already decompressed) file, judged by content only; None if unknown.

    ``name`` is only used in error messages. ``profiles`` defaults to the builtin profiles.
    """
    profiles = builtin_profiles() if profiles is None else list(profiles)
    if is_xlsx(data):
        head = xlsx_head(data)
        # a workbook profile first; else the workbook download of a CSV export (consoles offer both)
        # then a channel's own layout saved as a workbook
        return (_pick(name, head, [p for p in profiles if p.file.type == "xlsx"])
                or _pick(name, head, [p.as_xlsx() for p in profiles if p.file.type == "csv"])
                or next((WorkbookParser(parser) for parser in native_parsers()
                         if getattr(parser.module, "WORKBOOK_AS_CSV", False) and parser.sniff(head)), None))
    head = decode_head(data)
    csv_profiles = [p for p in profiles if p.file.type == "csv"]
    for parser in native_parsers():
        kind = parser.sniff(head)
        if kind:
            # a layout a profile reads too (the module says which): a matching profile keeps it
            if kind in getattr(parser.module, "DEFER_TO_PROFILE", ()):
                return _pick(name, head, csv_profiles) or parser
            return parser
    return _pick(name, head, csv_profiles)


def native_layout(data: bytes) -> str | None:
    """The layout a channel module recognises in a file it leaves to a matching profile (``DEFER_TO_PROFILE``:
    ``alipay_fundflow`` for an Alipay 账务明细), else None: what the file is, whichever profile read it and under
    whatever name (a shop's own profile of the 账务明细 counts as the built-in one)."""
    workbook = is_xlsx(data)
    head = xlsx_head(data) if workbook else decode_head(data)
    for parser in native_parsers():
        if workbook and not getattr(parser.module, "WORKBOOK_AS_CSV", False):
            continue
        kind = parser.sniff(head)
        if kind:
            return kind if kind in getattr(parser.module, "DEFER_TO_PROFILE", ()) else None
    return None


def header_line(data: bytes) -> tuple[int | None, str | None]:
    """(1-based line, text) of the first line that looks like a table header, for messages."""
    if is_xlsx(data):
        lines = xlsx_head(data).splitlines()
    else:
        lines = decode_head(data, 8192).splitlines()
    for i, line in enumerate(lines, 1):
        text = line.strip()
        if text and not text.startswith("#") and sum(text.count(d) for d in ",\t|") >= 2:
            return i, text[:200]
    first = next(((i, t.strip()[:200]) for i, t in enumerate(lines, 1) if t.strip()), (None, None))
    return first


#: what a byte-order mark becomes when a bill is converted between encodings carelessly: '?', U+FFFD, or the BOM's
#: bytes read as Latin-1 and written as UTF-8 ('ï»¿')
_DAMAGED_STARTS = (b"?", "\ufffd".encode(), "\u00ef\u00bb\u00bf".encode())


def unknown_layout(name: str, data: bytes) -> LoadError:
    """The LoadError for a file nothing recognises, naming the file and its header line."""
    from .route import _canonical  # (route reads bills through this module)

    line, text = header_line(data)
    if _canonical(data[:1 << 16]):  # e.g. one of several CSVs in one .zip, which is read as a bill archive
        return LoadError([Problem(name, line, None, text, "a canonical transactions CSV where a bill was expected")],
                         hint="give canonical transactions CSVs to --transactions as files (or .gz / one-file .zip "
                              "each), or a folder of them; an archive of several files is read as channel bills")
    flows = detect(name, data, builtin_flow_profiles())
    if flows is not None:  # a per-period instalment export: not a bill
        return LoadError([Problem(name, line, None, text, f"an instalment flow export ({flows.name}), not a bill")],
                         hint="give it to --instalments (per-period instalment flows)")
    for junk in _DAMAGED_STARTS:  # a channel's bill whose byte-order mark a conversion turned into '?' (or the like)
        if data.startswith(junk) and detect(name, data[len(junk):]) is not None:
            return LoadError([Problem(name, line, None, text, "the first bytes of a channel bill are damaged (a "
                                                               "byte-order mark lost when the file was converted)")],
                             hint="download the bill again and give it as delivered (do not re-save it)")
    return LoadError([Problem(name, line, None, text, "unknown bill layout: no channel parser or profile recognises it")],
                     hint="write a bill profile for this layout (YAML, like those in paymatch/profiles/) and name its "
                          "folder in the config file: [bills] profile_dirs = [\"my_profiles\"]")


def iter_bill_files(path: str | Path) -> Iterator[tuple[str, bytes, str]]:
    """(name, bytes, sha256) of every candidate bill under ``path`` (a file or a folder).

    Archives are opened (members named 'archive!member'); obvious non-bills (images, PDFs,
    hidden files, documents, checksums) are skipped. ``sha256`` is of the file as delivered
    (an archive member carries its archive's hash), as ``ParsedBill.sha256`` documents.
    """
    for entry in walk(Path(path)):
        if entry.skip is None and entry.error is None:
            yield entry.name, entry.data, entry.sha256


def _channel(parser: Parser | None) -> str | None:
    return None if parser is None else getattr(parser, "channel", parser.name)


def scan_bills(path: str | Path, extra_profile_dirs: Iterable[str | Path] = (), *, last: bool = True,
               profiles: Sequence[Profile] | None = None) -> BillScan:
    """Detect and parse every bill under ``path``; never raises for a bad file, records it instead.

    A file whose content is byte-identical to one already seen (e.g. the .gz and the CSV
    extracted from it side by side) is skipped, so the same rows are not loaded twice. Between a loose file and a
    zip or tar member with the same bytes the member is read, whichever comes first: beside its siblings (an Alipay
    detail and its 汇总) it is checked and read as delivered. An empty bill (``summary_notes.is_empty_bill``) is no
    copy of another: WeChat's bills of two accounts or two days without a sale are the same bytes, each says by its
    name which account's and day's bill was given (no row is loaded twice).
    ``last``: whether the scan is final; ``scan_paths`` first looks at its scans together (``refuse_taobao``).
    ``profiles``: ``profiles_with(extra_profile_dirs)`` read already (``scan_paths``: once for all its paths).
    """
    from paymatch.summary_notes import is_empty_bill

    profiles = profiles_with(extra_profile_dirs) if profiles is None else profiles
    scan = BillScan()
    seen: dict[str, str] = {}
    empty: set[str] = set()  # the digests of empty bills
    for entry in walk(Path(path)):
        if entry.skip is not None:
            scan.skipped.append((entry.name, entry.skip))
            continue
        if entry.error is not None:
            scan.rejected.append(Rejected(entry.name, entry.error, entry.sha256))
            continue
        digest = hashlib.sha256(entry.data).hexdigest()
        copy = digest in seen and digest not in empty
        if copy and not (among_siblings(entry.name) and "!" not in seen[digest]):
            scan.skipped.append((entry.name, f"same content as {seen[digest]}"))
            scan.copy_sha256[entry.name] = entry.sha256
            continue
        if copy:
            # a loose file read before, and the same bytes inside an archive: the archive member is read instead, as
            # delivered beside its siblings (an Alipay detail is checked against its 汇总 and read as its bill type)
            loose = seen[digest]
            scan.bills = [b for b in scan.bills if b.source != loose]
            scan.rejected = [r for r in scan.rejected if r.name != loose]
            scan.skipped.append((loose, f"same content as {entry.name}"))
        seen[digest] = entry.name
        parser = None
        try:
            parser = detect(entry.name, entry.data, profiles)
            if parser is None:
                raise unknown_layout(entry.name, entry.data)
            bill = parser.parse(entry.data, entry.name)
            layout = native_layout(entry.data) if bill.kind.startswith("profile:") else None
            if layout == "alipay_fundflow" and bill.period is None:
                # a 账务明细 a profile read covers the days its '#起始日期 … 终止日期' says, rows or not (a quiet day
                # too), as the 业务明细 reader's bill does
                bill = replace(bill, period=stated_period(xlsx_head(entry.data) if is_xlsx(entry.data)
                                                          else decode_head(entry.data)))
            scan.bills.append(replace(bill, sha256=entry.sha256, source=entry.name, layout=layout))
            if is_empty_bill(bill):
                empty.add(digest)
        except LoadError as exc:
            scan.rejected.append(Rejected(entry.name, exc, entry.sha256, _channel(parser)))
        except PaymatchError as exc:  # e.g. ChannelError from a native parser: still one file's problem
            scan.rejected.append(Rejected(entry.name, LoadError([Problem(entry.name, None, None, None, str(exc))]),
                                          entry.sha256, _channel(parser)))
    read_fund_details_as_flows(scan)
    cross_check_alipay(scan)
    cross_check_unionpay(scan)
    if last:
        refuse_taobao(scan, profiles)
    return scan


def scan_paths(paths: Sequence[str | Path], extra_profile_dirs: Iterable[str | Path] = (),
               stored_trade_days: set[tuple[str, dt.date]] | Callable[[], set[tuple[str, dt.date]]] = frozenset()
               ) -> list[BillScan]:
    """``scan_bills`` of each path (a command's --bills, each given on its own); an Alipay 账务明细 in one is read
    as fund flows when another holds the same account's 业务明细 of its days, or (a loose file) its 汇总 from the
    same folder (``read_fund_details_as_flows``), as in one scan; ``stored_trade_days``: (merchant number, day) of the
    Alipay 业务明细 a workspace already holds, which count as given too, or a function giving them (asked only when
    a file of the scans may be such a 账务明细: a workspace of millions of records is not read for every bill)."""
    profiles = profiles_with(extra_profile_dirs)
    scans = [scan_bills(p, last=False, profiles=profiles) for p in paths]
    if (len(scans) > 1 or stored_trade_days) and any(profile_read_alipay(scan) for scan in scans):
        stored = stored_trade_days() if callable(stored_trade_days) else stored_trade_days
        traded = set(stored).union(*(alipay_trade_days(scan.bills) for scan in scans))
        siblings: dict[str, set[str]] = {}
        for scan in scans:
            for where, kinds in delivered_kinds(scan).items():
                siblings.setdefault(where, set()).update(kinds)
        for scan in scans:
            read_fund_details_as_flows(scan, traded, siblings)
    for scan in scans:
        refuse_taobao(scan, profiles)
    return scans


def load_bills(path: str | Path, extra_profile_dirs: Iterable[str | Path] = ()) -> list[ParsedBill]:
    """Every bill under ``path``; raises one LoadError listing all rejected files' problems.

    The raised error carries the full ``BillScan`` as ``.scan`` (good bills included) so a
    caller can still load what was fine and quarantine the rest.
    """
    scan = scan_bills(path, extra_profile_dirs)
    if scan.rejected:
        problems = scan.problems
        total = sum(r.error.total for r in scan.rejected)
        err = LoadError(problems[:50], total=total,
                        hint=f"{len(scan.rejected)} file(s) rejected: "
                             f"{', '.join(r.name for r in scan.rejected[:5])}; the other files are fine")
        err.scan = scan  # type: ignore[attr-defined]
        raise err
    return scan.bills
