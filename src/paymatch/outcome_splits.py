"""The channels' shares of a payment or refund outcome whose records are on several channels (``outcome_splits``).

An outcome is one row with one channel, but a duplicate payment through WeChat and UnionPay (or a closed attempt on
another channel beside the payment) has records on two: grouped by channel, each channel's records' money belongs
to that channel (helper-65: the whole outcome's money went to UnionPay). A workspace run stores, for those few
outcomes, one row per channel of its primary payment records (as the engine reads them: the lowest ``_pm_row`` of a
record's copies), with the columns the outcome sums over them, computed the same way (``channel_side.aggregate``:
the fee and the compared amount of the successful records when any succeeded). A share is kept only when the
shares add up to the stored outcome's own sums, so the report's groups always add up to its chain total. The outcome's
own channel and merchant number always have a share (of nothing, when none of its records is there: the outcome names
its order's merchant number and its records are at another), so the report reads each outcome once, joined to its
shares, and finds the row that counts the outcome itself.
A refund number refunded through two channels (a duplicate_refund of an order paid twice) is one outcome too: its
records are shared out alike (helper-69: its whole refund and both returned fees went to one channel). A share is
one channel's and one merchant number's (a second payment through another merchant number's account belongs to that
merchant number when the report groups by merchant number: helper-69).
"""

from __future__ import annotations

import duckdb

from .engine.dedupe import DUP_KEY_SQL
from .engine.params import settle_before_fee_sql

#: the money columns an outcome sums over its records and a share holds for its channel's records
SHARE_COLUMNS = ("channel_rows", "channel_total_fen", "channel_amount_fen", "fee_fen", "settle_gross_fen")


def ensure_split_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``outcome_splits`` if absent (stored beside ``outcomes``, replaced with the run's period)."""
    con.execute("CREATE TABLE IF NOT EXISTS outcome_splits (run_id VARCHAR, period_from DATE, period_to DATE, "
                "outcome_id VARCHAR, channel VARCHAR, "
                + ", ".join(f"{c} BIGINT" for c in SHARE_COLUMNS) + ", merchant_id VARCHAR)")
    # shares per merchant number too (helper-69); a table from before: its rows name none
    con.execute("ALTER TABLE outcome_splits ADD COLUMN IF NOT EXISTS merchant_id VARCHAR")


def splits_sql(txs: str, key_scope: tuple[str, ...], outcomes: str) -> str:
    """SQL: the shares of the payment and refund outcomes in the table ``outcomes`` whose primary records in ``txs``
    (the run's records, ``scope.Selections.txs``) are on several channels; only outcomes whose shares add up. Only
    the records of the outcomes with several records are read past their key (a hash probe of a few keys: a 10M-row
    run's records are not sorted for it)."""
    order_key = "order_no" if not key_scope else (
        "CASE WHEN order_no IS NOT NULL THEN " + " || ".join(f"coalesce({c}, '') || '/'" for c in key_scope)
        + " || order_no END")
    key = f"'P-' || coalesce({order_key}, '~' || channel || ':' || channel_tx_id)"
    # a refund record's outcome: its refund number's (under key_scope a shop-wide number's or its merchant number's:
    # both looked up, the shares' tie-out below keeps the right one), else its own id (R-~channel:refund id)
    unnamed = "'R-~' || channel || ':' || coalesce(channel_refund_id, channel_tx_id)"
    refund_keys = [f"coalesce('R-' || refund_no, {unnamed})"] + (
        [f"coalesce('R-' || coalesce({key_scope[0]}, '') || '/' || refund_no, {unnamed})"] if key_scope else [])
    gross = settle_before_fee_sql()
    ok = "status = 'success'"
    # under key_scope an order naming no merchant number (P-/<order_no>) may hold another merchant number's payments
    # (``engine.payments._by_order_number``): read for those outcomes only (none: nothing is read)
    wild = "" if not key_scope else (
        f" UNION ALL SELECT *, 'P-/' || order_no AS _pm_key FROM ({txs}) SEMI JOIN (SELECT substr(_pm_key, 4) AS "
        "order_no FROM several WHERE starts_with(_pm_key, 'P-/')) USING (order_no) "
        f"WHERE type = 'payment' AND {key_scope[0]} IS NOT NULL")
    return f"""
      WITH several AS (SELECT outcome_id AS _pm_key FROM {outcomes}
                       WHERE (starts_with(outcome_id, 'P-') OR starts_with(outcome_id, 'R-')) AND channel_rows > 1),
           keyed AS ({" UNION ALL ".join(
               f"SELECT *, {k} AS _pm_key FROM ({txs}) WHERE type = '{kind}'"
               for kind, k in [("payment", key)] + [("refund", k) for k in refund_keys])}{wild}),
           t AS (SELECT channel, merchant_id, status, amount_fen, fee_fen, settle_amount_fen, _pm_key
                 FROM keyed SEMI JOIN several USING (_pm_key)
                 QUALIFY row_number() OVER (PARTITION BY _pm_key, {', '.join(DUP_KEY_SQL)} ORDER BY _pm_row) = 1),
           multi AS (SELECT _pm_key, max(({ok})::INTEGER) AS _pm_any FROM t GROUP BY _pm_key
                     HAVING count(DISTINCT (channel, coalesce(merchant_id, ''))) > 1),
           s AS (SELECT _pm_key AS outcome_id, channel, merchant_id, count(*) AS channel_rows,
                        sum(amount_fen) AS channel_total_fen,
                        CASE WHEN any_value(_pm_any) = 1 THEN coalesce(sum(amount_fen) FILTER (WHERE {ok}), 0)
                             ELSE sum(amount_fen) END AS channel_amount_fen,
                        CASE WHEN any_value(_pm_any) = 1 THEN coalesce(sum(fee_fen) FILTER (WHERE {ok}), 0)
                             ELSE coalesce(sum(fee_fen), 0) END AS fee_fen,
                        coalesce(sum({gross}) FILTER (WHERE {ok}), 0) AS settle_gross_fen
                 FROM t JOIN multi USING (_pm_key) GROUP BY ALL),
           tied AS (SELECT s.outcome_id FROM s JOIN {outcomes} o USING (outcome_id) GROUP BY s.outcome_id
                    HAVING {' AND '.join(f'sum(s.{c}) = coalesce(any_value(o.{c}), 0)' for c in SHARE_COLUMNS)}),
           -- a record naming no merchant number is the outcome's merchant number's (as the outcome reads it)
           kept AS (SELECT s.* REPLACE (coalesce(s.merchant_id, o.merchant_id) AS merchant_id) FROM s
                    JOIN {outcomes} o USING (outcome_id) SEMI JOIN tied USING (outcome_id))
      SELECT * FROM kept
      UNION ALL BY NAME  -- the outcome's own channel and merchant number, with nothing when no record of it is there
      SELECT o.outcome_id, o.channel, o.merchant_id, {', '.join(f'0::BIGINT AS {c}' for c in SHARE_COLUMNS)}
      FROM {outcomes} o SEMI JOIN tied USING (outcome_id)
      WHERE NOT EXISTS (SELECT 1 FROM kept k WHERE k.outcome_id = o.outcome_id AND k.channel = o.channel
                        AND k.merchant_id IS NOT DISTINCT FROM o.merchant_id)"""
