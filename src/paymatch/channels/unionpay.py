"""UnionPay 全渠道 (online gateway, ACP) merchant reconciliation file: the ZM 一般交易流水 file.

UnionPay delivers, per settle date, a zip with ``INN<yymmdd>88ZM_<merId>`` (general transaction
flow) and ``…ZME_…`` (error/exception flow). This module reads the ZM file, the one that lists
the merchant's transactions. Layout as published in UnionPay's ACP SDK demo (``parseZMFile``,
《全渠道平台接入接口规范 第3部分 文件接口》 6.1): GBK text, one transaction per line, fixed-width fields
counted in *bytes*, each followed by one space; no header and no trailer. Fields (width):

    0 交易代码 3 · 1 代理机构标识码 11 · 2 发送机构标识码 11 · 3 系统跟踪号 6 · 4 交易传输时间 10 (MMDDhhmmss)
    5 账号 19 · 6 交易金额 12 (fen) · 7 商户类别 4 · 8 终端类型 2 · 9 查询流水号 21 · 10 支付方式(旧) 2
    11 商户订单号 32 · 12 支付卡类型 2 · 13 原始交易的系统跟踪号 6 · 14 原始交易日期时间 10
    15 商户手续费 13 · 16 结算金额 13 · 17 支付方式 4 · 18 集团商户代码 15 · 19 交易类型 2 · 20 交易子类 2
    21 业务类型 6 · 22 账号类型 2 · 23 账单类型 4 · 24 账单号码 32 · 25 交互方式 1 · 26 原交易查询流水号 21
    27 商户代码 15 · 28 分账入账方式 1 · 29 二级商户代码 15 · 30 二级商户简称 32 · 31 二级商户分账入账金额 13
    32 清算净额 13 · 33 终端号 8 · 34 商户自定义域 32 · 35 优惠金额 13 · 36 发票金额 13
    37 分期付款附加手续费 12 · 38 分期付款期数 2 · 39 交易介质 1 · 40 原始交易订单号 32 · 41 保留使用 98

What is implemented (a documented subset, not UnionPay's whole specification):
- Fields 0-27 must be present with a space after each (the separator positions are checked on
  every line); 28+ are read when the line reaches them.
- 交易类型 (txnType, as in the ACP API): 01 消费 and 03 预授权完成 -> payment; 04 退货, 31 消费撤销 and 33
  预授权完成撤销 -> refund (positive amount); 02/32 -> a hold (below). Any other code is a LoadError naming the line.
- 交易金额 is 12 digits of fen. 商户手续费 / 结算金额 (13) are read as a direction letter plus 12 digits
  of fen - D (debit to the merchant) or C (credit) - or as '+'/'-' plus 12 digits, or 13 digits.
  fee_fen is positive for D/'+'/digits (fee charged) and negative for C/'-' (fee returned); settle_amount_fen is
  the absolute value. A zero may be printed with a blank where the letter goes (' 000000000000', as UnionPay's
  sample prints its zero amounts); any other amount needs its letter. A ZM from the field (GitHub
  pingjianwei/csv_parser, INN17071888ZM_898319849000018: 1,207 payments) prints a payment's fee D and its 结算金额
  C, 交易金额 less the fee, as this reads them; refund lines (fee C, 结算金额 D, as the spec's 优惠金额 note has it
  for 退货) are not seen from the field.
- Payment: channel_tx_id = 查询流水号, order_no = 商户订单号. Refund: channel_tx_id = 原交易查询流水号
  (the payment's), channel_refund_id = 查询流水号, refund_no = 商户订单号 (the refund's own order id),
  order_no = 原始交易订单号 when the line carries it (blank by default in the spec, and lines may end after 商户代码),
  else the 商户订单号 of the payment its 原交易查询流水号 names when that payment is in the same file, else NULL.
- Not confirmed from the field: a 03 预授权完成 is keyed by its own 商户订单号 (UnionPay also fills 原始交易订单号
  there, with the pre-authorisation's order id: a shop that records the pre-authorisation's number sees the
  completion as channel_only).
- 02 预授权 and 32 预授权撤销 (a hold on the card and its release: no money) are checked like every line and counted
  in ``totals['hold_count']``, not read as transactions (the spec fills 原始交易订单号 on 预授权撤销 lines, so they come
  in ZM; they refused the whole file). Whether the 汇总表 counts them is not known from the field: it is tied out
  against the transactions alone.
- Widths count GBK bytes: a file saved again as UTF-8 (3 bytes for each Chinese character of 二级商户简称 or
  商户自定义域) is encoded back to GBK before it is cut, so the fields after it stay where UnionPay put them.
- occurred_at = 交易传输时间 (Beijing time); its year comes from the settle date (``bill_date`` or the
  ``INN<yymmdd>`` in the file name): the year that puts the day at most 31 days after the settle date (UnionPay's
  sample lists trades of the day after its settle date; Dec 31 in a file settled on Jan 2 is of the year before).
- Totals: the ZM file has no trailer; ``totals`` holds the counts and sums computed from the rows. The
  商户交易汇总表 delivered beside it (``RD…``, module ``unionpay_rd``) is tied out against them when both are read.

The ZME file (差错交易流水, same zip) lists exception entries (adjustments, disputes), not the
merchant's payments. It is recognised so that the delivery is not refused for it, but not
reconciled: ``parse`` returns it as kind 'unionpay_zme' with no transactions, its lines (the
fields it shares with ZM, plus the raw text) in ``extra`` and its count and 交易金额 sum in
``totals``. Widths from the ACP SDK demo's ``parseZMEFile``: 3 11 11 6 10 19 12 4 2 2 6 10 4 12
13 13 15 15 1 12 2 135; the first nine fields are ZM's (交易代码 … 终端类型).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.channels import unionpay_rd as rd
from paymatch.channels.base import ParsedBill
from paymatch.errors import LoadError, Problem
from paymatch.schema import TRANSACTION_ARROW, TZ

WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15,
          1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98]
OFFSETS = [sum(w + 1 for w in WIDTHS[:i]) for i in range(len(WIDTHS))]
REQUIRED_FIELDS = 28  # fields 0..27 (through 商户代码) must be on every line
MIN_LEN = OFFSETS[REQUIRED_FIELDS - 1] + WIDTHS[REQUIRED_FIELDS - 1]
#: field index -> (role, label) for the fields we use
FIELDS = {4: ("txn_time", "交易传输时间"), 6: ("amount", "交易金额"), 9: ("query_id", "查询流水号"),
          11: ("order_id", "商户订单号"), 15: ("fee", "商户手续费"), 16: ("settle", "结算金额"),
          19: ("txn_type", "交易类型"), 26: ("orig_query_id", "原交易查询流水号"), 27: ("mer_id", "商户代码"),
          40: ("orig_order_id", "原始交易订单号")}
PAYMENT_TYPES = ("01", "03")
#: 04 退货, 31 消费撤销, 33 预授权完成撤销 (a completed pre-authorisation reversed: the money goes back)
REFUND_TYPES = ("04", "31", "33")
#: 02 预授权 and 32 预授权撤销: a hold on the card and its release. The spec lists 预授权撤销 among the lines that carry
#: 原始交易订单号, so they come in ZM; no money moves (the 03 that completes a hold is the payment): counted, not read
HOLD_TYPES = ("02", "32")
MAX_PROBLEMS = 50
ZME_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 2, 6, 10, 4, 12, 13, 13, 15, 15, 1, 12, 2, 135]
ZME_OFFSETS = [sum(w + 1 for w in ZME_WIDTHS[:i]) for i in range(len(ZME_WIDTHS))]
ZME_MIN_LEN = ZME_OFFSETS[-2] + ZME_WIDTHS[-2]  # through field 20; the reserved tail may be trimmed
ZME_EXTRA = pa.schema([("src_line", pa.int64()), ("txn_code", pa.string()), ("trace_no", pa.string()),
                       ("txn_time", pa.string()), ("amount_fen", pa.int64()), ("line", pa.string())])


def _separated(line: str, offsets: list[int], widths: list[int], n: int) -> bool:
    """A space after each of the first ``n`` fixed-width fields; the line may end right after the n-th
    (trailing blanks trimmed)."""
    for i in range(n):
        sep = line[offsets[i] + widths[i]:offsets[i] + widths[i] + 1]
        if sep != " " and not (sep == "" and i == n - 1):
            return False
    return True


def _sniff_zm(head: str) -> str | None:
    """'unionpay_zm' when the first line of ``head`` has the ZM layout (separators, digits), else None."""
    line = head.split("\n", 1)[0].rstrip("\r")
    if len(line) < MIN_LEN or not re.fullmatch(r"[A-Z0-9]{3}", line[:3]):
        return None
    # a line may end right after 商户代码 (trailing blanks trimmed): no separator there, still ZM
    if not _separated(line, OFFSETS, WIDTHS, REQUIRED_FIELDS):
        return None
    txn_time, amount, query_id = (line[OFFSETS[i]:OFFSETS[i] + WIDTHS[i]] for i in (4, 6, 9))
    # every ZM line has its 查询流水号; a ZME line has separators (or blanks) where it would sit
    query_id = query_id.strip()
    return "unionpay_zm" if txn_time.isdigit() and amount.isdigit() and query_id and " " not in query_id else None


def sniff(head: str) -> str | None:
    """'unionpay_zm' or 'unionpay_zme' when the first line of ``head`` has that layout, 'unionpay_rd' for the
    商户交易汇总表 beside them (``unionpay_rd``), else None."""
    return _sniff_zm(head) or ("unionpay_zme" if sniff_zme(head) else None) or (rd.KIND if rd.sniff(head) else None)


def _zme_problem(line: str) -> str | None:
    """Why ``line`` is no ZME line, or None when it is one."""
    if len(line) < ZME_MIN_LEN or not re.fullmatch(r"[A-Z0-9]{3}", line[:3]):
        return f"line does not have the ZME layout ({ZME_MIN_LEN}+ characters, a space after each field)"
    if not _separated(line, ZME_OFFSETS, ZME_WIDTHS, len(ZME_WIDTHS) - 1):
        return f"line does not have the ZME layout ({ZME_MIN_LEN}+ characters, a space after each field)"
    txn_time, amount = (line[ZME_OFFSETS[i]:ZME_OFFSETS[i] + ZME_WIDTHS[i]] for i in (4, 6))
    if not (txn_time.isdigit() and amount.isdigit()):
        return "交易传输时间 / 交易金额 are not digits"
    return None


def sniff_zme(head: str) -> bool:
    """Whether the first line of ``head`` has the ZME (差错交易流水) layout."""
    return _zme_problem(head.split("\n", 1)[0].rstrip("\r")) is None


def parse_zme(data: bytes, source: str, bill_date: dt.date | None = None) -> ParsedBill:
    """Read a ZME file: every line checked and kept in ``extra``; no transactions (see module docstring)."""
    rows, problems = [], []
    for no, raw in enumerate(data.split(b"\n"), 1):
        line = raw.rstrip(b"\r").decode("gb18030", errors="replace")
        if not line.strip():
            continue
        why = _zme_problem(line)
        if why:
            problems.append(Problem(source, no, None, line[:60], why))
            continue
        cut = [line[ZME_OFFSETS[i]:ZME_OFFSETS[i] + ZME_WIDTHS[i]].strip() for i in (0, 3, 4, 6)]
        rows.append({"src_line": no, "txn_code": cut[0], "trace_no": cut[1], "txn_time": cut[2],
                     "amount_fen": int(cut[3]), "line": line})
    if problems:
        raise LoadError(problems[:MAX_PROBLEMS], total=len(problems),
                        hint="is this a UnionPay ZME (差错交易流水) file?")
    try:
        day = _settle_date(source, bill_date)
    except LoadError:
        day = None  # nothing in a ZME file needs the year
    return ParsedBill(channel="unionpay", kind="unionpay_zme", source=source,
                      sha256=hashlib.sha256(data).hexdigest(), bill_date=day,
                      transactions=TRANSACTION_ARROW.empty_table(),
                      totals={"count": len(rows), "amount_fen": sum(r["amount_fen"] for r in rows)},
                      extra=pa.Table.from_pylist(rows, schema=ZME_EXTRA))


def _settle_date(source: str, bill_date: dt.date | None) -> dt.date:
    if bill_date is not None:
        return bill_date
    # the file's own name (an archive member's after the '!'), not a folder above it (helper-50: INN201120_old/)
    m = re.search(r"INN(\d{2})(\d{2})(\d{2})", re.split(r"[/\\!]", source)[-1])
    if m:
        try:
            return dt.date(2000 + int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:  # INN191317…, INN190230…: a renamed file; was a ValueError traceback
            raise LoadError([Problem(source, None, None, m.group(0), "the file name's settle date is no date")],
                            hint="keep UnionPay's file name INN<yymmdd>88ZM_<merId> as delivered") from None
    raise LoadError([Problem(source, None, None, None, "settle date unknown (ZM times carry no year)")],
                    hint="pass bill_date, or keep UnionPay's file name INN<yymmdd>88ZM_<merId>")


#: how far after its settle date a transaction may lie (UnionPay's own sample file lists trades of the day after)
_AFTER_SETTLE = 31


def _day_sql(settle: dt.date) -> str:
    """SQL: the day of 交易传输时间 (MMDD…, no year): the one year of settle date − 1, the same or + 1 that puts it in
    the year up to ``_AFTER_SETTLE`` days after the settle date (Dec 31 in a file settled on Jan 2 is of the year
    before; Sep 6 in a file settled on Sep 5 of the same year). NULL when no year has that day (Feb 30, Feb 29)."""
    m, d = "TRY_CAST(substr(txn_time, 1, 2) AS INT)", "TRY_CAST(substr(txn_time, 3, 2) AS INT)"
    last = settle + dt.timedelta(days=_AFTER_SETTLE)
    first = last - dt.timedelta(days=365)
    cands = [f"try(make_date({y}, {m}, {d}))" for y in (settle.year, settle.year - 1, settle.year + 1)]
    return "coalesce(" + ", ".join(f"CASE WHEN {c} > DATE '{first}' AND {c} <= DATE '{last}' THEN {c} END"
                                   for c in cands) + ")"


def _row_index(n: int) -> pa.Array:
    # 0..n-1 built in Arrow: no numpy dependency, no Python loop
    return pc.subtract(pc.cumulative_sum(pa.nulls(n, pa.int64()).fill_null(1)), 1) if n else pa.array([], pa.int64())


def _lines(data: bytes) -> pa.ChunkedArray:
    if not data.strip():
        return pa.chunked_array([pa.array([], pa.binary())])
    # one binary column per physical line: \x1f never occurs in the file, quoting off
    table = pacsv.read_csv(
        pa.BufferReader(data),
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.binary()}, strings_can_be_null=False))
    return table.column("line")


#: how many lines holding more than ASCII decide a file's encoding (a sample: the answer is the file's, not a line's)
_SAMPLE_LINES = 200


def _misplaced(data: bytes) -> int:
    """How many field separators of ``data``'s lines that hold more than ASCII are not where the ZM layout puts them (a
    space after each field, as far as the line reaches; an ASCII line reads the same in either encoding), over the
    first ``_SAMPLE_LINES`` such lines."""
    bad = seen = 0
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        seen += 1
        if seen > _SAMPLE_LINES:
            break
        line = line.rstrip(b"\r")
        for off, width in zip(OFFSETS, WIDTHS):
            if off + width >= len(line):
                break
            bad += line[off + width] != 0x20
    return bad


def _gbk_bytes(data: bytes) -> bytes:
    """The file in GBK bytes, the unit its field widths count. A ZM someone opened and saved again as UTF-8 has 3 bytes
    for each Chinese character of 二级商户简称 or 商户自定义域 (a ZM from the field writes 账户充值 there) where UnionPay
    wrote 2: every field after it moved, and 原始交易订单号 was read cut short (helper-72: a 31-character order number
    read as 25). Such a file is encoded back. Which bytes are meant is decided by the layout, not by guessing the
    encoding: the copy encoded back is taken only when it puts more separators where the layout has them (GBK whose
    bytes happen to be valid UTF-8, 唷班啊, stays as it is)."""
    if data.isascii():
        return data
    try:
        back = data.decode("utf-8-sig").encode("gb18030")
    except UnicodeDecodeError:
        return data
    return back if _misplaced(back) < _misplaced(data) else data


def parse(data: bytes, source: str, bill_date: dt.date | None = None) -> ParsedBill:
    """Parse a ZM file (bytes as delivered) into a ParsedBill; LoadError listing every bad line."""
    first = next((ln for ln in data.split(b"\n", 20) if ln.strip()), b"")[:4096].decode("gb18030", "replace")
    if not _sniff_zm(first) and sniff_zme(first):
        return parse_zme(data, source, bill_date)
    from paymatch.channels.detect import decode_head  # (detect finds this module's parsers: imported when used)

    if not _sniff_zm(first) and rd.sniff(decode_head(data, 4096)):
        return rd.parse(data, source)
    original, data = data, _gbk_bytes(data)  # (fields 0-27 are ASCII: the sniffing above reads either encoding)
    settle = _settle_date(source, bill_date)
    lines = _lines(data)
    n = len(lines)
    length = pc.binary_length(lines)
    cols: dict[str, pa.Array | pa.ChunkedArray] = {"_pm_idx": _row_index(n),
                                                   "_pm_len": length}
    seps = [pc.equal(pc.binary_slice(lines, OFFSETS[i] + WIDTHS[i], OFFSETS[i] + WIDTHS[i] + 1), b" ")
            for i in range(REQUIRED_FIELDS)]
    seps[-1] = pc.or_(seps[-1], pc.equal(length, MIN_LEN))  # the line may end after 商户代码
    layout_ok = seps[0]
    for s in seps[1:]:
        layout_ok = pc.and_(layout_ok, s)
    cols["_pm_layout"] = layout_ok
    for i, (role, _) in FIELDS.items():
        raw = pc.binary_slice(lines, OFFSETS[i], OFFSETS[i] + WIDTHS[i])
        try:
            txt = pc.cast(raw, pa.string())
        except pa.ArrowInvalid:  # GBK text in a field: decode each distinct value once
            enc = pc.dictionary_encode(raw).combine_chunks()
            values = [v.decode("gb18030", errors="replace") for v in enc.dictionary.to_pylist()]
            txt = pa.DictionaryArray.from_arrays(enc.indices, pa.array(values, pa.string())).cast(pa.string())
        cols[role] = pc.utf8_trim(txt, characters=" \r\t")
    table = pa.table(cols)
    con = duckdb.connect()
    try:
        con.execute(f"SET TimeZone = '{TZ}'")
        con.register("_pm_zm", table)
        con.execute(f"""CREATE TEMP VIEW z AS SELECT *,
            CASE WHEN txn_type IN {PAYMENT_TYPES} THEN 'payment'
                 WHEN txn_type IN {REFUND_TYPES} THEN 'refund'
                 WHEN txn_type IN {HOLD_TYPES} THEN 'hold' END AS type,
            {_day_sql(settle)} AS _pm_day
            FROM _pm_zm WHERE _pm_len > 0""")
        _check(con, source)
        signed = ("(CASE WHEN left({c}, 1) IN ('C', '-') THEN -1 ELSE 1 END) * "
                  "CAST(regexp_extract({c}, '([0-9]{{12,13}})$', 1) AS BIGINT)")
        out = con.sql(f"""
            SELECT 'unionpay' AS channel, mer_id AS merchant_id,
                   CASE WHEN type = 'refund' THEN nullif(orig_query_id, '') ELSE query_id END AS channel_tx_id,
                   CASE WHEN type = 'refund' THEN coalesce(nullif(orig_order_id, ''), _pm_paid_order)
                        ELSE order_id END AS order_no,
                   type,
                   CASE WHEN type = 'refund' THEN order_id END AS refund_no,
                   CASE WHEN type = 'refund' THEN query_id END AS channel_refund_id,
                   CAST(amount AS BIGINT) AS amount_fen,
                   CASE WHEN fee = '' THEN NULL ELSE {signed.format(c='fee')} END AS fee_fen,
                   CASE WHEN settle = '' THEN NULL ELSE abs({signed.format(c='settle')}) END AS settle_amount_fen,
                   'success' AS status,
                   CAST(_pm_day + CAST(strptime(substr(txn_time, 5), '%H%M%S') AS TIME) AS TIMESTAMPTZ) AS occurred_at,
                   ?::DATE AS bill_date, 'unionpay' AS method, ? AS src_file, _pm_idx + 1 AS src_line
            FROM z LEFT JOIN (
                -- a refund line without 原始交易订单号 (blank by default in the spec): the order of the payment its
                -- 原交易查询流水号 names, when that payment is in this file
                SELECT mer_id AS _pm_paid_mer, query_id AS _pm_paid_qid, min(order_id) AS _pm_paid_order
                FROM z WHERE type = 'payment' GROUP BY ALL) paid
              ON paid._pm_paid_qid = z.orig_query_id AND paid._pm_paid_mer = z.mer_id
            WHERE type <> 'hold' ORDER BY _pm_idx""", params=[settle, source]).to_arrow_table()
        totals = dict(zip(["payment_count", "refund_count", "payment_amount_fen", "refund_amount_fen", "hold_count"],
                          con.execute("""SELECT count(*) FILTER (type = 'payment'), count(*) FILTER (type = 'refund'),
                              coalesce(sum(CAST(amount AS BIGINT)) FILTER (type = 'payment'), 0),
                              coalesce(sum(CAST(amount AS BIGINT)) FILTER (type = 'refund'), 0),
                              count(*) FILTER (type = 'hold') FROM z""").fetchall()[0]))
    finally:
        con.close()
    return ParsedBill(channel="unionpay", kind="unionpay_zm", source=source,
                      sha256=hashlib.sha256(original).hexdigest(), bill_date=settle,
                      transactions=out.cast(TRANSACTION_ARROW), totals=totals)


def _check(con: duckdb.DuckDBPyConnection, source: str) -> None:
    # a direction letter or sign and 12 digits; a zero is printed with a blank there (' 000000000000', trimmed)
    amount13 = "regexp_full_match({c}, '([CD+-][0-9]{{12}}|[0-9]{{13}}|0{{12}})')"
    checks = [
        ("NULL", f"_pm_len < {MIN_LEN} OR NOT _pm_layout",
         f"line does not have the ZM layout (fields 0-27, {MIN_LEN}+ bytes, a space after each field)"),
        ("txn_type", "type IS NULL", "交易类型 is not 01/03 (payment), 04/31/33 (refund) or 02/32 (a hold, no money)"),
        ("amount", "NOT regexp_full_match(amount, '[0-9]{12}')", "交易金额 is not 12 digits of fen"),
        ("txn_time", "_pm_day IS NULL OR try_strptime(substr(txn_time, 5), '%H%M%S') IS NULL "
                     "OR length(txn_time) <> 10", "交易传输时间 is not MMDDhhmmss"),
        ("fee", f"fee <> '' AND NOT {amount13.format(c='fee')}", "商户手续费 is not C/D + 12 digits"),
        ("settle", f"settle <> '' AND NOT {amount13.format(c='settle')}", "结算金额 is not C/D + 12 digits"),
        ("query_id", "query_id = ''", "查询流水号 is empty"),
        ("mer_id", "mer_id = ''", "商户代码 is empty"),
    ]
    labels = {role: label for role, label in FIELDS.values()}
    union = " UNION ALL ".join(
        f"SELECT _pm_idx, {('NULL' if col == 'NULL' else repr(labels[col]))} AS field, "
        f"{'NULL' if col == 'NULL' else col} AS value, '{msg}' AS msg FROM z WHERE coalesce({cond}, TRUE)"
        for col, cond, msg in checks)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if total:
        found = con.execute(f"SELECT * FROM ({union}) ORDER BY _pm_idx LIMIT {MAX_PROBLEMS}").fetchall()
        raise LoadError([Problem(source, i + 1, f, v, m) for i, f, v, m in found], total=total,
                        hint="is this a UnionPay ZM (一般交易流水) file?")
