"""A refund notification and the canonical transactions CSV that confirms it without the optional channel_refund_id
(README: --transactions takes canonical CSVs as bills; any column but the required ones may be left out): one record,
whichever comes first. audit_round12 found both stored, a duplicate_refund of twice the money."""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

import httpx
from test_serve_e2e import _config  # the one-account config the serve tests use
from wechat_notifygen import notification, payment_resource, refund_resource

from paymatch.config import load_config
from paymatch.run import reconcile_workspace
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

sys.path.append(str(Path(__file__).resolve().parents[1] / "alipay"))
from loopback import serve  # noqa: E402

NOW = 1_795_000_000
DAY = dt.date(2026, 11, 20)
TX, REFUND_ID = "4200000000000000000000000001", "50300000000000000000000001"


def _notify(url: str, keys, *events) -> None:
    for i, (event, resource) in enumerate(events):
        h, body = notification(keys, event, resource, ts=NOW, nid=f"EV-{event}-{i}")
        assert httpx.post(f"{url}/notify/wechat", content=body, headers=h, timeout=10).status_code == 204


def _files(tmp_path) -> Path:
    (tmp_path / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        "ORD000001,S1,1900000109,wechat,100.00,partially_refunded,2026-11-20 09:59:00,2026-11-20 10:00:00\n",
        encoding="utf-8")
    (tmp_path / "refunds.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                          "RF000001,ORD000001,25.00,2026-11-20 11:00:00,success\n", encoding="utf-8")
    tx = tmp_path / "tx.csv"  # the day's records as a canonical export: no channel_refund_id column
    tx.write_text("channel,merchant_id,channel_tx_id,order_no,type,refund_no,amount,fee,status,occurred_at,bill_date\n"
                  f"wechat,1900000109,{TX},ORD000001,payment,,100.00,0.60,success,2026-11-20 10:00:00,2026-11-20\n"
                  f"wechat,1900000109,{TX},ORD000001,refund,RF000001,25.00,0.00,success,2026-11-20 11:00:05,"
                  "2026-11-20\n", encoding="utf-8")
    return tx


def _state(tmp_path):
    w = tmp_path / "w.duckdb"
    with Workspace(w) as ws:
        rows = ws.con.execute("SELECT type, origin, amount_fen FROM transactions ORDER BY type, origin").fetchall()
    res = reconcile_workspace(w, DAY, DAY, tmp_path / "out")
    with open(res.outcomes_csv, encoding="utf-8") as f:
        got = {r["outcome_id"]: (r["kind"], r["channel_amount_fen"], r["channel_rows"]) for r in csv.DictReader(f)}
    return rows, got


BOTH = [("payment", "file", 10000), ("refund", "file", 2500)]
OUTCOMES = {"P-ORD000001": ("matched", "10000", "1"), "R-RF000001": ("refund_matched", "2500", "1")}


def test_the_canonical_csv_replaces_the_refund_notification_that_names_its_refund_id(tmp_path, wechat_keys):
    tx = _files(tmp_path)
    w = tmp_path / "w.duckdb"
    with serve(create_app(w, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)) as url:
        _notify(url, wechat_keys, ("TRANSACTION.SUCCESS", payment_resource()),
                ("REFUND.SUCCESS", refund_resource(refund_id=REFUND_ID)))
    with Workspace(w) as ws:
        ws.ingest_csv("orders", tmp_path / "orders.csv")
        ws.ingest_csv("refunds", tmp_path / "refunds.csv")
        assert ws.con.execute("SELECT count(*) FROM transactions WHERE origin = 'notify'").fetchone() == (2,)
        ws.ingest_csv("transactions", tx)
    assert _state(tmp_path) == (BOTH, OUTCOMES)  # was a notify refund beside the file's: duplicate_refund, 50.00


def test_a_refund_notification_after_the_canonical_csv_is_not_stored_beside_it(tmp_path, wechat_keys):
    tx = _files(tmp_path)
    w = tmp_path / "w.duckdb"
    with Workspace(w) as ws:
        for kind, path in (("orders", tmp_path / "orders.csv"), ("refunds", tmp_path / "refunds.csv"),
                           ("transactions", tx)):
            ws.ingest_csv(kind, path)
    with serve(create_app(w, load_config(_config(tmp_path, wechat_keys)), tmp_path, clock=lambda: NOW)) as url:
        _notify(url, wechat_keys, ("REFUND.SUCCESS", refund_resource(refund_id=REFUND_ID)),
                ("TRANSACTION.SUCCESS", payment_resource()))
    assert _state(tmp_path) == (BOTH, OUTCOMES)
