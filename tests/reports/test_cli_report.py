"""CLI smoke test of ``report_app`` with typer's CliRunner over the reconciled demo workspace."""

from __future__ import annotations

import json

import openpyxl
from typer.testing import CliRunner

from paymatch.cli_report import report_app

runner = CliRunner()


def test_reconciliation_writes_excel_csv_json(recon_ws, tmp_path):
    res = runner.invoke(report_app, ["reconciliation", "--workspace", str(recon_ws), "--period", "week",
                                     "--date", "2026-11-03", "--group-by", "store", "--excel", str(tmp_path / "w.xlsx"),
                                     "--csv", str(tmp_path / "csv"), "--json", str(tmp_path / "w.json"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "Weekly reconciliation report" in res.output
    assert openpyxl.load_workbook(tmp_path / "w.xlsx").sheetnames == ["Cover", "Summary", "Items to act on"]
    doc = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert doc["period"] == {"from": "2026-11-02", "to": "2026-11-08", "label": "week"}
    assert (tmp_path / "csv" / "unmatched.csv").is_file()


def test_fund_flow_and_drill(recon_ws, tmp_path):
    res = runner.invoke(report_app, ["fund-flow", "--workspace", str(recon_ws), "--from", "2026-11-01", "--to",
                                     "2026-11-03", "--by", "channel", "--json", str(tmp_path / "f.json")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    row = doc["tables"][0]["rows"][0]
    res = runner.invoke(report_app, ["fund-flow", "--workspace", str(recon_ws), "--from", "2026-11-01", "--to",
                                     "2026-11-03", "--by", "channel", "--drill", row["key"]])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith('"key"') and len(lines) - 1 == row["tx_count"]


def test_anomalies_and_errors(recon_ws, tmp_path):
    res = runner.invoke(report_app, ["anomalies", "--workspace", str(recon_ws), "--from", "2026-11-01",
                                     "--to", "2026-11-03", "--excel", str(tmp_path / "a.xlsx")])
    assert res.exit_code == 0, res.output and (tmp_path / "a.xlsx").is_file()
    res = runner.invoke(report_app, ["reconciliation", "--workspace", str(recon_ws), "--date", "2026-13-01"])
    assert res.exit_code == 2 and "YYYY-MM-DD" in res.output
    res = runner.invoke(report_app, ["reconciliation", "--workspace", str(tmp_path / "nope.duckdb"), "--date", "2026-11-01"])
    assert res.exit_code == 2 and "no such workspace" in res.output


def test_a_reversed_range_is_an_error_in_every_range_report(recon_ws):
    """`report instalments` printed a ValueError traceback (exit 1) where the other reports say which dates."""
    for cmd in ("fund-flow", "anomalies", "instalments"):
        res = runner.invoke(report_app, [cmd, "--workspace", str(recon_ws), "--from", "2026-11-03", "--to", "2026-11-01"])
        assert res.exit_code == 2, (cmd, res.output)
        assert "--to 2026-11-01 is before --from 2026-11-03" in res.output, (cmd, res.output)
        assert not isinstance(res.exception, ValueError), (cmd, res.exception)
