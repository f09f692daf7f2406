"""Real channel bills through the CLI: detected by content, reconciled; an untied bill is rejected and quarantined."""

import csv
import shutil
import zipfile

from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

runner = CliRunner()
ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
          "S20210128170702357723,S1,1601959334,wechat,0.01,paid,2021-01-28T17:07:10+08:00,2021-01-28T17:07:10+08:00,,,0\n"
          "S20210128999999999999,S1,1601959334,wechat,5.00,paid,2021-01-28T12:00:00+08:00,2021-01-28T12:00:01+08:00,,,0\n")


def test_real_wechat_bill_by_content(shared_dir, tmp_path):
    bills = tmp_path / "bills" / "nested"
    bills.mkdir(parents=True)
    # a renamed file: detection must not depend on the name
    shutil.copy(shared_dir / "fixtures/channels/wechat/gunsluo_tradebill_ALL_20210128.csv.gz", bills / "download.bin")
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(orders), "--bills", str(tmp_path / "bills"),
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        got = {row["outcome_id"]: row["kind"] for row in csv.DictReader(f)}
    assert got == {"P-S20210128170702357723": "matched", "P-S20210128153505214586": "channel_only",
                   "P-S20210128165824499930": "channel_only", "P-S20210128999999999999": "order_only"}


def test_untied_bill_rejected_and_quarantined(shared_dir, tmp_path):
    bills = tmp_path / "bills"
    bills.mkdir()
    shutil.copy(shared_dir / "fixtures/channels/wechat/gunsluo_fundflowbill_BASIC_20210201.csv", bills / "ff.csv")
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--bills", str(bills)])
    assert r.exit_code == 2
    assert "ff.csv:5" in r.output and "资金流水总笔数" in r.output and "does not tie out" in r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 1
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0


def test_bill_given_as_transactions_is_read_as_a_bill(shared_dir, tmp_path):
    """A bill as delivered passed to --transactions (the file a user has) is read as --bills would read it,
    in reconcile and in ingest; a file nothing recognises still fails on the canonical columns."""
    bill = shared_dir / "fixtures/channels/wechat/gunsluo_tradebill_ALL_20210128.csv"
    r, rows = _reconcile_with(tmp_path, bill)
    assert "a wechat bill as delivered, read as --bills" in r.output
    got = {row["outcome_id"]: row["kind"] for row in rows}
    assert got["P-S20210128170702357723"] == "matched" and len(got) == 4
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--transactions", str(bill)])
    assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 3
    other = tmp_path / "export.csv"
    other.write_text("单号,金额\nA1,1.00\n", encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(tmp_path / "orders.csv"), "--transactions", str(other),
                            "--out", str(tmp_path / "out2")])
    assert r.exit_code == 2 and "export.csv:1 [channel_tx_id]: required column missing" in r.output


