"""Whether any value repeats among millions of rows, cheaply.

A load checks that order numbers are unique and whether any channel record is listed twice. Both
questions are asked of 64-bit hashes: equal values have equal hashes, so when no hash repeats, no
value does (exact); a repeated hash means a repeat or, very rarely, a collision, and the caller then
takes its careful path. The hashes are sorted with NumPy (a vectorised sort, about a fifth of the
CPU time of a DuckDB hash aggregate over ten million distinct groups) and neighbours compared.
"""

from __future__ import annotations

import duckdb
import numpy as np


def hashes_repeat(con: duckdb.DuckDBPyConnection, exprs: list[str], source: str) -> bool:
    """True when two rows of ``source`` (a table name or a parenthesised query) may share the values
    of the SQL expressions ``exprs``; False means no two rows do."""
    h = con.execute(f"SELECT hash({', '.join(exprs)}) AS h FROM {source}").fetchnumpy()["h"]
    if len(h) < 2:
        return False
    h = np.asarray(h)
    h.sort()
    return bool((h[1:] == h[:-1]).any())
