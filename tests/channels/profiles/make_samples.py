"""Regenerate the builtin profiles' sample exports and the facts the tests check them against.

Run by hand after changing a layout: ``.venv/bin/python tests/channels/profiles/make_samples.py``.
It writes ``src/paymatch/profiles/samples/<profile>.<ext>`` and ``tests/channels/profiles/expected.json``.
The expected counts and fen totals come from the generated transactions here (integers), never
from the parser under test. Layouts are plausible, not copies of real exports (see each
profile's ``provenance``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sample_kit import SH, count, make_txs, total
from sample_layouts import LAYOUTS

ROOT = Path(__file__).resolve().parents[3]
SAMPLES = ROOT / "src" / "paymatch" / "profiles" / "samples"
EXPECTED = Path(__file__).with_name("expected.json")


def write_xlsx(path: Path, rows: list[list[object]]) -> None:
    """Write rows to a one-sheet workbook (used for xlsx layouts)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    for r in rows:
        ws.append(r)
    stamp = dt.datetime(2026, 11, 21, 8, 0, 0)  # fixed, so regenerating gives the same bytes
    wb.properties.created = wb.properties.modified = stamp
    wb.save(path)


def main() -> None:
    """Write every sample and expected.json."""
    SAMPLES.mkdir(parents=True, exist_ok=True)
    expected = {}
    numbered = sorted(n for n, layout in LAYOUTS.items() if "seed" not in layout)
    for name, layout in sorted(LAYOUTS.items()):
        seed = layout.get("seed") or numbered.index(name) + 1
        txs = make_txs(seed, layout.get("pay", 12), layout.get("ref", 4))
        if layout.get("minutes"):  # the export shows times to the minute
            for t in txs:
                t["at"] = t["at"].replace(second=0)
        if layout.get("no_status"):  # the export has no status column: it lists only what happened
            for t in txs:
                t["status"] = "success"
        out = layout["write"](txs)
        ext = layout.get("ext", "csv")
        path = SAMPLES / f"{name}.{ext}"
        if ext == "xlsx":
            write_xlsx(path, out)
        else:
            text = "\n".join(out) + "\n"
            if layout.get("crlf"):
                text = text.replace("\n", "\r\n")
            path.write_bytes(text.encode(layout.get("encoding", "utf-8-sig")))
        first = txs[0]
        expected[name] = dict(
            file=path.name, rows=len(txs), payments=count(txs, "payment"), refunds=count(txs, "refund"),
            payment_fen=total(txs, "payment"), refund_fen=total(txs, "refund"),
            first_order_no=first["no"], first_amount_fen=first["fen"],
            first_occurred_at=first["at"].replace(tzinfo=SH).isoformat(),
            statuses=sorted({t["status"] for t in txs}), merchant_id=layout.get("merchant_id"),
        )
    EXPECTED.write_text(json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
