"""Anomaly rules flag exactly the planted cases, with thresholds from the config model."""

from __future__ import annotations

import csv
import datetime as dt
import statistics

import openpyxl
import pyarrow as pa
import pytest

from paymatch.config import AnomalyRules
from paymatch.reports.anomalies import build_anomalies
from paymatch.schema import TRANSACTION_ARROW
from paymatch.workspace import Workspace

TZ8 = dt.timezone(dt.timedelta(hours=8))


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ8)


@pytest.fixture()
def board():
    orders, txs = [], []
    n = 0

    def pay(store, member, amount, when, order=None, status="success", channel="wechat"):
        nonlocal n
        n += 1
        if order is None:  # a new order; a retry reuses it (the workspace holds one row per order_no)
            order = f"O{n}"
            orders.append((order, store, f"M-{store}", "wechat", amount, "paid", when, when, member, "regular", 0))
        txs.append((channel, f"M-{store}", f"T{n}", order, "payment", None, None, amount, amount // 100, None, status,
                    when, None, None))
        return order

    def refund(order, amount, when):
        nonlocal n
        n += 1
        txs.append(("wechat", "M-x", f"T{n}", order, "refund", f"RF{n}", f"CR{n}", amount, 0, None, "success",
                    when, None, None))

    # ordinary daytime traffic: 3 days × 40 payments in S1 and S2, 1 night payment a day in S1
    for d in (1, 2, 3):
        for i in range(40):
            for s in ("S1", "S2"):
                pay(s, f"U{s}{i}", 1000 + i * 10, _at(d, 9 + i % 10, i))
        pay("S1", "UN", 1000, _at(d, 2))
    big = pay("S2", "UB", 600_000, _at(2, 12))  # ≥ the default large_amount_fen
    for i in range(8):  # night spike in S1 on day 4: 8 vs usual 1
        pay("S1", f"UX{i}", 1000, _at(4, 3, i))
    rep_order = pay("S1", "UR", 1200, _at(1, 10))
    for _ in range(2):  # two more failed attempts on the same order → 3 payment rows
        pay("S1", "UR", 1200, _at(1, 10, 1), order=rep_order, status="failed")
    over = pay("S2", "UO", 3000, _at(2, 11))
    refund(over, 2000, _at(2, 12))
    refund(over, 1500, _at(2, 13))  # 3500 refunded > 3000 paid
    freq = [pay("S2", "UF", 1000, _at(3, 9, i)) for i in range(3)]
    for i, o in enumerate(freq):  # 3 refunds within 24 h for member UF
        refund(o, 500, _at(3, 15, i))
    ocols = ["order_no", "store_id", "merchant_id", "channel", "amount_fen", "status", "created_at", "paid_at",
             "member_id", "member_level", "instalments"]
    tcols = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id",
             "amount_fen", "fee_fen", "settle_amount_fen", "status", "occurred_at", "bill_date", "method"]
    o_arrow = pa.Table.from_pylist([dict(zip(ocols, r)) for r in orders])  # noqa: F841 - read by DuckDB by name
    t_arrow = pa.Table.from_pylist([dict(zip(tcols, r)) for r in txs],  # noqa: F841
                                   pa.schema([(c, TRANSACTION_ARROW.field(c).type) for c in tcols]))
    with Workspace(None) as w:
        w.con.execute(f"INSERT INTO orders ({', '.join(ocols)}) SELECT * FROM o_arrow")
        w.con.execute(f"INSERT INTO transactions ({', '.join(tcols)}) SELECT * FROM t_arrow")
        yield w, {"big": big, "repeat": rep_order, "over": over}


def _flags(w, lang="en", **rules):
    rep = build_anomalies(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 4), rules=AnomalyRules(**rules), lang=lang)
    rows = rep.table("anomalies").arrow().to_pylist()
    by_rule: dict = {}
    for r in rows:
        by_rule.setdefault(r["rule"], []).append(r)
    counts = {c.key: c.count for c in rep.control_totals}
    assert counts == {k: len(by_rule.get(k, [])) for k in counts}
    return by_rule


