"""Second audit of paymatch, as a finance user: reports, key_scope, notifications, config, CLI.

Reuses bench/audit_defects.py's generator (its canonical CSVs for a small chain with every defect)
and checks what the first audit did not:

1. reports tie out with the stored outcomes (reconciliation day/week/month Excel, fund flow,
   anomalies): counts and amounts per kind and group, drill-down rows, Chinese labels, no
   double counting of an order pending on day N and matched on day N+1, yuan cells without float
   artefacts; a range run's days can be reported;
2. [match] key_scope = ["merchant_id"] with two merchant numbers reusing order numbers (file mode,
   workspace mode, refunds, reports);
3. `paymatch serve` notifications (WeChat Pay v3 and Alipay, signed with locally generated keys):
   unconfirmed → matched by the bill; a resent notification after the bill changes nothing; a bad
   signature is rejected and nothing is stored;
4. config: tolerance, grace minutes, a new method's settle channel, internal methods, [stores],
   YAML = TOML, invalid values named;
5. CLI: --help of every command, exit codes, errors without tracebacks, spark = duckdb on a workspace.

    .venv/bin/python bench/audit_round2.py [--out /tmp/audit2] [--only reports,scope,notify,config,cli] [--spark]

Exit status 0 when every check agrees, 1 otherwise; every disagreement is printed.
"""
from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
PAYMATCH = str(ROOT / ".venv" / "bin" / "paymatch")
DAYS = ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
# what the README calls agreeing/consistent (refund_pending: a processing refund with no channel refund yet)
CLEAN = {"matched", "refund_matched", "record_update", "unpaid", "internal", "refund_pending", "refund_failed",
         "instalment_matched", "instalment_not_due"}


class Audit:
    def __init__(self):
        self.good: list[str] = []
        self.bad_: list[str] = []

    def ok(self, msg: str):
        self.good.append(msg)
        print("  ok:", msg)

    def bad(self, msg: str):
        self.bad_.append(msg)
        print("  DISAGREE:", msg)

    def check(self, cond: bool, msg: str, detail: str = ""):
        if cond:
            self.ok(msg)
        else:
            self.bad(msg + (f" — {detail}" if detail else ""))


A = Audit()


