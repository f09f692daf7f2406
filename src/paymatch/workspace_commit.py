"""How a staged load lands in the workspace's canonical tables: one transaction, and the rules by which a newer row
replaces a stored one (``Workspace.ingest_csv`` / ``ingest_transactions`` call ``commit_staged``).

Orders and refunds: the latest export of an order or refund number is the shop's word; a file read again under
another mapping replaces its own earlier reading. Channel records: a notification gives way to the bill's row, a
record delivered again with every value equal is stored once (said in ``transactions_listed_again``), one with a
value changed is kept beside it (a duplicate_record or record_update outcome).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

import duckdb

from .engine.dedupe import DUP_KEY_SQL, LISTED_AGAIN, SAME_RECORD_SQL, same_values_sql
from .schema import ORDER_COLUMNS, REFUND_COLUMNS, TRANSACTION_COLUMNS, TZ
from .sources.canonical import Staged
from .sources.lines import LineMap
from .sources.repeats import hashes_repeat
from .sources.specs import WILDCARD_SCOPE

TABLE_COLUMNS = {"orders": ORDER_COLUMNS, "refunds": REFUND_COLUMNS, "transactions": TRANSACTION_COLUMNS}
#: ``extra`` key of a refund notification's total refunded so far on its trade (``Workspace.restate_refund_totals``)
REFUNDED_TOTAL = "refunded_total_fen"
#: SQL over ``batches``: how old a load is among exports: its file's first load under any mapping (kept in the meta of
#: a reading that writes the batch record anew), else its own
BATCH_AGE = ("least(loaded_at, coalesce(TRY_CAST(json_extract_string(meta, '$.file_first_loaded_at') AS TIMESTAMPTZ), "
             "loaded_at))")
#: how a newer row replaces an older one
UPSERT_KEY = {
    "orders": ["order_no"],
    "refunds": ["refund_no"],
    "transactions": ["channel", "channel_tx_id", "type", "coalesce(channel_refund_id, refund_no, '')"],
}


def commit_staged(con: duckdb.DuckDBPyConnection, staged: Staged, batch_id: str, sha: str, origin: str,
                  key_scope: tuple[str, ...], *, restate: Callable[[str, str], None], meta: dict | None = None,
                  provenance_cols: bool = False, line_offset: int = 0, replace_batch: bool = False,
                  within: bool = False) -> int:
    """Store a staged load as one transaction; returns how many of its rows were already stored (not added).
    ``replace_batch``: the batch is stored already (its file read since under another mapping): its record
    is written anew. ``within``: a transaction is open (``Workspace.unit``): the load is part of it (DuckDB nests
    none), committed or rolled back with it."""
    kind = staged.kind
    cols = TABLE_COLUMNS[kind]
    key = list(key_scope) + UPSERT_KEY[kind]
    src_file = "_pm_src_file" if provenance_cols else "?"
    src_line, line_join = "_pm_src_line", ""
    if not provenance_cols:  # the line of the user's file each row is on (title lines, blank lines…)
        lines = staged.lines or LineMap(None, shift=int(line_offset))
        src_line, line_join = lines.sql(con, staged.rows, rowid="s.rowid")
    params = [] if provenance_cols else [staged.path]
    origin_col = ", origin" if kind == "transactions" else ""
    origin_val = f", '{origin}'" if kind == "transactions" else ""
    keep_existing = listed_before = ""
    done = False
    try:
        with transaction(con, within=within):
            if con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {kind} LIMIT 1)").fetchall()[0][0]:
                # a scope column may be empty (an orders file without merchant numbers): NULL is a value of the key
                # there, or a re-export would be stored beside the rows it replaces
                cond = " AND ".join(same_key(k, kind, key_scope) for k in key)
                if kind != "transactions":
                    # The same file read before under another mapping: its rows of that reading go (the other
                    # mapping may have read other keys: 订单编号 there, 外部单号 here).
                    same_file = "SELECT batch_id FROM batches WHERE sha256 = ? AND kind = ? AND batch_id <> ?"
                    # its first load under any mapping, this one's too (A, then B, then A again is as old as the
                    # first A, whose batch record the third load writes anew: helper-54 found a later export's
                    # correction undone by it)
                    first = con.execute(f"SELECT min({BATCH_AGE}) FROM batches WHERE sha256 = ? AND kind = ?",
                                        [sha, kind]).fetchall()[0][0]
                    if first is not None:  # kept with this reading: the file's first load outlives its batches
                        meta = {**(meta or {}), "file_first_loaded_at": first.isoformat()}
                    con.execute(f"DELETE FROM {kind} WHERE batch_id IN ({same_file})", [sha, kind, batch_id])
                    # Orders and refunds: the latest export of an order number is the shop's word (statuses move
                    # on). A file read again under a corrected mapping is as old as its first load: what an export
                    # loaded since then says of an order stays (its rows are kept, the file's are not added).
                    newer = ""
                    if first is not None:  # (each batch as old as its file's first load: helper-64)
                        newer = f" AND t.batch_id IN (SELECT batch_id FROM batches WHERE {BATCH_AGE} < ?)"
                        keep_existing = f" WHERE NOT EXISTS (SELECT 1 FROM {kind} t WHERE {cond})"
                    con.execute(f"DELETE FROM {kind} t WHERE EXISTS (SELECT 1 FROM {staged.table} s WHERE {cond})"
                                f"{newer}", [first] if first is not None else [])
                else:
                    # A notification gives way to whatever comes next about its record (a newer notification,
                    # the bill's row); a bill is the channel's word: a late, resent notification never replaces it.
                    # (but a success never gives way to a later notification of an earlier state: Alipay resends a
                    # WAIT_BUYER_PAY late, helper-62; the success row then stays and the late one is not stored)
                    no_step_back = (" AND NOT (t.status = 'success' AND s.status <> 'success')"
                                    if origin == "notify" else "")
                    con.execute(f"DELETE FROM {kind} t WHERE t.origin = 'notify' "
                                f"AND EXISTS (SELECT 1 FROM {staged.table} s WHERE {cond}{no_step_back})")
                    if origin != "notify":
                        # a refund notification without the refund's number (Alipay's out_biz_no is optional) gives
                        # way to the bill's refund of its trade at the same second or of the same amount (helper-51)
                        con.execute(f"DELETE FROM {kind} t WHERE t.origin = 'notify' AND t.type = 'refund' "
                                    "AND t.refund_no IS NULL AND t.channel_refund_id IS NULL AND EXISTS (SELECT 1 "
                                    f"FROM {staged.table} s WHERE s.type = 'refund' AND s.channel = t.channel "
                                    "AND s.channel_tx_id = t.channel_tx_id AND (s.amount_fen = t.amount_fen OR "
                                    "date_trunc('second', s.occurred_at) = date_trunc('second', t.occurred_at)))")
                        # and a refund notification naming the channel's refund id gives way to a row of its refund
                        # number that names none (a canonical export may leave channel_refund_id out: audit_round12)
                        con.execute(f"DELETE FROM {kind} t WHERE t.origin = 'notify' AND EXISTS (SELECT 1 "
                                    f"FROM {staged.table} s WHERE {ONE_REFUND_SQL})")
                    # A record already stored from another bill or file is the same record delivered again
                    # (overlapping exports) when every value agrees: not stored twice. When a value differs,
                    # both copies are kept: the first stored stays primary and the later one becomes a
                    # duplicate_record outcome, as in a file run.
                    same = f" AND {same_values_sql('t', 's')}"
                    listed_before = (f"EXISTS (SELECT 1 FROM {kind} t WHERE t.batch_id <> '{batch_id}' AND {cond}"
                                     f"{same if origin != 'notify' else ''})")
                    if origin == "notify":  # (nor is a late one stored beside such a row)
                        listed_before = (f"({listed_before} OR EXISTS (SELECT 1 FROM {kind} t WHERE t.origin <> "
                                         f"'notify' AND {ONE_REFUND_SQL}))")
                    if origin != "notify" and hashes_repeat(con, DUP_KEY_SQL, staged.table):
                        # the file's n-th listing of the same values is the record delivered again when the workspace
                        # holds n copies of them: a bill listing it twice keeps its second listing, a duplicate_record
                        # whichever file came first (helper-50), and a re-download or an overlapping export listing it
                        # twice too adds none (audit_round8: it added one each time). Asked only of a file that repeats
                        # a record (a hash check; nearly none does), and counted only for its few further listings
                        # (of the same values: its first listing of another state of the record, processing then
                        # successful in an export of two days, is that state delivered again, audit_round6)
                        group = ", ".join([*(_qual("s", k) for k in key), *SAME_RECORD_SQL])
                        con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_later_listing AS SELECT * FROM (SELECT s.rowid "
                                    f"AS _pm_rid, row_number() OVER (PARTITION BY {group} ORDER BY s.rowid) AS _pm_n "
                                    f"FROM {staged.table} s) WHERE _pm_n > 1")
                        con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_listed_again AS SELECT r._pm_rid FROM "
                                    f"_pm_later_listing r JOIN {staged.table} s ON s.rowid = r._pm_rid "
                                    f"WHERE r._pm_n <= (SELECT count(*) FROM {kind} t "
                                    f"WHERE t.batch_id <> '{batch_id}' AND {cond}{same})")
                        listed_before = (f"({listed_before} AND "
                                         "(s.rowid NOT IN (SELECT _pm_rid FROM _pm_later_listing) "
                                         "OR s.rowid IN (SELECT _pm_rid FROM _pm_listed_again)))")
                    keep_existing = f" WHERE NOT ({listed_before})"
            inserted = con.execute(
                f"INSERT INTO {kind} ({', '.join(cols)}{origin_col}, extra, src_file, src_line, batch_id) "
                f"SELECT {', '.join('s.' + c for c in cols)}{origin_val}, s.extra, {src_file}, {src_line}, "
                f"'{batch_id}' "
                f"FROM {staged.table} s {line_join}{keep_existing}",
                params,
            ).fetchall()[0][0]
            if inserted != staged.rows:
                meta = {**(meta or {}), "already_stored": staged.rows - inserted}
                if kind == "transactions" and origin != "notify" and listed_before:
                    con.execute(f"INSERT INTO transactions_listed_again SELECT '{batch_id}', "
                                f"{', '.join('s.' + c for c in LISTED_AGAIN)} FROM {staged.table} s "
                                f"WHERE {listed_before}")
            if replace_batch:
                con.execute("DELETE FROM batches WHERE batch_id = ?", [batch_id])
            con.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, now(), ?)",
                [batch_id, kind, staged.path, sha, staged.rows, origin, json.dumps(meta or {}, ensure_ascii=False)],
            )
            trades = []
            if kind == "transactions":  # refund notifications that report a trade's total (Alipay): the trades
                trades = con.execute(  # a refund of which this load brings (``restate_refund_totals``)
                    f"SELECT DISTINCT t.channel, t.channel_tx_id FROM transactions t WHERE t.origin = 'notify' "
                    f"AND t.type = 'refund' AND json_extract(t.extra, '$.{REFUNDED_TOTAL}') IS NOT NULL "
                    f"AND EXISTS (SELECT 1 FROM {staged.table} s WHERE s.type = 'refund' AND s.channel = t.channel "
                    f"AND s.channel_tx_id = t.channel_tx_id)").fetchall()
            for channel, tx_id in trades:
                restate(channel, tx_id)
        done = True
        return staged.rows - inserted
    finally:
        if done or not within:  # (a failed transaction takes no statement: its rollback drops what it made)
            con.execute(f"DROP TABLE IF EXISTS {staged.table}")
            con.execute("DROP TABLE IF EXISTS _pm_later_listing")
            con.execute("DROP TABLE IF EXISTS _pm_listed_again")
        if line_join:
            unregister(con, "_pm_line_map")


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, within: bool = False) -> Iterator[None]:
    """One transaction around the block: committed when it ends, rolled back on any error (an interrupt too).
    ``within``: a transaction is open already (``Workspace.unit``; DuckDB nests none): the block is part of it and
    the one who opened it commits or rolls back. A rollback that fails itself (the connection gone) never hides the
    block's own error: that is the one raised."""
    if within:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # (none is open after a failed COMMIT)
            con.execute("ROLLBACK")
        raise


def unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop a registered view. Inside ``Workspace.unit`` a failed statement aborts the transaction, which then takes
    no statement: the view, registered inside it, goes with its rollback, and the store's own error is the one raised
    (not "Current transaction is aborted")."""
    with contextlib.suppress(duckdb.TransactionException):
        con.unregister(name)


#: a profile bill's batch (``batches.meta``) whose refund rows without a refund number or id carry an id of their own
#: (``channels.profile_sql.own_refund_id_sql``): every one stored since; one stored before is given them on opening
OWN_REFUND_IDS = "own_refund_ids"


def give_own_refund_ids(con: duckdb.DuckDBPyConnection) -> None:
    """Give the refund rows of the profile bills a workspace stored before their own ids (``OWN_REFUND_IDS``) the id
    the reader gives them now, once: else an overlapping export read now (its row with the id) was another record
    beside the stored one (no id), the refund counted twice. Asked of the batches alone (small); the transactions
    are updated only for a batch not marked yet."""
    todo = [b for (b,) in con.execute(
        "SELECT batch_id FROM batches WHERE kind = 'transactions' AND "
        "starts_with(json_extract_string(meta, '$.kind'), 'profile:') AND "
        f"json_extract(meta, '$.{OWN_REFUND_IDS}') IS NULL").fetchall()]
    if not todo:
        return
    from .channels.profile_sql import own_refund_id_sql

    ids = own_refund_id_sql(f"timezone({TZ!r}, occurred_at)")  # (Beijing's time whatever the session's zone)
    mark = json.dumps({OWN_REFUND_IDS: True})
    with transaction(con):
        con.execute(f"UPDATE transactions SET channel_refund_id = {ids} "
                    "WHERE type = 'refund' AND batch_id IN (SELECT unnest(?::VARCHAR[]))", [todo])
        con.execute("UPDATE batches SET meta = CAST(json_merge_patch(meta, ?) AS VARCHAR) "
                    "WHERE batch_id IN (SELECT unnest(?::VARCHAR[]))", [mark, todo])


#: stored refund record ``t`` and staged ``s`` are one refund: of one trade, naming one refund number, and one of them
#: without the channel's refund id (which would key them apart: ``coalesce(channel_refund_id, refund_no)``)
ONE_REFUND_SQL = ("t.type = 'refund' AND s.type = 'refund' AND t.channel = s.channel "
                  "AND t.channel_tx_id = s.channel_tx_id AND t.refund_no = s.refund_no "
                  "AND (t.channel_refund_id IS NULL OR s.channel_refund_id IS NULL)")


def same_key(k: str, kind: str, key_scope: tuple[str, ...], a: str = "t", b: str = "s") -> str:
    """SQL: stored row ``t`` and staged row ``s`` agree on key column ``k``. A scope column may be empty: for orders
    that is a value of the key (an orders file without merchant numbers, re-exported, replaces its rows), and a
    stored row without one gives way to a re-export that names it (helper-47: the old row stayed beside the new, an
    order_only and the order counted twice); for refunds (``WILDCARD_SCOPE``) it stands for any merchant number (a
    re-export that adds them replaces the rows without)."""
    t, s = _qual(a, k), _qual(b, k)
    if k not in key_scope:
        return f"{t} = {s}"
    if kind in WILDCARD_SCOPE:
        return f"({t} IS NULL OR {s} IS NULL OR {t} = {s})"
    return f"({t} IS NOT DISTINCT FROM {s} OR {t} IS NULL)"


def _qual(alias: str, key: str) -> str:
    if key.startswith("coalesce("):
        inner = key[len("coalesce("):-1]
        parts = [p.strip() for p in inner.split(",")]
        return "coalesce(" + ", ".join(p if p.startswith("'") else f"{alias}.{p}" for p in parts) + ")"
    return f"{alias}.{key}"
