"""Aggregate the channel's primary records per match key (one row per order or per refund)."""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from .expr import case
from .frames import finish
from .ops import Ops
from .params import SETTLE_BASED

# Best status first: an order with a closed attempt and a successful one is "success".
_STATUS_RANK = {"success": 0, "processing": 1, "closed": 2, "failed": 3}


@dataclass(frozen=True)
class ChannelSide:
    """The channel records aggregated per match key, in two parts.

    ``frame``: one row per key, ``_pm_key`` + the ``c_*`` columns the big join carries. ``lasts``: for the
    few keys with several records, ``c_tx_last`` and ``c_channel_last`` (a small frame). Keeping those two
    and the derived ``c_status`` out of ``frame`` keeps the join's hash table narrow: at 10M records the
    extra string columns made it spill to disk. ``complete`` adds them back after the join.
    """

    frame: nw.LazyFrame
    lasts: nw.LazyFrame

    def complete(self, joined: nw.LazyFrame) -> nw.LazyFrame:
        """Add ``c_status``, ``c_tx_last`` and ``c_channel_last`` to a frame joined with ``frame`` (by ``_pm_key``)."""
        j = joined.join(self.lasts, on="_pm_key", how="left")
        return j.with_columns(
            c_status=case([(nw.col("c_rank") == r, s) for s, r in _STATUS_RANK.items()], None),
            c_tx_last=nw.coalesce(nw.col("_pm_tx_last"), nw.col("c_tx")),
            c_channel_last=nw.coalesce(nw.col("_pm_channel_last"), nw.col("c_channel")),
        ).drop("_pm_tx_last", "_pm_channel_last")


