"""FastAPI router receiving WeChat Pay notifications: POST /notify/wechat.

Answers as WeChat Pay API v3 expects: 204 with no body once the notification is verified and
stored (WeChat accepts 200 or 204 and then stops resending); 4xx/5xx with
{"code": "FAIL", "message": ...} otherwise, which makes WeChat resend on its schedule.
- 401: signature, key, timestamp or ciphertext checks failed (a forgery or misconfiguration); also
  WeChat's own signature probe (WECHATPAY/SIGNTEST/), which is not quarantined: it is no forgery.
- 400: the exact request was replayed (same nonce), or the resource is unusable (quarantined, its field named).
- 204 for a re-sent notification id that was already stored: WeChat lost our first answer, so
  we confirm again without storing twice.
- 500: ``on_transaction`` failed; the replay marks are dropped so the resend is accepted.
"""

from __future__ import annotations

import logging
from typing import Callable

import pyarrow as pa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from paymatch.channels.wechat.notify import (
    NotificationRejected, NotificationReplayed, SignatureProbe, WechatNotifyVerifier, to_transactions,
)
from paymatch.web.body import BodyTooLarge, capped_body, quarantine

log = logging.getLogger(__name__)


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": "FAIL", "message": message}, status_code=status)


def make_router(verifier: WechatNotifyVerifier, on_transaction: Callable[[pa.Table], None],
                on_reject: Callable[[bytes, str], None] | None = None) -> APIRouter:
    """Router with POST /notify/wechat: verify + decrypt, hand the one-row canonical table to
    ``on_transaction`` (run in a worker thread), answer WeChat in its expected way.
    ``on_reject(body, reason)`` keeps a forged/tampered/expired notification aside (quarantine)."""
    router = APIRouter()

    @router.post("/notify/wechat", status_code=204)
    async def notify_wechat(request: Request) -> Response:
        """Receive one WeChat Pay notification."""
        try:
            body = await capped_body(request)
        except BodyTooLarge as exc:
            return _fail(413, str(exc))
        try:
            note = verifier.verify(request.headers, body)
        except NotificationReplayed as exc:
            if exc.same_id and exc.stored:
                return Response(status_code=204)
            if exc.same_id:  # its first delivery is still being stored (or failed): WeChat sends it again
                return _fail(503, "being handled, please resend")
            log.warning("%s", exc)
            return _fail(400, exc.reason)
        except SignatureProbe as exc:  # WeChat checking that we verify: refused, not kept as a forgery
            log.info("%s", exc)
            return _fail(401, exc.reason)
        except NotificationRejected as exc:
            log.warning("%s", exc)  # never log the body: it may carry payer data
            await quarantine(on_reject, body, str(exc), "wechat")
            return _fail(401, exc.reason)
        try:
            table = to_transactions(note)
        except NotificationRejected as exc:  # signed by WeChat, but a value does not read: kept for a person too
            verifier.forget(note)
            log.warning("%s", exc)
            await quarantine(on_reject, body, str(exc), "wechat")
            return _fail(400, exc.reason)
        if table.num_rows:
            try:
                await run_in_threadpool(on_transaction, table)
            except Exception:  # any storage failure: let WeChat resend later
                verifier.forget(note)
                log.exception("wechat: storing notification %s failed", note.id)
                return _fail(500, "temporary failure, please resend")
        verifier.stored(note)
        return Response(status_code=204)

    return router
