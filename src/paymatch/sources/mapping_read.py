"""Reading a shop's export for the column mapping (``mapping``): what the file is, its first rows, and
a UTF-8 CSV DuckDB can stream.

A file is recognised by its content, never its name: an Office Open XML workbook (a zip holding
``xl/workbook.xml``) is read as .xlsx, an old binary .xls is refused, anything else is CSV text in
UTF-8 or GBK (as the canonical loader sniffs it). An .xlsx sheet is written out as a UTF-8 CSV from its
header row on, every row as wide as the header (cells as the profiles' xlsx reader writes them:
times ``YYYY-MM-DD HH:MM:SS``), read with calamine (the sheet is held in memory by it; rows are converted
and written one at a time).
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
import tempfile
import zipfile
import zlib
from array import array
from pathlib import Path

from ..channels.profile_xlsx import _text as cell_text  # one rule for "a cell as CSV text" (profiles' xlsx too)
from ..channels.profile_xlsx import EXCEL_ERROR_HINT, EXCEL_ERROR_TEXT, EXCEL_ERRORS, open_sheet
from ..errors import LoadError, Problem
from .load_problems import MAX_PROBLEMS
from .textfile import (DUCKDB_LINE_BYTES, ENCODING_HINT, LINE_TOO_LONG, _LINE_LIMIT, _field_in_file, _first_undecodable,
                       _sniff_encoding, _transcode)

#: how far down the header row is looked for when ``header_line`` is not configured
HEAD_LINES = 50


def file_form(path: Path) -> str:
    """'xlsx', 'xls' (Excel 97-2003, refused by the caller) or 'csv', from the file's first bytes."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                if "xl/workbook.xml" in zf.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            pass
    if head == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return "csv"


def unpacked(path: Path) -> Path | None:
    """A temp copy of the one file a compressed input holds (a .gz, or a .zip of exactly one file that is
    not a workbook), streamed: None when ``path`` is not compressed. The caller removes the copy.
    Raises ``LoadError`` for a damaged archive or a .zip of several files (which one is meant is not guessed)."""
    with path.open("rb") as f:
        head = f.read(4)
    if head[:2] == b"\x1f\x8b":
        dst = temp_csv("_pm_gunzip_")
        try:
            with gzip.open(path, "rb") as src, dst.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 22)
        except (OSError, EOFError, zlib.error) as exc:
            dst.unlink(missing_ok=True)
            raise LoadError([Problem(str(path), None, None, None, f"a damaged gzip file ({exc})")],
                            hint="download or compress the file again; nothing from it was stored") from None
        return dst
    if head != b"PK\x03\x04" or file_form(path) == "xlsx":
        return None
    try:
        with zipfile.ZipFile(path) as zf:
            members = zip_files(zf)
            if len(members) != 1:
                names = ", ".join(m.filename for m in members[:5]) or "nothing"
                raise LoadError([Problem(str(path), None, None, None,
                                         f"a .zip of {len(members)} files ({names}); one file is expected here")],
                                hint="unpack it and give each file on its own (channel bills: pass the .zip to --bills)")
            dst = temp_csv("_pm_unzip_")
            try:
                with zf.open(members[0]) as src, dst.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 22)
            except BaseException:
                dst.unlink(missing_ok=True)
                raise
            return dst
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise LoadError([Problem(str(path), None, None, None, f"a damaged or encrypted .zip ({exc})")],
                        hint="download or compress the file again; nothing from it was stored") from None


def zip_files(z: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """A .zip's files as an input counts them (no folders, no macOS or hidden extras): one is read as the file."""
    return [m for m in z.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            and not Path(m.filename).name.startswith(".")]


def temp_csv(prefix: str) -> Path:
    """A new empty temp file name for a CSV paymatch writes (the caller removes it)."""
    f = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".csv", delete=False)
    f.close()
    return Path(f.name)


def utf8_text(path: Path, encoding: str | None) -> tuple[Path, bool]:
    """``path`` itself when it is UTF-8 text, else a UTF-8 temp copy (GBK…): (readable path, is a temp copy)."""
    enc = (encoding or _sniff_encoding(path)).lower()
    if enc in ("utf-8", "utf8", "utf-8-sig"):
        return path, False
    return _transcode(path, enc), True


