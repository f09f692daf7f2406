"""Audit round 8: a generated store chain with defects of every kind, judged by a model written from the spec alone.

Written from issue 3, README.md and /work/shared/DESIGN.md only (nothing here reads src/ or the earlier audits'
models). Angles the earlier rounds did not take, each driven through the real CLI in subprocesses:

  chain      20 stores x 3 days (2026-11-20..22), 3 merchant numbers per channel (WeChat, Alipay, UnionPay) plus a
             [stores]-mapped fourth, Huabei through Alipay, balance; every defect the issue names drawn at random
             with a seed, and combinations on one order: a duplicate payment whose second copy has a wrong amount
             (and is then partly refunded), a partial refund + a refund_channel_only on one order, an order paid on
             WeChat and on Alipay, a refund whose record is on a later day's bill, a payment record 2 days late,
             a record listed twice, a closed attempt before the payment, time_mismatch, merchant_mismatch ...
             One file run: per outcome id the kind, fen amounts, difference sign and rows per side; summary.json's
             control totals against this script's own sums of the files; a rerun gives identical outcomes.csv.
  scope      the same chain (plus order numbers reused by two merchant numbers) under key_scope = ["merchant_id"]:
             P-<merchant>/<order_no> ids; a payment under another merchant number is another key.
  workspace  ingest day 1 (an export with typos), day 3 before day 2, the same file again (nothing changes), a
             corrected re-export of day 1 (same order numbers, new amounts), the first export once more (still the
             correction wins); day runs 1, 3, 2 then 1..3 again, the month report's counts per kind; a --from/--to
             run over the final data must equal the file run over the final data, id for id.
  spark      a slice of a few hundred rows on --engine spark: outcomes.csv identical to DuckDB's (every column).
  erp        the slice's orders/refunds as an ERP export (Chinese headers, GBK, "1,234.50", "¥12.00", zone-less
             "2026/11/20 10:05", Chinese status words) under [inputs.*] mapping: same outcomes as the canonical run.
  badinput   ~17 malformed files (and BOM / CRLF / trailing blank lines / header only, which are fine) ingested into
             a workspace: exit code, `file:line [field]` in the message, the workspace's tables unchanged.

    PYTHONPATH=src .venv/bin/python bench/audit_round8.py [--seed 8] [--keep DIR] [--only chain,scope,...]

Prints "N agree, M disagree" and each disagreement (exit 1 when any). Judgement calls (the spec is silent) are
printed as JUDGEMENT and not counted as disagreements; where the spec leaves a kind open the model accepts a set
(an order with a wrong amount AND a closed status: status_mismatch or amount_mismatch).

Found (2026-12-05, helper-98; on main 29,413 agree / 23 disagree, after the fix 29,420 / 0 in 133-189 s, seeds 8-12 0):
- a record a bill lists twice (its own duplicate_record), delivered again by a file that lists it twice too (the
  bill downloaded again under another name, an overlapping platform export), was stored and counted once more per
  delivery: the file's first listing was taken as delivered again, its second always kept. A workspace grew a
  third copy, a file run over three such files four; the month report's channel payments and the duplicate's
  amount grew with each re-download. Now a later file's n-th listing of the same values is delivered again when an
  earlier file lists it n times (the most any file lists it counts), in the workspace, a file run and a file run
  into a workspace (tests/core/test_overlapping_export_states.py).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DAYS = ["2026-11-20", "2026-11-21", "2026-11-22"]
ORDER_COLS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at",
              "member_id", "member_level", "instalments"]
REFUND_COLS = ["refund_no", "order_no", "amount", "created_at", "status"]
TX_COLS = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id", "amount",
           "fee", "status", "occurred_at", "bill_date", "method"]
MERCHANTS = {"wechat": ["1900000101", "1900000102", "1900000103"],
             "alipay": ["2088000000000011", "2088000000000012", "2088000000000013"],
             "unionpay": ["898310000000001", "898310000000002", "898310000000003"]}
MAPPED_MERCHANT = ("wechat", "1900000199", "S020")  # [stores] rule: this number's records belong to S020
SETTLE = {"wechat": "wechat", "alipay": "alipay", "huabei": "alipay", "unionpay": "unionpay"}


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def ts(day: str, hh: int, mm: int, ss: int = 0) -> str:
    return f"{day}T{hh:02d}:{mm:02d}:{ss:02d}+08:00"


@dataclass
class Exp:
    """What the spec says one outcome must be (None = not checked)."""
    kind: str
    order_rows: int
    channel_rows: int
    order_fen: int | None = None
    channel_fen: int | None = None
    diff: int | None = None
    store: str | None = None
    why: str = ""


@dataclass
class Chain:
    orders: list = field(default_factory=list)        # final rows (dicts)
    refunds: list = field(default_factory=list)
    tx: list = field(default_factory=list)
    exp: dict = field(default_factory=dict)           # plain mode: outcome_id (or D-prefix) -> Exp
    exp_scope: dict = field(default_factory=dict)     # key_scope = ["merchant_id"]
    typo_orders: dict = field(default_factory=dict)   # order_no -> {column: wrong value} in day 1's first export
    typo_refunds: dict = field(default_factory=dict)  # refund_no -> wrong amount in day 1's first refunds export
    day_of: dict = field(default_factory=dict)        # outcome id -> index of the day whose run judges it
    day1: dict = field(default_factory=dict)          # outcome id -> kinds day 1's first run gives (None: absent)
    early_status: dict = field(default_factory=dict)  # order_no -> status in its creation day's export


class Gen:
    """Draws the chain: every scenario writes its rows and the outcomes the spec implies for them."""

    def __init__(self, seed: int, stores: int, per_day: int):
        self.r = random.Random(seed)
        self.c = Chain()
        self.n = 0
        self.stores = [f"S{i:03d}" for i in range(1, stores + 1)]
        self.per_day = per_day

    # -- helpers --------------------------------------------------------------------------------------------
    def merchant(self, store: str, channel: str, shift: int = 0) -> str:
        i = int(store[1:]) - 1
        return MERCHANTS[channel][(i + shift) % 3]

    def txid(self, channel: str) -> str:
        self.n += 1
        return {"wechat": "42000", "alipay": "2026112", "unionpay": "UP"}[channel] + f"{self.n:012d}"

    def amount(self) -> int:
        return self.r.choice([self.r.randint(100, 9999), self.r.randint(10000, 200000), 123450, 1200])

    def order(self, no, store, method, fen, status, day, hh, mm, ss=0, merchant=None):
        channel = SETTLE.get(method)
        paid = status in ("paid", "refunded", "partially_refunded")
        row = {"order_no": no, "store_id": store,
               "merchant_id": merchant or (self.merchant(store, channel) if channel else ""),
               "channel": method, "amount": yuan(fen), "status": status,
               "created_at": ts(day, hh, max(mm - 1, 0), ss), "paid_at": ts(day, hh, mm, ss) if paid else "",
               "member_id": f"U{self.r.randint(1, 400)}", "member_level": str(self.r.randint(0, 3)),
               "instalments": "0"}
        self.c.orders.append(row)
        return row

    def pay(self, order_no, channel, merchant, fen, day, hh, mm, ss, bill=None, status="success", method=""):
        tx = {"channel": channel, "merchant_id": merchant, "channel_tx_id": self.txid(channel), "order_no": order_no,
              "type": "payment", "refund_no": "", "channel_refund_id": "", "amount": yuan(fen),
              "fee": yuan(fen * 6 // 1000), "status": status, "occurred_at": ts(day, hh, mm, ss),
              "bill_date": bill or day, "method": method}
        self.c.tx.append(tx)
        return tx

    def refund_rec(self, pay_tx, refund_no, fen, day, hh, mm, bill=None):
        self.n += 1
        tx = dict(pay_tx, type="refund", refund_no=refund_no, channel_refund_id=f"CR{self.n:012d}", amount=yuan(fen),
                  fee=yuan(-(fen * 6 // 1000)), status="success", occurred_at=ts(day, hh, mm, 30), bill_date=bill or day)
        self.c.tx.append(tx)
        return tx

    def shop_refund(self, refund_no, order_no, fen, day, hh, mm, status="success"):
        self.c.refunds.append({"refund_no": refund_no, "order_no": order_no, "amount": yuan(fen),
                               "created_at": ts(day, hh, mm), "status": status})

    def expect(self, oid, e: Exp, scope: dict | None = None):
        self.c.exp[oid] = e
        self.c.day_of[oid] = self.cur_d
        for sid, se in (scope if scope is not None else {self.scope_id(oid, e): e}).items():
            self.c.exp_scope[sid] = se

    def scope_id(self, oid, e):
        return oid  # refunds and D- ids keep their id; payments are given explicitly

    # -- the chain ------------------------------------------------------------------------------------------
    def build(self) -> Chain:
        kinds = [("clean", 40), ("balance", 3), ("balance_refund", 2), ("unpaid", 3), ("closed_attempt", 2),
                 ("retry", 3), ("order_only", 3), ("channel_only", 3), ("amount_mismatch", 4),
                 ("status_mismatch", 2), ("dup_same", 2), ("dup_wrong_amount", 2), ("dup_two_channels", 2),
                 ("dup_next_day", 2), ("dup_record", 2), ("cross_day", 2), ("pending", 2), ("late2", 2),
                 ("time_mismatch", 1), ("channel_mismatch", 2), ("merchant_mismatch", 2), ("refund_full", 4),
                 ("refund_next_day", 3), ("refund_partial_plus_console", 3), ("refund_order_only", 2),
                 ("refund_amount_mismatch", 2), ("dup_wrong_refund", 2), ("refund_late2", 2), ("typo", 5),
                 ("refund_typo", 1),
                 ("mapped_channel_only", 1)]
        names, weights = zip(*kinds)
        for d, day in enumerate(DAYS):
            self.cur_d = d
            for store in self.stores:
                for seq in range(self.per_day):
                    k = self.r.choices(names, weights)[0]
                    no = f"SO{day[5:7]}{day[8:]}{store[1:]}{seq:04d}"
                    getattr(self, "s_" + k)(no, store, d, day)
        return self.c

    def method(self):
        return self.r.choice(["wechat", "wechat", "alipay", "alipay", "huabei", "unionpay"])

    def clock(self):
        return self.r.randint(8, 21), self.r.randint(1, 58), self.r.randint(0, 50)

    def paid_clean(self, no, store, day, method=None, status="paid", fen=None):
        method = method or self.method()
        fen = fen or self.amount()
        hh, mm, ss = self.clock()
        o = self.order(no, store, method, fen, status, day, hh, mm, ss)
        ch = SETTLE[method]
        tx = self.pay(no, ch, o["merchant_id"], fen, day, hh, mm, ss + 5, method="huabei" if method == "huabei" else "")
        return o, tx, fen, (hh, mm)

    def pid(self, o, merchant=None):
        return f"P-{o['order_no']}", f"P-{merchant or o['merchant_id']}/{o['order_no']}"

    def one(self, o, e: Exp):
        p, ps = self.pid(o)
        self.expect(p, e, {ps: e})

    # each s_<kind> writes the rows of one order (or record) and its expected outcomes
    def s_clean(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day)
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "order and one successful payment agree"))

    def s_typo(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day)
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "corrected re-export: the latest row wins"))
        if d == 0:  # day 1's first export had a typo; its re-export corrects it
            other = self.stores[(self.stores.index(store) + 1) % len(self.stores)]
            typo, kinds = self.r.choice([
                ({"amount": yuan(fen + self.r.choice([-100, 1000, 9]))}, {"amount_mismatch"}),
                ({"status": "unpaid", "paid_at": ""}, {"status_mismatch"}),
                # paid "the next day": the day-1 record carries it in, 5 s short of 24 h from its paid time
                ({"paid_at": DAYS[1] + o["paid_at"][10:]}, {"matched"}),
                ({"store_id": other}, {"matched"}),
                ({"channel": "alipay" if o["channel"] != "alipay" else "wechat"},
                 {"matched" if o["channel"] == "huabei" else "channel_mismatch"}),
                # two breaks at once: which one names the outcome the spec does not say
                ({"amount": yuan(fen + 1), "status": "closed"}, {"status_mismatch", "amount_mismatch"})])
            self.c.typo_orders[no] = typo
            self.c.day1[f"P-{no}"] = kinds

    def s_refund_typo(self, no, store, d, day):
        self.s_refund_full(no, store, d, day)
        if d == 0:  # day 1's first refunds export had the amount wrong; its re-export corrects it
            r = self.c.refunds[-1]
            self.c.typo_refunds[r["refund_no"]] = yuan(fen_of(r["amount"]) - 50)
            self.c.day1[f"R-{r['refund_no']}"] = {"refund_amount_mismatch"}

    def s_balance(self, no, store, d, day):
        fen = self.amount()
        hh, mm, ss = self.clock()
        self.order(no, store, "balance", fen, "paid", day, hh, mm, ss, merchant="")
        p = f"P-{no}"
        e = Exp("internal", 1, 0, fen, None, None, store, "stored-value order: no external record")
        self.expect(p, e, {f"P-/{no}": e})

    def s_balance_refund(self, no, store, d, day):
        fen = self.amount()
        hh, mm, ss = self.clock()
        self.order(no, store, "balance", fen, "refunded", day, hh, mm, ss, merchant="")
        e = Exp("internal", 1, 0, fen, None, None, store, "stored-value order refunded")
        self.expect(f"P-{no}", e, {f"P-/{no}": e})
        self.shop_refund(f"RF{no}", no, fen, day, min(hh + 1, 22), 5)
        self.expect(f"R-RF{no}", Exp("internal", 1, 0, fen, None, None, None, "a balance order's refund is paid back there"))

    def s_unpaid(self, no, store, d, day):
        hh, mm, ss = self.clock()
        o = self.order(no, store, self.method(), self.amount(), self.r.choice(["unpaid", "closed"]), day, hh, mm, ss)
        self.one(o, Exp("unpaid", 1, 0, None, None, None, store, "not paid, no payment"))

    def s_closed_attempt(self, no, store, d, day):
        hh, mm, ss = self.clock()
        method = self.r.choice(["wechat", "alipay"])
        fen = self.amount()
        o = self.order(no, store, method, fen, "closed", day, hh, mm, ss)
        self.pay(no, method, o["merchant_id"], fen, day, hh, mm, ss + 3, status="closed")
        self.one(o, Exp("unpaid", 1, 1, None, None, None, store, "closed order, closed attempt: consistent"))

    def s_retry(self, no, store, d, day):
        method = self.r.choice(["wechat", "alipay"])
        fen = self.amount()
        hh, mm, ss = self.clock()
        o = self.order(no, store, method, fen, "paid", day, hh, mm, ss + 8)
        self.pay(no, method, o["merchant_id"], fen, day, hh, mm, ss, status="closed")
        self.pay(no, method, o["merchant_id"], fen, day, hh, mm, ss + 9)
        self.one(o, Exp("matched", 1, 2, fen, None, 0, store, "a closed attempt beside the success is no break"))

    def s_order_only(self, no, store, d, day):
        hh, mm, ss = self.clock()
        fen = self.amount()
        o = self.order(no, store, self.method(), fen, "paid", day, hh, mm, ss)
        self.one(o, Exp("order_only", 1, 0, fen, None, None, store, "order paid, no channel payment"))

    def s_channel_only(self, no, store, d, day):
        hh, mm, ss = self.clock()
        ch = self.r.choice(["wechat", "alipay", "unionpay"])
        m = self.merchant(store, ch)
        fen = self.amount()
        self.pay("X" + no, ch, m, fen, day, hh, mm, ss)
        e = Exp("channel_only", 0, 1, None, fen, None, None, "channel payment, no order")
        self.expect(f"P-X{no}", e, {f"P-{m}/X{no}": e})

    def s_mapped_channel_only(self, no, store, d, day):
        ch, m, st = MAPPED_MERCHANT
        fen = self.amount()
        self.pay("X" + no, ch, m, fen, day, 12, 0, 0)
        e = Exp("channel_only", 0, 1, None, fen, None, st, "[stores] maps its merchant number to the store")
        self.expect(f"P-X{no}", e, {f"P-{m}/X{no}": e})

    def s_amount_mismatch(self, no, store, d, day):
        fen = self.amount()
        delta = self.r.choice([-1, 1, -37, 250, 1])
        hh, mm, ss = self.clock()
        method = self.method()
        o = self.order(no, store, method, fen, "paid", day, hh, mm, ss)
        self.pay(no, SETTLE[method], o["merchant_id"], fen + delta, day, hh, mm, ss + 4)
        self.one(o, Exp("amount_mismatch", 1, 1, fen, fen + delta, delta, store, "difference = channel - order"))

    def s_status_mismatch(self, no, store, d, day):
        fen = self.amount()
        hh, mm, ss = self.clock()
        method = self.r.choice(["wechat", "alipay", "unionpay"])
        o = self.order(no, store, method, fen, self.r.choice(["closed", "unpaid"]), day, hh, mm, ss)
        self.pay(no, method, o["merchant_id"], fen, day, hh, mm, ss + 4)
        self.one(o, Exp("status_mismatch", 1, 1, fen, fen, None, store, "order not paid but channel success"))

    def _dup(self, no, store, day, second_fen_delta=0, second_channel=None, second_bill=None):
        o, tx, fen, (hh, mm) = self.paid_clean(no, store, day, method=self.r.choice(["wechat", "alipay"]))
        ch2 = second_channel or tx["channel"]
        m2 = self.merchant(store, ch2)
        self.pay(no, ch2, m2, fen + second_fen_delta, day, hh, min(mm + 1, 59), 10, bill=second_bill)
        return o, tx, fen, m2

    def s_dup_same(self, no, store, d, day):
        o, tx, fen, _ = self._dup(no, store, day)
        self.one(o, Exp("duplicate_payment", 1, 2, fen, None, None, store, "two successful payments, one channel"))

    def s_dup_wrong_amount(self, no, store, d, day):
        o, tx, fen, _ = self._dup(no, store, day, second_fen_delta=self.r.choice([-50, 3]))
        self.one(o, Exp("duplicate_payment", 1, 2, fen, None, None, store,
                        "two successful payments, one of another amount: still >= 2 payments"))

    def s_dup_two_channels(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day, method="wechat")
        m2 = self.merchant(store, "alipay")
        self.pay(no, "alipay", m2, fen, day, 22, 30, 0)
        p, ps = self.pid(o)
        self.expect(p, Exp("duplicate_payment", 1, 2, fen, None, None, store, "paid on WeChat and on Alipay"),
                    {ps: Exp("matched", 1, 1, fen, fen, 0, store, "key_scope: the Alipay payment is another key"),
                     f"P-{m2}/{no}": Exp("channel_only", 0, 1, None, fen, None, None,
                                         "key_scope: no order under the Alipay merchant number")})

    def s_dup_next_day(self, no, store, d, day):
        if d == 2:
            return self.s_dup_same(no, store, d, day)
        o, tx, fen, _ = self._dup(no, store, day, second_bill=DAYS[d + 1])
        self.one(o, Exp("duplicate_payment", 1, 2, fen, None, None, store, "second payment on the next day's bill"))
        self.c.day1[f"P-{no}"] = {"matched"}  # (only used for day 1's orders)

    def s_dup_record(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day)
        self.c.tx.append(dict(tx))  # the same bill lists the record twice
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "the record's first copy is matched"))
        self.expect(f"D-{tx['channel']}:{tx['channel_tx_id']}:payment:",
                    Exp("duplicate_record", 0, 1, None, None, None, None, "the extra copy of a record"))

    def s_cross_day(self, no, store, d, day):
        if d == 2:
            return self.s_pending(no, store, d, day)
        method = self.r.choice(["wechat", "alipay"])
        fen = self.amount()
        o = self.order(no, store, method, fen, "paid", day, 23, 56, 0)
        self.pay(no, method, o["merchant_id"], fen, day, 23, 56, 20, bill=DAYS[d + 1])
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "paid before midnight, on the next day's bill"))
        self.c.day1[f"P-{no}"] = {"pending_cross_day"}

    def s_pending(self, no, store, d, day):
        if d != 2:
            return self.s_cross_day(no, store, d, day)
        method = self.r.choice(["wechat", "alipay"])
        fen = self.amount()
        o = self.order(no, store, method, fen, "paid", day, 23, 55, 0)
        self.one(o, Exp("pending_cross_day", 1, 0, fen, None, None, store, "paid within the grace before the end"))

    def s_late2(self, no, store, d, day):
        if d != 0:
            return self.s_clean(no, store, d, day)
        o, tx, fen, _ = self.paid_clean(no, store, day)
        tx["bill_date"] = DAYS[2]
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "record 2 days late on the bill, same time"))
        self.c.day1[f"P-{no}"] = {"order_only"}

    def s_time_mismatch(self, no, store, d, day):
        if d != 2:
            return self.s_clean(no, store, d, day)
        method = self.r.choice(["wechat", "alipay"])
        fen = self.amount()
        o = self.order(no, store, method, fen, "paid", day, 15, 0, 0)
        self.pay(no, method, o["merchant_id"], fen, DAYS[0], 10, 0, 0)
        self.one(o, Exp("time_mismatch", 1, 1, fen, fen, None, store, "channel time 53 h before the paid time"))
        self.c.day1[f"P-{no}"] = {"channel_only"}  # on day 1's bill; the order is in day 3's export

    def s_channel_mismatch(self, no, store, d, day):
        fen = self.amount()
        hh, mm, ss = self.clock()
        o = self.order(no, store, "wechat", fen, "paid", day, hh, mm, ss)
        m2 = self.merchant(store, "alipay")
        self.pay(no, "alipay", m2, fen, day, hh, mm, ss + 3)
        p, ps = self.pid(o)
        self.expect(p, Exp("channel_mismatch", 1, 1, fen, fen, None, store, "WeChat order paid through Alipay"),
                    {ps: Exp("order_only", 1, 0, fen, None, None, store, "key_scope: no payment under its number"),
                     f"P-{m2}/{no}": Exp("channel_only", 0, 1, None, fen, None, None, "key_scope: another key")})

    def s_merchant_mismatch(self, no, store, d, day):
        fen = self.amount()
        hh, mm, ss = self.clock()
        o = self.order(no, store, "wechat", fen, "paid", day, hh, mm, ss)
        m2 = self.merchant(store, "wechat", shift=1)
        self.pay(no, "wechat", m2, fen, day, hh, mm, ss + 3)
        p, ps = self.pid(o)
        self.expect(p, Exp("merchant_mismatch", 1, 1, fen, fen, None, store, "credited to another merchant number"),
                    {ps: Exp("order_only", 1, 0, fen, None, None, store, "key_scope: no payment under its number"),
                     f"P-{m2}/{no}": Exp("channel_only", 0, 1, None, fen, None, None, "key_scope: another key")})

    def s_refund_full(self, no, store, d, day):
        o, tx, fen, (hh, mm) = self.paid_clean(no, store, day, status="refunded")
        self.c.early_status[no] = "refunded"
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "refunded order: paid, its payment matched"))
        self.shop_refund(f"RF{no}", no, fen, day, 22, 10)
        self.refund_rec(tx, f"RF{no}", fen, day, 22, 10)
        self.expect(f"R-RF{no}", Exp("refund_matched", 1, 1, fen, fen, 0, None, "full refund, same day"))

    def s_refund_next_day(self, no, store, d, day):
        if d == 2:
            return self.s_refund_full(no, store, d, day)
        o, tx, fen, _ = self.paid_clean(no, store, day, status="partially_refunded")
        if d == 0:  # day 1's first export still says paid (day 2's lists it again, refunded in part)
            self.c.early_status[no] = "paid"
        part = max(fen // 3, 1)
        self.shop_refund(f"RF{no}", no, part, DAYS[d + 1], 10, 0)
        self.refund_rec(tx, f"RF{no}", part, DAYS[d + 1], 10, 0)
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "payment matched"))
        self.expect(f"R-RF{no}", Exp("refund_matched", 1, 1, part, part, 0, None, "refund on the next day"))
        self.c.day1[f"R-RF{no}"] = None

    def s_refund_partial_plus_console(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day, status="partially_refunded", fen=self.r.randint(1000, 90000))
        a, b = fen * 3 // 10, fen * 2 // 10
        self.shop_refund(f"RF{no}", no, a, day, 22, 0)
        self.refund_rec(tx, f"RF{no}", a, day, 22, 1)
        self.refund_rec(tx, f"RC{no}", b, day, 22, 20)  # made in the merchant console, never recorded by the shop
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "payment matched"))
        self.expect(f"R-RF{no}", Exp("refund_matched", 1, 1, a, a, 0, None, "partial refund"))
        e = Exp("refund_channel_only", 0, 1, None, b, None, None, "console refund of the same order")
        self.expect(f"R-RC{no}", e, {f"R-{tx['merchant_id']}/RC{no}": e})  # key_scope: keyed by its merchant number

    def s_refund_order_only(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day, status="refunded")
        self.shop_refund(f"RF{no}", no, fen, day, 21, 30)
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "payment matched"))
        self.expect(f"R-RF{no}", Exp("refund_order_only", 1, 0, fen, None, None, None, "shop refund, no channel refund"))

    def s_refund_amount_mismatch(self, no, store, d, day):
        o, tx, fen, _ = self.paid_clean(no, store, day, status="partially_refunded", fen=self.r.randint(2000, 90000))
        part = fen // 2
        delta = self.r.choice([-1, 100])
        self.shop_refund(f"RF{no}", no, part, day, 22, 0)
        self.refund_rec(tx, f"RF{no}", part + delta, day, 22, 0)
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "payment matched"))
        self.expect(f"R-RF{no}", Exp("refund_amount_mismatch", 1, 1, part, part + delta, delta, None,
                                     "difference = channel - shop"))

    def s_dup_wrong_refund(self, no, store, d, day):
        o, tx, fen, _ = self._dup(no, store, day, second_fen_delta=-20)
        o["status"] = "partially_refunded"
        part = fen // 4 or 1
        self.shop_refund(f"RF{no}", no, part, day, 22, 40)
        self.refund_rec(tx, f"RF{no}", part, day, 22, 40)
        self.one(o, Exp("duplicate_payment", 1, 2, fen, None, None, store, "double payment, one wrong, partly refunded"))
        self.expect(f"R-RF{no}", Exp("refund_matched", 1, 1, part, part, 0, None, "its refund agrees"))

    def s_refund_late2(self, no, store, d, day):
        if d != 0:
            return self.s_refund_full(no, store, d, day)
        o, tx, fen, _ = self.paid_clean(no, store, day, status="refunded")
        self.shop_refund(f"RF{no}", no, fen, day, 22, 15)
        self.refund_rec(tx, f"RF{no}", fen, day, 22, 15, bill=DAYS[2])
        self.one(o, Exp("matched", 1, 1, fen, fen, 0, store, "payment matched"))
        self.expect(f"R-RF{no}", Exp("refund_matched", 1, 1, fen, fen, 0, None, "refund record 2 days late"))
        self.c.day1[f"R-RF{no}"] = {"refund_order_only"}


# -- files -------------------------------------------------------------------------------------------------------
def write_csv(path: Path, cols, rows, *, encoding="utf-8", newline="\n"):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, lineterminator=newline, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def fen_of(s: str) -> int:
    neg = s.startswith("-")
    s = s.lstrip("-")
    a, _, b = s.partition(".")
    v = int(a or 0) * 100 + int((b + "00")[:2])
    return -v if neg else v


def config(path: Path, *, scope=False, extra=""):
    path.write_text(
        "[match]\n"
        + ('key_scope = ["merchant_id"]\n' if scope else "key_scope = []\n") +
        "[report]\ngroup_by = [\"store_id\"]\nlang = \"en\"\n"
        f"[stores]\n\"{MAPPED_MERCHANT[1]}\" = \"{MAPPED_MERCHANT[2]}\"\n" + extra, encoding="utf-8")
    return path


# -- running the CLI ---------------------------------------------------------------------------------------------
def cli(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), COLUMNS="200", NO_COLOR="1", TERM="dumb")
    p = subprocess.run([PY, "-m", "paymatch", *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def read_outcomes(out: Path) -> dict:
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["outcome_id"]: r for r in rows}


class Tally:
    def __init__(self):
        self.agree = 0
        self.bad = []
        self.judge = []

    def check(self, ok: bool, where: str, msg: str):
        if ok:
            self.agree += 1
        else:
            self.bad.append(f"DISAGREE {where}: {msg}")
            print(self.bad[-1], flush=True)
        return ok

    def judgement(self, where: str, msg: str):
        self.judge.append(f"JUDGEMENT {where}: {msg}")
        print(self.judge[-1], flush=True)


def i_or_none(s):
    return int(s) if s not in ("", None) else None


def compare(t: Tally, run: str, got: dict, exp: dict):
    """Each expected outcome against outcomes.csv, then every outcome the model did not expect."""
    dprefix = {k: v for k, v in exp.items() if k.startswith("D-")}
    seen = set()
    for oid, e in exp.items():
        if oid.startswith("D-"):
            hits = [k for k in got if k.startswith(oid)]
            if not t.check(len(hits) == 1, f"{run} {oid}*", f"expected one duplicate_record outcome, got {hits}"):
                continue
            oid_got = hits[0]
        else:
            oid_got = oid
            if not t.check(oid in got, f"{run} {oid}", f"missing; expected {e.kind} ({e.why})"):
                continue
        seen.add(oid_got)
        g = got[oid_got]
        ctx = f"{run} {oid_got} [{e.why}]"
        t.check(g["kind"] == e.kind, ctx, f"kind {g['kind']} != {e.kind}; reason: {g['reason']}")
        t.check(int(g["order_rows"] or 0) == e.order_rows and int(g["channel_rows"] or 0) == e.channel_rows, ctx,
                f"rows order/channel {g['order_rows']}/{g['channel_rows']} != {e.order_rows}/{e.channel_rows}")
        if e.order_fen is not None:
            t.check(i_or_none(g["order_amount_fen"]) == e.order_fen, ctx,
                    f"order_amount_fen {g['order_amount_fen']} != {e.order_fen}")
        if e.channel_fen is not None:
            t.check(i_or_none(g["channel_amount_fen"]) == e.channel_fen, ctx,
                    f"channel_amount_fen {g['channel_amount_fen']} != {e.channel_fen}")
        if e.diff is not None:
            t.check((i_or_none(g["difference_fen"]) or 0) == e.diff, ctx,
                    f"difference_fen {g['difference_fen']} != {e.diff} (channel - order)")
        if e.store is not None:
            t.check(g["store_id"] == e.store, ctx, f"store_id {g['store_id']!r} != {e.store!r}")
    extra = sorted(set(got) - seen)
    t.check(not extra, f"{run}", f"{len(extra)} outcomes the model did not expect: "
            + "; ".join(f"{k} {got[k]['kind']} ({got[k]['reason'][:90]})" for k in extra[:8]))
    del dprefix


def tie_out(t: Tally, run: str, out: Path, orders, refunds, tx):
    """summary.json's control totals against this script's own sums of the input files; outcomes against both."""
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    got = read_outcomes(out)
    mine = {"orders": (len(orders), sum(fen_of(r["amount"]) for r in orders)),
            "refunds": (len(refunds), sum(fen_of(r["amount"]) for r in refunds)),
            "transactions": (len(tx), sum(fen_of(r["amount"]) for r in tx))}
    ct = s.get("control_totals", {})
    for side, (n, fen) in mine.items():
        c = ct.get(side, {})
        t.check((c.get("input_rows"), c.get("input_fen")) == (n, fen), f"{run} control_totals.{side}",
                f"input {c.get('input_rows')} rows / {c.get('input_fen')} fen != files' {n} / {fen}")
        t.check((c.get("outcome_rows"), c.get("outcome_fen")) == (n, fen), f"{run} control_totals.{side}",
                f"outcomes {c.get('outcome_rows')} rows / {c.get('outcome_fen')} fen != files' {n} / {fen}")
    t.check(s.get("conservation") is True, f"{run} summary", "conservation is not true")
    shop_rows = sum(int(r["order_rows"] or 0) for r in got.values())
    ch_rows = sum(int(r["channel_rows"] or 0) for r in got.values())
    t.check(shop_rows == len(orders) + len(refunds), f"{run} outcomes.csv",
            f"sum(order_rows) {shop_rows} != orders+refunds {len(orders) + len(refunds)}")
    t.check(ch_rows == len(tx), f"{run} outcomes.csv", f"sum(channel_rows) {ch_rows} != transactions {len(tx)}")
    by_kind = {}
    for r in got.values():
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + 1
    sk = {k["kind"]: k["count"] for k in s.get("by_kind", [])}
    t.check(sk == by_kind, f"{run} summary.by_kind", f"{sk} != outcomes.csv {by_kind}")
    return got


def same_outcomes(t: Tally, run: str, a: dict, b: dict, cols=None):
    """Two runs' outcomes, id for id (every column, or the ones named)."""
    t.check(set(a) == set(b), run, f"ids differ: only in first {sorted(set(a) - set(b))[:6]}, "
            f"only in second {sorted(set(b) - set(a))[:6]}")
    n = 0
    for k in sorted(set(a) & set(b)):
        ra, rb = a[k], b[k]
        diff = [c for c in (cols or ra.keys()) if ra.get(c) != rb.get(c)]
        if diff:
            n += 1
            if n <= 8:
                t.check(False, f"{run} {k}", "; ".join(f"{c}: {ra.get(c)!r} vs {rb.get(c)!r}" for c in diff[:4]))
    if n > 8:
        t.check(False, run, f"... and {n - 8} more ids differ")
    if n == 0:
        t.check(True, run, "")


