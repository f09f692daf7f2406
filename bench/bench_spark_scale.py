"""Spark engine at a chain's real size: the demo chain reconciled with --engine duckdb and --engine spark.

For each size (STORESxDAYSxORDERS, e.g. 300x7x300 = the README's demo week) this script generates the chain with
`paymatch demo` (canonical CSVs, ground truth, the chain's rules.toml), then runs

  * a file run: `paymatch reconcile --orders … --refunds … --transactions … --config rules.toml --engine E`
    once per engine, and
  * with ``--workspace-day``: `paymatch ingest` into a workspace, a copy of it, and
    `paymatch reconcile --workspace W --date D --engine E` on each copy (D = the middle day of the chain),

each as its own process, and compares outcomes.csv row for row (every column, header included; DuckDB reads both
files as text and EXCEPT ALL both ways, so the order of the rows does not matter: as if sorted by outcome_id) and
summary.json (all but run_id and engine). Measured per run: wall time, the peak RSS of the paymatch (Python)
process and of its Java child (the Spark driver: /proc sampled every 0.2 s) and the JVM's -Xmx as launched.

    PYTHONPATH=src .venv/bin/python bench/bench_spark_scale.py [--sizes 20x2x300,300x7x300] [--work /tmp/spark_scale]
                                                               [--workspace-day] [--engines duckdb,spark]
                                                               [--timeout 3600] [--keep]

Spark settings come from the environment as for any run (PAYMATCH_SPARK_PARTITIONS, PAYMATCH_SPARK_MASTER) or a
``--spark-config FILE`` whose ``[spark.conf]`` is merged into the chain's rules (e.g. spark.driver.memory).
Prints one line per run and "identical: yes/no" per comparison; exit 1 when any comparison differs or a run fails.
Results: bench/RESULTS.md, "Spark at scale (helper-115, 2026-12-06)".
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PAGE = os.sysconf("SC_PAGE_SIZE")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/*/stat's ppid)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            parent[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def run_measured(args: list[str], log: Path, timeout: float) -> dict:
    """Run ``python -m paymatch ARGS``; wall time, exit code, peak RSS of it and of its Java descendants."""
    peak = {"python": 0, "java": 0, "total": 0}
    xmx: set[str] = set()
    t0 = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "paymatch", *args], stdout=fh, stderr=subprocess.STDOUT,
                                env=_env())
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                py = _rss(proc.pid)
                java = 0
                for c in _children(proc.pid):
                    cmd = _cmdline(c)
                    if cmd and cmd[0].endswith("java"):
                        java += _rss(c)
                        xmx.update(a for a in cmd if a.startswith("-Xmx"))  # the launcher's 128m too
                peak["python"] = max(peak["python"], py)
                peak["java"] = max(peak["java"], java)
                peak["total"] = max(peak["total"], py + java)
                done.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            rc = proc.wait()
            rc = f"timeout ({rc})"
        done.set()
        th.join()
    return {"rc": rc, "wall_s": round(time.monotonic() - t0, 1), "xmx": ",".join(sorted(xmx)) or "-",
            **{f"peak_{k}_mb": v // 2**20 for k, v in peak.items()}}


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two runs' out folders (outcomes.csv every column, summary.json but run_id/engine)."""
    problems: list[str] = []
    oa, ob = a / "outcomes.csv", b / "outcomes.csv"
    for p in (oa, ob, a / "summary.json", b / "summary.json"):
        if not p.exists():
            problems.append(f"missing {p}")
    if problems:
        return problems
    with open(oa) as fa, open(ob) as fb:
        ha, hb = fa.readline(), fb.readline()
    if ha != hb:
        problems.append(f"header differs: {ha.strip()!r} vs {hb.strip()!r}")
    con = duckdb.connect()
    for name, p in (("a", oa), ("b", ob)):
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{p}', all_varchar=true, header=true)")
    na, nb = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("a", "b"))
    if na != nb:
        problems.append(f"rows: {na} vs {nb}")
    if ha == hb:
        for x, y in (("a", "b"), ("b", "a")):
            n = con.execute(f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})").fetchone()[0]
            if n:
                problems.append(f"{n} rows of {x} not in {y}")
        if problems:
            cols = [c[0] for c in con.execute("DESCRIBE a").fetchall()]
            diff = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in cols)
            for row in con.execute(f"SELECT a.outcome_id, {', '.join(f'a.{c}, b.{c}' for c in cols)} FROM a "
                                   f"JOIN b USING (outcome_id) WHERE {diff} ORDER BY 1 LIMIT 5").fetchall():
                vals = row[1:]
                cells = [f"{c}: {vals[2 * i]!r} vs {vals[2 * i + 1]!r}" for i, c in enumerate(cols)
                         if vals[2 * i] != vals[2 * i + 1]]
                problems.append(f"  {row[0]}: " + "; ".join(cells))
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    for s in (sa, sb):
        s.pop("run_id", None)
        s.pop("engine", None)
    if sa != sb:
        keys = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
        problems.append(f"summary.json differs in {keys}")
    return problems


