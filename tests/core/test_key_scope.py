"""key_scope = ["merchant_id"]: order numbers unique only per merchant number, refunds attributed to the right one."""

import csv
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()

ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
A1003,S001,1600000001,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
A1003,S002,1600000002,wechat,50.00,partially_refunded,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
"""
REFUNDS = """refund_no,order_no,amount,created_at,status
RF1,A1003,40.00,2026-11-20 12:00:00,success
RF2,A1003,1.00,2026-11-20 13:00:00,success
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date
wechat,1600000001,T1,A1003,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20
wechat,1600000002,T2,A1003,payment,,,50.00,0.30,success,2026-11-20 11:00:06,2026-11-20
wechat,1600000002,T2,A1003,refund,RF1,WR1,40.00,0.24,success,2026-11-20 12:00:06,2026-11-20
"""


def _files(tmp_path: Path) -> list[str]:
    for name, text in (("o.csv", ORDERS), ("r.csv", REFUNDS), ("t.csv", TXS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    return ["--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
            "--transactions", str(tmp_path / "t.csv"), "--config", str(tmp_path / "rules.toml")]


def _rows(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as f:
        return {r["outcome_id"]: r for r in csv.DictReader(f)}


def test_a_refund_belongs_to_the_order_of_its_channel_records_merchant(tmp_path):
    args = _files(tmp_path)
    r = runner.invoke(app, ["reconcile", *args, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    got = _rows(tmp_path / "out" / "outcomes.csv")
    assert got["P-1600000001/A1003"]["kind"] == got["P-1600000002/A1003"]["kind"] == "matched"
    rf1 = got["R-RF1"]
    assert (rf1["kind"], rf1["merchant_id"], rf1["store_id"]) == ("refund_matched", "1600000002", "S002")
    # no channel record names a merchant number: one attribution per order number, never two rows
    assert got["R-RF2"]["kind"] == "refund_order_only"
    assert sum(1 for k in got if k.startswith("R-")) == 2

    # the same in a workspace
    w = tmp_path / "w.duckdb"
    for cmd in (["ingest", "--workspace", str(w), *args],
                ["reconcile", "--workspace", str(w), "--date", "2026-11-20", "--config", str(tmp_path / "rules.toml"),
                 "--out", str(tmp_path / "ws")]):
        r = runner.invoke(app, cmd)
        assert r.exit_code == 0, r.output
    ws = _rows(tmp_path / "ws" / "outcomes.csv")
    assert (ws["R-RF1"]["merchant_id"], ws["R-RF1"]["store_id"]) == ("1600000002", "S002")


def test_orders_without_merchant_numbers_are_replaced_by_a_re_export(tmp_path):
    """Under key_scope an orders file without a merchant_id column keys its rows by (NULL, order_no): a re-export
    replaces them instead of being stored beside them."""
    rules = tmp_path / "rules.toml"
    rules.write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    w = tmp_path / "w.duckdb"
    for i, status in enumerate(("unpaid", "paid")):
        f = tmp_path / f"orders{i}.csv"
        f.write_text("order_no,store_id,channel,amount,status,created_at,paid_at\n"
                     f"N1,S001,wechat,10.00,{status},2026-11-20 10:00:00,{'2026-11-20 10:00:05' if i else ''}\n",
                     encoding="utf-8")
        r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(rules)])
        assert r.exit_code == 0, r.output
    from paymatch.workspace import Workspace

    with Workspace(w) as ws:
        assert ws.con.execute("SELECT order_no, status FROM orders").fetchall() == [("N1", "paid")]
