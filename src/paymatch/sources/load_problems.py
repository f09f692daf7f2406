"""What is wrong with a canonical file that failed its load, named by line and field: values that failed their
parse or check (from the load query's per-row problem string), records DuckDB's strict reader refused (scanned
again in Python), and repeated keys (order_no, refund_no; under ``match.key_scope`` with the merchant number)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ..channels.profile_xlsx import EXCEL_ERROR_TEXT
from ..errors import Problem
from .repeats import hashes_repeat
from .textfile import _LINE_LIMIT, DUCKDB_LINE_BYTES, LINE_TOO_LONG, _field_in_file, _undecodable
from .value_sql import _q


MAX_PROBLEMS = 50
_FS, _RS = "\x1f", "\x1e"  # field/record separators inside the per-row problem string


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
    "time_range": "not a time of a payment: outside the years 2000–2099 (a year written with two digits, or a word "
                  "such as infinity or epoch); write it in full, e.g. 2026-11-20 10:00:00",
    "date_range": "not a day of a payment: outside the years 2000–2099 (a year written with two digits, or a word "
                  "such as infinity or epoch); write it in full, e.g. 2026-11-20",
    "int": "not a non-negative integer",
    "negative_payment": "a payment below zero: a payment's amount is what the buyer paid (money going back is a row "
                        "of type refund)",
    "enum": "not one of the allowed values",
}


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
                    stop.append(Problem(str(original), line, _field_in_file(readable, line, "utf-8"), None, what))
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
    named = f"{_q(key[0])} IS NOT NULL"  # (rows without a number are refused as empty, not as repeats of each other)
    total = con.execute(
        f"SELECT count(*) FROM (SELECT {cols} FROM {table} WHERE {named} GROUP BY ALL HAVING {having})"
    ).fetchall()[0][0]
    if not total or count_only:
        return [], total
    if wild:
        return _wild_repeats(con, table, key, having, original, line_of)
    rows = con.execute(
        f"SELECT {cols}, list(rowid ORDER BY rowid)[1:{_ALSO_MAX + 1}], count(*) FROM {table} WHERE {named} "
        f"GROUP BY ALL "
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
