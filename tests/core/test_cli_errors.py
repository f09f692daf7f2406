"""CLI errors are one clean ``error: …`` line with a hint and exit 2 — never a traceback, never silence.

Unwritable output paths (a missing folder, /proc, a folder where a file should go), a fund-flow
``--drill`` key no summary row has, and ``ingest`` without any input file.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paymatch.cli import app

runner = CliRunner()

ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
          "A1,S1,M1,wechat,10.00,paid,2026-11-20T10:00:00+08:00,2026-11-20T10:00:30+08:00\n"
          "A2,S1,M1,wechat,20.00,paid,2026-11-20T11:00:00+08:00,2026-11-20T11:00:30+08:00\n")
TXS = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,"
       "status,occurred_at,bill_date,method\n"
       "wechat,M1,T1,A1,payment,,,10.00,0.06,,success,2026-11-20T10:00:31+08:00,2026-11-20,\n"
       "wechat,M1,T2,A2,payment,,,20.00,0.12,,success,2026-11-20T11:00:31+08:00,2026-11-20,\n")


def _invoke(args: list) -> tuple[int, str]:
    res = runner.invoke(app, [str(a) for a in args])
    out = res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):  # what a user would see
        out += "".join(traceback.format_exception(res.exception))
    return res.exit_code, out


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_errors")
    (d / "o.csv").write_text(ORDERS, encoding="utf-8")
    (d / "t.csv").write_text(TXS, encoding="utf-8")
    code, out = _invoke(["ingest", "--workspace", d / "W.duckdb", "--orders", d / "o.csv", "--transactions", d / "t.csv"])
    assert code == 0, out
    code, out = _invoke(["reconcile", "--workspace", d / "W.duckdb", "--date", "2026-11-20"])
    assert code == 0, out
    return d


def _clean_error(code: int, out: str, message: str) -> None:
    assert "Traceback" not in out, out
    assert code == 2, out
    assert f"error: {message}" in " ".join(out.split()), out  # (the console may wrap a long line)
    assert "Hint:" in out, out


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith(".part"))


def test_unwritable_out_folder(files):
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", files / "t.csv",
                         "--out", "/proc/paymatch-x"])
    _clean_error(code, out, "cannot write /proc/paymatch-x: No such file or directory")


def test_out_is_a_file(files, tmp_path):
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", files / "t.csv",
                         "--out", tmp_path / "taken"])
    _clean_error(code, out, f"cannot write {tmp_path / 'taken'}: File exists")
    # the hint says what is wrong: a file where --out names a folder ("a folder that exists" misled)
    assert "Hint: a file of that name is in the way: give a folder (created if absent)" in " ".join(out.split())
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "mine"


def test_excel_into_a_missing_folder(files, tmp_path, monkeypatch):
    import tempfile

    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    target = tmp_path / "no" / "dir" / "r.xlsx"
    code, out = _invoke(["report", "reconciliation", "--workspace", files / "W.duckdb", "--date", "2026-11-20",
                         "--excel", target])
    _clean_error(code, out, f"cannot write {target}: No such file or directory")
    assert not (tmp_path / "no").exists()
    assert list(own.iterdir()) == []  # the sheets' temp files too


def test_an_output_file_in_a_missing_folder_is_refused_before_the_report_is_built(files, tmp_path, monkeypatch):
    """helper-68: a month's report was built (20 s and more) only to fail at its first write."""
    import paymatch.reports.recon as recon

    def built(*a, **k):
        raise AssertionError("the report was built")

    monkeypatch.setattr(recon, "build_reconciliation", built)
    for option in ("--excel", "--json"):
        target = tmp_path / "no" / f"r.{option[2:]}"
        code, out = _invoke(["report", "reconciliation", "--workspace", files / "W.duckdb", "--date", "2026-11-20",
                             option, target])
        _clean_error(code, out, f"cannot write {target}: No such file or directory")
        assert "nothing was computed" in out
    assert not (tmp_path / "no").exists()


