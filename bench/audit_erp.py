"""Audit of paymatch's ERP/mall export mapping, as a finance engineer integrating a shop's ERP would.

The spec is README.md ("Using it", "ERP exports (column mapping)", "Bad input", canonical columns, the
outcome table) and config.example.toml. Nothing here reads src/.

It builds small exports of orders and refunds the way Chinese mall / POS backends write them (GBK and
UTF-8-with-BOM CSV with title lines, .xlsx with a title row, number-typed amounts, datetime cells and text
order numbers, TSV, a named sheet, full-width / blank / case-varied header names, built-in and configured
Chinese words, amounts like ￥1,234.50 / 12.3 / 12 / 0.00, several time layouts, extra columns with commas and
quotes), pairs each with canonical channel transactions whose expected outcome is known, and checks:

  files      reconcile --config --orders --refunds --transactions --out: kinds, fen amounts, difference sign
             (channel - order), summary.json control totals and conservation
  workspace  ingest + reconcile --workspace --date: same kinds; the same file twice changes nothing; a
             corrected mapping loads it again; a later export replaces an order; provenance (src_file,
             src_line), extra columns and parsed times as stored
  refusals   unknown status, unmapped Chinese method, missing configured column, bad amounts, duplicate
             order/refund numbers, .xls, empty file, UTF-16, 2.02611E+17, bad time, ragged row, open quote,
             several problems at once: exit 2, `file:line [column]: what (value)`, no traceback, nothing
             written, nothing stored
  canonical  a canonical CSV given while a mapping is configured (read as canonical, its amounts plain yuan);
             an .xlsx with the canonical header and no config; a canonical file's problems all listed
  probes     integer id cells and float-artefact amount cells in .xlsx, a multi-line remark, time layouts one
             by one, a GBK file whose first Chinese byte is past 64 KiB, a word overriding a built-in one, an
             unmapped Latin method, a 合计 line, refunds naming their merchant under key_scope (not-promised
             behaviour is printed as "info", not counted)
  big        ~200,000-row GBK export and .xlsx: it finishes, every order matched, timings vs canonical CSV

    .venv/bin/python bench/audit_erp.py --out DIR [--only files,workspace,refusals,canonical,probes,big]
                                        [--big-rows 200000] [--no-big-xlsx]

Exit 0 when every check agrees, 1 otherwise; every disagreement is printed with what was expected and what
happened (the exact output of paymatch for refusals). DIR/report.json holds the checks and the timings.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYMATCH = str(ROOT / ".venv" / "bin" / "paymatch")
TZ = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
DAY = "2026-11-20"
M1 = "1900000109"
M2 = "1900000110"
TABLES = ["batches", "orders", "refunds", "transactions", "fund_flows", "quarantine"]


# --------------------------------------------------------------------------------------------- checks
class Audit:
    def __init__(self):
        self.good: list[str] = []
        self.bad_: list[str] = []
        self.timings: dict[str, dict] = {}
        self.infos: list[str] = []
        self.section = ""

    def info(self, msg: str):
        """Not a README promise: what a finance user would try, reported, not counted."""
        self.infos.append(f"[{self.section}] {msg}")
        print(f"  info: {msg}")

    def ok(self, msg: str, quiet: bool = False):
        self.good.append(f"[{self.section}] {msg}")
        if not quiet:
            print(f"  ok: {msg}")

    def bad(self, msg: str):
        self.bad_.append(f"[{self.section}] {msg}")
        print(f"  DISAGREE: {msg}")

    def check(self, cond: bool, msg: str, detail: str = "", quiet: bool = False) -> bool:
        if cond:
            self.ok(msg, quiet)
        else:
            self.bad(msg + (f" -- {detail}" if detail else ""))
        return cond

    def start(self, name: str):
        self.section = name
        print(f"\n== {name}")


A = Audit()


@dataclass
class Run:
    rc: int
    out: str
    secs: float
    rss_mb: float
    cmd: list


def run(args: list, *, env_extra: dict | None = None, timeout: float = 3600, cwd: str | None = None) -> Run:
    """Run paymatch; combined stdout+stderr; wall time and the child's own peak RSS (wait4)."""
    cmd = [PAYMATCH, *map(str, args)]
    env = dict(os.environ, COLUMNS="400", NO_COLOR="1", TERM="dumb")
    env.update(env_extra or {})
    with tempfile.TemporaryFile() as fh:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fh.seek(0)
        out = fh.read().decode("utf-8", "replace")
    return Run(p.returncode, out, secs, ru.ru_maxrss / 1024, cmd)


def short(out: str, n: int = 1500) -> str:
    out = out.strip()
    return out if len(out) <= n else out[:n] + " …"


def errmsg(out: str) -> str:
    """paymatch's output without its timed progress lines ("[17:40:41]    0.0s loading …")."""
    return "\n".join(ln.rstrip() for ln in out.splitlines()
                     if not re.match(r"^\s*(\[\d\d:\d\d:\d\d\])?\s+\d+\.\ds ", ln)).strip()


# --------------------------------------------------------------------------------------------- model
@dataclass
class Order:
    no: str
    store: str
    merchant: str
    method: str            # canonical
    method_word: str       # as the export writes it
    fen: int
    status: str            # canonical
    status_word: str
    created: dt.datetime
    paid: dt.datetime | None
    afmt: str = "plain"
    tfmt: str = "dash_sec"
    goods: str = ""
    note: str = ""
    member: str = ""


@dataclass
class Refund:
    no: str
    order_no: str
    fen: int
    created: dt.datetime
    status: str
    status_word: str
    tfmt: str = "dash_sec"
    reason: str = ""


@dataclass
class Scenario:
    name: str
    orders: list[Order] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    txs: list[dict] = field(default_factory=list)
    expected: dict[str, dict] = field(default_factory=dict)   # outcome_id -> kind, order, channel, diff
    dup_records: list[str] = field(default_factory=list)      # channel_tx_ids expected as duplicate_record
    probes: set[str] = field(default_factory=set)             # outcome ids whose kind the README only names


SETTLE = {"wechat": "wechat", "alipay": "alipay", "huabei": "alipay", "unionpay": "unionpay",
          "baitiao": "jd_baitiao"}
TFMTS = ["slash_min", "dash_sec", "iso_local", "iso_utc", "slash_sec"]
GOODS = ["可口可乐 330ml×2, 薯片", "农夫山泉，550ml", '乐事"原味"薯片', "面包", "牛奶 1L, 鸡蛋 10枚"]
NOTES = ['顾客说"不要袋子",谢谢', "", "加急, 送到前台", "收货人：王喆/李堃（GBK 扩展字）", '备注含"引号"和,逗号']


def yuan(fen: int) -> str:
    s = "-" if fen < 0 else ""
    y, f = divmod(abs(fen), 100)
    return f"{s}{y}.{f:02d}"


def fmt_amount(fen: int, style: str, enc: str = "utf-8") -> str:
    y, f = divmod(abs(fen), 100)
    sign = "-" if fen < 0 else ""
    plain = f"{sign}{y}.{f:02d}"
    if style == "thousands":
        return f"{sign}{y:,}.{f:02d}"
    if style == "yen_fw":
        return f"￥{sign}{y:,}.{f:02d}"
    if style == "yen_hw":
        return ("¥" if enc != "gbk" else "￥") + plain
    if style == "one_dec" and f % 10 == 0:
        return f"{sign}{y}.{f // 10}"
    if style == "int" and f == 0:
        return f"{sign}{y}"
    if style == "yuan":
        return plain + "元"
    if style == "spaces":
        return "\u3000" + plain + ("\u00a0" if enc != "gbk" else " ")
    return plain


def fmt_time(t: dt.datetime | None, style: str) -> str:
    if t is None:
        return ""
    if style == "slash_min":
        assert t.second == 0
        return t.strftime("%Y/%m/%d %H:%M")
    if style == "dash_sec":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if style == "iso_local":
        return t.isoformat()
    if style == "iso_utc":
        return t.astimezone(UTC).isoformat()
    if style == "slash_sec":
        return t.strftime("%Y/%m/%d %H:%M:%S")
    raise ValueError(style)


