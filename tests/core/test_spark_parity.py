"""The same inputs give identical outcomes on DuckDB and on Spark (local mode)."""

import csv
from pathlib import Path

import pytest

from paymatch.run import reconcile_files

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


def _rows(path):
    with open(path, encoding="utf-8") as f:
        return sorted(tuple(r.items()) for r in csv.DictReader(f))


def _agreed_kinds(tmp_path, refunds=None, **kw) -> dict[str, str]:
    """tmp_path's orders.csv and tx.csv (and ``refunds``) reconciled on DuckDB and on Spark: the outcomes must be the
    same row for row; outcome_id -> kind (Spark's), with the control totals tied out."""
    runs = [reconcile_files(tmp_path / "orders.csv", refunds, [tmp_path / "tx.csv"], tmp_path / engine, engine=engine,
                            **kw) for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    assert runs[1].summary["conservation"] is True
    return {dict(r)["outcome_id"]: dict(r)["kind"] for r in b}


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


def test_refunded_instalment_plans_agree_on_spark(spark, tmp_path):
    # a refund ends a refunded order's plan on either engine (its instant crosses as naive UTC like the flows')
    import datetime as dt

    from tests.instalments.test_refunds import FLOWS, ORDERS, REFUNDS, TXS

    for name, text in (("orders.csv", ORDERS), ("refunds.csv", REFUNDS), ("tx.csv", TXS), ("flows.csv", FLOWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    kinds = _agreed_kinds(tmp_path, tmp_path / "refunds.csv", instalments=tmp_path / "flows.csv",
                          as_of=dt.date(2026, 11, 20))
    assert (kinds["I-P1-2"], kinds["I-P1-3"]) == ("instalment_after_refund", "instalment_ended")


def test_flows_on_one_file_line_twice_agree_on_spark(spark, tmp_path):
    # an export downloaded again under its name with a row changed: both rows stored; the deduction's time tells the
    # period's flow from its duplicate on either engine (``instalments.match._flow_side``)
    import datetime as dt
    import shutil

    from paymatch.instalments.flows import read_flow_files
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace
    from tests.instalments.helpers import FLOW_HEADER, PAYSCORE_ORDER_CSV

    (tmp_path / "orders.csv").write_text(PAYSCORE_ORDER_CSV, encoding="utf-8")
    flows = tmp_path / "flows.csv"
    w = tmp_path / "duckdb.duckdb"
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
        for at in ("2026-09-10 13:00:00", "2026-09-10 10:00:00"):
            flows.write_text(FLOW_HEADER + f"wechat_payscore,P1,1,3,100.00,0,success,{at}\n", encoding="utf-8")
            for f in read_flow_files(flows, hashes=True):
                ws.ingest_flows(f)
    shutil.copy(w, tmp_path / "spark.duckdb")
    runs = [reconcile_workspace(tmp_path / f"{engine}.duckdb", dt.date(2026, 9, 30), dt.date(2026, 9, 30),
                                tmp_path / engine, engine=engine, as_of=dt.date(2026, 9, 30))
            for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    got = {dict(r)["outcome_id"]: (dict(r)["kind"], dict(r)["occurred_at"]) for r in b if dict(r)["period_no"] == "1"}
    assert got == {"I-P1-1": ("instalment_matched", "2026-09-10T10:00:00+08:00"),
                   "I-P1-1#2": ("instalment_duplicate", "2026-09-10T13:00:00+08:00")}
    assert runs[1].summary["conservation"] is True


def test_a_huabei_orders_rate_for_records_naming_only_alipay_agrees_on_spark(spark, tmp_path):
    # a 业务明细 row that does not say 花呗 is a plain alipay record: its huabei order picks the 0.8 % rate on both
    # engines (``payments._via_methods``), an alipay order keeps the 0.6 %
    from paymatch.config import load_config

    (tmp_path / "rules.toml").write_text(
        '[fees]\n[[fees.rates]]\nchannel = "alipay"\nrate = "0.6%"\n'
        '[[fees.rates]]\nchannel = "alipay"\nmethod = "huabei"\nrate = "0.8%"\n', encoding="utf-8")
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
    (tmp_path / "orders.csv").write_text(head + "".join(
        f"{no},S1,2088000000000011,{m},100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n"
        for no, m in (("H1", "huabei"), ("H2", "huabei"), ("H3", "alipay"), ("H4", "alipay"), ("H5", "huabei"))),
        encoding="utf-8")
    (tmp_path / "tx.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,amount,fee,settle_amount,status,occurred_at,bill_date,method\n"
        + "".join(f"alipay,2088000000000011,T{no},{no},payment,100.00,{fee},100.00,{st},2026-11-20 10:00:06,"
                  f"2026-11-20,{m}\n" for no, fee, st, m in (
                      ("H1", "0.80", "success", ""), ("H2", "0.60", "success", "alipay"),
                      ("H3", "0.60", "success", ""), ("H4", "0.80", "success", "alipay"),
                      ("H5", "0.80", "success", "huabei"))),
        encoding="utf-8")
    rules = load_config(tmp_path / "rules.toml")
    kinds = _agreed_kinds(tmp_path, config=rules)
    assert kinds == {"P-H1": "matched", "P-H2": "fee_mismatch", "P-H3": "matched", "P-H4": "fee_mismatch",
                     "P-H5": "matched"}


@pytest.fixture
def shanghai_process_zone(monkeypatch):
    """The Python process set to Asia/Shanghai (a Chinese shop's server), put back afterwards."""
    import time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_cross_day_boundary_agrees_on_spark_in_a_shanghai_process(spark, shanghai_process_zone, tmp_path):
    # PySpark turned the engine's naive-UTC boundary literal into an instant by the process's local zone: with
    # TZ=Asia/Shanghai the pending_cross_day zone began 8 h early on Spark only (an order paid and a refund made at
    # 20:00 were pending_cross_day there, order_only / refund_order_only on DuckDB)
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        "A1,S1,M1,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00,,,\n"
        "L1,S1,M1,wechat,20.00,paid,2026-11-20 20:00:00,2026-11-20 20:00:00,,,\n"
        "Z1,S1,M1,wechat,30.00,paid,2026-11-20 23:58:00,2026-11-20 23:58:00,,,\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RL1,A1,1.00,2026-11-20 20:00:00,success\n", encoding="utf-8")
    (tmp_path / "tx.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
        "occurred_at,bill_date,method\nwechat,M1,T1,A1,payment,,,10.00,0,10.00,success,2026-11-20 10:00:05,2026-11-20,"
        "wechat\n", encoding="utf-8")
    kinds = _agreed_kinds(tmp_path, tmp_path / "refunds.csv")
    assert kinds == {"P-A1": "matched", "P-L1": "order_only", "P-Z1": "pending_cross_day",
                     "R-RL1": "refund_order_only"}


def test_a_spark_run_leaves_nothing_cached(spark, tmp_path):
    # the engine's persisted frames (``Ops.persist``: ``.cache()``) stayed cached after the run: a process running one
    # run after another ran out of driver memory for its broadcast joins
    golden = sorted(d for d in (Path(__file__).parent / "golden").iterdir() if (d / "transactions.csv").is_file())[0]
    spark.catalog.clearCache()
    refunds = golden / "refunds.csv" if (golden / "refunds.csv").is_file() else None
    reconcile_files(golden / "orders.csv", refunds, [golden / "transactions.csv"], tmp_path / "out", engine="spark")
    assert spark._jsparkSession.sharedState().cacheManager().isEmpty()


def test_a_refund_numbered_as_its_order_agrees_on_spark(spark, tmp_path):
    # records naming no refund number whose channel refund id is their order number (Alipay without out_request_no):
    # R1's shop refund is numbered R1 (= its order): one refund_amount_mismatch by number; R2's shop refund RF-2 is
    # paired by order and amount (``refunds._numbered_as_its_order``)
    head = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
    (tmp_path / "orders.csv").write_text(head + "".join(
        f"{no},S1,2088000000000011,alipay,100.00,refunded,2026-11-20 10:00:00,2026-11-20 10:00:05\n"
        for no in ("R1", "R2")), encoding="utf-8")
    (tmp_path / "refunds.csv").write_text(
        "refund_no,order_no,amount,created_at,status\nR1,R1,30.00,2026-11-20 11:00:00,success\n"
        "RF-2,R2,40.00,2026-11-20 11:00:00,success\n", encoding="utf-8")
    (tmp_path / "tx.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,amount,fee,settle_amount,status,occurred_at,bill_date,"
        "refund_no,channel_refund_id\n" + "".join(
            f"alipay,2088000000000011,T{no},{no},payment,100.00,0,100.00,success,2026-11-20 10:00:06,2026-11-20,,\n"
            f"alipay,2088000000000011,T{no},{no},refund,{amt},0,{amt},success,2026-11-20 11:00:06,2026-11-20,,{no}\n"
            for no, amt in (("R1", "30.01"), ("R2", "40.00"))), encoding="utf-8")
    kinds = _agreed_kinds(tmp_path, tmp_path / "refunds.csv")
    assert kinds == {"P-R1": "matched", "P-R2": "matched", "R-R1": "refund_amount_mismatch",
                     "R-RF-2": "refund_matched"}


def test_a_refund_listed_again_seconds_later_agrees_on_spark(spark, tmp_path):
    # WeChat's ALL and REFUND bills of one day print one refund (CR1) two seconds apart: one record on either engine;
    # a refund listed again with another amount (CR2) stays a duplicate_record on both
    tx = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at," \
         "bill_date\n"
    (tmp_path / "orders.csv").write_text("order_no,channel,amount,status,paid_at\n"
                                         "A1,wechat,50.00,paid,2026-11-18 09:00:00\n", encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF1,A1,20.00,2026-11-18 12:00:00,success\n"
                                          "RF2,A1,10.00,2026-11-18 13:00:00,success\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text(tx + "wechat,M1,T1,A1,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18\n"
                                    "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:00,2026-11-18\n"
                                    "wechat,M1,T1,A1,refund,RF2,CR2,10.00,0,success,2026-11-18 13:00:00,2026-11-18\n",
                                    encoding="utf-8")
    (tmp_path / "b.csv").write_text(tx
                                    + "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:02,2026-11-18\n"
                                    "wechat,M1,T1,A1,refund,RF2,CR2,12.00,0,success,2026-11-18 13:00:02,2026-11-18\n",
                                    encoding="utf-8")
    runs = [reconcile_files(tmp_path / "orders.csv", tmp_path / "refunds.csv", [tmp_path / "a.csv", tmp_path / "b.csv"],
                            tmp_path / engine, engine=engine) for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    assert runs[1].summary["conservation"] is True
    assert {dict(r)["outcome_id"]: dict(r)["kind"] for r in b} == {
        "P-A1": "matched", "R-RF1": "refund_matched", "R-RF2": "refund_matched", "D-wechat:T1:refund:CR2":
        "duplicate_record"}


def test_duplicate_listings_take_their_orders_store_on_spark(spark, tmp_path):
    # a record a bill lists twice is its order's store's, by order and merchant number under key_scope (helper-114)
    from paymatch.config import load_config
    from tests.core.test_duplicate_record_store import BILL, ORDERS, TX

    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(TX + BILL, encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    _agreed_kinds(tmp_path, config=load_config(tmp_path / "rules.toml"))
    with (tmp_path / "spark" / "outcomes.csv").open(encoding="utf-8") as f:
        stores = {r["outcome_id"]: r["store_id"] for r in csv.DictReader(f) if r["kind"] == "duplicate_record"}
    assert stores == {"D-wechat:T1:payment:": "S007", "D-wechat:T0:payment:": "S007", "D-wechat:T3:payment:": "S004"}


def test_a_driver_out_of_memory_is_one_error_with_the_setting_to_raise(spark, tmp_path):
    # helper-115: a month too big for the driver's heap ended in a 214-line Python and Java traceback. The job fails
    # here on a real Spark job with the text Spark gives then (raise_error: a heap cannot be filled on test data);
    # any other failure of a job stays the error it is
    import duckdb
    from pyspark.sql import functions as F

    from paymatch.backends.spark_backend import on_spark
    from paymatch.errors import PaymatchError

    def failing(text):
        def build(frames):
            import narwhals as nw

            return nw.from_native(frames["x"].to_native().select(F.raise_error(F.lit(text)).alias("a")))
        return build

    con = duckdb.connect()
    oom = "Not enough memory to build and broadcast the table to all worker nodes."
    with pytest.raises(PaymatchError, match=r"(?s)driver ran out of memory.*spark\.driver\.memory"):
        on_spark(con, {"x": "SELECT 1 AS a"}, failing(oom), "_pm_t")
    with pytest.raises(Exception, match="boom") as other:
        on_spark(con, {"x": "SELECT 1 AS a"}, failing("boom"), "_pm_t")
    assert not isinstance(other.value, PaymatchError)
