"""Where a report's numbers came from: the loaded files (batches), the channel records (each once) and the
reconciliation runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw

from ..backends.duckdb_backend import temp_table
from ..backends.scope import STORED_ROW
from ..engine.dedupe import REFKEY_SOURCES, mark_duplicates, repeated_records
from ..errors import PaymatchError
from ..schema import TZ
from .model import Source
from .periods import day_spans, days_without


def local_day_sql(alias: str = "") -> str:
    """DuckDB DATE of a transaction: its bill date, else its instant's calendar day in Asia/Shanghai."""
    p = f"{alias}." if alias else ""
    return f"coalesce({p}bill_date, CAST(timezone('{TZ}', {p}occurred_at) AS DATE))"


def sources_for(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, *,
                kinds: tuple[str, ...] = ("orders", "refunds", "transactions")) -> tuple[Source, ...]:
    """The loaded files with rows in first..last (orders/refunds by creation day, transactions by bill day)."""
    # Instants are compared with the period's bounds as instants (no per-row time-zone conversion):
    # this scans millions of rows, so it must stay a plain range filter.
    tz = ZoneInfo(TZ)
    start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    parts = []
    if "transactions" in kinds:
        parts.append("SELECT DISTINCT batch_id FROM transactions WHERE bill_date BETWEEN $a AND $b OR "
                     "(bill_date IS NULL AND occurred_at >= $s AND occurred_at < $e)")
    for table in ("orders", "refunds"):
        if table in kinds:
            parts.append(f"SELECT DISTINCT batch_id FROM {table} WHERE created_at >= $s AND created_at < $e")
    if not parts:
        return ()
    rows = con.execute(
        f"SELECT b.kind, b.source, b.sha256, b.rows FROM batches b WHERE b.batch_id IN ({' UNION '.join(parts)}) "
        "ORDER BY b.kind, b.source", {"a": first, "b": last, "s": start, "e": end}
    ).fetchall()
    return tuple(Source(k, s, h, int(n or 0)) for k, s, h, n in rows)


def first_copy_only(con: duckdb.DuckDBPyConnection) -> str:
    """Condition on ``transactions t`` that keeps only the primary copy of each channel record: the one a workspace
    run matches (``scope.STORED_ROW``: the first successful copy stored, else the one on the latest bill). Reports
    reading transactions (fund flow, the anomaly board) count a record listed twice once, as reconciliation does.

    The engine's own dedupe finds the copies: ``repeated_records`` (the identities listed more than once,
    with their first ``_pm_row``; nearly every record is listed once, so a small frame), then
    ``mark_duplicates`` over the rows of those channel ids only. The copies' rowids go into a temp table
    once; every query then leaves them out with an anti-join on one integer.
    """
    txs = nw.from_native(con.sql("SELECT channel, channel_tx_id, type, "
                                 f"{', '.join(REFKEY_SOURCES)}, {STORED_ROW} AS _pm_row, rowid AS _pm_rid "
                                 "FROM transactions"))
    repeated = temp_table(con, repeated_records(txs), "_pm_rep_repeated")
    candidates = txs.join(repeated.select("channel_tx_id").unique(), on="channel_tx_id", how="semi")
    temp_table(con, mark_duplicates(candidates, repeated).filter(nw.col("_pm_is_dup")).select("_pm_rid"),
               "_pm_rep_copies")
    return "t.rowid NOT IN (SELECT _pm_rid FROM _pm_rep_copies)"


#: an outcome's reconciliation day: its run's day; in a run over several days, the day whose day run judges it last:
#: the latest bill day of its channel records (``bill_day``), kept inside the run; without records (an order_only, an
#: instalment period; an outcome stored before ``bill_day`` was kept) the Asia/Shanghai day it happened (stored times
#: are naive UTC; Asia/Shanghai is a fixed +08:00 since 1992). By bill day, not by the time the record happened: a
#: day run reads a day's bill, so a payment at 23:59:50 on the 3rd listed on the 4th's bill is the 4th's. Placed on
#: the 3rd, a day run of the 3rd replaced it and the range's 4th no longer held it: in no report (helper-64 f3).
_OUTCOME_DAY = ("CASE WHEN period_from = period_to THEN period_from ELSE least(greatest(coalesce(bill_day, "
                "CAST(occurred_at + INTERVAL 8 HOUR AS DATE), period_to), period_from), period_to) END")


#: (run_id, day) for every day a stored run covers: the latest run covering it (by when it was stored). A day's
#: results are that run's: a day run after a range run replaces that day, a range run replaces the days it covers
#: (a run's outcomes count on their own days, so an older run's outcome on a replaced day, even one the newer run
#: no longer produces under that id, goes). The runs table is small (a row per run): every day is listed.
_LIVE_DAYS = ("SELECT run_id, day FROM (SELECT run_id, finished_at, "
              "period_from + unnest(range(CAST(period_to - period_from AS BIGINT) + 1))::INTEGER AS day FROM runs) "
              "QUALIFY row_number() OVER (PARTITION BY day ORDER BY finished_at DESC, run_id DESC) = 1")


