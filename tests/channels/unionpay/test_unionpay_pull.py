"""paymatch pull --channel unionpay against a fake ACP file-download server (txnType 76) → workspace → reconcile."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from acp_fake_server import MER_ID, UNIONPAY_CN, FakeUnionPay, Pki, cert, day_zip, key
from typer.testing import CliRunner
from unionpay_zmgen import rd_report, zm_file, zm_line

from paymatch.accounts import accounts
from paymatch.cli import app
from paymatch.config import load_config
from paymatch.errors import ConfigError
from paymatch.workspace import Workspace

runner = CliRunner()
DAY = "2019-09-16"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki.make()


def zm(mer_id: str = MER_ID) -> bytes:
    return zm_file([zm_line(mer_id=mer_id), zm_line(amount_fen=5000, fee="D000000000006", settle="C000000004994",
                                                    query_id="201909161200000000002", order_id="ORDER-2",
                                                    txn_time="0916120000", mer_id=mer_id)])


def delivery(*, inn: str = "190916", mer_id: str = MER_ID, zm_mer: str = MER_ID, settle: str = "20190916") -> bytes:
    """The day's zip as UnionPay serves it: ZM, ZME (empty), RD 汇总表 tying out with the ZM."""
    return day_zip({f"INN{inn}88ZM_{mer_id}": zm(zm_mer), f"INN{inn}88ZME_{mer_id}": b"",
                    f"RD2010{inn}01_{mer_id}": rd_report(mer_id=mer_id, settle=settle, count=2,
                                                        amount=("0.00", "60.00"), fee=("0.12", "0.00"),
                                                        net=("0.00", "59.88"))})


def _config(tmp_path, pki: Pki, server: FakeUnionPay, *extra: str):
    pki.write(tmp_path)
    cfg = tmp_path / "rules.toml"
    cfg.write_text("\n".join(["[channels.unionpay]", f'mer_id = "{MER_ID}"', 'pfx_file = "acp_sign.pfx"',
                              'pfx_password_file = "pfx_password.txt"', 'root_cert_file = "acp_root.cer"',
                              'middle_cert_file = "acp_middle.cer"', f'base_url = "{server.base_url}"',
                              "timeout = 0.3", "retries = 1", "backoff = 0.01", *extra]) + "\n", encoding="utf-8")
    return cfg


def _pull(tmp_path, cfg, *args: str):
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", DAY,
                            *(args or ("--channel", "unionpay"))])
    with Workspace(w) as ws:
        stored = ws.con.execute("SELECT (SELECT count(*) FROM transactions), (SELECT count(*) FROM batches)").fetchone()
        reasons = dict(ws.con.execute("SELECT source, reason FROM quarantine").fetchall())
    return r, stored, reasons


