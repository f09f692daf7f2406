"""Workspace replace rules: records without the channel's id, late notifications versus bills."""

import datetime as dt

import pyarrow as pa

from paymatch.schema import TRANSACTION_ARROW
from paymatch.workspace import Workspace

T = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _table(rows):
    base = dict(channel="cash", merchant_id="S1", channel_tx_id=None, order_no=None, type="payment", refund_no=None,
                channel_refund_id=None, amount_fen=100, fee_fen=0, settle_amount_fen=None, status="success",
                occurred_at=T, bill_date=dt.date(2026, 11, 20), method="cash", src_file="f.csv", src_line=2)
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=TRANSACTION_ARROW)


def test_records_without_ids_do_not_replace_each_other():
    ws = Workspace(None)
    ws.ingest_transactions(_table([{"order_no": "A", "amount_fen": 990}, {"order_no": "B", "amount_fen": 1933,
                                                                          "type": "refund"}]), source="day20", sha256="a" * 64)
    ws.ingest_transactions(_table([{"order_no": "C", "amount_fen": 500, "occurred_at": T + dt.timedelta(days=1)}]),
                           source="day21", sha256="b" * 64)
    rows = ws.con.execute("SELECT order_no, channel_tx_id FROM transactions ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["A", "B", "C"]
    assert all(r[1].startswith("~") for r in rows) and len({r[1] for r in rows}) == 3
    # the same content again (another path) replaces itself, nothing doubles
    ws.ingest_transactions(_table([{"order_no": "C", "amount_fen": 500, "occurred_at": T + dt.timedelta(days=1)}]),
                           source="day21-copy", sha256="c" * 64)
    assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3


def test_late_notification_does_not_replace_the_bill_row():
    ws = Workspace(None)
    bill = _table([{"channel": "wechat", "channel_tx_id": "T2", "order_no": "O2", "fee_fen": 30}])
    ws.ingest_transactions(bill, source="bill", sha256="d" * 64, origin="bill")
    note = _table([{"channel": "wechat", "channel_tx_id": "T2", "order_no": "O2", "fee_fen": None, "src_line": None}])
    ws.ingest_transactions(note, source="notify:wechat:EV9", sha256="e" * 64, origin="notify")
    assert ws.con.execute("SELECT count(*), min(origin), min(fee_fen) FROM transactions").fetchall()[0] == (1, "bill", 30)
    # a newer notification still replaces an older notification of the same record
    ws2 = Workspace(None)
    ws2.ingest_transactions(_table([{"channel": "wechat", "channel_tx_id": "T3", "status": "processing"}]),
                            source="n1", sha256="f" * 64, origin="notify")
    ws2.ingest_transactions(_table([{"channel": "wechat", "channel_tx_id": "T3", "status": "success"}]),
                            source="n2", sha256="9" * 64, origin="notify")
    assert ws2.con.execute("SELECT count(*), min(status) FROM transactions").fetchall()[0] == (1, "success")
