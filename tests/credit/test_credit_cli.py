"""paymatch credit check and POST /api/credit/check in `serve`: config → signed call → decision with the
member's outstanding instalments from the workspace → audit row."""

import datetime as dt

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.config import load_config
from paymatch.credit.signing import HmacSigner
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

from .fake_service import FakeCreditService

runner = CliRunner()
SECRET = b"shared-secret-for-tests"
# paid yesterday, so no period of the plan is due yet whatever day the suite runs (outstanding = all 600.00)
_PAID = dt.date.today() - dt.timedelta(days=1)
ORDERS = f"""order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
H1,S1,M1,huabei,600.00,paid,{_PAID} 10:00:00,{_PAID} 10:00:05,U1,gold,6
"""


def _config(tmp_path, url):
    (tmp_path / "credit.secret").write_bytes(SECRET)
    p = tmp_path / "rules.toml"
    p.write_text(f'[credit]\nbase_url = "{url}"\nsecret_file = "credit.secret"\ntimeout = 1.0\nretries = 0\n'
                 f"total_timeout = 2.0\n", encoding="utf-8")
    return p


def test_cli_approve_deny_and_outstanding(tmp_path):
    w = tmp_path / "w.duckdb"
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
    with FakeCreditService(HmacSigner(SECRET), available_fen=100_000) as svc:
        cfg = _config(tmp_path, svc.url)
        r = runner.invoke(app, ["credit", "check", "--member", "U2", "--amount", "300.00", "--term", "3",
                                "--config", str(cfg), "--workspace", str(w)])
        assert r.exit_code == 0 and "APPROVE" in r.output, r.output
        # U1 still owes most of a 600.00 Huabei plan: 1000.00 available − outstanding < 500.00 asked
        r = runner.invoke(app, ["credit", "check", "--member", "U1", "--amount", "500.00", "--term", "3",
                                "--config", str(cfg), "--workspace", str(w)])
        assert r.exit_code == 1 and "DENY" in r.output and "outstanding instalments" in r.output, r.output
        svc.mode = "deny"
        r = runner.invoke(app, ["credit", "check", "--member", "U2", "--amount", "1.00", "--term", "3",
                                "--config", str(cfg), "--workspace", str(w)])
        assert r.exit_code == 1 and "denied by credit service" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM credit_decisions").fetchall()[0][0] == 3


def test_service_down_fails_closed(tmp_path):
    cfg = _config(tmp_path, "http://127.0.0.1:9")  # nothing listens on the discard port
    r = runner.invoke(app, ["credit", "check", "--member", "U2", "--amount", "1.00", "--term", "3", "--config", str(cfg)])
    assert r.exit_code == 1 and "DENY" in r.output and "unavailable" in r.output
    assert (tmp_path / "credit_decisions.jsonl").read_text().strip()


def test_serve_mounts_credit_check(tmp_path):
    with FakeCreditService(HmacSigner(SECRET)) as svc:
        cfg = _config(tmp_path, svc.url)
        (tmp_path / "api.token").write_text("tok-123")
        cfg.write_text(cfg.read_text() + 'api_token_file = "api.token"\n', encoding="utf-8")
        ws = Workspace(tmp_path / "w.duckdb")
        api = create_app(ws, load_config(cfg), tmp_path)
        with TestClient(api) as client:
            body = {"member_id": "U9", "amount": "10.00", "term": 3}
            assert client.post("/api/credit/check", json=body).status_code == 401
            assert client.post("/api/credit/check", json=body,
                               headers={"Authorization": "Bearer wrong"}).status_code == 401
            r = client.post("/api/credit/check", json=body, headers={"Authorization": "Bearer tok-123"})
            assert r.status_code == 200 and r.json()["approve"] is True
            assert client.get("/health").json()["endpoints"] == ["credit"]
        ws.close()


def test_serve_names_the_routes_it_mounts(tmp_path, monkeypatch):
    """`serve` with only [credit] configured says it serves /api/credit/check (not the notify routes it lacks)."""
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda api, **kw: served.append((api, kw)))
    cfg = _config(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "api.token").write_text("t0ken", encoding="utf-8")
    cfg.write_text(cfg.read_text(encoding="utf-8") + 'api_token_file = "api.token"\n', encoding="utf-8")
    r = runner.invoke(app, ["serve", "--workspace", str(tmp_path / "n.duckdb"), "--config", str(cfg), "--port", "8099"])
    assert r.exit_code == 0, r.output
    assert "POST /api/credit/check" in r.output and "/notify/" not in r.output and served[0][1]["port"] == 8099


def test_a_missing_workspace_is_refused_not_created(tmp_path):
    """A mistyped --workspace made a new empty workspace, so the member's outstanding instalments read as none and a
    member who owes was approved on the service's limit alone."""
    w = tmp_path / "typo.duckdb"
    with FakeCreditService(HmacSigner(SECRET), available_fen=100_000) as svc:
        cfg = _config(tmp_path, svc.url)
        r = runner.invoke(app, ["credit", "check", "--member", "U1", "--amount", "500.00", "--term", "3",
                                "--config", str(cfg), "--workspace", str(w)])
        assert r.exit_code == 2 and f"{w}: no such workspace file" in " ".join(r.output.split()), r.output
        assert "APPROVE" not in r.output and svc.calls == 0
    assert not w.exists()


def test_an_amount_of_zero_or_below_names_the_option_in_yuan(tmp_path):
    cfg = _config(tmp_path, "http://127.0.0.1:9")
    for amount in ("-5", "0.00"):
        r = runner.invoke(app, ["credit", "check", "--member", "U1", "--amount", amount, "--term", "3",
                                "--config", str(cfg)])
        assert r.exit_code == 2, r.output
        assert f"--amount: the amount asked for must be above 0.00 yuan (value '{amount}')" in " ".join(r.output.split())


def test_the_readme_request_body_is_what_the_endpoint_takes(tmp_path):
    """The README named the endpoint and its token but not its body: a caller had to read the source to learn
    member_id/amount/term. The body and answer fields it now shows are checked against the running app."""
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    para = readme[readme.index("`POST /api/credit/check` (when"):]
    body_text, alt, answer = re.findall(r"`(\{[^`]*\})`|`\"amount_fen\": (\d+)`", para)[:3]
    body = json.loads(body_text[0])
    fields = set(re.findall(r'"(\w+)"', answer[0]))
    with FakeCreditService(HmacSigner(SECRET), available_fen=300_000) as svc:
        cfg = _config(tmp_path, svc.url)
        (tmp_path / "api.token").write_text("tok-123")
        cfg.write_text(cfg.read_text() + 'api_token_file = "api.token"\n', encoding="utf-8")
        ws = Workspace(tmp_path / "w.duckdb")
        with TestClient(create_app(ws, load_config(cfg), tmp_path)) as client:
            auth = {"Authorization": "Bearer tok-123"}
            r = client.post("/api/credit/check", json=body, headers=auth)
            assert r.status_code == 200 and set(r.json()) == fields, r.text
            fen = {k: v for k, v in body.items() if k != "amount"} | {"amount_fen": int(alt[1])}
            r2 = client.post("/api/credit/check", json=fen, headers=auth)
            assert r2.status_code == 200 and r2.json()["approve"] == r.json()["approve"], r2.text
            assert client.post("/api/credit/check", json=body | {"amount": "1,999.00"}, headers=auth).status_code == 422
        ws.close()
