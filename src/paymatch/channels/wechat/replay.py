"""Replay protection for notifications: a tiny store interface and its in-memory default.

A store remembers keys (a notification's nonce, its id) until they expire. ``add_if_absent`` is
the only check-and-set, so an implementation backed by Redis (SET NX EX) or a database unique
key can replace the in-memory one for several server processes.
"""

from __future__ import annotations

import threading
from typing import Protocol


class ReplayStore(Protocol):
    """Where seen notification keys are kept until ``expires_at`` (epoch seconds)."""

    def add_if_absent(self, key: str, expires_at: float, now: float) -> bool:
        """Remember ``key``; False when it is already remembered and not yet expired."""
        ...

    def discard(self, key: str) -> None:
        """Forget ``key`` (used when handling failed, so the channel's retry is accepted)."""
        ...

    def contains(self, key: str, now: float) -> bool:
        """Whether ``key`` is remembered and not yet expired."""
        ...


class MemoryReplayStore:
    """Thread-safe in-memory ReplayStore for one server process."""

    def __init__(self) -> None:
        self._keys: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def add_if_absent(self, key: str, expires_at: float, now: float) -> bool:
        """Remember ``key`` until ``expires_at``; False when it is already there and still live."""
        with self._lock:
            if now >= self._next_prune:  # amortised cleanup keeps memory bounded by the window
                self._keys = {k: t for k, t in self._keys.items() if t > now}
                self._next_prune = now + 60
            if self._keys.get(key, 0.0) > now:
                return False
            self._keys[key] = expires_at
            return True

    def discard(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._keys.pop(key, None)

    def contains(self, key: str, now: float) -> bool:
        """Whether ``key`` is remembered and not yet expired."""
        with self._lock:
            return self._keys.get(key, 0.0) > now

    def __len__(self) -> int:
        return len(self._keys)
