"""CSV and JSON renderers for the report model (the same model the Excel writer reads).

CSV: one UTF-8 file per table in a folder (``<table name>.csv``, header in the chosen language,
amounts as exact yuan strings with 2 decimals) plus ``cover.csv`` with the period, run ids,
sources and control totals, its labels in the chosen language too. Each file starts with a UTF-8 BOM: these CSVs
are for people, and Excel (WPS alike) opens a CSV without one in the system's code page, GBK on a Chinese Windows,
so every Chinese header and label came out garbled (machines read the JSON; outcomes.csv, which programs read,
has no BOM). For the same reader a digit-only id Excel would turn into a number (a 16-digit merchant number, a
19-digit channel transaction id, a store 0012) is written as ``="…"`` (``excel_text_guard``).

A zh report's CSV names a column's codes in Chinese where the column declares a vocabulary (``model.Column.labels``:
微信支付 for ``wechat``, 收款 for ``payment``). JSON (for the web console and ERP systems): one document with the
report's metadata and every table, codes as codes; amounts stay integer fen in fields whose name ends in ``_fen``
(machines should not parse decimals), dates are ISO-8601 strings, times ISO-8601 with their UTC offset (the model's
times are Asia/Shanghai wall times without a zone, as Excel needs them; JSON says +08:00, as outcomes.csv does).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..money import format_yuan
from ..schema import TZ
from .labels import source_kind, zh_labels
from .model import Lang, Report, Table


def fen_to_yuan_strings(arr: pa.Array) -> pa.Array:
    """Integer fen → exact yuan strings ('-0.05', '1234.50'), vectorised; NULL stays NULL."""
    arr = pc.cast(arr, pa.int64())
    digits = pc.utf8_lpad(pc.cast(pc.abs(arr), pa.string()), 3, "0")
    whole = pc.utf8_slice_codeunits(digits, 0, -2)
    frac = pc.utf8_slice_codeunits(digits, -2, 2**31 - 1)
    sign = pc.if_else(pc.less(arr, 0), "-", "")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


#: what Excel needs to read a CSV as UTF-8 (written first in every report CSV)
BOM = "\ufeff"
#: a text value Excel would read as a number and change: 12 digits or more (shown as 2.0881E+15, and past 15 digits
#: the rest become zeros: a 16-digit Alipay merchant number, a WeChat 微信支付单号) or digits with a leading zero
#: (store 0012 becomes 12)
_EXCEL_NUMBERLIKE = r"^(0[0-9]+|[0-9]{12,})$"


def excel_text_guard(arr: pa.Array) -> pa.Array:
    """Digit-only ids Excel would turn into numbers, written as the text formula ``="…"`` (the guard exports put on
    long numbers, which the loader strips again): Excel and WPS show the id itself, digit for digit. Other values
    (ids with a letter, names, codes) are left as they are; NULL stays NULL."""
    hit = pc.match_substring_regex(arr, _EXCEL_NUMBERLIKE)
    return pc.if_else(hit, pc.binary_join_element_wise('="', arr, '"', ""), arr)


def _csv_batch(batch: pa.RecordBatch, table: Table, lang: Lang) -> pa.RecordBatch:
    arrays, names = [], []
    for c in table.columns:
        arr = batch.column(c.name)
        if c.kind == "fen":
            arr = fen_to_yuan_strings(arr)
        elif c.kind == "date" and pa.types.is_timestamp(arr.type):
            # to whole seconds first: on a microsecond timestamp %S prints "05.000000"
            arr = pc.strftime(arr.cast(pa.timestamp("s", arr.type.tz), safe=False), "%Y-%m-%d %H:%M:%S")
        elif c.kind == "percent":
            # as a percentage with its sign ("96.2963%"): the fraction 0.962963 under 对平率 read as under 1 %; Excel
            # and WPS read "96.2963%" as the number 0.962963 shown as a percentage, as the workbook shows it
            pct = pc.round(pc.multiply(pc.cast(arr, pa.float64()), 100.0), 4)
            arr = pc.binary_join_element_wise(pc.cast(pct, pa.string()), "%", "")
        elif c.kind == "text" and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            if c.labels and lang == "zh":  # 微信支付, not wechat, for a zh reader (the JSON keeps the code)
                arr = zh_labels(arr, c.labels)
            arr = excel_text_guard(arr)
        arrays.append(arr)
        names.append(c.header(lang))
    return pa.RecordBatch.from_arrays(arrays, names=names)


def write_csv_dir(report: Report, folder: str | Path, *, lang: Lang = "zh") -> list[Path]:
    """Write ``cover.csv`` and one CSV per table into ``folder``; returns the files written.

    Every file is written as ``<name>.part`` and moved into place once all are complete, cover.csv last (the
    previous cover removed first): a report stopped part-way left its new cover over the previous report's tables.
    A folder holds the previous report, the new one, or (for the instant between) tables without a cover.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cover = folder / "cover.csv"
    written = [cover, *(folder / f"{t.name}.csv" for t in report.tables)]
    try:
        _cover_csv(report, _part(cover), lang)
        for t, path in zip(report.tables, written[1:]):
            writer = None
            with open(_part(path), "wb") as f:
                f.write(BOM.encode("utf-8"))
                for batch in t.batches():
                    out = _csv_batch(batch, t, lang)
                    if writer is None:
                        writer = pacsv.CSVWriter(f, out.schema)
                    writer.write_batch(out)
                if writer is None:  # no rows: still a header
                    f.write((",".join(_quote(c.header(lang)) for c in t.columns) + "\n").encode("utf-8"))
                else:
                    writer.close()
    except BaseException:
        for path in written:
            _part(path).unlink(missing_ok=True)
        raise
    cover.unlink(missing_ok=True)
    for path in [*written[1:], cover]:
        _part(path).replace(path)
    return written


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


