"""Benchmark: reports over a 300-store month.

Stages (each timed separately; peak RSS sampled):
  prepare  demo.generate(stores, days, per_store_day) → CSVs; ingest into a workspace; reconcile day by day
           (the daily routine fills ``outcomes`` per day). Not part of the report target.
  reports  reconciliation report (month) built + Excel export; fund-flow report (month, by channel, day
           grain) built + Excel summary; anomaly board built.

Usage:  .venv/bin/python bench/bench_reports.py [--stores 300 --days 30 --per-store-day 1100]
        [--dir /tmp/pm_bench] [--stage prepare|reports|all]
The prepared workspace is reused by ``--stage reports``.

Results (2026-11-25, this machine: 2 cores, shared with other jobs; DuckDB threads=2, memory_limit=1GB):

  prepare (not the target)  demo.generate(300, 30, 1100): 9,874,837 orders, 8,721,981 channel transactions,
                            371,698 refunds (the brief's parameters give 8.7 M transactions, not ≥ 10 M; the
                            orders side is ~10 M) in 353 s; ingest 290 s; 30 daily reconcile runs 811 s
                            (10,320,746 outcomes stored). Prepare peak RSS 14.9 GB (generator + ingest, not
                            reports code; DuckDB's default memory limit is 80 % of RAM).
  reports (the target)      month reconciliation report by store, build                       3.3–4.0 s
                            Excel, cover + summary sheet only                                  0.5 s
                            Excel, full (incl. 209,788-row 待处理明细 sheet, 14 columns)       34–41 s
                            fund flow, month by store × day (9,031 rows), build (no detail)    3.5–4.5 s
                            fund flow Excel (summary)                                          1.0–1.3 s
                            total of the above                                                 43.3 s (< 60 s)
                            peak RSS during the above                                          1,253 MB (≤ 2 GB)
  not in the target         anomaly board for the month: build 16.3 s, Excel 32.9 s.
                            a daily report (CLI, 300 stores, Excel + JSON): 3.4 s wall, 263 MB RSS.

Without memory_limit the fund-flow build (then with a dedupe pass over orders) peaked at 4.7 GB RSS.
The full Excel time is XlsxWriter's own speed (~85–100 k cells/s measured here, whatever the calling
loop); the summary report is not held up by the writer. The fund-flow Excel detail sheet (8.7 M rows,
9 sheets) is left out of the target (``detail=False``): at that cell rate it would take ~20 minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import resource
import sys
import threading
import time
from pathlib import Path


class PeakRss:
    """Samples this process's resident set size (VmRSS) every 50 ms; ``peak_mb`` is the maximum seen."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.05)

    def sample(self) -> None:
        """Read VmRSS once."""
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                    break

    def reset(self) -> None:
        """Start a new measurement window."""
        self.peak_kb = 0
        self.sample()

    @property
    def peak_mb(self) -> float:
        """Peak RSS seen in MB."""
        return self.peak_kb / 1024

    def __enter__(self) -> "PeakRss":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def prepare(base: Path, stores: int, days: int, per_store_day: int, rss: PeakRss) -> dict:
    """Generate the demo chain, ingest it and reconcile it day by day; returns timings."""
    from paymatch.demo import generate
    from paymatch.run import reconcile_workspace
    from paymatch.workspace import Workspace

    out: dict = {}
    t = time.perf_counter()
    files = generate(base / "data", stores=stores, days=days, per_store_day=per_store_day)
    out["generate_s"] = round(time.perf_counter() - t, 1)
    out["counts"] = files.counts
    print("generated", files.counts, out["generate_s"], "s", flush=True)
    wp = base / "ws.duckdb"
    wp.unlink(missing_ok=True)
    t = time.perf_counter()
    with Workspace(wp) as ws:
        ws.ingest_csv("orders", files.orders)
        ws.ingest_csv("refunds", files.refunds)
        ws.ingest_csv("transactions", files.transactions)
    out["ingest_s"] = round(time.perf_counter() - t, 1)
    print("ingested", out["ingest_s"], "s", flush=True)
    t = time.perf_counter()
    first = dt.date(2026, 11, 1)
    for i in range(days):
        day = first + dt.timedelta(days=i)
        reconcile_workspace(wp, day, day, None)
        print("reconciled", day, round(time.perf_counter() - t, 1), "s", flush=True)
    out["reconcile_s"] = round(time.perf_counter() - t, 1)
    out["prepare_peak_rss_mb"] = round(rss.peak_mb)
    (base / "prepare.json").write_text(json.dumps(out, indent=2))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark stages and print a JSON result."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", type=int, default=300)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--per-store-day", type=int, default=1100)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/pm_bench"))
    ap.add_argument("--stage", choices=["prepare", "reports", "all"], default="all")
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit for the report stage ('' = default)")
    a = ap.parse_args(argv)
    a.dir.mkdir(parents=True, exist_ok=True)
    result: dict = {}
    with PeakRss() as rss:
        if a.stage in ("prepare", "all"):
            result["prepare"] = prepare(a.dir, a.stores, a.days, a.per_store_day, rss)
        if a.stage in ("reports", "all"):
            rss.reset()
            result["reports"] = run_reports(a.dir, a.days, rss, a.memory_limit or None)
    result["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))
    return 0


def run_reports(base: Path, days: int, rss: PeakRss, memory_limit: str | None = "1GB") -> dict:
    """Build and export the reports over the prepared workspace; returns timings."""
    from paymatch.reports.anomalies import build_anomalies
    from paymatch.reports.excel import write_excel
    from paymatch.reports.fundflow import build_fund_flow
    from paymatch.reports.recon import build_reconciliation
    from paymatch.workspace import Workspace

    first = dt.date(2026, 11, 1)
    last = first + dt.timedelta(days=days - 1)
    out: dict = {}
    t_all = time.perf_counter()
    with Workspace(base / "ws.duckdb", threads=2) as ws:
        if memory_limit:
            # DuckDB's buffer pool defaults to 80 % of RAM; the RSS target needs it bounded (it spills to disk)
            ws.con.execute(f"SET memory_limit='{memory_limit}'")
        out["memory_limit"] = memory_limit
        out["outcomes"] = ws.con.execute("SELECT count(*) FROM outcomes").fetchone()[0]
        out["transactions"] = ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0]

        def step(name, fn):
            t = time.perf_counter()
            res = fn()
            out[name + "_s"] = round(time.perf_counter() - t, 2)
            print(name, out[name + "_s"], "s", "rss", round(rss.peak_mb), "MB", flush=True)
            return res

        t0 = time.perf_counter()
        rec = step("recon_build", lambda: build_reconciliation(ws.con, "month", first, group_by="store"))
        out["recon_unmatched_rows"] = rec.table("unmatched").rows.count("*").fetchall()[0][0]
        summary_only = dataclasses.replace(rec, tables=rec.tables[:1])
        step("recon_excel_summary_only", lambda: write_excel(summary_only, base / "recon_month_summary.xlsx"))
        step("recon_excel", lambda: write_excel(rec, base / "recon_month.xlsx"))
        ff = step("fundflow_build", lambda: build_fund_flow(ws.con, first, last, by="store", grain="day",
                                                             detail=False))
        out["fundflow_rows"] = ff.table("summary").rows.num_rows
        step("fundflow_excel", lambda: write_excel(ff, base / "fundflow_month.xlsx"))
        out["target_total_s"] = round(time.perf_counter() - t0, 2)
        out["target_peak_rss_mb"] = round(rss.peak_mb)
        an = step("anomalies_build", lambda: build_anomalies(ws.con, first, last))
        out["anomalies_by_rule"] = {c.key: c.count for c in an.control_totals}
        step("anomalies_excel", lambda: write_excel(an, base / "anomalies_month.xlsx"))
    out["all_reports_s"] = round(time.perf_counter() - t_all, 2)
    out["peak_rss_mb"] = round(rss.peak_mb)
    return out


if __name__ == "__main__":
    sys.exit(main())
