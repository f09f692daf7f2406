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
TRADE, SUBFLOW, FLOW = "/v3/bill/tradebill", "/v3/bill/sub-merchant-fundflowbill", "/v3/bill/fundflowbill"
PROVIDER = "1900000109"


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


def _mid_character(bill: bytes) -> int:
    """A byte offset inside a multi-byte UTF-8 character of a data row (neither a line nor a character boundary)."""
    start = bill.index(b"\n") + 1
    return next(i for i in range(start, len(bill)) if bill[i] & 0xC0 == 0x80)


def test_two_part_bill_cut_mid_character_is_joined_into_the_one_bill(fake_wechat, wechat_client):
    """WeChat's shape (文件分割和合并): the files are pieces of one bill, header in the first, summary in the last,
    cut anywhere; each decrypted with its own key, unzipped and checked against its own hash, then joined."""
    plain = _flows(3)
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = plain
    fake_wechat.split_at = [_mid_character(plain)]
    assert wechat_client().download_sub_merchant_fundflow(SUB_A, DAY) == plain
    assert [s for s, _p, _c in fake_wechat.log] == ["apply", "file", "file"]


def test_one_part_with_a_wrong_hash_is_asked_for_again_then_named(fake_wechat, wechat_client):
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = plain = _flows(3)
    fake_wechat.split = 2
    fake_wechat.faults["apply"] = ["wrong_hash_last"]
    assert wechat_client().download_sub_merchant_fundflow(SUB_A, DAY) == plain  # the next answer is right
    fake_wechat.faults["apply"] = ["wrong_hash_last"] * 3
    with pytest.raises(ChannelError, match=r"file 2 of 2 \(bill_sequence 2\): SHA1 of the bill"):
        wechat_client().download_sub_merchant_fundflow(SUB_A, DAY)


@pytest.mark.parametrize("sequences", [[1, 1], [2, 3], [0, 1]])
def test_files_not_numbered_1_to_n_are_refused(fake_wechat, wechat_client, sequences):
    """Joined by bill_sequence: a number listed twice, or one missing, would give a bill with a piece twice or a
    piece left out (refused later, if at all, as a truncated bill): named as what it is."""
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = _flows(4)
    fake_wechat.split, fake_wechat.split_sequences = 2, sequences
    with pytest.raises(ChannelError, match=re.escape(f"bill_sequence {sorted(sequences)}, not 1..2")):
        wechat_client().download_sub_merchant_fundflow(SUB_A, DAY)


def test_pull_stores_a_two_part_sub_merchant_fundflow_bill(tmp_path, wechat_keys, fake_wechat):
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A)])
    fake_wechat.bills[(SUBFLOW, "BASIC", DAY, SUB_A)] = plain = _flows(5)
    fake_wechat.split_at = [_mid_character(plain)]
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]', "own_bills = []")
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 0, r.output
    assert f"wechat {SUB_A} fundflow 5 rows stored" in out, out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*), sum(amount_fen) FROM fund_flows").fetchall() == [(5, 1500)]


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
                  f'sub_merchants = {{ S002 = "{SUB_B}", S003 = "{SUB_C}", S004 = "{SUB_C}" }}', "own_bills = []")
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--channel", "wechat"])
    assert r.exit_code == 2, r.output
    out = [" ".join(line.split()) for line in r.output.splitlines()]
    assert f"wechat {SUB_A} trade_all 2 rows stored" in out and f"wechat {SUB_A} fundflow 2 rows stored" in out, out
    assert f"wechat {SUB_B} trade_all 1 rows stored" in out
    assert any(line.startswith(f"wechat {SUB_B} fundflowbill no bill") for line in out)
    assert any(line.startswith(f"wechat {SUB_C} tradebill failed") for line in out)
    assert f"wechat {SUB_C} fundflow 3 rows stored" in out
    # each sub-merchant asked once per file (S003 and S004 share one), not the provider's own bills (own_bills = [])
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
    # the sub-merchant's trade bill, and by default the provider's own fund-flow bill (none that day: said)
    assert sorted(p.split("?")[0] for s, p, _c in fake_wechat.log if s == "apply") == [FLOW, TRADE]


def _pull(tmp_path, cfg):
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY, "--channel", "wechat"])
    return w, r, [" ".join(line.split()) for line in r.output.splitlines()]


def test_provider_pulls_its_own_fundflow_bill_by_default(tmp_path, wechat_keys, fake_wechat):
    """A provider listing sub-merchants still pulls its own account's fund-flow bill (返佣, 分账 receipts: no
    sub-merchant's bill holds them), stored under its own number; its full trade bill is not asked for unless named."""
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A)])
    fake_wechat.bills[(FLOW, "BASIC", DAY)] = _flows(2, "P")
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false")
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 0, r.output
    assert f"wechat {PROVIDER} fundflow 2 rows stored" in out and f"wechat {SUB_A} trade_all 1 rows stored" in out
    assert sorted(p.split("?")[0] for s, p, _c in fake_wechat.log if s == "apply") == [FLOW, TRADE]
    assert all("sub_mchid" in p for s, p, _c in fake_wechat.log if s == "apply" and p.startswith(TRADE))
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT account, count(*), sum(amount_fen) FROM fund_flows GROUP BY 1").fetchall() == [
            (PROVIDER, 2, 300)]


