"""UnionPay ACP message format: the answer's k=v&… parsing, the signed text, the request's fields and signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import random

from acp_fake_server import MER_ID, Pki, key
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from paymatch.channels.unionpay_acp import UnionPayConfig, UnionPayFileClient, parse_answer, signing_text


def test_answer_is_read_as_acpsdk_reads_it():
    # not URL-decoded: base64 keeps its '+', '/' and '='; an '&' inside {…} or […] is the value's; "k=" is empty
    got = parse_answer("respCode=00&fileContent=eJz+/w==&reqReserved={a=1&b=2}&list=[x&y]&respMsg=&tail")
    assert got == {"respCode": "00", "fileContent": "eJz+/w==", "reqReserved": "{a=1&b=2}", "list": "[x&y]",
                   "respMsg": "", "tail": ""}


def _walk(text: str) -> dict[str, str]:
    # the reading acpsdk's parseQString does, one character at a time (paymatch's first parser): the reference
    out: dict[str, str] = {}
    key, buf, in_key, close = "", [], True, ""
    for ch in text:
        if close:
            buf.append(ch)
            close = "" if ch == close else close
        elif in_key and ch == "=":
            key, buf, in_key = "".join(buf), [], False
        elif ch == "&":
            out["".join(buf) if in_key else key] = "" if in_key else "".join(buf)
            buf, in_key = [], True
        else:
            if not in_key and ch in "{[":
                close = "}" if ch == "{" else "]"
            buf.append(ch)
    if buf or not in_key:
        out["".join(buf) if in_key else key] = "" if in_key else "".join(buf)
    out.pop("", None)
    return out


def test_nested_values_keep_their_delimiters():
    text = ("a={x=1&y=[2&3]&z=4}&b=[p={q&r}&s=]&c=pre{1&2}mid[3&4]post&d={[}&e]&f={{g=1}&h=}&i=open{&j=2")
    want = {"a": "{x=1&y=[2&3]&z=4}", "b": "[p={q&r}&s=]", "c": "pre{1&2}mid[3&4]post", "d": "{[}", "e]": "",
            "f": "{{g=1}", "h": "}", "i": "open{&j=2"}
    assert parse_answer(text) == want == _walk(text)


def test_every_reading_is_the_character_walks():
    # the same result as the character walk on any text of the delimiters (random, seeded), and on the edge cases
    rng = random.Random(108)
    cases = ["", "&", "=", "&&", "==", "a", "a=", "=a", "a&", "a=&", "&a=1", "a=1&a=2", "a=b=c", "a={", "a=[",
             "a=}", "{a=1}", "a&b=1", "a=1&&b=2&", "a=x{y&z"]
    cases += ["".join(rng.choice("ab=&{}[]") for _ in range(rng.randrange(1, 24))) for _ in range(5000)]
    cases += ["".join(rng.choice("ab=&{}[]") for _ in range(rng.randrange(24, 200))) for _ in range(1000)]
    for text in cases:
        assert parse_answer(text) == _walk(text), text


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
