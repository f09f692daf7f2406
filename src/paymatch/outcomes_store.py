"""Outcomes at the edge: human-readable reasons, the stored ``outcomes`` table, CSV output and the
run summary with its control totals (conservation).

Reasons are rendered in DuckDB SQL from the engine's structured fields, so every backend's
result reads the same. Agreeing rows (nearly all) get a constant reason: their amounts are in the
amount columns, and formatting two yuan strings for every matched row was 6 s of a 10M-row run.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from .bigfile import DirectFile
from .engine.dedupe import REFKEY_SOURCES
from .engine.frames import ENGINE_SCHEMA
from .money import sql_fen_to_yuan
from .schema import bill_day_sql

#: columns a run's outcome table has beyond the engine's: instalment periods and their own reasons
EXTRA_COLUMNS = {"period_no": "BIGINT", "due_date": "DATE", "plan_status": "VARCHAR", "reason_text": "VARCHAR"}
#: what the workspace keeps: the engine's columns, the instalment ones, and the rendered reason
STORED_COLUMNS = [*ENGINE_SCHEMA.keys(), *(c for c in EXTRA_COLUMNS if c != "reason_text"), "reason"]
CSV_COLUMNS = [
    "outcome_id", "kind", "channel", "merchant_id", "store_id", "order_no", "refund_no", "channel_tx_id",
    "order_amount_fen", "channel_amount_fen", "difference_fen", "fee_fen", "settle_amount_fen",
    "order_status", "channel_status", "order_rows", "channel_rows", "order_channel", "occurred_at",
    "period_no", "due_date", "plan_status", "reason",
]
_DUCK = {"String": "VARCHAR", "Int64": "BIGINT", "Datetime": "TIMESTAMP", "Date": "DATE"}


def ensure_outcome_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``outcomes`` table (results of the latest run per period) if absent."""
    cols = [f"{c} {_DUCK[str(t).split('(')[0]]}" for c, t in ENGINE_SCHEMA.items()]
    con.execute(
        "CREATE TABLE IF NOT EXISTS outcomes (run_id VARCHAR, period_from DATE, period_to DATE, "
        + ", ".join(cols + [f"{c} {t}" for c, t in EXTRA_COLUMNS.items() if c != "reason_text"]) + ", reason VARCHAR)"
    )
    # a workspace from before the engine gave them: filled once, as the columns are added, where the stored outcomes'
    # records tell (else NULL: the reports fall back to the day the outcome happened, its summed settlement)
    had = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'outcomes' "
                                     "AND schema_name = current_schema() AND database_name = current_database()"
                                     ).fetchall()}
    for c in ("bill_day", "settle_gross_fen"):
        con.execute(f"ALTER TABLE outcomes ADD COLUMN IF NOT EXISTS {c} {_DUCK[str(ENGINE_SCHEMA[c])]}")
    if "bill_day" not in had:
        _backfill_bill_day(con)
    if "settle_gross_fen" not in had:
        _backfill_settle_gross(con)


def _backfill_bill_day(con: duckdb.DuckDBPyConnection) -> None:
    """Give the stored range runs' outcomes the latest bill day of their records, up to the run's last day.

    Without it they count on the day they happened (``reports.provenance``): a payment at 23:59:50 on the 3rd listed
    on the 4th's bill on the 3rd, and a day run of the 3rd after the upgrade replaced it there while no run's 4th held
    it: the month lost its record (helper-69). The records are found by the outcome's order number (payments), refund
    number (refunds) or channel id (records without them, extra copies), an equi-join each (a month's range run of
    10M outcomes must not become a nested loop); a record of the same number under another merchant number may move
    an outcome to a later day of its run, never out of it. A day run's outcomes count on its day whatever they hold."""
    day = bill_day_sql("t")
    ranged = "o.period_from < o.period_to AND o.channel_rows > 0"
    payment, refund = "t.type = 'payment' AND starts_with(o.outcome_id, 'P-')", \
        "t.type = 'refund' AND starts_with(o.outcome_id, 'R-')"
    joins = (
        f"t.order_no = o.order_no AND {payment}",
        f"t.channel = o.channel AND t.channel_tx_id = o.channel_tx_id AND o.order_no IS NULL AND {payment}",
        f"t.refund_no = o.refund_no AND {refund}",
        # a refund outcome names its record by the channel's refund id (the tx id when there is none)
        f"t.channel = o.channel AND coalesce(t.channel_refund_id, t.channel_tx_id) = o.channel_tx_id AND {refund}",
        # an extra copy's outcome: the record's identity is its id (``engine.dedupe``)
        "o.outcome_id = 'D-' || t.channel || ':' || t.channel_tx_id || ':' || t.type || ':' || "
        f"coalesce({', '.join('t.' + c for c in REFKEY_SOURCES)}, '')",
    )
    found = " UNION ALL ".join(
        f"SELECT o.rowid AS _pm_rid, {day} AS _pm_day FROM outcomes o JOIN transactions t ON {on} "
        f"WHERE {ranged} AND {day} <= o.period_to" for on in joins)
    con.execute(f"UPDATE outcomes SET bill_day = f._pm_day FROM (SELECT _pm_rid, max(_pm_day) AS _pm_day "
                f"FROM ({found}) GROUP BY _pm_rid) f WHERE outcomes.rowid = f._pm_rid")