def test_pull_store_rerun_reconcile(tmp_path, pki):
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        cfg = _config(tmp_path, pki, srv)
        r, stored, reasons = _pull(tmp_path, cfg)
        assert r.exit_code == 0, r.output
        assert "2 rows stored" in r.output and "unionpay_zme" in r.output and "unionpay_rd" in r.output, r.output
        assert not reasons
        assert stored[0] == 2
        r, again, _ = _pull(tmp_path, cfg, "--all")  # a rerun stores nothing new
        assert r.exit_code == 0 and "already stored, unchanged" in r.output and "rows stored" not in r.output, r.output
        assert again == stored
        assert not srv.bad_requests and [q["settleDate"] for q in srv.requests] == ["0916", "0916"]
        assert {q["merId"] for q in srv.requests} == {MER_ID}
    w = tmp_path / "w.duckdb"
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM batches WHERE meta LIKE '%file_sha256%'").fetchone()[0] == stored[1]
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,member_id,member_level,instalments\n"
        f"ORDER-1,S1,{MER_ID},unionpay,10.00,paid,2019-09-16 10:55:00,2019-09-16 10:55:10,,,0\n"
        f"ORDER-2,S1,{MER_ID},unionpay,49.00,paid,2019-09-16 11:59:50,2019-09-16 11:59:55,,,0\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", "--workspace", str(w), "--orders", str(orders)]).exit_code == 0
    r = runner.invoke(app, ["reconcile", "--workspace", str(w), "--date", DAY, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        got = {row["outcome_id"]: (row["kind"], row["settle_amount_fen"]) for row in csv.DictReader(f)}
    assert got == {"P-ORDER-1": ("matched", "994"), "P-ORDER-2": ("amount_mismatch", "4994")}


def _forged(srv, pki):
    srv.sign_key = key("rogue")  # UnionPay's certificate, another key's signature


def _wrong_chain(srv, pki):
    # another CA of the same names as the test's (what a forger would make): only the signatures tell them apart
    rogue_mid = cert("CFCA TEST OCA1", key("rogue_mid"), "CFCA TEST ROOT", key("rogue_root"), ca=True)
    assert rogue_mid.subject == pki.middle.subject and rogue_mid.issuer == pki.middle.issuer
    srv.sign_key, srv.sign_cert = key("rogue"), cert(UNIONPAY_CN, key("rogue"), "CFCA TEST OCA1", key("rogue_mid"))


def _expired(srv, pki):
    srv.sign_cert = cert(UNIONPAY_CN, key("unionpay"), "CFCA TEST OCA1", key("middle"),
                         days=(-400, -1))


def _not_unionpay(srv, pki):
    srv.sign_key, srv.sign_cert = key("rogue"), cert("041@Z12@某某支付有限公司@00000001", key("rogue"),
                                                     "CFCA TEST OCA1", key("middle"))


@pytest.mark.parametrize("spoil, said", [
    (_forged, "signature does not verify"),
    (lambda srv, pki: srv.faults.append("tampered"), "signature does not verify"),
    (lambda srv, pki: srv.faults.append("unsigned"), "unsigned"),
    (_wrong_chain, "not issued by the configured middle certificate"),
    (_expired, "is not valid now"),
    (_not_unionpay, "does not name 中国银联股份有限公司"),
])
def test_an_answer_not_signed_by_unionpay_is_refused_and_nothing_stored(tmp_path, pki, spoil, said):
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        spoil(srv, pki)
        r, stored, reasons = _pull(tmp_path, _config(tmp_path, pki, srv))
        assert len(srv.requests) == 1  # refused, not asked again
    assert r.exit_code == 2, r.output
    assert stored == (0, 0)
    reason = reasons[f"unionpay:{MER_ID}:day:{DAY}"]
    assert "answer refused, not UnionPay's" in reason and said in reason, reason


def test_an_unsigned_refusal_says_its_resp_code_unverified(tmp_path, pki):
    """An answer without signature that refuses the request (respCode 11, the request's signature: a wrong .pfx or
    certId) is refused as unsigned, and says what it says, marked unverified: the operator's only clue."""
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        srv.faults.append("refused")
        r, stored, reasons = _pull(tmp_path, _config(tmp_path, pki, srv))
    assert r.exit_code == 2 and stored == (0, 0), r.output
    reason = reasons[f"unionpay:{MER_ID}:day:{DAY}"]
    assert "unsigned" in reason and "unverified, it says respCode 11 验证签名失败[9100004]" in reason, reason


def test_no_file_that_day(tmp_path, pki):
    """respCode 98 (文件不存在) the morning after: no bill, exit 0, as for the other channels; before BILL_READY_HOUR
    it is a failure to pull again later, nothing quarantined."""
    from paymatch.pull import pull_day

    with FakeUnionPay(pki) as srv:
        cfg = _config(tmp_path, pki, srv)
        r, stored, reasons = _pull(tmp_path, cfg)
        assert r.exit_code == 0, r.output
        assert "no bill" in r.output and "respCode 98" in r.output and stored == (0, 0) and not reasons
        accts = accounts(load_config(cfg), tmp_path, "unionpay")
        with Workspace(tmp_path / "early.duckdb") as ws:
            early = dt.datetime(2019, 9, 17, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
            (res,) = pull_day(ws, accts, dt.date(2019, 9, 16), now=early)
            assert res.error and "may not be made yet" in res.error
            assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


@pytest.mark.parametrize("zip_kw, name, said", [
    (dict(mer_id="802310048990000", zm_mer="802310048990000"), None, "a file of merchant 802310048990000"),
    (dict(inn="190915", settle="20190915"), None, "a file of settle date 190915"),
    (dict(zm_mer="802310048990000"), None, "row(s) of merchant 802310048990000"),
    (dict(settle="20190915"), None, "a 汇总表 of 2019-09-15"),
    ({}, f"{MER_ID}_20190915.zip", "a zip named for merchant"),
])
def test_a_zip_of_another_merchant_or_day_is_refused(tmp_path, pki, zip_kw, name, said):
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery(**zip_kw)
        if name:
            srv.file_names[(MER_ID, "0916")] = name
        r, stored, reasons = _pull(tmp_path, _config(tmp_path, pki, srv))
    assert r.exit_code == 2, r.output
    assert stored == (0, 0)
    reason = reasons[f"unionpay:{MER_ID}:day:{DAY}"]
    assert said in reason and "not stored" in reason, reason


def test_timeouts_and_5xx_are_retried_then_reported(tmp_path, pki):
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        cfg = _config(tmp_path, pki, srv)
        srv.faults[:] = ["500"]
        r, stored, _ = _pull(tmp_path, cfg)
        assert r.exit_code == 0 and "2 rows stored" in r.output, r.output
        assert len(srv.requests) == 2
        srv.faults[:] = ["timeout", "500"]
        (tmp_path / "again").mkdir()
        r, _, reasons = _pull(tmp_path / "again", cfg)
    assert r.exit_code == 2, r.output
    reason = reasons[f"unionpay:{MER_ID}:day:{DAY}"]
    assert "gave up after 2 attempts" in reason and "HTTP 500" in reason, reason


def test_config_errors_name_the_key(tmp_path, pki, monkeypatch):
    pki.write(tmp_path)
    base = ["[channels.unionpay]", f'mer_id = "{MER_ID}"', 'pfx_file = "acp_sign.pfx"',
            'root_cert_file = "acp_root.cer"', 'middle_cert_file = "acp_middle.cer"']
    cases = [(base, "pfx_password_file' or 'pfx_password_env'"),
             (base + ['pfx_password = "s3cret-pw"'], "key 'pfx_password': the .pfx password is never written"),
             (base + ['pfx_password_env = "UP_PFX_PW"'], "UP_PFX_PW (pfx_password_env) is not set"),
             ([*base[:1], 'mer_id = "8023"', *base[2:], 'pfx_password_file = "pfx_password.txt"'], "key 'mer_id'"),
             (base + ['pfx_password_file = "acp_root.cer"'], "channels.unionpay.pfx_file: not a PKCS#12 file this "
                                                              "password opens"),
             (base + ['pfx_password_file = "pfx_password.txt"', 'verify_cert_file = "pfx_password.txt"'],
              "channels.unionpay.verify_cert_file (pfx_password.txt): not a readable X.509 certificate"),
             (base + ['pfx_password_file = "pfx_password.txt"', 'verify_cert_file = []'],
              "key 'verify_cert_file' must name a file or a list of files"),
             (base + ['pfx_password_file = "pfx_password.txt"', 'verify_cert_file = ["nowhere.cer"]'],
              "channels.unionpay.verify_cert_file: cannot read")]
    for lines, said in cases:
        (tmp_path / "rules.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=said.replace("(", r"\(").replace(")", r"\)")) as err:
            accounts(load_config(tmp_path / "rules.toml"), tmp_path, "unionpay")
        assert "s3cret-pw" not in str(err.value)
    monkeypatch.setenv("UP_PFX_PW", "000000")
    (tmp_path / "rules.toml").write_text("\n".join(base + ['pfx_password_env = "UP_PFX_PW"']) + "\n", encoding="utf-8")
    (acct,) = accounts(load_config(tmp_path / "rules.toml"), tmp_path, "unionpay")
    assert acct.label == MER_ID and acct.config.cert_id == "69629715588"
    assert "000000" not in repr(acct.config) and "PRIVATE" not in repr(acct.config)


def test_several_merchants_each_pulled_under_its_own_number(tmp_path, pki):
    """[[channels.unionpay]]: one account per 商户代码, each asked for its own file; --all pulls every one."""
    other = "802310048990000"
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        cfg = _config(tmp_path, pki, srv)
        text = cfg.read_text(encoding="utf-8").replace("[channels.unionpay]", "[[channels.unionpay]]")
        cfg.write_text(text + text.replace(f'mer_id = "{MER_ID}"', f'mer_id = "{other}"'), encoding="utf-8")
        r, stored, reasons = _pull(tmp_path, cfg, "--all")
        assert sorted(q["merId"] for q in srv.requests) == sorted([MER_ID, other])
    assert r.exit_code == 0, r.output
    assert stored[0] == 2 and not reasons
    assert f"unionpay {other}" in r.output and "no bill" in r.output, r.output
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.con.execute("SELECT DISTINCT merchant_id FROM transactions").fetchall() == [(MER_ID,)]


def test_a_day_whose_summary_does_not_tie_out_is_quarantined_whole(tmp_path, pki):
    """The RD 汇总表 counts a trade the ZM lacks: the zip (raw bytes) is quarantined, none of its files stored."""
    bad = day_zip({f"INN19091688ZM_{MER_ID}": zm(), f"RD201019091601_{MER_ID}": rd_report(
        settle="20190916", count=3, amount=("0.00", "60.00"), fee=("0.12", "0.00"), net=("0.00", "59.88"))})
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = bad
        r, stored, reasons = _pull(tmp_path, _config(tmp_path, pki, srv))
    assert r.exit_code == 2, r.output
    assert stored == (0, 0)
    assert "does not tie out" in reasons[f"unionpay:{MER_ID}:day:{DAY}"]
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.con.execute("SELECT payload FROM quarantine").fetchone()[0] == bad


def test_the_last_day_of_a_year_pulled_the_next_morning(tmp_path, pki):
    """2026-12-31 pulled on 2027-01-01: settleDate 1231, the zip of 20261231 (INN261231); its trades from 23:00 the day
    before are of 2026, stored under the settle date 2026-12-31."""
    from paymatch.pull import pull_day

    z = zm_file([zm_line(txn_time="1230233000", query_id="202612302330000000001", order_id="O1"),
                 zm_line(txn_time="1231120000", query_id="202612311200000000002", order_id="O2", amount_fen=5000,
                         fee="D000000000006", settle="C000000004994")])
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "1231")] = day_zip({
            f"INN26123188ZM_{MER_ID}": z, f"INN26123188ZME_{MER_ID}": b"",
            f"RD201026123101_{MER_ID}": rd_report(settle="20261231", count=2, amount=("0.00", "60.00"),
                                                 fee=("0.12", "0.00"), net=("0.00", "59.88"))})
        srv.file_names[(MER_ID, "1231")] = f"{MER_ID}_20261231.zip"
        accts = accounts(load_config(_config(tmp_path, pki, srv)), tmp_path, "unionpay")
        with Workspace(tmp_path / "w.duckdb") as ws:
            res = pull_day(ws, accts, dt.date(2026, 12, 31), now=dt.datetime(2027, 1, 1, 3, 0, tzinfo=dt.UTC))
            got = ws.con.execute("SELECT order_no, strftime(occurred_at AT TIME ZONE 'Asia/Shanghai', "
                                 "'%Y-%m-%d %H:%M'), bill_date FROM transactions ORDER BY 1").fetchall()
        assert [q["settleDate"] for q in srv.requests] == ["1231"]
    assert [(r.kind, r.rows, r.error) for r in res] == [("unionpay_zm", 2, None), ("unionpay_zme", 0, None),
                                                         ("unionpay_rd", 0, None)]
    assert got == [("O1", "2026-12-30 23:30", dt.date(2026, 12, 31)), ("O2", "2026-12-31 12:00", dt.date(2026, 12, 31))]


def test_one_merchant_configured_twice_is_refused(tmp_path, pki):
    """Two [[channels.unionpay]] sections of one 商户代码 would pull and store its day twice: a config error naming it,
    before any request."""
    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        cfg = _config(tmp_path, pki, srv)
        text = cfg.read_text(encoding="utf-8").replace("[channels.unionpay]", "[[channels.unionpay]]")
        cfg.write_text(text + text, encoding="utf-8")
        r, stored, _ = _pull(tmp_path, cfg, "--all")
        assert srv.requests == []
    assert r.exit_code == 2, r.output
    assert "configured more than once" in r.output and f"[[channels.unionpay]] {MER_ID}" in r.output, r.output
    assert stored == (0, 0)


def test_the_days_zip_is_stored_whole_or_not_at_all(tmp_path, pki, monkeypatch):
    # storing the zip's second bill fails (a full disk, a killed process): its ZM stored before it goes too; a pull
    # again stores the ZM, ZME and 汇总表 all
    real = Workspace.store_bill
    calls = []

    def failing(self, bill, **kw):
        calls.append(bill.kind)
        if len(calls) == 2:
            self.con.execute("SELECT error('disk full')")  # a real DuckDB error inside the transaction
        return real(self, bill, **kw)

    with FakeUnionPay(pki) as srv:
        srv.files[(MER_ID, "0916")] = delivery()
        cfg = _config(tmp_path, pki, srv)
        monkeypatch.setattr(Workspace, "store_bill", failing)
        r, stored, _ = _pull(tmp_path, cfg)
        assert r.exit_code != 0 and "disk full" in str(r.exception or r.output), r.output
        assert calls[0] == "unionpay_zm" and stored == (0, 0)
        monkeypatch.setattr(Workspace, "store_bill", real)
        r, stored, reasons = _pull(tmp_path, cfg)
        assert r.exit_code == 0 and "2 rows stored" in r.output, r.output
        assert stored == (2, 3) and not reasons
