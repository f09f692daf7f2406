"""WeChat trade bills (交易账单 ALL / SUCCESS / REFUND) -> canonical transactions.

Mapping (one row per bill line):
- 交易状态 REFUND -> type refund: amount = 申请退款金额 (positive), settle = 退款金额, refund_no = 商户退款单号,
  channel_refund_id = 微信退款单号, status from 退款状态 (SUCCESS/PROCESSING/else failed), time = when WeChat
  accepted the refund: an ALL bill's 交易时间, a REFUND bill's 退款申请时间 (its 交易时间 is the payment's), else
  退款成功时间, else 交易时间. The bill's day is its rows' latest day (a refund that succeeded after midnight is still
  on the bill of the day it was accepted). An ALL bill may print a refund a second or two after the REFUND bill's
  退款申请时间 (a field pair: its 退款成功时间); the two listings are one record by its 微信退款单号 (engine.dedupe).
- any other 交易状态 -> type payment: amount = 订单金额 (the order total, compared with the shop's order),
  settle = 应结订单金额 (smaller when coupons 代金券 apply; not a break), time = 交易时间;
  SUCCESS -> success, REVOKED/CLOSED/NOTPAY -> closed, USERPAYING -> processing, else failed.
- 货币种类 other than CNY (a cross-border bill) refuses the bill by line: its amounts are no yuan.
- fee = 手续费 as printed (5 decimals, signed), rounded to the fen (an old bill's 0.00020 is 0.00; the fee total
  ties out with the exact sum). merchant_id = 特约商户号 when set (service-provider mode:
  the sub-merchant is the shop that owns the order), else 商户号.
- the older 普通结算 layout is read through ``layout.sources``: 总金额 is both the order total and
  the settled amount, 子商户号 is 特约商户号, a refund's amount is its 退款金额.
All conversion runs as one DuckDB statement over the Arrow rows; Python never touches a row.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from paymatch.channels.base import ParsedBill
from paymatch.channels.profile_xlsx import EXCEL_ERROR_TEXT, EXCEL_ROUNDED_TEXT, sql_excel_error, sql_excel_rounded
from paymatch.channels.wechat.billtext import BillText, collect_problems, read_rows
from paymatch.channels.wechat.layout import (
    CHANNEL, LEGACY_SUMMARY, REFUND_TIMES, TRADE_COMMON, TRADE_REFUND, TRADE_REFUND_COLS, TRADE_SUMMARY, sources,
)
from paymatch.channels.wechat.totals import printed_totals, tie_out
from paymatch.money import fee_units_to_fen, sql_fee_units, sql_fee_units_to_fen, sql_yuan_to_fen
from paymatch.schema import BILL_TIME_TEXT, TRANSACTION_ARROW, TZ, sql_strptime_in_years

_TS_FMT = "%Y-%m-%d %H:%M:%S"
#: 货币种类: every amount of a row is in this currency. A bill in another (a cross-border merchant's HKD, USD…) would be
#: read as yuan; it is refused by line instead (an empty cell, as in no bill we know of, is taken as CNY)
_CURRENCY = "货币种类"
#: money columns: (name, decimals, may be empty -> 0)
_MONEY = [
    ("订单金额", 2, False), ("应结订单金额", 2, False), ("手续费", 5, False), ("代金券金额", 2, True),
    ("退款金额", 2, True), ("充值券退款金额", 2, True), ("申请退款金额", 2, True),
]


#: the fee: 5 decimals, sub-fen digits in older bills (2% of 0.01 = 0.00020, helper-44): each row's fee is rounded to
#: the fen (half away from zero, as WeChat charges it); the fee total ties out with the rows' exact sum
_FEE = "手续费"
_FEE_TOTALS = frozenset({"手续费总金额"})

_TEXT = ("商户号", "特约商户号", "微信订单号", "商户订单号", "交易状态", "微信退款单号", "商户退款单号", "退款状态", _CURRENCY)
_TIMES = ("交易时间", *REFUND_TIMES)


def _views_sql(src: dict[str, str], kind: str) -> list[str]:
    """Three stacked views: backticks stripped once, text converted, row flags derived.

    Views (not tables) so the fast path evaluates each conversion exactly once, while the rare
    error path can re-read the raw text next to the converted value.
    """
    # one leading backtick guards every value against Excel; strip it once, in the lowest view
    clean = ["_pm_line"] + [
        f"ltrim(\"{src[c]}\", '`') AS \"{c}\"" if c in src else f"NULL::VARCHAR AS \"{c}\""
        for c in (*_TEXT, *(m[0] for m in _MONEY), *_TIMES)
    ]
    # A payment revoked after its success (撤销, 付款码 at a till) comes back as a row of its own, 交易状态 REVOKED, "支出-撤销":
    # money out, printed in the refund columns (退款金额 / 申请退款金额) under the payment's numbers. Such a row is a
    # refund without a refund number (it was read as a closed payment of 0.00, a later state of the payment, so the
    # order stayed matched while the money went back); one with nothing in those columns stays a closed payment.
    fen = [sql_yuan_to_fen(f'"{c}"', decimals=2) for c in ("退款金额", "申请退款金额") if c in src]
    back = [f"coalesce({v}, 0) <> 0" for v in fen]
    revoked = f"(\"交易状态\" = 'REVOKED' AND ({' OR '.join(back)}))" if back else "false"
    conv = ["*", f"(\"交易状态\" = 'REFUND' OR {revoked}) AS _pm_refund"]
    for c, dec, optional in _MONEY:
        if c == _FEE:  # exact (sub-fen digits too) for the totals, then rounded to the fen
            units = sql_fee_units(f'"{c}"') if c in src else "0::BIGINT"
            conv.append(f"{units} AS _pm_fee_units")
            conv.append(f"{sql_fee_units_to_fen('_pm_fee_units')} AS \"_pm_fen_{c}\"")
            continue
        fen = sql_yuan_to_fen(f'"{c}"', decimals=dec) if c in src else "0::BIGINT"
        if optional and c in src:
            fen = f"CASE WHEN \"{c}\" = '' THEN 0::BIGINT ELSE {fen} END"
        conv.append(f"{fen} AS \"_pm_fen_{c}\"")
    conv += [sql_strptime_in_years(f'"{c}"', _TS_FMT) + f' AS "_pm_ts_{c}"' for c in _TIMES]
    # a refund's time is when WeChat accepted it: what an ALL bill prints as its 交易时间 (发起退款成功时间, "not the
    # refund's success time"), a REFUND bill as 退款申请时间 (its 交易时间 is the payment's). So the same refund has one
    # time in both bills (overlapping exports are the same record), and it is on the bill of the day it was accepted,
    # though a refund to a bank card may succeed after midnight (退款成功时间, the next day)
    refund_time = ('coalesce("_pm_ts_退款申请时间", "_pm_ts_退款成功时间", "_pm_ts_交易时间")'
                   if kind == TRADE_REFUND else '"_pm_ts_交易时间"')
    ok = ['"_pm_ts_交易时间" IS NOT NULL', "\"商户订单号\" <> ''"]
    ok += [f'"_pm_fen_{c}" IS NOT NULL' for c, _d, _o in _MONEY]
    ok += [f"(coalesce(\"{c}\", '') = '' OR \"_pm_ts_{c}\" IS NOT NULL)" for c in REFUND_TIMES]
    ok.append(_CURRENCY_OK)
    return [
        "CREATE TEMP VIEW _pm_wx_clean AS SELECT " + ", ".join(clean) + " FROM _pm_wx_raw",
        "CREATE TEMP VIEW _pm_wx_stage AS SELECT " + ", ".join(conv) + " FROM _pm_wx_clean",
        f"CREATE TEMP VIEW _pm_wx_rows AS SELECT *, CASE WHEN _pm_refund THEN {refund_time} "
        f"ELSE \"_pm_ts_交易时间\" END AS _pm_local, ({' AND '.join(ok)}) AS _pm_ok FROM _pm_wx_stage",
    ]


def _checks(src: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(field as printed in the file, raw value, failing condition, message) per check."""
    checks = [("交易时间", '"交易时间"', '"_pm_ts_交易时间" IS NULL', BILL_TIME_TEXT)]
    for c in REFUND_TIMES:
        checks.append((c, f'"{c}"', f'"{c}" <> \'\' AND "_pm_ts_{c}" IS NULL', BILL_TIME_TEXT))
    shown = {}
    for c, dec, _opt in _MONEY:
        if src.get(c, c) in shown.values():
            continue  # 总金额 stands for two columns: report it once
        shown[c] = src.get(c, c)
        checks.append((shown[c], f'"{c}"', f'"{c}" IS NOT NULL AND "_pm_fen_{c}" IS NULL',
                       f"not a yuan amount with at most {dec} decimals"))
    checks.append(("商户订单号", '"商户订单号"', "\"商户订单号\" = ''", "empty order number"))
    if _CURRENCY in src:
        checks.append((_CURRENCY, f'"{_CURRENCY}"', f"NOT {_CURRENCY_OK}",
                       "amounts in another currency than CNY (a cross-border bill): not read as yuan"))
    for c in _IDS:
        if c in src:
            checks += [(src[c], f'"{c}"', sql_excel_error(f'"{c}"'), EXCEL_ERROR_TEXT),
                       (src[c], f'"{c}"', sql_excel_rounded(f'"{c}"'), EXCEL_ROUNDED_TEXT)]
    return checks


