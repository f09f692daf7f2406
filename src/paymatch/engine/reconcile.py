"""One reconciliation: inputs → one outcomes lazy frame (payments, refunds, duplicate records)."""

from __future__ import annotations

from collections.abc import Callable

import narwhals as nw

from .dedupe import duplicate_outcomes, mark_duplicates, repeated_records, with_refkey
from .frames import Inputs
from .params import MatchParams
from .payments import payment_outcomes
from .refunds import refund_outcomes


Persist = Callable[[nw.LazyFrame], nw.LazyFrame]


def _same(frame: nw.LazyFrame) -> nw.LazyFrame:
    return frame


def reconcile(inputs: Inputs, params: MatchParams, persist: Persist = _same) -> nw.LazyFrame:
    """Every input row ends in exactly one outcome row of the returned frame (see ``ENGINE_SCHEMA``).

    ``persist`` lets a backend materialise a *small* frame that several steps read (the keys listed
    more than once: duplicate records, orders with several payments); lazy engines would otherwise
    aggregate every record again for each reader. It must return an equivalent frame; the default
    keeps everything lazy. The big inputs are never persisted: re-reading them is cheaper than a copy.
    """
    if inputs.records_unique:  # checked by the loader: no record to mark, no 10M-row search for repeats
        marked = with_refkey(inputs.txs).with_columns(_pm_is_dup=nw.lit(False))
    else:
        marked = mark_duplicates(inputs.txs, persist(repeated_records(inputs.txs)))
    primary = marked.filter(~nw.col("_pm_is_dup"))
    return nw.concat(
        [
            payment_outcomes(inputs.orders, primary, params, persist),
            refund_outcomes(inputs.refunds, primary, inputs.order_dims, params, persist),
            duplicate_outcomes(marked),
        ],
        how="vertical",
    )
