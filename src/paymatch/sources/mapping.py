"""Column mapping: a shop's own ERP/mall export of orders or refunds (CSV in UTF-8 or GBK, or .xlsx), read
through ``[inputs.orders]`` / ``[inputs.refunds]`` of the config as canonical CSV.

``mapped_input`` turns the user's file into what the canonical loader (``canonical.stage_csv`` via
``Workspace.ingest_csv`` / ``stage_file``) reads: the file itself when it is canonical CSV already (its
first line has the canonical columns, mapping or not), otherwise a canonical UTF-8 CSV translation in a
temp file, written by one streaming DuckDB ``COPY`` (constant memory, any size) and removed afterwards.
Rows keep their order and one record per record, so the translation's line n is the user's line
``n + line_offset`` (title lines above the header); the loader stores that line and the user's file
name as provenance. Problems the loader finds in a translation are rewritten to name the user's file,
its line and the export's column name.

What the translation does, and only in a mapped file: renames columns; maps values through the user's
``values`` and then the built-in Chinese words (``SYNONYMS``); strips a currency sign (¥ ￥), a trailing
元 and well-formed thousands separators off amounts (text edits only: the loader then parses the amount
exactly, as integer fen); keeps the export's other columns (the workspace stores them in ``extra``).
Times pass through (the loader reads ``2026/11/20 10:00``, ``2026年11月20日 10:00``… as Asia/Shanghai).
A status no word maps, a payment method in Chinese no word maps, and an id Excel turned into a number
(``2.02611E+17``) stop the ``COPY`` at the first one; the file is then read once more to list them all.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..channels.profile_xlsx import EXCEL_ERROR_HINT, EXCEL_ERROR_TEXT, EXCEL_ERRORS, sql_excel_error, sql_excel_rounded
from ..channels.profiles import header_key
from ..config import SplitTime
from ..errors import LoadError, Problem
from ..money import format_diff, format_yuan, parse_yuan, sql_amount_to_fen, sql_fen_to_yuan
from .load_problems import MAX_PROBLEMS
from .textfile import _sniff_encoding, lf_copy, mixed_newlines
from .value_sql import _lit, _q
from .mapping_read import (HEAD_LINES, Sheet, cells, cells_text, copy_from_line, csv_head, file_form, structure_problems,
                           footer_lines, temp_csv, unpacked, utf8_text)
from .items import collapse
from .lines import LineMap
from .specs import SPECS, Field

#: export words → canonical values; they apply in a mapped file, and the config's ``values`` win over them
SYNONYMS: dict[str, dict[str, dict[str, str]]] = {
    "orders": {
        "status": {"已支付": "paid", "支付成功": "paid", "已付款": "paid", "待支付": "unpaid", "未支付": "unpaid",
                   "待付款": "unpaid", "未付款": "unpaid", "已关闭": "closed", "已取消": "closed", "交易关闭": "closed",
                   "已退款": "refunded", "部分退款": "partially_refunded"},
        "channel": {"微信": "wechat", "微信支付": "wechat", "支付宝": "alipay", "支付宝支付": "alipay", "花呗": "huabei",
                    "蚂蚁花呗": "huabei", "银联": "unionpay", "银联支付": "unionpay", "云闪付": "unionpay",
                    "余额": "balance", "余额支付": "balance", "储值": "balance", "储值卡": "balance", "积分": "points",
                    "积分支付": "points", "京东白条": "baitiao", "白条": "baitiao"},
    },
    "refunds": {"status": {"退款成功": "success", "已退款": "success", "退款中": "processing", "处理中": "processing",
                           "退款失败": "failed"}},
}
#: id columns an Excel re-save can turn into a rounded number
_IDS = ("order_no", "refund_no", "merchant_id")
_MARK = "_pm_unmapped_value"
_FS, _RS = "\x1f", "\x1e"
#: a yuan amount with a currency sign, a trailing 元 and/or thousands separators that are well formed
_MONEY_RX = r"(?:[+-]?[¥￥]?|[¥￥][+-])\s*(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2}0{0,3})?\s*元?"


@dataclass
class MappedInput:
    """What to hand the canonical loader for one user file.

    path: the file to load: the user's own, or a canonical translation in a temp file.
    source: the user's file when ``path`` is a translation (None: ``path`` is the user's file).
    line_offset: lines of ``source`` above the translation's header (``source`` line = translation line + this).
    encoding: what to load ``path`` with (None: detect).
    columns: canonical column → the export's column name, for messages.
    variant: what besides the user's file decided the translation (the mapping, as JSON; None: nothing), so a
             workspace loads an export again once its mapping changed.
    """

    path: Path
    source: Path | None = None
    line_offset: int = 0
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    temps: list[Path] = field(default_factory=list)
    variant: str | None = None
    notes: list[str] = field(default_factory=list)
    lines: LineMap | None = None
    #: the export writes amounts in fen: messages quote them so (the translation holds yuan)
    fen: bool = False
    #: item rows: per column, the orders whose value came from a row below their first (``items.Moved``)
    moved: dict = field(default_factory=dict)

    def rewrite(self, e: LoadError) -> LoadError:
        """``e`` (raised loading ``path``) with the user's file, line and column names instead of the translation's."""
        if self.source is None:
            return e
        names = self.columns
        # with ``lines`` the loader names the user's lines already; else they are counted in ``path``
        rec = 0 if self.lines is not None else self.line_offset

        def fix(p: Problem) -> Problem:
            if p.file != str(self.path):
                return p
            msg = re.sub(r"^duplicate ([\w/]+): also on line\(s\) (\d+(?:, \d+)*)", lambda m: (
                f"duplicate {'/'.join(names.get(k, k) for k in m[1].split('/'))}: also on line(s) "
                + ", ".join(str(int(n) + rec) for n in m[2].split(", "))), p.message)
            value = _fen_text(p.value) if self.fen and p.field == "amount" else p.value
            below = self.moved[p.field].line(p.line) if p.line is not None and p.field in self.moved else None
            line = below or (None if p.line is None else p.line + rec)
            return Problem(str(self.source), line, names.get(p.field, p.field), value, msg)

        return LoadError([fix(p) for p in e.problems], total=e.total, hint=e.hint)

    def cleanup(self) -> None:
        """Remove the temp files (the translation and any intermediate copy)."""
        for t in self.temps:
            t.unlink(missing_ok=True)


@contextmanager
def mapped_input(kind: str, path: str | Path, config, *, encoding: str | None = None,
                 keep_extra: bool = True) -> Iterator[MappedInput]:
    """The file to load for the user's ``path`` of ``kind`` under ``config`` (see ``prepare``); a ``LoadError``
    raised inside the block is rewritten to name the user's file and lines; temp files are always removed.

    Use: ``with mapped_input("orders", p, cfg) as m: ws.ingest_csv("orders", m.path, encoding=m.encoding,
    source=m.source, line_offset=m.line_offset)``.
    """
    m = prepare(kind, path, config, encoding=encoding, keep_extra=keep_extra)
    try:
        yield m
    except LoadError as e:
        raise m.rewrite(e) from None
    finally:
        m.cleanup()


def prepare(kind: str, path: str | Path, config, *, encoding: str | None = None, keep_extra: bool = True) -> MappedInput:
    """Make ``path`` loadable as canonical ``kind`` CSV. Canonical CSV, a kind without mappings
    (transactions) and a missing file come back unchanged (the loader judges them); an .xlsx is read as
    canonical when it has the canonical header and through the mapping otherwise; a CSV whose first line
    is not canonical is translated through ``config.inputs.<kind>`` when configured.

    ``keep_extra``: carry the export's other columns into the translation (a workspace stores them).
    Raises ``LoadError`` naming the user's file for what the mapping cannot read.
    """
    path = Path(path)
    if not path.is_file():
        return MappedInput(path, encoding=encoding)
    inner = unpacked(path)  # a .gz or a one-file .zip: its file, named as the user's in messages and provenance
    if inner is not None:
        try:
            m = _prepare(kind, inner, config, encoding, keep_extra, shown=path)
        except LoadError as e:
            inner.unlink(missing_ok=True)
            raise MappedInput(inner, source=path).rewrite(e) from None
        except BaseException:
            inner.unlink(missing_ok=True)
            raise
        if m.source is None:  # the unpacked file as it is
            return MappedInput(inner, source=path, encoding=encoding, temps=[inner])
        m.temps.append(inner)
        return m
    return _prepare(kind, path, config, encoding, keep_extra, shown=path)


def _prepare(kind: str, path: Path, config, encoding: str | None, keep_extra: bool, shown: Path) -> MappedInput:
    """``prepare`` of an uncompressed ``path``; ``shown`` is the file messages and provenance name."""
    mapping = getattr(config.inputs, kind, None) if kind in SYNONYMS and config is not None else None
    if kind not in SYNONYMS:
        return MappedInput(path, encoding=encoding)
    form = file_form(path)
    if form == "csv" and mapping is None and not _ends_with_footer(kind, path):
        return MappedInput(path, encoding=encoding)
    if form == "xls":
        raise LoadError([Problem(str(shown), None, None, None, "an Excel 97-2003 (.xls) workbook, not CSV or .xlsx")],
                        hint="open it in Excel or WPS and save it as .xlsx (or as CSV UTF-8), then load that")
    delim = mapping.delimiter if mapping is not None else ","
    lines = max(HEAD_LINES, (mapping.header_line or 0) if mapping is not None else 0)
    out = MappedInput(path, source=shown, encoding="utf-8",
                      variant=mapping.model_dump_json() if mapping is not None else None, fen=_fen(mapping))
    try:
        if form == "xlsx":
            sheet = Sheet(path, mapping.sheet if mapping is not None else None, lines, shown=shown)
            try:
                plan = _resolve(kind, mapping, sheet.head, sheet.head, shown)
                raw = temp_csv("_pm_xlsx_")
                out.temps.append(raw)
                header = list(plan.cells)
                while header and not header[-1].strip():  # Excel's used range often runs past the last column
                    header.pop()
                # a canonical sheet is loaded as written: its columns' Excel errors are refused here (a mapped one's
                # by the translation)
                read = tuple(i for i, c in enumerate(header) if c.strip() in {f.name for f in SPECS[kind]}) \
                    if plan.canonical else ()
                footer, written = sheet.write_csv(raw, plan.line, [c.strip() for c in header],
                                                  key=_index(plan, _KEY[kind]), record=_record(kind, plan), read=read)
            finally:
                sheet.close()
            out.line_offset = plan.line - 1
            # empty rows are not written: each record's own sheet row, unless none was left out
            exact = all(n == plan.line + 1 + i for i, n in enumerate(written))
            out.lines = LineMap(None, header_line=plan.line) if exact else LineMap(starts=written, header_line=plan.line)
            if plan.canonical:
                out.path = raw
            else:
                out.path, out.columns = _translate(kind, mapping, plan, raw, 1, len(header), ",", keep_extra, shown, out)
            _items(kind, mapping, out, shown, config)
            # (a sheet's cells are never split: its rows may be wider than the header, with empty cells)
            _footer_note(out, footer, _index(plan, "amount"), max([len(header)] + [len(r) for r in footer]), shown)
            return out
        enc = (encoding or _sniff_encoding(path)).lower()
        head = csv_head(path, enc, lines)
        plan = _resolve(kind, mapping, [cells(x, delim) for x in head], [cells(x, ",") for x in head], shown)
        # (without a mapping a CSV gets here only when it ends with a footer: asked above already)
        if (plan.canonical and plan.line == 1 and mapping is not None and mapping.item_rows is None
                and not _ends_with_footer(kind, path)):
            return MappedInput(path, encoding=encoding)
        raw, copied = utf8_text(path, enc)
        if copied:
            out.temps.append(raw)
        out.line_offset = plan.line - 1
        # total and note lines at the export's end (合计…, 导出时间：…) are left out, and named
        found = footer_lines(raw, delim if not plan.canonical else ",", plan.line, _index(plan, _KEY[kind]),
                             _record(kind, plan))
        out.lines = LineMap(raw, header_line=plan.line, delimiter=delim if not plan.canonical else ",")
        cut, footer = found if found else (None, [])
        if plan.canonical:  # canonical with title lines above: the same bytes without them
            out.path = temp_csv("_pm_canon_")
            out.temps.append(out.path)
            copy_from_line(raw, out.path, plan.line, end=cut)
            out.lines.end = cut
        else:
            if cut is not None:
                if copied:
                    os.truncate(raw, cut)
                else:
                    shortened = temp_csv("_pm_nofooter_")
                    out.temps.append(shortened)
                    copy_from_line(raw, shortened, 1, end=cut)
                    raw = out.lines.path = shortened
            skip = plan.line
            if any('"' in line for line in head[:plan.line - 1]):
                # a quoted title value may span lines, and DuckDB's skip counts records, not lines: the
                # translation reads a copy that starts at the header (the lines stay the user's through ``lines``)
                from_header = temp_csv("_pm_fromheader_")
                out.temps.append(from_header)
                copy_from_line(raw, from_header, plan.line)
                raw, skip = from_header, 1
            out.path, out.columns = _translate(kind, mapping, plan, raw, skip, len(plan.cells), delim, keep_extra,
                                               shown, out)
        _items(kind, mapping, out, shown, config)
        _footer_note(out, [cells(t, delim if not plan.canonical else ",") for t in footer], _index(plan, "amount"),
                     len(plan.cells), shown)
        return out
    except BaseException:
        out.cleanup()
        raise


def _fen_text(value: str | None) -> str | None:
    """A yuan amount of the translation as the fen-writing export wrote it ('-12.30' → '-1230'); else as it is."""
    if value is None or not re.fullmatch(r"\s*[+-]?[0-9]+\.[0-9]{2}\s*", value):
        return value
    return str(parse_yuan(value.strip()))


def _rewrites(mapping) -> bool:
    """Whether the mapping changes values, not only names: then a header with the canonical names is mapped too."""
    return _fen(mapping) or (mapping is not None and any(isinstance(v, SplitTime) for v in mapping.columns.values()))


def _fen(mapping) -> bool:
    """Whether the mapped export writes its amounts in fen (``amount_unit = "fen"``)."""
    return mapping is not None and mapping.amount_unit == "fen"


def _ends_with_footer(kind: str, path: Path) -> bool:
    """Whether a canonical CSV (header on line 1) ends with total or note lines (read as a mapped export's are:
    left out and named); most do not, and are loaded as they are. Reads the header and the file's tail only."""
    with path.open("rb") as f:
        first = f.readline(1 << 16)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:  # a GBK file (a Chinese extra column's name)
        text = first.decode("gb18030", errors="replace")
    plan = _Plan(1, cells(text.rstrip("\r\n"), ","), {}, True)
    return footer_lines(path, ",", 1, _index(plan, _KEY[kind]), _record(kind, plan)) is not None


