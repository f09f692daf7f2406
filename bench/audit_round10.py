"""Audit round 10 (helper-111): per-period instalment plans run day by day through a workspace.

RESULT: 49,262 agree / 0 disagree, seed 11, 112 orders (130 with Huabei), 535 s on 2 shared cores (2026-12-06).
(seed 10 with the generator before refund-then-deducted stories were kept within the run days: 49,994 / 0, 582 s;
the tree before this branch's two fixes in instalments/stored.py: 49,912 / 91, all 91 in the report as of a day.)

Independent model written from README.md ("Per-period instalments", "Refunds end a per-period plan", the workspace
paragraph on stored flows and re-ingested orders, "Instalment report and the credit check"); nothing here reads
src/. A chain with two merchant numbers sells on WeChat Pay Score and Alipay pay-later (per-period, first period
at purchase) and JD Baitiao configured per period (`per_period = true`, first period a month after purchase, the
白条 分期明细 k/n deductions), plans of 3/6/12 periods, paid from 1 Sep to 31 Oct 2026. Each order gets one story:
clean; early payoff (every remaining period deducted on one day); a missed period (never deducted: overdue); a late
period (deducted 3-12 days after its due day: missing until then); a failed deduction retried a day later; a failed
deduction never retried; a double charge (two successful deductions of a period: duplicate); a full refund before
the first period (Baitiao: the plan ends before it starts); a full refund mid-plan; a full refund mid-plan with the
next period still deducted (after_refund); a partial refund (nothing changes); a full refund dated after the last
run day (END+1..END+4: as of any run day it has not happened).

The shop's ERP export of each day lists the orders paid that day, and again (status refunded / partially_refunded)
the orders refunded that day, with that day's refunds; the channels' flow export of day D lists every deduction of
D-2..D (each deduction in three overlapping exports: stored once, never a duplicate).

Runs: (1) day by day, START..END: `ingest --orders --refunds` of the day, then `reconcile --workspace --date D
--instalments flows_D.csv --as-of D`; each day's outcomes are compared with the model as of D with what was known
on D. (2) then the days after END are ingested too (refunds of END+1..END+4, their orders re-exported as refunded,
deductions after END), and one range run START..END as of END and range runs as of earlier days D (the days just
before a refund) are compared with the model as of D: README "a day reconciled again later sees what it saw", "a
refund after the run's --as-of day has not ended the plan yet". (3) `report instalments --as-of D` after all the
runs, per channel and term: outstanding and overdue principal of per-period plans as of D (the open question: a
plan refunded on D+3, read as of D).

    python bench/audit_round10.py [--seed 10] [--orders 90] [--out /tmp/audit_r10]
"""
from __future__ import annotations

import argparse
import calendar
import collections
import csv
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SH = ZoneInfo("Asia/Shanghai")
START = dt.date(2026, 9, 1)
LAST_SALE = dt.date(2026, 10, 31)
END = dt.date(2026, 11, 20)
AFTER = 5  # days after END whose data is ingested before the range runs
MERCHANTS = ("1900000001", "1900000002")
# channel -> (first period's offset in months)
CHANNELS = {"wechat_payscore": 0, "alipay_pay_later": 0, "baitiao": 1}
CONFIG = """
[methods.settle_channel]
wechat_payscore = "wechat"
alipay_pay_later = "alipay"

[instalments]
rule = "first"
amount_tolerance_fen = 0

[instalments.channels.huabei]
rates_bp = { 3 = 230, 6 = 450, 12 = 750 }

[instalments.channels.baitiao]
rates_bp = { 3 = 0, 6 = 450, 12 = 0 }
per_period = true
first_due_offset_months = 1

[instalments.channels.wechat_payscore]
rates_bp = { 3 = 0, 6 = 0, 12 = 0 }
per_period = true
first_due_offset_months = 0

[instalments.channels.alipay_pay_later]
rates_bp = { 3 = 0, 6 = 0, 12 = 300 }
per_period = true
first_due_offset_months = 0
"""
ORDER_COLS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at",
              "member_id", "member_level", "instalments"]
