"""Alipay's day bill is T+1 (the day itself is refused as isv.invalid_arguments): an isp.bill_not_exist answer before
10:00 Beijing time the next morning is "pull again later", a failure, not "no trade that day"."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from alipay_billgen import bill_zip, sample_rows
from fake_gateway import FakeAlipayGateway, new_key, private_pem, public_pem

from paymatch.accounts import Account
from paymatch.channels.alipay.config import AlipayConfig
from paymatch.pull import pull_day
from paymatch.workspace import Workspace

APP_ID = "2021000000000001"
BEIJING = ZoneInfo("Asia/Shanghai")


def test_bill_not_exist_early_next_morning_is_a_failure_to_retry(tmp_path):
    app_key, alipay_key = new_key(), new_key()
    day = dt.date(2019, 9, 16)
    with FakeAlipayGateway(app_key.public_key(), alipay_key, {"2019-09-15": bill_zip(sample_rows())},
                           app_id=APP_ID) as gw:
        cfg = AlipayConfig(APP_ID, private_pem(app_key), public_pem(alipay_key), gateway_url=gw.gateway_url,
                           timeout=1.0, retries=1, backoff=0.01)
        acct = Account("alipay", APP_ID, cfg)
        with Workspace(str(tmp_path / "w.duckdb")) as ws:
            (early,) = pull_day(ws, [acct], day, now=dt.datetime(2019, 9, 17, 9, 30, tzinfo=BEIJING))
            assert early.note is None and "isp.bill_not_exist" in early.error
            assert "pull again after 2019-09-17 10:00" in early.error
            (late,) = pull_day(ws, [acct], day, now=dt.datetime(2019, 9, 17, 10, 0, tzinfo=BEIJING))
            assert late.error is None and "no bill for that day" in late.note
            assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
