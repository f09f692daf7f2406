"""Library entry points for a reconciliation run (the CLI and the web API call these).

``reconcile_files``: canonical CSVs in → outcomes.csv + summary.json out (optionally stored in a
workspace file). ``reconcile_workspace``: reconcile what a workspace holds for a date range and
replace that period's stored results atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import narwhals as nw

from .backends import run_engine
from .backends.scope import (Selections, by_batches, by_staged, by_window, instalment_refunds, listed_again_rows,
                             redelivered, without_rows)
from .config import Config
from .errors import LoadError, PaymatchError
from .outcome_splits import SHARE_COLUMNS, splits_sql
from .schema import today_local
from .engine import MatchParams
from .engine.params import FeeRule
from .engine.payments import PAID
from .outcomes_store import (REASON_SQL, STORED_COLUMNS, discard_outputs, dump_summary, materialize, publish_outputs,
                             rollup, stream, summarize, write_csv)
from .sources.load_problems import repeats_having
from .summary_notes import (empty_bill_accounts, foreign_merchant_numbers, merchant_numbers_without_records,
                            unknown_configured_channels,
                            stored_empty_bill_accounts)
from .sources.mapping import mapped_input
from .workspace import LEAN_DROP, Workspace
from .workspace_commit import transaction

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunResult:
    """What a run produced. ``summary`` is the content of summary.json."""

    run_id: str
    period_from: dt.date | None
    period_to: dt.date | None
    outcomes_csv: Path | None
    summary_json: Path | None
    summary: dict
    table: str


def params_for(config: Config, last_day: dt.date) -> MatchParams:
    """Engine parameters for a window ending after ``last_day`` (in the configured time zone)."""
    tz = ZoneInfo(config.timezone)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return MatchParams(
        window_end=end,
        grace=dt.timedelta(minutes=config.match.cross_day_grace_minutes),
        tolerance_fen=config.match.amount_tolerance_fen,
        internal_methods=tuple(config.methods.internal),
        settle_channel=dict(config.methods.settle_channel),
        key_scope=tuple(config.match.key_scope),
        compare_merchant=config.match.compare_merchant,
        max_time_gap=dt.timedelta(minutes=config.match.max_time_gap_minutes) if config.match.max_time_gap_minutes else None,
        fee_rates=tuple(FeeRule(r.channel, r.merchant_id, r.method, r.ppm, r.cap_fen, r.round_add, r.on_amount)
                        for r in config.fees.rates),
        fee_tolerance_fen=config.fees.tolerance_fen,
    )


def _noop(_: str) -> None:
    pass


def reconcile_files(orders: Path, refunds: Path | None, transactions: list[Path], out_dir: Path, *,
                    config: Config | None = None, engine: str = "duckdb", workspace: Path | None = None,
                    encoding: str | None = None, spark_master: str | None = None,
                    progress: Progress = _noop, extra_bills: list | None = None,
                    instalments: Path | list[Path] | None = None, as_of: dt.date | None = None,
                    period: tuple[dt.date, dt.date] | None = None) -> RunResult:
    """Load the files (all-or-nothing each), reconcile exactly those rows, write the outputs.

    ``extra_bills``: already-parsed channel bills (``ParsedBill``) to load beside the CSVs.
    ``instalments``: per-period instalment flows (a path or several: each file, folder or archive is read, a row
    listed again by a later file counted once); ``as_of`` decides which periods are due.
    ``period``: the window (first, last bill day) instead of the bill dates the transactions cover; it sets
    where pending_cross_day is judged and the run's period (every row of the files is reconciled).
    """
    config = config or Config()
    scope = tuple(config.match.key_scope)
    with Workspace(workspace) as ws:
        # Without a workspace file nothing is kept: the validated temp tables are reconciled as they are
        # (no copy into the canonical tables, no file hash). With one, files are stored with provenance.
        staged = workspace is None
        # a run without instalment plans reads neither members nor instalment counts: checked, not kept (nor the
        # records' payment method, unless a fee rate names one)
        keep = {"method"} if any(r.method for r in config.fees.rates) else set()
        dropped = {k: (tuple(c for c in v if c not in keep) if instalments is None else ()) for k, v in LEAN_DROP.items()}
        notes: list[str] = []  # what loading the inputs left out or warns about (an export's total line…)
        stored: list[str] = []  # the files this run stored in the workspace (named if a later one fails)

        def load(kind: str, path: Path, **kw) -> str:
            again = " again in file order (a record is listed twice)" if kw.get("ordered") else ""
            progress(f"loading {kind} {path}{again}")
            # an ERP export (config [inputs]) or an .xlsx is loaded as its canonical translation
            with mapped_input(kind, path, config, encoding=encoding, keep_extra=not staged) as m:
                for note in m.notes:
                    progress(note)
                    notes.append(note)
                if staged:
                    return ws.stage_file(kind, m.path, encoding=m.encoding, drop=dropped[kind], lines=m.lines, **kw).table
                try:
                    res = ws.ingest_csv(kind, m.path, encoding=m.encoding, source=m.source, line_offset=m.line_offset,
                                        variant=m.variant, lines=m.lines, **kw)
                except LoadError as e:
                    raise e.after(stored) from None
                if not res.skipped:
                    stored.append(f"{kind} {path}")
                return res.batch_id

        o = load("orders", orders, key_scope=scope)
        r = [load("refunds", refunds, key_scope=scope)] if refunds is not None else []
        t = [load("transactions", p) for p in transactions]
        bills = []
        for bill in extra_bills or []:
            progress(f"loading bill {bill.source}")
            res = ws.store_bill(bill)
            if res.kind == "transactions":
                bills.append(res.batch_id)
            if res.already_stored:  # the same records from another file (an API's .gz and the platform's CSV): said
                note = (f"{res.already_stored:,} channel record(s) of {bill.source} listed with the same values by an "
                        "earlier file: counted once, as a workspace stores them")
                progress(note)
                notes.append(note)
        flows = instalments
        if instalments is not None and not staged:
            # a workspace keeps the flows too, each file as a batch (the run matches the files' own rows)
            flows = _store_flows(ws, instalments, config, progress, stored)
        fingerprint = None
        if staged:
            sel = by_staged(o, r, t, bills, dropped)
            if ws.records_repeat(sel.txs):
                # a record listed twice: file order decides which copy is primary, so the transaction
                # files (loaded in any order, the fast way) are loaded again in order
                for table in t:
                    ws.con.execute(f"DROP TABLE IF EXISTS {table}")
                t = [load("transactions", p, ordered=True) for p in transactions]
                sel = by_staged(o, r, t, bills, dropped)
                # a record another file listed with the same values is one record, as a workspace stores it (said)
                ws.con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_redelivered AS {redelivered(sel.txs)}")
                again = ws.con.execute("SELECT count(*) FROM _pm_redelivered").fetchall()[0][0]
                if again:
                    note = (f"{again:,} channel record(s) listed again with the same values by a later file: counted "
                            "once, as a workspace stores them")
                    progress(note)
                    notes.append(note)
                    sel = dataclasses.replace(sel, txs=without_rows(sel.txs, "_pm_redelivered"))
            else:
                sel = dataclasses.replace(sel, records_unique=True)
            dates = ws.bill_dates(bills, tables=t) if t or bills else None
            files = [p for p in [orders, refunds, *transactions] if p is not None]
            fingerprint = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in map(Path, files)]
        else:
            t += bills
            # a record this run's files list with the values of one stored before is stored once, and is theirs too
            again = bool(t) and ws.con.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM transactions_listed_again WHERE batch_id IN "
                f"({', '.join('?' for _ in t)}) LIMIT 1)", t).fetchall()[0][0] > 0
            if again:  # computed once: the run reads its selection many times
                ws.con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_held_again AS {listed_again_rows(t)}")
            sel = by_batches([o], r or ["-"], t or ["-"], listed_again="_pm_held_again" if again else "")
            dates = ws.bill_dates(t) if t else None
        # a bill that says which days it covers (a month's Alipay 业务明细) spans them, rows or not
        for bill in extra_bills or []:
            if bill.period is not None:
                dates = (min(dates[0], bill.period[0]), max(dates[1], bill.period[1])) if dates else bill.period
        if period is not None:
            dates = period
        last = dates[1] if dates else dt.datetime.now(ZoneInfo(config.timezone)).date()
        return _execute(ws, sel, params_for(config, last), dates, out_dir, engine, config,
                        persist=not staged, spark_master=spark_master, progress=progress,
                        flows=flows, flows_from=_names(instalments), as_of=as_of, fingerprint=fingerprint,
                        notes=notes, empty_bills=empty_bill_accounts(extra_bills or [], dates))


def reconcile_workspace(workspace: Path, first_day: dt.date, last_day: dt.date, out_dir: Path | None, *,
                        config: Config | None = None, engine: str = "duckdb", spark_master: str | None = None,
                        progress: Progress = _noop, instalments: Path | list[Path] | None = None,
                        as_of: dt.date | None = None) -> RunResult:
    """Reconcile the stored rows of bill dates first_day..last_day; replace that period's results.

    ``instalments``: flow files to store first (``Workspace.ingest_flows``; a bad file stores nothing and nothing is
    reconciled). Whenever the workspace holds flows, every stored plan is matched against every stored flow up to
    ``as_of`` (default: today), whichever file or day brought it: day after day agrees with one run over them all.
    """
    config = config or Config()
    tz = ZoneInfo(config.timezone)
    start = dt.datetime.combine(first_day, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    with Workspace(workspace) as ws:
        flows = None
        if instalments is not None:
            _store_flows(ws, instalments, config, progress, [])
        if instalments is not None or ws.has_flows():
            from .instalment_run import stored_flows_sql

            as_of = as_of or dt.datetime.now(tz).date()
            flows = stored_flows_sql(config, as_of)
        sel = by_window(start, end, first_day, last_day, tuple(config.match.key_scope))
        return _execute(ws, sel, params_for(config, last_day), (first_day, last_day), out_dir, engine, config,
                        persist=True, spark_master=spark_master, progress=progress,
                        flows=flows, flows_from="stored in the workspace" if flows else None, as_of=as_of,
                        copy_window=True, empty_bills=stored_empty_bill_accounts(ws.con, first_day, last_day))


def _store_flows(ws: Workspace, path: Path | list[Path], config: Config, progress: Progress, stored: list[str]):
    """Store the flow files under ``path`` (one path or several) in the workspace (each all-or-nothing; a bad file:
    nothing of any path given); returns their rows as read (``FLOW_ARROW``), a table per file."""
    from .instalment_run import read_flows

    progress(f"loading instalment flows {_names(path)}")
    try:
        files = read_flows(path, config, hashes=True)
    except LoadError as e:
        raise e.after(stored) from None
    for f in files:
        res = ws.ingest_flows(f, key_scope=tuple(config.match.key_scope))
        progress(f"instalment flows {f.name}: " + flows_loaded(res))
        if not res.skipped:
            stored.append(f"instalment flows {f.name}")
    return [f.table for f in files]


def _names(paths: Path | list[Path] | None) -> str | None:
    """The flow paths a run was given, for its progress lines."""
    if paths is None or isinstance(paths, Path):
        return None if paths is None else str(paths)
    return ", ".join(map(str, paths))


def flows_loaded(res) -> str:
    """What storing a flow file did, in words (``ingest`` and ``reconcile`` say it alike)."""
    if res.skipped:
        return "already loaded, unchanged"
    kept = res.rows - res.already_stored
    text = f"{res.rows:,} rows, {kept:,} stored"
    if res.already_stored:
        text += f" ({res.already_stored:,} already stored as they are)"
    if res.replaced:
        text += f" ({res.replaced:,} replacing a stored row that named no merchant number)"
    return text


def _input_totals(ws: Workspace, sel: Selections, leave_out=None) -> dict[str, tuple[int, int]]:
    out = {}
    for name, sql in (("orders", sel.orders), ("refunds", sel.refunds), ("transactions", sel.txs)):
        frame = nw.from_native(ws.con.sql(sql))
        if name == "orders" and leave_out is not None:
            frame = frame.filter(~leave_out.fill_null(False))
        n, s = frame.select(nw.len(), nw.col("amount_fen").sum()).to_native().fetchall()[0]
        out[name] = (int(n), int(s or 0))
    return out


def _run_id(ws: Workspace, sel: Selections, config: Config, engine: str, period, fingerprint=None) -> str:
    batches = ws.con.execute("SELECT string_agg(batch_id, ',' ORDER BY batch_id) FROM batches").fetchall()[0][0] or ""
    h = hashlib.sha256(json.dumps([batches, sel.orders, sel.txs, sel.txs_earlier, config.model_dump(mode="json"),
                                   str(period), fingerprint], sort_keys=True).encode())
    return "run-" + h.hexdigest()[:16]


def _execute(ws: Workspace, sel: Selections, params: MatchParams, period, out_dir: Path | None, engine: str,
             config: Config, *, persist: bool, spark_master: str | None, progress: Progress,
             flows=None, flows_from=None, as_of: dt.date | None = None, fingerprint=None,
             notes: list[str] | None = None, copy_window: bool = False,
             empty_bills: set[tuple[str, str | None]] | frozenset = frozenset()) -> RunResult:
    """``flows``: the instalment flows the run matches (``instalment_run.add_outcomes``: a path, the rows read, or
    SQL over the workspace), None for a run without instalments; ``flows_from`` names them in progress.
    ``empty_bills``: (channel, merchant number or None) of the bills of the run's days loaded without a row
    (``summary_notes``)."""
    progress(f"reconciling on {engine}")
    if engine == "spark":  # the config's [spark] master, exchange folder and properties (a library caller's too)
        from .backends.spark_backend import configure

        configure(config.spark)
    started = dt.datetime.now(dt.UTC)
    leave_out = None
    if flows is not None:
        from .instalment_run import owned

        leave_out = owned(config)
    # Loads are done: results need no insertion order, which lets DuckDB stream with less memory
    # (a later load switches it back on itself: sources.canonical relies on it for line numbers).
    ws.con.execute("SET preserve_insertion_order=false")
    id_sel = sel  # the run's id names the selections as written, not the copies below
    sel = with_earlier(ws, sel)
    if copy_window:
        sel = _copied(ws, sel, (period[1] - period[0]).days + 1)
    if persist:  # a workspace may hold rows loaded under another key_scope (a file run's rows are checked on load)
        repeated = _repeated_key(ws, sel, params)
        if repeated:
            raise PaymatchError(f"{repeated}; nothing was reconciled or stored\n"
                                "Hint: reconcile with the config the files were loaded with (match.key_scope)")
    rel = run_engine(engine, ws.con, sel, params, spark_master=spark_master, leave_out=leave_out)
    store = bool(persist and period)
    extra_control = None
    if store or flows is not None:  # rows are added or kept: a table
        table = source = materialize(ws.con, rel, config.stores)
        if flows is not None:
            from .instalment_run import add_outcomes

            progress(f"matching instalment periods {flows_from}")
            said: list[str] = []
            extra_control = add_outcomes(ws.con, sel.instalment_orders, flows, config, as_of, table,
                                         engine=engine, spark_master=spark_master, notes=said,
                                         refunds_sql=instalment_refunds(sel))
            for note in said:
                progress(note)
            notes = [*(notes or []), *said]
    else:  # a file-only run: the outcomes are computed while the CSV is written, never stored
        table, source = None, stream(ws.con, rel, config.stores)
    inputs = _input_totals(ws, sel, leave_out)
    run_id = _run_id(ws, id_sel, config, engine, period, fingerprint)
    csv_path = json_path = None
    try:
        if out_dir is not None:
            progress(f"writing {out_dir}")
            out_dir.mkdir(parents=True, exist_ok=True)
            csv_path, json_path = out_dir / "outcomes.csv", out_dir / "summary.json"
            rolled = write_csv(ws.con, source, csv_path, publish=False)
        else:
            rolled = rollup(ws.con, source)
        progress("checking control totals")
        summary = summarize(ws.con, rolled, inputs, extra_control, {c for c, _ in empty_bills})
        # one account's bill left out while the channel's other accounts' records are there (a chain's second store)
        summary["merchant_numbers_without_records"] = merchant_numbers_without_records(
            ws.con, sel, rolled, [c["channel"] for c in summary["channels_without_records"]], set(empty_bills), PAID)
        # a bill of another account given by mistake: its merchant number, once (its rows are channel_only)
        summary["merchant_numbers_without_orders"] = foreign_merchant_numbers(ws.con, sel, config, rolled)
        # a channel the config names that nothing reads: a typo in settle_channel or a fee rate (helper-112)
        unknown = unknown_configured_channels(ws.con, sel, config)
        if unknown:
            summary["configured_channels_unknown"] = unknown
        summary = {"run_id": run_id, "engine": engine,
                   "period": {"from": str(period[0]) if period else None, "to": str(period[1]) if period else None},
                   "window_end": params.window_end.isoformat(), **summary, **({"input_notes": notes} if notes else {}),
                   # the day instalment periods were judged as of (the instalment report and credit check take each
                   # period from the run that judged it latest: instalments.stored)
                   **({"as_of": str(as_of or today_local(config.timezone))} if flows is not None else {})}
        if json_path is not None:  # both files complete: moved into place together (never a mixed pair)
            dump_summary(summary, json_path, publish=False)
            publish_outputs(csv_path, json_path)
    except BaseException:
        if csv_path is not None:
            discard_outputs(csv_path, json_path)
        raise
    if not summary["conservation"]:
        # outcomes.csv/summary.json stay for diagnosis; the workspace keeps its previous results (numbers repeated
        # under the run's key_scope were refused before the engine ran: ``_repeated_key``)
        raise PaymatchError("control totals do not tie out; nothing was stored in the workspace\n"
                            f"Hint: this is a bug; please report it with {json_path or 'the summary'}")
    if store:
        progress("storing results in the workspace")
        _store(ws, table, run_id, period, engine, config, started, summary,
               splits_sql(sel.txs, tuple(config.match.key_scope), table))
    return RunResult(run_id, period[0] if period else None, period[1] if period else None,
                     csv_path, json_path, summary, table)


#: the most channel records a period run copies into temp tables (``_copied``); None: a third of the memory limit at
#: ~300 bytes a copied record with its orders (measured: ~3 GB for a month of 8.7M records and 9.9M orders)
_COPY_MAX_RECORDS: int | None = None
#: the longest window copied: orders are not counted (that would cost a scan of every stored order number), and a
#: week of any chain's orders stays far below the limit
_COPY_MAX_DAYS = 7


def _copy_limit(ws: Workspace) -> int:
    if _COPY_MAX_RECORDS is not None:
        return _COPY_MAX_RECORDS
    text = ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    m = re.fullmatch(r"([0-9.]+)\s*([KMGT]?)i?B", str(text).strip())
    if m is None:
        return 3_000_000
    return int(float(m.group(1)) * 1024 ** " KMGT".index(m.group(2) or " ") / (3 * 300))


def _copied(ws: Workspace, sel: Selections, days: int) -> Selections:
    """A workspace period's orders, refunds and records, each copied once into a temp table.

    The window's selections (``scope.by_window``) scan the whole workspace: orders paid in the window or named by
    the window's payments or left pending the day before. The key check, the engine's steps and the control totals
    each read them again; a day of a 10M-row month was 20 s of re-selecting (2.6 s for the key check alone).
    Read from the copies, a day is the size of its window. A window longer than ``_COPY_MAX_DAYS`` days or with
    more records than ``_copy_limit`` (a month at once) is read where it is stored: its copies would take most of
    the memory limit and make the engine spill (measured on a 10M-row month: ~3 GB of copies, 3.8 GB spilled,
    9–28 % slower).
    """
    if days > _COPY_MAX_DAYS:
        return sel
    records = ws.con.execute(f"SELECT count(*) FROM ({sel.txs})").fetchall()[0][0]
    if records > _copy_limit(ws):
        return sel
    copies = {}
    for name in ("orders", "refunds", "txs"):
        table = f"_pm_window_{name}"
        ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {getattr(sel, name)}")
        copies[name] = f"SELECT * FROM {table}"
    # the orders a refund is attributed to (``engine.refunds``: by the shop refund's or the channel refund's order
    # number) and the stores of records listed more than once (``engine.dedupe``: a duplicate_record is its order's
    # store's): only those numbers' rows of every stored order
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_window_order_dims AS SELECT * FROM ({sel.order_dims}) "
                   "WHERE order_no IN (SELECT order_no FROM _pm_window_refunds UNION ALL "
                   "SELECT order_no FROM _pm_window_txs WHERE type = 'refund' UNION ALL "
                   "SELECT order_no FROM _pm_window_txs WHERE order_no IS NOT NULL "
                   "GROUP BY channel, channel_tx_id, type, order_no HAVING count(*) > 1)")
    copies["order_dims"] = "SELECT * FROM _pm_window_order_dims"
    return dataclasses.replace(sel, **copies)


def with_earlier(ws: Workspace, sel: Selections) -> Selections:
    """``sel`` with its ``txs_earlier`` records read once into a temp table and added to ``txs``.

    They are few (earlier bills' records of the window's orders and refunds), but finding them reads the window's
    orders and every earlier record's key: as part of ``txs`` that was done each time the records were read
    (a day of a month-long workspace took twice as long). An earlier copy of a record the window's bills list again
    stays: the engine makes one copy primary and the other a ``record_update`` (another status: processing, then
    success) or ``duplicate_record``, as a range run over both days does."""
    if not sel.txs_earlier:
        return sel
    ws.con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_window_earlier AS {sel.txs_earlier}")
    return dataclasses.replace(sel, txs=f"{sel.txs} UNION ALL SELECT * FROM _pm_window_earlier", txs_earlier="")


def _repeated_key(ws: Workspace, sel: Selections, params: MatchParams) -> str | None:
    """Why the run's orders or refunds cannot each be one outcome: a number the run's key_scope keys once listed more
    than once (a workspace loaded under ``key_scope = ["merchant_id"]``, reconciled without it), else None."""
    scope = list(params.key_scope)
    for kind, sql, key in (("order", sel.orders, "order_no"), ("refund", sel.refunds, "refund_no")):
        # a refund without a merchant number stands for any (sources.specs.WILDCARD_SCOPE)
        having = repeats_having(scope if kind == "refund" else [])
        group = key if kind == "refund" else ", ".join([key, *(f"coalesce({c}, '')" for c in scope)])
        row = ws.con.execute(f"SELECT {key} FROM ({sql}) GROUP BY {group} HAVING {having} LIMIT 1").fetchall()
        if row:
            return (f"{kind} number {row[0][0]!r} is listed more than once"
                    + ("" if scope else " (under several merchant numbers, as match.key_scope allows)"))
    return None


#: the day an outcome without channel records is judged on when a day run would have left it pending_cross_day (an
#: order paid, a refund made within the grace before its day's end, Asia/Shanghai): the next day, whose day run turns
#: it into order_only / refund_order_only (``reports.provenance`` places a range run's outcome by its ``bill_day``,
#: else by the day it happened, within the run's days). On its own day a day run of that day after the range run
#: replaced it there and the month counted it pending_cross_day, though the range run had seen the next day's bill.
_JUDGED_DAY_SQL = ("CASE WHEN bill_day IS NULL AND kind IN ('order_only', 'refund_order_only') AND "
                   "CAST(occurred_at + INTERVAL 8 HOUR + INTERVAL {grace} MINUTE AS DATE) > "
                   "CAST(occurred_at + INTERVAL 8 HOUR AS DATE) "
                   "THEN CAST(occurred_at + INTERVAL 8 HOUR AS DATE) + 1 ELSE bill_day END")


def _store(ws: Workspace, table: str, run_id: str, period, engine: str, config: Config, started, summary,
           splits: str) -> None:
    """Replace the period's stored results: outcomes, the channels' shares of the few outcomes whose records are on
    several channels (``outcome_splits``), the run."""
    con = ws.con
    cols = ", ".join(STORED_COLUMNS)
    values = ", ".join(REASON_SQL if c == "reason" else _JUDGED_DAY_SQL.format(
        grace=int(config.match.cross_day_grace_minutes)) if c == "bill_day" else c for c in STORED_COLUMNS)
    with transaction(con):
        con.execute("DELETE FROM outcomes WHERE period_from = ? AND period_to = ?", [period[0], period[1]])
        con.execute(f"INSERT INTO outcomes (run_id, period_from, period_to, {cols}) "
                    f"SELECT ?, ?, ?, {values} FROM {table}", [run_id, period[0], period[1]])
        con.execute("DELETE FROM outcome_splits WHERE period_from = ? AND period_to = ?", [period[0], period[1]])
        con.execute(f"INSERT INTO outcome_splits (run_id, period_from, period_to, outcome_id, channel, merchant_id, "
                    f"{', '.join(SHARE_COLUMNS)}) SELECT ?, ?, ?, outcome_id, channel, merchant_id, "
                    f"{', '.join(SHARE_COLUMNS)} "
                    f"FROM ({splits})", [run_id, period[0], period[1]])
        con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, now(), ?, ?, ?, ?, ?, ?)",
                    [run_id, started, period[0], period[1], engine, None,
                     hashlib.sha256(config.model_dump_json().encode()).hexdigest(),
                     json.dumps(summary, ensure_ascii=False, default=str)])
