"""key_scope: channel refunds without a refund number pair with one merchant number's alike refunds in time order.

Under key_scope a record without the shop's refund number pairs only where that is unambiguous. When the record and
the shop's refunds all name one merchant number, two refunds of one order and amount are alike in money (as without
key_scope): day runs paired them one a day, a range run over the same days left both refunds refund_order_only and
both records refund_channel_only. Day by day and one range run must agree.
"""

import csv
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app
from tests.core.test_key_scope_refunds import M1, M2, O_HEAD, R_HEAD, T_HEAD

runner = CliRunner()
# both merchant numbers' tills number an order A1; M2's is refunded 20.00 twice, on two days
ORDERS = (O_HEAD + f"A1,S001,{M1},wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n"
          f"A1,S002,{M2},wechat,50.00,partially_refunded,2026-11-20 11:00:00,2026-11-20 11:00:05\n")
REFUNDS = (R_HEAD + f"RFa,A1,20.00,2026-11-20 12:00:00,success,{M2}\n"
           f"RFb,A1,20.00,2026-11-21 09:00:00,success,{M2}\n")
T20 = (T_HEAD + f"wechat,{M1},T1,A1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n"
       f"wechat,{M2},T2,A1,payment,,,50.00,0.30,success,2026-11-20 11:00:06,2026-11-20\n"
       f"wechat,{M2},T2,A1,refund,,WR1,20.00,0.12,success,2026-11-20 12:00:06,2026-11-20\n")
T21 = T_HEAD + f"wechat,{M2},T2,A1,refund,,WR2,20.00,0.12,success,2026-11-21 09:00:06,2026-11-21\n"
RULES = '[match]\nkey_scope = ["merchant_id"]\n'
WANT = {f"R-{M2}/RFa": "refund_matched", f"R-{M2}/RFb": "refund_matched"}


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def _cli(*args: str) -> None:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output


def _refunds(out: Path) -> dict[str, str]:
    with (out / "outcomes.csv").open(encoding="utf-8") as f:
        return {x["outcome_id"]: x["kind"] for x in csv.DictReader(f) if x["outcome_id"].startswith("R-")}


def _inputs(tmp: Path) -> list[str]:
    return ["--orders", str(_write(tmp, "o.csv", ORDERS)), "--refunds", str(_write(tmp, "r.csv", REFUNDS)),
            "--transactions", str(_write(tmp, "t20.csv", T20)), "--transactions", str(_write(tmp, "t21.csv", T21)),
            "--config", str(_write(tmp, "rules.toml", RULES))]


def test_day_runs_and_a_range_run_pair_one_merchant_numbers_alike_refunds_alike(tmp_path):
    w = str(tmp_path / "w.duckdb")
    _cli("ingest", "--workspace", w, *_inputs(tmp_path))
    days = {}
    for day in ("2026-11-20", "2026-11-21"):
        _cli("reconcile", "--workspace", w, "--date", day, "--config", str(tmp_path / "rules.toml"), "--out",
             str(tmp_path / day))
        days.update(_refunds(tmp_path / day))
    assert days == WANT
    _cli("reconcile", "--workspace", w, "--from", "2026-11-20", "--to", "2026-11-21", "--config",
         str(tmp_path / "rules.toml"), "--out", str(tmp_path / "range"))
    assert _refunds(tmp_path / "range") == WANT


def test_a_file_run_pairs_them_in_time_order_and_a_third_record_stays_channel_only(tmp_path):
    t21 = T21 + f"wechat,{M2},T2,A1,refund,,WR3,20.00,0.12,success,2026-11-21 10:00:06,2026-11-21\n"
    args = _inputs(tmp_path)
    args[args.index(str(tmp_path / "t21.csv"))] = str(_write(tmp_path, "t21b.csv", t21))
    _cli("reconcile", *args, "--out", str(tmp_path / "out"))
    assert _refunds(tmp_path / "out") == {**WANT, "R-~wechat:WR3": "refund_channel_only"}


def test_a_record_naming_no_merchant_number_still_pairs_only_when_unambiguous(tmp_path):
    # WR2 names no merchant number: M2's two refunds of 20.00 are both possible, neither is taken; WR1 (naming M2)
    # is in doubt too, as the merchant number of that order and amount is not sure
    args = _inputs(tmp_path)
    args[args.index(str(tmp_path / "t21.csv"))] = str(_write(tmp_path, "t21n.csv", T21.replace(f"wechat,{M2},T2,A1,refund",
                                                                                             "wechat,,T2,A1,refund")))
    _cli("reconcile", *args, "--out", str(tmp_path / "out"))
    got = _refunds(tmp_path / "out")
    assert got[f"R-{M2}/RFa"] == got[f"R-{M2}/RFb"] == "refund_order_only"
    assert got["R-~wechat:WR2"] == "refund_channel_only"
