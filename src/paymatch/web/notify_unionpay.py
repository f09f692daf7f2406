"""POST /notify/unionpay: receive a UnionPay 全渠道 back notification (backUrl), verify it, hand it on, answer.

UnionPay takes HTTP 200 as "received" (acpsdk's demos answer "ok"); anything else makes it send the notification
again. So: 200 "ok" once stored (a notification stored before, the same queryId, stores nothing new and is answered
"ok" again: UnionPay lost the first answer); 400 for one refused (unreadable, another merchant, unsigned, forged,
wrongly chained, tampered, fields that do not map: kept in the quarantine with the reason); 413 for a body over the
bound; 500 when storing failed (UnionPay sends it again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pyarrow as pa
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from paymatch.channels.unionpay_notify import UnionPayNotifyVerifier
from paymatch.errors import ChannelError
from paymatch.web.body import BodyTooLarge, capped_body, parse_form, quarantine

log = logging.getLogger(__name__)


def make_router(verifier: UnionPayNotifyVerifier, on_transaction: Callable[[pa.Table], None],
                on_reject: Callable[[bytes, str], None] | None = None) -> APIRouter:
    """Router with POST /notify/unionpay; ``on_transaction`` gets the verified one-row table (in a worker thread);
    ``on_reject(body, reason)`` keeps a refused notification aside (quarantine)."""
    router = APIRouter()

    async def refuse(body: bytes, reason: str) -> PlainTextResponse:
        log.warning("%s", reason)  # never the body: it may carry card data
        await quarantine(on_reject, body, reason, "unionpay")
        return PlainTextResponse("fail", status_code=400)

    @router.post("/notify/unionpay", response_class=PlainTextResponse)
    async def notify_unionpay(request: Request) -> PlainTextResponse:
        """Verify a UnionPay notification; 200 "ok" when stored, a non-200 answer otherwise."""
        try:
            body = await capped_body(request)
        except BodyTooLarge as exc:
            log.warning("unionpay notification: %s", exc)
            return PlainTextResponse("fail", status_code=413)
        try:
            form = parse_form(body, "encoding")
        except (UnicodeDecodeError, ValueError) as exc:
            return await refuse(body, f"unionpay: notification: unreadable body ({exc})")
        try:
            table = verifier.verify(form)
        except ChannelError as exc:
            return await refuse(body, str(exc))
        if table.num_rows:
            try:  # storing may wait for the workspace file: not on the event loop
                await run_in_threadpool(on_transaction, table)
            except Exception:  # noqa: BLE001 - any storage failure: UnionPay must send it again
                log.exception("unionpay: storing notification queryId=%s failed", form.get("queryId"))
                return PlainTextResponse("fail", status_code=500)
        return PlainTextResponse("ok")

    return router
