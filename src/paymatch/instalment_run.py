"""Per-period instalment reconciliation inside a run (``reconcile --instalments flows.csv``).

Orders on per-period channels (周期扣款: WeChat Pay Score, Alipay pay-later …) with instalments are
reconciled through their plan: the main engine leaves them out and ``instalments.match`` produces
one outcome per plan period / flow row (kind instalment_*, with period_no, due_date, plan_status).
Up-front instalment channels (Huabei, Baitiao, card instalments) stay with the main engine.

The flows path may be the canonical flow CSV or any file/folder of flow exports a
``target: instalment_flows`` profile recognises (``instalments.flows.load_flows``); shops add
their own flow profiles with ``[instalments] flow_profile_dirs = ["folder", ...]``.

In a workspace the flows are stored (``Workspace.ingest_flows``: one batch per file, provenance, idempotent) and a
workspace run matches every stored plan against every stored flow up to its as-of day (``stored_flows_sql``), so
a day's run given only that day's deduction export keeps the periods earlier files brought (helper-52).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import narwhals as nw
import pyarrow as pa

from .config import Config
from .instalments.config import DEFAULT_CONFIG, InstalmentConfig
from .errors import ConfigError
from .instalments.flows import FLOW_ARROW, copy_no_sql, read_flow_files, same_flow_sql
from .instalments.match import match_instalments, owned_orders_expr


def instalment_config(config: Config) -> InstalmentConfig:
    """The ``[instalments]`` section as an InstalmentConfig (the module defaults when absent)."""
    return InstalmentConfig.from_mapping(config.instalments) if config.instalments else DEFAULT_CONFIG


def owned(config: Config) -> nw.Expr:
    """Orders the main payment match must leave to the instalment matcher."""
    return owned_orders_expr(instalment_config(config))


def flow_profile_dirs(config: Config) -> list[Path]:
    """Extra flow-profile folders from ``[instalments] flow_profile_dirs`` (a list of paths)."""
    dirs = (config.instalments or {}).get("flow_profile_dirs", [])
    if isinstance(dirs, str) or not isinstance(dirs, list):
        raise ConfigError("instalments.flow_profile_dirs must be a list of folders")
    return [Path(d) for d in dirs]


def add_outcomes(con: duckdb.DuckDBPyConnection, orders_sql: str, flows: Path | list | pa.Table | str, config: Config,
                 as_of: dt.date | None, table: str, *, engine: str = "duckdb",
                 spark_master: str | None = None, notes: list[str] | None = None,
                 refunds_sql: str | None = None) -> dict:
    """Match the flows against the plans of the run's orders; append the outcomes to ``table``.

    ``flows``: a path or a list of paths (the canonical flow CSV, or a file/folder of flow exports, see module
    docstring), the flows
    read already (``FLOW_ARROW``, one table per file), or SQL over ``con`` giving its columns (a workspace's stored
    flows: ``stored_flows_sql``). A row a later file lists again with the same values is read once
    (``combine_flows``; said in ``notes``).
    ``engine``: where the (Narwhals) matching runs, like the payment match: DuckDB, or Spark.
    ``refunds_sql``: SQL (merchant_id, order_no, created_at naive UTC) of the refunds that date a refunded order's
    end (``backends.scope.instalment_refunds``); None: no refund dates any.

    Returns the instalment control totals (owned orders and flow rows in vs. in outcomes).
    """
    if isinstance(flows, str):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_flows AS {flows}").fetchall()
    else:
        if isinstance(flows, pa.Table):
            flows = [flows]
        elif not isinstance(flows, list) or not all(isinstance(f, pa.Table) for f in flows):
            flows = [f.table for f in read_flows(flows, config)]
        again = combine_flows(con, flows, tuple(config.match.key_scope))
        if again and notes is not None:
            notes.append(f"{again:,} instalment flow row(s) listed again with the same values by a later file: "
                         "counted once, as a workspace stores them")
    icfg = instalment_config(config)
    rules = {"key_scope": tuple(config.match.key_scope), "settle_channel": dict(config.methods.settle_channel)}
    # a refund's instant as the flows carry theirs (naive UTC to Spark, with its zone in DuckDB) and its local day,
    # the day the service ended (compared with due dates)
    def refund_rows(zoned: bool) -> str | None:
        if refunds_sql is None:
            return None
        at = "timezone('UTC', created_at)" if zoned else "created_at"
        return (f"SELECT merchant_id, order_no, {at} AS created_at, "
                f"CAST(timezone('{config.timezone}', timezone('UTC', created_at)) AS DATE) AS end_day "
                f"FROM ({refunds_sql})")

    if engine == "spark":
        from .backends.spark_backend import on_spark

        # times cross as naive UTC, as every selection handed to an engine does, and come back with their zone
        naive = "SELECT * REPLACE (make_timestamp(epoch_us(occurred_at)) AS occurred_at) FROM _pm_flows"
        frames = {"orders": orders_sql, "flows": naive, **({"refunds": refund_rows(False)} if refunds_sql else {})}
        out = on_spark(con, frames,
                       lambda f: match_instalments(f["orders"], f["flows"], icfg, as_of, refunds=f.get("refunds"),
                                                   **rules), "_pm_spark_inst",
                       master=spark_master).project("* REPLACE (timezone('UTC', occurred_at) AS occurred_at)")
    else:
        orders = nw.from_native(con.sql(orders_sql))
        refunds = nw.from_native(con.sql(refund_rows(True))) if refunds_sql else None
        out = match_instalments(orders, nw.from_native(con.table("_pm_flows")), icfg, as_of, refunds=refunds,
                                **rules).to_native()
    con.register("_pm_inst_in", out)
    try:
        con.execute("""
        INSERT INTO {t} (outcome_id, kind, channel, merchant_id, store_id, order_no, refund_no, channel_tx_id,
            order_amount_fen, channel_amount_fen, difference_fen, fee_fen, order_status, channel_status,
            order_rows, channel_rows, order_total_fen, channel_total_fen, order_channel, occurred_at,
            period_no, due_date, plan_status, reason_text)
        SELECT outcome_id, kind, channel, merchant_id, store_id, order_no, refund_no, channel_tx_id,
            order_amount_fen, channel_amount_fen, difference_fen, fee_fen, order_status, channel_status,
            order_rows, channel_rows, coalesce(order_amount_fen, 0) * order_rows,
            coalesce(channel_amount_fen, 0) * channel_rows, order_channel, timezone('UTC', occurred_at),
            period_no, due_date, plan_status, reason
        FROM _pm_inst_in""".format(t=table)).fetchall()
    finally:
        con.unregister("_pm_inst_in")
    owned_in = nw.from_native(con.sql(orders_sql)).filter(owned_orders_expr(icfg)).select(
        nw.len().alias("n"), nw.col("amount_fen").sum().alias("s")).to_native().fetchall()[0]
    flows_in = con.execute("SELECT count(*), coalesce(sum(amount_fen), 0) FROM _pm_flows").fetchall()[0]
    got = con.execute(
        # an order is its merchant number and order number (under key_scope one number may be two orders)
        f"SELECT count(DISTINCT (merchant_id, order_no)) FILTER (WHERE order_rows > 0), "
        f"coalesce(sum(order_total_fen), 0), coalesce(sum(channel_rows), 0), coalesce(sum(channel_total_fen), 0) "
        f"FROM {table} "
        f"WHERE starts_with(outcome_id, 'I-')").fetchall()[0]
    return {
        "instalment_orders": {"input_rows": int(owned_in[0]), "input_fen": int(owned_in[1] or 0),
                              "outcome_rows": int(got[0]), "outcome_fen": int(got[1])},
        "instalment_flows": {"input_rows": int(flows_in[0]), "input_fen": int(flows_in[1]),
                             "outcome_rows": int(got[2]), "outcome_fen": int(got[3])},
    }


def combine_flows(con: duckdb.DuckDBPyConnection, files: list[pa.Table], key_scope: tuple[str, ...] = ()) -> int:
    """The files' flows as the temp table ``_pm_flows``; returns how many rows were left out as listed again.

    Overlapping exports (October's, then October and November's) list one deduction twice: a row that an earlier
    file lists with the same values is that row, read once, as a workspace stores it (``Workspace.ingest_flows``),
    so a file run and a workspace run over the same files agree; before, the file run said instalment_duplicate.
    A file's own rows all stay (a period one export lists twice is a double charge, also when an earlier export
    listed it once: only as many copies as an earlier file lists are read again). Under key_scope a row naming
    no merchant number gives way to an equal one naming it, whichever file comes first."""
    names = []
    try:
        for i, t in enumerate(files):
            names.append(f"_pm_flows_in{i}")
            con.register(names[-1], t)
        if len(files) == 1:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_flows AS SELECT * FROM {names[0]}").fetchall()
            return 0
        cols = ", ".join(FLOW_ARROW.names)
        every = " UNION ALL ".join(f"SELECT {cols}, {i} AS _pm_file FROM {n}" for i, n in enumerate(names))
        copy_no = copy_no_sql("merchant_id" in key_scope, within=("_pm_file",))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _pm_flows_all AS SELECT *, {copy_no} AS _pm_copy FROM ({every})"
                    ).fetchall()
    finally:
        for n in names:
            con.unregister(n)
    scoped = "merchant_id" in key_scope
    later_unnamed = ""
    if scoped:
        later_unnamed = (f" OR (r.merchant_id IS NULL AND EXISTS (SELECT 1 FROM _pm_flows_all s WHERE s._pm_file > "
                         f"r._pm_file AND s.merchant_id IS NOT NULL AND {same_flow_sql('s', 'r', False)}))")
    # a row is read again when an earlier file lists it at least as often (its n-th copy is their n-th: a workspace
    # storing the files one by one keeps, of each row, as many copies as the file listing it most often)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pm_flows AS SELECT {cols} FROM _pm_flows_all r
        WHERE NOT (r._pm_copy <= (SELECT coalesce(max(n), 0) FROM (
                       SELECT count(*) AS n FROM _pm_flows_all s
                       WHERE s._pm_file < r._pm_file AND {same_flow_sql('s', 'r', scoped)} GROUP BY s._pm_file))
                   {later_unnamed})""").fetchall()
    try:
        return con.execute("SELECT (SELECT count(*) FROM _pm_flows_all) - (SELECT count(*) FROM _pm_flows)"
                           ).fetchall()[0][0]
    finally:
        con.execute("DROP TABLE _pm_flows_all")


