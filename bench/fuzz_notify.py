"""Bad input at ``paymatch serve``: damaged notifications POSTed to /notify/wechat, /notify/alipay, /notify/unionpay.

The app of ``paymatch serve`` (``web.app.create_app`` over a workspace file holding data, keys made for the run, the
three channels configured) is served by uvicorn on 127.0.0.1; each case POSTs one notification damaged one way: a
truncated body, another Content-Type, JSON or form encoding that does not parse, GBK bytes under a UTF-8 charset,
a huge body, a field missing, and, signed validly over the damage, a bad amount or time (``12.3.4``, ``-5``, an
overflow of BIGINT fen, the year 0001, a 30 February, …).

The contract checked for each: an answer the channel reads as "not taken" (4xx; Alipay's own ``failure``), never a
5xx, the notification kept in the quarantine with a reason naming the damaged field where there is one, and the workspace's tables
(quarantine aside) exactly as before. One valid notification per channel first proves the set-up (stored, 2xx).

    PYTHONPATH=src .venv/bin/python bench/fuzz_notify.py [--channel alipay] [--kind amount] [-v]

Exit status 1 when any case broke the contract.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import json
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("tests/channels/wechat", "tests/channels/alipay", "tests/channels/unionpay", "bench"):
    sys.path.insert(0, str(ROOT / sub))

import httpx  # noqa: E402
from acp_fake_server import MER_ID, Pki, key, notification as up_notification  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from fake_gateway import new_key, private_pem, public_pem, rsa2_sign  # noqa: E402
from fuzz_inputs import snapshot  # noqa: E402
from loopback import serve  # noqa: E402
from wechat_notifygen import notification as wx_notification, payment_resource, refund_resource  # noqa: E402
from wechat_notifygen import signed_headers  # noqa: E402

from paymatch.config import load_config  # noqa: E402
from paymatch.web.app import create_app  # noqa: E402
from paymatch.workspace import Workspace  # noqa: E402

NOW = 1_795_000_000  # 2026-11-18 (the WeChat clock: notifications are of "now")
ALIPAY_APP = "2016101100660467"
WX_MCHID = "1900000109"


@dataclass
class Case:
    channel: str
    kind: str
    body: bytes
    headers: dict[str, str]
    field: str | None = None      # the field the answer or the quarantined reason must name
    ok: bool = False              # a valid notification: must be stored


@dataclass
class Keys:
    merchant: rsa.RSAPrivateKey
    merchant_pem: str
    platform: rsa.RSAPrivateKey
    platform_pub_pem: str
    platform_id: str
    apiv3_key: str
    alipay_app: rsa.RSAPrivateKey
    alipay: rsa.RSAPrivateKey
    pki: Pki


def make_keys() -> Keys:
    m, p = new_key(), new_key()
    return Keys(m, private_pem(m), p, public_pem(p), "PUB_KEY_ID_0000000000000000000000000001",
                "0123456789abcdef0123456789ABCDEF", new_key(), new_key(), Pki.make())


def write_config(folder: Path, k: Keys) -> Path:
    (folder / "merchant.pem").write_text(k.merchant_pem)
    (folder / "platform.pem").write_text(k.platform_pub_pem)
    (folder / "apiv3.key").write_text(k.apiv3_key)
    (folder / "app.pem").write_text(private_pem(k.alipay_app))
    (folder / "alipay.pem").write_text(public_pem(k.alipay))
    k.pki.write(folder)
    p = folder / "rules.toml"
    p.write_text("\n".join([
        "[channels.wechat]", f'mchid = "{WX_MCHID}"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
        'merchant_private_key_file = "merchant.pem"', 'platform_key_file = "platform.pem"',
        f'platform_key_id = "{k.platform_id}"', 'apiv3_key_file = "apiv3.key"',
        "[channels.alipay]", f'app_id = "{ALIPAY_APP}"', 'app_private_key_file = "app.pem"',
        'alipay_public_key_file = "alipay.pem"',
        "[channels.unionpay]", f'mer_id = "{MER_ID}"', 'pfx_file = "acp_sign.pfx"',
        'pfx_password_file = "pfx_password.txt"', 'root_cert_file = "acp_root.cer"',
        'middle_cert_file = "acp_middle.cer"']) + "\n", encoding="utf-8")
    return p


# --- WeChat -------------------------------------------------------------------------------------------------------

def _wx(k: Keys, n: int, resource: dict, event: str = "TRANSACTION.SUCCESS") -> tuple[dict[str, str], bytes]:
    return wx_notification(k, event, resource, ts=NOW, nid=f"EV-{n}")


def wechat_cases(k: Keys) -> list[Case]:
    out = []
    n = iter(range(1, 10_000))

    def pay(kind: str, field: str | None = None, **over) -> None:
        over = {"transaction_id": f"42000000000000000000{next(n):08d}", **over}
        h, b = _wx(k, next(n), payment_resource(**over))
        out.append(Case("wechat", kind, b, h, field))

    def amount(total, kind: str) -> None:
        pay(kind, "amount", amount={"total": total, "payer_total": 9500, "currency": "CNY", "payer_currency": "CNY"})

    pay("valid")
    out[-1].ok = True
    h, b = _wx(k, next(n), refund_resource(), "REFUND.SUCCESS")
    out.append(Case("wechat", "valid_refund", b, h, ok=True))
    h, b = _wx(k, next(n), payment_resource(transaction_id="4200000000000000000000009999"))
    out.append(Case("wechat", "truncated_body", b[: len(b) // 2], h))
    h2, b2 = _wx(k, next(n), payment_resource(transaction_id="4200000000000000000000009998"))
    out.append(Case("wechat", "wrong_content_type", b2, {**h2, "Content-Type": "application/x-www-form-urlencoded"},
                    ok=True))  # (the signature covers the body, whatever its Content-Type says)
    out.append(Case("wechat", "empty_body", b"", signed_headers(k, b"", ts=NOW)))
    out.append(Case("wechat", "not_json_signed", b"{not json", signed_headers(k, b"{not json", ts=NOW)))
    out.append(Case("wechat", "json_list_signed", b"[1,2]", signed_headers(k, b"[1,2]", ts=NOW)))
    gbk = json.dumps({"id": "EV-G", "summary": "支付成功"}, ensure_ascii=False).encode("gbk")
    out.append(Case("wechat", "gbk_body", gbk, {**h, "Wechatpay-Signature": "x"}))
    huge = b'{"id":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    out.append(Case("wechat", "huge_body", huge, h))
    doc = json.loads(b)
    doc["id"] = "EV-NORES"
    del doc["resource"]
    nb = json.dumps(doc).encode()
    out.append(Case("wechat", "missing_resource_signed", nb, signed_headers(k, nb, ts=NOW), "resource"))
    doc = json.loads(b)
    doc["id"] = "EV-CT5"
    doc["resource"]["ciphertext"] = 5
    nb = json.dumps(doc).encode()
    out.append(Case("wechat", "ciphertext_number_signed", nb, signed_headers(k, nb, ts=NOW), "resource"))
    out.append(Case("wechat", "no_headers", b, {"Content-Type": "application/json"}))
    h3, b3 = _wx(k, next(n), payment_resource(transaction_id="4200000000000000000000009997"))
    out.append(Case("wechat", "timestamp_garbage", b3, {**h3, "Wechatpay-Timestamp": "soon"}, "timestamp"))
    for total, kind in (("12.3.4", "amount_text"), (-5, "amount_negative"), (1.5, "amount_float"),
                        (2 ** 70, "amount_overflow"), (None, "amount_null"), (True, "amount_bool")):
        amount(total, kind)
    pay("amount_missing", "amount", amount={"currency": "CNY"})
    pay("amount_not_object", "amount", amount="100.00")
    for t, kind in (("0001-01-01T00:00:00+08:00", "time_year_0001"), ("2026-02-30T10:00:00+08:00", "time_feb30"),
                    ("not a time", "time_garbage"), ("2026-11-20T10:00:00", "time_no_zone"),
                    ("9999-12-31T23:59:59-08:00", "time_year_9999"), (20261120, "time_number")):
        pay(kind, "success_time", success_time=t)
        out[-1].ok = kind == "time_no_zone"  # (Beijing time, as every time without a zone)
    pay("trade_state_unknown", "trade_state", trade_state="NOPE")
    pay("ids_missing", "transaction_id", out_trade_no=None, transaction_id=None)
    pay("mchid_number", "mchid", mchid=1900000109)
    out[-1].ok = True  # (read as its digits)
    pay("currency_usd", "currency", amount={"total": 100, "payer_total": 100, "currency": "USD",
                                            "payer_currency": "USD"})
    h, b = _wx(k, next(n), refund_resource(refund_id="50300000000000000000000777",
                                           amount={"total": 10000, "refund": "x", "payer_total": 9500,
                                                   "payer_refund": 2500}), "REFUND.SUCCESS")
    out.append(Case("wechat", "refund_amount_text", b, h, "refund"))
    h, b = _wx(k, next(n), refund_resource(refund_id="50300000000000000000000778", success_time="2026-13-01T00:00:00+08:00"),
               "REFUND.SUCCESS")
    out.append(Case("wechat", "refund_time_month13", b, h, "success_time"))
    return out


# --- Alipay -------------------------------------------------------------------------------------------------------

def alipay_payment(**over) -> dict[str, str]:
    base = {"notify_id": "n", "notify_type": "trade_status_sync", "notify_time": "2026-11-20 14:55:50",
            "app_id": ALIPAY_APP, "charset": "utf-8", "version": "1.0", "trade_no": "2026112021001004070200183979",
            "out_trade_no": "A-1", "seller_id": "2088102179075543", "trade_status": "TRADE_SUCCESS",
            "total_amount": "12.00", "receipt_amount": "11.50", "gmt_create": "2026-11-20 14:55:44",
            "gmt_payment": "2026-11-20 14:55:49", "subject": "测试",
            "fund_bill_list": '[{"amount":"12.00","fundChannel":"ALIPAYACCOUNT"}]'}
    return {k: v for k, v in {**base, **over}.items() if v is not None}


def alipay_signed(k: Keys, params: dict[str, str], encoding: str = "utf-8") -> dict[str, str]:
    body = {a: b for a, b in params.items() if a not in ("sign", "sign_type")}
    text = "&".join(f"{a}={b}" for a, b in sorted(body.items()))
    return {**body, "sign_type": "RSA2", "sign": rsa2_sign(k.alipay, text, encoding=encoding)}


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def alipay_cases(k: Keys) -> list[Case]:
    out = []
    n = iter(range(1, 10_000))

    def signed(kind: str, field: str | None = None, **over) -> None:
        i = next(n)
        over = {"notify_id": f"N{i}", "trade_no": f"20261120210010040702{i:08d}", **over}
        p = alipay_signed(k, alipay_payment(**over))
        out.append(Case("alipay", kind, urllib.parse.urlencode(p).encode(), FORM, field))

    signed("valid")
    out[-1].ok = True
    good = urllib.parse.urlencode(alipay_signed(k, alipay_payment(notify_id="NX"))).encode()
    out.append(Case("alipay", "truncated_body", good[: len(good) // 2], FORM))
    out.append(Case("alipay", "json_body", json.dumps(alipay_payment()).encode(), {"Content-Type": "application/json"}))
    out.append(Case("alipay", "empty_body", b"", FORM))
    out.append(Case("alipay", "raw_utf8_not_escaped", "subject=测试&total_amount=1".encode(), FORM))
    gbk = alipay_signed(k, alipay_payment(notify_id="NG", charset="gbk"), encoding="gbk")
    out.append(Case("alipay", "gbk_escapes_named_utf8", urllib.parse.urlencode(
        {**gbk, "charset": "utf-8"}, encoding="gbk").encode(), FORM))
    out.append(Case("alipay", "charset_unknown", urllib.parse.urlencode({**gbk, "charset": "klingon"}).encode(), FORM,
                    "charset"))
    out.append(Case("alipay", "huge_body", b"a=" + b"x" * (2 * 1024 * 1024), FORM))
    out.append(Case("alipay", "bad_percent", b"total_amount=%ZZ&sign=%", FORM))
    for v, kind in (("12.3.4", "amount_text"), ("-5.00", "amount_negative"), ("1e5", "amount_1e5"),
                    ("99999999999999999999.00", "amount_overflow"), ("１２.00", "amount_fullwidth"),
                    ("NaN", "amount_nan")):
        signed(kind, "total_amount", total_amount=v)
    signed("amount_missing", "total_amount", total_amount=None)
    signed("receipt_amount_bad", "receipt_amount", receipt_amount="abc")
    for v, kind in (("0001-01-01 00:00:00", "time_year_0001"), ("2026-02-30 10:00:00", "time_feb30"),
                    ("2026-11-20T10:00:00", "time_iso"), ("9999-12-31 23:59:59", "time_year_9999"),
                    ("1970-01-01 00:00:00", "time_epoch")):
        signed(kind, "gmt_payment", gmt_payment=v)
    signed("trade_status_unknown", "trade_status", trade_status="NOPE")
    for v, kind in (("5", "fund_bill_list_number"), ("null", "fund_bill_list_null"), ("{bad", "fund_bill_list_bad"),
                    ('{"a": 1}', "fund_bill_list_object")):
        signed(kind, "fund_bill_list", fund_bill_list=v)
    signed("refund_fee_bad", "refund_fee", refund_fee="1.001", gmt_refund="2026-11-21 10:00:00.123", out_biz_no="R1")
    signed("refund_time_bad", "gmt_refund", refund_fee="1.00", gmt_refund="2026-11-21 25:00:00", out_biz_no="R2")
    signed("ids_missing", "trade_no", trade_no="", out_trade_no=None)
    return out


# --- UnionPay -----------------------------------------------------------------------------------------------------

def up_fields(**over: str) -> dict[str, str]:
    base = {"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "txnType": "01", "txnSubType": "01",
            "bizType": "000201", "accessType": "0", "merId": MER_ID, "orderId": "ORDER1",
            "txnTime": "20261120105510", "txnAmt": "1000", "currencyCode": "156", "queryId": "202611201055160000001",
            "respCode": "00", "respMsg": "成功[0000000]", "settleAmt": "1000", "settleCurrencyCode": "156",
            "settleDate": "1120", "traceNo": "123456", "traceTime": "1120105516"}
    return {a: b for a, b in {**base, **over}.items() if b is not None}


def unionpay_cases(k: Keys) -> list[Case]:
    out = []
    n = iter(range(1, 10_000))
    up_key = key("unionpay")

    def signed(kind: str, field: str | None = None, encoding: str = "utf-8", **over) -> None:
        i = next(n)
        over = {"queryId": f"2026112010551600{i:05d}", **over}
        f = up_notification(up_key, k.pki.unionpay, **up_fields(**over))
        out.append(Case("unionpay", kind, urllib.parse.urlencode(f, encoding=encoding).encode(),
                        {"Content-Type": f"application/x-www-form-urlencoded;charset={encoding}"}, field))

    signed("valid")
    out[-1].ok = True
    good = out[-1].body
    out.append(Case("unionpay", "truncated_body", good[: len(good) // 2], FORM))
    out.append(Case("unionpay", "json_body", json.dumps(up_fields()).encode(), {"Content-Type": "application/json"}))
    out.append(Case("unionpay", "empty_body", b"", FORM))
    out.append(Case("unionpay", "huge_body", b"a=" + b"x" * (2 * 1024 * 1024), FORM))
    signed("gbk_escapes_named_utf8", encoding="gbk")
    for v, kind in (("12.3.4", "amount_text"), ("-500", "amount_negative"), ("1e5", "amount_1e5"),
                    ("99999999999999999999999", "amount_overflow"), ("１０００", "amount_fullwidth")):
        signed(kind, "txnAmt", txnAmt=v)
    signed("amount_missing", "txnAmt", txnAmt=None)
    for v, kind in (("00010101000000", "time_year_0001"), ("20260230100000", "time_feb30"),
                    ("2026112010", "time_short"), ("garbage", "time_garbage")):
        signed(kind, "txnTime", txnTime=v)
    for v, kind in (("1332", "settle_month13"), ("ab12", "settle_letters")):  # (a field sent empty is no field)
        signed(kind, "settleDate", settleDate=v)
    signed("txn_type_unknown", "txnType", txnType="99")
    signed("refund_no_orig", "origQryId", txnType="04", txnSubType="00", orderId="REF9")
    signed("query_id_missing", "queryId", queryId="")
    return out


# --- running ------------------------------------------------------------------------------------------------------

def _workspace(folder: Path) -> Path:
    p = folder / "w.duckdb"
    ws = Workspace(p)
    orders = folder / "orders.csv"
    orders.write_text("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
                      "ORD000001,S1,1900000109,wechat,100.00,paid,2026-11-20 09:59:00,2026-11-20 10:00:00\n",
                      encoding="utf-8")
    ws.ingest_csv("orders", orders)
    ws.close()
    return p


def _quarantine(ws: Path) -> list[str]:
    import duckdb
    con = duckdb.connect(str(ws), read_only=True)
    try:
        return [r for (r,) in con.execute("SELECT reason FROM quarantine ORDER BY rowid").fetchall()]
    finally:
        con.close()


def judge(c: Case, status: int, text: str, before: str, after: str, quarantined: list[str]) -> str | None:
    """The broken promise, or None."""
    if c.ok:
        return None if status < 300 and text != "failure" and after != before else \
            f"a valid notification was not stored: {status} {text[:200]}"
    if status >= 500:
        return f"answered {status}: {text[:300]}"
    if status < 400 and not (c.channel == "alipay" and text == "failure"):
        return f"taken: {status} {text[:200]}"
    if after != before:
        return "the workspace changed"
    if c.field and not (quarantined and c.field in quarantined[-1]):
        return f"not quarantined naming {c.field}: {status} {text[:300]} / quarantined: {quarantined[-1:] or '-'}"
    return None


def run(channel: str | None, kind: str | None, verbose: bool) -> int:
    work = Path(tempfile.mkdtemp(prefix="pm_fuzz_notify_"))
    k = make_keys()
    cfg = load_config(write_config(work, k))
    ws = _workspace(work)
    cases = [c for fn in (wechat_cases, alipay_cases, unionpay_cases) for c in fn(k)
             if (channel is None or c.channel == channel) and (kind is None or kind in c.kind or c.ok)]
    app = create_app(ws, cfg, work, clock=lambda: NOW)
    bad, n_kept = 0, 0
    t0 = time.perf_counter()
    with serve(app) as base, httpx.Client(timeout=30) as client:
        for c in cases:
            before = snapshot(ws)
            r = client.post(f"{base}/notify/{c.channel}", content=c.body, headers=c.headers)
            q = _quarantine(ws)
            q = q[n_kept:] if len(q) > n_kept else []  # (only what this case kept)
            n_kept += len(q)
            why = judge(c, r.status_code, r.text, before, snapshot(ws), q)
            if why:
                bad += 1
                print(f"BROKEN  {c.channel:9} {c.kind:28} {why}")
            elif verbose:
                print(f"ok      {c.channel:9} {c.kind:28} {r.status_code} {r.text[:100]!r}  {(q[-1:] or [''])[0][:120]}")
    shutil.rmtree(work, ignore_errors=True)
    print(f"{len(cases)} notifications in {time.perf_counter() - t0:.0f} s: {bad} broke the contract")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.CRITICAL)  # (the refusals' warnings: the verdicts say it)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channel", choices=("wechat", "alipay", "unionpay"))
    ap.add_argument("--kind", help="only damage whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    return run(a.channel, a.kind, a.verbose)


if __name__ == "__main__":
    sys.exit(main())
