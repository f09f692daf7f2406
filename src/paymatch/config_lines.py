"""The line of a key in a TOML or YAML file: config and profile errors name ``file:line: key '…'`` (helper-107).

A validation error gives the key's path (``('fees', 'rates', 1, 'rate')``); the parsers keep no positions (tomllib)
or keep them apart (YAML's node marks). The line is that of the deepest part of the path found: the key itself, else
the table or mapping holding it (a key the file lacks: the section it is missing from)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import yaml

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\-"' ]+?)\s*=""")


def _parts(dotted: str) -> tuple[str, ...]:
    """``a."b.c".d`` -> ('a', 'b.c', 'd')."""
    out = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', dotted)
    return tuple(a or b or c for a, b, c in out)


def toml_key_line(text: str, loc: Sequence[object]) -> int | None:
    """The 1-based line of ``loc`` in TOML ``text`` (tables, arrays of tables, keys; not inside inline tables)."""
    want = tuple(str(x) for x in loc)
    best, depth = None, 0
    table: tuple[str, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    for no, line in enumerate(text.splitlines(), 1):
        m = _HEADER.match(line)
        if m:
            path = _parts(m.group(2))
            if m.group(1) == "[[":
                counts[path] = counts.get(path, -1) + 1
                path = path + (str(counts[path]),)
            table = path
            found = table
        else:
            k = _KEY.match(line)
            if not k:
                continue
            found = table + _parts(k.group(1))
        n = len(found)
        if n > depth and want[:n] == found:
            best, depth = no, n
    return best


def yaml_key_line(text: str, loc: Sequence[object]) -> int | None:
    """The 1-based line of ``loc`` in YAML ``text`` (by the composed nodes' marks)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if hit is None:
                break
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def key_line(text: str, loc: Sequence[object], *, is_yaml: bool) -> int | None:
    """``yaml_key_line`` or ``toml_key_line`` as the file is."""
    return yaml_key_line(text, loc) if is_yaml else toml_key_line(text, loc)


def error_line(text: str, exc: Exception) -> tuple[int | None, str]:
    """The line a TOML or YAML syntax error names and `` (line: …)`` showing it (a key defined twice is named only
    as "Cannot overwrite a value (at line 11, column 21)": the text shows which key)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        line = mark.line + 1
    else:
        m = re.search(r"at line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
    lines = text.splitlines()
    if line is None or not 0 < line <= len(lines):
        return line, ""
    return line, f" (line {line}: {lines[line - 1].strip()[:120]})"


def at(path: object, line: int | None) -> str:
    """``path:line`` (``path`` alone when the line is not known)."""
    return f"{path}:{line}" if line else str(path)
