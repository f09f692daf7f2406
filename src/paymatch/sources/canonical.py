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

Beside it: ``textfile`` (encodings, line ends, the header), ``value_sql`` (the SQL that parses, checks and trims each
value), ``load_problems`` (naming what is wrong by line and field).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import LoadError, Problem
from ..schema import sql_out_of_years
from .lines import LineMap
from .load_problems import (_FS, _RS, _WHAT, MAX_PROBLEMS, _collect_problems, _duck_msg, _duplicate_keys,
                            _structure_problems)
from .specs import KEYS, SPECS, WILDCARD_SCOPE
from .textfile import _header, _MixedNewlines, _sniff_encoding, _transcode, lf_copy, mixed_newlines
from .value_sql import _bad_offset, _excel_damage, _lenient, _lit, _parser, _q, _text_col, strip_sql


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
        what = "a folder, not a file (a folder of channel bills goes to --bills)" if original.is_dir() else "file not found"
        raise LoadError([Problem(str(original), None, None, None, what)])
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


def _named_twice(header: list[str]) -> list[tuple[str, str]]:
    """(name, message) for each header name that repeats an earlier one, compared without case (DuckDB binds column
    names whatever their case: ``Amount`` beside ``amount`` read the wrong column, helper-48)."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header, 1):
        if not h:
            continue
        key = h.casefold()
        if key.startswith("_pm_"):  # the load's own working columns are named so
            out.append((h, "a column name paymatch keeps for its own working columns (_pm_…): rename it"))
        elif key in seen:
            out.append((h, f"column listed twice (columns {seen[key]} and {i}: {header[seen[key] - 1]!r}, {h!r})"))
        else:
            seen[key] = i
    return out


def _moved(e: LoadError, n: int) -> LoadError:
    """``e`` with its lines ``n`` further down (lines counted in a text that lacks the user's title lines)."""
    if not n:
        return e
    return LoadError([Problem(p.file, None if p.line is None else p.line + n, p.field, p.value, p.message)
                      for p in e.problems], total=e.total, hint=e.hint)


def _meant_for_another_option(kind: str, header: list[str], original: Path) -> str | None:
    """The hint for a file given to the wrong option (a typical mix-up: the refunds export to --orders, a WeChat
    bill to --orders): which option takes it, instead of a list of missing columns to "rename"."""
    from .specs import SPECS

    present = set(header)
    for other, spec in SPECS.items():
        if other != kind and all(f.name in present for f in spec if f.required):
            return f"this header is a canonical {other} file's: give the file to --{other}; nothing from it was stored"
    if kind == "transactions":
        return None  # a bill given to --transactions is read as --bills reads it before this point
    try:
        from paymatch.channels.detect import detect

        with open(original, "rb") as f:
            parser = detect(str(original), f.read(1 << 16))
    except Exception:  # only a hint: an unreadable or unknown head gives none
        return None
    if parser is None:
        return None
    return (f"this is a channel bill ({getattr(parser, 'name', parser)}): give it to --bills (or --transactions); "
            "nothing from it was stored")


def _stage(con, kind, spec, original: Path, readable: Path, key_scope, table: str, keep_extra: bool,
           drop: tuple[str, ...], lines: LineMap, utf8: bool, ordered: bool = True) -> Staged:
    # ordered: rowid follows the file, so it gives line numbers (and file order among duplicate records)
    con.execute(f"SET preserve_insertion_order={'true' if ordered else 'false'}")
    try:
        header = _header(readable, original)
    except LoadError as e:
        raise _moved(e, lines.above) from None
    twice = _named_twice(header)
    if twice:
        raise LoadError([Problem(str(original), 1 + lines.above, name, None, what) for name, what in twice],
                        hint="rename or remove the repeated column (which of the two is meant is not guessed); "
                             "nothing from this file was stored")
    present = set(header)
    missing = [f.name for f in spec if f.required and f.name not in present]
    if missing:
        elsewhere = _meant_for_another_option(kind, header, original)
        raise LoadError(
            [Problem(str(original), 1 + lines.above, m, None, "required column missing") for m in missing],
            hint=elsewhere or f"the header has: {', '.join(header)}; rename the columns, or "
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
        if f.kind in ("time", "date") and f.name in present:
            # DuckDB reads infinity, epoch, a year of 1, 2 or 5 digits and BC dates as times: none is a payment's
            far = sql_out_of_years(f"_pm_t{i}", f.kind)
            conds.append(far)
            checks.append(f"CASE WHEN {far} THEN {_lit(f.name + _FS + f.kind + '_range' + _FS)} || {col} END")
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
    # the columns by the names read here (outer blanks and tabs gone: DuckDB keeps a tab; a blank name is a placeholder);
    # the header on line 1 (skip=0): DuckDB's sniffer took a ragged last row for the header and skipped the rest
    names = ", ".join(_lit(h or f"_pm_blank{i}") for i, h in enumerate(header))
    texts = {f.name: f for f in spec if f.kind == "text"}
    trimmed = ", ".join(_text_col(texts[h]) if h in texts else _q(h) for h in dict.fromkeys(header) if h)
    src = (f"(SELECT {', '.join(typed_cols)}, * FROM (SELECT {', '.join(first_cols) or 'NULL AS _pm_none'}, * FROM "
           f"(SELECT {trimmed} FROM read_csv({_lit(str(readable))}, names=[{names}], "
           f"header=true, skip=0, all_varchar=true, delim=',', quote='\"', escape='\"', strict_mode=true, null_padding=false))))")
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
        # transactions given to --orders have every column orders need: their rows fail (status 'success'), not
        # the header; the header says what the file is
        from .specs import TRANSACTIONS

        elsewhere = ("this header is a canonical transactions file's: give the file to --transactions; nothing from it "
                     "was stored") if kind != "transactions" and all(
            f.name in header for f in TRANSACTIONS if f.required) else None
        raise LoadError(problems[:MAX_PROBLEMS], total=total,
                        hint=elsewhere or ("the file was opened in Excel and saved again: export it again (or format "
                              "the id columns as text and fix the formulas before saving)" if any(
                                  p.message in (_WHAT["excel_error"], _WHAT["excel_rounded"]) for p in problems)
                              else "fix these rows in the export and load the file again")
                        + ("" if elsewhere else "; nothing from this file was stored"))
    if keep_extra and not lines.exact(rows):
        lines.starts()  # the rows' lines are stored with them: read now, while a transcoded copy still exists
    return Staged(kind, table, rows, str(original), lines)
