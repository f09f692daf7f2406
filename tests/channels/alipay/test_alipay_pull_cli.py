"""paymatch pull --channel alipay against the fake gateway → workspace (summary + detail, idempotent)."""

from alipay_billgen import bill_zip, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"


def test_pull_alipay_into_workspace(tmp_path):
    app_key, alipay_key = new_key(), new_key()
    (tmp_path / "app.pem").write_text(private_pem(app_key))
    (tmp_path / "alipay.pem").write_text(public_pem(alipay_key))
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-16": bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.5) as gw:
        cfg = tmp_path / "rules.toml"
        cfg.write_text(f'[channels.alipay]\napp_id = "{APP_ID}"\napp_private_key_file = "app.pem"\n'
                       f'alipay_public_key_file = "alipay.pem"\ngateway_url = "{gw.gateway_url}"\n'
                       "timeout = 1.0\nretries = 1\nbackoff = 0.01\n", encoding="utf-8")
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
