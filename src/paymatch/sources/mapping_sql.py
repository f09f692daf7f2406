"""The SQL that translates a mapped export into canonical CSV (``mapping._translate``, one streaming ``COPY``): each
value mapped through the user's words and the built-in synonyms, amounts stripped of currency signs and thousands
separators (or read in whole fen), and, when a value cannot be read, every such value listed by line."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..channels.profile_xlsx import EXCEL_ERROR_HINT, EXCEL_ERROR_TEXT, EXCEL_ERRORS, sql_excel_error, sql_excel_rounded
from ..errors import LoadError, Problem
from ..money import sql_fen_to_yuan
from .lines import LineMap
from .load_problems import MAX_PROBLEMS
from .mapping_plan import _FS, _IDS, _MARK, _MONEY_RX, _RS, _fen, _Plan, _values
from .mapping_read import structure_problems, temp_csv
from .specs import SPECS, Field
from .textfile import lf_copy, mixed_newlines
from .value_sql import _lit, _q

if TYPE_CHECKING:
    from .mapping import MappedInput


#: an amount in whole fen (amount_unit = "fen"): 1230, -1230, 1230分 (a total line also 1,230)
_FEN_RX = r"[+-]?[0-9]{1,16}\s*分?"
_FEN_TOTAL_RX = r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\s*分?"


def _fen_trim(col: str) -> str:
    """SQL: ``col`` without outer spaces and tabs."""
    return f"trim({col}, ' ' || chr(9))"


def _bad(f: Field, col: str, key: str, known: dict[str, str], fen: bool = False) -> str:
    """SQL: the value of ``f`` (raw ``col``, trimmed lower-case ``key``) is one the mapping cannot read: an Excel
    error value (#N/A: a formula that failed) in any mapped column, or what ``_bad_value`` says."""
    codes = [e for e in EXCEL_ERRORS if e.lower() not in known]  # (unless the config maps one: then it is a word)
    errors = sql_excel_error(col, codes)
    other = _bad_value(f, col, key, known, fen)
    return f"({errors} OR {other})" if other else errors


def _bad_value(f: Field, col: str, key: str, known: dict[str, str], fen: bool) -> str | None:
    mapped = f" AND {key} NOT IN ({', '.join(_lit(k) for k in known)})" if known else ""
    if fen and f.kind == "money":
        return f"({_fen_trim(col)} <> '' AND NOT regexp_full_match({_fen_trim(col)}, {_lit(_FEN_RX)}){mapped})"
    if f.values:
        allowed = ", ".join(_lit(v) for v in f.values)
        return f"({key} <> '' AND {key} NOT IN ({allowed}){mapped})"
    if f.name == "channel":  # a Chinese word no bill names: wechat, alipay… are what channels' records say
        return f"(strlen({col}) <> length({col}){mapped})"
    if f.name in _IDS:
        return sql_excel_rounded(col)
    return None


def _why(kind: str, f: Field, value: str) -> str:
    if value.strip() in EXCEL_ERRORS:
        return EXCEL_ERROR_TEXT
    if f.kind == "money":
        return ('not a whole number of fen of at most 16 digits (amount_unit = "fen"; a yuan amount such as 12.30 '
                'needs amount_unit = "yuan")')
    if f.values:
        return f"not a known {f.name}: map it to one of {', '.join(f.values)} under [inputs.{kind}.values.{f.name}]"
    if f.name == "channel":
        return f"not a known payment method: map it under [inputs.{kind}.values.channel] (e.g. to wechat, alipay, cash)"
    return "an id Excel turned into a rounded number (digits are lost): export the column as text"


def _value(f: Field, col: str, key: str, known: dict[str, str], fen: bool = False) -> str:
    """SQL: the canonical text of ``f`` (mapped words, amounts without sign, separators and 元; amounts in fen
    as yuan)."""
    out = col
    if fen and f.kind == "money":  # whole fen (checked by ``_bad``) → yuan text, exactly
        n = f"CAST(rtrim({_fen_trim(col)}, '分 ') AS BIGINT)"
        out = (f"CASE WHEN regexp_full_match({_fen_trim(col)}, {_lit(_FEN_RX)}) THEN {sql_fen_to_yuan(n)} "
               f"ELSE {col} END")
    elif f.kind == "money":
        out = (f"CASE WHEN (strpos({col}, ',') > 0 OR strlen({col}) <> length({col})) AND "
               f"regexp_full_match(trim({col}), {_lit(_MONEY_RX)}) "
               f"THEN regexp_replace(trim({col}), '[,¥￥元\\s]', '', 'g') ELSE {col} END")
    if known:
        whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in known.items())
        out = f"CASE {key} {whens} ELSE {out} END"
    return out


