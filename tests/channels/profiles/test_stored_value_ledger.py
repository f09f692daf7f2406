"""The stored-value ledger (the built-in ``stored_value`` profile) is the journal of the shop's balance payments:
an order paid by 余额 / 储值 (method ``balance``, the word the ERP mapping gives 储值卡 and 余额支付, internal by
default) whose ledger row is loaded is matched, as a points order against the points ledger is (helper-117's audit:
every such order was channel_mismatch, "paid by internal method balance but channel stored_value has a payment")."""

import csv
import shutil
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "paymatch" / "profiles" / "samples" / "stored_value.csv"


def _outcomes(tmp_path, orders: str) -> dict[str, dict]:
    bills = tmp_path / "bills"
    bills.mkdir()
    shutil.copy(SAMPLE, bills / SAMPLE.name)
    (tmp_path / "o.csv").write_text("order_no,store_id,channel,amount,status,created_at,paid_at\n" + orders,
                                    encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bills),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_a_balance_order_is_matched_against_its_ledger_row(tmp_path):
    # the sample's first rows: 储值消费 -25.00 for SO2026112220000 and -2560.50 for SO2026112220001
    rows = _outcomes(tmp_path, "SO2026112220000,S1,balance,25.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:00\n"
                               "SO2026112220001,S1,balance,2560.00,paid,2026-11-20 09:17:00,2026-11-20 09:17:40\n"
                               "SV9,S1,balance,8.00,paid,2026-11-20 09:20:00,2026-11-20 09:20:00\n")
    assert (rows["P-SO2026112220000"]["kind"], rows["P-SO2026112220000"]["channel_amount_fen"]) == ("matched", "2500")
    # the ledger is read like any bill: a row that disagrees is a difference, not hidden as internal
    assert (rows["P-SO2026112220001"]["kind"], rows["P-SO2026112220001"]["difference_fen"]) == ("amount_mismatch", "50")
    # a balance order without a ledger row is still internal (no external record expected)
    assert rows["P-SV9"]["kind"] == "internal"
