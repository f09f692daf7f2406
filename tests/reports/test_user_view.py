"""The reports as a finance user opens them (Excel / WPS, by hand): what the person sees, not only the sums."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal

import openpyxl
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
    assert any(r[0] == "数据来源:渠道流水(账单)" for r in cover)


def test_a_month_report_says_which_days_were_not_reconciled(recon_ws, tmp_path):
    # the chain's runs cover 11-01..11-03: November's report showed 1..30 with three days' figures and no word of it
    _run("reconciliation", "--workspace", recon_ws, "--period", "month", "--date", FIRST_DAY,
         "--excel", tmp_path / "m.xlsx", "--csv", tmp_path / "m", "--json", tmp_path / "m.json")
    note = "本期有 27 天未对账，其数据不在本报表中：2026-11-04 ~ 2026-11-30（先对这些日期运行 paymatch reconcile）"
    cover = openpyxl.load_workbook(tmp_path / "m.xlsx")["封面"]
    notes = [r[1].value for r in cover.iter_rows() if r[0].value == "注意"]
    assert notes == [note]
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["notes"] == [note]
    with open(tmp_path / "m" / "cover.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r[3] for r in csv.reader(fh) if r[0] == "注意"] == [note]
    # the days the runs cover: no note
    _run("reconciliation", "--workspace", recon_ws, "--date", FIRST_DAY, "--json", tmp_path / "d.json", "--lang", "en")
    assert json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))["notes"] == []


def test_a_day_without_activity_is_zeros_with_a_note(recon_ws, tmp_path):
    from paymatch.run import reconcile_workspace

    w = tmp_path / "w.duckdb"
    shutil.copy(recon_ws, w)
    reconcile_workspace(w, dt.date(2026, 11, 20), dt.date(2026, 11, 20), None)  # a day the chain had no business
    _run("reconciliation", "--workspace", w, "--date", "2026-11-20", "--excel", tmp_path / "d.xlsx",
         "--json", tmp_path / "d.json", "--lang", "en")
    doc = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    assert doc["notes"] == ["No outcomes in this period (no orders, refunds or channel records): every figure is zero"]
    assert [r["outcomes_count"] for r in doc["tables"][0]["rows"]] == [0]  # the chain total only
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx")
    assert [r[1].value for r in wb["Cover"].iter_rows() if r[0].value == "Note"] == doc["notes"]
    assert wb["Items to act on"].max_row == 1  # the header, frozen, and no rows


def test_fund_flow_names_days_without_any_channel_record(recon_ws, tmp_path):
    # 10-31 and 11-04 have no bill loaded: their zeros read as days without takings
    _run("fund-flow", "--workspace", recon_ws, "--from", "2026-10-31", "--to", "2026-11-04", "--json", tmp_path / "f.json")
    doc = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert doc["notes"] == ["2 天没有任何渠道流水（账单未导入？）：2026-10-31, 2026-11-04"]
    _run("fund-flow", "--workspace", recon_ws, "--from", "2026-12-01", "--to", "2026-12-02", "--json", tmp_path / "e.json",
         "--lang", "en")
    doc = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    assert doc["notes"] == ["No channel records in this range: every figure is zero. If there was business, load the "
                            "bills first (paymatch ingest / pull)"]
    assert doc["tables"][0]["rows"] == [{**doc["tables"][0]["rows"][0], "inflow_fen": 0, "net_fen": 0, "tx_count": 0}]
    _run("fund-flow", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", "2026-11-03", "--json", tmp_path / "g.json")
    assert json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))["notes"] == []


def _doc(path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_store_managers_reports_hold_only_that_store(recon_ws, tmp_path):
    # before: no way to give a store manager their store's report, only the chain's with every store in it
    week = ("--period", "week", "--date", FIRST_DAY)
    _run("reconciliation", "--workspace", recon_ws, *week, "--group-by", "store", "--json", tmp_path / "all.json")
    _run("reconciliation", "--workspace", recon_ws, *week, "--store", "S004", "--group-by", "channel",
         "--json", tmp_path / "s4.json", "--excel", tmp_path / "s2.xlsx")
    chain, mine = _doc(tmp_path / "all.json"), _doc(tmp_path / "s4.json")
    assert mine["title"] == "对账周报（门店 S004）" and mine["params"]["store"] == "S004"
    s2 = next(r for r in chain["tables"][0]["rows"] if r["store_id"] == "S004")
    total = mine["tables"][0]["rows"][-1]
    assert total["channel"] == "合计"  # a store's total, not 全链合计
    money = [k for k in s2 if k.endswith(("_fen", "_count")) and k in total]
    assert len(money) > 20 and {k: total[k] for k in money} == {k: s2[k] for k in money}
    assert total["outcomes_count"] < chain["tables"][0]["rows"][-1]["outcomes_count"]
    items = mine["tables"][1]["rows"]
    assert items and {r["store_id"] for r in items} == {"S004"}
    assert len(items) == sum(1 for r in chain["tables"][1]["rows"] if r["store_id"] == "S004")
    assert openpyxl.load_workbook(tmp_path / "s2.xlsx")["封面"]["A1"].value == "对账周报（门店 S004）"

    rng = ("--from", FIRST_DAY, "--to", "2026-11-03")
    _run("fund-flow", "--workspace", recon_ws, *rng, "--by", "store", "--json", tmp_path / "fa.json")
    _run("fund-flow", "--workspace", recon_ws, *rng, "--by", "channel", "--store", "S004", "--json", tmp_path / "f2.json")
    per_store = [r for r in _doc(tmp_path / "fa.json")["tables"][0]["rows"] if r["dim"] == "S004"]
    f2 = _doc(tmp_path / "f2.json")
    ftotal = f2["tables"][0]["rows"][-1]
    for k in ("inflow_count", "inflow_fen", "refund_count", "refund_fen", "fee_fen", "net_fen", "tx_count"):
        assert ftotal[k] == sum(r[k] for r in per_store), k
    assert len(f2["tables"][1]["rows"]) == ftotal["tx_count"] > 0

    _run("anomalies", "--workspace", recon_ws, *rng, "--json", tmp_path / "aa.json")
    _run("anomalies", "--workspace", recon_ws, *rng, "--store", "S004", "--json", tmp_path / "a2.json")
    every = _doc(tmp_path / "aa.json")["tables"][1]["rows"]
    assert _doc(tmp_path / "a2.json")["tables"][1]["rows"] == [r for r in every if r["store_id"] == "S004"] != []


def test_a_mistyped_store_is_refused_not_a_clean_page_of_zeros(recon_ws):
    res = CliRunner().invoke(report_app, ["reconciliation", "--workspace", str(recon_ws), "--date", FIRST_DAY,
                                          "--store", "S04"])
    assert res.exit_code == 2
    assert "--store S04: no order or outcome of the workspace names this store" in res.output and "S004" in res.output


def test_every_cover_gives_its_time_in_shanghai(recon_ws, tmp_path):
    # the instalment report's said UTC (made at 07:34 in Shanghai: 23:34 of the day before); the others +08:00
    for args in (("instalments", "--from", FIRST_DAY, "--to", "2026-11-03"), ("reconciliation", "--date", FIRST_DAY),
                 ("anomalies", "--from", FIRST_DAY, "--to", FIRST_DAY), ("fund-flow", "--from", FIRST_DAY, "--to", FIRST_DAY)):
        _run(*args, "--workspace", recon_ws, "--json", tmp_path / "r.json", "--excel", tmp_path / "r.xlsx")
        assert _doc(tmp_path / "r.json")["generated_at"].endswith("+08:00"), args[0]
        cover = openpyxl.load_workbook(tmp_path / "r.xlsx").worksheets[0]
        assert cover["B5"].value.endswith("+08:00"), args[0]


def test_report_csvs_keep_long_digit_ids_as_text_for_excel(recon_ws, tmp_path):
    # Excel reads 2088100000000001 in a CSV as the number 2.0881E+15, and past 15 digits the rest become zeros: every
    # Alipay merchant number and WeChat transaction id in the report was changed on opening it
    _run("fund-flow", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", FIRST_DAY, "--by", "store",
         "--csv", tmp_path / "f", "--json", tmp_path / "f.json")
    with open(tmp_path / "f" / "detail.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    exact = _doc(tmp_path / "f.json")["tables"][1]["rows"]
    assert len(rows) == len(exact) > 100
    for row, want in zip(rows, exact):
        for head, name in (("商户号", "merchant_id"), ("渠道流水号", "channel_tx_id"), ("订单号", "order_no"),
                           ("门店", "dim")):
            v = want[name]
            guarded = v.isdigit() and (len(v) >= 12 or v.startswith("0"))
            assert row[head] == (f'="{v}"' if guarded else v), (head, v)
        assert row["金额"] == f"{want['amount_fen'] // 100}.{want['amount_fen'] % 100:02d}"  # money stays a number
    assert any(r["商户号"].startswith('="2088') for r in rows) and any(r["渠道流水号"].startswith('="42') for r in rows)
    assert any(r["渠道流水号"].startswith("UP") for r in rows)  # an id with a letter is left as it is


def _yuan_sum(cells) -> Decimal:
    return sum((Decimal(repr(v)) for v in cells if v is not None), Decimal(0))


def test_reconciliation_detail_drills_from_a_group_down_to_each_outcome(recon_ws, tmp_path):
    # before: a group's 渠道收款金额 or 净结算金额 could not be traced to the outcomes behind it (only the items to act
    # on were listed); --detail adds every outcome, each summary group's cell linking to its first row
    rng = ("--period", "week", "--date", "2026-11-02")
    for group in ("channel", "store"):
        _run("reconciliation", "--workspace", recon_ws, *rng, "--group-by", group, "--detail",
             "--excel", tmp_path / f"{group}.xlsx")
        wb = openpyxl.load_workbook(tmp_path / f"{group}.xlsx")
        assert wb.sheetnames == ["封面", "对账汇总", "待处理明细", "对账明细"]
        summary, detail = wb["对账汇总"], wb["对账明细"]
        assert detail.freeze_panes == "A2"
        sh, dh = [c.value for c in summary[1]], [c.value for c in detail[1]]
        rows = list(detail.iter_rows(min_row=2, values_only=True))
        groups = list(summary.iter_rows(min_row=2))
        starts = [int(g[0].hyperlink.location.rsplit("!A", 1)[1]) - 2 for g in groups[:-1]]
        assert groups[-1][0].value == "全链合计" and groups[-1][0].hyperlink is None
        assert sorted(starts)[0] == 0 and len(set(starts)) == len(starts)
        col = dh.index({"channel": "渠道", "store": "门店"}[group])
        for g, start in zip(groups, starts):
            end = min([s for s in starts if s > start], default=len(rows))
            mine = rows[start:end]
            assert {r[col] or "(未知)" for r in mine} == {g[0].value}  # the link lands on its group, all of it
            for name in ("订单金额", "渠道收款金额", "平台退款金额", "渠道退款金额", "手续费", "净结算金额", "差异金额"):
                assert _yuan_sum(r[dh.index(name)] for r in mine) == Decimal(repr(g[sh.index(name)].value)), name
        total = groups[-1]
        for name in ("渠道收款金额", "手续费", "净结算金额"):
            assert _yuan_sum(r[dh.index(name)] for r in rows) == Decimal(repr(total[sh.index(name)].value))
        # an item to act on is found in the detail with its order and channel transaction
        item = [c.value for c in next(wb["待处理明细"].iter_rows(min_row=2))]
        ih = [c.value for c in wb["待处理明细"][1]]
        hit = [r for r in rows if r[dh.index("结果编号")] == item[ih.index("结果编号")]]
        assert hit and hit[0][dh.index("订单号")] == item[ih.index("订单号")]
        assert hit[0][dh.index("渠道流水号")] == item[ih.index("渠道流水号")]
    _run("reconciliation", "--workspace", recon_ws, *rng, "--excel", tmp_path / "plain.xlsx")
    assert "对账明细" not in openpyxl.load_workbook(tmp_path / "plain.xlsx").sheetnames  # opt-in: a month is millions


def test_a_zh_report_names_its_period_and_columns_in_chinese(recon_ws, tmp_path):
    # the zh cover said "2026-11-01 ~ 2026-11-01 (day)" and the terminal's table "count / amount"
    res = CliRunner().invoke(report_app, ["reconciliation", "--workspace", str(recon_ws), "--date", FIRST_DAY,
                                          "--excel", str(tmp_path / "d.xlsx"), "--csv", str(tmp_path / "d")])
    assert res.exit_code == 0 and "笔数" in res.output and "金额" in res.output and "count" not in res.output
    assert openpyxl.load_workbook(tmp_path / "d.xlsx")["封面"]["B2"].value == "2026-11-01 ~ 2026-11-01 (日)"
    with open(tmp_path / "d" / "cover.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r[3] for r in csv.reader(fh) if r[0] == "期间"] == ["2026-11-01..2026-11-01 (日)"]
    _run("anomalies", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", FIRST_DAY, "--excel", tmp_path / "a.xlsx",
         "--json", tmp_path / "a.json")
    assert openpyxl.load_workbook(tmp_path / "a.xlsx")["封面"]["B2"].value.endswith("(区间)")
    assert _doc(tmp_path / "a.json")["period"]["label"] == "range"  # machines keep the code


def test_an_anomaly_board_without_bills_is_no_all_clear(recon_ws, tmp_path):
    # 11-04 has no bill loaded: the board's zero anomalies that day read as a clean day
    _run("anomalies", "--workspace", recon_ws, "--from", "2026-11-03", "--to", "2026-11-04", "--json", tmp_path / "a.json")
    assert _doc(tmp_path / "a.json")["notes"] == ["1 天没有任何渠道流水（账单未导入？）：2026-11-04"]
    _run("anomalies", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", "2026-11-03", "--json", tmp_path / "b.json")
    assert _doc(tmp_path / "b.json")["notes"] == []


def test_wide_summaries_keep_their_row_labels_in_view(recon_ws, tmp_path):
    # the reconciliation summary is 40+ columns wide: scrolled right, its figures lost their store (only row 1 froze)
    _run("reconciliation", "--workspace", recon_ws, "--date", FIRST_DAY, "--group-by", "store", "--detail",
         "--excel", tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb["对账汇总"].max_column > 30 and wb["对账汇总"].freeze_panes == "B2"
    assert wb["待处理明细"].freeze_panes == wb["对账明细"].freeze_panes == "A2"
    _run("fund-flow", "--workspace", recon_ws, "--from", FIRST_DAY, "--to", FIRST_DAY, "--by", "store",
         "--excel", tmp_path / "f.xlsx")
    assert openpyxl.load_workbook(tmp_path / "f.xlsx")["资金流水汇总"].freeze_panes == "D2"  # 键, 期间, 门店


def test_a_drill_prints_times_to_the_second_and_names_a_mistyped_store(recon_ws):
    args = ["fund-flow", "--workspace", str(recon_ws), "--from", FIRST_DAY, "--to", FIRST_DAY, "--by", "store"]
    res = CliRunner().invoke(report_app, [*args, "--drill", "2026-11-01|S004"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(res.output.splitlines()))
    assert rows and all(len(r["local_time"]) == 19 for r in rows), rows[0]["local_time"]  # not …:51.000000
    res = CliRunner().invoke(report_app, [*args, "--drill", "2026-11-01|S004", "--store", "S04"])
    assert res.exit_code == 2 and "--store S04: no order or outcome" in res.output


def test_a_store_managers_instalment_report(recon_ws, tmp_path):
    rng = ("--workspace", recon_ws, "--from", FIRST_DAY, "--to", "2026-11-03")
    _run("instalments", *rng, "--json", tmp_path / "all.json")
    _run("instalments", *rng, "--store", "S004", "--json", tmp_path / "s4.json")
    every, mine = _doc(tmp_path / "all.json"), _doc(tmp_path / "s4.json")
    want = [r for r in every["tables"][0]["rows"] if r["store_id"] == "S004"]
    assert want and mine["tables"][0]["rows"] == want and mine["title"] == "分期报表（门店 S004）"
    totals = {c["key"]: (c["count"], c["amount_fen"]) for c in mine["control_totals"]}
    assert totals["plans"][0] == sum(r["plans"] for r in want)
    assert totals["outstanding"] == (sum(r["outstanding_periods"] for r in want), sum(r["outstanding_fen"] for r in want))


def test_the_matched_rate_reads_as_a_percentage_in_csv(recon_ws, tmp_path):
    # 对平率 was the fraction 0.962963: read as under 1 % (the workbook shows 96.30%)
    _run("reconciliation", "--workspace", recon_ws, "--date", FIRST_DAY, "--csv", tmp_path / "r",
         "--json", tmp_path / "r.json")
    with open(tmp_path / "r" / "summary.csv", encoding="utf-8-sig", newline="") as fh:
        got = [r["对平率"] for r in csv.DictReader(fh)]
    want = [r["matched_rate"] for r in _doc(tmp_path / "r.json")["tables"][0]["rows"]]
    assert len(got) == len(want) > 2 and any(w is not None and w < 1 for w in want)
    for g, w in zip(got, want):
        assert g == ("" if w is None else f"{round(w * 100, 4):g}%"), (g, w)