def _reconcile_with(tmp_path, transactions, orders_text: str = ORDERS):
    """``reconcile`` of ORDERS against ``--transactions transactions``; (the CLI result, the outcome rows)."""
    orders = tmp_path / "orders.csv"
    orders.write_text(orders_text, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(orders), "--transactions", str(transactions),
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        return r, list(csv.DictReader(f))


CANONICAL_TX = ("channel,merchant_id,channel_tx_id,order_no,type,amount,status,occurred_at,bill_date\n"
                "wechat,1601959334,T9,S20210128999999999999,payment,5.00,success,2021-01-28 12:00:02,2021-01-28\n")


def test_folder_of_canonical_csvs_and_bills_given_as_transactions(shared_dir, tmp_path):
    """A folder given to --transactions: its canonical CSVs are loaded as transactions, its bills as --bills
    (hidden files left out), so the same order is matched from either kind of file."""
    folder = tmp_path / "channel"
    (folder / ".cache").mkdir(parents=True)
    (folder / "exported.csv").write_text(CANONICAL_TX, encoding="utf-8")
    (folder / ".cache" / "stale.csv").write_text(CANONICAL_TX.replace("T9", "T8"), encoding="utf-8")
    shutil.copy(shared_dir / "fixtures/channels/wechat/gunsluo_tradebill_ALL_20210128.csv", folder / "bill.csv")
    r, rows = _reconcile_with(tmp_path, folder)
    assert "bill.csv: a bill (beside the folder's canonical CSVs) as delivered, read as --bills" in r.output
    got = {row["outcome_id"]: (row["kind"], row["channel_tx_id"]) for row in rows}
    assert got["P-S20210128999999999999"] == ("matched", "T9")
    assert got["P-S20210128170702357723"][0] == "matched"
    assert len(got) == 4


def test_compressed_inputs(tmp_path):
    """A .gz or a one-file .zip of orders or transactions is read as the file it holds; messages and the
    workspace's provenance name the user's archive; a .zip of two files and a damaged .gz are refused."""
    import gzip

    (tmp_path / "tx.csv.gz").write_bytes(gzip.compress(CANONICAL_TX.encode()))
    with zipfile.ZipFile(tmp_path / "orders.zip", "w") as z:
        z.writestr("export/orders.csv", ORDERS)
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(tmp_path / "orders.zip"),
                            "--transactions", str(tmp_path / "tx.csv.gz")])
    assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT src_file, src_line FROM transactions").fetchall() == [(str(tmp_path / "tx.csv.gz"), 2)]
        assert sorted(ws.con.execute("SELECT src_file, src_line FROM orders").fetchall()) == [
            (str(tmp_path / "orders.zip"), 2), (str(tmp_path / "orders.zip"), 3)]
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--transactions", str(tmp_path / "tx.csv.gz")])
    assert r.exit_code == 0 and "already loaded" in r.output, r.output

    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(CANONICAL_TX.replace("5.00", "5.0.0").encode()))
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--transactions", str(bad)])
    assert r.exit_code == 2 and f"{bad}:2 [amount]" in r.output and "_pm_" not in r.output, r.output
    bad.write_bytes(gzip.compress(CANONICAL_TX.encode())[:40])
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--transactions", str(bad)])
    assert r.exit_code == 2 and "damaged gzip" in r.output, r.output
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", ORDERS)
        z.writestr("b.csv", ORDERS)
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(tmp_path / "two.zip")])
    assert r.exit_code == 2 and "a .zip of 2 files" in r.output, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 1


def test_folder_of_compressed_canonical_csvs(tmp_path):
    """A folder given to --transactions with a .csv and a .csv.gz of canonical transactions loads both."""
    import gzip

    folder = tmp_path / "tx"
    folder.mkdir()
    (folder / "a.csv").write_text(CANONICAL_TX, encoding="utf-8")
    (folder / "b.csv.gz").write_bytes(gzip.compress(CANONICAL_TX.replace("T9", "T7").replace(
        "S20210128999999999999", "S20210128170702357723").encode()))
    _, rows = _reconcile_with(tmp_path, folder, ORDERS.replace("0.01", "5.00"))
    assert sorted((row["channel_tx_id"], row["kind"]) for row in rows) == [("T7", "matched"), ("T9", "matched")]
    # the .csv a .csv.gz was unpacked into, side by side (and a one-file .zip of it): one file, said so
    (folder / "b.csv").write_bytes(gzip.decompress((folder / "b.csv.gz").read_bytes()))
    with zipfile.ZipFile(folder / "c.zip", "w") as z:
        z.writestr("a.csv", CANONICAL_TX)
    r, rows = _reconcile_with(tmp_path, folder, ORDERS.replace("0.01", "5.00"))
    assert sorted((row["channel_tx_id"], row["kind"]) for row in rows) == [("T7", "matched"), ("T9", "matched")]
    out = " ".join(r.output.split())
    assert "b.csv.gz: left out, same content as" in out and "c.zip: left out, same content as" in out, out


