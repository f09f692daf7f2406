"""Signed HTTP JSON client for a third-party credit service, with bounded time.

Protocol (what ``tests/credit/fake_service.py`` speaks):
  POST {base_url}{path}  body {"request_id", "member_id", "amount_fen", "term"}
  headers X-Timestamp, X-Nonce, X-Signature (see ``signing``) over the exact body bytes.
  200 answer {"request_id", "approve": bool, "available_fen": int, "reason": str}, signed the
  same way by the service; the client checks the signature, the timestamp (within
  ``max_skew_s``) and that request_id echoes ours (so an old answer can't be replayed).

Time bound: one ``query`` ends within ``total_timeout`` whatever the service does. The deadline is
enforced below httpx, in the network backend (``_DeadlineBackend``): every network wait (connect,
TLS handshake, each write, each read of the headers and of the body) waits at most ``timeout`` and
never past the deadline, and once it has passed the next wait fails at once. So a service that
trickles its answer a few bytes at a time is cut off at the deadline (httpx's own timeouts apply
per read, and a trickle never trips them). Timeouts, connection errors and 5xx are retried
(``retries`` more times, short backoff) while the deadline allows; a 4xx, bad signature or
malformed JSON is not retried. Any failure raises ChannelError naming the service and the request
id. Not bounded: resolving the service's host name (the system resolver; give an IP address, or a
name the resolver answers from its cache, where that matters).
"""

from __future__ import annotations

import contextvars
import json
import time
import uuid
from dataclasses import dataclass

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

from paymatch.credit.signing import HmacSigner, RsaSigner, Signer, message, new_headers
from paymatch.errors import ChannelError

SERVICE = "credit service"


class _Answer(BaseModel):
    """Wire model of the service's answer (strict: a string "true" is not a bool)."""

    model_config = ConfigDict(extra="ignore")
    request_id: StrictStr
    approve: StrictBool
    available_fen: StrictInt
    reason: StrictStr = ""


@dataclass(frozen=True)
class CreditAnswer:
    """The service's verified answer: approve flag, the member's available limit in fen, its reason."""

    request_id: str
    approve: bool
    available_fen: int
    reason: str


#: monotonic deadline of the query running in this thread/context (None: no bound)
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("paymatch_credit_deadline", default=None)


def _capped(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to the time left before the query's deadline; ``expired`` raised once it has passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the credit check's total_timeout has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every wait ends by the deadline of the query using it."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname,
                                                     _capped(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every wait bounded by the running query's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_tcp(host, port, _capped(timeout, httpcore.ConnectTimeout),
                                                       local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_unix_socket(path, _capped(timeout, httpcore.ConnectTimeout),
                                                               socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _transport() -> httpx.HTTPTransport:
    """httpx's transport over a connection pool on ``_DeadlineBackend``.

    httpx has no public way to choose httpcore's network backend, so the pool it made is replaced by one
    made the same way (httpx is pinned to 0.28 in pyproject.toml; tests/credit holds the bound).
    """
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                              network_backend=_DeadlineBackend())
    return transport


class CreditClient:
    """Client for the credit service.

    Give ``secret`` (HMAC-SHA256, shared) or ``private_key`` + ``service_public_key`` (RSA-SHA256).
    ``timeout``: seconds per attempt; ``retries``: extra attempts after the first;
    ``total_timeout``: hard bound on one ``query``: connect, send, answer, retries and backoff.
    """

    def __init__(
        self,
        base_url: str,
        *,
        secret: bytes | str | None = None,
        private_key=None,
        service_public_key=None,
        timeout: float = 2.0,
        retries: int = 2,
        total_timeout: float = 5.0,
        path: str = "/v1/credit/limit",
        max_skew_s: int = 300,
    ):
        if secret is not None:
            self.signer: Signer = HmacSigner(secret.encode() if isinstance(secret, str) else secret)
        elif private_key is not None and service_public_key is not None:
            self.signer = RsaSigner(private_key, service_public_key)
        else:
            raise ValueError("CreditClient needs a shared secret or an RSA key pair (ours + the service's public key)")
        if timeout <= 0 or total_timeout <= 0 or retries < 0:
            raise ValueError("timeout and total_timeout must be > 0, retries >= 0")
        self.url = base_url.rstrip("/") + path
        self.timeout, self.retries, self.total_timeout = timeout, retries, total_timeout
        self.max_skew_s = max_skew_s
        # never route to a proxy from the environment
        self._http = httpx.Client(trust_env=False, transport=_transport())

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def query(self, member_id: str, amount_fen: int, term: int, request_id: str | None = None) -> CreditAnswer:
        """Ask the service about one credit payment; ChannelError on any failure within the time budget."""
        rid = request_id or uuid.uuid4().hex
        body = json.dumps({"request_id": rid, "member_id": member_id, "amount_fen": amount_fen, "term": term},
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        deadline = time.monotonic() + self.total_timeout
        token = _DEADLINE.set(deadline)
        try:
            return self._attempts(rid, body, deadline)
        finally:
            _DEADLINE.reset(token)

    def _attempts(self, rid: str, body: bytes, deadline: float) -> CreditAnswer:
        last = "no attempt made"
        for attempt in range(self.retries + 1):
            left = deadline - time.monotonic()
            if left <= 0.001:
                break
            try:
                resp = self._http.post(
                    self.url, content=body,
                    headers={"Content-Type": "application/json", **new_headers(self.signer, body)},
                    timeout=min(self.timeout, left),
                )
            except httpx.TimeoutException:
                last = "timed out"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
            else:
                if resp.status_code >= 500:
                    last = f"HTTP {resp.status_code}"
                elif resp.status_code != 200:
                    raise self._error(rid, f"HTTP {resp.status_code}: {resp.text[:200]}")
                else:
                    return self._parse(rid, resp)
            # short backoff, never past the deadline
            pause = min(0.05 * (2**attempt), max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
        raise self._error(rid, f"{last} (budget {self.total_timeout:g}s, {self.retries + 1} attempt(s))")

    def _parse(self, rid: str, resp: httpx.Response) -> CreditAnswer:
        ts, nonce, sig = (resp.headers.get(h, "") for h in ("X-Timestamp", "X-Nonce", "X-Signature"))
        if not (ts and nonce and sig) or not self.signer.verify(message(ts, nonce, resp.content), sig):
            raise self._error(rid, "response signature missing or invalid")
        if not ts.isdigit() or abs(time.time() - int(ts)) > self.max_skew_s:
            raise self._error(rid, f"response timestamp {ts!r} outside {self.max_skew_s}s")
        try:
            answer = _Answer.model_validate_json(resp.content)
        except ValidationError as exc:
            raise self._error(rid, f"malformed answer: {exc.errors()[0]['msg']}") from None
        if answer.request_id != rid:
            raise self._error(rid, f"answer is for another request ({answer.request_id})")
        return CreditAnswer(answer.request_id, answer.approve, answer.available_fen, answer.reason)

    def _error(self, rid: str, what: str) -> ChannelError:
        return ChannelError(f"{SERVICE} {self.url}: request {rid}: {what}")
