"""What bench/fuzz_inputs.py found (valid inputs damaged one way at a time, run through reconcile and ingest): each
was a traceback, a wrong line or a value stored that should have been refused. Every case: exit 2, one error naming
the file and the line, nothing stored."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from paymatch.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels" / "wechat"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels" / "alipay"))
import alipay_billgen as ab  # noqa: E402
import wechat_billgen as wb  # noqa: E402

runner = CliRunner()
GOLDEN = Path(__file__).parent / "golden" / "basic"
FLOWS_HEAD = "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
FLOW = "wechat_payscore,P1,{n},3,33.34,0.00,success,2026-11-20 10:00:00\n"


def _ingest(ws: Path, *args: str):
    return runner.invoke(app, ["ingest", "--workspace", str(ws), *args])


def _refused(r, path: Path, line: int | None, text: str = "") -> str:
    """The one error line of an exit-2 result (no traceback), naming ``path`` and its ``line``."""
    assert r.exit_code == 2, (r.exit_code, r.output, r.exception)
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception
    where = f"{path}:{line}" if line else str(path)
    assert where in r.output, r.output
    assert text in r.output, r.output
    assert sum(ln.startswith("error:") for ln in r.output.splitlines()) == 1, r.output
    return r.output


def _rows(ws: Path, table: str) -> list:
    con = duckdb.connect(str(ws), read_only=True)
    try:
        return sorted(map(repr, con.execute(f"SELECT * FROM {table}").fetchall()))
    finally:
        con.close()


# --- instalment flows CSV: read by Arrow, which raised on a non-UTF-8 line and named no line --------------------

def test_flows_line_in_another_encoding_is_named_not_a_traceback(tmp_path):
    """A UTF-8 flows CSV with one line in GBK (its order number 订单): pyarrow's ``invalid UTF8 data`` was a
    traceback; now the line is named and nothing is stored."""
    ws = tmp_path / "w.duckdb"
    good = tmp_path / "good.csv"
    good.write_text(FLOWS_HEAD + FLOW.format(n=1), encoding="utf-8")
    assert _ingest(ws, "--instalments", str(good)).exit_code == 0
    before = _rows(ws, "instalment_flows")
    bad = tmp_path / "flows.csv"
    bad.write_bytes((FLOWS_HEAD + "wechat_payscore,订单,1,3,1.00,0.00,success,2026-11-20 10:00:00\n").encode()
                    + "wechat_payscore,订单,2,3,1.00,0.00,success,2026-11-20 10:00:00\n".encode("gbk"))
    _refused(_ingest(ws, "--instalments", str(bad)), bad, 3, "not UTF-8 or GBK text")
    assert _rows(ws, "instalment_flows") == before
    r = runner.invoke(app, ["reconcile", "--orders", str(GOLDEN / "orders.csv"), "--transactions",
                            str(GOLDEN / "transactions.csv"), "--instalments", str(bad), "--as-of", "2026-11-20",
                            "--out", str(tmp_path / "out")])
    _refused(r, bad, 3, "not UTF-8 or GBK text")


def test_flows_gbk_file_is_read():
    """README: files may be UTF-8 or GBK; a flows CSV saved as GBK (Chinese order numbers) was a traceback."""
    import tempfile

    from paymatch.instalments.flows import load_flows_csv

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "flows.csv"
        p.write_bytes((FLOWS_HEAD + "wechat_payscore,订单1,1,3,33.34,0.00,success,2026-11-20 10:00:00\n").encode("gbk"))
        t = load_flows_csv(p)
    assert t.column("order_no").to_pylist() == ["订单1"] and t.column("amount_fen").to_pylist() == [3334]


def test_flows_field_count_and_open_quote_by_line(tmp_path):
    """A row with a field too many or too few, a quote that never closes, a last line cut mid-field: Arrow's
    "CSV parse error: Expected 8 columns, got 7" named no line; now each names its own."""
    ws = tmp_path / "w.duckdb"
    cases = {
        "extra.csv": (FLOWS_HEAD + FLOW.format(n=1) + FLOW.format(n=2).rstrip("\n") + ",x\n", 3, "9 fields"),
        "short.csv": (FLOWS_HEAD + FLOW.format(n=1).rsplit(",", 1)[0] + "\n" + FLOW.format(n=2), 2, "7 fields"),
        "quote.csv": (FLOWS_HEAD + FLOW.format(n=1) + FLOW.format(n=2).replace(",P1", ',"P1'), 3, "does not close"),
        "cut.csv": (FLOWS_HEAD + FLOW.format(n=1) + FLOW.format(n=2)[:30], 3, "fields, the header has 8"),
    }
    for name, (text, line, what) in cases.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        _refused(_ingest(ws, "--instalments", str(p)), p, line, what)


def test_flows_nul_byte_is_refused_by_line(tmp_path):
    """A NUL byte in a flow row was read into the value (stored, 'P\\x001' an order number of its own)."""
    p = tmp_path / "flows.csv"
    p.write_bytes((FLOWS_HEAD + FLOW.format(n=1) + FLOW.format(n=2).replace("P1", "P\x001")).encode())
    _refused(_ingest(tmp_path / "w.duckdb", "--instalments", str(p)), p, 3, "byte 00")


# --- config file -------------------------------------------------------------------------------------------------

def test_config_not_utf8_is_an_error_not_a_traceback(tmp_path):
    """A rules.toml saved as GBK ("ANSI" in Notepad on a Chinese Windows) was a UnicodeDecodeError traceback."""
    cfg = tmp_path / "rules.toml"
    cfg.write_bytes("# 对账规则\n[match]\namount_tolerance_fen = 0\n".encode("gbk"))
    r = runner.invoke(app, ["reconcile", "--orders", str(GOLDEN / "orders.csv"), "--config", str(cfg),
                            "--out", str(tmp_path / "out")])
    _refused(r, cfg, 1, "not UTF-8 text")


def test_config_with_utf8_bom_is_read(tmp_path):
    """Notepad's "UTF-8 with BOM": the BOM is no TOML statement."""
    from paymatch.config import load_config

    cfg = tmp_path / "rules.toml"
    cfg.write_bytes(b"\xef\xbb\xbf[match]\namount_tolerance_fen = 3\n")
    assert load_config(cfg).match.amount_tolerance_fen == 3


