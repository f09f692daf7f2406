"""Load a canonical CSV (orders, refunds, transactions) into a typed, validated DuckDB table.

One pass of DuckDB's parallel CSV reader produces the typed columns and, per row, a one-byte flag
when any field failed; a flagged file is read again to name every problem (at most
``MAX_PROBLEMS``, with a total count), raised together as one ``LoadError``. Outer spaces
(ASCII, U+3000, U+00A0…) never count: text values are trimmed where they can need it, typed values
are trimmed only when they fail to parse as written. Nothing is written to the canonical tables
here: the caller (``workspace``) moves a clean staged table in, in one transaction.

Fatal (the file is rejected): unreadable file, wrong encoding, missing required column, ragged
rows, bad amount/time/date/enum/int, negative order amount, empty required value, duplicate
order_no/refund_no inside one file. Not fatal (become outcomes in the engine): duplicate channel
transactions, refunds of unknown orders, status contradictions. A file DuckDB's strict reader
refuses (ragged rows, a quote that never closes, bytes that are not UTF-8) is scanned again in Python
to name the lines (only then: a good file is read once).

Line numbers: ``src_line`` is the record number + 1 (the header is line 1); it equals the physical
line unless a quoted field spans lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..channels.profile_xlsx import EXCEL_ERROR_TEXT, EXCEL_ERRORS, sql_excel_rounded
from ..errors import LoadError, Problem
from ..money import sql_amount_to_fen, sql_yuan_to_fen
from .lines import LineMap
from .repeats import hashes_repeat
from .specs import KEYS, SPECS, WILDCARD_SCOPE, Field

MAX_PROBLEMS = 50
_FS, _RS = "\x1f", "\x1e"  # field/record separators inside the per-row problem string


class _Reread(Exception):
    """An unordered load found problems: they are reported from an ordered read (right line numbers)."""


@dataclass(frozen=True)
class Staged:
    """A validated file in a temp table: ``table`` has the canonical columns, ``extra`` (when kept) and
    the ``_pm_bad`` flag (NULL on every row of a table that passed); when ordered, ``lines`` gives each
    row's line from its ``rowid`` (``rowid + 2`` in a file of one line per record)."""

    kind: str
    table: str
    rows: int
    path: str
    lines: LineMap | None = None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


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
        for enc in ("utf-8", "gb18030"):
            try:
                codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            except UnicodeDecodeError:
                continue
            if whole:
                try:
                    sample.decode(enc)
                except UnicodeDecodeError:  # readable as ``enc`` up to its last bytes: named on that line
                    line, what = _undecodable(head, enc)
                    raise LoadError([Problem(str(path), line, None, None, f"not UTF-8 or GBK text ({what})")],
                                    hint="the file ends inside a character: export it again as UTF-8 CSV, "
                                         "or pass --encoding") from None
            return enc
    if sample is not head:  # neither, far into the file: the strict UTF-8 read names that line
        return "utf-8"
    line, what = _undecodable(head, "utf-8")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:200]
    raise LoadError([Problem(str(path), line, None, None, f"not UTF-8 or GBK text ({what})")],
                    hint=("the file looks like UTF-16: " if utf16 else "")
                    + "export the file as UTF-8 CSV, or pass --encoding") from None


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
        raise LoadError([Problem(str(path), line, None, None, f"not {encoding} text ({what})")],
                        hint=ENCODING_HINT) from None
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


def _parser(f: Field):
    """For a typed field: a function from a VARCHAR SQL expression to its strict parse (NULL when the
    text is not a valid value of the field's kind). None for text fields.

    Money is checked by its pattern before the cast, so its typed value is exact.
    """
    if f.kind == "text":
        return None
    if f.kind in ("money", "fee"):
        d = 5 if f.kind == "fee" else 2
        return lambda x: sql_yuan_to_fen(x, decimals=d)
    if f.kind == "time":
        # a value ending in a letter T (… CST) is left to the second try: DuckDB reads CST as US Central time
        return lambda x: f"try_cast(CASE WHEN ({x})[-1] <> 'T' THEN {x} END AS TIMESTAMPTZ)"
    if f.kind == "date":
        return lambda x: f"try_strptime({x}, ['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d'])::DATE"
    if f.kind == "int":
        return lambda x: f"CASE WHEN regexp_full_match({x}, '[0-9]{{1,6}}') THEN CAST({x} AS INTEGER) END"
    if f.kind == "enum":
        # stored as a one-byte ENUM (temp tables are not compressed; a VARCHAR costs 16 bytes a row),
        # which also checks the value: anything else casts to NULL
        vals = ", ".join(_lit(v) for v in f.values)
        return lambda x: f"TRY_CAST(lower({x}) AS ENUM({vals}))"
    raise ValueError(f"unknown field kind {f.kind}")


