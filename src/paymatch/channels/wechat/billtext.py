"""Shared reading machinery for WeChat bill files: bytes -> header, data rows (Arrow), summary.

The data part goes to pyarrow's multi-threaded CSV reader in one call (every column as text);
only the header line and the few summary lines are handled in Python. Quoting is switched off
because every WeChat value starts with a backtick, so a quote can never open a field, and with
no quoting a record is exactly one physical line: row i (0-based) sits on line i + 2.

WeChat prints free text (商品名称, 商户数据包 - often JSON -, a fund-flow 备注) as given, commas
included, and quotes nothing. So when a row has too many fields the rows are read again with
",`" as the separator (every value starts with the backtick): that second pass only runs for
such bills and gives each value back whole. A bill Excel saved again quotes such values ("`咖啡,大杯"); when neither
split reads it, it is read as quoted CSV.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.channels.wechat.layout import CHANNEL, FUNDFLOW, kind_of_header, split_header
from paymatch.errors import LoadError, Problem

#: most problems listed in one LoadError (the total is still counted)
PROBLEM_LIMIT = 20

_SUMMARY_KEY = {FUNDFLOW: "资金流水总笔数"}
_TRADE_SUMMARY_KEY = "总交易单数"


@dataclass(frozen=True)
class BillText:
    """A WeChat bill split into its parts (see module docstring).

    sha256: hex digest of the bytes as delivered (before gunzip).
    kind: bill kind from the header content.
    header: normalized column names in file order.
    body: header line + data lines (BOM removed, trailing blank lines dropped), a zero-copy view.
    summary: summary name -> raw value (backtick stripped).
    summary_line: 1-based physical line of the summary *values*.
    has_rows: whether any data line follows the header.
    """

    source: str
    sha256: str
    kind: str
    header: list[str]
    body: memoryview
    summary: dict[str, str]
    summary_line: int
    has_rows: bool


def _fail(source: str, line: int | None, message: str, *, field: str | None = None,
          value: str | None = None, hint: str | None = None) -> LoadError:
    return LoadError([Problem(source, line, field, value, f"{CHANNEL}: {message}")], hint=hint)


def decompress(data: bytes, source: str) -> bytes:
    """Return ``data`` gunzipped when it starts with the gzip magic number, else unchanged."""
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(source, None, f"broken gzip data ({exc})",
                    hint="download the bill again; the file is truncated or corrupt") from exc


def _utf8(data: bytes, source: str) -> bytes:
    """``data`` as UTF-8: a bill opened in Excel on a Chinese Windows and saved as CSV again is GBK (its backticks and
    ids intact: the backtick keeps every value text); it is read as the same bill. Only a head that is not UTF-8 is
    looked at again, and the whole file must then decode as GB18030 (a superset of GBK), else it is refused naming the
    line of the first byte that decodes as neither."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    nl = data.find(b"\n", start)
    try:
        data[start: nl if nl >= 0 else len(data)].decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail(source, line, f"neither UTF-8 nor GBK text (bytes {data[exc.start:exc.start + 2].hex(' ')})",
                    hint="WeChat bills are UTF-8; was the file re-saved in another encoding?") from exc


def split(data: bytes, source: str) -> BillText:
    """Split a WeChat bill (plain or gzip bytes) into header, data body and summary."""
    sha = hashlib.sha256(data).hexdigest()
    data = _utf8(decompress(data, source), source)
    # offsets instead of slices: a 1M-row bill is ~300 MB and copies of it cost real time
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # older bills carry a UTF-8 BOM
    nl = data.find(b"\n", start)
    head = data[start: nl if nl >= 0 else len(data)]
    try:
        header = split_header(head.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _fail(source, 1, "header is neither UTF-8 nor GBK text",
                    hint="WeChat bills are UTF-8; was the file re-saved in another encoding?") from exc
    kind = kind_of_header(header)
    if kind is None:
        raise _fail(source, 1, "unknown column layout (not a WeChat trade or fund-flow bill header)",
                    value=head[:200].decode("utf-8", "replace"))
    key = _SUMMARY_KEY.get(kind, _TRADE_SUMMARY_KEY).encode()
    pos = data.rfind(b"\n" + key, start)
    if pos < 0:
        raise _fail(source, None, f"summary section ({key.decode()} ...) missing",
                    hint="the bill is truncated; download it again")
    summary_header_line = data.count(b"\n", start, pos + 1) + 1
    try:
        tail = data[pos + 1:].decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise _fail(source, summary_header_line, "summary is not UTF-8 text") from exc
    names = split_header(tail[0])
    offset = next((i for i, line in enumerate(tail[1:], 1) if line.strip()), None)
    if offset is None:
        raise _fail(source, summary_header_line, "summary values line missing")
    values = [v.strip().lstrip("`").strip() for v in tail[offset].split(",")]
    if len(values) != len(names):
        raise _fail(source, summary_header_line + offset,
                    f"summary has {len(values)} values for {len(names)} names", value=tail[offset])
    end = pos + 1
    while end > start and data[end - 1] in b"\r\n":  # blank lines before the summary carry nothing
        end -= 1
    body = memoryview(data)[start:end]
    return BillText(source, sha, kind, header, body, dict(zip(names, values)),
                    summary_header_line + offset, 0 <= nl < end)


def _read_csv(buf, names: list[str], columns: list[str], delimiter: str, bad: list[str], *,
              quoted: bool = False) -> pa.Table:
    def on_invalid(row) -> str:  # a row with the wrong number of fields
        bad.append(row.text)
        return "skip"

    return pacsv.read_csv(
        pa.BufferReader(buf),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"' if quoted else False,
                                         ignore_empty_lines=False, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names}, include_columns=columns,
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )


#: stands for the ",`" separator in the second pass; a control character no bill contains
_SEP = "\x1f"


def read_rows(bill: BillText, columns: list[str], con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Read the data rows' ``columns`` as text into an Arrow table with a ``_pm_line`` column."""
    bad: list[str] = []
    names = bill.header
    if len(set(names)) != len(names):
        raise _fail(bill.source, 1, "duplicate column names in header")
    if not bill.has_rows:
        table = pa.table({c: pa.array([], pa.string()) for c in columns})
    else:
        try:
            table = _read_csv(pa.py_buffer(bill.body), names, columns, ",", bad)
            if bad:  # commas inside values: split on ",`" instead (see module docstring)
                bad = []
                body = bytes(bill.body).replace(b",`", (_SEP + "`").encode())
                table = _read_csv(pa.py_buffer(body), names, columns, _SEP, bad)
                bad = [text.replace(_SEP, ",") for text in bad]
            if bad and b'"' in bytes(bill.body):  # (error path only: a copy is fine)
                # a bill opened in Excel and saved again: Excel quotes each value that holds a comma or a quote
                # ("`咖啡,大杯", a JSON 商户数据包), which neither split above reads; read as quoted CSV when that fits
                # better (a row really cut short is then named alone, not beside every quoted one)
                again: list[str] = []
                try:
                    quoted = _read_csv(pa.py_buffer(bill.body), names, columns, ",", again, quoted=True)
                except pa.ArrowInvalid:  # (a quote that never closes: not Excel's quoting; the rows above stand)
                    again = bad + [""]
                if len(again) < len(bad):
                    table, bad = quoted, again
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):  # a line in another encoding (a GBK line pasted in): named by line, not "rows"
                from paymatch.sources.textfile import _undecodable

                line, what = _undecodable(bytes(bill.body), "utf-8")  # (the body starts at the header, line 1)
                raise _fail(bill.source, line, f"not UTF-8 text ({what})",
                            hint="WeChat bills are UTF-8 CSV; was a line pasted from a file in another "
                                 "encoding? download the bill again") from exc
            raise _fail(bill.source, None, f"unreadable data rows ({exc})",
                        hint="WeChat bills are UTF-8 CSV; was the file converted to another encoding?") from exc
    if bad:
        probs = [Problem(bill.source, _line_of(bill.body, text), None, text[:120],
                         f"{CHANNEL}: row has the wrong number of fields (expected {len(names)})")
                 for text in bad[:PROBLEM_LIMIT]]
        raise LoadError(probs, total=len(bad))
    _no_blank_lines(bill, table)
    lines = con.sql(f"SELECT range AS l FROM range(2, {table.num_rows + 2})").to_arrow_table()
    return table.append_column("_pm_line", lines.column(0).cast(pa.int64()))


def _no_blank_lines(bill: BillText, table: pa.Table) -> None:
    """Refuse a bill with a blank line between its rows (a bill copied from a web page or edited by hand: WeChat's
    own files have none), naming the lines, rather than reporting every field of an empty row (helper-44)."""
    if not table.num_columns or not table.num_rows:
        return
    blank = pc.equal(table.column(0), "")
    if not pc.any(blank).as_py():
        return
    for name in table.column_names[1:]:
        blank = pc.and_(blank, pc.equal(table.column(name), ""))
    where = pc.indices_nonzero(blank).to_pylist()
    if where:
        raise LoadError([Problem(bill.source, i + 2, None, None, f"{CHANNEL}: a blank line between the bill's rows")
                         for i in where[:PROBLEM_LIMIT]], total=len(where),
                        hint="remove the blank lines, or download the bill again; nothing from it was stored")


def _line_of(body: memoryview, text: str) -> int | None:
    """Physical line of a rejected row (rare path: only runs for broken files).

    pyarrow does not say which line it rejected when reading in parallel, so the row's text is
    looked up as a whole line (a bare substring search could hit an earlier, longer line).
    """
    data = bytes(body)
    t = text.rstrip("\r\n").encode("utf-8")
    for probe in (b"\n" + t + b"\n", b"\n" + t + b"\r\n"):
        pos = data.find(probe)
        if pos >= 0:
            return data.count(b"\n", 0, pos + 1) + 1
    if data.endswith(b"\n" + t):
        return data.count(b"\n") + 1
    return None


def collect_problems(con: duckdb.DuckDBPyConnection, table: str, source: str,
                     checks: list[tuple[str, str, str, str]]) -> None:
    """Raise LoadError listing rows failing any check; each check is (field, raw_expr, bad_cond, message)."""
    if not checks:
        return
    parts = [
        f"SELECT _pm_line AS line, {i} AS k, ({raw}) AS v FROM {table} WHERE {cond}"
        for i, (_f, raw, cond, _m) in enumerate(checks)
    ]
    union = " UNION ALL ".join(parts)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if not total:
        return
    rows = con.execute(f"SELECT line, k, v FROM ({union}) ORDER BY line, k LIMIT {PROBLEM_LIMIT}").fetchall()
    probs = [Problem(source, line, checks[k][0], v, f"{CHANNEL}: {checks[k][3]}") for line, k, v in rows]
    raise LoadError(probs, total=total, hint="fix or re-download the bill; nothing from it was stored")
