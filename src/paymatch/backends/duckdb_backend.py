"""DuckDB backend: the selections become DuckDB relations, wrapped as Narwhals lazy frames."""

from __future__ import annotations

import itertools
import os

import duckdb
import narwhals as nw
import pyarrow as pa

from ..engine import MatchParams, reconcile
from ..engine.frames import Inputs
from ..engine.ops import Ops
from ..sources.repeats import repeated_hashes
from .scope import Selections


#: DuckDB optimizers the engine's queries run without. ``projection_pullup`` spent 1.35 s of a 2.0 s query on
#: ten rows (the engine's plan is thousands of nodes deep; its time grows with the plan, not the data) and
#: changed nothing measurable on the demo's 555k records (the same outcomes, the same time); see bench/RESULTS.md
DISABLED_OPTIMIZERS = ("projection_pullup",)


def tune(con: duckdb.DuckDBPyConnection) -> None:
    """Settings for the engine's queries on ``con`` (from ``run`` on; a file's load before it keeps DuckDB's defaults)."""
    known = {r[0] for r in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    # added to what the connection has turned off already (a caller's own choice stays)
    now = con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0] or ""
    have = [o.strip() for o in now.split(",") if o.strip()]
    off = [o for o in DISABLED_OPTIMIZERS if o in known and o not in have]  # a DuckDB without it: nothing to do
    if off:
        con.execute(f"SET disabled_optimizers='{','.join([*have, *off])}'")


def run(con: duckdb.DuckDBPyConnection, sel: Selections, params: MatchParams, *,
        leave_out: nw.Expr | None = None) -> duckdb.DuckDBPyRelation:
    """Reconcile in-process; returns the (lazy) DuckDB relation of the engine's outcomes (``con`` is ``tune``d: the
    loads before it are not, the writing of the outcomes after it is)."""
    tune(con)
    orders = nw.from_native(con.sql(sel.orders))
    if leave_out is not None:
        orders = orders.filter(~leave_out.fill_null(False))
    inputs = Inputs(
        orders=orders,
        refunds=nw.from_native(con.sql(sel.refunds)),
        txs=nw.from_native(con.sql(sel.txs)),
        order_dims=nw.from_native(con.sql(sel.order_dims)),
        records_unique=sel.records_unique,
        refund_history=nw.from_native(con.sql(sel.refund_history)) if sel.refund_history else None,
        merchants=nw.from_native(con.sql(sel.merchants)) if sel.merchants else None,
        wildcard_orders=nw.from_native(con.sql(sel.wildcard_orders)) if sel.wildcard_orders else None,
    )
    if os.environ.get("PAYMATCH_NO_PERSIST"):  # A/B switch for bench/ only
        return reconcile(inputs, params).to_native()
    made = itertools.count()
    ops = Ops(persist=lambda lf: temp_table(con, lf, f"_pm_persist_{next(made)}"),
              repeated=lambda lf, col: _repeated(con, lf, col, f"_pm_hashes_{next(made)}"),
              # asked of a persisted (temp) table: one row read at most
              empty=lambda lf: not lf.to_native().limit(1).fetchall())
    return reconcile(inputs, params, ops).to_native()


def _repeated(con: duckdb.DuckDBPyConnection, lf: nw.LazyFrame, col: str, name: str) -> nw.LazyFrame:
    """The values of ``col`` that occur more than once (``engine.ops``), without a hash table over every value.

    A count per value is a hash aggregate over ~every row (10M groups at 10M records). Instead the few
    hashes that repeat are found by sorting (``sources.repeats``) and only the rows that carry one of
    them are counted exactly (a hash collision only adds rows to that count, which sorts them out).
    """
    rel = lf.to_native()
    rep = repeated_hashes(rel, [col])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} (h UBIGINT)")
    if len(rep):
        con.register("_pm_hashes_in", pa.table({"h": pa.array(rep, pa.uint64())}))
        try:
            con.execute(f"INSERT INTO {name} SELECT h FROM _pm_hashes_in")
        finally:
            con.unregister("_pm_hashes_in")
    few = rel.filter(f"hash({col}) IN (SELECT h FROM {name})")
    return nw.from_native(few.aggregate(f"{col}, count(*) AS _pm_n", col).filter("_pm_n > 1").project(col))


def temp_table(con: duckdb.DuckDBPyConnection, lf: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """Materialise a (small) frame that several steps read into temp table ``name``, so DuckDB computes it once."""
    con.register("_pm_persist_in", lf.to_native())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _pm_persist_in").fetchall()
    finally:
        con.unregister("_pm_persist_in")
    return nw.from_native(con.table(name))