# -- parts -------------------------------------------------------------------------------------------------------
def tx_by_day(c: Chain):
    return {day: [x for x in c.tx if x["bill_date"] == day] for day in DAYS}


def part_chain(t: Tally, c: Chain, d: Path):
    d.mkdir(parents=True, exist_ok=True)
    orders = write_csv(d / "orders.csv", ORDER_COLS, c.orders)
    refunds = write_csv(d / "refunds.csv", REFUND_COLS, c.refunds)
    txs = [write_csv(d / f"tx_{day}.csv", TX_COLS, rows) for day, rows in tx_by_day(c).items()]
    cfg = config(d / "rules.toml")
    args = ["reconcile", "--config", cfg, "--orders", orders, "--refunds", refunds]
    for p in txs:
        args += ["--transactions", p]
    rc, out = cli(*args, "--out", d / "out")
    if not t.check(rc == 0, "chain file run", f"exit {rc}: {out[-800:]}"):
        return None
    got = tie_out(t, "chain", d / "out", c.orders, c.refunds, c.tx)
    compare(t, "chain", got, c.exp)
    again = [write_csv(d / "platform_export_1120_1121.csv", TX_COLS, overlap_export(c)),
             d / "bill_1121_downloaded_again.csv"]
    shutil.copyfile(txs[1], again[1])
    rc, out = cli(*args, "--transactions", again[0], "--transactions", again[1], "--out", d / "out3")
    if t.check(rc == 0, "chain file run with records delivered again", f"exit {rc}: {out[-600:]}"):
        same_outcomes(t, "chain file run + an overlapping export + a bill downloaded twice", read_outcomes(d / "out3"),
                      got, [k for k in got[next(iter(got))] if k not in ("reason",)])
        s3 = json.loads((d / "out3" / "summary.json").read_text(encoding="utf-8"))
        t.check(bool(s3.get("input_notes")), "chain file run with records delivered again",
                "summary.json's input_notes do not say that records were delivered twice")
    rc, out = cli(*args, "--out", d / "out2")
    t.check(rc == 0 and (d / "out" / "outcomes.csv").read_bytes() == (d / "out2" / "outcomes.csv").read_bytes()
            or read_outcomes(d / "out") == read_outcomes(d / "out2"), "chain rerun", "rerun outcomes differ")
    return got


