"""A WeChat Pay service provider (服务商) pulling its sub-merchants' (特约商户) bills, against the fake gateway: the
trade bill per ``sub_mchid``, the sub-merchant fund-flow bill (申请单个子商户资金账单: files AES-256-GCM encrypted
under keys sent RSA-OAEP-encrypted to the merchant certificate), each file stored or quarantined on its own."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner
from wechat_billgen import fundflow_bill, payment, trade_bill

from paymatch.cli import app
from paymatch.errors import ChannelError
from paymatch.workspace import Workspace

runner = CliRunner()
DAY = "2026-11-20"
SUB_A, SUB_B, SUB_C = "1900000201", "1900000202", "1900000203"
TRADE, SUBFLOW = "/v3/bill/tradebill", "/v3/bill/sub-merchant-fundflowbill"


def _flows(n: int = 4, tag: str = "A") -> bytes:
    """A fund-flow bill of n income rows; ``tag`` keeps its flow numbers apart from another sub-merchant's."""
    bill = fundflow_bill([(f"2026-11-20 10:00:0{i}", "收入", 100 * (i + 1), sum(100 * (j + 1) for j in range(i + 1)))
                          for i in range(n)])
    return bill.replace(b"`FLOW", f"`FLOW{tag}".encode()).replace(b"`BIZ", f"`BIZ{tag}".encode())


def test_trade_bill_of_one_sub_merchant(fake_wechat, wechat_client):
    bill = trade_bill([payment(1, 1000, sub_mch=SUB_A)])
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = bill
    assert wechat_client().download_bill(DAY, sub_mchid=SUB_A) == bill
    assert fake_wechat.log[0][1] == f"{TRADE}?bill_date={DAY}&sub_mchid={SUB_A}&bill_type=ALL&tar_type=GZIP"


def test_sub_merchant_fundflow_is_decrypted_joined_and_checked(fake_wechat, wechat_client):
    plain = _flows(6)
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = plain
    fake_wechat.split = 3  # three files, listed out of order: joined by bill_sequence
    assert wechat_client().download_sub_merchant_fundflow(SUB_A, DAY) == plain
    assert [s for s, _p, _c in fake_wechat.log] == ["apply", "file", "file", "file"]
    assert fake_wechat.log[0][1] == (f"{SUBFLOW}?sub_mchid={SUB_A}&bill_date={DAY}&account_type=BASIC"
                                     "&algorithm=AEAD_AES_256_GCM&tar_type=GZIP")


@pytest.mark.parametrize("faults", [{"file": ["corrupt"]}, {"file": ["truncate"]}, {"apply": ["wrong_hash"]},
                                    {"apply": ["500"]}])
def test_damaged_encrypted_file_is_asked_for_again(fake_wechat, wechat_client, faults):
    plain = _flows()
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = plain
    fake_wechat.faults.update(faults)
    assert wechat_client().download_sub_merchant_fundflow(SUB_A, DAY) == plain


def test_corrupt_file_every_time_names_the_cause(fake_wechat, wechat_client):
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = _flows()
    fake_wechat.faults["file"] = ["corrupt"] * 3
    with pytest.raises(ChannelError, match="does not decrypt.*|AEAD_AES_256_GCM tag"):
        wechat_client().download_sub_merchant_fundflow(SUB_A, DAY)


def test_key_for_another_merchant_certificate_is_refused(fake_wechat, wechat_client):
    from cryptography.hazmat.primitives.asymmetric import rsa

    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = _flows()
    client = wechat_client()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    fake_wechat.merchant_public_key = _Either(client._key.public_key(), other)
    with pytest.raises(ChannelError, match="encrypt_key does not open with the merchant private key"):
        client.download_sub_merchant_fundflow(SUB_A, DAY)
    assert [s for s, _p, _c in fake_wechat.log] == ["apply"]  # not retried: the next key is for the same certificate


class _Either:
    """Verifies requests with the merchant's real key but encrypts bill keys with another one: a provider whose
    merchant_serial_no names another certificate than its private key's."""

    def __init__(self, real, other):
        self.real, self.other = real, other

    def verify(self, *a, **kw):
        return self.real.verify(*a, **kw)

    def encrypt(self, *a, **kw):
        return self.other.encrypt(*a, **kw)


