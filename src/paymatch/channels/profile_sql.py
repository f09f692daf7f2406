"""Raw strings -> canonical transactions in DuckDB (profile step 2): clean, validate, type, tie out.

Everything is one SQL pass over the Arrow table from ``profile_read``: cells are trimmed of the
decorations exports add (tabs, backticks, ="…" Excel guards, currency signs, thousands commas),
money goes through ``paymatch.money``'s SQL helpers (exact, no float), times through strptime and
the profile's zone. Every invalid cell becomes a Problem row of one query, so a user sees all of
them (up to 50) in one LoadError with file, physical line, source column, value and reason.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from paymatch.channels.profile_read import MAX_PROBLEMS, RawTable
from paymatch.channels.profile_xlsx import EXCEL_ERROR_TEXT, EXCEL_ROUNDED_TEXT, sql_excel_error, sql_excel_rounded
from paymatch.channels.profile_spec import TOTAL_GROUPS, has_year
from paymatch.channels.profiles import Profile, header_key
from paymatch.errors import LoadError, Problem
from paymatch.schema import sql_out_of_years
from paymatch.money import format_yuan, parse_yuan, sql_yuan_to_fen, sql_yuan_valid
from paymatch.schema import TRANSACTION_ARROW

_BLANKS = " \t\r`\u3000"
_TRIM = _BLANKS + '"'
_MONEY_JUNK = r"[¥￥,\s元]|^CNY|^RMB"  # for the few totals values cleaned in Python
_OFFSET = r"(Z|[+-][0-9]{2}:?[0-9]{2})$"
_DATE_FORMATS = ["%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y年%m月%d日"]
_MONEY_FIELDS = ("amount", "amount_in", "amount_out", "fee", "settle_amount")
#: tried after a profile's own time formats: year-first, so never ambiguous. The same channel's
#: console and API downloads differ here, and a CSV re-saved by Excel shows 2026/11/20 9:05.
FALLBACK_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d%H%M%S",
                         "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M",
                         "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M")
#: a money cell saying zero (0, 0.00, ¥0.00, -0.00)
_ZERO = r"^[-+]?[¥￥]?0*(\.0*)?$"
#: an occurred_at cell holding only the time of day (its date in the occurred_date column)
_TIME_ONLY = r"^([0-9]{1,2}:[0-9]{2}(:[0-9]{2})?|[0-9]{6})$"


def lit(text: str) -> str:
    """SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())


def _clean(col: pa.Array) -> pa.Array:
    """Trim blanks/backticks, unwrap an Excel ="..." text guard, trim quotes; empty -> null.

    Done in Arrow compute rather than SQL: these kernels are several times faster than DuckDB's
    string functions for this job, and the regex only runs when some cell needs it.
    """
    col = pc.utf8_trim(col, _BLANKS)
    if _any(pc.starts_with(col, "=")):
        col = pc.if_else(pc.starts_with(col, "="), pc.replace_substring_regex(col, '^="(.*)"$', r"\1"), col)
    col = pc.utf8_trim(col, _TRIM)
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)


