"""A fake third-party credit service: a real HTTP server on 127.0.0.1 (ephemeral port) in a thread.

It verifies the request signature (401 if wrong), and answers according to ``mode``:
approve, deny, slow (sleeps ``delay`` s first), 5xx (500), malformed (signed non-JSON),
badsig (a valid answer with a wrong signature), flaky (503 for the first ``fail_first`` calls,
then approve), trickle (a valid approval whose body comes 10 bytes every ``delay`` s),
trickle_headers (the same, from its status line on). ``available_fen`` is the limit it reports. Responses are signed with the same
scheme as requests (HMAC shared secret, or the service's RSA key).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from paymatch.credit.signing import Signer, message, new_headers


class FakeCreditService:
    """Start with ``with FakeCreditService(signer) as svc:``; ``svc.url`` is the base URL."""

    def __init__(self, signer: Signer, *, mode: str = "approve", available_fen: int = 100_000, delay: float = 2.0):
        self.signer, self.mode, self.available_fen, self.delay = signer, mode, available_fen, delay
        self.fail_first = 1
        self.calls = 0
        self.bad_requests = 0
        svc = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                svc.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ts, nonce, sig = (self.headers.get(h, "") for h in ("X-Timestamp", "X-Nonce", "X-Signature"))
                if not svc.signer.verify(message(ts, nonce, body), sig):
                    svc.bad_requests += 1
                    return self._send(401, b'{"error":"bad signature"}')
                req = json.loads(body)
                mode = svc.mode
                if mode == "slow":
                    time.sleep(svc.delay)
                    mode = "approve"
                if mode == "5xx" or (mode == "flaky" and svc.calls <= svc.fail_first):
                    return self._send(500 if mode == "5xx" else 503, b"upstream error", sign=False)
                if mode == "malformed":
                    return self._send(200, b'{"request_id": "' + req["request_id"].encode() + b'", "approve": ')
                answer = {"request_id": req["request_id"], "approve": mode != "deny",
                          "available_fen": svc.available_fen,
                          "reason": "risk score too low" if mode == "deny" else "ok"}
                if mode in ("trickle", "trickle_headers"):
                    return self._trickle(json.dumps(answer).encode(), head_too=(mode == "trickle_headers"))
                self._send(200, json.dumps(answer).encode(), corrupt=(mode == "badsig"))

            def _trickle(self, payload, head_too):
                head = "".join(f"{k}: {v}\r\n" for k, v in {
                    "Content-Type": "application/json", "Content-Length": str(len(payload)),
                    **new_headers(svc.signer, payload)}.items())
                head = f"HTTP/1.1 200 OK\r\n{head}\r\n".encode()
                raw, start = head + payload, 0 if head_too else len(head)
                try:
                    self.wfile.write(raw[:start])
                    for i in range(start, len(raw), 10):
                        self.wfile.write(raw[i:i + 10])
                        self.wfile.flush()
                        time.sleep(svc.delay)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up
                    pass

            def _send(self, status, payload, sign=True, corrupt=False):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if sign:
                    headers = new_headers(svc.signer, payload)
                    if corrupt:
                        headers["X-Signature"] = svc.signer.sign(b"something else")
                    for k, v in headers.items():
                        self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (slow mode)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeCreditService:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