def _backfill_settle_gross(con: duckdb.DuckDBPyConnection) -> None:
    """Give the stored payment outcomes with several records their settlement before the fee record by record, each
    by its own channel (``channel_side.settle_before_fee``), where their records can be found again.

    Without it the report reads the outcome's summed settlement by its one channel: a duplicate payment through WeChat
    and UnionPay stored by the code before counted WeChat's fee as settled, its net high by it, until its day was
    reconciled again (helper-69). The records: the successful payments of the outcome's order (under key_scope its
    merchant number's) up to the run's last day, one copy each (the primary, ``scope.STORED_ROW``); kept only when
    they add up to the outcome's stored settlement and fee, so a record found that its run did not read changes
    nothing (the report then reads the outcome as before)."""
    from .backends.scope import STORED_ROW
    from .engine.dedupe import DUP_KEY_SQL
    from .engine.params import settle_before_fee_sql

    several = "starts_with(outcome_id, 'P-') AND channel_rows > 1"
    # the payments of those outcomes' orders, with their identity and primary rank computed on the records alone
    records = (f"SELECT order_no, merchant_id, status, settle_amount_fen, coalesce(fee_fen, 0) AS fee_fen, "
               f"{settle_before_fee_sql()} AS _pm_gross, {bill_day_sql()} AS _pm_day, "
               f"{STORED_ROW} AS _pm_row, {' || chr(31) || '.join(DUP_KEY_SQL)} AS _pm_ident FROM transactions "
               f"WHERE type = 'payment' AND order_no IN (SELECT order_no FROM outcomes WHERE {several})")
    con.execute(f"""
      UPDATE outcomes SET settle_gross_fen = f._pm_gross FROM (
        SELECT _pm_rid, sum(_pm_gross) AS _pm_gross, sum(settle_amount_fen) AS _pm_settle, sum(fee_fen) AS _pm_fee,
               any_value(_pm_o_settle) AS _pm_o_settle, any_value(_pm_o_fee) AS _pm_o_fee
        FROM (SELECT o.rowid AS _pm_rid, o.settle_amount_fen AS _pm_o_settle, coalesce(o.fee_fen, 0) AS _pm_o_fee, t.*
              FROM outcomes o JOIN ({records}) t ON t.order_no = o.order_no
              WHERE starts_with(o.outcome_id, 'P-') AND o.channel_rows > 1 AND t._pm_day <= o.period_to
                AND substr(o.outcome_id, 3) IN (t.order_no, coalesce(t.merchant_id, '') || '/' || t.order_no)
              QUALIFY row_number() OVER (PARTITION BY o.rowid, t._pm_ident ORDER BY t._pm_row) = 1)
        WHERE status = 'success' GROUP BY _pm_rid) f
      WHERE outcomes.rowid = f._pm_rid AND f._pm_settle IS NOT DISTINCT FROM f._pm_o_settle
        AND f._pm_fee = f._pm_o_fee""")


def _y(col: str) -> str:
    return sql_fen_to_yuan(col)


def _signed(col: str) -> str:
    return f"(CASE WHEN {col} > 0 THEN '+' ELSE '' END || {_y(col)})"


def _gap(micros: str, units: tuple[str, str, str] = (" h ", " min ", " s")) -> str:
    """SQL: a signed number of microseconds as '+1 h 0 min 1 s' or '+0 h 1 min 0.25 s' (the time_mismatch reason:
    exact, so a gap just over the limit never reads as the limit itself); ``units``: the words after the hours,
    minutes and seconds (a zh reason's: ' 小时 ', ' 分 ', ' 秒')."""
    a = f"abs({micros})"
    h, m, s = (f"'{u}'" for u in units)
    return (f"(CASE WHEN {micros} >= 0 THEN '+' ELSE '-' END || ({a} // 3600000000)::VARCHAR || {h} "
            f"|| (({a} % 3600000000) // 60000000)::VARCHAR || {m} || (({a} % 60000000) // 1000000)::VARCHAR "
            f"|| {_fraction(f'{a} % 1000000')} || {s})")


