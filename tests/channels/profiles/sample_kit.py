"""Helpers shared by the sample layouts (see make_samples.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

SH = dt.timezone(dt.timedelta(hours=8))


def y(fen: int) -> str:
    """fen -> '12.34' (negative keeps its sign)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def yc(fen: int) -> str:
    """fen -> '1,234.56' with thousands separators."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def make_txs(seed: int, n_pay: int, n_ref: int) -> list[dict]:
    """Payments and refunds of one day (refunds refer to earlier payments, never above them)."""
    rng = random.Random(seed)
    day = dt.datetime(2026, 11, 20, 9, 0, 0)
    pays = []
    for i in range(n_pay):
        fen = rng.choice([990, 1288, 2500, 5800, 12000, 39900, 128800, 256050, 1000001])
        pays.append(dict(type="payment", no=f"SO2026112{seed:02d}{i:04d}", tx=f"{seed:02d}4200{rng.randrange(10**9):09d}",
                         rno="", rid="", fen=fen, fee=fen * 6 // 1000,
                         at=day + dt.timedelta(minutes=17 * i, seconds=rng.randrange(60)), status="success"))
    refs = []
    for j in range(n_ref):
        p = pays[(j * 3 + 1) % n_pay]
        fen = p["fen"] if j % 2 == 0 else max(1, p["fen"] // 3)
        refs.append(dict(type="refund", no=p["no"], tx=p["tx"], rno=f"RF{p['no']}{j}", rid=f"50{rng.randrange(10**10):010d}",
                         fen=fen, fee=-(fen * 6 // 1000), at=p["at"] + dt.timedelta(hours=3, minutes=j),
                         status="success"))
    rows = sorted(pays + refs, key=lambda t: t["at"])
    rows[-2]["status"] = "processing" if rows[-2]["type"] == "refund" else "failed"
    return rows


def ts(t: dict, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """The row's naive Shanghai time formatted."""
    return t["at"].strftime(fmt)


def lab(t: dict, pay: str, ref: str) -> str:
    """Source label of the row's type."""
    return pay if t["type"] == "payment" else ref


def csv_lines(rows: list[list[str]], delimiter: str = ",") -> list[str]:
    """Rows -> CSV lines (quoted only where needed)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().splitlines()


def net(txs: list[dict]) -> int:
    """Payments minus refunds, in fen."""
    return sum(t["fen"] if t["type"] == "payment" else -t["fen"] for t in txs)


def count(txs: list[dict], kind: str) -> int:
    """How many rows of one type."""
    return sum(t["type"] == kind for t in txs)


def total(txs: list[dict], kind: str) -> int:
    """Fen of one type."""
    return sum(t["fen"] for t in txs if t["type"] == kind)