#: how ERP exports and spreadsheets write a day, besides ISO: 2026年11月20日, 2026.11.20, 2026/11/20 (one pattern)
_DAY_RX = r"^([0-9]{4})\s*[年./-]\s*([0-9]{1,2})\s*[月./-]\s*([0-9]{1,2})\s*日?"
#: a time on a 12-hour clock: the day, 上午/下午 before the hour or AM/PM (a.m., pm) after the time
_AMPM_RX = (r"^(.*?[0-9日])\s*(上午|下午)?\s*([0-9]{1,2})(:[0-9]{2}(?::[0-9]{2})?)\s*(?:([AaPp])\.?[Mm]\.?)?$")


def _lenient(f: Field):
    """The second try of a typed value that failed its strict parse (trimmed; only those rows reach it):
    times and days as ERP exports write them besides ISO-8601 (``2026年11月20日 09:05``, ``2026.11.20 09:05``,
    ``20261120090500``, ``2026-11-20 09:05:00 +08:00``, ``2026/11/20 下午 3:05:00``, ``2026/11/20 3:05 PM``, an Excel
    serial day ``46346.5``). Others: the strict parse again."""
    parse = _parser(f)
    if f.kind == "time":
        def again(x: str) -> str:
            # 上午/下午 before the hour, AM/PM after the time (a 12-hour clock): written again on 24 hours
            m = f"regexp_extract({x}, '{_AMPM_RX}', ['d', 'cn', 'h', 'r', 'en'])"
            h = f"TRY_CAST({m}.h AS INTEGER)"
            clock = (f"CASE WHEN ({m}.cn <> '') <> ({m}.en <> '') AND {h} BETWEEN 1 AND 12 "
                     f"THEN {m}.d || ' ' || lpad(({h} % 12 + CASE WHEN {m}.cn = '下午' OR upper({m}.en) = 'P' "
                     f"THEN 12 ELSE 0 END)::VARCHAR, 2, '0') || {m}.r ELSE {x} END")
            iso = (f"regexp_replace(regexp_replace(regexp_replace({clock}, '{_DAY_RX}', '\\1-\\2-\\3 '), "
                   "'^([0-9]{4})([0-9]{2})([0-9]{2})[ T]?([0-9]{2}):?([0-9]{2}):?([0-9]{2})$', "
                   "'\\1-\\2-\\3 \\4:\\5:\\6'), '\\s+([+-][0-9]{2}:?[0-9]{2})$', '\\1')")
            # an Excel serial day number (a workbook's date column that lost its format) of 2000-2099: 46346.5 = 2026-11-20 12:00
            serial = (f"CASE WHEN regexp_full_match({x}, '[0-9]{{5}}(\\.[0-9]+)?') AND TRY_CAST({x} AS DOUBLE) BETWEEN 36526 AND 73050 "
                      f"THEN CAST(TIMESTAMP '1899-12-30' + to_seconds(round(TRY_CAST({x} AS DOUBLE) * 86400)::BIGINT) AS TIMESTAMPTZ) END")
            # CST as Chinese servers print it (Java's Date.toString()): China Standard Time, +08:00
            cst = f"try_cast(regexp_replace({x}, '\\s*CST$', '+08:00') AS TIMESTAMPTZ)"
            return f"coalesce({parse(x)}, {cst}, try_cast(trim({iso}) AS TIMESTAMPTZ), {serial})"
        return again
    if f.kind == "money":  # 84.5000 (ERPs keep 4 decimals): exact when the digits past the fen are zeros
        return sql_amount_to_fen
    if f.kind == "date":
        return lambda x: (f"coalesce({parse(x)}, try_strptime(regexp_replace({x}, '{_DAY_RX}$', '\\1-\\2-\\3'), "
                          "'%Y-%m-%d')::DATE)")
    return parse


