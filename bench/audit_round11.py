"""Audit round 11 (helper-114): the reports a finance user and a store manager read, on a generated chain.

RESULT: seed 11 1,955 agree / 0 disagree (the tree before this branch's two fixes: 1,951 / 4), seed 12 1,950 / 0;
about 300 s alone on 2 shared cores (2026-12-06). 2 OPEN items each (README silent: see bench/RESULTS.md).

Independent model written from README.md ("reports", the fund flow / anomaly board paragraphs under "Bad input",
"--store keeps …", "Instalment report") and the [anomalies] / [report] parts of config.example.toml (with the
documented meaning of each key: "a single payment at or above this is large", "refunds per member/store within the
window", "payment rows per order at or above this", "night payments this many times the store's usual, and at least
this many"); nothing here reads src/.

A chain of 12 stores (S001..S012), two merchant numbers per channel (stores S001-S006 on the first, S007-S012 on the
second), 10 days (1-10 Nov 2026), WeChat / Alipay / UnionPay / balance, Huabei settling through Alipay (some orders
with 3/6/12 instalments), canonical CSVs per day (orders, refunds, transactions; a day's transactions file lists a
few of the day before's records again, as overlapping exports do; a few payments listed twice in one file), channel
payments no order names (on a merchant number `[stores]` maps, and on one it does not). Injected near and at each
threshold (just below, at, just above): large payments (global, per store, per channel, store over channel), a
statistical outlier and a near miss, members refunding 2/3/4 times within the window and 3 times over exactly the
window and just over it, a store's refunds at and below store_refund_count_threshold, orders with 2/3/4 payment
attempts and with 2 attempts one of them listed twice, refunds below, at and over the payment, night spikes (well
over, at the minimum count, under the minimum, under the factor; night boundaries 00:00:00, 05:59:59 vs 06:00:00).

Runs: ingest + reconcile day by day into a workspace; then `report anomalies` (JSON; config A: amount rules, B: the
statistical rule alone), `report fund-flow` at day/week/month grain for every --by, with --drill of every summary
key (the drilled rows must be exactly the records under the key and add up to the row), and --store S for
reconciliation, fund-flow, anomalies and instalments (a store's report = its part of the chain's, stores + (unknown)
add up to the chain, no other store's row in a store's drill or Excel detail sheet). Where the README leaves a
definition open (population or sample deviation, whether the window's edge is inside, what a store's "usual"
night count is) the model computes each reading and only asserts where they agree: the others are listed as
"open" with both readings.

    python bench/audit_round11.py [--seed 11] [--keep DIR]
"""
from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SH = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 11, 1)
DAYS = 10
END = START + dt.timedelta(days=DAYS - 1)
STORES = [f"S{i:03d}" for i in range(1, 13)]
MERCHANTS = {"wechat": ("1600000001", "1600000002"), "alipay": ("2088000000000001", "2088000000000002"),
             "unionpay": ("898000000000001", "898000000000002"), "balance": ("BAL0001", "BAL0002")}
SETTLE = {"wechat": "wechat", "alipay": "alipay", "unionpay": "unionpay", "balance": "balance", "huabei": "alipay"}
FEE_BP = {"wechat": 60, "alipay": 60, "unionpay": 50, "balance": 0}
MAPPED = {"1600000002": "S012"}   # [stores]: channel-only records on this number are S012's; on others (unknown)
ANOM_COMMON = """
refund_count_window_hours = 24
refund_count_threshold = 3
repeat_attempts_threshold = 3
night_start_hour = 0
night_end_hour = 6
night_spike_factor = 3.0
night_spike_min_count = 5
store_refund_count_threshold = 6
"""
CONFIG_A = f"""
[methods.settle_channel]
huabei = "alipay"

[stores]
"1600000002" = "S012"

[report]
group_by = ["store_id"]
lang = "en"

[instalments.channels.huabei]
rates_bp = {{ 3 = 230, 6 = 450, 12 = 750 }}

[anomalies]
large_amount_fen = 500000
large_zscore = 1000.0
large_zscore_min_sample = 100000
per_store_large_amount_fen = {{ S003 = 1000000, S004 = 200000 }}
per_channel_large_amount_fen = {{ unionpay = 300000 }}
{ANOM_COMMON}"""
# B: the statistical rule alone (no amount threshold reachable)
CONFIG_B = CONFIG_A.split("[anomalies]")[0] + f"""[anomalies]
large_amount_fen = 100000000000
large_zscore = 4.0
large_zscore_min_sample = 30
{ANOM_COMMON}"""
ORDER_COLS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at",
              "member_id", "member_level", "instalments"]
REFUND_COLS = ["refund_no", "order_no", "amount", "created_at", "status"]
TX_COLS = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id",
           "amount", "fee", "settle_amount", "status", "occurred_at", "bill_date", "method"]


