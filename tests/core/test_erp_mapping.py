"""ERP exports through the column mapping ([inputs] in the config): a GBK CSV with a title line and Chinese
headers and values, and an .xlsx, reconcile exactly like their canonical twin (golden/basic); unknown values,
bad amounts and duplicates are refused naming the user's file, its line and the export's column; a workspace
stores the user's file and lines as provenance; canonical files stay canonical with a mapping configured.
"""

from __future__ import annotations

import csv
import json
import datetime as dt
import tempfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

runner = CliRunner()
BASIC = Path(__file__).parent / "golden" / "basic"

ORDER_HEADERS = {"order_no": "订单编号", "store_id": "门店编码", "merchant_id": "商户号", "channel": "支付方式",
                 "amount": "实付金额（元）", "status": "订单状态", "created_at": "下单时间", "paid_at": "支付时间",
                 "member_id": "会员编号", "member_level": "会员等级", "instalments": "分期数"}
REFUND_HEADERS = {"refund_no": "退款单号", "order_no": "原订单号", "amount": "退款金额", "created_at": "申请时间",
                  "status": "退款状态"}
STATUS = {"paid": "已支付", "unpaid": "待支付", "closed": "交易关闭", "refunded": "已退款"}
CHANNEL = {"wechat": "微信支付", "alipay": "支付宝", "huabei": "花呗", "balance": "余额"}
REFUND_STATUS = {"success": "退款成功", "processing": "退款中", "failed": "退款失败"}

CONFIG = """
[inputs.orders.columns]
order_no = "订单编号"
store_id = "门店编码"
merchant_id = "商户号"
channel = "支付方式"
amount = ["实收金额", "实付金额(元)"]   # the file writes （元） full-width: names compare ignoring width
status = "订单状态"
created_at = "下单时间"
paid_at = "支付时间"
member_id = "会员编号"
member_level = "会员等级"
instalments = "分期数"
[inputs.refunds]
columns = { refund_no = "退款单号", order_no = "原订单号", amount = "退款金额", created_at = "申请时间", status = "退款状态" }
header_line = 3
"""


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _shanghai(text: str) -> str:
    """A canonical time as an ERP writes it: 2026/11/20 10:00:05, naive Asia/Shanghai."""
    if not text:
        return ""
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return t.strftime("%Y/%m/%d %H:%M:%S")


def _erp_orders() -> list[list[str]]:
    """golden/basic orders as an ERP exports them: Chinese headers and words, a currency sign, local times."""
    out = [list(ORDER_HEADERS.values()) + ["商品名称"]]
    for r in _rows(BASIC / "orders.csv"):
        out.append([r["order_no"], r["store_id"], r["merchant_id"], CHANNEL[r["channel"]], "￥" + r["amount"],
                    STATUS[r["status"]], _shanghai(r["created_at"]), _shanghai(r["paid_at"]), r["member_id"],
                    r["member_level"], r["instalments"], "咖啡"])
    return out


def _erp_refunds() -> list[list[str]]:
    out = [list(REFUND_HEADERS.values())]
    for r in _rows(BASIC / "refunds.csv"):
        out.append([r["refund_no"], r["order_no"], r["amount"], _shanghai(r["created_at"]), REFUND_STATUS[r["status"]]])
    return out


def _write_csv(path: Path, rows: list[list[str]], title: list[str], encoding: str = "gbk") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        for line in title:
            f.write(line + "\r\n")
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture()
def cfg(tmp_path) -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(CONFIG, encoding="utf-8")
    return p


