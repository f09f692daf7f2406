"""Bytes -> a table of raw strings, each row carrying its 1-based physical line (profile step 1).

CSV is split into lines and filtered (blank, comment, preamble, trailer) with pyarrow compute,
then each kept line is prefixed with its own line number as an extra first field and the lot is
handed to pyarrow's CSV reader. The line number thus travels inside the row: no positional
bookkeeping, and a malformed row reported by the reader still says where it was. A line with an
odd number of quote characters means a quoted field spans lines; only then do we fall back to
Python's csv module, which tracks lines itself.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.channels.profiles import Profile, find_header_line
from paymatch.errors import LoadError, Problem

#: how far down the header row may be
HEAD_LINES = 200
#: most problems reported in one LoadError
MAX_PROBLEMS = 50
_STRIP = ' \t\r`"\ufeff\u3000'


@dataclass
class RawTable:
    """The export's table as strings.

    header: cleaned source column names (``c0``.. in ``table`` follow this order).
    header_line: 1-based line of the header row.
    table: ``_pm_line`` (int64) then ``c0``..``cN`` (string, never null).
    side_lines: (line, text) of every line outside the table (title, comments, trailer),
                where constants and control totals are looked for.
    problems: rows that could not be split into the header's fields.
    """

    header: list[str]
    header_line: int
    table: pa.Table
    side_lines: list[tuple[int, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def clean_names(cells: list[str]) -> list[str]:
    """Strip quotes/backticks/blanks off header cells and make duplicate names unique."""
    seen: dict[str, int] = {}
    out = []
    for cell in cells:
        name = cell.strip(_STRIP)
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def file_encoding(profile: Profile, data: bytes) -> str:
    """The encoding the bytes are really in: the profile's, unless they say otherwise.

    The same export reaches us GBK from one console and UTF-8 (BOM or not) from another, or after
    a colleague re-saved it: a UTF-8 BOM, or bytes that are valid UTF-8 with non-ASCII text (GBK
    Chinese practically never is), mean UTF-8 whatever the profile says. A profile saying UTF-8
    reads bytes that are not UTF-8 as GB18030 (a superset of GBK) when they decode as that.
    """
    declared = profile.file.encoding
    if declared.startswith("utf-8"):
        # only asked when Arrow found the bytes invalid (see split_lines): no extra pass otherwise
        if data.startswith(codecs.BOM_UTF8) or _is_utf8(data):
            return declared
        try:
            data.decode("gb18030")
        except UnicodeDecodeError:
            return declared  # neither: the error names the profile's encoding
        return "gb18030"
    if data.startswith(codecs.BOM_UTF8) or (not data.isascii() and _is_utf8(data)):
        return "utf-8-sig"
    return declared


def utf8(profile: Profile, data: bytes, source: str, checked: bool = False) -> pa.Buffer:
    """The file as UTF-8 bytes without BOM; a wrong encoding is a LoadError at the first bad byte.

    UTF-8 input is passed through untouched (zero-copy; Arrow validates it while reading lines,
    and ``split_lines`` comes back with ``checked`` when it was not UTF-8); GBK/GB18030 is
    transcoded once.
    """
    declared_utf8 = profile.file.encoding.startswith("utf-8")
    if (declared_utf8 and not checked) or file_encoding(profile, data).startswith("utf-8"):
        buf = pa.py_buffer(data)
        return buf.slice(3) if data.startswith(codecs.BOM_UTF8) else buf  # zero-copy
    return pa.py_buffer(decode(profile, data, source).encode("utf-8"))


def decode(profile: Profile, data: bytes, source: str) -> str:
    """Decode as ``file_encoding`` says; a wrong encoding is a LoadError at the first bad byte."""
    enc = file_encoding(profile, data)
    enc = "utf-8-sig" if enc.startswith("utf-8") else enc
    try:
        text = data.decode(enc)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start: exc.start + 4].hex(" ")
        raise LoadError(
            [Problem(source, line, None, bad, f"bytes are not valid {profile.file.encoding}")],
            hint=f"profile {profile.name} expects {profile.file.encoding}; was the file re-saved in another encoding?",
        ) from None
    return text.lstrip("\ufeff")


def read_raw(profile: Profile, data: bytes, source: str) -> RawTable:
    """Read ``data`` (CSV or xlsx, per the profile) into a ``RawTable``."""
    if profile.file.type == "xlsx":
        from paymatch.channels.profile_xlsx import read_xlsx

        return read_xlsx(profile, data, source)
    return _read_lines(profile, split_lines(profile, data, source), source)


def split_lines(profile: Profile, data: bytes, source: str) -> pa.ChunkedArray:
    """Physical lines of the file as one Arrow string array (index = line - 1).

    Arrow's CSV reader does the splitting, told that a line is one field (no quoting, a
    separator byte absent from the file): multi-threaded and far faster than splitting a
    Python string. Blank lines are kept so the index stays the physical line number.
    """
    body = utf8(profile, data, source)
    if body.size == 0:
        return pa.chunked_array([], pa.string())
    # control bytes are single bytes in GBK too, so looking in the original bytes is enough
    sep = next((chr(c) for c in (0x1F, 0x1E, 0x1D, 0x1C, 0x07) if bytes([c]) not in data), None)
    if sep is None:
        raise LoadError([Problem(source, None, None, None, "control characters throughout: not a text export")])

    def lines(buf: pa.Buffer) -> pa.ChunkedArray:
        return pacsv.read_csv(
            pa.BufferReader(buf),
            read_options=pacsv.ReadOptions(column_names=["line"], block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False),
        ).column("line")

    try:
        return lines(body)
    except pa.ArrowInvalid:
        if not profile.file.encoding.startswith("utf-8"):
            raise
    # a profile saying UTF-8, bytes that are not: GBK from another console, if they decode as that
    if file_encoding(profile, data).startswith("utf-8"):
        decode(profile, data, source)  # raises the LoadError that says where the bad bytes are
        raise LoadError([Problem(source, None, None, None, "not readable as text")])
    return lines(utf8(profile, data, source, checked=True))


def header_index(profile: Profile, head: list[str], source: str) -> int:
    """0-based index of the header row among ``head`` lines, or LoadError saying what was sought."""
    f = profile.file
    wanted = profile.header_cells()
    if wanted:
        idx = find_header_line(head, wanted, f.delimiter, start=f.skip_lines)
    else:
        idx = next((i for i in range(f.skip_lines, len(head)) if head[i].strip(_STRIP + f.delimiter)
                    and not (f.comment_prefix and head[i].startswith(f.comment_prefix))), None)
    if idx is None:
        what = f"a header row with {wanted}" if wanted else "a header row"
        raise LoadError([Problem(source, None, None, None, f"{what} not found in the first {len(head)} lines")],
                        hint=f"is this really a {profile.name} export?")
    return idx


def seq(start: int, n: int) -> pa.Array:
    """int64 array start, start+1, ... (n values) built in Arrow, not from a Python range."""
    if n == 0:
        return pa.array([], pa.int64())
    return pc.add(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), n)), start - 1)


def _read_lines(profile: Profile, lines: pa.Array, source: str) -> RawTable:
    head = lines.slice(0, HEAD_LINES).to_pylist()
    profile = profile.for_lines(head)  # TSV or CSV download of the same export
    f = profile.file
    h = header_index(profile, head, source)
    header = clean_names(next(csv.reader([head[h]], delimiter=f.delimiter, quotechar=f.quote)))
    body = lines.slice(h + 1)
    n = len(body)
    line_no = seq(h + 2, n)
    pos = seq(0, n)
    side = pa.repeat(pa.scalar(False), n)
    if f.comment_prefix:
        side = pc.or_(side, pc.starts_with(body, f.comment_prefix))
    if f.trailer_regex and n:
        hits = pc.indices_nonzero(pc.and_not(pc.match_substring_regex(body, f.trailer_regex), side))
        if len(hits):
            side = pc.or_(side, pc.greater_equal(pos, hits[0]))
    blank = pc.equal(pc.utf8_trim(body, _STRIP + f.delimiter), "")
    keep = pc.and_not(pc.invert(blank), side)
    if f.trailer_lines:
        kept_idx = pc.indices_nonzero(keep)
        tail = kept_idx.slice(max(0, len(kept_idx) - f.trailer_lines))
        drop = pc.is_in(pos, value_set=tail)
        _trailer_not_a_row(profile, header, body.filter(drop).to_pylist(), line_no.filter(drop).to_pylist(), source)
        side = pc.or_(side, drop)
        keep = pc.and_not(keep, drop)
    side_lines = [(i + 1, t) for i, t in enumerate(head[:h])]
    side_lines += list(zip(line_no.filter(side).to_pylist(), body.filter(side).to_pylist()))
    kept, kept_no = body.filter(keep), line_no.filter(keep)
    quoted = kept.filter(pc.match_substring(kept, f.quote))  # counting is slow: only where quotes are
    odd_quotes = len(quoted) > 0 and pc.any(pc.equal(pc.bit_wise_and(pc.count_substring(quoted, f.quote), 1), 1)).as_py()
    if odd_quotes:
        table, problems = _python_csv(profile, header, kept.to_pylist(), kept_no.to_pylist(), source)
    else:
        table, problems = _arrow_csv(profile, header, kept, kept_no, source)
    return RawTable(header, h + 1, table, side_lines, problems)


def _trailer_not_a_row(profile: Profile, header: list[str], texts: list[str], lines: list[int], source: str) -> None:
    """The last ``trailer_lines`` lines are dropped by count (导出人, 导出时间): a file cut short (a download that
    stopped) has no trailer, and its last rows were dropped in its place, silently (bench/fuzz_inputs.py: 7 of 9
    rows stored, exit 0). A dropped line with (nearly) the header's fields, at least half of the columns the profile
    reads filled (2 at least), is a row: the file is refused. Counting fields alone refused whole exports: a sheet
    saved as CSV pads every line to the header's width ('导出人：财务01,,,,,,'), a totals line fills a few."""
    f = profile.file
    wanted = {n for names in profile.columns.values() for n in names}
    read = [i for i, name in enumerate(header) if name in wanted] or list(range(len(header)))
    for line, text in zip(lines, texts):
        cells = next(csv.reader([text], delimiter=f.delimiter, quotechar=f.quote), [])
        filled = sum(1 for i in read if i < len(cells) and cells[i].strip(_STRIP))
        if len(header) > 2 and len(cells) >= len(header) - 1 and filled >= max(2, (len(read) + 1) // 2):
            raise LoadError([Problem(source, line, None, text[:120],
                                     f"a row where the export's last {f.trailer_lines} line(s) (not rows: "
                                     "导出人, 导出时间 …) should be: the file is cut short or its trailer is missing")],
                            hint="export or download the file again")


def _names(header: list[str]) -> list[str]:
    return ["_pm_line"] + [f"c{i}" for i in range(len(header))]


def _csv_buffer(parts: list[pa.Array]) -> pa.Buffer:
    """One buffer holding the element-wise join of ``parts`` plus a newline per row.

    A freshly computed string array's value buffer is its values back to back, so it *is* the
    CSV text; no Python string is built.
    """
    parts = [pc.cast(p, pa.large_string()) for p in parts]
    rows = pc.binary_join_element_wise(*parts, pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string()))
    chunks = rows.chunks if isinstance(rows, pa.ChunkedArray) else [rows]
    pieces = []
    for chunk in chunks:  # one per Arrow chunk (a handful), not per row
        if len(chunk):
            offsets = chunk.buffers()[1]
            start = pa.Array.from_buffers(pa.int64(), 1, [None, offsets], offset=chunk.offset)[0].as_py()
            end = pa.Array.from_buffers(pa.int64(), 1, [None, offsets], offset=chunk.offset + len(chunk))[0].as_py()
            pieces.append(chunk.buffers()[2].slice(start, end - start))
    return pieces[0] if len(pieces) == 1 else pa.py_buffer(b"".join(p.to_pybytes() for p in pieces))