def _items(kind: str, mapping, out: MappedInput, shown: Path, config) -> None:
    """With ``item_rows`` configured, the rows of one order (refund) number in ``out.path`` become one record."""
    if mapping is None or mapping.item_rows is None:
        return
    lines = out.lines or LineMap(out.path)
    by_merchant = "merchant_id" in config.match.key_scope
    try:
        path, out.lines, note, out.moved = collapse(kind, mapping.item_rows, out.path, lines, out.columns, shown,
                                                    by_merchant)
    except LoadError as e:
        if not out.fen:
            raise
        amount = out.columns.get("amount")  # the amounts quoted as the export writes them (in fen)
        raise LoadError([Problem(p.file, p.line, p.field, _fen_text(p.value) if p.field == amount else p.value,
                                 re.sub(r"'([+-]?[0-9]+\.[0-9]{2})'", lambda m: repr(_fen_text(m[1])), p.message)
                                 if p.field == amount else p.message) for p in e.problems],
                        total=e.total, hint=e.hint) from None
    out.temps.append(path)
    out.path = path
    out.notes.append(note)


#: the key column of each kind an ERP export is mapped for (a total line leaves it empty)
_KEY = {"orders": "order_no", "refunds": "refund_no"}


#: columns every record of a kind fills and no total or note line does
_RECORD = {"orders": ("channel", "status"), "refunds": ("order_no", "status")}