#: cover.csv's labels, as the Excel cover names them (the zh report's cover said item/title/period in English)
_COVER = {"zh": ("项目", "笔数", "金额(元)", "说明", "标题", "期间", "对账批次(run id)", "数据来源", "注意"),
          "en": ("item", "count", "amount", "detail", "title", "period", "run_ids", "source", "note")}


def _cover_csv(report: Report, path: Path, lang: Lang) -> Path:
    item, count, amount, detail, title, period, runs, source, notice = _COVER[lang]
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([item, count, amount, detail])
        w.writerow([title, "", "", report.title(lang)])
        w.writerow([period, "", "", f"{report.period_from}..{report.period_to} ({report.period_text(lang)})"])
        w.writerow([runs, "", "", " ".join(report.run_ids)])
        for note in report.notes_in(lang):
            w.writerow([notice, "", "", note])
        for ct in report.control_totals:
            w.writerow([ct.label(lang), "" if ct.count is None else ct.count,
                        "" if ct.fen is None else format_yuan(ct.fen), ct.key])
        for s in report.sources:
            w.writerow([f"{source}:{source_kind(s.kind, lang)}", s.rows, "", f"{s.path} sha256={s.sha256}"])
    return path


_ZONE = ZoneInfo(TZ)


def _json_value(v):
    if isinstance(v, dt.datetime) and v.tzinfo is None:
        # a naive time of the model is Asia/Shanghai's wall time: without its offset an integrator reads it as UTC
        # or as their own zone (helper-67: the anomaly board's occurred_at)
        return v.replace(tzinfo=_ZONE).isoformat()
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def report_to_json(report: Report, path: str | Path | None = None, *, lang: Lang = "zh") -> dict | Path:
    """The report as a JSON document; written to ``path`` (streamed table by table) or returned as a dict."""
    meta = {
        "kind": report.kind, "title": report.title(lang), "lang": lang,
        "period": {"from": report.period_from.isoformat(), "to": report.period_to.isoformat(),
                   "label": report.period_label},
        "generated_at": report.generated_at.isoformat(), "run_ids": list(report.run_ids),
        "params": report.params, "notes": report.notes_in(lang),
        "sources": [{"kind": s.kind, "path": s.path, "sha256": s.sha256, "rows": s.rows} for s in report.sources],
        "control_totals": [{"key": c.key, "label": c.label(lang), "count": c.count, "amount_fen": c.fen}
                           for c in report.control_totals],
    }
    if path is None:
        meta["tables"] = [{**_table_meta(t, lang), "rows": list(_rows(t))} for t in report.tables]
        return meta
    path = Path(path)
    tmp = _part(path)
    try:  # (removed however the write ends: Ctrl-C or SIGTERM too, not only an OSError)
        with open(tmp, "w", encoding="utf-8") as f:
            head = json.dumps(meta, ensure_ascii=False)
            f.write(head[:-1] + ', "tables": [')
            for i, t in enumerate(report.tables):
                tm = json.dumps(_table_meta(t, lang), ensure_ascii=False)
                f.write(("," if i else "") + tm[:-1] + ', "rows": [')
                for j, row in enumerate(_rows(t)):
                    f.write(("," if j else "") + json.dumps(row, ensure_ascii=False))
                f.write("]}")
            f.write("]}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def _table_meta(t: Table, lang: Lang) -> dict:
    return {"name": t.name, "title": t.title(lang),
            "columns": [{"name": c.name, "header": c.header(lang), "kind": c.kind} for c in t.columns]}


def _rows(t: Table):
    names = [c.name for c in t.columns]
    for batch in t.batches():
        cols = [batch.column(n).to_pylist() for n in names]
        for i in range(batch.num_rows):
            yield {n: _json_value(cols[k][i]) for k, n in enumerate(names)}