def test_archive_of_several_canonical_csvs_in_a_folder_is_named_as_such(tmp_path):
    """In a folder given to --transactions, a .zip of two canonical transactions CSVs is read as a bill archive
    (which of its files is meant is not guessed); the error says the file inside is canonical and how to give
    it, not "unknown bill layout"."""
    folder = tmp_path / "tx"
    folder.mkdir()
    with zipfile.ZipFile(folder / "more.zip", "w") as z:
        z.writestr("a.csv", CANONICAL_TX)
        z.writestr("b.csv", CANONICAL_TX.replace("T9", "T7"))
    for extra in (False, True):
        if extra:
            (folder / "c.csv").write_text(CANONICAL_TX.replace("T9", "T5"), encoding="utf-8")
        r = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--transactions", str(folder)])
        out = " ".join(r.output.split())
        assert r.exit_code == 2 and "a canonical transactions CSV where a bill was expected" in out, out
        assert "unknown bill layout" not in out and "more.zip!a.csv" in out, out


def test_own_bill_profile_from_the_config(tmp_path):
    """A bill layout no built-in profile knows is refused with a hint naming [bills] profile_dirs; with the shop's
    own profile there, the same bill loads."""
    bill = tmp_path / "bills" / "petty.csv"
    bill.parent.mkdir()
    bill.write_text("备用金流水\n凭证号,时间,进账,出账\nSO1,2026-11-20 09:00,12.50,\nSO2,2026-11-20 10:00,,3.00\n",
                    encoding="utf-8")
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--bills", str(bill.parent)])
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and "unknown bill layout" in out and "[bills] profile_dirs" in out, out
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "petty.yaml").write_text(
        "name: petty_cash\nchannel: cash\nmethod: cash\ndescription: 备用金流水\nprovenance: the shop's own\n"
        "sniff:\n  regex: '备用金流水'\n  headers: [凭证号, 进账, 出账]\n"
        "columns:\n  occurred_at: 时间\n  order_no: 凭证号\n  amount_in: 进账\n  amount_out: 出账\n"
        "time:\n  formats: ['%Y-%m-%d %H:%M']\ntype:\n  rule: in_out\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    cfg.write_text(f'[bills]\nprofile_dirs = ["{tmp_path / "mine"}"]\n', encoding="utf-8")
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--bills", str(bill.parent), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT order_no, type, amount_fen FROM transactions ORDER BY order_no").fetchall()
    assert got == [("SO1", "payment", 1250), ("SO2", "refund", 300)]


def test_instalment_flow_export_given_as_a_bill_says_where_it_goes(tmp_path):
    from paymatch.channels.profiles import builtin_flow_profiles, builtin_sample

    profile = builtin_flow_profiles()[0]
    r = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--bills", str(builtin_sample(profile))])
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and f"an instalment flow export ({profile.name}), not a bill" in out, out
    assert "--instalments" in out and "nothing was loaded" in out, out


def test_a_file_run_says_how_many_bill_records_another_file_delivered_again(shared_dir, tmp_path):
    """The day's WeChat bill as the API delivered it (.gz) and as the merchant platform saved it (a BOM): the records
    are counted once, as a workspace stores them once, and the file run says how many (README: "both say how many";
    ingest said it, a file run over --bills said nothing: audit_round7)."""
    import json

    bills = tmp_path / "bills"
    bills.mkdir()
    shutil.copy(shared_dir / "fixtures/channels/wechat/gunsluo_tradebill_ALL_20210128.csv.gz", bills / "api.csv.gz")
    text = (shared_dir / "fixtures/channels/wechat/gunsluo_tradebill_ALL_20210128.csv").read_bytes()
    (bills / "platform.csv").write_bytes(b"\xef\xbb\xbf" + text)
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    r = runner.invoke(app, ["reconcile", "--orders", str(orders), "--bills", str(bills), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["control_totals"]["transactions"]["input_rows"] == 3
    notes = [n for n in summary.get("input_notes", []) if "same values" in n]
    assert len(notes) == 1 and notes[0].startswith("3 channel record(s) of ") and "platform.csv" in notes[0], notes
    assert "listed with the same values by an earlier file" in " ".join(r.output.split())
