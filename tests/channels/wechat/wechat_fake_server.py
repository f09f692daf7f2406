"""A fake WeChat Pay API v3 gateway on 127.0.0.1 that speaks the real protocol.

It checks each request's WECHATPAY2-SHA256-RSA2048 Authorization with the merchant's public key,
serves the two-step bill download (signed JSON answer, then the gzip file with no signature),
signs its JSON answers with a platform key made in the test, and injects faults on demand:
``server.faults['apply' | 'file']`` is a list of fault names consumed one per request:
'500', 'timeout', 'truncate' (file only), 'corrupt' (file only: one byte flipped),
'wrong_hash' (apply only; 'wrong_hash_last': a split bill's last file only), 'bad_signature', 'unsigned',
'stale' (apply only: signed an hour ago). 'bad_signature' and 'unsigned' apply to a 4xx answer too (WeChat signs
the answers to every request whose signature it accepted, errors included; a 401 SIGN_ERROR is unsigned).

A service provider's bills: ``bills[(path, type, date, sub_mchid)]`` answers requests naming that ``sub_mchid``
(/v3/bill/tradebill?sub_mchid=..., /v3/bill/sub-merchant-fundflowbill); the sub-merchant fund-flow bill is served
as WeChat does it: ``download_bill_list`` of ``split`` files, each gzipped, then encrypted with AEAD_AES_256_GCM
under a fresh key sent RSA-OAEP-encrypted (``encrypt_key``) with the merchant's public key. ``download_origin``
makes download URLs point elsewhere (another WeChat API domain) than the server's own address.

获取平台证书列表: GET /v3/certificates answers ``{"data": server.certificates}`` (entries built by the test, each
certificate AEAD_AES_256_GCM encrypted under the APIv3 key), signed like every answer with ``platform_key`` as
``platform_key_id``: a test swaps both to have answers signed by another certificate (WeChat rotating its own).
``tamper_next`` changes the next signed answer's body after signing (a man in the middle).
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA1, SHA256

_AUTH = re.compile(r'^WECHATPAY2-SHA256-RSA2048 (.*)$')
_PAIR = re.compile(r'(\w+)="([^"]*)"')


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5) signature of message, as WeChat Pay makes it."""
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), SHA256())).decode()