def part_scope(t: Tally, c: Chain, g: Gen, d: Path):
    """key_scope = ["merchant_id"]: the chain plus order numbers two merchant numbers' tills both use."""
    d.mkdir(parents=True, exist_ok=True)
    orders, tx, exp = list(c.orders), list(c.tx), dict(c.exp_scope)
    for i, o in enumerate([o for o in c.orders if o["channel"] == "wechat" and o["status"] == "paid"][:12]):
        taken = {o["merchant_id"]} | {x["merchant_id"] for x in c.tx if x["order_no"] == o["order_no"]}
        m2 = next((m for m in MERCHANTS["wechat"] if m not in taken), None)
        if m2 is None:
            continue
        fen = 5000 + i
        orders.append(dict(o, merchant_id=m2, amount=yuan(fen), store_id="S020"))
        tx.append({"channel": "wechat", "merchant_id": m2, "channel_tx_id": f"SC{i:010d}", "order_no": o["order_no"],
                   "type": "payment", "refund_no": "", "channel_refund_id": "", "amount": yuan(fen), "fee": "0.30",
                   "status": "success", "occurred_at": o["paid_at"], "bill_date": o["paid_at"][:10], "method": ""})
        exp[f"P-{m2}/{o['order_no']}"] = Exp("matched", 1, 1, fen, fen, 0, "S020", "same order number, other merchant")
    of = write_csv(d / "orders.csv", ORDER_COLS, orders)
    rf = write_csv(d / "refunds.csv", REFUND_COLS, c.refunds)
    tf = write_csv(d / "tx.csv", TX_COLS, tx)
    rc, out = cli("reconcile", "--config", config(d / "rules.toml", scope=True), "--orders", of, "--refunds", rf,
                  "--transactions", tf, "--out", d / "out")
    if not t.check(rc == 0, "scope file run", f"exit {rc}: {out[-800:]}"):
        return
    got = tie_out(t, "scope", d / "out", orders, c.refunds, tx)
    compare(t, "scope", got, exp)


