"""Platform certificates (平台证书) downloaded with `paymatch wechat-certs` and used by pull and serve.

The fake gateway on 127.0.0.1 lists certificates the way WeChat does (GET /v3/certificates: each certificate
AEAD_AES_256_GCM encrypted under the APIv3 key, associated_data "certificate"); the certificates are real X.509
ones issued here by a CA named as WeChat's ("Tenpay.com Root CA"), with real RSA keys, and the answers are signed
with the key of one of them, as WeChat does while it rotates its certificate."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from wechat_billgen import fundflow_bill, payment, trade_bill
from wechat_notifygen import notification, payment_resource

from paymatch.channels.wechat.config import WechatPayConfig
from paymatch.channels.wechat.notify import NotificationRejected, WechatNotifyVerifier
from paymatch.cli import app
from paymatch.config import load_config
from paymatch.errors import ConfigError
from paymatch.web.app import create_app
from paymatch.workspace import Workspace

runner = CliRunner()
MCHID = "1900000109"
DAY = "2026-11-20"
NOW = dt.datetime.now(dt.UTC)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                      "Tenpay.com"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str = "Tenpay.com Root CA"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=3650))
            .not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return SimpleNamespace(key=key, cert=cert)


def _platform(ca, *, days_from: int = -1, days_to: int = 365):
    """A platform certificate issued by ``ca`` for a new RSA key, valid from/to that many days from now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name("Tenpay.com sign")).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW + dt.timedelta(days=days_from)).not_valid_after(NOW + dt.timedelta(days=days_to))
            .sign(ca.key, hashes.SHA256()))
    # the serial as WeChat writes it: two hex digits a byte (a random serial's first byte is below 0x10 one time in
    # 16: "0E41…", not "E41…"; the tests named it without the 0 and failed that often once paymatch wrote it so)
    digits = format(cert.serial_number, "X")
    return SimpleNamespace(key=key, cert=cert, serial=digits.zfill(len(digits) + len(digits) % 2),
                           pem=cert.public_bytes(Encoding.PEM))


@pytest.fixture(scope="module")
def pki():
    """WeChat's CA, three platform certificates (A, B valid; an expired one) and a forger's CA and certificate."""
    ca = _ca()
    evil = _ca("Evil Root CA")
    return SimpleNamespace(ca=ca, a=_platform(ca), b=_platform(ca, days_to=700),
                           expired=_platform(ca, days_from=-400, days_to=-30), evil=_platform(evil))


def _entry(p, apiv3_key: str, *, serial: str | None = None, plaintext: bytes | None = None) -> dict:
    """One entry of 获取平台证书列表's answer, encrypted the way WeChat does."""
    nonce = secrets.token_hex(6)
    ct = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext or p.pem, b"certificate")
    return {"serial_no": serial or p.serial,
            "effective_time": p.cert.not_valid_before_utc.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(),
            "expire_time": p.cert.not_valid_after_utc.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(),
            "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate",
                                    "ciphertext": base64.b64encode(ct).decode()}}


def _signs(server, p) -> None:
    """The fake gateway signs its answers with platform certificate ``p`` from now on."""
    server.platform_key, server.platform_key_id = p.key, p.serial


def _config(tmp_path, keys, base_url, *lines):
    (tmp_path / "merchant.pem").write_text(keys.merchant_pem)
    (tmp_path / "apiv3.key").write_text(keys.apiv3_key)
    body = ["[channels.wechat]", f'mchid = "{MCHID}"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
            'merchant_private_key_file = "merchant.pem"', 'apiv3_key_file = "apiv3.key"', f'base_url = "{base_url}"',
            "timeout = 1.0", "retries = 1", "backoff_base = 0.01", "backoff_max = 0.02", *lines]
    p = tmp_path / "rules.toml"
    p.write_text("\n".join(body) + "\n", encoding="utf-8")
    return p


def _certs(cfg, *extra):
    r = runner.invoke(app, ["wechat-certs", "--config", str(cfg), *extra])
    return r.exit_code, " ".join(r.output.split())


def _pull(cfg, w):
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--channel", "wechat"])
    return r.exit_code, " ".join(r.output.split())


