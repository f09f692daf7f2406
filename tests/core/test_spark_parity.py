"""The same inputs give identical outcomes on DuckDB and on Spark (local mode)."""

import csv

import pytest

from paymatch.run import reconcile_files

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _rows(path):
    with open(path, encoding="utf-8") as f:
        return sorted(tuple(r.items()) for r in csv.DictReader(f))


def test_duckdb_and_spark_agree(demo_small, spark, tmp_path):
    from paymatch.config import load_config

    rules = load_config(demo_small.rules)  # the chain's contracted fee rates: fee_mismatch on both engines
    a = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "duck",
                        config=rules)
    b = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "spark",
                        engine="spark", config=rules)
    assert _rows(a.outcomes_csv) == _rows(b.outcomes_csv)
    assert any(dict(r)["kind"] == "fee_mismatch" for r in _rows(b.outcomes_csv))
    assert any(dict(r)["kind"] == "over_refund" for r in _rows(b.outcomes_csv))  # the refund history on Spark too
    assert a.summary["by_kind"] == b.summary["by_kind"]
    assert b.summary["conservation"] is True


def test_instalment_periods_agree_on_spark(spark, tmp_path):
    # the per-period instalment match runs on the chosen engine too (its own Narwhals code, not the payment match)
    import datetime as dt

    from tests.core.test_instalments_cli import FLOWS, ORDERS, TXS

    # E1 paid 02:00 Asia/Shanghai (the previous day in UTC): its plan starts on the local day on both engines
    orders = ORDERS + "E1,S1,M1,wechat_payscore,300.00,paid,2026-09-10 02:00:00,2026-09-10 02:00:00,,,3\n"
    flows = FLOWS + "wechat_payscore,E1,1,3,100.00,0,success,2026-09-10 02:00:01\n"
    for name, text in (("orders.csv", orders), ("tx.csv", TXS), ("flows.csv", flows)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    runs = [reconcile_files(tmp_path / "orders.csv", None, [tmp_path / "tx.csv"], tmp_path / engine, engine=engine,
                            instalments=tmp_path / "flows.csv", as_of=dt.date(2026, 11, 20))
            for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    assert sum(1 for r in a if dict(r)["kind"].startswith("instalment_")) >= 5
    assert runs[1].summary["conservation"] is True
    assert ("due_date", "2026-09-10") in next(r for r in b if dict(r)["outcome_id"] == "I-E1-1")


def test_key_scope_instalment_flows_with_merchant_numbers_agree_on_spark(spark, tmp_path):
    # one order number under two merchant numbers; flows naming their merchant number, one naming none (ambiguous)
    import datetime as dt

    from paymatch.config import load_config

    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
    (tmp_path / "orders.csv").write_text(
        head + "K1,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,,3\n"
        "K1,S2,M2,wechat_payscore,600.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U2,,3\n", encoding="utf-8")
    (tmp_path / "tx.csv").write_text("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,"
                                     "amount,fee,settle_amount,status,occurred_at,bill_date,method\n", encoding="utf-8")
    (tmp_path / "flows.csv").write_text(
        "channel,order_no,period_no,periods,amount,fee,status,occurred_at,merchant_id\n"
        "wechat_payscore,K1,1,3,100.00,0,success,2026-11-01 10:00:00,M1\n"
        "wechat_payscore,K1,1,3,200.00,0,success,2026-11-01 10:00:00,M2\n"
        "wechat_payscore,K1,2,3,100.00,0,success,2026-11-15 10:00:00,\n", encoding="utf-8")
    rules = load_config(tmp_path / "rules.toml")
    runs = [reconcile_files(tmp_path / "orders.csv", None, [tmp_path / "tx.csv"], tmp_path / engine, engine=engine,
                            config=rules, instalments=tmp_path / "flows.csv", as_of=dt.date(2026, 11, 20))
            for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    kinds = {dict(r)["outcome_id"]: dict(r)["kind"] for r in b}
    assert kinds["I-M1/K1-1"] == kinds["I-M2/K1-1"] == "instalment_matched"
    assert kinds["I-?/K1-2"] == "instalment_unexpected"
    assert runs[1].summary["conservation"] is True


def test_golden_cases_agree_on_spark(spark, tmp_path):
    """The hand-written golden days (number-less refunds paired in time order, merchant numbers, …) on both engines."""
    from pathlib import Path

    golden = Path(__file__).parent / "golden"
    for case in sorted(d for d in golden.iterdir() if (d / "transactions.csv").is_file()):
        refunds = case / "refunds.csv" if (case / "refunds.csv").is_file() else None
        runs = [reconcile_files(case / "orders.csv", refunds, [case / "transactions.csv"], tmp_path / case.name / e,
                                engine=e) for e in ("duckdb", "spark")]
        assert _rows(runs[0].outcomes_csv) == _rows(runs[1].outcomes_csv), case.name


def test_key_scope_orders_naming_no_merchant_number_agree_on_spark(spark, tmp_path):
    # an order naming no merchant number: matched by its number at the one merchant number carrying it, or ambiguous
    # (two carry it), or its own payment naming none; DuckDB skips the step when no order lacks its merchant number
    # (``Ops.empty``), Spark always runs it: both ways must agree
    from paymatch.config import load_config
    from tests.core.test_key_scope_orders import ORDERS, TXS

    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    rules = load_config(tmp_path / "rules.toml")
    for name, orders in (("wild", ORDERS), ("named", ORDERS.replace("S001,,", "S001,1900000009,"))):
        (tmp_path / f"{name}.csv").write_text(orders, encoding="utf-8")
        (tmp_path / "tx.csv").write_text(TXS, encoding="utf-8")
        runs = [reconcile_files(tmp_path / f"{name}.csv", None, [tmp_path / "tx.csv"], tmp_path / name / engine,
                                engine=engine, config=rules) for engine in ("duckdb", "spark")]
        a, b = (_rows(r.outcomes_csv) for r in runs)
        assert a == b, name
        assert runs[1].summary["conservation"] is True
        kinds = {dict(r)["outcome_id"]: dict(r)["kind"] for r in b}
        if name == "wild":
            assert kinds["P-/KNM"] == kinds["P-/KNN"] == kinds["P-/KOW"] == "matched"
            assert kinds["P-/KAM"] == "order_only"
        else:
            assert kinds["P-1900000009/KNM"] == "order_only"
    # a workspace day run hands the run's orders naming no merchant number over as a selection of their own
    import datetime as dt

    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    day = dt.date(2026, 11, 20)
    (tmp_path / "tx.csv").write_text(TXS, encoding="utf-8")
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest_csv("orders", tmp_path / "wild.csv", key_scope=("merchant_id",))
        ws.ingest_csv("transactions", tmp_path / "tx.csv")
    runs = [reconcile_workspace(tmp_path / "w.duckdb", day, day, tmp_path / "ws" / engine, config=rules, engine=engine)
            for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    assert {dict(r)["outcome_id"]: dict(r)["kind"] for r in b}["P-/KNN"] == "matched"