def _fraction(micros: str) -> str:
    """SQL: microseconds (0 ≤ n < 1,000,000) as a decimal fraction of a second without trailing zeros ('.25',
    '.000001'), '' for none: whole seconds read as before, a time with milliseconds keeps them."""
    return f"(CASE WHEN {micros} = 0 THEN '' ELSE '.' || rtrim(lpad(({micros})::VARCHAR, 6, '0'), '0') END)"


def _local_time(ts: str) -> str:
    """SQL: an engine time (UTC) in Asia/Shanghai to the second, and its fraction of a second when it has one."""
    return (f"(strftime(timezone('UTC', {ts}), '%Y-%m-%d %H:%M:%S') "
            f"|| {_fraction(f'microsecond({ts}) % 1000000')})")


#: the time_mismatch ``detail``: when the channel booked the payment, UTC to the microsecond (``engine.payments``)
_BOOKED = "try_strptime(detail, '%Y-%m-%d %H:%M:%S.%f')"


def _percent(ppm: str) -> str:
    """SQL: a rate in millionths as a percentage, at least two decimals ('0.60%', '0.38%', '0.2345%')."""
    frac = f"lpad(({ppm} % 10000)::VARCHAR, 4, '0')"
    return (f"(({ppm} // 10000)::VARCHAR || '.' || CASE WHEN {ppm} % 100 = 0 THEN left({frac}, 2) "
            f"ELSE rtrim({frac}, '0') END || '%')")


#: the fields of fee_mismatch's ``detail``, in order (``engine.payments._fee_detail``)
_FEE_DETAIL = ("expected", "gap", "ppm", "cap", "base")


def fee_detail_sql(field: str) -> str:
    """SQL: one field of a fee_mismatch outcome's ``detail`` (fen, or the rate in millionths), NULL when empty."""
    return f"TRY_CAST(split_part(detail, ':', {_FEE_DETAIL.index(field) + 1}) AS BIGINT)"


def _fee_reason() -> str:
    """SQL: the fee_mismatch reason from ``detail`` (``engine.payments._fee_detail``): the fee the records held to
    the rate were charged, the fee it expects, the rate, the amount and the cap when it decided the fee."""
    exp, gap, ppm, cap, base = map(fee_detail_sql, _FEE_DETAIL)
    return (f"'channel fee ' || coalesce({_y(f'({exp} + {gap})')}, '?') || ' ≠ ' || coalesce({_y(exp)}, '?') "
            f"|| ' expected at the contracted rate ' || coalesce({_percent(ppm)}, '?') "
            f"|| CASE WHEN {base} IS NOT NULL THEN ' of ' || {_y(base)} ELSE '' END "
            f"|| CASE WHEN {cap} IS NOT NULL THEN ' (capped at ' || {_y(cap)} || ')' ELSE '' END "
            f"|| ' (' || coalesce({_signed(gap)}, '?') || '; 手续费不符)'")


#: ``engine.payments``' detail of an order naming no merchant number whose payments name several (and of those
#: payments): 'ambiguous_merchant:<how many>:<least>:<greatest>', its parts
_AMBIGUOUS = "starts_with(detail, 'ambiguous_merchant:')"
_AMB_N, _AMB_LO, _AMB_HI = (f"split_part(detail, ':', {i})" for i in (2, 3, 4))
#: the merchant numbers in doubt as a reason lists them: both of two, else the least … the greatest
AMBIGUOUS_MERCHANTS = f"{_AMB_LO} || CASE WHEN {_AMB_N} = '2' THEN ', ' ELSE ' … ' END || {_AMB_HI}"

#: SQL: how many records of a duplicate payment or refund did not succeed (``engine.channel_side.with_attempts``: the
#: ``attempts:<k>`` part of its detail; 0 without one); its reason counts the others
ATTEMPTS_SQL = "coalesce(TRY_CAST(nullif(regexp_extract(detail, 'attempts:([0-9]+)', 1), '') AS BIGINT), 0)"
#: SQL: the outcome of records without a shop row has two or more successful ones (its detail counts them)
_SEVERAL = "coalesce(contains(detail, 'attempts:'), false)"
def _besides(noun: str) -> str:
    """SQL: '; besides <k> <noun>that did not succeed' for the records a duplicate (or a key without a shop row) holds
    beside its successful ones (``ATTEMPTS_SQL``), '' without any; ``noun`` 'attempt' is made plural for k > 1."""
    word = "" if not noun else f" || ' {noun}' || CASE WHEN {ATTEMPTS_SQL} > 1 THEN 's' ELSE '' END"
    return (f"CASE WHEN {ATTEMPTS_SQL} > 0 THEN '; besides ' || {ATTEMPTS_SQL}::VARCHAR{word} || ' that did not "
            "succeed' ELSE '' END")


