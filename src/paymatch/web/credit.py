"""POST /api/credit/check: the credit-limit check over HTTP (FastAPI router).

Check input -> one ``CreditChecker.check`` call -> render. API models are separate from the
domain ``Decision``; bad input (amount not a yuan string, both or neither of amount/amount_fen,
a term the channel doesn't offer) is a 422 with the reason.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, StrictInt, model_validator

from paymatch.credit.decision import CreditChecker
from paymatch.instalments.plan import PlanError
from paymatch.money import format_yuan, parse_yuan
from paymatch.web.access import WorkspaceBusy


class CreditCheckRequest(BaseModel):
    """A credit check: member, amount (yuan string like "199.00" or integer fen), term in periods."""

    member_id: str = Field(min_length=1, max_length=128)
    amount: str | None = Field(default=None, description="yuan with up to 2 decimals")
    amount_fen: StrictInt | None = None
    term: StrictInt

    @model_validator(mode="after")
    def _one_amount(self) -> CreditCheckRequest:
        if (self.amount is None) == (self.amount_fen is None):
            raise ValueError("give exactly one of amount (yuan) and amount_fen")
        if self.amount is not None:
            self.amount_fen = parse_yuan(self.amount)  # ValueError -> 422 with the reason
        if self.amount_fen <= 0:
            raise ValueError("amount must be positive")
        return self


class CreditCheckResponse(BaseModel):
    """The decision: approve/deny, why, the remaining limit (fen and yuan; null if unknown), source."""

    approve: bool
    reason: str
    remaining_limit_fen: int | None
    remaining_limit: str | None
    source: str
    request_id: str


def make_router(checker: CreditChecker) -> APIRouter:
    """Router with POST /api/credit/check bound to ``checker``."""
    router = APIRouter()

    @router.post("/api/credit/check", response_model=CreditCheckResponse)
    def credit_check(req: CreditCheckRequest) -> CreditCheckResponse:
        """Ask the credit service (bounded time) and answer approve/deny with the remaining limit."""
        try:
            d = checker.check(req.member_id, req.amount_fen, req.term)
        except (PlanError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except WorkspaceBusy as exc:  # the member's instalments cannot be read now: ask again in a moment
            raise HTTPException(status_code=503, detail=str(exc)) from None
        rem = d.remaining_limit_fen
        return CreditCheckResponse(
            approve=d.approve, reason=d.reason, remaining_limit_fen=rem,
            remaining_limit=None if rem is None else format_yuan(rem), source=d.source, request_id=d.request_id,
        )

    return router
