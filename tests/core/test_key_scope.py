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
    rf1 = got["R-1600000002/RF1"]
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
    assert (ws["R-1600000002/RF1"]["merchant_id"], ws["R-1600000002/RF1"]["store_id"]) == ("1600000002", "S002")


REUSE_ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at
B1,S001,1600000001,wechat,30.00,refunded,2026-11-20 10:00:00,2026-11-20 10:00:05
B2,S002,1600000002,wechat,20.00,refunded,2026-11-20 11:00:00,2026-11-20 11:00:05
B3,S002,1600000002,wechat,15.00,refunded,2026-11-20 11:30:00,2026-11-20 11:30:05
"""
# each merchant number numbers its refunds from RF1 on; the shop's export says which merchant made each
REUSE_REFUNDS = """refund_no,order_no,amount,created_at,status,merchant_id
RF1,B1,30.00,2026-11-20 12:00:00,success,1600000001
RF1,B2,20.00,2026-11-20 12:30:00,success,1600000002
RF2,B3,15.00,2026-11-20 12:40:00,success,
"""
REUSE_TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date
wechat,1600000001,T1,B1,payment,,,30.00,0.18,success,2026-11-20 10:00:06,2026-11-20
wechat,1600000002,T2,B2,payment,,,20.00,0.12,success,2026-11-20 11:00:06,2026-11-20
wechat,1600000002,T3,B3,payment,,,15.00,0.09,success,2026-11-20 11:30:06,2026-11-20
wechat,1600000001,T1,B1,refund,RF1,WR1,30.00,0.18,success,2026-11-20 12:00:06,2026-11-20
wechat,1600000002,T2,B2,refund,RF1,WR2,19.00,0.12,success,2026-11-20 12:30:06,2026-11-20
wechat,1600000002,T3,B3,refund,RF2,WR3,15.00,0.09,success,2026-11-20 12:40:06,2026-11-20
"""


def test_refund_numbers_reused_across_merchant_numbers(tmp_path):
    """Under key_scope a refund number need be unique only per merchant number: each pairs with its own
    merchant's channel refund (file and workspace alike); without a key scope the same file is refused."""
    for name, text in (("o.csv", REUSE_ORDERS), ("r.csv", REUSE_REFUNDS), ("t.csv", REUSE_TXS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text('[match]\nkey_scope = ["merchant_id"]\n', encoding="utf-8")
    files = ["--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
             "--transactions", str(tmp_path / "t.csv")]
    want = {"R-1600000001/RF1": ("refund_matched", "0", "S001"),
            "R-1600000002/RF1": ("refund_amount_mismatch", "-100", "S002"),
            "R-1600000002/RF2": ("refund_matched", "0", "S002")}  # its merchant from the channel's record
    r = runner.invoke(app, ["reconcile", *files, "--config", str(rules), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    got = {k: (v["kind"], v["difference_fen"], v["store_id"]) for k, v in _rows(tmp_path / "out" / "outcomes.csv").items()
           if k.startswith("R-")}
    assert got == want
    w = tmp_path / "w.duckdb"
    for _ in range(2):  # loading the same export twice changes nothing
        r = runner.invoke(app, ["ingest", "--workspace", str(w), *files, "--config", str(rules)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-20", "--config", str(rules),
                            "--out", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    ws = {k: (v["kind"], v["difference_fen"], v["store_id"]) for k, v in _rows(tmp_path / "ws" / "outcomes.csv").items()
          if k.startswith("R-")}
    assert ws == want
    r = runner.invoke(app, ["reconcile", *files, "--out", str(tmp_path / "plain")])
    assert r.exit_code == 2 and "duplicate refund_no" in r.output
