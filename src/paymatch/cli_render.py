"""Rendering run results for the terminal (Rich tables); no logic beyond presentation."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .money import format_diff, format_yuan
from .reports.labels import unknown
from .schema import CLEAN_KINDS, KIND_LABEL_ZH


def summary_tables(console: Console, summary: dict) -> None:
    """Print counts and amounts per outcome kind and per channel, and the control-total tie-out."""
    t = Table(title=f"Outcomes by kind — run {summary['run_id']} ({summary['engine']})")
    for col, just in (("kind", "left"), ("对账结果", "left"), ("count", "right"), ("order ¥", "right"),
                      ("channel ¥", "right"), ("difference ¥", "right")):
        t.add_column(col, justify=just)
    for row in summary["by_kind"]:
        style = None if row["kind"] in CLEAN_KINDS else "yellow"
        t.add_row(row["kind"], KIND_LABEL_ZH.get(row["kind"], row["kind"]), f"{row['count']:,}",
                  format_yuan(row["order_amount_fen"]), format_yuan(row["channel_amount_fen"]),
                  format_diff(row["difference_fen"]), style=style)
    console.print(t)
    per: dict[str, dict] = {}
    for row in summary["by_channel"]:
        d = per.setdefault(row["channel"], {"n": 0, "ok": 0, "o": 0, "c": 0})
        d["n"] += row["count"]
        d["ok"] += row["count"] if row["kind"] in CLEAN_KINDS else 0
        d["o"] += row["order_amount_fen"]
        d["c"] += row["channel_amount_fen"]
    t2 = Table(title="By channel")
    for col in ("channel", "outcomes", "clean %", "order ¥", "channel ¥"):
        t2.add_column(col, justify="left" if col == "channel" else "right")
    for ch, d in sorted(per.items()):
        # summary.json keeps '(none)' for outcomes without a channel (read by programs); shown as every report shows it
        t2.add_row(unknown("en") if ch == "(none)" else escape(ch), f"{d['n']:,}", f"{100 * d['ok'] / d['n']:.2f}",
                   format_yuan(d["o"]), format_yuan(d["c"]))
    console.print(t2)
    ct = summary["control_totals"]
    status = "[green]tie out[/green]" if summary["conservation"] else "[red]DO NOT tie out[/red]"
    parts = [f"{k}: {v['input_rows']:,} rows / ¥{format_yuan(v['input_fen'])}" for k, v in ct.items()]
    console.print(f"Control totals {status} — " + "; ".join(parts))
    for w in summary.get("channels_without_records", []):
        console.print(f"[yellow]No {escape(w['channel'])} records in this run, yet {w['order_only']:,} paid orders "
                      f"(¥{format_yuan(w['order_amount_fen'])}) expect them (order_only). Was its bill left out?[/yellow]")
    for m in summary.get("merchant_numbers_without_records", []):
        only = (f" (only {m['notifications']:,} real-time notification{'s' if m['notifications'] > 1 else ''}, "
                "which no bill confirms yet)" if m.get("notifications") else "")
        console.print(f"[yellow]No {escape(m['channel'])} records of merchant number {escape(m['merchant_id'])} "
                      f"in this run{only}, yet {m['orders']:,} paid orders (¥{format_yuan(m['order_amount_fen'])}) name "
                      "it. Was its bill left out?[/yellow]")
    for u in summary.get("configured_channels_unknown", []):
        what = (f"{u['orders']:,} orders of method {escape(u['method'])} expect its records" if "method" in u
                else "its fee rate applied to no record: fees of the channel meant are not checked")
        console.print(f"[yellow]{escape(u['where'] or 'config')}: key '{escape(u['key'])}' names channel "
                      f"'{escape(u['channel'])}': no record of this run and no bill layout has it (a typo?); "
                      f"{what}[/yellow]")
    for m in summary.get("merchant_numbers_without_orders", []):
        console.print(f"[yellow]{escape(m['channel'])} merchant number {escape(m['merchant_id'])}: {m['records']:,} "
                      f"records, ¥{format_yuan(m['amount_fen'])} — no order or configured store names it: a bill of "
                      "another account?[/yellow]")


def accuracy_table(console: Console, acc: dict) -> None:
    """Print the engine's accuracy against the demo's ground truth."""
    t = Table(title=f"Accuracy against ground truth: {acc['correct']:,}/{acc['expected']:,} "
                    f"= {100 * acc['accuracy']:.3f} %  (unexpected outcomes: {acc['unexpected_outcomes']})")
    for col in ("expected kind", "expected", "correct", "missing"):
        t.add_column(col, justify="left" if col == "expected kind" else "right")
    for r in acc["by_kind"]:
        t.add_row(r["kind"], f"{r['expected']:,}", f"{r['correct']:,}", f"{r['missing']:,}",
                  style=None if r["correct"] == r["expected"] else "red")
    console.print(t)
