"""One reconciliation: inputs → one outcomes lazy frame (payments, refunds, duplicate records)."""

from __future__ import annotations

from collections.abc import Callable

import narwhals as nw

from .dedupe import duplicate_outcomes, mark_duplicates
from .frames import Inputs
from .params import MatchParams
from .payments import payment_outcomes
from .refunds import refund_outcomes


Persist = Callable[[nw.LazyFrame], nw.LazyFrame]


def _same(frame: nw.LazyFrame) -> nw.LazyFrame:
    return frame


def reconcile(inputs: Inputs, params: MatchParams, persist: Persist = _same) -> nw.LazyFrame:
    """Every input row ends in exactly one outcome row of the returned frame (see ``ENGINE_SCHEMA``).

    ``persist`` lets a backend materialise a frame that several steps read (the marked channel
    records feed payments, refunds and duplicates); lazy engines would otherwise compute it three
    times. It must return an equivalent frame; the default keeps everything lazy.
    """
    marked = persist(mark_duplicates(inputs.txs))
    primary = marked.filter(~nw.col("_pm_is_dup"))
    return nw.concat(
        [
            payment_outcomes(inputs.orders, primary, params),
            refund_outcomes(inputs.refunds, primary, inputs.order_dims, params),
            duplicate_outcomes(marked),
        ],
        how="vertical",
    )
