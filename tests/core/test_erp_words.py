"""The built-in words of mapped ERP/mall exports: the order statuses, payment methods and refund statuses mall and
POS backends print (CRMEB's 未发货/待收货/待评价/已完成/正在退款, Youzan's and Taobao's 交易成功, 待发货, 已发货…) are
read as their canonical values without a ``values`` entry; a word no one mapped is still refused by line."""

from __future__ import annotations

from pathlib import Path

from paymatch.cli import app
from paymatch.workspace import Workspace
from tests.core.test_erp_mapping import _write_csv, runner

CONFIG = """
[inputs.orders.columns]
order_no = "订单号"
channel = "支付方式"
amount = "实际支付"
status = "订单状态"
paid_at = "支付时间"
[inputs.refunds.columns]
refund_no = "退款单号"
order_no = "订单号"
amount = "退款金额"
status = "退款状态"
"""

#: the export's word → what it means (checked by hand against each backend's meaning, not read from the code)
ORDER_STATUS = {"待发货": "paid", "未发货": "paid", "已发货": "paid", "待收货": "paid", "已收货": "paid",
                "待评价": "paid", "已完成": "paid", "交易成功": "paid", "交易完成": "paid", "待核销": "paid",
                "未核销": "paid", "已核销": "paid", "退款中": "paid", "正在退款": "paid", "已过期": "closed",
                "已失效": "closed", "已作废": "closed", "全额退款": "refunded", "已部分退款": "partially_refunded",
                # Taobao's and Youzan's long forms
                "等待买家付款": "unpaid", "等待付款": "unpaid", "买家已付款": "paid", "等待卖家发货": "paid",
                "等待商家发货": "paid", "卖家已发货": "paid", "商家已发货": "paid", "等待买家确认收货": "paid"}
METHOD = {"微信小程序": "wechat", "微信小程序支付": "wechat", "微信扫码支付": "wechat", "支付宝扫码支付": "alipay",
          "储值卡支付": "balance", "储值支付": "balance", "会员卡": "balance", "会员卡支付": "balance",
          "会员余额": "balance"}
REFUND_STATUS = {"退款完成": "success", "待审核": "processing", "审核中": "processing", "待处理": "processing",
                 "申请中": "processing", "已拒绝": "failed", "拒绝退款": "failed", "退款关闭": "failed",
                 "待退款": "processing", "退款处理中": "processing", "已驳回": "failed", "商家拒绝": "failed",
                 "已完成": "success", "完成": "success", "成功": "success"}


def _ingest(tmp_path: Path, orders: list[list[str]], refunds: list[list[str]]):
    cfg = tmp_path / "rules.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    o = _write_csv(tmp_path / "订单导出.csv", [["订单号", "支付方式", "实际支付", "订单状态", "支付时间"], *orders],
                   ["订单列表"])
    r = _write_csv(tmp_path / "退款导出.csv", [["退款单号", "订单号", "退款金额", "退款状态"], *refunds], [])
    return runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders", str(o),
                               "--refunds", str(r), "--config", str(cfg)])


def test_mall_and_pos_words_are_built_in(tmp_path):
    methods = list(METHOD)
    orders = [[f"SO{i}", methods[i % len(methods)], "10.00", word, "2026/11/20 10:00"]
              for i, word in enumerate(ORDER_STATUS)]
    orders += [[f"SP{i}", word, "10.00", "已支付", "2026/11/20 10:00"] for i, word in enumerate(METHOD)]
    refunds = [[f"RF{i}", "SO0", "1.00", word] for i, word in enumerate(REFUND_STATUS)]
    res = _ingest(tmp_path, orders, refunds)
    assert res.exit_code == 0, res.output
    with Workspace(tmp_path / "w.duckdb") as ws:
        got = dict(ws.con.execute("SELECT order_no, status FROM orders WHERE order_no LIKE 'SO%'").fetchall())
        paid = dict(ws.con.execute("SELECT order_no, channel FROM orders WHERE order_no LIKE 'SP%'").fetchall())
        refunded = dict(ws.con.execute("SELECT refund_no, status FROM refunds").fetchall())
    assert got == {f"SO{i}": v for i, v in enumerate(ORDER_STATUS.values())}
    assert paid == {f"SP{i}": v for i, v in enumerate(METHOD.values())}
    assert refunded == {f"RF{i}": v for i, v in enumerate(REFUND_STATUS.values())}