def test_json_into_a_missing_folder(files, tmp_path):
    target = tmp_path / "no" / "dir" / "a.json"
    code, out = _invoke(["report", "anomalies", "--workspace", files / "W.duckdb", "--from", "2026-11-20",
                         "--to", "2026-11-20", "--json", target])
    _clean_error(code, out, f"cannot write {target}: No such file or directory")
    assert not (tmp_path / "no").exists()


def test_no_half_written_file_is_left(files, tmp_path):
    """A CSV table that cannot be moved into place (a folder has its name): its written .part goes too."""
    (tmp_path / "csv" / "summary.csv").mkdir(parents=True)
    code, out = _invoke(["report", "fund-flow", "--workspace", files / "W.duckdb", "--from", "2026-11-20",
                         "--to", "2026-11-20", "--csv", tmp_path / "csv"])
    _clean_error(code, out, f"cannot write {tmp_path / 'csv' / 'summary.csv'}: Is a directory")
    assert _leftovers(tmp_path) == []


def test_drill_of_a_key_no_row_has(files):
    base = ["report", "fund-flow", "--workspace", files / "W.duckdb", "--from", "2026-11-20", "--to", "2026-11-20",
            "--by", "channel"]
    code, out = _invoke([*base, "--drill", "no-such-key"])
    _clean_error(code, out, "no fund-flow rows under key 'no-such-key'")
    code, out = _invoke([*base, "--drill", "2026-11-20|wechat"])  # a real key still prints its rows
    assert code == 0 and len(out.strip().splitlines()) == 3, out


def test_ingest_without_files(tmp_path):
    code, out = _invoke(["ingest", "--workspace", tmp_path / "I.duckdb"])
    _clean_error(code, out, "nothing to ingest: give --orders/--refunds/--transactions/--bills")
    assert not (tmp_path / "I.duckdb").exists()


# --- [channels.alipay] bill_types in the config file (accounts.py): reachable, and validated by name ---

ALIPAY = """
[channels.alipay]
app_id = "2021000000000001"
app_private_key_file = "app.pem"
alipay_public_key_file = "alipay.pem"
"""


def _alipay_accounts(tmp_path: Path, extra: str):
    from paymatch.accounts import accounts
    from paymatch.config import load_config

    (tmp_path / "app.pem").write_text("APP KEY", encoding="utf-8")
    (tmp_path / "alipay.pem").write_text("ALIPAY KEY", encoding="utf-8")
    (tmp_path / "c.toml").write_text(ALIPAY + extra, encoding="utf-8")
    return accounts(load_config(tmp_path / "c.toml"), tmp_path, "alipay")


def test_alipay_bill_types_from_the_config_file(tmp_path):
    from paymatch.channels.alipay.config import AlipayConfig

    (acct,) = _alipay_accounts(tmp_path, 'bill_types = ["trade", "signcustomer"]\n')
    assert isinstance(acct.config, AlipayConfig)
    assert acct.config.bill_types == ("trade", "signcustomer")
    assert (acct.config.app_id, acct.config.app_private_key_pem) == ("2021000000000001", "APP KEY")
    (plain,) = _alipay_accounts(tmp_path, "")
    assert plain.config.bill_types == ("trade",)  # the default: the 业务明细 only


@pytest.mark.parametrize("value", ['["trade", "fundflow"]', '[]', '"trade"', '["trade", "trade"]', '[1]'])
def test_alipay_bill_types_validated(tmp_path, value):
    from paymatch.errors import ConfigError

    with pytest.raises(ConfigError, match=r"channels\.alipay.*bill_types.*'trade'.*'signcustomer'"):
        _alipay_accounts(tmp_path, f"bill_types = {value}\n")


