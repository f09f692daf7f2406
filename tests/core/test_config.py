"""Rules as configuration: the example file is valid and states the defaults; bad keys get clear errors."""

from pathlib import Path

import pytest

from paymatch.config import Config, load_config
from paymatch.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_is_the_defaults():
    assert load_config(EXAMPLE) == Config()


def test_yaml_and_errors(tmp_path):
    y = tmp_path / "rules.yaml"
    y.write_text("match:\n  amount_tolerance_fen: 5\n  key_scope: [merchant_id]\n", encoding="utf-8")
    c = load_config(y)
    assert c.match.amount_tolerance_fen == 5 and c.match.key_scope == ["merchant_id"]
    bad = tmp_path / "bad.toml"
    bad.write_text('timezone = "Mars/Olympus"\n[report]\ngroup_by = ["colour"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    msg = str(e.value)
    assert "bad.toml:1: key 'timezone'" in msg and "bad.toml:3: key 'report.group_by.0'" in msg and "Hint:" in msg
    broken = tmp_path / "broken.toml"
    broken.write_text("[match\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_method_rules_are_case_insensitive(tmp_path):
    """Loaded channel and method names are lower-case, so the rules are read lower-case too."""
    t = tmp_path / "c.toml"
    t.write_text('[methods]\nsettle_channel = { HuaBei = "Alipay", wechat = "wechat" }\ninternal = [" Balance"]\n',
                 encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel["huabei"] == "alipay" and m.settle_channel["wechat"] == "wechat"
    assert m.internal.count("balance") == 1


def test_method_rules_add_to_the_defaults(tmp_path):
    """A config naming one method keeps every other method's default rule (a partial table used to replace them
    all: an Alipay order paid through WeChat became matched, a balance order order_only)."""
    from paymatch.config import DEFAULT_INTERNAL, DEFAULT_SETTLE_CHANNEL

    t = tmp_path / "c.toml"
    t.write_text('[methods]\ninternal = ["cash"]\n[methods.settle_channel]\nwechat = "wechat_hk"\nmy_pay = "lakala"\n',
                 encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel == {**DEFAULT_SETTLE_CHANNEL, "wechat": "wechat_hk", "my_pay": "lakala"}
    assert m.internal == [*DEFAULT_INTERNAL, "cash"]
    # a default internal method given a channel is settled by it (no longer internal)
    t.write_text('[methods.settle_channel]\ngift_card = "wechat"\n', encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel["gift_card"] == "wechat" and "gift_card" not in m.internal and "balance" in m.internal


def _unionpay_files(folder, password: str) -> None:
    """The UnionPay example's files: the merchant's .pfx (key and a self-signed certificate) and UnionPay's root and
    middle certificates and its verify-sign certificate (the same one here: loading the config only reads them)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acp test")])
    now = dt.datetime.now(dt.UTC)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(69629715588).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
         .sign(k, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "acp_prod_sign.pfx").write_bytes(pkcs12.serialize_key_and_certificates(
        b"acp", k, c, None, ser.BestAvailableEncryption(password.encode())))
    for n in ("acp_prod_root.cer", "acp_prod_middle.cer", "acp_prod_verify_sign.cer"):
        (folder / n).write_bytes(c.public_bytes(ser.Encoding.PEM))


def test_every_commented_example_uncommented_loads(tmp_path, monkeypatch):
    """A user uncomments config.example.toml's examples: with every commented key and section line uncommented
    (`rates = []` left out, as its comment says; Alipay in public-key mode: the certificate files are its other
    mode) the file is valid and its channel accounts build. The third-party Alipay lines named seller_id a second
    time: not valid TOML."""
    import re

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import rsa

    from paymatch.accounts import accounts

    def key(name, public=False):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = (k.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo) if public else
               k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
        (tmp_path / "keys" / name).write_bytes(pem)

    (tmp_path / "keys" / "wechatpay_certs").mkdir(parents=True)
    for name in ("apiclient_key.pem", "alipay_app_private.pem"):
        key(name)
    for name in ("pub_key.pem", "wechatpay_cert.pem", "alipay_public.pem"):
        key(name, public=True)
    _unionpay_files(tmp_path / "keys", "acp-secret")
    monkeypatch.setenv("PAYMATCH_UNIONPAY_PFX_PASSWORD", "acp-secret")
    monkeypatch.setenv("PAYMATCH_WECHAT_APIV3_KEY", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("PAYMATCH_ALIPAY_TOKEN_S001", "202611BB0123456789")
    monkeypatch.setenv("PAYMATCH_CREDIT_SECRET", "s")
    cert_mode = re.compile(r"(app_cert_file|alipay_cert_file|alipay_root_cert_file|rates) =")
    lines = [line[2:] if re.match(r'# (\[|"[^"]*" *=|\w+ *=)', line) else line
             for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]
    rules = tmp_path / "rules.toml"
    rules.write_text("\n".join(ln for ln in lines if not cert_mode.match(ln)) + "\n", encoding="utf-8")
    cfg = load_config(rules)
    assert [r.channel for r in cfg.fees.rates] == ["wechat", "alipay", "unionpay"]
    assert cfg.anomalies.per_channel_large_amount_fen == {"wechat": 800000} and cfg.spark.conf
    assert cfg.inputs.orders.item_rows == "sum" and cfg.credit and cfg.instalments and cfg.stores
    assert [a.channel for a in accounts(cfg, rules.parent)] == ["wechat", "alipay", "unionpay"]


def test_a_bad_value_deep_inside_is_named_by_key_and_line(tmp_path):
    """helper-107 (bench/fuzz_inputs2.py): a config error named the key but not its line; in the second of two
    [[fees.rates]] or under [stores] the key alone does not say where to look."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\namount_tolerance_fen = 0\n[[fees.rates]]\nchannel = "wechat"\nrate = "0.6%"\n'
                   '[[fees.rates]]\nchannel = "alipay"\nrate = "abc"\n[stores]\n"1600000001" = 5\n'
                   '[match.extra]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "rules.toml:8: key 'fees.rates.1.rate'" in msg and "rules.toml:10: key 'stores.1600000001'" in msg, msg
    y = tmp_path / "rules.yaml"
    y.write_text("match:\n  amount_tolerance_fen: 0\n  cross_day_grace_minutes: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.yaml:3: key 'match.cross_day_grace_minutes'"):
        load_config(y)


def test_a_store_mapped_twice_is_named_by_line_and_key(tmp_path):
    """helper-107 (bench/fuzz_inputs2.py): TOML's own words ("Cannot overwrite a value (at line 3, column 21)")
    named neither the file's line up front nor the key; the line's text now shows which."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[stores]\n"1600000001" = "S01"\n"1600000001" = "S02"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'rules\.toml:3: not valid TOML: .*\(line 3: "1600000001" = "S02"\)'):
        load_config(cfg)


def test_a_blank_store_id_is_refused(tmp_path):
    """helper-107 (bench/fuzz_inputs2.py): `"1600000001" = ""` under [stores] was taken, its rows then under no store."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\namount_tolerance_fen = 0\n[stores]\n"1600000001" = "S01"\n"1600000002" = " "\n',
                   encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rules\.toml:5: key 'stores': .*'1600000002'"):
        load_config(cfg)


def test_a_relative_profile_folder_is_read_from_the_config_files_folder(tmp_path, monkeypatch):
    # a scheduled run starts in another folder: the shop's profiles are still found, as the key files are
    (tmp_path / "conf" / "mine").mkdir(parents=True)
    (tmp_path / "conf" / "flows").mkdir()
    rules = tmp_path / "conf" / "rules.toml"
    rules.write_text('[bills]\nprofile_dirs = ["mine"]\n[instalments]\nflow_profile_dirs = ["flows"]\n',
                     encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Path("conf/rules.toml"))
    assert cfg.bills.profile_dirs == [str(tmp_path / "conf" / "mine")]
    assert cfg.instalments["flow_profile_dirs"] == [str(tmp_path / "conf" / "flows")]


@pytest.mark.parametrize("section, key", [("bills", "profile_dirs"), ("instalments", "flow_profile_dirs")])
def test_a_profile_folder_that_is_not_there_is_refused_when_the_config_loads(tmp_path, section, key):
    # (it was first noticed when a bill was read, after the orders were loaded)
    (tmp_path / "mine").mkdir()
    rules = tmp_path / "rules.toml"
    rules.write_text(f'# rules\n[{section}]\n{key} = [\n  "mine",\n  "typo",\n]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(rules)
    msg = str(err.value)
    assert msg.startswith(f"{rules}:3:") and f"key '{section}.{key}'" in msg and "'typo' not found" in msg, msg
    assert str(tmp_path / "typo") in msg


def test_true_for_a_number_is_named_by_its_own_line_and_full_key(tmp_path):
    """helper-110: `amount_tolerance_fen = true` was refused as `rules.toml:1: key 'match'` (the table's line, not the
    key's); README: a bad value is refused as `file:line: key 'a.b': …`, the line the key is on."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text('[match]\ncross_day_grace_minutes = 10\namount_tolerance_fen = true\n[[fees.rates]]\n'
                   'channel = "wechat"\nrate = "0.6%"\ncap_fen = false\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert "rules.toml:3: key 'match.amount_tolerance_fen'" in msg and "not true/false" in msg, msg
    assert "rules.toml:7: key 'fees.rates.0.cap_fen'" in msg, msg
