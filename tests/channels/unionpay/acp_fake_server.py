"""A fake UnionPay 全渠道 file-download server on 127.0.0.1 speaking the ACP 5.1.0 protocol (txnType 76).

The PKI is made here with ``cryptography``: a test root CA, a middle CA it issues, UnionPay's signing certificate
(CN ``041@Z12@中国银联股份有限公司@00000001``) issued by the middle one, and the merchant's key and certificate
packed as a PKCS#12 file (``Pki.pfx(password)``). Each request's signature is checked with the merchant's
certificate (SHA-256 hex of the sorted ``k=v&…``, then SHA256withRSA of that hex); a request that fails is
answered HTTP 400 and recorded in ``bad_requests``. ``files[(merId, MMDD)] = zip bytes`` says what it serves (base64
of the zlib-deflated zip, as UnionPay does); any other settle date is respCode 98. Answers are ``k=v&…`` without
URL-encoding, signed with ``sign_key`` and carrying ``sign_cert`` as signPubKeyCert (a test swaps them for a forged,
wrongly chained, expired or wrongly named one). ``faults``: names consumed one per request: '500', 'timeout'
(answers after ``stall`` seconds), 'unsigned' (no signature), 'tampered' (a field changed after signing).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import io
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

UNIONPAY_CN = "041@Z12@中国银联股份有限公司@00000001"
MER_ID = "802310048993424"


@functools.lru_cache(maxsize=None)
def key(name: str) -> rsa.RSAPrivateKey:
    """One RSA key per name for the test session (generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cert(subject_cn: str, subject_key: rsa.RSAPrivateKey, issuer_cn: str, issuer_key: rsa.RSAPrivateKey, *,
         ca: bool = False, serial: int | None = None, days: tuple[int, int] = (-30, 365)) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
            .public_key(subject_key.public_key()).serial_number(serial or x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=days[0])).not_valid_after(now + dt.timedelta(days=days[1]))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(issuer_key, hashes.SHA256()))


def pem(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.PEM)


@dataclass
class Pki:
    """The test PKI: root → middle → UnionPay's signing certificate; the merchant's own key and certificate."""

    root: x509.Certificate
    middle: x509.Certificate
    unionpay: x509.Certificate
    merchant: x509.Certificate

    @classmethod
    def make(cls) -> Pki:
        root = cert("CFCA TEST ROOT", key("root"), "CFCA TEST ROOT", key("root"), ca=True)
        middle = cert("CFCA TEST OCA1", key("middle"), "CFCA TEST ROOT", key("root"), ca=True)
        unionpay = cert(UNIONPAY_CN, key("unionpay"), "CFCA TEST OCA1", key("middle"))
        merchant = cert(f"041@Z{MER_ID}@一号店@00000001", key("merchant"), "CFCA TEST OCA1", key("middle"),
                        serial=69629715588)
        return cls(root, middle, unionpay, merchant)

    def pfx(self, password: str) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"acp", key("merchant"), self.merchant, None,
            serialization.BestAvailableEncryption(password.encode()))

    def write(self, folder, password: str = "000000") -> None:
        """acp_sign.pfx, acp_root.cer, acp_middle.cer and the password file beside a config in ``folder``."""
        (folder / "acp_sign.pfx").write_bytes(self.pfx(password))
        (folder / "acp_root.cer").write_bytes(pem(self.root))
        (folder / "acp_middle.cer").write_bytes(pem(self.middle))
        (folder / "pfx_password.txt").write_text(password + "\n", encoding="utf-8")


