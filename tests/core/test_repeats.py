"""sources.repeats: the cheap "does any value repeat" test the loaders rely on."""

import duckdb
import pytest

from paymatch.sources.repeats import hashes_repeat


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE t AS SELECT 'SO' || i::VARCHAR AS a, (i % 7)::VARCHAR AS b FROM range(200000) r(i)")
    return c


def test_unique_values_do_not_repeat(con):
    assert hashes_repeat(con, ["a"], "t") is False
    assert hashes_repeat(con, ["a", "b"], "t") is False


def test_a_single_repeat_among_many_is_found(con):
    con.execute("INSERT INTO t VALUES ('SO123456', 'x')")
    assert hashes_repeat(con, ["a"], "t") is True
    assert hashes_repeat(con, ["a", "b"], "t") is False  # (a, b) pairs still differ
    assert hashes_repeat(con, ["b"], "t") is True


def test_small_and_empty_sources(con):
    assert hashes_repeat(con, ["a"], "(SELECT * FROM t LIMIT 0)") is False
    assert hashes_repeat(con, ["a"], "(SELECT * FROM t LIMIT 1)") is False
    assert hashes_repeat(con, ["a"], "(SELECT 'x' AS a UNION ALL SELECT 'x')") is True


def test_duckdb_repeated_keys_equal_the_plain_count(con):
    """The DuckDB backend's ``repeated`` shortcut returns what the engine's default (a count per value) does."""
    import narwhals as nw

    from paymatch.backends.duckdb_backend import _repeated
    from paymatch.engine.ops import repeated_by_count

    con.execute("INSERT INTO t SELECT 'SO' || (i * 997)::VARCHAR, 'y' FROM range(40) r(i)")  # 40 repeats
    con.execute("INSERT INTO t SELECT 'SO5', 'z' FROM range(3)")  # one value four times
    lf = nw.from_native(con.table("t"))
    got = sorted(r[0] for r in _repeated(con, lf, "a", "_pm_h1").to_native().fetchall())
    want = sorted(r[0] for r in repeated_by_count(lf, "a").to_native().fetchall())
    assert got == want and len(want) == 41
    assert _repeated(con, nw.from_native(con.sql("SELECT * FROM t WHERE b = 'x'")), "a", "_pm_h2").to_native().fetchall() == []