def aggregate(txs: nw.LazyFrame, key: nw.Expr, tx_id: nw.Expr, carry: tuple[str, ...] = (),
              ops: Ops = Ops(), *, sums: tuple[str, ...] = (), succ_carry: tuple[str, ...] = ()) -> ChannelSide:
    """Group primary records by ``key`` into ``_pm_key`` + summary columns (see ``ChannelSide``).

    ``tx_id`` is the channel's id of one record (the payment id, or the refund id for refunds).
    ``carry``: further columns kept as ``c_<name>`` (their minimum); string aggregates are the
    costly part of this step, so callers ask only for what they cannot derive from the key. ``sums``: integer
    columns kept as ``c_<name>``, their sum. ``succ_carry``: further columns kept as ``c_<name>`` of the successful
    records when there are any (their minimum, NULL if theirs is), else of all.

    c_rows: records; c_succ: successful ones; c_succ_amt: their amount; c_total: all amounts;
    c_fee / c_settle: sums (of the successful records when there are any; NULL when no record has one);
    c_rank / c_status: best status;
    c_bill_rows: successful records that came from a bill or file (not a notification);
    c_bill_day: the latest bill day of the records (``bill_day``); c_gross: the successful records' settlement before
    the fee, each by its own channel (``settle_before_fee``; 0 when none succeeded);
    c_tx / c_tx_last (first and last channel id), c_channel / c_channel_last (first and last channel), c_merchant,
    c_occurred: of the successful records when
    there are any (a closed attempt on another channel, a failed attempt at another merchant number or a closed
    attempt days before says nothing about how, where and when the payment was made), else of all.
    ``ops`` (``engine.ops``) finds the keys with several records and materialises them and their aggregate
    (small frames).
    """
    succ = nw.col("status") == "success"
    rank = case([(nw.col("status") == s, r) for s, r in _STATUS_RANK.items()], 9)
    base = txs.with_columns(
        _pm_key=key,
        _pm_succ=succ.cast(nw.Int32),
        _pm_succ_amt=nw.when(succ).then(nw.col("amount_fen")).otherwise(nw.lit(0)),
        _pm_rank=rank,
        _pm_bill=((nw.col("origin") != "notify") & succ).cast(nw.Int32),
        _pm_txid=tx_id,
        _pm_bday=bill_day(),
        _pm_gross=nw.when(succ).then(settle_before_fee()),
    )
    # Nearly every key has one record: those rows *are* their aggregate. Only the few keys with several
    # records (a count-only aggregate finds them) go through the costly group-by with string minimums.
    col = nw.col
    spec = [  # (column, its value for a single record, its aggregate over several)
        ("c_rows", nw.lit(1), nw.len()),
        ("c_succ", col("_pm_succ"), col("_pm_succ").sum()),
        ("c_succ_amt", col("_pm_succ_amt"), col("_pm_succ_amt").sum()),
        ("c_total", col("amount_fen"), col("amount_fen").sum()),
        ("c_fee", col("fee_fen"), col("fee_fen").sum()),
        ("c_settle", col("settle_amount_fen"), col("settle_amount_fen").sum()),
        ("c_tx", col("_pm_txid"), col("_pm_txid").min()),
        ("c_channel", col("channel"), col("channel").min()),
        ("c_merchant", col("merchant_id"), col("merchant_id").min()),
        *[(f"c_{c}", col(c), col(c).min()) for c in (*carry, *succ_carry)],
        ("c_rank", col("_pm_rank"), col("_pm_rank").min()),
        ("c_occurred", col("occurred_at"), col("occurred_at").min()),
        ("c_bill_rows", col("_pm_bill"), col("_pm_bill").sum()),
        ("c_bill_day", col("_pm_bday"), col("_pm_bday").max()),
        ("c_gross", col("_pm_gross"), col("_pm_gross").sum()),
        *[(f"c_{c}", col(c), col(c).sum()) for c in sums],
    ]
    small = {"c_rows": nw.Int32, "c_succ": nw.Int32, "c_bill_rows": nw.Int32, "c_rank": nw.Int8}
    money = ["c_succ_amt", "c_total", "c_fee", "c_settle", "c_gross", *(f"c_{c}" for c in sums)]
    # materialised: an empty table lets DuckDB skip the semi join below altogether
    several = ops.persist(ops.repeated(base, "_pm_key"))
    succ_only = {"c_tx": "_pm_txid", "c_channel": "channel", "c_merchant": "merchant_id", "c_occurred": "occurred_at",
                 **{f"c_{c}": c for c in succ_carry}}
    many = base.with_columns(**{f"_pm_s{n}": nw.when(col("_pm_succ") == 1).then(col(c)) for n, c in succ_only.items()},
                             _pm_ss=nw.when(col("_pm_succ") == 1).then(col("settle_amount_fen")),
                             _pm_sf=nw.when(col("_pm_succ") == 1).then(col("fee_fen")),
                             ).join(several, on="_pm_key", how="semi").group_by("_pm_key").agg(
        *[a.alias(n) for n, _, a in spec],
        *[col(f"_pm_s{n}").min().alias(f"_pm_s{n}") for n in succ_only],
        # a sum of none is NULL, not 0 (Narwhals sums nulls to 0): a bill that gives no settlement amount gives none;
        # and the successful records' sums when there are any (a closed attempt's settlement never moved: helper-47)
        col("settle_amount_fen").count().alias("_pm_settle_n"), col("fee_fen").count().alias("_pm_fee_n"),
        col("_pm_ss").sum().alias("_pm_ss"), col("_pm_ss").count().alias("_pm_ss_n"),
        col("_pm_sf").sum().alias("_pm_sf"), col("_pm_sf").count().alias("_pm_sf_n"),
        col("_pm_txid").max().alias("_pm_tx_all_last"), col("_pm_sc_tx").max().alias("_pm_tx_succ_last"),
        col("channel").max().alias("_pm_channel_all_last"), col("_pm_sc_channel").max().alias("_pm_channel_succ_last"),
    ).with_columns(_pm_tx_last=nw.coalesce(col("_pm_tx_succ_last"), col("_pm_tx_all_last")),
                   c_settle=nw.when(col("c_succ") > 0).then(nw.when(col("_pm_ss_n") > 0).then(col("_pm_ss")))
                   .otherwise(nw.when(col("_pm_settle_n") > 0).then(col("c_settle"))),
                   c_fee=nw.when(col("c_succ") > 0).then(nw.when(col("_pm_sf_n") > 0).then(col("_pm_sf")))
                   .otherwise(nw.when(col("_pm_fee_n") > 0).then(col("c_fee"))),
                   _pm_channel_last=nw.coalesce(col("_pm_channel_succ_last"), col("_pm_channel_all_last")),
    ).with_columns(**{n: nw.coalesce(col(f"_pm_s{n}"), col(n)) for n in succ_only if n[2:] not in succ_carry},
                   # the successful records' value even when it is NULL (a bill date a record lacks)
                   **{f"c_{c}": nw.when(col("c_succ") > 0).then(col(f"_pm_sc_{c}")).otherwise(col(f"c_{c}"))
                      for c in succ_carry})
    many = ops.persist(many)  # small: read by the join and by ``complete``
    one = base.join(many.select("_pm_key"), on="_pm_key", how="anti").select(
        "_pm_key", *[v.alias(n) for n, v, _ in spec])
    casts = [*[nw.col(c).cast(t) for c, t in small.items()], *[nw.col(c).cast(nw.Int64) for c in money]]
    frame = nw.concat([one.with_columns(*casts), many.select(one.columns).with_columns(*casts)], how="vertical")
    return ChannelSide(frame, many.select("_pm_key", "_pm_tx_last", "_pm_channel_last"))


