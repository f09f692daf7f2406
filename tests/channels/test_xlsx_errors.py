"""Excel error values (#N/A…) in .xlsx sheets: calamine reads them as empty, ``profile_xlsx`` gives their text."""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from paymatch.channels import profile_xlsx
from paymatch.channels.profile_xlsx import _error_cells, _error_cells_parsed, open_sheet

CODES = ["#N/A", "#VALUE!", "#REF!", "#DIV/0!"]


def _book(path: Path, rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def _rewrite_sheet(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose first sheet's XML went through ``edit`` (bytes → bytes)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, edit(data) if item.filename == "xl/worksheets/sheet1.xml" else data)
    return dst


@pytest.fixture()
def many(tmp_path) -> tuple[Path, dict]:
    rnd = random.Random(7)
    rows, want = [["id", "amount", "store", "note"]], {}
    for i in range(1, 400):
        row = [f"A{i}", i, f"S{i % 7}", "x" * rnd.randint(0, 30)]
        for j in range(4):
            if rnd.random() < 0.05:
                row[j] = rnd.choice(CODES)
                want.setdefault(i, {})[j] = row[j]
        rows.append(row)
    return _book(tmp_path / "many.xlsx", rows), want


@pytest.mark.parametrize("chunk", [5, 13, 64, 1000, 1 << 22])
def test_error_cells_found_whatever_the_chunk_boundaries(many, monkeypatch, chunk):
    book, want = many
    monkeypatch.setattr(profile_xlsx, "_CHUNK", chunk)
    assert _error_cells(book, None) == want
    with zipfile.ZipFile(book) as zf:
        assert _error_cells_parsed(zf, "xl/worksheets/sheet1.xml") == want  # the full parse agrees


def test_cells_without_references_and_xml_expat_refuses(many, tmp_path):
    book, want = many
    # a writer that leaves out the cells' r attributes: placed by their position
    bare = _rewrite_sheet(book, tmp_path / "bare.xlsx", lambda x: re.sub(rb' r="[A-Z]+[0-9]+"', b"", x))
    assert _error_cells(bare, None) == want
    # trailing garbage after the sheet: no error cells rather than a traceback
    broken = _rewrite_sheet(bare, tmp_path / "broken.xlsx", lambda x: x + b"<<garbage")
    assert _error_cells(broken, None) == {}


def test_open_sheet_gives_the_error_text_except_in_rows_holding_nothing_else(tmp_path):
    book = _book(tmp_path / "b.xlsx", [["id", "amount", "lookup"], ["A1", 1, "#N/A"], ["A2", "#VALUE!", "ok"],
                                       [None, None, "#N/A"], [None, None, "#N/A"]])
    wb, rows = open_sheet(book, None, str(book))
    try:
        got = [[str(v) for v in r] for r in rows]
    finally:
        wb.close()
    assert got[1][2] == "#N/A" and got[2][1] == "#VALUE!"
    assert got[3:] == [["", "", ""], ["", "", ""]]  # a lookup column filled down below the data: empty rows
    # the same workbook from bytes, and a sheet chosen by name
    wb, rows = open_sheet(book.read_bytes(), "Sheet", str(book))
    try:
        assert [str(v) for v in list(rows)[2]] == ["A2", "#VALUE!", "ok"]
    finally:
        wb.close()


def test_an_error_cell_without_a_value_in_a_sheet_without_references(many, tmp_path):
    book, want = many
    bare = _rewrite_sheet(book, tmp_path / "bare.xlsx",
                          lambda x: re.sub(rb"<v>#N/A</v>", b"", re.sub(rb' r="[A-Z]+[0-9]+"', b"", x), count=1))
    assert _error_cells(bare, None) == want  # the value-less one reads as #N/A; the others are still found


SAMPLE = Path(profile_xlsx.__file__).parent.parent / "profiles" / "samples" / "bank_transfer_xlsx.xlsx"


@pytest.mark.parametrize("cells,refused", [
    ({"L5": "#N/A"}, "b.xlsx:5 [备注]: an Excel error value"),          # the column read as the order number
    ({"N1": "核对", **{f"N{i}": "#N/A" for i in range(2, 16)}}, None),    # a check column filled down: loads
    ({"F3": "#N/A"}, None),                                                # 余额, not read: loads
])
def test_error_values_in_an_xlsx_bill(tmp_path, cells, refused):
    from typer.testing import CliRunner

    from paymatch.cli import app

    wb = openpyxl.load_workbook(SAMPLE)
    for ref, v in cells.items():
        wb.active[ref] = v
    wb.save(tmp_path / "b.xlsx")
    res = CliRunner().invoke(app, ["ingest", "--workspace", str(tmp_path / "w.duckdb"), "--bills",
                                   str(tmp_path / "b.xlsx")])
    if refused:
        assert res.exit_code == 2 and refused in " ".join(res.output.split()), res.output
    else:
        assert res.exit_code == 0 and "10 rows" in res.output, res.output
