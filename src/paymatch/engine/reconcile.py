"""One reconciliation: inputs → one outcomes lazy frame (payments, refunds, duplicate records)."""

from __future__ import annotations

import narwhals as nw

from .dedupe import duplicate_outcomes, mark_duplicates
from .frames import Inputs
from .params import MatchParams
from .payments import payment_outcomes
from .refunds import refund_outcomes


def reconcile(inputs: Inputs, params: MatchParams) -> nw.LazyFrame:
    """Every input row ends in exactly one outcome row of the returned frame (see ``ENGINE_SCHEMA``)."""
    marked = mark_duplicates(inputs.txs)
    primary = marked.filter(~nw.col("_pm_is_dup"))
    return nw.concat(
        [
            payment_outcomes(inputs.orders, primary, params),
            refund_outcomes(inputs.refunds, primary, inputs.order_dims, params),
            duplicate_outcomes(marked),
        ],
        how="vertical",
    )
