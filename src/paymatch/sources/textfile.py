"""A user's text file before DuckDB reads it: its encoding (UTF-8 or GBK, told apart per file), a UTF-8 copy of
a file in another encoding, line ends mixed within one file, its header, and where it stops being readable text.

Every problem names the file and the line (``errors.Problem``); nothing here reads a whole file into memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from pathlib import Path

from ..errors import LoadError, Problem


def _sniff_encoding(path: Path) -> str:
    """'utf-8' when the head decodes as UTF-8 (BOM allowed), 'gb18030' when it decodes as that.

    Neither: the file is rejected naming the first line the UTF-8 reading cannot decode. A NUL byte
    (UTF-16 without a BOM, a binary file) is valid UTF-8 but never CSV text: rejected the same way.
    A head that is plain ASCII tells nothing: the text from the first non-ASCII byte on is judged instead
    (an export whose Chinese words start after its first thousand rows is still GBK)."""
    head = sample = _read_head(path)
    if head.isascii() and b"\x00" not in head:
        sample = _first_non_ascii(path)
        if sample is None:
            return "utf-8"
    # a head that is the whole file ends where the file ends: a lead byte there is no character the head cut short
    whole = sample is head and len(head) >= path.stat().st_size
    if b"\x00" not in sample:
        # a UTF-8 BOM says UTF-8: GBK text after it is a broken file, named by line below, not read as GBK
        bom = head.startswith(codecs.BOM_UTF8)
        for enc in ("utf-8",) if bom else ("utf-8", "gb18030"):
            try:
                codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            except UnicodeDecodeError:
                continue
            if enc == "utf-8" and not bom and _gbk_in_utf8_clothes(sample):
                continue
            if whole:
                try:
                    sample.decode(enc)
                except UnicodeDecodeError:  # readable as ``enc`` up to its last bytes: named on that line
                    line, what = _undecodable(head, enc)
                    raise LoadError([Problem(str(path), line, _field_in_file(path, line, enc), None,
                                             f"not UTF-8 or GBK text ({what})")],
                                    hint="the file ends inside a character: export it again as UTF-8 CSV, "
                                         "or pass --encoding") from None
            return enc
    if sample is not head:  # neither, far into the file: the strict UTF-8 read names that line
        return "utf-8"
    if head[8:12] == b"DUCK":  # a workspace given as an input (options swapped): not "UTF-16", as the NULs suggest
        raise LoadError([Problem(str(path), None, None, None, "a DuckDB database (a paymatch workspace), not CSV text")],
                        hint="a workspace goes to --workspace; --orders, --refunds and --transactions take CSV "
                             "exports") from None
    if head.startswith(b"PK\x03\x04") and _is_workbook(path):  # not "bytes 00 00 00 at column 6"
        raise LoadError([Problem(str(path), None, None, None, "an .xlsx workbook, not CSV text")],
                        hint="save the sheet as CSV (UTF-8); a workbook is read where it is recognised: an orders or "
                             "refunds export, or a bill a profile knows") from None
    line, what = _undecodable(head, enc := "utf-8")
    first = next((ln for ln in head.split(b"\n") if not ln.isascii()), b"")
    if _decodes(first, "gb18030") and not _decodes(first, "utf-8"):
        # its first Chinese line is GBK: named where the GBK reading stops (a NUL, a UTF-8 line), not at its GBK
        line, what = _undecodable(head, enc := "gb18030")  # header as "not UTF-8" (line 1)
    # UTF-16 without a BOM: every other byte of ASCII text is NUL (a stray NUL in UTF-8 text is no sign of it)
    utf16 = (head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
             or head[:200].count(b"\x00") * 4 >= len(head[:200]) > 0)
    raise LoadError([Problem(str(path), line, None if utf16 else _field_in_file(path, line, enc), None,
                             f"not UTF-8 or GBK text ({what})")],
                    hint=("the file looks like UTF-16: " if utf16 else "")
                    + "export the file as UTF-8 CSV, or pass --encoding") from None


def field_at(lines, line: int | None, encoding: str) -> str | None:
    """The header name of the field holding the first undecodable byte (or NUL) of line ``line`` of ``lines`` (raw
    lines, 1-based), for a message naming file, line and field: the header is the first of the lines above it (among
    the first 50: title lines above a header have fewer fields) with as many fields as that line; None when no line
    is, or the line is the header itself."""
    if not line or line < 2:
        return None
    above: list[str] = []
    bad = None
    for n, raw in enumerate(lines, 1):
        if n == line:
            bad = raw.rstrip(b"\r\n")
            break
        if n <= 50:
            above.append(raw.rstrip(b"\r\n").decode(encoding, errors="replace").lstrip("\ufeff"))
    if bad is None or not above:
        return None
    try:
        bad.decode(encoding)
        start = bad.index(b"\x00")
    except UnicodeDecodeError as e:
        nul = bad.find(b"\x00", 0, e.start)
        start = nul if nul >= 0 else e.start
    except ValueError:
        return None

    def cells(text: str, delim: str) -> list[str]:
        try:
            return next(csv.reader([text.replace("\x00", "\ufffd")], delimiter=delim), [])
        except csv.Error:
            return []

    text = bad.decode(encoding, errors="replace")
    prefix = bad[:start].decode(encoding, errors="replace")
    for head in above:
        delim = "\t" if "\t" in head and "," not in head else ","
        names = cells(head, delim)
        if len(names) > 1 and len(names) == len(cells(text, delim)):
            return names[max(len(cells(prefix, delim)) - 1, 0)].strip() or None
    return None


def _field_in_file(path: Path, line: int | None, encoding: str) -> str | None:
    with path.open("rb") as f:
        return field_at(f, line, encoding)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def _is_workbook(path: Path) -> bool:
    """Whether ``path`` is an Office Open XML workbook (a zip holding ``xl/workbook.xml``)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _gbk_in_utf8_clothes(sample: bytes) -> bool:
    """Whether GBK text happens to be valid UTF-8 too (about 1,900 common characters, 一 元 全 品 员 …, are byte pairs
    of both: helper-48 saw 唯品 stored as ΨƷ): read as UTF-8 every non-ASCII character falls in U+0180–U+07FF (Latin
    Extended-B, IPA, Greek, Cyrillic, Hebrew, Arabic: no CJK, no é or ü, nothing a Chinese shop's export writes),
    while read as GBK it is Chinese."""
    text = sample.decode("utf-8", errors="ignore")
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide or any(not 0x180 <= ord(c) <= 0x7FF for c in wide):
        return False
    gbk = [c for c in sample.decode("gb18030", errors="ignore") if ord(c) > 0x7F]
    return sum("\u4e00" <= c <= "\u9fff" for c in gbk) >= 0.8 * len(gbk)


