"""Split channel records into primary rows and duplicate copies of the same record.

A channel record is identified by (channel, channel_tx_id, type, refund key). The same record
listed twice (overlapping bill files, a bill re-exported) is not a second payment: the copy with
the lowest ``_pm_row`` is primary (``backends.scope.primary_first``: the first successful copy in file or storing
order, else the one on the latest bill) and the others become one outcome per record: ``record_update`` when
they are the record's other states on other bills, else ``duplicate_record``.
"""

from __future__ import annotations

import narwhals as nw

from .channel_side import bill_day
from .frames import finish
from .ops import Ops

DUP_KEY = ["channel", "channel_tx_id", "type", "_pm_refkey"]
#: ``_pm_refkey`` is the first of these that is set, else ''
REFKEY_SOURCES = ("channel_refund_id", "refund_no")
#: the values that make two listings of one record (``DUP_KEY``) the same record delivered twice, in two files
#: (overlapping exports): stored once by a workspace, and left out of a file run the same way. The bill day and the
#: time too: the same success on two days' bills is the channel listing it twice (a duplicate_record to look at).
#: Compared with ``same_values_sql`` (a refund the channel numbers: not its time)
SAME_RECORD = ("merchant_id", "order_no", "refund_no", "amount_fen", "fee_fen", "settle_amount_fen", "status",
               "bill_date", "occurred_at")
#: what a workspace keeps of a record a load listed again with the values of one stored before (its identity and
#: ``SAME_RECORD``): ``transactions_listed_again``, read by a run over that load's files
LISTED_AGAIN = tuple(dict.fromkeys(("channel", "channel_tx_id", "type", "channel_refund_id", *SAME_RECORD)))
#: ``DUP_KEY`` as SQL over a table of canonical transactions (``_pm_refkey`` computed)
DUP_KEY_SQL = [c if c != "_pm_refkey" else f"coalesce({', '.join(REFKEY_SOURCES)}, '')" for c in DUP_KEY]


# a refund the channel numbers itself (channel_refund_id) is one refund whatever second each listing gives it:
# WeChat's ALL bill prints a refund at its 发起退款成功时间, its REFUND bill has 退款申请时间 and 退款成功时间, and a
# field pair of one day's bills (qdingnet, 2018-08-21) has the ALL's time 1-2 s after the REFUND's 退款申请时间 (it is
# the 退款成功时间 there): the two listings are the same record delivered twice, not a duplicate_record
def _timeless(x: str = "") -> str:
    """SQL: the row (alias ``x``) is a refund the channel numbers itself."""
    p = f"{x}." if x else ""
    return f"{p}type = 'refund' AND {p}channel_refund_id IS NOT NULL"


def same_values_sql(a: str, b: str, cols: tuple[str, ...] = SAME_RECORD) -> str:
    """SQL: the rows aliased ``a`` and ``b`` agree on ``cols`` (``SAME_RECORD`` or ``LISTED_AGAIN``), NULLs equal;
    the time of a refund the channel numbers is not compared (``_timeless``: both name the same channel refund)."""
    def one(c: str) -> str:
        same = f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}"
        if c != "occurred_at":
            return same
        return f"({same} OR ({_timeless(a)} AND {b}.type = 'refund' AND {b}.channel_refund_id = {a}.channel_refund_id))"
    return " AND ".join(one(c) for c in cols)


def values_sql(cols: tuple[str, ...] = SAME_RECORD) -> list[str]:
    """``cols`` as SQL expressions over one table (to partition by): the time as ``same_values_sql`` compares it."""
    return [c if c != "occurred_at" else f"CASE WHEN {_timeless()} THEN NULL ELSE occurred_at END" for c in cols]


#: ``SAME_RECORD`` as SQL expressions over one table (to partition by)
SAME_RECORD_SQL = values_sql()


def with_refkey(txs: nw.LazyFrame) -> nw.LazyFrame:
    """Add ``_pm_refkey``: the refund part of a record's identity ('' for payments)."""
    return txs.with_columns(
        _pm_refkey=nw.coalesce(*[nw.col(c) for c in REFKEY_SOURCES], nw.lit("")),
    )


def repeated_records(txs: nw.LazyFrame, ops: Ops = Ops()) -> nw.LazyFrame:
    """The identities listed more than once, with the ``_pm_row`` of their first copy (a small frame).

    Two count-only aggregates instead of a window over every record: channel ids that occur more than
    once (a superset: a refund row also carries its payment's id), then the full identity among those.
    """
    several = ops.repeated(txs, "channel_tx_id")
    return (
        with_refkey(txs.join(several, on="channel_tx_id", how="semi")).group_by(DUP_KEY)
        .agg(nw.len().alias("_pm_copies"), nw.col("_pm_row").min().alias("_pm_first"))
        .filter(nw.col("_pm_copies") > 1)
        .select([*DUP_KEY, "_pm_first"])
    )


def mark_duplicates(txs: nw.LazyFrame, repeated: nw.LazyFrame) -> nw.LazyFrame:
    """Add ``_pm_refkey``, ``_pm_is_dup`` (True for every copy but the first) and ``_pm_copied`` (the record has
    several copies: the few rows ``duplicate_outcomes`` needs) given ``repeated_records``."""
    return (
        with_refkey(txs).join(repeated, on=DUP_KEY, how="left")
        .with_columns(_pm_is_dup=(nw.col("_pm_row") != nw.col("_pm_first")).fill_null(False),
                      _pm_copied=~nw.col("_pm_first").is_null())
        .drop("_pm_first")
    )


