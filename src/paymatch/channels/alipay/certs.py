"""Alipay's public-key-certificate mode (公钥证书模式): the two serial numbers every request carries.

An app whose 接口加签方式 is 公钥证书 must send ``app_cert_sn`` (of appCertPublicKey_<app_id>.crt) and
``alipay_root_cert_sn`` (of alipayRootCert.crt) with every gateway request, inside the signed parameters; without
them Alipay refuses it (isv.missing-app-cert-sn), and answers are signed with the key of alipayCertPublicKey_RSA2.crt.

A certificate's SN, as Alipay's own SDKs compute it (AntCertificationUtil.getCertSN / getRootCertSN): the MD5 hex
(32 digits) of its issuer's RFC 2253 name (Java ``X500Principal.getName()``: most specific part first, ``,`` in a
value escaped as ``\\,``) followed by its serial number in decimal. The root file holds several certificates; only
those signed with RSA (signature algorithm OID 1.2.840.113549.1.1.*) count, their SNs joined with ``_`` in file
order. The certificates are read as PEM blocks whatever separates them (python-alipay-sdk's DCAliPay splits the
file on blank lines and formats the issuer without escaping, so it is not used here). Alipay's real root file holds
a certificate pyca/cryptography does not read (its ECDSA 'Ant Financial Certification Authority E1' has NULL
parameters after ecdsa-with-SHA384): a certificate that does not read is skipped when its signature algorithm, read
from its outer DER alone, is not RSA (it is no part of the SN), and refused otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from paymatch.errors import ConfigError

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_RSA_SIGNATURES = "1.2.840.113549.1.1."


def _certs(pem: str | bytes, what: str, *, rsa_signed_only: bool = False) -> list[x509.Certificate]:
    """The certificates of ``pem``, in order; with ``rsa_signed_only`` (the root file) those signed with RSA, a
    certificate that does not read skipped when its signature algorithm is another."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    blocks = _PEM.findall(data)
    if not blocks:
        raise ConfigError(f"alipay: {what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    out = []
    for block in blocks:
        try:
            cert = x509.load_pem_x509_certificate(block)
        except ValueError as exc:
            oid = _signature_oid(block)
            if rsa_signed_only and oid is not None and not oid.startswith(_RSA_SIGNATURES):
                continue
            raise ConfigError(f"alipay: {what} is not a readable certificate ({exc})") from None
        if not rsa_signed_only or cert.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURES):
            out.append(cert)
    return out


def _signature_oid(block: bytes) -> str | None:
    """The dotted signatureAlgorithm OID of a PEM certificate, read from its outer DER only (Certificate ::=
    SEQUENCE {tbsCertificate, signatureAlgorithm SEQUENCE {OID, ...}, signature}); None when that does not read."""
    try:
        der = base64.b64decode(b"".join(block.splitlines()[1:-1]), validate=False)
        body, _ = _tlv(der, 0, 0x30)
        _tbs, after = _tlv(der, body, 0x30)
        alg, _ = _tlv(der, after, 0x30)
        start, end = _tlv(der, alg, 0x06)
        oid = der[start:end]
    except (binascii.Error, IndexError, ValueError):
        return None
    if not oid:
        return None
    arcs, n = [], 0
    for byte in oid:
        n = (n << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(n)
            n = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]]))


def _tlv(der: bytes, at: int, tag: int) -> tuple[int, int]:
    """(start, end) of the value of the DER element at ``at``, which must have ``tag``; ValueError otherwise."""
    if der[at] != tag:
        raise ValueError(f"tag {der[at]:#x}, not {tag:#x}")
    n, at = der[at + 1], at + 2
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 4:
            raise ValueError("length")
        n, at = int.from_bytes(der[at:at + k], "big"), at + k
    if at + n > len(der):
        raise ValueError("truncated")
    return at, at + n


def _sn(cert: x509.Certificate) -> str:
    return hashlib.md5((cert.issuer.rfc4514_string() + str(cert.serial_number)).encode()).hexdigest()


def cert_sn(pem: str | bytes, what: str = "app certificate") -> str:
    """The SN of the (first) certificate in ``pem``: app_cert_sn for the app's certificate."""
    return _sn(_certs(pem, what)[0])


def root_cert_sn(pem: str | bytes, what: str = "Alipay root certificate") -> str:
    """alipay_root_cert_sn: the SNs of the RSA-signed certificates of the root file, joined with '_'."""
    sns = [_sn(c) for c in _certs(pem, what, rsa_signed_only=True)]
    if not sns:
        raise ConfigError(f"alipay: {what} holds no RSA-signed certificate (is it alipayRootCert.crt?)")
    return "_".join(sns)


def public_key_pem(pem: str | bytes, what: str = "Alipay public-key certificate") -> str:
    """The public key (SubjectPublicKeyInfo PEM) of a certificate: Alipay's, which verifies its answers."""
    key = _certs(pem, what)[0].public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