def _translate(kind: str, mapping, plan: _Plan, raw: Path, skip: int, width: int, delim: str, keep_extra: bool,
               source: Path, out: MappedInput) -> tuple[Path, dict[str, str]]:
    """Write the canonical translation of ``raw`` (UTF-8 CSV; the header on line ``skip``) to a temp file."""
    selects, checks, keys, guards = [], [], {}, []
    fen = _fen(mapping)
    for f in SPECS[kind]:
        i = plan.found.get(f.name)
        if i is None:
            continue
        col, key = f"c{i}", f"_pm_k{i}"
        if f.name in plan.joined:
            # day + clock time: one time. The clock column decides the time of day: a day written with one (an
            # .xlsx date cell reads as its midnight, or holds a time its format hides; 2026-11-20 00:00:00.0 from
            # a database) is cut to its date first
            day, clock = f"NULLIF(trim({col}), '')", f"NULLIF(trim(c{plan.joined[f.name]}), '')"
            # (the same text in both, e.g. '-' and '-' for an unpaid order: that text, for [values] to map)
            col = (f"CASE WHEN {day} IS NULL OR {day} = {clock} THEN {clock} WHEN {clock} IS NULL THEN {day} "
                   f"ELSE regexp_replace({day}, "
                   f"'[ T][0-9]{{1,2}}:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]*)?)?$', '') || ' ' || {clock} END")
        known = _values(kind, mapping, f)
        bad = _bad(f, col, key, known, fen)
        if known or f.values:
            # (an empty cell reads as '': the config may map it, "" = "…", as a word)
            keys[key] = f"lower(trim(coalesce({col}, ''))) AS {key}"
        value = _value(f, col, key, known, fen)
        guards.append(bad)
        checks.append((f, f"CASE WHEN {bad} THEN {_lit(f.name + _FS)} || {col} END"))
        selects.append(f"{value} AS {_q(f.name)}")
    names = {f.name: plan.cells[i].strip() for f in SPECS[kind] if (i := plan.found.get(f.name)) is not None}
    for name, j in plan.joined.items():
        names[name] += "+" + plan.cells[j].strip()
    if keep_extra:
        taken = {f.name for f in SPECS[kind]}
        used = {*plan.found.values(), *plan.joined.values()}
        for j in range(width):
            name = plan.cells[j].strip() if j < len(plan.cells) else ""
            if j not in used and name and name not in taken:
                taken.add(name)
                selects.append(f"c{j} AS {_q(name)}")
    cols = ", ".join(f"'c{j}': 'VARCHAR'" for j in range(width))
    src = (f"(SELECT *{''.join(', ' + k for k in keys.values())} FROM read_csv({_lit(str(raw))}, header=false, "
           f"skip={skip}, columns={{{cols}}}, delim={_lit(delim)}, quote='\"', escape='\"', strict_mode=true, "
           f"null_padding=false, auto_detect=false))")
    dst = temp_csv("_pm_mapped_")
    out.temps.append(dst)
    spill = tempfile.mkdtemp(prefix="_pm_spill_")
    con = duckdb.connect()
    retry = None
    try:
        con.execute(f"SET temp_directory={_lit(spill)}")
        con.execute("SET memory_limit='1GB'")
        # one guard over the row stops the COPY at the first value the mapping cannot read (then all are listed);
        # the values pass through as they are (a CASE per column would copy every value: 20 % slower)
        stop = f"CASE WHEN {' OR '.join(guards)} THEN error({_lit(_MARK)}) END IS NULL" if guards else "true"
        con.execute(f"COPY (SELECT {', '.join(selects)} FROM {src} WHERE {stop}) TO {_lit(str(dst))} "
                    "(HEADER true, DELIMITER ',')")
    except duckdb.Error as e:
        if _MARK in str(e):
            raise _unmapped(con, kind, checks, src, out.lines or LineMap(None, header_line=plan.line), names,
                            source) from None
        if not raw.name.startswith("_pm_lf_") and mixed_newlines(raw):  # CRLF and LF: again from an LF copy
            retry = lf_copy(raw)
            out.temps.append(retry)
        else:
            problems, total = structure_problems(raw, source, skip, width, delim)
            if skip == 1 and plan.line > 1:  # ``raw`` starts at the export's header: its lines are further down
                problems = [Problem(q.file, None if q.line is None else q.line + plan.line - 1, q.field, q.value,
                                    q.message) for q in problems]
            if not total:
                problems, total = [Problem(str(source), None, None, None, str(e).split("\n\n")[0][:500])], 1
            hint = ("the file is not UTF-8 from that line on: export the whole file in one encoding (or pass --encoding)"
                    if problems[-1].message.startswith("not UTF-8") else
                    "the file is not a well-formed CSV (check quoting, column count and delimiter)")
            raise LoadError(problems, total=total, hint=hint + "; nothing from this file was stored") from None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    if retry is not None:
        return _translate(kind, mapping, plan, retry, skip, width, delim, keep_extra, source, out)
    return dst, names