def _money_text(col: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(unsigned amount text, is-negative) after removing currency signs and thousands commas.

    The replacements only run when some cell has more than digits, point and sign: plain
    exports (most of them) pay for two scans (that one, and one for cells that are only a dash).
    """
    # bank statements write a dash for "none" (also in a column of plain numbers: "-" alone is no amount)
    dash = pc.match_substring_regex(col, "^[-－−—]+$")
    if _any(dash):
        col = pc.if_else(dash, pa.scalar(None, pa.string()), col)
    if _any(pc.match_substring_regex(col, "[^0-9.+-]")):
        # some exports write a full-width or typographic minus, currency signs, thousands commas
        for minus in ("－", "−"):
            col = pc.replace_substring(col, minus, "-")
        for junk in ("¥", "￥", ",", " ", "元"):
            col = pc.replace_substring(col, junk, "")
        if _any(pc.match_substring_regex(col, "^(CNY|RMB)")):
            col = pc.replace_substring_regex(col, "^(CNY|RMB)", "")
    neg = pc.starts_with(col, "-")
    signed = pc.or_(neg, pc.starts_with(col, "+"))
    if _any(signed):
        col = pc.if_else(signed, pc.utf8_slice_codeunits(col, 1), col)
    return col, neg


class _Ctx:
    """Resolved mapping of one parse: canonical field -> present source columns."""

    def __init__(self, profile: Profile, raw: RawTable, source: str):
        self.profile, self.raw, self.source = profile, raw, source
        self.problems: list[Problem] = []
        # names compare by header_key: 交易金额（元） in the file is the profile's 交易金额(元)
        pos: dict[str, int] = {}
        for i, name in enumerate(raw.header):
            pos.setdefault(header_key(name), i)
        self.cols: dict[str, list[str]] = {}
        self.label: dict[str, str] = {}
        for fld, names in profile.columns.items():
            present = list(dict.fromkeys(pos[header_key(n)] for n in names if header_key(n) in pos))
            if present:
                self.cols[fld] = [f"c{i}" for i in present]
                self.label[fld] = raw.header[present[0]]
            elif self._required(fld):
                self.problems.append(Problem(source, raw.header_line, names[0], None,
                                             f"column for {fld} not found; header has {raw.header}"))
        if not {"channel_tx_id", "order_no"} & set(self.cols) and profile.target == "transactions":
            wanted = profile.columns.get("channel_tx_id", []) + profile.columns.get("order_no", [])
            self.problems.append(Problem(source, raw.header_line, None, None,
                                         f"none of the id columns {wanted} is in the header"))
        self.filter_col: str | None = None
        if profile.rows is not None:
            if header_key(profile.rows.column) in pos:
                self.filter_col = f"c{pos[header_key(profile.rows.column)]}"
            else:
                self.problems.append(Problem(source, raw.header_line, profile.rows.column, None,
                                             f"row filter column not found; header has {raw.header}"))
        self.const = {k: self._constant(k) for k in profile.constants}
        if self.const.get("bill_date"):
            self.const["bill_date"] = self._date(self.const["bill_date"])

    def _required(self, fld: str) -> bool:
        p = self.profile
        if p.target == "instalment_flows":  # (an export without the merchant column names none, as a CSV may)
            return fld not in ("fee", "merchant_id")
        return fld in ("amount", "amount_in", "amount_out", "occurred_at") or (
            fld == "type" and p.type.rule == "column") or fld == "status"

    def _date(self, text: str) -> str | None:
        for fmt in _DATE_FORMATS:
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        self.problems.append(Problem(self.source, None, "bill_date", text, f"not a date ({_DATE_FORMATS})"))
        return None

    def _constant(self, key: str) -> str | None:
        spec = self.profile.constants[key]
        if spec.value is not None:
            return spec.value
        rx = re.compile(spec.regex)
        if spec.search == "file_name":  # the member's name, then the archive's (``detect``: archive!member/path)
            texts = [re.split(r"[/\\]", part)[-1] for part in reversed(self.source.split("!"))]
            missing = f"the file name does not match {spec.regex!r}"
        else:
            texts = [text for _, text in self.raw.side_lines]
            missing = f"no line matches {spec.regex!r}"
        for text in texts:
            m = rx.search(text)
            if m:
                return m.group(1).strip()
        if not spec.optional:
            self.problems.append(Problem(self.source, None, key, None, missing))
        return None


def _stage(ctx: _Ctx) -> pa.Table:
    """Cleaned text per mapped field (``f_``), and money text/sign (``m_``/``neg_``)."""
    raw = ctx.raw.table
    cols: dict[str, pa.Array] = {"_pm_line": raw.column("_pm_line").combine_chunks()}
    for fld, names in ctx.cols.items():
        cleaned = [_clean(raw.column(n).combine_chunks()) for n in names]
        if fld in _MONEY_FIELDS and len(cleaned) > 1:
            # 退款金额 0.00 on a payment row does not apply: a zero gives way to the next column
            cleaned = [pc.if_else(pc.match_substring_regex(c, _ZERO), pa.scalar(None, pa.string()), c)
                       for c in cleaned[:-1]] + cleaned[-1:]
        cols[f"f_{fld}"] = cleaned[0] if len(cleaned) == 1 else pc.coalesce(*cleaned)
    if "f_occurred_date" in cols and "f_occurred_at" in cols:
        # 交易日期 + 交易时间: a time-only cell (10:00:00, 100000) gets the row's date in front
        at, day = cols["f_occurred_at"], cols.pop("f_occurred_date")
        time_only = pc.match_substring_regex(at, _TIME_ONLY)
        hms = pc.replace_substring_regex(at, "^([0-9]{2})([0-9]{2})([0-9]{2})$", r"\1:\2:\3")
        joined = pc.binary_join_element_wise(day, hms, " ")
        cols["f_occurred_at"] = pc.if_else(pc.and_kleene(time_only, pc.is_valid(day)), joined, at)
    for fld in _MONEY_FIELDS:
        if fld in ctx.cols:
            cols[f"m_{fld}"], cols[f"neg_{fld}"] = _money_text(cols[f"f_{fld}"])
    if ctx.filter_col:
        cols["f_pm_filter"] = _clean(raw.column(ctx.filter_col).combine_chunks())
    return pa.table(cols)


def keep_sql(ctx: _Ctx) -> str:
    """SQL condition: the row passes the profile's ``rows`` filter (keep/drop by one column)."""
    rows = ctx.profile.rows
    if rows is None:
        return "true"
    if rows.keep:
        return f"coalesce(f_pm_filter IN ({', '.join(map(lit, rows.keep))}), false)"
    return f"coalesce(f_pm_filter NOT IN ({', '.join(map(lit, rows.drop))}), true)"


def money_sql(ctx: _Ctx, fld: str) -> tuple[str, str]:
    """(valid-or-absent condition, signed fen expression) of a money field."""
    p = ctx.profile
    m = f"m_{fld}"
    if p.amount.unit == "fen":
        valid, fen = f"regexp_full_match({m}, '^[0-9]{{1,17}}$')", f"TRY_CAST({m} AS BIGINT)"
    else:
        dec = p.amount.fee_decimals if fld == "fee" else p.amount.decimals
        valid, fen = sql_yuan_valid(m, decimals=dec), sql_yuan_to_fen(m, decimals=dec)
    # the sign is applied by multiplying, so the validating regex runs once per cell
    return f"({m} IS NULL OR {valid})", f"(CASE WHEN neg_{fld} THEN -1 ELSE 1 END) * {fen}"


def time_sql(ctx: _Ctx) -> tuple[str, str, str]:
    """SQL for (the local wall-clock time ``_pm_local``, ``occurred_at``, the local date).

    The local date comes from the parsed wall-clock time itself: one time-zone conversion per
    row instead of two. Strings carrying an offset are exact instants and skip the zone.
    """
    p = ctx.profile
    fmts = [f for f in p.time.formats if f != "iso"]
    fmts += [f for f in FALLBACK_TIME_FORMATS if f not in fmts]  # xlsx cells come as the first
    tz = lit(p.time.timezone)
    # in the profile's order: formats with a year tried together, each one without a year on its own
    naive: list[str] = []
    for fmt in fmts:
        if not has_year(fmt):
            naive.append(_yearless_sql(fmt, bill_day_sql(ctx)))
        elif naive and naive[-1].startswith("try_strptime(f_occurred_at, ["):
            naive[-1] = naive[-1][:-2] + f", {lit(fmt)}])"
        else:
            naive.append(f"try_strptime(f_occurred_at, [{lit(fmt)}])")
    iso = "iso" in p.time.formats
    if iso:
        naive.append("TRY_CAST(f_occurred_at AS TIMESTAMP)")
    local = f"coalesce({', '.join(naive)})"
    occurred, day = f"timezone({tz}, _pm_local)", "CAST(_pm_local AS DATE)"
    if iso:
        off = f"regexp_matches(f_occurred_at, {lit(_OFFSET)})"
        occurred = f"CASE WHEN {off} THEN TRY_CAST(f_occurred_at AS TIMESTAMPTZ) ELSE {occurred} END"
        day = f"CASE WHEN {off} THEN CAST(timezone({tz}, occurred_at) AS DATE) ELSE {day} END"
    return local, occurred, day


def bill_day_sql(ctx: _Ctx) -> str:
    """SQL: the row's bill date as the file states it (its bill_date column, or a constant), NULL if it states none."""
    if "bill_date" in ctx.cols:
        return f"CAST(try_strptime(f_bill_date, [{', '.join(lit(f) for f in _DATE_FORMATS)}]) AS DATE)"
    if ctx.const.get("bill_date"):
        return f"DATE {lit(ctx.const['bill_date'])}"
    return "NULL::DATE"


def _yearless_sql(fmt: str, day: str) -> str:
    """SQL: a time written without its year (``0702200726`` for ``%m%d%H%M%S``, as acquirers' clearing files write
    it) in the year that puts it nearest the row's bill date ``day`` (December's times on a January bill are the
    year before). Parsed first in a leap year, so 29 February is read where its year has one."""
    t = f"try_strptime('2000 ' || f_occurred_at, {lit('%Y ' + fmt)})"
    step = f"(month({t}) - month({day}))"
    year = f"(year({day}) + CASE WHEN {step} > 6 THEN -1 WHEN {step} < -6 THEN 1 ELSE 0 END)"
    return f"try_strptime({year}::VARCHAR || strftime({t}, '-%m-%d %H:%M:%S.%f'), '%Y-%m-%d %H:%M:%S.%f')"


def case_sql(col: str, mapping: dict, default: str | None) -> str:
    """SQL CASE mapping source values of ``col`` through ``mapping``; NULL cell -> ``default``."""
    whens = " ".join(f"WHEN {col} = {lit(k)} THEN {lit(str(v))}" for k, v in mapping.items())
    dflt = lit(default) if default else "NULL"
    return f"CASE WHEN {col} IS NULL THEN {dflt} {whens} ELSE NULL END" if whens else dflt


def _typed_sql(ctx: _Ctx) -> tuple[str, list[tuple[str, str, str, str]]]:
    """SQL of typed rows plus the checks: (condition-when-bad, source column, value expr, message)."""
    p, has = ctx.profile, ctx.cols
    checks: list[tuple[str, str, str, str]] = []
    sel: list[str] = []
    money_labels = ({ctx.label[f] for f in ("amount", "amount_in", "amount_out") if f in ctx.label}
                    if p.totals else set())
    for fld in _MONEY_FIELDS:
        if fld in has:
            ok, fen = money_sql(ctx, fld)
            sel.append(f"{fen} AS fen_{fld}")
            unit = "whole fen" if p.amount.unit == "fen" else "yuan amount"
            checks.append((f"NOT {ok}", ctx.label[fld], f"f_{fld}", f"not a {unit}"))
    if p.type.rule == "in_out":
        has_in = "coalesce(fen_amount_in, 0) <> 0"
        sel.append(f"abs(CASE WHEN {has_in} THEN fen_amount_in ELSE fen_amount_out END) AS amount_fen")
        sel.append(f"CASE WHEN {has_in} THEN 'payment' ELSE 'refund' END AS type")
        checks.append(("coalesce(fen_amount_in, 0) = 0 AND coalesce(fen_amount_out, 0) = 0",
                       ctx.label["amount_in"], "f_amount_in", "no amount in either money column"))
    else:
        sel.append("abs(fen_amount) AS amount_fen")
        checks.append(("f_amount IS NULL", ctx.label["amount"], "f_amount", "amount is empty"))
        rule = p.type.rule
        if rule == "column":
            sel.append(f"{case_sql('f_type', p.type.map, None)} AS type")
            checks.append(("f_type IS NOT NULL AND (" + case_sql("f_type", p.type.map, None) + ") IS NULL",
                           ctx.label["type"], "f_type", f"unknown type value; known: {sorted(p.type.map)}"))
            checks.append(("f_type IS NULL", ctx.label["type"], "f_type", "type is empty"))
        elif rule == "sign":
            by_sign = "CASE WHEN neg_amount THEN 'refund' ELSE 'payment' END"
            sel.append(f"{by_sign} AS type")
            if p.type.map and "type" in has:
                # a type column beside the sign (抖音 业务类型): a refund printed positive would be read as a payment,
                # silently; a word the map knows must agree with the sign (one it does not know is not judged)
                said = case_sql("f_type", p.type.map, None)
                checks.append((f"({said}) IS NOT NULL AND ({said}) <> {by_sign}", ctx.label["type"], "f_type",
                               "the amount's sign says the other type (a refund printed positive, or a payment "
                               "negative?): check the export's sign convention"))
        else:
            sel.append(f"{lit(p.type.value.value)} AS type")
    local, occurred, day = time_sql(ctx)
    sel.append(f"{local} AS _pm_local")
    sel.append(f"{occurred} AS occurred_at")
    checks.append(("f_occurred_at IS NULL", ctx.label["occurred_at"], "f_occurred_at", "time is empty"))
    checks.append(("f_occurred_at IS NOT NULL AND occurred_at IS NULL", ctx.label["occurred_at"], "f_occurred_at",
                   f"time does not match {p.time.formats}"))
    checks.append((sql_out_of_years("occurred_at", "time"), ctx.label["occurred_at"], "f_occurred_at",
                   "not a time of a payment: outside the years 2000–2099 (a year the format reads with two digits?)"))
    default = p.status.default.value if p.status.default else None
    if "status" in has:
        expr = case_sql("f_status", {k: v.value for k, v in p.status.map.items()}, default)
        sel.append(f"{expr} AS status")
        checks.append((f"({expr}) IS NULL", ctx.label["status"], "f_status",
                       f"unknown status value; known: {sorted(p.status.map)}"))
    else:
        sel.append(f"{lit(default)} AS status")
    for fld in ("channel_tx_id", "order_no", "refund_no", "channel_refund_id"):
        if fld in has:  # 4.20000061203213E+27: Excel re-saved the file and the digits are gone
            checks.append((sql_excel_rounded(f"f_{fld}"), ctx.label[fld], f"f_{fld}", EXCEL_ROUNDED_TEXT))
    for fld in ("channel_tx_id", "order_no", "refund_no", "channel_refund_id", "merchant_id"):
        if fld in has:  # #N/A: a formula that failed in a bill someone edited in Excel (not an id)
            checks.append((sql_excel_error(f"f_{fld}"), ctx.label[fld], f"f_{fld}", EXCEL_ERROR_TEXT))
    ids = [f"f_{f}" for f in ("channel_tx_id", "order_no") if f in has]
    if ids:
        checks.append((" AND ".join(f"{i} IS NULL" for i in ids), ctx.label.get("channel_tx_id") or
                       ctx.label["order_no"], ids[0], "no transaction id or order number"))
    if "bill_date" in has:
        sel.append(f"{bill_day_sql(ctx)} AS bill_date")
        checks.append(("f_bill_date IS NOT NULL AND bill_date IS NULL", ctx.label["bill_date"], "f_bill_date",
                       f"not a date ({_DATE_FORMATS})"))
        checks.append((sql_out_of_years("bill_date", "date"), ctx.label["bill_date"], "f_bill_date",
                       "not a day of a payment: outside the years 2000–2099"))
    elif ctx.const.get("bill_date"):
        sel.append(f"DATE {lit(ctx.const['bill_date'])} AS bill_date")
    else:
        sel.append(f"{day} AS bill_date")
    for fld in ("channel_tx_id", "order_no", "refund_no", "channel_refund_id"):
        sel.append(f"f_{fld} AS {fld}" if fld in has else f"NULL::VARCHAR AS {fld}")
    merchant = ctx.const.get("merchant_id")
    sel.append("f_merchant_id AS merchant_id" if "merchant_id" in has
               else f"{lit(merchant) if merchant else 'NULL::VARCHAR'} AS merchant_id")
    method = lit(p.method) if p.method else "NULL::VARCHAR"
    sel.append(f"coalesce(f_method, {method}) AS method" if "method" in has else f"{method} AS method")
    sel.append("fen_fee AS fee_fen" if "fee" in has else "NULL::BIGINT AS fee_fen")
    sel.append("fen_settle_amount AS settle_amount_fen" if "settle_amount" in has else "NULL::BIGINT AS settle_amount_fen")
    # only a flag per check is kept; the offending text is fetched from _pm_stage for the few
    # flagged rows, so the big string columns are not copied into _pm_typed
    sel.append("_pm_line")
    sel.append(f"{keep_sql(ctx)} AS _pm_keep")
    # rows that are not transactions are only checked where the totals need them (money)
    sel += [f"coalesce({cond}, false) AND ({'true' if label in money_labels else '_pm_keep'}) AS _pm_bad{i}"
            for i, (cond, label, _, _) in enumerate(checks)]
    return f"SELECT {', '.join(sel)} FROM _pm_stage", checks


def _one(con, sql: str) -> tuple:
    # fetch everything: DuckDB 2 keeps a half-read result open and refuses the next query
    return con.execute(sql).fetchall()[0]


def _problem_rows(con, checks, source: str) -> tuple[list[Problem], int]:
    flags = [f"_pm_bad{i}" for i in range(len(checks))]
    total = _one(con, f"SELECT {' + '.join(f'count_if({f})' for f in flags)} FROM _pm_typed")[0] if flags else 0
    if not total:
        return [], 0
    parts = [f"SELECT s._pm_line AS line, {lit(label)} AS field, s.{value}::VARCHAR AS value, {lit(msg)} AS message "
             f"FROM (SELECT _pm_line FROM _pm_typed WHERE _pm_bad{i}) t JOIN _pm_stage s ON s._pm_line = t._pm_line"
             for i, (_, label, value, msg) in enumerate(checks)]
    union = " UNION ALL ".join(parts)
    rows = con.execute(f"SELECT * FROM ({union}) ORDER BY line, field LIMIT {MAX_PROBLEMS}").fetchall()
    return [Problem(source, line, fld, val, msg) for line, fld, val, msg in rows], total


def _as_read(regex: str) -> str:
    """A totals regex as its line reads: each named group as <name>, escapes and anchors dropped."""
    text = re.sub(r"\(\?P<(\w+)>(?:[^()\\]|\\.|\([^()]*\))*\)", r"<\1>", regex)
    text = re.sub(r"\\s[*+?]?", " ", text)
    return re.sub(r"\\(.)", r"\1", text).strip("^$")


def _tie_out(con, ctx: _Ctx, source: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for check in ctx.profile.totals:
        rx = re.compile(check.regex)
        hit = next(((n, t, m) for n, t in ctx.raw.side_lines if (m := rx.search(t))), None)
        if hit is None:
            if not check.optional:
                ctx.problems.append(Problem(source, None, "totals", None,
                                            f"control totals line like {_as_read(check.regex)!r} not found"))
            continue
        line, text, m = hit
        where = "" if check.scope == "all" else f"WHERE type = {lit(check.scope)}"
        groups = {k: v for k, v in m.groupdict().items() if v is not None and k in TOTAL_GROUPS}
        # per money column: the sum of its values (unsigned) and payments minus refunds
        money = [TOTAL_GROUPS[g] for g in groups if g != "count"]
        sums = "".join(f", coalesce(sum(abs({c})), 0), coalesce(sum(CASE WHEN type = 'refund' THEN -abs({c}) "
                       f"ELSE abs({c}) END), 0)" for c in money)
        got = _one(con, f"SELECT count(*){sums} FROM _pm_typed {where}")
        n, figures = got[0], dict(zip(money, zip(got[1::2], got[2::2])))
        if "count" in groups:
            said = int(re.sub(r"[,\s]", "", groups["count"]))
            totals[f"{check.scope}_count"] = said
            if said != n:
                ctx.problems.append(Problem(source, line, "totals", text.strip(),
                                            f"totals say {said} {check.scope} rows, the file has {n}"))
        for group in groups:
            if group == "count":
                continue
            raw_amt = re.sub(_MONEY_JUNK, "", groups[group])
            try:
                said = parse_yuan(raw_amt.lstrip("+-")) if ctx.profile.amount.unit == "yuan" else int(raw_amt.lstrip("+-"))
            except ValueError:
                ctx.problems.append(Problem(source, line, "totals", groups[group], f"totals {group} unreadable"))
                continue
            total, net = figures[TOTAL_GROUPS[group]]
            signed = -said if raw_amt.startswith("-") else said
            ok = {"sum": said == total, "net": signed == net, "either": said == total or signed == net}[check.amount_mode]
            name = "amount" if group == "amount" else group
            totals[f"{check.scope}_{name}_fen"] = signed if check.amount_mode == "net" else said
            if not ok:
                y = format_yuan
                rows = {"sum": f"rows add up to {y(total)}", "net": f"payments minus refunds are {y(net)}",
                        "either": f"rows add up to {y(total)}, payments minus refunds to {y(net)}"}[check.amount_mode]
                what = {"amount": "", "fee": " of fees", "settle": " of settlement"}[group]
                ctx.problems.append(Problem(source, line, "totals", text.strip(),
                                            f"totals say {y(signed if check.amount_mode == 'net' else said)} 元{what} "
                                            f"for {check.scope} rows, {rows}"))
    return totals


#: a refund row naming neither the shop's refund number nor a refund id of the channel's, only the transaction id,
#: which these exports fill with its payment's serial (Lakala, ICBC, ABC, BOC, Cloud QuickPass, Huabei … samples):
#: an id of its own as its refund id, so a trade's two partial refunds are two records, not one listed twice
#: (helper-117). It reads as what it is, the serial, the refund's Beijing time and its amount in fen
#: (``184200131872119/20261120120005/3000``: a finance user finds the serial in the channel's console, where an opaque
#: digest would name nothing). The same row listed again, in this file or another export, gets the same id (its status,
#: fee and bill day are left out: a refund processing on one day's bill and successful on the next stays one record).
#: Asia/Shanghai is a fixed +08:00 since 1992; the connection's zone is UTC (``transform``), so the id is the same
#: wherever it is read.
def own_refund_id_sql(beijing: str) -> str:
    """SQL: a canonical transaction row's ``channel_refund_id``, its own id where it has none (above); ``beijing``:
    SQL of the row's Beijing wall-clock time (a workspace gives the rows it stored before these ids the same:
    ``workspace_commit.give_own_refund_ids``)."""
    return ("CASE WHEN type = 'refund' AND refund_no IS NULL AND channel_refund_id IS NULL AND channel_tx_id IS NOT NULL "
            f"THEN channel_tx_id || '/' || strftime({beijing}, '%Y%m%d%H%M%S') || '/' "
            "|| CAST(amount_fen AS VARCHAR) ELSE channel_refund_id END")


_OWN_REFUND_ID = own_refund_id_sql("occurred_at + INTERVAL 8 HOUR") + " AS channel_refund_id"


def transform(profile: Profile, raw: RawTable, source: str) -> tuple[pa.Table, dt.date | None, dict[str, int]]:
    """Canonical transactions (``TRANSACTION_ARROW``), the bill date and the printed control totals.

    For a ``target: instalment_flows`` profile the table is ``instalments.flows.FLOW_ARROW``
    instead and the date is None.
    """
    ctx = _Ctx(profile, raw, source)
    if ctx.problems:  # missing columns: nothing else can be checked meaningfully
        raise LoadError(ctx.problems[:MAX_PROBLEMS], total=len(ctx.problems),
                        hint=f"the file does not have the columns profile {profile.name} ({profile.path}) expects")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.register("_pm_stage", _stage(ctx))
        flows = profile.target == "instalment_flows"
        if flows:
            from paymatch.instalments.flows import profile_flow_sql, profile_flow_table
        typed, checks = profile_flow_sql(ctx) if flows else _typed_sql(ctx)
        con.execute(f"CREATE TEMP TABLE _pm_typed AS {typed}")
        found, total = _problem_rows(con, checks, source)
        problems = sorted(raw.problems + found, key=lambda p: (p.line or 0, p.field or ""))
        total += len(raw.problems)
        totals = _tie_out(con, ctx, source) if not problems else {}
        problems += ctx.problems
        total += len(ctx.problems)
        if problems:
            raise LoadError(problems[:MAX_PROBLEMS], total=total,
                            hint=f"fix the rows, or the profile {profile.name} ({profile.path or 'builtin'})")
        if flows:
            return profile_flow_table(con, profile, source), None, totals
        cols = ", ".join(_OWN_REFUND_ID if c == "channel_refund_id" else c
                         for c in TRANSACTION_ARROW.names if c not in ("channel", "src_file", "src_line"))
        table = con.sql(f"SELECT {lit(profile.channel)} AS channel, {cols}, {lit(source)} AS src_file, "
                        f"_pm_line AS src_line FROM _pm_typed WHERE _pm_keep").to_arrow_table()  # insertion (= line) order
        bill_date = _one(con, "SELECT max(bill_date) FROM _pm_typed WHERE _pm_keep")[0]
    finally:
        con.close()
    table = table.select(TRANSACTION_ARROW.names).cast(TRANSACTION_ARROW)
    return table, bill_date, totals