@pytest.fixture()
def own_tmp(tmp_path, monkeypatch) -> Path:
    """Temp files go to a folder of this test, so the test sees that none is left behind."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def _reconcile(out: Path, orders: Path, refunds: Path, *extra: str):
    return runner.invoke(app, ["reconcile", "--orders", str(orders), "--refunds", str(refunds), "--transactions",
                               str(BASIC / "transactions.csv"), "--out", str(out), *extra])


def _outcomes(folder: Path) -> list[dict]:
    return sorted(_rows(folder / "outcomes.csv"), key=lambda r: r["outcome_id"])


@pytest.fixture(scope="module")
def canonical_outcomes(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("canonical")
    res = _reconcile(out, BASIC / "orders.csv", BASIC / "refunds.csv")
    assert res.exit_code == 0, res.output
    return _outcomes(out)


def test_gbk_export_with_title_line_reconciles_like_its_canonical_twin(tmp_path, cfg, own_tmp, canonical_outcomes):
    orders = _write_csv(tmp_path / "订单导出.csv", _erp_orders(), ["订单导出报表（2026-11-20）"])
    refunds = _write_csv(tmp_path / "退款.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    assert orders.read_bytes().decode("gbk") and b"\xa3\xa4" in orders.read_bytes()  # GBK, with ￥ signs
    # without the mapping the export is refused: the test below really goes through the mapping
    res = _reconcile(tmp_path / "plain", orders, refunds)
    assert res.exit_code == 2 and "required column missing" in res.output
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    got = _outcomes(tmp_path / "out")
    assert got == canonical_outcomes and len(got) > 15
    assert list(own_tmp.iterdir()) == []


def _xlsx(path: Path, rows: list[list], title: str | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_xlsx_export_reconciles_like_its_canonical_twin(tmp_path, cfg, own_tmp, canonical_outcomes):
    rows = _erp_orders()
    for r in rows[1:]:  # as Excel holds them: numbers, datetimes, no seconds where there are none
        r[4] = float(r[4].lstrip("￥"))
        assert r[6].endswith(":00")
        r[6] = r[6].replace("/", "-")[:-3]  # 2026-11-20 10:00: a time without seconds
        r[7] = dt.datetime.strptime(r[7], "%Y/%m/%d %H:%M:%S") if r[7] else None
        r[10] = int(r[10])
    orders = _xlsx(tmp_path / "orders.dat", rows, title="门店订单")  # recognised by content, not by name
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    cfg.write_text(CONFIG.replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    # an .xlsx with the canonical header needs no mapping at all
    canon = [list(_rows(BASIC / "orders.csv")[0])] + [list(r.values()) for r in _rows(BASIC / "orders.csv")]
    res = _reconcile(tmp_path / "out2", _xlsx(tmp_path / "canon.xlsx", canon), BASIC / "refunds.csv")
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out2") == canonical_outcomes
    assert list(own_tmp.iterdir()) == []


def test_xlsx_export_named_xls_is_read_by_its_content(tmp_path, cfg, own_tmp, canonical_outcomes):
    """helper-110: many mall backends name their .xlsx download `订单.xls`; README says an .xlsx is recognised by
    content, but calamine opened the path by its suffix as a 97-2003 workbook ("Cfb error: Invalid OLE")."""
    rows = _erp_orders()
    orders = _xlsx(tmp_path / "orders.xlsx", rows, title="门店订单").rename(tmp_path / "orders.xls")
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款").rename(tmp_path / "refunds.XLS")
    cfg.write_text(CONFIG.replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes


def test_an_empty_first_sheet_names_the_sheets_and_the_sheet_key(tmp_path, cfg, own_tmp):
    """helper-110: a workbook whose first sheet is empty (a cover or summary sheet left blank, the orders on the
    second) was refused as "file is empty (no header line)" with the hint to export the file again; it names the
    sheets and the `sheet` key now (README: the first sheet unless sheet = "…"), and reads with that key set."""
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    data = wb.create_sheet("订单")
    data.append(["门店订单"])
    for r in _erp_orders():
        data.append(r)
    wb.save(tmp_path / "orders.xlsx")
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    cfg.write_text(CONFIG.replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    res = _reconcile(tmp_path / "out", tmp_path / "orders.xlsx", refunds, "--config", str(cfg))
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "its first sheet '封面' is empty; the workbook has ['封面', '订单']" in out, out
    assert 'sheet = "…" under [inputs.orders]' in out and "export the file again" not in out
    cfg.write_text(CONFIG.replace("[inputs.orders.columns]", '[inputs.orders]\nsheet = "订单"\n[inputs.orders.columns]')
                   .replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    assert _reconcile(tmp_path / "out", tmp_path / "orders.xlsx", refunds, "--config", str(cfg)).exit_code == 0


def test_unknown_status_names_file_line_column_and_value(tmp_path, cfg, own_tmp):
    rows = _erp_orders()
    rows[3][5] = "退货中"  # the third order, on line 4 below the title line
    rows[5][3] = "现金"   # a payment method in Chinese nobody mapped
    orders = _write_csv(tmp_path / "orders.csv", rows, ["订单导出"])
    refunds = _write_csv(tmp_path / "refunds.csv", _erp_refunds(), ["退款明细", ""])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert f"{orders}:5 [订单状态]: not a known status" in out and "'退货中'" in out
    assert f"{orders}:7 [支付方式]: not a known payment method" in out and "'现金'" in out
    assert "[inputs.orders.values.status]" in out and "_pm_" not in out and "Traceback" not in out
    assert not (tmp_path / "out" / "outcomes.csv").exists()
    # mapped, it loads
    cfg.write_text(CONFIG + '[inputs.orders.values.status]\n"退货中" = "refunded"\n'
                            '[inputs.orders.values.channel]\n"现金" = "cash"\n', encoding="utf-8")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert list(own_tmp.iterdir()) == []


def test_workspace_ingest_provenance_and_idempotence(tmp_path, cfg, own_tmp):
    rows = _erp_orders()
    rows[1][4] = "1,234.50"  # thousands separators are accepted when well formed, parsed exactly
    orders = _write_csv(tmp_path / "orders.csv", rows, ["订单导出", "导出时间：2026-11-21"])
    w = tmp_path / "w.duckdb"
    args = ["ingest", "--workspace", str(w), "--orders", str(orders), "--config", str(cfg)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "13 rows" in res.output
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "already loaded, unchanged" in res.output
    # the same export under a corrected mapping is loaded again: its rows replace the earlier ones
    first = rows[1][5]
    with Workspace(w) as ws:
        closed = ws.con.execute("SELECT count(*) FILTER (WHERE status = 'closed') FROM orders").fetchone()[0]
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(CONFIG + f'[inputs.orders.values.status]\n"{first}" = "closed"\n', encoding="utf-8")
    res = runner.invoke(app, [*args[:-1], str(fixed)])
    assert res.exit_code == 0 and "13 rows" in res.output, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), count(*) FILTER (WHERE status = 'closed') FROM orders").fetchone() == (
            13, closed + sum(1 for r in rows[1:] if r[5] == first))
    res = runner.invoke(app, args)  # and back under the first mapping: read as it says again (the rows were B's)
    assert res.exit_code == 0 and "13 rows" in res.output, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FILTER (WHERE status = 'closed') FROM orders").fetchone()[0] == closed
    res = runner.invoke(app, args)  # once more: now unchanged
    assert res.exit_code == 0 and "already loaded, unchanged" in res.output
    with Workspace(w) as ws:
        ws.con.execute("DELETE FROM orders")
        ws.con.execute("DELETE FROM batches")
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "13 rows" in res.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT order_no, channel, status, amount_fen, src_file, src_line, extra, "
                             "strftime(paid_at, '%Y-%m-%d %H:%M:%S') FROM orders ORDER BY order_no").fetchall()
        batches = ws.con.execute("SELECT source, rows FROM batches").fetchall()
    assert got[0][:6] == ("A001", "wechat", "paid", 123450, str(orders), 4)  # header on line 3
    assert got[0][6] == '{"商品名称":"咖啡"}' and got[0][7] == "2026-11-20 10:00:05"
    assert got[12][:6] == ("A013", "alipay", "paid", 1000, str(orders), 16)
    assert batches == [(str(orders), 13)]
    # a problem in the export names its line, its column and its value; nothing more is stored
    rows[4][4] = "1,23.40"
    rows[6][0] = rows[2][0]
    bad = _write_csv(tmp_path / "bad.csv", rows, ["订单导出", "导出时间：2026-11-21"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(bad), "--config", str(cfg)])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert f"{bad}:7 [实付金额（元）]: not a yuan amount" in out and "'1,23.40'" in out
    assert f"{bad}:9 [订单编号]: duplicate 订单编号: also on line(s) 5" in out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM orders").fetchone()[0] == 13
    assert list(own_tmp.iterdir()) == []


def test_canonical_file_with_a_mapping_configured_loads_as_canonical(tmp_path, cfg, canonical_outcomes):
    res = _reconcile(tmp_path / "out", BASIC / "orders.csv", BASIC / "refunds.csv", "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    w = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(BASIC / "orders.csv"),
                              "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT min(src_line), max(src_line), any_value(src_file) FROM orders").fetchone() == (
            2, 14, str(BASIC / "orders.csv"))


def test_header_not_found_and_config_errors(tmp_path, cfg):
    rows = _erp_orders()
    rows[0][5] = "状态"  # the export renamed a mapped column
    orders = _write_csv(tmp_path / "orders.csv", rows, ["订单导出"])
    res = _reconcile(tmp_path / "out", orders, BASIC / "refunds.csv", "--config", str(cfg))
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "lacks the column(s) 订单状态 (status)" in out and "[inputs.orders]" in out
    xls = tmp_path / "orders.xlsx"
    xls.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))  # an Excel 97-2003 workbook's signature
    res = _reconcile(tmp_path / "out", xls, BASIC / "refunds.csv", "--config", str(cfg))
    assert res.exit_code == 2 and "(.xls) workbook" in " ".join(res.output.split())
    cfg.write_text('[inputs.orders.values.status]\n"已完成" = "done"\n[inputs.orders.columns]\nshop = "门店"\n',
                   encoding="utf-8")
    res = _reconcile(tmp_path / "out", orders, BASIC / "refunds.csv", "--config", str(cfg))
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "inputs.orders.columns" in out and "inputs.orders.values" in out


def test_example_config_inputs_block_is_valid():
    """The commented [inputs] example in config.example.toml, uncommented, is a valid configuration."""
    import re
    import tomllib

    from paymatch.config import Config

    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text(encoding="utf-8")
    block = text[text.index("# [inputs.orders]"):text.index("# --- channel accounts")]
    lines = [line[2:] if line.startswith("# ") else "" for line in block.splitlines()]
    data = tomllib.loads(re.sub(r"^\s*#.*$", "", "\n".join(lines), flags=re.M))
    inputs = Config.model_validate(data).inputs
    assert inputs.orders.columns["amount"] == ["实付金额(元)", "实收金额"] and inputs.refunds.header_line == 2


def test_export_in_two_encodings_is_refused_by_line(tmp_path, cfg, own_tmp):
    """UTF-8 words first and GBK bytes further down: refused naming the first line that is not UTF-8, no traceback."""
    rows = _erp_orders()
    rows += [[f"F{i:05d}", *rows[1][1:]] for i in range(2_000)]  # past the 64 KiB the encoding is judged on
    orders = _write_csv(tmp_path / "orders.csv", rows, ["订单导出"], encoding="utf-8")
    data = orders.read_bytes()
    assert len(data) > 1 << 16
    last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[1]
    orders.write_bytes(data[:-len(last) - 2] + last.decode("utf-8").encode("gbk") + b"\r\n")
    refunds = _write_csv(tmp_path / "refunds.csv", _erp_refunds(), [])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 2, res.output
    out = " ".join(res.output.split())
    assert f"{orders}:{len(rows) + 1} [支付方式]: not UTF-8 text (bytes" in out and "Traceback" not in out
    assert list(own_tmp.iterdir()) == []


def test_gzipped_export_names_the_archive_its_lines_and_columns(tmp_path, cfg, own_tmp, canonical_outcomes):
    """An ERP export downloaded as .gz goes through the mapping like the file it holds: it reconciles like the
    canonical twin, and a problem names the .gz, the export's own line and column; no temp file is left."""
    import gzip

    orders = _write_csv(tmp_path / "orders.csv", _erp_orders(), ["订单导出"])
    refunds = _write_csv(tmp_path / "refunds.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    gz = tmp_path / "订单导出.csv.gz"
    gz.write_bytes(gzip.compress(orders.read_bytes()))
    res = _reconcile(tmp_path / "out", gz, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    rows = _erp_orders()
    rows[3][4] = "12.3.4"
    gz.write_bytes(gzip.compress(_write_csv(tmp_path / "bad.csv", rows, ["订单导出"]).read_bytes()))
    res = _reconcile(tmp_path / "bad", gz, refunds, "--config", str(cfg))
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{gz}:5 [实付金额（元）]: not a yuan amount" in out, out
    assert list(own_tmp.iterdir()) == []


def _total_row(rows: list[list], amount: str, width: int = 12) -> list[str]:
    return ["合计", "", "", "", amount] + [""] * (width - 5)


def test_total_and_note_lines_at_the_end_of_an_export(tmp_path, cfg, own_tmp, canonical_outcomes):
    """An export's 合计 line, a delimiter-only line and a 导出时间： note at its end are left out and named; a total
    in the amount column is checked against the rows (a mismatch warns: the export may be cut short). The same
    line above a record is refused by line, as before; line numbers below stay the export's own."""
    rows = _erp_orders()
    total = sum(int(r[4].lstrip("￥").replace(".", "")) for r in rows[1:])
    yuan = f"￥{total // 100:,}.{total % 100:02d}"
    foot = [_total_row(rows, yuan), [""] * 12, ["导出时间：2026-11-21 10:00"] + [""] * 11]
    orders = _write_csv(tmp_path / "订单导出.csv", rows + foot, ["订单导出"])
    refunds = _write_csv(tmp_path / "退款.csv", _erp_refunds() + [["合计", "", "90.00", "", ""]], ["退款明细", "导出人：财务"])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    out = " ".join(res.output.split())
    assert "导出时间：2026-11-21 10:00" in out and f"its total {total // 100}.{total % 100:02d} ties out with the 13 rows" in out
    notes = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["input_notes"]
    assert len(notes) == 2 and "合计" in notes[0] and "ties out" in notes[0] and "合计,90.00" in notes[1]

    w = tmp_path / "w.duckdb"
    short = _write_csv(tmp_path / "short.csv", rows[:-1] + foot, ["订单导出"])  # the last order cut off
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(short), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "WARNING: its total" in out and "the 12 rows' sum" in out, out

    mid = _write_csv(tmp_path / "mid.csv", rows[:5] + [_total_row(rows, "1.00")] + rows[5:], ["订单导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(mid), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{mid}:7 [支付方式]: required value is empty" in out, out
    bad = [list(r) for r in rows]
    bad[13][4] = "12.3.4"  # the last order, on line 15, right above the total line
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders",
                              str(_write_csv(tmp_path / "bad.csv", bad + foot, ["订单导出"])), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{tmp_path / 'bad.csv'}:15 [实付金额（元）]" in out, out
    assert "WARNING" not in out  # the total is not checked against rows the loader refuses
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), max(src_line) FROM orders").fetchone() == (12, 14)
    assert list(own_tmp.iterdir()) == []


def test_total_line_at_the_end_of_an_xlsx_export(tmp_path, cfg, own_tmp, canonical_outcomes):
    rows = _erp_orders()
    total = sum(int(r[4].lstrip("￥").replace(".", "")) for r in rows[1:])
    for r in rows[1:]:
        r[4] = float(r[4].lstrip("￥"))
    sheet = rows + [_total_row(rows, None), ["制表人：张三"]]
    sheet[-2][4] = total / 100
    orders = _xlsx(tmp_path / "orders.xlsx", sheet, title="门店订单")
    cfg.write_text(CONFIG.replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    assert "ties out with the 13 rows" in " ".join(res.output.split())
    mid = _xlsx(tmp_path / "mid.xlsx", rows[:3] + [_total_row(rows, "1.00")] + rows[3:], title="门店订单")
    res = _reconcile(tmp_path / "out2", mid, refunds, "--config", str(cfg))
    assert res.exit_code == 2 and f"{mid}:5 [支付方式]: required value is empty" in " ".join(res.output.split())
    assert list(own_tmp.iterdir()) == []


def test_blank_lines_and_empty_rows_keep_the_exports_line_numbers(tmp_path, cfg, own_tmp):
    """A blank line in a CSV export, an empty row in an .xlsx: errors and provenance name the export's own line."""
    rows = _erp_orders()
    orders = _write_csv(tmp_path / "orders.csv", rows[:4] + [[]] + rows[4:], ["订单导出"])
    text = orders.read_bytes().decode("gbk").replace("\r\n\r\n", "\r\n\r\n\r\n", 1)  # lines 6 and 7 are blank
    orders.write_bytes(text.encode("gbk"))
    w = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(orders), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT src_line FROM orders WHERE order_no = 'A004'").fetchone()[0] == 8
    bad = [list(r) for r in rows]
    bad[5][5] = "退货中"
    bad[6][4] = "1.2.3"
    for name, path in (("csv", _write_csv(tmp_path / "bad.csv", bad[:4] + [[]] + bad[4:], ["订单导出"])),
                       ("xlsx", _xlsx(tmp_path / "bad.xlsx", bad[:4] + [[None] * 12] + bad[4:], title="订单导出"))):
        res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(path), "--config", str(cfg)])
        out = " ".join(res.output.split())
        assert res.exit_code == 2 and f"{path}:8 [订单状态]" in out, (name, out)  # the unknown word first
        bad2 = [list(r) for r in bad]
        bad2[5][5] = rows[5][5]
        path2 = (_write_csv(tmp_path / "bad2.csv", bad2[:4] + [[]] + bad2[4:], ["订单导出"]) if name == "csv" else
                 _xlsx(tmp_path / "bad2.xlsx", bad2[:4] + [[None] * 12] + bad2[4:], title="订单导出"))
        res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(path2), "--config", str(cfg)])
        out = " ".join(res.output.split())
        assert res.exit_code == 2 and f"{path2}:9 [实付金额（元）]" in out, (name, out)
    assert list(own_tmp.iterdir()) == []