#: a time's UTC offset that no place on earth has (DuckDB would shift the time by it): east of +14:00 or west of -12:00,
#: minutes or seconds past 59 (``+25:00``, ``+08:60``, ``+14:30``, ``-1300``, ``+99``, ``+08:00:60``), with or without
#: colons, with seconds
_OFFSET_REST = r"(:?[0-9]{2})?(:?[0-9]{2})?"
_OFFSET_NONZERO = r"(:?(0[1-9]|[1-5][0-9])(:?[0-9]{2})?|:?00:?(0[1-9]|[1-5][0-9]))"
_BAD_OFFSET_RX = (r"[0-9]:[0-9]{2}(\.[0-9]+)?\s*("
                  rf"\+(1[5-9]|[2-9][0-9]){_OFFSET_REST}|\+14{_OFFSET_NONZERO}"
                  rf"|-(1[3-9]|[2-9][0-9]){_OFFSET_REST}|-12{_OFFSET_NONZERO}"
                  r"|[+-][0-9]{2}:?[6-9][0-9](:?[0-9]{2})?|[+-][0-9]{2}:?[0-9]{2}:?[6-9][0-9])\s*$")


def _bad_offset(col: str) -> str:
    """SQL: ``col`` (a time as written) ends in an impossible UTC offset. A CASE, so the common values cost a length
    test or one suffix comparison and only the rest the regular expression (measured on 10M values: ~0.05 s for
    ``…+08:00``, ~0.15 s for naive ``2026-11-20 10:00:00``; an AND of the same tests cost 0.3–0.4 s)."""
    return (f"CASE WHEN strlen({col}) < 12 THEN false "
            f"WHEN strlen({col}) <= 19 AND NOT contains({col}, '+') AND NOT contains(substr({col}, 11), '-') THEN false "
            f"WHEN {col} LIKE '%+08:00' THEN false ELSE regexp_matches({col}, '{_BAD_OFFSET_RX}') END")


def _excel_damage(f: Field, col: str) -> list[tuple[str, str]]:
    """SQL checks of a text column (trimmed ``col``) for what Excel leaves when a file is opened and saved again:
    an error value (#N/A: a lookup that found nothing) in any text column, an id turned into a rounded number
    (4.20000092520210E+27: the digits are gone, so every such row would share one order or transaction number).

    Each check first looks for what the damage needs, so a clean value costs one comparison (an error value
    starts with '#': values here are trimmed, so a comparison replaces ``sql_excel_error``'s search) or one byte
    search (``sql_excel_rounded``)."""
    checks = [("excel_error", f"({col} >= '#' AND {col} < '$' AND upper({col}) IN ({', '.join(map(_lit, EXCEL_ERRORS))}))")]
    if f.name in _IDS:
        checks.append(("excel_rounded", sql_excel_rounded(col)))
    return checks


_WHAT = {
    "excel_error": EXCEL_ERROR_TEXT,
    "excel_rounded": "an id Excel turned into a rounded number (the digits are lost): export the file again "
                     "without opening it in Excel, or format the column as text before saving",
    "money": "not a yuan amount with at most 2 decimals (e.g. 12.30; more only as zeros: 12.3000)",
    "fee": "not a yuan fee (at most 5 decimals, whole fen)",
    "time": "not a time (ISO-8601, e.g. 2026-11-20T10:00:00+08:00 or 2026-11-20 10:00:00; also 2026/11/20 10:00, "
            "2026年11月20日 10:00, 2026.11.20 10:00, 20261120100000, 2026/11/20 上午 10:00, 2026/11/20 10:00 AM)",
    "time_offset": "a UTC offset no place has (east of +14:00, west of -12:00, or minutes past 59); China is +08:00",
    "date": "not a date (YYYY-MM-DD; also YYYYMMDD, YYYY/MM/DD, YYYY.MM.DD, YYYY年MM月DD日)",
    "int": "not a non-negative integer",
    "negative_payment": "a payment below zero: a payment's amount is what the buyer paid (money going back is a row "
                        "of type refund)",
    "enum": "not one of the allowed values",
}