def _undecodable(data: bytes, encoding: str, first_line: int = 1) -> tuple[int, str]:
    """Where ``data`` (whole lines) first fails to decode as ``encoding`` (a NUL byte counts as a failure):
    (line number, "bytes ff fe at column 12"), the column counting characters of the line's readable start."""
    try:
        data.decode(encoding)
        start = data.index(b"\x00")
    except UnicodeDecodeError as e:
        start = e.start
        nul = data.find(b"\x00", 0, start)
        start = nul if nul >= 0 else start
    except ValueError:  # decodes, no NUL: nothing to name
        return first_line, "undecodable bytes"
    line = first_line + data.count(b"\n", 0, start)
    bol = data.rfind(b"\n", 0, start) + 1
    column = len(data[bol:start].decode(encoding, errors="replace")) + 1
    run = data[start:start + 16].decode(encoding, errors="surrogateescape")
    # the leading run only (a NUL or undecodable byte each), at most 8
    lead = []
    for c in run[:8]:
        if "\udc80" <= c <= "\udcff":
            lead.append(ord(c) - 0xDC00)
        elif c == "\x00":
            lead.append(0)
        else:
            break
    bad = bytes(lead) or data[start:start + 1]
    return line, f"byte{'s' if len(bad) > 1 else ''} {bad.hex(' ')} at column {column}"