def csv_head(path: Path, encoding: str, lines: int) -> list[str]:
    """The first ``lines`` physical lines of a text file in ``encoding`` (BOM and line ends dropped)."""
    out: list[str] = []
    enc = "utf-8-sig" if encoding.replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        with path.open("r", encoding=enc, errors="replace", newline="") as f:
            for line in f:
                out.append(line.rstrip("\r\n"))
                if len(out) >= lines:
                    break
    except (UnicodeError, LookupError) as e:  # utf-16 without a BOM, an unknown encoding name
        raise LoadError([Problem(str(path), None, None, None, f"not {encoding} text ({e})")], hint=ENCODING_HINT) from None
    return out


def cells(line: str, delimiter: str) -> list[str]:
    """One line split into CSV cells on its own (a title line that is not well-formed CSV is one cell)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


def copy_from_line(src: Path, dst: Path, first: int, end: int | None = None) -> None:
    """Copy a UTF-8 text file from its line ``first`` (1-based) on, up to byte ``end`` (None: its end): title
    lines (and a footer) dropped, bytes unchanged."""
    with src.open("rb") as f, dst.open("wb") as out:
        for _ in range(first - 1):
            f.readline()
        left = None if end is None else max(0, end - f.tell())
        while left is None or left > 0:
            chunk = f.read(1 << 22 if left is None else min(1 << 22, left))
            if not chunk:
                break
            out.write(chunk)
            if left is not None:
                left -= len(chunk)


#: the label a total line of an export starts with (合计, 总计, 汇总, 小计, 共计, 累计, Total, Sum)
_TOTAL_RX = re.compile(r"^\s*(?:合\s*计|总\s*计|汇\s*总|小\s*计|共\s*计|累\s*计|本页合计|totals?\b|sum\b|grand total\b)", re.I)
#: a total label standing alone in the key column: the word (or Totals), then nothing, or anything but what
#: continues an id (合计金额, 合计2笔, 总计￥20.00, Total (元), 合计：13笔; never SUM-20261120-0002 or Total_A1)
_TOTAL_WORD_RX = re.compile(_TOTAL_RX.pattern + r"(?:[^A-Za-z0-9_\-./#].*|(?<![A-Za-z])[0-9].*)?", re.I | re.S)
#: a note line's label read in a key column: Chinese words, maybe with a bracketed part (导出时间：…,
#: 导出时间(北京时间)：…), or English words (Exported: …, Printed by: …), then a colon
_CJK_NOTE_RX = re.compile(r"^\s*(?:[\u4e00-\u9fff]{1,12}(?:\s*[(（][^()（）]{1,12}[)）])?|[A-Za-z][A-Za-z ]{1,24})\s*[:：]")
#: a note line's label (导出时间：…, 制表人：…, 备注: …)
_NOTE_RX = re.compile(r"^\s*[^\d\s,:：]{1,12}\s*[:：]")
#: how many lines at an export's end may be totals and notes
FOOTER_LINES = 20


def footer_row(row: list[str], key: int | None, record: tuple[int, ...] = ()) -> bool:
    """Whether ``row`` reads as a total or note line of an export: it starts with a total label (合计…), or with
    a label and a colon and holds at most two values; and the key column (index ``key``) is empty or is that label.
    ``record``: columns every record fills and no total line does (status, payment method): any value there makes
    the row a record (an order numbered 汇总单20261120001 is one)."""
    if any(i < len(row) and row[i].strip() for i in record):
        return False
    if key is not None and key < len(row) and (k := row[key].strip()):  # (most rows: a record's id, checked cheaply)
        # the label in the key column itself: only the bare word (合计, 合计：13笔, Total (元)), never an id
        # that begins like one (SUM-20261120-0002); or a note with a word label (导出时间：…), never an id
        if any(c.strip() for c in row[:key]):
            return False
        if _TOTAL_WORD_RX.fullmatch(k):
            return True
        return bool(_CJK_NOTE_RX.match(k)) and sum(1 for c in row if c.strip()) <= 2
    vals = [c.strip() for c in row]
    filled = [i for i, c in enumerate(vals) if c]
    if not filled:
        return False
    first = filled[0]
    return bool(_TOTAL_RX.match(vals[first])) or (bool(_NOTE_RX.match(vals[first])) and len(filled) <= 2)


def footer_lines(path: Path, delimiter: str, header_line: int, key: int | None,
                 record: tuple[int, ...] = ()) -> tuple[int, list[str]] | None:
    """The total and note lines a UTF-8 CSV ends with (at most ``FOOTER_LINES``), and the blank or
    delimiter-only lines around them: (the byte offset where they start, the totals' and notes' text), or None
    when it ends with a record."""
    size = path.stat().st_size
    n = min(size, 1 << 18)
    with path.open("rb") as f:
        f.seek(size - n)
        tail = f.read(n)
    lines = tail.split(b"\n")
    pos = size - n
    if size > n:  # the first piece is part of a line
        pos += len(lines[0]) + 1
        lines = lines[1:]
    starts = []
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    found, cut = [], None
    for i in range(len(lines) - 1, -1, -1):
        if (size <= n and i + 1 <= header_line) or len(found) >= FOOTER_LINES:
            break
        try:
            text = lines[i].decode("utf-8")
        except UnicodeDecodeError:  # a GBK file asked before its transcoding (a canonical CSV's 合计 line)
            text = lines[i].decode("gb18030", errors="replace")
        text = text.rstrip("\r").lstrip("\ufeff")
        if text.count('"') % 2:  # a line of a quoted value spanning lines (its last): part of a record
            break
        row = cells(text, delimiter)
        if not any(c.strip() for c in row):  # blank, or only delimiters (,,,,): nothing to load either
            if text or found:
                cut = starts[i]
            continue
        if not footer_row(row, key, record):
            break
        found.append(text)
        cut = starts[i]
    return (cut, found[::-1]) if cut is not None else None


class Sheet:
    """An .xlsx sheet opened for streaming: ``head`` holds its first rows as text, ``write_csv`` the rest."""

    def __init__(self, path: Path, sheet: str | None, head_rows: int, shown: Path | None = None):
        """Open the workbook read-only and read the first ``head_rows`` rows of ``sheet`` (default: the first);
        messages name ``shown`` (default ``path``)."""
        self.path = shown or path
        self._merged: list = []
        self._wb, self._rows = open_sheet(path, sheet, str(self.path),
                                          hint="fix sheet in the [inputs] section of the config file",
                                          merged=self._merged)
        self.head: list[list[str]] = []
        for row in self._rows:
            self.head.append([cell_text(v) for v in row])
            if len(self.head) >= head_rows:
                break

    def write_csv(self, dst: Path, header_line: int, header: list[str], key: int | None = None,
                  record: tuple[int, ...] = (), read: tuple[int, ...] = ()) -> tuple[list[list[str]], array]:
        """Write the header row (as ``header``) and every row below it, each cut or padded to the header's
        width, as UTF-8 CSV; empty rows are left out. Values beyond the header's columns refuse the file.

        Total and note lines the sheet ends with (``footer_row``; ``key``: the key column's index; ``record``: the
        columns only records fill) are left
        out and returned; the same lines above a record are written like any row. Returns (those lines, the
        sheet row of every record written). An Excel error value (#N/A…) in a column of ``read`` (the columns
        loaded as they are) refuses the file by row and column."""
        width = len(header)
        problems, total = [], 0
        held: list[tuple[int, list[str]]] = []
        written = array("q")
        with dst.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)

            # the key column merged down several rows (an order's cells merged over its item rows, as mall
            # backends write them): Excel shows its value on each of them, and so they are read
            down = {} if key is None else {top + 1: bottom + 1 for (top, left), (bottom, right) in self._merged
                                          if left == right == key and bottom > top}

            def rows():
                yield from ((i, r) for i, r in enumerate(self.head[header_line:], header_line + 1))
                yield from ((i, [cell_text(v) for v in r]) for i, r in enumerate(self._rows, len(self.head) + 1))

            def filled():
                value, until = "", 0
                for i, r in rows():
                    if i in down:
                        value, until = (r[key] if key < len(r) else ""), down[i]
                    elif i <= until and key < len(r) and not r[key]:
                        r = list(r)
                        r[key] = value
                    yield i, r

            def emit(line: int, row: list[str]) -> None:
                nonlocal total
                for j in read:
                    if j < len(row) and row[j] in EXCEL_ERRORS:
                        total += 1
                        if len(problems) < MAX_PROBLEMS:
                            problems.append(Problem(str(self.path), line, header[j], row[j], EXCEL_ERROR_TEXT))
                if any(v and v not in EXCEL_ERRORS for v in row[width:]):  # (a lookup's #N/A there: no value)
                    total += 1
                    if len(problems) < MAX_PROBLEMS:
                        problems.append(Problem(str(self.path), line, None, ",".join(row)[:120],
                                                f"row has values beyond the header's {width} columns"))
                    return
                w.writerow(row[:width] + [""] * (width - len(row)))
                written.append(line)

            for line, row in (filled() if down else rows()):
                if not any(row):
                    continue
                if len(held) < FOOTER_LINES and footer_row(row, key, record):
                    held.append((line, row))
                    continue
                for h in held:  # not the sheet's end after all: written, and judged, like any row
                    emit(*h)
                held = []
                emit(line, row)
        if total:
            raise LoadError(problems, total=total, hint=(
                EXCEL_ERROR_HINT if problems[0].message == EXCEL_ERROR_TEXT else
                "give those columns a header name in the export, or delete the stray cells")
                + "; nothing from this file was stored")
        return [r for _, r in held], written

    def close(self) -> None:
        """Close the workbook."""
        self._wb.close()


def structure_problems(path: Path, source: Path, header_line: int, width: int, delimiter: str) -> tuple[list[Problem], int]:
    """Why a strict CSV read of ``path`` below ``header_line`` failed, by line of ``source``: records whose
    field count is not the header's ``width`` (up to ``MAX_PROBLEMS``, with the total), then a quote that
    never closes. Blank lines are skipped, as DuckDB does."""
    problems: list[Problem] = []
    total, at = 0, [0, 0, 0]  # lines read, the UTF-8 bytes of those below the header, the last one's line end

    def lines():
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            for n, text in enumerate(f, 1):
                at[0] = n
                if n > header_line:
                    size = len(text) if text.isascii() else len(text.encode("utf-8"))
                    at[1], at[2] = at[1] + size, len(text) - len(text.rstrip("\r\n"))
                    yield text

    start, offset = header_line + 1, 0
    csv.field_size_limit(_LINE_LIMIT)  # a longer value is one DuckDB refused
    try:
        for row in csv.reader(lines(), delimiter=delimiter, strict=True):
            line, start = start, at[0] + 1
            size, offset = at[1] - offset - at[2], at[1]
            if size >= DUCKDB_LINE_BYTES:  # DuckDB stops there: so do we
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(str(source), line, None, None, LINE_TOO_LONG))
                return problems, total
            if row and len(row) != width:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(str(source), line, None, None, f"row has {len(row)} fields, the header has {width}"))
    except csv.Error as e:
        total += 1
        why = ("a quoted field opened on this line does not close" if "end of data" in str(e) else
               LINE_TOO_LONG if "field larger" in str(e) else f"not well-formed CSV: {e}")
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(str(source), start, None, None, why))
    except UnicodeDecodeError:  # text in two encodings: nothing after that line can be read reliably
        total += 1
        line, what = _first_undecodable(path, "utf-8") or (at[0] + 1, "undecodable bytes")
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(str(source), line, _field_in_file(path, line, "utf-8"), None,
                                    f"not UTF-8 text ({what})"))
    return problems, total


def cells_text(cells: list[str]) -> str:
    """A header row for a message: its non-empty cells, comma-separated."""
    return ", ".join(c.strip() for c in cells if c.strip())
