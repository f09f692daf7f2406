"""Excel (.xlsx) exports for profiles and ERP mappings.

Sheets are read with calamine (Rust, through python-calamine: about 9x faster than openpyxl's
read-only mode, 200,000 rows in 2.2 s instead of 19.4 s); openpyxl still reads the first rows of a
workbook for content sniffing, where calamine would load the whole sheet. Cells are turned into
the same strings a CSV export would hold (times as 'YYYY-MM-DD HH:MM:SS', whole numbers without
'.0'), so the rest of the pipeline (``profile_sql``) is shared with CSV. The physical "line" of a
row is its Excel row number, which is what a person opening the file sees.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
import zipfile
import zlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from paymatch.channels.profile_read import MAX_PROBLEMS, RawTable, clean_names, header_index
from paymatch.channels.profiles import Profile
from paymatch.errors import LoadError, Problem

XLSX_TIME = "%Y-%m-%d %H:%M:%S"
#: what Excel shows in a cell whose formula failed (a VLOOKUP that found nothing: #N/A). calamine reads such a
#: cell as empty; ``open_sheet`` gives its text instead, so it is refused where a value is read, not taken as blank
EXCEL_ERRORS = ("#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!",
                "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
def sql_excel_error(col: str, codes: tuple[str, ...] | list[str] = EXCEL_ERRORS) -> str:
    """SQL: ``col`` holds an Excel error value (one of ``codes``); only values with a '#' are compared."""
    if not codes:
        return "false"
    return f"(strpos({col}, '#') > 0 AND trim({col}) IN ({', '.join(chr(39) + e + chr(39) for e in codes)}))"


#: why an id in scientific notation refuses a file: a 28-digit transaction id or an 18-digit order number that Excel
#: read as a number when someone opened the file and saved it again (4.20000092520210E+27: the digits are gone)
EXCEL_ROUNDED_TEXT = "number in scientific notation: the file was re-saved by Excel and the digits are lost"


def sql_excel_rounded(col: str) -> str:
    """SQL: ``col`` is a number in scientific notation (``EXCEL_ROUNDED_TEXT``); only values with a '+' are matched
    (one byte search, the cheapest prefilter measured: ~0.13 s per column per 10M values)."""
    return f"(contains({col}, '+') AND regexp_full_match(trim({col}), '[0-9](\\.[0-9]+)?[eE]\\+[0-9]+'))"


#: why an Excel error value where a value is read refuses a file
EXCEL_ERROR_TEXT = "an Excel error value (a formula that failed, e.g. a VLOOKUP that found nothing), not data"
EXCEL_ERROR_HINT = "fix the formulas in Excel (or copy the columns and paste them as values) and save again"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def is_xlsx(data: bytes) -> bool:
    """True when ``data`` is an Office Open XML workbook (a zip holding ``xl/workbook.xml``)."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except zipfile.BadZipFile:
        return False


def _openpyxl():
    try:
        import openpyxl
    except ImportError as exc:  # a dev-only dependency today; say what to install
        raise LoadError([Problem("(xlsx)", None, None, None, "reading .xlsx exports needs openpyxl")],
                        hint="pip install openpyxl==3.1.5") from exc
    return openpyxl


def _text(value: object) -> str:
    if value.__class__ is str:  # most cells (calamine gives '' for an empty one)
        return value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime(XLSX_TIME)
    if isinstance(value, dt.date):  # a date-only cell: midnight, as openpyxl gave it
        return value.strftime(XLSX_TIME)
    if isinstance(value, float):
        # a whole number is stored as a float by calamine; Excel wrote it without a fraction (100, not 100.0)
        if value.is_integer() and abs(value) <= 2 ** 53:  # every whole number a double holds exactly
            return str(int(value))
        # repr is the shortest text that round-trips, i.e. what Excel stored ("12.3", not 12.2999..)
        return str(Decimal(repr(value))) if "e" in repr(value) else repr(value)
    return str(value)


