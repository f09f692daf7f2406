"""Audit round 13 (helper-117): a chain paying through the other twenty payment methods, read from their bills.

RESULT (2026-12-06, 2 shared cores at load 3-7): seed 13 2,537 agree / 0 disagree, 65 s in all; the file run (582
orders, 157 refunds, 753 records in 120 bill files) 9-19 s wall, ~9.5 s CPU, 0.29 GB peak (per bill file ~50 ms to
read its profile, ~30 ms to store it: most of the run). Before this branch's fixes 2,399 / 276: a trade's second
partial refund under its payment's serial was a duplicate_record (its shop refund refund_order_only), and a Cloud
QuickPass order without a record said "No unionpay records … Was its bill left out?". Two items it printed as OPEN,
since decided (session 27): under the defaults bank_card orders paid through the built-in POS bills, and balance
(余额/储值) orders with the stored-value ledger's records, were channel_mismatch; now the POS bills' channel
bank_card_pos settles through unionpay by default and the ledger's records name balance, so both are matched. The
check under the defaults still prints what those orders come to (not asserted).

Independent generator and model, written from README.md (Outcomes table, "Bills as delivered", refunds without a
merchant refund number, internal methods, [stores], workspace day runs), config.example.toml ([methods] defaults)
and each built-in profile's YAML and sample (src/paymatch/profiles/): nothing here imports paymatch.

A chain of 3 stores (S1..S3) over 2 days (2026-11-20, 21). Every store sells through every method below; its
orders name the method (orders.channel), each method's bills are written per store and day in the profile's own
layout (encoding, title/merchant lines, totals or trailer lines the profile checks, xlsx where it is xlsx, the CCB
file name carrying the merchant number). Card POS: S1 through 银联商务 对账明细查询, S2 the POS export, S3 银联商务
清算明细 (payments only); bank transfer: S2 as .xlsx, the others TSV. Orders of stored value pay with `balance`
(余额/储值, README's word), points and gift cards with their own names: the internal methods of config.example.toml.

Defects, spread round-robin over stores and days for every method that can carry them: amount off by a fen, a
record with no order, an order with no record, a duplicate payment (two transaction ids), a closed order with a
successful record, refunds matched (full; partial; next day), missing (no channel refund), console-only (channel
refund, no shop refund), with a wrong amount (refund_amount_mismatch where the bill carries the shop's refund
number; elsewhere pairing by order and amount finds none: refund_channel_only + refund_order_only), a record listed
twice, and an order paid 23:55 whose record is on the next day's bill (its bill day where the layout has one, else
booked 00:03 the next day).

Runs: one file run over both days (`paymatch reconcile --orders --refunds --bills DIR --config`, timed), and a
workspace fed day by day (`ingest` the day's orders, refunds and bills, then `reconcile --workspace W --date D`),
then one range run over both days. Every outcome the model expects is compared on kind, channel, store, order and
channel amounts and difference (fen); summary.json's control totals against what was written.

    python bench/audit_round13.py [--seed 13] [--keep DIR]
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
D1, D2 = dt.date(2026, 11, 20), dt.date(2026, 11, 21)
DAYS = (D1, D2)
STORES = ("S1", "S2", "S3")
TZ = "+08:00"


def y(fen: int) -> str:
    s = "-" if fen < 0 else ""
    return f"{s}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def yc(fen: int) -> str:  # thousands separators
    s = "-" if fen < 0 else ""
    return f"{s}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def ybare(fen: int) -> str:  # database export: 19000, 34.2, .54
    s = y(abs(fen)).rstrip("0").rstrip(".")
    if s.startswith("0."):
        s = s[1:]
    return ("-" if fen < 0 else "") + s


def fee_of(fen: int) -> int:
    return (fen * 6 + 500) // 1000


# ----------------------------------------------------------------------------------------------------------------
# methods: key (orders.channel), record channel, which profiles per store, what the bill carries
class M:
    def __init__(self, key, channel, profiles, *, mch=None, refund_no=False, internal=False, billday=False,
                 settle=None):
        self.key, self.channel, self.profiles = key, channel, profiles  # profiles: store -> profile name
        self.mch = mch or {}          # store -> merchant number the bill names (else none)
        self.refund_no = refund_no    # the bill carries the shop's refund number
        self.internal = internal      # config.example.toml [methods] internal
        self.billday = billday        # the layout has a bill day of its own (a record's day may be the next)
        self.settle = settle          # [methods.settle_channel] default


def same(p):
    return {s: p for s in STORES}


METHODS = [
    M("lakala", "lakala", same("lakala"), mch={s: f"82258400000012{i}" for i, s in enumerate(STORES)}),
    M("douyin_pay", "douyin_pay", same("douyin_pay"), settle="douyin_pay"),
    M("meituan", "meituan", same("meituan"), mch={s: f"MT60012{i}" for i, s in enumerate(STORES)}, settle="meituan"),
    M("shouqianba", "shouqianba", same("shouqianba"), mch={s: f"SQB168000000{i}" for i, s in enumerate(STORES)},
      refund_no=True),
    M("jd_pay", "jd_pay", same("jd_pay"), mch={s: f"11099887700{i}" for i, s in enumerate(STORES)}, refund_no=True,
      settle="jd_pay"),
    M("baitiao", "jd_baitiao", same("jd_baitiao"), mch={s: f"11022334400{i}" for i, s in enumerate(STORES)},
      refund_no=True, billday=True, settle="jd_baitiao"),
    M("digital_rmb", "digital_rmb", same("digital_rmb"), settle="digital_rmb"),
    M("ccb_long_pay", "ccb_long_pay", same("ccb_long_pay"), mch={s: f"10500008062686{i}" for i, s in enumerate(STORES)},
      refund_no=True, billday=True),
    M("bank_card", "bank_card_pos", {"S1": "chinaums_pos", "S2": "bank_card_pos", "S3": "chinaums_clearing"},
      mch={"S1": "898310054110001", "S2": "822100054110002", "S3": "898310054110003"}, billday=True,
      settle="bank_card_pos"),
    M("icbc_e_pay", "icbc_e_pay", same("icbc_e_pay")),
    M("boc_pay", "boc_pay", same("boc_pay")),
    M("abc_pay", "abc_pay", same("abc_pay")),
    M("cmb_pay", "cmb_pay", same("cmb_pay")),
    M("cloud_quickpass", "cloud_quickpass", same("cloud_quickpass"),
      mch={s: f"89831000000000{i}" for i, s in enumerate(STORES)}, billday=True, settle="unionpay"),
    M("bank_transfer", "bank_transfer", {"S1": "bank_transfer", "S2": "bank_transfer_xlsx", "S3": "bank_transfer"},
      mch={s: f"1100123456789{i}" for i, s in enumerate(STORES)}),
    M("cash", "cash", same("cash")),
    M("gift_card", "gift_card", same("gift_card"), internal=True),
    # the stored-value ledger's records name balance, the method of orders paid by 余额/储值 (internal by default)
    M("balance", "balance", same("stored_value"), internal=True),
    M("balance", None, {}, internal=True),  # no ledger at all: every paid order internal
    M("points", "points", same("points"), internal=True),
    M("huabei", "alipay", same("huabei"), mch={s: f"208800000000001{i}" for i, s in enumerate(STORES)},
      settle="alipay"),
]
BILLDAY_PROFILES = {"jd_baitiao", "ccb_long_pay", "chinaums_pos", "cloud_quickpass", "chinaums_clearing"}
PAYMENTS_ONLY = {"chinaums_clearing"}
#: layouts whose sample lists a refund under its payment's serial (no refund id of its own); CCB's 银行流水号 and the
#: acquirers' 参考号 are the refund's own, the cash journal has no id at all
SHARED_ID = {"lakala", "douyin_pay", "meituan", "shouqianba", "jd_pay", "jd_baitiao", "digital_rmb", "icbc_e_pay",
             "boc_pay", "abc_pay", "cmb_pay", "cloud_quickpass", "bank_transfer", "bank_transfer_xlsx", "gift_card",
             "stored_value", "points", "huabei"}
DEFECTS = ["fen_off", "no_order", "no_record", "dup_payment", "closed_success", "refund_ok", "refund_partial",
           "refund_next_day", "refund_missing", "refund_console", "refund_wrong", "listed_twice", "cross_day",
           "failed_record", "attempt", "closed_no_record", "refund_cross_day", "refund_late_record"]
# the word each layout prints for a failed (or closed) payment; a layout without a status column has none
FAILED = {"lakala": "失败", "douyin_pay": "结算失败", "meituan": "已取消", "shouqianba": "失败", "jd_pay": "失败",
          "jd_baitiao": "交易失败", "digital_rmb": "失败", "ccb_long_pay": "失败", "icbc_e_pay": "失败", "boc_pay": "失败",
          "abc_pay": "9999", "cmb_pay": "失败", "cloud_quickpass": "失败", "gift_card": "失败", "huabei": "交易关闭"}
REFUND_DEFECTS = {d for d in DEFECTS if d.startswith("refund")}


# ----------------------------------------------------------------------------------------------------------------
class Chain:
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.orders: list[dict] = []
        self.refunds: list[dict] = []
        self.recs: list[dict] = []       # every record row written (a copy listed twice: two rows)
        self.expect: dict[str, dict] = {}  # outcome_id -> expectation (file run)
        self.day_expect: dict[dt.date, dict[str, dict]] = {D1: {}, D2: {}}
        self.cases: dict[str, str] = {}  # outcome_id -> case label
        self.seq = 0
        self.tx_seq = 0

    def tx(self) -> str:
        self.tx_seq += 1
        return f"{self.rnd.randrange(10**8, 10**9)}{self.tx_seq:06d}"

    def amount(self) -> int:
        return self.rnd.choice([990, 1288, 2500, 5800, 12000, 39900, 128800, 256050, 1000001, 3333])

    def order(self, m: M, store: str, day: dt.date, *, at: dt.datetime | None = None, status="paid", fen=None):
        self.seq += 1
        no = f"{m.key[:3].upper()}{day:%m%d}{store}{self.seq:05d}"
        if at is None:
            at = dt.datetime.combine(day, dt.time(9)) + dt.timedelta(seconds=self.rnd.randrange(0, 10 * 3600))
        o = dict(order_no=no, store_id=store, merchant_id=m.mch.get(store, ""), channel=m.key,
                 amount=fen if fen is not None else self.amount(), status=status,
                 created_at=at - dt.timedelta(minutes=1), paid_at=None if status == "closed" else at, m=m, day=day)
        self.orders.append(o)
        return o

    def rec(self, m: M, store: str, order_no: str, fen: int, at: dt.datetime, *, bill: dt.date | None = None,
            typ="payment", refund_no=None, tx=None, file_day: dt.date | None = None, status="success"):
        r = dict(m=m, store=store, profile=m.profiles[store], order_no=order_no, fen=fen, at=at, type=typ,
                 refund_no=refund_no if m.refund_no else None, tx=tx or self.tx(),
                 bill=bill or at.date(), file_day=file_day or bill or at.date(), status=status)
        self.recs.append(r)
        return r

    def refund(self, o: dict, fen: int, at: dt.datetime):
        n = sum(1 for r in self.refunds if r["order_no"] == o["order_no"])
        r = dict(refund_no=f"RF{o['order_no']}{n}", order_no=o["order_no"], amount=fen, created_at=at,
                 status="success", m=o["m"], store=o["store_id"], day=at.date())
        self.refunds.append(r)
        return r


def shown_id(r: dict) -> str:
    """The channel id paymatch reads from the bill: the profile's id column as the writer prints it."""
    if r["type"] == "refund" and not r["refund_no"]:
        return "~*" + r["order_no"]  # no refund number or id on the row: its serial, time and amount are its refund id (README)
    if r["profile"] == "meituan":
        return "MT" + r["tx"]
    if r["profile"] == "bank_transfer_xlsx":
        return f"{r['m'].mch[r['store']]}-{r['tx']}"
    if r["profile"] == "cash":  # no id column: paymatch names the row by a digest of it; found by order number
        return "~*" + r["order_no"]
    if r["type"] == "refund" and not r["refund_no"]:
        return "~*" + r["order_no"]  # no refund number or id on the row: its serial, time and amount are its refund id (README)
    return r["tx"]


