"""``paymatch report …``: reconciliation, fund-flow and anomaly reports from a workspace.

Thin: check the input, build the report model with one library call, render it (Excel, CSV
folder, JSON file, and a short table on the terminal). The lead mounts it in cli.py with
``app.add_typer(report_app, name="report")``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from .cli_common import console, handle_errors as _errors
from .config import load_config
from .errors import PaymatchError

report_app = typer.Typer(help="Reports from a workspace: reconciliation, fund flow, anomalies, instalments.",
                         no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", help="DuckDB workspace file", dir_okay=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="rules file (TOML or YAML)", exists=True, dir_okay=False)]
ExcelOpt = Annotated[Optional[Path], typer.Option("--excel", help="write an .xlsx file", dir_okay=False)]
CsvOpt = Annotated[Optional[Path], typer.Option("--csv", help="write one CSV per table into this folder", file_okay=False)]
JsonOpt = Annotated[Optional[Path], typer.Option("--json", help="write a JSON document", dir_okay=False)]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="zh (default from config) or en")]
FromOpt = Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD, Asia/Shanghai)")]
ToOpt = Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD)")]
StoreOpt = Annotated[Optional[list[str]], typer.Option(
    "--store", help="a store manager's report: only this store (repeatable); its store_id as the orders name it")]


def _open(workspace: Path):
    from .workspace import Workspace

    if not workspace.is_file():
        raise PaymatchError(f"{workspace}: no such workspace\nHint: fill one with `paymatch ingest` and `paymatch reconcile`")
    return Workspace(workspace)


def _lang(lang: Optional[str], cfg) -> str:
    lang = lang or cfg.report.lang
    if lang not in ("zh", "en"):
        raise PaymatchError(f"--lang {lang!r}: use zh or en")
    return lang


def _render(report, lang: str, excel: Optional[Path], csv: Optional[Path], json_path: Optional[Path]) -> None:
    from .money import format_yuan
    from .reports.excel import write_excel
    from .reports.render import report_to_json, write_csv_dir

    t = RichTable(title=f"{report.title(lang)} {report.period_from}..{report.period_to}")
    for h in ("",) + (("笔数", "金额") if lang == "zh" else ("count", "amount")):
        t.add_column(h, justify="right" if h else "left")
    for ct in report.control_totals:
        t.add_row(ct.label(lang), "" if ct.count is None else f"{ct.count:,}",
                  "" if ct.fen is None else format_yuan(ct.fen))
    console.print(t)
    for note in report.notes_in(lang):
        console.print(f"[yellow]{escape(note)}[/yellow]")
    if excel:
        console.print(f"excel: {write_excel(report, excel, lang=lang)}")
    if csv:
        console.print(f"csv:   {csv} ({len(write_csv_dir(report, csv, lang=lang))} files)")
    if json_path:
        console.print(f"json:  {report_to_json(report, json_path, lang=lang)}")


@report_app.command()
@_errors
def reconciliation(
    workspace: WorkspaceOpt,
    date: Annotated[str, typer.Option("--date", help="a day in the period (YYYY-MM-DD)")],
    period: Annotated[str, typer.Option("--period", help="day, week (Monday start) or month")] = "day",
    group_by: Annotated[Optional[str], typer.Option("--group-by", help="merchant, store or channel (default from config)")] = None,
    excel: ExcelOpt = None, csv: CsvOpt = None, json: JsonOpt = None, lang: LangOpt = None, config: ConfigOpt = None,
    store: StoreOpt = None,
    detail: Annotated[bool, typer.Option("--detail/--no-detail", help="add the sheet of every outcome, linked from "
                                         "each summary row (a chain's month: millions of rows)")] = False,
) -> None:
    """Reconciliation report (对账日报/周报/月报) from the stored outcomes: per group and chain total, plus every unmatched item."""
    from .reports.periods import parse_date
    from .reports.recon import build_reconciliation

    cfg = load_config(config)
    lng = _lang(lang, cfg)
    groups = [group_by] if group_by else list(cfg.report.group_by)
    with _open(workspace) as ws:
        rep = build_reconciliation(ws.con, period, parse_date(date), group_by=groups, lang=lng,
                                   week_start=cfg.report.week_start, store_ids=tuple(store or ()), detail=detail)
        _render(rep, lng, excel, csv, json)


@report_app.command("fund-flow")
@_errors
def fund_flow(
    workspace: WorkspaceOpt, date_from: FromOpt, date_to: ToOpt,
    by: Annotated[str, typer.Option("--by", help="time, channel, order_type, store or merchant")] = "time",
    grain: Annotated[str, typer.Option("--grain", help="day, week or month")] = "day",
    drill: Annotated[Optional[str], typer.Option("--drill", help="print the transactions under this summary key (CSV)")] = None,
    detail: Annotated[bool, typer.Option("--detail/--no-detail", help="Excel/CSV/JSON: include the transaction sheet")] = True,
    excel: ExcelOpt = None, csv: CsvOpt = None, json: JsonOpt = None, lang: LangOpt = None, config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Fund flow (资金流水): inflow, outflow (refunds, fees) and net per dimension and period, with drill-down by key."""
    from .reports.fundflow import build_fund_flow
    from .reports.fundflow import drill as drill_rows
    from .reports.periods import parse_date

    cfg = load_config(config)
    lng = _lang(lang, cfg)
    a, b = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    with _open(workspace) as ws:
        if drill is not None:
            rows = drill_rows(ws.con, a, b, by, grain, drill, stores=cfg.stores, key_scope=cfg.match.key_scope,
                              store_ids=tuple(store or ()), lang=lng)
            if not rows.num_rows:  # every summary row has at least one transaction: this key is none of them
                shape = "<period start>" if by == "time" else f"<period start>|<{by}>"
                raise PaymatchError(
                    f"no fund-flow rows under key {drill!r} ({date_from}..{date_to}, --by {by}, --grain {grain})\n"
                    f"Hint: keys look like {shape}, e.g. {a.isoformat()}{'' if by == 'time' else '|…'}; "
                    "the report's --csv/--json/--excel output without --drill lists them in its key column "
                    "(same --from/--to/--by/--grain)")
            _print_drill(rows)
            return
        rep = build_fund_flow(ws.con, a, b, by=by, grain=grain, lang=lng, detail=detail, stores=cfg.stores,
                              key_scope=cfg.match.key_scope, store_ids=tuple(store or ()))
        _render(rep, lng, excel, csv, json)


