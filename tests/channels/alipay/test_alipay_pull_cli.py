"""paymatch pull --channel alipay against the fake gateway → workspace (summary + detail, idempotent)."""

import datetime as dt

from alipay_billgen import ACCOUNT, bill_zip, fund_bytes, fund_rows, fund_zip, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem
from typer.testing import CliRunner

from paymatch.cli import app
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"


def _keys(tmp_path):
    """(app key, 'Alipay' key), their PEMs written beside the config as it names them."""
    app_key, alipay_key = new_key(), new_key()
    (tmp_path / "app.pem").write_text(private_pem(app_key))
    (tmp_path / "alipay.pem").write_text(public_pem(alipay_key))
    return app_key, alipay_key


def _config(tmp_path, gw):
    """The config file of one Alipay account pulling from the fake gateway ``gw``."""
    cfg = tmp_path / "rules.toml"
    cfg.write_text(f'[channels.alipay]\napp_id = "{APP_ID}"\napp_private_key_file = "app.pem"\n'
                   f'alipay_public_key_file = "alipay.pem"\ngateway_url = "{gw.gateway_url}"\n'
                   "timeout = 1.0\nretries = 1\nbackoff = 0.01\n", encoding="utf-8")
    return cfg


def test_pull_alipay_into_workspace(tmp_path):
    app_key, alipay_key = _keys(tmp_path)
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-16": bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.5) as gw:
        cfg = _config(tmp_path, gw)
        w = str(tmp_path / "w.duckdb")
        runner = CliRunner()
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16", "--all"])
        assert r.exit_code == 0, r.output
        assert "3 rows stored" in r.output
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16",
                                "--channel", "alipay"])
        assert r.exit_code == 0 and "already stored, unchanged" in r.output
    with Workspace(w) as ws:
        got = ws.con.execute("SELECT type, order_no, amount_fen, method, origin FROM transactions ORDER BY 1, 2").fetchall()
    assert got == [("payment", "ORD-1", 10000, "alipay", "bill"), ("payment", "ORD-2", 2000, "huabei", "bill"),
                   ("refund", "ORD-1", 3000, "alipay", "bill")]


def test_pull_quarantines_a_trade_bill_over_its_detail_stored_as_transactions(tmp_path):
    """The account's 账务明细 ingested alone first (the profile stored its movements as transactions), then the night's
    pull of the same day's 业务明细: stored, each payment and refund was in the workspace twice. ``ingest`` refuses that
    业务明细; ``pull`` quarantines it with the same words (kept for a rebuild), stores nothing of it, exits 2."""
    app_key, alipay_key = _keys(tmp_path)
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "--workspace", w, "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert r.exit_code == 0 and "profile:alipay_merchant_console_export" in r.output, r.output
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-16": bill_zip(sample_rows())},
                           app_id=APP_ID, stall=0.5) as gw:
        cfg = _config(tmp_path, gw)
        r = runner.invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16",
                                "--channel", "alipay"])
    assert r.exit_code == 2, r.output
    said = "".join(r.output.split())
    assert "".join("would count each payment and refund twice".split()) in said, r.output
    assert "lone_账务明细.csv" in said and "quarantine" in said, r.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the profile's, once
        assert ws.con.execute("SELECT count(*) FROM batches").fetchall()[0][0] == 1
        reasons = [x for x, in ws.con.execute("SELECT reason FROM quarantine").fetchall()]
    assert len(reasons) == 1 and "would count each payment and refund twice" in reasons[0]


# --- the zip must be the bill asked for: kind, account, day --------------------------------------------------------

PID = "2088021109625633"  # the account of alipay_billgen.ACCOUNT ("20880211096256330156": PID + Alipay's 0156)


def _pull_answered_with(tmp_path, zips, *extra, fund_zips=None):
    """`paymatch pull --channel alipay` of 2019-09-16, the fake gateway serving ``zips`` (bill_type=trade) and
    ``fund_zips`` (signcustomer); ``extra`` config lines. (result, quarantine {source: reason}, stored counts)."""
    app_key, alipay_key = _keys(tmp_path)
    w = str(tmp_path / "w.duckdb")
    with FakeAlipayGateway(app_key.public_key(), alipay_key, zips, fund_zips=fund_zips, app_id=APP_ID,
                           stall=0.5) as gw:
        cfg = _config(tmp_path, gw)
        with cfg.open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in extra))
        r = CliRunner().invoke(app, ["pull", "--workspace", w, "--config", str(cfg), "--date", "2019-09-16",
                                     "--channel", "alipay"])
    with Workspace(w) as ws:
        reasons = dict(ws.con.execute("SELECT source, reason FROM quarantine").fetchall())
        stored = ws.con.execute("SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM fund_flows), "
                                "(SELECT count(*) FROM batches)").fetchone()
    return r, reasons, stored