def _serve_bills(server) -> None:
    server.bills[("/v3/bill/tradebill", "ALL", DAY)] = trade_bill([payment(1, 1000, fee_fen=6)], "ALL")
    server.bills[("/v3/bill/fundflowbill", "BASIC", DAY)] = fundflow_bill([(f"{DAY} 10:00:01", "收入", 1000, 1000)])


@pytest.fixture
def setup(tmp_path, wechat_keys, fake_wechat, pki):
    """An account in certificate mode (platform_cert_dir only) against the fake gateway signing with A."""
    _signs(fake_wechat, pki.a)
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, 'platform_cert_dir = "certs"')
    return SimpleNamespace(cfg=cfg, dir=tmp_path / "certs", server=fake_wechat, keys=wechat_keys)


def test_bootstrap_then_pull_with_the_folder(setup, pki):
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 0, out
    assert ": bootstrap:" in out and f"{pki.a.serial} written" in out
    assert (s.dir / f"{pki.a.serial}.pem").read_bytes() == pki.a.pem
    assert s.server.request_serials[-1] is None  # no certificate to name yet
    assert sorted(p.name for p in s.dir.iterdir()) == [f"{pki.a.serial}.pem"]  # no temporary file left
    # pull checks WeChat's answers with the certificate the folder holds, and names it in requests
    _serve_bills(s.server)
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 0 and "1 rows stored" in out, out
    assert s.server.request_serials[-1] == pki.a.serial
    # again: nothing to do, and no bootstrap now that a certificate is trusted
    code, out = _certs(s.cfg, "--account", MCHID)
    assert code == 0 and ": bootstrap:" not in out and f"{pki.a.serial} already in" in out, out


