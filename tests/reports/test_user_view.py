"""The reports as a finance user opens them (Excel / WPS, by hand): what the person sees, not only the sums."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from paymatch.cli_report import report_app

FIRST_DAY = "2026-11-01"  # conftest.FIRST_DAY: the first day of the reconciled demo chain


def _run(*args) -> None:
    res = CliRunner().invoke(report_app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


def test_report_csvs_carry_a_bom_so_excel_reads_their_chinese(recon_ws, tmp_path):
    # Excel opens a CSV without a BOM in the system code page (GBK on a Chinese Windows): 订单笔数 came out garbled
    _run("reconciliation", "--workspace", recon_ws, "--date", FIRST_DAY, "--csv", tmp_path / "r")
    _run("fund-flow", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", FIRST_DAY, "--csv", tmp_path / "f")
    files = sorted((tmp_path / "r").glob("*.csv")) + sorted((tmp_path / "f").glob("*.csv"))
    assert {f.name for f in files} == {"cover.csv", "summary.csv", "unmatched.csv", "detail.csv"}
    for f in files:
        assert f.read_bytes().startswith(b"\xef\xbb\xbf"), f
        assert not f.read_bytes()[3:].startswith(b"\xef\xbb\xbf"), f  # one BOM, not one per batch
    with open(tmp_path / "r" / "summary.csv", encoding="utf-8-sig", newline="") as fh:
        head = next(csv.reader(fh))
    assert head[:3] == ["商户号", "订单笔数", "订单金额"]
    # the zh cover is in Chinese, as the Excel cover is (it said item/count/amount/title/period)
    with open(tmp_path / "r" / "cover.csv", encoding="utf-8-sig", newline="") as fh:
        cover = list(csv.reader(fh))
    assert cover[0] == ["项目", "笔数", "金额(元)", "说明"]
    assert [r[0] for r in cover[1:4]] == ["标题", "期间", "对账批次(run id)"] and cover[1][3] == "对账日报"
    assert any(r[0] == "数据来源:transactions" for r in cover)
