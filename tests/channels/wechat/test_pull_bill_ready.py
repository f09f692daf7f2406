"""A day's bills exist only from the next morning (Beijing time): pull says so instead of "no bill, no trade".

WeChat Pay's 申请交易账单 reference: "微信支付在每日10点后生成昨日交易账单文件"; before that, and for a day not over
yet, the API answers 400 NO_STATEMENT_EXIST, which pull used to report as "no bill" (no trade) with exit 0: a
scheduled pull at 08:00 never pulled that day's bill.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from test_pull_e2e import _config
from typer.testing import CliRunner
from wechat_billgen import payment, trade_bill

from paymatch.accounts import accounts
from paymatch.cli import app
from paymatch.config import load_config
from paymatch.errors import ChannelError
from paymatch.pull import pull_day
from paymatch.workspace import Workspace

runner = CliRunner()
BEIJING = ZoneInfo("Asia/Shanghai")


def test_a_day_not_over_is_refused_before_any_request(tmp_path, wechat_keys, fake_wechat):
    today = dt.datetime.now(BEIJING).date()
    fake_wechat.bills[("/v3/bill/tradebill", "ALL", str(today))] = trade_bill([payment(1, 1000)], "ALL")
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    w = tmp_path / "w.duckdb"
    r = runner.invoke(app, ["pull", "--workspace", str(w), "--config", str(cfg), "--date", str(today),
                            "--channel", "wechat"])
    assert r.exit_code == 2, r.output
    assert f"the bills of {today} do not exist yet" in r.output and "Beijing time" in r.output
    assert fake_wechat.request_serials == []  # nothing asked of the channel
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchone()[0] == 0
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


@pytest.mark.parametrize("hour, early", [(8, True), (11, False)])
def test_no_bill_before_ten_the_next_morning_is_pull_again_later(tmp_path, wechat_keys, fake_wechat, hour, early):
    day = dt.date(2026, 11, 20)  # the fake server has no bill of that day: NO_STATEMENT_EXIST
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    accts = accounts(load_config(cfg), cfg.parent, "wechat")
    now = dt.datetime(2026, 11, 21, hour, 0, tzinfo=BEIJING)
    with Workspace(tmp_path / "w.duckdb") as ws:
        results = pull_day(ws, accts, day, now=now)
        assert [r.kind for r in results] == ["tradebill", "fundflowbill"]
        for r in results:
            assert "NO_STATEMENT_EXIST" in (r.error or r.note)
            if early:  # a failure (exit 2): the bill may not be made yet
                assert r.note is None and "pull again after 2026-11-21 10:00" in r.error
            else:  # after 10:00: no trade that day, said as before
                assert r.error is None and "no bill for that day" in r.note
        assert ws.con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0


def test_pull_day_refuses_today_and_later(tmp_path, wechat_keys, fake_wechat):
    cfg = _config(tmp_path, wechat_keys, fake_wechat.base_url)
    accts = accounts(load_config(cfg), cfg.parent, "wechat")
    now = dt.datetime(2026, 11, 20, 23, 59, tzinfo=BEIJING)  # 15:59 UTC: the day in Beijing, not in UTC
    with Workspace(tmp_path / "w.duckdb") as ws:
        for day in (dt.date(2026, 11, 20), dt.date(2026, 11, 21)):
            with pytest.raises(ChannelError, match="not over in Beijing time"):
                pull_day(ws, accts, day, now=now.astimezone(dt.UTC))
    assert fake_wechat.request_serials == []