def test_rotation_new_certificate_written_old_kept_answers_signed_by_either(setup, pki):
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    assert _certs(s.cfg)[0] == 0
    # WeChat lists its next certificate beside the current one, still signing with the current one
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key), _entry(pki.b, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 0 and ": bootstrap:" not in out, out
    assert f"{pki.b.serial} written" in out and f"{pki.a.serial} already in" in out
    assert (s.dir / f"{pki.b.serial}.pem").read_bytes() == pki.b.pem
    # requests name the newest certificate; answers signed by either verify
    _serve_bills(s.server)
    w = s.dir.parent / "w.duckdb"
    for signer in (pki.b, pki.a):
        _signs(s.server, signer)
        code, out = _pull(s.cfg, w)
        assert code == 0, out
    assert s.server.request_serials[-1] == pki.b.serial
    # WeChat stops listing the old certificate (and signs the list with the new one): the old one, still valid, is kept
    _signs(s.server, pki.b)
    s.server.certificates = [_entry(pki.b, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 0 and f"{pki.a.serial} kept" in out, out
    assert (s.dir / f"{pki.a.serial}.pem").is_file()


def test_an_answer_signed_by_a_certificate_not_yet_kept_is_refused_unless_bootstrap(setup, pki):
    """The folder holds A; WeChat already signs with B, which we never downloaded: the answer cannot be checked with
    a trusted key, so it is refused (a forger could list and sign with any certificate of his own); --bootstrap
    takes it, saying so."""
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    assert _certs(s.cfg)[0] == 0
    _signs(s.server, pki.b)
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key), _entry(pki.b, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 2 and pki.b.serial in out and "cannot be checked with a trusted key" in out and MCHID in out, out
    assert "run again with --bootstrap" in out
    assert not (s.dir / f"{pki.b.serial}.pem").exists()
    code, out = _certs(s.cfg, "--bootstrap")
    assert code == 0 and ": bootstrap:" in out and f"{pki.b.serial} written" in out, out


def test_pull_signed_by_an_unknown_certificate_names_the_account_and_the_command(setup, pki):
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    assert _certs(s.cfg)[0] == 0
    _serve_bills(s.server)
    _signs(s.server, pki.b)  # WeChat rotated; the folder was not brought up to date
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 2, out
    assert f"wechat account {MCHID}" in out and pki.b.serial in out and "not in platform_cert_dir" in out
    assert f"paymatch wechat-certs --config <your config> --account {MCHID}" in out


def test_expired_certificate_is_skipped(setup, pki):
    s = setup
    future = _platform(pki.ca, days_from=2, days_to=400)
    s.server.certificates = [_entry(pki.expired, s.keys.apiv3_key), _entry(pki.a, s.keys.apiv3_key),
                             _entry(future, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 0, out
    assert f"{pki.expired.serial} skipped: expired on" in out and f"{pki.a.serial} written" in out
    assert f"{future.serial} skipped: not valid until" in out
    assert sorted(p.name for p in s.dir.iterdir()) == [f"{pki.a.serial}.pem"]


def test_a_signature_probe_on_the_list_is_asked_again(setup, pki):
    """WeChat's signature probe (WECHATPAY/SIGNTEST/) on the certificate list is refused and the list asked again,
    as for bills; the first download too."""
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    s.server.probe_next = 1
    code, out = _certs(s.cfg)
    assert code == 0 and f"{pki.a.serial} written" in out, out
    assert [step for step, _p, _c in s.server.log] == ["apply", "apply"]


@pytest.mark.parametrize("forgery,match", [
    ("other_apiv3_key", "does not decrypt with the APIv3 key"),
    ("other_ca", "not WeChat Pay's CA"),
    ("serial_mismatch", "the certificate inside is serial"),
    ("not_a_certificate", "decrypts to no X.509 certificate"),
])
@pytest.mark.parametrize("trusted", [False, True])
def test_forged_or_undecryptable_certificate_refuses_the_answer(setup, pki, forgery, match, trusted):
    """One bad entry refuses the whole answer: nothing is written (WeChat encrypts every entry with the same key)."""
    s = setup
    if trusted:  # the folder already holds A, which signs the answer
        s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
        assert _certs(s.cfg)[0] == 0
    before = sorted(p.name for p in s.dir.iterdir()) if s.dir.exists() else []
    bad = {"other_apiv3_key": lambda: _entry(pki.b, "x" * 32),
           "other_ca": lambda: _entry(pki.evil, s.keys.apiv3_key),
           "serial_mismatch": lambda: _entry(pki.b, s.keys.apiv3_key, serial=pki.expired.serial),
           "not_a_certificate": lambda: _entry(pki.b, s.keys.apiv3_key, plaintext=b"-----BEGIN CERTIFICATE-----\n")
           }[forgery]()
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key), bad]
    code, out = _certs(s.cfg)
    assert code == 2 and match in out and "nothing written" in out and MCHID in out, out
    assert (sorted(p.name for p in s.dir.iterdir()) if s.dir.exists() else []) == before


@pytest.mark.parametrize("bootstrap", [False, True])
@pytest.mark.parametrize("fault", ["tamper", "bad_signature", "unsigned"])
def test_tampered_answer_is_refused(setup, pki, fault, bootstrap):
    s = setup
    if not bootstrap:
        s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
        assert _certs(s.cfg)[0] == 0
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key), _entry(pki.b, s.keys.apiv3_key)]
    if fault == "tamper":
        s.server.tamper_next = 1
    else:
        s.server.faults["apply"] = [fault]
    code, out = _certs(s.cfg)
    assert code == 2 and ("not signed" if fault == "unsigned" else "signature is invalid") in out, out
    assert not (s.dir / f"{pki.b.serial}.pem").exists()


def test_bootstrap_answer_signed_by_a_key_it_does_not_carry_is_refused(setup, pki):
    s = setup
    _signs(s.server, pki.b)
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]  # lists A, signed by B
    code, out = _certs(s.cfg)
    assert code == 2 and "none of the certificates the answer carries" in out, out
    assert not s.dir.exists() or not any(s.dir.iterdir())


