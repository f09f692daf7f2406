"""ERP exports with one row per item (订单明细, ``item_rows`` in the mapping): the rows of one order number are one
order. The golden/basic orders split into item rows reconcile exactly like the canonical file, in both modes, as
CSV and .xlsx; rows that disagree and bad item amounts are refused by the export's own line and column."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from paymatch.workspace import Workspace
from tests.core.test_erp_mapping import (CONFIG, _erp_orders, _erp_refunds, _outcomes, _reconcile, _write_csv, _xlsx,
                                         canonical_outcomes, own_tmp, runner)
from paymatch.cli import app

__all__ = ["canonical_outcomes", "own_tmp"]  # fixtures used here


def _config(tmp_path: Path, orders: str | None, refunds: str | None = None) -> Path:
    text = CONFIG.replace("[inputs.orders.columns]", "[inputs.orders]\n"
                          + (f'item_rows = "{orders}"\n' if orders else "") + "[inputs.orders.columns]")
    if refunds:
        text = text.replace("header_line = 3", f'header_line = 3\nitem_rows = "{refunds}"')
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _fen(text: str) -> int:
    whole, frac = text.lstrip("￥").split(".")
    return int(whole) * 100 + int(frac)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _items(mode: str) -> tuple[list[list[str]], dict[str, int]]:
    """golden/basic's orders as item rows: order i has i % 3 + 1 rows; below the first, the order-level cells are
    left blank on every other order (exports do both). ``mode`` "sum": amounts split; "order": the order's own
    amount on the first row (and repeated where the cells are repeated). Returns (rows, order → its first row's
    index in the rows, header = 0)."""
    head, *orders = _erp_orders()
    out, first = [head], {}
    amount = head.index("实付金额（元）")
    for i, row in enumerate(orders):
        n = i % 3 + 1
        total = _fen(row[amount])
        parts = [total // n] * (n - 1) + [total - total // n * (n - 1)]
        first[row[0]] = len(out)
        for j in range(n):
            r = list(row)
            r[-1] = f"商品{j}"
            if j and i % 2:  # the order-level cells only on the first row
                r = [r[0]] + [""] * (len(r) - 2) + [r[-1]]
            if mode == "sum":
                r[amount] = "￥" + _yuan(parts[j])
            elif j and not i % 2:
                r[amount] = row[amount]
            out.append(r)
    return out, first


@pytest.mark.parametrize("mode", ["sum", "order"])
def test_item_rows_reconcile_like_the_canonical_orders(tmp_path, own_tmp, canonical_outcomes, mode):
    rows, first = _items(mode)
    assert len(rows) - 1 >= 1.5 * len(first)  # really several rows per order
    cfg = _config(tmp_path, mode)
    orders = _write_csv(tmp_path / "订单明细.csv", rows, ["订单明细导出"])
    refunds = _write_csv(tmp_path / "退款.csv", _erp_refunds(), ["退款明细", "导出人：财务"])
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    out = " ".join(res.output.split())
    assert f"{len(rows) - 1:,} item rows read as {len(first):,} orders" in out, out
    notes = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))["input_notes"]
    assert any("item rows read as" in n for n in notes)

    w = tmp_path / "w.duckdb"
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(orders), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT order_no, src_line, extra->>'item_rows', extra->>'商品名称' FROM orders").fetchall()
    # the order's line is its first row's (title line + header above: row index i is on line i + 2); the export's
    # other columns are its first row's, and item_rows says how many rows made it
    count = {o: sum(1 for r in rows[1:] if r[0] == o) for o in first}
    assert {o: (line, int(n), item) for o, line, n, item in got} == {o: (i + 2, count[o], "商品0") for o, i in first.items()}
    assert list(own_tmp.iterdir()) == []


def test_item_rows_in_an_xlsx_export(tmp_path, own_tmp, canonical_outcomes):
    rows, _ = _items("sum")
    for r in rows[1:]:
        r[4] = float(r[4].lstrip("￥")) if r[4] else None
    sheet = rows[:4] + [[None] * 12] + rows[4:]  # an empty row: lines below it are still the sheet's
    cfg = _config(tmp_path, "sum")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    orders = _xlsx(tmp_path / "orders.xlsx", sheet, title="订单明细")
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    bad = [list(r) for r in sheet]
    bad[7][3] = "支付宝"  # a row of an order (sheet row 9) naming another payment method than its first row
    res = _reconcile(tmp_path / "bad", _xlsx(tmp_path / "bad.xlsx", bad, title="订单明细"), refunds, "--config", str(cfg))
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{tmp_path / 'bad.xlsx'}:9 [支付方式]: the rows of 订单编号" in out, out
    assert list(own_tmp.iterdir()) == []


def test_item_rows_that_disagree_or_hold_a_bad_amount_are_refused_by_line(tmp_path, own_tmp):
    rows, first = _items("sum")
    cfg = _config(tmp_path, "sum")
    w = tmp_path / "w.duckdb"
    order = next(o for o, i in first.items() if rows[i + 1][0] == o and rows[i + 1][7])  # a repeated paid time
    bad = [list(r) for r in rows]
    bad[first[order] + 1][7] = "2026/11/20 23:59:59"
    bad[3][4] = "12.3.4"
    f = _write_csv(tmp_path / "bad.csv", bad, ["订单明细导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(res.output.split())
    # a bad amount first: the rows' sum would be wrong
    assert res.exit_code == 2 and f"{f}:5 [实付金额（元）]: not a yuan amount" in out and "12.3.4" in out, out
    bad[3][4] = rows[3][4]
    f = _write_csv(tmp_path / "bad.csv", bad, ["订单明细导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(res.output.split())
    line = first[order] + 1 + 2
    assert res.exit_code == 2 and (f"{f}:{line} [支付时间]: the rows of 订单编号 {order} disagree: line {line - 1} has"
                                   in out), out

    # "order" mode: the amount is the order's own, so two different ones on its rows are refused too
    rows, first = _items("order")
    bad = [list(r) for r in rows]
    i = next(i for o, i in first.items() if rows[i + 1][0] == o and rows[i + 1][4])
    bad[i + 1][4] = "￥0.01"
    f = _write_csv(tmp_path / "bad2.csv", bad, ["订单明细导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config",
                              str(_config(tmp_path, "order"))])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and f"{f}:{i + 3} [实付金额（元）]: the rows of 订单编号" in out, out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    # without item_rows the same export is refused for its repeated order numbers, as before
    f = _write_csv(tmp_path / "items.csv", rows, ["订单明细导出"])
    res = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config",
                              str(_config(tmp_path, None))])
    assert res.exit_code == 2 and "duplicate 订单编号" in " ".join(res.output.split()), res.output
    assert list(own_tmp.iterdir()) == []


def test_refund_item_rows_are_added(tmp_path, own_tmp, canonical_outcomes):
    head, *refunds = _erp_refunds()
    rows = [head]
    for r in refunds:  # each refund as two rows whose amounts add up to it
        fen = _fen(r[2])
        rows += [r[:2] + [_yuan(fen // 2)] + r[3:], r[:2] + [_yuan(fen - fen // 2)] + r[3:]]
    cfg = _config(tmp_path, None, refunds="sum")
    orders = _write_csv(tmp_path / "orders.csv", _erp_orders(), ["订单导出"])
    res = _reconcile(tmp_path / "out", orders, _write_csv(tmp_path / "r.csv", rows, ["退款明细", "导出人：财务"]),
                     "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    assert f"{len(rows) - 1} item rows read as {len(refunds)} refunds" in " ".join(res.output.split())
    assert list(own_tmp.iterdir()) == []


def test_item_rows_grouping_details(tmp_path, own_tmp):
    """Order numbers with outer blanks of any kind group with the plain one; under key_scope two merchant numbers'
    order A1 stay two orders (a row without a merchant number belongs to its order above); unmapped columns come
    from the first row even where it is empty; a "sum" row without an amount is refused."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\nkey_scope = ["merchant_id"]\n[inputs.orders]\nitem_rows = "sum"\n'
                   '[inputs.orders.columns]\norder_no = "订单编号"\nmerchant_id = "商户号"\nchannel = "支付方式"\n'
                   'amount = "金额"\nstatus = "状态"\n', encoding="utf-8")
    head = "订单编号,商户号,支付方式,金额,状态,优惠券\n"
    f = tmp_path / "o.csv"
    f.write_text(head + "A1,M1,微信支付,10.00,已支付,\n\"A1\t\",,,5.00,,C9\n\"A1\u3000\",M2,支付宝,7.00,已支付,C7\n"
                 "B1,M1,微信支付,1.00,已支付,\n", encoding="utf-8")
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(f), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT merchant_id, order_no, amount_fen, src_line, extra->>'优惠券' FROM orders "
                             "ORDER BY src_line").fetchall()
    assert got == [("M1", "A1", 1500, 2, None), ("M2", "A1", 700, 4, "C7"), ("M1", "B1", 100, 5, None)]
    f.write_text(head + "A1,M1,微信支付,10.00,已支付,\nA1,,,,,C9\n", encoding="utf-8")
    r = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w2.duckdb"), "--orders", str(f), "--config", str(cfg)])
    out = " ".join(r.output.split())
    assert r.exit_code == 2 and f"{f}:3 [金额]: an item row without an amount" in out, out
    assert list(own_tmp.iterdir()) == []


