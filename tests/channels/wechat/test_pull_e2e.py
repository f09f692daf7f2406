"""paymatch pull against the fake WeChat Pay gateway → workspace → reconcile: the expected outcomes."""

import csv

from typer.testing import CliRunner
from wechat_billgen import fundflow_bill, payment, trade_bill

from paymatch.cli import app
from paymatch.workspace import Workspace

runner = CliRunner()


def _config(tmp_path, keys, base_url, **extra):
    (tmp_path / "merchant.pem").write_text(keys.merchant_pem)
    (tmp_path / "platform.pem").write_text(keys.platform_pub_pem)
    lines = ["[channels.wechat]", 'mchid = "1900000109"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
             'merchant_private_key_file = "merchant.pem"', 'platform_key_file = "platform.pem"',
             f'platform_key_id = "{keys.platform_id}"', f'base_url = "{base_url}"', "timeout = 1.0", "retries = 1",
             "backoff_base = 0.01", "backoff_max = 0.02"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    p = tmp_path / "rules.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_pull_store_reconcile(tmp_path, wechat_keys, fake_wechat):
    rows = [payment(1, 1000, fee_fen=6), payment(2, 2550, coupon_fen=50, fee_fen=15), payment(3, 700)]
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", "2026-11-20")] = trade_bill(rows, "ALL")
    fake_wechat.bills[("/v3/bill/fundflowbill", "BASIC", "2026-11-20")] = fundflow_bill(
        [("2026-11-20 10:00:01", "收入", 1000, 1000), ("2026-11-20 10:00:02", "收入", 2550, 3550)])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", "2026-11-20", "--channel", "wechat"])
    assert r.exit_code == 0, r.output
    assert "3 rows stored" in r.output
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", "2026-11-20", "--all"])
    assert r.exit_code == 0 and "already stored, unchanged" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 3
        assert ws.con.execute("SELECT count(*) FROM batches WHERE meta LIKE '%file_sha256%'").fetchone()[0] >= 1
        # the fund-flow bill's own rows are kept for fund reports and settlement matching
        assert ws.con.execute("SELECT count(*), sum(amount_fen), min(account) FROM fund_flows").fetchone() == (
            2, 3550, "1900000109")
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        "ORD000001,S1,1900000109,wechat,10.00,paid,2026-11-20 09:59:59,2026-11-20 10:00:00,,,0\n"
        "ORD000002,S1,1900000109,wechat,25.50,paid,2026-11-20 09:59:59,2026-11-20 10:00:00,,,0\n"
        "ORD000003,S1,1900000109,wechat,7.01,paid,2026-11-20 09:59:59,2026-11-20 10:00:00,,,0\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(orders)]).exit_code == 0
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        got = {row["outcome_id"]: (row["kind"], row["settle_amount_fen"]) for row in csv.DictReader(f)}
    assert got == {"P-ORD000001": ("matched", "1000"), "P-ORD000002": ("matched", "2500"),
                   "P-ORD000003": ("amount_mismatch", "700")}


def test_pull_failure_is_reported_and_quarantined(tmp_path, wechat_keys, fake_wechat):
    fake_wechat.faults["apply"] += ["500", "500", "500"]
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", "2026-11-20", "--channel", "wechat"])
    assert r.exit_code == 2 and "failed" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0


def test_each_file_of_a_day_is_its_own_download(tmp_path, wechat_keys, fake_wechat):
    """helper-51: the trade and fund-flow bills were fetched together before anything was stored: a day without
    fund flows (NO_STATEMENT_EXIST) dropped its verified trade bill, and a day without trades never asked for its
    fund flows. Each is pulled on its own now, and "no bill for that day" is said, not a failure. Requests name the
    key WeChat is to sign its answer with (Wechatpay-Serial: a merchant moving to the WeChat Pay public key)."""
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", "2026-11-20")] = trade_bill([payment(1, 1000)], "ALL")
    fake_wechat.bills[("/v3/bill/fundflowbill", "BASIC", "2026-11-21")] = fundflow_bill(
        [("2026-11-21 10:00:01", "收入", 1000, 1000)])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    w = tmp_path / "w.duckdb"
    for day in ("2026-11-20", "2026-11-21"):
        r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", day, "--all"])
        assert r.exit_code == 0, r.output
        assert "no bill" in r.output and "NO_STATEMENT_EXIST" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 1
        assert ws.con.execute("SELECT count(*) FROM fund_flows").fetchone()[0] == 1
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert fake_wechat.request_serials and set(fake_wechat.request_serials) == {wechat_keys.platform_id}