def day_exports(c: Chain):
    """The shop's daily exports: day N lists the orders created on day N as of that day; a later day's export lists
    an order again when its status moved (a refund); day 1's first export has amount typos, its re-export not."""
    by_day = {day: [] for day in DAYS}
    for o in c.orders:
        by_day[o["created_at"][:10]].append(o)
    exports = {}
    for day in DAYS:
        rows = []
        for o in by_day[day]:
            st = c.early_status.get(o["order_no"], o["status"])
            rows.append(dict(o, status=st))
        exports[day] = rows
    # orders refunded on a later day: that day's export lists them again with their final status
    refund_day = {r["order_no"]: r["created_at"][:10] for r in c.refunds}
    for o in c.orders:
        rd = refund_day.get(o["order_no"])
        if rd and rd != o["created_at"][:10]:
            exports[rd].append(dict(o))
    first = [dict(o, **c.typo_orders.get(o["order_no"], {})) for o in exports[DAYS[0]]]
    final_d1 = [next((x for x in c.orders if x["order_no"] == o["order_no"])) for o in exports[DAYS[0]]]
    return first, final_d1, exports


def ws_tables(ws: Path) -> dict:
    """Every table of the workspace: row count and a digest of its sorted rows (read-only)."""
    import duckdb
    con = duckdb.connect(str(ws), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables where table_type='BASE TABLE'"
            " order by 1").fetchall()]
        res = {}
        for n in names:
            rows = con.execute(f"select * from {n}").fetchall()
            res[n] = (len(rows), hashlib.sha256("\n".join(sorted(map(repr, rows))).encode()).hexdigest()[:16])
        return res
    finally:
        con.close()


