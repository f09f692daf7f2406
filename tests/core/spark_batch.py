"""Small parity cases reconciled together in one Spark run.

On a few rows a Spark run costs ~10 s whatever it reconciles (building the engine's plan through py4j, then ~100
Spark jobs): most of a parity test's time. Here each case's ids get a tag of their own, the cases' files are put
together column by column (file by file: the first transactions files of all cases, then the second ones …), Spark
reconciles them once, and its outcomes are split back by tag with the tag taken out again. Each test then compares its
case's Spark rows with DuckDB's run of that case *alone*: a case another one changed in the batch (a shared key, a
window widened past a pending order) differs from its own run, so batching cannot hide a difference.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from paymatch.run import reconcile_files

#: the columns naming a case's orders, refunds, records and flows (tagged; merchant numbers, stores and the rest are not)
ID_COLUMNS = ("order_no", "refund_no", "channel_tx_id", "channel_refund_id")


@dataclass(frozen=True)
class Case:
    """One case's files as CSV text: orders, the transactions files in their order, refunds and instalment flows."""

    orders: str
    txs: tuple[str, ...]
    refunds: str | None = None
    flows: str | None = None


def _tag(i: int) -> str:
    return f"ZQ{i}_"


def _table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _merge(path: Path, parts: list[tuple[str, str]]) -> Path:
    """``parts`` ((tag, CSV text)) as one CSV at ``path``: every column any part has (in the order first seen), each
    part's ids tagged; a column a part lacks is empty in its rows."""
    head: list[str] = []
    rows = []
    for tag, text in parts:
        for row in _table(text):
            head += [c for c in row if c not in head]
            rows.append({c: (tag + v if c in ID_COLUMNS and v else v) for c, v in row.items()})
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, head, restval="")
        w.writeheader()
        w.writerows(rows)
    return path


def rows(path: Path) -> list[tuple]:
    """An outcomes.csv as a sorted list of its rows (each a tuple of (column, value) pairs)."""
    with open(path, encoding="utf-8") as f:
        return sorted(tuple(r.items()) for r in csv.DictReader(f))


def _write(folder: Path, case: Case) -> dict:
    folder.mkdir(parents=True, exist_ok=True)

    def put(name: str, text: str | None) -> Path | None:
        if text is None:
            return None
        (folder / name).write_text(text, encoding="utf-8")
        return folder / name

    return {"orders": put("orders.csv", case.orders), "refunds": put("refunds.csv", case.refunds),
            "transactions": [put(f"tx{j}.csv", t) for j, t in enumerate(case.txs)], "flows": put("flows.csv", case.flows)}


def _run(files: dict, out: Path, engine: str, kw: dict):
    extra = {"instalments": files["flows"]} if files["flows"] is not None else {}
    return reconcile_files(files["orders"], files["refunds"], files["transactions"], out, engine=engine, **kw, **extra)


def alone(case: Case, folder: Path, **kw) -> tuple[list[tuple], dict]:
    """DuckDB's outcomes of ``case`` reconciled by itself (``kw``: reconcile_files' options), and its summary."""
    r = _run(_write(folder, case), folder / "out", "duckdb", kw)
    return rows(r.outcomes_csv), r.summary


@dataclass(frozen=True)
class Batch:
    """A batch's Spark run: each case's outcome rows (tag taken out), the run's summary, and whether Spark's cache
    was empty after it."""

    rows: dict[str, list[tuple]]
    summary: dict
    cache_empty: bool


def on_spark(spark, cases: dict[str, Case], folder: Path, **kw) -> Batch:
    """``cases`` reconciled in one Spark run (``kw``: reconcile_files' options, the same for every case)."""
    spark.catalog.clearCache()
    split, summary = together(cases, folder, "spark", **kw)
    return Batch(split, summary, spark._jsparkSession.sharedState().cacheManager().isEmpty())


def together(cases: dict[str, Case], folder: Path, engine: str, **kw) -> tuple[dict[str, list[tuple]], dict]:
    """``cases`` reconciled in one run on ``engine``: each case's outcome rows (its tag taken out), the summary."""
    tags = {name: _tag(i) for i, name in enumerate(cases)}
    folder.mkdir(parents=True, exist_ok=True)

    def merged(name: str, pick) -> Path | None:
        parts = [(tags[n], pick(c)) for n, c in cases.items() if pick(c) is not None]
        return _merge(folder / name, parts) if parts else None

    width = max(len(c.txs) for c in cases.values())
    files = {"orders": merged("orders.csv", lambda c: c.orders), "refunds": merged("refunds.csv", lambda c: c.refunds),
             "transactions": [merged(f"tx{j}.csv", lambda c, j=j: c.txs[j] if j < len(c.txs) else None)
                              for j in range(width)],
             "flows": merged("flows.csv", lambda c: c.flows)}
    r = _run(files, folder / "out", engine, kw)
    split: dict[str, list[tuple]] = {name: [] for name in cases}
    with open(r.outcomes_csv, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            owners = [n for n, t in tags.items() if any(t in row[c] for c in ("outcome_id", *ID_COLUMNS) if row.get(c))]
            assert len(owners) == 1, f"an outcome of no case or of several: {row}"
            t = tags[owners[0]]
            split[owners[0]].append(tuple((k, v.replace(t, "")) for k, v in row.items()))
    return {n: sorted(v) for n, v in split.items()}, r.summary
