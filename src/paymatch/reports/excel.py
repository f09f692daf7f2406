"""Excel renderer (XlsxWriter) for the report model.

Constant-memory mode: rows are written in order and flushed, so a million-row detail sheet does not
sit in memory; the rows come from the model in Arrow record batches. Each sheet has a bold frozen
header row, an autofilter and column widths. A sheet continues on a next sheet ("… (2)") past
Excel's limit of 1,048,576 rows (1,048,575 data rows under the header).

Amounts: rows hold integer fen; a cell gets yuan = fen / 100 as a number with format '#,##0.00'.
The division is one IEEE operation on an exactly representable integer (|fen| < 2**53), so the
cell holds the double nearest to the exact decimal yuan value, the same double ``float(Decimal)``
gives, and Excel shows it exactly; nothing is ever summed in floating point here.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter

from .labels import source_kind, zh_labels
from .model import Column, Lang, Report, Table

#: data rows per sheet under the header row (Excel: 1,048,576 rows in all)
EXCEL_MAX_DATA_ROWS = 1_048_575
_WIDTH = {"text": 16, "fen": 16, "count": 10, "number": 12, "percent": 10, "date": 20}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")

_COVER = {
    "zh": {"period": "期间", "from": "起", "to": "止", "generated": "生成时间", "runs": "对账批次(run id)",
           "controls": "控制合计", "item": "项目", "count": "笔数", "amount": "金额(元)", "sources": "数据来源",
           "kind": "类型", "path": "文件", "sha256": "SHA-256", "rows": "行数", "params": "参数", "none": "(无)",
           "note": "注意"},
    "en": {"period": "Period", "from": "From", "to": "To", "generated": "Generated at", "runs": "Run ids",
           "controls": "Control totals", "item": "Item", "count": "Count", "amount": "Amount (CNY)",
           "sources": "Data sources", "kind": "Kind", "path": "File", "sha256": "SHA-256", "rows": "Rows",
           "params": "Parameters", "none": "(none)", "note": "Note"},
}


def fen_to_yuan_numbers(arr: pa.Array) -> list:
    """Integer fen → yuan floats for cells (None stays None); one exact-input division per value."""
    return pc.divide(pc.cast(arr, pa.float64()), 100.0).to_pylist()


def sheet_name(title: str, part: int, used: set[str]) -> str:
    """An Excel-safe, unique sheet name for part ``part`` (0-based) of a table titled ``title``."""
    base = _BAD_SHEET_CHARS.sub("_", title).strip("'") or "Sheet"
    suffix = f" ({part + 1})" if part else ""
    name = base[: 31 - len(suffix)] + suffix
    n = 2
    while name.lower() in used:
        tag = f"~{n}"
        name = base[: 31 - len(suffix) - len(tag)] + tag + suffix
        n += 1
    return name


class _Formats:
    """The workbook's cell formats, created once."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.bold = wb.add_format({"bold": True})
        self.note = wb.add_format({"bold": True, "font_color": "#C00000"})
        self.kind = {
            "fen": wb.add_format({"num_format": "#,##0.00"}),
            "count": wb.add_format({"num_format": "#,##0"}),
            "number": wb.add_format({"num_format": "#,##0.00"}),
            "percent": wb.add_format({"num_format": "0.00%"}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "text": None,
        }
        self.total = {k: wb.add_format({"bold": True, "top": 1, **({"num_format": f} if f else {})})
                      for k, f in (("fen", "#,##0.00"), ("count", "#,##0"), ("number", "#,##0.00"), ("percent", "0.00%"),
                                   ("date", "yyyy-mm-dd"), ("datetime", "yyyy-mm-dd hh:mm:ss"), ("text", None))}
        self.link = wb.add_format({"font_color": "blue", "underline": 1})


def write_excel(report: Report, path: str | Path, *, lang: Lang = "zh",
                max_rows: int = EXCEL_MAX_DATA_ROWS, batch_rows: int = 65_536) -> Path:
    """Write ``report`` as an .xlsx file: a cover sheet, then one sheet (or more) per table.

    ``max_rows`` is the data rows per sheet before continuing on the next one (tests inject a small
    value). The file is written beside ``path`` and moved into place when complete.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    # constant_memory keeps each sheet in a temp file until close(): in a folder of our own, removed however
    # the write ends (a destination that cannot be written fails only at close())
    spill = tempfile.mkdtemp(prefix="_pm_xlsx_")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "nan_inf_to_errors": True, "tmpdir": spill})
    fmt = _Formats(wb)
    used: set[str] = set()
    try:
        _cover(wb, fmt, report, lang, used)
        names = {t.name: t.title(lang) for t in report.tables}
        for table in report.tables:
            link_target = names.get(table.link.target) if table.link else None
            _table(wb, fmt, table, lang, used, max_rows, batch_rows, link_target)
        wb.close()
    except BaseException:
        tmp.unlink(missing_ok=True)
        for ws in wb.worksheets():  # their open temp files, before the folder goes
            fh = getattr(ws, "row_data_fh", None)
            if fh is not None and not fh.closed:
                fh.close()
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    tmp.replace(path)
    return path


def _cover(wb, fmt: _Formats, report: Report, lang: Lang, used: set[str]) -> None:
    c = _COVER[lang]
    name = sheet_name("封面" if lang == "zh" else "Cover", 0, used)
    used.add(name.lower())
    ws = wb.add_worksheet(name)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 60)
    ws.set_column(2, 3, 18)
    ws.write_string(0, 0, report.title(lang), fmt.title)
    ws.write_string(1, 0, c["period"], fmt.bold)
    ws.write_string(1, 1, f"{report.period_from.isoformat()} ~ {report.period_to.isoformat()} ({report.period_text(lang)})")
    ws.write_string(2, 0, c["from"], fmt.bold)
    ws.write_datetime(2, 1, dt.datetime.combine(report.period_from, dt.time()), fmt.kind["date"])
    ws.write_string(3, 0, c["to"], fmt.bold)
    ws.write_datetime(3, 1, dt.datetime.combine(report.period_to, dt.time()), fmt.kind["date"])
    ws.write_string(4, 0, c["generated"], fmt.bold)
    ws.write_string(4, 1, report.generated_at.isoformat(timespec="seconds"))
    ws.write_string(5, 0, c["runs"], fmt.bold)
    ws.write_string(5, 1, ", ".join(report.run_ids) or c["none"])
    ws.write_string(6, 0, c["params"], fmt.bold)
    ws.write_string(6, 1, ", ".join(f"{k}={v}" for k, v in report.params.items()) or c["none"])
    r = 7
    for note in report.notes_in(lang):  # above the figures, where the reader looks first
        ws.write_string(r, 0, c["note"], fmt.note)
        ws.write_string(r, 1, note, fmt.note)
        r += 1
    r += 1
    ws.write_string(r, 0, c["controls"], fmt.title)
    r += 1
    for col, h in enumerate((c["item"], "", c["count"], c["amount"])):
        ws.write_string(r, col, h, fmt.header)
    for ct in report.control_totals:
        r += 1
        ws.write_string(r, 0, ct.label(lang))
        if ct.count is not None:
            ws.write_number(r, 2, ct.count, fmt.kind["count"])
        if ct.fen is not None:
            ws.write_number(r, 3, ct.fen / 100, fmt.kind["fen"])
    r += 2
    ws.write_string(r, 0, c["sources"], fmt.title)
    r += 1
    for col, h in enumerate((c["kind"], c["path"], c["rows"], c["sha256"])):
        ws.write_string(r, col, h, fmt.header)
    for s in report.sources:
        r += 1
        ws.write_string(r, 0, source_kind(s.kind, lang))
        ws.write_string(r, 1, s.path)
        ws.write_number(r, 2, s.rows, fmt.kind["count"])
        ws.write_string(r, 3, s.sha256)


def _cell_lists(batch: pa.RecordBatch, columns: tuple[Column, ...], lang: Lang) -> list[list]:
    out = []
    for col in columns:
        arr = batch.column(col.name)
        if col.labels and lang == "zh":  # 微信支付, not wechat, for a zh reader (as the CSV)
            arr = zh_labels(arr, col.labels)
        if col.kind == "fen":
            out.append(fen_to_yuan_numbers(arr))
        elif col.kind == "date" and pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
            raise TypeError(f"column {col.name}: give naive local times (Excel has no time zones)")
        elif col.kind == "text" and not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            out.append(pc.cast(arr, pa.string()).to_pylist())
        else:
            out.append(arr.to_pylist())
    return out


def _table(wb, fmt: _Formats, table: Table, lang: Lang, used: set[str], max_rows: int, batch_rows: int,
           link_target: str | None) -> None:
    cols = table.columns
    title = table.title(lang)
    writers = [_writer(c.kind) for c in cols]
    link_idx = next((i for i, c in enumerate(cols) if table.link and c.name == table.link.column), None)
    state = {"part": -1, "ws": None, "row": max_rows, "name": ""}
    total_rows = _row_count(table)

    def new_sheet() -> None:
        if state["ws"] is not None:
            _finish(state["ws"], state["row"], len(cols))
        state["part"] += 1
        name = sheet_name(title, state["part"], used)
        used.add(name.lower())
        ws = wb.add_worksheet(name)
        for i, c in enumerate(cols):
            ws.set_column(i, i, c.width or max(_WIDTH[c.kind], len(c.header(lang)) * (2 if lang == "zh" else 1) + 2))
            ws.write_string(0, i, c.header(lang), fmt.header)
        ws.freeze_panes(1, table.freeze_cols)
        state.update(ws=ws, row=0, name=name)

    seen = 0
    for batch in table.batches(batch_rows):
        cells = _cell_lists(batch, cols, lang)
        targets = batch.column(table.link.row_column).to_pylist() if link_idx is not None else None
        for i in range(batch.num_rows):
            if state["row"] >= max_rows:
                new_sheet()
            ws, r = state["ws"], state["row"] + 1
            seen += 1
            is_total = table.total_row and seen == total_rows
            for j, w in enumerate(writers):
                v = cells[j][i]
                if v is not None:
                    w(ws, r, j, v, (fmt.total if is_total else fmt.kind), cols[j].kind)
            if targets is not None and targets[i] is not None and link_target is not None:
                part, row = divmod(int(targets[i]) - 1, max_rows)
                target = sheet_name(link_target, part, set())
                ws.write_url(r, link_idx, f"internal:'{target}'!A{row + 2}", fmt.link,
                             string=str(cells[link_idx][i]))
            state["row"] += 1
    if state["ws"] is None:
        new_sheet()
    _finish(state["ws"], state["row"], len(cols))


def _row_count(table: Table) -> int | None:
    if not table.total_row:
        return None
    if isinstance(table.rows, pa.Table):
        return table.rows.num_rows
    return table.rows.count("*").fetchall()[0][0]


def _finish(ws, rows: int, ncols: int) -> None:
    ws.autofilter(0, 0, max(rows, 1), max(ncols - 1, 0))


def _writer(kind: str):
    def text(ws, r, c, v, f, k):
        ws.write_string(r, c, str(v), f["text"])

    def number(ws, r, c, v, f, k):
        ws.write_number(r, c, v, f[k])

    def date(ws, r, c, v, f, k):
        if isinstance(v, dt.datetime):
            ws.write_datetime(r, c, v, f["datetime"])
        else:
            ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), f["date"])

    return {"text": text, "fen": number, "count": number, "number": number, "percent": number, "date": date}[kind]