#: id columns where a bill someone opened and saved in Excel may hold a failed formula's #N/A, or a number Excel
#: rounded (a 28-digit 微信订单号 or a numeric 商户订单号 whose backtick was taken off: 4.2E+27)
_IDS = ("商户订单号", "微信订单号", "商户退款单号", "微信退款单号")


def _edited(c: str) -> str:
    """SQL: the id ``c`` of the canonical rows was damaged by Excel (either way above)."""
    return f"({sql_excel_error(c)} OR {sql_excel_rounded(c)})"


_CURRENCY_OK = f"coalesce(\"{_CURRENCY}\", '') IN ('', 'CNY')"

_SUM_COLS = [f'"_pm_fen_{c}"' if c != _FEE else "_pm_fee_units"
             for c in ("应结订单金额", "退款金额", "充值券退款金额", _FEE, "订单金额", "申请退款金额")]

_CANON_SQL = f"""
SELECT
  '{CHANNEL}' AS channel,
  CASE WHEN coalesce("特约商户号", '') IN ('', '0') THEN "商户号" ELSE "特约商户号" END AS merchant_id,
  "微信订单号" AS channel_tx_id,
  "商户订单号" AS order_no,
  CASE WHEN _pm_refund THEN 'refund' ELSE 'payment' END AS type,
  CASE WHEN _pm_refund AND "商户退款单号" NOT IN ('', '0') THEN "商户退款单号" END AS refund_no,
  CASE WHEN _pm_refund AND "微信退款单号" NOT IN ('', '0') THEN "微信退款单号" END AS channel_refund_id,
  CASE WHEN _pm_refund THEN greatest(abs("_pm_fen_申请退款金额"), abs("_pm_fen_退款金额"))
       ELSE "_pm_fen_订单金额" END AS amount_fen,
  "_pm_fen_手续费" AS fee_fen,
  CASE WHEN _pm_refund THEN abs("_pm_fen_退款金额") ELSE "_pm_fen_应结订单金额" END AS settle_amount_fen,
  CASE WHEN _pm_refund THEN
         CASE WHEN "交易状态" = 'REVOKED' AND coalesce("退款状态", '') = '' THEN 'success'
              WHEN "退款状态" = 'SUCCESS' THEN 'success' WHEN "退款状态" = 'PROCESSING' THEN 'processing'
              ELSE 'failed' END
       ELSE CASE "交易状态" WHEN 'SUCCESS' THEN 'success' WHEN 'USERPAYING' THEN 'processing'
              WHEN 'REVOKED' THEN 'closed' WHEN 'CLOSED' THEN 'closed' WHEN 'NOTPAY' THEN 'closed'
              ELSE 'failed' END
  END AS status,
  timezone('{TZ}', _pm_local) AS occurred_at,
  '{CHANNEL}' AS method,
  _pm_line AS src_line,
  {", ".join(_SUM_COLS)}, _pm_local, _pm_ok
FROM _pm_wx_rows
"""


