"""Benchmark: ``unionpay_acp.parse_answer`` on a large file-download answer (a big merchant's day zip).

Builds a 5.1.0 answer as UnionPay sends it (k=v&… unencoded, a PEM signPubKeyCert with its newlines, a
reqReserved {…} value with '&' and '=' inside, ``fileContent`` the base64 of N MB) and times the parse, best of 3.
Run: ``PYTHONPATH=src .venv/bin/python bench/bench_unionpay_answer.py [MB of answer, default 30]``.
"""

from __future__ import annotations

import base64
import os
import sys
import time

from paymatch.channels.unionpay_acp import parse_answer


def answer(mb: float) -> str:
    content = base64.b64encode(os.urandom(int(mb * 1_000_000 * 3 / 4))).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(["MIIE" + "A" * 60] * 25) + "\n-----END CERTIFICATE-----\n"
    fields = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "76", "txnSubType": "01",
              "bizType": "000000", "accessType": "0", "merId": "802310048993424", "settleDate": "0916",
              "txnTime": "20190917073000", "fileType": "00", "respCode": "00", "respMsg": "成功[0000000]",
              "reqReserved": "{a=1&b=[x&y]}", "fileName": "802310048993424_20190916.zip", "fileContent": content,
              "signPubKeyCert": pem, "signature": base64.b64encode(os.urandom(256)).decode()}
    return "&".join(f"{k}={v}" for k, v in fields.items())


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    text = answer(mb)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        got = parse_answer(text)
        times.append(time.perf_counter() - t0)
    assert len(got["fileContent"]) + 5000 > len(text) > len(got["fileContent"]), "fileContent not read whole"
    t0 = time.perf_counter()
    base64.b64decode(got["fileContent"], validate=True)  # the step after it, for scale
    decode = time.perf_counter() - t0
    print(f"answer {len(text) / 1e6:.1f} MB: parse_answer best {min(times):.3f} s "
          f"({len(text) / 1e6 / min(times):.0f} MB/s), runs {', '.join(f'{t:.3f}' for t in times)}; "
          f"base64 decode of fileContent {decode:.3f} s")


if __name__ == "__main__":
    main()
