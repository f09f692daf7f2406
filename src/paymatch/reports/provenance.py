"""Where a report's numbers came from: the loaded files (batches) and the reconciliation runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb

from ..schema import TZ
from .model import Source


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


def run_ids_for(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date) -> tuple[str, ...]:
    """Ids of the runs whose stored outcomes lie inside first..last."""
    rows = con.execute(
        "SELECT DISTINCT run_id FROM outcomes WHERE period_from >= ? AND period_to <= ? ORDER BY run_id",
        [first, last],
    ).fetchall()
    return tuple(r[0] for r in rows)


def sql_str(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"