def _record(kind: str, plan: "_Plan") -> tuple[int, ...]:
    """The export's indexes of ``_RECORD``'s columns (a value there: the row is a record, not a total line)."""
    return tuple(i for c in _RECORD[kind] if (i := _index(plan, c)) is not None)


def _index(plan: "_Plan", name: str) -> int | None:
    """The export's column index of canonical column ``name`` (None: the export has none)."""
    if not plan.canonical:
        return plan.found.get(name)
    names = [c.strip() for c in plan.cells]
    return names.index(name) if name in names else None


def _footer_note(out: MappedInput, footer: list[list[str]], amount: int | None, width: int, shown: Path) -> None:
    """Say which total/note lines were left out of ``out`` and, when one of them has a yuan total in the
    amount column, whether it ties out with the rows loaded (a short export, e.g. one Excel cut, does not).
    A total line wider than the header (an unquoted 1,234.50 split in two) is not checked, nor are rows with an
    amount the loader will refuse: their sum would be wrong."""
    if not footer:
        return
    text = " | ".join(",".join(c.strip() for c in row if c.strip()) for row in footer)
    note = f"{shown}: the export's last line(s) left out as its total/notes: {text}"
    totals = [row[amount].strip() for row in footer if amount is not None and amount < len(row)
              and len(row) <= width and re.fullmatch(_FEN_TOTAL_RX if out.fen else _MONEY_RX, row[amount].strip())]
    if totals:
        try:
            stated = re.sub(r"[,¥￥元分\s]", "", totals[0])
            stated = int(stated) if out.fen else parse_yuan(stated, decimals=5)  # amount_unit = "fen": a total in fen
        except ValueError:  # more digits than any amount holds: named as left out, not checked
            out.notes.append(note)
            return
        # the rows' amounts as the loader reads them: 2 decimals, or 84.5000 (zeros past the fen)
        fen = sql_amount_to_fen("trim(amount)")
        con = duckdb.connect()
        try:
            n, got, bad = con.execute(
                f"SELECT count(*), sum({fen}), count(*) FILTER (WHERE {fen} IS NULL AND trim(amount) <> '') "
                f"FROM read_csv({_lit(str(out.path))}, "
                "header=true, all_varchar=true, delim=',', quote='\"', escape='\"')").fetchall()[0]
        except duckdb.Error:  # a malformed file: the loader names its lines
            return
        finally:
            con.close()
        got = int(got or 0)
        if bad:  # the loader refuses the file by line; a sum without those rows would warn wrongly
            pass
        elif got == stated:
            note += f"; its total {format_yuan(stated)} ties out with the {n:,} rows above"
        else:
            note += (f"; WARNING: its total {format_yuan(stated)} is not the {n:,} rows' sum {format_yuan(got)} "
                     f"({format_diff(got - stated)}): check that the export is complete")
    out.notes.append(note)


