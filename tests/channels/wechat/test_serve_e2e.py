"""paymatch serve: notifications stored, confirmed by the bill as one transaction, unconfirmed ones flagged."""

import csv

from fastapi.testclient import TestClient
from wechat_billgen import payment, trade_bill
from wechat_notifygen import notification, payment_resource

from paymatch.channels.wechat import bill as wbill
from paymatch.config import load_config
from paymatch.run import reconcile_workspace
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

NOW = 1_795_000_000


def _config(tmp_path, keys):
    (tmp_path / "merchant.pem").write_text(keys.merchant_pem)
    (tmp_path / "platform.pem").write_text(keys.platform_pub_pem)
    (tmp_path / "apiv3.key").write_text(keys.apiv3_key)
    p = tmp_path / "rules.toml"
    p.write_text("\n".join([
        "[channels.wechat]", 'mchid = "1900000109"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
        'merchant_private_key_file = "merchant.pem"', 'platform_key_file = "platform.pem"',
        f'platform_key_id = "{keys.platform_id}"', 'apiv3_key_file = "apiv3.key"']) + "\n", encoding="utf-8")
    return p


def test_notify_then_bill_then_reconcile(tmp_path, wechat_keys):
    cfg_path = _config(tmp_path, wechat_keys)
    ws = Workspace(tmp_path / "w.duckdb")
    app = create_app(ws, load_config(cfg_path), tmp_path, clock=lambda: NOW)
    with TestClient(app) as client:
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(
            out_trade_no="ORD000002", transaction_id="4200000000000000000000000002",
            amount={"total": 5000, "payer_total": 5000, "currency": "CNY", "payer_currency": "CNY"},
            promotion_detail=[]), ts=NOW, nid="EV-2")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        # resend of EV-1 (new nonce): confirmed, nothing stored twice
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        # a forged one: refused and kept aside
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(out_trade_no="EVIL"), ts=NOW,
                               nid="EV-3", key=wechat_keys.merchant)
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 401
        assert client.get("/health").json()["endpoints"] == ["wechat"]
    assert ws.con.execute("SELECT count(*), min(origin) FROM transactions").fetchone() == (2, "notify")
    assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1

    # the day's bill confirms ORD000001 (same 微信订单号) but not ORD000002
    data = trade_bill([payment(1, 10000, coupon_fen=500)], "ALL")
    b = wbill.parse(data, "bill-2026-11-20.csv")
    ws.ingest_transactions(b.transactions, source=b.source, sha256=b.sha256 or "x" * 64, origin="bill")
    assert ws.con.execute("SELECT order_no, origin FROM transactions ORDER BY 1").fetchall() == [
        ("ORD000001", "bill"), ("ORD000002", "notify")]
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        "ORD000001,S1,1900000109,wechat,100.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00,,,0\n"
        "ORD000002,S1,1900000109,wechat,50.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00,,,0\n", encoding="utf-8")
    ws.ingest_csv("orders", orders)
    ws.close()
    import datetime as dt

    res = reconcile_workspace(tmp_path / "w.duckdb", dt.date(2026, 11, 20), dt.date(2026, 11, 20), tmp_path / "out")
    with open(res.outcomes_csv, encoding="utf-8") as f:
        got = {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}
    assert got == {"P-ORD000001": "matched", "P-ORD000002": "unconfirmed"}


def test_serve_takes_every_configured_merchant_account(tmp_path, wechat_keys):
    """[[channels.wechat]] with two merchant numbers, each with its own platform key and APIv3 key: serve accepts
    both accounts' notifications (it used only the first account: the second's were refused and quarantined)."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    second = SimpleNamespace(platform=key, platform_id="PUB_KEY_ID_0000000000000000000000000002",
                             apiv3_key="fedcba9876543210FEDCBA9876543210", merchant_pem=wechat_keys.merchant_pem,
                             platform_pub_pem=key.public_key().public_bytes(
                                 serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    sections = []
    for i, k in enumerate((wechat_keys, second)):
        (tmp_path / f"platform{i}.pem").write_text(k.platform_pub_pem)
        (tmp_path / f"apiv3_{i}.key").write_text(k.apiv3_key)
        sections += ["[[channels.wechat]]", f'mchid = "190000010{9 - i}"',
                     'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
                     'merchant_private_key_file = "merchant.pem"', f'platform_key_file = "platform{i}.pem"',
                     f'platform_key_id = "{k.platform_id}"', f'apiv3_key_file = "apiv3_{i}.key"']
    (tmp_path / "merchant.pem").write_text(wechat_keys.merchant_pem)
    cfg = tmp_path / "rules.toml"
    cfg.write_text("\n".join(sections) + "\n", encoding="utf-8")
    ws = Workspace(tmp_path / "w.duckdb")
    with TestClient(create_app(ws, load_config(cfg), tmp_path, clock=lambda: NOW)) as client:
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-A")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        h, body = notification(second, "TRANSACTION.SUCCESS", payment_resource(
            mchid="1900000108", out_trade_no="ORD-B", transaction_id="4200000000000000000000000009"), ts=NOW, nid="EV-B")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        # signed with the second account's platform key but encrypted with the first's APIv3 key: not the second's
        mixed = SimpleNamespace(**{**vars(second), "apiv3_key": wechat_keys.apiv3_key})
        h, body = notification(mixed, "TRANSACTION.SUCCESS", payment_resource(out_trade_no="ORD-C"), ts=NOW, nid="EV-C")
        assert client.post("/notify/wechat", content=body, headers=h).status_code != 204
    assert ws.con.execute("SELECT merchant_id, order_no FROM transactions ORDER BY 1").fetchall() == [
        ("1900000108", "ORD-B"), ("1900000109", "ORD000001")]
    assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
    ws.close()


def test_a_refund_only_a_notification_reports_is_unconfirmed_until_the_bill(tmp_path, wechat_keys):
    """A REFUND.SUCCESS notification with no bill yet: the refund is unconfirmed, not refund_matched (helper-51: a
    refund the channel never books was reported as done); the day's bill then confirms it."""
    import datetime as dt

    from wechat_billgen import refund
    from wechat_notifygen import refund_resource

    ws = Workspace(tmp_path / "w.duckdb")
    with TestClient(create_app(ws, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)) as c:
        for event, resource, nid in (("TRANSACTION.SUCCESS", payment_resource(), "EV-1"),
                                     ("REFUND.SUCCESS", refund_resource(transaction_id="4200000000000000000000000001",
                                                                        refund_id="50300000000000000000000001"), "EV-2")):
            h, body = notification(wechat_keys, event, resource, ts=NOW, nid=nid)
            assert c.post("/notify/wechat", content=body, headers=h).status_code == 204
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD000001,S1,1900000109,wechat,100.00,partially_refunded,2026-11-20 09:59:00,2026-11-20 10:00:00\n",
        encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF000001,ORD000001,25.00,2026-11-20 11:00:00,success\n", encoding="utf-8")
    ws.ingest_csv("orders", tmp_path / "orders.csv")
    ws.ingest_csv("refunds", tmp_path / "refunds.csv")
    ws.close()

    def kinds():
        res = reconcile_workspace(tmp_path / "w.duckdb", dt.date(2026, 11, 20), dt.date(2026, 11, 20), tmp_path / "o")
        with open(res.outcomes_csv, encoding="utf-8") as f:
            return {r["outcome_id"]: (r["kind"], r["reason"]) for r in csv.DictReader(f)}

    got = kinds()
    assert {k: v[0] for k, v in got.items()} == {"P-ORD000001": "unconfirmed", "R-RF000001": "unconfirmed"}
    assert "refund amounts agree (25.00)" in got["R-RF000001"][1] and "no bill confirms it" in got["R-RF000001"][1]
    pay = payment(1, 10000, coupon_fen=500)
    back = refund(1, 2500, time="2026-11-20 10:00:00")
    back.update({"微信退款单号": "50300000000000000000000001", "商户退款单号": "RF000001"})
    b = wbill.parse(trade_bill([pay, back], "ALL"), "bill-2026-11-20.csv")
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.ingest_transactions(b.transactions, source=b.source, sha256=b.sha256, origin="bill")
    assert {k: v[0] for k, v in kinds().items()} == {"P-ORD000001": "matched", "R-RF000001": "refund_matched"}


def test_junk_posted_to_the_endpoints_cannot_fill_the_workspace(tmp_path, wechat_keys, monkeypatch):
    """helper-51: 300 unsigned 64 KiB posts were 300 quarantine rows of 64 KiB. A body over 256 KiB is refused
    unread (413); a rejected body is kept up to 16 KiB, and at most KEEP_REJECTED of them per channel."""
    import os

    from paymatch.web.app import WorkspaceSink

    monkeypatch.setattr(WorkspaceSink, "KEEP_REJECTED", 5)
    ws = Workspace(tmp_path / "w.duckdb")
    with TestClient(create_app(ws, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)) as c:
        junk = {"Wechatpay-Timestamp": str(NOW), "Wechatpay-Signature": "AAAA", "Wechatpay-Serial": wechat_keys.platform_id}
        for i in range(8):
            assert c.post("/notify/wechat", content=os.urandom(20_000), headers={**junk, "Wechatpay-Nonce": f"n{i}"}
                          ).status_code == 401
        assert c.post("/notify/wechat", content=b"x" * 300_000, headers={**junk, "Wechatpay-Nonce": "big"}
                      ).status_code == 413
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
        assert c.post("/notify/wechat", content=body, headers=h).status_code == 204  # genuine ones still stored
    assert ws.con.execute("SELECT count(*), max(octet_length(payload)) FROM quarantine").fetchone() == (5, 16 * 1024)
    assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 1
    ws.close()


