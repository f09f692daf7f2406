"""The instalment-flow CSV loader: exact fen, UTC times, every bad value reported with its line."""

from __future__ import annotations

import datetime as dt

import pytest

from paymatch.errors import LoadError
from paymatch.instalments.flows import FLOW_ARROW, load_flows_csv

HEADER = "channel,order_no,period_no,periods,amount,fee,status,occurred_at,extra\n"


def test_loads_exact_fen_and_utc(tmp_path):
    p = tmp_path / "flows.csv"
    p.write_text(HEADER + "wechat_payscore,O1,1,3,100.01,0.01000,success,2024-01-31 09:00:00,x\n"
                 "wechat_payscore,O1,2,3,99.99,,success,2024-02-29T09:00:00+08:00,y\n"
                 "wechat_payscore,O1,2,3,99.99,,success,2024-02-29T01:00:00Z,dup\n", encoding="utf-8")
    t = load_flows_csv(p)
    assert t.schema == FLOW_ARROW
    rows = t.to_pylist()
    assert [r["amount_fen"] for r in rows] == [10001, 9999, 9999]
    assert [r["fee_fen"] for r in rows] == [1, None, None]
    assert rows[0]["occurred_at"] == dt.datetime(2024, 1, 31, 1, tzinfo=dt.timezone.utc)  # naive = Shanghai
    assert rows[1]["occurred_at"] == rows[2]["occurred_at"]
    assert [r["src_line"] for r in rows] == [2, 3, 4]  # duplicates are kept: matching reports them


def test_every_bad_value_is_reported_with_physical_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(HEADER
                 + 'wechat_payscore,"O\n1",0,3,1.001,abc,paid,yesterday,x\n'   # record spans lines 2-3
                 + "wechat_payscore,O2,4,3,-1.00,,success,2024-01-01 00:00:00,x\n"
                 + ",,1,-3,1.00,,success,2024-01-01 00:00:00,x\n", encoding="utf-8")
    with pytest.raises(LoadError) as ei:
        load_flows_csv(p)
    got = {(pr.line, pr.field) for pr in ei.value.problems}
    assert got == {
        (2, "period_no"), (2, "amount"), (2, "fee"), (2, "status"), (2, "occurred_at"),
        (4, "period_no"), (4, "amount"),
        (5, "channel"), (5, "order_no"), (5, "periods"),
    }
    assert all(pr.file == str(p) for pr in ei.value.problems)
    assert "beyond the flow's own periods" in str(ei.value)


def test_missing_columns_and_unreadable_file(tmp_path):
    p = tmp_path / "short.csv"
    p.write_text("channel,order_no\nx,y\n", encoding="utf-8")
    with pytest.raises(LoadError, match="required column missing") as ei:
        load_flows_csv(p)
    assert {pr.field for pr in ei.value.problems} == {"period_no", "periods", "amount", "fee", "status", "occurred_at"}
    with pytest.raises(LoadError, match="cannot read"):
        load_flows_csv(tmp_path / "nope.csv")
