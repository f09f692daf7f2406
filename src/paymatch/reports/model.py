"""The one report model every renderer (Excel, CSV, JSON) reads.

A report is a frozen record: titles, the period it covers, where its data came from (bill files
and their SHA-256), the run ids whose outcomes it uses, control totals, and named tables. A table
declares typed columns and supplies its rows as a DuckDB relation or an Arrow table, so a million
detail rows stream from the database to the writer in record batches instead of sitting in Python
lists. Amounts stay integer fen in the rows; only a renderer turns them into yuan.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import duckdb
import pyarrow as pa

ColumnKind = Literal["text", "fen", "count", "number", "percent", "date"]
Lang = Literal["zh", "en"]
_PERIOD_ZH = {"day": "日", "week": "周", "month": "月", "range": "区间"}


@dataclass(frozen=True)
class Column:
    """One typed column. ``name`` is the field in the rows; ``zh``/``en`` are the headers.

    kind: text (string), fen (integer fen, shown as yuan), count (integer), number (a measure such as a
    z-score, 2 decimals), percent (a fraction
    0..1, shown as a percentage; NULL when there is nothing to divide), date (a date or timestamp).
    labels: a text column of codes, the vocabulary (``labels.VOCABULARIES``: channel, tx_type, order_type) a zh
    report's CSV and Excel cells name them by (微信支付 for ``wechat``); the JSON keeps the codes.
    """

    name: str
    zh: str
    en: str
    kind: ColumnKind = "text"
    width: int | None = None
    labels: str | None = None

    def header(self, lang: Lang) -> str:
        """The header in ``lang``."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Link:
    """Rows of a table point into another table (drill-down).

    ``column``: the cell that becomes the link (e.g. the row key); ``target``: the table linked to;
    ``row_column``: a field of the rows (not a displayed column) holding the 1-based position of the
    first matching row in ``target``'s rows, in the order the target supplies them.
    """

    column: str
    target: str
    row_column: str


@dataclass(frozen=True)
class Table:
    """A named table: typed columns and the rows (DuckDB relation or Arrow table).

    The rows may hold more fields than ``columns`` (e.g. a link's row positions); only the declared
    columns are rendered, in their order. ``total_row``: the last row is a total and is styled so.
    ``freeze_cols``: how many leading columns stay in view when scrolling right.
    """

    name: str
    title_zh: str
    title_en: str
    columns: tuple[Column, ...]
    rows: duckdb.DuckDBPyRelation | pa.Table
    link: Link | None = None
    total_row: bool = False
    #: leading columns frozen beside the header (the row's label: a wide summary scrolled right kept its figures
    #: but lost which store or merchant number they were)
    freeze_cols: int = 0

    def title(self, lang: Lang) -> str:
        """The table's title in ``lang``."""
        return self.title_zh if lang == "zh" else self.title_en

    def batches(self, size: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches (streamed from DuckDB for a relation)."""
        if isinstance(self.rows, pa.Table):
            yield from self.rows.to_batches(max_chunksize=size)
            return
        yield from self.rows.to_arrow_reader(size)

    def arrow(self) -> pa.Table:
        """All rows as one Arrow table (for small tables and tests)."""
        if isinstance(self.rows, pa.Table):
            return self.rows
        return self.rows.to_arrow_table()


@dataclass(frozen=True)
class Source:
    """An input the report's data came from: a loaded file (bill, orders, refunds) and its hash."""

    kind: str
    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class ControlTotal:
    """A control total shown on the cover: a count and an amount in fen (either may be None)."""

    key: str
    zh: str
    en: str
    count: int | None
    fen: int | None

    def label(self, lang: Lang) -> str:
        """The label in ``lang``."""
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Report:
    """A whole report: what it covers, where the data came from, and its tables.

    kind: 'reconciliation' | 'fund_flow' | 'anomalies'. period_label: e.g. 'day' / 'week' / 'month'
    or 'range'. run_ids: the reconciliation runs whose stored outcomes the report reads (empty for
    reports read straight from transactions). generated_at: tz-aware time of building.
    """

    kind: str
    title_zh: str
    title_en: str
    period_from: dt.date
    period_to: dt.date
    period_label: str
    sources: tuple[Source, ...]
    run_ids: tuple[str, ...]
    control_totals: tuple[ControlTotal, ...]
    tables: tuple[Table, ...]
    generated_at: dt.datetime
    params: dict = field(default_factory=dict)
    #: (zh, en) sentences a reader must see before trusting the figures: days of the period no run covered (a
    #: month's report on the 7th holds 7 days, not 30), a period without any activity (zeros, not a failure)
    notes: tuple[tuple[str, str], ...] = ()

    def title(self, lang: Lang) -> str:
        """The report's title in ``lang``."""
        return self.title_zh if lang == "zh" else self.title_en

    def period_text(self, lang: Lang) -> str:
        """The period label as a reader of ``lang`` reads it (a zh cover said "(day)")."""
        return _PERIOD_ZH.get(self.period_label, self.period_label) if lang == "zh" else self.period_label

    def notes_in(self, lang: Lang) -> list[str]:
        """The notes in ``lang``."""
        return [zh if lang == "zh" else en for zh, en in self.notes]

    def table(self, name: str) -> Table:
        """The table called ``name`` (KeyError if absent)."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)