# --- a GBK export with a NUL byte or a UTF-8 line: the line named was its (valid) GBK header ---------------------

def test_gbk_export_names_the_damaged_line_not_its_header(tmp_path):
    head = "订单编号,门店编码,商户号,支付方式,实付金额（元）,订单状态,下单时间,支付时间\r\n".encode("gbk")
    row = "E{n},S01,1600000001,微信支付,20.00,已支付,2026/11/20 11:00:00,2026/11/20 11:00:05\r\n"
    cfg = tmp_path / "erp.toml"
    cfg.write_text('[inputs.orders.columns]\norder_no = "订单编号"\nstore_id = "门店编码"\nmerchant_id = "商户号"\n'
                   'channel = "支付方式"\namount = "实付金额（元）"\nstatus = "订单状态"\ncreated_at = "下单时间"\n'
                   'paid_at = "支付时间"\n', encoding="utf-8")
    nul = tmp_path / "nul.csv"
    nul.write_bytes(head + row.format(n=1).encode("gbk") + row.format(n=2).replace("S01", "S\x0001").encode("gbk"))
    _refused(_ingest(tmp_path / "w.duckdb", "--orders", str(nul), "--config", str(cfg)), nul, 3, "byte 00")
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(head + row.format(n=1).encode("gbk") + row.format(n=2).encode("utf-8"))
    _refused(_ingest(tmp_path / "w.duckdb", "--orders", str(mixed), "--config", str(cfg)), mixed, 3,
             "not UTF-8 or GBK text")


# --- channel bills: a time of the year 1 was stored; a non-UTF-8 line was "an unknown layout" or no line -------