def test_a_split_tender_word_is_still_refused_by_line(tmp_path):
    """组合支付 (part stored value, part WeChat) names no one channel: it is refused, not guessed."""
    res = _ingest(tmp_path, [["SO1", "微信支付", "10.00", "已完成", "2026/11/20 10:00"],
                             ["SO2", "组合支付", "30.00", "已完成", "2026/11/20 10:05"]], [])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "订单导出.csv:4 [支付方式]: not a known payment method" in out, out


def test_a_placeholder_for_no_time_reads_as_none(tmp_path):
    """CRMEB writes 暂无 in 支付时间 for an unpaid order, other backends - or --: no time, not a bad one."""
    res = _ingest(tmp_path, [["SO1", "微信支付", "10.00", "待付款", "暂无"], ["SO2", "微信支付", "10.00", "已取消", "--"],
                             ["SO3", "微信支付", "10.00", "已关闭", "-"], ["SO4", "微信支付", "10.00", "待发货",
                                                                        "2026-11-20 10:05"]], [])
    assert res.exit_code == 0, res.output
    with Workspace(tmp_path / "w.duckdb") as ws:
        got = dict(ws.con.execute("SELECT order_no, strftime(paid_at AT TIME ZONE 'Asia/Shanghai', '%H:%M') "
                                  "FROM orders").fetchall())
    assert got == {"SO1": None, "SO2": None, "SO3": None, "SO4": "10:05"}
    res = _ingest(tmp_path, [["SO5", "微信支付", "10.00", "待发货", "下午"]], [])  # still no time: refused
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "订单导出.csv:3 [支付时间]: not a time" in out, out


def test_an_empty_method_can_be_mapped(tmp_path):
    """Exports leave 支付方式 empty on an order nobody paid: refused as empty (a paid order needs its method), unless
    the config maps the empty cell, ``"" = "none"``, as it maps any word."""
    orders = [["SO1", "微信支付", "10.00", "交易成功", "2026-11-20 10:05"], ["SO2", "", "40.00", "等待买家付款", ""]]
    res = _ingest(tmp_path, orders, [])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "订单导出.csv:4 [支付方式]: required value is empty" in out, out
    cfg = tmp_path / "rules.toml"
    cfg.write_text(CONFIG + '[inputs.orders.values.channel]\n"" = "none"\n', encoding="utf-8")
    res = runner.invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--orders",
                              str(tmp_path / "订单导出.csv"), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    with Workspace(tmp_path / "w.duckdb") as ws:
        got = ws.con.execute("SELECT order_no, channel, status FROM orders ORDER BY order_no").fetchall()
    assert got == [("SO1", "wechat", "paid"), ("SO2", "none", "unpaid")]


def test_rows_without_an_order_number_are_not_called_duplicates(tmp_path):
    """Rows whose order number is empty (an .xlsx whose merged order cells were saved as CSV) are each refused as
    empty; they are no duplicate of one another (that was said too, of the value 'None')."""
    res = _ingest(tmp_path, [["SO1", "微信支付", "1.00", "已支付", ""], ["", "微信支付", "2.00", "已支付", ""],
                             ["", "微信支付", "3.00", "已支付", ""]], [])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "订单导出.csv:4 [订单号]: required value is empty" in out, out
    assert "订单导出.csv:5 [订单号]: required value is empty" in out and "duplicate" not in out, out
