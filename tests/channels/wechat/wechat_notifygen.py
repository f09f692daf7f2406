"""Build WeChat Pay notifications the way WeChat does: AES-256-GCM resource, RSA-SHA256 headers."""

from __future__ import annotations

import base64
import json
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechat_fake_server import sign


def notification(keys, event_type: str, resource: dict, *, ts: int, nid: str = "EV-1",
                 nonce: str | None = None, key=None) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a notification signed with the platform key (or ``key``)."""
    gcm_nonce = secrets.token_hex(6)  # 12 ASCII chars, like WeChat's
    ad = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    ct = AESGCM(keys.apiv3_key.encode()).encrypt(gcm_nonce.encode(), json.dumps(resource).encode(), ad.encode())
    body = json.dumps({
        "id": nid, "create_time": "2026-11-20T10:00:05+08:00", "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功",
        "resource": {"original_type": ad, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(ct).decode(), "associated_data": ad, "nonce": gcm_nonce},
    }, ensure_ascii=False).encode()
    return signed_headers(keys, body, ts=ts, nonce=nonce, key=key), body


def signed_headers(keys, body: bytes, *, ts: int, nonce: str | None = None, key=None) -> dict[str, str]:
    """Wechatpay-* headers for body."""
    nonce = nonce or secrets.token_hex(16)
    return {"Wechatpay-Timestamp": str(ts), "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(key or keys.platform, f"{ts}\n{nonce}\n{body.decode()}\n"),
            "Wechatpay-Serial": keys.platform_id, "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
            "Content-Type": "application/json"}


def payment_resource(**over) -> dict:
    """A TRANSACTION.SUCCESS resource (amounts in fen)."""
    r = {"mchid": "1900000109", "appid": "wx0000000000000001", "out_trade_no": "ORD000001",
         "transaction_id": "4200000000000000000000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
         "trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2026-11-20T10:00:00+08:00",
         "payer": {"openid": "oUser"}, "amount": {"total": 10000, "payer_total": 9500, "currency": "CNY",
                                                  "payer_currency": "CNY"},
         "promotion_detail": [{"coupon_id": "C1", "type": "NOCASH", "amount": 500}]}
    r.update(over)
    return r


def refund_resource(**over) -> dict:
    """A REFUND.* resource (amounts in fen)."""
    r = {"mchid": "1900000109", "out_trade_no": "ORD000001", "transaction_id": "4200000000000000000000000001",
         "out_refund_no": "RF000001", "refund_id": "50300000000000000000000001", "refund_status": "SUCCESS",
         "success_time": "2026-11-20T11:00:05+08:00", "user_received_account": "支付用户零钱",
         "amount": {"total": 10000, "refund": 2500, "payer_total": 9500, "payer_refund": 2500}}
    r.update(over)
    return r
