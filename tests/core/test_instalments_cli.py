"""reconcile --instalments: per-period orders leave the payment match and get one outcome per period."""

import csv
import json

from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.01,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U1,gold,3
P2,S1,M1,alipay_pay_later,600.00,paid,2026-09-10 10:00:00,2026-09-10 10:00:00,U2,gold,6
H1,S1,M1,huabei,120.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,U3,gold,3
W1,S1,M1,wechat,10.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
alipay,M1,A1,H1,payment,,,120.00,0.96,120.00,success,2026-11-20 10:00:06,2026-11-20,huabei
wechat,M1,W1X,W1,payment,,,10.00,0.06,10.00,success,2026-11-20 11:00:06,2026-11-20,wechat
"""
FLOWS = """channel,order_no,period_no,periods,amount,fee,status,occurred_at
wechat_payscore,P1,1,3,100.01,0,success,2026-09-10 10:00:00
wechat_payscore,P1,2,3,100.00,0,success,2026-10-10 10:00:00
wechat_payscore,P1,3,3,99.00,0,success,2026-11-10 10:00:00
alipay_pay_later,P2,1,6,100.00,0,success,2026-09-10 10:00:00
alipay_pay_later,P2,2,6,100.00,0,success,2026-10-10 10:00:00
"""


def _reconcile(tmp_path, orders=ORDERS, txs=TXS, flows=FLOWS, *, config: str | None = None,
               flows_path=None) -> dict[str, dict]:
    """Write the three files, run `reconcile --instalments … --as-of 2026-11-20`; outcomes by id.

    ``config``: a config file's text (passed as --config); ``flows_path``: flows already written (a folder)."""
    for name, text in (("orders.csv", orders), ("tx.csv", txs), ("flows.csv", flows)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    extra = []
    if config is not None:
        (tmp_path / "rules.toml").write_text(config, encoding="utf-8")
        extra = ["--config", str(tmp_path / "rules.toml")]
    r = runner.invoke(app, ["reconcile", *extra, "--orders", str(tmp_path / "orders.csv"), "--transactions",
                            str(tmp_path / "tx.csv"), "--instalments", str(flows_path or tmp_path / "flows.csv"),
                            "--as-of", "2026-11-20", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["conservation"] is True
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


def test_instalment_periods_in_outcomes(tmp_path):
    rows = _reconcile(tmp_path)
    kinds = {k: (v["kind"], v["period_no"]) for k, v in rows.items()}
    assert kinds["P-W1"] == ("matched", "") and kinds["P-H1"] == ("matched", "")  # huabei: paid up front
    assert "P-P1" not in kinds and "P-P2" not in kinds  # per-period orders left to their plan
    assert kinds["I-P1-1"] == ("instalment_matched", "1")
    assert kinds["I-P1-3"] == ("instalment_amount_mismatch", "3")
    assert kinds["I-P2-3"] == ("instalment_missing", "3")        # due 2026-11-10, not received
    assert kinds["I-P2-4"] == ("instalment_not_due", "4")
    assert rows["I-P2-3"]["reason"] and rows["I-P2-3"]["due_date"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    ct = summary["control_totals"]
    assert ct["instalment_flows"]["input_rows"] == 5 and ct["orders"]["input_rows"] == 2
    assert summary["conservation"] is True, ct


def test_workspace_run_and_instalment_report(tmp_path):
    from openpyxl import load_workbook

    for name, text in (("orders.csv", ORDERS), ("tx.csv", TXS), ("flows.csv", FLOWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["ingest", "--workspace", w, "--orders", str(tmp_path / "orders.csv"),
                               "--transactions", str(tmp_path / "tx.csv")]).exit_code == 0
    r = runner.invoke(app, ["reconcile", "--workspace", w, "--date", "2026-11-20", "--instalments",
                            str(tmp_path / "flows.csv"), "--as-of", "2026-11-20"])
    assert r.exit_code == 0, r.output
    xlsx = tmp_path / "inst.xlsx"
    r = runner.invoke(app, ["report", "instalments", "--workspace", w, "--from", "2026-11-01", "--to", "2026-11-30",
                            "--as-of", "2026-11-20", "--excel", str(xlsx), "--lang", "en"])
    assert r.exit_code == 0, r.output
    sheet = load_workbook(xlsx, read_only=True)["Instalments"]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    got = {(r[header.index("Channel")], r[header.index("Term")]): r for r in body}
    # independently: P2 (alipay_pay_later, 600.00 in 6) has periods 3..6 open = 400.00, period 3 overdue;
    # P1 (wechat_payscore, 3): periods 1-2 received, period 3 short-paid (99.00) so still open; H1 (huabei 120.00 in 3, paid up front) settles on due dates
    p2 = got[("alipay_pay_later", 6)]
    assert p2[header.index("Outstanding periods")] == 4 and p2[header.index("Outstanding")] == 400.00
    assert p2[header.index("Overdue periods")] == 1 and p2[header.index("Overdue")] == 100.00
    p1 = got[("wechat_payscore", 3)]
    assert p1[header.index("Outstanding periods")] == 1 and p1[header.index("Overdue periods")] == 1


def test_plan_dates_follow_the_shanghai_payment_day(tmp_path):
    # paid 02:00 Asia/Shanghai = the previous day in UTC: the plan starts on the local day (run selections hand
    # the matcher naive UTC times; read in the session's zone they had moved every due date a day back)
    orders = ORDERS.splitlines()[0] + "\nE1,S1,M1,wechat_payscore,300.00,paid,2026-09-10 02:00:00,2026-09-10 02:00:00,,,3\n"
    flows = FLOWS.splitlines()[0] + "\nwechat_payscore,E1,1,3,100.00,0,success,2026-09-10 02:00:01\n"
    rows = _reconcile(tmp_path, orders, TXS.splitlines()[0] + "\n", flows)
    due = {row["period_no"]: (row["kind"], row["due_date"]) for row in rows.values()}
    assert due == {"1": ("instalment_matched", "2026-09-10"), "2": ("instalment_missing", "2026-10-10"),
                   "3": ("instalment_missing", "2026-11-10")}


ORDER_HEAD = ORDERS.splitlines()[0]
FLOW_HEAD = FLOWS.splitlines()[0]
NO_TXS = TXS.splitlines()[0] + "\n"


def test_unoffered_term_on_a_per_period_channel_is_an_outcome_that_ties_out(tmp_path):
    # 5 periods on wechat_payscore (offers 3/6/12): the run aborted ("control totals do not tie out": the
    # order's row carried no amount), and its flow was said to be "beyond the order's 5 periods"
    orders = ORDER_HEAD + "\nA1,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,5\n"
    flows = FLOW_HEAD + "\nwechat_payscore,A1,1,5,60.00,0,success,2026-11-01 10:00:00\n"
    rows = _reconcile(tmp_path, orders, NO_TXS, flows)
    term, flow = rows["I-A1-term"], rows["I-A1-1"]
    assert (term["kind"], term["order_amount_fen"], term["order_rows"]) == ("instalment_bad_term", "30000", "1")
    assert term["reason"] == "no plan: wechat_payscore does not offer 5 periods (offers 3, 6, 12)"
    assert (flow["kind"], flow["order_rows"], flow["channel_rows"]) == ("instalment_bad_term", "0", "1")
    assert flow["reason"] == ("period 1 of an order without a plan: "
                              "wechat_payscore does not offer 5 periods (offers 3, 6, 12)")
    ct = json.loads((tmp_path / "out" / "summary.json").read_text())["control_totals"]["instalment_orders"]
    assert ct == {"input_rows": 1, "input_fen": 30000, "outcome_rows": 1, "outcome_fen": 30000}


def test_a_failed_deduction_retried_successfully_is_an_attempt_not_a_duplicate(tmp_path):
    # period 3 failed on Nov 10 and the channel's retry succeeded on Nov 11: the period is paid
    flows = FLOWS.replace("wechat_payscore,P1,3,3,99.00,0,success,2026-11-10 10:00:00",
                          "wechat_payscore,P1,3,3,100.00,0,failed,2026-11-10 10:00:00\n"
                          "wechat_payscore,P1,3,3,100.00,0,success,2026-11-11 10:00:00")
    rows = _reconcile(tmp_path, flows=flows)
    paid, attempt = rows["I-P1-3"], rows["I-P1-3#1"]
    assert (paid["kind"], paid["channel_status"], paid["order_rows"]) == ("instalment_matched", "success", "1")
    assert (attempt["kind"], attempt["channel_status"], attempt["order_rows"], attempt["channel_rows"],
            attempt["difference_fen"]) == ("instalment_attempt", "failed", "0", "1", "0")
    assert attempt["reason"] == "deduction attempt for period 3 is failed; another deduction of the period succeeded"
    assert {rows[f"I-P1-{k}"]["plan_status"] for k in (1, 2, 3)} == {"reconciled"}
    assert not any(r["kind"] == "instalment_duplicate" for r in rows.values())


def test_a_period_repeated_across_files_has_unique_stable_ids(tmp_path):
    # the same period in three daily exports: the extra copies were both I-P1-1-dup-2 (the line, not the file)
    folder = tmp_path / "flows"
    folder.mkdir()
    for day in (20, 21, 22):
        (folder / f"export-10{day}.csv").write_text(
            FLOW_HEAD + f"\nwechat_payscore,P1,1,3,100.01,0,success,2026-10-{day} 10:00:00\n", encoding="utf-8")
    orders = ORDER_HEAD + "\n" + ORDERS.splitlines()[1] + "\n"
    first = _reconcile(tmp_path, orders, NO_TXS, flows_path=folder)
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        ids = [row["outcome_id"] for row in csv.DictReader(f)]
    assert len(ids) == len(set(ids))
    assert {k: v["kind"] for k, v in first.items() if k.startswith("I-P1-1")} == {
        "I-P1-1": "instalment_matched", "I-P1-1#2": "instalment_duplicate", "I-P1-1#3": "instalment_duplicate"}
    assert first["I-P1-1#3"]["occurred_at"].startswith("2026-10-22")
    again = _reconcile(tmp_path, orders, NO_TXS, flows_path=folder)
    assert {k: v["occurred_at"] for k, v in again.items()} == {k: v["occurred_at"] for k, v in first.items()}


def test_key_scope_keeps_one_order_number_of_two_merchants_apart(tmp_path):
    # K1 under M1 (300.00) and M2 (600.00): flows joined both orders (each period 4 times) and the run aborted.
    # A flow naming no merchant number cannot say which K1 it paid: an explicit outcome, no cross join
    orders = ORDER_HEAD + (
        "\nK1,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,3"
        "\nK1,S2,M2,wechat_payscore,600.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U2,gold,3"
        "\nK2,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,3\n")
    flows = FLOW_HEAD + ("\nwechat_payscore,K1,1,3,100.00,0,success,2026-11-01 10:00:00"
                         "\nwechat_payscore,K1,1,3,200.00,0,success,2026-11-01 10:00:00"
                         "\nwechat_payscore,K2,1,3,100.00,0,success,2026-11-01 10:00:00\n")
    rows = _reconcile(tmp_path, orders, NO_TXS, flows, config='[match]\nkey_scope = ["merchant_id"]\n')
    kinds = {k: (v["kind"], v["merchant_id"], v["order_amount_fen"]) for k, v in rows.items()}
    assert kinds["I-M1/K1-1"] == ("instalment_missing", "M1", "10000")
    assert kinds["I-M2/K1-1"] == ("instalment_missing", "M2", "20000")
    assert kinds["I-M1/K2-1"] == ("instalment_matched", "M1", "10000")  # the number's only order: attributed
    assert kinds["I-?/K1-1"][0] == kinds["I-?/K1-1#2"][0] == "instalment_unexpected"
    assert rows["I-?/K1-1"]["reason"] == (
        "the flow names no merchant number and 2 merchant numbers have a per-period order with this order_no")
    assert len(rows) == 3 * 3 + 2
    ct = json.loads((tmp_path / "out" / "summary.json").read_text())["control_totals"]
    assert ct["instalment_orders"]["input_rows"] == ct["instalment_orders"]["outcome_rows"] == 3


def test_up_front_order_with_an_unoffered_term_gets_a_signal_beside_its_payment(tmp_path):
    # Huabei offers 3/6/12; orders say 5 and 24: they were plain `matched` and left out of every plan
    orders = ORDER_HEAD + (
        "\nH5,S1,M1,huabei,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,5"
        "\nH24,S1,M1,huabei,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,24\n")
    txs = NO_TXS + "".join(f"alipay,M1,T{n},{n},payment,,,300.00,0,300.00,success,2026-11-01 10:00:01,2026-11-01,"
                           f"huabei\n" for n in ("H5", "H24"))
    flows = FLOW_HEAD + "\nwechat_payscore,NONE,1,3,1.00,0,success,2026-11-01 10:00:00\n"
    rows = _reconcile(tmp_path, orders, txs, flows)
    assert rows["P-H5"]["kind"] == rows["P-H24"]["kind"] == "matched"  # the payment match is untouched
    sig = rows["I-H5-term"]
    assert (sig["kind"], sig["order_rows"], sig["channel_rows"], sig["order_amount_fen"], sig["plan_status"]) == (
        "instalment_bad_term", "0", "0", "30000", "exception")
    assert sig["reason"] == ("no plan: huabei does not offer 5 periods (offers 3, 6, 12); "
                             "the payment is reconciled as usual")
    assert rows["I-H24-term"]["kind"] == "instalment_bad_term"


def test_a_flow_of_another_channel_is_a_channel_mismatch(tmp_path):
    orders = ORDER_HEAD + "\nC3,S1,M1,wechat_payscore,300.00,paid,2026-11-01 10:00:00,2026-11-01 10:00:00,U1,gold,3\n"
    flows = FLOW_HEAD + "\nalipay_pay_later,C3,1,3,100.00,0,success,2026-11-01 10:00:00\n"
    rows = _reconcile(tmp_path, orders, NO_TXS, flows)
    got = rows["I-C3-1"]
    assert (got["kind"], got["channel"], got["order_channel"], got["plan_status"]) == (
        "instalment_channel_mismatch", "alipay_pay_later", "wechat_payscore", "exception")
    assert got["reason"] == ("period 1 came through alipay_pay_later, "
                             "the order's channel is wechat_payscore (渠道不符)")
    # a flow naming the channel the order's method settles through ([methods] settle_channel) is the same channel
    flows = FLOW_HEAD + "\nwechat,C3,1,3,100.00,0,success,2026-11-01 10:00:00\n"
    rows = _reconcile(tmp_path, orders, NO_TXS, flows, config='[methods.settle_channel]\nwechat_payscore = "wechat"\n')
    assert rows["I-C3-1"]["kind"] == "instalment_matched"