def open_sheet(src: bytes | Path, sheet: str | None, source: str, hint: str | None = None,
               merged: list | None = None) -> tuple[object, Iterator[list]]:
    """(the workbook, to ``close()``; every row of ``sheet`` (default: the first) from row 1 and column A, as
    Python values) of an .xlsx given as bytes or a path. A damaged workbook or a missing sheet: ``LoadError``
    naming ``source`` (``hint`` for the latter). ``merged``, when given, receives the sheet's merged cell ranges
    (``((first row, first column), (last row, last column))``, 0-based from row 1 and column A)."""
    import python_calamine as pc

    try:
        if isinstance(src, Path) and src.suffix.lower() == ".xlsx":
            wb = pc.CalamineWorkbook.from_path(str(src))
        else:  # calamine opens a path by its name's suffix: an .xlsx a backend names .xls is read by its content
            with (src.open("rb") if isinstance(src, Path) else io.BytesIO(src)) as f:
                wb = pc.CalamineWorkbook.from_filelike(f)
    except Exception as exc:  # calamine raises its own error types for a damaged workbook
        raise LoadError([Problem(source, None, None, None, f"not a readable .xlsx workbook: {exc}")]) from None
    if sheet is not None and sheet not in wb.sheet_names:
        wb.close()
        raise LoadError([Problem(source, None, None, sheet, f"sheet not found; the workbook has {wb.sheet_names}")],
                        hint=hint)
    try:
        ws = wb.get_sheet_by_name(sheet) if sheet is not None else wb.get_sheet_by_index(0)
    except Exception as exc:
        wb.close()
        raise LoadError([Problem(source, None, None, sheet, f"not a readable .xlsx sheet: {exc}")]) from None
    if merged is not None:
        merged.extend(getattr(ws, "merged_cell_ranges", None) or ())
    # rows come from row 1; columns from the first used one: left-pad to column A
    pad = [""] * (ws.start[1] if ws.start else 0)
    rows = (pad + row for row in ws.iter_rows()) if pad else iter(ws.iter_rows())
    errors = _error_cells(src, sheet)
    return wb, (_with_errors(rows, errors) if errors else rows)


def _with_errors(rows: Iterator[list], errors: dict[int, dict[int, str]]) -> Iterator[list]:
    """``rows`` with each error cell's text (#N/A…) where calamine gave an empty value. A row that holds nothing
    else stays empty (a lookup column filled down below the data is no record)."""
    for i, row in enumerate(rows):
        bad = errors.get(i)
        if bad and any(v not in ("", None) for v in row):
            row = list(row) + [""] * (max(bad) + 1 - len(row))
            for j, text in bad.items():
                if row[j] in ("", None):
                    row[j] = text
        yield row


