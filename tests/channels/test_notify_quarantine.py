"""web.body.quarantine: how each notification endpoint keeps a refused notification aside."""

import asyncio
import logging
import threading

from paymatch.web.body import quarantine


def test_the_refused_body_and_its_reason_are_kept_from_a_worker_thread():
    kept = []

    def on_reject(body: bytes, reason: str) -> None:  # writes to the workspace: never on the event loop's thread
        kept.append((body, reason, threading.get_ident()))

    asyncio.run(quarantine(on_reject, b"sign=forged", "alipay: bad signature", "alipay"))
    [(body, reason, thread)] = kept
    assert (body, reason) == (b"sign=forged", "alipay: bad signature")
    assert thread != threading.get_ident()


def test_a_quarantine_that_fails_is_logged_and_the_refusal_still_answered(caplog):
    def on_reject(body: bytes, reason: str) -> None:
        raise OSError("disk full")

    with caplog.at_level(logging.ERROR, logger="paymatch.web.body"):
        assert asyncio.run(quarantine(on_reject, b"x", "unionpay: bad signature", "unionpay")) is None
    [record] = caplog.records
    assert record.getMessage() == "unionpay: quarantining a refused notification failed"
    assert "disk full" in caplog.text
    assert asyncio.run(quarantine(None, b"x", "no quarantine configured", "wechat")) is None