def outcomes_in(first: dt.date, last: dt.date) -> str:
    """SQL (a parenthesised subquery) of the stored outcomes of the days first..last, with ``recon_day``.

    Each day counts the results of the latest run covering it (``_LIVE_DAYS``). Among those, an outcome on several
    days (a pending_cross_day order matched by the next day's run) counts once, as the run reaching furthest saw it.
    A range run's outcomes count on their own days, so a day, week or month report splits it (a run over 30 Nov –
    1 Dec feeds both months).
    """
    # The latest copy is chosen among an outcome's live copies before its day is looked at: a range run that moves a
    # pending order to the day before takes it out of the later day's report too (filtering the days first kept the
    # later day's older copy, and the outcome counted on both days). Copies ending before ``first`` are left out
    # (a filter the stored row groups answer): none of them can be the latest copy of an outcome that has a copy in
    # the days, and an outcome whose latest copy lies outside the days does not count in them.
    return (f"(SELECT * FROM (SELECT * FROM (SELECT *, {_OUTCOME_DAY} AS recon_day FROM outcomes "
            f"WHERE period_to >= DATE '{first}') o SEMI JOIN ({_LIVE_DAYS}) l ON l.run_id = o.run_id AND "
            f"l.day = o.recon_day "
            f"QUALIFY row_number() OVER (PARTITION BY outcome_id ORDER BY period_to DESC, period_from DESC) = 1) "
            f"WHERE recon_day BETWEEN DATE '{first}' AND DATE '{last}')")


def run_ids_for(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Ids of the runs whose results count in first..last: the latest run of each day (``outcomes_in``)."""
    rows = con.execute(f"SELECT DISTINCT run_id FROM ({_LIVE_DAYS}) WHERE day BETWEEN ? AND ? ORDER BY run_id",
                       [first, last]).fetchall()
    return tuple(r[0] for r in rows)


def sql_str(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def store_scope(con: duckdb.DuckDBPyConnection, store_ids: tuple[str, ...] | list[str]) -> tuple[str, str, str]:
    """A store manager's report (``--store``): (SQL condition on ``store_id``, zh title suffix, en title suffix).

    Without stores: no condition (``true``) and no suffix. A store neither an order nor an outcome names (a typo: its
    report would be a clean page of zeros, read as a quiet day) is refused with stores the workspace knows."""
    if not store_ids:
        return "true", "", ""
    known = {r[0] for r in con.execute(
        "SELECT store_id FROM orders WHERE store_id IN (SELECT unnest($s::VARCHAR[])) UNION "
        "SELECT store_id FROM outcomes WHERE store_id IN (SELECT unnest($s::VARCHAR[]))", {"s": list(store_ids)}
    ).fetchall()}
    unknown = [s for s in store_ids if s not in known]
    if unknown:
        some = [r[0] for r in con.execute("SELECT DISTINCT store_id FROM orders WHERE store_id IS NOT NULL "
                                          "ORDER BY 1 LIMIT 10").fetchall()]
        raise PaymatchError(f"--store {', '.join(unknown)}: no order or outcome of the workspace names this store\n"
                            f"Hint: stores are named as the orders' store_id, e.g. {', '.join(some) or '(no orders)'}")
    names = ", ".join(store_ids)
    return f"store_id IN ({', '.join(sql_str(s) for s in store_ids)})", f"（门店 {names}）", f" (store {names})"


def record_day_notes(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> tuple[tuple[str, str], ...]:
    """Notes (zh, en) naming the days of the range without any channel record stored (any status), for the reports
    read from the records (fund flow, the anomaly board): a bill not loaded yet showed as a day of zeros, read as a
    day without takings (or without anomalies). One pass over the range's bill days (a plain range filter, as
    ``sources_for`` reads them)."""
    tz = ZoneInfo(TZ)
    start = dt.datetime.combine(date_from, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pm_record_days AS SELECT DISTINCT {local_day_sql()} AS d FROM transactions
                    WHERE bill_date BETWEEN $a AND $b OR (bill_date IS NULL AND occurred_at >= $s AND occurred_at < $e)""",
                {"a": date_from, "b": date_to, "s": start, "e": end})
    missing = days_without(con, date_from, date_to, "SELECT 1 FROM _pm_record_days WHERE d = {d}")
    con.execute("DROP TABLE _pm_record_days")
    if not missing:
        return ()
    if len(missing) == (date_to - date_from).days + 1:
        return (("期间内没有任何渠道流水：各项为零。若本期有交易，请先导入账单（paymatch ingest / pull）",
                 "No channel records in this range: every figure is zero. If there was business, load the bills "
                 "first (paymatch ingest / pull)"),)
    spans = day_spans(missing)
    return ((f"{len(missing)} 天没有任何渠道流水（账单未导入？）：{spans}",
             f"{len(missing)} day(s) without any channel record (bills not loaded?): {spans}"),)
