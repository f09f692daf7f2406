"""Small builders for instalment tests: orders and flows as DuckDB relations wrapped by Narwhals."""

from __future__ import annotations

import datetime as dt

import duckdb
import narwhals as nw
import pyarrow as pa

from paymatch.instalments.flows import FLOW_ARROW

UTC = dt.timezone.utc
SH = dt.timezone(dt.timedelta(hours=8))

ORDER_ARROW = pa.schema([
    ("order_no", pa.string()), ("store_id", pa.string()), ("merchant_id", pa.string()),
    ("channel", pa.string()), ("amount_fen", pa.int64()), ("status", pa.string()),
    ("created_at", pa.timestamp("us", tz="UTC")), ("paid_at", pa.timestamp("us", tz="UTC")),
    ("member_id", pa.string()), ("member_level", pa.string()), ("instalments", pa.int32()),
])


def order(order_no, channel, amount_fen, instalments, paid_at, *, store="S1", member="m1", status="paid"):
    """One order row as a dict."""
    return {
        "order_no": order_no, "store_id": store, "merchant_id": "M1", "channel": channel,
        "amount_fen": amount_fen, "status": status, "created_at": paid_at, "paid_at": paid_at,
        "member_id": member, "member_level": "gold", "instalments": instalments,
    }


def flow(order_no, period_no, periods, amount_fen, occurred_at, *, line, channel="wechat_payscore",
         status="success", fee_fen=0, src_file="flows.csv"):
    """One flow row as a dict (already loaded form)."""
    return {
        "channel": channel, "order_no": order_no, "period_no": period_no, "periods": periods,
        "amount_fen": amount_fen, "fee_fen": fee_fen, "status": status, "occurred_at": occurred_at,
        "src_file": src_file, "src_line": line,
    }


def orders_table(rows) -> pa.Table:
    """Arrow orders table."""
    return pa.Table.from_pylist(list(rows), schema=ORDER_ARROW)


def flows_table(rows) -> pa.Table:
    """Arrow flows table."""
    return pa.Table.from_pylist(list(rows), schema=FLOW_ARROW)


def duck(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> nw.LazyFrame:
    """Store ``table`` in ``con`` as a real table and return it as a Narwhals lazy frame."""
    con.register(f"_pm_src_{name}", table)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _pm_src_{name}")
    con.unregister(f"_pm_src_{name}")
    return nw.from_native(con.table(name))


def rows(lf: nw.LazyFrame, *cols: str) -> list[dict]:
    """Collect to sorted python rows (by outcome_id or the given columns)."""
    tbl = lf.collect().to_arrow()
    keys = list(cols) or ["outcome_id"]
    return sorted(tbl.to_pylist(), key=lambda r: tuple(str(r[k]) for k in keys))


#: CLI inputs of the instalment file-run tests: one 3-period WeChat Pay Score order of 300.00, an empty bill, the
#: canonical flows header
PAYSCORE_ORDER_CSV = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.00,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
"""
TXS_HEADER = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
              "status,occurred_at,bill_date,method\n")
FLOW_HEADER = "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
