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


def _run(tmp_path, orders: str, refunds: str, *bills: str) -> dict[str, dict]:
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\n" + orders, encoding="utf-8")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\n" + refunds, encoding="utf-8")
    args = ["reconcile", "--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"),
            "--out", str(tmp_path / "out")]
    for i, b in enumerate(bills):
        (tmp_path / f"t{i}.csv").write_text(TX + b, encoding="utf-8")
        args += ["--transactions", str(tmp_path / f"t{i}.csv")]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        return {row["outcome_id"]: row for row in csv.DictReader(f)}


PAY = "wechat,M1,T1,A1,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18\n"


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_a_record_listed_again_with_another_status_on_a_later_bill_is_an_update(tmp_path, order):
    """Processing on the 18th's bill, successful on the 19th's: one refund, and its earlier state no break."""
    bills = [PAY + "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,processing,2026-11-18 12:00:00,2026-11-18\n",
             "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-19 08:00:00,2026-11-19\n"]
    rows = _run(tmp_path, "A1,wechat,50.00,paid,2026-11-18 09:00:00\n", "RF1,A1,20.00,2026-11-18 12:00:00,success\n",
                *(bills if order == "forward" else bills[::-1]))
    assert rows["R-RF1"]["kind"] == "refund_matched" and rows["R-RF1"]["channel_status"] == "success"
    upd = rows["D-wechat:T1:refund:CR1"]
    assert (upd["kind"], upd["channel_status"], upd["channel_rows"]) == ("record_update", "processing", "1")
    assert "流水状态更新" in upd["reason"]


def test_of_two_unsuccessful_states_the_later_bill_stands(tmp_path):
    """Processing on the 18th, failed on the 19th: the refund failed (not the first copy in file order)."""
    rows = _run(tmp_path, "A1,wechat,50.00,paid,2026-11-18 09:00:00\n", "RF1,A1,20.00,2026-11-18 12:00:00,success\n",
                PAY + "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,processing,2026-11-18 12:00:00,2026-11-18\n",
                "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,failed,2026-11-19 08:00:00,2026-11-19\n")
    assert rows["R-RF1"]["channel_status"] == "failed"
    assert rows["D-wechat:T1:refund:CR1"]["kind"] == "record_update"
    assert rows["D-wechat:T1:refund:CR1"]["channel_status"] == "processing"


@pytest.mark.parametrize("copy", [
    # the same bill day listing two states: not a lifecycle the bill shows, a break to look at
    "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,processing,2026-11-19 07:00:00,2026-11-19\n",
    # another day, another amount
    "wechat,M1,T1,A1,refund,RF1,CR1,25.00,0,processing,2026-11-18 12:00:00,2026-11-18\n",
    # another day, the same status: the record listed twice
    "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:00,2026-11-18\n",
    # no bill date on the copy: nothing says which listing came first
    "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,processing,2026-11-18 12:00:00,\n",
])
def test_other_copies_stay_duplicate_records(tmp_path, copy):
    rows = _run(tmp_path, "A1,wechat,50.00,paid,2026-11-18 09:00:00\n", "RF1,A1,20.00,2026-11-18 12:00:00,success\n",
                PAY + copy, "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-19 08:00:00,2026-11-19\n")
    assert rows["R-RF1"]["kind"] == "refund_matched" and rows["R-RF1"]["channel_amount_fen"] == "2000"
    assert rows["D-wechat:T1:refund:CR1"]["kind"] == "duplicate_record"


def test_a_duplicate_payment_with_a_leg_only_notified_says_so(tmp_path):
    """A payment notified (no bill yet) and another payment of the same order on the bill: a duplicate payment whose
    reason says that one leg is only a notification (helper-38's review)."""
    import datetime as dt

    import pyarrow as pa

    from paymatch.schema import TRANSACTION_ARROW
    from paymatch.workspace import Workspace

    w = tmp_path / "w.duckdb"
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nN1,wechat,8.00,paid,2026-11-20 10:00:00\n"
                                    "N2,wechat,9.00,paid,2026-11-20 10:00:00\n"
                                    "N3,wechat,7.00,paid,2026-11-20 10:00:00\n"
                                    "N4,wechat,6.00,paid,2026-11-20 10:00:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(TX + "wechat,M1,TB1,N1,payment,,,8.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TB2,N2,payment,,,9.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TB3,N2,payment,,,9.00,0,success,2026-11-20 10:00:09,2026-11-20\n"
                                         "wechat,M1,TB4,N3,payment,,,7.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TB5,N3,payment,,,7.00,0,success,2026-11-20 10:00:09,2026-11-20\n"
                                         "wechat,M1,TB6,N4,payment,,,6.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
                                         "wechat,M1,TB7,N4,payment,,,6.00,0,closed,2026-11-20 10:00:09,2026-11-20\n",
                                    encoding="utf-8")
    at = dt.datetime(2026, 11, 20, 2, 0, 7, tzinfo=dt.UTC)
    note = {"channel": "wechat", "merchant_id": "M1", "channel_tx_id": "TN1", "order_no": "N1", "type": "payment",
            "refund_no": None, "channel_refund_id": None, "amount_fen": 800, "fee_fen": 0, "settle_amount_fen": None,
            "status": "success", "occurred_at": at, "bill_date": None, "method": None}
    r = CliRunner().invoke(app, ["ingest", "--workspace", str(w), "--orders", str(tmp_path / "o.csv"),
                                 "--transactions", str(tmp_path / "t.csv")])
    assert r.exit_code == 0, r.output
    # a closed attempt notified beside N3's two paid bill rows is no unconfirmed leg (helper-39)
    closed = {**note, "channel_tx_id": "TN3", "order_no": "N3", "amount_fen": 700, "status": "closed"}
    # N4: one paid bill row, a closed bill row and a paid leg only notified (helper-40)
    paid = {**note, "channel_tx_id": "TN4", "order_no": "N4", "amount_fen": 600}
    with Workspace(w) as ws:
        ws.ingest_transactions(pa.Table.from_pylist([note, closed, paid], schema=TRANSACTION_ARROW),
                               source="notify:TN1",
                               origin="notify")
    r = CliRunner().invoke(app, ["reconcile", "--workspace", str(w), "--date", "2026-11-20",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {row["outcome_id"]: row for row in csv.DictReader(f)}
    assert rows["P-N1"]["kind"] == rows["P-N2"]["kind"] == "duplicate_payment"
    assert "real-time notification" in rows["P-N1"]["reason"]
    assert "notification" not in rows["P-N2"]["reason"]  # both legs on the bill
    assert rows["P-N3"]["kind"] == "duplicate_payment" and "notification" not in rows["P-N3"]["reason"]
    assert rows["P-N4"]["kind"] == "duplicate_payment" and "real-time notification" in rows["P-N4"]["reason"]


@pytest.mark.parametrize("twice", [False, True])
def test_a_file_run_into_a_workspace_keeps_the_records_it_already_holds(tmp_path, twice):
    """helper-56: the workspace held K1's payment (ingested from a.csv); a file run with --workspace over b.csv, which
    lists it again with the same values, left it out (stored once, under a.csv's batch): K1 order_only, 1 record.
    It is b.csv's record too: matched, as without --workspace. b.csv listing it twice keeps its second listing."""
    import json

    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nK1,wechat,4.00,paid,2026-11-20 10:00:00\n"
                                    "K2,wechat,5.00,paid,2026-11-20 11:00:00\n", encoding="utf-8")
    k1 = "wechat,M1,T1,K1,payment,,,4.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
    (tmp_path / "a.csv").write_text(TX + k1, encoding="utf-8")
    (tmp_path / "b.csv").write_text(TX + k1 * (2 if twice else 1)
                                    + "wechat,M1,T2,K2,payment,,,5.00,0,success,2026-11-20 11:00:05,2026-11-20\n",
                                    encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    assert CliRunner().invoke(app, ["ingest", "--workspace", w, "--transactions", str(tmp_path / "a.csv")]).exit_code == 0
    outs = {}
    for name, extra in (("ws", ["--workspace", w]), ("plain", [])):
        r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                     str(tmp_path / "b.csv"), "--out", str(tmp_path / name), *extra])
        assert r.exit_code == 0, r.output
        with (tmp_path / name / "outcomes.csv").open(encoding="utf-8") as f:
            outs[name] = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
        summary = json.loads((tmp_path / name / "summary.json").read_text(encoding="utf-8"))
        assert summary["control_totals"]["transactions"]["input_rows"] == (3 if twice else 2), name
    assert outs["ws"] == outs["plain"]
    assert outs["ws"]["P-K1"] == "matched" and outs["ws"]["P-K2"] == "matched"
    assert ("D-wechat:T1:payment:" in outs["ws"]) == twice


