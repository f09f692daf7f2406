"""Under ``[match] key_scope = ["merchant_id"]`` a flow carries the merchant number it was credited to.

helper-63 f2: two merchant numbers' deduction exports of one order number collapsed to one stored flow (the flow
table, its load key and the matcher's input had no merchant number), and a file run and a workspace run over the
same exports disagreed. f5: the instalment report counted plans by order number and let one merchant's outcome
stand for the other's period. Real DuckDB workspaces and the CLI; no mocks.
"""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.credit.setup import workspace_outstanding
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.flows import load_flows, read_flow_files
from paymatch.reports.instalments import build_instalments
from paymatch.workspace import Workspace

runner = CliRunner()
SCOPED = '[match]\nkey_scope = ["merchant_id"]\n'
# K1 under M1 (300.00, bought by U1) and under M2 (600.00, by U2): one order number, two orders
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
K1,S1,M1,wechat_payscore,300.00,paid,2026-11-01T10:00:00+08:00,2026-11-01T10:00:00+08:00,U1,gold,3
K1,S1,M2,wechat_payscore,600.00,paid,2026-11-01T10:00:00+08:00,2026-11-01T10:00:00+08:00,U2,gold,3
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
alipay,M1,T1,X1,payment,,,10.00,0.00,10.00,success,2026-11-19T10:00:01+08:00,2026-11-19,alipay
"""
HEAD = "channel,order_no,period_no,periods,amount,fee,status,occurred_at"


def _flow(merchant: str | None, amount: str = "100.00") -> str:
    row = f"wechat_payscore,K1,1,3,{amount},0.00,success,2026-11-01T10:00:00+08:00"
    return (f"{HEAD},merchant_id\n{row},{merchant}\n" if merchant is not None else f"{HEAD}\n{row}\n")


def _ok(*args) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r.output


def _setup(tmp_path, config: str = SCOPED, orders: str = ORDERS):
    (tmp_path / "rules.toml").write_text(config, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(orders, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(TXS, encoding="utf-8")
    return tmp_path / "rules.toml"


def _period_1(out) -> dict[str, tuple[str, str, str]]:
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return {r["outcome_id"]: (r["kind"], r["merchant_id"], r["channel_amount_fen"]) for r in csv.DictReader(f)
                if r["outcome_id"].startswith("I-") and r["period_no"] == "1"}


def _stored(ws) -> list[tuple]:
    with duckdb.connect(str(ws), read_only=True) as con:
        return con.execute("SELECT order_no, period_no, amount_fen, merchant_id, src_file FROM instalment_flows "
                           "ORDER BY merchant_id NULLS FIRST, src_file").fetchall()


def test_each_merchant_numbers_export_pays_its_own_order_in_file_and_workspace_runs(tmp_path):
    # the two exports list equal deductions (100.00, same second): only the merchant number tells them apart
    cfg = _setup(tmp_path, orders=ORDERS.replace("600.00", "300.00"))
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "m1.csv").write_text(_flow("M1"), encoding="utf-8")
    (flows / "m2.csv").write_text(_flow("M2"), encoding="utf-8")
    _ok("reconcile", "--config", cfg, "--orders", tmp_path / "orders.csv", "--transactions", tmp_path / "tx.csv",
        "--instalments", flows, "--as-of", "2026-11-20", "--out", tmp_path / "file")
    want = {"I-M1/K1-1": ("instalment_matched", "M1", "10000"), "I-M2/K1-1": ("instalment_matched", "M2", "10000")}
    assert _period_1(tmp_path / "file") == want

    ws = tmp_path / "ws.duckdb"
    _ok("ingest", "--config", cfg, "--workspace", ws, "--orders", tmp_path / "orders.csv",
        "--transactions", tmp_path / "tx.csv")
    for name in ("m1.csv", "m2.csv"):
        assert "1 stored" in _ok("ingest", "--config", cfg, "--workspace", ws, "--instalments", flows / name)
    assert [r[3] for r in _stored(ws)] == ["M1", "M2"]
    _ok("reconcile", "--config", cfg, "--workspace", ws, "--date", "2026-11-19", "--as-of", "2026-11-20",
        "--out", tmp_path / "ws")
    assert _period_1(tmp_path / "ws") == want


def test_a_flow_naming_no_merchant_number_is_attributed_only_when_unambiguous(tmp_path):
    # the plan's merchant when its order number has one per-period order; otherwise an explicit outcome, no pick
    cfg = _setup(tmp_path)
    (tmp_path / "f.csv").write_text(_flow(None), encoding="utf-8")
    args = ["reconcile", "--config", cfg, "--transactions", tmp_path / "tx.csv", "--instalments", tmp_path / "f.csv",
            "--as-of", "2026-11-20"]
    _ok(*args, "--orders", tmp_path / "orders.csv", "--out", tmp_path / "two")
    got = _period_1(tmp_path / "two")
    assert got["I-?/K1-1"] == ("instalment_unexpected", "", "10000")
    assert got["I-M1/K1-1"][0] == got["I-M2/K1-1"][0] == "instalment_missing"
    one = tmp_path / "one.csv"
    one.write_text("".join(ORDERS.splitlines(keepends=True)[:2]), encoding="utf-8")
    _ok(*args, "--orders", one, "--out", tmp_path / "one")
    assert _period_1(tmp_path / "one") == {"I-M1/K1-1": ("instalment_matched", "M1", "10000")}


def test_a_re_export_naming_the_merchant_replaces_the_row_stored_without(tmp_path):
    cfg = _setup(tmp_path)
    ws = tmp_path / "ws.duckdb"
    _ok("ingest", "--config", cfg, "--workspace", ws, "--orders", tmp_path / "orders.csv")
    (tmp_path / "plain.csv").write_text(_flow(None), encoding="utf-8")
    (tmp_path / "named.csv").write_text(_flow("M1"), encoding="utf-8")
    (tmp_path / "plain2.csv").write_text(_flow(None) + "\n", encoding="utf-8")  # other bytes, the same row
    _ok("ingest", "--config", cfg, "--workspace", ws, "--instalments", tmp_path / "plain.csv")
    said = _ok("ingest", "--config", cfg, "--workspace", ws, "--instalments", tmp_path / "named.csv")
    assert "1 rows, 1 stored (1 replacing a stored row that named no merchant number)" in said
    assert _stored(ws) == [("K1", 1, 10000, "M1", str(tmp_path / "named.csv"))]
    # the same deduction delivered again without the merchant number: stored already (under M1)
    assert "1 already stored" in _ok("ingest", "--config", cfg, "--workspace", ws, "--instalments",
                                     tmp_path / "plain2.csv")
    assert len(_stored(ws)) == 1
    _ok("reconcile", "--config", cfg, "--workspace", ws, "--date", "2026-11-19", "--as-of", "2026-11-20",
        "--out", tmp_path / "out")
    got = _period_1(tmp_path / "out")
    assert got["I-M1/K1-1"] == ("instalment_matched", "M1", "10000")
    assert got["I-M2/K1-1"][0] == "instalment_missing" and "I-?/K1-1" not in got


def test_without_key_scope_the_merchant_number_changes_nothing(tmp_path):
    # order numbers are the shop's own: a flow naming another merchant number still pays its order, and the same
    # deduction delivered under two merchant numbers is one stored row, as before the column existed
    orders = "".join(ORDERS.splitlines(keepends=True)[:2])
    cfg = _setup(tmp_path, config="", orders=orders)
    (tmp_path / "a.csv").write_text(_flow("M9"), encoding="utf-8")
    (tmp_path / "b.csv").write_text(_flow("M8"), encoding="utf-8")
    ws = tmp_path / "ws.duckdb"
    _ok("ingest", "--config", cfg, "--workspace", ws, "--orders", tmp_path / "orders.csv",
        "--transactions", tmp_path / "tx.csv", "--instalments", tmp_path / "a.csv", "--instalments", tmp_path / "b.csv")
    assert [r[3] for r in _stored(ws)] == ["M9"]
    _ok("reconcile", "--config", cfg, "--workspace", ws, "--date", "2026-11-19", "--as-of", "2026-11-20",
        "--out", tmp_path / "out")
    assert _period_1(tmp_path / "out") == {"I-K1-1": ("instalment_matched", "M1", "10000")}


def test_a_workspace_from_before_the_merchant_column_opens_and_keeps_its_flows(tmp_path):
    cfg = _setup(tmp_path, orders="".join(ORDERS.splitlines(keepends=True)[:2]))
    ws = tmp_path / "old.duckdb"
    _ok("ingest", "--config", cfg, "--workspace", ws, "--orders", tmp_path / "orders.csv",
        "--transactions", tmp_path / "tx.csv")
    with duckdb.connect(str(ws)) as con:  # the table as workspaces stored it before, with one flow in it
        con.execute("DROP TABLE instalment_flows")
        con.execute("CREATE TABLE instalment_flows (channel VARCHAR, order_no VARCHAR, period_no BIGINT, "
                    "periods BIGINT, amount_fen BIGINT, fee_fen BIGINT, status VARCHAR, occurred_at TIMESTAMPTZ, "
                    "src_file VARCHAR, src_line BIGINT, batch_id VARCHAR)")
        con.execute("INSERT INTO instalment_flows VALUES ('wechat_payscore', 'K1', 1, 3, 10000, 0, 'success', "
                    "TIMESTAMPTZ '2026-11-01 10:00:00+08', 'old.csv', 2, 'instalment_flows:old')")
    (tmp_path / "p2.csv").write_text(_flow("M1").replace(",1,3,", ",2,3,").replace("2026-11-01", "2026-11-19"),
                                     encoding="utf-8")
    _ok("ingest", "--config", cfg, "--workspace", ws, "--instalments", tmp_path / "p2.csv")
    assert [(r[1], r[3]) for r in _stored(ws)] == [(1, None), (2, "M1")]
    _ok("reconcile", "--config", cfg, "--workspace", ws, "--date", "2026-11-19", "--as-of", "2026-12-20",
        "--out", tmp_path / "out")
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {r["outcome_id"]: r["kind"] for r in csv.DictReader(f) if r["outcome_id"].startswith("I-")}
    assert kinds == {"I-M1/K1-1": "instalment_matched", "I-M1/K1-2": "instalment_matched",
                     "I-M1/K1-3": "instalment_not_due"}


def test_a_flow_profile_takes_the_merchant_number_from_its_column_or_the_file_name(tmp_path):
    prof = tmp_path / "profiles"
    prof.mkdir()
    common = ("channel: wechat_payscore\ntarget: instalment_flows\nsniff: {headers: [单号, 期, 金额]}\n"
              "status: {default: success}\nflows: {period_separator: /}\n")
    (prof / "by_name.yaml").write_text(
        "name: by_name\n" + common + "columns: {order_no: 单号, period: 期, amount: 金额, occurred_at: 时间}\n"
        "constants: {merchant_id: {regex: '^(\\d+)_', search: file_name}}\n", "utf-8")
    (prof / "by_column.yaml").write_text(
        "name: by_column\n" + common.replace("金额]", "金额, 商户号]") +
        "columns: {order_no: 单号, period: 期, amount: 金额, occurred_at: 时间, merchant_id: 商户号}\n", "utf-8")
    named = tmp_path / "named"
    named.mkdir()
    (named / "1900000001_扣款.txt").write_text("单号,期,金额,时间\nK1,1/3,100.00,2026-11-01 10:00:00\n", "utf-8")
    (named / "1900000002_扣款.txt").write_text("单号,期,金额,时间\nK1,1/3,100.00,2026-11-01 10:00:00\n", "utf-8")
    rows = load_flows(named, [prof]).to_pylist()
    assert sorted((r["order_no"], r["period_no"], r["merchant_id"]) for r in rows) == [
        ("K1", 1, "1900000001"), ("K1", 1, "1900000002")]
    # equal bytes, two merchant numbers: two files to a workspace too (its batches are named by content)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        got = [ws.ingest_flows(f, key_scope=("merchant_id",)) for f in read_flow_files(named, [prof], hashes=True)]
        assert [r.skipped for r in got] == [False, False]
        assert ws.con.execute("SELECT count(*) FROM instalment_flows").fetchall() == [(2,)]
    (tmp_path / "col.txt").write_text("单号,期,金额,时间,商户号\nK1,1/3,100.00,2026-11-01 10:00:00,M2\n"
                                      "K1,2/3,100.00,2026-12-01 10:00:00,\n", "utf-8")
    rows = load_flows(tmp_path / "col.txt", [prof]).to_pylist()
    assert [(r["period_no"], r["merchant_id"]) for r in rows] == [(1, "M2"), (2, None)]


def _report(ws, key_scope):
    with Workspace(ws) as w:
        rep = build_instalments(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 20),
                                DEFAULT_CONFIG, key_scope=key_scope)
        owed = {m: workspace_outstanding(w, DEFAULT_CONFIG, m, dt.date(2026, 11, 20), key_scope=key_scope)
                for m in ("U1", "U2")}
        return rep.tables[0].rows.to_pylist(), owed


def test_the_instalment_report_and_credit_check_take_a_plan_per_merchant_number(tmp_path):
    # M1's K1 paid its first period; M2's K1 paid nothing: two plans, M2's first period overdue
    cfg = _setup(tmp_path)
    (tmp_path / "f.csv").write_text(_flow("M1"), encoding="utf-8")
    ws = tmp_path / "ws.duckdb"
    _ok("ingest", "--config", cfg, "--workspace", ws, "--orders", tmp_path / "orders.csv",
        "--transactions", tmp_path / "tx.csv")
    _ok("reconcile", "--config", cfg, "--workspace", ws, "--date", "2026-11-19", "--as-of", "2026-11-20",
        "--instalments", tmp_path / "f.csv")
    _ok("report", "instalments", "--config", cfg, "--workspace", ws, "--from", "2026-11-01", "--to", "2026-11-30",
        "--as-of", "2026-11-20", "--csv", tmp_path / "rep")
    with open(tmp_path / "rep" / "instalments.csv", encoding="utf-8-sig") as f:
        row = next(r for r in csv.reader(f) if r and r[0] == "微信支付分")  # wechat_payscore, as a zh report names it
    # 分期订单数, 总期数, 未结清期数/金额, 逾期期数/金额 (before: 1 plan; M1's matched period stood for M2's too)
    assert row[3:9] == ["2", "6", "5", "800.00", "1", "200.00"]
    rows, owed = _report(ws, ("merchant_id",))
    assert [(r["plans"], r["periods"], r["outstanding_periods"], r["outstanding_fen"], r["overdue_periods"],
             r["overdue_fen"]) for r in rows] == [(2, 6, 5, 80000, 1, 20000)]
    assert owed == {"U1": 20000, "U2": 60000}


def test_file_run_reads_overlapping_exports_as_the_workspace_stores_them(tmp_path):
    """``instalment_run.combine_flows`` (a file run over several exports) keeps what ``Workspace.ingest_flows``
    keeps, file by file: under key_scope one merchant's row delivered again is one row, an unnamed copy gives way
    to the named one (whichever comes first), and two merchants' equal rows are two; without key_scope the
    merchant number does not tell rows apart."""
    from paymatch.instalment_run import combine_flows

    exports = [_flow(None), _flow("M1"), _flow("M1"), _flow("M2"), _flow(None)]
    paths = []
    for i, text in enumerate(exports):
        paths.append(tmp_path / f"e{i}.csv")
        paths[-1].write_text(text, encoding="utf-8")
    for scope, kept in ((("merchant_id",), ["M1", "M2"]), ((), [None])):
        files = [f for p in paths for f in read_flow_files(p, hashes=True)]
        with Workspace(tmp_path / f"ws{len(scope)}.duckdb") as ws:
            for f in files:
                ws.ingest_flows(f, key_scope=scope)
            stored = sorted(ws.con.execute("SELECT merchant_id FROM instalment_flows").fetchall(), key=str)
            left_out = combine_flows(ws.con, [f.table for f in files], scope)
            read = sorted(ws.con.execute("SELECT merchant_id FROM _pm_flows").fetchall(), key=str)
        assert [m for (m,) in stored] == kept and read == stored, scope
        assert left_out == len(exports) - len(kept)
