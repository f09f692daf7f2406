"""Credit decisions: the service's answer combined with what paymatch knows, and a failure policy.

remaining_limit_fen = service's available limit - the member's outstanding instalments known to
paymatch (``instalments.report.member_outstanding_fen``). Approve when the service approves and
the amount fits in the remaining limit. When the service fails in any way (down, slow, 5xx,
malformed, bad signature) the policy decides: deny with 'credit service unavailable' (fail
closed, the default), or approve amounts strictly below ``fail_open_below_fen``.
Every decision is written to the audit log before it is returned.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from paymatch.credit.audit import AuditRecord
from paymatch.credit.client import CreditAnswer
from paymatch.errors import ChannelError
from paymatch.instalments.config import InstalmentConfig
from paymatch.instalments.plan import PlanError, check_term
from paymatch.money import format_yuan

UNAVAILABLE = "credit service unavailable"


@dataclass(frozen=True)
class Decision:
    """Answer to one credit check.

    remaining_limit_fen: the member's limit left before this purchase (None when the service
    could not be asked). source: 'service' (its answer was used) or 'policy' (it failed).
    """

    approve: bool
    reason: str
    remaining_limit_fen: int | None
    source: str
    request_id: str


@dataclass(frozen=True)
class CreditPolicy:
    """What to do when the service fails: fail closed unless ``fail_open_below_fen`` is set."""

    fail_open_below_fen: int | None = None


class _Client(Protocol):
    def query(self, member_id: str, amount_fen: int, term: int, request_id: str | None = None) -> CreditAnswer: ...


class _Audit(Protocol):
    def record(self, rec: AuditRecord) -> None: ...


class CreditChecker:
    """Runs credit checks: validates the request, asks the client, applies the policy, audits.

    outstanding: member_id -> outstanding instalment fen, used when ``check`` gets none.
    config/channel: when both are given, the term must be one the channel offers.
    """

    def __init__(
        self,
        client: _Client,
        *,
        audit: _Audit | None = None,
        policy: CreditPolicy = CreditPolicy(),
        outstanding: Callable[[str], int] | None = None,
        config: InstalmentConfig | None = None,
        channel: str | None = None,
    ):
        self.client, self.audit, self.policy = client, audit, policy
        self.outstanding, self.config, self.channel = outstanding, config, channel

    def check(self, member_id: str, amount_fen: int, term: int, outstanding_fen: int | None = None) -> Decision:
        """Decide one credit payment. Raises PlanError/ValueError for bad input (nothing is asked)."""
        if not member_id:
            raise ValueError("member_id is empty")
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError(f"amount must be a positive number of fen, got {amount_fen!r}")
        if isinstance(term, bool) or not isinstance(term, int) or term <= 0:
            raise PlanError(f"instalment term must be a positive whole number of periods, got {term!r}")
        if self.config is not None and self.channel is not None:
            check_term(self.channel, term, self.config)
        if outstanding_fen is None:
            outstanding_fen = self.outstanding(member_id) if self.outstanding else 0
        rid = uuid.uuid4().hex
        started = time.monotonic()
        error = None
        try:
            answer = self.client.query(member_id, amount_fen, term, request_id=rid)
        except ChannelError as exc:
            error = str(exc)
            decision = self._policy(amount_fen, rid)
        else:
            decision = self._combine(answer, amount_fen, outstanding_fen, rid)
        if self.audit is not None:
            self.audit.record(AuditRecord(
                decided_at=dt.datetime.now(dt.timezone.utc), request_id=rid, member_id=member_id,
                amount_fen=amount_fen, term=term, outstanding_fen=outstanding_fen, approve=decision.approve,
                reason=decision.reason, remaining_limit_fen=decision.remaining_limit_fen, source=decision.source,
                service_error=error, elapsed_ms=int((time.monotonic() - started) * 1000),
            ))
        return decision

    def _combine(self, answer: CreditAnswer, amount_fen: int, outstanding_fen: int, rid: str) -> Decision:
        remaining = max(0, answer.available_fen - outstanding_fen)
        if not answer.approve:
            return Decision(False, f"denied by credit service: {answer.reason or 'no reason given'}", remaining,
                            "service", rid)
        if amount_fen > remaining:
            return Decision(
                False,
                f"amount {format_yuan(amount_fen)} exceeds remaining limit {format_yuan(remaining)} "
                f"(available {format_yuan(answer.available_fen)} - outstanding instalments {format_yuan(outstanding_fen)})",
                remaining, "service", rid)
        return Decision(True, "within remaining limit", remaining, "service", rid)

    def _policy(self, amount_fen: int, rid: str) -> Decision:
        limit = self.policy.fail_open_below_fen
        if limit is not None and amount_fen < limit:
            return Decision(True, f"{UNAVAILABLE}; approved by policy (amount below {format_yuan(limit)})",
                            None, "policy", rid)
        return Decision(False, UNAVAILABLE, None, "policy", rid)