def test_each_rule_flags_the_planted_case(board):
    w, planted = board
    f = _flags(w)
    assert [r["order_no"] for r in f["large_amount"]] == [planted["big"]]
    assert [r["order_no"] for r in f["repeated_attempts"]] == [planted["repeat"]]
    assert f["repeated_attempts"][0]["count"] == 3
    assert [r["order_no"] for r in f["refund_exceeds_payment"]] == [planted["over"]]
    assert [(r["member_id"], r["count"]) for r in f["frequent_refunds"]] == [("UF", 3)]
    assert [(r["store_id"], r["occurred_at"].date(), r["count"], r["count_threshold"]) for r in f["night_spike"]] == \
        [("S1", dt.date(2026, 11, 4), 8, 5)]


def test_json_times_carry_their_offset(board, tmp_path):
    """The board's times are Shanghai wall times; JSON names the offset (an integrator read them as UTC)."""
    import json

    from paymatch.reports.render import report_to_json

    w, planted = board
    rep = build_anomalies(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 4), rules=AnomalyRules())
    doc = json.loads(report_to_json(rep, tmp_path / "a.json").read_text(encoding="utf-8"))
    rows = next(t["rows"] for t in doc["tables"] if t["name"] == "anomalies")
    big = [r for r in rows if r["rule"] == "large_amount"]
    assert [r["occurred_at"] for r in big] == ["2026-11-02T12:00:00+08:00"]
    assert dt.datetime.fromisoformat(big[0]["occurred_at"]) == _at(2, 12)


def test_thresholds_come_from_config(board):
    w, planted = board
    f = _flags(w, large_amount_fen=10**9, large_zscore=1000, refund_count_threshold=4, repeat_attempts_threshold=4,
               per_store_large_amount_fen={"S1": 1390})
    assert {r["store_id"] for r in f["large_amount"]} == {"S1"}  # only the per-store threshold fires
    assert all(r["amount_fen"] >= 1390 for r in f["large_amount"])
    assert "frequent_refunds" not in f and "repeated_attempts" not in f
    f = _flags(w, night_start_hour=22, night_end_hour=23)
    assert "night_spike" not in f


def test_zscore_threshold_is_an_amount(board):
    """A payment flagged by its z-score carries the least amount the rule flags in its store (mean + z × sd, in fen)."""
    w, planted = board
    f = _flags(w, large_amount_fen=10**9)
    [big] = [r for r in f["large_amount"] if r["order_no"] == planted["big"]]
    amounts = [a for (a,) in w.con.execute("SELECT t.amount_fen FROM transactions t JOIN orders o USING (order_no) "
                                           "WHERE o.store_id = 'S2' AND t.type = 'payment'").fetchall()]
    least = statistics.mean(amounts) + 4 * statistics.pstdev(amounts)
    assert big["detail"].startswith("z-score") and big["threshold_fen"] - 1 < least < big["threshold_fen"]
    assert all(r["amount_fen"] >= r["threshold_fen"] for r in f["large_amount"])


def test_store_refund_window_when_configured(board):
    w, _ = board

    class Rules(AnomalyRules):
        """The config model plus the key this rule reads (proposed for config.AnomalyRules)."""

        store_refund_count_threshold: int | None = None

    rep = build_anomalies(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 4),
                          rules=Rules(store_refund_count_threshold=5, refund_count_window_hours=48), lang="en")
    got = sorted((r["detail"], r["count"]) for r in rep.table("anomalies").arrow().to_pylist()
                 if r["rule"] == "frequent_refunds")
    # member UF: 3 refunds; store S2: UO's 2 and UF's 3 fall in one 48 h window
    assert got == [("3 refunds within 48 h for member UF", 3), ("5 refunds within 48 h for store S2", 5)]


