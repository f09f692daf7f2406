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
