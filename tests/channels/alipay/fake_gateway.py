"""A fake Alipay open-API gateway on 127.0.0.1 that speaks the real protocol.

It checks the RSA2 signature of each gateway request with the *app's* public key (independently
of the SDK, with ``cryptography``), answers ``alipay.data.dataservice.bill.downloadurl.query`` with
a response signed by an "Alipay" key made in the test, and serves the bill zip at the URL it hands
out. Faults are queued per endpoint and consumed one per request:
'timeout' (sleep past the client's timeout), 'http500', 'truncated' (half the zip),
'bad_signature' (signed with another key), 'sha1_signature' (Alipay's own key, but SHA1withRSA where the app is
RSA2: a downgraded answer), 'garbage' (unreadable JSON).

Third-party apps: ``auth_tokens`` maps an app_auth_token to the PID of the merchant that authorised the app; a
request carrying one is answered with that merchant's bills (``merchant_zips[(pid, date)]``), an unknown token with
Alipay's 20001 aop.invalid-app-auth-token.
"""

from __future__ import annotations

import base64
import functools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

RESPONSE_KEY = "alipay_data_dataservice_bill_downloadurl_query_response"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key (RSA2 uses SHA256withRSA over 2048-bit keys)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _forger_key() -> rsa.RSAPrivateKey:
    """Another key than Alipay's, made once: generated per answer, it took longer than the client's timeout on a
    busy machine, and the client's retry (rightly) got a good answer."""
    return new_key()


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#1 PEM of a private key, as Alipay's key tool writes it."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """SubjectPublicKeyInfo PEM of a key's public half."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


#: Alipay's sign_type -> digest: RSA2 is SHA256withRSA, the older RSA SHA1withRSA
_DIGESTS = {"RSA2": hashes.SHA256, "RSA": hashes.SHA1}


def rsa2_sign(key: rsa.RSAPrivateKey, text: str, sign_type: str = "RSA2", encoding: str = "utf-8") -> str:
    """Base64 signature of ``text`` (``encoding``): SHA256withRSA (RSA2), or SHA1withRSA with sign_type RSA."""
    return base64.b64encode(key.sign(text.encode(encoding), padding.PKCS1v15(), _DIGESTS[sign_type]())).decode()


def rsa2_verify(public_key, text: str, sign: str, sign_type: str = "RSA2") -> bool:
    """True when ``sign`` is a valid signature of ``text``: SHA256withRSA (RSA2) or SHA1withRSA (RSA)."""
    try:
        public_key.verify(base64.b64decode(sign), text.encode(), padding.PKCS1v15(), _DIGESTS[sign_type]())
        return True
    except Exception:  # noqa: BLE001 - any failure means "does not verify"
        return False