def test_wechat_and_alipay_bill_times_outside_2000_2099_are_refused(tmp_path):
    """0001-01-01 00:00:00 in a WeChat trade bill, a WeChat fund-flow bill and an Alipay 业务明细 was stored as a
    payment of 1 BC (bill day 0001-01-01); canonical files and profile bills refused it."""
    ws = tmp_path / "w.duckdb"
    trade = tmp_path / "trade.csv"
    trade.write_bytes(wb.trade_bill([wb.payment(1, 1000, time="0001-01-01 00:00:00"), wb.payment(2, 2000)]))
    _refused(_ingest(ws, "--bills", str(trade)), trade, 2, "2000–2099")
    flow = tmp_path / "fundflow.csv"
    flow.write_bytes(wb.fundflow_bill([("1900-01-01 10:00:00", "收入", 1000, 1000)]))
    _refused(_ingest(ws, "--bills", str(flow)), flow, 2, "2000–2099")
    rows = ab.sample_rows()
    rows[2].finished = "2150-09-16 23:59:59"
    ali = tmp_path / f"{ab.ACCOUNT}_20190916_业务明细.csv"
    ali.write_bytes(ab.detail_bytes(rows))
    _refused(_ingest(ws, "--bills", str(ali)), ali, 8, "2000–2099")
    assert _rows(ws, "transactions") == [] and _rows(ws, "fund_flows") == []


def test_wechat_bill_with_a_gbk_line_names_that_line(tmp_path):
    """One line of a UTF-8 fund-flow bill in GBK: the head was read as GB18030 (mojibake header: "unknown bill
    layout, write a profile"), or Arrow's "invalid UTF8 data" named no line."""
    data = wb.fundflow_bill([("2026-11-20 10:00:00", "收入", 10000, 10000), ("2026-11-20 11:00:00", "支出", 3000, 7000)])
    lines = data.split(b"\n")
    lines[2] = lines[2].decode("utf-8").encode("gbk")
    p = tmp_path / "fundflow.csv"
    p.write_bytes(b"\n".join(lines))
    _refused(_ingest(tmp_path / "w.duckdb", "--bills", str(p)), p, 3, "not UTF-8 text")


def _alipay_zip(detail: bytes) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"{ab.ACCOUNT}_20190916_业务明细.csv", detail)
        zf.writestr(f"{ab.ACCOUNT}_20190916_业务明细(汇总).csv", ab.summary_bytes(ab.sample_rows()))
    return buf.getvalue()


def test_bill_with_a_stray_nul_is_refused_by_line_not_left_out(tmp_path):
    """A NUL byte in a bill's text made it "binary", left out: alone, "no bill found" without a line; inside an
    Alipay zip the 业务明细 was left out and its 汇总 stored alone (exit 0, the day's payments missing)."""
    ws = tmp_path / "w.duckdb"
    wx = tmp_path / "trade.csv"
    data = wb.trade_bill([wb.payment(1, 1000), wb.payment(2, 2000)])
    wx.write_bytes(data.replace(b"`ORD000002", b"`ORD\x00000002"))
    _refused(_ingest(ws, "--bills", str(wx)), wx, 3, "NUL byte")
    z = tmp_path / "alipay.zip"
    z.write_bytes(_alipay_zip(ab.detail_bytes(ab.sample_rows()).replace(b"ORD-2", b"ORD\x002")))
    _refused(_ingest(ws, "--bills", str(z)), Path(f"{z}!{ab.ACCOUNT}_20190916_业务明细.csv"), 8, "NUL byte")
    assert _rows(ws, "transactions") == []


def test_alipay_zip_with_an_empty_detail_is_refused(tmp_path):
    """An Alipay zip whose 业务明细 member is empty (a download cut short): its 汇总 (2 payments, 1 refund) was
    stored alone, 0 rows, exit 0."""
    z = tmp_path / "alipay.zip"
    z.write_bytes(_alipay_zip(b""))
    r = _ingest(tmp_path / "w.duckdb", "--bills", str(z))
    _refused(r, Path(f"{z}!{ab.ACCOUNT}_20190916_业务明细.csv"), None, "empty file")
    r = runner.invoke(app, ["reconcile", "--orders", str(GOLDEN / "orders.csv"), "--bills", str(z),
                            "--out", str(tmp_path / "out")])
    _refused(r, Path(f"{z}!{ab.ACCOUNT}_20190916_业务明细.csv"), None, "empty file")