def test_a_zh_board_explains_each_anomaly_in_chinese(board, tmp_path):
    """说明 of a zh board was English ("3 refunds within 48 h for member UF"); the en board keeps its words, and both
    name the same facts (counts, amounts to the fen, the window)."""
    from paymatch.reports.render import write_csv_dir

    w, planted = board

    class Rules(AnomalyRules):
        store_refund_count_threshold: int | None = None

    def details(lang, **rules):
        rep = build_anomalies(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 4), lang=lang,
                              rules=Rules(store_refund_count_threshold=5, refund_count_window_hours=48, **rules))
        return rep, sorted((r["rule"], r["order_no"] or r["store_id"], r["detail"])
                           for r in rep.table("anomalies").arrow().to_pylist())

    rep, zh = details("zh")
    write_csv_dir(rep, tmp_path / "a", lang="zh")  # (before the next board: the rows are read when written)
    _, en = details("en")
    assert [k[:2] for k in zh] == [k[:2] for k in en] and len(zh) == 6
    zh_by, en_by = {(r, o): d for r, o, d in zh}, {(r, o): d for r, o, d in en}
    assert zh_by[("large_amount", planted["big"])] == "金额 ≥ 阈值"
    assert zh_by[("repeated_attempts", planted["repeat"])] == "同一订单 3 笔支付记录"
    assert zh_by[("refund_exceeds_payment", planted["over"])] == "退款 35.00 > 支付 30.00"
    assert en_by[("refund_exceeds_payment", planted["over"])] == "refunds 35.00 > payments 30.00"
    assert sorted(d for r, _, d in zh if r == "frequent_refunds") == \
        ["会员 UF 在 48 小时内退款 3 笔", "门店 S2 在 48 小时内退款 5 笔"]
    assert zh_by[("night_spike", "S1")] == "夜间支付 8 笔，平时 1.0 笔"
    # a z-score in Chinese, the same number as the English
    _, zz = details("zh", large_amount_fen=10**9)
    _, ze = details("en", large_amount_fen=10**9)
    [z_zh] = [d for r, o, d in zz if (r, o) == ("large_amount", planted["big"])]
    [z_en] = [d for r, o, d in ze if (r, o) == ("large_amount", planted["big"])]
    assert z_zh == f"高于门店均值 {z_en.split()[1]} 个标准差" and z_en.startswith("z-score ")
    # the CSV a clerk opens says it
    with open(tmp_path / "a" / "anomalies.csv", encoding="utf-8-sig", newline="") as fh:
        shown = {r["说明"] for r in csv.DictReader(fh)}
    assert shown == {d for _, _, d in zh}


ORDERS = "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
BILL = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
        "occurred_at,bill_date,method\n")


def _workspace(tmp_path, orders: str, bill: str, key_scope: tuple[str, ...] = ()) -> Workspace:
    (tmp_path / "orders.csv").write_text(ORDERS + orders, encoding="utf-8")
    (tmp_path / "tx.csv").write_text(BILL + bill, encoding="utf-8")
    ws = Workspace(tmp_path / "w.duckdb")
    ws.ingest_csv("orders", tmp_path / "orders.csv", key_scope=key_scope)
    ws.ingest_csv("transactions", tmp_path / "tx.csv", key_scope=key_scope)
    return ws


def test_a_record_listed_twice_counts_once(tmp_path):
    """A refund successful on two days' bills and a payment listed twice in one bill are one refund and one
    payment each (reconciliation: duplicate_record; fund flow counts them once): no over-refund, no second
    large payment, no repeated attempt, no frequent refunds."""
    ws = _workspace(tmp_path, (
        "A1,S1,M1,wechat,100.00,refunded,2026-11-30T10:00:00+08:00,2026-11-30T10:00:10+08:00,U1,gold,0\n"
        "A2,S1,M1,wechat,25.00,paid,2026-11-30T11:00:00+08:00,2026-11-30T11:00:10+08:00,U2,gold,0\n"), (
        "wechat,M1,T1,A1,payment,,,100.00,0.60,,success,2026-11-30T10:00:15+08:00,2026-11-30,\n"
        "wechat,M1,RF1,A1,refund,RA1,RF1,100.00,-0.60,,success,2026-11-30T12:00:05+08:00,2026-11-30,\n"
        "wechat,M1,RF1,A1,refund,RA1,RF1,100.00,-0.60,,success,2026-11-30T12:00:05+08:00,2026-12-01,\n"
        "wechat,M1,T2,A2,payment,,,25.00,0.15,,success,2026-11-30T11:00:15+08:00,2026-11-30,\n"
        "wechat,M1,T2,A2,payment,,,25.00,0.15,,success,2026-11-30T11:00:15+08:00,2026-11-30,\n"))
    with ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall() == [(5,)]  # every copy stored
        rep = build_anomalies(ws.con, dt.date(2026, 11, 30), dt.date(2026, 12, 1), rules=AnomalyRules(
            large_amount_fen=2000, repeat_attempts_threshold=2, refund_count_threshold=2))
        got = sorted((r["rule"], r["order_no"], r["amount_fen"]) for r in rep.table("anomalies").arrow().to_pylist())
    assert got == [("large_amount", "A1", 10000), ("large_amount", "A2", 2500)]


