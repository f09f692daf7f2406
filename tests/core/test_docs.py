"""Every public module, class, function and method of paymatch has a docstring (one test for the whole package)."""

import importlib
import inspect
import pkgutil

import paymatch


def _modules():
    for m in pkgutil.walk_packages(paymatch.__path__, "paymatch."):
        if not m.name.endswith("__main__"):
            yield m.name


def test_public_api_documented():
    missing = []
    for name in _modules():
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue  # optional extras (e.g. pyspark) are checked where installed
        if not (mod.__doc__ or "").strip():
            missing.append(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not (obj.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
            if inspect.isclass(obj):
                for meth, fn in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                        missing.append(f"{name}.{attr}.{meth}")
    assert not missing, "missing docstrings: " + ", ".join(missing)


def _readme_command_lines() -> list[str]:
    """Every `paymatch …` line the README shows: the ```bash blocks (continuation lines joined, comments cut) and
    inline code such as `.venv/bin/paymatch demo --stores 300 …`."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        cur = ""
        for ln in block.splitlines():
            ln = "" if ln.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", ln).strip()
            if not ln:
                continue
            cur = f"{cur} {ln}" if cur else ln
            if cur.endswith("\\"):
                cur = cur[:-1]
                continue
            lines.append(cur)
            cur = ""
    lines += re.findall(r"`((?:\.venv/bin/)?paymatch [^`]+)`", text)
    return [re.sub(r"^\.venv/bin/", "", ln) for ln in lines if re.match(r"(\.venv/bin/)?paymatch ", ln)]


def test_every_readme_command_line_parses():
    """A user copies the README's command lines: each names a command that exists, only options it has (optional
    parts in [brackets] included) and every option it requires. Values are not checked here (the files are examples)."""
    import shlex

    import typer

    from paymatch.cli import app

    lines = _readme_command_lines()
    assert len(lines) >= 15, lines  # the "Using it" block, the ERP example, make demo's bigger run
    bad = []
    for line in lines:
        args = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
        cmd = typer.main.get_command(app)
        while hasattr(cmd, "commands") and args and not args[0].startswith("-"):  # a group: descend
            name = args.pop(0)
            if name not in cmd.commands:
                bad.append(f"{line}: no command {name!r}")
                break
            cmd = cmd.commands[name]
        else:
            known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
            given = {a.split("=")[0] for a in args if a.startswith("--")} - {"--help"}
            bad += [f"{line}: {cmd.name} has no option {o}" for o in sorted(given - known)]
            bad += [f"{line}: {cmd.name} requires {p.opts[0]}" for p in cmd.params
                    if p.required and not given & set(p.opts)]
    assert not bad, "\n".join(bad)
