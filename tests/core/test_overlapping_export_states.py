"""An export of two days that lists a record in both of its states (processing on the first day's bill, successful
on the second's) delivers both states again when the two days' bills came first: neither is stored or counted twice.

Only a file's first listing of a record's identity was taken for the record delivered again, so the export's second
row (the successful state) was stored (counted) a second time and the record became a duplicate_record of 3 copies
instead of one record_update (audit_round6). A file's own second listing of the same values stays, as before."""

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace
from tests.core.test_workspace_carry import ORDERS, REFUNDS, TX, _write

runner = CliRunner()

PROCESSING = "wechat,1600000001,T1,U1,payment,,,10.00,0.06,processing,2026-11-20 12:00:05,2026-11-20"
SUCCESS = "wechat,1600000001,T1,U1,payment,,,10.00,0.06,success,2026-11-21 00:10:00,2026-11-21"
OTHER = "wechat,1600000001,T2,U2,payment,,,20.00,0.12,success,2026-11-20 12:00:06,2026-11-20"


def _files(tmp_path: Path, *export: str) -> dict[str, Path]:
    return {
        "orders": _write(tmp_path / "o.csv", ORDERS,
                         "U1,S1,1600000001,wechat,10.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:00,,,0",
                         "U2,S1,1600000001,wechat,20.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:01,,,0"),
        "refunds": _write(tmp_path / "r.csv", REFUNDS),
        "d1": _write(tmp_path / "d1.csv", TX, PROCESSING, OTHER),
        "d2": _write(tmp_path / "d2.csv", TX, SUCCESS),
        "both": _write(tmp_path / "both.csv", TX, *export),
    }


def _run(args: list) -> tuple[dict[str, tuple], dict]:
    out = Path(args[args.index("--out") + 1])
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    with (out / "outcomes.csv").open(encoding="utf-8") as f:
        rows = {o["outcome_id"]: (o["kind"], o["channel_rows"]) for o in csv.DictReader(f)}
    return rows, json.loads((out / "summary.json").read_text(encoding="utf-8"))["control_totals"]["transactions"]


def test_a_two_day_export_listing_both_states_counts_each_once(tmp_path):
    f = _files(tmp_path, PROCESSING, OTHER, SUCCESS)
    want = {"P-U1": ("matched", "1"), "P-U2": ("matched", "1"), "D-wechat:T1:payment:": ("record_update", "1")}
    rows, tx = _run(["reconcile", "--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"],
                     "--transactions", f["d2"], "--transactions", f["both"], "--out", tmp_path / "files"])
    assert rows == want and (tx["input_rows"], tx["input_fen"]) == (3, 4000)

    w = tmp_path / "w.duckdb"
    for args in (["--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"]],
                 ["--transactions", f["d2"]], ["--transactions", f["both"]]):
        assert runner.invoke(app, ["ingest", "--workspace", str(w), *map(str, args)]).exit_code == 0
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3
    rows, tx = _run(["reconcile", "--workspace", w, "--from", "2026-11-20", "--to", "2026-11-21",
                     "--out", tmp_path / "range"])
    assert rows == want and (tx["input_rows"], tx["input_fen"]) == (3, 4000)


def test_an_export_listing_one_state_twice_still_keeps_its_second_listing(tmp_path):
    f = _files(tmp_path, SUCCESS, OTHER, SUCCESS)
    rows, tx = _run(["reconcile", "--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"],
                     "--transactions", f["d2"], "--transactions", f["both"], "--out", tmp_path / "files"])
    assert tx["input_rows"] == 4  # the export's second SUCCESS row is a listing of its own
    assert rows["P-U1"] == ("matched", "1") and rows["D-wechat:T1:payment:"][0] == "duplicate_record"
    w = tmp_path / "w.duckdb"
    for args in (["--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"]],
                 ["--transactions", f["d2"]], ["--transactions", f["both"]]):
        assert runner.invoke(app, ["ingest", "--workspace", str(w), *map(str, args)]).exit_code == 0
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 4


