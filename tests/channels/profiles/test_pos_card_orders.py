"""A bank-card order paid at a store's POS terminal is on its acquirer's bill (the built-in POS profiles, channel
``bank_card_pos``): matched under the default rules, where ``bank_card`` settles through unionpay (helper-117's audit:
every such payment was channel_mismatch unless the shop's config routed bank_card to bank_card_pos)."""

import csv
import shutil
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app

SAMPLE = Path(__file__).resolve().parents[3] / "src" / "paymatch" / "profiles" / "samples" / "bank_card_pos.csv"


def _run(tmp_path, method: str) -> dict[str, dict]:
    bills = tmp_path / "bills"
    bills.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, bills / SAMPLE.name)
    # the sample's first row: 消费 ¥58.00 for SO2026112040000 at 09:00:06 on merchant 822100054110001
    (tmp_path / "o.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
        f"SO2026112040000,S1,822100054110001,{method},58.00,paid,2026-11-20 09:00:00,2026-11-20 09:00:05\n",
        encoding="utf-8")
    out = tmp_path / f"out_{method}"
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--bills", str(bills),
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    with (out / "outcomes.csv").open(encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_a_card_order_on_a_pos_bill_is_matched_under_the_defaults(tmp_path):
    row = _run(tmp_path, "bank_card")["P-SO2026112040000"]
    assert (row["kind"], row["channel"], row["channel_amount_fen"], row["order_amount_fen"]) == (
        "matched", "bank_card_pos", "5800", "5800")


def test_a_wechat_order_on_a_pos_bill_is_still_a_channel_mismatch(tmp_path):
    # the mapping lets the POS bill settle card payments only: a WeChat order's payment there is on the wrong bill
    assert _run(tmp_path, "wechat")["P-SO2026112040000"]["kind"] == "channel_mismatch"
