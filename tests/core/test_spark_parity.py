"""The same inputs give identical outcomes on DuckDB and on Spark (local mode)."""

import csv

import pytest

from paymatch.run import reconcile_files

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _rows(path):
    with open(path, encoding="utf-8") as f:
        return sorted(tuple(r.items()) for r in csv.DictReader(f))


def test_duckdb_and_spark_agree(demo_small, spark, tmp_path):
    a = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "duck")
    b = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "spark",
                        engine="spark")
    assert _rows(a.outcomes_csv) == _rows(b.outcomes_csv)
    assert a.summary["by_kind"] == b.summary["by_kind"]
    assert b.summary["conservation"] is True