def day1_first_run(t: Tally, c: Chain, got: dict):
    """Day 1's run on day 1's first exports and bill alone: the spec's day-run reading of each outcome."""
    want = {oid: {e.kind} for oid, e in c.exp.items() if c.day_of[oid] == 0}
    for oid, kinds in c.day1.items():
        if c.day_of.get(oid) == 0 or (kinds == {"channel_only"}):
            if kinds is None:
                want.pop(oid, None)
            else:
                want[oid] = kinds
    seen = set()
    for oid, kinds in want.items():
        hit = [k for k in got if k.startswith(oid)] if oid.startswith("D-") else [oid] if oid in got else []
        if not t.check(len(hit) == 1, f"workspace day 1 first run {oid}", f"missing; expected {sorted(kinds)}"):
            continue
        seen.add(hit[0])
        g = got[hit[0]]
        t.check(g["kind"] in kinds, f"workspace day 1 first run {hit[0]}",
                f"kind {g['kind']} not in {sorted(kinds)}; reason: {g['reason']}")
    extra = sorted(set(got) - seen)
    t.check(not extra, "workspace day 1 first run", f"{len(extra)} outcomes the model did not expect: "
            + "; ".join(f"{k} {got[k]['kind']}" for k in extra[:8]))


def report_kinds(t: Tally, ws: Path, d: Path, cfg: Path, name: str):
    js = d / f"{name}.json"
    rc, out = cli("report", "reconciliation", "--workspace", ws, "--period", "month", "--date", DAYS[0],
                  "--json", js, "--config", cfg, "--lang", "en")
    if not t.check(rc == 0, f"workspace {name} report", f"exit {rc}: {out[-600:]}"):
        return None
    return json.loads(js.read_text(encoding="utf-8"))


def kinds_of_report(doc) -> tuple[dict, dict, dict]:
    """The report's chain total row as {kind: count}, its control totals and its unmatched items by outcome id."""
    summary = next(t_ for t_ in doc["tables"] if t_["name"] == "summary")
    total = summary["rows"][-1]
    kinds = {k[2:-6]: v for k, v in total.items() if k.startswith("k_") and k.endswith("_count") and v}
    totals = {c_["key"]: c_["count"] if c_["count"] is not None else c_["amount_fen"] for c_ in doc["control_totals"]}
    items = next((t_ for t_ in doc["tables"] if t_["name"] == "unmatched"), {"rows": []})["rows"]
    return kinds, totals, {r["outcome_id"]: r for r in items}


