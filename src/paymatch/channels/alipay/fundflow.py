"""Alipay 账务明细 (bill_type=signcustomer): every money movement on the merchant's Alipay account.

Alipay serves it like the 业务明细: a zip holding 账号_日期_账务明细.csv and 账号_日期_账务明细(汇总).csv,
GBK, values often followed by a tab, a '#' frame around the table::

    #支付宝账务明细查询
    #账号：[20880211096256330156]
    #起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]
    #-----------------------------------------账务明细列表----------------------------------------
    账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注
    <one line per movement: income in one column, expense (printed negative) in the other>
    #-----------------------------------------账务明细列表结束------------------------------------
    #支出合计：2笔，共-30.57元
    #收入合计：1笔，共100.00元
    #导出时间：[2019年09月17日 05:46:49]

The 汇总 file has one line per 类型 (收入笔数, 收入金额（+元）, 支出笔数, 支出金额（-元）, 总金额（元）), maybe a
合计 line. Columns are found by name (order may change; newer exports add 业务描述 and more). The
layout was learnt from public importers and the open-platform description of signcustomer; the
汇总 file's exact wording is not byte-verified, so it is read leniently (see ``parse_fund_summary``).

These are no transactions (a payment, its fee and a withdrawal are separate movements), so the
rows go to ``ParsedBill.extra`` in the WeChat fund-flow schema (``FUNDFLOW_ARROW``) and the bill's
kind is ``fundflow``, which ``Workspace.store_bill`` stores in the ``fund_flows`` table:

- booked_at = 发生时间 (Asia/Shanghai), flow_no = 账务流水号, wx_business_no = 业务流水号 (for a trade,
  the 支付宝交易号), voucher_no = 商户订单号, name = 商品名称 (else 业务描述), business_type = 业务类型,
  applicant = 对方账号, note = 备注.
- direction 'in' when 收入金额 is non-zero, 'out' when 支出金额 is; amount_fen the absolute amount;
  balance_fen = 账户余额 (NULL when blank). A row with both or neither, or a negative 收入, is refused.
- '#收入合计' / '#支出合计' (count and amount) must tie out with the rows; at least one is required.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re

import duckdb
import pyarrow as pa

from paymatch.channels.alipay.detail import _read_rows, _text, row_index, row_problems
from paymatch.channels.alipay.layout import (
    ENCODINGS, FUND_END, FUND_START, Frame, decode_head, locate, norm_header,
)
from paymatch.channels.base import ParsedBill
from paymatch.channels.wechat.fundflow import FUNDFLOW_ARROW
from paymatch.errors import LoadError, Problem
from paymatch.money import format_yuan, parse_yuan, sql_yuan_to_fen
from paymatch.schema import BILL_TIME_TEXT, TRANSACTION_ARROW, TZ, sql_strptime_in_years

KIND = "fundflow"
SUMMARY_KIND = "alipay_fund_summary"

#: role -> header name (normalised: full-width parentheses)
COLUMNS = {
    "flow_no": "账务流水号", "business_no": "业务流水号", "order_no": "商户订单号", "goods": "商品名称",
    "time": "发生时间", "counterparty": "对方账号", "income": "收入金额（+元）", "expense": "支出金额（-元）",
    "balance": "账户余额（元）", "via": "交易渠道", "biz_type": "业务类型", "remark": "备注", "desc": "业务描述",
}
REQUIRED = ("flow_no", "time", "income", "expense")


def sniff_detail(head: str) -> bool:
    """A 账务明细 table: its start marker and its own columns in the decoded head."""
    return FUND_START in head and "账务流水号" in head and "收入金额" in head and "支出金额" in head


def sniff_summary(head: str) -> bool:
    """A 账务明细(汇总) file: '账务汇总' in a '#' line and the per-type count columns."""
    return "#" in head and "账务汇总" in head and "收入笔数" in head and "支出笔数" in head


# --- detail ----------------------------------------------------------------------------------------

_TOTAL = re.compile(r"(收入|支出)合计\s*[：:]\s*(\d+)\s*笔\s*[，,]?\s*共\s*([+-]?[\d,]*\d(?:\.\d+)?)\s*元")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _total_amount(raw: str) -> int:
    """Fen of a totals-line amount; strict thousands grouping ('14,989.00') is the only extra allowed."""
    if "," in raw:
        if not _GROUPED.fullmatch(raw):
            raise ValueError(f"not a yuan amount: {raw!r}")
        raw = raw.replace(",", "")
    return parse_yuan(raw)


def read_fund_totals(frame: Frame, source: str) -> dict[str, int]:
    """'#收入合计：N笔，共X元' / '#支出合计：…' -> in_count/in_fen/out_count/out_fen (amounts absolute),
    plus '_in_rel' / '_out_rel' (the line below the end marker). LoadError when neither is there."""
    totals: dict[str, int] = {}
    for rel, text in frame.trailer:
        m = _TOTAL.search(text)
        if not m:
            if re.search(r"(收入|支出)合计", text):
                raise LoadError([Problem(source, frame.line_of(rel), None, text[:80],
                                         "totals line is not 'N笔，共X元'")])
            continue
        side = "in" if m.group(1) == "收入" else "out"
        try:
            amount = _total_amount(m.group(3))
        except ValueError as exc:
            raise LoadError([Problem(source, frame.line_of(rel), f"#{m.group(1)}合计", m.group(3), str(exc))]) from None
        totals[f"{side}_count"] = int(m.group(2))
        totals[f"{side}_fen"] = abs(amount)
        totals[f"_{side}_rel"] = rel
    if "in_count" not in totals and "out_count" not in totals:
        raise LoadError([Problem(source, None, None, None, "no '#收入合计' / '#支出合计' totals line after the table")],
                        hint="the bill looks truncated; download it again")
    return totals


def parse_fund_detail(data: bytes, source: str) -> ParsedBill:
    """Parse a 账务明细 CSV (bytes as delivered, GBK or UTF-8) into a fund-flow ParsedBill."""
    frame = locate(data, source, FUND_START, FUND_END)
    roles = {role: frame.header.index(name) for role, name in COLUMNS.items() if name in frame.header}
    missing = [COLUMNS[r] for r in REQUIRED if r not in roles]
    if missing:
        raise LoadError([Problem(source, frame.header_line, m, None, "column missing") for m in missing],
                        hint="unknown Alipay 账务明细 layout")
    names = [f"_pm_c{i}" for i in range(len(frame.header))]
    raw = _read_rows(data, frame, source, names, sorted({names[i] for i in roles.values()}))
    totals = read_fund_totals(frame, source)
    n = raw.num_rows
    cols: dict[str, pa.Array | pa.ChunkedArray] = {"_pm_idx": row_index(n)}
    for role in COLUMNS:
        cols[role] = (_text(raw.column(names[roles[role]]), frame.encoding,
                            (source, frame.header_line + 1, frame.header[roles[role]])) if role in roles
                      else pa.nulls(n, pa.string()))
    rows = pa.table(cols)
    con = duckdb.connect()
    try:
        con.execute(f"SET TimeZone = '{TZ}'")
        con.register("_pm_raw", rows)
        conv = con.sql(_convert_sql(), params=[frame.header_line]).to_arrow_table()
        con.register("conv", conv)
        _problems(con, rows, frame, source)
        _tie_out(con, totals, frame, source)
        day = frame.start
        if day is None and n:
            day = con.execute("SELECT max(CAST(booked_at AS DATE)) FROM conv").fetchall()[0][0]
    finally:
        con.close()
    extra = conv.select(FUNDFLOW_ARROW.names).cast(FUNDFLOW_ARROW)
    return ParsedBill(
        channel="alipay", kind=KIND, source=source, sha256=hashlib.sha256(data).hexdigest(), bill_date=day,
        transactions=TRANSACTION_ARROW.empty_table(), totals={k: v for k, v in totals.items() if not k.startswith("_")},
        extra=extra,
    )


def _convert_sql() -> str:
    def fen(col: str) -> str:
        return f"CASE WHEN {col} = '' THEN 0 ELSE {sql_yuan_to_fen(col)} END"

    return f"""
        WITH r AS (
            SELECT *, {fen('income')} AS in_f, {fen('expense')} AS out_f,
                   CASE WHEN coalesce(balance, '') = '' THEN NULL ELSE {sql_yuan_to_fen('balance')} END AS bal_f,
                   coalesce({sql_strptime_in_years('time', '%Y-%m-%d %H:%M:%S')},
                            {sql_strptime_in_years('time', '%Y/%m/%d %H:%M:%S')}) AS ts
            FROM _pm_raw)
        SELECT CAST(ts AS TIMESTAMPTZ) AS booked_at,
               nullif(business_no, '') AS wx_business_no, nullif(flow_no, '') AS flow_no,
               coalesce(nullif(goods, ''), nullif("desc", '')) AS name, nullif(biz_type, '') AS business_type,
               CASE WHEN in_f <> 0 AND out_f = 0 THEN 'in' WHEN out_f <> 0 AND in_f = 0 THEN 'out' END AS direction,
               CASE WHEN in_f <> 0 THEN abs(in_f) ELSE abs(out_f) END AS amount_fen, bal_f AS balance_fen,
               nullif(counterparty, '') AS applicant, nullif(remark, '') AS note, nullif(order_no, '') AS voucher_no,
               ? + 1 + _pm_idx AS src_line,
               _pm_idx, in_f AS _pm_in, out_f AS _pm_out, ts IS NULL AS _pm_ts_bad,
               coalesce(balance, '') <> '' AND bal_f IS NULL AS _pm_bal_bad
        FROM r ORDER BY _pm_idx"""


#: (role, field as printed, condition on ``conv``, message)
_CHECKS = [
    ("flow_no", COLUMNS["flow_no"], "coalesce(flow_no, '') = ''", "empty 账务流水号"),
    ("time", COLUMNS["time"], "_pm_ts_bad", BILL_TIME_TEXT),
    ("income", COLUMNS["income"], "_pm_in IS NULL", "not a yuan amount with at most 2 decimals"),
    ("expense", COLUMNS["expense"], "_pm_out IS NULL", "not a yuan amount with at most 2 decimals"),
    ("balance", COLUMNS["balance"], "_pm_bal_bad", "not a yuan amount with at most 2 decimals"),
    ("income", COLUMNS["income"], "_pm_in < 0", "收入 is negative (an expense belongs in 支出金额)"),
    ("expense", COLUMNS["expense"], "_pm_in <> 0 AND _pm_out <> 0",
     "收入 and 支出 both non-zero: a movement goes one way"),
    ("income", COLUMNS["income"], "_pm_in = 0 AND _pm_out = 0", "neither 收入 nor 支出 moves money"),
]


def _problems(con: duckdb.DuckDBPyConnection, rows: pa.Table, frame: Frame, source: str) -> None:
    """Raise LoadError listing every bad row as file:line [field] with the value as printed."""
    problems, total = row_problems(con, _CHECKS, source, frame.header_line + 1,
                                   lambda role, idx: rows.column(role)[idx].as_py())
    if total:
        raise LoadError(problems, total=total, hint="fix or download the 账务明细 again; nothing from it was stored")


def _tie_out(con: duckdb.DuckDBPyConnection, totals: dict, frame: Frame, source: str) -> None:
    """The printed '#收入合计' / '#支出合计' against the rows: count and amount per direction."""
    got = dict.fromkeys(("in", "out"), (0, 0))
    for direction, count, fen in con.execute(
            "SELECT direction, count(*), sum(amount_fen) FROM conv GROUP BY direction").fetchall():
        got[direction] = (count, int(fen or 0))
    problems = []
    for side, label in (("in", "#收入合计"), ("out", "#支出合计")):
        if f"{side}_count" not in totals:
            continue
        line = frame.line_of(totals[f"_{side}_rel"])
        count, fen = got[side]
        if totals[f"{side}_count"] != count:
            problems.append(Problem(source, line, label, str(totals[f"{side}_count"]),
                                    f"totals line says {totals[f'{side}_count']}笔, the rows are {count}"))
        if totals[f"{side}_fen"] != fen:
            problems.append(Problem(source, line, label, format_yuan(totals[f"{side}_fen"]),
                                    f"totals line says {format_yuan(totals[f'{side}_fen'])} 元, "
                                    f"the rows add up to {format_yuan(fen)}"))
    if problems:
        raise LoadError(problems, hint="the 账务明细's totals do not tie out with its rows; download it again "
                                       "(nothing from it was stored)")


# --- summary (账务明细(汇总)) -----------------------------------------------------------------------

SUMMARY_FIELDS = {"in_count": "收入笔数", "in_fen": "收入金额（+元）", "out_count": "支出笔数",
                  "out_fen": "支出金额（-元）"}
SUMMARY_SCHEMA = pa.schema([("type", pa.string()), *[(k, pa.int64()) for k in SUMMARY_FIELDS],
                            ("src_line", pa.int64())])


def _decode(data: bytes, source: str) -> str:
    head = decode_head(data)
    enc = head[1] if head else ENCODINGS[-1]
    try:
        return data.decode(enc).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError([Problem(source, line, None, None, f"not {enc} text")],
                        hint="Alipay bills are GBK-encoded CSV files; pass the file as downloaded") from None


def parse_fund_summary(data: bytes, source: str) -> ParsedBill:
    """Parse a 账务明细(汇总) CSV: ``extra`` holds one row per 类型, ``totals`` the whole (合计 row if
    printed, which must equal the sum of the others; else their sum). Amounts absolute, in fen.

    Read leniently: the header is the first line that is neither blank nor '#', the rows follow up
    to the next '#' line; the first column names the type (类型 / 业务类型 / anything).
    """
    text = _decode(data, source)
    lines = text.splitlines()
    header_at = next((i for i, t in enumerate(lines) if t.strip() and not t.lstrip().startswith("#")), None)
    if header_at is None:
        raise LoadError([Problem(source, None, None, None, "no header line in the 账务明细(汇总)")])
    header = [norm_header(c) for c in next(csv.reader([lines[header_at]]))]
    where = {k: header.index(h) for k, h in SUMMARY_FIELDS.items() if h in header}
    missing = [h for k, h in SUMMARY_FIELDS.items() if k not in where]
    if missing:
        raise LoadError([Problem(source, header_at + 1, m, None, "column missing") for m in missing],
                        hint="unknown Alipay 账务明细(汇总) layout")
    kinds: list[dict] = []
    total: dict | None = None
    problems: list[Problem] = []
    for i in range(header_at + 1, len(lines)):
        if lines[i].lstrip().startswith("#"):
            break
        cells = [c.strip("\t \r") for c in next(csv.reader([lines[i]]), [])]
        if not any(cells):
            continue
        row: dict = {"type": cells[0] or None, "src_line": i + 1}
        for key, col in where.items():
            raw = cells[col] if col < len(cells) else ""
            try:
                if key.endswith("count"):
                    if raw and not raw.isdigit():
                        raise ValueError(f"not a count: {raw!r}")
                    row[key] = int(raw or 0)
                else:
                    row[key] = abs(_total_amount(raw)) if raw else 0
            except ValueError as exc:
                problems.append(Problem(source, i + 1, SUMMARY_FIELDS[key], raw, str(exc)))
        if norm_header(cells[0]) in ("合计", "总计"):
            total = row
        else:
            kinds.append(row)
    if problems:
        raise LoadError(problems)
    sums = {k: sum(r.get(k, 0) for r in kinds) for k in SUMMARY_FIELDS}
    if total is not None and kinds:
        for key, label in SUMMARY_FIELDS.items():
            if total[key] != sums[key]:
                shown = str if key.endswith("count") else format_yuan
                problems.append(Problem(source, total["src_line"], label, shown(total[key]),
                                        f"合计 differs from the sum of the type rows ({shown(sums[key])})"))
    if problems:
        raise LoadError(problems, hint="the 账务明细(汇总) does not add up; download the bill again")
    frame_dates = re.search(r"起始日期[：:]\s*\[(\d{4})年(\d{2})月(\d{2})日", text)
    day = dt.date(*map(int, frame_dates.groups())) if frame_dates else None
    return ParsedBill(
        channel="alipay", kind=SUMMARY_KIND, source=source, sha256=hashlib.sha256(data).hexdigest(), bill_date=day,
        transactions=TRANSACTION_ARROW.empty_table(),
        totals={k: total[k] for k in SUMMARY_FIELDS} if total is not None else sums,
        extra=pa.Table.from_pylist(kinds, schema=SUMMARY_SCHEMA),
    )


def fund_figures(detail: ParsedBill) -> dict[str, int]:
    """The 账务明细's rows counted and summed per direction (absolute fen)."""
    out = dict.fromkeys(SUMMARY_FIELDS, 0)
    if detail.extra is None:
        return out
    for row in detail.extra.group_by("direction").aggregate([("amount_fen", "count"), ("amount_fen", "sum")]).to_pylist():
        side = row["direction"]
        out[f"{side}_count"], out[f"{side}_fen"] = row["amount_fen_count"], row["amount_fen_sum"] or 0
    return out


def cross_check_fund(detail: ParsedBill, summary: ParsedBill) -> None:
    """Raise LoadError naming both files when the 汇总 and the 账务明细 rows disagree."""
    got = fund_figures(detail)
    problems = []
    for key, label in SUMMARY_FIELDS.items():
        want = summary.totals.get(key)
        if want is not None and want != got[key]:
            shown = str if key.endswith("count") else format_yuan
            problems.append(Problem(summary.source, None, label, shown(want),
                                    f"汇总 says {shown(want)}, {detail.source} adds up to {shown(got[key])}"))
    if problems:
        raise LoadError(problems, hint="the 账务明细 and its 汇总 disagree; download the bill again")


__all__ = ["KIND", "SUMMARY_KIND", "parse_fund_detail", "parse_fund_summary", "cross_check_fund",
           "sniff_detail", "sniff_summary"]
