"""key_scope = ["merchant_id"] for refunds: refund numbers unique per merchant number when the shop names it.

A refunds file may carry merchant_id. A refund without one is the shop's only refund of its number (as before the
column existed); one with it is keyed by merchant number and refund number, like the orders under key_scope.
"""

import csv
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.config import Config, MatchRules
from paymatch.errors import LoadError
from paymatch.run import reconcile_files
from paymatch.workspace import Workspace

runner = CliRunner()
M1, M2 = "1600000001", "1600000002"
O_HEAD = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
R_HEAD = "refund_no,order_no,amount,created_at,status,merchant_id\n"
T_HEAD = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at,bill_date\n"
# two merchant numbers' tills both number their orders A1 and their refunds RF1
ORDERS = (O_HEAD + f"A1,S001,{M1},wechat,10.00,refunded,2026-11-20 10:00:00,2026-11-20 10:00:05\n"
          f"A1,S002,{M2},wechat,50.00,partially_refunded,2026-11-20 11:00:00,2026-11-20 11:00:05\n")
PAYS = (f"wechat,{M1},T1,A1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n"
        f"wechat,{M2},T2,A1,payment,,,50.00,0.30,success,2026-11-20 11:00:06,2026-11-20\n")


def _scoped() -> Config:
    return Config(match=MatchRules(key_scope=["merchant_id"]))


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def _run(tmp: Path, refunds: str, txs: str, engine: str = "duckdb", name: str = "out") -> dict[str, dict]:
    r = reconcile_files(_write(tmp, "o.csv", ORDERS), _write(tmp, "r.csv", refunds), [_write(tmp, "t.csv", txs)],
                        tmp / name, config=_scoped(), engine=engine)
    assert r.summary["conservation"] is True
    with (tmp / name / "outcomes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ids = [x["outcome_id"] for x in rows]
    assert len(ids) == len(set(ids)), "one outcome per id"
    return {x["outcome_id"]: x for x in rows}


def _refunds(rows: dict[str, dict]) -> dict[str, tuple]:
    return {k: (v["kind"], v["merchant_id"], v["store_id"], v["channel_rows"]) for k, v in rows.items()
            if k.startswith("R-")}


def test_the_same_refund_number_at_two_merchant_numbers_is_two_refunds(tmp_path):
    refunds = R_HEAD + f"RF1,A1,10.00,2026-11-20 12:00:00,success,{M1}\nRF1,A1,40.00,2026-11-20 13:00:00,success,{M2}\n"
    txs = T_HEAD + PAYS + (f"wechat,{M2},T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-20 13:00:06,2026-11-20\n"
                           f"wechat,{M1},T1,A1,refund,RF1,WR1,10.00,0.06,success,2026-11-20 12:00:06,2026-11-20\n")
    got = _refunds(_run(tmp_path, refunds, txs))
    assert got == {f"R-{M1}/RF1": ("refund_matched", M1, "S001", "1"),
                   f"R-{M2}/RF1": ("refund_matched", M2, "S002", "1")}
    # a channel refund the shop has not recorded under that merchant number is that number's own channel-only
    txs2 = txs + f"wechat,{M2},T2,A1,refund,RF2,WR3,5.00,0.03,success,2026-11-20 14:00:06,2026-11-20\n"
    refunds2 = refunds + f"RF2,A1,5.00,2026-11-20 14:00:00,success,{M1}\n"
    got = _refunds(_run(tmp_path, refunds2, txs2, name="out2"))
    assert got[f"R-{M1}/RF2"][:2] == ("refund_order_only", M1)
    assert got[f"R-{M2}/RF2"][:3] == ("refund_channel_only", M2, "S002")


def test_refunds_without_a_merchant_number_keep_shop_wide_numbers_and_ids(tmp_path):
    # the refunds file of before (no merchant_id): RF1 pairs with the record whatever its merchant number
    refunds = R_HEAD.replace(",merchant_id", "") + "RF1,A1,40.00,2026-11-20 13:00:00,success\n"
    txs = T_HEAD + PAYS + f"wechat,{M2},T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-20 13:00:06,2026-11-20\n"
    assert _refunds(_run(tmp_path, refunds, txs)) == {"R-RF1": ("refund_matched", M2, "S002", "1")}
    # the column present and empty on the row: the same
    refunds = R_HEAD + "RF1,A1,40.00,2026-11-20 13:00:00,success,\n"
    assert _refunds(_run(tmp_path, refunds, txs, name="o2")) == {"R-RF1": ("refund_matched", M2, "S002", "1")}


def test_a_record_without_a_merchant_number_pairs_only_when_the_number_is_unambiguous(tmp_path):
    one = R_HEAD + f"RF1,A1,40.00,2026-11-20 13:00:00,success,{M2}\n"
    txs = T_HEAD + PAYS + "wechat,,T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-20 13:00:06,2026-11-20\n"
    assert _refunds(_run(tmp_path, one, txs)) == {f"R-{M2}/RF1": ("refund_matched", M2, "S002", "1")}
    # RF1 at two merchant numbers and a record naming neither: never guessed, every row still in one outcome
    two = one + f"RF1,A1,10.00,2026-11-20 12:00:00,success,{M1}\n"
    got = _refunds(_run(tmp_path, two, txs, name="o2"))
    assert got[f"R-{M1}/RF1"][0] == got[f"R-{M2}/RF1"][0] == "refund_order_only"
    assert got["R-RF1"][0] == "refund_channel_only"


def test_a_number_given_with_and_without_a_merchant_number_is_refused(tmp_path):
    refunds = _write(tmp_path, "r.csv", R_HEAD + f"RF1,A1,40.00,2026-11-20 13:00:00,success,{M2}\n"
                     "RF1,A1,10.00,2026-11-20 12:00:00,success,\n"
                     f"RF2,A1,1.00,2026-11-20 12:00:00,success,{M1}\nRF2,A1,2.00,2026-11-20 12:00:00,success,{M1}\n"
                     f"RF3,A1,1.00,2026-11-20 12:00:00,success,{M1}\nRF3,A1,2.00,2026-11-20 12:00:00,success,{M2}\n")
    with pytest.raises(LoadError) as e:
        reconcile_files(_write(tmp_path, "o.csv", ORDERS), refunds, [_write(tmp_path, "t.csv", T_HEAD + PAYS)],
                        tmp_path / "out", config=_scoped())
    got = [(p.line, p.value, p.message) for p in e.value.problems]
    assert got == [  # RF3: one per merchant number, fine
        (3, "RF1", "duplicate refund_no/merchant_id: also on line(s) 2 (a number listed without a merchant number is "
                   "the shop's only one of that number)"),
        (5, f"RF2/{M1}", "duplicate refund_no/merchant_id: also on line(s) 4")]
    # the row that repeats is named, not a good row of another merchant number between them
    refunds3 = _write(tmp_path, "r3.csv", R_HEAD + f"RF1,A1,1.00,2026-11-20 12:00:00,success,{M1}\n"
                      f"RF1,A1,2.00,2026-11-20 12:00:00,success,{M2}\nRF1,A1,3.00,2026-11-20 12:00:00,success,{M1}\n"
                      "RF1,A1,4.00,2026-11-20 12:00:00,success,\n")
    with pytest.raises(LoadError) as e:
        reconcile_files(tmp_path / "o.csv", refunds3, [tmp_path / "t.csv"], tmp_path / "out", config=_scoped())
    assert [(p.line, p.message.split(" (")[0]) for p in e.value.problems] == [
        (4, "duplicate refund_no/merchant_id: also on line(s) 2"),
        (5, "duplicate refund_no/merchant_id: also on line(s) 2, 3, 4")]
    assert e.value.total == 2
    # without key_scope a repeated refund number is refused whatever the merchant numbers say, as before
    with pytest.raises(LoadError) as e:
        reconcile_files(_write(tmp_path, "o1.csv", ORDERS.splitlines()[0] + "\n" + ORDERS.splitlines()[1] + "\n"),
                        refunds, [tmp_path / "t.csv"], tmp_path / "out2")
    assert {p.value for p in e.value.problems} == {"RF1", "RF2", "RF3"}


def _cli(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _ws_rows(ws: Path, sql: str) -> list[tuple]:
    with Workspace(ws) as w:
        return w.con.execute(sql).fetchall()


def test_workspace_re_export_adding_merchant_numbers_replaces_and_old_workspaces_open(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    # a workspace written before refunds had a merchant_id column
    con = duckdb.connect(str(w))
    con.execute("CREATE TABLE refunds (refund_no VARCHAR, order_no VARCHAR, amount_fen BIGINT, created_at TIMESTAMPTZ, "
                "status VARCHAR, extra VARCHAR, src_file VARCHAR, src_line BIGINT, batch_id VARCHAR)")
    con.execute("INSERT INTO refunds VALUES ('RF0', 'A1', 100, TIMESTAMPTZ '2026-11-19 12:00:00+08', 'success', "
                "NULL, 'old.csv', 2, 'refunds:old')")
    con.close()
    plain = _write(tmp_path, "r1.csv", R_HEAD.replace(",merchant_id", "")
                   + "RF1,A1,40.00,2026-11-20 13:00:00,processing\nRF0,A1,1.00,2026-11-19 12:00:00,success\n")
    _cli("ingest", "--workspace", str(w), "--refunds", str(plain), "--config", str(rules))
    named = _write(tmp_path, "r2.csv", R_HEAD + f"RF1,A1,40.00,2026-11-20 13:00:00,success,{M2}\n"
                   f"RF1,A1,10.00,2026-11-20 12:00:00,success,{M1}\n")
    _cli("ingest", "--workspace", str(w), "--refunds", str(named), "--config", str(rules))
    assert sorted(_ws_rows(w, "SELECT refund_no, merchant_id, status, amount_fen FROM refunds")) == [
        ("RF0", None, "success", 100), ("RF1", M1, "success", 1000), ("RF1", M2, "success", 4000)]
    # and back: an export without merchant numbers replaces both
    back = _write(tmp_path, "r3.csv", R_HEAD + "RF1,A1,50.00,2026-11-20 13:00:00,success,\n")
    _cli("ingest", "--workspace", str(w), "--refunds", str(back), "--config", str(rules))
    assert sorted(_ws_rows(w, "SELECT refund_no, merchant_id, amount_fen FROM refunds")) == [
        ("RF0", None, 100), ("RF1", None, 5000)]


def test_workspace_days_carry_a_refund_by_its_merchant_number_and_keep_its_id(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    # day 20: M1's RF1 refunded and on the bill; M2's RF9 made at 23:57, its record on day 21's bill
    o = _write(tmp_path, "o.csv", ORDERS)
    r = _write(tmp_path, "r.csv", R_HEAD + f"RF1,A1,10.00,2026-11-20 12:00:00,success,{M1}\n"
               f"RF9,A1,5.00,2026-11-20 23:57:00,success,{M2}\n"
               f"RF1,A1,40.00,2026-11-21 09:00:00,success,{M2}\n")
    t20 = _write(tmp_path, "t20.csv", T_HEAD + PAYS
                 + f"wechat,{M1},T1,A1,refund,RF1,WR1,10.00,0.06,success,2026-11-20 12:00:06,2026-11-20\n")
    # day 21: M2's RF1 (a namesake of M1's refund of day 20) and the late record of RF9
    t21 = _write(tmp_path, "t21.csv", T_HEAD
                 + f"wechat,{M2},T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-21 09:00:06,2026-11-21\n"
                 f"wechat,{M2},T2,A1,refund,RF9,WR9,5.00,0.03,success,2026-11-21 00:00:30,2026-11-21\n")
    _cli("ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t20),
         "--transactions", str(t21), "--config", str(rules))
    days = {}
    for day in ("2026-11-20", "2026-11-21"):
        _cli("reconcile", "--workspace", str(w), "--date", day, "--config", str(rules), "--out", str(tmp_path / day))
        with (tmp_path / day / "outcomes.csv").open(encoding="utf-8") as f:
            days[day] = {x["outcome_id"]: x["kind"] for x in csv.DictReader(f) if x["outcome_id"].startswith("R-")}
    assert days["2026-11-20"] == {f"R-{M1}/RF1": "refund_matched", f"R-{M2}/RF9": "pending_cross_day"}
    # M1's RF1 is not pulled into day 21 by M2's namesake; RF9 keeps its id when its record arrives
    assert days["2026-11-21"] == {f"R-{M2}/RF1": "refund_matched", f"R-{M2}/RF9": "refund_matched"}


def test_an_erp_refund_export_maps_its_merchant_column_and_groups_item_rows_by_it(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n'
                   '[inputs.refunds]\nitem_rows = "sum"\n[inputs.refunds.columns]\nrefund_no = "退款单号"\n'
                   'order_no = "订单号"\namount = "退款金额"\ncreated_at = "退款时间"\nstatus = "退款状态"\n'
                   'merchant_id = "商户号"\n[inputs.refunds.values.status]\n"退款成功" = "success"\n')
    # RF1 at both merchant numbers, M2's in two item rows (the second leaves the refund's cells blank)
    export = _write(tmp_path, "退款明细.csv", "退款单号,订单号,退款金额,退款时间,退款状态,商户号\n"
                    f"RF1,A1,10.00,2026-11-20 12:00:00,退款成功,{M1}\n"
                    f"RF1,A1,30.00,2026-11-20 13:00:00,退款成功,{M2}\n"
                    "RF1,,10.00,,,\n")
    txs = T_HEAD + PAYS + (f"wechat,{M2},T2,A1,refund,RF1,WR2,40.00,0.24,success,2026-11-20 13:00:06,2026-11-20\n"
                           f"wechat,{M1},T1,A1,refund,RF1,WR1,10.00,0.06,success,2026-11-20 12:00:06,2026-11-20\n")
    out = tmp_path / "out"
    _cli("reconcile", "--orders", str(_write(tmp_path, "o.csv", ORDERS)), "--refunds", str(export),
         "--transactions", str(_write(tmp_path, "t.csv", txs)), "--config", str(rules), "--out", str(out))
    with (out / "outcomes.csv").open(encoding="utf-8") as f:
        got = _refunds({x["outcome_id"]: x for x in csv.DictReader(f)})
    assert got == {f"R-{M1}/RF1": ("refund_matched", M1, "S001", "1"),
                   f"R-{M2}/RF1": ("refund_matched", M2, "S002", "1")}
    # without item_rows, a repeated number under one merchant number is named by the export's line and column names
    _write(tmp_path, "rules2.toml", rules.read_text(encoding="utf-8").replace('item_rows = "sum"\n', ""))
    bad = _write(tmp_path, "退款明细2.csv", "退款单号,订单号,退款金额,退款时间,退款状态,商户号\n"
                 f"RF1,A1,10.00,2026-11-20 12:00:00,退款成功,{M1}\nRF1,A1,30.00,2026-11-20 13:00:00,退款成功,{M1}\n")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(bad), "--transactions",
                            str(tmp_path / "t.csv"), "--config", str(rules.with_name("rules2.toml")), "--out", str(out)])
    assert r.exit_code != 0
    assert "退款明细2.csv:3 [退款单号]" in r.output and "duplicate 退款单号/商户号: also on line(s) 2" in r.output
    _write(tmp_path, "退款明细3.csv", "退款单号,订单号,退款金额,退款时间,退款状态,商户号\n"
           f"RF1,A1,10.00,2026-11-20 12:00:00,退款成功,{M1}\nRF1,A1,30.00,2026-11-20 13:00:00,退款成功,\n")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "退款明细3.csv"),
                            "--transactions", str(tmp_path / "t.csv"), "--config", str(tmp_path / "rules2.toml"),
                            "--out", str(out)])
    assert "duplicate 退款单号/商户号: also on line(s) 2 (a number listed without" in r.output