def read_flows(path: Path | list[Path], config: Config, *, hashes: bool = False):
    """The flow files under ``path`` (``instalments.flows.read_flow_files``, the config's flow profiles first).

    Several paths (``reconcile --instalments a.csv --instalments b.csv``) are read in the order given, every one
    before any is used (a bad file in any: nothing of them); before, the option kept only the last path given and
    the other exports' deductions were silently left out, their periods reported missing."""
    if isinstance(path, (str, Path)):
        return read_flow_files(path, flow_profile_dirs(config), hashes=hashes)
    return [f for p in path for f in read_flow_files(p, flow_profile_dirs(config), hashes=hashes)]


def stored_flows_sql(config: Config, as_of: dt.date) -> str:
    """SQL: a workspace's stored flows (``FLOW_ARROW`` columns) that occurred by the end of ``as_of`` (the config's
    zone). A workspace run checks every stored plan, so it reads every flow stored, whichever file or day brought
    it; a flow after the as-of day is left out, so a day reconciled again later sees what it saw (a period paid
    the day after is not yet due, not paid)."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(0), tzinfo=ZoneInfo(config.timezone))
    return (f"SELECT {', '.join(FLOW_ARROW.names)} FROM instalment_flows "
            f"WHERE occurred_at < TIMESTAMPTZ '{end.isoformat()}'")
