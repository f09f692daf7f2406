"""Reading a request body with a bound: a notification is a few KiB, and anyone can POST to the endpoints."""

from __future__ import annotations

from fastapi import Request

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
