"""Reading a request body with a bound (a notification is a few KiB, and anyone can POST to the endpoints), and
reading it as a form."""

from __future__ import annotations

import urllib.parse

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