def test_orders_keyed_per_merchant_number(tmp_path):
    """Under match.key_scope = ['merchant_id'] order A1 of M1 and order A1 of M2 are two orders: one payment each is
    no repeated attempt, and M1's refunds (150.00) exceed M1's payment (100.00) whatever M2 was paid."""
    ws = _workspace(tmp_path, (
        "A1,S1,M1,wechat,100.00,refunded,2026-11-30T10:00:00+08:00,2026-11-30T10:00:10+08:00,U1,gold,0\n"
        "A1,S2,M2,wechat,100.00,paid,2026-11-30T10:30:00+08:00,2026-11-30T10:30:10+08:00,U2,gold,0\n"), (
        "wechat,M1,T1,A1,payment,,,100.00,0.60,,success,2026-11-30T10:00:15+08:00,2026-11-30,\n"
        "wechat,M2,T2,A1,payment,,,100.00,0.60,,success,2026-11-30T10:30:15+08:00,2026-11-30,\n"
        "wechat,M1,RF1,A1,refund,RA1,RF1,100.00,-0.60,,success,2026-11-30T12:00:05+08:00,2026-11-30,\n"
        "wechat,M1,RF2,A1,refund,RA2,RF2,50.00,-0.30,,success,2026-11-30T12:30:05+08:00,2026-11-30,\n"),
        key_scope=("merchant_id",))
    day = dt.date(2026, 11, 30)
    with ws:
        rep = build_anomalies(ws.con, day, day, rules=AnomalyRules(repeat_attempts_threshold=2),
                              key_scope=["merchant_id"])
        got = [(r["rule"], r["merchant_id"], r["store_id"], r["order_no"], r["amount_fen"])
               for r in rep.table("anomalies").arrow().to_pylist()]
    assert got == [("refund_exceeds_payment", "M1", "S1", "A1", 15000)]


def test_money_in_yuan_counts_as_counts(tmp_path):
    """Through the CLI: an amount threshold shows in yuan (5,000.00, not 500,000.00 fen as yuan), a count as a
    count, and the detail text names yuan."""
    from typer.testing import CliRunner

    from paymatch.cli_report import report_app

    ws = _workspace(tmp_path, (
        "B1,S1,M1,wechat,6000.00,paid,2026-11-30T09:00:00+08:00,2026-11-30T09:00:10+08:00,U1,gold,0\n"
        "A1,S1,M1,wechat,100.00,refunded,2026-11-30T10:00:00+08:00,2026-11-30T10:00:10+08:00,U2,gold,0\n"), (
        "wechat,M1,T0,B1,payment,,,6000.00,36.00,,success,2026-11-30T09:00:15+08:00,2026-11-30,\n"
        "wechat,M1,T1,A1,payment,,,100.00,0.60,,failed,2026-11-30T09:59:00+08:00,2026-11-30,\n"
        "wechat,M1,T2,A1,payment,,,100.00,0.60,,success,2026-11-30T10:00:15+08:00,2026-11-30,\n"
        "wechat,M1,RF1,A1,refund,RA1,RF1,100.00,-0.60,,success,2026-11-30T12:00:05+08:00,2026-11-30,\n"
        "wechat,M1,RF2,A1,refund,RA2,RF2,50.00,-0.30,,success,2026-11-30T12:30:05+08:00,2026-11-30,\n"))
    ws.close()
    (tmp_path / "rules.toml").write_text("[anomalies]\nlarge_amount_fen = 500000\nrepeat_attempts_threshold = 2\n")
    res = CliRunner().invoke(report_app, [
        "anomalies", "--workspace", str(tmp_path / "w.duckdb"), "--config", str(tmp_path / "rules.toml"),
        "--from", "2026-11-30", "--to", "2026-11-30", "--lang", "en", "--excel", str(tmp_path / "a.xlsx"),
        "--csv", str(tmp_path / "csv")])
    assert res.exit_code == 0, res.output
    sheet = openpyxl.load_workbook(tmp_path / "a.xlsx")["Anomalies"]
    head = [c.value for c in sheet[1]]
    cells = {r[0].value: dict(zip(head, r)) for r in sheet.iter_rows(min_row=2)}
    assert set(cells) == {"large_amount", "refund_exceeds_payment", "repeated_attempts"}
    big, over, rep = cells["large_amount"], cells["refund_exceeds_payment"], cells["repeated_attempts"]
    assert (big["Amount"].value, big["Amount threshold"].value) == (6000, 5000)
    assert big["Amount threshold"].number_format == "#,##0.00" and big["Count"].value is None
    assert (over["Amount"].value, over["Amount threshold"].value) == (150, 100)
    assert over["Detail"].value == "refunds 150.00 > payments 100.00"
    assert (rep["Count"].value, rep["Count threshold"].value, rep["Amount threshold"].value) == (2, 2, None)
    assert rep["Count"].number_format == "#,##0"
    with open(tmp_path / "csv" / "anomalies.csv", encoding="utf-8-sig") as f:
        rows = {r["Rule"]: r for r in csv.DictReader(f)}
    assert (rows["large_amount"]["Amount threshold"], rows["repeated_attempts"]["Count"]) == ("5000.00", "2")