def test_serve_uses_the_folder_and_a_certificate_written_while_it_runs(setup, pki):
    """serve reads a serial it does not know from the folder when the notification comes: WeChat rotating its
    certificate needs `wechat-certs`, not a restart; before that the notification is refused naming the command."""
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    assert _certs(s.cfg)[0] == 0
    clock = NOW.timestamp()
    ws = Workspace(s.dir.parent / "w.duckdb")
    api = create_app(ws, load_config(s.cfg), s.cfg.parent, clock=lambda: clock)

    def notify(signer, nid):
        keys = SimpleNamespace(apiv3_key=s.keys.apiv3_key, platform=signer.key, platform_id=signer.serial)
        return notification(keys, "TRANSACTION.SUCCESS", payment_resource(out_trade_no=nid), ts=int(clock), nid=nid)

    with TestClient(api) as client:
        h, body = notify(pki.a, "EV-A")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
        h, body = notify(pki.b, "EV-B")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 401
        s.server.certificates = [_entry(pki.a, s.keys.apiv3_key), _entry(pki.b, s.keys.apiv3_key)]
        assert _certs(s.cfg)[0] == 0
        h, body = notify(pki.b, "EV-B2")
        assert client.post("/notify/wechat", content=body, headers=h).status_code == 204
    reasons = [r[0] for r in ws.con.execute("SELECT reason FROM quarantine").fetchall()]  # kept aside, with why
    ws.close()
    assert len(reasons) == 1 and pki.b.serial in reasons[0] and "wechat-certs" in reasons[0]
    # the verifier says which account's folder lacks it
    verifier = WechatNotifyVerifier.from_configs([WechatPayConfig.from_section(
        load_config(s.cfg).channels["wechat"], base_dir=s.cfg.parent)], clock=lambda: clock)
    other = _platform(pki.ca)
    h, body = notify(other, "EV-C")
    with pytest.raises(NotificationRejected, match=f"platform_cert_dir of account\\(s\\) {MCHID}.*--account {MCHID}"):
        verifier.verify(h, body)


# -- configuration ---------------------------------------------------------------------------------------------------

def _section(tmp_path, keys, **over):
    (tmp_path / "m.pem").write_text(keys.merchant_pem)
    section = {"mchid": MCHID, "merchant_serial_no": "AB", "merchant_private_key_file": "m.pem",
               "apiv3_key_env": "V3", "platform_cert_dir": "certs", **over}
    return {k: v for k, v in section.items() if v is not None}


@pytest.mark.parametrize("over,match", [
    ({"platform_cert_dir": None}, f"account {MCHID}.*'platform_key_file'.*'platform_cert_dir'"),
    ({"platform_cert_dir": 5}, f"account {MCHID}.*key 'platform_cert_dir' must be a folder path"),
    ({"platform_cert_dir": "m.pem"}, f"account {MCHID}.*key 'platform_cert_dir'.*is a file"),
    ({"apiv3_key_env": None}, f"account {MCHID}.*'apiv3_key_file' or 'apiv3_key_env'.*platform_cert_dir"),
    ({"platform_key_file": "m.pem"}, f"account {MCHID}.*key 'platform_key_id'"),
])
def test_config_errors_name_the_account_and_key(tmp_path, wechat_keys, over, match):
    with pytest.raises(ConfigError, match=match):
        WechatPayConfig.from_section(_section(tmp_path, wechat_keys, **over), base_dir=tmp_path,
                                     env={"V3": wechat_keys.apiv3_key})


def test_an_empty_folder_stops_pull_and_serve_naming_the_account_and_command(setup):
    s = setup
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 2 and f"wechat account {MCHID}" in out and "platform_cert_dir" in out, out
    assert f"wechat-certs --config <your config> --account {MCHID}" in out
    assert "failed:" in out and "could not be pulled" in out  # this account's failure: the others are still pulled
    with pytest.raises(ConfigError, match=f"account {MCHID}.*no platform certificate valid now.*wechat-certs"):
        create_app(s.dir.parent / "w.duckdb", load_config(s.cfg), s.cfg.parent)


def test_a_damaged_file_in_the_folder_is_named(setup, pki):
    s = setup
    s.dir.mkdir()
    (s.dir / f"{pki.a.serial}.pem").write_text("not a certificate")
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 2 and f"{pki.a.serial}.pem is not a PEM certificate" in out and MCHID in out, out
    assert "could not be pulled" in out  # this account failed; the run went on
    (s.dir / f"{pki.a.serial}.pem").write_bytes(pki.b.pem)  # a certificate under another serial's name
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 2 and f"holds the certificate of serial {pki.b.serial}" in out, out