_BESIDES, _BESIDES_ATTEMPTS = _besides(""), _besides("attempt")

REASON_SQL = f"""coalesce(reason_text, CASE kind
  WHEN 'matched' THEN CASE WHEN difference_fen = 0 THEN 'channel = order (已对平)'
       ELSE 'channel ' || {_y('channel_amount_fen')} || ' ≈ order ' || {_y('order_amount_fen')} || ' ('
            || {_signed('difference_fen')} || ', within the tolerance: 已对平)' END
       || CASE WHEN detail = 'by_order_no' THEN '; paired by order number: the order names no merchant number and '
       || 'only merchant ' || coalesce(merchant_id, '?') || '''s payments carry it' ELSE '' END
  WHEN 'refund_matched' THEN CASE WHEN detail = 'by_order_amount'
       THEN 'channel refund = shop refund, paired by order and amount: the channel gave no refund number (退款已对平)'
       WHEN difference_fen = 0 THEN 'channel refund = shop refund (退款已对平)'
       ELSE 'channel refund ' || {_y('channel_amount_fen')} || ' ≈ shop refund ' || {_y('order_amount_fen')} || ' ('
            || {_signed('difference_fen')} || ', within the tolerance: 退款已对平)' END
  WHEN 'amount_mismatch' THEN 'channel ' || {_y('channel_amount_fen')} || ' ≠ order ' || {_y('order_amount_fen')}
       || ' (' || {_signed('difference_fen')} || CASE WHEN difference_fen > 0 THEN ', 长款: channel received more)'
       ELSE ', 短款: channel received less)' END
  WHEN 'over_refund' THEN 'channel refunds of order ' || coalesce(order_no, '?') || ' reach '
       || {_y("TRY_CAST(split_part(detail, ':', 1) AS BIGINT)")} || ' with this one, above the '
       || {_y("TRY_CAST(split_part(detail, ':', 2) AS BIGINT)")} || ' paid (+' || {_y('difference_fen')} || '; 超额退款)'
  WHEN 'refund_amount_mismatch' THEN 'channel refund ' || {_y('channel_amount_fen')} || ' ≠ shop refund '
       || {_y('order_amount_fen')} || ' (' || {_signed('difference_fen')} || ')'
  WHEN 'order_only' THEN CASE WHEN {_AMBIGUOUS} THEN 'order ' || order_status || ' ' || {_y('order_amount_fen')}
       || ' names no merchant number, and the payments of order ' || coalesce(order_no, '?') || ' name '
       || {_AMB_N} || ' merchant numbers (' || {AMBIGUOUS_MERCHANTS} || '): ambiguous, not matched to any of them '
       || '(平台单边/渠道漏单)'
       ELSE 'order ' || order_status || ' ' || {_y('order_amount_fen')} || ' but no channel payment in the window (平台单边/渠道漏单)' END
  WHEN 'channel_only' THEN CASE WHEN {_SEVERAL} THEN (channel_rows - {ATTEMPTS_SQL})::VARCHAR
       || ' successful channel payments (' || channel_tx_id || ' … ' || coalesce(channel_tx_id_last, '') || ') total '
       || {_y('channel_amount_fen')} || ' for order ' || coalesce(order_no, '(none)') || ' that the shop does not have'
       || {_BESIDES_ATTEMPTS} || ' (渠道单边/平台漏单)' ELSE
       'channel ' || coalesce(channel_status, '?') || ' payment ' || {_y('channel_amount_fen')}
       || ' for order ' || coalesce(order_no, '(none)') || CASE WHEN {_AMBIGUOUS} THEN ' of merchant '
       || coalesce(merchant_id, '?') || ': the shop''s order of this number names no merchant number, and '
       || {_AMB_N} || ' merchant numbers'' payments carry it (' || {AMBIGUOUS_MERCHANTS}
       || '): ambiguous, not matched (渠道单边/平台漏单)'
       ELSE ' that the shop does not have (渠道单边/平台漏单)' END END
  WHEN 'duplicate_payment' THEN (channel_rows - {ATTEMPTS_SQL})::VARCHAR || ' channel payments (' || channel_tx_id
       || ' … ' || coalesce(channel_tx_id_last, '') || ') total ' || {_y('channel_amount_fen')} || ' for one order of '
       || {_y('order_amount_fen')}
       || CASE WHEN contains(detail, 'cross_channel') THEN ', on two channels' ELSE '' END
       || CASE WHEN contains(detail, 'notification') THEN '; not all on a bill yet: a real-time notification says so'
       ELSE '' END || {_BESIDES_ATTEMPTS} || ' (重复支付)'
  WHEN 'status_mismatch' THEN 'order ' || coalesce(order_status, '?') || ' but channel ' || coalesce(channel_status, '?')
  WHEN 'channel_mismatch' THEN CASE WHEN detail = 'internal_method_paid'
       THEN 'order paid by internal method ' || order_channel || ' but channel ' || channel || ' has a payment'
       ELSE 'order method ' || order_channel || ' but paid through ' || channel END
  WHEN 'merchant_mismatch' THEN 'order of merchant ' || coalesce(merchant_id, '?') || ' but the channel credited merchant '
       || coalesce(detail, '?') || ' (收款商户号不符)' || CASE WHEN difference_fen <> 0 THEN '; amounts: channel '
       || {_y('channel_amount_fen')} || ', order ' || {_y('order_amount_fen')} || ' (' || {_signed('difference_fen')} || ')' ELSE '' END
  WHEN 'time_mismatch' THEN 'channel booked the payment ' || coalesce({_local_time(_BOOKED)}, '?')
       || ' but the order was paid ' || {_local_time('occurred_at')} || ' (Asia/Shanghai; '
       || coalesce({_gap(f"epoch_us({_BOOKED}) - epoch_us(occurred_at)")}, '?')
       || '), beyond [match] max_time_gap_minutes (时间不符: an order number used twice, or a stale payment)'
  WHEN 'fee_mismatch' THEN {_fee_reason()}
  WHEN 'unconfirmed' THEN CASE WHEN refund_no IS NULL THEN 'amounts agree (' || {_y('order_amount_fen')}
       || ') but only a real-time notification says so; no bill confirms it yet' ELSE 'refund amounts agree ('
       || {_y('order_amount_fen')} || ') but only a real-time notification says it was paid back; no bill confirms it yet' END
  WHEN 'pending_cross_day' THEN CASE WHEN refund_no IS NULL
       THEN 'order paid ' || strftime(timezone('UTC', occurred_at), '%Y-%m-%d %H:%M:%S') || ' (Asia/Shanghai) near/after the window end; expected on the next bill (跨日待对)'
       ELSE 'refund created near/after the window end; expected on the next bill (跨日待对)' END
  WHEN 'unpaid' THEN 'order ' || order_status || ', no successful channel payment (consistent)'
  WHEN 'internal' THEN CASE WHEN detail = 'zero_amount' THEN 'order of 0.00 (fully discounted): nothing to collect; '
       || 'no external record expected' WHEN detail = 'zero_refund' THEN 'shop refund of 0.00: nothing to pay back; '
       || 'no channel refund expected' WHEN detail = 'internal_refund' THEN 'shop refund ' || {_y('order_amount_fen')}
       || ' of an order paid by internal method ' || coalesce(order_channel, '?') || ': paid back there; no external '
       || 'refund expected' ELSE 'paid by internal method ' || coalesce(order_channel, '?')
       || '; no external record expected' END
  WHEN 'record_update' THEN 'channel record ' || channel_tx_id || ' also listed as ' || coalesce(channel_status, '?')
       || ' on another bill: an earlier or later state of the record (流水状态更新); its other listing is matched'
  WHEN 'duplicate_record' THEN 'the same channel record ' || channel_tx_id || ' appears ' || (channel_rows + 1)::VARCHAR
       || ' times in the inputs; the extra ' || channel_rows::VARCHAR || ' ignored for matching'
  WHEN 'refund_order_only' THEN 'shop refund ' || {_y('order_amount_fen')} || ' has no channel refund (退款平台单边)'
  WHEN 'refund_channel_only' THEN CASE WHEN {_SEVERAL} THEN (channel_rows - {ATTEMPTS_SQL})::VARCHAR
       || ' successful channel refunds (' || channel_tx_id || ' … ' || coalesce(channel_tx_id_last, '') || ') total '
       || {_y('channel_amount_fen')} || ' the shop never recorded' || {_BESIDES} || ' (退款渠道单边)'
       ELSE 'channel refund ' || {_y('channel_amount_fen')} || ' the shop never recorded (退款渠道单边)' END
  WHEN 'refund_order_mismatch' THEN 'shop refund is for order ' || coalesce(order_no, '?')
       || ' but the channel refunded another order'
  WHEN 'refund_status_mismatch' THEN 'shop refund ' || coalesce(order_status, '?') || ' but channel refund ' || coalesce(channel_status, '?')
  WHEN 'refund_failed' THEN 'shop refund failed, no successful channel refund (consistent)'
  WHEN 'refund_pending' THEN 'shop refund ' || coalesce(order_status, '?') || ', no successful channel refund (consistent)'
  WHEN 'duplicate_refund' THEN (channel_rows - {ATTEMPTS_SQL})::VARCHAR || ' successful channel refunds total '
       || {_y('channel_amount_fen')} || ' for one shop refund of ' || {_y('order_amount_fen')}
       || {_BESIDES}
  ELSE kind END)"""