def test_a_bad_value_taken_from_a_lower_item_row_is_named_by_that_rows_line(tmp_path, own_tmp):
    """The order's first row leaves its paid time blank and a row below writes one the loader refuses: the
    message names the row that holds it, not the order's first line."""
    f = tmp_path / "o.csv"
    f.write_text("订单编号,支付方式,实付金额（元）,订单状态,支付时间,商品\nA1,微信支付,10.00,已支付,,x\n"
                 "A1,,,,昨天,y\nB1,微信支付,1.00,已支付,yesterday,z\n", encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[inputs.orders]\nitem_rows = "order"\n[inputs.orders.columns]\norder_no = "订单编号"\n'
                   'channel = "支付方式"\namount = "实付金额(元)"\nstatus = "订单状态"\npaid_at = "支付时间"\n',
                   encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(f),
                              "--config", str(cfg)])
    out = " ".join(res.output.split())
    assert res.exit_code == 2
    assert f"{f}:3 [支付时间]: not a time" in out and "'昨天'" in out  # row 3 holds it (the order starts on 2)
    assert f"{f}:4 [支付时间]: not a time" in out and f"{f}:2 " not in out


def test_item_rows_under_a_merged_order_number_cell(tmp_path, own_tmp, canonical_outcomes):
    """Mall backends writing .xlsx (mall4j's 销售信息整理 sheet, hutool's merge) merge each order's cells down its
    item rows: the order number is held by the first row only, and Excel shows it on every row. Those rows are
    the order's; a merge in another column is not filled (in "order" mode a value on the first row is enough)."""
    rows, first = _items("order")
    for r in rows[1:]:
        r[4] = float(r[4].lstrip("￥")) if r[4] else None
    merges = []
    for o, i in first.items():
        n = sum(1 for r in rows[1:] if r[0] == o)
        for j in range(i + 1, i + n):
            rows[j] = [None] * (len(rows[j]) - 1) + [rows[j][-1]]  # merged: only the first row holds the cells
        if n > 1:  # sheet rows: title line 1, header line 2, rows[i] on line i + 2
            merges += [(i + 2, i + n + 1, col) for col in range(1, len(rows[0]))]
    assert merges
    cfg = _config(tmp_path, "order")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("header_line = 3", "header_line = 2"), encoding="utf-8")
    orders = _xlsx(tmp_path / "orders.xlsx", rows, title="销售信息整理")
    wb = openpyxl.load_workbook(orders)
    ws = wb.active
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[0]))  # the merged title line
    for top, bottom, col in merges:
        ws.merge_cells(start_row=top, start_column=col, end_row=bottom, end_column=col)
    wb.save(orders)
    refunds = _xlsx(tmp_path / "refunds.xlsx", _erp_refunds(), title="退款")
    res = _reconcile(tmp_path / "out", orders, refunds, "--config", str(cfg))
    assert res.exit_code == 0, res.output
    assert _outcomes(tmp_path / "out") == canonical_outcomes
    out = " ".join(res.output.split())
    assert f"{len(rows) - 1:,} item rows read as {len(first):,} orders" in out, out
    assert list(own_tmp.iterdir()) == []
