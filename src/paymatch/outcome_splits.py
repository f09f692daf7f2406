"""The channels' shares of a payment outcome whose records are on several channels (``outcome_splits``).

An outcome is one row with one channel, but a duplicate payment through WeChat and UnionPay (or a closed attempt on
another channel beside the payment) has records on two: grouped by channel, each channel's records' money belongs
to that channel (helper-65: the whole outcome's money went to UnionPay). A workspace run stores, for those few
outcomes, one row per channel of its primary payment records (as the engine reads them: the lowest ``_pm_row`` of a
record's copies), with the columns the outcome sums over them, computed the same way (``channel_side.aggregate``:
the fee and the compared amount of the successful records when any succeeded). A share is kept only when the
shares add up to the stored outcome's own sums and one of them is the outcome's own channel's, so the report's groups
always add up to its chain total (and the report reads each outcome once, joined to its shares).
"""

from __future__ import annotations

import duckdb

from .engine.dedupe import DUP_KEY_SQL
from .engine.params import SETTLE_BASED

#: the money columns an outcome sums over its records and a share holds for its channel's records
SHARE_COLUMNS = ("channel_rows", "channel_total_fen", "channel_amount_fen", "fee_fen", "settle_gross_fen")


def ensure_split_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``outcome_splits`` if absent (stored beside ``outcomes``, replaced with the run's period)."""
    con.execute("CREATE TABLE IF NOT EXISTS outcome_splits (run_id VARCHAR, period_from DATE, period_to DATE, "
                "outcome_id VARCHAR, channel VARCHAR, "
                + ", ".join(f"{c} BIGINT" for c in SHARE_COLUMNS) + ")")


def splits_sql(txs: str, key_scope: tuple[str, ...], outcomes: str) -> str:
    """SQL: the shares of the payment outcomes in the table ``outcomes`` whose primary payment records in ``txs``
    (the run's records, ``scope.Selections.txs``) are on several channels; only outcomes whose shares add up. Only
    the records of the outcomes with several records are read past their key (a hash probe of a few keys: a 10M-row
    run's records are not sorted for it)."""
    order_key = "order_no" if not key_scope else (
        "CASE WHEN order_no IS NOT NULL THEN " + " || ".join(f"coalesce({c}, '') || '/'" for c in key_scope)
        + " || order_no END")
    key = f"coalesce({order_key}, '~' || channel || ':' || channel_tx_id)"
    based = ", ".join("'" + c + "'" for c in sorted(SETTLE_BASED))
    gross = (f"CASE WHEN settle_amount_fen IS NULL THEN amount_fen WHEN channel IN ({based}) THEN settle_amount_fen "
             "ELSE settle_amount_fen + coalesce(fee_fen, 0) END")
    ok = "status = 'success'"
    return f"""
      WITH several AS (SELECT substr(outcome_id, 3) AS _pm_key FROM {outcomes}
                       WHERE starts_with(outcome_id, 'P-') AND channel_rows > 1),
           t AS (SELECT channel, status, amount_fen, fee_fen, settle_amount_fen, _pm_key
                 FROM (SELECT *, {key} AS _pm_key FROM ({txs}) WHERE type = 'payment') SEMI JOIN several USING (_pm_key)
                 QUALIFY row_number() OVER (PARTITION BY {', '.join(DUP_KEY_SQL)} ORDER BY _pm_row) = 1),
           multi AS (SELECT _pm_key, max(({ok})::INTEGER) AS _pm_any FROM t GROUP BY _pm_key
                     HAVING count(DISTINCT channel) > 1),
           s AS (SELECT 'P-' || _pm_key AS outcome_id, channel, count(*) AS channel_rows,
                        sum(amount_fen) AS channel_total_fen,
                        CASE WHEN any_value(_pm_any) = 1 THEN coalesce(sum(amount_fen) FILTER (WHERE {ok}), 0)
                             ELSE sum(amount_fen) END AS channel_amount_fen,
                        CASE WHEN any_value(_pm_any) = 1 THEN coalesce(sum(fee_fen) FILTER (WHERE {ok}), 0)
                             ELSE coalesce(sum(fee_fen), 0) END AS fee_fen,
                        coalesce(sum({gross}) FILTER (WHERE {ok}), 0) AS settle_gross_fen
                 FROM t JOIN multi USING (_pm_key) GROUP BY ALL),
           tied AS (SELECT s.outcome_id FROM s JOIN {outcomes} o USING (outcome_id) GROUP BY s.outcome_id
                    HAVING {' AND '.join(f'sum(s.{c}) = coalesce(any_value(o.{c}), 0)' for c in SHARE_COLUMNS)}
                       AND bool_or(s.channel = o.channel))
      SELECT * FROM s SEMI JOIN tied USING (outcome_id)"""