def test_alipay_bill_with_a_utf8_line_names_that_line(tmp_path):
    """One row of the GBK 业务明细 in UTF-8: neither encoding read the head, and the file was "not an Alipay
    业务明细 / 账务明细 / 汇总 CSV"; now its row is refused by line and column."""
    text = ab.detail_text(ab.sample_rows())
    lines = text.split("\r\n")
    data = "\r\n".join(lines[:5]).encode("gbk") + b"\r\n" + lines[5].encode("utf-8") + b"\r\n" \
        + "\r\n".join(lines[6:]).encode("gbk")
    p = tmp_path / f"{ab.ACCOUNT}_20190916_业务明细.csv"
    p.write_bytes(data)
    _refused(_ingest(tmp_path / "w.duckdb", "--bills", str(p)), p, 6, "业务类型")


def test_config_true_for_a_number_is_refused(tmp_path):
    """``amount_tolerance_fen = true`` was read as a tolerance of 1 fen (pydantic takes a bool for an int), silently
    letting one-fen differences through as matched; ``cap_fen = false`` as a cap of 0."""
    from paymatch.config import load_config
    from paymatch.errors import ConfigError

    for text, key in (("[match]\namount_tolerance_fen = true\n", "amount_tolerance_fen"),
                      ('[[fees.rates]]\nchannel = "wechat"\nrate = "0.6%"\ncap_fen = false\n', "cap_fen"),
                      ("[anomalies]\nlarge_zscore = true\n", "large_zscore")):
        cfg = tmp_path / "rules.toml"
        cfg.write_text(text, encoding="utf-8")
        try:
            load_config(cfg)
        except ConfigError as e:
            assert str(cfg) in str(e) and key in str(e) and "not true/false" in str(e)
        else:
            raise AssertionError(f"{text!r} was accepted")
    cfg.write_text("[match]\ncompare_merchant = false\namount_tolerance_fen = 2\n", encoding="utf-8")
    assert load_config(cfg).match.amount_tolerance_fen == 2 and load_config(cfg).match.compare_merchant is False


def test_alipay_impossible_period_date_is_an_error_not_a_traceback(tmp_path):
    """#终止日期：[2019年13月17日 …] (an edited title line) was a ValueError traceback (month must be in 1..12)."""
    p = tmp_path / f"{ab.ACCOUNT}_20190916_业务明细.csv"
    p.write_bytes(ab.detail_text(ab.sample_rows()).replace("2019年09月17日 00:00:00", "2019年13月17日 00:00:00")
                  .encode("gbk"))
    _refused(_ingest(tmp_path / "w.duckdb", "--bills", str(p)), p, 3, "[终止日期]: not a date")