def stage_csv(con: duckdb.DuckDBPyConnection, kind: str, path: str | Path, *, encoding: str | None = None,
              key_scope: tuple[str, ...] = (), table: str | None = None, keep_extra: bool = True,
              ordered: bool = True, drop: tuple[str, ...] = (), lines: LineMap | None = None,
              line_shift: int = 0) -> Staged:
    """Read and validate one canonical CSV into a temp table; raise ``LoadError`` with every problem found.

    ``table``: the temp table's name (default ``_pm_stage_<kind>``); its ``rowid`` + 2 is the line.
    ``keep_extra``: keep the file's other columns as JSON in ``extra`` (a workspace stores them).
    ``ordered=False``: rows may land in any order (DuckDB loads faster); for a caller that needs neither
    line numbers nor file order afterwards. A file with problems is then read again in order, so the
    problems still name the right lines.
    ``drop``: target columns checked like every other but not kept (a run that does not read them).
    Enum columns are stored as DuckDB ENUMs (compare and cast like VARCHAR).
    ``lines``: which line of the user's file each record is on (default: read from ``path`` itself, or its
    transcoded copy, ``line_shift`` lines further down). Every problem names a line of the user's file.
    """
    spec = SPECS[kind]
    original = Path(path)
    if not original.is_file():
        raise LoadError([Problem(str(original), None, None, None, "file not found")])
    enc = (encoding or _sniff_encoding(original)).lower()
    readable, tmp = original, None
    if enc not in ("utf-8", "utf8", "utf-8-sig"):
        readable = tmp = _transcode(original, enc)
    table = table or f"_pm_stage_{kind}"
    lines = lines or LineMap(readable, shift=line_shift)
    utf8 = tmp is None  # the user's bytes are read as they are (a line-end copy is the same bytes)

    def load(text: Path) -> Staged:
        if not ordered:
            try:
                return _stage(con, kind, spec, original, text, key_scope, table, keep_extra, drop, lines, utf8,
                              ordered=False)
            except _Reread:
                pass  # rows came in any order: read the file again in order for the right line numbers
        return _stage(con, kind, spec, original, text, key_scope, table, keep_extra, drop, lines, utf8)

    lf = None
    try:
        try:
            return load(readable)
        except _MixedNewlines:  # the same lines with one kind of line end (line numbers unchanged)
            lf = lf_copy(readable)
            return load(lf)
    finally:
        for t in (tmp, lf):
            if t is not None:
                t.unlink(missing_ok=True)


#: id columns an export may guard against Excel as text: ="2026112000001" or '2026112000001 (the guard is dropped)
_IDS = frozenset({"order_no", "refund_no", "channel_tx_id", "channel_refund_id", "merchant_id", "store_id", "member_id"})


def _moved(e: LoadError, n: int) -> LoadError:
    """``e`` with its lines ``n`` further down (lines counted in a text that lacks the user's title lines)."""
    if not n:
        return e
    return LoadError([Problem(p.file, None if p.line is None else p.line + n, p.field, p.value, p.message)
                      for p in e.problems], total=e.total, hint=e.hint)


#: blanks around a value: ASCII whitespace, Unicode space separators (U+3000, U+00A0…), zero-width space, BOM
_BLANKS = r"[\s\pZ\x{200B}\x{FEFF}]+"


def strip_sql(col: str) -> str:
    """SQL: ``col`` without outer blanks of any kind and mix (A\\t\\u3000\\t → A); for the rare values that have any."""
    return f"regexp_replace({col}, '^{_BLANKS}|{_BLANKS}$', '', 'g')"


def _trimmed(col: str, guarded: bool = False) -> str:
    """``col`` without outer spaces and tabs, '' → NULL. DuckDB's trim strips Unicode space separators (U+3000,
    U+00A0…) and copies every value; nearly all values have none, so only values that start or end with
    an ASCII space or tab, are empty, or hold non-ASCII text (length ≠ bytes) go through it.

    ``guarded``: an id column, where the text guards exports put on long numbers are dropped too (a tab before
    or after: by the trim; ="…"; a leading apostrophe), else the order number would not match the channel's.

    Two comparisons, as cheap as the old test (measured on 3M rows; two suffix LIKEs cost 0.13 s more per 6
    columns): ``< '0'`` catches a leading space, tab, quote or apostrophe and the empty value, the last
    character ``<= ' '`` a trailing space or tab."""
    out = strip_sql(col)
    cond = f"{col} < '0' OR {col}[-1] <= ' '"
    if guarded:
        out = f"trim(ltrim(regexp_replace({out}, '^=\"(.*)\"$', '\\1'), ''''))"
        cond += f" OR ({col} >= '=' AND {col} < '>')"
    return f"CASE WHEN {cond} OR strlen({col}) <> length({col}) THEN NULLIF({out}, '') ELSE {col} END"


def _text_col(f: Field) -> str:
    """A text column as read: trimmed where it can need it (id guards dropped), lower-case when its field folds case."""
    t = _trimmed(_q(f.name), guarded=f.name in _IDS)
    return f"{f'lower({t})' if f.fold_case else t} AS {_q(f.name)}"