def want(c: Chain, oid: str, case: str, kind: str, *, channel=None, store=None, o=None, ch=None, day=None,
         day_kinds: dict | None = None):
    """Expect outcome ``oid``; o/ch: order-side and channel-side amounts (fen, None = empty)."""
    diff = None if o is None or ch is None else ch - o  # one-sided outcomes leave it empty
    e = dict(kind=kind, channel=channel, store=store, o=o, ch=ch, diff=diff, case=case)
    c.expect[oid] = e
    for d in DAYS:
        k = (day_kinds or {}).get(d)
        if k is not None:
            c.day_expect[d][oid] = dict(e, kind=k)
        elif d == day:
            c.day_expect[d][oid] = e


def build(seed: int) -> Chain:
    c = Chain(seed)
    for m in METHODS:
        # clean business per store and day
        for store in STORES:
            for day in DAYS:
                for _ in range(2):
                    o = c.order(m, store, day)
                    if not m.profiles:  # an internal method without a ledger
                        want(c, f"P-{o['order_no']}", "clean", "internal", channel=m.key, store=store, o=o["amount"],
                             day=day)
                        continue
                    c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=5))
                    want(c, f"P-{o['order_no']}", "clean", "matched", channel=m.channel, store=store, o=o["amount"],
                         ch=o["amount"], day=day)
        if not m.profiles:
            for store, day in zip(STORES, (D1, D2, D1)):
                add_defect(c, m, store, day, "no_record")
                o = c.order(m, store, day)
                o["status"] = "refunded"
                want(c, f"P-{o['order_no']}", "balance refunded", "internal", channel=m.key, store=store,
                     o=o["amount"], day=day)
                rf = c.refund(o, o["amount"], o["paid_at"] + dt.timedelta(minutes=30))
                want(c, f"R-{rf['refund_no']}", "balance refund", "internal", channel=m.key, store=store,
                     o=o["amount"], day=day)
            continue
        slots = [(s, d) for d in DAYS for s in STORES]
        start = METHODS.index(m)
        for i, defect in enumerate(DEFECTS):
            for k in range(len(slots)):
                store, day = slots[(start + i + k) % len(slots)]
                prof = m.profiles[store]
                if defect in REFUND_DEFECTS and prof in PAYMENTS_ONLY:
                    continue
                if defect in ("refund_next_day",) and day == D2:
                    continue
                if defect in ("cross_day", "refund_cross_day", "refund_late_record") and day == D2:
                    continue
                if defect in ("refund_cross_day", "refund_late_record") and m.internal:
                    continue  # an internal method's refund: README says nothing of its journal a day late
                if defect in ("failed_record", "attempt") and prof not in FAILED:
                    continue
                break
            else:
                continue  # no store's layout of this method can carry it
            add_defect(c, m, store, day, defect)
    return c


