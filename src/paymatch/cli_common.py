"""What every CLI module shares: the consoles and the one place errors become messages."""

from __future__ import annotations

import functools
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from .errors import PaymatchError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

#: the command parameters that name what a command writes (a file, or a folder of files)
OUTPUT_PARAMS = ("out", "excel", "csv", "json")
#: writers write ``<name>.part`` beside the file and rename it when complete
PART = ".part"
#: exit status of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, as a shell reports it)
INTERRUPTED = 130


def handle_errors(fn):
    """Translate paymatch errors, and the operating system's (an output that cannot be written, a
    file that cannot be read), into a clear message (markup-safe) and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        missing = _missing_folder(kwargs)
        if missing is not None:
            _fail(missing)
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt:
            _stopped()
        except PaymatchError as e:
            _fail(str(e))
        except Exception as e:
            if _interrupted(e):
                _stopped()
            os_error = _os_error(e)
            if os_error is None:
                raise
            outputs = [Path(kwargs[k]) for k in OUTPUT_PARAMS if isinstance(kwargs.get(k), (str, Path))]
            _remove_parts(outputs, os_error)
            _fail(_os_message(os_error, outputs))
    return wrapper


def _missing_folder(kwargs: dict) -> str | None:
    """An output file (``--excel``, ``--json``) in a folder that does not exist, said before any work: a month's
    report was built (20 s and more) only to fail at its first write (helper-68). Folders given as outputs (``--out``,
    ``--csv``) are created."""
    for k in ("excel", "json"):
        v = kwargs.get(k)
        if isinstance(v, (str, Path)) and not Path(v).absolute().parent.is_dir():
            return (f"cannot write {v}: No such file or directory (the folder {Path(v).absolute().parent} does not "
                    "exist)\nHint: create the folder first or give a path in a folder that exists; nothing was "
                    "computed or written")
    return None


def _fail(message: str):
    err.print(f"[bold red]error:[/bold red] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(2) from None


def _interrupted(e: BaseException) -> bool:
    """Whether ``e`` is DuckDB's report of a query it stopped for Ctrl-C (or SIGTERM, which ``cli.main`` turns into
    one): a RuntimeError 'Query interrupted' when the signal came during the query, else its InterruptException."""
    return type(e).__name__ == "InterruptException" or (isinstance(e, RuntimeError) and str(e) == "Query interrupted")


def _stopped():
    """Ctrl-C or SIGTERM: said in one line (no traceback) once the command's ``with`` blocks have rolled back what
    was being stored and removed their temp files and ``.part`` outputs."""
    err.print("[bold red]interrupted[/bold red]: what was being stored was not stored (a file's load and a run's "
              "results are stored whole or not at all) and no half-written output was left\n"
              "Hint: run the command again; what it stored before the interruption is not stored twice",
              markup=True, highlight=False)
    raise typer.Exit(INTERRUPTED) from None


def _os_error(e: BaseException) -> OSError | None:
    """The OSError behind ``e``: ``e`` itself, or one a library wrapped (xlsxwriter's FileCreateError(e))."""
    for x in (e, *(e.args[:1] if e.args else ()), e.__cause__):
        if isinstance(x, OSError):
            return x
    return None


def _os_message(e: OSError, outputs: list[Path]) -> str:
    what = e.strerror or str(e)
    # a rename names the file being replaced second; a writer's temp file stands for its final name
    name = e.filename2 if e.filename2 is not None else e.filename
    if name is None:
        if outputs:
            return (f"cannot write {', '.join(map(str, outputs))}: {what}\n"
                    "Hint: make room or choose another place; nothing half-written was left there")
        return f"{what}\nHint: check the paths given and their permissions"
    path = Path(str(name))
    written = path.name.endswith(PART) or any(_within(path, o) for o in outputs)
    if path.name.endswith(PART):
        path = path.with_name(path.name[: -len(PART)])
    if written:
        hint = ("a file of that name is in the way: give a folder (created if absent) or another name" if
                isinstance(e, FileExistsError) and path.is_file() else
                "give a path in a folder that exists and that you may write to")
        return f"cannot write {path}: {what}\nHint: {hint}; nothing half-written was left there"
    return f"cannot read {path}: {what}\nHint: check the path and its permissions"


def _within(path: Path, folder: Path) -> bool:
    p, f = path.absolute(), folder.absolute()
    return p == f or f in p.parents


def _remove_parts(outputs: list[Path], e: OSError) -> None:
    """Remove what a failed write left half-done: writers' ``.part`` files at or inside the outputs."""
    parts = [Path(str(n)) for n in (e.filename, e.filename2) if n is not None and str(n).endswith(PART)]
    for o in outputs:
        parts.append(o.with_name(o.name + PART))
        if o.is_dir():
            parts += o.glob(f"*{PART}")
    for p in parts:
        try:
            if p.is_file():
                p.unlink()
        except OSError:
            pass
