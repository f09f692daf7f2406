"""An account whose bill is late while its real-time notifications came in is still named in summary.json's
``merchant_numbers_without_records`` (audit_round12: the notifications counted as its records, so a day run said
nothing of the missing bill; its un-notified orders were order_only without a word)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
from test_serve_e2e import NOW, _config
from wechat_notifygen import notification, payment_resource

from paymatch.config import load_config
from paymatch.run import reconcile_workspace
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

sys.path.append(str(Path(__file__).resolve().parents[1] / "alipay"))
from loopback import serve  # noqa: E402

DAY = __import__("datetime").date(2026, 11, 20)


def test_an_account_with_notifications_but_no_bill_is_named(tmp_path, wechat_keys):
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD000001,S1,1900000109,wechat,100.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00\n"
        "ORD000002,S1,1900000109,wechat,30.00,paid,2026-11-20 11:59:00,2026-11-20 12:00:00\n"
        "ORD000003,S2,1900000200,wechat,40.00,paid,2026-11-20 12:59:00,2026-11-20 13:00:00\n", encoding="utf-8")
    # the other account's bill of the day came in; 1900000109's is late
    (tmp_path / "tx.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,amount,fee,status,occurred_at,bill_date\n"
        "wechat,1900000200,4200000000000000000000000003,ORD000003,payment,40.00,0.24,success,2026-11-20 13:00:01,"
        "2026-11-20\n", encoding="utf-8")
    w = tmp_path / "w.duckdb"
    with serve(create_app(w, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)) as url:
        h, body = notification(wechat_keys, "TRANSACTION.SUCCESS", payment_resource(), ts=NOW, nid="EV-1")
        assert httpx.post(f"{url}/notify/wechat", content=body, headers=h, timeout=10).status_code == 204
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
        ws.ingest_csv("transactions", tmp_path / "tx.csv")
    res = reconcile_workspace(w, DAY, DAY, tmp_path / "out")
    summary = json.loads(Path(res.summary_json).read_text(encoding="utf-8"))
    kinds = {k["kind"]: k["count"] for k in summary["by_kind"]}
    assert (kinds["order_only"], kinds["unconfirmed"], kinds["matched"]) == (1, 1, 1)
    assert summary.get("channels_without_records", []) == []  # the channel has the other account's records
    assert summary["merchant_numbers_without_records"] == [
        {"channel": "wechat", "merchant_id": "1900000109", "orders": 2, "order_amount_fen": 13000, "notifications": 1}]