def day_zip(members: dict[str, bytes]) -> bytes:
    """A zip of ``members`` with fixed times (the same bytes on every call: UnionPay serves one file)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2019, 9, 18, 8, 0, 0)), data)
    return buf.getvalue()


def _digest_hex(fields: dict[str, str], encoding: str = "utf-8") -> bytes:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "signature")
    return hashlib.sha256(text.encode(encoding)).hexdigest().encode()


class FakeUnionPay(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pki: Pki, *, stall: float = 0.5):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pki = pki
        self.files: dict[tuple[str, str], bytes] = {}
        self.file_names: dict[tuple[str, str], str] = {}
        self.sign_key = key("unionpay")
        self.sign_cert = pki.unionpay
        self.faults: list[str] = []
        self.requests: list[dict[str, str]] = []
        self.bad_requests: list[str] = []
        self.stall = stall

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    def check_request(self, fields: dict[str, str]) -> str | None:
        """Why the request is not a well-signed txnType 76 request of the merchant, or None."""
        fixed = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "76", "txnSubType": "01",
                 "bizType": "000000", "accessType": "0", "fileType": "00"}
        wrong = [k for k, v in fixed.items() if fields.get(k) != v]
        if wrong:
            return f"fields {wrong} wrong"
        if fields.get("certId") != str(self.pki.merchant.serial_number):
            return f"certId {fields.get('certId')} is not the merchant certificate's serial"
        if len(fields.get("settleDate", "")) != 4 or len(fields.get("txnTime", "")) != 14:
            return "settleDate / txnTime malformed"
        try:
            self.pki.merchant.public_key().verify(base64.b64decode(fields.get("signature", "")), _digest_hex(fields),
                                                  padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "signature does not verify with the merchant certificate"
        return None

    def answer(self, fields: dict[str, str]) -> bytes:
        fault = self.faults.pop(0) if self.faults else ""
        if fault == "timeout":
            time.sleep(self.stall)
        if fault == "500":
            return b""
        day = (fields["merId"], fields["settleDate"])
        out = {k: fields[k] for k in ("version", "encoding", "txnType", "txnSubType", "bizType", "accessType",
                                      "merId", "settleDate", "txnTime", "fileType")}
        out["signMethod"] = "01"
        if fault == "refused":  # UnionPay refusing the request itself: an answer without signature
            out.update(respCode="11", respMsg="验证签名失败[9100004]")
        elif day in self.files:
            out.update(respCode="00", respMsg="成功[0000000]",
                       fileName=self.file_names.get(day, f"{fields['merId']}_2019{fields['settleDate']}.zip"),
                       fileContent=base64.b64encode(zlib.compress(self.files[day])).decode())
        else:
            out.update(respCode="98", respMsg="文件不存在")
        out["signPubKeyCert"] = pem(self.sign_cert).decode()
        if fault not in ("unsigned", "refused"):
            out["signature"] = base64.b64encode(self.sign_key.sign(_digest_hex(out), padding.PKCS1v15(),
                                                                   hashes.SHA256())).decode()
        else:
            del out["signPubKeyCert"]
        if fault == "tampered":
            out["respMsg"] = "changed after signing"
        return "&".join(f"{k}={v}" for k, v in out.items()).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    server: FakeUnionPay

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
        fields = dict(parse_qsl(body, keep_blank_values=True))
        self.server.requests.append(fields)
        why = self.server.check_request(fields)
        if why:
            self.server.bad_requests.append(why)
            return self._send(400, why.encode())
        data = self.server.answer(fields)
        if not data:
            return self._send(500, b"internal error")
        self._send(200, data)

    def _send(self, status: int, data: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def notification(sign_key: rsa.RSAPrivateKey, sign_cert: x509.Certificate, **fields: str) -> dict[str, str]:
    """A back notification's fields (5.1.0: signPubKeyCert, no certId) signed as UnionPay signs: ``fields`` with
    ``signPubKeyCert`` = ``sign_cert`` and ``signature`` = SHA256withRSA by ``sign_key`` over the SHA-256 hex of the
    sorted ``k=v&…`` in the bytes of its ``encoding``. POST it form-encoded (``urllib.parse.urlencode``, in that
    encoding)."""
    out = {**fields, "signPubKeyCert": pem(sign_cert).decode()}
    digest = _digest_hex(out, fields.get("encoding", "utf-8"))
    out["signature"] = base64.b64encode(sign_key.sign(digest, padding.PKCS1v15(), hashes.SHA256())).decode()
    return out


def notification_500(sign_key: rsa.RSAPrivateKey, verify_cert: x509.Certificate, **fields: str) -> dict[str, str]:
    """A version 5.0.0 notification (signMethod 01): ``certId`` = the serial number (decimal) of UnionPay's verify-sign
    certificate the merchant holds, ``signature`` = SHA1withRSA by ``sign_key`` over the SHA-1 hex of the sorted
    ``k=v&…`` (no signPubKeyCert travels with it)."""
    out = {**fields, "version": "5.0.0", "signMethod": "01", "certId": str(verify_cert.serial_number)}
    text = "&".join(f"{k}={v}" for k, v in sorted(out.items()) if k != "signature")
    digest = hashlib.sha1(text.encode(fields.get("encoding", "utf-8"))).hexdigest().encode()
    out["signature"] = base64.b64encode(sign_key.sign(digest, padding.PKCS1v15(), hashes.SHA1())).decode()
    return out