def run(args, check=True, cwd=None, env=None):
    p = subprocess.run([PAYMATCH, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env)
    if check and p.returncode != 0:
        raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def read_outcomes(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def i(v):
    return int(v) if v not in (None, "") else 0


# ----------------------------------------------------------------------------------------------
# data: audit_defects.py's canonical CSVs
def gen_data(base: Path) -> Path:
    data = base / "defects"
    if not (data / "data" / "orders.csv").exists():
        subprocess.run([PY, str(ROOT / "bench" / "audit_defects.py"), "--out", str(data)], capture_output=True)
    return data / "data"


# ----------------------------------------------------------------------------------------------
# 1. reports
def xlsx_sheets(path):
    import openpyxl
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb:
        rows = [[None if (c.number_format or "").endswith("%") else c.value for c in row] for row in ws.iter_rows()]
        fmts = {}
        if ws.max_row >= 2:
            for c in ws[2]:
                fmts[c.column - 1] = c.number_format
        out[ws.title] = (rows, fmts)
    return out


def float_artefacts(sheets) -> list[str]:
    bad = []
    for name, (rows, _) in sheets.items():
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, float) and abs(v) < 1e12:
                    s = repr(v)
                    if "e" not in s and "." in s and len(s.split(".")[1]) > 2:
                        # percents are ratios; only flag cells that are amounts (format #,##0.00)
                        bad.append((name, r + 1, c + 1, s))
    return bad


def expected_latest(outs: list[tuple[str, list[dict]]]) -> dict[str, dict]:
    """outcome_id -> the row of the latest run that has it (runs given oldest first)."""
    latest = {}
    for _, rows in outs:
        for row in rows:
            latest[row["outcome_id"]] = row
    return latest


def record_shares(data: Path) -> dict[str, list[tuple[str, str, int]]]:
    """P-<order_no> -> its payment records as (channel, merchant number, compared amount) for the payment outcomes
    whose records are on several channels or merchant numbers (a duplicate payment through WeChat and Alipay):
    grouped by channel or by merchant number, each record's money is its own channel's / merchant number's (the
    report's rule since the seventeenth session). One copy per listed record; the compared amount is the record's
    when it succeeded, or when none of the order's records did."""
    recs: dict[tuple, dict] = {}
    for f in (data / f"transactions_{d.replace('-', '')}.csv" for d in DAYS):  # the files the reports' runs read
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # (one day's bill is GBK, as an Excel on a Chinese Windows saves it)
            text = raw.decode("gbk")
        for r in csv.DictReader(io.StringIO(text, newline="")):
            if r["type"] == "payment" and r["order_no"]:
                recs.setdefault((r["channel"], r["channel_tx_id"]), r)
    by_order: dict[str, list[dict]] = defaultdict(list)
    for r in recs.values():
        by_order[r["order_no"]].append(r)
    out = {}
    for order, rs in by_order.items():
        if len({(r["channel"], r["merchant_id"]) for r in rs}) < 2:
            continue
        any_ok = any(r["status"] == "success" for r in rs)
        out[f"P-{order}"] = [(r["channel"], r["merchant_id"],
                              int(Decimal(r["amount"]) * 100) if r["status"] == "success" or not any_ok else 0)
                             for r in rs]
    return out


def agg(rows, group_col, shares=None):
    g = defaultdict(lambda: Counter())
    for row in rows:
        key = row[group_col] or "(未知)"  # a zh report names a missing store so (README)
        recs = (shares or {}).get(row["outcome_id"]) if group_col in ("channel", "merchant_id") else None
        share: dict[str, tuple[int, int]] = {}
        for ch, mch, amt in recs or []:
            dim = ch if group_col == "channel" else (mch or row["merchant_id"])
            n, a = share.get(dim, (0, 0))
            share[dim] = (n + 1, a + amt)
        if len(share) > 1:
            own_n, own_amt = share.get(row[group_col], (0, 0))
            for ch, (n, amt) in share.items():
                if ch != row[group_col]:  # another channel's / merchant's share: its records' money, not an outcome
                    for k in (ch, "__total__"):
                        g[k]["channel_count"] += n
                        g[k][f"k_{row['kind']}_fen"] += amt
            row = {**row, "channel_rows": str(own_n), "channel_amount_fen": str(own_amt)}
        for k in (key, "__total__"):
            c = g[k]
            # refund outcomes, and the extra copies of refund records (their type is in the id: D-ch:tx:type:ref)
            copies = row["kind"] in ("duplicate_record", "record_update")
            r = row["outcome_id"].startswith("R-") or (copies and row["outcome_id"].rsplit(":", 2)[-2] == "refund")
            c["outcomes_count"] += 1
            c["orders_count" if not r else "shop_refund_count"] += i(row["order_rows"])
            c["channel_count" if not r else "channel_refund_count"] += i(row["channel_rows"])
            kind = row["kind"]
            c[f"k_{kind}_count"] += 1
            amt = row["channel_amount_fen"] if row["channel_amount_fen"] != "" else row["order_amount_fen"]
            c[f"k_{kind}_fen"] += i(amt)
            if kind not in CLEAN:
                c["unmatched_count"] += 1
                c["difference_fen"] += i(row["difference_fen"])
    return g


def check_recon_report(label, xlsx, json_path, expected_rows, group_col="merchant_id", shares=None):
    doc = json.loads(Path(json_path).read_text(encoding="utf-8"))
    sheets = xlsx_sheets(xlsx)
    exp = agg(expected_rows, group_col, shares)
    # the JSON summary table (same model as the Excel)
    tables = {t["name"]: t for t in doc["tables"]}
    summ = tables["summary"]
    cols = [c["name"] for c in summ["columns"]]
    mism = []
    for row in summ["rows"]:
        rec = dict(zip(cols, row)) if isinstance(row, list) else row
        key = rec[group_col]
        key = "__total__" if key in ("全链合计", "Chain total") else key
        e = exp.get(key, Counter())
        for name, v in rec.items():
            if name in ("outcomes_count", "orders_count", "channel_count", "shop_refund_count",
                        "channel_refund_count", "unmatched_count", "difference_fen") or \
                    (name.startswith("k_") and (name.endswith("_count") or name.endswith("_fen"))):
                ev = e.get(name, 0)
                got = v if v is not None else 0
                if isinstance(got, float) and name.endswith("_fen"):
                    got = round(got * 100)
                if got != ev:
                    mism.append(f"{key}.{name}: report {got} ≠ outcomes {ev}")
    A.check(not mism, f"{label}: summary per {group_col} and total = the stored outcomes (counts, per-kind amounts)",
            "; ".join(mism[:6]) + (f" (+{len(mism) - 6})" if len(mism) > 6 else ""))
    # drill-down: every non-clean outcome listed once
    un = tables["unmatched"]
    ucols = [c["name"] for c in un["columns"]]
    ids = [_rec(ucols, r)["outcome_id"] if isinstance(r, list) else r["outcome_id"] for r in un["rows"]]
    want = sorted(r["outcome_id"] for r in expected_rows if r["kind"] not in CLEAN)
    A.check(sorted(ids) == want, f"{label}: 待处理明细 lists each item to act on once",
            f"report {len(ids)} rows ({len(set(ids))} distinct), outcomes {len(want)}; "
            f"missing {sorted(set(want) - set(ids))[:3]}, extra {sorted(set(ids) - set(want))[:3]}")
    # Excel: Chinese headers, no float artefacts, amounts formatted
    heads = [rows[0] for rows, _ in sheets.values() if rows]
    cjk = all(any(isinstance(h, str) and re.search(r"[\u4e00-\u9fff]", h) for h in hd) for hd in heads)
    A.check(cjk and any(re.search(r"[\u4e00-\u9fff]", t) for t in sheets), f"{label}: Excel sheet names/headers in Chinese",
            f"sheets {list(sheets)}")
    arte = float_artefacts(sheets)
    A.check(not arte, f"{label}: no float artefacts in Excel cells", str(arte[:5]))
    # Excel summary sheet total row = JSON total
    return doc, sheets


def _rec(cols, r):
    return r if isinstance(r, dict) else dict(zip(cols, r))


def day_of_outcome(row) -> str:
    return row["occurred_at"][:10] if row["occurred_at"] else ""


def reports(base: Path, data: Path):
    print("== reports")
    rd = base / "reports"
    shutil.rmtree(rd, ignore_errors=True)
    rd.mkdir(parents=True)
    ws = rd / "W.duckdb"
    run(["ingest", "--workspace", ws, "--orders", data / "orders.csv", "--refunds", data / "refunds.csv"])
    outs = []
    for d in DAYS:
        run(["ingest", "--workspace", ws, "--transactions", data / f"transactions_{d.replace('-', '')}.csv"])
        run(["reconcile", "--workspace", ws, "--date", d, "--out", rd / f"out_{d}"])
        outs.append((d, read_outcomes(rd / f"out_{d}" / "outcomes.csv")))
    for d, rows in outs:
        x, j = rd / f"day_{d}.xlsx", rd / f"day_{d}.json"
        run(["report", "reconciliation", "--workspace", ws, "--period", "day", "--date", d, "--excel", x, "--json", j])
        check_recon_report(f"day report {d}", x, j, rows, shares=record_shares(data))
    latest = list(expected_latest(outs).values())
    pend = {r["outcome_id"] for _, rows in outs[:3] for r in rows if r["kind"] == "pending_cross_day"}
    for period in ("week", "month"):
        x, j = rd / f"{period}.xlsx", rd / f"{period}.json"
        run(["report", "reconciliation", "--workspace", ws, "--period", period, "--date", DAYS[0], "--excel", x, "--json", j])
        doc, _ = check_recon_report(f"{period} report (daily runs)", x, j, latest, shares=record_shares(data))
        un = {t["name"]: t for t in doc["tables"]}["unmatched"]
        ucols = [c["name"] for c in un["columns"]]
        listed = {_rec(ucols, r)["outcome_id"] for r in un["rows"]}
        kinds_listed = {_rec(ucols, r)["outcome_id"]: _rec(ucols, r)["kind"] for r in un["rows"]}
        stale = [(k, kinds_listed[k]) for k in pend & listed if kinds_listed[k] == "pending_cross_day"]
        A.check(len(pend) > 0 and not stale,
                f"{period} report: orders pending on day N ({len(pend)}) appear once, with their day N+1 kind",
                str(stale[:3]))
    for gb, col in (("store", "store_id"), ("channel", "channel")):
        x, j = rd / f"week_{gb}.xlsx", rd / f"week_{gb}.json"
        run(["report", "reconciliation", "--workspace", ws, "--period", "week", "--date", DAYS[0], "--group-by", gb,
             "--excel", x, "--json", j])
        check_recon_report(f"week report by {gb}", x, j, latest, col, record_shares(data))

    # the unmatched list's 对账日 for daily runs = the run's day
    doc = json.loads((rd / "week.json").read_text(encoding="utf-8"))
    un = {t["name"]: t for t in doc["tables"]}["unmatched"]
    ucols = [c["name"] for c in un["columns"]]
    run_day = {}
    for d, rows in outs:
        for r in rows:
            run_day[r["outcome_id"]] = d
    wrong = [(_rec(ucols, r)["outcome_id"], _rec(ucols, r)["day"]) for r in un["rows"]
             if str(_rec(ucols, r)["day"])[:10] != run_day.get(_rec(ucols, r)["outcome_id"])]
    A.check(not wrong, "week report (daily runs): 对账日 of each item = the day of the run that produced it", str(wrong[:3]))

    # a range run: can its days be reported?
    wr = rd / "WR.duckdb"
    run(["ingest", "--workspace", wr, "--orders", data / "orders.csv", "--refunds", data / "refunds.csv",
         *sum((["--transactions", data / f"transactions_{d.replace('-', '')}.csv"] for d in DAYS[:3]), [])])
    run(["reconcile", "--workspace", wr, "--from", DAYS[0], "--to", DAYS[2], "--out", rd / "out_range"])
    rrows = read_outcomes(rd / "out_range" / "outcomes.csv")
    p = run(["report", "reconciliation", "--workspace", wr, "--period", "day", "--date", DAYS[1],
             "--json", rd / "range_day.json"], check=False)
    A.check(p.returncode == 0, f"day report for {DAYS[1]} after `reconcile --from {DAYS[0]} --to {DAYS[2]}` works",
            (p.stdout + p.stderr).strip().replace("\n", " | ")[:200])
    run(["report", "reconciliation", "--workspace", wr, "--period", "week", "--date", DAYS[1], "--excel",
         rd / "range_week.xlsx", "--json", rd / "range_week.json"])
    check_recon_report("week report (one range run)", rd / "range_week.xlsx", rd / "range_week.json", rrows,
                       shares=record_shares(data))
    doc = json.loads((rd / "range_week.json").read_text(encoding="utf-8"))
    un = {t["name"]: t for t in doc["tables"]}["unmatched"]
    ucols = [c["name"] for c in un["columns"]]
    days = Counter(str(_rec(ucols, r)["day"])[:10] for r in un["rows"])
    A.check(len(days) > 1, "range run: the items' 对账日 column shows their own days (not the range start for all)",
            f"days shown: {dict(days)}")

    # fund flow: ties to the successful transactions of the range, no duplicate record counted twice
    ff_json = rd / "ff.json"
    run(["report", "fund-flow", "--workspace", ws, "--from", DAYS[0], "--to", DAYS[3], "--by", "channel",
         "--excel", rd / "ff.xlsx", "--json", ff_json])
    doc = json.loads(ff_json.read_text(encoding="utf-8"))
    ctl = {c["key"]: c for c in doc["control_totals"]}
    sheets = xlsx_sheets(rd / "ff.xlsx")
    arte = float_artefacts(sheets)
    A.check(not arte, "fund-flow Excel: no float artefacts", str(arte[:5]))
    print("    fund-flow control totals:", {k: (v.get("count"), v.get("amount_fen")) for k, v in ctl.items()})
    recon_week = json.loads((rd / "week.json").read_text(encoding="utf-8"))
    rctl = {c["key"]: c for c in recon_week["control_totals"]}
    print("    recon week control totals:", {k: (v.get("count"), v.get("amount_fen")) for k, v in rctl.items()})
    # money really moved: each successful channel record once (README: a record listed twice is the same
    # record; the reconciliation report excludes duplicate_record copies from money: "not money")
    import duckdb
    con = duckdb.connect(str(ws), read_only=True)
    moved = dict(con.execute("""
        SELECT type, (count(*), sum(amount_fen)) FROM (
          SELECT DISTINCT channel, channel_tx_id, type, coalesce(channel_refund_id, refund_no, '') rk, amount_fen
          FROM transactions WHERE status = 'success') GROUP BY type""").fetchall())
    con.close()
    got_in = (ctl["inflow"]["count"], ctl["inflow"]["amount_fen"])
    got_rf = (ctl["refunds"]["count"], ctl["refunds"]["amount_fen"])
    A.check(got_in == tuple(moved["payment"]) and got_rf == tuple(moved["refund"]),
            "fund flow counts each successful channel record once (a duplicate_record copy is not money)",
            f"fund-flow inflow {got_in}, refunds {got_rf}; distinct successful records: payments {tuple(moved['payment'])}, "
            f"refunds {tuple(moved['refund'])}")
    # drill: the rows under each key sum to the row
    tables = {t["name"]: t for t in doc["tables"]}
    summ = tables.get("summary")
    if summ:
        cols = [c["name"] for c in summ["columns"]]
        bad = []
        for r in summ["rows"][:6]:
            rec = r if isinstance(r, dict) else dict(zip(cols, r))
            key = rec.get("key")
            if not key or key in ("合计", "Total"):
                continue
            p = run(["report", "fund-flow", "--workspace", ws, "--from", DAYS[0], "--to", DAYS[3], "--by", "channel",
                     "--drill", key], check=False)
            lines = list(csv.DictReader(p.stdout.splitlines()))
            if p.returncode != 0 or not lines:
                bad.append(f"{key}: rc {p.returncode} {p.stderr.strip()[:100]} rows {len(lines)}")
        A.check(not bad, "fund-flow --drill KEY prints the transactions under each summary key", "; ".join(bad[:3]))
    # anomalies
    an = rd / "an.json"
    p = run(["report", "anomalies", "--workspace", ws, "--from", DAYS[0], "--to", DAYS[3], "--excel", rd / "an.xlsx",
             "--json", an], check=False)
    A.check(p.returncode == 0, "anomalies report runs", p.stderr[-300:])
    if p.returncode == 0:
        sheets = xlsx_sheets(rd / "an.xlsx")
        arte = float_artefacts(sheets)
        A.check(not arte, "anomalies Excel: no float artefacts", str(arte[:5]))
    return ws, latest


# ----------------------------------------------------------------------------------------------
# 2. key_scope
SCOPE_ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
A1001,S001,1600000001,wechat,100.00,paid,2026-11-18 10:00:00,2026-11-18 10:00:05,,,0
A1001,S002,1600000002,wechat,200.00,paid,2026-11-18 11:00:00,2026-11-18 11:00:05,,,0
A1002,S001,1600000001,wechat,50.00,paid,2026-11-18 12:00:00,2026-11-18 12:00:05,,,0
A1002,S002,1600000002,wechat,50.00,paid,2026-11-18 12:00:00,2026-11-18 12:00:05,,,0
A1003,S001,1600000001,wechat,30.00,partially_refunded,2026-11-18 13:00:00,2026-11-18 13:00:05,,,0
A1003,S002,1600000002,wechat,40.00,refunded,2026-11-18 13:00:00,2026-11-18 13:00:05,,,0
A1004,S001,1600000001,wechat,60.00,paid,2026-11-18 09:00:00,2026-11-18 09:00:05,,,0
A1004,S002,1600000002,wechat,70.00,paid,2026-11-18 23:55:00,2026-11-18 23:55:30,,,0
"""
SCOPE_REFUNDS = """refund_no,order_no,amount,created_at,status
RF1,A1003,40.00,2026-11-18 15:00:00,success
RF2,A1003,10.00,2026-11-18 16:00:00,success
"""
TXH = "channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,occurred_at,bill_date,method\n"
SCOPE_TX18 = TXH + """wechat,1600000001,T1,A1001,payment,,,100.00,0.60,100.00,success,2026-11-18 10:00:05,2026-11-18,wechat
wechat,1600000002,T2,A1001,payment,,,200.00,1.20,200.00,success,2026-11-18 11:00:05,2026-11-18,wechat
wechat,1600000001,T3,A1002,payment,,,50.00,0.30,50.00,success,2026-11-18 12:00:05,2026-11-18,wechat
wechat,1600000001,T4,A1003,payment,,,30.00,0.18,30.00,success,2026-11-18 13:00:05,2026-11-18,wechat
wechat,1600000002,T5,A1003,payment,,,40.00,0.24,40.00,success,2026-11-18 13:00:05,2026-11-18,wechat
wechat,1600000002,T5,A1003,refund,RF1,CR1,40.00,-0.24,40.00,success,2026-11-18 15:00:05,2026-11-18,wechat
wechat,1600000001,T4,A1003,refund,RF2,CR2,10.00,-0.06,10.00,success,2026-11-18 16:00:05,2026-11-18,wechat
wechat,1600000001,T6,A1004,payment,,,60.00,0.36,60.00,success,2026-11-18 09:00:05,2026-11-18,wechat
"""
SCOPE_TX19 = TXH + "wechat,1600000002,T7,A1004,payment,,,70.00,0.42,70.00,success,2026-11-18 23:55:30,2026-11-19,wechat\n"
SCOPE_WANT = {
    "P-1600000001/A1001": ("matched", "1600000001", "S001"), "P-1600000002/A1001": ("matched", "1600000002", "S002"),
    "P-1600000001/A1002": ("matched", "1600000001", "S001"), "P-1600000002/A1002": ("order_only", "1600000002", "S002"),
    "P-1600000001/A1003": ("matched", "1600000001", "S001"), "P-1600000002/A1003": ("matched", "1600000002", "S002"),
    "P-1600000001/A1004": ("matched", "1600000001", "S001"),
    "P-1600000002/A1004": ("pending_cross_day", "1600000002", "S002"),
    "R-RF1": ("refund_matched", "1600000002", "S002"),   # the channel refund came from 1600000002 (T5, its order)
    "R-RF2": ("refund_matched", "1600000001", "S001"),
}


def scope(base: Path, data: Path, a):
    print("== key_scope = [merchant_id]")
    d = base / "scope"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for n, t in (("orders.csv", SCOPE_ORDERS), ("refunds.csv", SCOPE_REFUNDS), ("tx18.csv", SCOPE_TX18),
                 ("tx19.csv", SCOPE_TX19), ("ks.toml", '[match]\nkey_scope = ["merchant_id"]\n')):
        (d / n).write_text(t, encoding="utf-8")
    cfg = d / "ks.toml"
    run(["reconcile", "--orders", d / "orders.csv", "--refunds", d / "refunds.csv", "--transactions", d / "tx18.csv",
         "--config", cfg, "--out", d / "file"])
    got = {r["outcome_id"]: (r["kind"], r["merchant_id"], r["store_id"]) for r in read_outcomes(d / "file" / "outcomes.csv")}
    diff = {k: (got.get(k), v) for k, v in SCOPE_WANT.items() if got.get(k) != v}
    A.check(not diff and set(got) == set(SCOPE_WANT), "key_scope file mode: one outcome per (merchant, order), "
            "refunds attributed to the merchant/store of the refunded order", f"(got, want): {diff}")
    ws = d / "K.duckdb"
    run(["ingest", "--workspace", ws, "--config", cfg, "--orders", d / "orders.csv", "--refunds", d / "refunds.csv",
         "--transactions", d / "tx18.csv"])
    run(["reconcile", "--workspace", ws, "--config", cfg, "--date", "2026-11-18", "--out", d / "w18"])
    wgot = {r["outcome_id"]: (r["kind"], r["merchant_id"], r["store_id"]) for r in read_outcomes(d / "w18" / "outcomes.csv")}
    A.check(wgot == got, "key_scope workspace --date d1 = file mode", str({k: (wgot.get(k), got.get(k))
                                                                           for k in set(got) | set(wgot) if wgot.get(k) != got.get(k)}))
    run(["ingest", "--workspace", ws, "--config", cfg, "--transactions", d / "tx19.csv"])
    run(["reconcile", "--workspace", ws, "--config", cfg, "--date", "2026-11-19", "--out", d / "w19"])
    g19 = {r["outcome_id"]: r["kind"] for r in read_outcomes(d / "w19" / "outcomes.csv")}
    A.check(g19 == {"P-1600000002/A1004": "matched"}, "key_scope workspace d2: 1600000002/A1004 (pending on d1) "
            "matched; the namesake of 1600000001 not pulled in", str(g19))
    run(["report", "reconciliation", "--workspace", ws, "--config", cfg, "--period", "week", "--date", "2026-11-18",
         "--group-by", "merchant", "--json", d / "week.json"])
    doc = json.loads((d / "week.json").read_text(encoding="utf-8"))
    rows = {r["merchant_id"]: r for r in doc["tables"][0]["rows"]}
    want = {"1600000001": (1, 1000), "1600000002": (1, 4000)}
    gotr = {m: (rows.get(m, {}).get("channel_refund_count"), rows.get(m, {}).get("channel_refund_fen")) for m in want}
    A.check(gotr == want, "key_scope report by merchant: each merchant's channel refunds under it", f"got {gotr}")
    run(["report", "fund-flow", "--workspace", ws, "--config", cfg, "--from", "2026-11-18", "--to", "2026-11-19",
         "--by", "store", "--json", d / "ff.json"])
    ff = json.loads((d / "ff.json").read_text(encoding="utf-8"))
    s2 = [r for r in ff["tables"][0]["rows"] if r.get("dim") == "S002"]
    A.check(sum(r["refund_fen"] for r in s2) == 4000 and sum(r["inflow_fen"] for r in s2) == 31000,
            "key_scope fund flow by store: S002 gets its own payments and refund", str(s2))
    p = run(["report", "anomalies", "--workspace", ws, "--config", cfg, "--from", "2026-11-18", "--to", "2026-11-19",
             "--json", d / "an.json"])
    an = json.loads((d / "an.json").read_text(encoding="utf-8"))
    over = [c for c in an["control_totals"] if "over" in c["key"]]
    A.check(all((c["count"] or 0) == 0 for c in over), "key_scope anomalies: no false over-refund across namesakes", str(over))
    # refund numbers reused by the two merchant numbers (out_refund_no is unique per mchid only)
    (d / "refunds_dup.csv").write_text("refund_no,order_no,amount,created_at,status,merchant_id\n"
                                       "RF1,A1003,40.00,2026-11-18 15:00:00,success,1600000002\n"
                                       "RF1,A1003,10.00,2026-11-18 16:00:00,success,1600000001\n", encoding="utf-8")
    p = run(["reconcile", "--orders", d / "orders.csv", "--refunds", d / "refunds_dup.csv", "--transactions",
             d / "tx18.csv", "--config", cfg, "--out", d / "file_rdup"], check=False)
    A.check(p.returncode == 0, "key_scope: refund numbers reused across merchant numbers (refunds with a merchant_id "
            "column) are accepted", (p.stderr or p.stdout).strip().splitlines()[-2:].__str__())


# ----------------------------------------------------------------------------------------------
# 3. notifications through `paymatch serve`
def _keypair():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return k, priv, pub


def _rsa_sign(key, text: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.hashes import SHA256
    return base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(), SHA256())).decode()


def _wechat_notification(k, resource: dict, nid: str, sign_key=None) -> tuple[dict, bytes]:
    import secrets
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    gn = secrets.token_hex(6)
    ct = AESGCM(k["apiv3"].encode()).encrypt(gn.encode(), json.dumps(resource).encode(), b"transaction")
    body = json.dumps({"id": nid, "create_time": "2026-11-20T10:00:05+08:00", "resource_type": "encrypt-resource",
                       "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
                       "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                                    "ciphertext": base64.b64encode(ct).decode(), "associated_data": "transaction",
                                    "nonce": gn}}, ensure_ascii=False).encode()
    ts, nonce = int(time.time()), secrets.token_hex(16)
    sig = _rsa_sign(sign_key or k["platform"], f"{ts}\n{nonce}\n{body.decode()}\n")
    return {"Wechatpay-Timestamp": str(ts), "Wechatpay-Nonce": nonce, "Wechatpay-Signature": sig,
            "Wechatpay-Serial": k["platform_id"], "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Content-Type": "application/json"}, body


def _alipay_notification(k, over: dict, sign_key=None) -> bytes:
    from urllib.parse import urlencode
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    params = {"notify_id": "ntf-al-1", "notify_type": "trade_status_sync", "notify_time": now, "app_id": k["app_id"],
              "charset": "utf-8", "version": "1.0", "trade_no": "2026112022001400000000000001", "out_trade_no": "AL1",
              "seller_id": k["seller_id"], "trade_status": "TRADE_SUCCESS", "total_amount": "50.00",
              "receipt_amount": "50.00", "gmt_create": "2026-11-20 10:00:00", "gmt_payment": "2026-11-20 10:00:03",
              "subject": "测试"}
    params.update(over)
    text = "&".join(f"{a}={b}" for a, b in sorted(params.items()))
    params.update(sign_type="RSA2", sign=_rsa_sign(sign_key or k["alipay"], text))
    return urlencode(params).encode()


def _free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


class Serve:
    def __init__(self, ws, cfg, log):
        self.port = _free_port()
        self.logf = open(log, "ab")
        self.p = subprocess.Popen([PAYMATCH, "serve", "--workspace", str(ws), "--config", str(cfg), "--host",
                                   "127.0.0.1", "--port", str(self.port)], stdout=self.logf, stderr=self.logf)
        import httpx
        self.c = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        for _ in range(100):
            try:
                self.c.get("/health")
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        raise SystemExit("serve did not come up: " + Path(log).read_text())

    def stop(self):
        self.c.close()
        self.p.terminate()       # our own child, by its pid
        self.p.wait(20)
        self.logf.close()


def notify(base: Path, data: Path, a):
    print("== notifications (paymatch serve)")
    d = base / "notify"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    m, m_priv, _ = _keypair()
    pk, _, p_pub = _keypair()
    app, app_priv, _ = _keypair()
    ali, _, ali_pub = _keypair()
    k = {"platform": pk, "platform_id": "PUB_KEY_ID_0000000000000000000000000001",
         "apiv3": "0123456789abcdef0123456789ABCDEF", "app_id": "2021000000000001", "alipay": ali,
         "seller_id": "2088000000000001"}
    (d / "merchant.pem").write_text(m_priv)
    (d / "platform.pem").write_text(p_pub)
    (d / "apiv3.key").write_text(k["apiv3"])
    (d / "app.pem").write_text(app_priv)
    (d / "alipay_pub.pem").write_text(ali_pub)
    cfg = d / "rules.toml"
    cfg.write_text("\n".join([
        "[channels.wechat]", 'mchid = "1900000109"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
        'merchant_private_key_file = "merchant.pem"', 'platform_key_file = "platform.pem"',
        f'platform_key_id = "{k["platform_id"]}"', 'apiv3_key_file = "apiv3.key"',
        "[channels.alipay]", f'app_id = "{k["app_id"]}"', 'app_private_key_file = "app.pem"',
        'alipay_public_key_file = "alipay_pub.pem"', f'seller_id = "{k["seller_id"]}"']) + "\n", encoding="utf-8")
    wx_res = {"mchid": "1900000109", "appid": "wx0000000000000001", "out_trade_no": "WX1",
              "transaction_id": "4200000000202611200000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
              "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2026-11-20T10:00:00+08:00",
              "payer": {"openid": "oUser"}, "amount": {"total": 10000, "payer_total": 10000, "currency": "CNY",
                                                       "payer_currency": "CNY"}}
    ws = d / "N.duckdb"
    srv = Serve(ws, cfg, d / "serve.log")
    try:
        h, b = _wechat_notification(k, wx_res, "EV-1")
        r1 = srv.c.post("/notify/wechat", content=b, headers=h)
        r2 = srv.c.post("/notify/alipay", content=_alipay_notification(k, {}),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        A.check(r1.status_code in (200, 204) and r2.status_code == 200 and r2.text == "success",
                "valid WeChat Pay / Alipay notifications accepted (204 / 'success')",
                f"wechat {r1.status_code} {r1.text!r}, alipay {r2.status_code} {r2.text!r}")
        bad = dict(wx_res, out_trade_no="EVIL1", transaction_id="4200000000202611200000000666")
        h, b = _wechat_notification(k, bad, "EV-BAD", sign_key=m)
        r3 = srv.c.post("/notify/wechat", content=b, headers=h)
        body3 = r3.json() if r3.headers.get("content-type", "").startswith("application/json") else r3.text
        A.check(400 <= r3.status_code < 500 and isinstance(body3, dict) and body3.get("code") == "FAIL",
                "WeChat notification with a bad signature: 4xx + {code: FAIL, message}", f"{r3.status_code} {body3!r}")
        h, b = _wechat_notification(k, wx_res, "EV-1")
        h["Wechatpay-Signature"] = h["Wechatpay-Signature"][:-8] + "AAAAAAA="
        r3b = srv.c.post("/notify/wechat", content=b, headers=h)
        A.check(400 <= r3b.status_code < 500, "WeChat notification with a tampered signature refused",
                f"{r3b.status_code} {r3b.text!r}")
        r4 = srv.c.post("/notify/alipay", content=_alipay_notification(
            k, {"out_trade_no": "EVIL2", "notify_id": "ntf-evil"}, sign_key=app),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        A.check(r4.text != "success", "Alipay notification with a bad signature answered not-'success'",
                f"{r4.status_code} {r4.text!r}")
        hz = srv.c.get("/health")
        print("    /health:", hz.status_code, hz.text[:200])
    finally:
        srv.stop()
    import duckdb
    con = duckdb.connect(str(ws), read_only=True)
    stored = con.execute("SELECT order_no, origin FROM transactions ORDER BY 1").fetchall()
    con.close()
    A.check(stored == [("AL1", "notify"), ("WX1", "notify")], "only the two verified notifications stored", str(stored))
    (d / "orders.csv").write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        "WX1,S1,1900000109,wechat,100.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00,,,0\n"
        "AL1,S1,2088000000000001,alipay,50.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:03,,,0\n", encoding="utf-8")
    run(["ingest", "--workspace", ws, "--orders", d / "orders.csv"])
    run(["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out", d / "o1"])
    k1 = {r["outcome_id"]: r["kind"] for r in read_outcomes(d / "o1" / "outcomes.csv")}
    A.check(k1 == {"P-WX1": "unconfirmed", "P-AL1": "unconfirmed"}, "notifications only → unconfirmed", str(k1))
    (d / "bill.csv").write_text(TXH +
        "wechat,1900000109,4200000000202611200000000001,WX1,payment,,,100.00,0.60,100.00,success,2026-11-20 10:00:00,2026-11-20,wechat\n"
        "alipay,2088000000000001,2026112022001400000000000001,AL1,payment,,,50.00,0.30,50.00,success,2026-11-20 10:00:03,2026-11-20,alipay\n",
        encoding="utf-8")
    p = run(["ingest", "--workspace", ws, "--transactions", d / "bill.csv"])
    run(["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out", d / "o2"])
    k2 = {r["outcome_id"]: r["kind"] for r in read_outcomes(d / "o2" / "outcomes.csv")}
    A.check(k2 == {"P-WX1": "matched", "P-AL1": "matched"}, "after the bill (canonical transactions CSV) → matched",
            f"{k2}; ingest said: {p.stdout.strip()}")
    srv = Serve(ws, cfg, d / "serve.log")
    try:
        h, b = _wechat_notification(k, wx_res, "EV-1")
        r5 = srv.c.post("/notify/wechat", content=b, headers=h)
        h, b = _wechat_notification(k, wx_res, "EV-9")      # a new event id for the same payment
        r5b = srv.c.post("/notify/wechat", content=b, headers=h)
        r6 = srv.c.post("/notify/alipay", content=_alipay_notification(k, {"notify_id": "ntf-al-2"}),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        A.check(r5.status_code in (200, 204) and r5b.status_code in (200, 204) and r6.text == "success",
                "resent notifications after the bill acknowledged (so the channel stops resending)",
                f"{r5.status_code} {r5b.status_code} {r6.text!r}")
    finally:
        srv.stop()
    run(["reconcile", "--workspace", ws, "--date", "2026-11-20", "--out", d / "o3"])
    k3 = {r["outcome_id"]: (r["kind"], r["channel_rows"]) for r in read_outcomes(d / "o3" / "outcomes.csv")}
    A.check(k3 == {"P-WX1": ("matched", "1"), "P-AL1": ("matched", "1")},
            "a resent notification after the bill: still matched, one channel row", str(k3))
    con = duckdb.connect(str(ws), read_only=True)
    stored = con.execute("SELECT order_no, origin FROM transactions ORDER BY 1").fetchall()
    con.close()
    print("    stored after resend:", stored)


# ----------------------------------------------------------------------------------------------
# 4. config
CF_ORDERS = """order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments
C1,S001,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
C2,S001,1600000001,wechat,20.00,paid,2026-11-20 23:35:00,2026-11-20 23:40:00,,,0
C3,S001,DY001,douyin_pay,30.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
C4,S001,1600000001,douyin_pay,40.00,paid,2026-11-20 11:00:00,2026-11-20 11:00:05,,,0
C5,S001,,member_card,50.00,paid,2026-11-20 12:00:00,2026-11-20 12:00:05,,,0
H1,S001,2088,huabei,10.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05,,,0
"""
CF_TX = TXH + """wechat,1600000001,W1,C1,payment,,,100.01,0.60,100.01,success,2026-11-20 10:00:05,2026-11-20,wechat
douyin,DY001,D1,C3,payment,,,30.00,0.18,30.00,success,2026-11-20 11:00:05,2026-11-20,douyin_pay
wechat,1600000001,W4,C4,payment,,,40.00,0.24,40.00,success,2026-11-20 11:00:05,2026-11-20,wechat
wechat,1600000009,W9,X9,payment,,,9.00,0.05,9.00,success,2026-11-20 13:00:05,2026-11-20,wechat
alipay,2088,A1,H1,payment,,,10.00,0.06,10.00,success,2026-11-20 10:00:05,2026-11-20,huabei
"""
CF_TOML = """[match]
amount_tolerance_fen = 1
cross_day_grace_minutes = 30
[methods]
internal = ["balance", "member_card"]
[methods.settle_channel]
wechat = "wechat"
douyin_pay = "douyin"
[stores]
"1600000009" = "S009"
"""
CF_YAML = """match:
  amount_tolerance_fen: 1
  cross_day_grace_minutes: 30
methods:
  internal: [balance, member_card]
  settle_channel:
    wechat: wechat
    douyin_pay: douyin
stores:
  "1600000009": S009
"""


def config(base: Path, data: Path, a):
    print("== config")
    d = base / "config"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for n, t in (("orders.csv", CF_ORDERS), ("tx.csv", CF_TX), ("rules.toml", CF_TOML), ("rules.yaml", CF_YAML)):
        (d / n).write_text(t, encoding="utf-8")
    res = {}
    for name, extra in (("default", []), ("toml", ["--config", d / "rules.toml"]), ("yaml", ["--config", d / "rules.yaml"])):
        run(["reconcile", "--orders", d / "orders.csv", "--transactions", d / "tx.csv", "--out", d / name, *extra])
        res[name] = {r["outcome_id"]: (r["kind"], r["store_id"]) for r in read_outcomes(d / name / "outcomes.csv")}
    want_def = {"P-C1": "amount_mismatch", "P-C2": "order_only", "P-C3": "matched", "P-C5": "order_only",
                "P-X9": "channel_only", "P-H1": "matched"}
    got = {k: res["default"][k][0] for k in want_def}
    A.check(got == want_def, "defaults: tolerance 0, grace 10 min, unknown internal method → order_only", str(got))
    want = {"P-C1": ("matched", "S001"), "P-C2": ("pending_cross_day", "S001"), "P-C3": ("matched", "S001"),
            "P-C4": ("channel_mismatch", "S001"), "P-C5": ("internal", "S001"), "P-X9": ("channel_only", "S009"),
            "P-H1": ("matched", "S001")}
    A.check(res["toml"] == want, "config: tolerance 1 fen, grace 30 min, douyin_pay → douyin, member_card internal, "
            "[stores] for a channel-only row; default huabei → alipay kept", str({k: (res['toml'].get(k), v) for k, v in want.items()
                                                                             if res['toml'].get(k) != v}))
    A.check((d / "toml" / "outcomes.csv").read_bytes() == (d / "yaml" / "outcomes.csv").read_bytes(),
            "YAML config equal to the TOML one gives byte-identical outcomes.csv")
    A.check(res["default"]["P-C4"][0] == "matched", "(info) with the default config a douyin_pay order paid through "
            "wechat is matched: douyin_pay has no default settle channel", str(res["default"]["P-C4"]))
    for body, key in (("[match]\namount_tolerance_fen = -1\n", "match.amount_tolerance_fen"),
                      ('[match]\namount_tolerance_fen = "abc"\n', "match.amount_tolerance_fen"),
                      ("[match]\ntolerance = 1\n", "match.tolerance"),
                      ('[match]\nkey_scope = ["store_id"]\n', "match.key_scope"),
                      ("[match]\ncross_day_grace_minutes = 1.5\n", "match.cross_day_grace_minutes"),
                      ("[methods.settle_channel]\ndouyin_pay = 5\n", "methods.settle_channel.douyin_pay"),
                      ("[anomalies]\nlarge_zscore = \"x\"\n", "anomalies.large_zscore")):
        f = d / "bad.toml"
        f.write_text(body, encoding="utf-8")
        p = run(["reconcile", "--orders", d / "orders.csv", "--transactions", d / "tx.csv", "--out", d / "bad",
                 "--config", f], check=False)
        err = p.stdout + p.stderr
        A.check(p.returncode != 0 and key in err and "Traceback" not in err, f"invalid config {body.strip()!r}: "
                f"error names {key}", err.strip()[-200:])


# ----------------------------------------------------------------------------------------------
# 5. CLI
def cli(base: Path, data: Path, a):
    print("== CLI")
    d = base / "cli"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for c in ([], ["ingest"], ["reconcile"], ["pull"], ["serve"], ["report"], ["report", "reconciliation"],
              ["report", "fund-flow"], ["report", "anomalies"], ["report", "instalments"], ["demo"], ["credit"],
              ["credit", "check"]):
        p = run([*c, "--help"], check=False)
        A.check(p.returncode == 0 and "Usage" in p.stdout, f"paymatch {' '.join(c)} --help")
    ws = base / "reports" / "W.duckdb"
    (d / "o.csv").write_text(CF_ORDERS, encoding="utf-8")
    (d / "t.csv").write_text(CF_TX, encoding="utf-8")
    cases = [
        ("missing input file", ["reconcile", "--orders", d / "nope.csv", "--transactions", d / "t.csv", "--out", d / "x"]),
        ("bad date", ["reconcile", "--workspace", ws, "--date", "2026-13-01", "--out", d / "x"]),
        ("--to before --from", ["reconcile", "--workspace", ws, "--from", "2026-11-20", "--to", "2026-11-18", "--out", d / "x"]),
        ("unknown engine", ["reconcile", "--orders", d / "o.csv", "--transactions", d / "t.csv", "--engine", "oracle", "--out", d / "x"]),
        ("unknown period", ["report", "reconciliation", "--workspace", ws, "--period", "year", "--date", "2026-11-18"]),
        ("missing workspace", ["report", "reconciliation", "--workspace", d / "none.duckdb", "--date", "2026-11-18"]),
        ("unknown fund-flow dimension", ["report", "fund-flow", "--workspace", ws, "--from", "2026-11-18", "--to", "2026-11-19", "--by", "colour"]),
        ("unwritable --out", ["reconcile", "--orders", d / "o.csv", "--transactions", d / "t.csv", "--out", "/proc/paymatch-x"]),
        ("unwritable --excel", ["report", "reconciliation", "--workspace", ws, "--date", "2026-11-18", "--excel", d / "no" / "dir" / "r.xlsx"]),
        ("unwritable --json", ["report", "anomalies", "--workspace", ws, "--from", "2026-11-18", "--to", "2026-11-19", "--json", d / "no" / "dir" / "a.json"]),
        ("unknown command", ["bogus"]),
    ]
    for label, args in cases:
        p = run(args, check=False)
        err = p.stdout + p.stderr
        A.check(p.returncode != 0 and "Traceback" not in err, f"error case '{label}': non-zero exit, no traceback",
                f"rc {p.returncode}: {err.strip().splitlines()[-1][:160] if err.strip() else ''}")
    for label, args in (("--drill of a key that does not exist", ["report", "fund-flow", "--workspace", ws, "--from", "2026-11-18",
                                                                   "--to", "2026-11-19", "--drill", "no-such-key"]),
                        ("ingest with no file", ["ingest", "--workspace", d / "I.duckdb"])):
        p = run(args, check=False)
        A.check(p.returncode != 0, f"'{label}' is an error, not a silent success", f"rc {p.returncode}, output {p.stdout.strip()[:120]!r}")
    if a.spark:
        wr = base / "reports" / "WR.duckdb"
        for eng in ("duckdb", "spark"):
            shutil.copy(wr, d / f"{eng}.duckdb")
            run(["reconcile", "--workspace", d / f"{eng}.duckdb", "--engine", eng, "--from", DAYS[0], "--to", DAYS[2],
                 "--out", d / f"out_{eng}"])
        key = lambda r: tuple(v for k, v in sorted(r.items()) if k != "run_id")  # noqa: E731
        ds = sorted(map(key, read_outcomes(d / "out_duckdb" / "outcomes.csv")))
        ss = sorted(map(key, read_outcomes(d / "out_spark" / "outcomes.csv")))
        A.check(ds == ss, "workspace range run: --engine spark outcomes = duckdb", f"{len(set(ds) ^ set(ss))} rows differ")


# ----------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/audit2")
    ap.add_argument("--only", default="reports,scope,notify,config,cli")
    ap.add_argument("--spark", action="store_true")
    a = ap.parse_args()
    base = Path(a.out)
    base.mkdir(parents=True, exist_ok=True)
    data = gen_data(base)
    only = set(a.only.split(","))
    if "reports" in only:
        reports(base, data)
    for name in ("scope", "notify", "config", "cli"):
        if name in only and name in globals():
            globals()[name](base, data, a)
    print(f"\n{len(A.good)} checks agree, {len(A.bad_)} disagreements")
    for m in A.bad_:
        print(" -", m)
    sys.exit(1 if A.bad_ else 0)


if __name__ == "__main__":
    main()
