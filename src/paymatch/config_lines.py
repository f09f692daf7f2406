"""The line of a key in a TOML or YAML file: config and profile errors name ``file:line: key '…'`` (helper-107).

A validation error gives the key's path (``('fees', 'rates', 1, 'rate')``); the parsers keep no positions (tomllib)
or keep them apart (YAML's node marks). The line is that of the deepest part of the path found: the key itself, else
the table or mapping holding it (a key the file lacks: the section it is missing from)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import yaml

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_.\-"' ]+?)\s*=""")


def _parts(dotted: str) -> tuple[str, ...]:
    """``a."b.c".d`` -> ('a', 'b.c', 'd')."""
    out = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', dotted)
    return tuple(a or b or c for a, b, c in out)


def _toml_lines(text: str) -> Iterator[tuple[int, tuple[str, ...], str | None]]:
    """(line number, the key path the line names, the rest of the line after '=' or None for a table header) of each
    line of TOML ``text`` that names a table or a key; an array of tables' n-th table's path ends in 'n'."""
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
            yield no, table, None
            continue
        k = _KEY.match(line)
        if k:
            yield no, table + _parts(k.group(1)), line[k.end():]


def toml_key_line(text: str, loc: Sequence[object]) -> int | None:
    """The 1-based line of ``loc`` in TOML ``text`` (tables, arrays of tables, keys; not inside inline tables)."""
    want = tuple(str(x) for x in loc)
    best, depth = None, 0
    for no, found, _ in _toml_lines(text):
        # (a key only the path of a table header names, [inputs.order.columns]'s 'inputs.order', is on that line: it
        # was named by its parent's line, or by none)
        n = min(len(found), len(want))
        if n > depth and want[:n] == found[:n]:
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


#: most values a YAML file's aliases may expand to: a config or profile holds a few hundred; nine levels of nine
#: aliases each ("billion laughs") are 387 million, which exhausted the memory when the config was hashed
MAX_YAML_VALUES = 100_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (``safe_load`` refuses a key given twice in one mapping: PyYAML keeps the last, silently:
    a profile's column mapped twice read the second header only; helper-112)."""


def _check_keys(loader: yaml.SafeLoader, root: yaml.Node) -> None:
    """Refuse a key given twice in one mapping, naming both lines. Checked on the composed nodes before anything is
    constructed: constructing a mapping merges its ``<<: *anchor`` keys into the anchored node itself, so a check
    made then took an anchor's own override of a key it merges for a key given twice (helper-113)."""
    done: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, value_node in node.value:
                todo.extend((key_node, value_node))
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue  # (<<: *anchor: its keys may be overridden here; a complex key: PyYAML's own error)
                key = loader.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                    if first is None:
                        seen[key] = key_node.start_mark.line + 1
                        continue
                except TypeError:
                    continue
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (first on line {first}): which one is meant would be "
                    "a guess", key_node.start_mark)


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand to more than ``MAX_YAML_VALUES`` values (an anchor bomb), naming the
    first node found that large; each node is counted once (memoised), so the check is linear in the text."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        got = sizes.get(id(node))
        if got is not None:
            return got
        sizes[id(node)] = 1  # (a node holding itself: counted once)
        if isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(c) for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            n = 1
        if n > MAX_YAML_VALUES:
            raise yaml.constructor.ConstructorError(
                None, None, f"its aliases expand to more than {MAX_YAML_VALUES:,} values (an anchor bomb?)",
                node.start_mark)
        sizes[id(node)] = n
        return n

    size(root)


def safe_load(text: str):
    """``yaml.safe_load`` refusing a key given twice and an anchor bomb (``yaml.YAMLError`` naming the line)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        _check_keys(loader, node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _toml_token_line(text: str, loc: tuple[str, ...], token: str) -> int | None:
    n = len(loc)
    for no, found, rest in _toml_lines(text):
        if rest is None:  # a table header
            if len(found) > n and found[:n] == loc and token in found[n:]:
                return no
            continue
        if len(found) <= n or found[:n] != loc:
            continue
        value = rest.split("#")[0].strip()
        if token in found[n:] or value in (f'"{token}"', f"'{token}'"):
            return no
    return None


def _yaml_token_line(text: str, loc: tuple[str, ...], token: str) -> int | None:
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for part in loc:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if str(k.value) == part), None)
        if node is None:
            return None
    todo = [node]
    while todo:
        n = todo.pop(0)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if str(k.value) == token or (isinstance(v, yaml.ScalarNode) and v.value == token):
                    return k.start_mark.line + 1
                todo.append(v)
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
    return None


def named_line(text: str, loc: Sequence[object], msg: str, *, is_yaml: bool) -> int | None:
    """The line of what a validation message quotes ('payed_at' is not a canonical column; values.status: 'payed'),
    a key or a value inside the table at ``loc``: a check of a whole table (the columns, the value words) names the
    table's key and quotes the entry, whose line is more use than the table's (helper-112). None when not found."""
    want = tuple(str(x) for x in loc)
    for token in re.findall(r"'([^']+)'", msg):
        line = _yaml_token_line(text, want, token) if is_yaml else _toml_token_line(text, want, token)
        if line:
            return line
    return None


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
