"""Backends connect, read, collect and write; the matching logic lives only in ``paymatch.engine``.

Every backend takes the same four SQL selections over the workspace (see ``scope``) and returns
the engine's outcomes as a DuckDB relation for the edge (reasons, CSV, workspace).
"""

from __future__ import annotations

from ..errors import PaymatchError

ENGINES = ("duckdb", "spark")


def run_engine(engine: str, con, selections, params, *, spark_master: str | None = None, leave_out=None):
    """Run the engine on ``engine`` over ``selections`` (a ``scope.Selections``); returns a DuckDB relation.

    ``leave_out``: a Narwhals predicate on orders that another matcher owns (per-period instalments).
    """
    if engine == "duckdb":
        from .duckdb_backend import run

        return run(con, selections, params, leave_out=leave_out)
    if engine == "spark":
        from .spark_backend import run

        return run(con, selections, params, master=spark_master, leave_out=leave_out)
    raise PaymatchError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