class FakeAlipayGateway:
    """Run with ``with FakeAlipayGateway(app_key, alipay_key, zips) as gw:``; ``gw.gateway_url``."""

    def __init__(self, app_public_key, alipay_key: rsa.RSAPrivateKey, zips: dict[str, bytes], *,
                 app_id: str = "2021000000000001", stall: float = 1.0, fund_zips: dict[str, bytes] | None = None,
                 cert_sns: dict[str, str] | None = None, sign_type: str = "RSA2"):
        self.app_public_key = app_public_key
        self.alipay_key = alipay_key
        self.zips = zips  # bill_date -> zip bytes (bill_type=trade)
        self.fund_zips = fund_zips or {}  # bill_date -> zip bytes (bill_type=signcustomer, served as bizType=fnd)
        self.app_id = app_id
        self.stall = stall
        # an app in public-key-certificate mode: the app_cert_sn and alipay_root_cert_sn every request must carry,
        # and the alipay_cert_sn each answer names (computed by the test, not by the code under test)
        self.cert_sns = cert_sns
        # how the app is set to sign on the open platform: RSA2, or an older app's RSA (SHA1withRSA); a request
        # signed otherwise is refused as Alipay does, and answers are signed so
        self.sign_type = sign_type
        self.auth_tokens: dict[str, str] = {}  # app_auth_token -> the authorising merchant's PID
        self.tokens_without_bill_api: set[str] = set()  # valid tokens whose authorisation leaves the bill API out
        self.merchant_zips: dict[tuple[str, str], bytes] = {}  # (PID, bill_date) -> trade zip of that merchant
        self.query_faults: list[str] = []
        self.download_faults: list[str] = []
        self.requests: list[dict] = []  # verified gateway requests (params)
        self.downloads = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def gateway_url(self) -> str:
        """The gateway URL to put into AlipayConfig."""
        return self.base + "/gateway.do"

    def __enter__(self) -> FakeAlipayGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- protocol ---------------------------------------------------------------------------

    def _answer_query(self, params: dict[str, str]) -> tuple[int, str]:
        unsigned = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")
        if params.get("sign_type") != self.sign_type:
            err = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.missing-signature-config",
                   "sub_msg": "应用未配置对应签名算法的公钥或者证书"}
            return 200, json.dumps({"error_response": err}, ensure_ascii=False)
        if not rsa2_verify(self.app_public_key, unsigned, params.get("sign", ""), self.sign_type) \
                or params.get("app_id") != self.app_id:
            err = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature",
                   "sub_msg": "验签出错"}
            return 200, json.dumps({"error_response": err}, ensure_ascii=False)
        if self.cert_sns is not None:
            problem = self._cert_problem(params)
            if problem:
                err = {"code": "40002", "msg": "Invalid Arguments", "sub_code": problem[0], "sub_msg": problem[1]}
                return 200, json.dumps({"error_response": err}, ensure_ascii=False)
        self.requests.append(params)
        biz = json.loads(params["biz_content"])
        fault = self.query_faults.pop(0) if self.query_faults else None
        if fault == "timeout":
            time.sleep(self.stall)
        if fault == "http500":
            return 500, "internal error"
        if fault == "garbage":
            return 200, '{"alipay_data_dataservice_bill_downloadurl_query_response":{"code":"10'
        biz_type = "fnd" if biz.get("bill_type") == "signcustomer" else "trade"
        token = params.get("app_auth_token")
        pid = self.auth_tokens.get(token) if token else None
        if token in self.tokens_without_bill_api:
            inner = {"code": "20001", "msg": "Insufficient Token Permissions",
                     "sub_code": "aop.invalid-app-auth-token-no-api", "sub_msg": "商户未授权当前接口"}
        elif token and pid is None:
            inner = {"code": "20001", "msg": "Insufficient Token Permissions",
                     "sub_code": "aop.invalid-app-auth-token", "sub_msg": "无效的应用授权令牌"}
        elif pid is not None and biz_type == "trade" and (pid, biz["bill_date"]) in self.merchant_zips:
            inner = {"code": "10000", "msg": "Success",
                     "bill_download_url": f"{self.base}/downloadBillFile.resource?bizType=trade&pid={pid}"
                                          f"&bizDates={biz['bill_date'].replace('-', '')}&fileId=1"}
        elif pid is None and biz["bill_date"] in (self.fund_zips if biz_type == "fnd" else self.zips):
            inner = {"code": "10000", "msg": "Success",
                     "bill_download_url": f"{self.base}/downloadBillFile.resource?bizType={biz_type}"
                                          f"&bizDates={biz['bill_date'].replace('-', '')}&fileId=1"}
        else:
            inner = {"code": "40004", "msg": "Business Failed", "sub_code": "isp.bill_not_exist",
                     "sub_msg": "账单不存在"}
        body = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        key = _forger_key() if fault == "bad_signature" else self.alipay_key
        cert = f'"alipay_cert_sn":"{self.cert_sns["alipay_cert_sn"]}",' if self.cert_sns else ""
        sign_type = "RSA" if fault == "sha1_signature" else self.sign_type
        return 200, f'{{"{RESPONSE_KEY}":{body},{cert}"sign":"{rsa2_sign(key, body, sign_type)}"}}'

    def _cert_problem(self, params: dict[str, str]) -> tuple[str, str] | None:
        """Alipay's answer to a certificate-mode app's request without (or with wrong) certificate SNs."""
        for name, what in (("app_cert_sn", "应用公钥证书序列号"), ("alipay_root_cert_sn", "支付宝根证书序列号")):
            if not params.get(name):
                return f"isv.missing-{name.replace('_', '-')}", f"缺少{what}"
            if params[name] != self.cert_sns[name]:
                return f"isv.invalid-{name.replace('_', '-')}", f"无效{what}"
        return None

    def _answer_download(self, query: dict[str, str]) -> tuple[int, bytes]:
        self.downloads += 1
        day = query.get("bizDates", "")
        day = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        if query.get("pid"):
            data = self.merchant_zips.get((query["pid"], day))
        else:
            data = (self.fund_zips if query.get("bizType") == "fnd" else self.zips).get(day)
        if data is None:
            return 404, b"not found"
        fault = self.download_faults.pop(0) if self.download_faults else None
        if fault == "timeout":
            time.sleep(self.stall)
        if fault == "http500":
            return 500, b"busy"
        if fault == "truncated":
            return 200, data[: len(data) // 2]
        return 200, data

    def _handler(self):
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urllib.parse.urlsplit(self.path)
                params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                if url.path == "/gateway.do":
                    status, text = gw._answer_query(params)
                    self._send(status, text.encode("utf-8"), "application/json;charset=utf-8")
                elif url.path == "/downloadBillFile.resource":
                    status, data = gw._answer_download(params)
                    self._send(status, data, "application/oct-stream")
                else:
                    self._send(404, b"", "text/plain")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout fault)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler
