"""End to end through the CLI: the demo (generate → reconcile → accuracy) and --help on every command."""

import json

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()


def test_demo_end_to_end(tmp_path):
    r = runner.invoke(app, ["demo", "--out", str(tmp_path), "--stores", "20", "--days", "2",
                            "--orders-per-store-day", "200"])
    assert r.exit_code == 0, r.output
    acc = json.loads((tmp_path / "accuracy.json").read_text())
    assert acc["accuracy"] == 1.0 and acc["unexpected_outcomes"] == 0
    kinds = {k["kind"] for k in acc["by_kind"]}
    assert {"matched", "order_only", "channel_only", "amount_mismatch", "duplicate_payment", "refund_matched"} <= kinds
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["conservation"] is True
    assert "Control totals" in r.output and "outcomes:" in r.output
    # the bills' settlement amounts follow each channel's convention (the reports' net settlement reads them so):
    # UnionPay's is net of the fee, WeChat's and Alipay's before it (helper-67: the demo wrote UnionPay's gross)
    import csv
    from decimal import Decimal

    with (tmp_path / "data" / "transactions.csv").open(encoding="utf-8") as f:
        pays = [r for r in csv.DictReader(f) if r["type"] == "payment"]
    union = [r for r in pays if r["channel"] == "unionpay"]
    assert union and all(Decimal(r["settle_amount"]) == Decimal(r["amount"]) - Decimal(r["fee"]) for r in union)
    assert all(Decimal(r["settle_amount"]) <= Decimal(r["amount"]) for r in pays if r["channel"] != "unionpay")
    assert any(Decimal(r["settle_amount"]) == Decimal(r["amount"]) and Decimal(r["fee"]) > 0
               for r in pays if r["channel"] == "wechat")


def test_reconcile_without_inputs_is_a_clear_error():
    r = runner.invoke(app, ["reconcile"])
    assert r.exit_code == 2 and "Hint:" in r.output


def _commands(cmd, prefix=()):
    yield prefix, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, prefix + (name,))


@pytest.mark.parametrize("path", [p for p, _ in _commands(get_command(app))])
def test_every_command_has_help(path):
    r = runner.invoke(app, [*path, "--help"])
    assert r.exit_code == 0
    cmd = dict(_commands(get_command(app)))[path]
    assert (cmd.help or "").strip(), f"command {' '.join(path)} has no help text"