def file_run_of(t: Tally, c: Chain, d: Path, scope: bool) -> dict:
    """A file run over the final data, one transactions file per bill day."""
    d.mkdir(parents=True, exist_ok=True)
    args = ["reconcile", "--config", config(d / "rules.toml", scope=scope),
            "--orders", write_csv(d / "orders.csv", ORDER_COLS, c.orders),
            "--refunds", write_csv(d / "refunds.csv", REFUND_COLS, c.refunds)]
    for day, rows in tx_by_day(c).items():
        args += ["--transactions", write_csv(d / f"tx_{day}.csv", TX_COLS, rows)]
    rc, out = cli(*args, "--out", d / "out")
    t.check(rc == 0, f"file run {d.name}", f"exit {rc}: {out[-600:]}")
    return read_outcomes(d / "out") if rc == 0 else {}


def part_workspace(t: Tally, c: Chain, d: Path, file_run: dict, scope: bool = False):
    d.mkdir(parents=True, exist_ok=True)
    ws = d / "W.duckdb"
    cfg = config(d / "rules.toml", scope=scope)
    first, final_d1, exports = day_exports(c)
    files = {"o1": write_csv(d / "orders_1120.csv", ORDER_COLS, first),
             "o1v2": write_csv(d / "orders_1120_reexport.csv", ORDER_COLS, final_d1),
             "o2": write_csv(d / "orders_1121.csv", ORDER_COLS, exports[DAYS[1]]),
             "o3": write_csv(d / "orders_1122.csv", ORDER_COLS, exports[DAYS[2]])}
    for i, day in enumerate(DAYS, 1):
        files[f"r{i}"] = write_csv(d / f"refunds_{day}.csv", REFUND_COLS,
                                   [r for r in c.refunds if r["created_at"][:10] == day])
        files[f"t{i}"] = write_csv(d / f"tx_{day}.csv", TX_COLS, [x for x in c.tx if x["bill_date"] == day])
    files["r1v2"] = write_csv(d / "refunds_1120_reexport.csv", REFUND_COLS, read_rows(files["r1"]))
    write_csv(files["r1"], REFUND_COLS, [dict(r, amount=c.typo_refunds.get(r["refund_no"], r["amount"]))
                                         for r in read_rows(files["r1v2"])])
    files["t2copy"] = d / "bill_1121_downloaded_again.csv"
    shutil.copyfile(files["t2"], files["t2copy"])
    files["tover"] = write_csv(d / "platform_export_1120_1121.csv", TX_COLS, overlap_export(c))

    def ingest(*keys):
        args = ["ingest", "--workspace", ws, "--config", cfg]
        for k in keys:
            args += [{"o": "--orders", "r": "--refunds", "t": "--transactions"}[k[0]], files[k]]
        rc, out = cli(*args)
        t.check(rc == 0, f"workspace ingest {keys}", f"exit {rc}: {out[-600:]}")
        return out

    def day_run(i, tag):
        rc, out = cli("reconcile", "--workspace", ws, "--config", cfg, "--date", DAYS[i - 1], "--out", d / f"day{i}{tag}")
        t.check(rc == 0, f"workspace day {i}{tag}", f"exit {rc}: {out[-600:]}")
        return read_outcomes(d / f"day{i}{tag}") if rc == 0 else {}

    ingest("o1", "r1", "t1")
    d1 = day_run(1, "a")
    typo_kinds = {d1.get(f"P-{no}", {}).get("kind") for no, v in c.typo_orders.items()
                  if list(v) == ["amount"] and not scope}
    if typo_kinds:
        t.check(typo_kinds == {"amount_mismatch"}, "workspace day 1 (first export)",
                f"typo'd amounts should be amount_mismatch before the re-export, got {typo_kinds}")
    if not scope:
        day1_first_run(t, c, d1)
    ingest("o3", "r3", "t3")     # day 3 arrives before day 2
    day_run(3, "a")
    ingest("o2", "r2", "t2")
    day_run(2, "a")
    before = ws_tables(ws)
    out = ingest("t2")           # the same file again
    t.check(ws_tables(ws) == before, "workspace re-ingest of tx day 2", "the workspace changed: " + out[-300:])
    ingest("o1v2", "r1v2")       # corrected re-exports of day 1
    before = ws_tables(ws)
    ingest("o1", "r1")           # the first exports again: already loaded, the corrections still win
    t.check(ws_tables(ws) == before, "workspace re-ingest of day 1's first exports", "the workspace changed")
    before = ws_tables(ws)["main.transactions"]
    ingest("t2copy")             # a bill downloaded again under another name
    ingest("tover")              # an export overlapping days 1 and 2
    t.check(ws_tables(ws)["main.transactions"] == before, "workspace records delivered again",
            "the stored records changed (records delivered twice must be stored once)")
    days = {i: day_run(i, "b") for i in (1, 2, 3)}
    for no in c.typo_orders:
        o = next(x for x in c.orders if x["order_no"] == no)
        oid = f"P-{o['merchant_id']}/{no}" if scope else f"P-{no}"
        k = days[1].get(oid, {}).get("kind")
        t.check(k == "matched", f"workspace day 1 rerun {oid}", f"corrected order should match, got {k}")
    rep = report_kinds(t, ws, d, cfg, "month_after_days")
    file_kinds = {}
    for r in file_run.values():
        file_kinds[r["kind"]] = file_kinds.get(r["kind"], 0) + 1
    if rep is not None:
        rk, totals, items = kinds_of_report(rep)
        where = f"workspace{' (key_scope)' if scope else ''} month report (day runs 1,3,2 then 1,2,3 again)"
        t.check(rk == file_kinds, where, "counts per kind differ from the file run over the final data: "
                + ", ".join(f"{k}: {rk.get(k, 0)} vs {file_kinds.get(k, 0)}"
                            for k in sorted(set(rk) | set(file_kinds)) if rk.get(k, 0) != file_kinds.get(k, 0)))
        pays = [x for x in c.tx if x["type"] == "payment"]
        mine = {"orders_count": len(c.orders), "orders_fen": sum(fen_of(o["amount"]) for o in c.orders),
                "shop_refund_count": len(c.refunds), "shop_refund_fen": sum(fen_of(r["amount"]) for r in c.refunds),
                "channel_count": len(pays), "channel_refund_count": len(c.tx) - len(pays),
                "outcomes_count": len(file_run)}
        for k, v in mine.items():
            t.check(totals.get(k) == v, f"{where} control total {k}", f"{totals.get(k)} != this script's {v}")
        bad = [f"{k}: {r['kind']} vs {file_run.get(k, {}).get('kind')}" for k, r in items.items()
               if file_run.get(k, {}).get("kind") != r["kind"]]
        t.check(not bad, f"{where} items to act on", f"{len(bad)} differ from the file run: {bad[:6]}")
        t.check(len(items) == totals.get("unmatched_count"), where, "items table and unmatched_count disagree")
    rc, out = cli("reconcile", "--workspace", ws, "--config", cfg, "--from", DAYS[0], "--to", DAYS[2],
                  "--out", d / "range")
    if t.check(rc == 0, "workspace range run", f"exit {rc}: {out[-600:]}"):
        rng = read_outcomes(d / "range")
        cols = ["kind", "channel", "merchant_id", "store_id", "order_no", "refund_no", "channel_tx_id",
                "order_amount_fen", "channel_amount_fen", "difference_fen", "fee_fen", "order_status",
                "channel_status", "order_rows", "channel_rows"]
        same_outcomes(t, f"workspace{' (key_scope)' if scope else ''} --from/--to vs file run over the final data",
                      rng, file_run, cols)


def read_rows(path: Path) -> list:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def overlap_export(c: Chain) -> list:
    """A platform export from day 1 18:00 to day 2 12:00: every record of those hours again, same values."""
    return [x for x in c.tx if (x["bill_date"], x["occurred_at"][11:13]) >= (DAYS[0], "18")
            and (x["bill_date"], x["occurred_at"][11:13]) < (DAYS[1], "12")]


