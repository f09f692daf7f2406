"""A zh report's reasons (原因) are Chinese, as a finance clerk writes them (渠道 100.01 ≠ 订单 100.00 (+0.01 …)), and
say the same facts as the English ones outcomes.csv keeps: every amount to the fen, count, id, time and rate."""

from __future__ import annotations

import csv
import datetime as dt
import re

import duckdb
import openpyxl
import pyarrow as pa
from typer.testing import CliRunner

from paymatch.cli_report import report_app
from paymatch.instalments.config import DEFAULT_CONFIG
from paymatch.instalments.match import match_instalments
from paymatch.outcomes_store import REASON_SQL
from paymatch.reports.labels import BAD_TERM_ZH, INSTALMENT_REASON_ZH, reason_sql
from paymatch.schema import OutcomeKind
from paymatch.workspace import Workspace
from tests.instalments.helpers import SH, duck, flow, flows_table, order, orders_table, rows

DAY = "2026-11-02"  # a day of the demo chain (conftest)
#: the one English a zh reason keeps: the rules.toml key a time_mismatch names, as the user writes it
CONFIG_WORDS = {"match", "max_time_gap_minutes"}


def english(text: str) -> list[str]:
    """The English words of ``text``: tokens of Latin letters without a digit (a token with one is an id: order
    numbers, channel records, merchant numbers)."""
    return [t for t in re.findall(r"[A-Za-z0-9_]+", text)
            if re.search(r"[A-Za-z]", t) and not re.search(r"\d", t) and t not in CONFIG_WORDS]


def facts(text: str) -> list[str]:
    """The numbers a reason states (amounts, counts, ids' digits, dates, times, rates), in any order."""
    return sorted(re.findall(r"\d+(?:\.\d+)?", text))


