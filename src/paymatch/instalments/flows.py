"""Load a channel's instalment flows (one row per order per period) into Arrow (``FLOW_ARROW``).

``load_flows(path)`` (``read_flow_files``: the same, one table per file with its hash, for a
workspace to store each file as a batch) takes the canonical flow CSV, or any file/folder (nested folders, .gz, .zip,
.tar via ``channels.detect.iter_bill_files``) holding canonical CSVs and/or exports that a
``target: instalment_flows`` mapping profile recognises by content (builtin ones:
``channels.profiles.builtin_flow_profiles``), and returns one table. ``load_flows_csv`` is the
canonical CSV alone.

What real channel bills can give: up-front instalment channels (Huabei, Baitiao, card
instalments) pay the merchant the whole amount at once, so their trade bills carry one payment
row per order and no per-period flows; the plan is built from orders.instalments instead. A JD
Baitiao per-period repayment export (分期期次 "k/n") is read by the ``jd_baitiao_instalment_flows``
profile. The WeChat Pay trade bill has no instalment column, and the Alipay 业务明细 bill's 25
columns carry none either (the term is visible only in the trade-query API's
``hb_fq_pay_info.user_install_num``), so no ``instalments`` metadata is taken from those bills.

The canonical CSV:

Columns: channel, order_no, period_no, periods, amount (yuan), fee (yuan, may be empty),
status (success|processing|failed|closed), occurred_at (ISO-8601, naive = Asia/Shanghai, or as ERP exports write
times: README "Times"); optional
merchant_id: the merchant number the deduction was credited to (under ``[match] key_scope =
["merchant_id"]`` order numbers are unique per merchant number, so a flow naming its number is matched to
that merchant's order; empty: the number's only per-period order, see ``match``). Extra columns are ignored.

Decisions (documented here because the issue leaves them open):
- A row whose own numbers are impossible (period_no or periods not a positive whole number, or
  period_no > periods) is unusable: it is a load *error*, reported with file/line/field.
- A period beyond the *order's* plan, a wrong term, duplicate (order_no, period_no) rows: the
  row is loaded; matching turns it into an explicit outcome (plan mismatch / duplicate).
Validation is vectorised in a private in-memory DuckDB connection; nothing is returned when any
row is bad (all problems, up to ``limit``, are raised together in one ``LoadError``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.errors import LoadError, Problem
from paymatch.money import sql_yuan_to_fen, sql_yuan_valid
from paymatch.schema import TZ, sql_out_of_years
from paymatch.sources.load_problems import _WHAT
from paymatch.sources.specs import Field
from paymatch.sources.value_sql import _bad_offset, _lenient

FLOW_COLUMNS = ["channel", "order_no", "period_no", "periods", "amount", "fee", "status", "occurred_at"]
#: read when the file has it (a flow export of one merchant number among several: helper-63)
OPTIONAL_FLOW_COLUMNS = ["merchant_id"]
FLOW_ARROW = pa.schema([
    ("channel", pa.string()),
    ("order_no", pa.string()),
    ("period_no", pa.int64()),
    ("periods", pa.int64()),
    ("amount_fen", pa.int64()),
    ("fee_fen", pa.int64()),
    ("status", pa.string()),
    ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("src_file", pa.string()),
    ("src_line", pa.int64()),
    # the merchant number the deduction was credited to; NULL when the export does not say
    ("merchant_id", pa.string()),
])
_STATUSES = ("success", "processing", "failed", "closed")


def same_flow_sql(a: str, b: str, scoped: bool) -> str:
    """SQL: row ``b`` is row ``a`` delivered again (overlapping exports): the same deduction of the same period
    (channel, order_no, period_no) in the same state (periods, amount, fee, status, time). Under ``key_scope =
    ["merchant_id"]`` a ``b`` naming no merchant number is any ``a``, one naming a number is only that number's
    (a re-export that adds the merchant column replaces the unnamed row: ``Workspace.ingest_flows``); without
    key_scope the merchant number does not tell rows apart."""
    key = " AND ".join(f"{a}.{c} = {b}.{c}" for c in ("channel", "order_no", "period_no"))
    same = key + "".join(f" AND {a}.{c} IS NOT DISTINCT FROM {b}.{c}"
                         for c in ("periods", "amount_fen", "fee_fen", "status", "occurred_at"))
    if scoped:
        same += f" AND ({b}.merchant_id IS NULL OR {a}.merchant_id IS NOT DISTINCT FROM {b}.merchant_id)"
    return same


def copy_no_sql(scoped: bool, *, within: tuple[str, ...] = ()) -> str:
    """SQL: which copy of its row (``same_flow_sql``'s values) a flow is within its own file, 1 for the first.

    A file that lists one deduction twice reports a double charge; an overlapping export that lists it once is that
    deduction again. So a later delivery's n-th copy of a row is the n-th copy already read or stored: a file's own
    second copy stays a second row whichever file came first (it vanished when the other export came first).
    ``within``: further columns that set files apart (several files read together)."""
    cols = [*within, "channel", "order_no", "period_no", "periods", "amount_fen", "fee_fen", "status", "occurred_at"]
    if scoped:
        cols.append("merchant_id")
    return f"row_number() OVER (PARTITION BY {', '.join(cols)} ORDER BY src_line)"


# occurred_at as the other canonical files' times are read (README "Times"): ISO-8601, naive = Asia/Shanghai, also as
# ERP exports write them (2026/11/20 9:05, 2026年11月20日 09:05, 20261120090500, 下午 3:05, CST, an Excel serial
# day); the flows CSV read only what DuckDB casts, so 2026/11/20 9:05 passed and 2026年11月20日 09:05 was refused
_TIME = _lenient(Field("occurred_at", "occurred_at", "time"))("occurred_at")

# one (field, bad-condition, message) per check; every column is trimmed VARCHAR, NULL if empty
_CHECKS = [
    ("channel", "channel IS NULL", "channel is empty"),
    ("order_no", "order_no IS NULL", "order_no is empty"),
    ("periods", "periods IS NULL OR NOT regexp_full_match(periods, '[0-9]{1,4}') OR TRY_CAST(periods AS INT) <= 0",
     "periods must be a positive whole number"),
    ("period_no", "period_no IS NULL OR NOT regexp_full_match(period_no, '[0-9]{1,4}') OR TRY_CAST(period_no AS INT) <= 0",
     "period_no must be a positive whole number"),
    ("period_no", "regexp_full_match(period_no, '[0-9]{1,4}') AND regexp_full_match(periods, '[0-9]{1,4}') "
     "AND TRY_CAST(period_no AS INT) > TRY_CAST(periods AS INT)", "period_no is beyond the flow's own periods"),
    ("amount", f"amount IS NULL OR NOT {sql_yuan_valid('amount')}", "amount is not a yuan amount with 2 decimals"),
    ("amount", f"{sql_yuan_valid('amount')} AND amount LIKE '-%'", "amount must not be negative"),
    ("fee", f"fee IS NOT NULL AND NOT {sql_yuan_valid('fee', decimals=5)}", "fee is not a yuan amount"),
    ("status", f"status IS NULL OR status NOT IN {_STATUSES}", f"status must be one of {', '.join(_STATUSES)}"),
    ("occurred_at", f"occurred_at IS NULL OR {_TIME} IS NULL", "occurred_at is " + _WHAT["time"]),
    ("occurred_at", _bad_offset("occurred_at"), "occurred_at has " + _WHAT["time_offset"]),
    ("occurred_at", sql_out_of_years(_TIME, "time"), "occurred_at is " + _WHAT["time_range"]),
]


def _physical_lines(raw: pa.Table) -> pa.Array:
    """1-based physical line of each record: header is line 1; quoted newlines push later rows down."""
    n = raw.num_rows
    if n == 0:
        return pa.array([], pa.int64())
    extra = pa.array([0] * n, pa.int64())
    for col in raw.columns:
        extra = pc.add(extra, pc.fill_null(pc.count_substring(col, "\n"), 0).cast(pa.int64()))
    before = pc.subtract(pc.cumulative_sum(extra), extra)
    return pc.add(pa.array(range(2, n + 2), pa.int64()), before)


def _utf8(name: str, data: bytes) -> bytes:
    """The file's bytes as UTF-8 (BOM dropped), GBK text transcoded (README: files may be UTF-8 or GBK); a NUL byte,
    or a line in another encoding than the file's other lines (a GBK line pasted into a UTF-8 file), refuses the
    file by line. Arrow read such a file with a traceback (``invalid UTF8 data``, no file, no line)."""
    from paymatch.sources.textfile import _undecodable, field_at

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
        if b"\x00" not in data:
            return data
    except UnicodeDecodeError:
        pass
    if b"\x00" not in data:
        lines = [ln for ln in data.splitlines() if not ln.isascii()]

        def utf8(ln: bytes) -> bool:
            try:
                ln.decode("utf-8")
                return True
            except UnicodeDecodeError:
                return False

        if not any(utf8(ln) for ln in lines):  # no line of UTF-8 Chinese: a GBK file
            try:
                return data.decode("gb18030").encode("utf-8")
            except UnicodeDecodeError:
                pass
    line, what = _undecodable(data, "utf-8")
    raise LoadError([Problem(name, line, field_at(data.splitlines(keepends=True), line, "utf-8"), None,
                             f"not UTF-8 or GBK text ({what})")],
                    hint="export the flows CSV again as UTF-8 (or GBK), one encoding for the whole file")


def _structure(name: str, data: bytes, width: int) -> list[Problem]:
    """Why Arrow could not read the (UTF-8) file, by physical line: records whose field count is not the
    header's, a quote that never closes. Arrow said only "Expected 8 columns, got 7: <the row>"."""
    import csv
    import io

    at = [0]
    problems: list[Problem] = []

    def lines():
        for n, text in enumerate(io.StringIO(data.decode("utf-8"), newline=""), 1):
            at[0] = n
            yield text

    start = 1
    try:
        for row in csv.reader(lines(), strict=True):
            line, start = start, at[0] + 1
            if line > 1 and row and len(row) != width:
                problems.append(Problem(name, line, None, None, f"row has {len(row)} fields, the header has {width}"))
    except csv.Error as e:
        why = "a quoted field opened on this line does not close" if "end of data" in str(e) else \
            f"not well-formed CSV: {e}"
        problems.append(Problem(name, start, None, None, why))
    return problems


def load_flows_csv(path: str | Path, *, limit: int = 50, data: bytes | None = None) -> pa.Table:
    """Read and validate an instalment-flow CSV into ``FLOW_ARROW`` (amounts in fen, times UTC).

    ``data``: the file's bytes when it is not on disk as such (an archive member named ``path``).
    Raises LoadError listing Problem(file, line, field, value, message) for every bad value.
    """
    name = str(path)
    try:
        data = _utf8(name, Path(path).read_bytes() if data is None else data)
    except OSError as exc:
        raise LoadError([Problem(name, None, None, None, f"cannot read the file ({exc.strerror})")]) from None
    names: list[str] = []
    try:
        head = pacsv.read_csv(pa.BufferReader(data), read_options=pacsv.ReadOptions(block_size=1 << 16),
                              convert_options=pacsv.ConvertOptions(include_columns=[])).schema
        names = list(head.names)
        missing = [c for c in FLOW_COLUMNS if c not in names]
        if missing:
            raise LoadError([Problem(name, 1, c, None, "required column missing") for c in missing],
                            hint=f"the header must contain {', '.join(FLOW_COLUMNS)}")
        read = FLOW_COLUMNS + [c for c in OPTIONAL_FLOW_COLUMNS if c in names]
        raw = pacsv.read_csv(
            pa.BufferReader(data),
            convert_options=pacsv.ConvertOptions(
                include_columns=read,
                column_types={c: pa.string() for c in read},
                strings_can_be_null=False,
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        found = _structure(name, data, len(names) or len(data.split(b"\n", 1)[0].split(b",")))
        raise LoadError(found[:limit] or [Problem(name, None, None, None, f"cannot read CSV: {exc}")],
                        total=max(len(found), 1), hint="fix the listed lines; nothing from this file was loaded") \
            from None
    for c in OPTIONAL_FLOW_COLUMNS:
        if c not in names:
            raw = raw.append_column(c, pa.nulls(raw.num_rows, pa.string()))
    raw = raw.append_column("src_line", _physical_lines(raw))
    con = duckdb.connect(":memory:")
    try:
        # naive channel times are Shanghai local: make the cast read them so
        con.execute(f"SET TimeZone = '{TZ}'")
        con.register("_pm_raw", raw)
        trimmed = ", ".join(f"NULLIF(trim({c}), '') AS {c}" for c in FLOW_COLUMNS + OPTIONAL_FLOW_COLUMNS)
        con.execute(f"CREATE TEMP TABLE _pm_flows AS SELECT {trimmed}, src_line FROM _pm_raw")
        checks = " UNION ALL ".join(
            f"SELECT src_line, '{f}' AS field, {f} AS value, '{msg.replace(chr(39), chr(39) * 2)}' AS message "
            f"FROM _pm_flows WHERE {cond}"
            for f, cond, msg in _CHECKS
        )
        total = con.sql(f"SELECT count(*) FROM ({checks})").fetchall()[0][0]
        if total:
            rows = con.sql(f"SELECT * FROM ({checks}) ORDER BY src_line, field LIMIT {int(limit)}").fetchall()
            raise LoadError([Problem(name, ln, f, v, m) for ln, f, v, m in rows], total=total,
                            hint="fix the listed rows; nothing from this file was loaded")
        quoted = name.replace("'", "''")
        table = con.sql(
            f"""SELECT channel, order_no, period_no::BIGINT AS period_no, periods::BIGINT AS periods,
                       {sql_yuan_to_fen('amount')} AS amount_fen,
                       {sql_yuan_to_fen('fee', decimals=5)} AS fee_fen,
                       status, {_TIME} AS occurred_at, '{quoted}' AS src_file, src_line,
                       merchant_id
                FROM _pm_flows ORDER BY src_line"""
        ).to_arrow_table()
    finally:
        con.close()
    # same instants, stated in UTC as TRANSACTION_ARROW does
    return table.cast(FLOW_ARROW)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(4096)


def _first_header(data: bytes) -> tuple[int, list[str]]:
    """The first non-blank line (1-based) and its comma-separated cells, stripped."""
    from paymatch.channels.detect import decode_head

    lines = decode_head(data, 4096).splitlines()
    n = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    return (0, []) if n is None else (n + 1, [c.strip(' \t"') for c in lines[n].split(",")])


def is_canonical_flows(data: bytes) -> bool:
    """True when the first non-blank line is a header holding every canonical flow column."""
    return set(FLOW_COLUMNS) <= set(_first_header(data)[1])


def _near_canonical(name: str, data: bytes) -> Problem | None:
    """A header with some canonical flow columns but not all (a hand-made flows CSV with a column misnamed or left
    out): the columns it lacks, by line, instead of "an unknown layout" that leaves the user to guess."""
    line, cells = _first_header(data)
    have = [c for c in FLOW_COLUMNS if c in cells]
    if len(have) < 2:
        return None
    lacks = [c for c in FLOW_COLUMNS if c not in cells]
    return Problem(name, line, None, None, f"the canonical flow CSV's column(s) {', '.join(lacks)} missing "
                                           f"(the header has: {', '.join(cells)}; expected: {', '.join(FLOW_COLUMNS)})")


@dataclass(frozen=True)
class FlowFile:
    """One file's validated flows: ``name`` as errors and provenance say it (``archive!member`` inside an
    archive), ``sha256`` of its bytes (None unless asked for), ``table`` in ``FLOW_ARROW``."""

    name: str
    sha256: str | None
    table: pa.Table


def read_flow_files(path: str | Path, profile_dirs: Iterable[str | Path] = (), *, limit: int = 50,
                    hashes: bool = False) -> list[FlowFile]:
    """Every instalment-flow file under ``path`` (a file or folder, archives opened), each read on its own.

    Each file is recognised by content: the canonical flow CSV, else a flow profile from
    ``profile_dirs`` (first, so a shop can override) or the builtin ones. All-or-nothing: any
    unrecognised or bad file raises one LoadError naming every problem (file, line, field).
    A file whose bytes equal one already read (a CSV beside its own .gz) is read once, unless its profile takes the
    merchant number from the file's name and the names give two (each merchant number's own export).
    ``hashes``: fill ``FlowFile.sha256`` (a workspace stores each file as a batch named by it).
    """
    from paymatch.channels.bill_walk import walk
    from paymatch.channels.detect import detect
    from paymatch.channels.profiles import Profile, builtin_flow_profiles, load_profile_dir

    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv" and is_canonical_flows(_head(path)):
        # the common case: Arrow reads the file itself
        table = load_flows_csv(path, limit=limit)
        return [FlowFile(str(path), _file_sha256(path) if hashes else None, table)]
    extra = [p for d in profile_dirs for p in load_profile_dir(d) if p.target == "instalment_flows"]
    names = {p.name for p in extra}
    profiles = extra + [p for p in builtin_flow_profiles() if p.name not in names]
    files: list[FlowFile] = []
    problems: list[Problem] = []
    total = 0
    seen: set[str] = set()
    for entry in walk(path):
        if entry.error is not None:  # a damaged archive or member, a NUL byte in the text: was left out silently
            problems += entry.error.problems  # ("no instalment-flow file found", or the other files stored alone)
            total += entry.error.total
            continue
        if entry.skip is not None:
            continue
        name, data = entry.name, entry.data
        digest = hashlib.sha256(data).hexdigest()
        try:
            if is_canonical_flows(data):
                if digest not in seen:
                    seen.add(digest)
                    files.append(FlowFile(name, digest if hashes else None,
                                          load_flows_csv(name, limit=limit, data=data)))
                continue
            parser = detect(name, data, profiles)
            if not isinstance(parser, Profile) or parser.target != "instalment_flows":
                near = _near_canonical(name, data) if parser is None else None
                what = f"a {parser.name} bill" if parser is not None else "an unknown layout"
                raise LoadError([near or Problem(name, None, None, None, f"not an instalment-flow file ({what})")])
            by_name = parser.constants.get("merchant_id")
            if by_name is None or by_name.search != "file_name":
                if digest in seen:
                    continue
                seen.add(digest)
            table = parse_flows_with_profile(parser, data, name)
            if by_name is not None and by_name.search == "file_name":
                # the same bytes under two merchant numbers' file names are two merchants' flows (one export per
                # merchant number), not one file delivered twice: the number the name gives is part of the file
                merchant = next((m for m in table.column("merchant_id").to_pylist() if m is not None), "")
                digest = hashlib.sha256(f"{digest}:merchant_id={merchant}".encode()).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
            files.append(FlowFile(name, digest if hashes else None, table))
        except LoadError as exc:
            problems += exc.problems
            total += exc.total
    if problems:
        raise LoadError(problems[:limit], total=total,
                        hint="instalment flows: the canonical flow CSV or an export a flow profile recognises; "
                             "nothing was loaded")
    if not files:
        raise LoadError([Problem(str(path), None, None, None, "no instalment-flow file found")])
    return files


def load_flows(path: str | Path, profile_dirs: Iterable[str | Path] = (), *, limit: int = 50) -> pa.Table:
    """Every instalment flow under ``path`` (a file or folder, archives opened) as one ``FLOW_ARROW``
    (``read_flow_files``: all-or-nothing, every problem named by file, line and field)."""
    files = read_flow_files(path, profile_dirs, limit=limit)
    return files[0].table if len(files) == 1 else pa.concat_tables([f.table for f in files])


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# --- mapping profiles with target: instalment_flows ---

def parse_flows_with_profile(profile, data: bytes, source: str) -> pa.Table:
    """Parse one export with a ``target: instalment_flows`` profile into ``FLOW_ARROW`` (the same
    reading, cleaning, validation, LoadError and control totals as a transactions profile)."""
    from paymatch.channels.profile_read import read_raw
    from paymatch.channels.profile_sql import transform

    if profile.target != "instalment_flows":
        raise ValueError(f"profile {profile.name} yields {profile.target}, not instalment flows")
    table, _, _ = transform(profile, read_raw(profile, data, source), source)
    return table


def profile_flow_table(con, profile, source: str) -> pa.Table:
    """The checked flow rows of ``_pm_typed`` (kept by the row filter, in line order) as ``FLOW_ARROW``."""
    from paymatch.channels.profile_sql import lit

    table = con.sql(f"SELECT {lit(profile.channel)} AS channel, order_no, period_no, periods, amount_fen, fee_fen, "
                    f"status, occurred_at, {lit(source)} AS src_file, _pm_line AS src_line, merchant_id "
                    f"FROM _pm_typed WHERE _pm_keep ORDER BY _pm_line").to_arrow_table()
    return table.cast(FLOW_ARROW)


def profile_flow_sql(ctx) -> tuple[str, list[tuple[str, str, str, str]]]:
    """SQL of a flow profile's typed rows over ``_pm_stage`` plus its checks, for
    ``channels.profile_sql.transform`` (same shape as its transaction SQL).

    The rules are the canonical CSV's: period_no and periods are positive whole numbers with
    period_no <= periods, the amount is not negative; money and time go through the profile's
    own helpers (``paymatch.money`` SQL, strptime in the profile's zone).
    """
    from paymatch.channels.profile_sql import case_sql, keep_sql, lit, money_sql, time_sql

    p, has = ctx.profile, ctx.cols
    ok, fen = money_sql(ctx, "amount")
    sel = [f"{fen} AS fen_amount", "fen_amount AS amount_fen", "'payment' AS type"]
    checks = [(f"NOT {ok}", ctx.label["amount"], "f_amount", "not a yuan amount" if p.amount.unit == "yuan"
               else "not a whole fen"),
              ("f_amount IS NULL", ctx.label["amount"], "f_amount", "amount is empty"),
              ("neg_amount", ctx.label["amount"], "f_amount", "amount must not be negative")]
    if "fee" in has:
        ok, fen = money_sql(ctx, "fee")
        sel.append(f"{fen} AS fee_fen")
        checks.append((f"NOT {ok}", ctx.label["fee"], "f_fee", "not a yuan amount"))
    else:
        sel.append("NULL::BIGINT AS fee_fen")
    if "period" in has:
        # "3/12", "第3期/共12期": the digits on either side of the separator
        sep = lit(p.flows.period_separator)
        k, n = (f"regexp_extract(split_part(f_period, {sep}, {i}), '[0-9]+')" for i in (1, 2))
        parts = [("period", k, "period number"), ("period", n, "term")]
        checks.append((f"f_period IS NULL OR NOT contains(f_period, {sep})", ctx.label["period"], "f_period",
                       f"period is not written k{p.flows.period_separator}n"))
    else:
        k, n = "f_period_no", "f_periods"
        parts = [("period_no", k, "period_no"), ("periods", n, "periods")]
    whole = "regexp_full_match({0}, '[0-9]{{1,4}}') AND TRY_CAST({0} AS INT) > 0"
    for fld, expr, what in parts:
        checks.append((f"NOT coalesce({whole.format(expr)}, false)", ctx.label[fld], f"f_{fld}",
                       f"{what} must be a positive whole number"))
    sel.append(f"TRY_CAST({k} AS BIGINT) AS period_no")
    sel.append(f"TRY_CAST({n} AS BIGINT) AS periods")
    checks.append(("period_no > periods", ctx.label[parts[0][0]], f"f_{parts[0][0]}",
                   "period number is beyond the row's own term"))
    local, occurred, _ = time_sql(ctx)
    sel += [f"{local} AS _pm_local", f"{occurred} AS occurred_at"]
    checks.append(("f_occurred_at IS NULL", ctx.label["occurred_at"], "f_occurred_at", "time is empty"))
    checks.append(("f_occurred_at IS NOT NULL AND occurred_at IS NULL", ctx.label["occurred_at"], "f_occurred_at",
                   f"time does not match {p.time.formats}"))
    # as a bill profile and the canonical flows CSV check it: 0001-10-10 was stored as a deduction of the year 1
    checks.append((sql_out_of_years("occurred_at", "time"), ctx.label["occurred_at"], "f_occurred_at",
                   "occurred_at is " + _WHAT["time_range"]))
    default = p.status.default.value if p.status.default else None
    expr = case_sql("f_status", {k_: v.value for k_, v in p.status.map.items()}, default) if "status" in has \
        else lit(default)
    sel.append(f"{expr} AS status")
    if "status" in has:
        checks.append((f"({expr}) IS NULL", ctx.label["status"], "f_status",
                       f"unknown status value; known: {sorted(p.status.map)}"))
    sel.append("f_order_no AS order_no")
    checks.append(("f_order_no IS NULL", ctx.label["order_no"], "f_order_no", "order number is empty"))
    # the merchant number the deduction was credited to: its column, else the profile's constant (a title line or
    # the file's name: one export per merchant number), else none (the number's only order takes it)
    merchant = ctx.const.get("merchant_id")
    sel.append("f_merchant_id AS merchant_id" if "merchant_id" in has
               else f"{lit(merchant) if merchant else 'NULL::VARCHAR'} AS merchant_id")
    sel += ["_pm_line", f"{keep_sql(ctx)} AS _pm_keep"]
    sel += [f"coalesce({cond}, false) AND _pm_keep AS _pm_bad{i}" for i, (cond, *_rest) in enumerate(checks)]
    return f"SELECT {', '.join(sel)} FROM _pm_stage", checks
