"""POST /notify/alipay: receive an Alipay async notification, verify it, hand it on, answer Alipay.

Alipay expects the plain text "success" once a notification is taken; anything else makes it
retry (up to 8 times over about a day). The body is application/x-www-form-urlencoded; its
``charset`` field says how the percent-escapes are encoded (utf-8 by default).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from paymatch.channels.alipay.notify import AlipayNotifyVerifier, NotificationAlreadyAccepted
from paymatch.errors import ChannelError
from paymatch.web.body import BodyTooLarge, capped_body, parse_form, quarantine

log = logging.getLogger(__name__)

OnTransaction = Callable[[pa.Table], None | Awaitable[None]]


def make_router(verifier: AlipayNotifyVerifier, on_transaction: OnTransaction,
                on_reject: Callable[[bytes, str], None] | None = None) -> APIRouter:
    """Router with POST /notify/alipay; ``on_transaction`` gets the verified one-row table;
    ``on_reject(body, reason)`` keeps a notification that failed verification aside (quarantine)."""
    router = APIRouter()

    async def refuse(body: bytes, reason: str) -> PlainTextResponse:
        log.warning("%s", reason)
        await quarantine(on_reject, body, reason, "alipay")
        return PlainTextResponse("failure")

    @router.post("/notify/alipay", response_class=PlainTextResponse)
    async def notify_alipay(request: Request) -> PlainTextResponse:
        """Verify an Alipay notification; answer "success" when stored, "failure" otherwise."""
        try:
            body = await capped_body(request)
        except BodyTooLarge as exc:
            log.warning("alipay notification: %s", exc)
            return PlainTextResponse("failure", status_code=413)
        try:
            params = parse_form(body)
        except (UnicodeDecodeError, ValueError) as exc:
            return await refuse(body, f"alipay: notification: unreadable body ({exc})")
        try:
            table = verifier.verify(params)
        except NotificationAlreadyAccepted:
            return PlainTextResponse("success")  # a resend: our first "success" did not reach Alipay
        except ChannelError as exc:
            return await refuse(body, str(exc))
        try:  # in a worker thread: storing may wait for the workspace file, the event loop must not
            result = await run_in_threadpool(on_transaction, table)
            if inspect.isawaitable(result):
                await result
        except Exception:  # noqa: BLE001 - any storage failure means Alipay must retry
            verifier.forget(params["notify_id"])
            log.exception("alipay notification %s: storing failed", params.get("notify_id"))
            return PlainTextResponse("failure")
        return PlainTextResponse("success")

    return router