def test_a_file_run_into_a_workspace_takes_one_stored_copy_of_a_record_listed_again(tmp_path):
    """helper-64: the stored a.csv lists T1 twice (its own second listing, a duplicate_record of a.csv); a file run
    of b.csv (T1 once) with --workspace took both stored copies: a duplicate_record and 3 rows, where b.csv has 2."""
    import json

    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nK1,wechat,4.00,paid,2026-11-20 10:00:00\n"
                                    "K2,wechat,5.00,paid,2026-11-20 11:00:00\n", encoding="utf-8")
    k1 = "wechat,M1,T1,K1,payment,,,4.00,0,success,2026-11-20 10:00:05,2026-11-20\n"
    (tmp_path / "a.csv").write_text(TX + k1 * 2, encoding="utf-8")
    (tmp_path / "b.csv").write_text(TX + k1 + "wechat,M1,T2,K2,payment,,,5.00,0,success,2026-11-20 11:00:05,2026-11-20\n",
                                    encoding="utf-8")
    w = str(tmp_path / "w.duckdb")
    assert CliRunner().invoke(app, ["ingest", "--workspace", w, "--transactions", str(tmp_path / "a.csv")]).exit_code == 0
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                 str(tmp_path / "b.csv"), "--out", str(tmp_path / "out"), "--workspace", w])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        kinds = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert kinds == {"P-K1": "matched", "P-K2": "matched"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["control_totals"]["transactions"]["input_rows"] == 2


# a refund the channel numbers (CR1) listed by two files of one bill day two seconds apart (WeChat's ALL and REFUND
# bills): one record whose time alone differs; any other value differing, or a refund the channel does not number
# (Alipay's without out_request_no: refund_no only), keeps both copies
_REFUND_AT_12 = "wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:00,2026-11-18\n"


@pytest.mark.parametrize("copy, kept", [
    ("wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-18 12:00:02,2026-11-18\n", False),
    ("wechat,M1,T1,A1,refund,RF1,CR1,25.00,0,success,2026-11-18 12:00:02,2026-11-18\n", True),
    ("wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,processing,2026-11-18 12:00:02,2026-11-18\n", True),
    ("wechat,M1,T1,A1,refund,RF1,CR1,20.00,0,success,2026-11-19 12:00:02,2026-11-19\n", True),
])
@pytest.mark.parametrize("how", ["files", "workspace", "files_into_workspace"])
def test_only_the_time_of_a_refund_the_channel_numbers_may_differ_between_its_listings(tmp_path, copy, kept, how):
    import json

    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\n"
                                    "A1,wechat,50.00,paid,2026-11-18 09:00:00\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\nRF1,A1,20.00,2026-11-18 12:00:00,"
                                    "success\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text(TX + PAY + _REFUND_AT_12, encoding="utf-8")
    (tmp_path / "b.csv").write_text(TX + copy, encoding="utf-8")
    w, run = str(tmp_path / "w.duckdb"), CliRunner()
    base = ["--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv")]
    if how == "workspace":
        r = run.invoke(app, ["ingest", "--workspace", w, *base, "--transactions", str(tmp_path / "a.csv"),
                             "--transactions", str(tmp_path / "b.csv")])
        assert r.exit_code == 0, r.output
        args = ["reconcile", "--workspace", w, "--from", "2026-11-18", "--to", "2026-11-19"]
    else:
        args = ["reconcile", *base, "--transactions", str(tmp_path / "b.csv")]
        if how == "files":
            args[-2:-2] = ["--transactions", str(tmp_path / "a.csv")]
        else:
            r = run.invoke(app, ["ingest", "--workspace", w, "--transactions", str(tmp_path / "a.csv")])
            assert r.exit_code == 0, r.output
            args += ["--workspace", w]
    r = run.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        kinds = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    # a file run with --workspace over b.csv alone: b's row, or the stored copy it lists again, never both
    assert ("D-wechat:T1:refund:CR1" in kinds) == (kept and how != "files_into_workspace"), kinds
    if how != "workspace":
        summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
        rows = (3 if kept else 2) if how == "files" else 1
        assert summary["control_totals"]["transactions"]["input_rows"] == rows