def test_a_record_without_a_refund_number_pairs_by_order_amount_and_merchant_number(tmp_path):
    # both merchant numbers refunded 5.00 of their order A1; the channel's record names no refund number
    refunds = (R_HEAD + f"RFa,A1,5.00,2026-11-20 12:00:00,success,{M1}\n"
               f"RFb,A1,5.00,2026-11-20 13:00:00,success,{M2}\n")
    txs = T_HEAD + PAYS + f"wechat,{M1},T1,A1,refund,,WR1,5.00,0.03,success,2026-11-20 12:00:06,2026-11-20\n"
    got = _refunds(_run(tmp_path, refunds, txs))
    assert got == {f"R-{M1}/RFa": ("refund_matched", M1, "S001", "1"),
                   f"R-{M2}/RFb": ("refund_order_only", M2, "S002", "0")}
    # a record naming no merchant number either: two refunds it could be, none taken
    got = _refunds(_run(tmp_path, refunds, txs.replace(f"wechat,{M1},T1,A1,refund", "wechat,,T1,A1,refund"), name="o2"))
    assert got[f"R-{M1}/RFa"][0] == got[f"R-{M2}/RFb"][0] == "refund_order_only"
    assert got["R-~wechat:WR1"][0] == "refund_channel_only"
    # the number it takes is its pair's, with that pair's merchant number (another merchant's namesake RFa aside)
    refunds = (R_HEAD + f"RFa,A1,5.00,2026-11-20 12:00:00,success,{M1}\n"
               f"RFa,A1,7.00,2026-11-20 13:00:00,success,{M2}\n")
    got = _refunds(_run(tmp_path, refunds, txs.replace(f"wechat,{M1},T1,A1,refund", "wechat,,T1,A1,refund"), name="o3"))
    assert got == {f"R-{M1}/RFa": ("refund_matched", M1, "S001", "1"),
                   f"R-{M2}/RFa": ("refund_order_only", M2, "S002", "0")}