def test_command_errors(setup, tmp_path, wechat_keys, fake_wechat):
    code, out = _certs(setup.cfg, "--account", "1900000999")
    assert code == 2 and "no [channels.wechat] account 1900000999" in out and MCHID in out, out
    (tmp_path / "pub.pem").write_text(wechat_keys.platform_pub_pem)
    plain = tmp_path / "other"
    plain.mkdir()
    cfg = _config(plain, wechat_keys, fake_wechat.base_url, 'platform_key_file = "../pub.pem"',
                  f'platform_key_id = "{wechat_keys.platform_id}"')
    code, out = _certs(cfg)
    assert code == 2 and "no [channels.wechat] account names a platform_cert_dir" in out, out
    code, out = _certs(cfg, "--account", MCHID)
    assert code == 2 and f"wechat account {MCHID}: no 'platform_cert_dir' configured" in out, out


def test_a_refusal_on_a_first_download_says_why_not_to_run_it_again(setup, pki):
    """WeChat refuses the certificate list (a signed 403 NO_AUTH) while the folder is still empty: no key is trusted
    yet to check that answer's signature, and it is an error either way. It was checked with the folder anyway, so
    the user was told the list is signed by a certificate the folder lacks and to run again with --bootstrap (the
    first download already is one), WeChat's reason never shown."""
    s = setup
    s.server.certificates = [_entry(pki.a, s.keys.apiv3_key)]
    s.server.faults["apply"] = ["403"]
    code, out = _certs(s.cfg)
    assert code == 2, out
    assert "HTTP 403 NO_AUTH: 商户无权限" in out and "--bootstrap" not in out, out
    assert not s.dir.exists() or not any(s.dir.iterdir())
    s.server.faults["apply"] = ["403"]
    code, out = _certs(s.cfg, "--bootstrap")
    assert code == 2 and "HTTP 403 NO_AUTH" in out and "run again with --bootstrap" not in out, out


def _platform_serial(ca, serial: int):
    """A platform certificate of ``ca`` with the given serial number."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name("Tenpay.com sign")).issuer_name(ca.cert.subject)
            .public_key(key.public_key()).serial_number(serial)
            .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=365))
            .sign(ca.key, hashes.SHA256()))
    return cert, key


def test_a_serial_beginning_with_a_zero_is_named_as_wechat_names_it(setup, pki):
    """WeChat writes a certificate's serial byte by byte, two hex digits each: a serial whose first byte is below
    0x10 keeps its leading '0' (serial_no "0A1B…", the Wechatpay-Serial header alike; the official Go SDK dropped
    that zero once, the fix being wechatpay-go PR #46 "修复获取证书序列号时会丢弃其头部0的问题", which names
    certificates by the serial_no listed and by SerialNumber.Bytes()). About one certificate in 16 has such a serial:
    it must be written, trusted and used like any other, not refused as "not the serial listed"."""
    s = setup
    number = int("0A1B2C3D4E5F60718293A4B5C6D7E8F901234567", 16)  # 20 bytes, the first 0x0A
    cert, key = _platform_serial(pki.ca, number)
    listed = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"  # as WeChat lists it (byte-wise hex, 40 digits)
    assert format(number, "X") == listed[1:]  # (what a plain integer-to-hex conversion gives: 39 digits)
    p = SimpleNamespace(key=key, cert=cert, serial=listed, pem=cert.public_bytes(Encoding.PEM))
    _signs(s.server, p)
    s.server.certificates = [_entry(p, s.keys.apiv3_key)]
    code, out = _certs(s.cfg)
    assert code == 0 and f"{listed} written" in out, out
    assert (s.dir / f"{listed}.pem").read_bytes() == p.pem
    # pull: answers signed with Wechatpay-Serial "0A1B…" verify with that file, and requests name it the same way
    _serve_bills(s.server)
    code, out = _pull(s.cfg, s.dir.parent / "w.duckdb")
    assert code == 0 and "1 rows stored" in out, out
    assert s.server.request_serials[-1] == listed
    # the list again: the certificate is recognised as the one already kept
    code, out = _certs(s.cfg)
    assert code == 0 and f"{listed} already in" in out and ": bootstrap:" not in out, out