def test_a_fund_detail_zip_answering_a_trade_request_is_quarantined(tmp_path):
    """A 账务明细 zip served for bill_type=trade parsed fine (as fund flows) and was stored as the account's bill of
    the day: its trade bill, the one the orders reconcile against, never came and nothing said so."""
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": fund_zip(fund_rows())})
    assert r.exit_code == 2, r.output
    assert stored == (0, 0, 0)
    reason = reasons[f"alipay:{APP_ID}:trade:2019-09-16"]
    member = f"alipay:{APP_ID}:trade:2019-09-16!{ACCOUNT}_20190916_账务明细.csv"
    assert f"{member}:1: alipay: a 账务明细 (bill_type=signcustomer) where the 业务明细 (bill_type=trade) was " \
           "asked for: not stored" in reason, reason
    assert "'#支付宝账务明细查询'" in reason and "账务明细(汇总).csv:1" in reason, reason


def test_a_trade_zip_answering_a_signcustomer_request_is_quarantined(tmp_path):
    """bill_types = both: the trade zip is stored; a 业务明细 zip served for signcustomer was stored a second time (as
    transactions, under the same account and day) where the 账务明细 was asked for: refused, the trade bill kept."""
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": bill_zip(sample_rows())},
                                             'bill_types = ["trade", "signcustomer"]',
                                             fund_zips={"2019-09-16": bill_zip(sample_rows())})
    assert r.exit_code == 2, r.output
    assert stored == (3, 0, 2)  # the trade zip's detail and summary, once
    assert list(reasons) == [f"alipay:{APP_ID}:signcustomer:2019-09-16"]
    reason = reasons[f"alipay:{APP_ID}:signcustomer:2019-09-16"]
    assert "业务明细.csv:1: alipay: a 业务明细 (bill_type=trade) where the 账务明细 (bill_type=signcustomer) was " \
           "asked for: not stored" in reason, reason


def test_another_accounts_zip_is_quarantined(tmp_path):
    """The account's seller_id is 2088021109625633; a zip whose '#账号' names another PID (another merchant's bill
    behind the URL) was stored as this account's."""
    other = "20880000000009990156"
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": bill_zip(sample_rows(), account=other)},
                                             f'seller_id = "{PID}"')
    assert r.exit_code == 2, r.output
    assert stored == (0, 0, 0)
    reason = reasons[f"alipay:{APP_ID}:trade:2019-09-16"]
    assert f"{other}_20190916_业务明细.csv:2 [账号]: alipay: a bill of account 2088000000000999 where account {PID}'s " \
           f"(seller_id) was asked for: not stored" in reason, reason
    assert f"(value '{other}')" in reason and "业务明细(汇总).csv:2 [账号]" in reason, reason


def test_the_accounts_own_zip_and_one_without_seller_id_are_stored(tmp_path):
    """The check compares the PID (the '#账号' value less Alipay's 4-digit suffix) with seller_id; without a seller_id
    (an app's own bills) there is nothing to compare with: stored as before."""
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": bill_zip(sample_rows())}, f'seller_id = "{PID}"')
    assert r.exit_code == 0 and reasons == {} and stored == (3, 0, 2), r.output
    (tmp_path / "no_seller_id").mkdir()
    r, reasons, stored = _pull_answered_with(tmp_path / "no_seller_id",
                                             {"2019-09-16": bill_zip(sample_rows(), account="20880000000009990156")})
    assert r.exit_code == 0 and reasons == {} and stored == (3, 0, 2), r.output


def test_another_days_zip_is_quarantined(tmp_path):
    """The 2019-09-15 bill served for 2019-09-16 (its rows parsed, its '#起始日期' the 15th) was stored as the 16th's:
    the 16th's payments looked missing and the 15th's were counted twice."""
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": bill_zip(sample_rows(),
                                                                              day=dt.date(2019, 9, 15))})
    assert r.exit_code == 2, r.output
    assert stored == (0, 0, 0)
    reason = reasons[f"alipay:{APP_ID}:trade:2019-09-16"]
    assert "业务明细.csv:3 [起始日期]: alipay: a bill of 2019-09-15 where the bill of 2019-09-16 was asked for: not " \
           "stored" in reason, reason
    assert "(value '2019年09月15日 00:00:00')" in reason, reason


def test_a_fund_detail_of_another_day_is_quarantined(tmp_path):
    """The same for the signcustomer zip (its 账务明细 and 汇总 print the same '#起始日期' line)."""
    r, reasons, stored = _pull_answered_with(tmp_path, {"2019-09-16": bill_zip(sample_rows())},
                                             'bill_types = ["trade", "signcustomer"]',
                                             fund_zips={"2019-09-16": fund_zip(fund_rows(), day=dt.date(2019, 9, 17))})
    assert r.exit_code == 2, r.output
    assert stored == (3, 0, 2)
    reason = reasons[f"alipay:{APP_ID}:signcustomer:2019-09-16"]
    assert "账务明细.csv:3 [起始日期]: alipay: a bill of 2019-09-17 where the bill of 2019-09-16" in reason, reason
