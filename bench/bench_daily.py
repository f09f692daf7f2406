"""Benchmark: the daily routine on a month-long workspace — reconcile one stored day (or a range) in place.

Prepare the workspace once with ``bench_reports.py --stage prepare`` (300 stores × 30 days, ~10M orders; it stops
being useful for this script as soon as a few days are reconciled, so it may be interrupted then), then:

    .venv/bin/python bench/bench_daily.py --workspace /tmp/pm_month/ws.duckdb --date 2026-11-07 [--repeat 2]
    .venv/bin/python bench/bench_daily.py --workspace /tmp/pm_month/ws.duckdb --from 2026-11-01 --to 2026-11-30

Each run works on a fresh copy of the workspace (the original is never changed), so runs are comparable. Printed:
wall time from the call to the stored result, each progress step's time, outcomes, conservation, peak RSS of the
run's process (each run is a child process).

Results (2026-12-03, the shared 2-core VM; 9,874,837 orders, 8,720,583 records, 359,038 refunds, days 1–6 stored;
"before" = 3eb1d31, the parent of 14eff83, which pruned and copied the window's selections; fastest of the runs shown):
  --date 2026-11-07 (344,402 outcomes)          before 12.3 s / 1,018 MB    after 6.0 s / 811 MB (--repeat 2)
  --from 2026-11-01 --to 2026-11-30 (10,286,985) before 73.3 s / 3,621 MB   after 65.5 s / 3,616 MB (one run each)
  Outcomes identical (a reviewer compared every stored column but run_id, day and month). A slower hour earlier:
  day 18.6–22.9 s before, 7.6–8.2 s after. The month is not copied (more than 3M records: the copies took ~3 GB of
  the 3.5 GB limit and made it spill 3.8 GB, 9–28 % slower).

Twelfth session (2026-12-03; workspace rebuilt the same way, days 1–6 stored; "before" = 586e586 run from a git worktree
with PYTHONPATH, "after" = 42e7872, which reads the earlier bills' records of the window's orders and refunds; runs
alternating, a reviewer's jobs beside them):
  --date 2026-11-07                              before 3.04–4.71 s / 805–833 MB   after 4.04–4.22 s / 954–974 MB
  --from 2026-11-01 --to 2026-11-30              before 23.4 s / 3,629 MB          after 23.0 s / 3,624 MB
  The first version of that change read every earlier record's columns and the window's orders again each time the
  records were read: 5.4–5.9 s a day. A first month run took 51.3 s against 23–33 s for the same code later: the
  VM's first touch of memory (see bench_reconcile._warm_memory), not the code.

Thirteenth session (same workspace; "before" = 3c35281 from a worktree, "after" = 7a8b1e1, which also reads each day's
refund history for the over-refund check and keeps the earlier copies of relisted records; alternating, two rounds):
  --date 2026-11-07                              before 2.71–3.39 s / 949–969 MB   after 3.40–3.75 s / 1,130–1,142 MB
  again with d5965bc (also reads earlier refund records by the day's records' refund numbers), two rounds:
  --date 2026-11-07                              before 2.32–2.47 s / 954–966 MB   after 2.74–3.06 s / 1,128–1,143 MB
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
from paymatch.run import reconcile_workspace
ws, a, b = Path(sys.argv[1]), dt.date.fromisoformat(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
t0 = time.perf_counter(); last = [t0]; steps = []
def progress(msg):
    now = time.perf_counter(); steps.append((msg, round(now - last[0], 2))); last[0] = now
r = reconcile_workspace(ws, a, b, None, progress=progress)
now = time.perf_counter(); steps.append(("(to the end)", round(now - last[0], 2)))
print(json.dumps({"seconds": round(now - t0, 2), "steps": steps, "outcomes": r.summary["outcomes"],
                  "conservation": r.summary["conservation"],
                  "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", required=True, type=Path)
    ap.add_argument("--date", type=dt.date.fromisoformat)
    ap.add_argument("--from", dest="first", type=dt.date.fromisoformat)
    ap.add_argument("--to", dest="last", type=dt.date.fromisoformat)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--tmp", type=Path, default=None, help="where the copies go (default: the system's temp dir)")
    args = ap.parse_args(argv)
    first, last = (args.date, args.date) if args.date else (args.first, args.last)
    if first is None or last is None:
        ap.error("give --date, or --from and --to")
    runs = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            copy = Path(tmp) / "ws.duckdb"
            shutil.copyfile(args.workspace, copy)
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", CHILD, str(copy), str(first), str(last)],
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            res["process_seconds"] = round(time.perf_counter() - t, 2)
            runs.append(res)
            print(json.dumps(res, ensure_ascii=False), flush=True)
    best = min(runs, key=lambda r: r["seconds"])
    print(f"fastest of {len(runs)}: {best['seconds']} s, {best['outcomes']:,} outcomes, peak RSS {best['rss_mb']} MB, "
          f"conservation {best['conservation']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
