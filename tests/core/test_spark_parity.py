"""The same inputs give identical outcomes on DuckDB and on Spark (local mode).

Small cases share Spark runs (``spark_batch``): a Spark run's fixed cost is most of such a test's time."""

import datetime as dt
import time
from pathlib import Path

import pytest

from paymatch.config import Config, MatchRules
from paymatch.run import reconcile_files
from tests.core.spark_batch import Batch, Case, alone, on_spark
from tests.core.spark_batch import rows as _rows  # (outcomes.csv as sorted rows)

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]


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
    # a generated chain with the chain's contracted fee rates (fee_mismatch on both engines); Spark's run is the
    # command line's, `paymatch reconcile --engine spark`
    import json

    from typer.testing import CliRunner

    from paymatch.cli import app
    from paymatch.config import load_config

    a = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "duck",
                        config=load_config(demo_small.rules))
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(demo_small.orders), "--refunds", str(demo_small.refunds),
                                   "--transactions", str(demo_small.transactions), "--config", str(demo_small.rules),
                                   "--engine", "spark", "--out", str(tmp_path / "spark")])
    assert res.exit_code == 0, res.output
    b = _rows(tmp_path / "spark" / "outcomes.csv")
    assert _rows(a.outcomes_csv) == b
    assert any(dict(r)["kind"] == "fee_mismatch" for r in b)
    assert any(dict(r)["kind"] == "over_refund" for r in b)  # the refund history on Spark too
    summary = json.loads((tmp_path / "spark" / "summary.json").read_text(encoding="utf-8"))
    assert a.summary["by_kind"] == summary["by_kind"]
    assert summary["conservation"] is True


def test_a_workspace_day_run_of_orders_naming_no_merchant_number_agrees_on_spark(spark, tmp_path):
    # a workspace day run hands the run's orders naming no merchant number over as a selection of their own (the file
    # runs of such orders: ``test_key_scope_case_agrees_on_spark[orders_wild]``)
    from paymatch.config import load_config
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace
    from tests.core.test_key_scope_orders import ORDERS, TXS

    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    rules = load_config(tmp_path / "rules.toml")
    day = dt.date(2026, 11, 20)
    (tmp_path / "wild.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(TXS, encoding="utf-8")
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest_csv("orders", tmp_path / "wild.csv", key_scope=("merchant_id",))
        ws.ingest_csv("transactions", tmp_path / "tx.csv")
    runs = [reconcile_workspace(tmp_path / "w.duckdb", day, day, tmp_path / "ws" / engine, config=rules, engine=engine)
            for engine in ("duckdb", "spark")]
    a, b = (_rows(r.outcomes_csv) for r in runs)
    assert a == b
    assert {dict(r)["outcome_id"]: dict(r)["kind"] for r in b}["P-/KNN"] == "matched"


def test_flows_on_one_file_line_twice_agree_on_spark(spark, tmp_path):
    # an export downloaded again under its name with a row changed: both rows stored; the deduction's time tells the
    # period's flow from its duplicate on either engine (``instalments.match._flow_side``)
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


# --- small cases, several to a Spark run (``spark_batch``): each case's Spark rows against DuckDB's run of it alone ---

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_NAMES = sorted(d.name for d in GOLDEN.iterdir() if (d / "transactions.csv").is_file())


def _golden(name: str) -> Case:
    """A hand-written golden day (number-less refunds paired in time order, merchant numbers, ERP value forms …)."""
    def text(f: str) -> str | None:
        return (GOLDEN / name / f).read_text(encoding="utf-8") if (GOLDEN / name / f).is_file() else None
    return Case(text("orders.csv"), (text("transactions.csv"),), refunds=text("refunds.csv"))


_ORDER_HEAD = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
_TX_HEAD = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
            "occurred_at,bill_date,method\n")
_REFUND_HEAD = "refund_no,order_no,amount,created_at,status\n"