def yuan(fen: int) -> str:
    s = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{s}{fen // 100}.{fen % 100:02d}"


def at(d: dt.date, h: int, m: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, h, m, s, tzinfo=SH)


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


# ---------------------------------------------------------------- the chain
class Chain:
    def __init__(self, seed: int, per_store_day: int):
        self.r = random.Random(seed)
        self.orders: dict[str, dict] = {}
        self.refunds: list[dict] = []    # the shop's
        self.recs: list[dict] = []       # the channels' records (one per record; `listed` copies in its day's file)
        self.story: dict[str, str] = {}  # order_no / member / store -> what was injected
        self.n = 0
        r = self.r
        for i in range(DAYS):
            for s in STORES:
                for _ in range(per_store_day):
                    o = self.order(s, day(i), r.choice(["wechat"] * 4 + ["alipay"] * 3 + ["unionpay", "balance",
                                                                                             "huabei"]),
                                   r.randint(1000, 40000), at(day(i), r.randint(8, 21), r.randint(0, 59),
                                                              r.randint(0, 59)))
                    x = r.random()
                    if x < 0.03:   # a failed try before the success: 2 rows, no anomaly
                        self.pay(o, o["paid_at"] - dt.timedelta(minutes=2), status="failed")
                    if x > 0.985:  # a partial refund later that day or the next
                        when = o["paid_at"] + dt.timedelta(hours=r.randint(1, 20))
                        if when.date() <= END:
                            self.refund(o, r.randint(100, o["amount"] // 2), when)
                    if x > 0.995:  # the same bill lists the payment twice
                        o["rec"]["listed"] = 2
        self.inject()

    # --- building blocks
    def order(self, store, d, method, amount, paid_at, member=None, instalments=0, story=None) -> dict:
        self.n += 1
        r = self.r
        k = STORES.index(store) // 6
        ch = SETTLE[method]
        if method == "huabei" and instalments == 0 and r.random() < 0.5:
            instalments = r.choice((3, 6, 12))
        o = {"order_no": f"O{self.n:06d}", "store": store, "merchant": MERCHANTS[ch][k], "method": method,
             "channel": ch, "amount": amount, "status": "paid", "paid_at": paid_at,
             "member": member or f"M{r.randint(1, 400):04d}", "instalments": instalments}
        self.orders[o["order_no"]] = o
        if story:
            self.story[o["order_no"]] = story
        o["rec"] = self.pay(o, paid_at)
        return o

    def pay(self, o, when, status="success", listed=1, amount=None):
        amount = o["amount"] if amount is None else amount
        fee = (amount * FEE_BP[o["channel"]] + 5000) // 10000 if status == "success" else 0
        rec = {"channel": o["channel"], "merchant": o["merchant"], "tx": f"T{len(self.recs) + 1:07d}",
               "order": o["order_no"], "type": "payment", "refund_no": "", "crid": "", "amount": amount,
               "fee": fee, "status": status, "at": when, "bill": when.date(), "method": o["method"], "listed": listed}
        self.recs.append(rec)
        return rec

    def refund(self, o, amount, when, channel_too=True):
        rf = {"refund_no": f"RF{len(self.refunds) + 1:06d}", "order": o["order_no"], "amount": amount, "at": when}
        self.refunds.append(rf)
        o["status"] = "partially_refunded" if o["status"] == "paid" else o["status"]
        if channel_too:
            fee = -((amount * FEE_BP[o["channel"]] + 5000) // 10000)
            self.recs.append({"channel": o["channel"], "merchant": o["merchant"], "tx": f"T{len(self.recs) + 1:07d}",
                              "order": o["order_no"], "type": "refund", "refund_no": rf["refund_no"],
                              "crid": f"CR{len(self.recs) + 1:07d}", "amount": amount, "fee": fee,
                              "status": "success", "at": when, "bill": when.date(), "method": o["method"],
                              "listed": 1})
        return rf

    def channel_only(self, ch, merchant, amount, when):
        fee = (amount * FEE_BP[ch] + 5000) // 10000
        self.recs.append({"channel": ch, "merchant": merchant, "tx": f"T{len(self.recs) + 1:07d}", "order": "",
                          "type": "payment", "refund_no": "", "crid": "", "amount": amount, "fee": fee,
                          "status": "success", "at": when, "bill": when.date(), "method": ch, "listed": 1})

    # --- the anomalies, near and at each threshold
    def inject(self):
        r = self.r
        d3, d5 = day(3), day(5)
        # large payments: (store, method, amount, story)
        for store, method, amount in [
                ("S001", "wechat", 499999), ("S001", "wechat", 500000), ("S001", "wechat", 500001),
                ("S002", "huabei", 500000), ("S003", "wechat", 600000), ("S003", "wechat", 999999),
                ("S003", "wechat", 1000000), ("S004", "unionpay", 199999), ("S004", "unionpay", 250000),
                ("S004", "wechat", 200000), ("S005", "unionpay", 299999), ("S005", "unionpay", 300000),
                ("S005", "unionpay", 300001), ("S005", "alipay", 300001), ("S009", "balance", 500000)]:
            self.order(store, d3, method, amount, at(d3, r.randint(10, 20), r.randint(0, 59)), instalments=0,
                       story=f"large {amount}")
        # the statistical rule: a clear outlier (S007) and a near miss (S008)
        self.order("S007", d5, "wechat", 90000, at(d5, 14), story="z outlier")
        self.order("S008", d5, "wechat", 58000, at(d5, 15), story="z near miss")
        # members refunding often (each refund of its own order)
        for member, offsets_h in [("UF2", (0, 5)), ("UF3", (0, 10, 23)), ("UF4", (0, 2, 6, 10)),
                                  ("UFW", (0, 12, 24)), ("UFX", (0, 12, 24.0003))]:
            base = at(day(2), 9)
            for k, h in enumerate(offsets_h):
                o = self.order(STORES[k % 3 + 8], day(1), "wechat", 5000, at(day(1), 12, k), member=member,
                               story=f"member {member}")
                self.refund(o, 1000, base + dt.timedelta(hours=h))
            self.story[member] = f"refunds at +{offsets_h} h"
        # a store's refunds: 6 within 20 h (S006, at the threshold), 5 (S010, below), distinct members
        for store, n in (("S006", 6), ("S010", 5)):
            for k in range(n):
                o = self.order(store, day(6), "alipay", 4000, at(day(6), 10, k))
                self.refund(o, 500, at(day(6), 11) + dt.timedelta(hours=4 * k))
        # repeated attempts: n rows (n-1 failed tries, then the success)
        for n in (2, 3, 4):
            o = self.order("S002", day(4), "wechat", 8800, at(day(4), 13, 30), story=f"attempts {n}")
            for k in range(1, n):
                self.pay(o, o["paid_at"] - dt.timedelta(minutes=k), status="failed")
        o = self.order("S002", day(4), "alipay", 8800, at(day(4), 13, 40), story="attempts 2, one listed twice")
        self.pay(o, o["paid_at"] - dt.timedelta(minutes=1), status="failed", listed=2)
        # refunds against the payment: below, equal, one fen over, over in two refunds
        for parts, story in (((6000, 3999), "refunds 99.99 of 100"), ((6000, 4000), "refunds = payment"),
                             ((10001,), "one refund 100.01 of 100"), ((6000, 4001), "refunds 100.01 of 100")):
            o = self.order("S011", day(7), "alipay", 10000, at(day(7), 10), story=story)
            for k, a in enumerate(parts):
                self.refund(o, a, at(day(7), 15, k))
            if sum(parts) >= 10000:
                o["status"] = "refunded"
        # night payments: (store, {day index: [times]})
        def nights(n, d, first=1):
            return [at(day(d), (first + k) % 6, 10 * k % 60, k) for k in range(n)]
        plan = {"S009": {i: nights(1, i) for i in range(9)} | {9: nights(12, 9, 0)},   # spike 12 vs 1 a night
                "S010": {9: nights(4, 9)},                                           # 4: under the minimum
                "S011": {4: nights(5, 4)},                                           # 5: at the minimum
                "S012": {i: nights(3, i) for i in range(9)} | {9: nights(7, 9)},    # 7 vs 3: under the factor
                "S002": {i: nights(2, i) for i in range(9)} | {9: nights(6, 9)},    # 6 vs 2: at the factor
                "S008": {6: [at(day(6), 0), at(day(6), 1, 5), at(day(6), 2, 30), at(day(6), 4, 45),
                             at(day(6), 5, 59, 59)]}}                               # 5 at the edges
        for store, days in plan.items():
            for d, times in days.items():
                for t in times:
                    self.order(store, day(d), r.choice(("wechat", "alipay")), r.randint(2000, 9000), t,
                               story=f"night {store}")
        for t in (at(day(6), 6), at(day(6), 23, 59, 59)):   # not night
            self.order("S008", day(6), "wechat", 3000, t, story="night edge (day)")
        # channel payments no order names
        for k in range(6):
            self.channel_only("wechat", MERCHANTS["wechat"][k % 2], 2000 + k, at(day(k), 16))
        self.channel_only("unionpay", MERCHANTS["unionpay"][0], 7777, at(day(8), 11))
        # large ones: on the number [stores] maps (S012's anomaly) and on one it does not ((unknown))
        self.channel_only("wechat", MERCHANTS["wechat"][1], 600000, at(day(8), 12))
        self.channel_only("wechat", MERCHANTS["wechat"][0], 600001, at(day(8), 12, 5))
        # overlapping exports: some of a day's records listed again in the next day's file
        for rec in self.recs:
            rec["again"] = rec["bill"] < END and r.random() < 0.03

    # --- files
    def write_day(self, i: int, folder: Path) -> list[str]:
        d = day(i)
        folder.mkdir(parents=True, exist_ok=True)
        fo, fr, ft = folder / f"orders_{d}.csv", folder / f"refunds_{d}.csv", folder / f"tx_{d}.csv"
        with open(fo, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(ORDER_COLS)
            for o in self.orders.values():
                if o["paid_at"].date() == d:
                    w.writerow([o["order_no"], o["store"], o["merchant"], o["method"], yuan(o["amount"]),
                                o["status"], o["paid_at"].isoformat(), o["paid_at"].isoformat(), o["member"], "",
                                o["instalments"]])
        with open(fr, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(REFUND_COLS)
            for x in self.refunds:
                if x["at"].date() == d:
                    w.writerow([x["refund_no"], x["order"], yuan(x["amount"]), x["at"].isoformat(), "success"])
        with open(ft, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(TX_COLS)
            for x in self.recs:
                n = x["listed"] if x["bill"] == d else (1 if x["again"] and x["bill"] + dt.timedelta(days=1) == d
                                                        else 0)
                for _ in range(n):
                    w.writerow([x["channel"], x["merchant"], x["tx"], x["order"], x["type"], x["refund_no"],
                                x["crid"], yuan(x["amount"]), yuan(x["fee"]), yuan(x["amount"] if x["channel"] in
                                ("wechat", "alipay") else x["amount"] - x["fee"]), x["status"],
                                x["at"].isoformat(), x["bill"].isoformat(), x["method"]])
        return ["--orders", str(fo), "--refunds", str(fr), "--transactions", str(ft)]


def cli(*args, ok=True) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.run([PY, "-m", "paymatch", *map(str, args)], capture_output=True, text=True, env=e)
    if ok and p.returncode != 0:
        raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def build(chain: Chain, tmp: Path) -> Path:
    (tmp / "rules_a.toml").write_text(CONFIG_A, encoding="utf-8")
    (tmp / "rules_b.toml").write_text(CONFIG_B, encoding="utf-8")
    w = tmp / "w.duckdb"
    for i in range(DAYS):
        args = chain.write_day(i, tmp / "in")
        cli("ingest", "--workspace", w, "--config", tmp / "rules_a.toml", *args)
        cli("reconcile", "--workspace", w, "--config", tmp / "rules_a.toml", "--date", day(i), "--out",
            tmp / f"out_{day(i)}")
    return w


# ---------------------------------------------------------------- the model
class Model:
    """What the reports should say, from the chain alone (README's rules)."""

    def __init__(self, chain: Chain):
        self.c = chain
        seen, self.recs = set(), []
        for x in chain.recs:   # a record listed twice (one bill, overlapping files) is one record
            if (x["channel"], x["tx"], x["type"], x["refund_no"]) not in seen:
                seen.add((x["channel"], x["tx"], x["type"], x["refund_no"]))
                self.recs.append(x)

    def store_of(self, x) -> str:
        o = self.c.orders.get(x["order"])
        return o["store"] if o else MAPPED.get(x["merchant"], "(unknown)")

    def ok(self, d0=START, d1=END):
        return [x for x in self.recs if x["status"] == "success" and d0 <= x["bill"] <= d1]

    # --- fund flow
    @staticmethod
    def bucket(d: dt.date, grain: str) -> str:
        if grain == "week":
            d = d - dt.timedelta(days=d.weekday())
        elif grain == "month":
            d = d.replace(day=1)
        return d.isoformat()

    def dim(self, x, by: str) -> str:
        o = self.c.orders.get(x["order"])
        return {"time": None, "channel": x["channel"], "merchant": x["merchant"], "store": self.store_of(x),
                "order_type": ("(no order)" if not o else "instalment" if o["instalments"] else "regular")}[by]

    def fund_flow(self, by: str, grain: str, stores=None) -> tuple[dict, dict]:
        rows, members = {}, collections.defaultdict(set)
        for x in self.ok():
            if stores and self.store_of(x) not in stores:
                continue
            b, dm = self.bucket(x["bill"], grain), self.dim(x, by)
            key = b if dm is None else f"{b}|{dm}"
            r = rows.setdefault(key, dict(inflow_count=0, inflow_fen=0, refund_count=0, refund_fen=0, fee_fen=0))
            if x["type"] == "payment":
                r["inflow_count"] += 1
                r["inflow_fen"] += x["amount"]
            else:
                r["refund_count"] += 1
                r["refund_fen"] += x["amount"]
            r["fee_fen"] += x["fee"]
            members[key].add(x["tx"])
        for r in rows.values():
            r["net_fen"] = r["inflow_fen"] - r["refund_fen"] - r["fee_fen"]
            r["tx_count"] = r["inflow_count"] + r["refund_count"]
        return rows, members

    # --- anomalies: {(rule, who): (amount_fen, threshold_fen, count, count_threshold)}; open: {(rule, who): why}
    def anomalies(self, cfg: str) -> tuple[dict, dict]:
        exp, open_ = {}, {}
        ok = self.ok()
        pays = [x for x in ok if x["type"] == "payment"]
        if cfg == "A":
            per_store = {"S003": 1000000, "S004": 200000}
            for x in pays:
                s = self.store_of(x)
                thr = per_store.get(s, {"unionpay": 300000}.get(x["channel"], 500000))
                if x["amount"] >= thr:
                    exp[("large_amount", x["tx"])] = (x["amount"], thr, None, s)
        else:   # more than 4 standard deviations above the store's mean payment (stores with >= 30 payments)
            by_store = collections.defaultdict(list)
            for x in pays:
                by_store[self.store_of(x)].append(x)
            for s, xs in by_store.items():
                if len(xs) < 30:
                    continue
                a = [x["amount"] for x in xs]
                for x in xs:
                    others = list(a)
                    others.remove(x["amount"])
                    reads = []
                    for sample in (a, others):
                        m = statistics.fmean(sample)
                        for sd in (statistics.pstdev(sample), statistics.stdev(sample)):
                            reads += [x["amount"] > m + 4 * sd, x["amount"] >= m + 4 * sd]
                    if all(reads):
                        exp[("large_amount", x["tx"])] = (x["amount"], "z", None, s)
                    elif any(reads):
                        open_[("large_amount", x["tx"])] = f"z-score reading decides ({sum(reads)}/8 flag)"
        # frequent refunds per member and per store, at the worst window
        refunds = [x for x in ok if x["type"] == "refund"]
        for scope, thr in (("member", 3), ("store", 6)):
            groups = collections.defaultdict(list)
            for x in refunds:
                o = self.c.orders.get(x["order"])
                who = (o["member"] if o else None) if scope == "member" else self.store_of(x)
                if who:
                    groups[who].append(x["at"])
            for who, ts in groups.items():
                ts.sort()
                best = []
                for inclusive in (True, False):
                    w = dt.timedelta(hours=24)
                    best.append(max(sum(1 for u in ts if ((t - w <= u <= t) if inclusive else (t - w < u <= t)))
                                    for t in ts))
                if best[0] >= thr and best[1] >= thr and best[0] == best[1]:
                    exp[("frequent_refunds", f"{scope} {who}")] = (None, None, best[0], thr)
                elif best[0] >= thr or best[1] >= thr:
                    open_[("frequent_refunds", f"{scope} {who}")] = \
                        f"window edge decides: {best[0]} with the edge inside, {best[1]} without"
        # repeated attempts: payment records (any status) per order
        n = collections.Counter(x["order"] for x in self.recs
                                if x["type"] == "payment" and x["order"] and START <= x["bill"] <= END)
        for order, k in n.items():
            if k >= 3:
                exp[("repeated_attempts", order)] = (None, None, k, 3)
        # refunds over the payment
        paid, refd = collections.Counter(), collections.Counter()
        for x in ok:
            if x["order"]:
                (paid if x["type"] == "payment" else refd)[x["order"]] += x["amount"]
        for order, r in refd.items():
            if r > paid[order]:
                exp[("refund_exceeds_payment", order)] = (r, paid[order], None, None)
        # night spikes: a store-day's night payments vs the store's usual (open: what "usual" is, > or >=)
        nights = collections.defaultdict(collections.Counter)
        for x in pays:
            s = self.store_of(x)
            nights[s][x["bill"]] += 0
            if 0 <= x["at"].hour < 6:
                nights[s][x["bill"]] += 1
        for s, per_day in nights.items():
            for d, k in per_day.items():
                others = [v for dd, v in per_day.items() if dd != d]
                if not others or k < 5:
                    continue
                reads = []
                for usual in (statistics.fmean(others), statistics.fmean(list(per_day.values())),
                              statistics.median(others)):
                    reads += [k > 3.0 * usual, k >= 3.0 * usual]
                if all(reads):
                    exp[("night_spike", f"{s} {d}")] = (None, None, k, None)
                elif any(reads):
                    open_[("night_spike", f"{s} {d}")] = (f"{k} night payments vs others' mean "
                                                          f"{statistics.fmean(others):.2f}: reading decides "
                                                          f"({sum(reads)}/6 flag)")
        return exp, open_


def got_anomalies(doc: dict) -> dict:
    got = {}
    for r in next(t for t in doc["tables"] if t["name"] == "anomalies")["rows"]:
        rule = r["rule"]
        if rule == "large_amount":
            got[(rule, r["channel_tx_id"])] = (r["amount_fen"], r["threshold_fen"], None, r["store_id"])
        elif rule == "frequent_refunds":
            scope = "store" if r["detail"].split(" for ")[-1].startswith("store") else "member"
            who = r["store_id"] if scope == "store" else r["member_id"]
            got[(rule, f"{scope} {who}")] = (None, None, r["count"], r["count_threshold"])
        elif rule == "repeated_attempts":
            got[(rule, r["order_no"])] = (None, None, r["count"], r["count_threshold"])
        elif rule == "refund_exceeds_payment":
            got[(rule, r["order_no"])] = (r["amount_fen"], r["threshold_fen"], None, None)
        elif rule == "night_spike":
            got[(rule, f"{r['store_id']} {r['occurred_at'][:10]}")] = (None, None, r["count"], None)
    return got


class Tally:
    def __init__(self):
        self.agree = self.disagree = 0
        self.by_check = collections.Counter()
        self.open: list[str] = []

    def same(self, where: str, key, exp, got) -> None:
        if exp == got:
            self.agree += 1
            return
        self.disagree += 1
        self.by_check[where.split()[0]] += 1
        if self.by_check[where.split()[0]] <= 15:
            print(f"DISAGREE {where} {key}: model {exp}, paymatch {got}")


def table(doc: dict, name: str) -> list[dict]:
    return next(t for t in doc["tables"] if t["name"] == name)["rows"]


def report(tmp: Path, name: str, *args, cfg="a") -> dict:
    out = tmp / "rep" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    cli("report", *args, "--workspace", tmp / "w.duckdb", "--config", tmp / f"rules_{cfg}.toml", "--json", out)
    return json.loads(out.read_text(encoding="utf-8"))


def drill(tmp: Path, by: str, grain: str, key: str, stores=()) -> list[dict]:
    p = cli("report", "fund-flow", "--workspace", tmp / "w.duckdb", "--config", tmp / "rules_a.toml", "--from", START,
            "--to", END, "--by", by, "--grain", grain, "--drill", key, *[a for s in stores for a in ("--store", s)])
    return list(csv.DictReader(p.stdout.splitlines()))


def fen(s: str) -> int:
    neg = s.startswith("-")
    a, _, b = s.lstrip("-").partition(".")
    v = int(a) * 100 + int((b + "00")[:2])
    return -v if neg else v


FF_FIELDS = ("inflow_count", "inflow_fen", "refund_count", "refund_fen", "fee_fen", "net_fen", "tx_count")


def check_fund_flow(tmp, model, t, rng, stores=()):
    tag = "store " + ",".join(stores) if stores else "chain"
    combos = [(by, g) for by in ("time", "channel", "order_type", "store", "merchant") for g in ("day", "week", "month")]
    if stores:
        combos = [("channel", "week"), ("store", "day"), ("order_type", "month")]
    for by, grain in combos:
        args = ["--store", *stores] if not stores else [a for s in stores for a in ("--store", s)]
        doc = report(tmp, f"ff_{by}_{grain}_{'_'.join(stores)}", "fund-flow", "--from", START, "--to", END,
                     "--by", by, "--grain", grain, *(args if stores else []))
        exp, members = model.fund_flow(by, grain, set(stores) or None)
        got = {r["key"]: {f: r[f] for f in FF_FIELDS} for r in table(doc, "summary")}
        total = got.pop("Total", None)   # a total row (by time) is no key: it must be the sum of the rows
        if total is not None:
            t.same(f"fftotal {tag} by={by} grain={grain}", "Total",
                   {f: sum(r[f] for r in exp.values()) for f in FF_FIELDS}, total)
        for k in sorted(set(exp) | set(got)):
            t.same(f"fundflow {tag} by={by} grain={grain}", k, exp.get(k), got.get(k))
        detail = collections.defaultdict(list)
        for r in table(doc, "detail"):
            detail[r["key"]].append(r["channel_tx_id"])
        for k in sorted(set(members) | set(detail)):
            t.same(f"ffdetail {tag} by={by} grain={grain}", k, sorted(members.get(k, ())), sorted(detail.get(k, [])))
        # --drill: every key with (unknown)/(no order), and a few others
        keys = sorted(got)
        pick = [k for k in keys if "(" in k] + rng.sample(keys, min(2, len(keys)))
        for k in pick:
            rows = drill(tmp, by, grain, k, stores)
            txs = [r["channel_tx_id"] for r in rows]
            t.same(f"drill {tag} by={by} grain={grain}", k, sorted(members.get(k, ())), sorted(txs))
            net = sum(fen(r["amount"]) * (1 if r["type"] == "payment" else -1) - fen(r["fee"]) for r in rows)
            t.same(f"drillsum {tag} by={by} grain={grain}", k, got[k]["net_fen"], net)
            if stores:
                t.same(f"drillstore {tag}", k, set(), {model.store_of(next(x for x in model.recs if x["tx"] == tx))
                                                     for tx in txs} - set(stores))
    return doc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--per-store-day", type=int, default=12)
    ap.add_argument("--keep", help="keep the workspace and files in this folder")
    a = ap.parse_args()
    t0 = time.monotonic()
    tmp = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="audit_r11_"))
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    rng = random.Random(a.seed)
    chain = Chain(a.seed, a.per_store_day)
    model = Model(chain)
    print(f"{len(chain.orders)} orders, {len(chain.recs)} channel records, {len(chain.refunds)} refunds")
    build(chain, tmp)
    print(f"ingested and reconciled {DAYS} days ({time.monotonic() - t0:.0f} s)")
    t = Tally()

    # anomalies: A (amount thresholds and the other rules), B (the statistical rule)
    chain_an = {}
    for cfg in ("a", "b"):
        doc = report(tmp, f"anom_{cfg}", "anomalies", "--from", START, "--to", END, cfg=cfg)
        chain_an[cfg] = doc
        exp, open_ = model.anomalies(cfg.upper())
        got = got_anomalies(doc)
        if cfg == "b":
            exp = {k: v for k, v in exp.items() if k[0] == "large_amount"}
            open_ = {k: v for k, v in open_.items() if k[0] == "large_amount"}
            got = {k: (v[0], "z", None, v[3]) for k, v in got.items() if k[0] == "large_amount"}
        for k in sorted(set(exp) | set(got) | set(open_)):
            if k in open_:
                t.open.append(f"anomalies {cfg.upper()} {k}: {open_[k]}; paymatch "
                              f"{'flags' if k in got else 'does not flag'} it {got.get(k, '')}")
                continue
            where = f"anomalies {cfg.upper()} {k[0]}"
            t.same(where, f"{k} ({chain.story.get(k[1].split()[-1], chain.story.get(k[1], ''))})",
                   exp.get(k), got.get(k))
    # a store's board is its part of the chain's, the rules judging as for the chain
    rows_a = table(chain_an["a"], "anomalies")
    for s in STORES:
        doc = report(tmp, f"anom_a_{s}", "anomalies", "--from", START, "--to", END, "--store", s)
        # (as sets: rows equal on the board's sort key, a member's and a store's refund row, come in either order)
        srt = lambda rows: sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))  # noqa: E731
        t.same("anomstore", s, srt([r for r in rows_a if r["store_id"] == s]), srt(table(doc, "anomalies")))

    # fund flow, every --by and grain, detail and drills
    check_fund_flow(tmp, model, t, rng)
    print(f"fund flow (chain) done ({time.monotonic() - t0:.0f} s)")
    # a store manager's fund flow; stores + (unknown) add up to the chain
    nets = collections.Counter()
    for s in STORES:
        doc = check_fund_flow(tmp, model, t, rng, (s,))
        nets[s] = next(c["amount_fen"] for c in doc["control_totals"] if c["key"] == "net")
    unknown = sum(r["net_fen"] for k, r in model.fund_flow("store", "month")[0].items() if k.endswith("(unknown)"))
    chain_net = next(c["amount_fen"] for c in report(tmp, "ff_total", "fund-flow", "--from", START, "--to", END)
                     ["control_totals"] if c["key"] == "net")
    t.same("ffsum", "stores + (unknown) = chain", chain_net, sum(nets.values()) + unknown)
    # Excel detail sheet of a store's fund flow: no other store's record
    import openpyxl
    for s in rng.sample(STORES, 3):
        x = tmp / f"ff_{s}.xlsx"
        cli("report", "fund-flow", "--workspace", tmp / "w.duckdb", "--config", tmp / "rules_a.toml", "--from", START,
            "--to", END, "--by", "channel", "--store", s, "--excel", x)
        wb = openpyxl.load_workbook(x, read_only=True)
        txs = set()
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            hdr = next((i for i, r in enumerate(rows[:10]) if r and "Channel tx id" in r), None)
            if hdr is not None:
                col = rows[hdr].index("Channel tx id")
                txs |= {r[col] for r in rows[hdr + 1:] if r and r[col]}
        exp_rows, members = model.fund_flow("channel", "day", {s})
        exp_tx = set().union(*members.values())
        t.same("ffexcel", s, sorted(exp_tx), sorted(txs))
        # the summary sheet's cells (yuan) against the model
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            if rows and rows[0] and rows[0][0] == "Key" and "Net" in rows[0]:
                h = rows[0]
                for r in rows[1:]:
                    if r[0] in exp_rows:
                        e = exp_rows[r[0]]
                        t.same("ffexcelcell", (s, r[0]),
                               (e["inflow_count"], e["inflow_fen"], e["refund_fen"], e["fee_fen"], e["net_fen"]),
                               (r[h.index("Payments")], round(r[h.index("Inflow (payments)")] * 100),
                                round(r[h.index("Outflow: refunds")] * 100), round(r[h.index("Outflow: fees")] * 100),
                                round(r[h.index("Net")] * 100)))
                    elif r[0] not in ("Total", None):
                        t.same("ffexcelcell", (s, r[0]), None, r)
    # --drill takes a key in either language: (未知) is (unknown)
    en = drill(tmp, "store", "month", "2026-11-01|(unknown)")
    zh = drill(tmp, "store", "month", "2026-11-01|(未知)")
    t.same("drillzh", "2026-11-01|(未知)", sorted(r["channel_tx_id"] for r in en), sorted(r["channel_tx_id"] for r in zh))
    # a store's anomaly workbook: its rows only
    for s in ("S002", "S011"):
        x = tmp / f"anom_{s}.xlsx"
        cli("report", "anomalies", "--workspace", tmp / "w.duckdb", "--config", tmp / "rules_a.toml", "--from", START,
            "--to", END, "--store", s, "--excel", x)
        wb = openpyxl.load_workbook(x, read_only=True)
        seen = collections.Counter()
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            if rows and rows[0] and "Store" in rows[0]:
                seen.update(r[rows[0].index("Store")] for r in rows[1:] if r and r[0])
        t.same("anomexcel", s, [s] if seen else [], sorted(seen))
        t.same("anomexcelrows", s, sum(1 for r in rows_a if r["store_id"] == s), sum(seen.values()))
    print(f"fund flow (stores) done ({time.monotonic() - t0:.0f} s)")

    # reconciliation: a store's report is its row of the chain's (grouped by store); its outcomes' stores
    for d in (day(3), day(6)):
        chain_doc = report(tmp, f"rc_{d}", "reconciliation", "--period", "day", "--date", d)
        by_store = {r["store_id"]: r for r in table(chain_doc, "summary")}
        for r in table(chain_doc, "unmatched"):
            o = chain.orders.get(r["order_no"] or "")
            exp_store = o["store"] if o else MAPPED.get(r["merchant_id"], "(unknown)")
            t.same(f"rcstore-of-outcome {d}", (r["kind"], r["outcome_id"]), exp_store, r["store_id"])
        for s in STORES:
            doc = report(tmp, f"rc_{d}_{s}", "reconciliation", "--period", "day", "--date", d, "--store", s)
            rows = [r for r in table(doc, "summary") if r["store_id"] == s]
            nz = lambda r: r and {k: v for k, v in r.items() if not (k.startswith("k_") and v == 0)}  # noqa: E731
            t.same(f"rcscope {d}", s, nz(by_store.get(s)), nz(rows[0] if rows else None))
            t.same(f"rcunmatched {d}", s, [r for r in table(chain_doc, "unmatched") if r["store_id"] == s],
                   table(doc, "unmatched"))
    # a store's reconciliation workbook with its detail sheet (every outcome): no other store's row
    for s in rng.sample(STORES, 3):
        x = tmp / f"rc_{s}.xlsx"
        cli("report", "reconciliation", "--workspace", tmp / "w.duckdb", "--config", tmp / "rules_a.toml",
            "--period", "week", "--date", day(4), "--store", s, "--detail", "--excel", x)
        wb = openpyxl.load_workbook(x, read_only=True)
        seen = collections.Counter()
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            hdr = next((i for i, r in enumerate(rows[:10]) if r and "Store" in r and "Outcome id" in r), None)
            if hdr is not None:
                col = rows[hdr].index("Store")
                seen.update(r[col] for r in rows[hdr + 1:] if r and r[rows[hdr].index("Outcome id")])
        t.same("rcexcel", s, [s], sorted(seen))
    # instalments
    chain_doc = report(tmp, "inst", "instalments", "--from", START, "--to", END)
    for s in STORES:
        doc = report(tmp, f"inst_{s}", "instalments", "--from", START, "--to", END, "--store", s)
        t.same("inststore", s, [r for r in table(chain_doc, "instalments") if r["store_id"] == s],
               [r for r in table(doc, "instalments") if r["store_id"] != "Total"])
    secs = time.monotonic() - t0
    print(f"RESULT {t.agree} agree / {t.disagree} disagree, seed {a.seed}, {len(chain.orders)} orders, {secs:.0f} s")
    for k, v in t.by_check.most_common():
        print(f"  {v:6d}  {k}")
    for o in t.open:
        print(f"OPEN {o}")
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if t.disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