def slice_chain(c: Chain, stores: set) -> Chain:
    s = Chain()
    s.orders = [o for o in c.orders if o["store_id"] in stores]
    nos = {o["order_no"] for o in s.orders}
    mine = {m for o in s.orders for m in [o["merchant_id"]] if m}
    s.refunds = [r for r in c.refunds if r["order_no"] in nos]
    s.tx = [x for x in c.tx if x["order_no"] in nos or (x["order_no"].startswith("X") and x["merchant_id"] in mine
                                                          and x["order_no"][7:10] in {st[1:] for st in stores})]
    return s


def part_spark(t: Tally, c: Chain, d: Path):
    d.mkdir(parents=True, exist_ok=True)
    s = slice_chain(c, {"S001", "S002"})
    of = write_csv(d / "orders.csv", ORDER_COLS, s.orders)
    rf = write_csv(d / "refunds.csv", REFUND_COLS, s.refunds)
    tf = write_csv(d / "tx.csv", TX_COLS, s.tx)
    nos = {x["order_no"] for x in s.tx}
    again = write_csv(d / "platform_export.csv", TX_COLS, [x for x in overlap_export(c) if x["order_no"] in nos])
    cfg = config(d / "rules.toml")
    base = ["reconcile", "--config", cfg, "--orders", of, "--refunds", rf, "--transactions", tf,
            "--transactions", again]
    rc1, o1 = cli(*base, "--out", d / "duck")
    rc2, o2 = cli(*base, "--engine", "spark", "--out", d / "spark", timeout=900)
    if t.check(rc1 == 0 and rc2 == 0, "spark slice", f"exit {rc1}/{rc2}: {(o1 + o2)[-800:]}"):
        n = len(s.orders) + len(s.refunds) + len(s.tx)
        print(f"  spark slice: {n} input rows", flush=True)
        same_outcomes(t, "spark vs duckdb (every column)", read_outcomes(d / "duck"), read_outcomes(d / "spark"))
        tie_out(t, "spark", d / "spark", s.orders, s.refunds, s.tx)


# -- ERP exports -------------------------------------------------------------------------------------------------
ERP_CFG = """
[inputs.orders]
header_line = 2
[inputs.orders.columns]
order_no = "订单编号"
store_id = "门店编码"
merchant_id = "商户号"
channel = "支付方式"
amount = "实付金额(元)"
status = "订单状态"
created_at = "下单时间"
paid_at = "支付时间"
[inputs.refunds.columns]
refund_no = "退款单号"
order_no = "订单编号"
amount = "退款金额"
created_at = "申请时间"
status = "退款状态"
"""
METHOD_ZH = {"wechat": "微信支付", "alipay": "支付宝", "huabei": "花呗", "unionpay": "银联", "balance": "余额"}
STATUS_ZH = {"paid": "已支付", "unpaid": "待支付", "closed": "已关闭", "refunded": "已退款",
             "partially_refunded": "部分退款"}


def erp_money(fen: int, i: int, gbk=False) -> str:
    """Yuan as ERP exports write it: "1,234.50", "¥12.00" (GBK has only the full-width ￥), "12.00元"."""
    y = yuan(fen)
    whole, dec = y.split(".")
    grouped = f"{int(whole):,}"
    return [f"{grouped}.{dec}", f"{'￥' if gbk else '¥'}{y}", f"￥{grouped}.{dec}", f"{y}元", y][i % 5]


def erp_time(iso: str, i: int) -> str:
    if not iso:
        return ""
    day, clock = iso[:10], iso[11:19]
    return [f"{day.replace('-', '/')} {clock}", f"{day} {clock}", f"{day[:4]}年{day[5:7]}月{day[8:10]}日 {clock}"][i % 3]


