"""What one run reads: four SQL selections over the workspace tables with the engine's column set.

Times leave the workspace as naive UTC (the stored instant's microseconds) so every backend compares them alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..engine.dedupe import DUP_KEY_SQL, LISTED_AGAIN, SAME_RECORD_SQL, values_sql
from ..schema import DUCK_TYPES, ORDER_COLUMNS, REFUND_COLUMNS, TRANSACTION_COLUMNS, bill_day_sql

_TIME_COLS = {"created_at", "paid_at", "occurred_at"}


def _cols(cols: list[str], absent: frozenset[str] = frozenset(), enums: frozenset[str] = frozenset()) -> str:
    # naive UTC from the stored instant by arithmetic (timezone('UTC', …) goes through ICU per row: ~20× slower)
    def one(c: str) -> str:
        if c in absent:
            return f"NULL::{DUCK_TYPES[c]} AS {c}"
        if c in _TIME_COLS:
            return f"make_timestamp(epoch_us({c})) AS {c}"
        return f"{c}::VARCHAR AS {c}" if c in enums else c
    return ", ".join(one(c) for c in cols)


@dataclass(frozen=True)
class Selections:
    """SQL for orders, refunds, txs (with origin and _pm_row) and order_dims of one run.

    instalment_orders: the orders whose instalment plans the run checks (a plan spans months, so in
    workspace mode these are all stored orders with instalments, not only the window's).
    records_unique: the caller checked that no channel record occurs twice in ``txs`` (the engine then
    skips its duplicate search).
    txs_earlier: records that belong to the run besides ``txs`` (``by_window``: earlier bills' records of the
    window's orders and refunds); the caller reads them once (``run.with_earlier``) and adds them to ``txs``.
    refund_history: the successful payment and refund records (one copy each: order_no, merchant_id, type,
    refund_id, occurred_at, bill_day, amount_fen) of the orders the run's refunds belong to, on every bill up to the
    run's end: what the over-refund check adds up (``engine.refunds``). Empty: the run's own records are all there is
    (a file run).
    """

    orders: str
    refunds: str
    txs: str
    order_dims: str
    instalment_orders: str = ""
    #: the refunds that date the end of a refunded order's plan (``instalment_refunds``): empty, the run's own
    #: refunds and refund records (a file run)
    instalment_refunds: str = ""
    records_unique: bool = False
    txs_earlier: str = ""
    refund_history: str = ""
    #: the (channel, merchant_id) pairs of every stored record (``by_window``): which merchant numbers are the shop's
    #: on each channel account, whatever the window holds (empty: the run's own records tell)
    merchants: str = ""
    #: order_no of the run's orders that name no merchant number (``frames.Inputs.wildcard_orders``; empty: the
    #: engine finds them among the orders)
    wildcard_orders: str = ""


#: bits of ``_pm_row`` below the bill-day part: a record's position (a staged file's rowid + its index << 32, or a
#: stored record's rowid)
_POSITION_BITS = 46


def primary_first(row: str) -> str:
    """SQL: a record's ``_pm_row`` from its position ``row`` (unique, below 2**46): of the copies of one record
    (``engine.dedupe``: the lowest is primary) a successful one first, the first of them in file or storing order;
    else the one on the latest bill (the channel's newer word: processing on the 18th's bill and failed on the 19th's
    is failed), then the first in file or storing order. A refund processing on one day's bill and successful on the
    next is successful; a success in one file and the same record closed in another is matched whichever file comes
    first. Bits: 62 not successful; 46–61 for an unsuccessful copy the days from its bill date to 2149-06-06 (no bill
    date: the most); 0–45 the position."""
    later = ("(65535 - least(greatest(coalesce(date_diff('day', DATE '1970-01-01', bill_date), 0), 0), 65535))"
             "::BIGINT")
    return (f"(CASE WHEN status = 'success' THEN 0 ELSE (1::BIGINT << 62) + ({later} << {_POSITION_BITS}) END"
            f" + {row})")


#: ``_pm_row`` of a stored record
STORED_ROW = primary_first("rowid")


#: the orders' columns refunds are attributed and held to (``Selections.order_dims``), from a table ``t``
_ORDER_DIMS = "SELECT order_no, store_id, merchant_id, channel, amount_fen FROM {t}"
#: a refund of an order with instalments (a workspace run's refunds that may end a plan)
_OF_PLANS = "order_no IN (SELECT order_no FROM orders WHERE instalments > 0)"


def _in(batch_ids: list[str]) -> str:
    return "(" + ", ".join("'" + b.replace("'", "''") + "'" for b in batch_ids) + ")"


def listed_again_rows(txs: list[str]) -> str:
    """SQL: ``_pm_rowid`` of the stored copy each record the loads ``txs`` listed again stands for
    (``transactions_listed_again``): a load's n-th listing of the same values stands for the n-th stored copy (another
    file may list it twice itself: helper-64; this load too: audit_round8), not one of this run's own rows. Stored
    once in a temp table for ``by_batches`` (a run reads its selection many times: 13 s against 18 s for 100k rows
    listed again over a 5M-record workspace)."""
    # (joined on the values as ``values_sql`` gives them, NULLs equal: a hash join, and only the stored copies of
    # values listed again are ranked, not every stored record)
    vals = values_sql(LISTED_AGAIN)
    proj = ", ".join(f"{e} AS _pm_v{i}" for i, e in enumerate(vals))
    part = ", ".join(f"_pm_v{i}" for i in range(len(vals)))

    def on(x: str, y: str) -> str:
        return " AND ".join(f"{x}._pm_v{i} IS NOT DISTINCT FROM {y}._pm_v{i}" for i in range(len(vals)))

    mine = f"SELECT batch_id, rowid AS _pm_r, {proj} FROM transactions_listed_again WHERE batch_id IN {_in(txs)}"
    held = (f"SELECT u.* FROM (SELECT rowid AS _pm_rowid, {proj} FROM transactions WHERE batch_id NOT IN "
            f"{_in(txs)}) u SEMI JOIN (SELECT DISTINCT {part} FROM ({mine})) k ON {on('u', 'k')}")
    return (f"SELECT s._pm_rowid FROM (SELECT *, row_number() OVER (PARTITION BY batch_id, {part} ORDER BY _pm_r) "
            f"AS _pm_nth FROM ({mine})) a JOIN (SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY _pm_rowid) "
            f"AS _pm_nth FROM ({held})) s ON {on('a', 's')} AND a._pm_nth = s._pm_nth")


def by_batches(orders: list[str], refunds: list[str], txs: list[str], *, listed_again: str = "") -> Selections:
    """File mode: exactly the rows of the given load batches; ``listed_again``: a table of the stored records those
    loads listed again with the same values (``listed_again_rows``: stored once, the loads' too)."""
    o = f"SELECT {_cols(ORDER_COLUMNS)} FROM orders WHERE batch_id IN {_in(orders)}"
    again = f" OR t.rowid IN (SELECT _pm_rowid FROM {listed_again})" if listed_again else ""
    return Selections(
        orders=o,
        refunds=f"SELECT {_cols(REFUND_COLUMNS)} FROM refunds WHERE batch_id IN {_in(refunds)}",
        txs=f"SELECT {_cols(TRANSACTION_COLUMNS)}, origin, {STORED_ROW} AS _pm_row FROM transactions t "
            f"WHERE batch_id IN {_in(txs)}{again}",
        order_dims=_ORDER_DIMS.format(t="orders"),
        instalment_orders=o,
    )


#: columns a staged table holds as DuckDB ENUMs (``sources.canonical``): the engine reads them as text
_STAGED_ENUMS = frozenset({"status", "type"})


def by_staged(orders: str, refunds: list[str], txs: list[str], bill_batches: list[str],
              dropped: dict[str, tuple[str, ...]] | None = None) -> Selections:
    """File mode without a workspace: the validated temp tables themselves (``Workspace.stage_file``),
    plus the rows of parsed bills stored under ``bill_batches``.

    ``_pm_row`` must be unique across the union: each table's rowid is offset by its position << 32.
    ``dropped``: per kind, the columns the staged tables do not keep (read as NULL).
    """
    gone = {k: frozenset(v) for k, v in (dropped or {}).items()}
    e = _STAGED_ENUMS
    o = f"SELECT {_cols(ORDER_COLUMNS, gone.get('orders', frozenset()), e)} FROM {orders}"
    r = " UNION ALL ".join(f"SELECT {_cols(REFUND_COLUMNS, gone.get('refunds', frozenset()), e)} FROM {t}"
                           for t in refunds) or f"SELECT {_cols(REFUND_COLUMNS)} FROM refunds WHERE false"
    tx_cols = _cols(TRANSACTION_COLUMNS, gone.get("transactions", frozenset()), e)
    parts = [f"SELECT {tx_cols}, 'file' AS origin, {primary_first(f'rowid + {i << 32}')} AS _pm_row FROM {t}"
             for i, t in enumerate(txs)]
    if bill_batches or not parts:
        row = primary_first(f"rowid + {len(txs) << 32}")
        parts.append(f"SELECT {_cols(TRANSACTION_COLUMNS)}, origin, {row} AS _pm_row "
                     f"FROM transactions WHERE batch_id IN {_in(bill_batches or ['-'])}")
    return Selections(
        orders=o,
        refunds=r,
        txs=" UNION ALL ".join(parts),
        order_dims=_ORDER_DIMS.format(t=orders),
        instalment_orders=o,
    )


def redelivered(txs: str) -> str:
    """SQL: the ``_pm_row`` of ``by_staged``'s records delivered again: a file's first listing of a record that an
    earlier file (in load order: the transaction files, then the bills) lists with the same values
    (``engine.dedupe.SAME_RECORD``). A workspace does not store them (``workspace._commit``), so a file run leaves them
    out too: one record, not a duplicate_record (helper-50: a bill and a CSV both listing a payment gave two outcomes
    more in a file run than with --workspace). A file's further listings of it stay (the same bill listing it twice);
    a file's first listing of each of a record's states counts (an export of two days listing it processing, then
    successful, both as the two days' bills did: its second row was kept as a duplicate_record, audit_round6).
    For the careful path only (records that repeat); only the records whose identity two files list are looked at."""
    pos = f"(_pm_row & {(1 << _POSITION_BITS) - 1})"
    keys = [f"_pm_k{i}" for i in range(len(DUP_KEY_SQL))]
    vals = [f"_pm_s{i}" for i in range(len(SAME_RECORD_SQL))]
    # the values compared as columns (``values_sql``: what ``same_values_sql`` compares, NULLs equal): equalities
    # only, so the correlated max is a hash join (with same_values_sql's OR it took 14.9 s against 12.2 s for
    # EXISTS over three overlapping 1M-row exports, helper-104)
    same = " AND ".join(f"y.{v} IS NOT DISTINCT FROM x.{v}" for v in vals)
    on = " AND ".join(f"y.{k} = x.{k}" for k in keys)
    return (
        f"WITH t AS (SELECT *, {', '.join(f'{e} AS {k}' for e, k in zip(DUP_KEY_SQL, keys))}, "
        f"{', '.join(f'{e} AS {v}' for e, v in zip(SAME_RECORD_SQL, vals))}, {pos} >> 32 AS _pm_src "
        f"FROM ({txs})), "
        f"cand AS (SELECT {', '.join(keys)} FROM t GROUP BY ALL HAVING min(_pm_src) < max(_pm_src)), "
        f"x AS (SELECT t.*, row_number() OVER (PARTITION BY {', '.join(keys)}, {', '.join(vals)}, _pm_src "
        f"ORDER BY {pos}) AS _pm_nth "
        f"FROM t SEMI JOIN cand USING ({', '.join(keys)})) "
        f"SELECT x._pm_row FROM x WHERE x._pm_nth <= (SELECT max(y._pm_nth) FROM x y WHERE {on} "
        f"AND y._pm_src < x._pm_src AND {same})")


def without_rows(txs: str, table: str) -> str:
    """SQL: ``txs`` less the records whose ``_pm_row`` the table ``table`` lists."""
    cols = ", ".join([*TRANSACTION_COLUMNS, "origin", "_pm_row"])
    return f"SELECT {cols} FROM ({txs}) ANTI JOIN {table} USING (_pm_row)"


def by_window(start: dt.datetime, end: dt.datetime, first_day: dt.date, last_day: dt.date,
              key_scope: tuple[str, ...] = ()) -> Selections:
    """Workspace mode for bill dates first_day..last_day (window [start, end)).

    Orders: paid (or, unpaid, created) in the window, plus any order that has a payment on this
    window's bills (carried over from just before the window), plus every order the stored run of the
    day before left ``pending_cross_day``: one whose payment is not on this window's bills either ends
    as ``order_only`` here instead of staying pending for good. Refunds likewise by created_at.
    ``key_scope`` (``match.key_scope``): orders are carried by their match key, not by their number alone
    (another merchant number's order with the same number must not be pulled into the window).
    """
    s, e = start.isoformat(), end.isoformat()
    tx_where = f"{bill_day_sql()} BETWEEN DATE '{first_day}' AND DATE '{last_day}'"
    # ... and what a range run over the day before placed on this day (``run._JUDGED_DAY_SQL``: an order paid or a
    # refund made within the grace before the day's end, no record): this day's run judges it, as after a day run
    # (a range run, then this day's run alone: the order was in neither day's results, the month lost it). Only
    # while that range run is still the day before's latest run: a rerun of the day before since then judged the
    # order again (matched on a bill that came late, or left pending_cross_day, carried by the first part); the range
    # run's stale order_only carried a matched order into this day, which counted it here instead of its own day
    day_before = first_day - dt.timedelta(days=1)
    latest_before = (f"SELECT run_id FROM runs WHERE period_from <= DATE '{day_before}' AND period_to >= "
                     f"DATE '{day_before}' ORDER BY finished_at DESC, run_id DESC LIMIT 1")
    left_pending = (f"FROM outcomes WHERE ((kind = 'pending_cross_day' "
                    f"AND period_to = DATE '{day_before}') OR (kind IN ('order_only', "
                    f"'refund_order_only') AND bill_day = DATE '{first_day}' AND period_from < DATE '{first_day}' "
                    f"AND run_id IN ({latest_before}))) "
                    f"AND refund_no IS")
    key = ", ".join([f"coalesce({c}, '')" for c in key_scope] + ["order_no"])
    # Each part below is a filter DuckDB checks against the stored row groups' min/max, so a day of a month-long
    # workspace reads about a thirtieth of it (one WHERE with ORs and IN-subqueries read every column of every row:
    # 3.6 s of a day's 20 s at 10M orders). The parts are disjoint: UNION ALL gives each row once.
    def tx_days(cols: str, cond: str) -> str:  # the window's records: by bill date, else by the day they occurred
        return (f"SELECT {cols} FROM transactions WHERE {cond}bill_date BETWEEN DATE '{first_day}' AND DATE '{last_day}' "
                f"UNION ALL SELECT {cols} FROM transactions WHERE {cond}bill_date IS NULL "
                f"AND CAST(occurred_at AS DATE) BETWEEN DATE '{first_day}' AND DATE '{last_day}'")
    window = f"TIMESTAMPTZ '{s}' AND {{c}} < TIMESTAMPTZ '{e}'"
    paid = f"paid_at >= {window.format(c='paid_at')}"
    created = f"paid_at IS NULL AND created_at >= {window.format(c='created_at')}"
    order_cols = f"SELECT {_cols(ORDER_COLUMNS)} FROM orders WHERE "
    # an order outside the window that a payment of the window or yesterday's pending names: found on its key
    # columns alone, then read whole by its row id (only the row groups holding one are read)
    named = tx_days(key, "type = 'payment' AND ")
    carried = (f"SELECT rowid FROM orders WHERE NOT coalesce(({paid}) OR ({created}), false) AND ({key}) IN "
               f"({named} UNION ALL SELECT {key} {left_pending} NULL)")
    wildcard = ""
    if key_scope:
        # An order naming no merchant number matches the payments of its number at one merchant number
        # (``engine.payments._by_order_number``): a payment of the window naming its number at any merchant number
        # carries it in, as a key carries its order. Asked only of the orders naming none, in a form the stored row
        # groups answer: a workspace whose orders all name their merchant number reads nothing for it.
        bare = " AND ".join(f"{c} IS NULL" for c in key_scope)
        numbers = tx_days("order_no", "type = 'payment' AND ")
        carried += (f" UNION ALL SELECT rowid FROM orders WHERE {bare} AND (NOT coalesce(({paid}) OR ({created}), "
                    f"false) AND order_no IN ({numbers}))")
        # the run's such orders: paid or created in the window, carried in by a payment or left pending
        wildcard = (f"SELECT order_no FROM orders WHERE {bare} AND (({paid}) OR ({created}) OR order_no IN "
                    f"({numbers}) OR ({key}) IN (SELECT {key} {left_pending} NULL))")
    orders = f"{order_cols}{paid} UNION ALL {order_cols}{created} UNION ALL {order_cols}rowid IN ({carried})"
    # A shop refund the channel refunded without naming it (no refund number) on a later bill: carried in by its order,
    # to be paired by order and amount. Not one matched on an earlier day (its record stays where it was), not one
    # made after the window's end (a later day reads it again without the record, which names no refund number: it
    # would reopen as refund_order_only), not a failed one (no pairing candidate).
    matched_before = (f"SELECT outcome_id FROM outcomes WHERE kind = 'refund_matched' "
                      f"AND period_to < DATE '{first_day}'")

    def by_order(r: str, shown: str) -> str:  # ``r``: the refunds' alias prefix, ``shown``: SQL of the id's key
        return (f"({r}created_at IS NULL OR {r}created_at < TIMESTAMPTZ '{e}') AND {r}status <> 'failed' "
                f"AND 'R-' || {shown} NOT IN ({matched_before})")
    if key_scope:
        refunds = _scoped_refunds(s, e, tx_where, left_pending, first_day, by_order)
    else:
        refunded = tx_days("refund_no", "type = 'refund' AND ")
        unnamed = tx_days("order_no", "type = 'refund' AND refund_no IS NULL AND ")
        refunds = (
            f"SELECT {_cols(REFUND_COLUMNS)} FROM refunds WHERE (created_at >= TIMESTAMPTZ '{s}' "
            f"AND created_at < TIMESTAMPTZ '{e}') OR refund_no IN "
            f"({refunded}) OR refund_no IN "
            f"(SELECT refund_no {left_pending} NOT NULL) OR (order_no IN ({unnamed}) AND {by_order('', 'refund_no')})"
        )
    # The window's records, and the records of earlier bills that belong to the window's orders and refunds: an
    # order matched yesterday and paid again today is a duplicate payment, not a match on each day; a closed retry
    # after a match is no status break; a payment the channel booked a few seconds before midnight belongs to the
    # order paid just after it; a second refund of a refund number on a later bill is a duplicate refund.
    cols = f"{_cols(TRANSACTION_COLUMNS)}, origin, {STORED_ROW} AS _pm_row"
    before = f"{bill_day_sql()} < DATE '{first_day}'"
    refund_key = ", ".join([f"coalesce({c}, '')" for c in key_scope] + ["refund_no"])
    # The orders' keys without reading the orders the window carries in: the keys its payments name stand for them
    # (a number no order has brings its earlier records too: a range run over those days sees them together as well)
    order_keys = (f"SELECT {key} FROM orders WHERE {paid} UNION ALL SELECT {key} FROM orders WHERE {created} "
                  f"UNION ALL {named} UNION ALL SELECT {key} {left_pending} NULL")
    # Refund records: by the refund numbers of the window's shop refunds and records (a refund the shop never recorded
    # has earlier records too: a processing copy, a failed attempt). Not the earlier copies of a record naming no
    # refund number: its earlier day may have reported it under another id (R-~…) than today's pairing by order and
    # amount gives it, and the month would count it twice (helper-40); a day run leaves such a copy out.
    refund_rows = "type = 'refund' AND "
    refund_match = (f"({refund_key}) IN (SELECT {refund_key} FROM ({refunds}) UNION ALL "
                    f"{tx_days(refund_key, refund_rows)})")
    if key_scope:  # a shop-wide refund (no merchant number) pairs with a record of its number at any merchant number
        # (helper-46: carried in by its order, it lost the record its own day had matched)
        refund_match = (f"({refund_match} OR refund_no IN (SELECT refund_no FROM ({refunds}) "
                        f"WHERE {' AND '.join(f'{c} IS NULL' for c in key_scope)}))")
    # found on the key columns alone, then read whole by row id (only the row groups holding one are read)
    found = {kind: f"SELECT rowid FROM transactions WHERE type = '{kind}' AND {before} AND ({match})"
             for kind, match in (("payment", f"({key}) IN ({order_keys})"), ("refund", refund_match))}
    if wildcard:
        # and the earlier payments of the numbers of the run's orders naming no merchant number, at merchant numbers
        # no stored order of that number names (another order's payments are that order's: a day whose run does
        # not hold that order leaves them where they are). Joins whose small side is the wildcard orders: nothing
        # is read when there are none. (A record found both ways is read once: ``rowid IN``.)
        named = (f"SELECT order_no, merchant_id FROM orders SEMI JOIN ({wildcard}) w USING (order_no) "
                 "WHERE merchant_id IS NOT NULL")
        found["payment"] += (f" UNION ALL SELECT t.rowid FROM transactions t SEMI JOIN ({wildcard}) w "
                             f"ON t.order_no = w.order_no ANTI JOIN ({named}) n ON n.order_no = t.order_no "
                             f"AND n.merchant_id = t.merchant_id WHERE t.type = 'payment' "
                             f"AND {bill_day_sql('t')} < DATE '{first_day}' AND t.merchant_id IS NOT NULL")
    earlier = " UNION ALL ".join(f"SELECT {cols} FROM transactions WHERE rowid IN ({rows})" for rows in found.values())
    return Selections(
        orders=orders,
        refunds=refunds,
        txs=tx_days(cols, ""),
        txs_earlier=earlier,
        order_dims=_ORDER_DIMS.format(t="orders"),
        instalment_orders=f"SELECT {_cols(ORDER_COLUMNS)} FROM orders WHERE instalments > 0",
        instalment_refunds=(
            "SELECT merchant_id, order_no, make_timestamp(epoch_us(created_at)) AS created_at FROM refunds "
            f"WHERE status IN ('success', 'processing') AND {_OF_PLANS} "
            "UNION ALL SELECT merchant_id, order_no, make_timestamp(epoch_us(occurred_at)) FROM transactions "
            f"WHERE type = 'refund' AND status IN ('success', 'processing') AND {_OF_PLANS}"),
        merchants="SELECT channel, merchant_id FROM transactions WHERE merchant_id IS NOT NULL GROUP BY ALL",
        wildcard_orders=wildcard,
        refund_history=_refund_history(
            f"{bill_day_sql()} <= DATE '{last_day}'",
            f"SELECT order_no FROM ({refunds}) UNION ALL {tx_days('order_no', refund_rows)}"),
    )


def instalment_refunds(sel: Selections) -> str:
    """SQL (merchant_id, order_no, created_at naive UTC): the refunds that did not fail, the shop's and the channel's
    refund records naming an order: the latest of a refunded order's ends its per-period plan (``instalments.match``).
    A workspace run reads every stored one (a plan spans months: the refund may be on any earlier day's file)."""
    if sel.instalment_refunds:
        return sel.instalment_refunds
    return (f"SELECT merchant_id, order_no, created_at FROM ({sel.refunds}) WHERE status IN ('success', 'processing') "
            f"UNION ALL SELECT merchant_id, order_no, occurred_at FROM ({sel.txs}) WHERE type = 'refund' "
            "AND status IN ('success', 'processing') AND order_no IS NOT NULL")


def _refund_history(booked: str, orders: str) -> str:
    """SQL: ``Selections.refund_history``: of the stored payment and refund records ``booked`` (a condition) of the
    order numbers ``orders`` (a query), one copy per record (the primary one, ``STORED_ROW``), if successful. A refund
    record that names no order number belongs to the order of the shop refund of its refund number (helper-46: an
    over-refund was missed when the earlier refund's record lacked the order number)."""
    ident = ", ".join(DUP_KEY_SQL)
    cols = ("order_no, channel, merchant_id, type, channel_refund_id, channel_tx_id, refund_no, occurred_at, bill_date, "
            "amount_fen, status")
    # the refund numbers of the orders' shop refunds, each of one order
    shop = (f"SELECT refund_no AS _pm_rno, min(order_no) AS _pm_ono FROM refunds WHERE order_no IN ({orders}) "
            "GROUP BY refund_no HAVING count(DISTINCT order_no) = 1")
    records = (f"SELECT {cols}, rowid AS _pm_rid FROM transactions WHERE {booked} AND order_no IN ({orders}) "
               f"UNION ALL SELECT s._pm_ono AS order_no, {', '.join('t.' + c for c in cols.split(', ')[1:])}, t.rowid "
               f"FROM transactions t JOIN ({shop}) s ON t.refund_no = s._pm_rno "
               f"WHERE t.order_no IS NULL AND t.type = 'refund' AND {booked}")  # (the shop side's columns are _pm_…)
    return ("SELECT order_no, merchant_id, type, coalesce(channel_refund_id, channel_tx_id) AS refund_id, refund_no, "
            f"{_cols(['occurred_at'])}, {bill_day_sql()} AS bill_day, amount_fen "
            "FROM (SELECT order_no, merchant_id, type::VARCHAR AS type, "
            "channel_refund_id, channel_tx_id, refund_no, occurred_at, bill_date, amount_fen, status, "
            f"row_number() OVER (PARTITION BY {ident} ORDER BY {primary_first('_pm_rid')}) AS _pm_n FROM ({records})) "
            "WHERE _pm_n = 1 AND status = 'success'")


def _scoped_refunds(s: str, e: str, tx_where: str, left_pending: str, first_day: dt.date, by_order) -> str:
    """``by_window``'s refunds under key_scope (refund numbers unique per merchant number).

    A refund the shop lists under a merchant number is carried in by a record of that number, a shop-wide one (no
    merchant number) by any record of its number. A record naming no merchant number carries in its number's refunds
    of every merchant number, except those matched on an earlier day (they would make the pairing ambiguous and reopen
    as refund_order_only). A pending refund is carried by its own outcome id (as ``engine.refunds._shown_key`` writes
    it); a re-export may since have added or dropped its merchant number, which changes the id: then a pending refund
    of its number left without one carries it too.
    """
    shown = ("CASE WHEN r.merchant_id IS NULL AND strpos(r.refund_no, '/') = 0 THEN r.refund_no "
             "ELSE coalesce(r.merchant_id, '') || '/' || r.refund_no END")
    record = f"SELECT 1 FROM transactions x WHERE x.type = 'refund' AND {tx_where} AND x.refund_no = r.refund_no"
    return (
        f"SELECT {_cols(REFUND_COLUMNS)} FROM refunds r WHERE (created_at >= TIMESTAMPTZ '{s}' "
        f"AND created_at < TIMESTAMPTZ '{e}') "
        f"OR EXISTS ({record} AND (r.merchant_id IS NULL OR x.merchant_id = r.merchant_id)) "
        f"OR (EXISTS ({record} AND x.merchant_id IS NULL) AND NOT EXISTS (SELECT 1 FROM outcomes o "
        f"WHERE o.outcome_id = 'R-' || {shown} AND o.kind = 'refund_matched' AND o.period_to < DATE '{first_day}')) "
        f"OR 'R-' || {shown} IN (SELECT outcome_id {left_pending} NOT NULL) "
        f"OR (EXISTS (SELECT 1 FROM transactions x WHERE x.type = 'refund' AND {tx_where} AND x.refund_no IS NULL "
        f"AND x.order_no = r.order_no AND (r.merchant_id IS NULL OR x.merchant_id IS NULL OR x.merchant_id = r.merchant_id)) "
        f"AND {by_order('r.', shown)}) "
        f"OR EXISTS (SELECT 1 {left_pending} NOT NULL AND refund_no = r.refund_no AND (r.merchant_id IS NULL "
        f"OR outcome_id IN ('R-' || refund_no, 'R-/' || refund_no)))"
    )