def store_map_table(con: duckdb.DuckDBPyConnection, stores: dict[str, str] | None) -> str:
    """Temp table ``_pm_store_map`` (merchant_id, store_id) of config ``stores``, empty without any: the store of a
    record or outcome no order names, as outcomes, fund flow and the anomaly board read it. Returns its name."""
    con.execute("CREATE OR REPLACE TEMP TABLE _pm_store_map (merchant_id VARCHAR, store_id VARCHAR)")
    if stores:
        con.executemany("INSERT INTO _pm_store_map VALUES (?, ?)", list(stores.items()))
    return "_pm_store_map"


def _attributed_select(con: duckdb.DuckDBPyConnection, stores: dict[str, str]) -> str:
    """SELECT list over the engine's relation (alias ``o``): store attribution from the merchant map,
    the instalment columns as NULL."""
    store_sql = "store_id"
    if stores:
        store_map_table(con, stores)
        store_sql = "coalesce(o.store_id, (SELECT m.store_id FROM _pm_store_map m WHERE m.merchant_id = o.merchant_id))"
    cols = [c if c != "store_id" else f"{store_sql} AS store_id" for c in ENGINE_SCHEMA]
    cols += [f"NULL::{t} AS {c}" for c, t in EXTRA_COLUMNS.items()]
    return ", ".join(cols)


