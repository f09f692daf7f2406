"""The words reports show beside the figures: one label for a missing store in each language, in every report and
every output (Excel, CSV, JSON)."""

from __future__ import annotations

import csv
import json

import openpyxl
from typer.testing import CliRunner

from paymatch.cli_report import report_app
from paymatch.reports.labels import SOURCE_KIND_ZH

DAY = "2026-11-02"  # a day of the demo chain (conftest) with a channel payment no order and no [stores] entry places


def _run(*args) -> str:
    res = CliRunner().invoke(report_app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _every_cell(folder) -> set[str]:
    return {v for f in folder.glob("*.csv") for r in _csv(f) for v in r.values()}


def test_a_missing_store_has_one_label_per_language_in_every_report(recon_ws, tmp_path):
    # the reconciliation report said "(none)", fund flow and the anomaly board "(unknown)", both in a zh report
    for lang, label, other in (("zh", "(未知)", "(unknown)"), ("en", "(unknown)", "(未知)")):
        out = tmp_path / lang
        out.mkdir()
        _run("reconciliation", "--workspace", recon_ws, "--date", DAY, "--group-by", "store", "--detail",
             "--lang", lang, "--csv", out / "r", "--excel", out / "r.xlsx")
        _run("fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by", "store", "--lang", lang,
             "--csv", out / "f", "--excel", out / "f.xlsx")
        store = "门店" if lang == "zh" else "Store"
        summary = _csv(out / "r" / "summary.csv")
        assert label in [r[store] for r in summary]
        # the outcome's own rows say it too (they were blank), so a filter on the summary's label finds them
        items = [r for r in _csv(out / "r" / "unmatched.csv") if r[store] == label]
        assert items and {r["类型代码" if lang == "zh" else "Kind"] for r in items} == {"channel_only"}
        assert label in {r[store] for r in _csv(out / "r" / "detail.csv")}
        flows = _csv(out / "f" / "summary.csv")
        assert [r for r in flows if r[store] == label][0]["键" if lang == "zh" else "Key"] == f"{DAY}|{label}"
        cells = _every_cell(out / "r") | _every_cell(out / "f")
        assert not {c for c in cells if "(none)" in c or other in c}
        for book in ("r.xlsx", "f.xlsx"):
            wb = openpyxl.load_workbook(out / book)
            # (the cover's "(none)" / "(无)" is an empty list of run ids, not a store)
            values = {str(c.value) for ws in wb.worksheets[1:] for row in ws.iter_rows() for c in row if c.value}
            assert label in values and not {v for v in values if "(none)" in v or other in v}, book


def test_a_fund_flow_key_drills_in_either_language(recon_ws):
    args = ["fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by", "store"]
    zh = list(csv.DictReader(_run(*args, "--drill", f"{DAY}|(未知)").splitlines()))
    en = list(csv.DictReader(_run(*args, "--drill", f"{DAY}|(unknown)", "--lang", "en").splitlines()))
    assert zh and [r["channel_tx_id"] for r in zh] == [r["channel_tx_id"] for r in en]
    assert {r["dim"] for r in zh} == {"(未知)"} and {r["dim"] for r in en} == {"(unknown)"}


def test_the_anomaly_board_labels_a_missing_store_as_the_other_reports(recon_ws, tmp_path):
    cfg = tmp_path / "rules.toml"
    cfg.write_text("[anomalies]\nlarge_amount_fen = 1\n", encoding="utf-8")  # every payment is large
    for lang, label in (("zh", "(未知)"), ("en", "(unknown)")):
        _run("anomalies", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--config", cfg, "--lang", lang,
             "--json", tmp_path / f"{lang}.json")
        rows = json.loads((tmp_path / f"{lang}.json").read_text(encoding="utf-8"))["tables"][1]["rows"]
        stores = {r["store_id"] for r in rows}
        assert label in stores and not {"(none)", "(unknown)", "(未知)"} - {label} & stores


def test_a_zh_report_names_channels_and_record_types_in_chinese_and_keeps_the_codes(recon_ws, tmp_path):
    # a zh report showed wechat / alipay / payment / regular beside 已对平 and 门店
    _run("reconciliation", "--workspace", recon_ws, "--date", DAY, "--group-by", "channel", "--csv", tmp_path / "r",
         "--excel", tmp_path / "r.xlsx", "--json", tmp_path / "r.json")
    summary = _csv(tmp_path / "r" / "summary.csv")
    assert {"微信支付", "支付宝", "银联"} <= {r["渠道"] for r in summary}
    items = _csv(tmp_path / "r" / "unmatched.csv")
    assert "微信支付" in {r["渠道"] for r in items}
    assert {r["类型代码"] for r in items} >= {"amount_mismatch"}  # the kind's code stays beside its name
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert "微信支付" in {r[0] for r in wb["对账汇总"].iter_rows(min_row=2, values_only=True)}
    # what programs read keeps the codes
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert "wechat" in {r["channel"] for r in doc["tables"][0]["rows"]}
    cells = _every_cell(tmp_path / "r")
    assert not cells & {"wechat", "alipay", "unionpay", "balance", "points"}

    _run("fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by", "channel", "--csv", tmp_path / "f")
    flows = _csv(tmp_path / "f" / "summary.csv")
    wechat = [r for r in flows if r["渠道"] == "微信支付"][0]
    assert wechat["键"] == f"{DAY}|wechat"  # the key is the code: --drill takes it
    rows = list(csv.DictReader(_run("fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by",
                                    "channel", "--drill", wechat["键"]).splitlines()))
    assert len(rows) == int(wechat["流水笔数"])
    detail = _csv(tmp_path / "f" / "detail.csv")
    assert {r["类型"] for r in detail} == {"收款", "退款"} and "微信支付" in {r["支付方式"] for r in detail}
    _run("fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by", "order_type", "--csv",
         tmp_path / "o")
    assert {r["订单类型"] for r in _csv(tmp_path / "o" / "summary.csv")} >= {"普通订单", "分期订单"}

    # an en report keeps the codes
    _run("fund-flow", "--workspace", recon_ws, "--from", DAY, "--to", DAY, "--by", "channel", "--lang", "en",
         "--csv", tmp_path / "fe")
    assert "wechat" in {r["Channel"] for r in _csv(tmp_path / "fe" / "summary.csv")}
    assert {r["Type"] for r in _csv(tmp_path / "fe" / "detail.csv")} == {"payment", "refund"}


def test_a_list_of_channels_is_named_channel_by_channel():
    import pyarrow as pa

    from paymatch.reports.labels import zh_labels

    # the anomaly board's repeated attempts list every channel of the order ("wechat,alipay")
    got = zh_labels(pa.array(["wechat,alipay", None, "S1", "unionpay"]).slice(0), "channel")
    assert got.to_pylist() == ["微信支付,支付宝", None, "S1", "银联"]


def test_the_terminal_summary_labels_an_outcome_without_a_channel_as_the_reports():
    from rich.console import Console

    from paymatch.cli_render import summary_tables

    # summary.json (read by programs) keeps '(none)'; the terminal showed it where the reports say (unknown)
    row = {"kind": "order_only", "count": 1, "order_amount_fen": 1000, "channel_amount_fen": 0}
    summary = {"run_id": "run-1", "engine": "duckdb", "by_kind": [{**row, "difference_fen": -1000}],
               "by_channel": [{**row, "channel": "(none)"}], "conservation": True,
               "control_totals": {"orders": {"input_rows": 1, "input_fen": 1000}}}
    console = Console(record=True, width=200)
    summary_tables(console, summary)
    text = console.export_text()
    assert "(unknown)" in text and "(none)" not in text


def test_a_zh_cover_names_the_kinds_of_its_sources(recon_ws, tmp_path):
    # the zh cover listed 数据来源:transactions / orders / refunds
    for lang in ("zh", "en"):
        _run("reconciliation", "--workspace", recon_ws, "--date", DAY, "--lang", lang,
             "--csv", tmp_path / lang, "--excel", tmp_path / f"{lang}.xlsx")
    with open(tmp_path / "zh" / "cover.csv", encoding="utf-8-sig", newline="") as fh:
        kinds = [r[0] for r in csv.reader(fh) if r[0].startswith("数据来源:")]
    assert sorted(kinds) == sorted(f"数据来源:{SOURCE_KIND_ZH[k]}" for k in ("orders", "refunds", "transactions"))
    with open(tmp_path / "en" / "cover.csv", encoding="utf-8-sig", newline="") as fh:
        assert sorted(r[0] for r in csv.reader(fh) if r[0].startswith("source:")) == \
            ["source:orders", "source:refunds", "source:transactions"]
    for lang, want in (("zh", {"订单", "退款单", "渠道流水(账单)"}), ("en", {"orders", "refunds", "transactions"})):
        cover = openpyxl.load_workbook(tmp_path / f"{lang}.xlsx").worksheets[0]
        cells = [r[0].value for r in cover.iter_rows()]
        head = cells.index("类型" if lang == "zh" else "Kind")
        assert set(cells[head + 1:]) == want, lang
