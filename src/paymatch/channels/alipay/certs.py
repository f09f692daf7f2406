"""Alipay's public-key-certificate mode (公钥证书模式): the two serial numbers every request carries.

An app whose 接口加签方式 is 公钥证书 must send ``app_cert_sn`` (of appCertPublicKey_<app_id>.crt) and
``alipay_root_cert_sn`` (of alipayRootCert.crt) with every gateway request, inside the signed parameters; without
them Alipay refuses it (isv.missing-app-cert-sn), and answers are signed with the key of alipayCertPublicKey_RSA2.crt.

A certificate's SN, as Alipay's own SDKs compute it (AntCertificationUtil.getCertSN / getRootCertSN): the MD5 hex
(32 digits) of its issuer's RFC 2253 name (Java ``X500Principal.getName()``: most specific part first, ``,`` in a
value escaped as ``\\,``) followed by its serial number in decimal. The root file holds several certificates; only
those signed with RSA (signature algorithm OID 1.2.840.113549.1.1.*) count, their SNs joined with ``_`` in file
order. The certificates are read as PEM blocks whatever separates them (python-alipay-sdk's DCAliPay splits the
file on blank lines and formats the issuer without escaping, so it is not used here).
"""

from __future__ import annotations

import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from paymatch.errors import ConfigError

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_RSA_SIGNATURES = "1.2.840.113549.1.1."


def _certs(pem: str | bytes, what: str) -> list[x509.Certificate]:
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    blocks = _PEM.findall(data)
    if not blocks:
        raise ConfigError(f"alipay: {what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        return [x509.load_pem_x509_certificate(b) for b in blocks]
    except ValueError as exc:
        raise ConfigError(f"alipay: {what} is not a readable certificate ({exc})") from None


def _sn(cert: x509.Certificate) -> str:
    return hashlib.md5((cert.issuer.rfc4514_string() + str(cert.serial_number)).encode()).hexdigest()


def cert_sn(pem: str | bytes, what: str = "app certificate") -> str:
    """The SN of the (first) certificate in ``pem``: app_cert_sn for the app's certificate."""
    return _sn(_certs(pem, what)[0])


def root_cert_sn(pem: str | bytes, what: str = "Alipay root certificate") -> str:
    """alipay_root_cert_sn: the SNs of the RSA-signed certificates of the root file, joined with '_'."""
    sns = [_sn(c) for c in _certs(pem, what) if c.signature_algorithm_oid.dotted_string.startswith(_RSA_SIGNATURES)]
    if not sns:
        raise ConfigError(f"alipay: {what} holds no RSA-signed certificate (is it alipayRootCert.crt?)")
    return "_".join(sns)


def public_key_pem(pem: str | bytes, what: str = "Alipay public-key certificate") -> str:
    """The public key (SubjectPublicKeyInfo PEM) of a certificate: Alipay's, which verifies its answers."""
    key = _certs(pem, what)[0].public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
