"""Reading a request body with a bound (a notification is a few KiB, and anyone can POST to the endpoints),
reading it as a form, and keeping a refused notification aside."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

#: the largest body read (WeChat's and Alipay's notifications are a few KiB)
MAX_BODY = 256 * 1024


class BodyTooLarge(Exception):
    """The request's body is larger than the bound (nothing more of it is read)."""


async def capped_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, or BodyTooLarge as soon as its declared length or what has arrived passes ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes (at most {limit})")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


#: the charsets a notification form may name (Alipay's ``charset``, UnionPay's ``encoding``)
FORM_CHARSETS = ("utf-8", "utf8", "gbk", "gb2312", "gb18030")


def parse_form(body: bytes, charset_field: str = "charset") -> dict[str, str]:
    """Decode an application/x-www-form-urlencoded body whose percent-escapes are in the charset its own
    ``charset_field`` names (utf-8 when absent; Alipay: ``charset``, UnionPay: ``encoding``); ValueError (or
    UnicodeDecodeError) when it is no such form."""
    text = body.decode("ascii")  # percent-encoded: pure ASCII, or not a form at all
    charset = dict(urllib.parse.parse_qsl(text, encoding="latin-1")).get(charset_field) or "utf-8"
    if charset.lower() not in FORM_CHARSETS:
        raise ValueError(f"unsupported {charset_field} {charset!r}")
    return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict"))


async def quarantine(on_reject: Callable[[bytes, str], None] | None, body: bytes, reason: str, channel: str) -> None:
    """Keep a refused notification for a person (``on_reject(body, reason)``, in a worker thread: it writes to the
    workspace). Best effort: a failure is logged and the answer to the channel stays a refusal."""
    if on_reject is None:
        return
    try:
        await run_in_threadpool(on_reject, body, reason)
    except Exception:  # noqa: BLE001 - the refusal is answered whatever happens here
        log.exception("%s: quarantining a refused notification failed", channel)
