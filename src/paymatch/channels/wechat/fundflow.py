"""WeChat fund-flow bills (资金账单): every booking on the merchant's WeChat Pay account.

They are no transactions (no order numbers to match), so ``ParsedBill.transactions`` is empty
and the booking lines go to ``ParsedBill.extra`` (``FUNDFLOW_ARROW``) for the fund reports.
The summary (资金流水总笔数, 收入笔数/金额, 支出笔数/金额) is tied out like the trade bill's.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from paymatch.channels.base import ParsedBill
from paymatch.channels.wechat.billtext import BillText, collect_problems, read_rows
from paymatch.channels.wechat.layout import CHANNEL, FUNDFLOW_COLS, FUNDFLOW_SUMMARY
from paymatch.channels.wechat.totals import printed_totals, tie_out
from paymatch.money import sql_yuan_to_fen
from paymatch.schema import BILL_TIME_TEXT, TRANSACTION_ARROW, TZ, sql_strptime_in_years

#: one row per booking line; amount_fen is positive, direction says which way it went
FUNDFLOW_ARROW = pa.schema([
    ("booked_at", pa.timestamp("us", tz="UTC")),
    ("wx_business_no", pa.string()),
    ("flow_no", pa.string()),
    ("name", pa.string()),
    ("business_type", pa.string()),
    ("direction", pa.string()),
    ("amount_fen", pa.int64()),
    ("balance_fen", pa.int64()),
    ("applicant", pa.string()),
    ("note", pa.string()),
    ("voucher_no", pa.string()),
    ("src_line", pa.int64()),
])

_TEXT = {
    "wx_business_no": "微信支付业务单号", "flow_no": "资金流水单号", "name": "业务名称",
    "business_type": "业务类型", "applicant": "资金变更提交申请人", "note": "备注", "voucher_no": "业务凭证号",
}


def _c(col: str) -> str:
    return f"trim(ltrim(\"{col}\", '`'))"


def _stage_sql() -> str:
    sel = ["_pm_line", f"{_c('记账时间')} AS _pm_t", f"{sql_strptime_in_years(_c('记账时间'), '%Y-%m-%d %H:%M:%S')} AS _pm_ts",
           f"{_c('收支类型')} AS _pm_dir_raw",
           f"CASE {_c('收支类型')} WHEN '收入' THEN 'in' WHEN '支出' THEN 'out' END AS direction",
           f"{_c('收支金额(元)')} AS _pm_amt", f"{sql_yuan_to_fen(_c('收支金额(元)'))} AS amount_fen",
           f"{_c('账户结余(元)')} AS _pm_bal", f"{sql_yuan_to_fen(_c('账户结余(元)'))} AS balance_fen"]
    sel += [f"{_c(zh)} AS {en}" for en, zh in _TEXT.items()]
    return "SELECT " + ", ".join(sel) + " FROM _pm_wx_raw"


_CHECKS = [
    ("记账时间", "_pm_t", "_pm_ts IS NULL", BILL_TIME_TEXT),
    ("收支类型", "_pm_dir_raw", "direction IS NULL", "direction must be 收入 or 支出"),
    ("收支金额(元)", "_pm_amt", "amount_fen IS NULL", "not a yuan amount with at most 2 decimals"),
    ("账户结余(元)", "_pm_bal", "balance_fen IS NULL", "not a yuan amount with at most 2 decimals"),
]


def parse_fundflow(bill: BillText, bill_date: dt.date | None = None) -> ParsedBill:
    """Parse a split fund-flow bill: booking lines into ``extra``, totals tied out."""
    printed = printed_totals(bill, FUNDFLOW_SUMMARY)
    con = duckdb.connect()
    try:
        con.register("_pm_wx_raw", read_rows(bill, list(FUNDFLOW_COLS), con))
        con.execute(f"CREATE TEMP TABLE _pm_wx_rows AS {_stage_sql()}")
        collect_problems(con, "_pm_wx_rows", bill.source, _CHECKS)
        row = con.execute(
            "SELECT count(*), count(*) FILTER (direction = 'in'), sum(abs(amount_fen)) FILTER (direction = 'in'), "
            "count(*) FILTER (direction = 'out'), sum(abs(amount_fen)) FILTER (direction = 'out'), "
            "max(_pm_ts)::DATE FROM _pm_wx_rows").fetchall()[0]
        computed = dict(zip(FUNDFLOW_SUMMARY.values(), (int(v or 0) for v in row[:5])))
        tie_out(bill, FUNDFLOW_SUMMARY, printed, computed)
        extra = con.sql(
            f"SELECT timezone('{TZ}', _pm_ts) AS booked_at, wx_business_no, flow_no, name, business_type, "
            "direction, abs(amount_fen) AS amount_fen, balance_fen, applicant, note, voucher_no, "
            "_pm_line AS src_line FROM _pm_wx_rows").to_arrow_table()
    finally:
        con.close()
    return ParsedBill(
        channel=CHANNEL, kind=bill.kind, source=bill.source, sha256=bill.sha256,
        bill_date=bill_date or row[5], transactions=TRANSACTION_ARROW.empty_table(),
        totals=printed, extra=extra.cast(FUNDFLOW_ARROW),
    )