def test_unionpay_zm_name_with_an_impossible_date_is_an_error_not_a_traceback(tmp_path):
    """A ZM renamed INN191317… or INN190230…: its settle date (the year of its times) was a ValueError traceback."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels" / "unionpay"))
    import unionpay_zmgen as zg

    for name in ("INN19131788ZM_802310048993424", "INN19023088ZM_802310048993424"):
        p = tmp_path / name
        p.write_bytes(zg.zm_file([zg.zm_line()]))
        _refused(_ingest(tmp_path / "w.duckdb", "--bills", str(p)), p, None, "settle date is no date")


SAMPLES = Path(__file__).resolve().parents[2] / "src" / "paymatch" / "profiles" / "samples"


def test_profile_bill_cut_short_is_refused_not_its_last_rows_dropped(tmp_path):
    """cmb_pay drops its last 2 lines (导出人, 导出时间) by count: a download cut short had no such lines, and its
    last rows (one cut mid-field) were dropped in their place, 7 of 9 payments stored, exit 0."""
    lines = (SAMPLES / "cmb_pay.csv").read_bytes().decode("utf-8-sig").splitlines(keepends=True)
    p = tmp_path / "cmb_pay.csv"
    p.write_text("".join(lines[:10]) + lines[10][:35], encoding="utf-8")
    ws = tmp_path / "w.duckdb"
    _refused(_ingest(ws, "--bills", str(p)), p, 10, "cut short")
    whole = tmp_path / "whole.csv"
    whole.write_bytes((SAMPLES / "cmb_pay.csv").read_bytes())
    assert _ingest(ws, "--bills", str(whole)).exit_code == 0  # the whole export: its trailer dropped as before


def test_profile_trailer_padded_to_the_header_width_is_no_row(tmp_path):
    """The same export saved from a sheet as CSV: every line padded to the header's 7 fields ('导出人：财务01,,,,,,').
    The cut-short check counted fields only and refused the whole export; its 16 rows are stored, the padded
    trailer dropped. The same file cut short is still refused."""
    lines = (SAMPLES / "cmb_pay.csv").read_bytes().decode("utf-8-sig").splitlines()
    padded = [ln + "," * (6 - ln.count(",")) if i >= 2 else ln for i, ln in enumerate(lines)]
    p = tmp_path / "cmb_pay.csv"
    p.write_text("\n".join(padded) + "\n", encoding="utf-8")
    ws = tmp_path / "w.duckdb"
    r = _ingest(ws, "--bills", str(p))
    assert r.exit_code == 0, r.output
    assert len(_rows(ws, "transactions")) == 16
    short = tmp_path / "short.csv"
    short.write_text("\n".join(padded[:12]) + "\n", encoding="utf-8")
    _refused(_ingest(tmp_path / "w2.duckdb", "--bills", str(short)), short, 11, "cut short")


def test_flow_profile_time_outside_2000_2099_is_refused(tmp_path):
    """An Alipay 周期扣款 export's 扣款时间 0001-10-10 was stored as a deduction of the year 1."""
    text = (SAMPLES / "alipay_cycle_deductions.csv").read_bytes()
    enc = "utf-8"
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        enc = "gb18030"
    lines = text.decode(enc).splitlines(keepends=True)
    lines[5] = lines[5].replace("2026-10-10", "0001-10-10")
    p = tmp_path / "alipay_cycle_deductions.csv"
    p.write_bytes("".join(lines).encode(enc))
    _refused(_ingest(tmp_path / "w.duckdb", "--instalments", str(p)), p, 6, "2000–2099")


def test_flows_archive_with_a_damaged_member_is_refused_whole(tmp_path):
    """A flows zip with an encrypted member (or one with a NUL byte): the member was left out silently and the
    other one stored, exit 0."""
    import zipfile

    good = (FLOWS_HEAD + FLOW.format(n=1)).encode()
    z = tmp_path / "flows.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.csv", good)
        zf.writestr("b.csv", (FLOWS_HEAD + FLOW.format(n=2).replace("P1", "P\x001")).encode())
    ws = tmp_path / "w.duckdb"
    _refused(_ingest(ws, "--instalments", str(z)), Path(f"{z}!b.csv"), 2, "NUL byte")
    assert not _has_rows(ws)


def _has_rows(ws: Path) -> bool:
    con = duckdb.connect(str(ws), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM instalment_flows").fetchone()[0])
    except duckdb.CatalogException:
        return False
    finally:
        con.close()


def test_damaged_workspace_or_folder_gets_its_own_hint(tmp_path):
    """A workspace file cut short (a copy that did not finish) and a folder given as --workspace were both told
    "Hint: is another paymatch using it?"; a folder to a day's run "no such workspace file"."""
    ws = tmp_path / "w.duckdb"
    assert _ingest(ws, "--orders", str(GOLDEN / "orders.csv")).exit_code == 0
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(ws.read_bytes()[:200_000])
    out = _refused(_ingest(cut, "--orders", str(GOLDEN / "orders.csv")), cut, None, "damaged")
    assert "another paymatch" not in out
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    _refused(_ingest(folder, "--orders", str(GOLDEN / "orders.csv")), folder, None, "not a folder")
    r = runner.invoke(app, ["reconcile", "--workspace", str(folder), "--date", "2026-11-20"])
    _refused(r, folder, None, "a folder, not a workspace file")
