"""Alipay 业务明细 (detail) bill -> canonical transactions, in bulk.

Columns are found by header name (order may change; '(元)' and '（元）' both accepted).
Rows are read by pyarrow's CSV reader as raw bytes: GBK never uses ',', '\\n' or tab as a
trail byte, so splitting the undecoded file is exact. Id, time and amount columns are ASCII and
cast to text directly; 业务类型 (few distinct values) is decoded per distinct value; 备注 is only
searched for the GBK bytes of 花呗 and the few hits decoded to confirm. Conversions run once in
DuckDB into a temp table that the checks, the totals tie-out and the output all read.

Canonical mapping (schema.TRANSACTION_ARROW, channel 'alipay'):
- 业务类型 交易 -> payment, 退款 -> refund; status 'success' (the bill lists completed business).
- channel_tx_id = 支付宝交易号 (a refund row carries its payment's 交易号), order_no = 商户订单号,
  refund_no = channel_refund_id = 退款批次号/请求号 (Alipay gives no separate refund id here). A refund made without
  out_request_no (a full refund needs none) is listed with the 商户订单号 there (Alipay's refund query: "如果在退款请求时
  未传入，则该值为创建交易时的商户订单号"): such a row names no refund number of the shop's, refund_no is empty
  (channel_refund_id keeps the value) and the engine pairs it by order and amount, as it does any refund without one.
- amount_fen = |订单金额|, settle_amount_fen = |商家实收| (Alipay prints refunds negative).
- fee_fen: the 服务费 charged on a 交易 row (positive), returned on a 退款 row (negative), whatever sign the bill
  prints it with: Alipay prints it from the merchant's side as far as we know (a charged fee negative, a fee
  returned positive), which no real bill with a fee has confirmed; canonical form is "fee charged = positive".
- occurred_at = 完成时间, else 创建时间, read as Asia/Shanghai.
- merchant_id: the '#账号：[...]' value. Alipay writes the 16-digit PID plus a 4-digit account
  suffix (…0156); the PID alone is kept so that bill rows and notifications (seller_id) agree.
- method 'huabei' when 备注 mentions 花呗, or a column whose name contains 花呗 holds a
  non-zero value; else 'alipay'. (The standard 25-column bill has no fund-channel column.)
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.channels.alipay.layout import DETAIL_END, DETAIL_START, Frame, covered_days, locate, read_totals
from paymatch.channels.base import ParsedBill
from paymatch.channels.profile_xlsx import EXCEL_ERROR_TEXT, EXCEL_ROUNDED_TEXT, sql_excel_error, sql_excel_rounded
from paymatch.errors import LoadError, Problem
from paymatch.money import format_yuan, sql_yuan_to_fen
from paymatch.schema import BILL_TIME_TEXT, TRANSACTION_ARROW, TZ, sql_strptime_in_years

#: role -> header name (normalised, full-width parentheses)
COLUMNS = {
    "tx_id": "支付宝交易号", "order_no": "商户订单号", "biz_type": "业务类型",
    "created": "创建时间", "finished": "完成时间",
    "order_amt": "订单金额（元）", "settle_amt": "商家实收（元）", "mdisc": "商家优惠（元）",
    "refund_no": "退款批次号/请求号", "fee": "服务费（元）", "remark": "备注",
}
REQUIRED = ("tx_id", "order_no", "biz_type", "order_amt", "settle_amt")
MAX_PROBLEMS = 50


#: a row's time: 完成时间, else 创建时间 (a row not finished), in the years a payment can be of
_TIME = sql_strptime_in_years("coalesce(nullif(finished, ''), nullif(created, ''))", "%Y-%m-%d %H:%M:%S")

def merchant_from_account(account: str | None) -> str | None:
    """'20880211096256330156' -> '2088021109625633' (PID without the 4-digit account suffix)."""
    if account and re.fullmatch(r"2088\d{16}", account):
        return account[:16]
    return account or None


def _read_rows(data: bytes, frame: Frame, source: str, names: list[str], keep: list[str]) -> pa.Table:
    if frame.body_end <= frame.body_start:  # a day without business: header, then the end marker
        return pa.table({n: pa.array([], pa.binary()) for n in keep})
    body = pa.py_buffer(data)[frame.body_start:frame.body_end]
    try:
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.binary() for n in names}, include_columns=keep,
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise _row_shape_error(data, frame, source, len(names), exc) from None


def _row_shape_error(data: bytes, frame: Frame, source: str, width: int, exc: Exception) -> LoadError:
    """Error path only: find the rows whose column count differs from the header, with lines."""
    text = data[frame.body_start:frame.body_end].decode(frame.encoding, errors="replace")
    bad = [Problem(source, frame.header_line + 1 + i, None, ",".join(cells)[:80],
                   f"expected {width} columns, got {len(cells)}")
           for i, cells in enumerate(csv.reader(io.StringIO(text))) if len(cells) != width]
    if not bad:
        bad = [Problem(source, None, None, None, f"unreadable rows: {exc}")]
    return LoadError(bad[:MAX_PROBLEMS], total=len(bad), hint="the bill's rows do not match its header")


def _text(col: pa.ChunkedArray, enc: str, where: tuple[str, int, str] | None = None) -> pa.ChunkedArray:
    """Binary column -> trimmed text. ASCII/UTF-8 casts directly; otherwise decode per distinct value.

    ``where`` (source, line of the first row, field): a value that is not ``enc`` text (a UTF-8 line pasted into the
    GBK bill) refuses the file naming its line and field (it was decoded with U+FFFD in place of its characters and
    stored so: helper-107); without it such bytes are replaced."""
    try:
        txt = pc.cast(col, pa.string())
    except pa.ArrowInvalid:
        enc_col = pc.dictionary_encode(col).combine_chunks()
        values = []
        for k, v in enumerate(enc_col.dictionary.to_pylist()):
            try:
                values.append(v.decode(enc))
            except UnicodeDecodeError:
                if where is not None:
                    source, first_line, field = where
                    row = pc.index(enc_col.indices, k).as_py()
                    raise LoadError([Problem(source, first_line + row, field, v.decode(enc, "replace")[:80],
                                             f"not {enc} text, as the rest of the file is (a line in another "
                                             "encoding)")], hint="download the bill again") from None
                values.append(v.decode(enc, errors="replace"))
        txt = pa.DictionaryArray.from_arrays(enc_col.indices, pa.array(values, pa.string())).cast(pa.string())
    return pc.utf8_trim(txt, characters="\t \r")


def row_index(n: int) -> pa.Array:
    """0..n-1 as int64, built in Arrow (no numpy dependency, no Python loop)."""
    if n == 0:
        return pa.array([], pa.int64())
    return pc.subtract(pc.cumulative_sum(pa.nulls(n, pa.int64()).fill_null(1)), 1)


def _huabei(remark: pa.ChunkedArray | None, idx: pa.Array, enc: str) -> pa.Array:
    """Per row: does 备注 mention 花呗? A byte search on the undecoded column finds candidates,
    decoding just those confirms them (a GBK byte pattern can match across character boundaries)."""
    if remark is None or len(remark) == 0:
        return pc.equal(idx, -1)
    candidates = pc.indices_nonzero(pc.match_substring(remark, pattern="花呗".encode(enc)))
    texts = pc.take(remark, candidates).to_pylist()
    confirmed = [i for i, t in zip(candidates.to_pylist(), texts) if "花呗" in t.decode(enc, "replace")]
    return pc.is_in(idx, value_set=pa.array(confirmed, pa.int64()))


def parse_detail(data: bytes, source: str) -> ParsedBill:
    """Parse a 业务明细 CSV (bytes as delivered) into a ParsedBill; LoadError on any problem."""
    frame = locate(data, source, DETAIL_START, DETAIL_END)
    roles = {role: frame.header.index(name) for role, name in COLUMNS.items() if name in frame.header}
    hb_cols = [i for i, h in enumerate(frame.header) if "花呗" in h]
    missing = [COLUMNS[r] for r in REQUIRED if r not in roles]
    if "created" not in roles and "finished" not in roles:
        missing.append("完成时间")
    if missing:
        raise LoadError([Problem(source, frame.header_line, m, None, "column missing") for m in missing],
                        hint="unknown Alipay bill layout")
    names = [f"_pm_c{i}" for i in range(len(frame.header))]
    keep = sorted({names[i] for i in [*roles.values(), *hb_cols]})
    raw = _read_rows(data, frame, source, names, keep)
    totals = read_totals(frame, source)
    n = raw.num_rows

    idx = row_index(n)
    cols: dict[str, pa.ChunkedArray | pa.Array] = {"_pm_idx": idx}
    for role in ("tx_id", "order_no", "created", "finished", "order_amt", "settle_amt",
                 "mdisc", "refund_no", "fee"):
        cols[role] = (_text(raw.column(names[roles[role]]), frame.encoding,
                            (source, frame.header_line + 1, frame.header[roles[role]])) if role in roles
                      else pa.nulls(n, pa.string()))
    cols["biz"] = _text(raw.column(names[roles["biz_type"]]), frame.encoding,
                        (source, frame.header_line + 1, frame.header[roles["biz_type"]]))
    hb = _huabei(raw.column(names[roles["remark"]]) if "remark" in roles else None, idx, frame.encoding)
    for i in hb_cols:  # a column named after 花呗 with a non-zero value
        v = _text(raw.column(names[i]), frame.encoding)
        hb = pc.or_(hb, pc.fill_null(pc.invert(pc.is_in(v, pa.array(["", "0", "0.00", "否"]))), False))
    cols["huabei"] = hb
    rows = pa.table(cols)
    return _convert(rows, frame, source, data, totals)


def row_problems(con: duckdb.DuckDBPyConnection, checks: list[tuple[str, str, str, str]], source: str,
                 first_line: int, value) -> tuple[list[Problem], int]:
    """Run ``checks`` — (role, field as printed, condition on the table ``conv``, message) — over ``conv``.

    Returns the first ``MAX_PROBLEMS`` failures as Problems (line = ``first_line`` + the row's ``_pm_idx``,
    value = ``value(role, _pm_idx)``, the cell as printed) and how many there are in all.
    """
    union = " UNION ALL ".join(
        f"SELECT _pm_idx, {n} AS check_no FROM conv WHERE coalesce({cond}, FALSE)"
        for n, (_, _, cond, _) in enumerate(checks))
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if not total:
        return [], 0
    found = con.execute(f"SELECT * FROM ({union}) ORDER BY _pm_idx, check_no LIMIT {MAX_PROBLEMS}").fetchall()
    return [Problem(source, first_line + idx, checks[n][1], value(checks[n][0], idx), checks[n][3])
            for idx, n in found], total


def _problems(con: duckdb.DuckDBPyConnection, rows: pa.Table, frame: Frame, source: str) -> None:
    """Every bad row of the converted table ``conv``, with the raw value from ``rows``."""
    checks = [
        ("order_amt", COLUMNS["order_amt"], "amount_fen IS NULL", "not a yuan amount"),
        ("settle_amt", COLUMNS["settle_amt"], "settle_amount_fen IS NULL", "not a yuan amount"),
        ("fee", COLUMNS["fee"], "_pm_fee_bad", "not a yuan amount"),
        ("mdisc", COLUMNS["mdisc"], "_pm_mdisc_bad", "not a yuan amount"),
        ("biz", COLUMNS["biz_type"], "type IS NULL", "业务类型 is neither 交易 nor 退款"),
        ("tx_id", COLUMNS["tx_id"], "coalesce(channel_tx_id, '') = ''", "empty 支付宝交易号"),
        ("finished", COLUMNS["finished"], "occurred_at IS NULL", BILL_TIME_TEXT),
        ("order_amt", COLUMNS["order_amt"], "(type = 'payment' AND _pm_order < 0) OR (type = 'refund' AND _pm_order > 0)",
         "sign does not match 业务类型 (refunds are negative)"),
    ]
    # an id damaged by a bill someone opened in Excel and saved again: a failed formula's #N/A, or the 28-digit
    # 支付宝交易号 (a numeric 商户订单号) read as a number once its guarding tab was lost (2.01909E+27)
    # (flagged in the conversion pass, ``_pm_edited``: the six checks run only on a bill that has such an id)
    if con.execute("SELECT count(*) FROM conv WHERE _pm_edited").fetchall()[0][0]:
        for role, col in _IDS.items():
            checks += [(role, COLUMNS[role], sql_excel_error(col), EXCEL_ERROR_TEXT),
                       (role, COLUMNS[role], sql_excel_rounded(col), EXCEL_ROUNDED_TEXT)]

    def value(col: str, idx: int):
        v = rows.column(col)[idx].as_py()
        return rows.column("created")[idx].as_py() if col == "finished" and not v else v

    problems, total = row_problems(con, checks, source, frame.header_line + 1, value)
    if total:
        excel = any(p.field in (COLUMNS["created"], COLUMNS["finished"]) and _EXCEL_TIME.fullmatch(str(p.value or ""))
                    for p in problems)
        raise LoadError(problems, total=total, hint=(
            "the bill was opened in Excel and saved again (Excel rewrites its times as '2019/9/16 10:55', without "
            "the seconds, and may round its ids): give the 业务明细 as downloaded (nothing from it was stored)"
            if excel else "fix or download the bill again; nothing from it was stored"))


#: a time as Excel writes it back into a CSV on a Chinese Windows (the bill's '2019-09-16 10:55:23' once opened)
_EXCEL_TIME = re.compile(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}(:\d{2})?")


#: id roles → their canonical column; an id damaged by Excel (an error value, a rounded number) refuses the bill
_IDS = {"tx_id": "channel_tx_id", "order_no": "order_no", "refund_no": "refund_no"}
_EDITED = "(" + " OR ".join(f"{sql_excel_error(c)} OR {sql_excel_rounded(c)}" for c in _IDS) + ")"


def _convert(rows: pa.Table, frame: Frame, source: str, data: bytes, totals: dict) -> ParsedBill:
    # a bill of several days (a month's, bill_date=yyyy-MM: 起始日期 the 1st, 终止日期 the next month's 1st): each row
    # is on the bill of its own day, not all on the first (helper-50); a day's bill ends at the next day's 00:00
    several_days = frame.start is not None and frame.end is not None and (frame.end - frame.start).days > 1
    con = duckdb.connect()
    try:
        con.execute(f"SET TimeZone = '{TZ}'")
        con.register("_pm_raw", rows)
        # One pass converts every row into its canonical form plus a few _pm_ helper columns;
        # the checks, the tie-out and the output then read that Arrow table.
        # 业务类型 decides the canonical type; anything else stays NULL and is reported.
        conv = con.sql(f"""
            WITH r AS (
                SELECT *, CASE biz WHEN '交易' THEN 'payment' WHEN '退款' THEN 'refund' END AS type,
                    {sql_yuan_to_fen('order_amt')} AS order_fen, {sql_yuan_to_fen('settle_amt')} AS settle_fen,
                    {sql_yuan_to_fen('fee')} AS fee_printed, {sql_yuan_to_fen('mdisc')} AS mdisc_fen
                FROM _pm_raw)
            SELECT 'alipay' AS channel, ? AS merchant_id, tx_id AS channel_tx_id,
                   nullif(order_no, '') AS order_no, type,
                   CASE WHEN type = 'refund' AND refund_no IS DISTINCT FROM order_no THEN nullif(refund_no, '') END
                       AS refund_no,
                   CASE WHEN type = 'refund' THEN nullif(refund_no, '') END AS channel_refund_id,
                   abs(order_fen) AS amount_fen, {_FEE_SQL} AS fee_fen, abs(settle_fen) AS settle_amount_fen,
                   'success' AS status,
                   CAST({_TIME} AS TIMESTAMPTZ) AS occurred_at,
                   coalesce(?::DATE, CAST({_TIME} AS DATE)) AS bill_date,
                   CASE WHEN huabei THEN 'huabei' ELSE 'alipay' END AS method,
                   ? AS src_file, ? + 1 + _pm_idx AS src_line,
                   _pm_idx, order_fen AS _pm_order, settle_fen AS _pm_settle, mdisc_fen AS _pm_mdisc,
                   fee_printed AS _pm_fee_printed,
                   fee <> '' AND fee_printed IS NULL AS _pm_fee_bad, {_EDITED} AS _pm_edited,
                   mdisc <> '' AND mdisc_fen IS NULL AS _pm_mdisc_bad
            FROM r ORDER BY _pm_idx""",
            params=[merchant_from_account(frame.account), None if several_days else frame.start, source,
                    frame.header_line]).to_arrow_table()
        con.register("conv", conv)
        _problems(con, rows, frame, source)
        _tie_out(con, totals, frame, source)
        day = None if several_days else frame.start
        if day is None and conv.num_rows:  # no '#起始日期' line, or a month's bill: the latest local day of the rows
            day = con.execute("SELECT max(CAST(occurred_at AS DATE)) FROM conv").fetchall()[0][0]
        if frame.start is None and conv.num_rows:  # (a month's rows keep their own days)
            conv = conv.set_column(conv.schema.get_field_index("bill_date"), "bill_date",
                                   pa.repeat(pa.scalar(day, pa.date32()), conv.num_rows))
    finally:
        con.close()
    return ParsedBill(
        channel="alipay", kind="alipay_detail", source=source, sha256=hashlib.sha256(data).hexdigest(),
        bill_date=day, transactions=conv.select(TRANSACTION_ARROW.names).cast(TRANSACTION_ARROW),
        # the 服务费 as printed, summed: what the 汇总 beside it prints (summary.detail_figures)
        totals={**{k: v for k, v in totals.items() if not k.startswith("_")},
                "fee_printed_fen": pc.sum(conv.column("_pm_fee_printed")).as_py() or 0},
        period=_period(frame),
    )


def _period(frame: Frame) -> tuple[dt.date, dt.date] | None:
    """The days '#起始日期 … 终止日期' cover: the end is the next period's first moment (a day's bill ends at the
    next day's 00:00), so its day is not covered unless it is the start's own day."""
    return covered_days(frame.start, frame.end)


#: fee_fen from the printed 服务费 (see the module docstring): its size, its direction from the row's type
_FEE_SQL = "CASE WHEN type = 'refund' THEN -abs(fee_printed) ELSE abs(fee_printed) END"


def _tie_out(con: duckdb.DuckDBPyConnection, totals: dict, frame: Frame, source: str) -> None:
    """The '#交易合计' / '#退款合计' lines against the rows: counts, 商家实收, 商家优惠 (as printed)."""
    got = con.execute("""
        SELECT type, count(*), sum(_pm_settle), sum(_pm_mdisc), sum(_pm_order) FROM conv GROUP BY type""").fetchall()
    sums = {t: (c, s or 0, d, o or 0) for t, c, s, d, o in got}
    problems = []
    for kind, label in (("payment", "#交易合计"), ("refund", "#退款合计")):
        count, settle, disc, order = sums.get(kind, (0, 0, None, 0))
        rel = totals.get(f"_{kind}_rel")
        checks = [("count", count, "笔"), ("settle_fen", settle, "商家实收")]
        if totals.get(f"{kind}_amount_fen") == order:  # older wording: 交易金额 = the 订单金额 sum
            checks.append(("amount_fen", order, "金额"))
        else:
            checks.append(("amount_fen", settle, "金额"))
        if disc is not None:
            checks.append(("merchant_discount_fen", disc, "商家优惠"))
        for key, actual, what in checks:
            printed = totals.get(f"{kind}_{key}")
            if printed is not None and printed != actual:
                shown = (str(printed), str(actual)) if key == "count" else (format_yuan(printed), format_yuan(actual))
                problems.append(Problem(source, None if rel is None else frame.line_of(rel), label, shown[0],
                                        f"totals line says {what} {shown[0]}, the rows add up to {shown[1]}"))
    if problems:
        raise LoadError(problems, hint="the bill's totals do not tie out with its rows; download it again")
