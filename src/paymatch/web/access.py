"""The workspace a running service writes notifications and credit decisions into.

Given a workspace file, the service opens it for each write or read and closes it at once, so the other paymatch
commands (ingest, pull, reconcile, report) use the same file between requests: notifications reach the daily
reconciliation without stopping the service. While another command holds the file (DuckDB allows one writer), a
request waits up to ``wait`` seconds and then fails: a notification is answered as not taken (the channel resends
it: WeChat within minutes, Alipay on its schedule), a credit check with 503. Given an open ``Workspace`` (tests,
an in-memory one), it is held for the service's life.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import PaymatchError
from ..workspace import Workspace


class WorkspaceBusy(PaymatchError):
    """Another paymatch command holds the workspace file longer than a request waits."""


class WorkspaceAccess:
    """Serialised use of one workspace (see module docstring); ``open()`` is a context manager."""

    def __init__(self, target: Workspace | str | Path, *, wait: float = 2.0):
        self._held = target if isinstance(target, Workspace) else None
        self.path = None if self._held is not None else Path(target)
        self.wait = wait
        self.lock = threading.Lock()
        if self.path is not None:
            Workspace(self.path).close()  # created (or upgraded) now, and a bad path fails at start

    @contextmanager
    def open(self) -> Iterator[Workspace]:
        """The workspace, for one write or read (under the service's lock); ``wait`` bounds the whole wait, for
        the lock and for the file (helper-62: requests queued on the lock waited 2 s each, one after another)."""
        deadline = time.monotonic() + self.wait
        if not self.lock.acquire(timeout=self.wait):
            raise WorkspaceBusy(f"{self.path or 'workspace'}: busy with other requests")
        try:
            if self._held is not None:
                yield self._held
                return
            try:
                ws = Workspace(self.path, lock_wait=max(0.0, deadline - time.monotonic()))
            except PaymatchError as e:
                raise WorkspaceBusy(f"{self.path}: in use by another paymatch command ({e})") from None
            try:
                yield ws
            finally:
                ws.close()
        finally:
            self.lock.release()
