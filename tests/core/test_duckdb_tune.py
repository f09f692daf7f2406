"""duckdb_backend.tune: the engine's settings on a connection leave a caller's own in place."""

import duckdb

from paymatch.backends.duckdb_backend import DISABLED_OPTIMIZERS, tune


def _off(con) -> list[str]:
    return con.execute("SELECT current_setting('disabled_optimizers')").fetchall()[0][0].split(",")


def test_tune_adds_to_the_optimizers_a_caller_turned_off_and_is_idempotent():
    known = {r[0] for r in duckdb.connect().execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    ours = [o for o in DISABLED_OPTIMIZERS if o in known]
    assert ours, "this DuckDB knows none of the optimizers tune turns off: the test says nothing"
    con = duckdb.connect()
    con.execute("SET disabled_optimizers='late_materialization'")
    tune(con)
    assert _off(con) == ["late_materialization", *ours]
    tune(con)  # (the engine runs twice on one connection: a range's days)
    assert _off(con) == ["late_materialization", *ours]
    fresh = duckdb.connect()
    tune(fresh)
    assert _off(fresh) == ours
