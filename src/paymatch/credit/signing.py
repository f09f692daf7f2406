"""Message signatures for the credit service: HMAC-SHA256 (shared secret) or RSA-SHA256 (PKCS#1 v1.5).

The signed message is ``timestamp + "\\n" + nonce + "\\n" + body`` (bytes), the signature is
base64 in the ``X-Signature`` header; ``X-Timestamp`` is Unix seconds, ``X-Nonce`` random hex.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes that get signed."""
    return timestamp.encode("ascii") + b"\n" + nonce.encode("ascii") + b"\n" + body


def new_headers(signer: Signer, body: bytes, now: float | None = None) -> dict[str, str]:
    """X-Timestamp / X-Nonce / X-Signature headers for ``body``."""
    ts = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    return {"X-Timestamp": ts, "X-Nonce": nonce, "X-Signature": signer.sign(message(ts, nonce, body))}


class Signer:
    """Signs and verifies messages; subclasses choose the algorithm."""

    def sign(self, msg: bytes) -> str:
        """Base64 signature of ``msg``."""
        raise NotImplementedError

    def verify(self, msg: bytes, signature: str) -> bool:
        """True when ``signature`` (base64) is valid for ``msg``; never raises on bad input."""
        raise NotImplementedError


@dataclass(frozen=True)
class HmacSigner(Signer):
    """HMAC-SHA256 with a shared secret (both sides sign and verify with it)."""

    secret: bytes

    def sign(self, msg: bytes) -> str:
        """Base64 HMAC-SHA256 of ``msg``."""
        return base64.b64encode(hmac.new(self.secret, msg, hashlib.sha256).digest()).decode("ascii")

    def verify(self, msg: bytes, signature: str) -> bool:
        """Constant-time comparison with the expected HMAC."""
        return hmac.compare_digest(self.sign(msg), signature or "")


@dataclass(frozen=True)
class RsaSigner(Signer):
    """RSA-SHA256: signs with our private key, verifies with the peer's public key."""

    private_key: rsa.RSAPrivateKey | None = None
    peer_public_key: rsa.RSAPublicKey | None = None

    def sign(self, msg: bytes) -> str:
        """Base64 RSASSA-PKCS1-v1_5 SHA-256 signature."""
        if self.private_key is None:
            raise ValueError("no private key to sign with")
        return base64.b64encode(self.private_key.sign(msg, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")

    def verify(self, msg: bytes, signature: str) -> bool:
        """Check with the peer's public key; False for any malformed or wrong signature."""
        if self.peer_public_key is None:
            raise ValueError("no peer public key to verify with")
        try:
            self.peer_public_key.verify(base64.b64decode(signature or "", validate=True), msg,
                                        padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """An RSA private key from PEM (unencrypted)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    """An RSA public key from PEM."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key
