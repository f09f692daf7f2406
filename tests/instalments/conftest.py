"""Instalment test fixtures: a local Spark session for the parity test."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark_local():
    """SparkSession local[1], UTC session zone, 2 shuffle partitions; skipped without Java/PySpark.

    One JVM serves the whole pytest process: if another test already started a session,
    getOrCreate returns it, and the runtime settings below are applied to it.
    """
    if shutil.which("java") is None:
        pytest.skip("Java is not installed")
    pyspark_sql = pytest.importorskip("pyspark.sql")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("paymatch-instalments-test")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    return spark