def _arrow_csv(profile: Profile, header: list[str], kept: pa.Array, kept_no: pa.Array, source: str):
    d = profile.file.delimiter
    names = _names(header)
    if len(kept) == 0:
        return pa.table({n: pa.array([], pa.int64() if n == "_pm_line" else pa.string()) for n in names}), []
    opts = dict(strings_can_be_null=False, quoted_strings_can_be_null=False)
    bad: list[str] = []

    def note_bad(row) -> str:
        bad.append(row.text)
        return "skip"

    # Fast path: rows parsed in order, one per kept line, so row i is line kept_no[i].
    table = pacsv.read_csv(
        pa.BufferReader(_csv_buffer([kept])),
        read_options=pacsv.ReadOptions(column_names=names[1:], block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=d, quote_char=profile.file.quote, invalid_row_handler=note_bad),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names[1:]}, **opts),
    )
    if not bad and table.num_rows == len(kept):
        return table.add_column(0, "_pm_line", kept_no), []
    # Some rows did not fit the header: parse again with each line's number as a leading field,
    # so the reader's complaint about a row says which line it was.
    problems: list[Problem] = []

    def bad_row(row) -> str:
        num, _, rest = row.text.partition(d)
        fields = len(next(csv.reader([rest], delimiter=d, quotechar=profile.file.quote), []))
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(source, int(num), None, rest[:120],
                                    f"row has {fields} fields, the header has {len(header)}"))
        return "skip"

    types = {n: pa.string() for n in names}
    types["_pm_line"] = pa.int64()
    table = pacsv.read_csv(
        pa.BufferReader(_csv_buffer([kept_no, pa.repeat(pa.scalar(d), len(kept)), kept])),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=d, quote_char=profile.file.quote, invalid_row_handler=bad_row),
        convert_options=pacsv.ConvertOptions(column_types=types, **opts),
    )
    return table, problems


def _python_csv(profile: Profile, header: list[str], kept: list[str], kept_no: list[int], source: str):
    # Rare path (a quoted value spans lines): Python's csv module tracks how many lines each
    # record consumed, which maps every record back to its first physical line.
    reader = csv.reader((line + "\n" for line in kept), delimiter=profile.file.delimiter, quotechar=profile.file.quote)
    cols: list[list[str]] = [[] for _ in range(len(header) + 1)]
    problems: list[Problem] = []
    consumed = 0
    for record in reader:
        line = kept_no[consumed]
        consumed = reader.line_num
        if len(record) != len(header):
            if len(problems) < MAX_PROBLEMS:
                problems.append(Problem(source, line, None, profile.file.delimiter.join(record)[:120],
                                        f"row has {len(record)} fields, the header has {len(header)}"))
            continue
        cols[0].append(line)
        for i, value in enumerate(record, 1):
            cols[i].append(value)
    arrays = [pa.array(cols[0], pa.int64())] + [pa.array(c, pa.string()) for c in cols[1:]]
    return pa.Table.from_arrays(arrays, names=_names(header)), problems