# records naming no refund number whose channel refund id is their order number (Alipay without out_request_no): R1's
# shop refund is numbered R1 (= its order): one refund_amount_mismatch by number; R2's shop refund RF-2 is paired by
# order and amount (``refunds._numbered_as_its_order``)
NUMBERED = Case(
    _ORDER_HEAD + "".join(f"{no},S1,2088000000000011,alipay,100.00,refunded,2026-11-20 10:00:00,2026-11-20 10:00:05\n"
                          for no in ("R1", "R2")),
    ("channel,merchant_id,channel_tx_id,order_no,type,amount,fee,settle_amount,status,occurred_at,bill_date,refund_no,"
     "channel_refund_id\n" + "".join(
         f"alipay,2088000000000011,T{no},{no},payment,100.00,0,100.00,success,2026-11-20 10:00:06,2026-11-20,,\n"
         f"alipay,2088000000000011,T{no},{no},refund,{amt},0,{amt},success,2026-11-20 11:00:06,2026-11-20,,{no}\n"
         for no, amt in (("R1", "30.01"), ("R2", "40.00"))),),
    refunds=_REFUND_HEAD + "R1,R1,30.00,2026-11-20 11:00:00,success\nRF-2,R2,40.00,2026-11-20 11:00:00,success\n")

# PySpark turned the engine's naive-UTC boundary literal into an instant by the process's local zone: with
# TZ=Asia/Shanghai the pending_cross_day zone began 8 h early on Spark only (an order paid and a refund made at 20:00
# were pending_cross_day there, order_only / refund_order_only on DuckDB)
CROSS_DAY = Case(
    _ORDER_HEAD + "A1,S1,M1,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:00\n"
    "L1,S1,M1,wechat,20.00,paid,2026-11-20 20:00:00,2026-11-20 20:00:00\n"
    "Z1,S1,M1,wechat,30.00,paid,2026-11-20 23:58:00,2026-11-20 23:58:00\n",
    (_TX_HEAD + "wechat,M1,T1,A1,payment,,,10.00,0,10.00,success,2026-11-20 10:00:05,2026-11-20,wechat\n",),
    refunds=_REFUND_HEAD + "RL1,A1,1.00,2026-11-20 20:00:00,success\n")

# WeChat's ALL and REFUND bills of one day print one refund (CR1) two seconds apart: one record on either engine; a
# refund listed again with another amount (CR2) stays a duplicate_record on both (two files: the first one's copy counts)
_LISTED_HEAD = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,"
                "occurred_at,bill_date\n")
LISTED_AGAIN = Case(
    "order_no,channel,amount,status,paid_at\nA1,wechat,50.00,paid,2026-11-18 09:00:00\n",
    (_LISTED_HEAD + "wechat,M1,T1,A1,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18\n"
     "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:00,2026-11-18\n"
     "wechat,M1,T1,A1,refund,RF2,CR2,10.00,0,success,2026-11-18 13:00:00,2026-11-18\n",
     _LISTED_HEAD + "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:02,2026-11-18\n"
     "wechat,M1,T1,A1,refund,RF2,CR2,12.00,0,success,2026-11-18 13:00:02,2026-11-18\n"),
    refunds=_REFUND_HEAD + "RF1,A1,20.00,2026-11-18 12:00:00,success\nRF2,A1,10.00,2026-11-18 13:00:00,success\n")


def _instalment_cases() -> dict[str, Case]:
    from tests.core import test_instalments_cli as cli
    from tests.instalments import test_refunds as refunded

    return {
        # the per-period instalment match runs on the chosen engine too (its own Narwhals code, not the payment
        # match). E1 paid 02:00 Asia/Shanghai (the previous day in UTC): its plan starts on the local day on both
        "periods": Case(cli.ORDERS + "E1,S1,M1,wechat_payscore,300.00,paid,2026-09-10 02:00:00,2026-09-10 02:00:00,,,3\n",
                        (cli.TXS,), flows=cli.FLOWS + "wechat_payscore,E1,1,3,100.00,0,success,2026-09-10 02:00:01\n"),
        # a refund ends a refunded order's plan on either engine (its instant crosses as naive UTC like the flows')
        "refunded_plans": Case(refunded.ORDERS, (refunded.TXS,), refunds=refunded.REFUNDS, flows=refunded.FLOWS),
    }


#: the instalment periods due by then (the batches' ``as_of``; a case without flows has no instalment outcome)
AS_OF = dt.date(2026, 11, 20)
DEFAULT_CASES = {**{f"golden_{n}": _golden(n) for n in GOLDEN_NAMES}, "numbered": NUMBERED, "cross_day": CROSS_DAY,
                 "listed_again": LISTED_AGAIN, **_instalment_cases()}


