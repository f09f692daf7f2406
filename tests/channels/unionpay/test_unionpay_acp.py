"""UnionPay ACP message format: the answer's k=v&… parsing, the signed text, the request's fields and signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

from acp_fake_server import MER_ID, Pki, key
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from paymatch.channels.unionpay_acp import UnionPayConfig, UnionPayFileClient, parse_answer, signing_text


def test_answer_is_read_as_acpsdk_reads_it():
    # not URL-decoded: base64 keeps its '+', '/' and '='; an '&' inside {…} or […] is the value's; "k=" is empty
    got = parse_answer("respCode=00&fileContent=eJz+/w==&reqReserved={a=1&b=2}&list=[x&y]&respMsg=&tail")
    assert got == {"respCode": "00", "fileContent": "eJz+/w==", "reqReserved": "{a=1&b=2}", "list": "[x&y]",
                   "respMsg": "", "tail": ""}


def test_signed_text_is_sorted_without_the_signature_and_keeps_empty_values():
    assert signing_text({"txnType": "76", "signature": "x", "bizType": "000000", "respMsg": ""}) == \
        "bizType=000000&respMsg=&txnType=76"


def test_request_fields_and_signature():
    pki = Pki.make()
    cfg = UnionPayConfig(MER_ID, key("merchant"), pki.merchant, pki.root, pki.middle)
    at = dt.datetime(2019, 9, 16, 23, 30, tzinfo=dt.UTC)  # 07:30 on the 17th in Beijing
    fields = UnionPayFileClient(cfg, clock=lambda: at).request_fields(dt.date(2019, 9, 16))
    signature = fields.pop("signature")
    assert fields == {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "76",
                      "txnSubType": "01", "bizType": "000000", "accessType": "0", "merId": MER_ID,
                      "settleDate": "0916", "txnTime": "20190917073000", "fileType": "00", "certId": "69629715588"}
    # SHA256withRSA over the lowercase SHA-256 hex of the sorted text (acpsdk 5.1.0), checked here step by step
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields))
    digest_hex = hashlib.sha256(text.encode()).hexdigest()
    assert digest_hex == digest_hex.lower()
    pki.merchant.public_key().verify(base64.b64decode(signature), digest_hex.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())
