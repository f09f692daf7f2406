"""Benchmark: paymatch end to end vs the bare-DuckDB floor vs pandas, on N orders × N transactions.

Run by hand (not a test):  .venv/bin/python bench/bench_reconcile.py [--rows 10000000] [--skip-pandas] [--repeat N]
                           [--dir D] [--long-ids] [--warm-gb G] [--grouped]

Each contender runs in its own fresh Python process on the same files; the script reports wall time
and the peak RSS of that process (ru_maxrss). Before each run the input files are read into the page cache and
14 GB of memory are touched and given back (``--warm-gb``; see ``_warm_memory``: this VM's first touch of a page).
  paymatch: reconcile_files without a workspace (CSV in with full validation into temp tables, engine,
            reasons, control totals, outcomes.csv + summary.json out)
  floor:    one DuckDB process: read both CSVs, one full outer join on order_no, a CASE
            classification, COPY the outcomes to CSV
  pandas:   read_csv both, merge(how='outer', indicator=True), classify with numpy.select, to_csv
  floor_wide (information, not the target's reference): the floor writing the 23 columns paymatch writes
  floor_min (information): the floor writing the 14 columns the issue names as outcomes.csv's minimum
  floor_keep (information): floor_min after keeping every field of both files in DuckDB tables, no check at all

Results: see bench/RESULTS.md (10M × 10M on 2 cores; on a quiet day, fastest of 2–3 runs: floor 4.1–4.5 s,
paymatch 14.1–15.5 s at 3.7 GB peak RSS, pandas 81.8–89.7 s at 12.2 GB, floor writing the same 23 columns
8.8–10.0 s; with --long-ids paymatch 18.9–22.4 s, pandas 88–89 s; 2026-11-25 paymatch was 88.2 s; on the slow
2026-12-02 runs X/Y: floor 5.7 s, paymatch 22.7 s, pandas 136.6 s; --long-ids paymatch 33.0 s, pandas 141.4 s).
The paymatch line also gives its time per stage (from the run's progress messages).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

GEN = """
import duckdb, sys
n, out, long_ids = int(sys.argv[1]), sys.argv[2], sys.argv[3] == 'long'
# ids: short ('SO' + 10 digits, 'TX' + 12: DuckDB keeps strings of up to 12 bytes inline) or as long as real
# ones (a 22-character out_trade_no, a 28-digit WeChat transaction_id)
SO, XX, TX = ("'2026112010' || lpad(i::VARCHAR, 12, '0')", "'9926112010' || lpad(i::VARCHAR, 12, '0')",
              "'4200002026112010' || lpad(i::VARCHAR, 12, '0')") if long_ids else (
              "'SO' || lpad(i::VARCHAR, 10, '0')", "'XX' || lpad(i::VARCHAR, 10, '0')", "'TX' || lpad(i::VARCHAR, 12, '0')")
c = duckdb.connect(); c.execute("SET enable_progress_bar=false")
c.execute(f'''COPY (SELECT {SO} AS order_no, 'S' || (i % 300) AS store_id,
  '16' || lpad((i % 300)::VARCHAR, 8, '0') AS merchant_id, CASE WHEN i % 10 < 6 THEN 'wechat' ELSE 'alipay' END AS channel,
  ((100 + hash(i) % 50000) // 100)::VARCHAR || '.' || lpad(((100 + hash(i) % 50000) % 100)::VARCHAR, 2, '0') AS amount,
  'paid' AS status, '2026-11-20T10:00:00+08:00' AS created_at, '2026-11-20T10:00:05+08:00' AS paid_at,
  'M' || (i % 100000) AS member_id, 'regular' AS member_level, 0 AS instalments
  FROM range({n}) t(i)) TO '{out}/orders.csv' (HEADER)''')
# transactions: 99 % match; 0.5 % amount off by one fen; 0.5 % for orders the shop does not have
c.execute(f'''COPY (SELECT CASE WHEN i % 10 < 6 THEN 'wechat' ELSE 'alipay' END AS channel,
  '16' || lpad((i % 300)::VARCHAR, 8, '0') AS merchant_id, {TX} AS channel_tx_id,
  CASE WHEN i % 200 = 7 THEN {XX} ELSE {SO} END AS order_no,
  'payment' AS type, NULL AS refund_no, NULL AS channel_refund_id,
  ((100 + hash(i) % 50000 + CASE WHEN i % 200 = 3 THEN 1 ELSE 0 END) // 100)::VARCHAR || '.' ||
  lpad(((100 + hash(i) % 50000 + CASE WHEN i % 200 = 3 THEN 1 ELSE 0 END) % 100)::VARCHAR, 2, '0') AS amount,
  '0.00' AS fee, NULL AS settle_amount, 'success' AS status, '2026-11-20T10:00:06+08:00' AS occurred_at,
  '2026-11-20' AS bill_date, NULL AS method
  FROM range({n}) t(i)) TO '{out}/transactions.csv' (HEADER)''')
