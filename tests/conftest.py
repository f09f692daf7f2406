"""Shared fixtures: small generated data sets, a Spark session (skipped without Java), the shared/ fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the project root; tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not beside the project")
    return SHARED


@pytest.fixture(scope="session")
def demo_small(tmp_path_factory) -> "object":
    """A small generated chain (12 stores × 2 days × 150 orders) with ground truth."""
    from paymatch.demo import generate

    return generate(tmp_path_factory.mktemp("demo") / "data", stores=12, days=2, per_store_day=150)


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession shared by the Spark-marked tests."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    pytest.importorskip("pyspark")
    from paymatch.backends.spark_backend import session

    os.environ.setdefault("PAYMATCH_SPARK_PARTITIONS", "4")
    return session("local[2]")


def pytest_collection_modifyitems(config, items):
    """The Spark group first: it runs on one xdist worker, one test after another (one JVM); handed out first, the
    other worker takes the rest meanwhile instead of waiting for it at the end."""
    def spark_group(item) -> bool:
        return any(m.args[:1] == ("spark",) for m in item.iter_markers("xdist_group"))

    items.sort(key=lambda item: not spark_group(item))  # (stable: the order within each part is kept)