def _config(tmp_path, keys, base_url, *extra: str):
    (tmp_path / "merchant.pem").write_text(keys.merchant_pem)
    (tmp_path / "platform.pem").write_text(keys.platform_pub_pem)
    lines = ["[[channels.wechat]]", 'mchid = "1900000109"', 'merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"',
             'merchant_private_key_file = "merchant.pem"', 'platform_key_file = "platform.pem"',
             f'platform_key_id = "{keys.platform_id}"', f'base_url = "{base_url}"', "timeout = 1.0", "retries = 1",
             "backoff_base = 0.01", "backoff_max = 0.02", *extra]
    p = tmp_path / "rules.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_pull_fetches_each_sub_merchant_and_stores_each_file_on_its_own(tmp_path, wechat_keys, fake_wechat):
    """One pull of a provider with three sub-merchants (two named by store): A's trade and fund-flow bills are
    stored under A, B has no fund flows that day (said, not a failure), C's trade bill does not tie out (quarantined
    and reported) while its fund flows and everyone else's bills are stored."""
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A),
                                                               payment(2, 2000, sub_mch=SUB_A)])
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = _flows(2)
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_B)] = trade_bill([payment(3, 700, sub_mch=SUB_B)])
    bad = [payment(4, 500, sub_mch=SUB_C)]
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_C)] = trade_bill(bad, summary=["1", "9.99", "0.00", "0.00",
                                                                            "0.00000", "9.99", "0.00"])
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_C)] = _flows(3, "C")
    fake_wechat.split = 2
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  f'sub_merchants = {{ S002 = "{SUB_B}", S003 = "{SUB_C}", S004 = "{SUB_C}" }}')
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--channel", "wechat"])
    assert r.exit_code == 2, r.output
    out = [" ".join(line.split()) for line in r.output.splitlines()]
    assert f"wechat {SUB_A} trade_all 2 rows stored" in out and f"wechat {SUB_A} fundflow 2 rows stored" in out, out
    assert f"wechat {SUB_B} trade_all 1 rows stored" in out
    assert any(line.startswith(f"wechat {SUB_B} fundflowbill no bill") for line in out)
    assert any(line.startswith(f"wechat {SUB_C} tradebill failed") for line in out)
    assert f"wechat {SUB_C} fundflow 3 rows stored" in out
    # each sub-merchant asked once per file (S003 and S004 share one), never the provider's own bills
    asked = sorted(p.split("?")[0] + ":" + p.split("sub_mchid=")[1][:10]
                   for s, p, _c in fake_wechat.log if s == "apply")
    assert asked == sorted([f"{TRADE}:{SUB_A}", f"{SUBFLOW}:{SUB_A}", f"{TRADE}:{SUB_B}", f"{SUBFLOW}:{SUB_B}",
                            f"{TRADE}:{SUB_C}", f"{SUBFLOW}:{SUB_C}"])
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT merchant_id, count(*) FROM transactions GROUP BY 1 ORDER BY 1").fetchall() == [
            (SUB_A, 2), (SUB_B, 1)]
        assert ws.con.execute("SELECT account, count(*), sum(amount_fen) FROM fund_flows GROUP BY 1 ORDER BY 1"
                              ).fetchall() == [(SUB_A, 2, 300), (SUB_C, 3, 600)]
        assert ws.con.execute("SELECT source FROM quarantine").fetchall() == [(f"wechat:{SUB_C}:tradebill:{DAY}",)]


def test_pull_without_sub_merchant_fundflow(tmp_path, wechat_keys, fake_wechat):
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A)])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false")
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--all"])
    assert r.exit_code == 0, r.output
    assert [p.split("?")[0] for s, p, _c in fake_wechat.log if s == "apply"] == [TRADE]


@pytest.mark.parametrize("line,match", [
    ('sub_mchids = "1900000201"', "key 'sub_mchids' must be a non-empty list"),
    ("sub_mchids = []", "key 'sub_mchids' must be a non-empty list"),
    ('sub_mchids = ["1900000201", "19OOOOO202"]', r"key 'sub_mchids' item 2 '19OOOOO202' is not a sub-merchant"),
    ("sub_mchids = [1900000201]", "key 'sub_mchids' item 1 1900000201 is not"),
    ('sub_mchids = ["1900000201", "1900000201"]', "names 1900000201 twice"),
    ('sub_merchants = { S001 = 1900000201 }', "key 'sub_merchants' store 'S001': 1900000201 is not"),
    ('sub_merchants = ["1900000201"]', "key 'sub_merchants' must be a table"),
    ("sub_merchant_fundflow = false", "key 'sub_merchant_fundflow' needs 'sub_mchids' or 'sub_merchants'"),
])
def test_bad_sub_merchant_config_names_account_and_key(tmp_path, wechat_keys, line, match):
    cfg = _config(tmp_path, wechat_keys, "http://127.0.0.1:9", line)
    r = runner.invoke(app, ["pull", "--workspace", str(tmp_path / "w.duckdb"), "--config", str(cfg), "--date", DAY,
                            "--all"])
    assert r.exit_code != 0
    text = " ".join(r.output.split())
    assert "channels.wechat[0]" in text, text

    assert re.search(match, text), text
