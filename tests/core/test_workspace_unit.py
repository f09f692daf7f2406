"""Workspace.unit: several stores as one transaction, all of them or none."""

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from paymatch.schema import TRANSACTION_ARROW
from paymatch.workspace import Workspace

T = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _table(order_no: str) -> pa.Table:
    row = dict(channel="cash", merchant_id="S1", channel_tx_id=None, order_no=order_no, type="payment",
               refund_no=None, channel_refund_id=None, amount_fen=100, fee_fen=0, settle_amount_fen=None,
               status="success", occurred_at=T, bill_date=dt.date(2026, 11, 20), method="cash", src_file="f.csv",
               src_line=2)
    return pa.Table.from_pylist([row], schema=TRANSACTION_ARROW)


def _stored(ws: Workspace) -> tuple[int, int]:
    return tuple(ws.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("transactions", "batches"))


@pytest.mark.parametrize("store", ["transactions", "fund_flows"])
def test_a_store_failing_inside_a_unit_raises_its_own_error_and_stores_nothing(store):
    # a store's statement fails inside the unit (here: a value DuckDB cannot cast; a full disk alike): the error the
    # caller sees is that one, not "Current transaction is aborted" from the cleanup after it; the unit stores
    # none of its bills, and the workspace stores the next load
    ws = Workspace(None)
    bad = pa.table({"amount_fen": ["x"]})
    with pytest.raises(duckdb.Error) as err:
        with ws.unit():
            ws.ingest_transactions(_table("A"), source="zm", sha256="a" * 64)
            if store == "transactions":
                ws.ingest_transactions(_table("B").set_column(7, "amount_fen", pa.array(["x"])), source="zme",
                                       sha256="b" * 64)
            else:
                ws.ingest_fund_flows(bad, channel="wechat", account=None, source="ff", sha256="c" * 64)
    assert not isinstance(err.value, duckdb.TransactionException), err.value
    assert _stored(ws) == (0, 0)
    ws.ingest_transactions(_table("C"), source="later", sha256="d" * 64)
    assert _stored(ws) == (1, 1)
    assert ws.con.execute("SELECT order_no FROM transactions").fetchall() == [("C",)]


def test_an_interrupt_inside_a_unit_stores_nothing():
    # Ctrl-C while a day's zip is being stored: the bills stored so far go with the rollback
    ws = Workspace(None)
    with pytest.raises(KeyboardInterrupt):
        with ws.unit():
            ws.ingest_transactions(_table("A"), source="zm", sha256="a" * 64)
            raise KeyboardInterrupt
    assert _stored(ws) == (0, 0)
    assert not ws._unit


def test_a_rollback_that_fails_does_not_hide_the_error_that_caused_it():
    # the block fails, and then the rollback fails too (here: the block ended the transaction itself, as a
    # connection lost does): the caller sees the block's error, not "no transaction is active"
    from paymatch.workspace_commit import transaction

    con = duckdb.connect()
    con.execute("CREATE TABLE t (x INT)")
    with pytest.raises(ValueError, match="the block's own"):
        with transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
            con.execute("ROLLBACK")
            raise ValueError("the block's own error")
    assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    with transaction(con):  # the connection takes the next transaction
        con.execute("INSERT INTO t VALUES (2)")
    assert con.execute("SELECT x FROM t").fetchall() == [(2,)]