def test_a_record_no_order_names_is_the_store_its_merchant_number_maps_to(tmp_path):
    """Config ``[stores]``: a channel record no order names is that store's, as fund flow and reconciliation read it,
    so its store's board (and z-score) has it; only a number no entry maps is (unknown) (audit round 11: both were
    (unknown), and S9's manager never saw a 6,000-yuan payment on S9's own merchant number)."""
    import json

    from typer.testing import CliRunner

    from paymatch.cli import app

    (tmp_path / "o.csv").write_text("order_no,store_id,merchant_id,channel,amount,status,paid_at\n"
                                    "A1,S9,M9,wechat,10.00,paid,2026-11-02 10:00:00\n", encoding="utf-8")
    (tmp_path / "t.csv").write_text(
        "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,status,occurred_at\n"
        "wechat,M9,T1,A1,payment,,,10.00,0,success,2026-11-02 10:00:05\n"
        "wechat,M9,T2,,payment,,,6000.00,0,success,2026-11-02 12:00:00\n"     # no order: [stores] says S9
        "wechat,M7,T3,,payment,,,6000.01,0,success,2026-11-02 12:05:00\n",    # no order, no entry: (unknown)
        encoding="utf-8")
    (tmp_path / "rules.toml").write_text('[stores]\n"M9" = "S9"\n', encoding="utf-8")
    w, cfg = str(tmp_path / "w.duckdb"), ["--config", str(tmp_path / "rules.toml")]
    runs = [["ingest", "--workspace", w, "--orders", str(tmp_path / "o.csv"), "--transactions", str(tmp_path / "t.csv"),
             *cfg]]
    for name, store in (("chain", []), ("s9", ["--store", "S9"])):
        runs.append(["report", "anomalies", "--workspace", w, "--from", "2026-11-02", "--to", "2026-11-02",
                     "--lang", "en", "--json", str(tmp_path / f"{name}.json"), *store, *cfg])
    for args in runs:
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 0, r.output

    def large(name):
        doc = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        rows = next(t["rows"] for t in doc["tables"] if t["name"] == "anomalies")
        return sorted((r["channel_tx_id"], r["store_id"]) for r in rows if r["rule"] == "large_amount")

    assert large("chain") == [("T2", "S9"), ("T3", "(unknown)")]
    assert large("s9") == [("T2", "S9")]


def test_rows_come_in_one_order_whatever_ties(board):
    # a member's and its store's frequent-refund rows of the same refund tie on rule, store, time, order and record:
    # the board orders by every column, so one report gives the same rows in the same order every time
    from paymatch.reports.anomalies import ANOMALY_ORDER

    w, _ = board
    rep = build_anomalies(w.con, dt.date(2026, 11, 1), dt.date(2026, 11, 4), lang="en",
                          rules=AnomalyRules(store_refund_count_threshold=3))
    rows = rep.table("anomalies").arrow().to_pylist()
    refunds = [r for r in rows if r["rule"] == "frequent_refunds"]
    # the member's row and the store's: the same refund (the worst window's last), only the detail differs
    assert [r["detail"] for r in refunds] == ["3 refunds within 24 h for member UF", "3 refunds within 24 h for store S2"]
    assert len({tuple(v for k, v in r.items() if k != "detail") for r in refunds}) == 1

    def key(r):
        return tuple((r[c] is None, r[c]) for c in ANOMALY_ORDER.replace(" ", "").split(","))

    assert rows == sorted(rows, key=key)
