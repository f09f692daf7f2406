"""The DuckDB workspace: one file (or memory) holding raw canonical rows with provenance, load
batches, runs and their outcomes.

Loads are all-or-nothing: a file is staged and validated in a temp table first (``sources``), then
moved in with one transaction; a failure leaves the stored data exactly as it was. Re-loading the
same bytes is a no-op (the batch id is derived from the content hash). A newer load of a record
with the same key replaces the older one (an order's status moves on; a bill confirms a
notification), so reruns never duplicate rows. Results of a run replace the same period's previous
results atomically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from .engine.dedupe import DUP_KEY_SQL, LISTED_AGAIN
from .errors import LoadError, PaymatchError, Problem
from .schema import DUCK_TYPES, TRANSACTION_COLUMNS, TZ, bill_day_sql
from .sources.canonical import Staged, stage_csv
from .sources.lines import LineMap
from .sources.repeats import hashes_repeat
from .workspace_commit import (OWN_REFUND_IDS, REFUNDED_TOTAL, TABLE_COLUMNS, commit_staged, give_own_refund_ids,
                               transaction, unregister)

#: columns a file-only run without instalment plans never reads: validated, not kept (~20 % of a staged table)
LEAN_DROP = {"orders": ("member_id", "member_level", "instalments"), "refunds": (), "transactions": ("method",)}


@dataclass(frozen=True)
class IngestResult:
    """What one load did: ``skipped`` when the same content was already stored."""

    batch_id: str
    kind: str
    source: str
    rows: int
    skipped: bool
    #: channel records of this load that were already stored with the same values (not stored twice); orders or
    #: refunds of a file read again under a corrected mapping that an export loaded since lists (its rows kept)
    already_stored: int = 0
    #: instalment flows: stored rows naming no merchant number that this load's rows naming one replaced (key_scope)
    replaced: int = 0


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _ddl() -> list[str]:
    stmts = [
        """CREATE TABLE IF NOT EXISTS batches (batch_id VARCHAR PRIMARY KEY, kind VARCHAR, source VARCHAR,
           sha256 VARCHAR, rows BIGINT, origin VARCHAR, loaded_at TIMESTAMPTZ, meta VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
           period_from DATE, period_to DATE, engine VARCHAR, inputs VARCHAR, config_sha256 VARCHAR, summary VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS quarantine (item_id VARCHAR PRIMARY KEY, channel VARCHAR, source VARCHAR,
           sha256 VARCHAR, reason VARCHAR, payload BLOB, received_at TIMESTAMPTZ)""",
        # a channel record a load lists with the values of one stored before (a bill and a CSV of it): not stored
        # twice, but the load's own record for a run over the load's files (``scope.by_batches``)
        "CREATE TABLE IF NOT EXISTS transactions_listed_again (batch_id VARCHAR, "
        + ", ".join(f"{c} {DUCK_TYPES[c]}" for c in LISTED_AGAIN) + ")",
        # the channel account's own money movements (WeChat 资金账单): income, refunds, fees, withdrawals;
        # kept for fund reports and the coming settlement ↔ bank matching
        """CREATE TABLE IF NOT EXISTS fund_flows (channel VARCHAR, account VARCHAR, booked_at TIMESTAMPTZ,
           business_no VARCHAR, flow_no VARCHAR, name VARCHAR, business_type VARCHAR, direction VARCHAR,
           amount_fen BIGINT, balance_fen BIGINT, note VARCHAR, voucher_no VARCHAR, src_file VARCHAR,
           src_line BIGINT, batch_id VARCHAR)""",
        # per-period instalment flows (周期扣款 deductions, ``instalments.flows.FLOW_ARROW``): one row per order per
        # period as the channel delivered it; ``ingest_flows`` says which delivery of a period is kept
        """CREATE TABLE IF NOT EXISTS instalment_flows (channel VARCHAR, order_no VARCHAR, period_no BIGINT,
           periods BIGINT, amount_fen BIGINT, fee_fen BIGINT, status VARCHAR, occurred_at TIMESTAMPTZ,
           src_file VARCHAR, src_line BIGINT, batch_id VARCHAR, merchant_id VARCHAR)""",
    ]
    for table, cols in TABLE_COLUMNS.items():
        defs = [f"{c} {DUCK_TYPES[c]}" for c in cols]
        if table == "transactions":
            defs.append("origin VARCHAR")
        defs += ["extra VARCHAR", "src_file VARCHAR", "src_line BIGINT", "batch_id VARCHAR"]
        stmts.append(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(defs)})")
    return stmts


def _check_is_workspace_file(path: Path) -> None:
    """Refuse an existing file that is not a DuckDB database. DuckDB 2 opens a CSV (or Parquet) path as an in-memory
    database of views over it: `--workspace orders.csv` (options swapped) then stored nothing, answered reports from
    nothing, or failed with a Binder Error traceback. A DuckDB file has the magic bytes DUCK after its checksum."""
    if not path.is_file():
        return  # created, or refused by DuckDB with its own reason (a folder)
    with open(path, "rb") as f:
        head = f.read(12)
    if head[8:12] != b"DUCK":
        what = "an empty file" if not head else "not a DuckDB database"
        raise PaymatchError(f"{path}: not a paymatch workspace ({what})\nHint: --workspace names the workspace's "
                            "DuckDB file (e.g. W.duckdb, created by paymatch ingest); input files go to --orders, "
                            "--refunds, --transactions or --bills")


def _open_hint(e: Exception) -> str:
    """What to do about a workspace DuckDB cannot open: "is another paymatch using it?" was said of a folder given
    as the workspace and of a file cut short (a copy that did not finish) too."""
    text = str(e)
    if "Is a directory" in text:
        return "--workspace names the workspace's DuckDB file (e.g. W.duckdb), not a folder"
    if "read enough bytes" in text or "Corrupt" in text or "checksum" in text.lower():
        return ("the workspace file is damaged (cut short or overwritten: a copy that did not finish?); nothing "
                "was changed: use the copy it was made from, or a backup")
    return "is another paymatch using it?"


class Workspace:
    """A DuckDB workspace file (``path``) or an in-memory one (``path=None``)."""

    def __init__(self, path: str | Path | None = None, *, threads: int | None = None,
                 memory_limit: str | None = None, lock_wait: float | None = None):
        """Open (or create) the workspace. ``memory_limit`` (e.g. '3GB'; default $PAYMATCH_MEMORY_LIMIT,
        else 3500MB) caps DuckDB's buffers; larger work spills to a temp directory instead of growing RSS.
        ``lock_wait``: seconds to wait while another process holds the file (DuckDB allows one writer; `serve`
        holds it for each notification's few milliseconds); default $PAYMATCH_LOCK_WAIT, else 30."""
        self.path = str(path) if path else None
        if self.path:
            _check_is_workspace_file(Path(self.path))
        self._staged = 0  # temp tables made by stage_file
        self._unit = False  # a transaction of several stores is open (``unit``)
        wait = float(os.environ.get("PAYMATCH_LOCK_WAIT", "30")) if lock_wait is None else lock_wait
        deadline = time.monotonic() + wait
        while True:
            try:
                self.con = duckdb.connect(self.path or ":memory:")
                break
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise PaymatchError(f"{self.path}: cannot open workspace ({e})\nHint: {_open_hint(e)}") from e
                if time.monotonic() >= deadline:  # said as such: which wait ran out, and how to wait longer
                    longer = (", or set PAYMATCH_LOCK_WAIT=<seconds> to wait longer" if lock_wait is None else
                              "")  # (a caller's own wait, serve's: the variable changes nothing there)
                    raise PaymatchError(f"{self.path}: cannot open workspace: another process holds it (waited "
                                        f"{wait:.3g} s; {e})\nHint: run the command again once it is done{longer} "
                                        "(a killed process holds nothing: its lock ends with it)") from e
                time.sleep(0.05)
            except duckdb.Error as e:
                raise PaymatchError(f"{self.path}: cannot open workspace ({e})\nHint: {_open_hint(e)}") from e
        self.con.execute(f"SET TimeZone='{TZ}'")
        self.con.execute("SET enable_progress_bar=false")
        limit = memory_limit or os.environ.get("PAYMATCH_MEMORY_LIMIT", "3500MB")
        self.con.execute(f"SET memory_limit='{limit}'")
        self._spill = tempfile.mkdtemp(prefix="_pm_spill_")
        # removed by close(), or when the workspace is garbage-collected or the interpreter exits: a caller
        # that never closes (a script, a test) must not leave a folder in the temp directory per workspace
        self._remove_spill = weakref.finalize(self, shutil.rmtree, self._spill, True)
        self.con.execute(f"SET temp_directory='{self._spill}'")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        for stmt in _ddl():
            self.con.execute(stmt)
        # refunds name their merchant number since key_scope covers refund numbers (a workspace from before: none)
        self.con.execute("ALTER TABLE refunds ADD COLUMN IF NOT EXISTS merchant_id VARCHAR")
        # and flows the number a deduction was credited to (helper-63; a workspace from before: none, the order
        # number's only per-period order takes them, as before)
        self.con.execute("ALTER TABLE instalment_flows ADD COLUMN IF NOT EXISTS merchant_id VARCHAR")
        # Shop refunds are kept as their size; a workspace written before that rule stored an ERP's -12.30 as it
        # was (every such refund a mismatch): brought in line once (row groups without a negative are skipped)
        self.con.execute("UPDATE refunds SET amount_fen = -amount_fen WHERE amount_fen < 0")
        # profile bills' refund rows stored before they had ids of their own get them (an overlapping export then
        # delivers the same records again, not a second refund)
        give_own_refund_ids(self.con)
        from .outcome_splits import ensure_split_table
        from .outcomes_store import ensure_outcome_tables

        ensure_outcome_tables(self.con)
        ensure_split_table(self.con)

    def close(self) -> None:
        """Close the connection (the file stays) and remove the spill directory."""
        self.con.close()
        self._remove_spill()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- loading -------------------------------------------------------------------------------

    def batch_exists(self, batch_id: str) -> bool:
        """True when a batch with this id (kind + content hash) is stored."""
        return self.con.execute("SELECT 1 FROM batches WHERE batch_id = ?", [batch_id]).fetchall() != []

    def ingest_csv(self, kind: str, path: str | Path, *, encoding: str | None = None,
                   key_scope: tuple[str, ...] = (), source: str | Path | None = None,
                   line_offset: int = 0, variant: str | None = None, lines: LineMap | None = None) -> IngestResult:
        """Load a canonical CSV of ``kind`` (orders|refunds|transactions); all-or-nothing, idempotent.

        ``source``: the file the user gave when ``path`` is a canonical translation of it (an ERP export
        read through a column mapping): its hash makes the batch id and its name the rows' provenance.
        ``line_offset``: how many lines ``source`` has above the translation's (title lines), so
        ``src_line`` names the line of ``source``.
        ``lines``: which line of ``source`` each record of ``path`` is on, when not ``line_offset`` + its own
        (an export with blank lines, values spanning lines, or an .xlsx with empty rows).
        ``variant``: what else decided the translation (its column mapping): part of the batch id, so the same
        export loaded under a corrected mapping is loaded again (its rows replace the earlier ones).
        """
        if kind not in TABLE_COLUMNS:
            raise PaymatchError(f"unknown input kind {kind!r}; use orders, refunds or transactions")
        digest: dict[str, object] = {}

        def _hash() -> None:
            try:
                digest["h"] = file_sha256(source or path)
            except OSError as e:  # reported below (or by stage_csv): never as a thread traceback
                digest["err"] = e

        hasher = threading.Thread(target=_hash)
        hasher.start()  # hashing overlaps DuckDB's parse; hashlib releases the GIL
        try:
            staged = stage_csv(self.con, kind, path, encoding=encoding, key_scope=key_scope, lines=lines,
                               line_shift=int(line_offset))
        finally:
            hasher.join()
        if "err" in digest:  # staged, yet not readable for the hash (removed or locked meanwhile)
            self.con.execute(f"DROP TABLE IF EXISTS {staged.table}")
            e = digest["err"]
            raise LoadError([Problem(str(source or path), None, None, None, f"file cannot be read ({e.strerror or e})")])
        if source is not None:
            staged = replace(staged, path=str(source))
        h = digest["h"] if variant is None else hashlib.sha256(f"{digest['h']}:{variant}".encode()).hexdigest()
        batch_id = f"{kind}:{h[:20]}"
        again_under = self._read_since_otherwise(batch_id)
        if self.batch_exists(batch_id) and not again_under:
            self.con.execute(f"DROP TABLE IF EXISTS {staged.table}")
            return IngestResult(batch_id, kind, str(source or path), 0, True)
        again = self._commit(staged, batch_id, digest["h"], "file", key_scope, line_offset=line_offset,
                             replace_batch=again_under)
        return IngestResult(batch_id, kind, staged.path, staged.rows, False, again)

    def stage_file(self, kind: str, path: str | Path, *, encoding: str | None = None,
                   key_scope: tuple[str, ...] = (), drop: tuple[str, ...] = (), ordered: bool = False,
                   lines: LineMap | None = None) -> Staged:
        """Validate a canonical CSV into a temp table of this connection and leave it there, unstored.

        File mode without a workspace file reconciles these tables directly: the copy into the
        canonical tables (and the file hash for the batch id) would only serve a workspace that is
        thrown away afterwards. Rows land in any order (faster) unless ``ordered``: then ``rowid + 2``
        is each row's source line and rowid order is file order, which decides the primary copy of a
        channel record listed twice (see ``records_repeat``).
        ``drop``: columns validated but not kept (``LEAN_DROP``: what a run without instalments never reads).
        """
        if kind not in TABLE_COLUMNS:
            raise PaymatchError(f"unknown input kind {kind!r}; use orders, refunds or transactions")
        self._staged += 1
        return stage_csv(self.con, kind, path, encoding=encoding, key_scope=key_scope,
                         table=f"_pm_file_{kind}_{self._staged}", keep_extra=False, drop=drop, ordered=ordered,
                         lines=lines)

    def records_repeat(self, txs_sql: str) -> bool:
        """Whether any channel record (the identity ``engine.dedupe.DUP_KEY`` uses) occurs twice in ``txs_sql``.

        Compares 64-bit hashes of the identity (``sources.repeats``): no repeated hash means no repeated
        record (exact); a repeated hash means a repeat or, very rarely, a collision, and the caller then
        takes the careful path.
        """
        return hashes_repeat(self.con, DUP_KEY_SQL, f"({txs_sql})")

    def ingest_transactions(self, table: pa.Table, *, source: str, sha256: str | None = None,
                            origin: str = "bill", meta: dict | None = None) -> IngestResult:
        """Store canonical transactions from a channel parser or a notification (``TRANSACTION_ARROW``)."""
        sha = sha256 or hashlib.sha256(source.encode() + str(table.num_rows).encode()).hexdigest()
        batch_id = f"transactions:{sha[:20]}"
        if self.batch_exists(batch_id):
            return IngestResult(batch_id, "transactions", source, 0, True)
        missing = [c for c in TRANSACTION_COLUMNS if c not in table.column_names]
        if missing:
            raise LoadError([Problem(source, None, c, None, "column missing from parsed transactions") for c in missing])
        tname = "_pm_stage_arrow"
        self.con.register("_pm_arrow_in", table)
        try:
            cols = ", ".join(
                f"CAST({c} AS {DUCK_TYPES[c]}) AS {c}" if c != "channel_tx_id" else f"{_SYNTH_TX_ID} AS channel_tx_id"
                for c in TRANSACTION_COLUMNS
            )
            src_line = "src_line" if "src_line" in table.column_names else "NULL::BIGINT"
            src_file = "src_file" if "src_file" in table.column_names else "NULL::VARCHAR"
            extra = "extra" if "extra" in table.column_names else "NULL::VARCHAR"
            self.con.execute(f"DROP TABLE IF EXISTS {tname}")
            self.con.execute(
                f"CREATE TEMP TABLE {tname} AS SELECT {cols}, {extra} AS extra, "
                f"coalesce({src_file}, ?) AS _pm_src_file, {src_line} AS _pm_src_line FROM _pm_arrow_in",
                [source],
            )
        finally:
            unregister(self.con, "_pm_arrow_in")
        staged = Staged("transactions", tname, table.num_rows, source)
        again = self._commit(staged, batch_id, sha, origin, (), meta=meta, provenance_cols=True)
        return IngestResult(batch_id, "transactions", source, table.num_rows, False, again)

    def restate_refund_totals(self, channel: str, channel_tx_id: str) -> None:
        """A refund notification that reports the trade's total refunded so far (Alipay's ``refund_fee``; kept in
        ``extra`` as ``refunded_total_fen``) is stored with its own amount: the total less the trade's successful
        refunds before it (bill rows as they are, notifications restated in time order). A handful of rows of one
        trade, read whenever a load brings a refund of a trade such a notification is stored for (a notification,
        or the bill with an earlier refund: helper-62); the bill's row replaces each of them when it comes."""
        rows = self.con.execute(
            "SELECT rowid, amount_fen, json_extract(extra, '$." + REFUNDED_TOTAL + "')::BIGINT FROM transactions "
            "WHERE channel = ? AND channel_tx_id = ? AND type = 'refund' AND status = 'success' "
            "ORDER BY occurred_at, rowid", [channel, channel_tx_id]).fetchall()
        before = 0
        for rowid, amount, total in rows:
            if total is not None and total > before:
                own = total - before
                if own != amount:
                    self.con.execute("UPDATE transactions SET amount_fen = ? WHERE rowid = ?", [own, rowid])
                amount = own
            elif total is not None:
                # the trade's refunds stored before it add up to its total already: a late notification of a refund
                # the bill lists under its number (one without out_biz_no: helper-62), not another refund
                self.con.execute("DELETE FROM transactions WHERE rowid = ? AND origin = 'notify' AND refund_no IS NULL",
                                 [rowid])
                continue
            before += amount

    def ingest_fund_flows(self, table: pa.Table, *, channel: str, account: str | None, source: str,
                          sha256: str) -> IngestResult:
        """Store a fund-flow bill's rows (``channels.wechat.fundflow.FUNDFLOW_ARROW``); idempotent by content hash."""
        batch_id = f"fund_flows:{sha256[:20]}"
        if self.batch_exists(batch_id):
            return IngestResult(batch_id, "fund_flows", source, 0, True)
        self.con.register("_pm_ff_in", table)
        try:
            with transaction(self.con, within=self._unit):
                # a flow already stored (the same bill delivered again as .csv.gz, or in a zip: another hash) is not
                # stored twice (helper-50): a flow number is the channel's own id of a booking
                inserted = self.con.execute(
                    "INSERT INTO fund_flows SELECT ?, ?, booked_at, wx_business_no, flow_no, name, business_type, "
                    "direction, amount_fen, balance_fen, note, voucher_no, ?, src_line, ? FROM _pm_ff_in f "
                    "WHERE f.flow_no IS NULL OR NOT EXISTS (SELECT 1 FROM fund_flows t WHERE t.channel = ? "
                    "AND t.flow_no = f.flow_no)",
                    [channel, account, source, batch_id, channel]).fetchall()[0][0]
                self.con.execute("INSERT INTO batches VALUES (?, 'fund_flows', ?, ?, ?, 'bill', now(), '{}')",
                                 [batch_id, source, sha256, table.num_rows])
        finally:
            unregister(self.con, "_pm_ff_in")
        return IngestResult(batch_id, "fund_flows", source, table.num_rows, False, table.num_rows - inserted)

    def ingest_flows(self, flows, *, key_scope: tuple[str, ...] = ()) -> IngestResult:
        """Store one file's instalment flows (``instalments.flows.FlowFile``, read with ``hashes=True``): one batch,
        all-or-nothing, idempotent by the file's content hash.

        A flow row is the channel's deduction of one period of one order (channel, order_no, period_no) in one state
        (periods, amount, fee, status, time). Delivered again by another file (overlapping exports) with the same
        values it is the same row, not stored twice (``already_stored``). With a value changed it is another row,
        stored beside it, as the file run over both files would read them: a deduction failed and retried, or
        processing and then successful, is the matched success and an ``instalment_attempt``; two successful
        deductions of one period are an ``instalment_duplicate`` (helper-63: the later delivery replaced the earlier,
        so a failed retry listed after a success wiped the success, and a double charge vanished). A file's own
        rows are all stored as they are: a period it lists twice stays twice, also when an earlier file listed it
        once (its second copy is stored; before, both copies equalled the stored row and the double charge vanished,
        or not, by the order the files came in).

        Under ``key_scope = ["merchant_id"]`` the merchant number the flow names is part of it (helper-63: two
        merchant numbers' equal deductions of one order number were stored once): a row naming none is the same as
        a stored one naming any, and a row naming one replaces a stored equal row naming none (a re-export that adds
        the merchant column). Without key_scope the merchant number is kept but does not tell rows apart.
        """
        from .instalments.flows import FLOW_ARROW, copy_no_sql, same_flow_sql

        if flows.sha256 is None:
            raise ValueError("ingest_flows needs the file's hash (read_flow_files(..., hashes=True))")
        batch_id = f"instalment_flows:{flows.sha256[:20]}"
        if self.batch_exists(batch_id):
            return IngestResult(batch_id, "instalment_flows", flows.name, 0, True)
        con = self.con
        scoped = "merchant_id" in key_scope
        same = same_flow_sql("t", "s", scoped)
        unnamed = ""
        if scoped:
            unnamed = (f"DELETE FROM instalment_flows t WHERE t.merchant_id IS NULL AND EXISTS (SELECT 1 FROM _pm_fs s "
                       f"WHERE s.merchant_id IS NOT NULL AND {same_flow_sql('t', 's', False)})")
        cols = ", ".join(FLOW_ARROW.names)
        con.register("_pm_flows_in", flows.table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_fs AS SELECT {cols}, {copy_no_sql(scoped)} AS _pm_copy "
                        f"FROM _pm_flows_in")
        finally:
            con.unregister("_pm_flows_in")
        rows = flows.table.num_rows
        try:
            with transaction(con):
                replaced = con.execute(unnamed).fetchall()[0][0] if unnamed else 0
                # the file's rows that no stored row equals (the others are stored already); a row the file lists more
                # often than it is stored: its further copies (a double charge a shorter export listed once)
                con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_fnew AS SELECT * EXCLUDE (_pm_copy) FROM _pm_fs s "
                            f"WHERE s._pm_copy > (SELECT count(*) FROM instalment_flows t WHERE {same})")
                # by name: a workspace from before the merchant column has it last (ALTER TABLE)
                inserted = con.execute(f"INSERT INTO instalment_flows ({cols}, batch_id) SELECT {cols}, ? "
                                       "FROM _pm_fnew", [batch_id]).fetchall()[0][0]
                meta = {}
                if inserted != rows:
                    meta["already_stored"] = rows - inserted
                if replaced:
                    meta["replaced_unnamed"] = replaced
                con.execute("INSERT INTO batches VALUES (?, 'instalment_flows', ?, ?, ?, 'file', now(), ?)",
                            [batch_id, flows.name, flows.sha256, rows, json.dumps(meta)])
        finally:
            con.execute("DROP TABLE IF EXISTS _pm_fs")
            con.execute("DROP TABLE IF EXISTS _pm_fnew")
        return IngestResult(batch_id, "instalment_flows", flows.name, rows, False, rows - inserted, replaced)

    def has_flows(self) -> bool:
        """Whether any instalment flow is stored."""
        return self.con.execute("SELECT count(*) FROM (SELECT 1 FROM instalment_flows LIMIT 1)").fetchall()[0][0] > 0

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """The bills ``store_bill`` stores inside are one transaction: all of them, or none on any error (a day's
        UnionPay zip of ZM, ZME and 汇总表: ``pull``). DuckDB nests no transactions: each store inside is part of
        this one (only ``store_bill`` is meant
        for a unit)."""
        if self._unit:
            yield
            return
        try:
            with transaction(self.con):
                self._unit = True
                yield
        finally:
            self._unit = False

    def store_bill(self, bill, *, account: str | None = None, meta: dict | None = None) -> IngestResult:
        """Store a parsed bill: its transactions, and its fund-flow rows when it is a fund-flow bill."""
        base = {"channel": bill.channel, "kind": bill.kind, "totals": bill.totals, **(meta or {})}
        if bill.kind.startswith("profile:"):  # what a profile's file is (an Alipay 账务明细: alipay_fundflow), whatever
            base["layout"] = getattr(bill, "layout", None) or ""  # the profile's name; "": no channel's layout
            base[OWN_REFUND_IDS] = True  # its refund rows carry their own ids (``give_own_refund_ids``)
        from .summary_notes import bill_days, is_empty_bill, name_merchant

        days = bill_days(bill) if is_empty_bill(bill) else None
        if days is not None:  # an empty bill of these days: no bill left out of them (``summary_notes``)
            base["days"] = [str(days[0]), str(days[1])]
            # of its file name's merchant number only (no bill of another account of the channel), when it names one
            if (mch := name_merchant(bill.source)) is not None:
                base["merchant_id"] = mch
        sha = self._bill_sha(bill)
        if bill.kind == "fundflow" and bill.extra is not None:
            return self.ingest_fund_flows(bill.extra, channel=bill.channel, account=account, source=bill.source,
                                          sha256=sha)
        return self.ingest_transactions(bill.transactions, source=bill.source, sha256=sha, origin="bill", meta=base)

    @staticmethod
    def _bill_sha(bill) -> str:
        """content hash + kind (+ member name inside an archive): the same bytes from another path are the same
        batch. An empty bill's file name too: WeChat's bills of two accounts or days without a sale are the same
        bytes, and each is the bill of the account and day its name says (``summary_notes``)."""
        from .summary_notes import is_empty_bill

        member = bill.source.split("!", 1)[1] if "!" in bill.source else ""
        if is_empty_bill(bill):
            member = bill.source.replace("\\", "/").rsplit("/", 1)[-1]
        return hashlib.sha256(f"{bill.sha256}:{bill.kind}:{member}".encode()).hexdigest()

    def bill_stored(self, bill) -> bool:
        """Whether ``store_bill`` would find this (transaction) bill stored already and change nothing."""
        return self.batch_exists(f"transactions:{self._bill_sha(bill)[:20]}")

    def _read_since_otherwise(self, batch_id: str) -> bool:
        """Whether the file of this stored batch was loaded again later under another mapping (an ERP export under
        mapping A, then B, then A again): its rows are then B's reading, and loading it under A is not a no-op."""
        return self.con.execute(
            "SELECT count(*) FROM batches a JOIN batches b ON b.sha256 = a.sha256 AND b.kind = a.kind "
            "AND b.batch_id <> a.batch_id AND b.loaded_at > a.loaded_at WHERE a.batch_id = ?",
            [batch_id]).fetchall()[0][0] > 0

    def _commit(self, staged: Staged, batch_id: str, sha: str, origin: str, key_scope: tuple[str, ...],
                **kw) -> int:
        """Store a staged load as one transaction (``workspace_commit.commit_staged``); returns how many of its rows
        were already stored."""
        return commit_staged(self.con, staged, batch_id, sha, origin, key_scope, restate=self.restate_refund_totals,
                             within=self._unit, **kw)

    # --- questions about what is stored --------------------------------------------------------

    def bill_dates(self, batch_ids: list[str] | None = None, *, tables: list[str] = ()) -> tuple[dt.date, dt.date] | None:
        """(first, last) bill date among stored transactions (or those of the given batches, with the records they
        listed again: stored before, theirs too), and of the staged transaction ``tables`` (``stage_file``); an
        undated record counts by its local day. (A file run into a workspace of a bill stored before had no window:
        its cross-day orders were order_only.)"""
        where, params, again = "", [], []
        if batch_ids is not None and (batch_ids or tables):
            where = f"WHERE batch_id IN ({', '.join('?' for _ in batch_ids) or 'NULL'})"
            params = list(batch_ids)
            if batch_ids:
                again = [f"SELECT bill_date, occurred_at FROM transactions_listed_again {where}"]
                params += params
        rows = " UNION ALL ".join([f"SELECT bill_date, occurred_at FROM transactions {where}", *again,
                                   *(f"SELECT bill_date, occurred_at FROM {t}" for t in tables)])
        row = self.con.execute(
            f"SELECT min({bill_day_sql()}), max({bill_day_sql()}) FROM ({rows})", params
        ).fetchall()[0]
        return None if row[0] is None else (row[0], row[1])

    def quarantine(self, *, channel: str, source: str, payload: bytes, reason: str) -> str:
        """Keep a rejected bill or notification aside for a person; returns its id."""
        sha = hashlib.sha256(payload).hexdigest()
        item_id = f"q:{sha[:20]}"
        self.con.execute(
            "INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?, ?, ?, ?, now())",
            [item_id, channel, source, sha, reason, payload],
        )
        return item_id


#: a record without the channel's own id (a cash journal, some exports) gets a content id, so two loads of the
#: same content agree, different records never share a key, and a refund without ids is not merged into another
_SYNTH_TX_ID = (
    "coalesce(CAST(channel_tx_id AS VARCHAR), '~' || md5(concat_ws('|', channel, merchant_id, order_no, type, "
    "refund_no, channel_refund_id, CAST(amount_fen AS VARCHAR), CAST(occurred_at AS VARCHAR))))"
)