def materialize(con: duckdb.DuckDBPyConnection, rel: duckdb.DuckDBPyRelation, stores: dict[str, str],
                table: str = "_pm_outcomes") -> str:
    """Turn the engine's relation into a temp table with store attribution; returns its name.

    Needed when rows are added (instalment periods) or stored (workspace); a file-only run streams
    instead (``stream``). Reasons are not stored here: they are rendered where outcomes leave, once.
    """
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.register("_pm_engine_out", rel)
    try:
        con.execute(f"CREATE TEMP TABLE {table} AS SELECT {_attributed_select(con, stores)} FROM _pm_engine_out o")
    finally:
        con.unregister("_pm_engine_out")
    return table


def stream(con: duckdb.DuckDBPyConnection, rel: duckdb.DuckDBPyRelation, stores: dict[str, str],
           view: str = "_pm_outcomes_view") -> str:
    """The engine's relation with store attribution as a view (computed when read, never stored)."""
    con.register("_pm_engine_out", rel)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT {_attributed_select(con, stores)} FROM _pm_engine_out o")
    return view


#: per (kind, channel, the order's method, class of outcome id) counts and sums: all a summary needs, a few hundred
#: rows at most
_ROLLUP_SUMS = ["order_amount_fen", "channel_amount_fen", "difference_fen", "order_rows", "order_total_fen",
                "channel_rows", "channel_total_fen"]
_ROLLUP_KEYS = ["kind", "channel", "order_channel", "_pm_cls"]
_CLS_SQL = "outcome_id[1] AS _pm_cls"  # P- payments, R- refunds, D- duplicate records, I- instalment periods


def rollup(con: duckdb.DuckDBPyConnection, source: str) -> pa.Table:
    """The summary's rollup of a table or view of outcomes, in SQL (when no CSV is written)."""
    sums = ", ".join(f"coalesce(sum({c}), 0)::BIGINT AS {c}" for c in _ROLLUP_SUMS)
    return con.sql(f"SELECT kind, channel, order_channel, _pm_cls, count(*)::BIGINT AS n, {sums} "
                   f"FROM (SELECT *, {_CLS_SQL} FROM {source}) GROUP BY ALL").to_arrow_table()


def _csv_select() -> str:
    special = {
        # occurred_at is naive UTC inside; the file shows Asia/Shanghai time with its offset. Asia/Shanghai
        # has been a fixed +08:00 since 1992: plain arithmetic there (a per-row ICU zone conversion cost
        # 6 s on 10M rows); the zone database for anything older
        # a fraction of a second as datetime.isoformat() writes it: six digits when there is one, none when the
        # time is whole (channels' times are; ERP times may not be). One format per branch: DuckDB wants constants
        "occurred_at": "CASE WHEN occurred_at >= TIMESTAMP '1992-01-01' THEN CASE WHEN microsecond(occurred_at) "
                       "% 1000000 = 0 THEN strftime(occurred_at + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S+08:00') "
                       "ELSE strftime(occurred_at + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S.%f+08:00') END "
                       "WHEN microsecond(occurred_at) % 1000000 = 0 "
                       "THEN strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S%z') "
                       "ELSE strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S.%f%z') END AS occurred_at",
        "reason": f"{REASON_SQL} AS reason",
    }
    hidden = [c for c in _ROLLUP_SUMS if c not in CSV_COLUMNS]
    return ", ".join([special.get(c, c) for c in CSV_COLUMNS] + hidden + [_CLS_SQL])


