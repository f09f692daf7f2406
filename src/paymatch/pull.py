"""Pull a day's bills from each configured channel account into the workspace.

WeChat Pay: the trade bill (ALL) and the fund-flow bill (BASIC) through the signed v3 API; Alipay:
the trade bill zip (and the signcustomer 账务明细 zip when the account's ``bill_types`` asks for it,
stored as fund flows) through alipay.data.dataservice.bill.downloadurl.query. Each downloaded file is
parsed (control totals checked) and stored with its SHA-256 as one load batch: a rerun finds the
same hash and stores nothing new. A bill that does not tie out is quarantined and reported; what
was stored before is untouched.

A day's bills exist only from the next morning, Beijing time (WeChat Pay: "每日10点后生成昨日交易账单文件",
申请交易账单, pay.weixin.qq.com/doc/v3/partner/4012759683; Alipay: T+1, and integrators report the day itself or
the current month refused as isv.invalid_arguments).
A day not over yet is refused before any request; a "no bill" answer before ``BILL_READY_HOUR`` the next
morning is a failure to pull again later, not "no trade": a scheduled pull at 08:00 said "no bill" and
exited 0, and that day's bill was never pulled.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .accounts import Account
from .errors import ChannelError, LoadError, NoBillThatDay
from .schema import TZ
from .workspace import Workspace

#: Beijing hour of the day after a bill day from which both channels serve that day's bills (WeChat Pay makes them
#: from 09:00 and tells merchants to fetch them after 10:00)
BILL_READY_HOUR = 10


@dataclass(frozen=True)
class PullResult:
    """What one bill download did: rows stored (0 when already stored), or the error that stopped it."""

    channel: str
    account: str
    kind: str
    rows: int
    skipped: bool
    sha256: str | None
    error: str | None = None
    note: str | None = None  # e.g. the channel has no bill for that day


def _downloads(acct: Account, day: dt.date, stack: contextlib.ExitStack) -> list[tuple[str, object, object]]:
    """(kind, download function, parse function) per file of this account's day."""
    if acct.channel == "wechat":
        from .channels.wechat import bill as wbill
        from .channels.wechat.api import WechatPayClient

        client = stack.enter_context(WechatPayClient(acct.config))
        out = []
        for kind, fetch in (("tradebill", lambda: client.download_bill(day, "ALL")),
                            ("fundflowbill", lambda: client.download_fundflow(day, "BASIC"))):
            src = f"wechat:{acct.label}:{kind}:{day}"
            out.append((kind, fetch, lambda data, src=src: [wbill.parse(data, src, bill_date=day)]))
        return out
    from .channels.alipay import bill as abill
    from .channels.alipay.api import AlipayBillClient

    client = AlipayBillClient(acct.config)
    # 'trade' (业务明细) and, when the account asks for it, 'signcustomer' (账务明细 → fund flows)
    return [(bill_type, lambda t=bill_type: client.download_bill(day, t),
             lambda d, src=f"alipay:{acct.label}:{bill_type}:{day}": abill.parse_zip(d, src))
            for bill_type in acct.config.bill_types]


def pull_day(ws: Workspace, accts: list[Account], day: dt.date, *,
             now: dt.datetime | None = None) -> list[PullResult]:
    """Download, check and store every account's bills for ``day``; errors are results, not exceptions.

    Each file of an account is its own download: one that fails (after the client's retries), or a bill that does
    not tie out, is kept in the workspace's quarantine (with the raw bytes when there are any) and reported, and the
    account's other files are still pulled (helper-51: a day without fund flows dropped its trade bill). A day the
    channel has no bill for (no trade) is reported as such, not as a failure; before ``BILL_READY_HOUR`` the next
    morning the bill may not be made yet, so that answer is a failure (pull again later; nothing is quarantined).
    A ``day`` not over yet in Beijing raises ChannelError before any request. ``now`` (tz-aware) is for tests.
    """
    beijing = ZoneInfo(TZ)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(beijing)
    ready = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(BILL_READY_HOUR), tzinfo=beijing)
    if day >= now.date():
        raise ChannelError(f"the bills of {day} do not exist yet: that day is not over in Beijing time (now "
                           f"{now:%Y-%m-%d %H:%M}); WeChat Pay and Alipay make a day's bills the next morning\n"
                           f"Hint: pull {day} after {ready:%Y-%m-%d %H:%M} Beijing time")
    results: list[PullResult] = []
    for acct in accts:
        with contextlib.ExitStack() as stack:
            try:
                files = _downloads(acct, day, stack)
            except (ChannelError, LoadError) as e:
                _failed(ws, results, acct, day, "-", None, e)
                continue
            for kind, fetch, parse in files:
                try:
                    data = fetch()
                except NoBillThatDay as e:
                    if now < ready:  # not made yet, or no trade: only a pull after `ready` can tell
                        results.append(PullResult(
                            acct.channel, acct.label, kind, 0, False, None,
                            f"{e}; at {now:%H:%M} Beijing time the bill of {day} may not be made yet: pull again "
                            f"after {ready:%Y-%m-%d %H:%M} (a bill not made yet is not quarantined)"))
                    else:
                        results.append(PullResult(acct.channel, acct.label, kind, 0, False, None, note=str(e)))
                    continue
                except (ChannelError, LoadError) as e:
                    _failed(ws, results, acct, day, kind, None, e)
                    continue
                sha = hashlib.sha256(data).hexdigest()
                try:
                    bills = parse(data)
                except LoadError as e:
                    _failed(ws, results, acct, day, kind, data, e, sha)
                    continue
                for bill in bills:
                    r = ws.store_bill(bill, account=acct.label,
                                      meta={"file_sha256": sha, "bill_date": str(day), "account": acct.label})
                    results.append(PullResult(acct.channel, acct.label, bill.kind, r.rows, r.skipped, sha))
    return results


def _failed(ws: Workspace, results: list[PullResult], acct: Account, day: dt.date, kind: str, data: bytes | None,
            e: Exception, sha: str | None = None) -> None:
    where = f"{acct.channel}:{acct.label}:{day}" if kind == "-" else f"{acct.channel}:{acct.label}:{kind}:{day}"
    ws.quarantine(channel=acct.channel, source=where, payload=data if data is not None else str(e).encode(),
                  reason=str(e))
    results.append(PullResult(acct.channel, acct.label, kind, 0, False, sha, str(e)))