def _print_drill(rows) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from .reports.render import fen_to_yuan_strings

    import pyarrow.compute as pc

    cols = {}
    for name in rows.column_names:
        col = rows.column(name)
        if name.endswith("_fen"):
            col = pa.chunked_array([fen_to_yuan_strings(c) for c in col.chunks], pa.string())
            name = name[:-4]
        elif pa.types.is_timestamp(col.type):  # whole seconds, as the report's CSV writes them (not 08:21:51.000000)
            col = pc.strftime(col.cast(pa.timestamp("s", col.type.tz), safe=False), "%Y-%m-%d %H:%M:%S")
        cols[name] = col
    buf = pa.BufferOutputStream()
    pacsv.write_csv(pa.table(cols), buf)
    sys.stdout.write(buf.getvalue().to_pybytes().decode("utf-8"))


@report_app.command()
@_errors
def anomalies(
    workspace: WorkspaceOpt, date_from: FromOpt, date_to: ToOpt,
    excel: ExcelOpt = None, csv: CsvOpt = None, json: JsonOpt = None, lang: LangOpt = None, config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Anomaly board (异常看板): large transactions, frequent refunds, repeated attempts, over-refunds, night spikes."""
    from .reports.anomalies import build_anomalies
    from .reports.periods import parse_date

    cfg = load_config(config)
    lng = _lang(lang, cfg)
    with _open(workspace) as ws:
        rep = build_anomalies(ws.con, parse_date(date_from, "--from"), parse_date(date_to, "--to"),
                              rules=cfg.anomalies, lang=lng, key_scope=cfg.match.key_scope,
                              store_ids=tuple(store or ()), stores=cfg.stores)
        _render(rep, lng, excel, csv, json)


@report_app.command()
@_errors
def instalments(
    workspace: WorkspaceOpt, date_from: FromOpt, date_to: ToOpt,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="status date (default: --to)")] = None,
    excel: ExcelOpt = None, csv: CsvOpt = None, json: JsonOpt = None, lang: LangOpt = None, config: ConfigOpt = None,
    store: StoreOpt = None,
) -> None:
    """Instalment report (分期报表): outstanding and overdue periods, seller-borne interest, per channel/store/term."""
    from .instalment_run import instalment_config
    from .reports.instalments import build_instalments
    from .reports.periods import parse_date

    cfg = load_config(config)
    lng = _lang(lang, cfg)
    first, last = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if last < first:  # the report model refuses it too, but as a bare ValueError: a traceback, not an answer
        raise PaymatchError(f"--to {last} is before --from {first}")
    due = parse_date(as_of, "--as-of") if as_of else last
    with _open(workspace) as ws:
        rep = build_instalments(ws.con, first, last, due, instalment_config(cfg), key_scope=tuple(cfg.match.key_scope),
                                store_ids=tuple(store or ()), lang=lng)
        _render(rep, lng, excel, csv, json)
