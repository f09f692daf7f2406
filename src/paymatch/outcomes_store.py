"""Outcomes at the edge: human-readable reasons, the stored ``outcomes`` table, CSV output and the
run summary with its control totals (conservation).

Reasons are rendered in DuckDB SQL from the engine's structured fields, so every backend's
result reads the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from .engine.frames import ENGINE_SCHEMA
from .money import sql_fen_to_yuan

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
_DUCK = {"String": "VARCHAR", "Int64": "BIGINT", "Datetime": "TIMESTAMP"}


def ensure_outcome_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``outcomes`` table (results of the latest run per period) if absent."""
    cols = [f"{c} {_DUCK[str(t).split('(')[0]]}" for c, t in ENGINE_SCHEMA.items()]
    con.execute(
        "CREATE TABLE IF NOT EXISTS outcomes (run_id VARCHAR, period_from DATE, period_to DATE, "
        + ", ".join(cols + [f"{c} {t}" for c, t in EXTRA_COLUMNS.items() if c != "reason_text"]) + ", reason VARCHAR)"
    )


def _y(col: str) -> str:
    return sql_fen_to_yuan(col)


def _signed(col: str) -> str:
    return f"(CASE WHEN {col} > 0 THEN '+' ELSE '' END || {_y(col)})"


REASON_SQL = f"""coalesce(reason_text, CASE kind
  WHEN 'matched' THEN 'channel ' || {_y('channel_amount_fen')} || ' = order ' || {_y('order_amount_fen')}
  WHEN 'refund_matched' THEN 'channel refund ' || {_y('channel_amount_fen')} || ' = shop refund ' || {_y('order_amount_fen')}
  WHEN 'amount_mismatch' THEN 'channel ' || {_y('channel_amount_fen')} || ' ≠ order ' || {_y('order_amount_fen')}
       || ' (' || {_signed('difference_fen')} || CASE WHEN difference_fen > 0 THEN ', 长款: channel received more)'
       ELSE ', 短款: channel received less)' END
  WHEN 'refund_amount_mismatch' THEN 'channel refund ' || {_y('channel_amount_fen')} || ' ≠ shop refund '
       || {_y('order_amount_fen')} || ' (' || {_signed('difference_fen')} || ')'
  WHEN 'order_only' THEN 'order ' || order_status || ' ' || {_y('order_amount_fen')} || ' but no channel payment in the window (平台单边/渠道漏单)'
  WHEN 'channel_only' THEN 'channel ' || coalesce(channel_status, '?') || ' payment ' || {_y('channel_amount_fen')}
       || ' for order ' || coalesce(order_no, '(none)') || ' that the shop does not have (渠道单边/平台漏单)'
  WHEN 'duplicate_payment' THEN channel_rows::VARCHAR || ' channel payments (' || channel_tx_id || ' … '
       || coalesce(channel_tx_id_last, '') || ') total ' || {_y('channel_amount_fen')} || ' for one order of '
       || {_y('order_amount_fen')} || CASE WHEN detail = 'cross_channel' THEN ', on two channels' ELSE '' END || ' (重复支付)'
  WHEN 'status_mismatch' THEN 'order ' || coalesce(order_status, '?') || ' but channel ' || coalesce(channel_status, '?')
  WHEN 'channel_mismatch' THEN CASE WHEN detail = 'internal_method_paid'
       THEN 'order paid by internal method ' || order_channel || ' but channel ' || channel || ' has a payment'
       ELSE 'order method ' || order_channel || ' but paid through ' || channel END
  WHEN 'unconfirmed' THEN 'amounts agree (' || {_y('order_amount_fen')} || ') but only a real-time notification says so; no bill confirms it yet'
  WHEN 'pending_cross_day' THEN CASE WHEN refund_no IS NULL
       THEN 'order paid ' || strftime(timezone('UTC', occurred_at), '%Y-%m-%d %H:%M:%S') || ' (Asia/Shanghai) near/after the window end; expected on the next bill (跨日待对)'
       ELSE 'refund created near/after the window end; expected on the next bill (跨日待对)' END
  WHEN 'unpaid' THEN 'order ' || order_status || ', no successful channel payment (consistent)'
  WHEN 'internal' THEN 'paid by internal method ' || coalesce(order_channel, '?') || '; no external record expected'
  WHEN 'duplicate_record' THEN 'the same channel record ' || channel_tx_id || ' appears ' || (channel_rows + 1)::VARCHAR
       || ' times in the inputs; the extra ' || channel_rows::VARCHAR || ' ignored for matching'
  WHEN 'refund_order_only' THEN 'shop refund ' || {_y('order_amount_fen')} || ' has no channel refund (退款平台单边)'
  WHEN 'refund_channel_only' THEN 'channel refund ' || {_y('channel_amount_fen')} || ' the shop never recorded (退款渠道单边)'
  WHEN 'refund_order_mismatch' THEN 'shop refund is for order ' || coalesce(order_no, '?')
       || ' but the channel refunded another order'
  WHEN 'refund_status_mismatch' THEN 'shop refund ' || coalesce(order_status, '?') || ' but channel refund ' || coalesce(channel_status, '?')
  WHEN 'refund_pending' THEN 'shop refund ' || coalesce(order_status, '?') || ', no successful channel refund (consistent)'
  WHEN 'duplicate_refund' THEN channel_rows::VARCHAR || ' successful channel refunds total ' || {_y('channel_amount_fen')}
       || ' for one shop refund of ' || {_y('order_amount_fen')}
  ELSE kind END)"""


