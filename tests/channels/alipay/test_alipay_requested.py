"""``requested.check_requested`` on the '#' lines real Alipay bills print: what is compared, what cannot be."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from alipay_billgen import ACCOUNT, detail_text, sample_rows, summary_bytes

from paymatch.channels.alipay.bill import parse_zip
from paymatch.channels.alipay.requested import check_requested
from paymatch.errors import LoadError

DAY = dt.date(2019, 9, 16)
PID = ACCOUNT[:16]
DATES = "#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]"


def _zip(detail: str) -> bytes:
    """A trade zip whose 业务明细 is ``detail`` (its 汇总 as generated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("d_业务明细.csv", detail.encode("gbk"))
        zf.writestr("d_业务明细(汇总).csv", summary_bytes(sample_rows()))
    return buf.getvalue()


def _check(data: bytes, pid: str | None = PID, day: dt.date = DAY):
    return check_requested(parse_zip(data, "src"), data, "src", "trade", day, pid)


def test_an_account_printed_as_a_login_is_not_compared():
    """An older export's '#账号' may be the login (an e-mail): no PID to compare, so not refused for it."""
    data = _zip(detail_text(sample_rows()).replace(f"[{ACCOUNT}]", "[shop@example.com]"))
    assert [b.kind for b in _check(data)] == ["alipay_detail", "alipay_summary"]


def test_a_bare_pid_is_compared_too():
    data = _zip(detail_text(sample_rows(), account="2088000000000999"))
    with pytest.raises(LoadError, match=r"src!d_业务明细.csv:2 \[账号\]: alipay: a bill of account 2088000000000999"):
        _check(data)


def test_an_end_printed_as_the_days_last_second_is_that_day():
    """'终止日期：[2019年09月16日 23:59:59]' covers the 16th, as the parser reads it."""
    data = _zip(detail_text(sample_rows()).replace("2019年09月17日 00:00:00", "2019年09月16日 23:59:59"))
    assert len(_check(data)) == 2


def test_a_months_bill_for_a_day_names_the_days_it_covers():
    month = "#起始日期：[2019年09月01日 00:00:00]   终止日期：[2019年10月01日 00:00:00]"
    data = _zip(detail_text(sample_rows()).replace(DATES, month))
    with pytest.raises(LoadError) as err:
        _check(data)
    assert "src!d_业务明细.csv:3 [起始日期]: alipay: a bill of 2019-09-01 to 2019-09-30 where the bill of 2019-09-16 " \
           "was asked for" in str(err.value), str(err.value)


def test_only_the_end_differing_is_named_on_the_end():
    data = _zip(detail_text(sample_rows()).replace("2019年09月17日 00:00:00", "2019年09月18日 00:00:00"))
    with pytest.raises(LoadError, match=r"d_业务明细.csv:3 \[终止日期\]: alipay: a bill of 2019-09-16 to 2019-09-17 "):
        _check(data)
