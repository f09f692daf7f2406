"""A channel record listed twice with different statuses: its successful copy stands for it, whatever the file order."""

import csv

import pytest
from typer.testing import CliRunner

from paymatch.cli import app

TX = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date\n"


@pytest.mark.parametrize("first", ["a", "b"])
def test_the_successful_copy_is_primary_in_either_file_order(tmp_path, first):
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nCF,wechat,4.00,paid,2026-11-20 10:00:00\n"
                                    "K2,wechat,5.00,paid,2026-11-20 10:00:00\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text(TX + "wechat,M1,TXCF,CF,payment,,,4.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TK2,K2,payment,,,5.00,0,success,2026-11-20 10:00:05,2026-11-20\n",
                                    encoding="utf-8")
    (tmp_path / "b.csv").write_text(TX + "wechat,M1,TXCF,CF,payment,,,4.00,0,closed,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TK2,K2,payment,,,5.00,0.01,success,2026-11-20 10:00:05,2026-11-20\n",
                                    encoding="utf-8")
    files = ["a.csv", "b.csv"] if first == "a" else ["b.csv", "a.csv"]
    args = ["reconcile", "--orders", str(tmp_path / "o.csv"), "--out", str(tmp_path / "out")]
    for f in files:
        args += ["--transactions", str(tmp_path / f)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert rows["P-CF"]["kind"] == "matched"
    assert rows["D-wechat:TXCF:payment:"]["channel_status"] == "closed"  # the closed copy is the duplicate
    # copies that are both successful: the first in file order stands (its fee)
    assert rows["P-K2"]["fee_fen"] == ("0" if first == "a" else "1")
