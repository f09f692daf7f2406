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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..errors import LoadError, Problem
from ..money import format_diff, format_yuan, parse_yuan, sql_amount_to_fen
from .items import collapse
from .lines import LineMap
from .mapping_plan import _MONEY_RX, SYNONYMS, _fen, _Plan, _resolve
from .mapping_read import (HEAD_LINES, Sheet, cells, copy_from_line, csv_head, file_form, footer_lines, temp_csv, unpacked,
                           utf8_text)
from .mapping_sql import _FEN_TOTAL_RX, _translate
from .specs import SPECS
from .textfile import _sniff_encoding, cr_only, lf_copy, lf_from_cr, mixed_newlines
from .value_sql import _lit



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
    if file_form(inner or path) == "csv" and cr_only(inner or path):
        # lines ending in a bare CR (classic Mac OS): read from a copy with LF, the same lines (helper-48: structural
        # problems were all named on line 1, a total line was not found)
        lf = lf_from_cr(inner or path)
        if inner is not None:
            inner.unlink(missing_ok=True)
        inner = lf
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
                names = sheet._wb.sheet_names
                if not any(any(c.strip() for c in row) for row in sheet.head) and len(names) > 1 and (
                        mapping is None or mapping.sheet is None):  # not "export the file again": another sheet
                    raise LoadError([Problem(str(shown), None, None, None, f"its first sheet '{names[0]}' is empty; "
                                             f"the workbook has {names}")],
                                    hint=f'name the sheet to read: sheet = "…" under [inputs.{kind}] in the config '
                                         'file')
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
            if skip > 1 and mixed_newlines(raw):
                # title lines ending in LF above rows ending in CRLF (or the reverse): DuckDB, told to skip them,
                # reads no row at all and raises nothing (helper-68: "0 rows", exit 0); an LF copy has the same lines
                raw = lf_copy(raw)
                out.temps.append(raw)
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