def _stage(con, kind, spec, original: Path, readable: Path, key_scope, table: str, keep_extra: bool,
           drop: tuple[str, ...], lines: LineMap, utf8: bool, ordered: bool = True) -> Staged:
    # ordered: rowid follows the file, so it gives line numbers (and file order among duplicate records)
    con.execute(f"SET preserve_insertion_order={'true' if ordered else 'false'}")
    try:
        header = _header(readable, original)
    except LoadError as e:
        raise _moved(e, lines.above) from None
    present = set(header)
    missing = [f.name for f in spec if f.required and f.name not in present]
    if missing:
        raise LoadError(
            [Problem(str(original), 1 + lines.above, m, None, "required column missing") for m in missing],
            hint=f"the header has: {', '.join(header)}; rename the columns, or "
                 + (f"map the export's columns under [inputs.{kind}] in the config file" if kind in ("orders", "refunds")
                    else "give a channel's bill as delivered (read by its profile; your own under [bills] profile_dirs)"),
        )
    known = {f.name for f in spec}
    extras = [h for h in header if h not in known and h]
    selects, first_cols, typed_cols, checks, conds = [], [], [], [], []
    for i, f in enumerate(spec):
        # Four layers: the innermost reads the file (text columns trimmed there, '' → NULL), the next parses
        # each typed value as written (``_pm_p<i>``), the next trims and parses again only the values that
        # failed (``_pm_t<i>``), the outer one checks and names them. Valid values have no outer spaces (every
        # kind's pattern is anchored), so the trim is paid for by the rare value that has them.
        col = _q(f.name)
        parse = _parser(f)
        if f.name not in present:  # an optional column the file lacks: typed NULLs, or the default
            typed_cols.append(f"{parse('NULL::VARCHAR') if parse else 'NULL::VARCHAR'} AS _pm_t{i}")
            if f.target not in drop:
                dflt = f"coalesce(_pm_t{i}, {f.default})" if f.default is not None else f"_pm_t{i}"
                selects.append(f"{dflt} AS {_q(f.target)}")
            continue
        if parse is None:
            typed_cols.append(f"{col} AS _pm_t{i}")
            empty = f"{col} IS NULL"
            for what, bad in _excel_damage(f, col):
                conds.append(bad)
                checks.append(f"CASE WHEN {bad} THEN {_lit(f.name + _FS + what + _FS)} || {col} END")
        else:
            first_cols.append(f"{parse(col)} AS _pm_p{i}")
            # CASE evaluates its branch only for the rows it selects (coalesce would parse every row twice)
            again = _lenient(f)(f"NULLIF({strip_sql(col)}, '')")
            typed_cols.append(f"CASE WHEN _pm_p{i} IS NULL AND {col} IS NOT NULL THEN {again} ELSE _pm_p{i} END AS _pm_t{i}")
            # missing: no text, or only spaces (checked lazily: only where the parse failed)
            empty = f"(CASE WHEN {col} IS NULL THEN true WHEN _pm_t{i} IS NOT NULL THEN false ELSE trim({col}) = '' END)"
            bad = f"(_pm_t{i} IS NULL AND NOT {empty})"
            conds.append(bad)
            checks.append(f"CASE WHEN {bad} THEN {_lit(f.name + _FS + f.kind + _FS)} || {col} END")
        if f.kind == "time":
            offset = _bad_offset(col)
            conds.append(offset)
            checks.append(f"CASE WHEN {offset} THEN {_lit(f.name + _FS + 'time_offset' + _FS)} || {col} END")
        out = f"_pm_t{i}"
        if f.default is not None:
            out = f"coalesce({out}, CASE WHEN {empty} THEN {f.default} END)"
        if kind == "transactions" and f.target == "amount_fen" and "type" in present:
            # refunds are positive inside paymatch whatever sign the channel's export uses; a payment below zero is
            # no payment (a reversal is listed as a refund): refused rather than matched as a shortfall of twice it
            t = next(j for j, g in enumerate(spec) if g.name == "type")
            out = f"CASE WHEN _pm_t{t} = 'refund' THEN abs({out}) ELSE {out} END"
            negative = f"(_pm_t{i} < 0 AND _pm_t{t} = 'payment')"
            conds.append(negative)
            checks.append(f"CASE WHEN {negative} THEN {_lit(f.name + _FS + 'negative_payment' + _FS)} || {col} END")
        if kind == "refunds" and f.target == "amount_fen":
            # a shop refund is money paid back whatever sign the export writes it with (ERP refund exports often
            # write -12.30): compared with the channel's refund, which is positive inside paymatch too
            out = f"abs({out})"
        if f.target not in drop:
            selects.append(f"{out} AS {_q(f.target)}")
        if f.below_zero and parse is not None:
            conds.append(f"_pm_t{i} < 0")
            checks.append(f"CASE WHEN _pm_t{i} < 0 THEN {_lit(f.name + _FS + 'below_zero' + _FS)} || {col} END")
        if f.nonempty:
            conds.append(empty)
            checks.append(f"CASE WHEN {empty} THEN {_lit(f.name + _FS + 'empty' + _FS)} END")
    extra_sql = (
        "to_json(struct_pack(" + ", ".join(f"{_q(e)} := {_q(e)}" for e in extras) + "))::VARCHAR"
        if extras else "NULL::VARCHAR"
    )
    any_bad = " OR ".join(f"({c})" for c in conds) or "false"
    # the problem text is built only for rows that have one (nearly none): the OR of the checks is cheap
    err_sql = f"CASE WHEN {any_bad} THEN concat_ws({_lit(_RS)}, {', '.join(checks)}) END" if checks else "NULL::VARCHAR"
    texts = {f.name: f for f in spec if f.kind == "text"}
    trimmed = ", ".join(_text_col(texts[h]) if h in texts else _q(h) for h in dict.fromkeys(header) if h)
    src = (f"(SELECT {', '.join(typed_cols)}, * FROM (SELECT {', '.join(first_cols) or 'NULL AS _pm_none'}, * FROM "
           f"(SELECT {trimmed} FROM read_csv({_lit(str(readable))}, "
           f"header=true, all_varchar=true, delim=',', quote='\"', escape='\"', strict_mode=true, null_padding=false))))")
    con.execute(f"DROP TABLE IF EXISTS {table}")
    # The table keeps a one-byte flag per row, not the problem text: temp tables are not compressed, so
    # even a mostly-NULL text column costs memory on every row. A flagged file is read again for the details.
    extra_col = f", {extra_sql} AS extra" if keep_extra else ""
    try:
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {', '.join(selects)}{extra_col}, "
                    f"CASE WHEN {any_bad} THEN true END AS _pm_bad FROM {src}")
    except duckdb.Error as e:
        if not readable.name.startswith("_pm_lf_") and mixed_newlines(readable):
            raise _MixedNewlines() from None
        # only a file DuckDB refuses is scanned again (in Python) to name the lines; a good file never is
        problems, total = _structure_problems(readable, original, len(header), utf8=utf8)
        problems = _moved(LoadError(problems), lines.above).problems
        if not total:
            problems, total = [Problem(str(original), None, None, None, _duck_msg(e))], 1
        hint = ("the file is not UTF-8 from this line on: export the whole file as UTF-8 CSV (or pass --encoding)"
                if problems[-1].message.startswith("not UTF-8") else
                "the file is not a well-formed CSV (check quoting, column count and encoding)")
        raise LoadError(problems, total=total, hint=hint + "; nothing from this file was stored") from None
    problems, total = [], 0
    flagged = con.execute(f"SELECT count(_pm_bad) FROM {table}").fetchall()[0][0]
    key = KEYS[kind] + tuple(key_scope) if kind in KEYS else ()
    # a refund without a merchant number is the shop's only refund of that number (``specs.WILDCARD_SCOPE``)
    wild = kind in WILDCARD_SCOPE and bool(key_scope)
    dups = _duplicate_keys(con, table, key, original, count_only=True, wild=wild)[1] if key else 0
    if not ordered and (flagged or dups):
        con.execute(f"DROP TABLE IF EXISTS {table}")
        raise _Reread()
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    if flagged:
        diag = f"{table}_problems"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {diag} AS SELECT {err_sql} AS _pm_err FROM {src}")
        try:
            problems, total = _collect_problems(con, diag, spec, original, lambda r: lines.line(r, rows))
        finally:
            con.execute(f"DROP TABLE IF EXISTS {diag}")
    if dups:
        dup_p, dup_n = _duplicate_keys(con, table, key, original, lambda r: lines.line(r, rows), wild=wild)
        problems += dup_p
        total += dup_n
    if total:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        raise LoadError(problems[:MAX_PROBLEMS], total=total,
                        hint=("the file was opened in Excel and saved again: export it again (or format the id "
                              "columns as text and fix the formulas before saving)" if any(
                                  p.message in (_WHAT["excel_error"], _WHAT["excel_rounded"]) for p in problems)
                              else "fix these rows in the export and load the file again")
                        + "; nothing from this file was stored")
    if keep_extra and not lines.exact(rows):
        lines.starts()  # the rows' lines are stored with them: read now, while a transcoded copy still exists
    return Staged(kind, table, rows, str(original), lines)