def build(name: str, idgen, refgen=None) -> Scenario:
    """One day's orders/refunds/transactions with every outcome the README's table names that a file run
    can produce, and what each must become."""
    S = Scenario(name)
    refgen = refgen or (lambda no: "TK" + no[-8:])
    t0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    ntx = [0]

    def order(mw, m, sw, s, fen, *, paid=True, merchant=M1, afmt="plain", at=None, tfmt=None):
        i = len(S.orders)
        tf = tfmt or TFMTS[i % len(TFMTS)]
        base = at or (t0 + dt.timedelta(minutes=11 * i, seconds=0 if tf == "slash_min" else (7 * i) % 60))
        o = Order(no=idgen(i), store=f"S{(i % 3) + 1:03d}", merchant=merchant, method=m, method_word=mw,
                  fen=fen, status=s, status_word=sw, created=base - dt.timedelta(minutes=1),
                  paid=base if paid else None, afmt=afmt, tfmt=tf, goods=GOODS[i % len(GOODS)],
                  note=NOTES[i % len(NOTES)], member=f"U{i:05d}")
        S.orders.append(o)
        return o

    def tx(o_no, channel, fen, *, merchant=M1, at, typ="payment", refund_no="", status="success", tx_id=None):
        ntx[0] += 1
        fee = (abs(fen) * 6 + 500) // 1000 if typ == "payment" else 0
        row = dict(channel=channel, merchant_id=merchant, channel_tx_id=tx_id or f"42000{name}{ntx[0]:06d}",
                   order_no=o_no, type=typ, refund_no=refund_no,
                   channel_refund_id=(f"50300{name}{ntx[0]:06d}" if typ == "refund" else ""),
                   amount=yuan(fen), fee=yuan(fee), settle_amount=yuan(fen - fee if typ == "payment" else -fen),
                   status=status, occurred_at=at.isoformat(), bill_date=DAY, method="")
        S.txs.append(row)
        return row

    def pay(o, *, channel=None, fen=None, merchant=None, at=None):
        return tx(o.no, channel or SETTLE[o.method], o.fen if fen is None else fen, merchant=merchant or o.merchant,
                  at=at or ((o.paid or o.created) + dt.timedelta(minutes=2)))

    def expect(oid, kind, order=..., channel=..., diff=..., probe=False):
        e = {"kind": kind}
        if order is not ...:
            e["order"] = order
        if channel is not ...:
            e["channel"] = channel
        if diff is not ...:
            e["diff"] = diff
        S.expected[oid] = e
        if probe:
            S.probes.add(oid)

    def refund(o, fen, sw, s, *, channel_fen=None, channel=True, refund_no=None):
        j = len(S.refunds)
        r = Refund(no=refund_no or refgen(o.no), order_no=o.no, fen=fen,
                   created=(o.paid or o.created) + dt.timedelta(hours=1, seconds=0), status=s, status_word=sw,
                   tfmt=TFMTS[j % len(TFMTS)] if TFMTS[j % len(TFMTS)] != "slash_min" else "slash_min",
                   reason=["不想要了", "质量问题, 退货", '商品"破损"'][j % 3])
        if r.tfmt == "slash_min":
            r.created = r.created.replace(second=0)
        S.refunds.append(r)
        if channel:
            tx(o.no, SETTLE[o.method], fen if channel_fen is None else channel_fen, at=r.created + dt.timedelta(minutes=5),
               typ="refund", refund_no=r.no)
        return r

    # matched: every built-in method/status word, configured words, English words in any case, amount layouts
    for mw, m, sw, s, fen, af in [
        ("微信", "wechat", "已支付", "paid", 123450, "yen_fw"),
        ("微信支付", "wechat", "支付成功", "paid", 1230, "one_dec"),
        ("支付宝", "alipay", "已付款", "paid", 1200, "int"),
        ("银联", "unionpay", "已完成", "paid", 8800, "yen_hw"),          # configured status word
        ("云闪付", "unionpay", "交易成功", "paid", 9990, "yuan"),          # configured status word
        ("京东白条", "baitiao", "已支付", "paid", 1230, "spaces"),
        ("白条", "baitiao", "已支付", "paid", 100000, "thousands"),
        ("WeChat", "wechat", "已支付", "paid", 4550, "plain"),
        ("ALIPAY", "alipay", "PAID", "paid", 250, "one_dec"),
        ("微信扫码", "wechat", "已支付", "paid", 3300, "plain"),           # configured method word
        ("花呗", "huabei", "已支付", "paid", 59900, "plain"),              # settles through alipay
        ("wechat", "wechat", "paid", "paid", 777, "plain"),
    ]:
        o = order(mw, m, sw, s, fen, afmt=af)
        pay(o)
        expect(f"P-{o.no}", "matched", o.fen, o.fen, 0)
    # amount mismatch, both signs (difference = channel - order)
    o = order("微信", "wechat", "已支付", "paid", 10000)
    pay(o, fen=9950)
    expect(f"P-{o.no}", "amount_mismatch", 10000, 9950, -50)
    o = order("支付宝", "alipay", "已支付", "paid", 123450, afmt="yen_fw")
    pay(o, fen=123460)
    expect(f"P-{o.no}", "amount_mismatch", 123450, 123460, 10)
    # order only / channel only
    o = order("微信", "wechat", "已支付", "paid", 5600)
    expect(f"P-{o.no}", "order_only", 5600, None)
    ghost = idgen(900)
    pay(Order(ghost, "", M1, "wechat", "", 7700, "paid", "", t0, t0 + dt.timedelta(hours=3)))
    expect(f"P-{ghost}", "channel_only", None, 7700)
    # unpaid / closed without payment
    for sw, s, fen in [("待支付", "unpaid", 3000), ("未支付", "unpaid", 3100), ("交易关闭", "closed", 3200)]:
        o = order("微信", "wechat", sw, s, fen, paid=False)
        expect(f"P-{o.no}", "unpaid", fen)
    # status mismatch: closed but the channel has a successful payment
    for mw, m, sw, fen in [("微信", "wechat", "已关闭", 2000), ("支付宝", "alipay", "已取消", 2100)]:
        o = order(mw, m, sw, "closed", fen, paid=False)
        pay(o)
        expect(f"P-{o.no}", "status_mismatch", fen, fen)
    # internal methods
    for mw, m, fen, af in [("余额", "balance", 5000, "plain"), ("储值", "balance", 5100, "plain"),
                           ("积分", "points", 0, "plain"), ("储值卡", "balance", 5200, "plain")]:
        o = order(mw, m, "已支付", "paid", fen, afmt=af)
        expect(f"P-{o.no}", "internal", fen)
    # channel mismatch, merchant mismatch, duplicate payment, duplicate record, time mismatch
    o = order("支付宝", "alipay", "已支付", "paid", 6000)
    pay(o, channel="wechat")
    expect(f"P-{o.no}", "channel_mismatch", 6000, 6000)
    o = order("微信", "wechat", "已支付", "paid", 6100)
    pay(o, merchant=M2)
    expect(f"P-{o.no}", "merchant_mismatch", 6100, 6100)
    o = order("微信", "wechat", "已支付", "paid", 6600)
    pay(o)
    pay(o, at=o.paid + dt.timedelta(minutes=3))
    expect(f"P-{o.no}", "duplicate_payment", 6600)
    o = order("微信", "wechat", "已支付", "paid", 3300)
    row = pay(o)
    S.txs.append(dict(row))
    S.dup_records.append(row["channel_tx_id"])
    expect(f"P-{o.no}", "matched", 3300, 3300, 0)
    o = order("微信", "wechat", "已支付", "paid", 4400)
    pay(o, at=o.paid + dt.timedelta(hours=3))          # config: max_time_gap_minutes = 60
    expect(f"P-{o.no}", "time_mismatch", 4400, 4400)
    # pending cross day: paid 23:55, no bill record
    o = order("微信", "wechat", "已支付", "paid", 5500, at=dt.datetime(2026, 11, 20, 23, 55, tzinfo=TZ),
              tfmt="slash_min")
    expect(f"P-{o.no}", "pending_cross_day", 5500, None)
    # refunds
    o = order("微信", "wechat", "已退款", "refunded", 4000)
    pay(o)
    expect(f"P-{o.no}", "matched", 4000, 4000, 0)
    r = refund(o, 4000, "退款成功", "success")
    expect(f"R-{r.no}", "refund_matched", 4000, 4000, 0)
    o = order("支付宝", "alipay", "部分退款", "partially_refunded", 5000)
    pay(o)
    expect(f"P-{o.no}", "matched", 5000, 5000, 0)
    r = refund(o, 1000, "已退款", "success")
    expect(f"R-{r.no}", "refund_matched", 1000, 1000, 0)
    o = order("微信", "wechat", "部分退款", "partially_refunded", 8000)
    pay(o)
    expect(f"P-{o.no}", "matched", 8000, 8000, 0)
    r = refund(o, 500, "退款成功", "success", channel_fen=400)
    expect(f"R-{r.no}", "refund_amount_mismatch", 500, 400, -100)
    o = order("微信", "wechat", "部分退款", "partially_refunded", 9000)
    pay(o)
    expect(f"P-{o.no}", "matched", 9000, 9000, 0)
    r = refund(o, 900, "退款成功", "success", channel=False)
    expect(f"R-{r.no}", "refund_order_only", 900, None)
    o = order("微信", "wechat", "部分退款", "partially_refunded", 9100)
    pay(o)
    expect(f"P-{o.no}", "matched", 9100, 9100, 0)
    ghost_r = "TKX" + o.no[-6:]
    tx(o.no, "wechat", 300, at=o.paid + dt.timedelta(hours=2), typ="refund", refund_no=ghost_r)
    expect(f"R-{ghost_r}", "refund_channel_only", None, 300)
    o = order("支付宝", "alipay", "部分退款", "partially_refunded", 9200)
    pay(o)
    expect(f"P-{o.no}", "matched", 9200, 9200, 0)
    r = refund(o, 1200, "已退回", "success")            # configured refund status word
    expect(f"R-{r.no}", "refund_matched", 1200, 1200, 0)
    # the README names refund_pending / refund_failed without defining them: probes
    o = order("微信", "wechat", "部分退款", "partially_refunded", 9300)
    pay(o)
    expect(f"P-{o.no}", "matched", 9300, 9300, 0)
    r = refund(o, 100, "退款中", "processing", channel=False)
    expect(f"R-{r.no}", "refund_pending", 100, probe=True)
    o = order("微信", "wechat", "部分退款", "partially_refunded", 9400)
    pay(o)
    expect(f"P-{o.no}", "matched", 9400, 9400, 0)
    r = refund(o, 100, "退款失败", "failed", channel=False)
    expect(f"R-{r.no}", "refund_failed", 100, probe=True)
    o = order("微信", "wechat", "部分退款", "partially_refunded", 9500)
    pay(o)
    expect(f"P-{o.no}", "matched", 9500, 9500, 0)
    r = refund(o, 200, "处理中", "processing", channel=False)
    expect(f"R-{r.no}", "refund_pending", 200, probe=True)
    return S


# --------------------------------------------------------------------------------------------- writers
ORDER_COLS = {  # canonical -> the ERP's header (V1 names)
    "order_no": "订单编号", "store_id": "门店编码", "merchant_id": "商户号", "channel": "支付方式",
    "amount": "实付金额(元)", "status": "订单状态", "created_at": "下单时间", "paid_at": "支付时间",
}
REFUND_COLS = {"refund_no": "退款单号", "order_no": "订单编号", "amount": "退款金额",
               "created_at": "申请时间", "status": "退款状态"}


def order_cells(o: Order, enc: str) -> dict:
    return {"order_no": o.no, "store_id": o.store, "merchant_id": o.merchant, "channel": o.method_word,
            "amount": fmt_amount(o.fen, o.afmt, enc), "status": o.status_word,
            "created_at": fmt_time(o.created, o.tfmt), "paid_at": fmt_time(o.paid, o.tfmt),
            "商品名称": o.goods, "备注": o.note, "会员编号": o.member}


def refund_cells(r: Refund, enc: str) -> dict:
    return {"refund_no": r.no, "order_no": r.order_no, "amount": fmt_amount(r.fen, "plain", enc),
            "created_at": fmt_time(r.created, r.tfmt), "status": r.status_word, "退款原因": r.reason}


def write_table(path: Path, titles: list[str], header: list[str], rows: list[list[str]], *, enc: str,
                bom: bool = False, delimiter: str = ",", newline: str = "\r\n") -> list[int]:
    """Write title lines, the header and rows; return each row's physical (1-based) line number."""
    buf = io.StringIO()
    for t in titles:
        buf.write(t + newline)
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    lines = []
    for r in rows:
        lines.append(buf.getvalue().count(newline) + 1)
        w.writerow(r)
    data = buf.getvalue().encode(enc)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return lines


def write_orders_csv(S: Scenario, path: Path, *, enc="gbk", bom=False, titles=None, names=None, order=None,
                     delimiter=",", newline="\r\n", extras=("商品名称", "备注", "会员编号")) -> dict[str, int]:
    names = dict(ORDER_COLS, **(names or {}))
    keys = order or [*ORDER_COLS, *extras]
    header = [names.get(k, k) for k in keys]
    rows = []
    for o in S.orders:
        c = order_cells(o, enc)
        rows.append([c[k] for k in keys])
    lines = write_table(path, titles or [], header, rows, enc=enc, bom=bom, delimiter=delimiter, newline=newline)
    return {o.no: ln for o, ln in zip(S.orders, lines)}


def write_refunds_csv(S: Scenario, path: Path, *, enc="gbk", bom=False, titles=None, names=None,
                      delimiter=",", newline="\r\n") -> dict[str, int]:
    names = dict(REFUND_COLS, **(names or {}))
    keys = [*REFUND_COLS, "退款原因"]
    header = [names.get(k, k) for k in keys]
    rows = [[refund_cells(r, enc)[k] for k in keys] for r in S.refunds]
    lines = write_table(path, titles or [], header, rows, enc=enc, bom=bom, delimiter=delimiter, newline=newline)
    return {r.no: ln for r, ln in zip(S.refunds, lines)}


TX_COLS = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id",
           "amount", "fee", "settle_amount", "status", "occurred_at", "bill_date", "method"]
CANON_ORDERS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at",
                "member_id", "member_level", "instalments"]
CANON_REFUNDS = ["refund_no", "order_no", "amount", "created_at", "status"]


def write_tx(S: Scenario, path: Path):
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, TX_COLS)
        w.writeheader()
        w.writerows(S.txs)


def write_canonical(S: Scenario, orders: Path, refunds: Path):
    with orders.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CANON_ORDERS)
        for o in S.orders:
            w.writerow([o.no, o.store, o.merchant, o.method, yuan(o.fen), o.status, o.created.isoformat(),
                        o.paid.isoformat() if o.paid else "", o.member, "", ""])
    with refunds.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CANON_REFUNDS)
        for r in S.refunds:
            w.writerow([r.no, r.order_no, yuan(r.fen), r.created.isoformat(), r.status])


def naive(t: dt.datetime | None):
    return None if t is None else t.astimezone(TZ).replace(tzinfo=None)


