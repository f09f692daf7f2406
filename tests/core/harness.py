"""Run the engine on in-memory rows (DuckDB relations from Arrow), for property tests."""

from __future__ import annotations

import datetime as dt

import duckdb
import narwhals as nw
import pyarrow as pa

from paymatch.backends.duckdb_backend import tune
from paymatch.engine import MatchParams, reconcile
from paymatch.engine.frames import Inputs

T0 = dt.datetime(2026, 11, 20, 2, 0)  # naive UTC = 10:00 Asia/Shanghai
END = dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

ORDER_T = pa.schema([("order_no", pa.string()), ("store_id", pa.string()), ("merchant_id", pa.string()),
                     ("channel", pa.string()), ("amount_fen", pa.int64()), ("status", pa.string()),
                     ("created_at", pa.timestamp("us")), ("paid_at", pa.timestamp("us")),
                     ("member_id", pa.string()), ("member_level", pa.string()), ("instalments", pa.int32())])
REFUND_T = pa.schema([("refund_no", pa.string()), ("order_no", pa.string()), ("amount_fen", pa.int64()),
                      ("created_at", pa.timestamp("us")), ("status", pa.string()), ("merchant_id", pa.string())])
TX_T = pa.schema([("channel", pa.string()), ("merchant_id", pa.string()), ("channel_tx_id", pa.string()),
                  ("order_no", pa.string()), ("type", pa.string()), ("refund_no", pa.string()),
                  ("channel_refund_id", pa.string()), ("amount_fen", pa.int64()), ("fee_fen", pa.int64()),
                  ("settle_amount_fen", pa.int64()), ("status", pa.string()), ("occurred_at", pa.timestamp("us")),
                  ("bill_date", pa.date32()), ("method", pa.string()), ("origin", pa.string()), ("_pm_row", pa.int64())])


def order(no, amount, *, status="paid", channel="wechat", at=T0, store="S1", merchant="M1"):
    """One order row (dict) with sensible defaults."""
    return dict(order_no=no, store_id=store, merchant_id=merchant, channel=channel, amount_fen=amount, status=status,
                created_at=at, paid_at=at if status != "unpaid" and status != "closed" else None,
                member_id=None, member_level=None, instalments=0)


def tx(tx_id, order_no, amount, *, type="payment", status="success", channel="wechat", refund_no=None,
       refund_id=None, at=T0, origin="file"):
    """One channel transaction row (dict)."""
    return dict(channel=channel, merchant_id="M1", channel_tx_id=tx_id, order_no=order_no, type=type,
                refund_no=refund_no, channel_refund_id=refund_id, amount_fen=amount, fee_fen=amount * 6 // 1000,
                settle_amount_fen=amount, status=status, occurred_at=at, bill_date=dt.date(2026, 11, 20),
                method=channel, origin=origin, _pm_row=None)


def refund(no, order_no, amount, *, status="success", at=T0, merchant_id=None):
    """One shop refund row (dict)."""
    return dict(refund_no=no, order_no=order_no, amount_fen=amount, created_at=at, status=status,
                merchant_id=merchant_id)


def run(orders, refunds, txs, *, records_unique: bool = False, **params) -> dict[str, dict]:
    """Outcomes keyed by outcome_id (``records_unique``: tell the engine no channel record repeats)."""
    txs = [dict(t, _pm_row=i) for i, t in enumerate(txs)]
    con = duckdb.connect()
    tune(con)  # as duckdb_backend.run tunes the connection it reconciles on
    rel = {}
    for name, rows, schema in (("o", orders, ORDER_T), ("r", refunds, REFUND_T), ("t", txs, TX_T)):
        rel[name] = con.from_arrow(pa.Table.from_pylist(rows, schema=schema))
    p = MatchParams(window_end=END, settle_channel={"wechat": "wechat", "alipay": "alipay", "huabei": "alipay"},
                    **params)
    out = reconcile(Inputs(nw.from_native(rel["o"]), nw.from_native(rel["r"]), nw.from_native(rel["t"]),
                           nw.from_native(rel["o"]), records_unique=records_unique), p).to_native()
    cols = out.columns
    rows = out.fetchall()
    ids = [r[0] for r in rows]
    assert None not in ids and len(ids) == len(set(ids)), "outcome ids must be present and unique"
    return {r[0]: dict(zip(cols, r)) for r in rows}