def test_a_channel_without_any_record_is_said_once(tmp_path):
    """Orders expecting Alipay payments in a run without one Alipay record (its bill left out): summary.json
    names the channel with its order_only count and amount, the CLI says so in one line; a run with the bill
    names nothing."""
    import json

    basic = Path(__file__).parent / "golden" / "basic"
    lines = (basic / "transactions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    tx = tmp_path / "tx.csv"
    tx.write_text("".join(x for x in lines if not x.startswith("alipay")), encoding="utf-8")
    res = runner.invoke(app, ["reconcile", "--orders", str(basic / "orders.csv"), "--transactions", str(tx),
                              "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    got = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["channels_without_records"]
    import csv

    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        expect = [r for r in csv.DictReader(f) if r["kind"] == "order_only" and r["channel"] == "alipay"]
    assert got == [{"channel": "alipay", "order_only": len(expect),
                    "order_amount_fen": sum(int(r["order_amount_fen"]) for r in expect)}]
    assert len(expect) >= 1 and "No alipay records in this run" in " ".join(res.output.split())
    res = runner.invoke(app, ["reconcile", "--orders", str(basic / "orders.csv"), "--transactions",
                              str(basic / "transactions.csv"), "--out", str(tmp_path / "out2")])
    assert json.loads((tmp_path / "out2" / "summary.json").read_text(encoding="utf-8"))["channels_without_records"] == []


@pytest.mark.parametrize("encoding,what", [("utf-16", "not utf-16 text (UTF-16 stream does not start with BOM)"),
                                           ("bogus", "not bogus text (unknown encoding: bogus)")])
def test_encoding_that_does_not_fit_every_input(files, tmp_path, monkeypatch, encoding, what):
    """--encoding applies to every input: a UTF-16 orders file given with UTF-8 transactions, or an unknown
    encoding name, is a clean error naming the file (no traceback) and leaves no temp file."""
    import tempfile

    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    u16 = tmp_path / "u16.csv"
    u16.write_text(ORDERS, encoding="utf-16")
    code, out = _invoke(["reconcile", "--orders", u16, "--transactions", files / "t.csv", "--encoding", encoding,
                         "--out", tmp_path / "out"])
    out = " ".join(out.split())
    assert code == 2 and what in out and "Traceback" not in out and "applies to every input file" in out, out
    assert list(own.iterdir()) == []


def test_workspace_run_on_a_missing_workspace_file(tmp_path):
    """A mistyped --workspace in workspace mode is an error, not a new empty workspace reconciled to nothing."""
    code, out = _invoke(["reconcile", "--workspace", tmp_path / "typo.duckdb", "--date", "2026-11-20"])
    _clean_error(code, out, f"{tmp_path / 'typo.duckdb'}: no such workspace file")
    assert not (tmp_path / "typo.duckdb").exists()


def test_date_sets_the_window_of_a_file_run(files, tmp_path):
    """With files, --date is the window (the issue's "or --date"): an order paid 5 minutes before the bill day's
    end with no record is pending_cross_day in that day's window, order_only in the next day's."""
    import csv as _csv

    orders = tmp_path / "o.csv"
    orders.write_text(ORDERS + "A3,S1,M1,wechat,30.00,paid,2026-11-20T23:55:00+08:00,2026-11-20T23:55:00+08:00\n",
                      encoding="utf-8")
    kinds = {}
    for day in ("2026-11-20", "2026-11-21"):
        code, out = _invoke(["reconcile", "--orders", orders, "--transactions", files / "t.csv", "--date", day,
                             "--out", tmp_path / day])
        assert code == 0, out
        with open(tmp_path / day / "outcomes.csv", encoding="utf-8") as f:
            kinds[day] = {r["order_no"]: r["kind"] for r in _csv.DictReader(f)}
    assert kinds["2026-11-20"]["A3"] == "pending_cross_day" and kinds["2026-11-21"]["A3"] == "order_only"
    assert kinds["2026-11-20"]["A1"] == kinds["2026-11-21"]["A1"] == "matched"


def test_files_with_a_workspace_and_a_date_are_refused(files, tmp_path):
    """Files reconciled into a workspace under --date would store every row as that day's results."""
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", files / "t.csv", "--workspace",
                         tmp_path / "w.duckdb", "--date", "2026-11-20", "--out", tmp_path / "out"])
    _clean_error(code, out, "--date / --from --to with files and --workspace")
    assert not (tmp_path / "w.duckdb").exists()


def test_a_file_whose_lines_end_in_a_bare_cr_is_read_by_its_lines(tmp_path):
    """Classic Mac OS line ends (helper-48): a ragged row and a bad byte are named on their own line (they were all
    line 1), and a 合计 total line at the end is left out as in the same file with LF."""
    head = "order_no,channel,amount,status\r"
    (tmp_path / "t.csv").write_text(TXS, encoding="utf-8")
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes((head + "A1,wechat,10.00,paid\rA2,wechat,20.00,paid,x\r").encode())
    code, out = _invoke(["reconcile", "--orders", ragged, "--transactions", tmp_path / "t.csv", "--out", tmp_path / "o"])
    assert code == 2 and "ragged.csv:3: row has 5 fields" in out
    total = tmp_path / "total.csv"
    total.write_bytes((head + "A1,wechat,10.00,paid\rA2,wechat,20.00,paid\r合计,,30.00,\r").encode())
    code, out = _invoke(["reconcile", "--orders", total, "--transactions", tmp_path / "t.csv", "--out", tmp_path / "o"])
    assert code == 0 and "合计,30.00" in out and "orders: 2 rows" in " ".join(out.split())


def test_a_failed_file_says_which_files_the_command_stored_before_it(tmp_path):
    """Each file is all-or-nothing: when the third file of a command fails, the two before it stay stored, and the
    error says so (helper-48: it named only the failed file)."""
    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "r.csv").write_text("refund_no,order_no,amount,created_at,status\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(TXS.replace("20.00,0.12", "2.0.0,0.12"), encoding="utf-8")
    code, out = _invoke(["ingest", "--workspace", tmp_path / "w.duckdb", "--orders", tmp_path / "o.csv",
                         "--refunds", tmp_path / "r.csv", "--transactions", tmp_path / "t.csv"])
    flat = " ".join(out.split())
    assert code == 2 and "t.csv:3 [amount]" in flat
    assert f"stored by this command before it (each file all-or-nothing, these stay): orders {tmp_path / 'o.csv'}, " \
           f"refunds {tmp_path / 'r.csv'}" in flat


@pytest.mark.parametrize("args, message", [
    (["--date", "2026/11/20"], "--date: bad date '2026/11/20'"),
    (["--from", "2026-11-01", "--to", "2026-11-31"], "--to: bad date '2026-11-31'"),
    (["--from", "1.11.2026", "--to", "2026-11-30"], "--from: bad date '1.11.2026'"),
    (["--date", "2026-11-20", "--as-of", "20/11/2026"], "--as-of: bad date '20/11/2026'"),
])
def test_a_bad_date_names_its_option(files, args, message):
    """`reconcile --from … --to … --as-of …` said only "bad date: Invalid isoformat string" (or "day is out of range
    for month"), leaving the user to guess which of three dates was wrong; the reports name the option."""
    code, out = _invoke(["reconcile", "--workspace", files / "W.duckdb", *args])
    _clean_error(code, out, message)


def test_a_file_run_without_out_writes_where_its_help_says(files, tmp_path, monkeypatch):
    """`--out` had no default in --help, yet a file run without it wrote ./paymatch-out: a user who left it out found
    no outcomes where the README's examples put them and nothing saying where they went."""
    import typer

    helps = {p.name: p.help for p in typer.main.get_command(app).commands["reconcile"].params}
    assert "a file run without it: ./paymatch-out" in helps["out"], helps["out"]
    assert "or a file run's window" in helps["date"]  # --date is also a file run's window (README "Using it")
    monkeypatch.chdir(tmp_path)
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", files / "t.csv"])
    assert code == 0, out
    assert (tmp_path / "paymatch-out" / "outcomes.csv").is_file() and "paymatch-out/outcomes.csv" in out


@pytest.mark.parametrize("config_text", ['[channels.wechat]\nmchid = "1900000109"\n', "[match]\n"])
def test_serve_refused_for_its_config_leaves_no_new_workspace(files, tmp_path, config_text):
    """`serve` with an incomplete account (or nothing to serve) said so, but left a new empty W.duckdb behind
    (the app creates its workspace first): a mistyped --workspace then looked like a real, empty one."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text(config_text, encoding="utf-8")
    code, out = _invoke(["serve", "--workspace", tmp_path / "new.duckdb", "--config", cfg, "--port", "8099"])
    assert code == 2 and "Traceback" not in out and "error: " in out, out
    assert list(tmp_path.iterdir()) == [cfg]
    code, out = _invoke(["serve", "--workspace", files / "W.duckdb", "--config", cfg, "--port", "8099"])
    assert code == 2 and (files / "W.duckdb").is_file()  # an existing workspace is never removed


def test_an_account_error_names_its_config_file(tmp_path):
    """`pull`/`serve` said "channels.wechat: key 'merchant_serial_no' must be a non-empty string" without the file,
    while every other config error names it (ConfigError's own promise: the file and the key)."""
    cfg = tmp_path / "prod.toml"
    cfg.write_text('[channels.wechat]\nmchid = "1900000109"\n', encoding="utf-8")
    for args in (["pull", "--workspace", tmp_path / "W.duckdb", "--config", cfg, "--date", "2026-11-20", "--all"],
                 ["serve", "--workspace", tmp_path / "W.duckdb", "--config", cfg, "--port", "8099"]):
        code, out = _invoke(args)
        assert code == 2 and "Traceback" not in out, out
        assert f"error: {cfg}: channels.wechat: key 'merchant_serial_no'" in " ".join(out.split()), out


def test_a_workspace_option_naming_a_csv_is_refused(files, tmp_path):
    """`--workspace orders.csv` (options swapped): DuckDB 2 opens a CSV path as an in-memory database of views over
    it, so `ingest` died in a Binder Error traceback and `reconcile --workspace orders.csv --date …` reconciled into
    nothing (exit 0, every result lost); the reports answered from nothing."""
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    for ws in (orders, empty):
        for args in (["ingest", "--workspace", ws, "--orders", files / "o.csv"],
                     ["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out", tmp_path / "out"],
                     ["report", "reconciliation", "--workspace", ws, "--date", "2026-11-20"],
                     ["report", "fund-flow", "--workspace", ws, "--from", "2026-11-20", "--to", "2026-11-20"]):
            code, out = _invoke(args)
            _clean_error(code, out, f"{ws}: not a paymatch workspace")
    assert orders.read_text(encoding="utf-8") == ORDERS and empty.read_bytes() == b""
    assert not (tmp_path / "out").exists()
    code, out = _invoke(["report", "reconciliation", "--workspace", files / "W.duckdb", "--date", "2026-11-20"])
    assert code == 0, out  # a real workspace still opens


def test_a_workspace_given_as_an_input_file_is_named_as_one(files, tmp_path):
    """`--orders W.duckdb` (options swapped) was refused as "not UTF-8 or GBK text … the file looks like UTF-16"."""
    code, out = _invoke(["reconcile", "--orders", files / "W.duckdb", "--transactions", files / "t.csv",
                         "--out", tmp_path / "out"])
    _clean_error(code, out, f"{files / 'W.duckdb'}: a DuckDB database (a paymatch workspace), not CSV text")
    assert "UTF-16" not in out and "a workspace goes to --workspace" in " ".join(out.split())


def test_a_file_given_to_the_wrong_option_is_sent_to_the_right_one(files, tmp_path):
    """The refunds export given to --orders (or a bill to --orders) listed the columns it lacked and said "rename the
    columns, or map the export's columns under [inputs.orders]": advice that leads away from the real mistake."""
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("refund_no,order_no,amount,created_at,status\nRF1,A1,1.00,2026-11-20 12:00,success\n",
                       encoding="utf-8")
    bill = tmp_path / "wx.csv"  # a WeChat trade bill as delivered
    bill.write_text("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
                    "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n"
                    "`2026-11-20 10:00:31,`wx1,`1900000109,`0,`,`4200000000000000000001,`A1,`u,`JSAPI,`SUCCESS,`OTHERS,"
                    "`CNY,`10.00,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.06000,`0.60%,`10.00,`0.00,`\n"
                    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
                    "`1,`10.00,`0.00,`0.00,`0.06000,`10.00,`0.00\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    for args, said in (
        (["--orders", refunds, "--transactions", files / "t.csv"], "a canonical refunds file's: give the file to --refunds"),
        (["--orders", files / "o.csv", "--refunds", files / "o.csv", "--transactions", files / "t.csv"],
         "a canonical orders file's: give the file to --orders"),
        (["--orders", files / "o.csv", "--transactions", refunds], "a canonical refunds file's: give the file to --refunds"),
        (["--orders", bill, "--transactions", files / "t.csv"], "a channel bill (wechat): give it to --bills"),
        # every column orders need is there: its rows fail (status 'success'), and the hint says what the file is
        (["--orders", files / "t.csv", "--transactions", files / "t.csv"],
         "a canonical transactions file's: give the file to --transactions"),
    ):
        code, out = _invoke(["reconcile", *args, "--out", out_dir])
        assert code == 2 and "Traceback" not in out, out
        assert said in " ".join(out.split()) and "rename the columns" not in out, out
    assert not out_dir.exists()


def test_a_workbook_given_as_canonical_transactions_is_named_as_one(files, tmp_path):
    """An .xlsx no bill profile knows, given to --transactions, was refused as "not UTF-8 or GBK text (bytes 00 00 00
    at column 6)": the bytes of a zip, not what the user needs to hear."""
    import openpyxl

    wb = openpyxl.Workbook()
    for line in TXS.splitlines():
        wb.active.append(line.split(","))
    wb.save(tmp_path / "t.xlsx")
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", tmp_path / "t.xlsx",
                         "--out", tmp_path / "out"])
    _clean_error(code, out, f"{tmp_path / 't.xlsx'}: an .xlsx workbook, not CSV text")
    assert "00 00 00" not in out and "save the sheet as CSV" in out


