"""Walking a file or folder of bills as delivered: folders (hidden ones and documents skipped), .gz, .zip (GBK member
names too) and .tar archives expanded, each file found as an ``Entry`` with its bytes, or why it is skipped or
unreadable (``detect`` then recognises each by its content)."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paymatch.channels.base import zip_member_name
from paymatch.channels.profile_xlsx import is_xlsx
from paymatch.errors import LoadError, Problem

#: extensions that are never bills (documents, images, checksums); everything else is judged by content
SKIP_EXT = frozenset(".md .pdf .png .jpg .jpeg .gif .bmp .doc .docx .ppt .pptx .json .xml .html .htm .log "
                     ".sha1 .sha256 .md5 .sig .py .yaml .yml .toml .ini .exe .dll".split())
SKIP_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
_MAGIC_SKIP = ((b"%PDF", "a PDF document"), (b"\x89PNG", "an image"), (b"\xff\xd8\xff", "an image"),
               (b"GIF8", "an image"))


@dataclass
class Entry:
    """One file found by ``walk``: bytes ready to detect, or why it is skipped / unreadable."""

    name: str
    data: bytes = b""
    sha256: str = ""
    skip: str | None = None
    error: LoadError | None = None


def _damaged(name: str, what: str, exc: BaseException) -> LoadError:
    return LoadError([Problem(name, None, None, None, f"damaged {what}: {exc}")],
                     hint="download or copy the file again; it is truncated or corrupt")


def _skip_reason(name: str, data: bytes) -> str | None:
    base = re.split(r"[/\\!]", name)[-1]
    if base.startswith(".") or base.lower() in SKIP_NAMES or "__MACOSX/" in name:
        return "hidden or system file"
    if Path(base).suffix.lower() in SKIP_EXT:
        return f"not a bill ({Path(base).suffix} file)"
    if not data or data.isspace():  # isspace stops at the first other byte: no copy of a big file
        return "empty file"
    for magic, what in _MAGIC_SKIP:
        if data.startswith(magic):
            return f"not a bill ({what})"
    return None


def _expand(name: str, data: bytes, sha: str, depth: int = 0) -> Iterator[Entry]:
    """Entries of one file's bytes: itself, or the members of the archive it is."""
    reason = _skip_reason(name, data)
    if reason:
        yield Entry(name, sha256=sha, skip=reason)
        return
    if depth > 4:  # nested deeper than any channel delivers: refuse rather than recurse forever
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "archives nested too deep")]))
        return
    if is_xlsx(data):
        yield Entry(name, data, sha)
    elif data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            yield Entry(name, sha256=sha, error=_damaged(name, "gzip file", exc))
            return
        # named like a zip member (archive!file): messages and provenance name the file the user has
        inner_name = name.rsplit("!", 1)[-1].replace("\\", "/").rsplit("/", 1)[-1]
        stem = f"{name}!{inner_name[:-3]}" if name.lower().endswith(".gz") else name + "!gunzip"
        yield from _expand(stem, inner, sha, depth + 1)
    elif data[:4] == b"PK\x03\x04":
        yield from _unzip(name, data, sha, depth)
    elif len(data) > 262 and data[257:262] == b"ustar":
        yield from _untar(name, data, sha, depth)
    elif data[:4] == b"\xd0\xcf\x11\xe0":
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "legacy .xls workbook")],
                                                    hint="save it as .xlsx or CSV"))
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        yield Entry(name, sha256=sha, error=LoadError([Problem(name, None, None, None, "UTF-16 text")],
                                                    hint="save it as UTF-8 (or GBK) CSV"))
    elif b"\x00" in data[:4096]:
        nul = data.index(b"\x00")
        if _text_with_nuls(data[:4096]):  # a bill damaged by a stray NUL, not a PDF: was "left out as binary file"
            line = data.count(b"\n", 0, nul) + 1
            column = nul - data.rfind(b"\n", 0, nul)
            yield Entry(name, sha256=sha, error=LoadError(
                [Problem(name, line, None, None, f"a NUL byte (00) at column {column} of this text: the file is damaged")],
                hint="download or export the file again"))
        else:
            yield Entry(name, sha256=sha, skip="binary file")
    else:
        yield Entry(name, data, sha)


def _text_with_nuls(head: bytes) -> bool:
    """Whether ``head`` is text (UTF-8 or GB18030, lines of it) but for a few NUL bytes: a binary file (a PDF, an
    image) has NULs and undecodable bytes all through; UTF-16 has one NUL in every two bytes."""
    if head.count(b"\x00") * 50 > len(head) or head.count(b"\n") < 1:
        return False
    text = head.replace(b"\x00", b"")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(text, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


def _unzip(name: str, data: bytes, sha: str, depth: int) -> Iterator[Entry]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if not archive.infolist():
            raise zipfile.BadZipFile("no members")
        # an encrypted member (flag bit 0) cannot be read: None marks it
        members = [(zip_member_name(i), None if i.flag_bits & 0x1 else archive.read(i))
                   for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
        yield Entry(name, sha256=sha, error=_damaged(name, "zip file", exc))
        return
    for member, content in members:
        full = f"{name}!{member}"
        if content is None:
            yield Entry(full, sha256=sha, error=LoadError([Problem(full, None, None, None, "encrypted zip member")],
                                                        hint="extract it with its password first"))
        else:
            yield from _expand(full, content, sha, depth + 1)


def _untar(name: str, data: bytes, sha: str, depth: int) -> Iterator[Entry]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]
    except (tarfile.TarError, OSError, EOFError) as exc:
        yield Entry(name, sha256=sha, error=_damaged(name, "tar file", exc))
        return
    for member, content in members:
        yield from _expand(f"{name}!{member}", content, sha, depth + 1)


def walk(path: Path) -> Iterator[Entry]:
    """Every file under ``path`` (sorted, so runs are repeatable), archives expanded."""
    if not path.exists():
        raise LoadError([Problem(str(path), None, None, None, "no such file or folder")])
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        rel = str(file)
        inner = file.relative_to(path).parts[:-1] if file != path else ()
        reason = ("in a hidden or system folder" if any(p.startswith(".") or p == "__MACOSX" for p in inner)
                  else _skip_reason(rel, b"x"))
        if reason is not None:  # don't even read hidden files or documents
            yield Entry(rel, skip=reason)
            continue
        data = file.read_bytes()
        yield from _expand(rel, data, hashlib.sha256(data).hexdigest())


def among_siblings(name: str) -> bool:
    """``name`` is a member of a zip or tar (which can hold a bill's other files), not a .gz's one stream."""
    if "!" not in name:
        return False
    parent = name.rsplit("!", 1)[0]
    return not (parent.lower().endswith((".gz", ".gzip")) or name.endswith("!gunzip"))
