"""The one root exception and the load-problem record.

Problems in *data* that reconciliation can express become outcomes; problems that make
an input unusable (bad amount, missing column, duplicate key) are collected as
``Problem`` records and raised together in one ``LoadError`` so a user sees all of
them in one run. Exceptions otherwise mean misuse.
"""

from __future__ import annotations

from dataclasses import dataclass


class PaymatchError(Exception):
    """Root of every error paymatch raises on purpose."""


class ConfigError(PaymatchError):
    """The configuration file is invalid; the message names the file and the key."""


class ChannelError(PaymatchError):
    """A channel answered badly (signature, hash, totals, protocol); message names channel and request."""


class NoBillThatDay(ChannelError):
    """The channel's API says it has no bill for the day asked (WeChat NO_STATEMENT_EXIST, Alipay
    isp.bill_not_exist: no trade that day): nothing to store, not a failure."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input.

    file:  path of the input (or a request id / notification id for network inputs).
    line:  1-based physical line in the file, header included; None when the problem is file-wide.
    field: column name, or None when the problem is not about one field.
    value: the offending raw value as read (None when absent).
    message: what is wrong, in plain words.
    """

    file: str
    line: int | None
    field: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f" [{self.field}]"
        val = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.message}{val}"


class LoadError(PaymatchError):
    """An input file could not be loaded; nothing from it was stored.

    ``problems`` lists up to ``limit`` problems found in one pass; ``total`` counts all.
    """

    def __init__(self, problems: list[Problem], total: int | None = None, hint: str | None = None):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        self.hint = hint
        lines = [str(p) for p in problems]
        more = self.total - len(problems)
        if more > 0:
            lines.append(f"... and {more} more problem(s)")
        if hint:
            lines.append(f"Hint: {hint}")
        super().__init__("\n".join(lines))

    def after(self, stored: list[str]) -> "LoadError":
        """This error, saying which files the same command stored before it (each file is all-or-nothing: those
        stay; helper-48 found the output told only of the failed file)."""
        if not stored:
            return self
        note = "stored by this command before it (each file all-or-nothing, these stay): " + ", ".join(stored)
        return LoadError(self.problems, total=self.total, hint=f"{self.hint}; {note}" if self.hint else note)