def test_a_bills_path_without_any_bill_is_said(files, tmp_path):
    """`--bills README.md` (a file that is no bill) and `--bills empty/` loaded nothing and said nothing (exit 0):
    a mistyped folder looked like a day without trades. Now the file is refused, the folder's emptiness said."""
    (tmp_path / "notes.md").write_text("# not a bill\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    code, out = _invoke(["ingest", "--workspace", tmp_path / "W.duckdb", "--bills", tmp_path / "notes.md"])
    _clean_error(code, out, f"{tmp_path / 'notes.md'}: left out as not a bill (.md file); nothing was loaded")
    assert not (tmp_path / "W.duckdb").exists()
    code, out = _invoke(["ingest", "--workspace", tmp_path / "W.duckdb", "--bills", tmp_path / "empty"])
    assert code == 0 and f"{tmp_path / 'empty'}: no bill found (an empty folder)" in " ".join(out.split()), out
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--bills", tmp_path, "--out", tmp_path / "out"])
    assert code == 0 and "no bill found (left out: " in " ".join(out.split()) and "notes.md: not a bill" in out, out


def test_an_unknown_engine_is_refused_before_any_file_is_read(files, tmp_path):
    """`--engine polars` was refused only after every input had been loaded and validated (minutes on a chain's
    month), and a workspace run stored its inputs first."""
    code, out = _invoke(["reconcile", "--orders", files / "o.csv", "--transactions", files / "t.csv", "--engine",
                         "polars", "--out", tmp_path / "out"])
    assert code == 2 and "error: unknown engine 'polars'; choose one of duckdb, spark" in out, out
    assert "loading" not in out and not (tmp_path / "out").exists()
