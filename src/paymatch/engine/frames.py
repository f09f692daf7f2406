"""The engine's input frames and output column set.

Inputs are Narwhals LazyFrames whose times are naive UTC datetimes (backends convert):
  orders:  schema.ORDER_COLUMNS
  refunds: schema.REFUND_COLUMNS
  txs:     schema.TRANSACTION_COLUMNS + ``origin`` ('bill' | 'notify' | 'file') + ``_pm_row`` (unique int64
           per row within the run; decides which copy of a duplicated record is primary)
  order_dims: order_no, store_id, merchant_id, channel, amount_fen of every known order (for refund attribution
           and the over-refund check); in file mode the orders frame itself.
  refund_history: the successful payment and refund records (order_no, merchant_id, type, refund_id, refund_no, occurred_at,
           bill_day, amount_fen) of the run's refunds' orders up to the run's end, when they reach beyond ``txs`` (a
           workspace day); None: ``txs``.
  records_unique: True when the caller knows no channel record occurs twice in txs (no duplicate search).
  merchants: (channel, merchant_id) of every record the caller knows (a workspace's stored ones), for which merchant
           numbers are compared (``engine.payments._merchant_numbers``); None: ``txs``.
  wildcard_orders: order_no of the run's orders that name no merchant number (under key_scope they match by order
           number: ``engine.payments._by_order_number``); may hold more numbers than the run's; None: ``orders``.
           A workspace gives a selection its stored row groups answer, so a run none of whose orders lacks a merchant
           number reads nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw


@dataclass(frozen=True)
class Inputs:
    """The frames one run reconciles (see the module docstring for their columns)."""

    orders: nw.LazyFrame
    refunds: nw.LazyFrame
    txs: nw.LazyFrame
    order_dims: nw.LazyFrame
    records_unique: bool = False
    refund_history: nw.LazyFrame | None = None
    merchants: nw.LazyFrame | None = None
    wildcard_orders: nw.LazyFrame | None = None


#: the engine's output columns, in order, with their Narwhals dtypes
ENGINE_SCHEMA: dict[str, type[nw.dtypes.DType] | nw.dtypes.DType] = {
    "outcome_id": nw.String,
    "kind": nw.String,
    "detail": nw.String,
    "channel": nw.String,
    "merchant_id": nw.String,
    "store_id": nw.String,
    "order_no": nw.String,
    "refund_no": nw.String,
    "channel_tx_id": nw.String,
    "channel_tx_id_last": nw.String,
    "order_amount_fen": nw.Int64,
    "channel_amount_fen": nw.Int64,
    "difference_fen": nw.Int64,
    "fee_fen": nw.Int64,
    "settle_amount_fen": nw.Int64,
    "order_status": nw.String,
    "channel_status": nw.String,
    "order_rows": nw.Int64,
    "channel_rows": nw.Int64,
    "order_total_fen": nw.Int64,
    "channel_total_fen": nw.Int64,
    "order_channel": nw.String,
    "occurred_at": nw.Datetime("us"),
    # the latest bill day of the outcome's channel records (NULL: none): the day a workspace's day runs judge it on
    # last, where a range run's reports count it (``reports.provenance``)
    "bill_day": nw.Date,
    # the successful records' settlement before the fee, each by its own channel (``channel_side.settle_before_fee``)
    "settle_gross_fen": nw.Int64,
}


def finish(frame: nw.LazyFrame, exprs: dict[str, nw.Expr]) -> nw.LazyFrame:
    """Select the engine's output columns from ``exprs`` (missing ones NULL) with their dtypes."""
    cols = []
    for name, dtype in ENGINE_SCHEMA.items():
        e = exprs.get(name, nw.lit(None))
        cols.append(e.cast(dtype).alias(name))
    return frame.select(cols)