def _first_undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """The first line of ``path`` that does not decode as ``encoding`` (streamed line by line), or None.
    UTF-8 and GB18030 never use the byte 0x0A inside a character, so lines split safely."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                raw.decode(encoding)
            except UnicodeDecodeError:
                return _undecodable(raw, encoding, n)
            if b"\x00" in raw:
                return _undecodable(raw, encoding, n)
    return None


def _first_non_ascii(path: Path, limit: int = 1 << 26) -> bytes | None:
    """64 KiB of ``path`` from the start of the line holding its first non-ASCII byte (within the first
    ``limit`` bytes, read in 1 MiB blocks), or None when those bytes are all ASCII."""
    with path.open("rb") as f:
        done, tail = 0, b""
        while done < limit:
            block = f.read(1 << 20)
            if not block:
                return None
            if not block.isascii():
                data = tail + block
                first = re.search(rb"[\x80-\xff]", data).start()
                start = data.rfind(b"\n", 0, first) + 1
                return (data[start:] + f.read(1 << 16))[:1 << 16]
            done += len(block)
            tail = block[block.rfind(b"\n") + 1:]
    return None


def _read_head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(1 << 16)


def _transcode(path: Path, encoding: str) -> Path:
    """Write a UTF-8 copy of a GBK/other-encoded file to a temp file (streamed, constant memory)."""
    out = tempfile.NamedTemporaryFile(prefix="_pm_utf8_", suffix=".csv", delete=False)
    try:
        with path.open("r", encoding=encoding, newline="") as src, open(out.name, "w", encoding="utf-8", newline="") as dst:
            for chunk in iter(lambda: src.read(1 << 20), ""):
                dst.write(chunk)
    except UnicodeDecodeError as e:
        Path(out.name).unlink(missing_ok=True)
        line, what = _first_undecodable(path, encoding) or (None, e.reason)
        raise LoadError([Problem(str(path), line, _field_in_file(path, line, encoding), None,
                                 f"not {encoding} text ({what})")], hint=ENCODING_HINT) from None
    except (UnicodeError, LookupError) as e:  # utf-16 without a BOM, an unknown encoding name
        Path(out.name).unlink(missing_ok=True)
        raise LoadError([Problem(str(path), None, None, None, f"not {encoding} text ({e})")],
                        hint=ENCODING_HINT) from None
    except BaseException:
        Path(out.name).unlink(missing_ok=True)
        raise
    return Path(out.name)


#: what to do about a file not in the encoding it was read in
ENCODING_HINT = ("check the file's encoding; --encoding applies to every input file of the command (without it, "
                 "UTF-8 and GBK are told apart per file): load files in other encodings with their own ingest")


#: DuckDB's read_csv max_line_size default: a value longer than this is refused
_LINE_LIMIT = 2_097_152  # Python's csv counts characters: a value this long is over DuckDB's byte limit below
#: DuckDB's read_csv refuses a record (all its physical lines, without the last line end) of this many bytes
DUCKDB_LINE_BYTES = 2_000_000
LINE_TOO_LONG = "the record holds 2 MB or more (DuckDB's line limit): a quoted value that never closes, or a value that long"


class _MixedNewlines(Exception):
    """DuckDB refused a file whose lines end in both CRLF and LF: read again from a copy with LF only."""


def mixed_newlines(path: Path) -> bool:
    """Whether ``path`` has lines ending in CRLF and others in a bare LF (a file appended to on two systems);
    DuckDB's strict reader refuses such a file. Streamed."""
    lf = crlf = 0
    prev = b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            lf += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (prev == b"\r" and chunk[:1] == b"\n")
            prev = chunk[-1:]
    return 0 < crlf < lf


def cr_only(path: Path) -> bool:
    """Whether ``path``'s lines end in a bare CR (a classic Mac OS export): a CR in its first MiB and no LF there."""
    with path.open("rb") as f:
        head = f.read(1 << 20)
    return b"\r" in head and b"\n" not in head


def lf_from_cr(path: Path) -> Path:
    """A temp copy of ``path`` with each CR turned into LF (the same lines; the caller removes it)."""
    out = tempfile.NamedTemporaryFile(prefix="_pm_lf_", suffix=".csv", delete=False)
    with path.open("rb") as src, out:
        while chunk := src.read(1 << 22):
            out.write(chunk.replace(b"\r", b"\n"))
    return Path(out.name)


def lf_copy(path: Path) -> Path:
    """A temp copy of ``path`` with every CRLF turned into LF (same lines; the caller removes it)."""
    out = tempfile.NamedTemporaryFile(prefix="_pm_lf_", suffix=".csv", delete=False)
    with path.open("rb") as src, out:
        held = b""
        while chunk := src.read(1 << 22):
            chunk = held + chunk
            held = b"\r" if chunk.endswith(b"\r") else b""
            out.write((chunk[:-1] if held else chunk).replace(b"\r\n", b"\n"))
        out.write(held)
    return Path(out.name)


def _header(path: Path, original: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        try:
            row = next(csv.reader(io.StringIO(f.readline())))
        except StopIteration:
            raise LoadError([Problem(str(original), 1, None, None, "file is empty (no header line)")]) from None
    return [c.strip() for c in row]