def test_no_two_refunds_share_an_outcome_id(tmp_path):
    # a shop-wide number that looks like a merchant number and a refund number
    refunds = (R_HEAD + f"{M1}/RF1,A1,1.00,2026-11-20 12:00:00,success,\n"
               f"RF1,A1,2.00,2026-11-20 12:00:00,success,{M1}\n")
    got = _refunds(_run(tmp_path, refunds, T_HEAD + PAYS))  # (_run asserts unique ids)
    assert set(got) == {f"R-/{M1}/RF1", f"R-{M1}/RF1"}


def test_a_pending_refund_is_carried_after_a_re_export_adds_its_merchant_number(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    t21 = _write(tmp_path, "t21.csv", T_HEAD + f"wechat,{M1},T7,A7,payment,,,1.00,0.01,success,2026-11-21 09:00:00,2026-11-21\n")
    _cli("ingest", "--workspace", str(w), "--orders", str(_write(tmp_path, "o.csv", ORDERS)), "--refunds",
         str(_write(tmp_path, "r1.csv", R_HEAD + "RF9,A1,5.00,2026-11-20 23:57:00,success,\n")), "--transactions",
         str(_write(tmp_path, "t20.csv", T_HEAD + PAYS)), "--transactions", str(t21), "--config", str(rules))
    _cli("reconcile", "--workspace", str(w), "--date", "2026-11-20", "--config", str(rules), "--out", str(tmp_path / "d20"))
    _cli("ingest", "--workspace", str(w), "--refunds",
         str(_write(tmp_path, "r2.csv", R_HEAD + f"RF9,A1,5.00,2026-11-20 23:57:00,success,{M2}\n")), "--config", str(rules))
    _cli("reconcile", "--workspace", str(w), "--date", "2026-11-21", "--config", str(rules), "--out", str(tmp_path / "d21"))
    assert _ws_rows(w, "SELECT period_to::VARCHAR, outcome_id, kind FROM outcomes WHERE outcome_id LIKE 'R-%' "
                       "ORDER BY 1") == [("2026-11-20", "R-RF9", "pending_cross_day"),
                                         ("2026-11-21", f"R-{M2}/RF9", "refund_order_only")]


def test_a_workspace_loaded_under_key_scope_reconciled_without_it_says_why(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    _cli("ingest", "--workspace", str(w), "--orders", str(_write(tmp_path, "o.csv", ORDERS)), "--transactions",
         str(_write(tmp_path, "t.csv", T_HEAD + PAYS)), "--config", str(rules))
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-20", "--out", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "order number 'A1' is listed more than once" in r.output and "match.key_scope" in r.output
    assert "this is a bug" not in r.output


def test_a_record_without_a_merchant_number_does_not_reopen_a_refund_matched_on_an_earlier_day(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    _cli("ingest", "--workspace", str(w), "--orders", str(_write(tmp_path, "o.csv", ORDERS)), "--refunds",
         str(_write(tmp_path, "r20.csv", R_HEAD + f"RF1,A1,6.00,2026-11-20 12:00:00,success,{M2}\n")), "--transactions",
         str(_write(tmp_path, "t20.csv", T_HEAD + PAYS
                    + f"wechat,{M2},T2,A1,refund,RF1,WR2,6.00,0.04,success,2026-11-20 12:00:06,2026-11-20\n")),
         "--config", str(rules))
    _cli("reconcile", "--workspace", str(w), "--date", "2026-11-20", "--config", str(rules), "--out", str(tmp_path / "a"))
    # day 21: M1's own RF1, and a record of RF1 that names no merchant number
    _cli("ingest", "--workspace", str(w), "--refunds",
         str(_write(tmp_path, "r21.csv", R_HEAD + f"RF1,A1,5.00,2026-11-21 12:00:00,success,{M1}\n")), "--transactions",
         str(_write(tmp_path, "t21.csv", T_HEAD + "wechat,,T1,A1,refund,RF1,WR1,5.00,0.03,success,2026-11-21 12:00:06,"
                    "2026-11-21\n")), "--config", str(rules))
    _cli("reconcile", "--workspace", str(w), "--date", "2026-11-21", "--config", str(rules), "--out", str(tmp_path / "b"))
    assert _ws_rows(w, "SELECT period_to::VARCHAR, outcome_id, kind FROM outcomes WHERE outcome_id LIKE 'R-%' "
                       "ORDER BY 1") == [("2026-11-20", f"R-{M2}/RF1", "refund_matched"),
                                         ("2026-11-21", f"R-{M1}/RF1", "refund_matched")]


def test_a_refunds_workspace_loaded_under_key_scope_is_refused_without_it_even_with_no_records(tmp_path):
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    _cli("ingest", "--workspace", str(w), "--refunds",
         str(_write(tmp_path, "r.csv", R_HEAD + f"RF1,A1,5.00,2026-11-20 12:00:00,success,{M1}\n"
                    f"RF1,A1,6.00,2026-11-20 12:30:00,success,{M2}\n")), "--config", str(rules))
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-20", "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "refund number 'RF1' is listed more than once" in r.output
    assert _ws_rows(w, "SELECT count(*) FROM outcomes") == [(0,)]


def test_a_number_repeated_on_every_row_is_refused_with_capped_line_lists(tmp_path):
    # an ERP export writing '0' for every refund number (checked by windows, not by joining each row with every other)
    n = 3000
    refunds = _write(tmp_path, "r.csv", R_HEAD + "".join(f"0,A1,1.00,2026-11-20 12:00:00,success,{M1 if i % 2 else ''}\n"
                                                         for i in range(n)))
    with pytest.raises(LoadError) as e:
        reconcile_files(_write(tmp_path, "o.csv", ORDERS), refunds, [_write(tmp_path, "t.csv", T_HEAD + PAYS)],
                        tmp_path / "out", config=_scoped())
    assert e.value.total == n - 1  # every row after the first repeats it
    last = e.value.problems[-1]
    assert last.line == 52 and last.message.startswith(  # the 50th refused row repeats the 50 above it
        "duplicate refund_no/merchant_id: also on line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 40 more (a number")
    # without key_scope the same export: one problem per number, its lines capped too
    with pytest.raises(LoadError) as e:
        reconcile_files(_write(tmp_path, "o1.csv", ORDERS.splitlines()[0] + "\n" + ORDERS.splitlines()[1] + "\n"),
                        refunds, [tmp_path / "t.csv"], tmp_path / "out2")
    (p,) = e.value.problems
    assert p.line == 3 and p.message == f"duplicate refund_no: also on line(s) 2, 4, 5, 6, 7, 8, 9, 10, 11, 12 and {n - 11:,} more"


def test_a_shop_wide_refund_carried_into_a_later_day_keeps_its_record(tmp_path):
    """(helper-46) Under key_scope a refund naming no merchant number, matched (or short) on the 20th by its record
    at M1, carried into the 21st's run by its order's number-less console refund: the 21st read it without its
    record (looked up under merchant '') and called it refund_order_only; the range run did not."""
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    o = _write(tmp_path, "o.csv", O_HEAD + f"K,S001,{M1},wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n")
    r = _write(tmp_path, "r.csv", R_HEAD + "RS,K,30.00,2026-11-20 12:00:00,success,\n")
    t20 = _write(tmp_path, "t20.csv", T_HEAD + f"wechat,{M1},TK,K,payment,,,100.00,0.60,success,2026-11-20 10:00:06,2026-11-20\n"
                 f"wechat,{M1},TK,K,refund,RS,FS,35.00,0.00,success,2026-11-20 12:00:06,2026-11-20\n")
    t21 = _write(tmp_path, "t21.csv", T_HEAD + f"wechat,{M1},TK,K,refund,,FU,20.00,0.00,success,2026-11-21 09:00:06,2026-11-21\n")
    kinds = {}
    for name in ("days", "range"):
        w = tmp_path / f"{name}.duckdb"
        _cli("ingest", "--workspace", str(w), "--orders", str(o), "--refunds", str(r), "--transactions", str(t20),
             "--transactions", str(t21), "--config", str(rules))
        runs = [("--date", "2026-11-20"), ("--date", "2026-11-21")] if name == "days" else [
            ("--from", "2026-11-20", "--to", "2026-11-21")]
        for args in runs:
            _cli("reconcile", "--workspace", str(w), *args, "--config", str(rules), "--out", str(tmp_path / name))
            with (tmp_path / name / "outcomes.csv").open(encoding="utf-8") as f:
                kinds[(name, args[-1])] = {x["outcome_id"]: x["kind"] for x in csv.DictReader(f)
                                           if x["outcome_id"].startswith("R-")}
    assert kinds[("days", "2026-11-20")] == {"R-RS": "refund_amount_mismatch"}
    assert kinds[("days", "2026-11-21")] == kinds[("range", "2026-11-21")] == {
        "R-RS": "refund_amount_mismatch", "R-~wechat:FU": "refund_channel_only"}


def test_an_order_re_export_that_adds_merchant_numbers_replaces_the_rows_without(tmp_path):
    """(helper-47) Under key_scope an order first exported without its merchant number, then again with it: the old
    row gives way (it stayed beside the new one: an order_only of P-/K1 and the order counted twice)."""
    rules = _write(tmp_path, "rules.toml", '[match]\nkey_scope = ["merchant_id"]\n')
    w = tmp_path / "w.duckdb"
    o1 = _write(tmp_path, "o1.csv", O_HEAD + "K1,S001,,wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n")
    o2 = _write(tmp_path, "o2.csv", O_HEAD + f"K1,S001,{M1},wechat,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n")
    t = _write(tmp_path, "t.csv", T_HEAD + f"wechat,{M1},T1,K1,payment,,,10.00,0.06,success,2026-11-20 10:00:06,2026-11-20\n")
    _cli("ingest", "--workspace", str(w), "--orders", str(o1), "--transactions", str(t), "--config", str(rules))
    _cli("ingest", "--workspace", str(w), "--orders", str(o2), "--config", str(rules))
    _cli("reconcile", "--workspace", str(w), "--date", "2026-11-20", "--config", str(rules), "--out", str(tmp_path / "o"))
    with (tmp_path / "o" / "outcomes.csv").open(encoding="utf-8") as f:
        assert {x["outcome_id"]: x["kind"] for x in csv.DictReader(f)} == {f"P-{M1}/K1": "matched"}
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT merchant_id FROM orders").fetchall() == [(M1,)]