@dataclass(frozen=True)
class _Plan:
    """Where the header is and what it holds: ``line`` (1-based), ``cells`` as written, ``found``
    (canonical column → index of the export's column), ``canonical`` (read as canonical, no mapping)."""

    line: int
    cells: list[str]
    found: dict[str, int]
    canonical: bool
    #: a time in two columns: canonical column → index of its clock-time column (``found`` has its day's)
    joined: dict[str, int] = field(default_factory=dict)


def _resolve(kind: str, mapping, rows: list[list[str]], comma_rows: list[list[str]], source: Path) -> _Plan:
    """Find the header row: the canonical one (first line, or for a mapped file or .xlsx any of the first
    rows) or the one holding every mapped column (``header_line`` when configured)."""
    required = {f.name for f in SPECS[kind] if f.required}

    def canonical(row: list[str]) -> bool:
        # a mapping that rewrites values (amounts in fen, a time in two columns) applies to canonical names too
        return {c.strip() for c in row} >= required and not _rewrites(mapping)

    if comma_rows and canonical(comma_rows[0]):
        return _Plan(1, comma_rows[0], {}, True)
    if mapping is None:  # an .xlsx without a mapping: canonical or nothing
        for n, row in enumerate(comma_rows, 1):
            if canonical(row):
                return _Plan(n, row, {}, True)
        raise LoadError([Problem(str(source), None, None, None,
                                 f"no row among the first {len(rows)} has the canonical {kind} columns "
                                 f"({', '.join(f.name for f in SPECS[kind] if f.required)})")],
                        hint=f"name the export's columns under [inputs.{kind}.columns] in the config file "
                             "(see config.example.toml)")
    if not any(rows):
        raise LoadError([Problem(str(source), 1, None, None, "file is empty (no header line)")],
                        hint="export the file again from the ERP; nothing from it was stored")
    best: tuple[int, list[str], list[str]] | None = None
    for n in [mapping.header_line] if mapping.header_line else range(1, len(rows) + 1):
        row = rows[n - 1] if n <= len(rows) else []
        if not mapping.header_line and canonical(comma_rows[n - 1]):
            return _Plan(n, comma_rows[n - 1], {}, True)
        found, missing, joined = _match(kind, mapping, row)
        if not missing:
            return _Plan(n, row, found, False, joined)
        if best is None or len(missing) < len(best[2]):
            best = (n, row, missing)
    n, row, missing = best
    where = (f"line {n} (header_line)" if mapping.header_line else
             f"none of the first {len(rows)} lines has every configured column; the closest, line {n},")
    raise LoadError([Problem(str(source), n, None, None, f"{where} lacks the column(s) {'; '.join(missing)}; "
                                                         f"it has: {cells_text(row) or '(nothing)'}")],
                    hint=f"fix [inputs.{kind}] columns (a list gives alternative names) or header_line in the config file")


