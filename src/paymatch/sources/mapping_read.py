"""Reading a shop's export for the column mapping (``mapping``): what the file is, its first rows, and
a UTF-8 CSV DuckDB can stream.

A file is recognised by its content, never its name: an Office Open XML workbook (a zip holding
``xl/workbook.xml``) is read as .xlsx, an old binary .xls is refused, anything else is CSV text in
UTF-8 or GBK (as the canonical loader sniffs it). An .xlsx sheet is written out as a UTF-8 CSV from its
header row on, every row as wide as the header (cells as the profiles' xlsx reader writes them:
times ``YYYY-MM-DD HH:MM:SS``); openpyxl hands rows out one at a time, so memory stays flat.
"""

from __future__ import annotations

import csv
import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..channels.profile_xlsx import _text as cell_text  # one rule for "a cell as CSV text" (profiles' xlsx too)
from ..errors import LoadError, Problem
from .canonical import MAX_PROBLEMS, _first_undecodable, _sniff_encoding, _transcode

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
            members = [m for m in zf.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")
                       and not Path(m.filename).name.startswith(".")]
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
    with path.open("r", encoding=enc, errors="replace", newline="") as f:
        for line in f:
            out.append(line.rstrip("\r\n"))
            if len(out) >= lines:
                break
    return out


def cells(line: str, delimiter: str) -> list[str]:
    """One line split into CSV cells on its own (a title line that is not well-formed CSV is one cell)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return [line]


def copy_from_line(src: Path, dst: Path, first: int) -> None:
    """Copy a UTF-8 text file from its line ``first`` (1-based) on: title lines dropped, bytes unchanged."""
    with src.open("rb") as f, dst.open("wb") as out:
        for _ in range(first - 1):
            f.readline()
        while chunk := f.read(1 << 22):
            out.write(chunk)


class Sheet:
    """An .xlsx sheet opened for streaming: ``head`` holds its first rows as text, ``write_csv`` the rest."""

    def __init__(self, path: Path, sheet: str | None, head_rows: int, shown: Path | None = None):
        """Open the workbook read-only and read the first ``head_rows`` rows of ``sheet`` (default: the first);
        messages name ``shown`` (default ``path``)."""
        self.path = shown or path
        import openpyxl

        self._fh = path.open("rb")  # a file object: openpyxl refuses a path by its name (recognised by content here)
        try:
            self._wb = openpyxl.load_workbook(self._fh, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            self._fh.close()
            raise LoadError([Problem(str(self.path), None, None, None, f"not a readable .xlsx workbook: {exc}")]) from None
        if sheet is not None and sheet not in self._wb.sheetnames:
            self.close()
            raise LoadError([Problem(str(self.path), None, None, sheet, f"sheet not found; the workbook has {self._wb.sheetnames}")],
                            hint="fix sheet in the [inputs] section of the config file")
        ws = self._wb[sheet] if sheet is not None else self._wb.worksheets[0]
        self._rows: Iterator = ws.iter_rows(values_only=True)
        self.head: list[list[str]] = []
        for row in self._rows:
            self.head.append([cell_text(v) for v in row])
            if len(self.head) >= head_rows:
                break

    def write_csv(self, dst: Path, header_line: int, header: list[str]) -> None:
        """Write the header row (as ``header``) and every row below it, each cut or padded to the header's
        width, as UTF-8 CSV; empty rows are left out. Values beyond the header's columns refuse the file."""
        width = len(header)
        problems, total = [], 0
        with dst.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)

            def rows():
                yield from ((i, r) for i, r in enumerate(self.head[header_line:], header_line + 1))
                yield from ((i, [cell_text(v) for v in r]) for i, r in enumerate(self._rows, len(self.head) + 1))

            for line, row in rows():
                if not any(row):
                    continue
                if any(row[width:]):
                    total += 1
                    if len(problems) < MAX_PROBLEMS:
                        problems.append(Problem(str(self.path), line, None, ",".join(row)[:120],
                                                f"row has values beyond the header's {width} columns"))
                    continue
                w.writerow(row[:width] + [""] * (width - len(row)))
        if total:
            raise LoadError(problems, total=total, hint="give those columns a header name in the export, or delete the stray cells")

    def close(self) -> None:
        """Close the workbook (read-only workbooks keep the file open until closed)."""
        self._wb.close()
        self._fh.close()


def structure_problems(path: Path, source: Path, header_line: int, width: int, delimiter: str) -> tuple[list[Problem], int]:
    """Why a strict CSV read of ``path`` below ``header_line`` failed, by line of ``source``: records whose
    field count is not the header's ``width`` (up to ``MAX_PROBLEMS``, with the total), then a quote that
    never closes. Blank lines are skipped, as DuckDB does."""
    problems: list[Problem] = []
    total, at = 0, [0]

    def lines():
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            for n, text in enumerate(f, 1):
                at[0] = n
                if n > header_line:
                    yield text

    start = header_line + 1
    try:
        for row in csv.reader(lines(), delimiter=delimiter, strict=True):
            line, start = start, at[0] + 1
            if row and len(row) != width:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(str(source), line, None, None, f"row has {len(row)} fields, the header has {width}"))
    except csv.Error as e:
        total += 1
        why = "a quoted field opened on this line does not close" if "end of data" in str(e) else f"not well-formed CSV: {e}"
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(str(source), start, None, None, why))
    except UnicodeDecodeError:  # text in two encodings: nothing after that line can be read reliably
        total += 1
        line, what = _first_undecodable(path, "utf-8") or (at[0] + 1, "undecodable bytes")
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(str(source), line, None, None, f"not UTF-8 text ({what})"))
    return problems, total


def cells_text(cells: list[str]) -> str:
    """A header row for a message: its non-empty cells, comma-separated."""
    return ", ".join(c.strip() for c in cells if c.strip())
