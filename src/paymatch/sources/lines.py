"""Which line of the user's file each loaded record came from.

DuckDB numbers records, not lines: it skips blank lines, and a quoted value may span lines. Errors and
the workspace's provenance must name the line the user sees, so a ``LineMap`` turns a record's index
(its ``rowid`` in file order, 0 = the first record below the header) into that line: the record's first
physical line, counting blank lines. Nearly every file has one line per record; that is checked by
counting line ends (a streamed byte count, no parse) and only a file that fails the check is read
again with Python's csv module to list where each record starts.
"""

from __future__ import annotations

import csv
import io
import sys
from array import array
from pathlib import Path

import duckdb
import pyarrow as pa


class LineMap:
    """Record index → line of the user's file.

    Built from the text DuckDB reads (``path``, UTF-8, header on line ``header_line``, lines above it not
    records), or from an explicit list of lines (``starts``: an .xlsx sheet written out without its empty
    rows). ``shift`` is added to every line (title lines the text read lacks but the user's file has).
    """

    def __init__(self, path: Path | None = None, *, header_line: int = 1, delimiter: str = ",", shift: int = 0,
                 starts: array | None = None, end: int | None = None):
        self.path, self.header_line, self.delimiter, self.shift = path, header_line, delimiter, shift
        self.end = end  # bytes of ``path`` that hold the records (a footer after them is not read)
        self._starts = starts
        self._exact: bool | None = None if starts is None else False

    @property
    def above(self) -> int:
        """Lines of the user's file above the header of the text the loader reads (title lines)."""
        return self.header_line - 1 + self.shift

    def exact(self, records: int) -> bool:
        """Whether record i is on line ``header_line + 1 + i`` (+ shift) for all ``records`` records."""
        if self._exact is None:
            self._exact = self.path is None or _one_line_each(self.path, self.header_line, records, self.end)
        return self._exact

    def starts(self) -> array:
        """The line of every record (shift included), in file order."""
        if self._starts is None:
            self._starts = _record_starts(self.path, self.header_line, self.delimiter, self.end)
            if self.shift:
                self._starts = array("q", (s + self.shift for s in self._starts))
        return self._starts

    def line(self, rowid: int, records: int) -> int:
        """The line of record ``rowid`` of a file of ``records`` records."""
        if self.exact(records):
            return self.header_line + 1 + int(rowid) + self.shift
        s = self.starts()
        return s[rowid] if 0 <= rowid < len(s) else self.header_line + 1 + int(rowid) + self.shift

    def sql(self, con: duckdb.DuckDBPyConnection, records: int, rowid: str = "rowid") -> tuple[str, str]:
        """(SQL for the line of ``rowid``, a join clause to add, or '') for an INSERT … SELECT over the records."""
        if self.exact(records):
            return f"{rowid} + {self.header_line + 1 + self.shift}", ""
        con.register("_pm_line_map", pa.table({"rid": pa.array(range(len(self.starts())), pa.int64()),
                                               "line": pa.array(self.starts(), pa.int64())}))
        naive = f"{rowid} + {self.header_line + 1 + self.shift}"
        return f"coalesce(_pm_lm.line, {naive})", f"LEFT JOIN _pm_line_map _pm_lm ON _pm_lm.rid = {rowid}"


def _read(f, end: int | None):
    """Chunks of an open binary file, up to byte ``end`` (None: its end)."""
    left = end
    while left is None or left > 0:
        chunk = f.read(1 << 22 if left is None else min(1 << 22, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def _one_line_each(path: Path, header_line: int, records: int, end: int | None = None) -> bool:
    """True when the file's line ends (up to byte ``end``) are exactly: the header's and each record's (no blank
    line in between, no value spanning lines; blank lines at the very end are allowed)."""
    ends = 0
    last = b""
    with path.open("rb") as f:
        for chunk in _read(f, end):
            ends += chunk.count(b"\n")
            last = (last + chunk)[-4096:]
    tail = len(last) - len(last.rstrip(b"\r\n \t"))
    trailing = last[len(last) - tail:].count(b"\n") if tail else 0
    # header_line - 1 title lines, the header, records - 1 record lines ending before the last record, whose
    # own line end (if any) is among the trailing ones
    want = (header_line - 1) + 1 + max(records - 1, 0) + trailing if records else header_line - 1 + trailing
    return ends == want


def _record_starts(path: Path, header_line: int, delimiter: str, end: int | None = None) -> array:
    """The first physical line of every non-blank record below the header (as DuckDB reads them)."""
    out = array("q")
    at = [0]
    csv.field_size_limit(sys.maxsize)  # a value as long as DuckDB reads (the default limit is 128 KiB)

    def lines():
        with path.open("rb") as raw:
            text = io.TextIOWrapper(io.BufferedReader(_Limited(raw, end)), encoding="utf-8-sig", newline="",
                                    errors="replace")
            for n, line in enumerate(text, 1):
                at[0] = n
                if n > header_line:
                    yield line

    start = header_line + 1
    try:
        for row in csv.reader(lines(), delimiter=delimiter):
            line, start = start, at[0] + 1
            if row:  # an empty line is skipped (as DuckDB does); a line of delimiters is a record
                out.append(line)
    except csv.Error:
        pass
    return out


class _Limited(io.RawIOBase):
    """A binary file read only up to byte ``end`` (None: whole)."""

    def __init__(self, f, end: int | None):
        self.f, self.left = f, end

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = len(b) if self.left is None else min(len(b), self.left)
        data = self.f.read(n)
        b[:len(data)] = data
        if self.left is not None:
            self.left -= len(data)
        return len(data)
