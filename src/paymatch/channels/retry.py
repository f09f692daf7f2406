"""Retries with exponential backoff, shared by the channels' bill clients (Alipay, UnionPay)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from paymatch.errors import ChannelError

T = TypeVar("T")


class Transient(Exception):
    """A failure worth another try (network, timeout, 5xx, a damaged download)."""


def retrying(step: Callable[[], T], *, retries: int, backoff: float, sleep: Callable[[float], None],
             what: Callable[[str], str]) -> T:
    """``step()``, tried again after ``backoff`` seconds (doubled each time) while it raises ``Transient``, at most
    ``retries`` more times; then ChannelError(``what(cause)``) naming the attempts and the last cause."""
    wait = backoff
    last = ""
    for attempt in range(retries + 1):
        try:
            return step()
        except Transient as exc:
            last = str(exc)
            if attempt == retries:
                break
            sleep(wait)
            wait *= 2
    raise ChannelError(what(f"gave up after {retries + 1} attempts; last: {last}"))
