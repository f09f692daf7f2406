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