def _structure_problems(readable: Path, original: Path, width: int, utf8: bool) -> tuple[list[Problem], int]:
    """Why DuckDB's strict reader refused a file, by line: every record whose field count is not the
    header's ``width`` (up to ``MAX_PROBLEMS``, with the total), then the first line that is not UTF-8
    or not CSV (an unclosed quote…), after which nothing more can be read reliably. Blank lines are
    skipped, as DuckDB does. Lines are physical (a record's first line), header = 1.

    ``utf8``: ``readable`` is the user's own file (not a transcoded copy), so its bytes are checked."""
    problems: list[Problem] = []
    total = 0
    at = [0, 0, 0]  # physical lines handed to the csv reader so far, their bytes, the last one's line end
    stop: list[Problem] = []

    def lines():
        with readable.open("rb") as f:
            for n, raw in enumerate(f, 1):
                try:
                    text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is None or "\x00" in text:
                    line, what = _undecodable(raw, "utf-8", n)
                    what = f"not UTF-8 text ({what})" if utf8 else f"not text ({what})"
                    stop.append(Problem(str(original), line, None, None, what))
                    return
                at[0], at[1], at[2] = n, at[1] + len(raw), len(raw) - len(raw.rstrip(b"\r\n"))
                yield text

    csv.field_size_limit(_LINE_LIMIT)  # a longer value is one DuckDB refused: named here, not read on and on
    reader = csv.reader(lines(), strict=True)
    start, offset = 1, 0
    try:
        for row in reader:
            line, start = start, at[0] + 1
            size, offset = at[1] - offset - at[2], at[1]
            if size >= DUCKDB_LINE_BYTES:
                stop.append(Problem(str(original), line, None, None, LINE_TOO_LONG))
                break
            if line == 1 or not row:
                continue
            if len(row) != width:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(str(original), line, None, None,
                                            f"row has {len(row)} fields, the header has {width}"))
    except csv.Error as e:
        why = str(e)
        if "end of data" in why or "field larger" in why:
            why = ("a quoted field opened on this line does not close" if "end of data" in why else
                   LINE_TOO_LONG)
        else:
            why = f"not well-formed CSV: {why}"
        stop.append(Problem(str(original), start, None, None, why))
    if stop:
        total += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(stop[0])
    return problems, total