def _line(label: str, engine: str, m: dict, extra: str = "") -> None:
    print(f"  {label:<14} {engine:<7} rc={m['rc']!s:<4} {m['wall_s']:>7.1f} s  python {m['peak_python_mb']:>6} MB  "
          f"java {m['peak_java_mb']:>6} MB ({m['xmx']})  total {m['peak_total_mb']:>6} MB {extra}", flush=True)


def _config(data: Path, spark_config: Path | None) -> Path:
    rules = data / "rules.toml"
    if spark_config is None:
        return rules
    merged = data / "rules_spark.toml"
    merged.write_text(rules.read_text() + "\n" + spark_config.read_text())
    return merged


def one_size(size: str, work: Path, a: argparse.Namespace) -> tuple[list[dict], bool]:
    stores, days, per = (int(x) for x in size.split("x"))
    base = work / size
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    gen = run_measured(["demo", "--stores", str(stores), "--days", str(days), "--orders-per-store-day", str(per),
                        "--out", str(base / "demo")], base / "demo.log", a.timeout)
    data = base / "demo" / "data"
    with open(data / "transactions.csv") as fh:
        records = sum(1 for _ in fh) - 1
    with open(data / "orders.csv") as fh:
        orders = sum(1 for _ in fh) - 1
    print(f"{size}: {orders:,} orders, {records:,} channel records (demo incl. its own DuckDB run: {gen['wall_s']} s)",
          flush=True)
    cfg = _config(data, a.spark_config)
    results, ok = [], True
    files = ["--orders", str(data / "orders.csv"), "--refunds", str(data / "refunds.csv"),
             "--transactions", str(data / "transactions.csv"), "--config", str(cfg)]
    outs = {}
    for engine in a.engines:
        out = base / f"file_{engine}"
        m = run_measured(["reconcile", *files, "--out", str(out), "--engine", engine], base / f"file_{engine}.log",
                         a.timeout)
        _line("file run", engine, m)
        results.append({"size": size, "orders": orders, "records": records, "run": "file", "engine": engine, **m})
        ok &= m["rc"] == 0
        outs[engine] = out
    ok &= _identical(outs, "file run", results)
    if a.workspace_day:
        summary = json.loads((base / "demo" / "summary.json").read_text())
        from datetime import date, timedelta
        day = (date.fromisoformat(summary["period"]["from"]) + timedelta(days=days // 2)).isoformat()
        ws = base / "w.duckdb"
        m = run_measured(["ingest", "--workspace", str(ws), *files[:6], "--config", str(cfg)], base / "ingest.log",
                         a.timeout)
        print(f"  ingest: rc={m['rc']} {m['wall_s']} s", flush=True)
        outs = {}
        for engine in a.engines:
            copy = base / f"w_{engine}.duckdb"
            shutil.copyfile(ws, copy)
            out = base / f"day_{engine}"
            m = run_measured(["reconcile", "--workspace", str(copy), "--date", day, "--config", str(cfg),
                              "--out", str(out), "--engine", engine], base / f"day_{engine}.log", a.timeout)
            _line(f"day {day}", engine, m)
            results.append({"size": size, "run": f"workspace day {day}", "engine": engine, **m})
            ok &= m["rc"] == 0
            outs[engine] = out
        ok &= _identical(outs, "workspace day run", results)
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)
    return results, ok


def _identical(outs: dict, what: str, results: list[dict]) -> bool:
    """Both engines' outputs compared (when both ran): printed, kept on the last result; False when they differ."""
    if len(outs) != 2:
        return True
    problems = compare(*outs.values())
    print(f"  {what} identical: {'yes' if not problems else 'no'}", flush=True)
    for p in problems:
        print("    " + p)
    results[-1]["identical"] = not problems
    return not problems


def main(argv=None) -> int:
    """Parse the flags, run every size, print the lines, write WORK/results.json."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20x2x300,300x7x300", help="STORESxDAYSxORDERS_PER_STORE_DAY,…")
    ap.add_argument("--work", type=Path, default=Path("/tmp/spark_scale"))
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--workspace-day", action="store_true", help="also ingest and compare one workspace day run")
    ap.add_argument("--spark-config", type=Path, help="TOML with a [spark.conf] section, appended to the rules")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per paymatch process")
    ap.add_argument("--keep", action="store_true", help="keep the generated data and outputs")
    a = ap.parse_args(argv)
    a.engines = a.engines.split(",")
    a.work.mkdir(parents=True, exist_ok=True)
    print(f"PAYMATCH_SPARK_PARTITIONS={os.environ.get('PAYMATCH_SPARK_PARTITIONS', '(default 8)')} "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    everything, ok = [], True
    for size in a.sizes.split(","):
        results, good = one_size(size, a.work, a)
        everything += results
        ok &= good
    (a.work / "results.json").write_text(json.dumps(everything, indent=1))
    print(f"all identical and no failure: {'yes' if ok else 'no'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