def add_defect(c: Chain, m: M, store: str, day: dt.date, defect: str):
    ch, at9 = m.channel, dt.datetime.combine(day, dt.time(11, 30))
    label = f"{m.key}/{store}/{day:%d}/{defect}"

    def paid(status="paid"):
        o = c.order(m, store, day, status=status)
        return o

    if defect == "fen_off":
        o = paid()
        off = c.rnd.choice([1, -1])
        c.rec(m, store, o["order_no"], o["amount"] + off, o["paid_at"] + dt.timedelta(seconds=4))
        want(c, f"P-{o['order_no']}", label, "amount_mismatch", channel=ch, store=store, o=o["amount"],
             ch=o["amount"] + off, day=day)
    elif defect == "no_order":
        c.seq += 1
        no = f"ZZ{day:%m%d}{store}{c.seq:05d}"
        fen = c.amount()
        c.rec(m, store, no, fen, at9)
        # store: [stores] maps the bill's merchant number; a bill naming none gives no store
        want(c, f"P-{no}", label, "channel_only", channel=ch, store=store if m.mch else "", ch=fen, day=day)
    elif defect == "no_record":
        o = paid()
        kind = "internal" if m.internal else "order_only"
        want(c, f"P-{o['order_no']}", label, kind, channel=m.key if m.internal else (m.settle or m.key),
             store=store, o=o["amount"], day=day)
    elif defect == "dup_payment":
        o = paid()
        c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4))
        c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=90))
        want(c, f"P-{o['order_no']}", label, "duplicate_payment", channel=ch, store=store, o=o["amount"],
             ch=2 * o["amount"], day=day)
    elif defect == "closed_success":
        o = paid("closed")
        c.rec(m, store, o["order_no"], o["amount"], o["created_at"] + dt.timedelta(seconds=70))
        want(c, f"P-{o['order_no']}", label, "status_mismatch", channel=ch, store=store, o=o["amount"],
             ch=o["amount"], day=day)
    elif defect in ("refund_ok", "refund_partial", "refund_next_day", "refund_missing", "refund_wrong",
                    "refund_console"):
        o = paid("refunded" if defect in ("refund_ok", "refund_next_day") else "partially_refunded")
        pay = c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4))
        want(c, f"P-{o['order_no']}", label, "matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day=day)
        if o["paid_at"].hour >= 17:  # refunds stay inside the day, away from the cross-day grace
            o["paid_at"] -= dt.timedelta(hours=6)
            o["created_at"] -= dt.timedelta(hours=6)
            pay["at"] = o["paid_at"] + dt.timedelta(seconds=4)
        full = defect in ("refund_ok", "refund_next_day")
        fen = o["amount"] if full else o["amount"] // 3
        when = o["paid_at"] + dt.timedelta(hours=1)
        if defect == "refund_next_day":
            when = dt.datetime.combine(D2, dt.time(10, 15))
        same = pay["tx"] if m.profiles[store] in SHARED_ID else None
        if defect == "refund_console":
            r = c.rec(m, store, o["order_no"], fen, when + dt.timedelta(seconds=20), typ="refund", tx=same)
            oid = f"R-~{ch}:{shown_id(r)}"
            want(c, oid, label, "refund_channel_only", channel=ch, store=store, ch=fen, day=when.date())
            return
        r = c.refund(o, fen, when)
        if defect == "refund_missing":
            kind = "internal" if m.internal else "refund_order_only"
            want(c, f"R-{r['refund_no']}", label, kind, channel=m.key if m.internal else (m.settle or m.key),
                 store=store, o=fen, day=when.date())
            return
        got = fen + 1 if defect == "refund_wrong" else fen
        x = c.rec(m, store, o["order_no"], got, when + dt.timedelta(seconds=30), typ="refund",
                  refund_no=r["refund_no"], tx=same)
        if defect == "refund_partial":  # a second partial refund of the order, listed under the same serial
            r2 = c.refund(o, fen // 2, when + dt.timedelta(minutes=40))
            c.rec(m, store, o["order_no"], fen // 2, r2["created_at"] + dt.timedelta(seconds=30), typ="refund",
                  refund_no=r2["refund_no"], tx=same)
            want(c, f"R-{r2['refund_no']}", label + " (second)", "refund_matched", channel=ch, store=store,
                 o=fen // 2, ch=fen // 2, day=when.date())
        if defect != "refund_wrong":
            want(c, f"R-{r['refund_no']}", label, "refund_matched", channel=ch, store=store, o=fen, ch=fen,
                 day=when.date())
        elif m.refund_no:
            want(c, f"R-{r['refund_no']}", label, "refund_amount_mismatch", channel=ch, store=store, o=fen, ch=got,
                 day=when.date())
        else:  # no refund number on the bill: paired by order and amount, and the amounts differ
            # (an internal method's refund no channel record pairs with: paid back there, README "internal")
            want(c, f"R-{r['refund_no']}", label + " (shop side)", "internal" if m.internal else "refund_order_only",
                 channel=m.key if m.internal else (m.settle or m.key), store=store, o=fen, day=when.date())
            want(c, f"R-~{ch}:{shown_id(x)}", label + " (channel side)", "refund_channel_only", channel=ch, store=store,
                 ch=got, day=when.date())
    elif defect == "listed_twice":
        o = paid()
        r = c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4))
        c.recs.append(dict(r))  # the same row again, in the same file
        want(c, f"P-{o['order_no']}", label, "matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day=day)
        want(c, f"D-{ch}:{shown_id(r)}:payment:", label + " (copy)", "duplicate_record", channel=ch, store=store,
             ch=o["amount"], day=day)
    elif defect == "cross_day":
        at = dt.datetime.combine(day, dt.time(23, 55))
        o = c.order(m, store, day, at=at)
        nxt = day + dt.timedelta(days=1)
        if m.profiles[store] in BILLDAY_PROFILES:  # booked 23:56, on the next day's bill
            c.rec(m, store, o["order_no"], o["amount"], at + dt.timedelta(seconds=70), bill=nxt)
        else:  # booked just after midnight
            c.rec(m, store, o["order_no"], o["amount"], dt.datetime.combine(nxt, dt.time(0, 3, 10)))
        first = "internal" if m.internal else "pending_cross_day"
        want(c, f"P-{o['order_no']}", label, "matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day_kinds={nxt: "matched"})
        # its day's run has no record yet: the method's settling channel, no channel amount
        c.day_expect[day][f"P-{o['order_no']}"] = dict(kind=first, channel=m.key if m.internal else (m.settle or m.key),
                                                       store=store, o=o["amount"], ch=None, diff=None, case=label)
    elif defect == "failed_record":  # the bill lists the payment as failed: paid order, channel not
        o = paid()
        c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4), status="failed")
        if m.internal:  # README internal: "also after an attempt through a channel that did not go through"
            want(c, f"P-{o['order_no']}", label, "internal", channel=m.key, store=store, o=o["amount"],
                 ch=o["amount"], day=day)
        else:  # the failed record's amount is shown beside the order's
            want(c, f"P-{o['order_no']}", label, "status_mismatch", channel=ch, store=store, o=o["amount"],
                 ch=o["amount"], day=day)
    elif defect == "attempt":  # a failed try, then the payment: matched on the successful record
        o = paid()
        c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] - dt.timedelta(seconds=50), status="failed")
        c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4))
        want(c, f"P-{o['order_no']}", label, "matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day=day)
    elif defect in ("refund_cross_day", "refund_late_record"):
        # the shop refunds at 23:55 and the channel books it on the next day's bill (cross_day), or the shop refunds
        # at 14:00 and the channel's refund is only on the next day's bill (late record): the day's run leaves it
        # pending_cross_day / refund_order_only, the next day's run pairs it (README: carried in; "day by day and one
        # range run over the same days agree"), and a run over both days pairs it
        o = paid("refunded")
        if o["paid_at"].hour >= 14:
            o["paid_at"] -= dt.timedelta(hours=5)
            o["created_at"] -= dt.timedelta(hours=5)
        pay = c.rec(m, store, o["order_no"], o["amount"], o["paid_at"] + dt.timedelta(seconds=4))
        want(c, f"P-{o['order_no']}", label, "matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day=day)
        nxt = day + dt.timedelta(days=1)
        cross = defect == "refund_cross_day"
        when = dt.datetime.combine(day, dt.time(23, 55) if cross else dt.time(14, 0))
        r = c.refund(o, o["amount"], when)
        same = pay["tx"] if m.profiles[store] in SHARED_ID else None
        if m.profiles[store] in BILLDAY_PROFILES:
            c.rec(m, store, o["order_no"], o["amount"], when + dt.timedelta(seconds=60), bill=nxt, typ="refund",
                  refund_no=r["refund_no"], tx=same)
        else:
            c.rec(m, store, o["order_no"], o["amount"], dt.datetime.combine(nxt, dt.time(0, 2) if cross else
                                                                              dt.time(10, 0)),
                  typ="refund", refund_no=r["refund_no"], tx=same)
        oid = f"R-{r['refund_no']}"
        want(c, oid, label, "refund_matched", channel=ch, store=store, o=o["amount"], ch=o["amount"],
             day_kinds={nxt: "refund_matched"})
        c.day_expect[day][oid] = dict(kind="pending_cross_day" if cross else "refund_order_only",
                                      channel=m.settle or m.key, store=store, o=o["amount"], ch=None, diff=None,
                                      case=label)
    elif defect == "closed_no_record":
        o = paid("closed")
        want(c, f"P-{o['order_no']}", label, "unpaid", channel=m.settle or m.key, store=store, o=o["amount"],
             day=day)
    else:
        raise AssertionError(defect)


# ----------------------------------------------------------------------------------------------------------------
# writers: one bill per method, store and day, in its profile's layout
def ts(t: dt.datetime, fmt="%Y-%m-%d %H:%M:%S") -> str:
    return t.strftime(fmt)


def csv_text(rows, delim=",") -> list[str]:
    out = io.StringIO()
    w = csv.writer(out, delimiter=delim, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    return out.getvalue().splitlines()


def st(r, ok: str) -> str:
    """The status word of a row: the layout's success word, or its failed one."""
    return ok if r["status"] == "success" else FAILED[r["profile"]]


def signed(r, fen):
    return -fen if r["type"] == "refund" else fen


def net(rows, key=lambda r: r["fen"]):
    return sum(key(r) if r["type"] == "payment" else -key(r) for r in rows)


def write_lines(path: Path, lines: list[str], enc="utf-8-sig", nl="\n"):
    path.write_bytes((nl.join(lines) + nl).encode(enc))


def w_lakala(p, rows, mch, day):
    head = ["交易时间", "商户号", "终端号", "交易类型", "交易金额", "手续费", "结算金额", "交易流水号", "订单号", "卡号", "交易状态"]
    body = [[ts(r["at"]), mch, "L0001", "消费" if r["type"] == "payment" else "退货", "\t" + y(r["fen"]),
             "\t" + y(signed(r, fee_of(r["fen"]))), "\t" + y(r["fen"] - signed(r, fee_of(r["fen"]))), r["tx"],
             r["order_no"], "", st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["拉卡拉商户交易明细"] + csv_text([head] + body), "gbk")


def w_douyin(p, rows, mch, day):
    head = ["订单号", "商户订单号", "支付渠道单号", "业务类型", "下单时间", "金额(元)", "手续费(元)", "结算状态"]
    body = [[f"DY{r['tx']}", r["order_no"], r["tx"], "支付" if r["type"] == "payment" else "退款",
             r["at"].strftime("%Y-%m-%dT%H:%M:%S+08:00"), y(signed(r, r["fen"])), y(signed(r, fee_of(r["fen"]))),
             st(r, "已结算")] for r in rows]
    write_lines(p.with_suffix(".csv"), csv_text([head] + body), "utf-8")


def w_meituan(p, rows, mch, day):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["美团收单对账明细"])
    ws.append(["门店名称", "门店ID", "美团订单号", "商家订单号", "交易类型", "交易时间", "订单原价", "商家实收", "平台服务费", "状态"])
    for r in rows:
        f, fee = signed(r, r["fen"]), signed(r, fee_of(r["fen"]))
        ws.append(["望京店", mch, f"MT{r['tx']}", r["order_no"], "支付" if r["type"] == "payment" else "退款", r["at"],
                   f / 100, (f - fee) / 100, fee / 100, st(r, "已完成")])
    wb.save(p.with_suffix(".xlsx"))


def w_shouqianba(p, rows, mch, day):
    head = ["交易日期时间", "商户订单号", "商户退款单号", "收钱吧订单号", "支付通道订单号", "支付方式", "交易类型", "交易金额", "手续费",
            "实收金额", "交易状态"]
    body = [[ts(r["at"]), r["order_no"], r["refund_no"] or "", r["tx"], "4200" + r["tx"], "微信",
             "收款" if r["type"] == "payment" else "退款", y(r["fen"]), y(signed(r, fee_of(r["fen"]))),
             y(r["fen"] - signed(r, fee_of(r["fen"]))), st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["收钱吧交易明细", f"商户号:{mch}"] + csv_text([head] + body)
                + [f"总计,笔数:{len(rows)},净额:{y(net(rows))}"])


def w_jd_pay(p, rows, mch, day):
    head = ["商户号", "商户订单号", "商户退款单号", "京东支付流水号", "交易时间", "交易类型", "订单金额", "退款金额", "手续费", "交易状态"]
    body = [[mch, r["order_no"], r["refund_no"] or "", r["tx"], ts(r["at"], "%Y%m%d%H%M%S"),
             "支付" if r["type"] == "payment" else "退款", y(r["fen"]) if r["type"] == "payment" else "",
             y(r["fen"]) if r["type"] == "refund" else "", y(signed(r, fee_of(r["fen"]))), st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["京东支付交易对账单"] + csv_text([head] + body), "gbk")


def w_baitiao(p, rows, mch, day):
    head = ["交易时间", "商户订单号", "京东交易流水号", "退款单号", "交易类型", "交易金额(元)", "手续费(元)", "结算金额(元)", "交易状态",
            "支付方式"]
    body = [[ts(r["at"]), r["order_no"], r["tx"], r["refund_no"] or "", "消费" if r["type"] == "payment" else "退款",
             y(r["fen"]), y(signed(r, fee_of(r["fen"]))), y(r["fen"] - signed(r, fee_of(r["fen"]))), st(r, "交易成功"),
             "京东白条"] for r in rows]
    write_lines(p.with_suffix(".csv"), ["京东支付-白条交易明细", f"商户号：{mch}", f"账单日期：{day}", ""]
                + csv_text([head] + body) + ["", f"合计：共{len(rows)}笔"])


def w_digital_rmb(p, rows, mch, day):
    head = ["交易时间", "运营机构", "钱包ID", "商户订单号", "交易流水号", "交易类型", "交易金额", "交易状态"]
    body = [[ts(r["at"]), "工商银行", "0021****8899", r["order_no"], r["tx"], "消费" if r["type"] == "payment" else "退款",
             y(r["fen"]), st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["数字人民币商户交易明细"] + csv_text([head] + body))


def w_ccb(p, rows, mch, day):
    nd = day + dt.timedelta(days=1)
    fee = lambda r: fee_of(r["fen"]) if r["type"] == "payment" else 0  # noqa: E731  (refunds: 0.00, as the sample)
    head = "\t".join(["交易时间", "记账日期", "银行流水号", "商户流水号", "订单号", "订单状态", "付款方账号/客户号", "付款方户名", "订单金额",
                      "交易金额", "手续费", "结算金额", "柜台代码", "发卡行/通道", "支付卡种", "交易类型", "期数", "授权号", "项目号", "基本户",
                      "备注一", "备注二"]) + "\t"
    body = []
    for r in rows:
        amt, f = signed(r, r["fen"]), fee(r)
        body.append("\t".join([ts(r["at"]), f"{r['bill']:%Y%m%d}", r["tx"], r["refund_no"] or "", r["order_no"], st(r, "成功"),
                               "88888****888888", "o***", y(r["order_amount"]), y(amt), y(f), y(amt - f),
                               "067507881", "微信", "其他卡种", "", "1", "", "", "", "--", "--"]) + "\t")
    top = (f"出单日期[{nd:%Y%m%d}]\t交易日期[{day:%Y%m%d}]\t交易笔数[{len(rows)}]\t交易金额[{y(net(rows))}]\t"
           f"手续费[{y(net(rows, fee))}]\t结算金额[{y(net(rows, lambda r: r['fen'] - fee(r)))}]\t")
    write_lines(p.parent / f"SHOP.{mch}.{day:%Y%m%d}.txt", [top, head] + body, "utf-8")


def w_chinaums_pos(p, rows, mch, day):
    blank = "\t" * 16
    head = ["清算日期", "交易日期", "交易时间", "终端号", "交易金额", "清算金额", "手续费", "流水号", "交易类型", "参考号", "卡号", "商户号",
            "发卡行", "卡类型", "商户订单号", "银商订单号", "支付类型"]
    body = []
    for i, r in enumerate(rows):
        f = signed(r, fee_of(r["fen"]))
        body.append("\t".join([f"{r['bill']:%Y%m%d}", f"{r['at']:%Y-%m-%d}", f"{r['at']:%H:%M:%S}", "01080209",
                               y(r["fen"]), y(r["fen"] - f), y(f), f"{i:06d}",
                               "消费" if r["type"] == "payment" else "撤销", r["tx"], "622280*********1234", mch,
                               "01030000", "贷记卡", r["order_no"], "", "有卡支付"]))
    fees = sum(signed(r, fee_of(r["fen"])) * (1 if r["type"] == "payment" else -1) for r in rows)
    settle = net(rows, lambda r: r["fen"] - signed(r, fee_of(r["fen"])))
    lines = ["对账明细查询结果（仅显示1000条记录）" + blank, "集团名称：示例餐饮连锁" + blank,
             f"清算日期从：\t{day:%Y%m%d}\t到：\t{day:%Y%m%d}\t\t业务类型：\t银行卡消费" + "\t" * 10, "\t".join(head)] + body + \
        [blank, f"总笔数：\t{len(rows)}\t交易金额：\t{y(net(rows))}\t\t结算金额：\t{y(settle)}\t\t手续费：\t{y(fees)}" + "\t" * 7]
    write_lines(p.with_suffix(".txt"), lines)


def w_bank_card_pos(p, rows, mch, day):
    head = ["商户编号", "终端编号", "交易时间", "卡号", "卡类型", "交易类型", "交易金额", "手续费", "结算金额", "参考号", "凭证号", "订单号"]
    body = [[mch, "10293847", ts(r["at"]), "622848******1234", "借记卡", "消费" if r["type"] == "payment" else "撤销",
             "¥" + y(r["fen"]), "¥" + y(signed(r, fee_of(r["fen"]))), "¥" + y(r["fen"] - signed(r, fee_of(r["fen"]))),
             r["tx"], f"{i:06d}", r["order_no"]] for i, r in enumerate(rows)]
    write_lines(p.with_suffix(".csv"), ["POS刷卡交易明细", f"导出时间：{day + dt.timedelta(days=1)} 08:00:00"]
                + csv_text([head] + body), nl="\r\n")


CLEARING_HEAD = ("清算日期,交易时间,受理商户ID,受理商户多应用,结算商户编号,结算商户多应用类型,交易终端号,交易金额,商户手续费,收单收益,品牌费,交易类型,卡号,"
                 "发卡机构,卡种,收单机构bit32,终端流水号bit11,银联系统跟踪号,参考号bit37,授权号,原终端流水号bit11,原银联系统跟踪号bit11,原bit37,mcc号,"
                 "是否两条线垫支(0-否1-是),是否分润(0-否1-是),受理点商户号,商户多应用类型,受理点分润金额,机构分润金额,是否清算（0-成功1-多流水2-待处理）,"
                 "受理点终端编号,交易发起渠道,发送机构标识码,原清算日期,服务点输入方式,T0标记,T0手续费,新增字段3,借贷记标记,交换费,转接清算费,新增字段7,"
                 "新增字段8,新增字段9,订单号")


def w_chinaums_clearing(p, rows, mch, day):
    assert all(r["type"] == "payment" for r in rows)
    lines = [CLEARING_HEAD]
    for r in rows:
        f = fee_of(r["fen"])
        cells = [f"{r['bill']:%Y%m%d}", f"{r['at']:%m%d%H%M%S}", "", "", mch, "9", "", ybare(r["fen"]), ybare(f),
                 ybare(max(f - 2, 0)), "0", "000000", "622280******1234", "01030001", "", "", r["tx"][-6:], "",
                 r["tx"]] + [""] * 4 + ["5812"] + [""] * 21 + [r["order_no"]]
        assert len(cells) == 46, len(cells)
        lines.append(",".join(cells))
    write_lines(p.with_suffix(".csv"), lines)


def w_icbc(p, rows, mch, day):
    head = ["工行流水号", "商户订单号", "交易日期", "交易金额(元)", "退款金额(元)", "手续费(元)", "交易类型", "交易状态"]
    body = [[r["tx"], r["order_no"], ts(r["at"], "%Y%m%d%H%M%S"), y(r["fen"]) if r["type"] == "payment" else "",
             y(r["fen"]) if r["type"] == "refund" else "", y(signed(r, fee_of(r["fen"]))),
             "消费" if r["type"] == "payment" else "退款", st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["工银e支付商户对账明细"] + csv_text([head] + body))


def w_boc(p, rows, mch, day):
    head = ["交易时间", "商户订单号", "中行流水号", "交易类型", "交易金额", "手续费", "交易状态"]
    body = [[ts(r["at"]), r["order_no"], r["tx"], "消费" if r["type"] == "payment" else "退款", "¥" + yc(r["fen"]),
             "¥" + yc(signed(r, fee_of(r["fen"]))), st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["中国银行聚合支付交易明细"] + csv_text([head] + body))


def w_abc(p, rows, mch, day):
    head = ["交易类型", "订单号", "交易流水号", "交易金额", "手续费", "清算金额", "交易日期时间", "状态"]
    body = [["Sale" if r["type"] == "payment" else "Refund", r["order_no"], r["tx"], y(r["fen"]),
             y(signed(r, fee_of(r["fen"]))), y(r["fen"] - signed(r, fee_of(r["fen"]))), ts(r["at"]), st(r, "0000")]
            for r in rows]
    write_lines(p.with_suffix(".csv"), ["中国农业银行商户对账单"] + csv_text([head] + body), "gbk")


def w_cmb(p, rows, mch, day):
    head = ["交易时间", "订单号", "银行流水号", "交易类型", "金额", "手续费", "状态"]
    body = [[ts(r["at"], "%Y/%m/%d %H:%M:%S"), r["order_no"], r["tx"], "支付" if r["type"] == "payment" else "退款",
             y(r["fen"]), y(signed(r, fee_of(r["fen"]))), st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["招商银行一网通支付交易明细"] + csv_text([head] + body)
                + ["导出人：财务01", f"导出时间：{day + dt.timedelta(days=1)} 08:00:00"])


def w_quickpass(p, rows, mch, day):
    head = "清算日期|交易时间|商户代码|终端号|订单号|查询流水号|交易类型|交易金额|手续费|状态"
    body = ["|".join([f"{r['bill']:%Y%m%d}", ts(r["at"], "%Y%m%d%H%M%S"), mch, "T0001", r["order_no"], r["tx"],
                      "消费" if r["type"] == "payment" else "退货", f"{r['fen']:012d}",
                      f"{fee_of(r['fen']):012d}" if r["type"] == "payment" else str(-fee_of(r["fen"])), st(r, "成功")])
            for r in rows]
    write_lines(p.with_suffix(".txt"), ["云闪付商户交易明细", head] + body, "gb18030")


def w_bank_transfer(p, rows, mch, day):
    head = ["交易时间", "借方发生额", "贷方发生额", "余额", "对方户名", "对方账号", "摘要", "流水号", "用途"]
    body = [[ts(r["at"]), yc(r["fen"]) if r["type"] == "refund" else "", yc(r["fen"]) if r["type"] == "payment" else "",
             "1,000,000.00", "某某科技有限公司", "1100223344556677", "转账收入" if r["type"] == "payment" else "转账退款",
             r["tx"], r["order_no"]] for r in rows]
    pays = [r for r in rows if r["type"] == "payment"]
    refs = [r for r in rows if r["type"] == "refund"]
    tail = (f"合计\t借方笔数:{len(refs)}\t借方金额:{yc(sum(r['fen'] for r in refs))}\t贷方笔数:{len(pays)}\t"
            f"贷方金额:{yc(sum(r['fen'] for r in pays))}")
    write_lines(p.with_suffix(".txt"), [f"账号\t{mch}", "户名\t某某餐饮管理有限公司", "\t".join(head)]
                + ["\t".join(b) for b in body] + [tail], "gb18030")


def w_bank_transfer_xlsx(p, rows, mch, day):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["账号", "账户名称", "交易时间", "借方发生额（支取）", "贷方发生额（收入）", "余额", "币种", "对方户名", "对方账号", "记账日期", "摘要",
               "备注", "账户明细编号-交易流水号"])
    for r in rows:
        ws.append([mch, "某某餐饮管理有限公司", ts(r["at"], "%Y%m%d %H:%M:%S"), r["fen"] / 100 if r["type"] == "refund" else 0,
                   r["fen"] / 100 if r["type"] == "payment" else 0, 1000000, "人民币元", "某某科技有限公司",
                   "1100223344556677", f"{r['at']:%Y%m%d}", "转账收入" if r["type"] == "payment" else "转账退款",
                   r["order_no"], f"{mch}-{r['tx']}"])
    wb.save(p.with_suffix(".xlsx"))


def w_cash(p, rows, mch, day):
    head = ["日期", "单据号", "摘要", "收入", "支出", "余额", "经手人"]
    body = [[ts(r["at"], "%Y-%m-%d %H:%M"), r["order_no"], "现金收款" if r["type"] == "payment" else "现金退款",
             y(r["fen"]) if r["type"] == "payment" else "", y(r["fen"]) if r["type"] == "refund" else "", "5000.00",
             "张会计"] for r in rows]
    write_lines(p.with_suffix(".csv"), ["现金日记账", "门店：望京店"] + csv_text([head] + body))


def w_gift_card(p, rows, mch, day):
    head = ["核销单号", "卡号", "订单号", "操作类型", "核销金额", "核销时间", "核销门店", "状态"]
    body = [[r["tx"], "GIFT8800123", r["order_no"], "核销" if r["type"] == "payment" else "撤销核销", y(r["fen"]),
             ts(r["at"]), "望京店", st(r, "成功")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["# 礼品卡核销明细", f"# 导出时间: {day + dt.timedelta(days=1)} 08:00"]
                + csv_text([head] + body) + [f"# 共{len(rows)}条"])


def w_stored_value(p, rows, mch, day):
    head = ["流水号", "会员卡号", "会员姓名", "关联订单号", "变动类型", "变动金额", "变动后余额", "操作时间", "门店"]
    body = [[r["tx"], "M000123", "王**", r["order_no"], "储值消费" if r["type"] == "payment" else "消费退回",
             y(-r["fen"] if r["type"] == "payment" else r["fen"]), "0.00", ts(r["at"]), "望京店"] for r in rows]
    write_lines(p.with_suffix(".csv"), csv_text([head] + body))


def w_points(p, rows, mch, day):
    head = ["积分流水号", "会员ID", "订单号", "业务类型", "使用积分", "抵扣金额(分)", "发生时间"]
    body = [[r["tx"], "M000456", r["order_no"], "积分抵扣" if r["type"] == "payment" else "抵扣退还", str(r["fen"]),
             str(r["fen"]), ts(r["at"], "%Y/%m/%d %H:%M:%S")] for r in rows]
    write_lines(p.with_suffix(".csv"), ["积分抵现流水"] + csv_text([head] + body))


def w_huabei(p, rows, mch, day):
    head = "支付宝交易号,商户订单号,交易创建时间,花呗分期数,订单金额（元）,商家实收（元）,服务费（元）,业务类型,交易状态"
    body = [",".join(v + "\t" for v in [r["tx"], r["order_no"], ts(r["at"]), "12", y(signed(r, r["fen"])),
                                        y(signed(r, r["fen"])), y(signed(r, fee_of(r["fen"]))),
                                        "交易" if r["type"] == "payment" else "退款", st(r, "交易成功")]) for r in rows]
    write_lines(p.with_suffix(".csv"), ["#花呗分期交易明细", f"#账号：[{mch}0156]", head] + body, "gbk")


WRITERS = {"lakala": w_lakala, "douyin_pay": w_douyin, "meituan": w_meituan, "shouqianba": w_shouqianba,
           "jd_pay": w_jd_pay, "jd_baitiao": w_baitiao, "digital_rmb": w_digital_rmb, "ccb_long_pay": w_ccb,
           "chinaums_pos": w_chinaums_pos, "bank_card_pos": w_bank_card_pos, "chinaums_clearing": w_chinaums_clearing,
           "icbc_e_pay": w_icbc, "boc_pay": w_boc, "abc_pay": w_abc, "cmb_pay": w_cmb, "cloud_quickpass": w_quickpass,
           "bank_transfer": w_bank_transfer, "bank_transfer_xlsx": w_bank_transfer_xlsx, "cash": w_cash,
           "gift_card": w_gift_card, "stored_value": w_stored_value, "points": w_points, "huabei": w_huabei}


def write_inputs(c: Chain, root: Path) -> dict:
    orders_by_no = {o["order_no"]: o for o in c.orders}
    for r in c.recs:  # CCB prints the order's amount beside each row
        o = orders_by_no.get(r["order_no"])
        r["order_amount"] = o["amount"] if o else r["fen"]
    paths = {}
    for day in DAYS:
        d = root / f"{day:%Y%m%d}"
        (d / "bills").mkdir(parents=True)
        with (d / "orders.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at"])
            for o in c.orders:
                if o["day"] == day:
                    w.writerow([o["order_no"], o["store_id"], o["merchant_id"], o["channel"], y(o["amount"]),
                                o["status"], o["created_at"].isoformat() + TZ,
                                o["paid_at"].isoformat() + TZ if o["paid_at"] else ""])
        with (d / "refunds.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["refund_no", "order_no", "amount", "created_at", "status"])
            for r in c.refunds:
                if r["day"] == day:
                    w.writerow([r["refund_no"], r["order_no"], y(r["amount"]), r["created_at"].isoformat() + TZ,
                                r["status"]])
        for m in METHODS:
            for store in STORES:
                rows = sorted((r for r in c.recs if r["m"] is m and r["store"] == store and r["file_day"] == day),
                              key=lambda r: r["at"])
                if not rows:
                    continue
                prof = m.profiles[store]
                sub = d / "bills" / m.key
                sub.mkdir(exist_ok=True)
                WRITERS[prof](sub / f"{prof}_{store}_{day:%Y%m%d}", rows, m.mch.get(store, ""), day)
        paths[day] = d
    # both days in one folder each for the file run
    allb = root / "all"
    (allb / "bills").mkdir(parents=True)
    for day in DAYS:
        shutil.copytree(paths[day] / "bills", allb / "bills" / f"{day:%Y%m%d}")
    for name in ("orders.csv", "refunds.csv"):
        lines = []
        for i, day in enumerate(DAYS):
            part = (paths[day] / name).read_text(encoding="utf-8").splitlines()
            lines += part if i == 0 else part[1:]
        (allb / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    stores = {mch: s for m in METHODS for s, mch in m.mch.items()}
    cfg = root / "rules.toml"
    # the built-in POS profiles' records name channel bank_card_pos: a shop whose card orders are all on POS bills says
    # so (its card orders without a record are then under bank_card_pos, not unionpay)
    cfg.write_text('[methods.settle_channel]\nbank_card = "bank_card_pos"\n'
                   "[stores]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in sorted(stores.items())), encoding="utf-8")
    return dict(days=paths, all=allb, config=cfg)


# ----------------------------------------------------------------------------------------------------------------
class Audit:
    def __init__(self, env):
        self.env, self.agree, self.disagree = env, 0, []

    def cli(self, *args, ok=True):
        r = subprocess.run([PY, "-m", "paymatch", *map(str, args)], capture_output=True, text=True, env=self.env)
        if ok and r.returncode != 0:
            raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def check(self, label, cond, detail=""):
        if cond:
            self.agree += 1
        else:
            self.disagree.append(f"[{label}] {detail}")

    @staticmethod
    def read(out: Path):
        with (out / "outcomes.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return rows, json.loads((out / "summary.json").read_text(encoding="utf-8"))

    def compare(self, label, expect: dict, rows: list[dict]):
        by_id = {}
        for r in rows:
            by_id.setdefault(r["outcome_id"], r)
        dups = {}
        for r in rows:
            if r["outcome_id"].startswith("D-"):
                dups.setdefault(r["outcome_id"].rsplit(":", 1)[0] + ":", r)
        seen = set()
        for oid, e in expect.items():
            got = by_id.get(oid) or (dups.get(oid) if oid.startswith("D-") else None)
            if "~*" in oid:  # a row without an id column: its digest id, found by its order number
                prefix, rest = oid.split("~*", 1)
                order = rest.split(":", 1)[0]
                # a digest ('~…': a row of a layout without an id column) or a refund's own id made of its
                # payment's serial, time and amount ('…/20261121120130/1933')
                got = next((r for r in rows if r["outcome_id"].startswith(prefix)
                            and (r["outcome_id"][len(prefix):].startswith("~") or "/" in r["outcome_id"][len(prefix):])
                            and r["order_no"] == order and r["outcome_id"] not in seen), None)
            if got is None:
                self.check(f"{label} {e['case']}", False, f"{oid}: want {e['kind']}, no outcome")
                continue
            seen.add(got["outcome_id"])
            num = lambda v: None if v in ("", None) else int(v)  # noqa: E731
            have = dict(kind=got["kind"], channel=got["channel"], store=got["store_id"], o=num(got["order_amount_fen"]),
                        ch=num(got["channel_amount_fen"]), diff=num(got["difference_fen"]))
            wanted = {k: e[k] for k in have}
            bad = {k: (wanted[k], have[k]) for k in have if wanted[k] != have[k]}
            self.check(f"{label} {e['case']}", not bad, f"{oid}: {bad} reason={got['reason']!r}")
        return [r for r in rows if r["outcome_id"] not in seen]

    def conservation(self, label, summary, rows, want=None):
        ct = summary["control_totals"]
        self.check(f"{label} conservation flag", summary.get("conservation") is True, json.dumps(ct))
        for side in ("orders", "refunds", "transactions"):
            s = ct[side]
            self.check(f"{label} {side} tie out", (s["input_rows"], s["input_fen"]) == (s["outcome_rows"], s["outcome_fen"]),
                       json.dumps(s))
            if want:
                self.check(f"{label} {side} = what was written", (s["input_rows"], s["input_fen"]) == want[side],
                           f"summary {(s['input_rows'], s['input_fen'])}, files {want[side]}")
        # every bill was given and [stores] names every merchant number: no note on the inputs
        for note in ("channels_without_records", "merchant_numbers_without_records", "merchant_numbers_without_orders"):
            self.check(f"{label} {note}", not summary.get(note), json.dumps(summary.get(note), ensure_ascii=False))
        by_kind = {k["kind"]: k["count"] for k in summary["by_kind"]}
        counted = {}
        for r in rows:
            counted[r["kind"]] = counted.get(r["kind"], 0) + 1
        self.check(f"{label} by_kind = outcomes.csv", by_kind == counted, f"{by_kind} vs {counted}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--keep", type=Path, help="folder for the data and outputs (kept)")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="audit13_"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    c = build(args.seed)
    p = write_inputs(c, root)
    a = Audit(env)
    written = {"orders": (len(c.orders), sum(o["amount"] for o in c.orders)),
               "refunds": (len(c.refunds), sum(r["amount"] for r in c.refunds)),
               "transactions": (len(c.recs), sum(r["fen"] for r in c.recs))}
    print(f"{len(c.orders)} orders, {len(c.refunds)} refunds, {len(c.recs)} records, {len(METHODS)} methods, "
          f"{len(c.expect)} expected outcomes", flush=True)

    # 1. file run over both days
    allb, out = p["all"], root / "out_file"
    t0 = time.perf_counter()
    a.cli("reconcile", "--orders", allb / "orders.csv", "--refunds", allb / "refunds.csv", "--bills",
              allb / "bills", "--out", out, "--config", p["config"])
    took = time.perf_counter() - t0
    rows, summary = a.read(out)
    extra = a.compare("file", c.expect, rows)
    for x in extra:
        a.check("file unexpected outcome", False, f"{x['outcome_id']} {x['kind']} {x['reason']!r}")
    a.conservation("file", summary, rows, written)
    print(f"file run: {len(rows)} outcomes in {took:.1f} s", flush=True)

    # 2. a workspace fed day by day, then one range run
    ws = root / "w.duckdb"
    for day in DAYS:
        d = p["days"][day]
        a.cli("ingest", "--workspace", ws, "--orders", d / "orders.csv", "--refunds", d / "refunds.csv", "--bills",
              d / "bills", "--config", p["config"])
        out = root / f"out_{day:%Y%m%d}"
        a.cli("reconcile", "--workspace", ws, "--date", day, "--out", out, "--config", p["config"])
        rows, summary = a.read(out)
        extra = a.compare(f"day {day}", c.day_expect[day], rows)
        for x in extra:  # an outcome of another day's model read again (an order's earlier records): same kind
            e = c.expect.get(x["outcome_id"])
            a.check(f"day {day} extra", e is not None and e["kind"] == x["kind"],
                    f"{x['outcome_id']} {x['kind']} (model: {e and e['kind']}) {x['reason']!r}")
        a.conservation(f"day {day}", summary, rows)
    out = root / "out_range"
    a.cli("reconcile", "--workspace", ws, "--from", D1, "--to", D2, "--out", out, "--config", p["config"])
    rows, summary = a.read(out)
    extra = a.compare("range", c.expect, rows)
    for x in extra:
        a.check("range unexpected outcome", False, f"{x['outcome_id']} {x['kind']} {x['reason']!r}")
    a.conservation("range", summary, rows, written)

    # 3. (not asserted) the same chain under config.example.toml's defaults: the POS profiles' records (channel
    # bank_card_pos, method bank_card) against bank_card -> unionpay, and the stored-value ledger's against balance
    cfg = root / "rules_default.toml"
    cfg.write_text(p["config"].read_text(encoding="utf-8").split("[stores]", 1)[1].join(["[stores]", ""]),
                   encoding="utf-8")
    orders = root / "orders_balance.csv"
    orders.write_text((allb / "orders.csv").read_text(encoding="utf-8").replace(",stored_value,", ",balance,"),
                      encoding="utf-8")
    out = root / "out_defaults"
    a.cli("reconcile", "--orders", orders, "--refunds", allb / "refunds.csv", "--bills", allb / "bills", "--out", out,
          "--config", cfg)
    rows, _ = a.read(out)
    for method in ("bank_card", "balance"):
        kinds: dict[str, int] = {}
        for x in rows:
            if x["order_channel"] == method and x["outcome_id"].startswith("P-"):
                kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
        print(f"under the defaults, {method} orders' payments: {dict(sorted(kinds.items()))}")

    print(f"agree {a.agree}, disagree {len(a.disagree)}")
    for line in a.disagree:
        print("  " + line)
    print(f"data and outputs: {root}")
    return 1 if a.disagree else 0


if __name__ == "__main__":
    sys.exit(main())