def bill_day() -> nw.Expr:
    """A record's bill day: its bill date, else the Asia/Shanghai day it occurred (times are naive UTC; a fixed
    +08:00 since 1992). What a workspace's day run reads it by (``scope.by_window``)."""
    return nw.coalesce(nw.col("bill_date"), nw.col("occurred_at").dt.offset_by("8h").cast(nw.Date))


def settle_before_fee() -> nw.Expr:
    """A record's settlement before the fee, by its own channel: its settlement amount on the channels that give it
    before the fee (``SETTLE_BASED``: WeChat, Alipay), its settlement amount plus its fee on every other channel
    (theirs is net of the fee), its amount when it gives none. Summed per outcome record by record, so an outcome
    whose records are on two channels (a duplicate payment through WeChat and UnionPay) takes each fee off once
    (helper-65: the outcome's summed settlement and fee, read by the outcome's one channel, were 0.60 off)."""
    settle = nw.col("settle_amount_fen")
    return (nw.when(settle.is_null()).then(nw.col("amount_fen"))
            .when(nw.col("channel").is_in(sorted(SETTLE_BASED))).then(settle)
            .otherwise(settle + nw.col("fee_fen").fill_null(0)))


def compared_amount() -> nw.Expr:
    """The channel figure compared with the shop's: the successful records' sum, else all records'."""
    return nw.when(nw.col("c_succ").fill_null(0) > 0).then(nw.col("c_succ_amt")).otherwise(nw.col("c_total"))


def paired_columns(has_shop: nw.Expr, has_channel: nw.Expr) -> dict[str, nw.Expr]:
    """Outcome columns that every shop row ↔ channel aggregate pairing fills the same way.

    Expects the shop side's ``amount_fen`` and ``status`` beside the ``c_*`` aggregate columns.
    """
    compared = compared_amount()
    return {
        "channel_tx_id": nw.col("c_tx"),
        "channel_tx_id_last": nw.when(nw.col("c_rows") > 1).then(nw.col("c_tx_last")),
        "order_amount_fen": nw.col("amount_fen"),
        "channel_amount_fen": compared,
        "difference_fen": nw.when(has_shop & has_channel).then(compared - nw.col("amount_fen")),
        "fee_fen": nw.col("c_fee"),
        "settle_amount_fen": nw.col("c_settle"),
        "order_status": nw.col("status"),
        "channel_status": nw.col("c_status"),
        "order_rows": has_shop.cast(nw.Int64),
        "channel_rows": nw.col("c_rows").fill_null(0),
        "order_total_fen": nw.col("amount_fen").fill_null(0),
        "channel_total_fen": nw.col("c_total").fill_null(0),
        "bill_day": nw.col("c_bill_day"),
        "settle_gross_fen": nw.col("c_gross"),
    }


def finish_with_attempts(frame: nw.LazyFrame, exprs: dict[str, nw.Expr]) -> nw.LazyFrame:
    """``frames.finish`` of an outcome frame whose ``detail`` gets ``with_attempts`` (payments, refunds): the detail is
    computed once as a column first, then read by name (inlined, its whole CASE tree was written out four times:
    ~0.2 s more of binding a run on a few rows, and a larger Spark plan)."""
    has_o, succ = nw.col("_pm_has_o"), nw.col("c_succ").fill_null(0)
    frame = frame.with_columns(_pm_detail=exprs["detail"])
    return finish(frame, {**exprs, "detail": with_attempts(nw.col("_pm_detail"), has_o & (succ >= 2), has_o)})


def with_attempts(detail: nw.Expr, duplicate: nw.Expr, has_shop: nw.Expr) -> nw.Expr:
    """``detail`` with ``attempts:<k>`` added (after a comma when it has a value), k being the records that did not
    succeed, where the reason counts the successful records (``c_succ``) rather than every record ``channel_rows``
    holds: a duplicate payment or refund (``duplicate``) beside k > 0 such records (a closed attempt beside two
    payments is no third one), and a key with two or more successful records and no shop row (``has_shop``
    false: two payments of an order number the shop lacks are not one payment of their sum), k ≥ 0 there. Not on
    a detail the reason reads by its parts (an order number in doubt under key_scope, ``ambiguous_merchant:…``)."""
    k = nw.col("c_rows") - nw.col("c_succ")
    part = nw.concat_str([nw.lit("attempts:"), k.cast(nw.String)])
    several = ~has_shop & (nw.col("c_succ") >= 2) & detail.is_null()
    return (nw.when(((duplicate & (k > 0)) | several).fill_null(False))
            .then(nw.when(detail.is_null()).then(part).otherwise(nw.concat_str([detail, nw.lit(","), part])))
            .otherwise(detail))