@pytest.fixture(scope="module")
def default_batch(spark, tmp_path_factory) -> Batch:
    """DEFAULT_CASES (no config; instalment periods due by AS_OF) in one Spark run, in a process set to Asia/Shanghai
    (a Chinese shop's server: ``CROSS_DAY``), the zone put back afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TZ", "Asia/Shanghai")
        time.tzset()
        try:
            return on_spark(spark, DEFAULT_CASES, tmp_path_factory.mktemp("default_batch"), as_of=AS_OF)
        finally:
            mp.undo()
            time.tzset()


def _agrees(batch: Batch, case: Case, name: str, folder: Path, **kw) -> dict[str, dict]:
    """``name``'s rows of ``batch`` are DuckDB's for ``case`` alone, in every column (``kw``: the batch's options
    besides ``as_of``); outcome_id -> row."""
    want, summary = alone(case, folder, as_of=AS_OF, **kw)
    assert summary["conservation"] is True and batch.summary["conservation"] is True
    assert batch.rows[name] == want
    got = {dict(r)["outcome_id"]: dict(r) for r in want}
    assert len(got) == len(want), "one outcome per id"
    return got


def _kinds(rows: dict[str, dict]) -> dict[str, str]:
    return {k: r["kind"] for k, r in rows.items()}


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden_case_agrees_on_spark(default_batch, name, tmp_path):
    _agrees(default_batch, DEFAULT_CASES[f"golden_{name}"], f"golden_{name}", tmp_path)


def test_a_refund_numbered_as_its_order_agrees_on_spark(default_batch, tmp_path):
    assert _kinds(_agrees(default_batch, NUMBERED, "numbered", tmp_path)) == {
        "P-R1": "matched", "P-R2": "matched", "R-R1": "refund_amount_mismatch", "R-RF-2": "refund_matched"}


@pytest.fixture
def shanghai_process_zone(monkeypatch):
    """The Python process set to Asia/Shanghai (a Chinese shop's server), put back afterwards."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_cross_day_boundary_agrees_on_spark_in_a_shanghai_process(default_batch, shanghai_process_zone, tmp_path):
    assert _kinds(_agrees(default_batch, CROSS_DAY, "cross_day", tmp_path)) == {
        "P-A1": "matched", "P-L1": "order_only", "P-Z1": "pending_cross_day", "R-RL1": "refund_order_only"}


def test_a_refund_listed_again_seconds_later_agrees_on_spark(default_batch, tmp_path):
    assert _kinds(_agrees(default_batch, LISTED_AGAIN, "listed_again", tmp_path)) == {
        "P-A1": "matched", "R-RF1": "refund_matched", "R-RF2": "refund_matched",
        "D-wechat:T1:refund:CR2": "duplicate_record"}


def test_a_spark_run_leaves_nothing_cached(default_batch):
    # the engine's persisted frames (``Ops.persist``: ``.cache()``) stayed cached after the run: a process running one
    # run after another ran out of driver memory for its broadcast joins
    assert default_batch.cache_empty


# key_scope = ["merchant_id"]: one order number (and refund number) at several merchant numbers
KEY_SCOPE = Config(match=MatchRules(key_scope=["merchant_id"]))


def _key_scope_cases() -> dict[str, Case]:
    from tests.core import test_duplicate_record_store as dup
    from tests.core import test_key_scope_orders as kso
    from tests.core import test_key_scope_refund_pairs as pairs
    from tests.core.test_key_scope_refunds import M1, M2, ORDERS, PAYS, R_HEAD, T_HEAD

    return {
        # an order naming no merchant number: matched by its number at the one merchant number carrying it, or
        # ambiguous (two carry it), or its own payment naming none. DuckDB skips that step when no order lacks its
        # merchant number (``Ops.empty``: orders_named alone), Spark always runs it: both ways must agree
        "orders_wild": Case(kso.ORDERS, (kso.TXS,)),
        "orders_named": Case(kso.ORDERS.replace("S001,,", "S001,1900000009,"), (kso.TXS,)),
        # a record a bill lists twice is its order's store's, by order and merchant number (helper-114)
        "dup_store": Case(dup.ORDERS, (dup.TX + dup.BILL,)),
        # number-less refund records pair with one merchant number's alike refunds in time order, over two days' bills
        "refund_pairs": Case(pairs.ORDERS, (pairs.T20, pairs.T21), refunds=pairs.REFUNDS),
        # RF1 at both merchant numbers, its M1 record naming none; RF5 names none and takes M1's A1 past its amount
        "scoped_refunds": Case(ORDERS, (T_HEAD + PAYS + (
            f"wechat,{M2},T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-20 13:00:06,2026-11-20\n"
            "wechat,,T1,A1,refund,RF1,WR1,10.00,0.06,success,2026-11-20 12:00:06,2026-11-20\n"
            f"wechat,{M1},T1,A1,refund,RF5,WR5,3.00,0.02,success,2026-11-20 12:00:06,2026-11-20\n"
            f"wechat,{M1},T1,A1,refund,,WR6,2.00,0.01,success,2026-11-20 12:30:06,2026-11-20\n"),),
            refunds=R_HEAD + f"RF1,A1,10.00,2026-11-20 12:00:00,success,{M1}\n"
            f"RF1,A1,40.00,2026-11-20 13:00:00,success,{M2}\nRF5,A1,3.00,2026-11-20 13:00:00,success,\n"),
        # instalment flows: one order number under two merchant numbers, flows naming their merchant number, one
        # naming none (ambiguous); a run with no channel record
        "instalment_flows": Case(
            "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
            "K1,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,,3\n"
            "K1,S2,M2,wechat_payscore,600.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U2,,3\n", (_TX_HEAD,),
            flows="channel,order_no,period_no,periods,amount,fee,status,occurred_at,merchant_id\n"
            "wechat_payscore,K1,1,3,100.00,0,success,2026-11-01 10:00:00,M1\n"
            "wechat_payscore,K1,1,3,200.00,0,success,2026-11-01 10:00:00,M2\n"
            "wechat_payscore,K1,2,3,100.00,0,success,2026-11-15 10:00:00,\n"),
    }


KEY_SCOPE_CASES = _key_scope_cases()


@pytest.fixture(scope="module")
def key_scope_batch(spark, tmp_path_factory) -> Batch:
    return on_spark(spark, KEY_SCOPE_CASES, tmp_path_factory.mktemp("key_scope_batch"), config=KEY_SCOPE, as_of=AS_OF)


@pytest.mark.parametrize("name", list(KEY_SCOPE_CASES))
def test_key_scope_case_agrees_on_spark(key_scope_batch, name, tmp_path):
    from tests.core.test_key_scope_refund_pairs import WANT
    from tests.core.test_key_scope_refunds import M1, M2

    got = _agrees(key_scope_batch, KEY_SCOPE_CASES[name], name, tmp_path, config=KEY_SCOPE)
    kinds = _kinds(got)
    if name == "orders_wild":
        assert kinds["P-/KNM"] == kinds["P-/KNN"] == kinds["P-/KOW"] == "matched"
        assert kinds["P-/KAM"] == "order_only"
    elif name == "orders_named":
        assert kinds["P-1900000009/KNM"] == "order_only"
    elif name == "dup_store":
        assert {k: r["store_id"] for k, r in got.items() if r["kind"] == "duplicate_record"} == {
            "D-wechat:T1:payment:": "S007", "D-wechat:T0:payment:": "S007", "D-wechat:T3:payment:": "S004"}
    elif name == "refund_pairs":
        assert {k: v for k, v in kinds.items() if k.startswith("R-")} == WANT
    elif name == "instalment_flows":
        assert kinds["I-M1/K1-1"] == kinds["I-M2/K1-1"] == "instalment_matched"
        assert kinds["I-?/K1-2"] == "instalment_unexpected"
    else:
        # M1's A1 (10.00) got 10.00 back under RF1 at the same second, RF5's 3.00 takes it past its amount
        rf5 = got["R-RF5"]
        assert (rf5["kind"], rf5["merchant_id"], rf5["store_id"], rf5["channel_rows"]) == ("over_refund", M1, "S001", "1")
        assert kinds[f"R-{M2}/RF1"] == "refund_matched"


def test_instalment_periods_agree_on_spark(default_batch, tmp_path):
    got = _agrees(default_batch, DEFAULT_CASES["periods"], "periods", tmp_path)
    assert sum(1 for r in got.values() if r["kind"].startswith("instalment_")) >= 5
    assert got["I-E1-1"]["due_date"] == "2026-09-10"


def test_refunded_instalment_plans_agree_on_spark(default_batch, tmp_path):
    kinds = _kinds(_agrees(default_batch, DEFAULT_CASES["refunded_plans"], "refunded_plans", tmp_path))
    assert (kinds["I-P1-2"], kinds["I-P1-3"]) == ("instalment_after_refund", "instalment_ended")
