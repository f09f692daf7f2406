"""Find bill files in any folder layout and recognise each one by its content, never its name.

``iter_bill_files`` walks a file or folder, opening .gz, .zip (GBK member names too) and .tar
archives, and yields every candidate file. ``detect`` decodes a file's head (UTF-8, else GB18030)
and asks the native parsers (WeChat, Alipay, UnionPay modules, loaded lazily: a module not
written yet is skipped), then every mapping profile. ``scan_bills`` parses everything and keeps
the good bills and the rejected files apart, so a caller can load the first and quarantine the
second; ``load_bills`` is the strict form that raises when anything was rejected.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import importlib
import io
import re
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from paymatch.channels.alipay.layout import stated_period
from paymatch.channels.base import ParsedBill, zip_member_name
from paymatch.channels.bill_scan import BillScan, Rejected, cross_check_alipay, cross_check_unionpay
from paymatch.channels.profile_xlsx import is_xlsx, sheet_rows, xlsx_head
from paymatch.channels.profiles import Profile, builtin_flow_profiles, builtin_profiles, load_profile_dir
from paymatch.errors import LoadError, PaymatchError, Problem

#: modules with ``sniff(head) -> str | None`` and ``parse(data, source) -> ParsedBill``; tried first
NATIVE_MODULES = ("paymatch.channels.wechat.bill", "paymatch.channels.alipay.bill", "paymatch.channels.unionpay")
HEAD_BYTES = 16384


# --- walking files and archives ------------------------------------------------------------------

#: extensions that are never bills (documents, images, checksums); everything else is judged by content
SKIP_EXT = frozenset(".md .pdf .png .jpg .jpeg .gif .bmp .doc .docx .ppt .pptx .json .xml .html .htm .log "
                     ".sha1 .sha256 .md5 .sig .py .yaml .yml .toml .ini .exe .dll".split())
SKIP_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
_MAGIC_SKIP = ((b"%PDF", "a PDF document"), (b"\x89PNG", "an image"), (b"\xff\xd8\xff", "an image"),
               (b"GIF8", "an image"))


@dataclass
class Entry:
    """One file found by ``walk``: bytes ready to detect, or why it is skipped / unreadable."""

    name: str
    data: bytes = b""
    sha256: str = ""
    skip: str | None = None
    error: LoadError | None = None


def _damaged(name: str, what: str, exc: BaseException) -> LoadError:
    return LoadError([Problem(name, None, None, None, f"damaged {what}: {exc}")],
                     hint="download or copy the file again; it is truncated or corrupt")


def _skip_reason(name: str, data: bytes) -> str | None:
    base = re.split(r"[/\\!]", name)[-1]
    if base.startswith(".") or base.lower() in SKIP_NAMES or "__MACOSX/" in name:
        return "hidden or system file"
    if Path(base).suffix.lower() in SKIP_EXT:
        return f"not a bill ({Path(base).suffix} file)"
    if not data or data.isspace():  # isspace stops at the first other byte: no copy of a big file
        return "empty file"
    for magic, what in _MAGIC_SKIP:
        if data.startswith(magic):
            return f"not a bill ({what})"
    return None


def _expand(name: str, data: bytes, sha: str, depth: int = 0) -> Iterator[Entry]:
    """Entries of one file's bytes: itself, or the members of the archive it is."""
    reason = _skip_reason(name, data)
    if reason:
        yield Entry(name, sha256=sha, skip=reason)
        return
    if depth > 4:  # nested deeper than any channel delivers: refuse rather than recurse forever
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "archives nested too deep")]))
        return
    if is_xlsx(data):
        yield Entry(name, data, sha)
    elif data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            yield Entry(name, sha256=sha, error=_damaged(name, "gzip file", exc))
            return
        # named like a zip member (archive!file): messages and provenance name the file the user has
        inner_name = name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
        stem = f"{name}!{inner_name[:-3]}" if name.lower().endswith(".gz") else name + "!gunzip"
        yield from _expand(stem, inner, sha, depth + 1)
    elif data[:4] == b"PK\x03\x04":
        yield from _unzip(name, data, sha, depth)
    elif len(data) > 262 and data[257:262] == b"ustar":
        yield from _untar(name, data, sha, depth)
    elif data[:4] == b"\xd0\xcf\x11\xe0":
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "legacy .xls workbook")],
                                                    hint="save it as .xlsx or CSV"))
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "UTF-16 text")],
                                                    hint="save it as UTF-8 (or GBK) CSV"))
    elif b"\x00" in data[:4096]:
        nul = data.index(b"\x00")
        if _text_with_nuls(data[:4096]):  # a bill damaged by a stray NUL, not a PDF: was "left out as binary file"
            line = data.count(b"\n", 0, nul) + 1
            column = nul - data.rfind(b"\n", 0, nul)
            yield Entry(name, sha256=sha, error=LoadError(
                [Problem(name, line, None, None, f"a NUL byte (00) at column {column} of this text: the file is damaged")],
                hint="download or export the file again"))
        else:
            yield Entry(name, sha256=sha, skip="binary file")
    else:
        yield Entry(name, data, sha)