def _duck_msg(e: Exception) -> str:
    msg = str(e).strip()
    return msg.split("\n\n")[0][:500]


#: the whole digits of a plain number ('' when it is not one), and how many an amount / a fee may have
#: (``money.YUAN_RE_2`` / ``YUAN_RE_5``: what DECIMAL(18,2) / (18,5) hold)
_WHOLE = re.compile(r"[+-]?([0-9]*)(?:\.[0-9]*)?$")
_WHOLE_MAX = {"money": 14, "fee": 13}


def _too_large(value: str | None, digits: int) -> bool:
    m = _WHOLE.match((value or "").strip())
    return m is not None and len(m.group(1).lstrip("0")) > digits


def _collect_problems(con, table: str, spec, original: Path, line_of) -> tuple[list[Problem], int]:
    total = con.execute(f"SELECT count(*) FROM {table} WHERE _pm_err IS NOT NULL").fetchall()[0][0]
    if not total:
        return [], 0
    rows = con.execute(
        f"SELECT rowid, _pm_err FROM {table} WHERE _pm_err IS NOT NULL ORDER BY rowid LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    rows = [(line_of(r), e) for r, e in rows]
    by_name = {f.name: f for f in spec}
    out: list[Problem] = []
    n_fields = 0
    for line, err in rows:
        for item in err.split(_RS):
            name, what, value = item.split(_FS, 2)
            n_fields += 1
            if what == "empty":
                msg = "required value is empty"
            elif what == "below_zero":
                msg = by_name[name].below_zero
            elif what in ("money", "fee") and _too_large(value, _WHOLE_MAX[what]):
                msg = f"amount too large: at most {_WHOLE_MAX[what]} digits before the decimal point"
            else:
                msg = _WHAT[what]
                if what == "enum":
                    msg += f": {', '.join(by_name[name].values)}"
            out.append(Problem(str(original), int(line), name, value or None, msg))
    return out, max(total, len(out))


def _duplicate_keys(con, table: str, key: tuple[str, ...], original: Path, line_of=None,
                    count_only: bool = False, wild: bool = False) -> tuple[list[Problem], int]:
    """Rows repeating ``key``. ``wild``: the columns after the first are a scope (merchant_id) in which an empty
    value stands for any: rows of one number repeat unless each names another scope value."""
    cols = ", ".join(_q(k) for k in (key[:1] if wild else key))
    # only a file whose key hashes repeat is checked exactly (``repeats``: no repeated hash, no repeated key)
    if not hashes_repeat(con, [cols], table):
        return [], 0
    having = repeats_having([_q(k) for k in key[1:]] if wild else [])
    total = con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM {table} GROUP BY ALL HAVING {having})"
    ).fetchall()[0][0]
    if not total or count_only:
        return [], total
    if wild:
        return _wild_repeats(con, table, key, having, original, line_of)
    rows = con.execute(
        f"SELECT {cols}, list(rowid ORDER BY rowid)[1:{_ALSO_MAX + 1}], count(*) FROM {table} GROUP BY ALL "
        f"HAVING {having} ORDER BY min(rowid) LIMIT {MAX_PROBLEMS}"
    ).fetchall()
    out = []
    for *vals, rids, n in rows:
        lines = [line_of(r) for r in rids]
        out.append(Problem(str(original), int(lines[1]), key[0], "/".join(str(v) for v in vals),
                           f"duplicate {'/'.join(key)}: also on line(s) {_also([lines[0], *lines[2:]], n - 1)}"))
    return out, total


