"""DuckDB backend: the selections become DuckDB relations, wrapped as Narwhals lazy frames."""

from __future__ import annotations

import itertools
import os

import duckdb
import narwhals as nw

from ..engine import MatchParams, reconcile
from ..engine.frames import Inputs
from .scope import Selections


def run(con: duckdb.DuckDBPyConnection, sel: Selections, params: MatchParams, *,
        leave_out: nw.Expr | None = None) -> duckdb.DuckDBPyRelation:
    """Reconcile in-process; returns the (lazy) DuckDB relation of the engine's outcomes."""
    orders = nw.from_native(con.sql(sel.orders))
    if leave_out is not None:
        orders = orders.filter(~leave_out.fill_null(False))
    inputs = Inputs(
        orders=orders,
        refunds=nw.from_native(con.sql(sel.refunds)),
        txs=nw.from_native(con.sql(sel.txs)),
        order_dims=nw.from_native(con.sql(sel.order_dims)),
        records_unique=sel.records_unique,
    )
    if os.environ.get("PAYMATCH_NO_PERSIST"):  # A/B switch for bench/ only
        return reconcile(inputs, params).to_native()
    made = itertools.count()
    return reconcile(inputs, params, persist=lambda lf: _temp_table(con, lf, f"_pm_persist_{next(made)}")).to_native()


def _temp_table(con: duckdb.DuckDBPyConnection, lf: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """Materialise a (small) frame that several engine steps read, so DuckDB computes it once."""
    con.register("_pm_persist_in", lf.to_native())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _pm_persist_in").fetchall()
    finally:
        con.unregister("_pm_persist_in")
    return nw.from_native(con.table(name))