def write_csv(con: duckdb.DuckDBPyConnection, source: str, path: Path, *, batch_rows: int = 1 << 17,
              publish: bool = True) -> pa.Table:
    """Write outcomes.csv (UTF-8, header; strings quoted) from a table or view; returns its ``rollup``.

    One pass: DuckDB computes the outcomes (and their reasons) in parallel and hands Arrow batches
    over; each batch is written by Arrow's CSV writer and summed per (kind, channel, class), so the
    summary describes exactly the rows that went into the file and the outcomes are never stored
    in between. Row order is not significant (ids are stable; sorting 10 million rows cost more
    than the whole match, so it is left to whoever reads the file). The file appears only once
    complete (written as ``.csv.part``, then renamed; ``publish=False`` leaves it there for ``publish_outputs``).
    """
    tmp = part(path)
    reader = con.sql(f"SELECT {_csv_select()} FROM {source}").to_arrow_reader(batch_rows)
    parts = []
    try:
        # (a writer thread overlapping DuckDB was slower on 2 cores, and held more batches in memory)
        # (past the page cache: see bigfile; 2 GB through it cost up to 14 s of kernel time on a VM)
        with DirectFile(tmp) as sink, pacsv.CSVWriter(sink, _csv_schema(reader.schema),
                                                      write_options=pacsv.WriteOptions(quoting_header="none")) as out:
            for batch in reader:
                out.write_batch(batch.select(CSV_COLUMNS))
                parts.append(_batch_rollup(batch))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if publish:
        tmp.replace(path)
    return _combine(parts)


def part(path: Path) -> Path:
    """Where a writer writes ``path`` until it is complete (``outcomes.csv.part``)."""
    return path.with_name(path.name + ".part")


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([schema.field(c) for c in CSV_COLUMNS])


def _batch_rollup(batch: pa.RecordBatch) -> pa.Table:
    t = pa.Table.from_batches([batch.select([*_ROLLUP_KEYS, *_ROLLUP_SUMS])])
    g = t.group_by(_ROLLUP_KEYS, use_threads=False).aggregate(
        [([], "count_all"), *[(c, "sum") for c in _ROLLUP_SUMS]])
    return g.rename_columns(_rollup_names(g.column_names))


def _rollup_names(names: list[str]) -> list[str]:
    return ["n" if n == "count_all" else n.removesuffix("_sum") for n in names]


def _combine(parts: list[pa.Table]) -> pa.Table:
    if not parts:
        return pa.table({"kind": pa.array([], pa.string()), "channel": pa.array([], pa.string()),
                         "order_channel": pa.array([], pa.string()), "_pm_cls": pa.array([], pa.string()), "n": pa.array([], pa.int64()),
                         **{c: pa.array([], pa.int64()) for c in _ROLLUP_SUMS}})
    t = pa.concat_tables(parts, promote_options="permissive")
    g = t.group_by(_ROLLUP_KEYS, use_threads=False).aggregate([("n", "sum"), *[(c, "sum") for c in _ROLLUP_SUMS]])
    return g.rename_columns(_rollup_names(g.column_names))