def materialize(con: duckdb.DuckDBPyConnection, rel: duckdb.DuckDBPyRelation, stores: dict[str, str],
                table: str = "_pm_outcomes") -> str:
    """Turn the engine's relation into a temp table with store attribution; returns its name.

    Reasons are not stored here: they are rendered where outcomes leave (CSV, workspace), once.
    """
    con.execute(f"DROP TABLE IF EXISTS {table}")
    con.register("_pm_engine_out", rel)
    try:
        store_sql = "store_id"
        if stores:
            con.execute("CREATE OR REPLACE TEMP TABLE _pm_store_map (merchant_id VARCHAR, store_id VARCHAR)")
            con.executemany("INSERT INTO _pm_store_map VALUES (?, ?)", list(stores.items()))
            store_sql = "coalesce(o.store_id, (SELECT m.store_id FROM _pm_store_map m WHERE m.merchant_id = o.merchant_id))"
        cols = [c if c != "store_id" else f"{store_sql} AS store_id" for c in ENGINE_SCHEMA]
        cols += [f"NULL::{t} AS {c}" for c, t in EXTRA_COLUMNS.items()]
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT {', '.join(cols)} FROM _pm_engine_out o"
        )
    finally:
        con.unregister("_pm_engine_out")
    return table


def write_csv(con: duckdb.DuckDBPyConnection, table: str, path: Path) -> None:
    """Write outcomes.csv (UTF-8, header). Row order is not significant (ids are stable; sorting a
    10-million-row file cost more than the whole match, so it is left to whoever reads it)."""
    special = {
        # occurred_at is naive UTC inside; the file shows Asia/Shanghai time (the session zone) with its offset
        # Asia/Shanghai has been a fixed +08:00 since 1992: plain arithmetic there (a per-row ICU zone
        # conversion cost 6 s on 10M rows); the zone database for anything older
        "occurred_at": "CASE WHEN occurred_at >= TIMESTAMP '1992-01-01' "
                       "THEN strftime(occurred_at + INTERVAL 8 HOUR, '%Y-%m-%dT%H:%M:%S') || '+08:00' "
                       "ELSE strftime(timezone('UTC', occurred_at), '%Y-%m-%dT%H:%M:%S%z') END AS occurred_at",
        "reason": f"{REASON_SQL} AS reason",
    }
    cols = ", ".join(special.get(c, c) for c in CSV_COLUMNS)
    tmp = path.with_suffix(".csv.part")
    target = str(tmp).replace("'", "''")
    con.execute(f"COPY (SELECT {cols} FROM {table}) TO '{target}' (HEADER, DELIMITER ',')").fetchall()
    tmp.replace(path)


def summarize(con: duckdb.DuckDBPyConnection, table: str, inputs: dict[str, tuple[int, int]],
              extra_control: dict | None = None) -> dict:
    """Counts and amounts per kind and per channel, plus the control totals tie-out.

    ``inputs`` maps 'orders'/'refunds'/'transactions' to (rows, amount_fen) as loaded (orders left
    to the instalment matcher excluded); ``extra_control`` adds further tie-outs (instalments).
    """
    by_kind = con.execute(
        f"SELECT kind, count(*), coalesce(sum(order_amount_fen),0), coalesce(sum(channel_amount_fen),0), "
        f"coalesce(sum(difference_fen),0) FROM {table} GROUP BY kind ORDER BY kind"
    ).fetchall()
    by_channel = con.execute(
        f"SELECT coalesce(channel, '(none)'), kind, count(*), coalesce(sum(order_amount_fen),0), "
        f"coalesce(sum(channel_amount_fen),0) FROM {table} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    got = con.execute(
        f"SELECT sum(order_rows) FILTER (WHERE NOT starts_with(outcome_id, 'R-') AND NOT starts_with(outcome_id, 'I-')), "
        f"sum(order_total_fen) FILTER (WHERE NOT starts_with(outcome_id, 'R-') AND NOT starts_with(outcome_id, 'I-')), "
        f"sum(order_rows) FILTER (WHERE starts_with(outcome_id, 'R-')), "
        f"sum(order_total_fen) FILTER (WHERE starts_with(outcome_id, 'R-')), "
        f"sum(channel_rows) FILTER (WHERE NOT starts_with(outcome_id, 'I-')), "
        f"sum(channel_total_fen) FILTER (WHERE NOT starts_with(outcome_id, 'I-')) FROM {table}"
    ).fetchall()[0]
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
        "outcomes": sum(r[1] for r in by_kind),
        "by_kind": [
            {"kind": k, "count": n, "order_amount_fen": int(a), "channel_amount_fen": int(b), "difference_fen": int(d)}
            for k, n, a, b, d in by_kind
        ],
        "by_channel": [
            {"channel": c, "kind": k, "count": n, "order_amount_fen": int(a), "channel_amount_fen": int(b)}
            for c, k, n, a, b in by_channel
        ],
        "control_totals": control,
        "conservation": tied,
    }


def dump_summary(summary: dict, path: Path) -> None:
    """Write summary.json (UTF-8, stable key order)."""
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
