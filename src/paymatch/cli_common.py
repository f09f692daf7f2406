"""What every CLI module shares: the consoles and the one place errors become messages."""

from __future__ import annotations

import functools

import typer
from rich.console import Console
from rich.markup import escape

from .errors import PaymatchError

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def handle_errors(fn):
    """Translate paymatch errors into a clear message (markup-safe) and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PaymatchError as e:
            err.print(f"[bold red]error:[/bold red] {escape(str(e))}", markup=True, highlight=False)
            raise typer.Exit(2) from None
    return wrapper