def summarize(con: duckdb.DuckDBPyConnection, rolled: pa.Table, inputs: dict[str, tuple[int, int]],
              extra_control: dict | None = None, empty_bills: set[str] | frozenset[str] = frozenset()) -> dict:
    """Counts and amounts per kind and per channel, plus the control totals tie-out, from a ``rollup``.

    ``inputs`` maps 'orders'/'refunds'/'transactions' to (rows, amount_fen) as loaded (orders left
    to the instalment matcher excluded); ``extra_control`` adds further tie-outs (instalments); ``empty_bills``: the
    channels whose bill of the run's days was loaded and lists no rows (``summary_notes``): not named as left out.
    """
    con.register("_pm_rollup", rolled)
    try:
        by_kind = con.execute(
            "SELECT kind, sum(n), sum(order_amount_fen), sum(channel_amount_fen), sum(difference_fen) "
            "FROM _pm_rollup GROUP BY kind ORDER BY kind").fetchall()
        by_channel = con.execute(
            "SELECT coalesce(channel, '(none)'), kind, sum(n), sum(order_amount_fen), sum(channel_amount_fen) "
            "FROM _pm_rollup GROUP BY ALL ORDER BY ALL").fetchall()
        got = con.execute(
            "SELECT sum(order_rows) FILTER (WHERE _pm_cls NOT IN ('R', 'I')), "
            "sum(order_total_fen) FILTER (WHERE _pm_cls NOT IN ('R', 'I')), "
            "sum(order_rows) FILTER (WHERE _pm_cls = 'R'), sum(order_total_fen) FILTER (WHERE _pm_cls = 'R'), "
            "sum(channel_rows) FILTER (WHERE _pm_cls <> 'I'), sum(channel_total_fen) FILTER (WHERE _pm_cls <> 'I') "
            "FROM _pm_rollup").fetchall()[0]
        # a channel the orders expect payments on that has no record at all in the run: nearly always a bill
        # left out of the inputs (its orders are all order_only), said once instead of order by order. Not an
        # order whose method's own channel has records in the run (a Cloud QuickPass order settles through unionpay,
        # yet the cloud_quickpass bill names its records after the method: that bill was given, helper-117), or
        # whose bill of the run's days was given and lists none (``empty_bills``, as for the settling channel's)
        silent = con.execute(
            "WITH given AS (SELECT channel FROM _pm_rollup WHERE channel IS NOT NULL AND _pm_cls <> 'I' "
            "AND channel_rows > 0 UNION ALL SELECT unnest($empty::VARCHAR[])), "
            "r AS (SELECT *, kind = 'order_only' AND coalesce(order_channel = channel "
            "OR order_channel NOT IN (SELECT channel FROM given), true) AS _pm_left FROM _pm_rollup) "
            "SELECT channel, sum(n) FILTER (WHERE _pm_left), sum(order_amount_fen) FILTER (WHERE _pm_left) FROM r "
            "WHERE channel IS NOT NULL GROUP BY channel HAVING sum(n) FILTER (WHERE _pm_left) > 0 "
            "AND coalesce(sum(channel_rows) FILTER (WHERE _pm_cls <> 'I'), 0) = 0 ORDER BY channel",
            {"empty": sorted(empty_bills)}).fetchall()
    finally:
        con.unregister("_pm_rollup")
    got = [int(x or 0) for x in got]
    control = {
        "orders": {"input_rows": inputs["orders"][0], "input_fen": inputs["orders"][1],
                   "outcome_rows": got[0], "outcome_fen": got[1]},
        "refunds": {"input_rows": inputs["refunds"][0], "input_fen": inputs["refunds"][1],
                    "outcome_rows": got[2], "outcome_fen": got[3]},
        "transactions": {"input_rows": inputs["transactions"][0], "input_fen": inputs["transactions"][1],
                         "outcome_rows": got[4], "outcome_fen": got[5]},
    }
    control.update(extra_control or {})
    tied = all(v["input_rows"] == v["outcome_rows"] and v["input_fen"] == v["outcome_fen"] for v in control.values())
    return {
        "outcomes": int(sum(r[1] for r in by_kind)),
        "by_kind": [
            {"kind": k, "count": int(n), "order_amount_fen": int(a or 0), "channel_amount_fen": int(b or 0),
             "difference_fen": int(d or 0)}
            for k, n, a, b, d in by_kind
        ],
        "by_channel": [
            {"channel": c, "kind": k, "count": int(n), "order_amount_fen": int(a or 0),
             "channel_amount_fen": int(b or 0)}
            for c, k, n, a, b in by_channel
        ],
        "control_totals": control,
        "conservation": tied,
        "channels_without_records": [{"channel": c, "order_only": int(n), "order_amount_fen": int(a or 0)}
                                     for c, n, a in silent if c not in empty_bills],
    }


def dump_summary(summary: dict, path: Path, *, publish: bool = True) -> None:
    """Write summary.json (UTF-8, stable key order): as ``summary.json.part``, renamed when complete (unless not
    ``publish``: ``publish_outputs`` does)."""
    tmp = part(path)
    try:
        tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if publish:
        tmp.replace(path)


def publish_outputs(csv_path: Path, json_path: Path) -> None:
    """Move a run's complete outcomes.csv and summary.json (their ``.part`` files) into place together.

    A run stopped between its outcomes.csv and its summary.json left the new file beside the previous run's
    summary, a pair a reader takes for one run. The previous summary goes first, so what a reader can find is the
    previous pair, an outcomes.csv without summary (a run under way), or the new pair; never a mixed one.
    """
    json_path.unlink(missing_ok=True)
    part(csv_path).replace(csv_path)
    part(json_path).replace(json_path)


def discard_outputs(*paths: Path) -> None:
    """Remove the ``.part`` files of outputs a run did not complete."""
    for p in paths:
        part(p).unlink(missing_ok=True)
