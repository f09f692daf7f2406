"""paymatch pull --channel alipay against the fake gateway → workspace (summary + detail, idempotent)."""

from alipay_billgen import bill_zip, fund_bytes, fund_rows, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"


def _keys(tmp_path):
    """(app key, 'Alipay' key), their PEMs written beside the config as it names them."""
    app_key, alipay_key = new_key(), new_key()
    (tmp_path / "app.pem").write_text(private_pem(app_key))
    (tmp_path / "alipay.pem").write_text(public_pem(alipay_key))
    return app_key, alipay_key


def _config(tmp_path, gw):
    """The config file of one Alipay account pulling from the fake gateway ``gw``."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text(f'[channels.alipay]\napp_id = "{APP_ID}"\napp_private_key_file = "app.pem"\n'
                   f'alipay_public_key_file = "alipay.pem"\ngateway_url = "{gw.gateway_url}"\n'
                   "timeout = 1.0\nretries = 1\nbackoff = 0.01\n", encoding="utf-8")
    return cfg


def test_pull_alipay_into_workspace(tmp_path):
    app_key, alipay_key = _keys(tmp_path)
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-16": bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.5) as gw:
        cfg = _config(tmp_path, gw)
        w = str(tmp_path / "w.duckdb")
        runner = CliRunner()
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16", "--all"])
        assert r.exit_code == 0, r.output
        assert "3 rows stored" in r.output
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16",
                                "--channel", "alipay"])
        assert r.exit_code == 0 and "already stored, unchanged" in r.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT type, order_no, amount_fen, method, origin FROM transactions ORDER BY 1, 2").fetchall()
    assert got == [("payment", "ORD-1", 10000, "alipay", "bill"), ("payment", "ORD-2", 2000, "huabei", "bill"),
                   ("refund", "ORD-1", 3000, "alipay", "bill")]


def test_pull_quarantines_a_trade_bill_over_its_detail_stored_as_transactions(tmp_path):
    """The account's 账务明细 ingested alone first (the profile stored its movements as transactions), then the night's
    pull of the same day's 业务明细: stored, each payment and refund was in the workspace twice. ``ingest`` refuses that
    业务明细; ``pull`` quarantines it with the same words (kept for a rebuild), stores nothing of it, exits 2."""
    app_key, alipay_key = _keys(tmp_path)
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert r.exit_code == 0 and "profile:alipay_merchant_console_export" in r.output, r.output
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-16": bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.5) as gw:
        cfg = _config(tmp_path, gw)
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16",
                                "--channel", "alipay"])
    assert r.exit_code == 2, r.output
    said = "".join(r.output.split())
    assert "".join("would count each payment and refund twice".split()) in said, r.output
    assert "lone_账务明细.csv" in said and "quarantine" in said, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the profile's, once
        assert ws.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 1
        reasons = [x for x, in ws.con.execute("SELECT reason FROM quarantine").fetchall()]
    assert len(reasons) == 1 and "would count each payment and refund twice" in reasons[0]
