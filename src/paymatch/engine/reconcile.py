"""One reconciliation: inputs → one outcomes lazy frame (payments, refunds, duplicate records)."""

from __future__ import annotations

import narwhals as nw

from .dedupe import duplicate_outcomes, mark_duplicates, repeated_records, with_refkey
from .frames import Inputs
from .ops import Ops
from .params import MatchParams
from .payments import payment_outcomes
from .refunds import refund_outcomes


def reconcile(inputs: Inputs, params: MatchParams, ops: Ops = Ops()) -> nw.LazyFrame:
    """Every input row ends in exactly one outcome row of the returned frame (see ``ENGINE_SCHEMA``).

    ``ops``: the backend's shortcuts (``engine.ops``): materialising the small frames several steps read,
    finding the few repeated keys. The big inputs are never persisted: re-reading them is cheaper than a copy.
    """
    if inputs.records_unique:  # checked by the loader: no record to mark, no 10M-row search for repeats
        marked = copies = with_refkey(inputs.txs).with_columns(_pm_is_dup=nw.lit(False))
    else:
        marked = mark_duplicates(inputs.txs, ops.persist(repeated_records(inputs.txs, ops)))
        # the copies of the records listed more than once: few, and read several times by duplicate_outcomes
        copies = ops.persist(marked.filter(nw.col("_pm_copied")))
    primary = marked.filter(~nw.col("_pm_is_dup"))
    return nw.concat(
        [
            payment_outcomes(inputs.orders, primary, params, ops, merchants=inputs.merchants,
                             wildcard=inputs.wildcard_orders),
            refund_outcomes(inputs.refunds, primary, inputs.order_dims, params, ops, history=inputs.refund_history),
            duplicate_outcomes(copies, inputs.order_dims),
        ],
        how="vertical",
    )