REFUND_COLS = ["refund_no", "order_no", "amount", "created_at", "status", "merchant_id"]
FLOW_COLS = ["channel", "order_no", "period_no", "periods", "amount", "fee", "status", "occurred_at", "merchant_id"]
STORIES = ("clean", "early_payoff", "missed", "late", "failed_retry", "failed_once", "double_charge",
           "refund_before_first", "refund_mid", "refund_then_deducted", "partial_refund", "refund_after_end",
           "refund_on_due_day", "partial_then_full")


# ---- the model's own calendar and money (README "plan": remainder on period 1, same day of month, clamped)
def add_months(d: dt.date, n: int, dom: int) -> dt.date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return dt.date(y, m + 1, min(dom, calendar.monthrange(y, m + 1)[1]))


def split(amount: int, n: int) -> list[int]:
    base = amount // n
    return [base + amount - base * n] + [base] * (n - 1)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def at(d: dt.date, h: int, m: int, s: int = 0) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, h, m, s, tzinfo=SH)


class Chain:
    def __init__(self, seed: int, n: int):
        self.r = random.Random(seed)
        self.orders: list[dict] = []      # one dict per order: its plan and story
        self.flows: list[dict] = []       # every deduction the channels made
        self.refunds: list[dict] = []     # the shop's refunds
        self.status_events: list[tuple[dt.date, str, str]] = []  # (day, order_no, new status)
        for i in range(n):
            self._one(i)
        for i in range(n, n + n // 6):
            self._huabei(i)
        last = END + dt.timedelta(days=AFTER)
        full = {order_no for day, order_no, st in self.status_events if st == "refunded" and day <= last}
        for o in self.orders:
            o["refunded_in_the_end"] = o["order_no"] in full

    def _huabei(self, i: int) -> None:
        """An up-front plan (Huabei: the channel pays the shop at the sale): only the report reads it."""
        r = self.r
        term = r.choice((3, 6, 12))
        paid = START + dt.timedelta(days=r.randint(0, (LAST_SALE - START).days))
        amount = r.randint(30000, 900000)
        o = {"order_no": f"R10{i:05d}", "merchant": MERCHANTS[i % 2], "store": f"S{r.randint(1, 6):03d}",
             "channel": "huabei", "term": term, "amount": amount, "paid": paid, "paid_at": self._time(paid),
             "story": "huabei", "dues": [add_months(paid, 1 + k, paid.day) for k in range(term)],
             "parts": split(amount, term)}
        self.orders.append(o)
        x = r.random()
        if x < 0.3:  # refunded in full, also after the last run day
            when = self._time(paid + dt.timedelta(days=r.randint(1, 60)))
            self._refund(o, amount, max(when, o["paid_at"] + dt.timedelta(minutes=5)), True)
        elif x < 0.45:
            self._refund(o, r.randint(100, amount // 2), o["paid_at"] + dt.timedelta(days=2), False)

    def _time(self, d: dt.date) -> dt.datetime:
        r = self.r
        h = r.randint(0, 7) if r.random() < 0.2 else r.randint(8, 23)  # small hours: the day before in UTC
        return at(d, h, r.randint(0, 59), r.randint(0, 59))

    def _flow(self, o, k, amount, when, status="success"):
        # a deduction late in the evening is sometimes first exported the next day (the channel's export day)
        ex = when.date() + dt.timedelta(days=1 if when.hour >= 22 and self.r.random() < 0.3 else 0)
        self.flows.append({"order": o["order_no"], "k": k, "amount": amount, "status": status, "at": when, "ex": ex,
                           "merchant": o["merchant"], "channel": o["channel"], "n": o["term"]})

    def _refund(self, o, amount, when, full):
        self.refunds.append({"refund_no": f"RF{len(self.refunds) + 1:06d}", "order": o["order_no"],
                             "amount": amount, "at": when, "merchant": o["merchant"]})
        self.status_events.append((when.date(), o["order_no"], "refunded" if full else "partially_refunded"))

    def _one(self, i: int) -> None:
        r = self.r
        channel = r.choice(list(CHANNELS))
        term = r.choice((3, 6, 12))
        story = STORIES[i % len(STORIES)]
        if story == "refund_before_first" and channel != "baitiao":
            channel = "baitiao"
        paid = START + dt.timedelta(days=r.randint(0, (LAST_SALE - START).days))
        if story == "refund_after_end":  # a plan still running at END
            paid = LAST_SALE - dt.timedelta(days=r.randint(0, 20))
        amount = r.choice((r.randint(30000, 900000), term * r.randint(5000, 60000)))
        paid_at = self._time(paid)
        dom = paid.day
        off = CHANNELS[channel]
        dues = [add_months(paid, off + k, dom) for k in range(term)]
        parts = split(amount, term)
        o = {"order_no": f"R10{i:05d}", "merchant": MERCHANTS[i % 2], "store": f"S{r.randint(1, 6):03d}",
             "channel": channel, "term": term, "amount": amount, "paid": paid, "paid_at": paid_at, "story": story,
             "dues": dues, "parts": parts}
        self.orders.append(o)
        horizon = END + dt.timedelta(days=AFTER)

        def due_time(k):  # the deduction of period k on its due day (period 1 at purchase: after the payment)
            d = dues[k - 1]
            if d == paid:
                return paid_at + dt.timedelta(minutes=r.randint(0, 30))
            return self._time(d)

        # the period the story touches, and where a refund or an early payoff comes: within the run days
        within = [k for k in range(1, term + 1) if dues[k - 1] <= END] or [1]
        special = r.choice(within)
        before_end = [k for k in within if k < term] or [1]
        next_due = [k for k in within if k + 1 in within] or before_end  # period k+1 also due by END
        stop = None      # no deduction of a period due on or after this instant (refunds)
        if story in ("refund_mid", "refund_then_deducted"):
            j = r.choice(next_due if story == "refund_then_deducted" else before_end)
            day = dues[j - 1] + dt.timedelta(days=r.randint(1, 20))
            day = min(day, dues[j] - dt.timedelta(days=1))
            stop = self._time(day)
            if stop <= paid_at:
                stop = paid_at + dt.timedelta(hours=1)
            if story == "refund_then_deducted":
                special = j + 1  # deducted anyway
            self._refund(o, amount, stop, True)
        elif story == "refund_on_due_day":
            # refunded at noon on period j+1's due day; that period deducted in the morning (before: received), in
            # the afternoon (after the refund: money to return) or not at all (ended)
            j = r.choice(next_due)
            stop = at(dues[j], 12, 0)
            mode = r.choice(("morning", "afternoon", "none"))
            o["story"] = f"{story}:{mode}"
            special = j + 1
            self._refund(o, amount, stop, True)
        elif story == "partial_then_full":
            j = r.choice(before_end)
            first = max(self._time(paid + dt.timedelta(days=r.randint(0, 5))), paid_at + dt.timedelta(minutes=5))
            day = min(dues[j - 1] + dt.timedelta(days=r.randint(6, 20)), dues[j] - dt.timedelta(days=1))
            stop = max(self._time(day),
                       first + dt.timedelta(days=1))
            part = r.randint(100, amount // 3)
            self._refund(o, part, first, False)
            self._refund(o, amount - part, stop, True)
        elif story == "refund_before_first":
            day = paid + dt.timedelta(days=r.randint(0, 20))
            stop = max(self._time(day), paid_at + dt.timedelta(minutes=5))
            self._refund(o, amount, stop, True)
        elif story == "refund_after_end":
            stop = self._time(END + dt.timedelta(days=r.randint(1, AFTER - 1)))
            self._refund(o, amount, stop, True)
        elif story == "partial_refund":
            when = self._time(paid + dt.timedelta(days=r.randint(0, 40)))
            when = max(when, paid_at + dt.timedelta(minutes=5))
            self._refund(o, r.randint(100, amount // 2), when, False)
        early = None
        if story == "early_payoff":
            j = r.choice(before_end)
            early = (j, self._time(dues[j - 1] + dt.timedelta(days=r.randint(1, 25))))
        for k in range(1, term + 1):
            when = due_time(k)
            if early and k > early[0]:
                when = early[1]
            if story == "refund_on_due_day" and k == special:
                mode = o["story"].split(":")[1]
                if mode == "none":
                    continue
                when = at(dues[k - 1], 9 if mode == "morning" else 15, r.randint(0, 59))
                self._flow(o, k, parts[k - 1], when)
                continue
            if stop is not None and when >= stop and not (story == "refund_then_deducted" and k == special):
                continue
            if story == "refund_then_deducted" and k == special:
                when = max(when, stop + dt.timedelta(hours=2))
            if story == "missed" and k == special:
                continue
            if story == "late" and k == special:
                when = self._time(dues[k - 1] + dt.timedelta(days=r.randint(3, 12)))
            if story in ("failed_retry", "failed_once") and k == special:
                self._flow(o, k, parts[k - 1], when, "failed")
                if story == "failed_once":
                    continue
                when = self._time(dues[k - 1] + dt.timedelta(days=r.randint(1, 2)))
            if when.date() > horizon:
                continue
            self._flow(o, k, parts[k - 1], when)
            if story == "double_charge" and k == special:
                self._flow(o, k, parts[k - 1], when + dt.timedelta(minutes=r.randint(1, 50)))


# ---- the model: what each period should come out as, as of `as_of`, knowing what was ingested by `known`
def expected(chain: Chain, as_of: dt.date, known: dt.date) -> dict[str, str]:
    out: dict[str, str] = {}
    status = {}
    for day, order_no, st in sorted(chain.status_events):
        if day <= known:
            status[order_no] = st
    refunds = collections.defaultdict(list)
    for rf in chain.refunds:
        if rf["at"].date() <= known:
            refunds[rf["order"]].append(rf["at"])
    by_period = collections.defaultdict(list)
    for f in chain.flows:
        if f["at"].date() <= as_of and f["ex"] <= known:
            by_period[(f["order"], f["k"])].append(f)
    for o in chain.orders:
        if o["paid"] > known or o["channel"] == "huabei":
            continue
        st = status.get(o["order_no"], "paid")
        r_at = max(refunds[o["order_no"]]) if refunds[o["order_no"]] else None
        ended = st == "refunded" and (r_at is None or r_at.date() <= as_of)
        for k in range(1, o["term"] + 1):
            due = o["dues"][k - 1]
            # first by export file (the day it was first exported) then line (time within the file)
            fl = sorted(by_period[(o["order_no"], k)], key=lambda f: (f["ex"], f["at"]))
            prim = next((f for f in fl if f["status"] == "success"), fl[0] if fl else None)
            pid = f"I-{o['order_no']}-{k}"
            if ended and prim and prim["status"] == "success" and r_at is not None and prim["at"] > r_at:
                kind = "instalment_after_refund"
            elif ended and (r_at is None or due >= r_at.date()) and (prim is None or prim["status"] != "success"):
                kind = "instalment_ended"
            elif prim is None:
                kind = "instalment_missing" if due <= as_of else "instalment_not_due"
            elif prim["status"] != "success":
                kind = "instalment_failed"
            elif prim["amount"] != o["parts"][k - 1]:
                kind = "instalment_amount_mismatch"
            else:
                kind = "instalment_matched"
            out[pid] = kind
            extras = [f for f in fl if f is not prim]
            for f in extras:
                # the extra's place among the period's flows by file and line
                nth = fl.index(f) + 1
                out[f"{pid}#{nth}"] = ("instalment_attempt" if f["status"] != "success"
                                       else "instalment_duplicate")
    return out


def expected_report(chain: Chain, as_of: dt.date, kinds: dict[str, str]) -> dict[tuple, tuple[int, int]]:
    """(channel, term) -> (outstanding_fen, overdue_fen) of per-period plans as of as_of, from the model's
    period kinds as of that day (received: matched; owed no more: ended / after_refund)."""
    tot: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0])
    for o in chain.orders:
        if o["paid"] > as_of:
            continue  # a plan sold after the as-of day did not exist yet
        for k in range(1, o["term"] + 1):
            if o["channel"] == "huabei":
                # up front: the channel paid the shop; a period is settled once due, all of a refunded order's at
                # once "whatever the as-of day" (README), never overdue
                if o["dues"][k - 1] > as_of and not o["refunded_in_the_end"]:
                    tot[(o["channel"], o["term"])][0] += o["parts"][k - 1]
                continue
            kind = kinds[f"I-{o['order_no']}-{k}"]
            if kind in ("instalment_matched", "instalment_ended", "instalment_after_refund"):
                continue
            t = tot[(o["channel"], o["term"])]
            t[0] += o["parts"][k - 1]
            if o["dues"][k - 1] <= as_of:
                t[1] += o["parts"][k - 1]
    return {k: tuple(v) for k, v in tot.items()}


# ---- files
def write_csv(path: Path, cols, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        w.writerows(rows)
    return path


def order_row(o, status):
    return {"order_no": o["order_no"], "store_id": o["store"], "merchant_id": o["merchant"], "channel": o["channel"],
            "amount": yuan(o["amount"]), "status": status, "created_at": o["paid_at"].isoformat(),
            "paid_at": o["paid_at"].isoformat(), "member_id": f"U{int(o['order_no'][3:]) % 17}",
            "member_level": "gold", "instalments": o["term"]}


def day_files(chain: Chain, d: dt.date, folder: Path) -> list[str]:
    """The ERP's orders and refunds of day d and the channels' flow export of d-2..d; the ingest arguments."""
    args = []
    status = {}
    for day, order_no, st in sorted(chain.status_events):
        if day <= d:
            status[order_no] = st
    changed = {order_no for day, order_no, _ in chain.status_events if day == d}
    rows = [order_row(o, status.get(o["order_no"], "paid")) for o in chain.orders
            if o["paid"] == d or o["order_no"] in changed]
    if rows:
        args += ["--orders", str(write_csv(folder / f"orders_{d}.csv", ORDER_COLS, rows))]
    rf = [{"refund_no": x["refund_no"], "order_no": x["order"], "amount": yuan(x["amount"]),
           "created_at": x["at"].isoformat(), "status": "success", "merchant_id": x["merchant"]}
          for x in chain.refunds if x["at"].date() == d]
    if rf:
        args += ["--refunds", str(write_csv(folder / f"refunds_{d}.csv", REFUND_COLS, rf))]
    return args


def flow_export(chain: Chain, d: dt.date, folder: Path) -> Path:
    fl = sorted((f for f in chain.flows if d - dt.timedelta(days=2) <= f["ex"] <= d), key=lambda f: f["at"])
    rows = [{"channel": f["channel"], "order_no": f["order"], "period_no": f["k"], "periods": f["n"],
             "amount": yuan(f["amount"]), "fee": "0.00", "status": f["status"], "occurred_at": f["at"].isoformat(),
             "merchant_id": f["merchant"]} for f in fl]
    return write_csv(folder / f"flows_{d}.csv", FLOW_COLS, rows)


def cli(*args) -> subprocess.CompletedProcess:
    e = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.run([PY, "-m", "paymatch", *map(str, args)], capture_output=True, text=True, env=e)
    if p.returncode != 0:
        raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def got_kinds(out: Path) -> dict[str, str]:
    with open(out / "outcomes.csv", encoding="utf-8") as f:
        return {r["outcome_id"]: r["kind"] for r in csv.DictReader(f) if r["outcome_id"].startswith("I-")}


class Tally:
    def __init__(self, chain: Chain):
        self.agree = 0
        self.disagree = 0
        self.story = {o["order_no"]: o["story"] for o in chain.orders}
        self.by_kind = collections.Counter()

    def compare(self, where: str, exp: dict[str, str], got: dict[str, str]) -> None:
        for oid in sorted(set(exp) | set(got)):
            e, g = exp.get(oid), got.get(oid)
            if e == g:
                self.agree += 1
                continue
            self.disagree += 1
            order = oid[2:].split("-")[0]
            self.by_kind[(self.story.get(order), e, g)] += 1
            if self.disagree <= 40:
                print(f"DISAGREE {where} {oid} ({self.story.get(order)}): model {e}, paymatch {g}")

    def same(self, where: str, key, exp, got) -> None:
        if exp == got:
            self.agree += 1
        else:
            self.disagree += 1
            self.by_kind[("report", where.split()[0], str(key))] += 1
            if self.disagree <= 60:
                print(f"DISAGREE {where} {key}: model {exp}, paymatch {got}")


def report_totals(path: Path) -> dict[tuple, tuple[int, int]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows = None

    def find(x):
        nonlocal rows
        if isinstance(x, dict):
            for v in x.values():
                find(v)
        elif isinstance(x, list) and x and isinstance(x[0], dict) and "outstanding_fen" in x[0]:
            rows = rows or x
        elif isinstance(x, list):
            for v in x:
                find(v)
    find(doc)
    tot: dict[tuple, list[int]] = collections.defaultdict(lambda: [0, 0])
    for r in rows or []:
        if r["channel"] in (*CHANNELS, "huabei"):
            t = tot[(r["channel"], int(r["term"]))]
            t[0] += int(r["outstanding_fen"])
            t[1] += int(r["overdue_fen"])
    return {k: tuple(v) for k, v in tot.items() if v != [0, 0]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--orders", type=int, default=90)
    ap.add_argument("--out", default="/tmp/audit_r10")
    ap.add_argument("--step", type=int, default=1, help="run every step-th day (1: every day)")
    a = ap.parse_args()
    t0 = time.monotonic()
    tmp = Path(a.out)
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "in").mkdir(parents=True)
    chain = Chain(a.seed, a.orders)
    print(f"{len(chain.orders)} orders ({collections.Counter(o['channel'] for o in chain.orders)}), "
          f"{len(chain.flows)} deductions, {len(chain.refunds)} refunds")
    rules = tmp / "rules.toml"
    rules.write_text(CONFIG, encoding="utf-8")
    w = tmp / "w.duckdb"
    tally = Tally(chain)

    # (1) day by day
    d = START
    pending: list[str] = []
    while d <= END:
        pending += day_files(chain, d, tmp / "in")
        fl = flow_export(chain, d, tmp / "in")
        if (d - START).days % a.step == 0 or d == END:
            cli("ingest", "--workspace", w, "--config", rules, *pending, "--instalments", fl)
            pending = []
            cli("reconcile", "--workspace", w, "--config", rules, "--date", d, "--instalments", fl, "--as-of", d,
                "--out", tmp / f"out_{d}")
            tally.compare(f"day {d}", expected(chain, d, d), got_kinds(tmp / f"out_{d}"))
        else:
            cli("ingest", "--workspace", w, "--config", rules, "--instalments", fl)
        d += dt.timedelta(days=1)
    print(f"day by day done: {tally.agree} agree / {tally.disagree} disagree ({time.monotonic() - t0:.0f} s)")

    # (2) the days after END, then range runs
    last = END + dt.timedelta(days=AFTER)
    d = END + dt.timedelta(days=1)
    while d <= last:
        args = day_files(chain, d, tmp / "in")
        cli("ingest", "--workspace", w, "--config", rules, *args, "--instalments", flow_export(chain, d, tmp / "in"))
        d += dt.timedelta(days=1)
    cli("reconcile", "--workspace", w, "--config", rules, "--from", START, "--to", END, "--as-of", END,
        "--out", tmp / "out_range")
    tally.compare("range", expected(chain, END, last), got_kinds(tmp / "out_range"))
    # days just before a refund (and END): reconciled again with everything known
    days = sorted({x["at"].date() for x in chain.refunds
                   if START + dt.timedelta(days=3) <= x["at"].date() <= END + dt.timedelta(days=3)})
    pick = random.Random(a.seed).sample(days, min(6, len(days)))
    again = sorted({d - dt.timedelta(days=k) for d in pick for k in (0, 3)
                    if START <= d - dt.timedelta(days=k) <= END})
    for d in again:
        cli("reconcile", "--workspace", w, "--config", rules, "--from", START, "--to", d, "--as-of", d,
            "--out", tmp / f"again_{d}")
        tally.compare(f"again {d}", expected(chain, d, last), got_kinds(tmp / f"again_{d}"))
    print(f"range runs done: {tally.agree} agree / {tally.disagree} disagree ({time.monotonic() - t0:.0f} s)")

    # (3) the report as of those days (after all the runs), per channel and term
    for d in [*again, END]:
        cli("report", "instalments", "--workspace", w, "--config", rules, "--from", START, "--to", d,
            "--as-of", d, "--json", tmp / f"report_{d}.json")
        exp = expected_report(chain, d, expected(chain, d, last))
        got = report_totals(tmp / f"report_{d}.json")
        for key in sorted(set(exp) | set(got)):
            tally.same(f"report {d}", key, exp.get(key), got.get(key))
    secs = time.monotonic() - t0
    print(f"RESULT {tally.agree} agree / {tally.disagree} disagree, seed {a.seed}, {a.orders} orders, {secs:.0f} s")
    for k, v in tally.by_kind.most_common():
        print(f"  {v:6d}  {k}")
    return 0 if tally.disagree == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
