"""Instalment flows stored in a workspace (`ingest --instalments`, `reconcile --workspace --instalments`).

Real DuckDB workspace files and the CLI; no mocks. The daily routine is auditor helper-52's repro: each day's run
is given that day's deduction export, and a workspace run re-checks every stored plan, so it must see every flow
stored before (the earlier days' matched periods turned into instalment_missing / overdue).
"""

from __future__ import annotations

import csv
import json

import duckdb
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.instalments.flows import read_flow_files
from paymatch.workspace import Workspace

runner = CliRunner()
ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
P1,S1,M1,wechat_payscore,300.00,paid,2026-10-20T10:00:00+08:00,2026-10-20T10:00:00+08:00,U1,gold,3
X1,S1,M1,alipay,10.00,paid,2026-11-19T10:00:00+08:00,2026-11-19T10:00:00+08:00,U2,gold,0
X2,S1,M1,alipay,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:00+08:00,U2,gold,0
"""
TXS = """channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method
alipay,M1,T1,X1,payment,,,10.00,0.00,10.00,success,2026-11-19T10:00:01+08:00,2026-11-19,alipay
alipay,M1,T2,X2,payment,,,10.00,0.00,10.00,success,2026-11-20T10:00:01+08:00,2026-11-20,alipay
"""
HEAD = "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
FLOWS_1020 = HEAD + "wechat_payscore,P1,1,3,100.00,0.00,success,2026-10-20T10:00:00+08:00\n"
FLOWS_1120 = HEAD + "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-20T10:00:00+08:00\n"


def _write(tmp_path, **files) -> dict:
    paths = {}
    for name, text in files.items():
        p = tmp_path / f"{name}.csv"
        p.write_text(text, encoding="utf-8")
        paths[name] = str(p)
    return paths


def _ok(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.output


def _instalment_rows(out) -> dict[str, tuple[str, str]]:
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return {r["outcome_id"]: (r["kind"], r["plan_status"]) for r in csv.DictReader(f)
                if r["outcome_id"].startswith("I-")}


def _day(ws: str, day: str, flows: str | None, out) -> dict[str, tuple[str, str]]:
    args = ["reconcile", "--workspace", ws, "--date", day, "--as-of", day, "--out", str(out)]
    _ok(args + (["--instalments", flows] if flows else []))
    return _instalment_rows(out)


def _flow_table(ws: str) -> list[tuple]:
    with duckdb.connect(ws, read_only=True) as con:
        return con.execute("SELECT channel, order_no, period_no, amount_fen, status, src_file, src_line, batch_id "
                           "FROM instalment_flows ORDER BY period_no, src_file").fetchall()


def _flow_batches(ws: str) -> list[tuple]:
    with duckdb.connect(ws, read_only=True) as con:
        return con.execute("SELECT batch_id, source, rows FROM batches WHERE kind = 'instalment_flows' "
                           "ORDER BY batch_id").fetchall()


def test_daily_routine_keeps_earlier_periods_matched(tmp_path):
    p = _write(tmp_path, orders=ORDERS, tx=TXS, f1020=FLOWS_1020, f1120=FLOWS_1120)
    ws = str(tmp_path / "ws.duckdb")
    _ok(["ingest", "--workspace", ws, "--orders", p["orders"], "--transactions", p["tx"]])

    day1 = _day(ws, "2026-11-19", p["f1020"], tmp_path / "o1")
    assert day1 == {"I-P1-1": ("instalment_matched", "open"), "I-P1-2": ("instalment_not_due", "open"),
                    "I-P1-3": ("instalment_not_due", "open")}
    day2 = _day(ws, "2026-11-20", p["f1120"], tmp_path / "o2")
    # period 1 came in the 11-19 run's file: stored, it stays matched (it became instalment_missing, overdue)
    assert day2 == {"I-P1-1": ("instalment_matched", "open"), "I-P1-2": ("instalment_matched", "open"),
                    "I-P1-3": ("instalment_not_due", "open")}
    summary = json.loads((tmp_path / "o2" / "summary.json").read_text())
    assert summary["control_totals"]["instalment_flows"]["input_rows"] == 2 and summary["conservation"]

    # one range run over the stored flows agrees with the day-by-day runs
    _ok(["reconcile", "--workspace", ws, "--from", "2026-11-19", "--to", "2026-11-20", "--as-of", "2026-11-20",
         "--out", str(tmp_path / "range")])
    assert _instalment_rows(tmp_path / "range") == day2

    rep = tmp_path / "rep.json"
    _ok(["report", "instalments", "--workspace", ws, "--from", "2026-11-01", "--to", "2026-11-30",
         "--as-of", "2026-11-20", "--json", str(rep)])
    (row,) = json.loads(rep.read_text())["tables"][0]["rows"]
    assert row["overdue_periods"] == 0 and row["outstanding_periods"] == 1 and row["outstanding_fen"] == 10000

    # day 1 again with its file: nothing new stored, and it sees what it saw (the 11-20 deduction is after its as-of)
    stored, batches = _flow_table(ws), _flow_batches(ws)
    assert len(stored) == 2 and len(batches) == 2
    assert _day(ws, "2026-11-19", p["f1020"], tmp_path / "o3") == day1
    assert _flow_table(ws) == stored and _flow_batches(ws) == batches
    # and day 2 again without any file: the stored flows alone
    assert _day(ws, "2026-11-20", None, tmp_path / "o4") == day2


def test_ingest_flows_with_provenance_and_idempotent(tmp_path):
    both = HEAD + FLOWS_1020.splitlines()[1] + "\n" + FLOWS_1120.splitlines()[1] + "\n"
    p = _write(tmp_path, f1020=FLOWS_1020, both=both)
    ws = str(tmp_path / "ws.duckdb")
    out = _ok(["ingest", "--workspace", ws, "--instalments", p["f1020"]])
    assert "1 rows, 1 stored" in out
    (row,) = _flow_table(ws)
    assert row[:7] == ("wechat_payscore", "P1", 1, 10000, "success", p["f1020"], 2)
    assert row[7].startswith("instalment_flows:")

    # the same file again (also as another --instalments of one command): nothing stored
    out = _ok(["ingest", "--workspace", ws, "--instalments", p["f1020"]])
    assert "already loaded, unchanged" in out
    assert len(_flow_table(ws)) == 1 and len(_flow_batches(ws)) == 1

    # an overlapping export lists period 1 again as it is: one row, the first delivery's provenance
    out = _ok(["ingest", "--workspace", ws, "--instalments", p["both"]])
    assert "2 rows, 1 stored (1 already stored" in out
    rows = _flow_table(ws)
    assert [(r[2], r[5], r[6]) for r in rows] == [(1, p["f1020"], 2), (2, p["both"], 3)]
    assert len(_flow_batches(ws)) == 2


def test_redelivery_with_changed_values_is_stored_beside_it(tmp_path):
    """A deduction in another state is another row (helper-63: the later delivery replaced the earlier, so a failed
    retry listed after a success wiped the success and a double charge vanished): processing and then successful,
    an older failed try, a second successful charge are all kept; the same row again is not."""
    rows = {
        "processing": HEAD + "wechat_payscore,P1,2,3,100.00,0.00,processing,2026-11-20T10:00:00+08:00\n",
        "success": HEAD + "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-20T10:05:00+08:00\n",
        "older": HEAD + "wechat_payscore,P1,2,3,100.00,0.00,failed,2026-11-19T10:00:00+08:00\n",
        "again": HEAD + "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-20T10:05:00+08:00\n"
                        "wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-21T10:05:00+08:00\n",
    }
    p = _write(tmp_path, **rows)
    with Workspace(tmp_path / "ws.duckdb") as ws:
        def load(name):
            (f,) = read_flow_files(p[name], hashes=True)
            return ws.ingest_flows(f)

        for name, stored_now in (("processing", 1), ("success", 1), ("older", 1), ("again", 1)):
            r = load(name)
            assert r.rows - r.already_stored == stored_now, name
        assert ws.con.execute("SELECT status, occurred_at::DATE::VARCHAR FROM instalment_flows ORDER BY occurred_at"
                              ).fetchall() == [("failed", "2026-11-19"), ("processing", "2026-11-20"),
                                               ("success", "2026-11-20"), ("success", "2026-11-21")]
        assert ws.con.execute("SELECT count(*) FROM batches WHERE kind = 'instalment_flows'").fetchall() == [(4,)]


def test_a_period_listed_twice_in_one_file_stays_twice(tmp_path):
    twice = FLOWS_1020 + FLOWS_1020.splitlines()[1] + "\n"
    p = _write(tmp_path, orders=ORDERS, tx=TXS, twice=twice, f1020=FLOWS_1020)
    ws = str(tmp_path / "ws.duckdb")
    _ok(["ingest", "--workspace", ws, "--orders", p["orders"], "--transactions", p["tx"], "--instalments",
         p["twice"], "--instalments", p["f1020"]])
    assert [r[6] for r in _flow_table(ws)] == [2, 3]  # the other file's copy is the same row, not a third
    rows = _day(ws, "2026-11-19", None, tmp_path / "o")
    assert rows["I-P1-1"][0] == "instalment_matched" and rows["I-P1-1#2"][0] == "instalment_duplicate"


def test_bad_flows_file_stores_nothing_and_names_file_line_field(tmp_path):
    bad = HEAD + ("wechat_payscore,P1,2,3,100.00,0.00,success,2026-11-20T10:00:00+08:00\n"
                  "wechat_payscore,P1,3,3,1.2.3,0.00,success,2026-12-20T10:00:00+08:00\n")
    p = _write(tmp_path, orders=ORDERS, tx=TXS, bad=bad, f1020=FLOWS_1020)
    ws = str(tmp_path / "ws.duckdb")
    _ok(["ingest", "--workspace", ws, "--orders", p["orders"], "--transactions", p["tx"]])
    r = runner.invoke(app, ["ingest", "--workspace", ws, "--instalments", p["f1020"], "--instalments", p["bad"]])
    assert r.exit_code == 2
    assert f"{p['bad']}:3 [amount]" in r.output and "1.2.3" in r.output
    assert "stored by this command before it" in r.output and p["f1020"] in r.output
    assert [x[5] for x in _flow_table(ws)] == [p["f1020"]]  # the good file stays, nothing of the bad one

    # a folder with a bad file stores none of its files
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.csv").write_text(FLOWS_1120, encoding="utf-8")
    (folder / "b.csv").write_text(bad, encoding="utf-8")
    r = runner.invoke(app, ["ingest", "--workspace", ws, "--instalments", str(folder)])
    assert r.exit_code == 2 and "b.csv:3 [amount]" in r.output, r.output
    assert len(_flow_table(ws)) == 1 and len(_flow_batches(ws)) == 1

    # reconcile --workspace with a bad flows file: nothing stored, nothing reconciled
    r = runner.invoke(app, ["reconcile", "--workspace", ws, "--date", "2026-11-20", "--instalments", p["bad"],
                            "--as-of", "2026-11-20"])
    assert r.exit_code == 2 and f"{p['bad']}:3 [amount]" in r.output, r.output
    with duckdb.connect(ws, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM instalment_flows").fetchall() == [(1,)]


def test_file_run_unchanged_and_file_run_with_workspace_stores_the_flows(tmp_path):
    both = FLOWS_1020 + FLOWS_1120.splitlines()[1] + "\n"
    p = _write(tmp_path, orders=ORDERS, tx=TXS, both=both)
    args = ["reconcile", "--orders", p["orders"], "--transactions", p["tx"], "--instalments", p["both"],
            "--as-of", "2026-11-20"]
    _ok(args + ["--out", str(tmp_path / "file")])
    expected = {"I-P1-1": ("instalment_matched", "open"), "I-P1-2": ("instalment_matched", "open"),
                "I-P1-3": ("instalment_not_due", "open")}
    assert _instalment_rows(tmp_path / "file") == expected
    assert not list(tmp_path.glob("*.duckdb"))

    ws = str(tmp_path / "ws.duckdb")
    _ok(args + ["--workspace", ws, "--out", str(tmp_path / "filews")])
    assert _instalment_rows(tmp_path / "filews") == expected
    assert [(r[2], r[5], r[6]) for r in _flow_table(ws)] == [(1, p["both"], 2), (2, p["both"], 3)]


def test_workspace_from_before_flows_were_stored_opens(tmp_path):
    p = _write(tmp_path, orders=ORDERS, tx=TXS, f1020=FLOWS_1020)
    ws = str(tmp_path / "old.duckdb")
    _ok(["ingest", "--workspace", ws, "--orders", p["orders"], "--transactions", p["tx"]])
    with duckdb.connect(ws) as con:  # as a workspace written before the table existed
        con.execute("DROP TABLE instalment_flows")
    # a run without flows is as before (no instalment matching), then flows are stored and matched
    _ok(["reconcile", "--workspace", ws, "--date", "2026-11-19", "--out", str(tmp_path / "o0")])
    assert _instalment_rows(tmp_path / "o0") == {}
    assert _day(ws, "2026-11-19", p["f1020"], tmp_path / "o1")["I-P1-1"] == ("instalment_matched", "open")


def test_overlapping_exports_file_run_reads_a_deduction_once_as_the_workspace_stores_it(tmp_path):
    """Two exports that overlap (October's, then one covering October and November) list period 1 twice with the same
    values: one deduction delivered twice, as a workspace stores it (``ingest_flows``), not a double charge. Before,
    a file run read both copies and said ``instalment_duplicate`` where the workspace run over the same files said
    matched. A file's own second row of a period still stays (a double charge listed in one export)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a_oct.csv").write_text(FLOWS_1020, encoding="utf-8")
    (folder / "b_oct_nov.csv").write_text(FLOWS_1020 + FLOWS_1120.splitlines()[1] + "\n", encoding="utf-8")
    p = _write(tmp_path, orders=ORDERS, tx=TXS)
    args = ["reconcile", "--orders", p["orders"], "--transactions", p["tx"], "--instalments", str(folder),
            "--as-of", "2026-11-20"]
    expected = {"I-P1-1": ("instalment_matched", "open"), "I-P1-2": ("instalment_matched", "open"),
                "I-P1-3": ("instalment_not_due", "open")}
    out = _ok(args + ["--out", str(tmp_path / "file")])
    assert _instalment_rows(tmp_path / "file") == expected
    assert "listed again" in out
    summary = json.loads((tmp_path / "file" / "summary.json").read_text(encoding="utf-8"))
    assert summary["conservation"] is True
    assert summary["control_totals"]["instalment_flows"]["input_rows"] == 2
    assert any("1 instalment flow row" in n for n in summary["input_notes"])

    ws = str(tmp_path / "ws.duckdb")
    _ok(args + ["--workspace", ws, "--out", str(tmp_path / "filews")])
    assert _instalment_rows(tmp_path / "filews") == expected
    assert len(_flow_table(ws)) == 2
    assert _day(ws, "2026-11-20", None, tmp_path / "day") == expected

    # one export listing a period twice is still a double charge
    (folder / "c_twice.csv").write_text(FLOWS_1120 + FLOWS_1120.splitlines()[1].replace("10:00:00", "10:07:00")
                                        + "\n", encoding="utf-8")
    _ok(args + ["--out", str(tmp_path / "file2")])
    rows = _instalment_rows(tmp_path / "file2")
    assert rows["I-P1-2"][0] == "instalment_matched" and rows["I-P1-2#2"][0] == "instalment_duplicate"
