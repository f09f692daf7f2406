"""Alipay's public-key-certificate mode (公钥证书模式) against the fake gateway.

An app whose 接口加签方式 is 公钥证书 must send app_cert_sn and alipay_root_cert_sn with every request (Alipay
refuses it otherwise: isv.missing-app-cert-sn), and Alipay signs its answers and notifications with the key of
alipayCertPublicKey_RSA2.crt. Before, the config had no place for the certificates: such an app could not pull.
The SNs the gateway expects are computed here from the rule Alipay's SDKs follow (MD5 of the issuer's RFC 2253
name + the decimal serial; the root file's RSA-signed certificates joined with '_'), written out literally.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from alipay_billgen import bill_zip, sample_rows
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem, rsa2_sign
from test_alipay_notify import payment

from paymatch.accounts import accounts
from paymatch.channels.alipay.api import AlipayBillClient
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.channels.alipay.notify import AlipayNotifyVerifier
from paymatch.config import load_config
from paymatch.errors import ChannelError, ConfigError
from paymatch.pull import pull_day
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"
DAY = dt.date(2019, 9, 16)
# the issuer of the app's and Alipay's certificates: a ',' inside a value is escaped in the RFC 2253 name
ROOT_DN = "CN=Test Alipay Root R1,OU=Certification Authority,O=Ant Financial Co.\\,Ltd,C=CN"
ROOT2_DN = "CN=Test Alipay Root R2,O=Ant Financial,C=CN"


def _name(cn: str, org: str, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, public_key, signer, serial: int) -> x509.Certificate:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(serial).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
            .sign(signer, hashes.SHA256()))


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def pki():
    root_key, root2_key, ec_key = new_key(), new_key(), ec.generate_private_key(ec.SECP256R1())
    app_key, alipay_key = new_key(), new_key()
    root_name = _name("Test Alipay Root R1", "Ant Financial Co.,Ltd", "Certification Authority")
    root = _cert(root_name, root_name, root_key.public_key(), root_key, 0x6A8E5A7F01)
    root2_name = _name("Test Alipay Root R2", "Ant Financial")
    root2 = _cert(root2_name, root2_name, root2_key.public_key(), root2_key, 77)
    ec_name = _name("Test Alipay Root E1", "Ant Financial")
    ec_root = _cert(ec_name, ec_name, ec_key.public_key(), ec_key, 5)  # ecdsa-with-SHA256: no part of the SN
    app = _cert(_name(APP_ID, "Test Shop"), root_name, app_key.public_key(), root_key, 0x2019091600AB)
    alipay = _cert(_name("支付宝(中国)网络技术有限公司", "Ant Financial"), root_name, alipay_key.public_key(),
                   root_key, 0x2019091600CD)
    # the root file: certificates one after another, CRLF, no blank line between them
    root_file = "\r\n".join(_pem(c).replace("\n", "\r\n").strip() for c in (ec_root, root, root2)) + "\r\n"
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
    sns = {"app_cert_sn": md5(ROOT_DN + str(0x2019091600AB)),
           "alipay_root_cert_sn": md5(ROOT_DN + str(0x6A8E5A7F01)) + "_" + md5(ROOT2_DN + "77"),
           "alipay_cert_sn": md5(ROOT_DN + str(0x2019091600CD))}
    return {"app_key": app_key, "alipay_key": alipay_key, "app": _pem(app), "alipay": _pem(alipay),
            "root": root_file, "sns": sns}


def _rules(tmp_path, pki, gateway_url: str) -> object:
    (tmp_path / "app_private_key.pem").write_text(private_pem(pki["app_key"]))
    (tmp_path / f"appCertPublicKey_{APP_ID}.crt").write_text(pki["app"])
    (tmp_path / "alipayCertPublicKey_RSA2.crt").write_text(pki["alipay"])
    (tmp_path / "alipayRootCert.crt").write_text(pki["root"], newline="")
    p = tmp_path / "rules.toml"
    p.write_text("\n".join([
        "[channels.alipay]", f'app_id = "{APP_ID}"', 'app_private_key_file = "app_private_key.pem"',
        f'app_cert_file = "appCertPublicKey_{APP_ID}.crt"', 'alipay_cert_file = "alipayCertPublicKey_RSA2.crt"',
        'alipay_root_cert_file = "alipayRootCert.crt"', f'gateway_url = "{gateway_url}"', "timeout = 1.0",
        "retries = 1", "backoff = 0.01"]) + "\n", encoding="utf-8")
    return p


def test_pull_in_certificate_mode_sends_both_sns(tmp_path, pki):
    with FakeAlipayGateway(pki["app_key"].public_key(), pki["alipay_key"], {str(DAY): bill_zip(sample_rows())},
                           app_id=APP_ID, cert_sns=pki["sns"]) as gw:
        rules = _rules(tmp_path, pki, gw.gateway_url)
        accts = accounts(load_config(rules), rules.parent, "alipay")
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            results = pull_day(ws, accts, DAY)
        assert [(r.kind, r.rows, r.error) for r in results] == [("alipay_detail", 3, None), ("alipay_summary", 0, None)]
        (req,) = gw.requests  # signed with them: the gateway verified the signature over every parameter
        assert (req["app_cert_sn"], req["alipay_root_cert_sn"]) == (
            pki["sns"]["app_cert_sn"], pki["sns"]["alipay_root_cert_sn"])


def test_a_certificate_mode_app_without_its_certificates_is_refused_by_alipay(tmp_path, pki):
    """What a certificate-mode app configured with Alipay's public key alone gets: the gateway's refusal, named."""
    pub = public_pem(pki["alipay_key"])
    with FakeAlipayGateway(pki["app_key"].public_key(), pki["alipay_key"], {str(DAY): bill_zip(sample_rows())},
                           app_id=APP_ID, cert_sns=pki["sns"]) as gw:
        cfg = AlipayConfig(APP_ID, private_pem(pki["app_key"]), pub, gateway_url=gw.gateway_url, timeout=1.0,
                           retries=0)
        with pytest.raises(ChannelError, match="isv.missing-app-cert-sn"):
            AlipayBillClient(cfg).download_bill(DAY)


def test_notifications_verify_with_the_key_of_alipays_certificate(pki):
    cfg = AlipayConfig(APP_ID, private_pem(pki["app_key"]), "", app_cert_pem=pki["app"],
                       alipay_cert_pem=pki["alipay"], alipay_root_cert_pem=pki["root"])
    params = {k: v for k, v in payment(app_id=APP_ID).items() if k not in ("sign", "sign_type")}
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    table = AlipayNotifyVerifier(cfg).verify({**params, "sign_type": "RSA2", "sign": rsa2_sign(pki["alipay_key"], text)})
    assert table.num_rows == 1
    forged = {**params, "sign_type": "RSA2", "sign": rsa2_sign(new_key(), text)}
    with pytest.raises(ChannelError, match="signature"):
        AlipayNotifyVerifier(cfg).verify(forged)


def test_certificate_settings_are_checked_when_the_config_is_read(tmp_path, pki):
    with pytest.raises(ConfigError, match="all three"):
        AlipayConfig(APP_ID, private_pem(pki["app_key"]), "", app_cert_pem=pki["app"], alipay_cert_pem=pki["alipay"])
    with pytest.raises(ConfigError, match="no RSA-signed certificate"):
        AlipayConfig(APP_ID, private_pem(pki["app_key"]), "", app_cert_pem=pki["app"], alipay_cert_pem=pki["alipay"],
                     alipay_root_cert_pem=pki["root"].split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----")
    with pytest.raises(ConfigError, match="not the key of the Alipay public-key certificate"):
        AlipayConfig(APP_ID, private_pem(pki["app_key"]), public_pem(new_key()), app_cert_pem=pki["app"],
                     alipay_cert_pem=pki["alipay"], alipay_root_cert_pem=pki["root"])
    rules = _rules(tmp_path, pki, "http://127.0.0.1:9/gateway.do")
    text = rules.read_text().replace('alipay_root_cert_file = "alipayRootCert.crt"\n', "")
    rules.write_text(text)
    with pytest.raises(ConfigError, match=r"channels\.alipay: .*all three"):
        accounts(load_config(rules), rules.parent, "alipay")


def test_an_answer_signed_with_a_renewed_alipay_certificate_says_so(tmp_path, pki):
    """Alipay renews its public-key certificate (证书到期更换): answers name the new one in alipay_cert_sn and are
    signed with its key. Before, the user read "response signature does not verify" (a forgery?)."""
    renewed_key = new_key()
    sns = {**pki["sns"], "alipay_cert_sn": "0123456789abcdef0123456789abcdef"}
    with FakeAlipayGateway(pki["app_key"].public_key(), renewed_key, {str(DAY): bill_zip(sample_rows())},
                           app_id=APP_ID, cert_sns=sns) as gw:
        rules = _rules(tmp_path, pki, gw.gateway_url)
        (acct,) = accounts(load_config(rules), rules.parent, "alipay")
        with pytest.raises(ChannelError, match=r"0123456789abcdef0123456789abcdef \(alipay_cert_sn\)[\s\S]*"
                                               r"download alipayCertPublicKey_RSA2.crt again"):
            AlipayBillClient(acct.config).download_bill(DAY)
    # the configured certificate's own answers still verify, and a forged one under its SN is still a forgery
    with FakeAlipayGateway(pki["app_key"].public_key(), renewed_key, {str(DAY): bill_zip(sample_rows())},
                           app_id=APP_ID, cert_sns=pki["sns"]) as gw:
        cfg = accounts(load_config(_rules(tmp_path, pki, gw.gateway_url)), tmp_path, "alipay")[0].config
        with pytest.raises(ChannelError, match="does not verify"):
            AlipayBillClient(cfg).download_bill(DAY)


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = bytes([n]) if n < 0x80 else bytes([0x80 | len(n.to_bytes((n.bit_length() + 7) // 8, "big"))]) + \
        n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + body


def _children(der: bytes) -> list[tuple[int, bytes]]:
    """The (tag, body) of each TLV of ``der`` (a concatenation of them)."""
    out, i = [], 0
    while i < len(der):
        tag, n, i = der[i], der[i + 1], i + 2
        if n & 0x80:
            k = n & 0x7F
            n, i = int.from_bytes(der[i:i + k], "big"), i + k
        out.append((tag, der[i:i + n]))
        i += n
    return out


def _with_null_parameters(cert: x509.Certificate) -> str:
    """``cert`` (ECDSA-signed) as Alipay's real root file holds its 'Ant Financial Certification Authority E1': an
    explicit NULL after the ecdsa-with-SHA384 OID in both AlgorithmIdentifiers (RFC 5758 says absent; Java reads it,
    pyca/cryptography refuses the whole certificate)."""
    ((_, outer),) = _children(cert.public_bytes(serialization.Encoding.DER))
    (tbs_tag, tbs), (alg_tag, alg), sig = _children(outer)
    with_null = _tlv(alg_tag, alg + b"\x05\x00")
    parts = _children(tbs)
    parts[2] = (0x30, alg + b"\x05\x00")  # version [0], serial, signature AlgorithmIdentifier, ...
    tbs2 = _tlv(tbs_tag, b"".join(_tlv(t, b) for t, b in parts))
    der = _tlv(0x30, tbs2 + with_null + _tlv(*sig))
    b64 = base64.b64encode(der).decode()
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + \
        "\n-----END CERTIFICATE-----\n"


def test_the_root_file_may_hold_a_certificate_cryptography_cannot_read(pki):
    """Alipay's real alipayRootCert.crt (as shipped in its SDKs' fixtures) holds four certificates; one, the ECDSA
    'Ant Financial Certification Authority E1', carries NULL parameters after ecdsa-with-SHA384, which pyca/cryptography
    refuses to parse. Alipay's SDKs (AntCertificationUtil.getRootCertSN) read every certificate and keep the RSA-signed
    ones: that one is no part of alipay_root_cert_sn, and the SN of the file is that of the other two. paymatch refused
    the whole file ('not a readable certificate'), so no certificate-mode app with Alipay's real root file could pull."""
    from paymatch.channels.alipay.certs import root_cert_sn

    ec_key = ec.generate_private_key(ec.SECP384R1())
    name = _name("Test Alipay Root E1", "Ant Financial")
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ec_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ec_key.public_key())
               .serial_number(9).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
               .sign(ec_key, hashes.SHA384()))
    odd = _with_null_parameters(ec_cert)
    with pytest.raises(ValueError):  # the form pyca/cryptography does not read
        x509.load_pem_x509_certificate(odd.encode())
    root_file = pki["root"] + odd
    assert root_cert_sn(root_file) == pki["sns"]["alipay_root_cert_sn"]
    # a block that is no certificate at all (its signature algorithm unreadable) is still an error, named
    with pytest.raises(ConfigError, match="not a readable certificate"):
        root_cert_sn(root_file + "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n")