def duplicate_outcomes(marked: nw.LazyFrame, order_dims: nw.LazyFrame | None = None) -> nw.LazyFrame:
    """One outcome per record that has extra copies, covering those copies (``marked``: every copy of the records
    with several, or every record with ``_pm_is_dup``).

    The outcome is its order's store's (``order_dims``: the order of its order number and merchant number, else the
    one store all orders of that number are in), as the record's matched copy is: a store manager's report shows
    the duplicate listing of its own order's payment; without such an order ``[stores]`` attributes it later.

    ``record_update`` when every extra copy is an earlier or later state of the record: listed on another bill day
    than the primary copy, with the same amount and another status (a refund processing on the 18th's bill and
    successful on the 19th's; day runs see the same, reading earlier bills' records). Else ``duplicate_record``: the
    same bill listing a record twice, or a copy whose amount differs, is a break to look at.
    """
    dups = marked.filter(nw.col("_pm_is_dup"))
    primary = marked.filter(~nw.col("_pm_is_dup")).join(dups.select(DUP_KEY), on=DUP_KEY, how="semi").select(
        *DUP_KEY, nw.col("status").alias("_pm_p_status"), nw.col("amount_fen").alias("_pm_p_amount"),
        nw.col("bill_date").alias("_pm_p_day"), bill_day().alias("_pm_p_bday"))
    update = ((nw.col("status") != nw.col("_pm_p_status")) & (nw.col("amount_fen") == nw.col("_pm_p_amount"))
              & (nw.col("bill_date") != nw.col("_pm_p_day")))
    g = (
        dups.join(primary, on=DUP_KEY, how="left")
        .with_columns(_pm_update=update.fill_null(False).cast(nw.Int32))
        .group_by(DUP_KEY)
        .agg(
            nw.col("_pm_update").min().alias("updates"),
            nw.len().alias("rows"),
            nw.col("amount_fen").sum().alias("amount"),
            nw.col("fee_fen").sum().alias("fee"),
            nw.col("settle_amount_fen").sum().alias("settle"),
            nw.col("merchant_id").min().alias("merchant_id"),
            nw.col("order_no").min().alias("order_no"),
            nw.col("refund_no").min().alias("refund_no"),
            nw.col("status").min().alias("status"),
            nw.col("occurred_at").min().alias("occurred_at"),
            # the latest bill day among the record's copies, the primary's included: the day run of that day reads
            # them all (earlier bills' records of its orders and refunds) and gives this outcome
            nw.max_horizontal(bill_day().max(), nw.col("_pm_p_bday").max()).alias("bill_day"),
        )
    )
    oid = nw.concat_str(
        [nw.lit("D-"), nw.col("channel"), nw.lit(":"), nw.col("channel_tx_id"), nw.lit(":"), nw.col("type"),
         nw.lit(":"), nw.col("_pm_refkey")]
    )
    store = nw.lit(None)
    if order_dims is not None:
        # only the orders of the numbers listed more than once (a file run's order_dims are all its orders: grouping
        # all 5.4M of a demo month twice cost ~2 s and ~550 MB of peak memory)
        dims = order_dims.join(dups.select("order_no").unique(), on="order_no", how="semi")
        by_pair = dims.filter(~nw.col("merchant_id").is_null()).group_by("order_no", "merchant_id").agg(
            nw.col("store_id").min().alias("_pm_store_pair"), nw.col("store_id").max().alias("_pm_store_pair_max"))
        by_no = dims.group_by("order_no").agg(
            nw.col("store_id").min().alias("_pm_store_no"), nw.col("store_id").max().alias("_pm_store_no_max"))
        g = (g.join(by_pair, on=["order_no", "merchant_id"], how="left")
             .join(by_no, on="order_no", how="left"))
        one = lambda a, b: nw.when(nw.col(a) == nw.col(b)).then(nw.col(a))  # noqa: E731 (one store, not several)
        store = nw.coalesce(one("_pm_store_pair", "_pm_store_pair_max"),
                            one("_pm_store_no", "_pm_store_no_max"))
    return finish(g, {
        "outcome_id": oid,
        "store_id": store,
        "kind": nw.when(nw.col("updates") == 1).then(nw.lit("record_update")).otherwise(nw.lit("duplicate_record")),
        "detail": nw.col("type"),
        "channel": nw.col("channel"),
        "merchant_id": nw.col("merchant_id"),
        "order_no": nw.col("order_no"),
        "refund_no": nw.col("refund_no"),
        "channel_tx_id": nw.col("channel_tx_id"),
        "channel_amount_fen": nw.col("amount"),
        "fee_fen": nw.col("fee"),
        "settle_amount_fen": nw.col("settle"),
        "channel_status": nw.col("status"),
        "order_rows": nw.lit(0),
        "channel_rows": nw.col("rows"),
        "order_total_fen": nw.lit(0),
        "channel_total_fen": nw.col("amount"),
        "occurred_at": nw.col("occurred_at"),
        "bill_day": nw.col("bill_day"),
    })