def test_export_with_mixed_line_ends_is_read(tmp_path, cfg, own_tmp, canonical_outcomes):
    """Lines ending in CRLF and in LF in one export (appended to on two systems) load like a clean one; DuckDB's
    strict reader refuses such a file, so it is read again from an LF copy (same lines)."""
    orders = _write_csv(tmp_path / "orders.csv", _erp_orders(), ["订单导出"])
    data = orders.read_bytes()
    cut = data.index(b"A005")
    orders.write_bytes(data[:cut] + data[cut:].replace(b"\r\n", b"\n"))
    refunds = _write_csv(tmp_path / "refunds.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    assert list(own_tmp.iterdir()) == []


@pytest.mark.parametrize("titles", [1, 2])
def test_title_lines_ending_in_lf_above_rows_ending_in_crlf(tmp_path, cfg, own_tmp, canonical_outcomes, titles):
    """Title lines written with LF above a table written with CRLF (a title prepended on another system): DuckDB
    read no row at all from such a file without an error (helper-68: "0 rows", exit 0); it loads like a clean one."""
    names = ["订单导出", "导出人：财务"][:titles]
    orders = _write_csv(tmp_path / "orders.csv", _erp_orders(), names)
    data = orders.read_bytes()
    head = len(b"".join(n.encode("gbk") + b"\r\n" for n in names))
    orders.write_bytes(data[:head].replace(b"\r\n", b"\n") + data[head:])
    refunds = _write_csv(tmp_path / "refunds.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    ws = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(ws), "--orders", str(orders), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(ws) as w:
        assert w.con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == len(_erp_orders()) - 1
    assert list(own_tmp.iterdir()) == []


def test_footer_detection_never_takes_a_record(tmp_path, cfg, own_tmp):
    """What only looks like a total or note is a record: the last order's remark spanning lines ("…\\n备注：放门卫",
    "…\\n合计 3 件", a trailing line break), an order number beginning SUM-; a rich-markup note prints as text."""
    rows = _erp_orders()[:3]
    w = tmp_path / "w.duckdb"
    for i, last in enumerate(["请尽快发货\n备注：放门卫", "两件\n合计 3 件", "请尽快发货\n"]):
        r = [list(x) for x in rows]
        r[-1][-1] = last
        f = _write_csv(tmp_path / f"remark{i}.csv", r, ["订单导出"])
        res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
        assert res.exit_code == 0 and "2 rows" in res.output and "left out" not in res.output, (last, res.output)
    r = [list(x) for x in rows]
    r[-1][0] = "SUM-20261120-0002"
    f = _write_csv(tmp_path / "sum.csv", r + [["合计", "", "", "", "1.00"] + [""] * 7], ["订单导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
    assert res.exit_code == 0 and "2 rows" in res.output, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT src_line FROM orders WHERE order_no = 'SUM-20261120-0002'").fetchone() == (4,)
    f = _write_csv(tmp_path / "markup.csv", rows + [["备注：见[/]附件[bold]"] + [""] * 11], ["订单导出"])
    res = _reconcile(tmp_path / "out", f, BASIC / "refunds.csv", "--config", str(cfg))
    assert res.exit_code == 0 and "见[/]附件[bold]" in res.output, res.output
    assert list(own_tmp.iterdir()) == []


@pytest.mark.parametrize("label", ["合计金额", "合计2笔", "汇总信息", "总计￥20.00", "Totals", "合计(元)",
                                   "导出时间(北京时间)：2026-11-21 10:00", "Exported:2026-11-21"])
def test_total_and_note_labels_in_the_key_column(tmp_path, cfg, own_tmp, label):
    """The labels ERP exports write in the order-number column of their last line are left out and named; a
    total written with 4 decimals like the rows (￥84.5000) ties out with them instead of warning."""
    rows = _erp_orders()[:3]
    rows[1][4], rows[2][4] = "￥84.5000", "￥15.5000"
    amount = "" if ":" in label or "：" in label else "￥100.0000"
    f = _write_csv(tmp_path / "orders.csv", rows + [[label, "", "", "", amount] + [""] * 7], ["订单导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "2 rows" in out and f"left out as its total/notes: {label}" in out, out
    assert "WARNING" not in out and (not amount or "its total 100.00 ties out with the 2 rows above" in out), out
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.con.execute("SELECT sum(amount_fen) FROM orders").fetchone() == (10000,)


def test_an_id_that_starts_like_a_label_stays_a_record(tmp_path, cfg):
    rows = _erp_orders()[:3]
    w = tmp_path / "w.duckdb"
    for no in ("Total_A1", "SUM-20261120-0002", "汇总-1", "汇总单20261120001", "总计划20261120001", "TOTAL 20261120001"):
        r = [list(x) for x in rows]
        r[-1][0] = no
        f = _write_csv(tmp_path / "ids.csv", r, ["订单导出"])
        res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
        assert res.exit_code == 0 and "2 rows" in res.output and "left out" not in res.output, (no, res.output)


def test_a_record_over_duckdbs_line_limit_in_an_export_is_named_by_line(tmp_path, cfg, own_tmp):
    rows = _erp_orders()[:5]
    rows[3][-1] = "备注" * 700_000  # 1.4M characters, 4.2 MB in UTF-8 (2.8 MB in GBK)
    f = _write_csv(tmp_path / "orders.csv", rows, ["订单导出"], encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{f}:5: the record holds 2 MB or more (DuckDB's line limit)" in out, out
    assert list(own_tmp.iterdir()) == []


def test_xlsx_table_away_from_a1_with_numeric_ids_and_dates(tmp_path, cfg, own_tmp):
    """A sheet whose table starts at C4 (a margin column and rows above), merchant numbers and order numbers stored
    as numbers, paid times as Excel date cells and date-only cells: read as the CSV export would hold them, with the
    sheet's own rows as lines."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C1"] = "门店订单"
    header = list(ORDER_HEADERS.values())
    rows = [[2026112000001, "S01", 1600000001, "微信支付", 100, "已支付", dt.datetime(2026, 11, 20, 10, 0),
             dt.datetime(2026, 11, 20, 10, 0, 5), None, None, 0],
            [2026112000002, "S01", 2088000000000002, "支付宝", 12.5, "已支付", dt.date(2026, 11, 20),
             dt.date(2026, 11, 21), None, None, 0]]
    for r, values in enumerate([header] + rows, 4):
        for c, v in enumerate(values, 3):
            if v is not None:
                ws.cell(r, c, v)
    wb.save(tmp_path / "orders.xlsx")
    cfg.write_text(CONFIG.replace("[inputs.orders.columns]", "[inputs.orders]\nheader_line = 4\n[inputs.orders.columns]"),
                   encoding="utf-8")
    w = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(tmp_path / "orders.xlsx"), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(w) as ws_:
        got = ws_.con.execute("SELECT order_no, merchant_id, amount_fen, strftime(timezone('Asia/Shanghai', paid_at), "
                              "'%Y-%m-%d %H:%M:%S'), src_line FROM orders ORDER BY src_line").fetchall()
    assert got == [("2026112000001", "1600000001", 10000, "2026-11-20 10:00:05", 5),
                   ("2026112000002", "2088000000000002", 1250, "2026-11-21 00:00:00", 6)]  # 16 digits, exact
    assert list(own_tmp.iterdir()) == []


def test_canonical_csv_ending_with_a_total_line(tmp_path, own_tmp):
    """A canonical CSV (no config) ending with a 合计 line and a note: left out and named, its total checked, as an
    export's; a bad value above them is still named by its own line."""
    body = "order_no,channel,amount,status\nA1,wechat,1.00,paid\nA2,wechat,2.00,paid\n"
    f = tmp_path / "orders.csv"
    f.write_text(body + "合计,,3.00,\n导出时间：2026-11-21 10:00,,,\n", encoding="utf-8")
    w = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "left out as its total/notes: 合计,3.00" in out and "ties out with the 2 rows" in out, out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT order_no, src_line FROM orders ORDER BY 2").fetchall() == [("A1", 2), ("A2", 3)]
    g = tmp_path / "gbk.csv"  # the same in GBK
    g.write_bytes((body + "本页合计,,3.00,\n").encode("gbk"))
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w3.duckdb"), "--orders", str(g)])
    out = " ".join(res.output.split())
    assert res.exit_code == 0 and "left out as its total/notes: 本页合计,3.00" in out and "ties out" in out, out
    f.write_text(body.replace("2.00", "2.0.0") + "合计,,3.00,\n", encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w2.duckdb"), "--orders", str(f)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{f}:3 [amount]" in out and "WARNING" not in out, out
    assert list(own_tmp.iterdir()) == []


def test_canonical_export_with_title_lines_names_its_own_lines(tmp_path, cfg, own_tmp):
    """A canonical header below title lines (read from a copy without them): a ragged row, a bad amount and a
    duplicate are named by the export's own lines."""
    head = "订单导出\n导出人：财务\n" + "order_no,channel,amount,status\n"
    f = tmp_path / "canon.csv"
    f.write_text(head + "A1,wechat,1.00,paid\nA2,wechat,2.00,paid,extra\n", encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(f), "--config", str(cfg)])
    assert res.exit_code == 2 and f"{f}:5: row has 5 fields, the header has 4" in " ".join(res.output.split()), res.output
    f.write_text(head + "A1,wechat,1.00,paid\n\nA2,wechat,2.0.0,paid\nA1,wechat,3.00,paid\n", encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{f}:6 [amount]" in out and f"{f}:7 [order_no]: duplicate order_no: also on line(s) 4" in out, out
    assert list(own_tmp.iterdir()) == []


def _fen_split(rows: list[list[str]], excel: bool = False) -> list[list]:
    """``_erp_orders`` as a mall exports them through its API: amounts in fen, the paid time in two columns
    (支付日期, 支付时间); in an .xlsx as Excel holds them (a date cell, a time cell, a number)."""
    out = [rows[0][:4] + ["实付金额(分)"] + rows[0][5:7] + ["支付日期", "支付时间"] + rows[0][8:]]
    for r in rows[1:]:
        fen = int(r[4].lstrip("￥").replace(".", ""))
        day, _, clock = r[7].partition(" ")
        if excel:
            day = dt.datetime.strptime(day, "%Y/%m/%d").date() if day else None
            clock = dt.time.fromisoformat(clock) if clock else None
        out.append(r[:4] + [fen if excel else f"{fen}"] + r[5:7] + [day, clock] + r[8:])
    return out


FEN_CONFIG = CONFIG.replace('amount = ["实收金额", "实付金额(元)"]', 'amount = "实付金额(分)"').replace(
    'paid_at = "支付时间"', 'paid_at = { date = "支付日期", time = "支付时间" }').replace(
    "[inputs.orders.columns]", '[inputs.orders]\namount_unit = "fen"\n[inputs.orders.columns]')


def test_amounts_in_fen_and_a_time_in_two_columns(tmp_path, cfg, own_tmp, canonical_outcomes):
    cfg.write_text(FEN_CONFIG, encoding="utf-8")
    refunds = _write_csv(tmp_path / "退款.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    rows = _fen_split(_erp_orders())
    total = sum(int(r[4]) for r in rows[1:])
    orders = _write_csv(tmp_path / "orders.csv", rows + [["合计", "", "", "", str(total)] + [""] * 8], [])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    notes = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["input_notes"]
    assert f"its total {total // 100}.{total % 100:02d} ties out" in notes[-1]  # the total line read in fen too
    # the same export as an .xlsx: a date cell and a time cell make one time
    xlsx = _xlsx(tmp_path / "orders.xlsx", _fen_split(_erp_orders(), excel=True))
    res = _reconcile(tmp_path / "out2", xlsx, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out2") == canonical_outcomes
    # the split columns are the paid time, not extras; the workspace stores the time they make
    ws_file = tmp_path / "w.duckdb"
    res = _ingest(ws_file, cfg, orders)
    assert res.exit_code == 0, res.output
    got = _stored(ws_file, "SELECT order_no, amount_fen, strftime(paid_at, '%Y/%m/%d %H:%M:%S'), extra "
                           "FROM orders ORDER BY order_no")
    want = sorted((r[0], int(r[4]), f"{r[7]} {r[8]}" if r[7] else None) for r in rows[1:])
    assert [g[:3] for g in got] == want
    assert all("支付日期" not in g[3] and "支付时间" not in g[3] and "商品名称" in g[3] for g in got)
    # a yuan amount in the fen column is refused by line and column, and names the setting
    rows[3][4] = "12.30"
    bad = _write_csv(tmp_path / "bad.csv", rows, [])
    res = _reconcile(tmp_path / "out3", bad, refunds, "--config", str(cfg))
    assert res.exit_code == 2
    assert f"{bad}:4 [实付金额(分)]: not a whole number of fen" in res.output and "amount_unit" in res.output
    assert list(own_tmp.iterdir()) == []


def test_a_split_time_is_only_for_time_columns(tmp_path):
    p = tmp_path / "rules.toml"
    p.write_text('[inputs.orders.columns]\namount = { date = "日期", time = "时间" }\n', encoding="utf-8")
    res = runner.invoke(app, ["reconcile", "--config", str(p), "--orders", str(BASIC / "orders.csv"),
                              "--transactions", str(BASIC / "transactions.csv"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is for a time column (created_at, paid_at)" in res.output


def test_excel_error_values_are_refused_in_mapped_columns_and_kept_in_others(tmp_path, cfg, own_tmp):
    """A cell whose formula failed (#N/A from a VLOOKUP, #VALUE!) is not an empty value: in a mapped column it
    refuses the file by row and column (calamine alone reads it as empty: a store of "" or a "required value is
    empty"); in a column the mapping does not read it stays as text in ``extra``. The same text in a CSV too."""
    rows = _erp_orders()
    rows[2][1] = "#N/A"       # 门店编码 of the second order: sheet row 4 (title, header, first order)
    rows[3][4] = "#VALUE!"    # 实付金额 of the third: row 5
    rows[1][11] = "#REF!"     # 商品名称, not mapped
    book = _xlsx(tmp_path / "orders.xlsx", rows, title="门店订单")
    wb = openpyxl.load_workbook(book)
    assert wb.active["B4"].data_type == "e"  # stored as Excel stores a failed formula's value
    cfg.write_text(CONFIG.replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    res = _reconcile(tmp_path / "out", book, refunds, "--config", str(cfg))
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert f"{book}:4 [门店编码]: an Excel error value" in text and "(value '#N/A')" in text
    assert f"{book}:5 [实付金额（元）]: an Excel error value" in text and "paste them as values" in text
    assert "#REF!" not in text
    # the unmapped column's error is kept as its text
    rows[2][1], rows[3][4] = rows[1][1], rows[1][4]
    ws_file = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(ws_file), "--config", str(cfg), "--orders",
                              str(_xlsx(tmp_path / "fixed.xlsx", rows, title="门店订单"))])
    assert res.exit_code == 0, res.output
    with Workspace(ws_file) as ws:
        extra = ws.con.execute("SELECT extra FROM orders WHERE src_line = 3").fetchall()[0][0]
    assert json.loads(extra)["商品名称"] == "#REF!"
    # a CSV saved from Excel writes the text: refused alike
    rows[2][1] = "#N/A"
    res = _reconcile(tmp_path / "out2", _write_csv(tmp_path / "o.csv", rows, ["门店订单"]), refunds, "--config", str(cfg))
    assert res.exit_code == 2 and "an Excel error value" in res.output
    # an .xlsx with the canonical header (no mapping): refused alike in its canonical columns
    canon = [["order_no", "channel", "amount", "status", "store_id", "备注"], ["A1", "wechat", 1, "paid", "S1", "#N/A"],
             ["A2", "wechat", 2, "paid", "#N/A", ""]]
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w2.duckdb"), "--orders",
                              str(_xlsx(tmp_path / "canon.xlsx", canon))])
    assert res.exit_code == 2 and "canon.xlsx:3 [store_id]: an Excel error value" in res.output
    assert "canon.xlsx:2" not in res.output  # the unread column's #N/A is text
    assert list(own_tmp.iterdir()) == []


def _ingest(ws_file: Path, cfg: Path, orders: Path):
    return runner.invoke(app, ["ingest", "--workspace", str(ws_file), "--config", str(cfg), "--orders", str(orders)])


def _stored(ws_file: Path, sql: str = "SELECT order_no, amount_fen, strftime(paid_at, '%Y-%m-%d %H:%M:%S') "
                                      "FROM orders ORDER BY 1") -> list[tuple]:
    with Workspace(ws_file) as ws:
        return ws.con.execute(sql).fetchall()


def test_fen_and_split_time_apply_to_canonical_names_and_quote_the_exports_values(tmp_path):
    """A mapping that rewrites values applies to a header with canonical names too (read as canonical it stored
    10000 fen as 10000.00 yuan); errors quote the export's fen, not the translation's yuan; a day column holding
    a time (a database's 00:00:00.0, an .xlsx date cell) takes the clock column's time."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[inputs.orders]\namount_unit = "fen"\nitem_rows = "order"\n[inputs.orders.columns]\n'
                   'paid_at = { date = "pay_date", time = "pay_time" }\n', encoding="utf-8")
    head = "order_no,channel,amount,status,pay_date,pay_time\n"
    f = tmp_path / "o.csv"
    f.write_text(head + "A1,wechat,10000,paid,2026-11-20 00:00:00.0,10:00:05\nA2,wechat,\t99,paid,2026-11-20,\n"
                 "A3,wechat,0,paid,2026-11-21 09:00:00,08:30\n", encoding="utf-8")
    assert _ingest(tmp_path / "w.duckdb", cfg, f).exit_code == 0
    assert _stored(tmp_path / "w.duckdb") == [("A1", 10000, "2026-11-20 10:00:05"), ("A2", 99, "2026-11-20 00:00:00"),
                                              ("A3", 0, "2026-11-21 08:30:00")]
    f.write_text(head + "A1,wechat,-1230,paid,2026-11-20,10:00\n", encoding="utf-8")
    res = _ingest(tmp_path / "w2.duckdb", cfg, f)
    assert res.exit_code == 2 and "negative order amount (value '-1230')" in res.output
    f.write_text(head + "A1,wechat,10000,paid,2026-11-20,10:00\nA1,wechat,9000,paid,,\n", encoding="utf-8")
    res = _ingest(tmp_path / "w2.duckdb", cfg, f)
    assert res.exit_code == 2 and "line 2 has '10000' (value '9000')" in " ".join(res.output.split())


def test_an_export_read_again_under_its_earlier_mapping_is_loaded_again(tmp_path):
    """Mapping A, then B, then A again: the third load is not 'already loaded' (the rows are B's reading then)."""
    f = tmp_path / "o.csv"
    f.write_text("订单号,支付方式,金额,订单状态\nA1,微信支付,10000,已支付\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    yuan = '[inputs.orders.columns]\norder_no = "订单号"\nchannel = "支付方式"\namount = "金额"\nstatus = "订单状态"\n'
    fen = yuan.replace("[inputs.orders.columns]", '[inputs.orders]\namount_unit = "fen"\n[inputs.orders.columns]')
    got = []
    for text in (yuan, fen, yuan, yuan):
        cfg.write_text(text, encoding="utf-8")
        res = _ingest(tmp_path / "w.duckdb", cfg, f)
        assert res.exit_code == 0, res.output
        got.append((_stored(tmp_path / "w.duckdb", "SELECT amount_fen FROM orders")[0][0], "already loaded" in res.output))
    assert got == [(1000000, False), (10000, False), (1000000, False), (1000000, True)]


def test_a_workspace_with_negative_shop_refunds_stored_before_is_brought_in_line(tmp_path):
    w = tmp_path / "w.duckdb"
    with Workspace(w) as ws:
        ws.con.execute("INSERT INTO refunds (refund_no, order_no, amount_fen, status) VALUES "
                       "('R1', 'A1', -1230, 'success'), ('R2', 'A2', 500, 'success')")
    assert _stored(w, "SELECT refund_no, amount_fen FROM refunds ORDER BY 1") == [("R1", 1230), ("R2", 500)]


def test_a_canonical_file_read_under_a_mapping_and_then_without_one_is_loaded_again(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text("order_no,channel,amount,status\nA1,wechat,10000,paid\n", encoding="utf-8")
    fen = tmp_path / "fen.toml"
    fen.write_text('[inputs.orders]\namount_unit = "fen"\n', encoding="utf-8")
    w = tmp_path / "w.duckdb"
    got = []
    for cfg in (None, fen, None):
        res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f),
                                  *(["--config", str(cfg)] if cfg else [])])
        assert res.exit_code == 0, res.output
        got.append(_stored(w, "SELECT amount_fen FROM orders")[0][0])
    assert got == [1000000, 10000, 1000000]


def test_a_mapping_reading_other_keys_replaces_the_files_earlier_reading(tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("订单编号,外部单号,支付方式,金额,订单状态\nA1,X1,微信支付,1.00,已支付\nA2,X2,微信支付,2.00,已支付\n",
                 encoding="utf-8")
    cfg, got = tmp_path / "rules.toml", []
    for key in ("订单编号", "外部单号", "订单编号"):
        cfg.write_text(f'[inputs.orders.columns]\norder_no = "{key}"\nchannel = "支付方式"\namount = "金额"\n'
                       'status = "订单状态"\n', encoding="utf-8")
        assert _ingest(tmp_path / "w.duckdb", cfg, f).exit_code == 0
        got.append([r[0] for r in _stored(tmp_path / "w.duckdb", "SELECT order_no FROM orders ORDER BY 1")])
    assert got == [["A1", "A2"], ["X1", "X2"], ["A1", "A2"]]


def test_an_old_export_read_again_under_a_corrected_mapping_keeps_what_a_later_export_says(tmp_path):
    """F1 (A2 unpaid) under mapping A, then a later export F2 (A2 paid), then F1 again under a corrected mapping:
    F1's new reading replaces F1's earlier rows, not F2's A2 (the order stays paid)."""
    head = "订单号,支付方式,金额,订单状态\n"
    f1, f2 = tmp_path / "f1.csv", tmp_path / "f2.csv"
    f1.write_text(head + "A1,微信支付,1.00,已支付\nA2,微信支付,2.00,待支付\n", encoding="utf-8")
    f2.write_text(head + "A2,微信支付,2.00,已支付\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    base = '[inputs.orders.columns]\norder_no = "订单号"\nchannel = "支付方式"\namount = "金额"\nstatus = "订单状态"\n'
    w = tmp_path / "w.duckdb"
    for text, f in ((base, f1), (base, f2), (base + '[inputs.orders.values.status]\n"待支付" = "closed"\n', f1)):
        cfg.write_text(text, encoding="utf-8")
        res = _ingest(w, cfg, f)
        assert res.exit_code == 0, res.output
    assert "1 of them an export loaded since says otherwise, kept" in " ".join(res.output.split())
    assert _stored(w, "SELECT order_no, status, src_file FROM orders ORDER BY 1") == [
        ("A1", "paid", str(f1)), ("A2", "paid", str(f2))]
    assert "already loaded" in _ingest(w, cfg, f1).output


def test_an_old_export_read_again_under_its_first_mapping_keeps_what_a_later_export_says(tmp_path):
    """helper-54: F1 under mapping A, a later export F2 (A2 paid), F1 under B, F1 under A again: the third reading
    of F1 is as old as its first load (before F2), so F2's A2 stays; it brought F1's A2 back (its first load under A
    was not counted, and its record was written anew with the time of the third load). A fourth reading under B
    again stays as old too."""
    head = "订单号,外部单号,支付方式,金额,订单状态\n"
    f1, f2 = tmp_path / "f1.csv", tmp_path / "f2.csv"
    f1.write_text(head + "A1,X1,微信支付,1.00,已支付\nA2,X2,微信支付,2.00,待支付\n", encoding="utf-8")
    f2.write_text(head + "A2,X2,微信支付,2.00,已支付\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    mapping = ('[inputs.orders.columns]\norder_no = "{key}"\nchannel = "支付方式"\namount = "金额"\n'
               'status = "订单状态"\n')
    a, b = mapping.format(key="订单号"), mapping.format(key="外部单号")
    w = tmp_path / "w.duckdb"
    for text, f in ((a, f1), (a, f2), (b, f1), (a, f1)):
        cfg.write_text(text, encoding="utf-8")
        res = _ingest(w, cfg, f)
        assert res.exit_code == 0, res.output
    assert _stored(w, "SELECT order_no, status, src_file FROM orders ORDER BY 1") == [
        ("A1", "paid", str(f1)), ("A2", "paid", str(f2))]
    for text in (b, a):
        cfg.write_text(text, encoding="utf-8")
        assert _ingest(w, cfg, f1).exit_code == 0
    assert ("A2", "paid", str(f2)) in _stored(w, "SELECT order_no, status, src_file FROM orders ORDER BY 1")