def parse_trade(bill: BillText, bill_date: dt.date | None = None) -> ParsedBill:
    """Parse a split trade bill into canonical transactions, tie out its totals, return ParsedBill."""
    src = sources(bill.header)
    wanted = list(dict.fromkeys(src[c] for c in (*TRADE_COMMON, *TRADE_REFUND_COLS, *REFUND_TIMES, _CURRENCY)
                                if c in src))
    names = {**TRADE_SUMMARY, **LEGACY_SUMMARY}
    printed = printed_totals(bill, names, fee_names=_FEE_TOTALS)  # the fee total in 1/100,000 yuan
    con = duckdb.connect()
    try:
        con.register("_pm_wx_raw", read_rows(bill, wanted, con))
        for sql in _views_sql(src, bill.kind):
            con.execute(sql)
        out = con.sql(_CANON_SQL).to_arrow_table()  # the one pass over all rows
        con.register("_pm_wx_out", out)
        agg = con.execute(
            f"SELECT count(*), {', '.join(f'sum({c})' for c in _SUM_COLS)}, max(_pm_local)::DATE, "
            "count(*) FILTER (NOT _pm_ok) FROM _pm_wx_out").fetchall()[0]
        # an id damaged by Excel (a failed formula's #N/A, a rounded number): checked on the few ids with a '#' or 'E+'
        edited = " OR ".join(_edited(c) for c in ("order_no", "channel_tx_id", "refund_no", "channel_refund_id"))
        if agg[8] or con.execute(f"SELECT count(*) FROM _pm_wx_out WHERE {edited}").fetchall()[0][0]:
            collect_problems(con, "_pm_wx_rows", bill.source, _checks(src))
        computed = dict(zip(TRADE_SUMMARY.values(), (int(v or 0) for v in agg[:7])))
        tie_out(bill, names, printed, computed, fee_names=_FEE_TOTALS)
        if "fee_fen" in printed:  # tied out exactly; the bill's totals are kept in fen, as its rows
            printed["fee_fen"] = fee_units_to_fen(printed["fee_fen"])
    finally:
        con.close()
    day = bill_date or agg[7]
    n = out.num_rows
    # Each row is of the day of its data time (a payment's success, a refund's acceptance: WeChat cuts its bills at
    # 00:00 by it), the day a daily bill is of; a file the merchant platform exports for a range of days holds
    # several, and each row is then judged in its own day's run (every row was put on the range's last day)
    days = pc.cast(out.column("_pm_local"), pa.date32()) if bill_date is None else pa.repeat(
        pa.scalar(day, pa.date32()), n)
    out = out.append_column("bill_date", days)
    out = out.append_column("src_file", pa.repeat(pa.scalar(bill.source, pa.string()), n))
    return ParsedBill(
        channel=CHANNEL, kind=bill.kind, source=bill.source, sha256=bill.sha256, bill_date=day,
        transactions=out.select(TRANSACTION_ARROW.names).cast(TRANSACTION_ARROW), totals=printed,
    )


def empty_transactions() -> pa.Table:
    """A zero-row table in the canonical transaction schema."""
    return TRANSACTION_ARROW.empty_table()
