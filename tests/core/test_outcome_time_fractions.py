"""outcomes.csv's occurred_at keeps the fraction of a second the engine keeps (to the microsecond)."""

from __future__ import annotations

import csv
import datetime as dt

from typer.testing import CliRunner

from paymatch.cli import app

SH = dt.timezone(dt.timedelta(hours=8))


def test_occurred_at_keeps_its_fraction_of_a_second(tmp_path):
    # 2026-11-20T10:00:05.250+08:00 was written …T10:00:05+08:00: two payments 250 ms apart read as simultaneous,
    # and the file disagreed with the time_mismatch reason beside it, which gives the fraction
    (tmp_path / "o.csv").write_text(
        "order_no,channel,amount,status,paid_at\n"
        "F1,wechat,100.00,paid,2026-11-20T10:00:05.250+08:00\n"
        "F2,wechat,100.00,paid,2026-11-20T10:01:05+08:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        "channel,channel_tx_id,order_no,type,amount,status,occurred_at\n"
        "wechat,W1,F1,payment,100.00,success,2026-11-20T10:00:06.5+08:00\n"
        "wechat,W2,F2,payment,100.00,success,2026-11-20T10:01:06+08:00\n"
        "wechat,W3,F9,payment,1.00,success,2026-11-20T10:02:05.000001+08:00\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                   str(tmp_path / "t.csv"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        got = {r["outcome_id"]: r["occurred_at"] for r in csv.DictReader(f)}
    # ISO-8601 as Python's datetime.isoformat() writes it: six digits when the time has a fraction, none when whole
    assert got == {"P-F1": "2026-11-20T10:00:05.250000+08:00", "P-F2": "2026-11-20T10:01:05+08:00",
                   "P-F9": "2026-11-20T10:02:05.000001+08:00"}
    # read back, each is the instant the inputs gave, to the microsecond
    assert dt.datetime.fromisoformat(got["P-F1"]) == dt.datetime(2026, 11, 20, 10, 0, 5, 250000, tzinfo=SH)
    assert got["P-F1"] == dt.datetime(2026, 11, 20, 10, 0, 5, 250000, tzinfo=SH).isoformat()