def _unmapped(con, kind: str, checks: list[tuple[Field, str]], src: str, lines: LineMap, names: dict[str, str],
              source: Path) -> LoadError:
    """Every value the mapping cannot read (up to ``MAX_PROBLEMS``, with the total), read again in file order."""
    con.execute("SET preserve_insertion_order=true")
    con.execute(f"CREATE TEMP TABLE _pm_unmapped AS SELECT concat_ws({_lit(_RS)}, {', '.join(c for _, c in checks)}) "
                f"AS e FROM {src}")
    where = "FROM _pm_unmapped WHERE e <> ''"
    total = con.execute(f"SELECT sum(len(string_split(e, {_lit(_RS)}))) {where}").fetchall()[0][0]
    rows = con.execute(f"SELECT rowid, e {where} ORDER BY rowid LIMIT {MAX_PROBLEMS}").fetchall()
    records = con.execute("SELECT count(*) FROM _pm_unmapped").fetchall()[0][0]
    by_name = {f.name: f for f, _ in checks}
    problems: list[Problem] = []
    first = None
    for rowid, e in rows:
        for item in e.split(_RS):
            name, value = item.split(_FS, 1)
            first = first or (name, value)
            problems.append(Problem(str(source), lines.line(rowid, records), names[name], value,
                                    _why(kind, by_name[name], value)))
    name, value = first
    if value.strip() in EXCEL_ERRORS:
        hint = EXCEL_ERROR_HINT
    elif by_name[name].kind == "money":
        hint = ('the config says the export writes its amounts in fen (amount_unit = "fen"): fix these values, or '
                'set amount_unit = "yuan" if the column is in yuan')
    elif name in _IDS:
        hint = "export the id columns as text (in Excel: format them as Text before saving), then load the file again"
    else:
        hint = f'map these values in the config file (e.g. [inputs.{kind}.values.{name}] "{value.strip()}" = "…")'

    return LoadError(problems[:MAX_PROBLEMS], total=max(total, len(problems)),
                     hint=hint + "; nothing from this file was stored")
