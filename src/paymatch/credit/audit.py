"""Audit log of credit decisions: a DuckDB table ``credit_decisions`` when a workspace connection
is given, else a JSONL file (one JSON object per line, appended).

DuckDB is preferred because the workspace is where finance staff already query; JSONL is for a
credit check run without a workspace. Both writers are thread-safe (the web app runs requests
in a thread pool).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

DDL = """CREATE TABLE IF NOT EXISTS credit_decisions (
    decided_at TIMESTAMPTZ, request_id VARCHAR, member_id VARCHAR, amount_fen BIGINT, term INTEGER,
    outstanding_fen BIGINT, approve BOOLEAN, reason VARCHAR, remaining_limit_fen BIGINT,
    source VARCHAR, service_error VARCHAR, elapsed_ms BIGINT)"""


@dataclass(frozen=True)
class AuditRecord:
    """One decision as logged. service_error: why the service's answer was not used (None if it was)."""

    decided_at: dt.datetime
    request_id: str
    member_id: str
    amount_fen: int
    term: int
    outstanding_fen: int
    approve: bool
    reason: str
    remaining_limit_fen: int | None
    source: str
    service_error: str | None
    elapsed_ms: int


class DuckDBAudit:
    """Appends to ``credit_decisions`` in the given DuckDB connection (table created if absent)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._lock = threading.Lock()
        with self._lock:
            cur = con.cursor()
            cur.execute(DDL)
            cur.close()

    def record(self, rec: AuditRecord) -> None:
        """Insert one row."""
        vals = asdict(rec)
        cols = ", ".join(vals)
        with self._lock:
            cur = self._con.cursor()
            try:
                cur.execute(f"INSERT INTO credit_decisions ({cols}) VALUES ({', '.join('?' * len(vals))})",
                            list(vals.values()))
            finally:
                cur.close()


class JsonlAudit:
    """Appends one JSON object per decision to ``path`` (times ISO-8601 with offset)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, rec: AuditRecord) -> None:
        """Append one line and flush it."""
        line = json.dumps({**asdict(rec), "decided_at": rec.decided_at.isoformat()}, ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
