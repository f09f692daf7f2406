"""Build a ``CreditChecker`` from the config file's ``[credit]`` section and a workspace.

Keys: base_url (required), secret_file | secret_env (HMAC-SHA256) or private_key_file +
service_public_key_file (RSA-SHA256), path, timeout, retries, total_timeout (seconds),
fail_open_below_fen (unset = fail closed), channel (check that the term is one it offers),
audit_jsonl (audit file when there is no workspace), api_token_file | api_token_env (the bearer token
``paymatch serve`` requires on POST /api/credit/check). File paths are relative to the config file.

The member's outstanding instalments come from the workspace, read as the instalment report reads
them (``instalments.stored.stored_plans``): plans of their paid orders, minus the periods the latest
stored outcomes show as received.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..instalments.report import member_outstanding_fen
from ..instalments.stored import stored_plans
from ..schema import today_local
from .audit import DuckDBAudit, JsonlAudit
from .client import CreditClient
from .decision import CreditChecker, CreditPolicy

_KNOWN = {"base_url", "secret_file", "secret_env", "private_key_file", "service_public_key_file", "path", "timeout",
          "retries", "total_timeout", "fail_open_below_fen", "channel", "audit_jsonl", "api_token_file",
          "api_token_env"}


def _read(base: Path, key: str, value: str) -> bytes:
    try:
        return (base / value).read_bytes()
    except OSError as e:
        raise ConfigError(f"credit.{key}: cannot read {base / value} ({e.strerror})") from None


def client_from_config(section: dict[str, Any], base: Path) -> CreditClient:
    """The HTTP client for the configured credit service (ConfigError names the key on problems)."""
    unknown = sorted(set(section) - _KNOWN)
    if unknown:
        raise ConfigError(f"credit: unknown key(s) {unknown}")
    if not isinstance(section.get("base_url"), str):
        raise ConfigError("credit: key 'base_url' is required (the credit service's URL)")
    kw: dict[str, Any] = {k: section[k] for k in ("timeout", "retries", "total_timeout", "path") if k in section}
    if "secret_file" in section:
        kw["secret"] = _read(base, "secret_file", section["secret_file"]).strip()
    elif "secret_env" in section:
        value = os.environ.get(section["secret_env"])
        if not value:
            raise ConfigError(f"credit: environment variable {section['secret_env']} (secret_env) is not set")
        kw["secret"] = value
    elif "private_key_file" in section and "service_public_key_file" in section:
        from .signing import load_private_key, load_public_key

        kw["private_key"] = load_private_key(_read(base, "private_key_file", section["private_key_file"]))
        kw["service_public_key"] = load_public_key(_read(base, "service_public_key_file",
                                                         section["service_public_key_file"]))
    else:
        raise ConfigError("credit: set secret_file/secret_env (HMAC) or private_key_file + service_public_key_file (RSA)")
    try:
        return CreditClient(section["base_url"], **kw)
    except ValueError as e:
        raise ConfigError(f"credit: {e}") from None


def checker_from_config(config: Config, config_dir: Path | None, ws=None, *, access=None) -> CreditChecker:
    """A checker that audits into the workspace (table credit_decisions) or a JSONL file.

    ``ws``: an open workspace (the CLI's one check); ``access``: a ``web.access.WorkspaceAccess`` the service opens
    for each decision (its outstanding instalments, its audit record)."""
    section = dict(config.credit)
    base = config_dir or Path.cwd()
    client = client_from_config(section, base)
    if ws is not None and access is None:
        from ..web.access import WorkspaceAccess

        access = WorkspaceAccess(ws)
    if access is not None:
        audit: Any = _WorkspaceAudit(access)
    else:
        audit = JsonlAudit(base / section.get("audit_jsonl", "credit_decisions.jsonl"))
    from ..instalment_run import instalment_config

    icfg = instalment_config(config)

    def outstanding(member_id: str) -> int:
        with access.open() as w:
            return workspace_outstanding(w, icfg, member_id, key_scope=tuple(config.match.key_scope))

    fail_open = section.get("fail_open_below_fen")
    return CreditChecker(client, audit=audit, policy=CreditPolicy(fail_open_below_fen=fail_open),
                         outstanding=outstanding if access is not None else None,
                         config=icfg if section.get("channel") else None, channel=section.get("channel"))


def workspace_outstanding(ws, icfg, member_id: str, as_of: dt.date | None = None, *,
                          key_scope: tuple[str, ...] = ()) -> int:
    """Outstanding instalment fen of one member from the workspace's orders and latest outcomes (``key_scope``:
    the rules' ``[match] key_scope``; a plan is keyed as the runs keyed it)."""
    as_of = as_of or today_local()
    plan, outcomes = stored_plans(ws.con, icfg, member_id, as_of, key_scope=key_scope)
    return member_outstanding_fen(plan, outcomes, as_of, member_id)


class _WorkspaceAudit:
    """Audit records into the workspace's credit_decisions table, opened for each record."""

    def __init__(self, access):
        self.access = access

    def record(self, rec) -> None:
        """Write one audit record."""
        with self.access.open() as ws:
            DuckDBAudit(ws.con).record(rec)


