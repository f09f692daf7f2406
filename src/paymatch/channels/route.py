"""Which inputs given as channel transactions are really channel bills as delivered.

Users pass a WeChat/Alipay/UnionPay bill (or a folder or archive of them) where a canonical
transactions CSV is expected as often as not: the bill is the file they have. Such an input is
read the way ``--bills`` reads it instead of being refused for lacking the canonical columns.
A canonical CSV (its header names the canonical required columns) is always read as one, also
inside a folder, and a file nothing recognises stays a transactions CSV, so its missing columns are
reported as before.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zipfile
import zlib
from pathlib import Path

from paymatch.channels.bill_walk import walk
from paymatch.channels.detect import decode_head, detect
from paymatch.sources.mapping_read import zip_files
from paymatch.sources.specs import TRANSACTIONS

_REQUIRED = frozenset(f.name for f in TRANSACTIONS if f.required)
_HEAD = 1 << 16


def delivered_bill(path: Path) -> str | None:
    """What ``path`` is when it is a bill as delivered ("a folder", "a wechat bill", …); None when it is
    (or can only be read as) a canonical transactions CSV."""
    if path.is_dir():
        return "a folder"
    if not path.is_file():
        return None  # the canonical loader names the missing file
    with path.open("rb") as f:
        head = f.read(_HEAD)
    if _canonical(head):
        return None
    names = []
    for entry in walk(path):
        if entry.data:
            parser = detect(entry.name, entry.data)
            if parser is not None:
                names.append(getattr(parser, "channel", None) or parser.name)
    return f"a {', '.join(dict.fromkeys(names))} bill" if names else None


def _canonical(head: bytes) -> bool:
    first = decode_head(head, _HEAD).lstrip("\ufeff").splitlines()[:1]
    if not first:
        return False
    try:
        cols = {c.strip() for c in next(csv.reader(io.StringIO(first[0])))}
    except (StopIteration, csv.Error):
        return False
    return _REQUIRED <= cols


def split_inputs(transactions: list[Path]) -> tuple[list[Path], list[tuple[Path, str]], list[tuple[Path, str]]]:
    """(canonical transactions CSVs, [(bill input, what it is)], [(file left out, why)]) in the order given.

    A folder's canonical CSVs (by their header; hidden files and folders left out) are loaded as
    transactions files, sorted by name, each content once (a bill.csv beside the bill.csv.gz it was unpacked
    from is one file); the folder's other files are read as bills, each on its own."""
    canonical, bills, skipped = [], [], []
    for p in transactions:
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(x.startswith(".") or x == "__MACOSX" for x in f.relative_to(p).parts))
            csvs = [f for f in files if _canonical_file(f)]
            if csvs:
                once, twins = _once(csvs)
                canonical += once
                skipped += twins
                bills += [(f, "a bill (beside the folder's canonical CSVs)") for f in files if f not in csvs]
                continue
        what = delivered_bill(p)
        if what is None:
            canonical.append(p)
        else:
            bills.append((p, what))
    return canonical, bills, skipped


def _once(files: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """``files`` with each content once (compared as the loader reads them, unpacked), and the copies left out.
    Only files of equal unpacked size are read and hashed."""
    size = {f: _unpacked_size(f) for f in files}
    same_size: dict[int, int] = {}
    for n in size.values():
        same_size[n] = same_size.get(n, 0) + 1
    keep, twins, seen = [], [], {}
    for f in files:
        if same_size[size[f]] == 1:
            keep.append(f)
            continue
        digest = _digest(f)
        if digest in seen:
            twins.append((f, f"same content as {seen[digest]}"))
        else:
            seen[digest] = f
            keep.append(f)
    return keep, twins


def _unpacked_size(path: Path) -> int:
    """The size of what the loader reads from ``path``, without unpacking it: a .gz's own record of it (its last
    four bytes, mod 4 GiB), a .zip's directory entry, else the file's size. Unreadable: a size of its own."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
            if magic[:2] == b"\x1f\x8b":
                f.seek(-4, io.SEEK_END)
                return int.from_bytes(f.read(4), "little")
        if magic == b"PK\x03\x04":
            with zipfile.ZipFile(path) as z:
                return zip_files(z)[0].file_size
        return path.stat().st_size
    except (OSError, zipfile.BadZipFile, IndexError):
        return -path.stat().st_size - 1


def _digest(path: Path) -> str:
    """SHA-256 of what the loader reads from ``path`` (a .gz or one-file .zip unpacked); a damaged archive: a
    value of its own (it is kept, and the loader names its problem)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as raw:
            magic = raw.read(4)
            raw.seek(0)
            if magic[:2] == b"\x1f\x8b":
                f = gzip.open(raw, "rb")
            elif magic == b"PK\x03\x04":
                z = zipfile.ZipFile(raw)
                f = z.open(zip_files(z)[0])
            else:
                f = raw
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, IndexError):
        return f"unreadable:{path}"
    return h.hexdigest()


def _canonical_file(path: Path) -> bool:
    """Whether ``path`` (or the one file a .gz / .zip of it holds, as the loader reads it) is a canonical CSV."""
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as g:
                head = g.read(_HEAD)
        elif head[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(path) as z:
                files = zip_files(z)
                if len(files) != 1:
                    return False
                with z.open(files[0]) as m:
                    head = m.read(_HEAD)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError, RuntimeError):
        return False  # a damaged archive: the bill reader names it
    return _canonical(head)