def write_orders_xlsx(S: Scenario, path: Path, *, titles=("订单导出",), sheet_name="Sheet1", names=None,
                      front_sheet: str | None = None, amount_cell=None, id_cell=None,
                      merchant_number: bool = False, text_cells: bool = False) -> dict[str, int]:
    """openpyxl: title row(s), header, amounts as numbers, times as datetime cells, order numbers as text
    (merchant numbers as number cells when merchant_number)."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    if front_sheet:
        ws.title = front_sheet
        ws["A1"] = "说明：本文件由商城后台导出"
        ws["A2"] = "订单编号,支付方式"        # a decoy: looks like a header on the wrong sheet
        ws = wb.create_sheet(sheet_name)
    else:
        ws.title = sheet_name
    names = dict(ORDER_COLS, **(names or {}))
    keys = [*ORDER_COLS, "商品名称", "备注"]
    r = 1
    for t in titles:
        ws.cell(row=r, column=1, value=t)
        if r == 1:
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(keys))
        r += 1
    for j, k in enumerate(keys, 1):
        ws.cell(row=r, column=j, value=names.get(k, k))
    rows = {}
    for o in S.orders:
        r += 1
        rows[o.no] = r
        vals = {"order_no": o.no, "store_id": o.store,
                "merchant_id": int(o.merchant) if merchant_number else o.merchant, "channel": o.method_word,
                "amount": (o.fen // 100 if o.fen % 100 == 0 else o.fen / 100), "status": o.status_word,
                "created_at": naive(o.created), "paid_at": naive(o.paid), "商品名称": o.goods, "备注": o.note}
        if text_cells:     # what many ERPs write into .xlsx: every cell a string
            c_ = order_cells(o, "utf-8")
            vals.update(amount=c_["amount"], created_at=c_["created_at"], paid_at=c_["paid_at"])
        if amount_cell:
            vals["amount"] = amount_cell(o, vals["amount"])
        if id_cell:
            vals["order_no"] = id_cell(o, vals["order_no"])
        for j, k in enumerate(keys, 1):
            c = ws.cell(row=r, column=j, value=vals[k])
            if k == "order_no" and isinstance(vals[k], str):
                c.number_format = "@"
                c.data_type = "s"
            elif isinstance(vals[k], dt.datetime):
                c.number_format = "yyyy-mm-dd hh:mm:ss"
            elif k == "amount":
                c.number_format = "#,##0.00"
    wb.save(path)
    return rows


def write_refunds_xlsx(S: Scenario, path: Path, *, titles=("退款导出",)) -> dict[str, int]:
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    keys = [*REFUND_COLS, "退款原因"]
    r = 0
    for t in titles:
        r += 1
        ws.cell(row=r, column=1, value=t)
    r += 1
    for j, k in enumerate(keys, 1):
        ws.cell(row=r, column=j, value=REFUND_COLS.get(k, k))
    rows = {}
    for x in S.refunds:
        r += 1
        rows[x.no] = r
        vals = [x.no, x.order_no, x.fen / 100, naive(x.created), x.status_word, x.reason]
        for j, v in enumerate(vals, 1):
            c = ws.cell(row=r, column=j, value=v)
            if j in (1, 2):
                c.number_format = "@"
            if isinstance(v, dt.datetime):
                c.number_format = "yyyy/mm/dd hh:mm"
    wb.save(path)
    return rows


def write_canonical_xlsx(S: Scenario, path: Path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(CANON_ORDERS)
    for o in S.orders:
        ws.append([o.no, o.store, o.merchant, o.method, o.fen / 100, o.status, naive(o.created), naive(o.paid),
                   o.member, None, None])
    wb.save(path)


# --------------------------------------------------------------------------------------------- config
def toml_str(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_str(x) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


STATUS_MAP = {"已完成": "paid", "交易成功": "paid"}
METHOD_MAP = {"微信扫码": "wechat", "储值卡": "balance"}
REFUND_STATUS_MAP = {"已退回": "success"}


def write_config(path: Path, *, orders: dict | None = None, refunds: dict | None = None,
                 orders_opts: dict | None = None, refunds_opts: dict | None = None,
                 status_map: dict | None = None, method_map: dict | None = None,
                 refund_status_map: dict | None = None, gap: int = 60) -> Path:
    L = ['timezone = "Asia/Shanghai"', "", "[match]", f"max_time_gap_minutes = {gap}", ""]

    def section(kind: str, columns: dict, opts: dict | None, values: dict[str, dict]) -> None:
        L.append(f"[inputs.{kind}]")
        L.extend(f"{k} = {toml_str(v)}" for k, v in (opts or {}).items())
        L.append(f"[inputs.{kind}.columns]")
        L.extend(f"{k} = {toml_str(v)}" for k, v in columns.items())
        for col, words in values.items():
            if words:
                L.append(f"[inputs.{kind}.values.{col}]")
                L.extend(f"{toml_str(k)} = {toml_str(v)}" for k, v in words.items())
        L.append("")

    if orders is not None:
        section("orders", orders, orders_opts,
                {"status": STATUS_MAP if status_map is None else status_map,
                 "channel": METHOD_MAP if method_map is None else method_map})
    if refunds is not None:
        section("refunds", refunds, refunds_opts,
                {"status": REFUND_STATUS_MAP if refund_status_map is None else refund_status_map})
    path.write_text("\n".join(L), encoding="utf-8")
    return path


def yaml_config(path: Path) -> Path:
    """The standard mapping written as YAML (README: config file, TOML or YAML)."""
    q = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731  (a JSON string / list is a YAML flow scalar)
    L = ["timezone: Asia/Shanghai", "match:", "  max_time_gap_minutes: 60", "inputs:", "  orders:", "    columns:"]
    cols = dict(ORDER_COLS, amount=["实付金额(元)", "实收金额"])
    L += [f"      {k}: {q(v)}" for k, v in cols.items()]
    L += ["    values:", "      status:"] + [f"        {q(k)}: {v}" for k, v in STATUS_MAP.items()]
    L += ["      channel:"] + [f"        {q(k)}: {v}" for k, v in METHOD_MAP.items()]
    L += ["  refunds:", "    columns:"] + [f"      {k}: {q(v)}" for k, v in REFUND_COLS.items()]
    L += ["    values:", "      status:"] + [f"        {q(k)}: {v}" for k, v in REFUND_STATUS_MAP.items()]
    path.write_text("\n".join(L) + "\n", encoding="utf-8")
    return path


def std_config(path: Path, **kw) -> Path:
    cols = dict(ORDER_COLS)
    cols["amount"] = ["实付金额(元)", "实收金额"]
    return write_config(path, orders=cols, refunds=dict(REFUND_COLS), **kw)


# --------------------------------------------------------------------------------------------- comparing
def read_outcomes(out: Path) -> list[dict]:
    with (out / "outcomes.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def fen(v: str):
    return None if v in ("", None) else int(v)


def compare(S: Scenario, out: Path, label: str, *, check_totals: bool = True) -> None:
    if not (out / "outcomes.csv").exists():
        A.bad(f"{label}: no outcomes.csv in {out}")
        return
    rows = read_outcomes(out)
    by_id: dict[str, list[dict]] = {}
    for r in rows:
        by_id.setdefault(r["outcome_id"], []).append(r)
    n_ok = 0
    for oid, e in S.expected.items():
        got = by_id.get(oid)
        tag = " (README names this kind without defining it)" if oid in S.probes else ""
        if not got:
            A.bad(f"{label}: {oid}: expected kind {e['kind']}{tag}, got no outcome with that id")
            continue
        if len(got) > 1:
            A.bad(f"{label}: {oid}: expected one outcome, got {len(got)}: {[g['kind'] for g in got]}")
            continue
        g = got[0]
        diffs = []
        if g["kind"] != e["kind"]:
            diffs.append(f"kind {e['kind']!r} expected, got {g['kind']!r} (reason: {g['reason']})")
        for key, col in (("order", "order_amount_fen"), ("channel", "channel_amount_fen"), ("diff", "difference_fen")):
            if key in e and fen(g[col]) != e[key]:
                diffs.append(f"{col} expected {e[key]}, got {g[col]!r}")
        if diffs:
            A.bad(f"{label}: {oid}: " + "; ".join(diffs) + tag)
        else:
            n_ok += 1
            A.ok(f"{label}: {oid} {e['kind']}", quiet=True)
    print(f"  ok: {label}: {n_ok}/{len(S.expected)} expected outcomes agree (kind and fen)")
    # duplicate records: one D- outcome per record listed twice, id as the README gives it
    dups = [r for r in rows if r["kind"] == "duplicate_record"]
    want = {f"D-wechat:{t}:payment:" for t in S.dup_records}
    got_ids = {r["outcome_id"] for r in dups}
    A.check(got_ids == want, f"{label}: duplicate_record outcomes {sorted(want)}",
            f"got {sorted(got_ids)}; channel_tx_ids {[r['channel_tx_id'] for r in dups]}")
    extra = [r for r in rows if r["outcome_id"] not in S.expected and r["kind"] != "duplicate_record"]
    A.check(not extra, f"{label}: no unexpected outcomes",
            "; ".join(f"{r['outcome_id']} {r['kind']} ({r['reason']})" for r in extra[:10]))
    # summary.json
    sj = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    A.check(sj.get("conservation") is True, f"{label}: summary.json conservation true", f"got {sj.get('conservation')!r}")
    if check_totals:
        ct = sj.get("control_totals", {})
        want_ct = {
            "orders": (len(S.orders), sum(o.fen for o in S.orders)),
            "refunds": (len(S.refunds), sum(r.fen for r in S.refunds)),
            "transactions": (len(S.txs), sum(int(round(float(t["amount"]) * 100)) for t in S.txs)),
        }
        for k, (n, f) in want_ct.items():
            c = ct.get(k, {})
            A.check(c.get("input_rows") == n and c.get("input_fen") == f
                    and c.get("outcome_rows") == n and c.get("outcome_fen") == f,
                    f"{label}: control totals {k} = {n} rows / {f} fen in and out", f"got {c}")
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    bk = {b["kind"]: b["count"] for b in sj.get("by_kind", [])}
    A.check(bk == kinds, f"{label}: summary.json by_kind counts = outcomes.csv", f"summary {bk} vs csv {kinds}")


def reconcile_files(S, d: Path, label: str, *, orders: Path, refunds: Path | None, tx: Path,
                    config: Path | None, check_totals=True) -> Run:
    out = d / ("out-" + re.sub(r"\W+", "_", label))
    shutil.rmtree(out, ignore_errors=True)
    args = ["reconcile", "--orders", orders, "--transactions", tx, "--out", out]
    if refunds:
        args += ["--refunds", refunds]
    if config:
        args += ["--config", config]
    r = run(args)
    if not A.check(r.rc == 0, f"{label}: reconcile exits 0", f"rc={r.rc}; output: {short(errmsg(r.out))}"):
        return r
    A.check("Traceback" not in r.out, f"{label}: no traceback", short(r.out))
    compare(S, out, label, check_totals=check_totals)
    return r


# --------------------------------------------------------------------------------------------- workspace
def ws_query(w: Path, sql: str, params=None):
    import duckdb
    con = duckdb.connect(str(w), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def fingerprint(w: Path) -> dict:
    import duckdb
    if not w.exists():
        return {}
    con = duckdb.connect(str(w), read_only=True)
    try:
        have = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        fp = {}
        for t in TABLES:
            if t in have:
                fp[t] = con.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(CAST(x AS VARCHAR), '|' "
                    f"ORDER BY CAST(x AS VARCHAR)), '')) FROM {t} x").fetchone()
        return fp
    finally:
        con.close()


def reconcile_ws(S, w: Path, config: Path, out: Path, label: str, check_totals=False):
    shutil.rmtree(out, ignore_errors=True)
    r = run(["reconcile", "--workspace", w, "--date", DAY, "--config", config, "--out", out])
    if A.check(r.rc == 0, f"{label}: reconcile --workspace --date exits 0", f"rc={r.rc}; {short(r.out)}"):
        compare(S, out, label, check_totals=check_totals)
    return r


def check_provenance(w: Path, table: str, key: str, lines: dict[str, int], fname: str, label: str):
    got = {k: (f, ln) for k, f, ln in ws_query(w, f"SELECT {key}, src_file, src_line FROM {table}")}
    bad = []
    for k, ln in lines.items():
        g = got.get(k)
        if g is None:
            bad.append(f"{k}: not stored")
        elif not (g[0] == fname or str(g[0]).endswith("/" + fname) or Path(str(g[0])).name == fname) or g[1] != ln:
            bad.append(f"{k}: expected ({fname}, line {ln}), got ({g[0]}, {g[1]})")
    A.check(not bad, f"{label}: provenance of {len(lines)} {table} rows names {fname} and its own line",
            "; ".join(bad[:6]) + (f" … ({len(bad)} rows)" if len(bad) > 6 else ""))


# --------------------------------------------------------------------------------------------- sections
def section_files(base: Path) -> dict:
    """Every export layout through a file run."""
    A.start("files: ERP exports through reconcile --config (file mode)")
    d = base / "files"
    d.mkdir(parents=True, exist_ok=True)
    made = {}

    # V1: GBK CSV, 2 title lines, header found automatically, CRLF; refunds GBK with 1 title line
    S = build("G", lambda i: f"DD20261120{i:04d}")
    v = d / "v1_gbk"
    v.mkdir(exist_ok=True)
    o_lines = write_orders_csv(S, v / "订单导出.csv", enc="gbk",
                               titles=["订单导出", "导出时间：2026-11-21 08:00:00,导出人：财务"])
    r_lines = write_refunds_csv(S, v / "退款导出.csv", enc="gbk", titles=["退款单导出（2026-11-20）"])
    write_tx(S, v / "transactions.csv")
    cfg = std_config(v / "rules.toml")
    reconcile_files(S, v, "V1 GBK CSV, 2 title lines", orders=v / "订单导出.csv", refunds=v / "退款导出.csv",
                    tx=v / "transactions.csv", config=cfg)
    made["v1"] = (S, v, o_lines, r_lines, cfg)
    reconcile_files(S, v, "V1 with the mapping written in YAML", orders=v / "订单导出.csv", refunds=v / "退款导出.csv",
                    tx=v / "transactions.csv", config=yaml_config(v / "rules.yaml"))

    # V2: UTF-8 BOM, 3 title lines, header_line set, header names with full-width brackets, blanks, case,
    # full-width letters, columns in another order; ids with leading zeros; LF line ends
    S = build("B", lambda i: f"00{7000000 + i}")
    v = d / "v2_bom"
    v.mkdir(exist_ok=True)
    names = {"order_no": " 订单编号 ", "store_id": "门店 编码", "merchant_id": "商户号（ＭＣＨＩＤ）",
             "amount": "实付金额（元）", "status": "订单状态\u3000"}
    keys = ["备注", "order_no", "商品名称", "store_id", "merchant_id", "status", "channel", "amount",
            "created_at", "paid_at", "会员编号"]
    o_lines = write_orders_csv(S, v / "mall_orders_20261120.csv", enc="utf-8", bom=True, newline="\n",
                               titles=["订单列表", "店铺：旗舰店,时间范围：2026-11-20", ""], names=names, order=keys)
    r_lines = write_refunds_csv(S, v / "售后退款.csv", enc="utf-8", bom=True, newline="\n",
                                titles=["售后单导出", "导出时间：2026-11-21 08:00", "共 9 条"],
                                names={"refund_no": "退款单号 ", "amount": "退款金额（元）"})
    write_tx(S, v / "transactions.csv")
    ocols = dict(ORDER_COLS, merchant_id="商户号(MchID)", amount="实付金额(元)")
    rcols = dict(REFUND_COLS, amount="退款金额(元)")
    cfg = write_config(v / "rules.toml", orders=ocols, refunds=rcols, orders_opts={"header_line": 4})
    reconcile_files(S, v, "V2 UTF-8 BOM CSV, 3 title lines, header_line=4, width/blank/case header",
                    orders=v / "mall_orders_20261120.csv", refunds=v / "售后退款.csv", tx=v / "transactions.csv",
                    config=cfg)
    made["v2"] = (S, v, o_lines, r_lines, cfg)

    # V3: .xlsx with a title row, number-typed amounts, datetime cells, 18-digit order numbers as text
    S = build("X", lambda i: f"2026112000001{i:05d}", refgen=lambda no: "RF" + no)
    v = d / "v3_xlsx"
    v.mkdir(exist_ok=True)
    o_lines = write_orders_xlsx(S, v / "订单导出(1).xlsx", merchant_number=True)
    r_lines = write_refunds_xlsx(S, v / "退款导出.xlsx")
    write_tx(S, v / "transactions.csv")
    cfg = std_config(v / "rules.toml")
    reconcile_files(S, v, "V3 xlsx title row, number amounts and 商户号, datetime cells, text ids",
                    orders=v / "订单导出(1).xlsx", refunds=v / "退款导出.xlsx", tx=v / "transactions.csv", config=cfg)
    made["v3"] = (S, v, o_lines, r_lines, cfg)

    # V6: TSV (delimiter "\t"), UTF-8 without BOM, the amount under its second alternative name (实收金额),
    # member_id under its canonical name (not listed in the mapping)
    S = build("T", lambda i: f"POS-{i:06d}")
    v = d / "v6_tsv"
    v.mkdir(exist_ok=True)
    keys = [*ORDER_COLS, "member_id", "商品名称"]
    rows = []
    for o in S.orders:
        c = order_cells(o, "utf-8")
        c["member_id"] = o.member
        rows.append([c[k] for k in keys])
    hdr = [dict(ORDER_COLS, amount="实收金额").get(k, k) for k in keys]
    lines = write_table(v / "pos_export.txt", ["POS 收银流水"], hdr, rows, enc="utf-8", delimiter="\t", newline="\n")
    o_lines = {o.no: ln for o, ln in zip(S.orders, lines)}
    r_lines = write_refunds_csv(S, v / "refunds.tsv", enc="utf-8", delimiter="\t", newline="\n")
    write_tx(S, v / "transactions.csv")
    cols = dict(ORDER_COLS, amount=["实付金额(元)", "实收金额"])
    cfg = write_config(v / "rules.toml", orders=cols, refunds=dict(REFUND_COLS),
                       orders_opts={"delimiter": "\t"}, refunds_opts={"delimiter": "\t"})
    reconcile_files(S, v, "V6 TSV, second alternative column name, member_id by canonical name",
                    orders=v / "pos_export.txt", refunds=v / "refunds.tsv", tx=v / "transactions.csv", config=cfg)
    made["v6"] = (S, v, o_lines, r_lines, cfg)

    # V7: .xlsx whose orders are on the second sheet, named in the config (sheet = "订单"), two title rows,
    # every cell text (amounts like ￥1,234.50 and times like 2026/11/20 10:00 as strings)
    S = build("S", lambda i: f"SO{i:06d}")
    v = d / "v7_sheet"
    v.mkdir(exist_ok=True)
    o_lines = write_orders_xlsx(S, v / "orders.xlsx", titles=("订单导出", "导出时间：2026-11-21 08:00"),
                                sheet_name="订单", front_sheet="说明", text_cells=True)
    write_refunds_csv(S, v / "refunds.csv", enc="gbk", titles=["退款导出"])
    write_tx(S, v / "transactions.csv")
    cfg = std_config(v / "rules.toml", orders_opts={"sheet": "订单", "header_line": 3})
    reconcile_files(S, v, "V7 xlsx second sheet named by sheet=, header_line=3, text cells",
                    orders=v / "orders.xlsx", refunds=v / "refunds.csv", tx=v / "transactions.csv", config=cfg)
    made["v7"] = (S, v, o_lines, None, cfg)
    return made


def section_canonical(base: Path):
    A.start("canonical: canonical files beside a configured mapping; canonical .xlsx without a config")
    d = base / "canonical"
    d.mkdir(parents=True, exist_ok=True)
    # canonical CSVs (with the configured words already translated) while [inputs.*] is configured
    S = build("C", lambda i: f"C{i:05d}")
    write_canonical(S, d / "orders.csv", d / "refunds.csv")
    write_tx(S, d / "transactions.csv")
    cfg = std_config(d / "rules.toml")
    reconcile_files(S, d, "canonical CSV while a mapping is configured", orders=d / "orders.csv",
                    refunds=d / "refunds.csv", tx=d / "transactions.csv", config=cfg)
    # .xlsx with the canonical header, number amounts and datetime cells, no config at all
    S = build("K", lambda i: f"K{i:05d}")
    write_canonical_xlsx(S, d / "orders.xlsx")
    write_canonical(S, d / "k_orders_unused.csv", d / "k_refunds.csv")
    write_tx(S, d / "k_tx.csv")
    # without a config the time gap is the default 24 h: the 3-hour case is matched then
    S.expected = {k: (dict(v, kind="matched", diff=0) if v["kind"] == "time_mismatch" else v)
                  for k, v in S.expected.items()}
    reconcile_files(S, d, "canonical-header xlsx, no config", orders=d / "orders.xlsx",
                    refunds=d / "k_refunds.csv", tx=d / "k_tx.csv", config=None)
    # a canonical file is read as canonical even with a mapping configured: its amounts stay plain yuan
    text = (d / "orders.csv").read_text(encoding="utf-8").splitlines()
    cells = [list(csv.reader([ln]))[0] for ln in text]
    cells[2][4] = "￥" + cells[2][4]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(cells)
    (d / "orders_yen.csv").write_text(buf.getvalue(), encoding="utf-8")
    r = run(["reconcile", "--config", cfg, "--orders", d / "orders_yen.csv", "--refunds", d / "refunds.csv",
             "--transactions", d / "transactions.csv", "--out", d / "out-yen"])
    A.check(r.rc == 2 and "orders_yen.csv:3 [amount]" in r.out,
            "canonical CSV with '￥' in an amount while a mapping is configured: refused as canonical "
            "(orders_yen.csv:3 [amount])", f"rc={r.rc}; {short(errmsg(r.out), 500)}")
    # a canonical CSV with three problems lists all three (the contrast for refusal three_problems)
    rows = (d / "orders.csv").read_text(encoding="utf-8").splitlines()
    cells = [list(csv.reader([ln]))[0] for ln in rows]
    cells[3][5] = "bogus"
    cells[13][4] = "12.3.4"
    cells[21][7] = "yesterday"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(cells)
    (d / "orders_3bad.csv").write_text(buf.getvalue(), encoding="utf-8")
    r = run(["reconcile", "--config", cfg, "--orders", d / "orders_3bad.csv", "--refunds", d / "refunds.csv",
             "--transactions", d / "transactions.csv", "--out", d / "out-3bad"])
    want = ["orders_3bad.csv:4 [status]", "orders_3bad.csv:14 [amount]", "orders_3bad.csv:22 [paid_at]"]
    A.check(r.rc == 2 and all(w_ in r.out for w_ in want),
            f"canonical CSV with three problems: exit 2 listing all of {want}", f"rc={r.rc}; {short(r.out)}")


def section_workspace(base: Path, made: dict):
    A.start("workspace: ingest + reconcile --workspace --date; idempotence; corrected mapping; provenance")
    d = base / "workspace"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for key, files in (("v1", ("订单导出.csv", "退款导出.csv")), ("v2", ("mall_orders_20261120.csv", "售后退款.csv")),
                       ("v3", ("订单导出(1).xlsx", "退款导出.xlsx")), ("v6", ("pos_export.txt", "refunds.tsv")),
                       ("v7", ("orders.xlsx", "refunds.csv"))):
        S, v, o_lines, r_lines, cfg = made[key]
        w = d / f"{key}.duckdb"
        label = f"{key} workspace"
        r = run(["ingest", "--workspace", w, "--config", cfg, "--orders", v / files[0], "--refunds", v / files[1],
                 "--transactions", v / "transactions.csv"])
        if not A.check(r.rc == 0, f"{label}: ingest exits 0", f"rc={r.rc}; {short(r.out)}"):
            continue
        reconcile_ws(S, w, cfg, d / f"out-{key}", label)
        check_provenance(w, "orders", "order_no", o_lines, files[0], label)
        if r_lines:
            check_provenance(w, "refunds", "refund_no", r_lines, files[1], label)
        # times as stored: the instant the export meant (naive = Asia/Shanghai)
        stored = {no: (p, a) for no, p, a in ws_query(w, "SELECT order_no, paid_at, amount_fen FROM orders")}
        bad = []
        for o in S.orders:
            g = stored.get(o.no)
            if g is None:
                bad.append(f"{o.no} missing")
                continue
            if (g[0] is None) != (o.paid is None) or (o.paid is not None and g[0] != o.paid):
                bad.append(f"{o.no}: paid_at expected {o.paid.isoformat() if o.paid else None} "
                           f"(from {fmt_time(o.paid, o.tfmt)!r}), got {g[0]}")
            if g[1] != o.fen:
                bad.append(f"{o.no}: amount_fen expected {o.fen} (from {fmt_amount(o.fen, o.afmt)!r}), got {g[1]}")
        A.check(not bad, f"{label}: stored paid_at instants and amount_fen equal the export's", "; ".join(bad[:6]))
        # extra columns kept
        if key in ("v1", "v2"):
            o = next(x for x in S.orders if x.note == '顾客说"不要袋子",谢谢')
            (extra,) = ws_query(w, "SELECT extra FROM orders WHERE order_no = ?", [o.no])[0]
            A.check(extra is not None and o.note in str(extra) or (extra and o.note in json.loads(extra).values()),
                    f"{label}: extra keeps 备注 with commas and quotes and 商品名称",
                    f"expected {o.note!r} and {o.goods!r} in extra, got {extra!r}")
            if extra:
                try:
                    ex = json.loads(extra)
                    A.check(ex.get("商品名称") == o.goods and ex.get("备注") == o.note,
                            f"{label}: extra is a JSON object keyed by the export's column names",
                            f"got {extra!r}")
                except Exception as e:  # noqa: BLE001
                    A.bad(f"{label}: extra is not JSON ({e}): {extra!r}")
        if key == "v6":
            got = dict(ws_query(w, "SELECT order_no, member_id FROM orders"))
            bad = [f"{o.no}: {got.get(o.no)!r}" for o in S.orders if got.get(o.no) != o.member]
            A.check(not bad, f"{label}: member_id read from a column under its canonical name (not listed)",
                    "; ".join(bad[:5]))
        # the same files again: nothing changes
        fp = fingerprint(w)
        r2 = run(["ingest", "--workspace", w, "--config", cfg, "--orders", v / files[0], "--refunds", v / files[1],
                  "--transactions", v / "transactions.csv"])
        A.check(r2.rc == 0 and fingerprint(w) == fp, f"{label}: ingesting the same files again changes nothing",
                f"rc={r2.rc}; changed tables: {[t for t in fp if fingerprint(w).get(t) != fp[t]]}; {short(r2.out)}")
        A.check("already loaded" in r2.out, f"{label}: the second ingest says 'already loaded'", short(r2.out))
        if key in ("v1", "v3"):
            # the same export downloaded again under another name ("订单导出(2).csv"): same content, same mapping
            copy = d / f"{key}-copy" / ("订单导出(2)" + Path(files[0]).suffix)
            copy.parent.mkdir(exist_ok=True)
            shutil.copyfile(v / files[0], copy)
            r3 = run(["ingest", "--workspace", w, "--config", cfg, "--orders", copy])
            after = fingerprint(w)
            A.check(r3.rc == 0 and "already loaded" in r3.out and after == fp,
                    f"{label}: the same export under another file name is 'already loaded' (by content) and "
                    f"changes nothing", f"rc={r3.rc}; changed tables: {[t for t in fp if after.get(t) != fp[t]]}; "
                                        f"{short(r3.out, 600)}")

    # a corrected mapping loads the same export again and its rows replace the earlier ones
    S, v, o_lines, r_lines, cfg = made["v1"]
    w = d / "corrected.duckdb"
    wrong = std_config(d / "wrong.toml", status_map={"已完成": "unpaid", "交易成功": "paid"})
    r = run(["ingest", "--workspace", w, "--config", wrong, "--orders", v / "订单导出.csv",
             "--refunds", v / "退款导出.csv", "--transactions", v / "transactions.csv"])
    A.check(r.rc == 0, "corrected mapping: first ingest under a wrong mapping (已完成 = unpaid) exits 0", short(r.out))
    o = next(x for x in S.orders if x.status_word == "已完成")
    S_wrong = Scenario(S.name, S.orders, S.refunds, S.txs, dict(S.expected), S.dup_records, S.probes)
    S_wrong.expected[f"P-{o.no}"] = {"kind": "status_mismatch", "order": o.fen, "channel": o.fen}
    reconcile_ws(S_wrong, w, wrong, d / "out-wrong", "corrected mapping: under the wrong mapping")
    n0 = ws_query(w, "SELECT count(*) FROM orders")[0][0]
    r = run(["ingest", "--workspace", w, "--config", cfg, "--orders", v / "订单导出.csv"])
    A.check(r.rc == 0 and "already loaded" not in r.out,
            "corrected mapping: the same export under the corrected mapping is loaded again", short(r.out))
    n1 = ws_query(w, "SELECT count(*) FROM orders")[0][0]
    st = ws_query(w, "SELECT status FROM orders WHERE order_no = ?", [o.no])
    A.check(n1 == n0 == len(S.orders) and st == [("paid",)],
            "corrected mapping: rows replaced (same count, 已完成 now paid)", f"count {n0} -> {n1}; status {st}")
    reconcile_ws(S, w, cfg, d / "out-corrected", "corrected mapping: after reloading")

    # two days in one workspace: times with a UTC offset near midnight land on their Shanghai day; an order
    # paid 23:55 is pending_cross_day on day 1 and matched on day 2 when the next bill has it
    w = d / "two_days.duckdb"
    td = d / "two_days"
    td.mkdir()
    hdr = list(ORDER_COLS.values())
    rows = [["X1", "S001", M1, "微信", "10.00", "已支付", "2026-11-20T16:29:00+00:00", "2026-11-20T16:30:00+00:00"],
            ["Y1", "S001", M1, "微信", "11.00", "已支付", "2026-11-20T15:54:00+00:00", "2026-11-20T15:55:00+00:00"],
            ["Z1", "S001", M1, "微信", "12.00", "已支付", "2026/11/20 12:00", "2026/11/20 12:01"],
            ["W1", "S001", M1, "支付宝", "13.00", "已支付", "2026/11/21 9:00", "2026/11/21 9:01"]]
    write_table(td / "订单导出_两天.csv", ["订单导出", "2026-11-20 至 2026-11-21"], hdr, rows, enc="gbk")
    Sd = Scenario("D")
    for no, ch, amt, at, bd in [("Z1", "wechat", "12.00", "2026-11-20T12:02:00+08:00", "2026-11-20"),
                                ("Y1", "wechat", "11.00", "2026-11-21T00:00:30+08:00", "2026-11-21"),
                                ("X1", "wechat", "10.00", "2026-11-21T00:31:00+08:00", "2026-11-21"),
                                ("W1", "alipay", "13.00", "2026-11-21T09:02:00+08:00", "2026-11-21")]:
        Sd.txs.append(dict(channel=ch, merchant_id=M1, channel_tx_id=f"T{no}", order_no=no, type="payment",
                           refund_no="", channel_refund_id="", amount=amt, fee="0.00", settle_amount=amt,
                           status="success", occurred_at=at, bill_date=bd, method=""))
    write_tx(Sd, td / "tx.csv")
    cfgd = std_config(td / "rules.toml")
    r = run(["ingest", "--workspace", w, "--config", cfgd, "--orders", td / "订单导出_两天.csv",
             "--transactions", td / "tx.csv"])
    A.check(r.rc == 0, "two days: ingest exits 0", short(errmsg(r.out)))
    for day, want in (("2026-11-20", {"P-Z1": "matched", "P-Y1": "pending_cross_day"}),
                      ("2026-11-21", {"P-X1": "matched", "P-Y1": "matched", "P-W1": "matched"})):
        out = td / f"out-{day}"
        r = run(["reconcile", "--workspace", w, "--date", day, "--config", cfgd, "--out", out])
        got = {x["outcome_id"]: x["kind"] for x in read_outcomes(out)} if r.rc == 0 else {"rc": r.rc}
        A.check(got == want, f"two days: --date {day} gives {want} (X1 paid 16:30Z = 00:30 on the 21st; "
                             f"Y1 paid 15:55Z = 23:55 on the 20th)", f"got {got}")

    # a later export (another file) with an order whose status moved on replaces the stored row
    w = d / "later.duckdb"
    S2 = Scenario("L")
    t = dt.datetime(2026, 11, 20, 12, 0, tzinfo=TZ)
    u = Order("DDL0001", "S001", M1, "wechat", "微信", 2500, "unpaid", "待支付", t - dt.timedelta(minutes=1), None)
    m = Order("DDL0002", "S001", M1, "wechat", "微信", 2600, "paid", "已支付", t, t)
    S2.orders = [u, m]
    S2.txs = [dict(channel="wechat", merchant_id=M1, channel_tx_id=f"4200L{i}", order_no=o.no, type="payment",
                   refund_no="", channel_refund_id="", amount=yuan(o.fen), fee="0.00", settle_amount=yuan(o.fen),
                   status="success", occurred_at=(t + dt.timedelta(minutes=3)).isoformat(), bill_date=DAY, method="")
              for i, o in enumerate(S2.orders)]
    write_orders_csv(S2, d / "订单导出_0900.csv", enc="gbk", titles=["订单导出"])
    write_tx(S2, d / "later_tx.csv")
    cfg2 = std_config(d / "later.toml")
    run(["ingest", "--workspace", w, "--config", cfg2, "--orders", d / "订单导出_0900.csv",
         "--transactions", d / "later_tx.csv"])
    S2.expected = {"P-DDL0001": {"kind": "status_mismatch"}, "P-DDL0002": {"kind": "matched"}}
    reconcile_ws(S2, w, cfg2, d / "out-later1", "later export: before")
    u2 = Order(u.no, u.store, u.merchant, u.method, u.method_word, u.fen, "paid", "已付款", u.created,
               t + dt.timedelta(minutes=2), tfmt="dash_sec")
    S3 = Scenario("L", [u2], [], [])
    lines = write_orders_csv(S3, d / "订单导出_1800.csv", enc="gbk", titles=["订单导出", "导出时间：2026-11-20 18:00"])
    r = run(["ingest", "--workspace", w, "--config", cfg2, "--orders", d / "订单导出_1800.csv"])
    rows = ws_query(w, "SELECT order_no, status, src_file, src_line FROM orders ORDER BY order_no")
    A.check(r.rc == 0 and len(rows) == 2 and rows[0][1] == "paid" and Path(rows[0][2]).name == "订单导出_1800.csv"
            and rows[0][3] == lines[u.no],
            "later export: an order number loaded again from another file replaces the stored row (provenance too)",
            f"rc={r.rc}; rows {rows}; {short(r.out, 400)}")
    S2.expected = {"P-DDL0001": {"kind": "matched"}, "P-DDL0002": {"kind": "matched"}}
    reconcile_ws(S2, w, cfg2, d / "out-later2", "later export: after")


# --------------------------------------------------------------------------------------------- refusals
@dataclass
class Bad:
    name: str
    kind: str                 # "orders" | "refunds"
    path: Path
    want: list[str]           # substrings that must all appear (file:line [column], value, hint…)
    alt: list[list[str]] = field(default_factory=list)   # acceptable alternatives for `want`
    cfg: Path | None = None   # another config / companion files than V1's
    refunds: Path | None = None
    tx: Path | None = None


def section_refusals(base: Path, made: dict):
    A.start("refusals: exit 2, file:line [column]: what (value), no traceback, nothing written or stored")
    d = base / "refusals"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    S, v, _, _, cfg = made["v1"]
    good_orders, good_refunds, tx = v / "订单导出.csv", v / "退款导出.csv", v / "transactions.csv"
    titles = ["订单导出", "导出时间：2026-11-21 08:00:00"]     # header on line 3, first row on line 4
    keys = [*ORDER_COLS, "商品名称", "备注", "会员编号"]
    header = [ORDER_COLS.get(k, k) for k in keys]
    base_rows = [[order_cells(o, "gbk")[k] for k in keys] for o in S.orders]
    col = {k: i for i, k in enumerate(keys)}
    cases: list[Bad] = []

    def mk(name, edits: dict[int, dict[str, str]], want_fn, *, hdr=None, drop=None, raw_line=None, extra_row=None):
        rows = [list(r) for r in base_rows]
        for i, ed in edits.items():
            for k, val in ed.items():
                rows[i][col[k]] = val
        h = list(hdr or header)
        if drop:
            j = col[drop]
            h.pop(j)
            rows = [r[:j] + r[j + 1:] for r in rows]
        if extra_row is not None:
            rows[extra_row] = rows[extra_row] + ["多出的字段"]
        cd = d / name
        cd.mkdir()
        p = cd / "订单导出.csv"
        lines = write_table(p, titles, h, rows, enc="gbk")
        if raw_line:
            data = p.read_bytes().decode("gbk").split("\r\n")
            i, text = raw_line
            data[lines[i] - 1] = text
            p.write_bytes("\r\n".join(data).encode("gbk"))
        cases.append(Bad(name, "orders", p, want_fn(lines)))

    F = "订单导出.csv"
    mk("unknown_status", {4: {"status": "退货中"}},
       lambda L: [f"{F}:{L[4]} [订单状态]", "退货中", "inputs.orders.values.status"])
    mk("unmapped_method", {6: {"channel": "现金支付"}},
       lambda L: [f"{F}:{L[6]} [支付方式]", "现金支付", "inputs.orders.values.channel"])
    mk("missing_column", {}, lambda L: [F, "商户号", "支付方式", "实付金额(元)"], drop="merchant_id")
    mk("amount_1,23.40", {3: {"amount": "1,23.40"}}, lambda L: [f"{F}:{L[3]} [实付金额(元)]", "1,23.40"])
    mk("amount_12.3.4", {5: {"amount": "12.3.4"}}, lambda L: [f"{F}:{L[5]} [实付金额(元)]", "12.3.4"])
    mk("amount_1e5", {5: {"amount": "1e5"}}, lambda L: [f"{F}:{L[5]} [实付金额(元)]", "1e5"])
    mk("amount_1.001", {5: {"amount": "1.001"}}, lambda L: [f"{F}:{L[5]} [实付金额(元)]", "1.001"])
    mk("amount_negative", {5: {"amount": "-12.00"}}, lambda L: [f"{F}:{L[5]} [实付金额(元)]", "-12.00"])
    mk("duplicate_order_no", {9: {"order_no": S.orders[2].no}},
       lambda L: [f"{F}:{L[9]} [订单编号]", S.orders[2].no])
    mk("excel_rounded_id", {7: {"order_no": "2.02611E+17"}}, lambda L: [f"{F}:{L[7]} [订单编号]", "2.02611E+17"])
    mk("bad_time", {8: {"paid_at": "2026-11-31 10:00:00"}},
       lambda L: [f"{F}:{L[8]} [支付时间]", "2026-11-31 10:00:00"])
    mk("day_first_time", {8: {"paid_at": "20/11/2026 10:00"}}, lambda L: [f"{F}:{L[8]} [支付时间]", "20/11/2026 10:00"])
    mk("ragged_row", {}, lambda L: [f"{F}:{L[10]}"], extra_row=10)
    mk("short_row", {}, lambda L: [f"{F}:{L[10]}"],
       raw_line=(10, ",".join(base_rows[10][:6])))
    mk("unclosed_quote", {}, lambda L: [f"{F}:{L[11]}"],
       raw_line=(11, ",".join(base_rows[11][:9]) + ',"备注没有结束的引号,' + base_rows[11][10]))
    # README: words no mapping knows are reported first; the export's other problems once its words are mapped
    mk("three_problems", {2: {"status": "退货中"}, 12: {"amount": "12.3.4"}, 20: {"paid_at": "昨天"}},
       lambda L: [f"{F}:{L[2]} [订单状态]"])
    mk("two_problems_no_words", {12: {"amount": "12.3.4"}, 20: {"paid_at": "昨天"}},
       lambda L: [f"{F}:{L[12]} [实付金额(元)]", f"{F}:{L[20]} [支付时间]"])
    mk("status_and_method_words", {2: {"status": "退货中"}, 12: {"channel": "现金支付"}},
       lambda L: [f"{F}:{L[2]} [订单状态]", f"{F}:{L[12]} [支付方式]"])
    # the export's own column name when it is written with full-width brackets
    rows = [list(r) for r in base_rows]
    rows[3][col["amount"]] = "1,23.40"
    cd = d / "fullwidth_header_bad_amount"
    cd.mkdir()
    p = cd / F
    lines = write_table(p, titles, [h if h != "实付金额(元)" else "实付金额（元）" for h in header], rows, enc="gbk")
    cases.append(Bad(cd.name, "orders", p, [f"{F}:{lines[3]} [实付金额（元）]", "1,23.40"],
                     alt=[[f"{F}:{lines[3]} [实付金额(元)]", "1,23.40"]]))
    # a configured column missing while header_line is set (V2's config: header on line 4)
    S2, v2, _, _, cfg2 = made["v2"]
    raw = (v2 / "mall_orders_20261120.csv").read_bytes().decode("utf-8-sig").split("\n")
    raw[3] = raw[3].replace("商户号（ＭＣＨＩＤ）", "商户编号")
    cd = d / "missing_column_header_line"
    cd.mkdir()
    (cd / "mall_orders_20261120.csv").write_bytes(b"\xef\xbb\xbf" + "\n".join(raw).encode("utf-8"))
    cases.append(Bad(cd.name, "orders", cd / "mall_orders_20261120.csv",
                     ["mall_orders_20261120.csv", "商户号(MchID)", "商户编号"], ))
    cases[-1].cfg = cfg2
    cases[-1].refunds = v2 / "售后退款.csv"
    cases[-1].tx = v2 / "transactions.csv"
    # empty file, .xls, UTF-16 text
    cd = d / "empty_file"
    cd.mkdir()
    (cd / F).write_bytes(b"")
    cases.append(Bad(cd.name, "orders", cd / F, [F]))
    cd = d / "xls"
    cd.mkdir()
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504 + b"Workbook" + b"\0" * 1536
    (cd / "订单导出.xls").write_bytes(ole)
    cases.append(Bad(cd.name, "orders", cd / "订单导出.xls", ["订单导出.xls", ".xlsx"]))
    cd = d / "utf16"
    cd.mkdir()
    txt = "\r\n".join(["\t".join(header)] + ["\t".join(r) for r in base_rows[:5]])
    (cd / "订单导出.txt").write_bytes(b"\xff\xfe" + txt.encode("utf-16-le"))
    cases.append(Bad(cd.name, "orders", cd / "订单导出.txt", ["订单导出.txt"]))
    # .xlsx: an unknown status on sheet row N; an 18-digit id stored as a (rounded) number
    cd = d / "xlsx_bad_status"
    cd.mkdir()
    Sx = Scenario("x", [Order(**{**o.__dict__}) for o in S.orders], S.refunds, S.txs)
    Sx.orders[5].status_word = "退货中"
    rows_x = write_orders_xlsx(Sx, cd / "订单导出.xlsx")
    cases.append(Bad(cd.name, "orders", cd / "订单导出.xlsx",
                     [f"订单导出.xlsx:{rows_x[Sx.orders[5].no]} [订单状态]", "退货中"]))
    cd = d / "xlsx_rounded_id"
    cd.mkdir()
    tgt = S.orders[6].no
    rows_x = write_orders_xlsx(S, cd / "订单导出.xlsx",
                               id_cell=lambda o, v: 202611200000000001 if o.no == tgt else v)
    cases.append(Bad(cd.name, "orders", cd / "订单导出.xlsx", [f"订单导出.xlsx:{rows_x[tgt]} [订单编号]"]))
    # refunds export: unknown refund status, duplicate refund number (GBK, 1 title line: header on line 2)
    rk = [*REFUND_COLS, "退款原因"]
    rh = [REFUND_COLS.get(k, k) for k in rk]
    rrows = [[refund_cells(r, "gbk")[k] for k in rk] for r in S.refunds]
    for name, edit, want in [
        ("refund_unknown_status", (2, 4, "退款驳回"), lambda L: [f"退款导出.csv:{L[2]} [退款状态]", "退款驳回",
                                                                  "inputs.refunds.values.status"]),
        ("refund_duplicate_no", (3, 0, S.refunds[1].no), lambda L: [f"退款导出.csv:{L[3]} [退款单号]", S.refunds[1].no]),
        ("refund_bad_amount", (1, 2, "￥1,2,3.00"), lambda L: [f"退款导出.csv:{L[1]} [退款金额]", "￥1,2,3.00"]),
    ]:
        rr = [list(x) for x in rrows]
        rr[edit[0]][edit[1]] = edit[2]
        cd = d / name
        cd.mkdir()
        L = write_table(cd / "退款导出.csv", ["退款单导出（2026-11-20）"], rh, rr, enc="gbk")
        cases.append(Bad(name, "refunds", cd / "退款导出.csv", want(L)))

    # a workspace already holding the good V1 data: a refused file must change nothing in it
    w = d / "W.duckdb"
    r = run(["ingest", "--workspace", w, "--config", cfg, "--orders", good_orders, "--refunds", good_refunds,
             "--transactions", tx])
    A.check(r.rc == 0, "refusals: the good V1 exports load into the reference workspace", short(r.out))
    for c in cases:
        orders = c.path if c.kind == "orders" else good_orders
        refunds = c.path if c.kind == "refunds" else (c.refunds or good_refunds)
        ccfg, ctx = c.cfg or cfg, c.tx or tx
        out = c.path.parent / "out"
        tmp = c.path.parent / "tmp"
        tmp.mkdir()
        r = run(["reconcile", "--config", ccfg, "--orders", orders, "--refunds", refunds, "--transactions", ctx,
                 "--out", out], env_extra={"TMPDIR": str(tmp)})
        label = f"refusal {c.name}"
        flat = " ".join(r.out.split())
        ok_rc = r.rc == 2
        missing = [s for s in c.want if s not in r.out and s not in flat]
        if missing and c.alt:
            for alt in c.alt:
                if all(s in r.out or s in flat for s in alt):
                    A.ok(f"{label}: message names the column as the config spells it, not as the export "
                         f"writes it ({alt[0]!r}; README: 'its own column name')")
                    missing = []
                    break
        msg = errmsg(r.out)
        A.check(ok_rc and not missing and "Traceback" not in r.out and re.search(r"^error: ", r.out, re.M),
                f"{label}: reconcile exits 2 with an 'error:' line naming {c.want}",
                f"rc={r.rc}; missing {missing}; traceback={'Traceback' in r.out}; output: {short(msg)}")
        if ok_rc:
            A.check(re.search(r"^hint", msg, re.M | re.I) is not None,
                    f"{label}: the error comes with a hint (README: 'with a hint')", f"output: {short(msg)}")
        if c.name.startswith("missing_column"):
            A.check(not re.search(r"no line among .* lacks the column", flat),
                    f"{label}: the message says the header lacks the column (not 'no line … lacks')",
                    f"got: {short(msg, 500)}")
        if "rounded_id" in c.name:
            A.check("map these values in the config" not in flat,
                    f"{label}: the hint does not tell to map an order number in the config file",
                    f"got: {short(msg, 500)}")
        left = [p.name for p in out.rglob("*")] if out.exists() else []
        A.check(not left, f"{label}: nothing written to --out", f"found {left}")
        left_tmp = [str(p.relative_to(tmp)) for p in tmp.rglob("*")]
        A.check(not left_tmp, f"{label}: nothing left in $TMPDIR", f"found {left_tmp[:5]}")
        fp = fingerprint(w)
        flag = "--orders" if c.kind == "orders" else "--refunds"
        r2 = run(["ingest", "--workspace", w, "--config", ccfg, flag, c.path])
        missing2 = [s for s in c.want if s not in r2.out and s not in " ".join(r2.out.split())]
        if missing2 and c.alt and any(all(s in " ".join(r2.out.split()) for s in alt) for alt in c.alt):
            missing2 = []
        A.check(r2.rc == 2 and not missing2 and "Traceback" not in r2.out,
                f"{label}: ingest exits 2 with the same message",
                f"rc={r2.rc}; missing {missing2}; output: {short(r2.out)}")
        after = fingerprint(w)
        A.check(after == fp, f"{label}: nothing stored in the workspace",
                f"changed: {[t for t in set(fp) | set(after) if fp.get(t) != after.get(t)]}")
        print("     message: " + short(msg, 700).replace("\n", "\n              "))


# --------------------------------------------------------------------------------------------- probes
def section_probes(base: Path):
    """Things a finance user would reasonably try that the README does not spell out case by case."""
    A.start("probes: number cells, multi-line remarks, time layouts, late GBK, refunds naming their merchant, totals")
    d = base / "probes"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    # an .xlsx whose order numbers are exact integer number cells (12 digits, not rounded) and amounts that are
    # computed doubles (19.99 * 3 = 59.97 shown by Excel, 0.1 * 3 = 0.30000000000000004)
    S = build("N", lambda i: f"{202611200100 + i}")
    tgt_f = {S.orders[0].no: 0.1 * 3, S.orders[1].no: 1.1 * 3}
    for o in S.orders[:2]:
        o.fen = round(tgt_f[o.no] * 100)
    for t in S.txs:
        if t["order_no"] in tgt_f and t["type"] == "payment":
            t["amount"] = yuan(round(tgt_f[t["order_no"]] * 100))
    for oid in (f"P-{S.orders[0].no}", f"P-{S.orders[1].no}"):
        e = S.expected[oid]
        f_ = round(tgt_f[oid[2:]] * 100)
        S.expected[oid] = {**e, "order": f_, "channel": f_}
    write_orders_xlsx(S, d / "orders_numeric_ids.xlsx", id_cell=lambda o, v: int(v),
                      amount_cell=lambda o, v: tgt_f.get(o.no, v))
    write_refunds_csv(S, d / "refunds.csv", enc="gbk", titles=["退款导出"])
    write_tx(S, d / "tx.csv")
    cfg = std_config(d / "rules.toml")
    r = run(["reconcile", "--config", cfg, "--orders", d / "orders_numeric_ids.xlsx", "--refunds", d / "refunds.csv",
             "--transactions", d / "tx.csv", "--out", d / "out-numeric"])
    if A.check(r.rc == 0, "probe: xlsx with exact integer id cells and float-artefact amount cells (0.1*3, 1.1*3) "
               "is read (ids as digits, amounts as the cent Excel shows)", f"rc={r.rc}; {short(r.out)}"):
        compare(S, d / "out-numeric", "probe numeric ids/float amounts")
    # a remark spanning two lines inside quotes (CSV allows it; ERPs write it): line numbers after it
    S = build("Q", lambda i: f"Q{i:05d}")
    S.orders[3].note = "第一行\n第二行, 含逗号"
    lines = write_orders_csv(S, d / "订单导出_多行备注.csv", enc="gbk", titles=["订单导出"])
    write_refunds_csv(S, d / "q_refunds.csv", enc="gbk")
    write_tx(S, d / "q_tx.csv")
    reconcile_files(S, d, "probe multi-line remark", orders=d / "订单导出_多行备注.csv", refunds=d / "q_refunds.csv",
                    tx=d / "q_tx.csv", config=cfg)
    w = d / "q.duckdb"
    r = run(["ingest", "--workspace", w, "--config", cfg, "--orders", d / "订单导出_多行备注.csv"])
    if A.check(r.rc == 0, "probe multi-line remark: ingest exits 0", short(r.out)):
        check_provenance(w, "orders", "order_no", lines, "订单导出_多行备注.csv",
                         "probe multi-line remark (physical line where the row starts)")
    # time layouts one by one: each order alone in its own export, the channel 2 minutes later (gap 60 min)
    promised = {   # README: ISO-8601 with offset, naive = Asia/Shanghai, "times like 2026/11/20 10:00"
        "2026-11-20 09:05": "ISO-8601 date and time without seconds",
        "2026-11-20T09:05:00": "ISO-8601 naive with T",
        "2026-11-20T01:05:00Z": "ISO-8601 UTC with Z",
        "2026-11-20 09:05:00.0": "ISO-8601 with a fraction (what Java/SQL exports write)",
        "2026/11/20 09:05": "the README's own example layout",
        " 2026-11-20 09:05:00\u3000": "outer spaces incl. U+3000 (README: ignored around any value)",
    }
    other = {     # not in the README's words; what Excel / Chinese backends also write
        "2026/11/20 9:05": "Excel re-saved CSV: hour without a leading zero",
        "2026/11/20 9:05:00": "Excel re-saved CSV with seconds",
        "2026年11月20日 09:05:00": "Chinese date layout",
        "2026.11.20 09:05": "dotted date",
    }
    t = dt.datetime(2026, 11, 20, 9, 5, tzinfo=TZ)
    td = d / "times"
    td.mkdir()
    for i, (text, why) in enumerate([*promised.items(), *other.items()]):
        no = f"TM{i:03d}"
        o = Order(no, "S001", M1, "wechat", "微信", 1000 + i, "paid", "已支付", t - dt.timedelta(minutes=1), t)
        S = Scenario("T", [o], [], [])
        S.txs = [dict(channel="wechat", merchant_id=M1, channel_tx_id=f"4200TM{i}", order_no=no, type="payment",
                      refund_no="", channel_refund_id="", amount=yuan(o.fen), fee="0.00", settle_amount=yuan(o.fen),
                      status="success", occurred_at=(t + dt.timedelta(minutes=2)).isoformat(), bill_date=DAY,
                      method="")]
        S.expected = {f"P-{no}": {"kind": "matched", "order": o.fen, "channel": o.fen, "diff": 0}}
        f = td / f"orders_{i}.csv"
        c = order_cells(o, "gbk")
        hdr = list(ORDER_COLS.values())
        write_table(f, ["订单导出"], hdr, [[c[k] if k not in ("created_at", "paid_at") else text for k in ORDER_COLS]],
                    enc="gbk")
        write_tx(S, td / f"tx_{i}.csv")
        out = td / f"out_{i}"
        r = run(["reconcile", "--config", cfg, "--orders", f, "--transactions", td / f"tx_{i}.csv", "--out", out])
        kind = read_outcomes(out)[0]["kind"] if r.rc == 0 else None
        good = r.rc == 0 and kind == "matched"
        desc = f"time {text!r} ({why}) read as 2026-11-20 09:05 +08:00"
        got = f"rc={r.rc}, kind={kind}; {short(errmsg(r.out), 400) if r.rc else ''}"
        if text in promised:
            A.check(good, f"probe {desc}", got)
        else:
            (A.ok(f"probe (not promised) {desc}") if good else A.info(f"not accepted: {desc}: {got}"))
    # GBK files whose first Chinese character comes after ~87 KB (ASCII header, codes early, a 微信 / 金卡 later):
    # README: "Files may be UTF-8 (BOM ok) or GBK", "the file's own encoding wins"
    gd = d / "gbk_late"
    gd.mkdir()
    n = 1000
    b = io.StringIO()
    w = csv.writer(b, lineterminator="\r\n")
    w.writerow(["OrderNo", "Store", "MchID", "PayType", "PaidAmt", "State", "Created", "PaidTime", "Remark"])
    tx_rows = []
    for i in range(n + 5):
        late = i >= n
        no = f"E{i:06d}"
        w.writerow([no, "S001", M1, "微信" if late else "wechat", "12.30", "已支付" if late else "paid",
                    "2026-11-20 10:00:00", "2026-11-20 10:01:00", "顾客备注" if late else "n/a"])
        tx_rows.append(dict(channel="wechat", merchant_id=M1, channel_tx_id=f"4200E{i:06d}", order_no=no,
                            type="payment", refund_no="", channel_refund_id="", amount="12.30", fee="0.00",
                            settle_amount="12.30", status="success", occurred_at="2026-11-20T10:02:00+08:00",
                            bill_date=DAY, method=""))
    data = b.getvalue().encode("gbk")
    (gd / "pos_export_gbk.csv").write_bytes(data)
    first = next(i for i, x in enumerate(data) if x > 127)
    Sg = Scenario("E", txs=tx_rows)
    write_tx(Sg, gd / "tx.csv")
    gcfg = write_config(gd / "rules.toml", orders={"order_no": "OrderNo", "store_id": "Store", "merchant_id": "MchID",
                                                   "channel": "PayType", "amount": "PaidAmt", "status": "State",
                                                   "created_at": "Created", "paid_at": "PaidTime"}, gap=1440)
    r = run(["reconcile", "--config", gcfg, "--orders", gd / "pos_export_gbk.csv", "--transactions", gd / "tx.csv",
             "--out", gd / "out-mapped"])
    kinds = {x["kind"] for x in read_outcomes(gd / "out-mapped")} if r.rc == 0 else None
    A.check(r.rc == 0 and kinds == {"matched"},
            f"GBK ERP export with an ASCII header whose first Chinese byte is at offset {first:,}: read as GBK, "
            f"all {n + 5} matched", f"rc={r.rc}; traceback={'Traceback' in r.out}; kinds={kinds}; "
                                  f"last lines: {' | '.join(r.out.strip().splitlines()[-3:])}")
    b = io.StringIO()
    w = csv.writer(b, lineterminator="\r\n")
    w.writerow(CANON_ORDERS)
    for i in range(n + 5):
        w.writerow([f"E{i:06d}", "S001", M1, "wechat", "12.30", "paid", "2026-11-20 10:00:00", "2026-11-20 10:01:00",
                    "U1", "金卡" if i >= n else "gold", ""])
    data = b.getvalue().encode("gbk")
    (gd / "orders_canonical_gbk.csv").write_bytes(data)
    first = next(i for i, x in enumerate(data) if x > 127)
    r = run(["reconcile", "--orders", gd / "orders_canonical_gbk.csv", "--transactions", gd / "tx.csv",
             "--out", gd / "out-canonical"])
    A.check(r.rc == 0, f"canonical GBK orders CSV whose first Chinese byte is at offset {first:,} (member_level 金卡): "
                       f"read as GBK", f"rc={r.rc}; {short(errmsg(r.out), 500)}")
    # a built-in word overridden by the config (values win): 银联 = bank_card (settles through unionpay)
    S = build("V", lambda i: f"V{i:05d}")
    write_orders_csv(S, d / "v_orders.csv", enc="gbk", titles=["订单导出"])
    write_refunds_csv(S, d / "v_refunds.csv", enc="gbk")
    write_tx(S, d / "v_tx.csv")
    cfg3 = std_config(d / "rules_override.toml", method_map={**METHOD_MAP, "银联": "bank_card"})
    reconcile_files(S, d, "probe built-in word overridden (银联 = bank_card)", orders=d / "v_orders.csv",
                    refunds=d / "v_refunds.csv", tx=d / "v_tx.csv", config=cfg3)
    outs = read_outcomes(d / "out-probe_built_in_word_overridden_银联_bank_card_")
    o = next(x for x in S.orders if x.method_word == "银联")
    g = [r_ for r_ in outs if r_["outcome_id"] == f"P-{o.no}"]
    A.check(bool(g) and g[0]["order_channel"] == "bank_card",
            "probe: the configured word wins over the built-in one (order_channel bank_card for 银联)",
            f"got {[(x['kind'], x['order_channel']) for x in g]}")
    # an unknown method written in Latin letters is not refused (only Chinese ones are), stored lower-case
    S = build("E", lambda i: f"E{i:05d}")
    o = next(x for x in S.orders if x.method == "wechat" and S.expected[f"P-{x.no}"]["kind"] == "order_only")
    o.method_word = "Cash"
    write_orders_csv(S, d / "e_orders.csv", enc="gbk", titles=["订单导出"])
    write_refunds_csv(S, d / "e_refunds.csv", enc="gbk")
    write_tx(S, d / "e_tx.csv")
    r = run(["reconcile", "--config", cfg, "--orders", d / "e_orders.csv", "--refunds", d / "e_refunds.csv",
             "--transactions", d / "e_tx.csv", "--out", d / "out-cash"])
    g = [x for x in read_outcomes(d / "out-cash") if x["outcome_id"] == f"P-{o.no}"] if r.rc == 0 else []
    A.check(r.rc == 0 and g and g[0]["order_channel"] == "cash",
            "probe: a method in Latin letters nobody mapped ('Cash') is accepted and stored lower-case",
            f"rc={r.rc}; {g[0]['kind'] + '/' + g[0]['order_channel'] if g else short(r.out, 400)}")
    if g:
        A.info(f"'Cash' order without a channel record became {g[0]['kind']} ({g[0]['reason']})")
    # a total line at the bottom (合计), as many backends write: refused with its line, or ignored
    S = build("Z", lambda i: f"Z{i:05d}")
    keys = [*ORDER_COLS, "商品名称", "备注"]
    rows = [[order_cells(x, "gbk")[k] for k in keys] for x in S.orders]
    rows.append(["合计", "", "", "", yuan(sum(x.fen for x in S.orders)), "", "", "", "", ""])
    L = write_table(d / "z_orders.csv", ["订单导出"], [ORDER_COLS.get(k, k) for k in keys], rows, enc="gbk")
    write_refunds_csv(S, d / "z_refunds.csv", enc="gbk")
    write_tx(S, d / "z_tx.csv")
    r = run(["reconcile", "--config", cfg, "--orders", d / "z_orders.csv", "--refunds", d / "z_refunds.csv",
             "--transactions", d / "z_tx.csv", "--out", d / "out-total"])
    A.check(r.rc == 0 or (r.rc == 2 and f"z_orders.csv:{L[-1]}" in r.out and "Traceback" not in r.out),
            f"probe: a 合计 total line is either skipped or refused naming line {L[-1]}", short(r.out))
    A.info(f"a 合计 total line at the bottom of an ERP export: rc={r.rc}: " + errmsg(r.out).replace("\n", " | ")[:600])
    # refunds naming their merchant number: two merchant numbers, each with order O1 and refund TK1. Refund
    # numbers are unique shop-wide (README), so the files are refused as duplicates, never half-read
    kd = d / "key_scope"
    kd.mkdir()
    t = dt.datetime(2026, 11, 20, 10, 0, tzinfo=TZ)
    orders = [Order("O1", "S001", M1, "wechat", "微信", 1000, "partially_refunded", "部分退款", t, t + dt.timedelta(minutes=1)),
              Order("O1", "S002", M2, "wechat", "微信", 2000, "partially_refunded", "部分退款", t, t + dt.timedelta(minutes=1))]
    Sk = Scenario("K", orders=orders)
    write_orders_csv(Sk, kd / "订单导出.csv", enc="gbk", titles=["订单导出"], extras=())
    for i, (m, amt) in enumerate(((M1, "10.00"), (M2, "20.00"), (M1, "1.00"), (M2, "2.00"))):
        typ = "payment" if i < 2 else "refund"
        Sk.txs.append(dict(channel="wechat", merchant_id=m, channel_tx_id=f"TK{i}", order_no="O1", type=typ,
                           refund_no="TK1" if typ == "refund" else "", channel_refund_id=f"C{i}" if typ == "refund" else "",
                           amount=amt, fee="0.00", settle_amount=amt if typ == "payment" else "-" + amt,
                           status="success", occurred_at=(t + dt.timedelta(minutes=3 + 60 * (typ == "refund"))).isoformat(),
                           bill_date=DAY, method=""))
    write_tx(Sk, kd / "tx.csv")
    Sk.expected = {f"P-{M1}/O1": {"kind": "matched", "order": 1000, "channel": 1000},
                   f"P-{M2}/O1": {"kind": "matched", "order": 2000, "channel": 2000},
                   f"R-{M1}/TK1": {"kind": "refund_matched", "order": 100, "channel": 100},
                   f"R-{M2}/TK1": {"kind": "refund_matched", "order": 200, "channel": 200}}
    Sk.refunds = [Refund("TK1", "O1", 100, t + dt.timedelta(hours=1), "success", "退款成功"),
                  Refund("TK1", "O1", 200, t + dt.timedelta(hours=1), "success", "退款成功")]
    rk = [[r_.no, r_.order_no, yuan(r_.fen), fmt_time(r_.created, "dash_sec"), r_.status_word, m]
          for r_, m in zip(Sk.refunds, (M1, M2))]
    with (kd / "refunds_canonical.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*CANON_REFUNDS, "merchant_id"])
        w.writerows([[a, b_, c, dt.datetime.fromisoformat(e.replace(" ", "T")).replace(tzinfo=TZ).isoformat(),
                      "success", m] for a, b_, c, e, _, m in rk])
    write_table(kd / "退款导出_商户号.csv", ["退款导出"], [*REFUND_COLS.values(), "商户号"], rk, enc="gbk")
    write_table(kd / "退款导出_merchant_id.csv", ["退款导出"], [*REFUND_COLS.values(), "merchant_id"], rk, enc="gbk")
    ocols = dict(ORDER_COLS)
    base_cfg = dict(orders=ocols, status_map={}, method_map={})
    for label, refunds_file, rcols in (
            ("canonical refunds CSV with merchant_id", "refunds_canonical.csv", dict(REFUND_COLS)),
            ("ERP refunds export, 商户号 mapped to merchant_id", "退款导出_商户号.csv", dict(REFUND_COLS, merchant_id="商户号")),
            ("ERP refunds export with a merchant_id column (not listed)", "退款导出_merchant_id.csv", dict(REFUND_COLS))):
        cfgk = write_config(kd / f"rules_{len(label)}.toml", refunds=rcols, **base_cfg)
        txt = cfgk.read_text(encoding="utf-8").replace("[match]", '[match]\nkey_scope = ["merchant_id"]')
        cfgk.write_text(txt, encoding="utf-8")
        # README: refund numbers stay unique across the shop; a repeated one is refused (also under key_scope)
        if "merchant_id" in rcols:
            continue  # merchant_id is not a refunds column: the config itself is refused (checked by the schema)
        r = run(["reconcile", "--config", cfgk, "--orders", kd / "订单导出.csv", "--refunds", kd / refunds_file,
                 "--transactions", kd / "tx.csv", "--out", kd / f"out-{len(label)}"])
        A.check(r.rc == 2 and "duplicate" in r.out and "Traceback" not in r.out,
                f"key_scope: {label}: a refund number repeated under two merchant numbers is refused", short(r.out))


# --------------------------------------------------------------------------------------------- big
def section_big(base: Path, n: int, do_xlsx: bool):
    A.start(f"big: {n:,}-row exports (time and memory)")
    d = base / "big"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    t0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=TZ)
    methods = [("微信", "wechat"), ("支付宝", "alipay"), ("银联", "unionpay"), ("微信支付", "wechat"), ("花呗", "huabei")]
    statuses = ["已支付", "支付成功", "已付款", "已完成"]
    afmts = ["plain", "yen_fw", "thousands", "yuan", "one_dec", "int"]
    tfmts = ["dash_sec", "iso_local", "slash_sec"]
    tg0 = time.perf_counter()
    ohdr = [*ORDER_COLS.values(), "商品名称", "备注"]
    with open(d / "订单导出_big.csv", "w", encoding="gbk", newline="") as fo, \
            open(d / "orders_canonical.csv", "w", encoding="utf-8", newline="") as fc, \
            open(d / "tx.csv", "w", encoding="utf-8", newline="") as ft:
        fo.write("订单导出\r\n导出时间：2026-11-21 08:00:00\r\n")
        wo, wc, wt = csv.writer(fo, lineterminator="\r\n"), csv.writer(fc), csv.writer(ft)
        wo.writerow(ohdr)
        wc.writerow(CANON_ORDERS)
        wt.writerow(TX_COLS)
        for i in range(n):
            mw, m = methods[i % len(methods)]
            f_ = 100 + (i * 7919) % 500000
            paid = t0 + dt.timedelta(seconds=(i * 3) // 10)
            no = f"DD{20261120000000 + i}"
            tf = tfmts[i % 3]
            wo.writerow([no, f"S{i % 300:03d}", M1, mw, fmt_amount(f_, afmts[i % len(afmts)], "gbk"),
                         statuses[i % len(statuses)], fmt_time(paid - dt.timedelta(minutes=1), tf), fmt_time(paid, tf),
                         GOODS[i % len(GOODS)], NOTES[i % len(NOTES)]])
            wc.writerow([no, f"S{i % 300:03d}", M1, m, yuan(f_), "paid", (paid - dt.timedelta(minutes=1)).isoformat(),
                         paid.isoformat(), "", "", ""])
            fee = (f_ * 6 + 500) // 1000
            wt.writerow([SETTLE[m], M1, f"42{i:016d}", no, "payment", "", "", yuan(f_), yuan(fee), yuan(f_ - fee),
                         "success", (paid + dt.timedelta(seconds=30)).isoformat(), DAY, ""])
    (d / "refunds.csv").write_text(",".join(CANON_REFUNDS) + "\n", encoding="utf-8")
    gen_secs = time.perf_counter() - tg0
    cfg = std_config(d / "rules.toml")
    print(f"  generated {n:,} orders + {n:,} channel records in {gen_secs:.1f} s "
          f"({(d / '订单导出_big.csv').stat().st_size / 1e6:.1f} MB GBK export)")

    def timed(label, args, env_extra=None):
        r = run(args, env_extra=env_extra)
        A.timings[label] = {"seconds": round(r.secs, 2), "peak_rss_mb": round(r.rss_mb), "rc": r.rc}
        print(f"  time: {label}: {r.secs:.2f} s, peak RSS {r.rss_mb:.0f} MB, rc={r.rc}")
        return r

    def check_all_matched(out: Path, label: str):
        if not (out / "summary.json").exists():
            A.bad(f"{label}: no summary.json")
            return
        sj = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        bk = {b["kind"]: b["count"] for b in sj["by_kind"]}
        A.check(bk == {"matched": n} and sj.get("conservation") is True
                and sj["control_totals"]["orders"]["input_rows"] == n,
                f"{label}: all {n:,} orders matched, conservation true", f"by_kind {bk}, conservation {sj.get('conservation')}")

    r = timed("canonical CSV orders, file run", ["reconcile", "--orders", d / "orders_canonical.csv", "--refunds",
                                                  d / "refunds.csv", "--transactions", d / "tx.csv", "--out", d / "out-canon",
                                                  "--config", cfg])
    A.check(r.rc == 0, "big canonical file run exits 0", short(r.out))
    check_all_matched(d / "out-canon", "big canonical")
    tmp = d / "tmp"
    tmp.mkdir()
    r2 = timed("GBK ERP export (2 title lines, ￥/千分位/元 amounts), file run",
               ["reconcile", "--config", cfg, "--orders", d / "订单导出_big.csv", "--refunds", d / "refunds.csv",
                "--transactions", d / "tx.csv", "--out", d / "out-erp"], env_extra={"TMPDIR": str(tmp)})
    A.check(r2.rc == 0, "big ERP file run exits 0", short(r2.out))
    check_all_matched(d / "out-erp", "big ERP CSV")
    left = [str(p.relative_to(tmp)) for p in tmp.rglob("*")]
    A.check(not left, "big ERP file run: the translation's temp file is removed from $TMPDIR", f"found {left[:5]}")
    A.check(r2.secs < 300, f"big ERP file run finishes in reasonable time (< 300 s): {r2.secs:.1f} s")
    A.timings["ERP translation overhead (ERP run - canonical run)"] = {"seconds": round(r2.secs - r.secs, 2)}
    r3 = timed("ingest GBK ERP export into a fresh workspace",
               ["ingest", "--workspace", d / "W.duckdb", "--config", cfg, "--orders", d / "订单导出_big.csv",
                "--transactions", d / "tx.csv"])
    A.check(r3.rc == 0, "big ingest exits 0", short(r3.out))
    r4 = timed("ingest the same export again (already loaded)",
               ["ingest", "--workspace", d / "W.duckdb", "--config", cfg, "--orders", d / "订单导出_big.csv"])
    A.check(r4.rc == 0 and "already loaded" in r4.out, "big: the same export again is 'already loaded'", short(r4.out))
    r5 = timed("reconcile --workspace --date on the big workspace",
               ["reconcile", "--workspace", d / "W.duckdb", "--date", DAY, "--config", cfg, "--out", d / "out-ws"])
    A.check(r5.rc == 0, "big workspace reconcile exits 0", short(r5.out))
    check_all_matched(d / "out-ws", "big workspace")
    if do_xlsx:
        import xlsxwriter
        tg0 = time.perf_counter()
        wb = xlsxwriter.Workbook(str(d / "订单导出_big.xlsx"), {"constant_memory": True})
        ws = wb.add_worksheet("订单")
        dfmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        mfmt = wb.add_format({"num_format": "#,##0.00"})
        ws.write_string(0, 0, "订单导出")
        for j, h in enumerate(ohdr):
            ws.write_string(1, j, h)
        with open(d / "orders_canonical.csv", encoding="utf-8") as fc:
            rd = csv.reader(fc)
            next(rd)
            for i, row in enumerate(rd):
                rr = i + 2
                paid = dt.datetime.fromisoformat(row[7]).replace(tzinfo=None)
                ws.write_string(rr, 0, row[0])
                ws.write_string(rr, 1, row[1])
                ws.write_string(rr, 2, row[2])
                ws.write_string(rr, 3, methods[i % len(methods)][0])
                ws.write_number(rr, 4, float(row[4]), mfmt)
                ws.write_string(rr, 5, statuses[i % len(statuses)])
                ws.write_datetime(rr, 6, paid - dt.timedelta(minutes=1), dfmt)
                ws.write_datetime(rr, 7, paid, dfmt)
                ws.write_string(rr, 8, GOODS[i % len(GOODS)])
                ws.write_string(rr, 9, NOTES[i % len(NOTES)])
        wb.close()
        print(f"  wrote the .xlsx in {time.perf_counter() - tg0:.1f} s "
              f"({(d / '订单导出_big.xlsx').stat().st_size / 1e6:.1f} MB)")
        r6 = timed(".xlsx ERP export (title row, number amounts, datetime cells), file run",
                   ["reconcile", "--config", cfg, "--orders", d / "订单导出_big.xlsx", "--refunds", d / "refunds.csv",
                    "--transactions", d / "tx.csv", "--out", d / "out-xlsx"])
        A.check(r6.rc == 0, "big xlsx file run exits 0", short(r6.out))
        check_all_matched(d / "out-xlsx", "big xlsx")
        A.check(r6.secs < 300, f"big xlsx file run finishes in reasonable time (< 300 s): {r6.secs:.1f} s")


# --------------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--only", default="files,workspace,refusals,canonical,probes,big")
    ap.add_argument("--big-rows", type=int, default=200_000)
    ap.add_argument("--no-big-xlsx", action="store_true")
    a = ap.parse_args()
    only = set(a.only.split(","))
    base = a.out.resolve()
    base.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    made = None
    if only & {"files", "workspace", "refusals"}:
        made = section_files(base)
    if "workspace" in only:
        section_workspace(base, made)
    if "refusals" in only:
        section_refusals(base, made)
    if "canonical" in only:
        section_canonical(base)
    if "probes" in only:
        section_probes(base)
    if "big" in only:
        section_big(base, a.big_rows, not a.no_big_xlsx)
    report = {"agree": len(A.good), "disagree": len(A.bad_), "disagreements": A.bad_, "infos": A.infos,
              "agreements": A.good, "timings": A.timings, "seconds": round(time.perf_counter() - t0, 1)}
    (base / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\n{len(A.good)} checks agree, {len(A.bad_)} disagree ({report['seconds']} s); report: {base / 'report.json'}")
    for b in A.bad_:
        print("  DISAGREE:", b)
    for b in A.infos:
        print("  info:", b)
    if A.timings:
        print("timings:")
        for k, v in A.timings.items():
            print(f"  {k}: {v}")
    return 0 if not A.bad_ else 1


if __name__ == "__main__":
    sys.exit(main())