def repeats_having(wild_scope: list[str]) -> str:
    """SQL HAVING for a group of rows of one number that repeats it. ``wild_scope``: columns in which an empty value
    stands for any (``specs.WILDCARD_SCOPE``): the rows repeat unless each names another value."""
    return "count(*) > 1" + "".join(f" AND count(*) > count(DISTINCT {c})" for c in wild_scope)


#: how many other lines a duplicate's message lists (an export repeating one number on every row has thousands)
_ALSO_MAX = 10


def _also(lines: list[int], n: int) -> str:
    """'2, 5, 9' — the first ``_ALSO_MAX`` of ``n`` lines, and how many more there are."""
    shown = ", ".join(str(x) for x in lines[:_ALSO_MAX])
    return shown + (f" and {n - min(n, _ALSO_MAX):,} more" if n > _ALSO_MAX else "")


def _wild_repeats(con, table: str, key: tuple[str, ...], having: str, original: Path, line_of) -> tuple[list[Problem], int]:
    """``_duplicate_keys`` when an empty scope value (one column: merchant_id) stands for any: each row that repeats an
    earlier row of its number (the same scope value, or either without one) is named by its line, with the lines it
    repeats. Window functions find them (a self-join would be quadratic in a number repeated on every row); only the
    rows reported are joined back to the lines they repeat."""
    k0, m = _q(key[0]), _q(key[1])
    rows_sql = (f"SELECT rowid AS _pm_r, {k0}, {m} FROM {table} WHERE {k0} IN "
                f"(SELECT {k0} FROM {table} GROUP BY {k0} HAVING {having})")
    # (a running sum: a frame ending one row before the current one made DuckDB recount the frame for every row)
    is_open = f"CASE WHEN {m} IS NULL THEN 1 ELSE 0 END"
    marked = (f"SELECT *, sum({is_open}) OVER (PARTITION BY {k0} ORDER BY _pm_r ROWS UNBOUNDED PRECEDING) - {is_open} "
              f"AS _pm_open_before, row_number() OVER (PARTITION BY {k0} ORDER BY _pm_r) AS _pm_nth, "
              f"row_number() OVER (PARTITION BY {k0}, {m} ORDER BY _pm_r) AS _pm_nth_m FROM ({rows_sql})")
    found = (f"SELECT _pm_r, {k0}, {m} FROM ({marked}) WHERE _pm_open_before > 0 "
             f"OR ({m} IS NULL AND _pm_nth > 1) OR ({m} IS NOT NULL AND _pm_nth_m > 1)")
    total = con.execute(f"SELECT count(*) FROM ({found})").fetchall()[0][0]
    top = f"SELECT * FROM ({found}) ORDER BY _pm_r LIMIT {MAX_PROBLEMS}"
    clash = f"(a.{m} IS NULL OR b.{m} IS NULL OR a.{m} = b.{m})"
    out = []
    for r, *vals, before, n, open_ in con.execute(
            f"SELECT a._pm_r, a.{k0}, a.{m}, list(b._pm_r ORDER BY b._pm_r)[1:{_ALSO_MAX}], count(*), "
            f"bool_or(a.{m} IS NULL OR b.{m} IS NULL) FROM ({top}) a JOIN ({rows_sql}) b ON a.{k0} = b.{k0} "
            f"AND b._pm_r < a._pm_r AND {clash} GROUP BY ALL ORDER BY a._pm_r").fetchall():
        why = " (a number listed without a merchant number is the shop's only one of that number)" if open_ else ""
        out.append(Problem(str(original), int(line_of(r)), key[0], "/".join(str(v) for v in vals if v is not None),
                           f"duplicate {'/'.join(key)}: also on line(s) {_also([line_of(b) for b in before], n)}{why}"))
    return out, total