def _text_with_nuls(head: bytes) -> bool:
    """Whether ``head`` is text (UTF-8 or GB18030, lines of it) but for a few NUL bytes: a binary file (a PDF, an
    image) has NULs and undecodable bytes all through; UTF-16 has one NUL in every two bytes."""
    if head.count(b"\x00") * 50 > len(head) or head.count(b"\n") < 1:
        return False
    text = head.replace(b"\x00", b"")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(text, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _unzip(name: str, data: bytes, sha: str, depth: int) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if not archive.infolist():
            raise zipfile.BadZipFile("no members")
        # an encrypted member (flag bit 0) cannot be read: None marks it
        members = [(zip_member_name(i), None if i.flag_bits & 0x1 else archive.read(i))
                   for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        yield Entry(name, sha256=sha, error=_damaged(name, "zip file", exc))
        return
    for member, content in members:
        full = f"{name}!{member}"
        if content is None:
            yield Entry(full, sha256=sha, error=LoadError([Problem(full, None, None, None, "encrypted zip member")],
                                                        hint="extract it with its password first"))
        else:
            yield from _expand(full, content, sha, depth + 1)


def _untar(name: str, data: bytes, sha: str, depth: int) -> Iterator[Entry]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield Entry(name, sha256=sha, error=_damaged(name, "tar file", exc))
        return
    for member, content in members:
        yield from _expand(f"{name}!{member}", content, sha, depth + 1)


def walk(path: Path) -> Iterator[Entry]:
    """Every file under ``path`` (sorted, so runs are repeatable), archives expanded."""
    if not path.exists():
        raise LoadError([Problem(str(path), None, None, None, "no such file or folder")])
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        rel = str(file)
        inner = file.relative_to(path).parts[:-1] if file != path else ()
        reason = ("in a hidden or system folder" if any(p.startswith(".") or p == "__MACOSX" for p in inner)
                  else _skip_reason(rel, b"x"))
        if reason is not None:  # don't even read hidden files or documents
            yield Entry(rel, skip=reason)
            continue
        data = file.read_bytes()
        yield from _expand(rel, data, hashlib.sha256(data).hexdigest())


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


def _among_siblings(name: str) -> bool:
    """``name`` is a member of a zip or tar (which can hold a bill's other files), not a .gz's one stream."""
    if "!" not in name:
        return False
    parent = name.rsplit("!", 1)[0]
    return not (parent.lower().endswith((".gz", ".gzip")) or name.endswith("!gunzip"))


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
        if copy and not (_among_siblings(entry.name) and "!" not in seen[digest]):
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
    _alipay_archive_members(scan)
    cross_check_alipay(scan)
    cross_check_unionpay(scan)
    if last:
        refuse_taobao(scan, profiles)
    return scan


#: an order's 商户订单号 in a Taobao/Tmall seller's Alipay 账务明细: 'T200P' and the 淘宝订单号 (飞猪's: 'T10000P'); a
#: 淘宝订单号 has 15 digits or more
_TAOBAO_ORDER = r"^T\d+P\d{15,}$"


def refuse_taobao(scan: BillScan, profiles: Sequence[Profile]) -> None:
    """A Taobao/Tmall seller's Alipay 账务明细 read as transactions by the built-in profile is refused: it books an
    order's money when the buyer confirms receipt (交易付款, days after the payment), net of the refunds made
    before, which never show, under 'T200P<淘宝订单号>'; read as the payments of the shop's orders, every order
    would be a break. (Beside the account's 业务明细 or 汇总 it was read as fund flows; a shop's own profile of it
    reads it as the shop maps it.)"""
    import pyarrow.compute as pc

    builtin = {p.name: p.path for p in builtin_profiles()}
    own = {p.name: p.path for p in profiles}
    for bill in list(scan.bills):
        name = bill.kind.removeprefix("profile:")
        if bill.layout != "alipay_fundflow" or name not in builtin or own.get(name) != builtin[name]:
            continue
        hits = pc.fill_null(pc.match_substring_regex(bill.transactions.column("order_no"), _TAOBAO_ORDER), False)
        if not pc.any(hits).as_py():
            continue
        row = bill.transactions.filter(hits).slice(0, 1).to_pylist()[0]
        scan.bills.remove(bill)
        scan.rejected.append(Rejected(bill.source, LoadError(
            [Problem(bill.source, row["src_line"], "商户订单号", row["order_no"],
                     f"alipay: a Taobao/Tmall shop's 账务明细 ({pc.sum(hits).as_py()} rows of orders 'T200P<淘宝订单号>'): "
                     "it books an order's money when the buyer confirms receipt (交易付款), not when the order is "
                     "paid, less the refunds made before, which it never lists; read as the payments of your orders "
                     "every order would be a break (another day, another amount, refunds missing)")],
            hint="leave it out of --bills: paymatch does not reconcile Taobao orders from the seller's 账务明细; to read "
                 "its movements anyway write a profile of your own for it ([bills] profile_dirs; where the export has "
                 "the 业务基础订单号 column, it holds the 淘宝订单号: map order_no to it)"), bill.sha256, "alipay"))


def _delivery(name: str) -> str:
    """What a file came with: a zip or tar member's archive, else the folder of the file on disk (an unzipped
    delivery's files sit side by side)."""
    if _among_siblings(name):
        return name.rsplit("!", 1)[0]
    return str(Path(name.split("!", 1)[0]).parent)


def _account_days(bill: ParsedBill) -> set[tuple[str, dt.date]]:
    """(merchant number, bill day) of the bill's rows: the distinct pairs, found by Arrow (a Python set of every
    row's pair cost seconds and gigabytes on a 业务明细 of millions of rows, scanned for each such bill)."""
    pairs = bill.transactions.select(["merchant_id", "bill_date"]).group_by(["merchant_id", "bill_date"]).aggregate([])
    return {(m, d) for m, d in zip(pairs.column("merchant_id").to_pylist(), pairs.column("bill_date").to_pylist())
            if m}


def _profile_read_alipay(scan: BillScan) -> bool:
    """Whether a profile read a file of the scan (an Alipay one or, beside its 汇总, any), or refused an Alipay one:
    only such a file may be a 账务明细 to read again (``_alipay_archive_members``), so only then are the 业务明细's
    days worth finding (an ingest of a big 业务明细 alone does not look at its rows' days)."""
    return (any(b.kind.startswith("profile:") for b in scan.bills)
            or any(r.channel == "alipay" for r in scan.rejected))


def alipay_trade_days(bills: Iterable[ParsedBill]) -> set[tuple[str, dt.date]]:
    """(merchant number, day) that the Alipay 业务明细 among ``bills`` cover: their rows' (which name the account's
    PID, as the profile's do), and every day of the period a bill says it covers (a day without trades is covered
    too)."""
    out: set[tuple[str, dt.date]] = set()
    for bill in bills:
        if bill.channel == "alipay" and bill.kind == "alipay_detail":
            rows = _account_days(bill)
            out |= rows
            if bill.period is not None:
                first, last = bill.period
                days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
                out |= {(m, d) for m in {m for m, _ in rows} for d in days}
    return out


def scan_paths(paths: Sequence[str | Path], extra_profile_dirs: Iterable[str | Path] = (),
               stored_trade_days: set[tuple[str, dt.date]] | Callable[[], set[tuple[str, dt.date]]] = frozenset()
               ) -> list[BillScan]:
    """``scan_bills`` of each path (a command's --bills, each given on its own); an Alipay 账务明细 in one is read
    as fund flows when another holds the same account's 业务明细 of its days, or (a loose file) its 汇总 from the
    same folder (``_alipay_archive_members``), as in one scan; ``stored_trade_days``: (merchant number, day) of the
    Alipay 业务明细 a workspace already holds, which count as given too, or a function giving them (asked only when
    a file of the scans may be such a 账务明细: a workspace of millions of records is not read for every bill)."""
    profiles = profiles_with(extra_profile_dirs)
    scans = [scan_bills(p, last=False, profiles=profiles) for p in paths]
    if (len(scans) > 1 or stored_trade_days) and any(_profile_read_alipay(scan) for scan in scans):
        stored = stored_trade_days() if callable(stored_trade_days) else stored_trade_days
        traded = set(stored).union(*(alipay_trade_days(scan.bills) for scan in scans))
        siblings: dict[str, set[str]] = {}
        for scan in scans:
            for where, kinds in _alipay_siblings(scan).items():
                siblings.setdefault(where, set()).update(kinds)
        for scan in scans:
            _alipay_archive_members(scan, traded, siblings)
    for scan in scans:
        refuse_taobao(scan, profiles)
    return scans


def _alipay_siblings(scan: BillScan) -> dict[str, set[str]]:
    """The bill kinds read from each delivery (``_delivery``: an archive, or a folder of loose files)."""
    siblings: dict[str, set[str]] = {}
    kind_of = {bill.source: bill.kind for bill in scan.bills}
    same = "same content as "  # a member skipped as a copy of a bill read elsewhere counts as that bill
    members = [*kind_of.items(), *((name, kind_of.get(why[len(same):])) for name, why in scan.skipped
                                   if why.startswith(same))]
    for source, kind in members:
        if kind is not None:
            siblings.setdefault(_delivery(source), set()).add(kind)
    return siblings


def _alipay_archive_members(scan: BillScan, traded: set[tuple[str, dt.date]] = frozenset(),
                            delivered: dict[str, set[str]] | None = None) -> None:
    """A 账务明细 a profile read (as transactions) is read by the Alipay module instead, as fund flows, when it came
    with its 汇总 (the signcustomer delivery: in one archive, or unzipped into one folder), or when the scan holds
    the same account's 业务明细 of a day it lists: that is the account's transaction bill, and the 账务明细's
    movements read as transactions beside it counted each payment twice and made each refund (no refund number
    there) a second, unrecorded one. Only such files are read again, from disk (a scan may be looked at again: what
    was read here is no profile's any more)."""
    try:
        from paymatch.channels.alipay import bill as abill
    except ImportError:
        return
    # (``traded``, ``delivered``: what the other paths of the command read, ``scan_paths``)
    if not _profile_read_alipay(scan):
        return  # nothing a profile read or refused as Alipay's: no file to read again
    siblings = _alipay_siblings(scan) if delivered is None else delivered
    # (``scan_paths`` passes what the other paths of the command read, this scan's 业务明细 included)
    traded = traded if delivered is not None else alipay_trade_days(scan.bills)

    def paired(name: str) -> bool:
        return abill.FUND_SUMMARY_KIND in siblings.get(_delivery(name), set())

    def beside_trade(bill: ParsedBill) -> bool:  # a 账务明细's rows of an account and day a 业务明细 covers
        # (known by its layout: a shop's profile of it may name another channel, ``alipay_cn``, as well as itself)
        return bill.layout == "alipay_fundflow" and bool(traded & _account_days(bill))

    # what a profile read, or refused while reading (a profile of channel alipay recognised it)
    candidates: dict[str, ParsedBill | Rejected] = {
        **{b.source: b for b in scan.bills if b.kind.startswith("profile:") and (paired(b.source) or beside_trade(b))},
        **{r.name: r for r in scan.rejected if r.channel == "alipay" and paired(r.name)}}
    for outer in sorted({source.split("!", 1)[0] for source in candidates}):
        for entry in walk(Path(outer)):
            old = candidates.get(entry.name)
            if old is None or entry.skip is not None or entry.error is not None:
                continue
            if not abill.is_fund_detail(entry.data):
                continue
            if isinstance(old, ParsedBill):  # keep the file order of the good bills
                at = scan.bills.index(old)
                del scan.bills[at]
            else:
                scan.rejected.remove(old)
                at = len(scan.bills)
            try:
                scan.bills.insert(at, replace(abill.parse(entry.data, entry.name), sha256=entry.sha256,
                                              source=entry.name))
            except LoadError as exc:
                scan.rejected.append(Rejected(entry.name, exc, entry.sha256, "alipay"))


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