def test_a_record_a_bill_lists_twice_delivered_again_listed_twice_is_still_two_listings(tmp_path):
    """audit_round8: a bill listing a payment twice (its own duplicate_record) and an overlapping export (or the bill
    downloaded again under another name) listing it twice too: the export's second listing was stored and counted
    once more (3 copies, 4 with a third file), so a re-download grew the duplicate. A later file's n-th listing of a
    record is delivered again when an earlier file lists it at least n times: the most any file lists it counts."""
    f = _files(tmp_path, SUCCESS, SUCCESS, OTHER)
    _write(f["d2"], TX, SUCCESS, SUCCESS)
    _write(tmp_path / "again.csv", TX, SUCCESS, SUCCESS)
    want = {"P-U1": ("matched", "1"), "P-U2": ("matched", "1"), "D-wechat:T1:payment:": ("duplicate_record", "1")}
    rows, tx = _run(["reconcile", "--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"],
                     "--transactions", f["d2"], "--transactions", f["both"], "--transactions", tmp_path / "again.csv",
                     "--out", tmp_path / "files"])
    assert rows["D-wechat:T1:payment:"] == ("duplicate_record", "2")  # processing + the second success
    assert (tx["input_rows"], tx["input_fen"]) == (4, 5000)
    w = tmp_path / "w.duckdb"
    for args in (["--orders", f["orders"], "--refunds", f["refunds"], "--transactions", f["d1"]],
                 ["--transactions", f["d2"]], ["--transactions", f["both"]], ["--transactions", tmp_path / "again.csv"]):
        assert runner.invoke(app, ["ingest", "--workspace", str(w), *map(str, args)]).exit_code == 0
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 4
    rows, tx = _run(["reconcile", "--workspace", w, "--from", "2026-11-20", "--to", "2026-11-21",
                     "--out", tmp_path / "range"])
    assert rows["D-wechat:T1:payment:"] == ("duplicate_record", "2") and tx["input_rows"] == 4
    # a file run of the export alone into the workspace: its own two listings, as without --workspace
    alone = {}
    for name, extra in (("ws", ["--workspace", w]), ("plain", [])):
        alone[name], tx = _run(["reconcile", "--orders", f["orders"], "--transactions", f["both"],
                                "--out", tmp_path / f"alone_{name}", *extra])
        assert tx["input_rows"] == 3, name
    assert alone["ws"] == alone["plain"] == want


def test_a_file_run_into_a_workspace_of_a_bill_stored_before_keeps_its_window(tmp_path):
    """`reconcile --workspace W --transactions t.csv` with a bill whose records W already holds (all listed again,
    none stored by this load): the run's window is still the bill's day, so an order paid minutes before its end
    with no record is pending_cross_day, as in the first run. The window came from the load's stored rows only:
    none, so no window, and the order was order_only."""
    late = "U9,S1,1600000001,wechat,30.00,paid,2026-11-20 23:55:00,2026-11-20 23:55:00,,,0"
    orders = _write(tmp_path / "o.csv", ORDERS,
                    "U2,S1,1600000001,wechat,20.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:01,,,0", late)
    refunds = _write(tmp_path / "r.csv", REFUNDS)
    bill = _write(tmp_path / "d1.csv", TX, OTHER)
    again = tmp_path / "d1_again.csv"  # the same bill downloaded again, saved with CRLF: other bytes, a new load
    again.write_bytes(bill.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert again.read_bytes() != bill.read_bytes()
    w = tmp_path / "w.duckdb"
    want = {"P-U2": ("matched", "1"), "P-U9": ("pending_cross_day", "0")}
    for n, f in ((1, bill), (2, again)):
        rows, tx = _run(["reconcile", "--workspace", w, "--orders", orders, "--refunds", refunds,
                         "--transactions", f, "--out", tmp_path / f"run{n}"])
        assert rows == want, n
        assert (tx["input_rows"], tx["input_fen"]) == (1, 2000), n