def test_serve_shares_its_workspace_file_with_the_other_commands(tmp_path, wechat_keys):
    """helper-51: serve held its workspace file, so the README advised a file of its own, whose notifications no
    reconciliation ever saw. Given a file, the service opens it per request: ingest and reconcile use the same file
    while it runs, and the notification reconciles (unconfirmed); while another process holds the file, a
    notification is answered 500 (WeChat resends it) and is stored when it comes again."""
    import datetime as dt
    import subprocess
    import sys

    w = tmp_path / "w.duckdb"
    app = create_app(w, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)
    with TestClient(app) as client:
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        orders = tmp_path / "orders.csv"
        orders.write_text("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
                          "ORD000001,S1,1900000109,wechat,100.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00\n",
                          encoding="utf-8")
        with Workspace(w) as ws:  # while the service runs
            ws.ingest_csv("orders", orders)
        res = reconcile_workspace(w, dt.date(2026, 11, 20), dt.date(2026, 11, 20), tmp_path / "out")
        with open(res.outcomes_csv, encoding="utf-8") as f:
            assert {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)} == {"P-ORD000001": "unconfirmed"}
        app.state.access.wait = 0.2
        holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                                   "print('held', flush=True); time.sleep(30)", str(w)], stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "held"
            h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(
                out_trade_no="ORD000002", transaction_id="4200000000000000000000000002"), ts=NOW, nid="EV-2")
            assert client.post("/notify/wechat", content=body, headers=h).status_code == 500
        finally:
            holder.kill()
            holder.wait()
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(
            out_trade_no="ORD000002", transaction_id="4200000000000000000000000002"), ts=NOW, nid="EV-2")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204  # WeChat's resend
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT order_no FROM transactions ORDER BY 1").fetchall() == [("ORD000001",), ("ORD000002",)]


def test_while_wechat_switches_keys_notifications_signed_with_either_verify(tmp_path, wechat_keys):
    """helper-51: while WeChat moves an account from the platform certificate to the WeChat Pay public key it signs
    callbacks with either; with one key per account half were refused. switch_platform_key_file/_id names the
    other one."""
    from types import SimpleNamespace

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_keys = SimpleNamespace(**{**vars(wechat_keys), "platform": key, "platform_id": "5157F09EFDC096DE15EBE81A47057A72"})
    (tmp_path / "cert.pem").write_text(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    cfg = _config(tmp_path, wechat_keys)
    cfg.write_text(cfg.read_text(encoding="utf-8") + 'switch_platform_key_file = "cert.pem"\n'
                   'switch_platform_key_id = "5157F09EFDC096DE15EBE81A47057A72"\n', encoding="utf-8")
    ws = Workspace(tmp_path / "w.duckdb")
    with TestClient(create_app(ws, load_config(cfg), tmp_path, clock=lambda: NOW)) as client:
        for keys, nid, order in ((wechat_keys, "EV-1", "ORD000001"), (cert_keys, "EV-2", "ORD000002")):
            h, body = notification(keys, "TRANSACTION.SUCCESS", payment_resource(
                out_trade_no=order, transaction_id=f"42000000000000000000000000{nid[-1]}"), ts=NOW, nid=nid)
            assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
    assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 2
    ws.close()


def test_a_signed_notification_with_a_bad_value_is_refused_and_quarantined(tmp_path, wechat_keys):
    """helper-107 (bench/fuzz_notify.py): a notification WeChat signed whose resource does not read (an amount
    below zero) was answered 400 but not kept: the quarantine holds every other refused one. Nothing stored."""
    ws = Workspace(tmp_path / "w.duckdb")
    app = create_app(ws, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)
    with TestClient(app) as client:
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(
            amount={"total": -5, "currency": "CNY"}), ts=NOW, nid="EV-NEG")
        r = client.post("/notify/wechat", content=body, headers=h)
    assert r.status_code == 400 and "amount.total" in r.json()["message"]
    assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0
    (reason,), = ws.con.execute("SELECT reason FROM quarantine").fetchall()
    assert "EV-NEG" in reason and "amount.total" in reason