@functools.lru_cache(maxsize=1)
def _wrong_key() -> rsa.RSAPrivateKey:
    """A key WeChat Pay does not have (one per test session; RSA generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeWechatPay(ThreadingHTTPServer):
    """The server; ``bills[(path, type, date)] = plain CSV bytes`` says what it can serve."""

    daemon_threads = True

    def __init__(self, *, mchid: str, merchant_serial: str, merchant_public_key, platform_key,
                 platform_key_id: str, delay: float = 1.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mchid, self.merchant_serial = mchid, merchant_serial
        self.merchant_public_key, self.platform_key = merchant_public_key, platform_key
        self.platform_key_id = platform_key_id
        self.delay = delay
        self.bills: dict[tuple[str, str, str], bytes] = {}
        self.faults: dict[str, list[str]] = {"apply": [], "file": []}
        self.probe_next = 0  # how many next signed answers carry a WECHATPAY/SIGNTEST/ probe signature
        self.tokens: dict[str, tuple[bytes, bool]] = {}
        self.log: list[tuple[str, str, int]] = []  # (step, path, status answered)
        # made up front: generating it inside a request could outlast a client's timeout
        self.wrong_key = _wrong_key()
        self.request_serials: list[str | None] = []  # the Wechatpay-Serial header of each request
        self.split = 1  # how many files a sub-merchant fund-flow bill is split into (bill_sequence 1..split)
        self.split_sequences: list[int] | None = None  # the bill_sequence listed per file (None: 1..split)
        self.split_at: list[int] | None = None  # byte offsets the bill is cut at (None: ``split`` equal pieces)
        self.download_origin: str | None = None  # scheme://host of download URLs (None: this server)
        self.hosts: list[str] = []  # the Host header of each request
        self.certificates: list[dict] = []  # the entries GET /v3/certificates lists
        self.tamper_next = 0  # how many next signed answers have their body changed after signing
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FakeWechatPay:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.shutdown()
        self.server_close()

    def fault(self, step: str) -> str | None:
        """Pop the next injected fault for a step."""
        return self.faults[step].pop(0) if self.faults[step] else None

    def handle_error(self, request, client_address) -> None:
        """A client that gave up (a timeout test's) closed the socket mid-answer: expected, no traceback."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: FakeWechatPay
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _json(self, status: int, obj: dict, *, step: str, sign_with=None, signed: bool = True,
              age: int = 0) -> None:
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-ID", secrets.token_hex(8))
        if signed:
            ts, nonce = str(int(time.time()) - age), secrets.token_hex(16)
            key = sign_with or self.server.platform_key
            self.send_header("Wechatpay-Timestamp", ts)
            self.send_header("Wechatpay-Nonce", nonce)
            signature = sign(key, f"{ts}\n{nonce}\n{body.decode()}\n")
            if self.server.tamper_next:  # a man in the middle: one character of the signed body changed
                self.server.tamper_next -= 1
                body = body.replace(b": ", b" :", 1)  # the same length and still JSON, not the bytes signed
            if self.server.probe_next:  # WeChat's signature probe: now and then a wrong signature on purpose
                self.server.probe_next -= 1
                signature = "WECHATPAY/SIGNTEST/" + signature
            self.send_header("Wechatpay-Signature", signature)
            self.send_header("Wechatpay-Serial", self.server.platform_key_id)
            self.send_header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
        self.server.log.append((step, self.path, status))  # before the body: the client may act at once
        self.end_headers()
        self.wfile.write(body)

    def _auth_ok(self) -> str | None:
        m = _AUTH.match(self.headers.get("Authorization", ""))
        if not m:
            return "missing or malformed Authorization"
        f = dict(_PAIR.findall(m.group(1)))
        if f.get("mchid") != self.server.mchid or f.get("serial_no") != self.server.merchant_serial:
            return "unknown mchid/serial_no"
        if abs(time.time() - int(f.get("timestamp", "0"))) > 300:
            return "timestamp expired"
        message = f"GET\n{self.path}\n{f['timestamp']}\n{f.get('nonce_str', '')}\n\n"
        try:
            self.server.merchant_public_key.verify(base64.b64decode(f.get("signature", "")), message.encode(),
                                                   padding.PKCS1v15(), SHA256())
        except (InvalidSignature, ValueError):
            return "signature invalid"
        return None

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.request_serials.append(self.headers.get("Wechatpay-Serial"))
        self.server.hosts.append(self.headers.get("Host", ""))
        url = urlsplit(self.path)
        step = "file" if url.path == "/v3/billdownload/file" else "apply"
        problem = self._auth_ok()
        if problem:  # a request whose signature fails gets an unsigned answer
            self._json(401, {"code": "SIGN_ERROR", "message": problem}, step=step, signed=False)
            return
        fault = self.server.fault(step)
        if fault == "timeout":
            time.sleep(self.server.delay)
        if fault == "500":
            self._json(500, {"code": "SYSTEM_ERROR", "message": "系统错误"}, step=step)
            return
        if fault == "403":  # WeChat refuses the request (signed, as every answer to a request it authenticated)
            self._json(403, {"code": "NO_AUTH", "message": "商户无权限"}, step=step)
            return
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/v3/certificates":
            other = self.server.wrong_key if fault == "bad_signature" else None
            self._json(200, {"data": self.server.certificates}, step=step, sign_with=other,
                       signed=fault != "unsigned")
            return
        if step == "file":
            self._file(q.get("token", ""), fault)
            return
        kind = q.get("bill_type") or q.get("account_type", "")
        key = (url.path, kind, q.get("bill_date", "")) + ((q["sub_mchid"],) if "sub_mchid" in q else ())
        plain = self.server.bills.get(key)
        other = self.server.wrong_key if fault == "bad_signature" else None
        if plain is None:
            self._json(400, {"code": "NO_STATEMENT_EXIST", "message": "账单不存在"}, step=step, sign_with=other,
                       signed=fault != "unsigned")
            return
        if url.path == "/v3/bill/sub-merchant-fundflowbill":
            answer = self._encrypted_list(plain, q, fault)
        else:
            token = secrets.token_urlsafe(16)
            self.server.tokens[token] = (gzip.compress(plain, mtime=0) if q.get("tar_type") == "GZIP" else plain,
                                         False)
            digest = hashlib.sha1(plain + (b"x" if fault == "wrong_hash" else b"")).hexdigest()
            answer = {"hash_type": "SHA1", "hash_value": digest, "download_url": self._url(token)}
        self._json(200, answer, step=step, sign_with=other, signed=fault != "unsigned",
                   age=3600 if fault == "stale" else 0)

    def _url(self, token: str) -> str:
        return f"{self.server.download_origin or self.server.base_url}/v3/billdownload/file?token={token}"

    def _encrypted_list(self, plain: bytes, q: dict[str, str], fault: str | None) -> dict:
        """申请单个子商户资金账单's answer: the bill cut into ``split`` byte ranges, each gzipped (tar_type=GZIP), then
        AES-256-GCM encrypted under its own key, the key RSA-OAEP(SHA-1) encrypted with the merchant's public key."""
        assert q.get("algorithm") == "AEAD_AES_256_GCM", q
        n = len(self.server.split_at) + 1 if self.server.split_at else self.server.split
        # WeChat splits the one bill file (above ~16 GB uncompressed) and the merchant joins the decrypted files in
        # bill_sequence order into the complete bill (下载单个子商户/二级商户资金账单, 文件分割和合并): pieces of one file,
        # not CSVs of their own -- the header only in the first, the summary only in the last, a cut anywhere (mid
        # line, mid character). Each piece is its own .gzip and its own ciphertext; hash_value is the SHA1 of the
        # piece's plain bytes ("原始账单(gzip需要解压缩)的摘要值")
        at = [0, *(self.server.split_at or [i * len(plain) // n for i in range(1, n)]), len(plain)]
        cut = [plain[a:b] for a, b in zip(at, at[1:])]
        sequences = self.server.split_sequences or list(range(1, n + 1))
        entries = []
        for i, (seq, part) in enumerate(zip(sequences, cut), start=1):
            wrong = fault == "wrong_hash" or (fault == "wrong_hash_last" and i == n)
            key, nonce = secrets.token_hex(16).encode(), secrets.token_hex(6)
            body = gzip.compress(part, mtime=0) if q.get("tar_type") == "GZIP" else part
            token = secrets.token_urlsafe(16)
            self.server.tokens[token] = (AESGCM(key).encrypt(nonce.encode(), body, b""), False)
            wrapped = self.server.merchant_public_key.encrypt(
                key, padding.OAEP(mgf=padding.MGF1(algorithm=SHA1()), algorithm=SHA1(), label=None))
            entries.append({"bill_sequence": seq, "hash_type": "SHA1",
                            "hash_value": hashlib.sha1(part + (b"x" if wrong else b"")).hexdigest(),
                            "download_url": self._url(token), "encrypt_key": base64.b64encode(wrapped).decode(),
                            "nonce": nonce})
        entries.reverse()  # the client orders them by bill_sequence, not by place in the list
        return {"download_bill_count": n, "download_bill_list": entries}

    def _file(self, token: str, fault: str | None) -> None:
        if token not in self.server.tokens:
            self._json(400, {"code": "INVALID_REQUEST", "message": "token expired"}, step="file")
            return
        body, _ = self.server.tokens.pop(token)
        if fault == "corrupt":  # one byte changed in transit: the same length, a different file
            body = body[:-1] + bytes([body[-1] ^ 1])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.server.log.append(("file", self.path, 200))
        self.end_headers()
        if fault == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(body)