def _run(*args) -> None:
    res = CliRunner().invoke(report_app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_zh_reconciliation_report_gives_its_reasons_in_chinese(recon_ws, tmp_path):
    # the zh report's 原因 column was the English reason ("channel 185.86 ≠ order 184.69 (+1.17, 长款: …)")
    for lang in ("zh", "en"):
        _run("reconciliation", "--workspace", recon_ws, "--date", DAY, "--detail", "--lang", lang,
             "--csv", tmp_path / lang, "--excel", tmp_path / f"{lang}.xlsx")
    reason, oid, kind = "原因", "结果编号", "类型代码"
    zh = {r[oid]: r for r in _csv(tmp_path / "zh" / "detail.csv")}
    en = {r["Outcome id"]: r["Reason"] for r in _csv(tmp_path / "en" / "detail.csv")}
    assert zh.keys() == en.keys()
    assert len({r[kind] for r in zh.values()}) >= 8  # the demo chain's kinds: matched, 长款, 单边, 重复支付 …
    for k, r in zh.items():
        assert r[reason] and not english(r[reason]), (k, r[reason])
        assert facts(r[reason]) == facts(en[k]), (r[reason], en[k])
    long_ = next(r[reason] for r in zh.values() if r[kind] == "amount_mismatch" and "长款" in r[reason])
    assert re.fullmatch(r"渠道 \d+\.\d\d ≠ 订单 \d+\.\d\d \(\+\d+\.\d\d，长款：渠道多收\)", long_), long_
    # the sheet of items to act on, in the CSV and the workbook alike
    items = {r[oid]: r[reason] for r in _csv(tmp_path / "zh" / "unmatched.csv")}
    assert items and all(items[k] == zh[k][reason] for k in items)
    ws = openpyxl.load_workbook(tmp_path / "zh.xlsx", read_only=True)["待处理明细"]
    head, *body = [list(r) for r in ws.iter_rows(values_only=True)]
    assert {r[head.index(oid)]: r[head.index(reason)] for r in body} == items
    # the en report's reasons are the stored ones, as outcomes.csv writes them
    with Workspace(recon_ws) as w:
        stored = dict(w.con.execute("SELECT outcome_id, reason FROM outcomes").fetchall())
    assert all(stored[k] == v for k, v in en.items())


def _outcome(kind: str, **kw) -> dict:
    """An engine outcome as stored (the fields REASON_SQL reads); ``kw`` overrides."""
    base = {"kind": kind, "detail": None, "channel": "wechat", "merchant_id": "1601000004", "order_no": "SO1",
            "refund_no": None, "channel_tx_id": "4200000001", "channel_tx_id_last": None,
            "order_amount_fen": 10000, "channel_amount_fen": 10001, "difference_fen": 1, "order_status": "paid",
            "channel_status": "success", "channel_rows": 1, "order_channel": "wechat",
            "occurred_at": dt.datetime(2026, 11, 20, 2, 0, 5, 250000), "reason_text": None}
    return {**base, **kw}


#: every engine kind, every branch of its reason
ENGINE_OUTCOMES = [
    _outcome("matched", difference_fen=0, channel_amount_fen=10000), _outcome("matched"),
    _outcome("refund_matched", detail="by_order_amount", difference_fen=0),
    _outcome("refund_matched", difference_fen=0),
    _outcome("refund_matched", channel_amount_fen=9999, difference_fen=-1),
    _outcome("amount_mismatch"), _outcome("amount_mismatch", channel_amount_fen=9999, difference_fen=-1),
    _outcome("over_refund", detail="3457:2988", difference_fen=469),
    _outcome("refund_amount_mismatch", channel_amount_fen=10627, order_amount_fen=10910, difference_fen=-283),
    _outcome("order_only", channel_amount_fen=None), _outcome("channel_only", order_no=None),
    _outcome("channel_only", channel_status="closed"),
    _outcome("duplicate_payment", channel_rows=2, channel_tx_id_last="4200000009", channel_amount_fen=20000,
             detail="cross_channel_notification"),
    _outcome("duplicate_payment", channel_rows=3, channel_tx_id_last="4200000009", channel_amount_fen=30000),
    _outcome("status_mismatch", order_status="unpaid"),
    _outcome("channel_mismatch", detail="internal_method_paid", order_channel="points"),
    _outcome("channel_mismatch", order_channel="wechat", channel="alipay"),
    _outcome("merchant_mismatch", detail="1601000005", difference_fen=0),
    _outcome("merchant_mismatch", detail="1601000005"),
    _outcome("time_mismatch", detail="2026-11-20 03:00:06.500000"),
    _outcome("time_mismatch", detail="2026-11-20 01:59:05.000000"),
    _outcome("fee_mismatch", detail="60:1:6000::"), _outcome("fee_mismatch", detail="2000:-100:5000:2000:1000000"),
    _outcome("unconfirmed"), _outcome("unconfirmed", refund_no="RF1"),
    _outcome("pending_cross_day"), _outcome("pending_cross_day", refund_no="RF1"),
    _outcome("unpaid", order_status="closed"),
    _outcome("internal", detail="zero_amount"), _outcome("internal", detail="zero_refund"),
    _outcome("internal", detail="internal_refund", order_channel="balance"),
    _outcome("internal", order_channel="points"),
    _outcome("record_update", channel_status="processing"), _outcome("duplicate_record", channel_rows=2),
    _outcome("refund_order_only", refund_no="RF1"), _outcome("refund_channel_only", refund_no="RF1"),
    _outcome("refund_order_mismatch"), _outcome("refund_status_mismatch", order_status="failed"),
    _outcome("refund_failed"), _outcome("refund_pending", order_status="processing"),
    _outcome("duplicate_refund", channel_rows=2, channel_amount_fen=20000),
    # records beside the duplicates that did not succeed (helper-118): counted apart, in both languages
    _outcome("duplicate_payment", channel_rows=3, channel_tx_id_last="4200000009", channel_amount_fen=20000,
             detail="cross_channel,attempts:1"),
    _outcome("duplicate_refund", channel_rows=5, channel_amount_fen=20000, detail="attempts:3"),
    _outcome("channel_only", order_no="Q1", channel_rows=3, channel_tx_id_last="4200000009", detail="attempts:1"),
    _outcome("refund_channel_only", refund_no="RF1", channel_rows=2, channel_tx_id_last="5000000009",
             channel_amount_fen=20000,
             detail="attempts:0"),
]


def test_every_engine_reason_has_its_chinese_with_the_same_facts():
    assert {o["kind"] for o in ENGINE_OUTCOMES} == {k.value for k in OutcomeKind}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")  # as a workspace's connection is
    hand = pa.Table.from_pylist(ENGINE_OUTCOMES)  # noqa: F841 - read by DuckDB by name
    con.execute("CREATE TABLE o AS SELECT * REPLACE (reason_text::VARCHAR AS reason_text, "
                "channel_tx_id_last::VARCHAR AS channel_tx_id_last) FROM hand")
    got = con.execute(f"SELECT kind, reason, {reason_sql('zh')} FROM (SELECT *, {REASON_SQL} AS reason FROM o)"
                      ).fetchall()
    assert [e for _, e, _ in got] == [e for e, in con.execute(f"SELECT {REASON_SQL} FROM o").fetchall()]
    for kind, en, zh in got:
        assert en and zh and not english(zh), (kind, en, zh)
        assert facts(zh) == facts(en), (kind, en, zh)
    zh = [z for _, _, z in got]
    assert zh[6] == "渠道 99.99 ≠ 订单 100.00 (-0.01，短款：渠道少收)"
    assert zh[19] == ("渠道记账时间 2026-11-20 11:00:06.5，订单支付时间 2026-11-20 10:00:05.25 (北京时间；+1 小时 0 分 "
                      "1.25 秒)，超过 [match] max_time_gap_minutes (时间不符：订单号被重复使用，或是一笔过期的支付)")
    assert zh[22] == "渠道手续费 19.00 ≠ 按签约费率应收 20.00（费率 0.50%，计费金额 10000.00，封顶 20.00）(-1.00；手续费不符)"
    assert zh[16] == "订单支付方式为 微信支付，实际经 支付宝 支付"
    assert zh[-4].startswith("2 笔渠道收款 (") and zh[-4].endswith("，跨两个渠道；另有 1 笔未成功 (重复支付)")
    assert zh[-3].startswith("2 笔成功的渠道退款合计 200.00") and zh[-3].endswith("；另有 3 笔未成功")
    assert zh[-2].startswith("2 笔成功的渠道收款 (") and zh[-2].endswith("平台没有此订单；另有 1 笔未成功 (渠道单边/平台漏单)")
    assert zh[-1].startswith("2 笔成功的渠道退款 (") and zh[-1].endswith("… 5000000009) 合计 200.00，平台无此退款记录 (退款渠道单边)")
    assert reason_sql("en") == "reason"  # an en report shows the stored reason, as outcomes.csv has it


def _instalment_reasons() -> list[tuple[str, str]]:
    """(kind, reason) of every instalment reason the matcher writes: its golden case plus the cases it names."""
    t0 = dt.datetime(2024, 1, 31, 1, 0, tzinfo=SH)
    d = lambda m, day: dt.datetime(2024, m, day, 9, tzinfo=SH)  # noqa: E731
    orders = [order("A", "wechat_payscore", 30001, 3, t0), order("B", "wechat_payscore", 60000, 6, t0),
              order("C", "alipay_pay_later", 9000, 3, t0), order("D", "wechat_payscore", 900, 5, t0),
              order("F", "wechat_payscore", 300, 3, t0, status="closed"), order("G", "alipay_pay_later", 600, 3, t0),
              order("H", "wechat_payscore", 900, 3, t0), order("J", "huabei", 1000, 5, t0),
              order("N", "wechat_payscore", 900, -3, t0), order("Q", "cash", 900, 3, t0)]
    flows = [flow("A", 1, 3, 10001, d(1, 31), line=2), flow("A", 2, 3, 10000, d(2, 29), line=3),
             flow("A", 4, 3, 10000, d(3, 31), line=4), flow("B", 1, 6, 10000, d(1, 31), line=5),
             flow("B", 2, 6, 9999, d(2, 29), line=6),
             flow("C", 1, 6, 1500, d(1, 31), line=7, channel="alipay_pay_later"),
             flow("D", 1, 5, 180, d(1, 31), line=8), flow("F", 1, 3, 100, d(1, 31), line=9),
             flow("G", 1, 3, 200, d(1, 31), line=10, channel="alipay_pay_later", status="failed"),
             flow("G", 2, 3, 200, d(2, 29), line=11, channel="alipay_pay_later"),
             flow("G", 2, 3, 200, d(2, 29), line=12, channel="alipay_pay_later"),
             flow("G", 3, 3, 200, d(3, 30), line=13, channel="alipay_pay_later", status="failed"),
             flow("G", 3, 3, 200, d(3, 31), line=14, channel="alipay_pay_later"),
             flow("B", 3, 6, 10000, d(3, 30), line=15, status="closed"),
             flow("B", 3, 6, 10000, d(3, 31), line=16, status="failed"),
             flow("H", 1, 3, 300, d(1, 31), line=17, channel="alipay_pay_later"),
             flow("Z", 1, 3, 500, d(2, 1), line=18)]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    out = rows(match_instalments(duck(con, "orders", orders_table(orders)), duck(con, "flows", flows_table(flows)),
                                 DEFAULT_CONFIG, dt.date(2024, 3, 31)))
    # under key_scope: a flow naming another merchant number, and one naming none where two have the order
    scoped = [dict(order("K1", "wechat_payscore", 30000, 3, t0), merchant_id="M1"),
              dict(order("K1", "wechat_payscore", 60000, 3, t0), merchant_id="M2")]
    kflows = flows_table([flow("K1", 1, 3, 10000, t0, line=2), flow("K1", 1, 3, 10000, t0, line=3)])
    kflows = kflows.set_column(kflows.schema.get_field_index("merchant_id"), "merchant_id", pa.array(["M9", None]))
    out += rows(match_instalments(duck(con, "orders", orders_table(scoped)), duck(con, "flows", kflows),
                                  DEFAULT_CONFIG, dt.date(2024, 3, 31), key_scope=("merchant_id",)))
    # refunded orders: R1 and R3 refunded on Feb 10 (R1's period 2 deducted after it, its period 3 never came; R3's
    # period 2 failed after it), R2 no refund dates (period 2 failed, period 3 never came)
    refunded = [order(o, "wechat_payscore", 30000, 3, t0, status="refunded") for o in ("R1", "R2", "R3")]
    rflows = [flow("R1", 1, 3, 10000, t0, line=2), flow("R1", 2, 3, 10000, d(2, 29), line=3),
              flow("R2", 1, 3, 10000, t0, line=4), flow("R2", 2, 3, 10000, d(2, 29), line=5, status="failed"),
              flow("R3", 1, 3, 10000, t0, line=6), flow("R3", 2, 3, 10000, d(2, 29), line=7, status="failed")]
    at = dt.datetime(2024, 2, 10, 12, tzinfo=SH)
    refunds = pa.Table.from_pylist(
        [{"merchant_id": "M1", "order_no": o, "created_at": at, "end_day": at.date()} for o in ("R1", "R3")],
        schema=pa.schema([("merchant_id", pa.string()), ("order_no", pa.string()),
                          ("created_at", pa.timestamp("us", tz="UTC")), ("end_day", pa.date32())]))
    out += rows(match_instalments(duck(con, "orders", orders_table(refunded)), duck(con, "flows", flows_table(rflows)),
                                  DEFAULT_CONFIG, dt.date(2024, 3, 31), refunds=duck(con, "refunds", refunds)))
    return [(r["kind"], r["reason"]) for r in out]


def test_every_instalment_reason_reads_in_chinese():
    reasons = _instalment_reasons()
    # every wording the matcher has, each read by its own pattern (a pattern nothing matches is a wording gone)
    for pattern, _ in (*INSTALMENT_REASON_ZH, *BAD_TERM_ZH):
        assert any(re.search(pattern, r) for _, r in reasons), pattern
    with Workspace(None) as w:  # stored as a run stores them, read as a report reads them
        w.con.executemany("INSERT INTO outcomes (outcome_id, kind, reason) VALUES (?, ?, ?)",
                          [(str(i), k, r) for i, (k, r) in enumerate(reasons)])
        got = w.con.execute(f"SELECT kind, reason, {reason_sql('zh')} FROM outcomes ORDER BY outcome_id::INT"
                            ).fetchall()
    for kind, en, zh in got:
        assert zh and not english(zh), (kind, en, zh)
        assert facts(zh) == facts(en), (kind, en, zh)
    zh = {en: z for _, en, z in got}
    assert zh["period 2: channel 99.99 ≠ plan 100.00 (-0.01)"] == "第 2 期：渠道 99.99 ≠ 计划 100.00 (-0.01)"
    assert zh["period 1 came through alipay_pay_later, the order's channel is wechat_payscore (渠道不符)"] == \
        "第 1 期经 支付宝周期扣款 扣款，订单的渠道是 微信支付分 (渠道不符)"
