"""A file-only run streams its outcomes into outcomes.csv (no table in between) and sums the summary
while writing; a run with a workspace stores them first. Both must give the same file and summary,
and the summary must describe exactly the rows that are in the file."""

import csv
import json
from collections import Counter, defaultdict

from paymatch.run import reconcile_files


def _rows(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _fen(v: str) -> int:
    return int(v) if v else 0


def test_streamed_and_stored_runs_agree(demo_small, tmp_path):
    inputs = (demo_small.orders, demo_small.refunds, [demo_small.transactions])
    streamed = reconcile_files(*inputs, tmp_path / "file")
    stored = reconcile_files(*inputs, tmp_path / "ws", workspace=tmp_path / "w.duckdb")
    assert streamed.table is None and stored.table is not None  # the two edge paths really differ
    a, b = _rows(streamed.outcomes_csv), _rows(stored.outcomes_csv)
    assert sorted(map(lambda r: tuple(r.items()), a)) == sorted(map(lambda r: tuple(r.items()), b))
    drop = ("run_id",)
    sa = {k: v for k, v in json.loads(streamed.summary_json.read_text()).items() if k not in drop}
    sb = {k: v for k, v in json.loads(stored.summary_json.read_text()).items() if k not in drop}
    assert sa == sb and sa["conservation"] is True


def test_summary_describes_the_file(demo_small, tmp_path):
    res = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "out")
    rows = _rows(res.outcomes_csv)
    assert len(rows) == res.summary["outcomes"] > 1000
    count = Counter(r["kind"] for r in rows)
    sums = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        s = sums[r["kind"]]
        s[0] += _fen(r["order_amount_fen"])
        s[1] += _fen(r["channel_amount_fen"])
        s[2] += _fen(r["difference_fen"])
    for k in res.summary["by_kind"]:
        assert count[k["kind"]] == k["count"]
        assert sums[k["kind"]] == [k["order_amount_fen"], k["channel_amount_fen"], k["difference_fen"]]
    assert set(count) == {k["kind"] for k in res.summary["by_kind"]}
    per_channel = Counter((r["channel"] or "(none)", r["kind"]) for r in rows)
    assert per_channel == Counter({(c["channel"], c["kind"]): c["count"] for c in res.summary["by_channel"]})
    # every transaction row is counted once across the outcomes, as the control totals say
    tx_rows = sum(int(r["channel_rows"]) for r in rows)
    assert tx_rows == res.summary["control_totals"]["transactions"]["input_rows"]


def test_undated_records_count_by_their_local_day_in_both_modes(tmp_path):
    """A record without bill_date belongs to its Asia/Shanghai day: 02:00 on the 21st is the 21st (18:00 UTC
    on the 20th), so the window ends after the 21st whether or not a workspace keeps the rows."""
    (tmp_path / "o.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        "A1,S1,M1,wechat,10.00,paid,2026-11-21T01:59:00+08:00,2026-11-21T01:59:30+08:00,,,0\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
        "status,occurred_at,bill_date,method\n"
        "wechat,M1,T1,A1,payment,,,10.00,0.00,,success,2026-11-21T02:00:00+08:00,,\n", encoding="utf-8")
    a = reconcile_files(tmp_path / "o.csv", None, [tmp_path / "t.csv"], tmp_path / "file")
    b = reconcile_files(tmp_path / "o.csv", None, [tmp_path / "t.csv"], tmp_path / "ws", workspace=tmp_path / "w.duckdb")
    assert a.summary["period"] == b.summary["period"] == {"from": "2026-11-21", "to": "2026-11-21"}
    assert a.summary["window_end"] == b.summary["window_end"]


TX_HEADER = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at\n"
ORD_HEADER = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"


def _tx(i: int, amount: str = "1.00", kind: str = "payment", refund: str = "") -> str:
    return f"wechat,M1,T{i},O{i},{kind},{refund},{refund},{amount},0,success,2026-11-20T10:00:00+08:00\n"


def test_records_repeat_sees_the_record_identity(tmp_path):
    from paymatch.backends.scope import by_staged
    from paymatch.workspace import Workspace

    def repeats(*files: str) -> bool:
        with Workspace(None) as ws:
            tables = []
            for n, text in enumerate(files):
                p = tmp_path / f"t{n}.csv"
                p.write_text(TX_HEADER + text)
                tables.append(ws.stage_file("transactions", p).table)
            o = tmp_path / "o.csv"
            o.write_text(ORD_HEADER)
            return ws.records_repeat(by_staged(ws.stage_file("orders", o).table, [], tables, []).txs)

    assert not repeats(_tx(1) + _tx(2))
    assert not repeats(_tx(1) + _tx(1, kind="refund", refund="R1"))  # a refund carries its payment's id
    assert not repeats(_tx(1, kind="refund", refund="R1") + _tx(1, kind="refund", refund="R2"))
    assert repeats(_tx(1) + _tx(2) + _tx(1, amount="2.00"))  # same record, other amount: still the same record
    assert repeats(_tx(1), _tx(1))  # across two files


def test_file_order_decides_the_primary_copy_in_a_big_file(tmp_path):
    """Transactions load in any order (fast) unless a record repeats; then file order picks the primary copy."""
    n = 200_000
    (tmp_path / "o.csv").write_text(ORD_HEADER + "".join(
        f"O{i},S1,M1,wechat,1.00,paid,2026-11-20T09:00:00+08:00,2026-11-20T09:00:01+08:00\n" for i in range(n)))
    body = "".join(_tx(i) for i in range(1, n))
    for first, last, kind in (("1.00", "9.99", "matched"), ("9.99", "1.00", "amount_mismatch")):
        (tmp_path / "t.csv").write_text(TX_HEADER + _tx(0, first) + body + _tx(0, last))
        res = reconcile_files(tmp_path / "o.csv", None, [tmp_path / "t.csv"], tmp_path / kind)
        rows = {r["outcome_id"]: r for r in _rows(res.outcomes_csv) if r["order_no"] == "O0"}
        assert rows["P-O0"]["kind"] == kind and rows["P-O0"]["channel_amount_fen"] == str(int(first.replace(".", "")))
        dup = [r for r in rows.values() if r["kind"] == "duplicate_record"]
        assert len(dup) == 1 and dup[0]["channel_amount_fen"] == str(int(last.replace(".", "")))
        assert res.summary["conservation"] is True


def test_a_failing_writer_leaves_no_file_and_does_not_hang(demo_small, tmp_path, monkeypatch):
    """A failure while outcomes.csv is written (here at the third of many batches) reaches the caller
    and nothing half-written stays."""
    import functools

    import pytest

    from paymatch import outcomes_store, run

    real, calls = outcomes_store._batch_rollup, []

    def fails_third(batch):
        calls.append(batch.num_rows)
        if len(calls) == 3:
            raise OSError("disk full (simulated)")
        return real(batch)

    monkeypatch.setattr(outcomes_store, "_batch_rollup", fails_third)
    monkeypatch.setattr(run, "write_csv", functools.partial(outcomes_store.write_csv, batch_rows=256))
    with pytest.raises(OSError, match="simulated"):
        reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "out")
    assert len(calls) == 3  # batches after the failure are not written
    assert not any((tmp_path / "out").glob("outcomes.csv*"))
    monkeypatch.setattr(outcomes_store, "_batch_rollup", real)  # and the small batches add up like one
    whole = reconcile_files(demo_small.orders, demo_small.refunds, [demo_small.transactions], tmp_path / "ok")
    assert whole.summary["conservation"] and whole.summary["outcomes"] == len(_rows(whole.outcomes_csv))
