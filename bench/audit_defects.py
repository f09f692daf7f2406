"""Independent audit of paymatch's outcomes against the spec (issue 3, README, DESIGN).

Written from the spec only (not from paymatch's demo generator or engine): generates canonical
orders.csv / refunds.csv / transactions (one file per bill date) for a small chain with every defect
the spec names, records the outcome kind the spec implies per order_no / refund_no, runs
`paymatch reconcile`, and compares: kind per key, amounts in fen, the sign of difference_fen
(channel - order), conservation (every input row in exactly one outcome; summary.json ties out),
outcome_id stability across reruns and input order.  Also: the Spark engine on the same set, the
workspace flow (pending_cross_day on day N becomes matched once day N+1's bill is ingested;
re-ingesting a file changes nothing) and bad inputs (error names file, line and field; workspace
unchanged).

    .venv/bin/python bench/audit_defects.py [--out /tmp/audit] [--seed 7] [--stores 20] [--spark]

Exit status 0 when every check agrees, 1 otherwise; every disagreement is printed.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYMATCH = str(ROOT / ".venv" / "bin" / "paymatch")
CST = timezone(timedelta(hours=8))

ORDER_COLS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at",
              "paid_at", "member_id", "member_level", "instalments", "store_name"]
REFUND_COLS = ["refund_no", "order_no", "amount", "created_at", "status"]
TX_COLS = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id",
           "amount", "fee", "settle_amount", "status", "occurred_at", "bill_date", "method", "goods"]

DAYS = [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)]
NEXT_DAY = date(2026, 11, 21)
SETTLE = {"wechat": "wechat", "alipay": "alipay", "huabei": "alipay", "unionpay": "unionpay"}


# ----------------------------------------------------------------------------------------------
# data model of the generator
@dataclass
class Expect:
    key: str                      # outcome_id the README promises: P-<order_no> / R-<refund_no>
    kinds: tuple[str, ...]        # acceptable kinds (first = the one the spec implies)
    tag: str                      # which defect this is
    order_fen: int | None = None  # expected order_amount_fen (None = not checked)
    channel_fen: int | None = None
    check_amounts: bool = True


@dataclass
class Chain:
    orders: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    tx: list[dict] = field(default_factory=list)          # each row has "_file" (bill file it goes to)
    expect: dict[str, Expect] = field(default_factory=dict)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


class Gen:
    def __init__(self, seed: int, stores: int):
        self.r = random.Random(seed)
        self.stores = [f"S{i:03d}" for i in range(1, stores + 1)]
        self.group = {s: i % 3 for i, s in enumerate(self.stores)}
        self.mch = {  # three merchant numbers per channel (one per group of stores)
            "wechat": [f"16000000{g + 1:02d}" for g in range(3)],
            "alipay": [f"20880210000000{g + 1:02d}" for g in range(3)],
            "unionpay": [f"8983100581200{g + 1:02d}" for g in range(3)],
            "balance": [f"BAL{g + 1:02d}" for g in range(3)],
        }
        self.c = Chain()
        self.seen_no: set[str] = set()
        self.seen_tx: set[str] = set()

    # ids -------------------------------------------------------------------------------------
    def order_no(self, d: date) -> str:
        while True:
            n = self.r.randint(20, 32)
            head = "PO" + d.strftime("%Y%m%d")
            no = head + "".join(self.r.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(n - len(head)))
            if no not in self.seen_no:
                self.seen_no.add(no)
                return no

    def refund_no(self, d: date) -> str:
        while True:
            no = "RF" + d.strftime("%Y%m%d") + "".join(self.r.choice("0123456789") for _ in range(self.r.randint(10, 20)))
            if no not in self.seen_no:
                self.seen_no.add(no)
                return no

    def txid(self, channel: str, d: date, refund=False) -> str:
        prefix = {"wechat": "4200" if not refund else "5030", "alipay": "2026" if not refund else "2027",
                  "unionpay": "6201" if not refund else "6202"}[channel]
        while True:
            t = prefix + d.strftime("%m%d") + "".join(self.r.choice("0123456789") for _ in range(20))
            assert len(t) == 28
            if t not in self.seen_tx:
                self.seen_tx.add(t)
                return t

    def amount(self) -> int:
        x = self.r.random()
        if x < 0.02:
            return 1
        if x < 0.03:
            return 5_000_000
        import math
        return max(1, min(5_000_000, int(math.exp(self.r.uniform(math.log(1), math.log(5_000_000))))))

    def when(self, d: date, lo_h=8, hi_h=22) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=CST) + timedelta(
            seconds=self.r.randint(lo_h * 3600, hi_h * 3600))

    # time formatting: mixed naive (Asia/Shanghai implied) and offset forms -------------------
    def ts(self, t: datetime, style: str | None = None) -> str:
        style = style or self.r.choice(["naive", "naive_t", "cst", "utc_z", "utc_off"])
        if style == "naive":
            return t.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
        if style == "naive_t":
            return t.astimezone(CST).strftime("%Y-%m-%dT%H:%M:%S")
        if style == "cst":
            return t.astimezone(CST).isoformat()
        if style == "utc_z":
            return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return t.astimezone(timezone.utc).isoformat()

    def bill_date(self, d: date) -> str:
        return self.r.choice([d.isoformat(), d.strftime("%Y%m%d"), d.strftime("%Y/%m/%d")])

    # row builders ----------------------------------------------------------------------------
    def order(self, d: date, method: str, fen: int, status="paid", paid: datetime | None = None,
              store: str | None = None, no: str | None = None) -> dict:
        store = store or self.r.choice(self.stores)
        paid = paid or self.when(d)
        created = paid - timedelta(seconds=self.r.randint(5, 300))
        mch_ch = SETTLE.get(method, "balance")
        row = {"order_no": no or self.order_no(d), "store_id": store,
               "merchant_id": self.mch[mch_ch][self.group[store]], "channel": method, "amount": yuan(fen),
               "status": status, "created_at": self.ts(created),
               "paid_at": self.ts(paid) if status in ("paid", "refunded", "partially_refunded") else "",
               "member_id": f"U{self.r.randint(1, 99999):05d}" if self.r.random() < 0.5 else "",
               "member_level": self.r.choice(["", "gold", "silver"]), "instalments": "0",
               "store_name": f"门店{store}号", "_fen": fen, "_paid": paid, "_store": store}
        self.c.orders.append(row)
        return row

    def pay(self, o: dict, fen: int | None = None, status="success", channel: str | None = None,
            t: datetime | None = None, bill: date | None = None, order_no: str | None = None) -> dict:
        method = o["channel"] if o else "wechat"
        channel = channel or SETTLE[method]
        t = t or (o["_paid"] + timedelta(seconds=self.r.randint(0, 20)))
        bill = bill or t.astimezone(CST).date()
        fen = o["_fen"] if fen is None else fen
        fee = fen * 6 // 1000
        store = o["_store"] if o else self.r.choice(self.stores)
        row = {"channel": channel, "merchant_id": self.mch[channel][self.group[store]],
               "channel_tx_id": self.txid(channel, bill), "order_no": order_no or o["order_no"], "type": "payment",
               "refund_no": "", "channel_refund_id": "", "amount": yuan(fen), "fee": yuan(fee),
               "settle_amount": yuan(fen - fee), "status": status, "occurred_at": self.ts(t),
               "bill_date": self.bill_date(bill), "method": method if method == "huabei" else "",
               "goods": "咖啡/面包", "_file": bill}
        self.c.tx.append(row)
        return row

    def refund(self, o: dict, fen: int, status="success", d: date | None = None) -> dict:
        t = o["_paid"] + timedelta(hours=self.r.randint(1, 10))
        if t.astimezone(CST).date() > DAYS[-1]:
            t = o["_paid"] + timedelta(minutes=1)
        row = {"refund_no": self.refund_no(t.astimezone(CST).date()), "order_no": o["order_no"], "amount": yuan(fen),
               "created_at": self.ts(t), "status": status, "_fen": fen, "_t": t, "_o": o}
        self.c.refunds.append(row)
        return row

    def chrefund(self, rf: dict | None, o: dict, fen: int, status="success", refund_no: str | None = None) -> dict:
        t = (rf["_t"] if rf else o["_paid"] + timedelta(hours=2)) + timedelta(seconds=30)
        bill = min(t.astimezone(CST).date(), DAYS[-1])
        channel = SETTLE[o["channel"]]
        row = {"channel": channel, "merchant_id": self.mch[channel][self.group[o["_store"]]],
               "channel_tx_id": self.txid(channel, bill), "order_no": o["order_no"], "type": "refund",
               "refund_no": refund_no if refund_no is not None else rf["refund_no"],
               "channel_refund_id": self.txid(channel, bill, refund=True), "amount": yuan(fen), "fee": "0.00",
               "settle_amount": yuan(fen), "status": status, "occurred_at": self.ts(t), "bill_date": self.bill_date(bill),
               "method": "", "goods": "退款", "_file": bill}
        self.c.tx.append(row)
        return row

    def expect(self, key, kinds, tag, order_fen=None, channel_fen=None, check_amounts=True):
        if isinstance(kinds, str):
            kinds = (kinds,)
        assert key not in self.c.expect, key
        self.c.expect[key] = Expect(key, tuple(kinds), tag, order_fen, channel_fen, check_amounts)


def build(seed: int, stores: int, per_store_day: int) -> Chain:
    g = Gen(seed, stores)
    r = g.r
    methods = ["wechat"] * 45 + ["alipay"] * 30 + ["huabei"] * 8 + ["unionpay"] * 10 + ["balance"] * 7
    # --- background: consistent orders, some refunded (full / partial) -------------------------
    for d in DAYS:
        for s in g.stores:
            for _ in range(per_store_day):
                m = r.choice(methods)
                fen = g.amount()
                o = g.order(d, m, fen, store=s)
                if m == "balance":
                    g.expect("P-" + o["order_no"], "internal", "bg_balance", fen, None)
                    continue
                g.pay(o)
                g.expect("P-" + o["order_no"], "matched", "bg_" + m, fen, fen)
                if r.random() < 0.06 and fen >= 2:
                    part = r.random() < 0.5
                    rfen = r.randint(1, fen - 1) if part else fen
                    o["status"] = "partially_refunded" if part else "refunded"
                    rf = g.refund(o, rfen)
                    g.chrefund(rf, o, rfen)
                    g.expect("R-" + rf["refund_no"], "refund_matched", "bg_refund_" + ("partial" if part else "full"),
                             rfen, rfen)
    d1, d2, d3 = DAYS
    # --- payment defects -------------------------------------------------------------------
    o = g.order(d1, "wechat", 12345)
    g.expect("P-" + o["order_no"], "order_only", "order_only_wechat", 12345, None)
    o = g.order(d2, "alipay", 1)
    g.expect("P-" + o["order_no"], "order_only", "order_only_alipay_1fen", 1, None)
    ghost = g.order_no(d2)
    g.pay({"channel": "wechat", "_paid": g.when(d2), "_fen": 8800, "_store": "S001", "order_no": ghost})
    g.expect("P-" + ghost, "channel_only", "channel_only_wechat", None, 8800)
    ghost = g.order_no(d3)
    g.pay({"channel": "unionpay", "_paid": g.when(d3), "_fen": 5_000_000, "_store": "S002", "order_no": ghost})
    g.expect("P-" + ghost, "channel_only", "channel_only_unionpay_50000", None, 5_000_000)
    for tag, m, ofen, cfen in [("amount_plus_1fen", "wechat", 10000, 10001), ("amount_minus_1fen", "alipay", 10000, 9999),
                               ("amount_plus_big", "unionpay", 4_999_999, 5_000_000),
                               ("amount_huabei_minus", "huabei", 259900, 249900),
                               ("amount_0.01_vs_0.02", "wechat", 1, 2)]:
        o = g.order(d2, m, ofen)
        g.pay(o, fen=cfen)
        g.expect("P-" + o["order_no"], "amount_mismatch", tag, ofen, cfen)
    o = g.order(d1, "wechat", 3300, status="unpaid")
    g.pay(o, t=g.when(d1))
    g.expect("P-" + o["order_no"], "status_mismatch", "status_unpaid_but_channel_success", 3300, 3300)
    o = g.order(d2, "alipay", 4400, status="closed")
    g.pay(o, t=g.when(d2))
    g.expect("P-" + o["order_no"], "status_mismatch", "status_closed_but_channel_success", 4400, 4400)
    o = g.order(d2, "wechat", 5500)
    g.pay(o, status="closed")
    g.expect("P-" + o["order_no"], "status_mismatch", "status_paid_but_channel_closed", 5500, None, False)
    o = g.order(d3, "unionpay", 6600)
    g.pay(o, status="failed")
    g.expect("P-" + o["order_no"], "status_mismatch", "status_paid_but_channel_failed", 6600, None, False)
    o = g.order(d1, "wechat", 7700)
    g.pay(o)
    g.pay(o, t=o["_paid"] + timedelta(seconds=40))
    g.expect("P-" + o["order_no"], "duplicate_payment", "dup_payment_same_channel", 7700, None, False)
    o = g.order(d2, "wechat", 8800)
    g.pay(o)
    g.pay(o, channel="alipay", t=o["_paid"] + timedelta(seconds=70))
    g.expect("P-" + o["order_no"], "duplicate_payment", "dup_payment_two_channels", 8800, None, False)
    o = g.order(d3, "huabei", 19900)
    g.pay(o)
    g.pay(o, channel="wechat", t=o["_paid"] + timedelta(seconds=90))
    g.expect("P-" + o["order_no"], "duplicate_payment", "dup_payment_huabei_alipay_plus_wechat", 19900, None, False)
    # pending_cross_day: paid minutes before the window end (end of d3), record on NEXT_DAY's bill
    end = datetime(NEXT_DAY.year, NEXT_DAY.month, NEXT_DAY.day, tzinfo=CST)
    pend = []
    for tag, mins, style in [("pending_cst_offset", 5, "cst"), ("pending_utc_z", 4, "utc_z"), ("pending_naive", 3, "naive")]:
        o = g.order(d3, "wechat", 2500 + mins, paid=end - timedelta(minutes=mins))
        o["paid_at"] = g.ts(o["_paid"], style)
        g.pay(o, t=o["_paid"] + timedelta(seconds=5), bill=NEXT_DAY)  # goes to the next day's file only
        g.expect("P-" + o["order_no"], "pending_cross_day", tag, o["_fen"], None, False)
        pend.append(o["order_no"])
    # same local clock text 15:56 but naive -> afternoon, no record -> order_only (offset matters)
    o = g.order(d3, "wechat", 3456, paid=datetime(2026, 11, 20, 15, 56, tzinfo=CST))
    o["paid_at"] = "2026-11-20 15:56:00"
    g.expect("P-" + o["order_no"], "order_only", "naive_1556_is_afternoon_order_only", 3456, None)
    # outside the grace: 25 minutes before end, no record -> order_only
    o = g.order(d3, "alipay", 4567, paid=end - timedelta(minutes=25))
    g.expect("P-" + o["order_no"], "order_only", "order_only_25min_before_end", 4567, None)
    # paid 2 minutes before end, record IS on the same day's bill -> matched
    o = g.order(d3, "alipay", 5678, paid=end - timedelta(minutes=2))
    g.pay(o, t=o["_paid"] + timedelta(seconds=10), bill=d3)
    g.expect("P-" + o["order_no"], "matched", "near_end_matched_same_bill", 5678, 5678)
    # paid 23:58 before d1 (outside window start), record on d1's bill -> matched
    o = g.order(d1, "wechat", 6789, paid=datetime(2026, 11, 17, 23, 58, tzinfo=CST))
    g.pay(o, t=o["_paid"] + timedelta(seconds=30), bill=d1)
    g.expect("P-" + o["order_no"], "matched", "paid_before_window_on_first_bill", 6789, 6789)
    # duplicated channel record (same row twice) -> matched + duplicate_record
    o = g.order(d2, "wechat", 9900)
    t = g.pay(o)
    dup = dict(t)
    g.c.tx.append(dup)
    g.expect("P-" + o["order_no"], "matched", "dup_record_order", 9900, 9900)
    g.expect(f"D-{t['channel']}:{t['channel_tx_id']}:payment:", "duplicate_record", "dup_record_extra_copy",
             None, 9900, False)
    # internal balance payment
    o = g.order(d1, "balance", 2000)
    g.expect("P-" + o["order_no"], "internal", "internal_balance", 2000, None)
    # unpaid / closed, no payment at all
    o = g.order(d1, "wechat", 1500, status="unpaid")
    g.expect("P-" + o["order_no"], "unpaid", "unpaid_no_payment", 1500, None, False)
    o = g.order(d2, "alipay", 1600, status="closed")
    g.expect("P-" + o["order_no"], "unpaid", "closed_no_payment", 1600, None, False)
    # unpaid with only a failed attempt -> consistent
    o = g.order(d2, "wechat", 1700, status="closed")
    g.pay(o, status="failed", t=g.when(d2))
    g.expect("P-" + o["order_no"], "unpaid", "closed_failed_attempt", 1700, None, False)
    # failed attempt then a successful one -> matched
    o = g.order(d3, "alipay", 23400)
    g.pay(o, status="failed", t=o["_paid"] - timedelta(seconds=30))
    g.pay(o)
    g.expect("P-" + o["order_no"], "matched", "failed_then_success", 23400, 23400)
    # paid via another channel than the order's method settles through (README extension)
    o = g.order(d1, "wechat", 4321)
    g.pay(o, channel="alipay")
    g.expect("P-" + o["order_no"], "channel_mismatch", "channel_mismatch_wechat_paid_alipay", 4321, 4321)
    # huabei settling through alipay
    o = g.order(d1, "huabei", 500000)
    g.pay(o)
    g.expect("P-" + o["order_no"], "matched", "huabei_via_alipay", 500000, 500000)
    # order_no with spaces / U+3000 in the orders file, clean on the bill
    o = g.order(d2, "wechat", 4242)
    o["_no_clean"] = o["order_no"]
    g.pay(o)
    o["order_no"] = "\u3000" + o["order_no"] + "  "
    g.expect("P-" + o["_no_clean"], "matched", "order_no_padded_u3000", 4242, 4242)
    # upper-case channel/status/type on both sides
    o = g.order(d2, "alipay", 31400)
    t = g.pay(o)
    o["channel"], o["status"] = "ALIPAY", "PAID"
    t["channel"], t["status"], t["type"] = "Alipay", "SUCCESS", "PAYMENT"
    g.expect("P-" + o["order_no"], "matched", "uppercase_values", 31400, 31400)
    o = g.order(d3, "wechat", 27182)
    t = g.pay(o)
    o["channel"] = "WeChat"
    t["amount"] = " 271.82 "
    g.expect("P-" + o["order_no"], "matched", "mixedcase_and_spaced_amount", 27182, 27182)
    # --- refund defects ---------------------------------------------------------------------
    def paid_order(d, m, fen, status):
        o = g.order(d, m, fen, status=status)
        g.pay(o)
        g.expect("P-" + o["order_no"], "matched", "refund_host", fen, fen)
        return o
    o = paid_order(d1, "wechat", 20000, "refunded")
    rf = g.refund(o, 20000)
    g.expect("R-" + rf["refund_no"], "refund_order_only", "refund_order_only", 20000, None)
    o = paid_order(d2, "alipay", 30000, "paid")
    cr = g.chrefund(None, o, 5000, refund_no="CONSOLE" + "".join(r.choice("0123456789") for _ in range(14)))
    g.expect("R-" + cr["refund_no"], "refund_channel_only", "refund_channel_only_console", None, 5000)
    o = paid_order(d2, "wechat", 40000, "partially_refunded")
    rf = g.refund(o, 10000)
    g.chrefund(rf, o, 10001)
    g.expect("R-" + rf["refund_no"], "refund_amount_mismatch", "refund_amount_plus_1fen", 10000, 10001)
    o = paid_order(d3, "unionpay", 40000, "partially_refunded")
    rf = g.refund(o, 10000)
    g.chrefund(rf, o, 9999)
    g.expect("R-" + rf["refund_no"], "refund_amount_mismatch", "refund_amount_minus_1fen", 10000, 9999)
    o = paid_order(d1, "wechat", 8000, "paid")
    rf = g.refund(o, 8000, status="processing")
    g.expect("R-" + rf["refund_no"], ("refund_pending",), "refund_processing_no_record", 8000, None, False)
    o = paid_order(d2, "alipay", 8100, "paid")
    rf = g.refund(o, 8100, status="failed")
    g.expect("R-" + rf["refund_no"], ("refund_failed", "refund_unrefunded", "refund_closed", "refund_matched"),
             "refund_failed_no_record(any consistent kind; not refund_order_only)", 8100, None, False)
    o = paid_order(d3, "wechat", 8200, "paid")
    rf = g.refund(o, 8200, status="processing")
    g.chrefund(rf, o, 8200)
    g.expect("R-" + rf["refund_no"], ("refund_status_mismatch", "refund_matched"),
             "refund_processing_but_channel_success", 8200, 8200, False)
    o = paid_order(d1, "huabei", 60000, "partially_refunded")
    rf1 = g.refund(o, 10000)
    rf2 = g.refund(o, 20000)
    g.chrefund(rf1, o, 10000)
    g.chrefund(rf2, o, 20000)
    g.expect("R-" + rf1["refund_no"], "refund_matched", "two_partial_refunds_1", 10000, 10000)
    g.expect("R-" + rf2["refund_no"], "refund_matched", "two_partial_refunds_2", 20000, 20000)
    o = paid_order(d2, "wechat", 1, "refunded")
    rf = g.refund(o, 1)
    g.chrefund(rf, o, 1)
    g.expect("R-" + rf["refund_no"], "refund_matched", "refund_0.01", 1, 1)
    # --- probes: edges the spec implies but the brief does not list --------------------------
    for tag, secs, kind in [("grace_9m59s_pending", 599, "pending_cross_day"), ("grace_10m01s_order_only", 601, "order_only")]:
        o = g.order(d3, "unionpay", 7000 + secs, paid=end - timedelta(seconds=secs))
        g.expect("P-" + o["order_no"], kind, tag, o["_fen"], None, False)
    o = g.order(d3, "alipay", 7100, paid=end - timedelta(minutes=6))
    o["paid_at"] = "2026-11-20T23:54:00.250+08:00"       # fractional seconds
    g.expect("P-" + o["order_no"], "pending_cross_day", "pending_fractional_seconds", 7100, None, False)
    o = g.order(d3, "huabei", 7200, paid=end - timedelta(minutes=7))
    o["paid_at"] = "2026/11/20 23:53:00"                 # slash date form (documented only for bill_date)
    g.expect("P-" + o["order_no"], ("pending_cross_day",), "pending_slash_time_form", 7200, None, False)
    # paid after the window end (00:05 next day), record on the next (absent) bill
    o = g.order(d3, "wechat", 7300, paid=end + timedelta(minutes=5))
    g.pay(o, bill=NEXT_DAY)
    g.expect("P-" + o["order_no"], ("pending_cross_day", "out_of_window"), "paid_after_window_end", 7300, None, False)
    # 1-decimal and integer amounts (plain yuan, at most 2 decimals)
    o = g.order(d1, "wechat", 1250)
    o["amount"] = "12.5"
    t = g.pay(o)
    t["amount"] = "12.50"
    g.expect("P-" + o["order_no"], "matched", "amount_one_decimal", 1250, 1250)
    o = g.order(d1, "alipay", 1200)
    o["amount"] = "12"
    g.pay(o)
    g.expect("P-" + o["order_no"], "matched", "amount_integer", 1200, 1200)
    # channel record without an order number (two of them): each its own channel_only, ids unique
    for i in range(2):
        g.pay({"channel": "wechat", "_paid": g.when(d2), "_fen": 1111 * (i + 1), "_store": "S003", "order_no": ""},
              order_no="")
    # console refund with no refund_no (two of them)
    host = paid_order(d2, "wechat", 9000, "paid")
    for i in range(2):
        g.chrefund(None, host, 1000 * (i + 1), refund_no="")
    # duplicate record of a refund row, and copies differing only by case/spaces
    o = paid_order(d2, "alipay", 12000, "partially_refunded")
    rf = g.refund(o, 2000)
    t = g.chrefund(rf, o, 2000)
    g.c.tx.append(dict(t))
    g.expect("R-" + rf["refund_no"], "refund_matched", "dup_record_refund_row", 2000, 2000)
    g.expect(f"D-{t['channel']}:{t['channel_tx_id']}:refund:{t['channel_refund_id']}", "duplicate_record",
             "dup_record_refund_copy(id per README D-<ch>:<tx>:<type>:<refund key>)", None, None, False)
    o = g.order(d1, "wechat", 13000)
    t = g.pay(o)
    t2 = dict(t)
    t2["status"], t2["type"], t2["channel"] = "SUCCESS", " PAYMENT ", "WECHAT"
    g.c.tx.append(t2)
    g.expect("P-" + o["order_no"], "matched", "dup_record_case_variant_order", 13000, 13000)
    g.expect(f"D-wechat:{t['channel_tx_id']}:payment:", "duplicate_record", "dup_record_case_variant_copy",
             None, None, False)
    # the same record in two bill files (d1's bill delivered twice: copy appended to d2's file): the same record
    # delivered twice, counted once in a file run as a workspace stores it once (README, since the fifteenth session:
    # "A record a later file lists again with the same values … is the same record delivered twice, counted once")
    o = g.order(d1, "unionpay", 14000)
    t = g.pay(o)
    t3 = dict(t)
    t3["_file"] = d2
    t3["_redelivered"] = True
    g.c.tx.append(t3)
    g.expect("P-" + o["order_no"], "matched", "dup_record_across_files_order", 14000, 14000)
    # shop refund success, channel refund failed
    o = paid_order(d3, "wechat", 15000, "refunded")
    rf = g.refund(o, 15000)
    g.chrefund(rf, o, 15000, status="failed")
    g.expect("R-" + rf["refund_no"], "refund_status_mismatch", "refund_success_channel_failed", 15000, None, False)
    # two successful channel refunds for one refund_no
    o = paid_order(d2, "unionpay", 16000, "partially_refunded")
    rf = g.refund(o, 3000)
    g.chrefund(rf, o, 3000)
    g.chrefund(rf, o, 3000)
    g.expect("R-" + rf["refund_no"], "duplicate_refund", "duplicate_refund_two_channel_refunds", 3000, None, False)
    # the channel refunded another order than the shop's refund names
    o = paid_order(d2, "wechat", 17000, "refunded")
    o2 = paid_order(d2, "wechat", 17000, "paid")
    rf = g.refund(o, 17000)
    t = g.chrefund(rf, o2, 17000)
    g.expect("R-" + rf["refund_no"], "refund_order_mismatch", "refund_other_order", 17000, 17000, False)
    # balance (internal) order that nevertheless has a channel payment
    o = g.order(d1, "balance", 18000)
    g.pay(o, channel="wechat")
    g.expect("P-" + o["order_no"], ("channel_mismatch", "status_mismatch"), "internal_with_channel_payment", 18000, 18000, False)
    # paid order with only a processing payment; unpaid order with a processing payment
    o = g.order(d2, "wechat", 19000)
    g.pay(o, status="processing")
    g.expect("P-" + o["order_no"], "status_mismatch", "paid_channel_processing", 19000, None, False)
    # success payment later refunded in full by the shop; duplicate payment whose second copy was refunded
    o = g.order(d3, "wechat", 21000, status="refunded")
    g.pay(o)
    g.pay(o, t=o["_paid"] + timedelta(seconds=15))
    rf = g.refund(o, 21000)
    g.chrefund(rf, o, 21000)
    g.expect("P-" + o["order_no"], "duplicate_payment", "dup_payment_one_refunded", 21000, None, False)
    g.expect("R-" + rf["refund_no"], "refund_matched", "dup_payment_refund", 21000, 21000)
    # huabei order whose record names channel huabei (not alipay)
    o = g.order(d3, "huabei", 22000)
    g.pay(o, channel="alipay")["channel"] = "huabei"
    g.expect("P-" + o["order_no"], ("matched", "channel_mismatch"), "huabei_record_channel_huabei", 22000, 22000, False)
    # merchant number on the bill differs from the order's (key_scope default []: paired by order number; the
    # spec is silent on the merchant: paymatch flags it as merchant_mismatch since the order's number is one
    # the WeChat records use, and [match] compare_merchant = false makes it matched)
    o = g.order(d1, "wechat", 23000)
    g.pay(o)["merchant_id"] = "1600000099"
    g.expect("P-" + o["order_no"], ("matched", "merchant_mismatch"), "other_merchant_no_default_scope", 23000, 23000)

    # decorate: spaces (ASCII, U+3000, U+00A0 where the encoding allows) around values, upper-case enums
    for rows, cols in [(g.c.orders, ["store_id", "status", "channel", "amount"]),
                       (g.c.refunds, ["status", "amount", "order_no"]),
                       (g.c.tx, ["status", "type", "channel", "amount", "merchant_id", "channel_tx_id"])]:
        for row in rows:
            if r.random() < 0.15:
                c = r.choice(cols)
                if row[c]:
                    row[c] = " " + row[c] + " "
            if r.random() < 0.1:
                for c in ("status", "type", "channel"):
                    if c in row and row[c]:
                        row[c] = row[c].upper()
    return g.c


# ----------------------------------------------------------------------------------------------
def write_csv(path: Path, cols: list[str], rows: list[dict], encoding: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if encoding == "gbk" else "\n")
    w.writerow(cols)
    for row in rows:
        w.writerow([row.get(c, "") for c in cols])
    text = buf.getvalue()
    if encoding != "gbk":
        # U+00A0 only where the encoding can carry it
        text = text.replace("__NBSP__", "\u00a0")
    path.write_bytes(text.encode(encoding))


def write_chain(c: Chain, d: Path, shuffle_seed: int | None = None) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    orders, refunds, tx = list(c.orders), list(c.refunds), list(c.tx)
    if shuffle_seed is not None:
        rr = random.Random(shuffle_seed)
        rr.shuffle(orders), rr.shuffle(refunds), rr.shuffle(tx)
    paths = {"orders": d / "orders.csv", "refunds": d / "refunds.csv"}
    write_csv(paths["orders"], ORDER_COLS, orders, "utf-8-sig")       # UTF-8 with BOM
    write_csv(paths["refunds"], REFUND_COLS, refunds, "gbk")          # GBK
    encs = {DAYS[0]: "gbk", DAYS[1]: "utf-8-sig", DAYS[2]: "utf-8", NEXT_DAY: "gbk"}
    for day, enc in encs.items():
        p = d / f"transactions_{day:%Y%m%d}.csv"
        write_csv(p, TX_COLS, [t for t in tx if t["_file"] == day], enc)
        paths[f"tx_{day:%Y%m%d}"] = p
    return paths


def window_tx(paths):
    return [paths[f"tx_{d:%Y%m%d}"] for d in DAYS]


def run(args: list[str], check=True) -> subprocess.CompletedProcess:
    p = subprocess.run([PAYMATCH, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def reconcile_files(paths, out: Path, engine="duckdb", extra=()) -> list[dict]:
    if out.exists():
        shutil.rmtree(out)
    a = ["reconcile", "--orders", paths["orders"], "--refunds", paths["refunds"]]
    for t in window_tx(paths):
        a += ["--transactions", t]
    run(a + ["--out", out, "--engine", engine, *extra])
    return read_outcomes(out)


def read_outcomes(out: Path) -> list[dict]:
    with open(out / "outcomes.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def ifen(v):
    return None if v in ("", None) else int(v)


# ----------------------------------------------------------------------------------------------
class Audit:
    def __init__(self):
        self.problems: list[str] = []
        self.agreed: list[str] = []

    def bad(self, msg):
        self.problems.append(msg)
        print("  DISAGREE:", msg)

    def ok(self, msg):
        self.agreed.append(msg)
        print("  ok:", msg)

    def compare(self, c: Chain, outs: list[dict], label: str):
        by_id: dict[str, list[dict]] = {}
        for o in outs:
            by_id.setdefault(o["outcome_id"], []).append(o)
        dup_ids = [k for k, v in by_id.items() if len(v) > 1]
        if dup_ids:
            self.bad(f"[{label}] outcome_id not unique: {dup_ids[:5]}")
        n_ok = 0
        tag_bad: dict[str, list[str]] = {}
        for key, e in c.expect.items():
            got = by_id.get(key)
            if not got:
                tag_bad.setdefault(e.tag, []).append(f"{key}: no outcome with this id")
                continue
            g = got[0]
            errs = []
            if g["kind"] not in e.kinds:
                errs.append(f"kind {g['kind']!r} (spec: {e.kinds[0]!r}); reason={g['reason']!r}")
            if e.check_amounts:
                if e.order_fen is not None and ifen(g["order_amount_fen"]) != e.order_fen:
                    errs.append(f"order_amount_fen {g['order_amount_fen']} != {e.order_fen}")
                if e.channel_fen is not None and ifen(g["channel_amount_fen"]) != e.channel_fen:
                    errs.append(f"channel_amount_fen {g['channel_amount_fen']} != {e.channel_fen}")
                if e.order_fen is not None and e.channel_fen is not None:
                    if ifen(g["difference_fen"]) != e.channel_fen - e.order_fen:
                        errs.append(f"difference_fen {g['difference_fen']} != channel-order {e.channel_fen - e.order_fen}")
            if errs:
                tag_bad.setdefault(e.tag, []).append(f"{key}: " + "; ".join(errs))
            else:
                n_ok += 1
        for tag, lst in tag_bad.items():
            self.bad(f"[{label}] {tag}: {len(lst)} key(s), e.g. {lst[0]}")
        self.ok(f"[{label}] {n_ok}/{len(c.expect)} expected keys agree")
        blank = [o for o in outs if o["outcome_id"] not in c.expect and "~" in o["outcome_id"]]
        if blank:
            self.ok(f"[{label}] {len(blank)} channel rows without order_no/refund_no get their own ids: "
                    + ", ".join(f"{o['outcome_id'][:24]}… {o['kind']}" for o in blank))
        unexpected = [o for o in outs if o["outcome_id"] not in c.expect and o not in blank]
        if unexpected:
            self.bad(f"[{label}] {len(unexpected)} outcomes not expected, e.g. "
                     + "; ".join(f"{o['outcome_id']} {o['kind']} {o['reason']!r}" for o in unexpected[:4]))
        # difference sign on every row with both amounts
        wrong = [o for o in outs if o["order_amount_fen"] and o["channel_amount_fen"] and o["difference_fen"]
                 and int(o["difference_fen"]) != int(o["channel_amount_fen"]) - int(o["order_amount_fen"])]
        if wrong:
            self.bad(f"[{label}] difference_fen != channel - order on {len(wrong)} rows, e.g. {wrong[0]}")
        # conservation: rows per side
        n_orders, n_refunds = len(c.orders), len(c.refunds)
        n_tx = sum(1 for t in c.tx if t["_file"] in DAYS and not t.get("_redelivered"))
        s_order = sum(int(o["order_rows"] or 0) for o in outs)
        s_chan = sum(int(o["channel_rows"] or 0) for o in outs)
        if s_order != n_orders + n_refunds:
            self.bad(f"[{label}] conservation: sum(order_rows)={s_order} vs orders+refunds={n_orders + n_refunds}")
        else:
            self.ok(f"[{label}] sum(order_rows) = orders + refunds = {s_order}")
        if s_chan != n_tx:
            self.bad(f"[{label}] conservation: sum(channel_rows)={s_chan} vs channel rows in window={n_tx}")
        else:
            self.ok(f"[{label}] sum(channel_rows) = transactions in window = {s_chan}")
        # every order_no / refund_no appears in exactly one payment / refund outcome
        pos = {}
        for o in outs:
            if o["outcome_id"].startswith("P-"):
                pos[o["order_no"]] = pos.get(o["order_no"], 0) + 1
        bad_o = [x["order_no"].strip("\u3000 ") for x in c.orders if pos.get(x["order_no"].strip("\u3000 "), 0) != 1]
        if bad_o:
            self.bad(f"[{label}] {len(bad_o)} order_no not in exactly one P- outcome: {bad_o[:3]}")

    def summary(self, outs: list[dict], out: Path, label: str, c: Chain):
        s = json.loads((out / "summary.json").read_text())
        kinds: dict[str, list[int]] = {}
        for o in outs:
            k = kinds.setdefault(o["kind"], [0, 0, 0])
            k[0] += 1
            k[1] += int(o["order_amount_fen"] or 0)
            k[2] += int(o["channel_amount_fen"] or 0)
        sk = {b["kind"]: [b["count"], b["order_amount_fen"], b["channel_amount_fen"]] for b in s.get("by_kind", [])}
        if sk != kinds:
            self.bad(f"[{label}] summary.json by_kind != sums of outcomes.csv: "
                     + str({k: (sk.get(k), kinds.get(k)) for k in set(sk) | set(kinds) if sk.get(k) != kinds.get(k)}))
        else:
            self.ok(f"[{label}] summary.json by_kind = sums of outcomes.csv ({len(sk)} kinds)")
        if s.get("outcomes") != len(outs):
            self.bad(f"[{label}] summary outcomes={s.get('outcomes')} vs {len(outs)} rows")
        # control totals against the generator's own sums
        def fen(v):
            v = v.strip(" \u3000")
            a, b = v.split(".")
            return int(a) * 100 + int(b)
        win = [t for t in c.tx if t["_file"] in DAYS and not t.get("_redelivered")]
        mine = {"orders": (len(c.orders), sum(o["_fen"] for o in c.orders)),
                "refunds": (len(c.refunds), sum(r["_fen"] for r in c.refunds)),
                "transactions": (len(win), sum(fen(t["amount"]) for t in win))}
        ct = s.get("control_totals", {})
        for side, (n, f) in mine.items():
            got = ct.get(side, {})
            vals = (got.get("input_rows"), got.get("input_fen"), got.get("outcome_rows"), got.get("outcome_fen"))
            if vals != (n, f, n, f):
                self.bad(f"[{label}] control_totals.{side} {vals} vs generator rows={n} fen={f}")
            else:
                self.ok(f"[{label}] control_totals.{side} tie out with the generator ({n} rows, {f} fen)")
        if s.get("conservation") is not True:
            self.bad(f"[{label}] summary conservation = {s.get('conservation')}")
        return s


def canon(outs):
    return sorted((o["outcome_id"], o["kind"], o["order_amount_fen"], o["channel_amount_fen"], o["difference_fen"],
                   o["order_rows"], o["channel_rows"]) for o in outs)


def ws_counts(ws: Path) -> dict:
    import duckdb
    con = duckdb.connect(str(ws), read_only=True)
    try:
        tabs = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                          "where table_type='BASE TABLE' order by 1").fetchall()]
        res = {}
        for t in tabs:
            n = con.execute(f'select count(*) from "{t}"').fetchone()[0]
            h = con.execute(f'select coalesce(sum(hash(t)),0) from "{t}" t').fetchone()[0]
            res[t] = (n, int(h))
        return res
    finally:
        con.close()


# ----------------------------------------------------------------------------------------------
def check_files(a: Audit, c: Chain, base: Path, spark: bool):
    print("== file mode (duckdb)")
    paths = write_chain(c, base / "data")
    o1 = reconcile_files(paths, base / "out1")
    a.compare(c, o1, "duckdb")
    a.summary(o1, base / "out1", "duckdb", c)
    o2 = reconcile_files(paths, base / "out2")
    if canon(o1) == canon(o2):
        a.ok("outcome ids/kinds identical across two runs")
    else:
        a.bad("second run on the same files differs")
    paths_s = write_chain(c, base / "data_shuffled", shuffle_seed=99)
    o3 = reconcile_files(paths_s, base / "out3")
    if canon(o1) == canon(o3):
        a.ok("outcomes identical when every file's rows are shuffled")
    else:
        diff = set(canon(o1)) ^ set(canon(o3))
        a.bad(f"shuffled input order changes outcomes: {sorted(diff)[:4]}")
    if spark:
        print("== spark")
        o4 = reconcile_files(paths, base / "out_spark", engine="spark")
        if canon(o1) == canon(o4):
            a.ok("spark outcomes identical to duckdb")
        else:
            diff = set(canon(o1)) ^ set(canon(o4))
            a.bad(f"spark differs from duckdb on {len(diff)} tuples: {sorted(diff)[:4]}")
        a.compare(c, o4, "spark")
    return paths, o1


def check_workspace(a: Audit, c: Chain, paths, base: Path, file_outs):
    print("== workspace flow")
    ws = base / "W.duckdb"
    if ws.exists():
        ws.unlink()
    d1, d2, d3 = DAYS
    run(["ingest", "--workspace", ws, "--orders", paths["orders"], "--refunds", paths["refunds"],
         *sum([["--transactions", t] for t in window_tx(paths)], [])])
    before = ws_counts(ws)
    run(["ingest", "--workspace", ws, "--orders", paths["orders"], "--transactions", paths[f"tx_{d1:%Y%m%d}"]])
    after = ws_counts(ws)
    changed = {t for t in before if before[t] != after.get(t)}
    if changed:
        a.bad(f"re-ingesting the same files changed tables {sorted(changed)}: "
              + ", ".join(f"{t} {before[t][0]}->{after[t][0]}" for t in sorted(changed)))
    else:
        a.ok("re-ingesting the same orders/transactions file changed nothing")
    late_nos = {t["order_no"] for t in c.tx if t["_file"] == NEXT_DAY}
    end = datetime(NEXT_DAY.year, NEXT_DAY.month, NEXT_DAY.day, tzinfo=CST)
    paid_before_end = {"P-" + o["order_no"] for o in c.orders if o["_paid"] < end}
    # (an order paid after the window end belongs to the next day's period in workspace mode)
    pend_all = {k for k, e in c.expect.items() if e.kinds[0] == "pending_cross_day" and k in paid_before_end}
    pend = {k for k in pend_all if k[2:] in late_nos}          # their record is on the next day's bill
    never = pend_all - pend                                    # no record on any bill
    out = base / "ws_range"
    run(["reconcile", "--workspace", ws, "--from", d1, "--to", d3, "--out", out])
    ws_outs = read_outcomes(out)
    if canon(ws_outs) == canon(file_outs):
        a.ok("workspace --from d1 --to d3 gives the same outcomes as file mode")
    else:
        diff = set(canon(file_outs)) ^ set(canon(ws_outs))
        a.bad(f"workspace range differs from file mode on {len(diff)} tuples: {sorted(diff)[:4]}")
    out = base / "ws_d3"
    run(["reconcile", "--workspace", ws, "--date", d3, "--out", out])
    o_d3 = {o["outcome_id"]: o for o in read_outcomes(out)}
    got = {k: o_d3.get(k, {}).get("kind") for k in pend}
    if all(v == "pending_cross_day" for v in got.values()):
        a.ok(f"--date d3: {len(pend)} late orders pending_cross_day")
    else:
        a.bad(f"--date d3: late orders {got}")
    # day-1 run: no d2/d3 order should be order_only; d1 orders matched as in file mode
    out = base / "ws_d1"
    run(["reconcile", "--workspace", ws, "--date", d1, "--out", out])
    o_d1 = read_outcomes(out)
    d1_orders = {"P-" + o["order_no"].strip("\u3000 ") for o in c.orders if o["_paid"].astimezone(CST).date() <= d1}
    leak = [o for o in o_d1 if o["outcome_id"].startswith("P-") and o["outcome_id"] not in d1_orders
            and o["kind"] not in ("channel_only",)]
    if leak:
        a.bad(f"--date d1 run holds {len(leak)} payment outcomes of orders paid after d1, e.g. "
              + "; ".join(f"{o['outcome_id']} {o['kind']}" for o in leak[:3]))
    else:
        a.ok("--date d1 run holds only d1 orders")
    # ingest the next day's bill and reconcile the next day
    run(["ingest", "--workspace", ws, "--transactions", paths[f"tx_{NEXT_DAY:%Y%m%d}"]])
    out = base / "ws_d4"
    run(["reconcile", "--workspace", ws, "--date", NEXT_DAY, "--out", out])
    o_d4 = {o["outcome_id"]: o for o in read_outcomes(out)}
    got = {k: o_d4.get(k, {}).get("kind") for k in pend}
    if all(v == "matched" for v in got.values()):
        a.ok("after ingesting the next day's bill, --date d4: pending orders matched")
    else:
        a.bad(f"after the next day's bill, --date d4 run: pending orders -> {got}")
    got = {k: o_d4.get(k, {}).get("kind") for k in never}
    if all(v == "order_only" for v in got.values()):
        a.ok("--date d4: orders pending on d3 but absent from d4's bill became order_only")
    else:
        a.bad(f"--date d4 run: orders pending on d3 whose record is NOT on d4's bill -> {got} "
              "(stay pending_cross_day in the stored d3 run forever)")
    others = [o for o in o_d4.values() if o["outcome_id"] not in pend and o["outcome_id"] in paid_before_end]
    if others:
        a.bad(f"--date d4 run (only the late records on its bill) has {len(others)} other outcomes, e.g. "
              + "; ".join(f"{o['outcome_id']} {o['kind']}" for o in others[:3]))
    out = base / "ws_d3b"
    run(["reconcile", "--workspace", ws, "--from", d3, "--to", NEXT_DAY, "--out", out])
    o_r = {o["outcome_id"]: o for o in read_outcomes(out)}
    got = {k: o_r.get(k, {}).get("kind") for k in pend} | {k: o_r.get(k, {}).get("kind") for k in never}
    want = {k: "matched" for k in pend} | {k: "order_only" for k in never}
    if got == want:
        a.ok("--from d3 --to d4: pending orders matched, never-billed ones order_only")
    else:
        a.bad(f"--from d3 --to d4: pending orders -> {got}")
    # rerun idempotent
    b1 = ws_counts(ws)
    run(["reconcile", "--workspace", ws, "--date", NEXT_DAY, "--out", base / "ws_d4b"])
    b2 = ws_counts(ws)
    if canon(list(o_d4.values())) == canon(read_outcomes(base / "ws_d4b")):
        a.ok("workspace rerun of the same date gives identical outcomes")
    else:
        a.bad("workspace rerun of the same date differs")
    grew = {t: (b1[t][0], b2[t][0]) for t in b1 if b1[t][0] != b2.get(t, (None,))[0] and "run" not in t}
    if grew:
        a.bad(f"rerunning the same date changed row counts of {grew}")
    return ws


BAD_CASES = []


def bad_case(name):
    def deco(f):
        BAD_CASES.append((name, f))
        return f
    return deco


def check_bad_inputs(a: Audit, c: Chain, paths, base: Path, ws: Path):
    print("== bad inputs")
    d = base / "bad"
    d.mkdir(exist_ok=True)
    good = paths["orders"].read_bytes().decode("utf-8-sig").splitlines()
    hdr = good[0].split(",")
    # pick a plain line (no quotes) to mutate at data line 5 (file line 6)
    idx = next(i for i in range(5, len(good)) if '"' not in good[i])
    def mutate(field_name, value):
        lines = list(good)
        cells = lines[idx].split(",")
        cells[hdr.index(field_name)] = value
        lines[idx] = ",".join(cells)
        return "\n".join(lines) + "\n"
    cases = [
        ("amount 12.3.4", "orders", mutate("amount", "12.3.4"), "amount", idx + 1),
        ("amount 1e5", "orders", mutate("amount", "1e5"), "amount", idx + 1),
        ("amount 1.001", "orders", mutate("amount", "1.001"), "amount", idx + 1),
        ("amount 1,234.00", "orders", mutate("amount", '"1,234.00"'), "amount", idx + 1),
        ("amount ¥12.00", "orders", mutate("amount", "¥12.00"), "amount", idx + 1),
        ("amount -5.00 on an order", "orders", mutate("amount", "-5.00"), "amount", idx + 1),
        ("paid_at unparseable", "orders", mutate("paid_at", "2026-13-45 25:61"), "paid_at", idx + 1),
        ("unknown status", "orders", mutate("status", "paidd"), "status", idx + 1),
        ("missing column amount", "orders",
         "\n".join(",".join(x for j, x in enumerate(l.split(",")) if j != hdr.index("amount")) if '"' not in l
                   else l for l in good[:1] + [g for g in good[1:] if '"' not in g]) + "\n", "amount", None),
        ("duplicate order_no", "orders", "\n".join(good + [good[idx]]) + "\n", "order_no", len(good) + 1),
        ("ragged row", "orders", "\n".join(good[:idx] + [good[idx] + ",extra,cells"] + good[idx + 1:]) + "\n", None, idx + 1),
    ]
    for name, kind, text, fld, line in cases:
        p = d / (name.replace(" ", "_").replace("/", "_") + ".csv")
        p.write_text(text, encoding="utf-8")
        probe_error(a, name, ws, ["--orders", p], p, fld, line)
    # wrong encoding: UTF-16 file, and bytes that are neither UTF-8 nor GBK
    p = d / "orders_utf16.csv"
    p.write_bytes(("\n".join(good) + "\n").encode("utf-16"))
    probe_error(a, "encoding utf-16", ws, ["--orders", p], p, None, None)
    p = d / "orders_badbytes.csv"
    raw = ("\n".join(good) + "\n").encode("utf-8")
    lines = raw.split(b"\n")
    lines[idx] = lines[idx].replace(b",", b",\xff\xfe", 1)
    p.write_bytes(b"\n".join(lines))
    probe_error(a, "bytes invalid in UTF-8 and GBK", ws, ["--orders", p], p, None, idx + 1)
    # transactions: bad amount, bad bill_date, bad occurred_at
    tgood = paths[f"tx_{DAYS[2]:%Y%m%d}"].read_bytes().decode("utf-8").splitlines()
    th = tgood[0].split(",")
    tidx = next(i for i in range(3, len(tgood)) if '"' not in tgood[i])
    for fld, val in [("amount", "12.3.4"), ("bill_date", "20261131"), ("occurred_at", "yesterday"), ("fee", "1e2")]:
        lines = list(tgood)
        cells = lines[tidx].split(",")
        cells[th.index(fld)] = val
        lines[tidx] = ",".join(cells)
        p = d / f"tx_bad_{fld}.csv"
        p.write_text("\n".join(lines) + "\n", encoding="utf-8")
        probe_error(a, f"transactions {fld}={val}", ws, ["--transactions", p], p, fld, tidx + 1)
    # refunds: duplicate refund_no
    rgood = paths["refunds"].read_bytes().decode("gbk").splitlines()
    p = d / "refunds_dup.csv"
    p.write_text("\n".join(rgood + [rgood[1]]) + "\n", encoding="utf-8")
    probe_error(a, "duplicate refund_no", ws, ["--refunds", p], p, "refund_no", len(rgood) + 1)
    # a file mixing a good and a bad orders file in one ingest: nothing of the good one stored either?
    # file mode (no workspace) must fail too
    p = d / "amount_12.3.4.csv"
    r = run(["reconcile", "--orders", p, "--refunds", paths["refunds"], "--transactions", paths[f"tx_{DAYS[0]:%Y%m%d}"],
             "--out", base / "bad_out"], check=False)
    if r.returncode == 0:
        a.bad("file-mode reconcile accepted orders with amount 12.3.4")
    else:
        a.ok("file-mode reconcile rejects amount 12.3.4")


def probe_error(a: Audit, name, ws, args, path: Path, fld, line):
    before = ws_counts(ws)
    r = run(["ingest", "--workspace", ws, *args], check=False)
    after = ws_counts(ws)
    msg = (r.stdout + r.stderr)
    flat = " ".join(msg.split())
    errs = []
    if r.returncode == 0:
        errs.append("accepted (exit 0)")
    if path.name not in flat.replace(" ", "") and path.name not in flat:
        errs.append("file name not in message")
    if line is not None and f":{line}" not in flat.replace(" ", ""):
        errs.append(f"line {line} not in message")
    if fld is not None and fld not in flat:
        errs.append(f"field {fld} not in message")
    if before != after:
        errs.append("workspace changed: " + str({t: (before[t][0], after.get(t, (None,))[0])
                                                  for t in before if before[t] != after.get(t)}))
    first = next((l for l in msg.splitlines() if path.name in l), msg.strip().splitlines()[0] if msg.strip() else "")
    if errs:
        a.bad(f"bad input [{name}]: {'; '.join(errs)} | {first.strip()[:220]}")
    else:
        a.ok(f"bad input [{name}] rejected: {first.strip()[:160]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/audit_defects")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--stores", type=int, default=20)
    ap.add_argument("--per-store-day", type=int, default=6)
    ap.add_argument("--spark", action="store_true", help="also run --engine spark on the same set")
    ap.add_argument("--skip-workspace", action="store_true")
    ap.add_argument("--skip-bad", action="store_true")
    args = ap.parse_args(argv)
    base = Path(args.out)
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    c = build(args.seed, args.stores, args.per_store_day)
    with open(base / "expected.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["outcome_id", "kind", "acceptable", "tag", "order_amount_fen", "channel_amount_fen"])
        for e in c.expect.values():
            w.writerow([e.key, e.kinds[0], "|".join(e.kinds), e.tag, e.order_fen, e.channel_fen])
    print(f"generated {len(c.orders)} orders, {len(c.refunds)} refunds, {len(c.tx)} channel rows, "
          f"{len(c.expect)} expectations in {base}")
    a = Audit()
    paths, outs = check_files(a, c, base, args.spark)
    ws = None
    if not args.skip_workspace:
        ws = check_workspace(a, c, paths, base, outs)
    if not args.skip_bad:
        if ws is None:
            ws = base / "W.duckdb"
            run(["ingest", "--workspace", ws, "--orders", paths["orders"]])
        check_bad_inputs(a, c, paths, base, ws)
    print(f"\n{len(a.agreed)} checks agree, {len(a.problems)} disagreements")
    for p in a.problems:
        print(" -", p)
    return 1 if a.problems else 0


if __name__ == "__main__":
    sys.exit(main())