def _match(kind: str, mapping, cells: list[str]) -> tuple[dict[str, int], list[str], dict[str, int]]:
    """(canonical column → the export's column index, what the row lacks, the clock-time column of each time
    written in two columns)."""
    keys: dict[str, int] = {}
    for i, c in enumerate(cells):
        keys.setdefault(header_key(c), i)
    found, missing, joined = {}, [], {}
    for f in SPECS[kind]:
        conf = mapping.columns.get(f.name)
        if isinstance(conf, SplitTime):
            day, clock = keys.get(header_key(conf.date)), keys.get(header_key(conf.time))
            if day is not None and clock is not None:
                found[f.name], joined[f.name] = day, clock
            else:
                missing.append(f"{' + '.join(n for n, i in ((conf.date, day), (conf.time, clock)) if i is None)} "
                               f"({f.name})")
            continue
        names = [conf] if isinstance(conf, str) else (conf or [f.name])
        idx = next((keys[header_key(n)] for n in names if header_key(n) in keys), None)
        if idx is not None:
            found[f.name] = idx
        elif conf is not None or f.required:
            missing.append(f"{' / '.join(names)} ({f.name}{'' if conf is not None else ', not configured'})")
    return found, missing, joined


def _values(kind: str, mapping, f: Field) -> dict[str, str]:
    """The value map of one column: built-in words, then the config's (keys compared trimmed, lower-case)."""
    fold = bool(f.values) or f.fold_case
    user = {k.strip().lower(): (v.strip().lower() if fold else v) for k, v in mapping.values.get(f.name, {}).items()}
    if f.kind == "money" and _fen(mapping):  # a word mapped to an amount in fen: given to the loader in yuan
        user = {k: format_yuan(int(v)) if re.fullmatch(r"\s*[+-]?[0-9]{1,16}\s*", v) else v for k, v in user.items()}
    return {**SYNONYMS[kind].get(f.name, {}), **user}


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
            keys[key] = f"lower(trim({col})) AS {key}"
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