def test_provider_own_bills_each_stored_or_quarantined_on_its_own(tmp_path, wechat_keys, fake_wechat):
    """own_bills = ["tradebill", "fundflowbill"]: the full bill of all sub-merchants (a 小微商户's rows only come so)
    is stored under the provider, each row under its 特约商户号 (the listed sub-merchant's rows, in both files, once);
    the provider's fund-flow bill that does not tie out is quarantined alone."""
    a1 = payment(1, 1000, sub_mch=SUB_A)
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([a1])
    fake_wechat.bills[(TRADE, "ALL", DAY)] = trade_bill([a1, payment(9, 900, sub_mch="1900000299")])
    fake_wechat.bills[(FLOW, "BASIC", DAY)] = fundflow_bill([("2026-11-20 10:00:00", "收入", 100, 100)],
                                                           summary=["1", "1", "9.99", "0", "0.00"])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false", 'own_bills = ["tradebill", "fundflowbill"]')
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 2, r.output
    assert f"wechat {PROVIDER} trade_all 2 rows stored" in out, out
    assert any(line.startswith(f"wechat {PROVIDER} fundflowbill failed") for line in out), out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT merchant_id, count(*) FROM transactions GROUP BY 1 ORDER BY 1").fetchall() == [
            (SUB_A, 1), ("1900000299", 1)]
        assert ws.con.execute("SELECT source FROM quarantine").fetchall() == [(f"wechat:{PROVIDER}:fundflowbill:{DAY}",)]


def test_sub_merchant_bill_with_another_sub_merchants_rows_is_quarantined(tmp_path, wechat_keys, fake_wechat):
    """A bill asked for SUB_A that lists a row of SUB_B (and ties out): refused by line, field and both numbers, nothing
    of it stored; SUB_B's own bill is still stored."""
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A),
                                                               payment(2, 2000, sub_mch=SUB_B)])
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_B)] = trade_bill([payment(3, 700, sub_mch=SUB_B)])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}", "{SUB_B}"]',
                  "sub_merchant_fundflow = false", "own_bills = []")
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 2, r.output
    assert any(line.startswith(f"wechat {SUB_A} tradebill failed") for line in out), out
    assert f"wechat {SUB_B} trade_all 1 rows stored" in out
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT merchant_id, order_no FROM transactions").fetchall() == [(SUB_B, "ORD000003")]
        reason = ws.con.execute("SELECT reason FROM quarantine WHERE source = ?",
                                [f"wechat:{SUB_A}:tradebill:{DAY}"]).fetchall()[0][0]
    assert f"wechat:{SUB_A}:tradebill:{DAY}:3 [特约商户号]" in reason, reason  # file, line, field
    assert f"特约商户号 {SUB_B} is not {SUB_A}" in reason, reason


def test_provider_bill_of_another_merchant_number_is_quarantined(tmp_path, wechat_keys, fake_wechat):
    """The 商户号 of a provider's bill (its own full bill, a sub-merchant's) must be the provider's number."""
    other = {**payment(2, 2000, sub_mch=SUB_A), "商户号": "1900000777"}
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A), other])
    fake_wechat.bills[(TRADE, "ALL", DAY)] = trade_bill([other])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false", 'own_bills = ["tradebill"]')
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 2, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]
        reasons = dict(ws.con.execute("SELECT source, reason FROM quarantine").fetchall())
    assert sorted(reasons) == [f"wechat:{PROVIDER}:tradebill:{DAY}", f"wechat:{SUB_A}:tradebill:{DAY}"]
    assert f"商户号 1900000777 is not {PROVIDER}" in reasons[f"wechat:{SUB_A}:tradebill:{DAY}"]
    assert f"wechat:{PROVIDER}:tradebill:{DAY}:2 [商户号]" in reasons[f"wechat:{PROVIDER}:tradebill:{DAY}"]



