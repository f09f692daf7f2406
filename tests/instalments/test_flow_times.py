"""The canonical flows CSV reads occurred_at as the other canonical files read times (README "Times").

It read only what DuckDB casts: `2026/10/01 9:05` passed but `2026年10月01日 09:05`, `20261001090500`, `下午 3:05`
and an Excel serial day were refused as "not an ISO-8601 time"; `… CST` (China Standard Time as Chinese servers
print it) was read as US Central time, 13 hours off and often another day, which moves a deduction across the
as-of day; an impossible offset (`+25:00`) and a two-digit year (`26-10-01`, read as the year 26) were taken.
"""

import datetime as dt

import pytest

from paymatch.errors import LoadError
from paymatch.instalments.flows import load_flows_csv

HEAD = "channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
UTC = dt.timezone.utc


def _times(tmp_path, *values):
    p = tmp_path / "flows.csv"
    p.write_text(HEAD + "".join(f"wechat_payscore,P{i},1,3,1.00,0,success,{v}\n" for i, v in enumerate(values)),
                 encoding="utf-8")
    return load_flows_csv(p).column("occurred_at").to_pylist()


@pytest.mark.parametrize("written, shanghai", [
    ("2026-10-01 10:00:00", "2026-10-01 10:00"),
    ("2026-10-01T02:00:00Z", "2026-10-01 10:00"),
    ("2026/10/01 9:05", "2026-10-01 09:05"),
    ("2026年10月01日 09:05", "2026-10-01 09:05"),
    ("2026.10.01 09:05", "2026-10-01 09:05"),
    ("20261001090500", "2026-10-01 09:05"),
    ("2026/10/01 下午 3:05:00", "2026-10-01 15:05"),
    ("2026/10/01 3:05 PM", "2026-10-01 15:05"),
    ("2026-10-01 14:00:00 CST", "2026-10-01 14:00"),   # China Standard Time, not US Central (was 10-02 03:00)
    ("46296.5", "2026-10-01 12:00"),                   # an Excel serial day
])
def test_times_as_erp_exports_write_them(tmp_path, written, shanghai):
    (got,) = _times(tmp_path, written)
    want = dt.datetime.fromisoformat(shanghai).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert got == want.astimezone(UTC)


@pytest.mark.parametrize("written, says", [
    ("2026-10-01 10:00:00+25:00", "UTC offset no place has"),
    ("26-10-01 10:00", "outside the years 2000–2099"),
    ("yesterday", "not a time"),
])
def test_impossible_times_are_refused_by_line(tmp_path, written, says):
    with pytest.raises(LoadError) as e:
        _times(tmp_path, "2026-10-01 10:00:00", written)
    problems = e.value.problems
    assert [(p.line, p.field) for p in problems] == [(3, "occurred_at")]
    assert says in problems[0].message