def part_erp(t: Tally, c: Chain, d: Path):
    d.mkdir(parents=True, exist_ok=True)
    s = slice_chain(c, {"S003", "S004", "S005"})
    cfg = config(d / "rules.toml", extra=ERP_CFG)
    with open(d / "订单导出.csv", "w", encoding="gbk", newline="") as f:
        f.write("门店订单导出（2026年11月）,,,,,,,,\r\n")
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["订单编号", "门店编码", "商户号", "支付方式", "实付金额(元)", "订单状态", "下单时间", "支付时间", "备注"])
        for i, o in enumerate(s.orders):
            w.writerow([o["order_no"], o["store_id"], o["merchant_id"], METHOD_ZH[o["channel"]],
                        erp_money(fen_of(o["amount"]), i, gbk=True), STATUS_ZH[o["status"]], erp_time(o["created_at"], i),
                        erp_time(o["paid_at"], i + 1), "备注,含逗号" if i % 7 == 0 else ""])
    with open(d / "退款导出.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["退款单号", "订单编号", "退款金额", "申请时间", "退款状态"])
        for i, r in enumerate(s.refunds):
            w.writerow([r["refund_no"], r["order_no"], erp_money(fen_of(r["amount"]), i + 2),
                        erp_time(r["created_at"], i), {"success": "退款成功"}[r["status"]]])
    tf = write_csv(d / "tx.csv", TX_COLS, s.tx)
    canon = [write_csv(d / "orders.csv", ORDER_COLS, s.orders), write_csv(d / "refunds.csv", REFUND_COLS, s.refunds)]
    rc1, o1 = cli("reconcile", "--config", cfg, "--orders", canon[0], "--refunds", canon[1], "--transactions", tf,
                  "--out", d / "canon")
    rc2, o2 = cli("reconcile", "--config", cfg, "--orders", d / "订单导出.csv", "--refunds", d / "退款导出.csv",
                  "--transactions", tf, "--out", d / "erp")
    if t.check(rc1 == 0 and rc2 == 0, "erp export run", f"exit {rc1}/{rc2}: {(o1 + o2)[-800:]}"):
        cols = ["kind", "store_id", "merchant_id", "order_amount_fen", "channel_amount_fen", "difference_fen",
                "order_status", "order_rows", "channel_rows", "occurred_at"]
        same_outcomes(t, "erp export vs canonical", read_outcomes(d / "erp"), read_outcomes(d / "canon"), cols)
        tie_out(t, "erp", d / "erp", s.orders, s.refunds, s.tx)
    return s


# -- bad input ---------------------------------------------------------------------------------------------------
def part_badinput(t: Tally, c: Chain, d: Path):
    d.mkdir(parents=True, exist_ok=True)
    s = slice_chain(c, {"S006"})
    ws = d / "W.duckdb"
    cfg = config(d / "rules.toml")
    good_o = write_csv(d / "orders.csv", ORDER_COLS, s.orders[:5])
    good_t = write_csv(d / "tx.csv", TX_COLS, s.tx[:5])
    rc, out = cli("ingest", "--workspace", ws, "--config", cfg, "--orders", good_o, "--transactions", good_t)
    if not t.check(rc == 0, "badinput base ingest", f"exit {rc}: {out[-500:]}"):
        return
    o = s.orders[5:9]  # four fresh orders, written out as text to spoil one field at a time
    hdr = ",".join(ORDER_COLS)

    def line(r, **kw):
        r = dict(r, **kw)
        return ",".join(r[k] for k in ORDER_COLS)

    def tline(r, **kw):
        r = dict(r, **kw)
        return ",".join(r[k] for k in TX_COLS)
    tx = [x for x in c.tx if x["type"] == "payment"][:3]
    thdr = ",".join(TX_COLS)
    QUOTED = '"1,234.50"'
    # name, kind (--orders/--transactions/--refunds), bytes, expected line, expected field (None = refused, any)
    cases = [
        ("amount_12.3.4", "o", f"{hdr}\n{line(o[0])}\n{line(o[1], amount='12.3.4')}\n", 3, "amount"),
        ("amount_1e5", "o", f"{hdr}\n{line(o[0], amount='1e5')}\n", 2, "amount"),
        ("amount_3_decimals", "o", f"{hdr}\n{line(o[0])}\n{line(o[1])}\n{line(o[2], amount='10.001')}\n", 4, "amount"),
        ("negative_order", "o", f"{hdr}\n{line(o[0], amount='-5.00')}\n", 2, "amount"),
        ("negative_payment", "t", f"{thdr}\n{tline(tx[0], amount='-5.00', channel_tx_id='NEG1')}\n", 2, "amount"),
        ("missing_column", "o", ",".join(c_ for c_ in ORDER_COLS if c_ != "status") + "\n"
         + ",".join(v for k, v in o[0].items() if k != "status") + "\n", None, "status"),
        ("bad_time", "o", f"{hdr}\n{line(o[0])}\n{line(o[1], paid_at='2026-11-32 10:00')}\n", 3, "paid_at"),
        ("bad_bill_date", "t", f"{thdr}\n{tline(tx[0], channel_tx_id='BD1', bill_date='2026/13/01')}\n", 2,
         "bill_date"),
        ("duplicate_order_no", "o", f"{hdr}\n{line(o[0])}\n{line(o[1])}\n{line(o[2], order_no=o[0]['order_no'])}\n", 4,
         "order_no"),
        ("unknown_status", "o", f"{hdr}\n{line(o[0], status='shipped')}\n", 2, "status"),
        ("ragged_row", "o", f"{hdr}\n{line(o[0])}\n{line(o[1])},extra,more\n", 3, None),
        ("open_quote", "o", f"{hdr}\n{line(o[0])}\n\"{line(o[1])}\n", 3, None),
        ("thousands_sep", "o", f"{hdr}\n{line(o[0], amount=QUOTED)}\n", 2, "amount"),
        ("excel_id", "t", f"{thdr}\n{tline(tx[0], channel_tx_id='4.20001E+27')}\n", 2, "channel_tx_id"),
    ]
    raw = [
        ("wrong_encoding_utf16", "o", f"{hdr}\n{line(o[0])}\n".encode("utf-16"), None, None),
        ("empty_file", "o", b"", None, None),
        ("latin1_bytes", "o", (f"{hdr}\n{line(o[0])}\n".encode() + line(o[1], member_id="Jos\xe9").encode("latin-1")
                               + b"\n" + b"\xff\xfe\xfa" * 3 + b"\n"), 3, None),
    ]
    allc = [(n, k, b.encode("utf-8"), ln, fld) for n, k, b, ln, fld in cases] + raw
    flag = {"o": "--orders", "t": "--transactions", "r": "--refunds"}
    before = ws_tables(ws)
    for name, kind, data, ln, fld in allc:
        p = d / f"bad_{name}.csv"
        p.write_bytes(data)
        rc, out = cli("ingest", "--workspace", ws, "--config", cfg, flag[kind], p)
        where = f"badinput {name}"
        t.check(rc == 2, where, f"exit {rc} (expected 2): {out.strip()[-300:]}")
        t.check(p.name in out, where, f"the message does not name the file: {out.strip()[-300:]}")
        want = f"{p.name}:{ln}" if ln is not None else p.name
        if fld is not None:
            want += f" [{fld}]" if ln is not None else f"[{fld}]"
        t.check(want in out if ln is not None or fld is None else (p.name in out and f"[{fld}]" in out), where,
                f"the message does not say `{want}`: {out.strip()[-300:]}")
        t.check("Traceback" not in out, where, "a traceback was printed")
        after = ws_tables(ws)
        t.check(after == before, where, "the workspace's tables changed: "
                + ", ".join(k for k in set(before) | set(after) if before.get(k) != after.get(k)))
    # one command, a good file and a bad one: "Each file of a command is all-or-nothing: when one fails, the files
    # stored before it stay, and the error says which"
    good = write_csv(d / "orders_more.csv", ORDER_COLS, s.orders[9:11])
    bad = d / "bad_negative_payment.csv"
    before = ws_tables(ws)
    rc, out = cli("ingest", "--workspace", ws, "--config", cfg, "--orders", good, "--transactions", bad)
    after = ws_tables(ws)
    where = "badinput a good file and a bad one in one command"
    t.check(rc == 2 and f"{bad.name}:2 [amount]" in out, where, f"exit {rc}: {out.strip()[-300:]}")
    t.check(after["main.transactions"] == before["main.transactions"], where, "records of the bad file were stored")
    t.check(after["main.orders"][0] == before["main.orders"][0] + len(s.orders[9:11]), where,
            f"the good file's orders: {before['main.orders'][0]} -> {after['main.orders'][0]} rows")
    # a file run (no workspace) given a bad file writes nothing
    rc, out = cli("reconcile", "--config", cfg, "--orders", d / "bad_amount_12.3.4.csv", "--transactions", good_t,
                  "--out", d / "out_bad")
    t.check(rc == 2 and not (d / "out_bad" / "outcomes.csv").exists() and not (d / "out_bad" / "summary.json").exists()
            and not list(d.glob("out_bad/*.part")), "badinput file run with a bad file",
            f"exit {rc}, out folder {sorted(p_.name for p_ in (d / 'out_bad').glob('*')) if (d / 'out_bad').exists() else '-'}")
    # accepted: BOM, CRLF, trailing blank lines, header only (each file is new content, so it is stored)
    ok_cases = [
        ("bom", "o", ("\ufeff" + f"{hdr}\n{line(o[0])}\n").encode("utf-8"), 1),
        ("crlf", "o", f"{hdr}\r\n{line(o[1])}\r\n".encode(), 1),
        ("trailing_blank_lines", "o", f"{hdr}\n{line(o[2])}\n\n\n".encode(), 1),
        ("header_only", "r", (",".join(REFUND_COLS) + "\n").encode(), 0),
        ("crlf_tx", "t", f"{thdr}\r\n{tline(dict(tx[1], channel_tx_id='CRLF1'))}\r\n\r\n".encode(), 1),
    ]
    import duckdb
    for name, kind, data, rows in ok_cases:
        p = d / f"ok_{name}.csv"
        p.write_bytes(data)
        rc, out = cli("ingest", "--workspace", ws, "--config", cfg, flag[kind], p)
        where = f"badinput accepted {name}"
        if rc != 0 and name == "header_only":
            t.judgement(where, f"a header-only file is refused (exit {rc}): {out.strip()[-200:]}")
            continue
        t.check(rc == 0, where, f"exit {rc}: {out.strip()[-300:]}")
    con = duckdb.connect(str(ws), read_only=True)
    try:
        tabs = [r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()]
        otab = next((x for x in ("orders", "shop_orders") if x in tabs), None)
        if otab:
            have = {r[0] for r in con.execute(f"select order_no from {otab}").fetchall()}
            for r in o[:3]:
                t.check(r["order_no"] in have, "badinput accepted (BOM/CRLF/blank lines)",
                        f"order {r['order_no']} not stored")
            cols = [r[0] for r in con.execute(f"select column_name from information_schema.columns where table_name='{otab}'").fetchall()]
            if "src_line" in cols:
                lines = dict(con.execute(f"select order_no, src_line from {otab} where order_no in "
                                         f"('{o[0]['order_no']}','{o[1]['order_no']}')").fetchall())
                t.check(set(lines.values()) == {2}, "badinput provenance", f"src_line should be 2, got {lines}")
    finally:
        con.close()


# -- main --------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--per-day", type=int, default=30)
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--only", default="chain,scope,workspace,workspace_scope,spark,erp,badinput")
    a = ap.parse_args()
    only = set(a.only.split(","))
    base = a.keep or Path(tempfile.mkdtemp(prefix="audit8_"))
    if a.keep and a.keep.exists():
        shutil.rmtree(a.keep)
    base.mkdir(parents=True, exist_ok=True)
    g = Gen(a.seed, a.stores, a.per_day)
    c = g.build()
    print(f"chain: {len(c.orders)} orders, {len(c.refunds)} refunds, {len(c.tx)} records, "
          f"{len(c.exp)} expected outcomes (seed {a.seed}); files in {base}", flush=True)
    t = Tally()
    t0 = time.time()
    file_run = None
    for name in ("chain", "scope", "workspace", "workspace_scope", "spark", "erp", "badinput"):
        if name not in only:
            continue
        t1 = time.time()
        if name == "chain":
            file_run = part_chain(t, c, base / "chain")
        elif name == "scope":
            part_scope(t, c, g, base / "scope")
        elif name == "workspace":
            if file_run is None:
                file_run = part_chain(Tally(), c, base / "chain")
            part_workspace(t, c, base / "workspace", file_run or {})
        elif name == "workspace_scope":
            part_workspace(t, c, base / "workspace_scope", file_run_of(t, c, base / "scope_final", True), scope=True)
        elif name == "spark":
            part_spark(t, c, base / "spark")
        elif name == "erp":
            part_erp(t, c, base / "erp")
        elif name == "badinput":
            part_badinput(t, c, base / "badinput")
        print(f"  {name}: {time.time() - t1:.1f}s, {t.agree} agree / {len(t.bad)} disagree so far", flush=True)
    print(f"\n{t.agree} agree, {len(t.bad)} disagree, {len(t.judge)} judgement calls ({time.time() - t0:.0f} s)")
    for line in t.bad:
        print(line)
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if t.bad else 0)


if __name__ == "__main__":
    main()
