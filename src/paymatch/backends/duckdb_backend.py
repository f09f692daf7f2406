"""DuckDB backend: the selections become DuckDB relations, wrapped as Narwhals lazy frames."""

from __future__ import annotations

import duckdb
import narwhals as nw

from ..engine import MatchParams, reconcile
from ..engine.frames import Inputs
from .scope import Selections


def run(con: duckdb.DuckDBPyConnection, sel: Selections, params: MatchParams) -> duckdb.DuckDBPyRelation:
    """Reconcile in-process; returns the (lazy) DuckDB relation of the engine's outcomes."""
    inputs = Inputs(
        orders=nw.from_native(con.sql(sel.orders)),
        refunds=nw.from_native(con.sql(sel.refunds)),
        txs=nw.from_native(con.sql(sel.txs)),
        order_dims=nw.from_native(con.sql(sel.order_dims)),
    )
    return reconcile(inputs, params).to_native()