@pytest.mark.parametrize("how", ["files", "workspace"])
def test_a_refund_the_channel_does_not_number_keeps_both_listings_seconds_apart(tmp_path, how):
    """refund_no only (no channel refund id): its time still tells two listings apart (a duplicate_record); two partial
    refunds of one payment, each with its own channel refund id, of one amount, seconds apart, are two refunds."""
    (tmp_path / "o.csv").write_text("order_no,channel,amount,status,paid_at\nA1,alipay,50.00,paid,2026-11-18 09:00:00\n"
                                    "B1,wechat,50.00,paid,2026-11-18 09:00:00\n", encoding="utf-8")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\n"
                                    "RA,A1,20.00,2026-11-18 12:00:00,success\n"
                                    "RB1,B1,10.00,2026-11-18 12:00:00,success\n"
                                    "RB2,B1,10.00,2026-11-18 12:00:01,success\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text(TX + "alipay,M2,T9,A1,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18\n"
                                    "alipay,M2,T9,A1,refund,RA,,20.00,0,success,2026-11-18 12:00:00,2026-11-18\n"
                                    "wechat,M1,T8,B1,payment,,,50.00,0,success,2026-11-18 09:00:05,2026-11-18\n"
                                    "wechat,M1,T8,B1,refund,RB1,CB1,10.00,0,success,2026-11-18 12:00:00,2026-11-18\n",
                                    encoding="utf-8")
    (tmp_path / "b.csv").write_text(TX + "alipay,M2,T9,A1,refund,RA,,20.00,0,success,2026-11-18 12:00:02,2026-11-18\n"
                                    "wechat,M1,T8,B1,refund,RB2,CB2,10.00,0,success,2026-11-18 12:00:01,2026-11-18\n",
                                    encoding="utf-8")
    base = ["--orders", str(tmp_path / "o.csv"), "--refunds", str(tmp_path / "r.csv"), "--transactions",
            str(tmp_path / "a.csv"), "--transactions", str(tmp_path / "b.csv")]
    if how == "workspace":
        w = str(tmp_path / "w.duckdb")
        assert CliRunner().invoke(app, ["ingest", "--workspace", w, *base]).exit_code == 0
        base = ["--workspace", w, "--date", "2026-11-18"]
    r = CliRunner().invoke(app, ["reconcile", *base, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with (tmp_path / "out" / "outcomes.csv").open(encoding="utf-8") as f:
        kinds = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert kinds == {"P-A1": "matched", "P-B1": "matched", "R-RA": "refund_matched", "R-RB1": "refund_matched",
                     "R-RB2": "refund_matched", "D-alipay:T9:refund:RA": "duplicate_record"}