def _sheet_part(zf: zipfile.ZipFile, sheet: str | None) -> str | None:
    """The zip member holding ``sheet`` (default: the first), from the workbook's sheet list and relationships."""
    try:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return None
    sheets = book.findall(f"{_MAIN}sheets/{_MAIN}sheet")
    chosen = next((e for e in sheets if sheet is None or e.get("name") == sheet), None)
    if chosen is None:
        return None
    target = next((r.get("Target") for r in rels if r.get("Id") == chosen.get(_REL)), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else "xl/" + target.removeprefix("./")


def _column(ref: str) -> int:
    """0-based column of a cell reference (``AB12`` → 27)."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


#: an error cell's type attribute (as Excel, WPS and openpyxl write it), a cell's start tag, reference and value
_ERROR_ATTRS = (b't="e"', b"t='e'")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]+)([0-9]+)[\"']")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v\b[^>]*>([^<]*)</(?:[\w.-]+:)?v>")
_CELL_END = re.compile(rb"</(?:[\w.-]+:)?c>")
_CHUNK = 1 << 22


def _error_cells(src: bytes | Path, sheet: str | None) -> dict[int, dict[int, str]]:
    """Row → {column → text} (0-based, from A1) of the sheet's error cells (``t="e"``), read from the sheet's
    XML in one streamed pass that looks for the attribute with a byte search and reads only the cells that
    have it (0.6 s per 200,000 rows × 12 columns; a regular expression over every tag took 3.5 s, a full XML
    parse 20 s). Cells without a reference (writers other than Excel may leave it out) are placed by a full
    parse; an XML that parse cannot read gives none (calamine read it)."""
    try:
        zf = zipfile.ZipFile(src if isinstance(src, Path) else io.BytesIO(src))
    except (zipfile.BadZipFile, OSError):
        return {}
    out: dict[int, dict[int, str]] = {}
    with zf:
        part = _sheet_part(zf, sheet)
        if part is None or part not in zf.namelist():
            return {}
        try:
            with zf.open(part) as f:
                buf = b""
                while chunk := f.read(_CHUNK):
                    buf += chunk
                    keep = None  # where an error cell cut by the chunk's end starts
                    done = 0
                    for pos in sorted(i for a in _ERROR_ATTRS for i in _finds(buf, a)):
                        if pos < done:
                            continue
                        start, close = buf.rfind(b"<", 0, pos), buf.find(b">", pos)
                        if close < 0:
                            keep = start
                            break
                        tag = buf[start:close + 1]
                        if not _CELL.match(tag):
                            continue
                        ref = _REF.search(tag)
                        if ref is None:
                            return _error_cells_parsed(zf, part)
                        if tag.endswith(b"/>"):
                            text, done = b"", close + 1
                        else:
                            end = _CELL_END.search(buf, close + 1)
                            if end is None:
                                keep = start
                                break
                            v = _VALUE.search(buf, close + 1, end.start())
                            text, done = (v.group(1) if v else b""), end.end()
                        value = text.decode("utf-8", "replace").strip() or "#N/A"
                        out.setdefault(int(ref.group(2)) - 1, {})[_column(ref.group(1).decode())] = value
                    if keep is None:  # the last tag may be cut too (an attribute split between chunks)
                        keep = buf.rfind(b"<", max(done, len(buf) - 4096))
                    buf = buf[keep:] if keep >= 0 else b""
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
            return {}
    return out


def _finds(data: bytes, needle: bytes) -> Iterator[int]:
    i = data.find(needle)
    while i >= 0:
        yield i
        i = data.find(needle, i + 1)


def _error_cells_parsed(zf: zipfile.ZipFile, part: str) -> dict[int, dict[int, str]]:
    """``_error_cells`` by a full parse of the sheet (cells placed by their position where they lack ``r``)."""
    out: dict[int, dict[int, str]] = {}
    row, col = -1, -1
    try:
        with zf.open(part) as f:
            for event, el in ET.iterparse(f, events=("start", "end")):
                if event == "start":
                    if el.tag == f"{_MAIN}row":
                        row, col = (int(el.get("r")) - 1 if el.get("r") else row + 1), -1
                    elif el.tag == f"{_MAIN}c":
                        col = _column(el.get("r")) if el.get("r") else col + 1
                elif el.tag == f"{_MAIN}c":
                    if el.get("t") == "e":
                        v = el.find(f"{_MAIN}v")
                        out.setdefault(row, {})[col] = ((v.text if v is not None else "") or "").strip() or "#N/A"
                    el.clear()
                elif el.tag == f"{_MAIN}row":
                    el.clear()
    except Exception:  # expat refuses what calamine read (a control character, an encoding it lacks…)
        return {}
    return out


def sheet_rows(data: bytes, sheet: str | None, source: str, limit: int | None = None) -> list[list[str]]:
    """A sheet's rows as text (the first sheet when ``sheet`` is None; the first ``limit`` rows when given)."""
    if limit is None:
        wb, rows = open_sheet(data, sheet, source)
        try:
            return [[_text(v) for v in row] for row in rows]
        finally:
            wb.close()
    openpyxl = _openpyxl()
    try:
        with warnings.catch_warnings():  # "no default style" and the like: nothing a user of the bill can act on
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise LoadError([Problem(source, None, None, None, f"not a readable .xlsx workbook: {exc}")]) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise LoadError([Problem(source, None, None, sheet, f"sheet not found; sheets: {wb.sheetnames}")])
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        # read-only mode trusts the sheet's stored <dimension>; writers that store a wrong one (ref="A1" in a
        # bank's download) would show only column A: the rows' own cells decide instead
        ws.reset_dimensions()
        out = []
        for row in ws.iter_rows(values_only=True, max_row=limit):
            out.append([_text(v) for v in row])
        return out
    finally:
        wb.close()


def xlsx_head(data: bytes, lines: int = 40) -> str:
    """The first rows of the first sheet as comma-joined text, for content sniffing.

    A damaged workbook gives '' (nothing recognises it); a missing openpyxl raises LoadError.
    """
    _openpyxl()
    try:
        rows = sheet_rows(data, None, "(sniff)", limit=lines)
    except LoadError:
        return ""
    return "\n".join(",".join(r).rstrip(",") for r in rows)


def read_xlsx(profile: Profile, data: bytes, source: str) -> RawTable:
    """Read a profile's xlsx export into a ``RawTable`` (same shape as the CSV path)."""
    f = profile.file
    rows = sheet_rows(data, f.sheet, source)
    joined = [",".join(r).rstrip(",") for r in rows]
    h = header_index(profile, joined[:200], source)
    header = clean_names(rows[h])
    while header and header[-1] == "":  # Excel's used range often runs past the last named column
        header.pop()
    trailer = re.compile(f.trailer_regex) if f.trailer_regex else None
    side: list[tuple[int, str]] = [(i + 1, joined[i]) for i in range(h)]
    kept: list[int] = []
    in_trailer = False
    for i in range(h + 1, len(rows)):
        text = joined[i]
        is_comment = bool(f.comment_prefix and text.startswith(f.comment_prefix))
        in_trailer = in_trailer or bool(trailer and not is_comment and trailer.search(text))
        if is_comment or in_trailer:
            side.append((i + 1, text))
        elif text.strip(" \t,`"):
            kept.append(i)
    if f.trailer_lines:
        for i in kept[-f.trailer_lines:]:
            side.append((i + 1, joined[i]))
        kept = kept[: max(0, len(kept) - f.trailer_lines)]
    problems: list[Problem] = []
    cols: list[list[str]] = [[] for _ in header]
    lines: list[int] = []
    for i in kept:
        row = rows[i]
        if any(row[len(header):]):
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(source, i + 1, None, joined[i][:120],
                                        f"row has values beyond the header's {len(header)} columns"))
            continue
        lines.append(i + 1)
        for j in range(len(header)):
            cols[j].append(row[j] if j < len(row) else "")
    arrays = [pa.array(lines, pa.int64())] + [pa.array(c, pa.string()) for c in cols]
    names = ["_pm_line"] + [f"c{i}" for i in range(len(header))]
    return RawTable(header, h + 1, pa.Table.from_arrays(arrays, names=names), side, problems)