c.execute(f"COPY (SELECT 'R1' AS refund_no, 'SO0000000001' AS order_no, '0.01' AS amount, "
          f"'2026-11-20T11:00:00+08:00' AS created_at, 'success' AS status LIMIT 0) TO '{out}/refunds.csv' (HEADER)")
"""

PAYMATCH = """
import resource, sys, time, json
from pathlib import Path
t = time.perf_counter()
from paymatch.run import reconcile_files
d = Path(sys.argv[1])
marks = []  # (seconds since start, progress message): where the time goes, stage by stage
r = reconcile_files(d / 'orders.csv', d / 'refunds.csv', [d / 'transactions.csv'], d / 'out_paymatch',
                    progress=lambda m: marks.append((time.perf_counter() - t, m)))
end = time.perf_counter() - t
marks.append((end, 'done'))
stages = {m.split(' /')[0]: round(marks[i + 1][0] - at, 1) for i, (at, m) in enumerate(marks[:-1])}
print(json.dumps({'seconds': end, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  'outcomes': r.summary['outcomes'], 'conservation': r.summary['conservation'], 'stages': stages}))
"""

FLOOR = """
import resource, sys, time, json, duckdb
t = time.perf_counter()
d = sys.argv[1]
c = duckdb.connect(); c.execute("SET enable_progress_bar=false")
c.execute(f'''COPY (
  SELECT coalesce(o.order_no, x.order_no) AS order_no,
    CASE WHEN x.order_no IS NULL THEN 'order_only' WHEN o.order_no IS NULL THEN 'channel_only'
         WHEN o.amount <> x.amount THEN 'amount_mismatch' ELSE 'matched' END AS kind,
    o.amount AS order_amount, x.amount AS channel_amount
  FROM read_csv('{d}/orders.csv') o FULL OUTER JOIN read_csv('{d}/transactions.csv') x ON o.order_no = x.order_no
) TO '{d}/out_floor.csv' (HEADER)''')
print(json.dumps({'seconds': time.perf_counter() - t, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The floor writing wider outcomes (amounts in fen, a reason), information beside the 4-column floor, which stays
# the target's reference: floor_wide writes the 23 columns paymatch's outcomes.csv has (the time with its offset,
# fee, settlement, row counts); floor_min the 14 the issue names as outcomes.csv's minimum ("COPY the outcomes to
# CSV" read with the issue's own definition of an outcome).
_FLOOR_OUT = """
import resource, sys, time, json, duckdb
t = time.perf_counter()
d = sys.argv[1]
c = duckdb.connect(); c.execute("SET enable_progress_bar=false"); c.execute("SET preserve_insertion_order=false")
c.execute("SET TimeZone='Asia/Shanghai'")
@KEEP@c.execute(f'''COPY (
  SELECT 'P-' || coalesce(o.order_no, x.order_no) AS outcome_id,
    CASE WHEN x.order_no IS NULL THEN 'order_only' WHEN o.order_no IS NULL THEN 'channel_only'
         WHEN o.amount <> x.amount THEN 'amount_mismatch' ELSE 'matched' END AS kind,
    coalesce(x.channel, o.channel) AS channel, coalesce(o.merchant_id, x.merchant_id) AS merchant_id, o.store_id,
    coalesce(o.order_no, x.order_no) AS order_no, x.refund_no, x.channel_tx_id,
    CAST(o.amount * 100 AS BIGINT) AS order_amount_fen, CAST(x.amount * 100 AS BIGINT) AS channel_amount_fen,
    channel_amount_fen - order_amount_fen AS difference_fen, @EXTRA@
    o.status AS order_status, x.status AS channel_status,
    CASE WHEN kind = 'matched' THEN 'agree' ELSE 'channel ' || x.amount || ' vs order ' || o.amount END AS reason
  FROM @O@ o FULL OUTER JOIN @X@ x ON o.order_no = x.order_no
) TO '{d}/@OUT@' (HEADER)''')
print(json.dumps({'seconds': time.perf_counter() - t, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
_WIDE_EXTRA = """CAST(x.fee * 100 AS BIGINT) AS fee_fen, CAST(x.settle_amount * 100 AS BIGINT) AS settle_amount_fen,
    (o.order_no IS NOT NULL)::INT AS order_rows, (x.order_no IS NOT NULL)::INT AS channel_rows,
    o.channel AS order_channel, strftime(coalesce(o.paid_at, x.occurred_at), '%Y-%m-%dT%H:%M:%S') || '+08:00' AS occurred_at,
    NULL AS period_no, NULL AS due_date, NULL AS plan_status,"""
_READ_O = "read_csv('{d}/orders.csv', types={{'amount': 'DECIMAL(18,2)'}})"
_READ_X = ("read_csv('{d}/transactions.csv', types={{'amount': 'DECIMAL(18,2)', 'fee': 'DECIMAL(18,2)', "
           "'settle_amount': 'DECIMAL(18,2)'}})")


def _floor_out(extra: str, out: str, keep: bool = False) -> str:
    """The floor writing wider outcomes; ``keep``: after keeping every field of both files in DuckDB tables first."""
    code = _FLOOR_OUT.replace("@EXTRA@", extra).replace("@OUT@", out)
    if not keep:
        return code.replace("@KEEP@", "").replace("@O@", _READ_O).replace("@X@", _READ_X)
    ddl = (f"c.execute(f\"CREATE TEMP TABLE o AS SELECT * FROM {_READ_O}\")\n"
           f"c.execute(f\"CREATE TEMP TABLE x AS SELECT * FROM {_READ_X}\")\n")
    return code.replace("@KEEP@", ddl).replace("@O@", "o").replace("@X@", "x")


FLOOR_WIDE = _floor_out(_WIDE_EXTRA, "out_floor_wide.csv")
FLOOR_MIN = _floor_out("", "out_floor_min.csv")
# floor_keep (information): floor_min after keeping every field of both files in DuckDB tables (each typed as DuckDB
# reads it), with no check at all: the least a run does that keeps its inputs (the workspace) and writes the
# issue's minimum outcomes, so what the "≤ 2× the floor" leaves for validation and provenance
FLOOR_KEEP = _floor_out("", "out_floor_keep.csv", keep=True)

PANDAS = """
import resource, sys, time, json
import numpy as np, pandas as pd
t = time.perf_counter()
d = sys.argv[1]
o = pd.read_csv(f'{d}/orders.csv', dtype={'amount': str})
x = pd.read_csv(f'{d}/transactions.csv', dtype={'amount': str})
m = o.merge(x, on='order_no', how='outer', indicator=True, suffixes=('_o', '_c'))
m['kind'] = np.select([m['_merge'] == 'left_only', m['_merge'] == 'right_only', m['amount_o'] != m['amount_c']],
                      ['order_only', 'channel_only', 'amount_mismatch'], 'matched')
m[['order_no', 'kind', 'amount_o', 'amount_c']].to_csv(f'{d}/out_pandas.csv', index=False)
print(json.dumps({'seconds': time.perf_counter() - t, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


#: what each contender writes (removed before it runs, so none overwrites a 2 GB file left by its last run)
OUTPUTS = {"floor": "out_floor.csv", "paymatch": "out_paymatch", "pandas": "out_pandas.csv",
           "floor_wide": "out_floor_wide.csv", "floor_min": "out_floor_min.csv",
           "floor_keep": "out_floor_keep.csv"}


def _prepare(d: Path, contender: str) -> None:
    """Equal start for every contender: its old output gone, both input files read once into the page cache.

    Without this, a contender that ran right after pandas (12 GB) read its inputs from disk again, since pandas
    had pushed them out of the cache: paymatch's runs after the first took 19–20 s instead of 15 s.
    """
    out = d / OUTPUTS[contender]
    if out.is_dir():
        shutil.rmtree(out)
    out.unlink(missing_ok=True)
    for name in ("orders.csv", "transactions.csv"):
        with open(d / name, "rb") as f:
            while f.read(1 << 24):
                pass


WARM = """
import sys
import numpy as np
held = [np.ones(1 << 30, dtype=np.uint8) for _ in range(int(sys.argv[1]))]
"""


def _warm_memory(gb: int) -> None:
    """Touch ``gb`` GB of memory in a child process and give it back, before a contender runs.

    On this VM (Firecracker) the first touch of a guest page since boot costs ~1.3 s per GB of kernel time
    (measured: 20 GB took 39 s the first time, 11.6 s the second), so a contender that happens to be the first to
    use a stretch of memory pays for it and one that runs after a bigger one does not: pandas (12 GB) and paymatch
    (3.7 GB) more than the floor (1 GB), and by how much depends on what ran before. Touching the memory first puts
    every contender on memory the guest already holds, as on any machine that has been up for a while.
    """
    if gb > 0:
        subprocess.run([sys.executable, "-c", WARM, str(gb)], check=True)


def _run(code: str, *args: str) -> dict:
    """One contender in its own process: its JSON line, plus the process's CPU seconds in user and kernel mode
    (``user_s``, ``sys_s``): on this VM the kernel time is mostly first touches of memory (see ``_warm_memory``),
    which a machine of its own would not pay, so it tells a slow spell from slow code."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {**json.loads(p.stdout.strip().splitlines()[-1]), "user_s": round(after.ru_utime - before.ru_utime, 1),
            "sys_s": round(after.ru_stime - before.ru_stime, 1)}


def main() -> None:
    """Generate the data, run the three contenders, print a table and ratios (JSON on the last line)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--long-ids", action="store_true",
                    help="order numbers and channel ids as long as real ones (22 and 28 characters) instead of 12 and 14")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each contender N times, alternating, and compare the fastest runs (a shared machine's "
                         "speed drifts; every run is printed)")
    ap.add_argument("--warm-gb", type=int, default=14,
                    help="touch this many GB of memory before each contender's run (0: not; see _warm_memory)")
    ap.add_argument("--grouped", action="store_true",
                    help="run each contender's N runs one after the other (its later runs then reuse the memory its "
                         "first one touched) instead of alternating contenders")
    a = ap.parse_args()
    d = a.dir or Path(tempfile.mkdtemp(prefix="pm_bench_"))
    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", GEN, str(a.rows), str(d), "long" if a.long_ids else "short"], check=True)
    print(f"generated {a.rows:,} orders + {a.rows:,} transactions in {time.perf_counter() - t:.1f}s → {d}")
    codes = {"floor": FLOOR, "paymatch": PAYMATCH, "pandas": PANDAS, "floor_wide": FLOOR_WIDE, "floor_min": FLOOR_MIN,
             "floor_keep": FLOOR_KEEP}
    if a.skip_pandas:
        del codes["pandas"]
    runs: dict[str, list[dict]] = {k: [] for k in codes}
    n = max(1, a.repeat)
    # alternating, so a slow spell of the machine hits every contender; or grouped (see --grouped)
    order = ([k for k in codes for _ in range(n)] if a.grouped else [k for _ in range(n) for k in codes])
    for k in order:
        _warm_memory(a.warm_gb)
        _prepare(d, k)
        runs[k].append(_run(codes[k], str(d)))
    res = {"rows": a.rows, **{k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}}
    res["all_seconds"] = {k: [round(r["seconds"], 1) for r in v] for k, v in runs.items()}
    for k in codes:
        every = ", ".join(f"{x:.1f}" for x in res["all_seconds"][k]) if a.repeat > 1 else ""
        print(f"{k:9} {res[k]['seconds']:8.1f} s   peak RSS {res[k]['rss_mb']:8.0f} MB   CPU user {res[k]['user_s']:.1f} s "
              f"sys {res[k]['sys_s']:.1f} s" + (f"   (runs: {every} s)" if every else ""))
    res["paymatch_vs_floor"] = res["paymatch"]["seconds"] / res["floor"]["seconds"]
    print("paymatch stages: " + ", ".join(f"{k} {v} s" for k, v in res["paymatch"]["stages"].items()))
    print(f"paymatch / floor = {res['paymatch_vs_floor']:.2f}× (target ≤ 2×)")
    res["paymatch_vs_floor_wide"] = res["paymatch"]["seconds"] / res["floor_wide"]["seconds"]
    print(f"paymatch / floor writing the same 23 columns = {res['paymatch_vs_floor_wide']:.2f}× (information)")
    res["paymatch_vs_floor_min"] = res["paymatch"]["seconds"] / res["floor_min"]["seconds"]
    print(f"paymatch / floor writing the issue's 14 minimum outcome columns = {res['paymatch_vs_floor_min']:.2f}× "
          "(information)")
    res["floor_keep_vs_floor"] = res["floor_keep"]["seconds"] / res["floor"]["seconds"]
    print(f"floor_keep / floor = {res['floor_keep_vs_floor']:.2f}× (information: keeping every field and writing the "
          "issue's 14 columns, no check)")
    if "pandas" in res:
        res["pandas_vs_paymatch"] = res["pandas"]["seconds"] / res["paymatch"]["seconds"]
        print(f"pandas / paymatch = {res['pandas_vs_paymatch']:.2f}× (target ≥ 5×)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