def test_a_bill_of_the_other_kind_than_asked_for_is_quarantined(tmp_path, wechat_keys, fake_wechat):
    """The owner check reads a trade bill's 商户号 / 特约商户号; a fund-flow bill names no merchant. So an answer of the
    other layout (a fund-flow bill where SUB_A's trade bill was asked for, a trade bill of another provider where the
    provider's own fund-flow bill was) skipped the check and was stored under the account asked for: refused, naming
    the file, what it is and what was asked for."""
    other = {**payment(2, 2000, sub_mch=SUB_B), "商户号": "1900000777"}
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = _flows(2, "X")
    fake_wechat.bills[(FLOW, "BASIC", DAY)] = trade_bill([other])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false")
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 2, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]
        assert ws.con.execute("SELECT count(*) FROM fund_flows").fetchall() == [(0,)]
        reasons = dict(ws.con.execute("SELECT source, reason FROM quarantine").fetchall())
    assert sorted(reasons) == [f"wechat:{PROVIDER}:fundflowbill:{DAY}", f"wechat:{SUB_A}:tradebill:{DAY}"]
    assert "a fund-flow bill where the trade bill was asked for" in reasons[f"wechat:{SUB_A}:tradebill:{DAY}"]
    assert "a trade bill where the fund-flow bill was asked for" in reasons[f"wechat:{PROVIDER}:fundflowbill:{DAY}"]
    assert f"wechat:{SUB_A}:tradebill:{DAY}:1" in reasons[f"wechat:{SUB_A}:tradebill:{DAY}"]  # file and line


def test_a_sub_merchant_number_padded_with_spaces_is_not_the_one_asked_for(tmp_path, wechat_keys, fake_wechat):
    """The check compares the number the row is stored under: the bill reader strips the backtick only, so a
    "` 1900000201 " row was passed by the check (which also trimmed spaces) and stored under the merchant number
    " 1900000201 ", one no account has (its orders never met it, no store was attributed)."""
    padded = {**payment(2, 2000), "特约商户号": f" {SUB_A} "}
    fake_wechat.bills[(TRADE, "ALL", DAY, SUB_A)] = trade_bill([payment(1, 1000, sub_mch=SUB_A), padded])
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url, f'sub_mchids = ["{SUB_A}"]',
                  "sub_merchant_fundflow = false", "own_bills = []")
    w, r, out = _pull(tmp_path, cfg)
    assert r.exit_code == 2, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall() == [(0,)]
        reason = ws.con.execute("SELECT reason FROM quarantine").fetchall()[0][0]
    assert f"wechat:{SUB_A}:tradebill:{DAY}:3 [特约商户号]" in reason, reason
    assert f"特约商户号 ' {SUB_A} ' is not {SUB_A}" in reason, reason


def test_owner_problems_name_the_first_lines_whichever_column():
    """Problems are listed from the bill's first line on, whichever number is off: 25 rows of another 商户号 after a
    first row of another 特约商户号 listed lines 3..22 only, never line 2, the first wrong row."""
    from paymatch.channels.wechat.owner import check_owner
    from paymatch.errors import LoadError

    rows = [payment(1, 100, sub_mch=SUB_B)] + [{**payment(n, 100, sub_mch=SUB_A), "商户号": "1900000777"}
                                                for n in range(2, 27)]
    with pytest.raises(LoadError) as err:
        check_owner(trade_bill(rows), "b.csv", mchid=PROVIDER, sub_mchid=SUB_A)
    lines = [p.line for p in err.value.problems]
    assert lines[:3] == [2, 3, 4] and len(lines) == 20, lines
    assert err.value.problems[0].field == "特约商户号"

@pytest.mark.parametrize("line,match", [
    ('sub_mchids = "1900000201"', "key 'sub_mchids' must be a non-empty list"),
    ("sub_mchids = []", "key 'sub_mchids' must be a non-empty list"),
    ('sub_mchids = ["1900000201", "19OOOOO202"]', r"key 'sub_mchids' item 2 '19OOOOO202' is not a sub-merchant"),
    ("sub_mchids = [1900000201]", "key 'sub_mchids' item 1 1900000201 is not"),
    ('sub_mchids = ["1900000201", "1900000201"]', "names 1900000201 twice"),
    ('sub_merchants = { S001 = 1900000201 }', "key 'sub_merchants' store 'S001': 1900000201 is not"),
    ('sub_merchants = ["1900000201"]', "key 'sub_merchants' must be a table"),
    ("sub_merchant_fundflow = false", "key 'sub_merchant_fundflow' needs 'sub_mchids' or 'sub_merchants'"),
    ('own_bills = ["fundflowbill"]', "key 'own_bills' needs 'sub_mchids' or 'sub_merchants'"),
    ('sub_mchids = ["1900000201"]\nown_bills = ["fundflow"]', "key 'own_bills' must be a list of 'tradebill' / "),
    ('sub_mchids = ["1900000201"]\nown_bills = "tradebill"', "key 'own_bills' must be a list"),
])
def test_bad_sub_merchant_config_names_account_and_key(tmp_path, wechat_keys, line, match):
    cfg = _config(tmp_path, wechat_keys, "http://127.0.0.1:9", line)
    r = runner.invoke(app, ["pull", "--workspace", str(tmp_path / "w.duckdb"), "--config", str(cfg), "--date", DAY,
                            "--all"])
    assert r.exit_code != 0
    text = " ".join(r.output.split())
    assert "channels.wechat[0]" in text, text

    assert re.search(match, text), text
