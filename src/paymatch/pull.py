"""Pull a day's bills from each configured channel account into the workspace.

WeChat Pay: the trade bill (ALL) and the fund-flow bill (BASIC) through the signed v3 API (a service provider:
both per listed sub-merchant, stored under the sub-merchant's number, and its own bills as ``own_bills`` says); Alipay:
the trade bill zip (and the signcustomer 账务明细 zip when the account's ``bill_types`` asks for it,
stored as fund flows) through alipay.data.dataservice.bill.downloadurl.query, each zip checked to be the bill asked
for (kind, account, day: ``channels.alipay.requested``); UnionPay: the day's zip (ZM, ZME, RD 汇总表) through the
全渠道 file download (txnType 76, ``channels.unionpay_acp``), checked to be of the merId and settle date asked for
(``channels.unionpay_day``). Each downloaded file is parsed (control totals checked)
and stored with its SHA-256, a load batch per bill it holds: a rerun finds the same hash and stores nothing new.
One file's bills are stored in one transaction (``Workspace.unit``): a UnionPay zip's ZM, ZME and 汇总表 all, or
none of them when storing one fails (a pull again stores all). A bill that does
not tie out is quarantined and reported; what was stored before is untouched.

A day's bills exist only from the next morning, Beijing time (WeChat Pay: "每日10点后生成昨日交易账单文件",
申请交易账单, pay.weixin.qq.com/doc/v3/partner/4012759683; Alipay: T+1, and integrators report the day itself or
the current month refused as isv.invalid_arguments; UnionPay: a settle date's day closes at 23:00 Beijing time and
its file is made the next morning; the hour is not in what was read of UnionPay's documents, so the same hour is used
and a respCode 98 before it is likewise a failure to pull again later).
A day not over yet is refused before any request; a "no bill" answer before ``BILL_READY_HOUR`` the next
morning is a failure to pull again later, not "no trade": a scheduled pull at 08:00 said "no bill" and
exited 0, and that day's bill was never pulled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .accounts import Account
from .bill_doubles import FIX, fund_detail_doubles
from .errors import ChannelError, LoadError, NoBillThatDay, PaymatchError, Problem
from .schema import TZ
from .workspace import Workspace

#: Beijing hour of the day after a bill day from which the channels serve that day's bills (WeChat Pay makes them
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


def _downloads(acct: Account, day: dt.date, stack: contextlib.ExitStack) -> list[tuple[str, str, object, object]]:
    """(account label, kind, download function, parse function) per file of this account's day.

    A WeChat service provider (``sub_mchids``) pulls each sub-merchant's trade bill and fund-flow bill, stored
    under the sub-merchant's number (the merchant of its orders), and the provider's own bills its ``own_bills``
    names (by default its fund-flow bill: its own account, which no sub-merchant's bill holds), under its own
    number; each file on its own. A provider's trade bill has each row checked to be of the provider (商户号) and,
    for a sub-merchant's, of that sub-merchant (特约商户号): another merchant's rows refuse the file (``owner``)."""
    if acct.channel == "wechat":
        from .channels.wechat import bill as wbill
        from .channels.wechat.api import WechatPayClient
        from .channels.wechat.owner import check_owner

        cfg = acct.config
        client = stack.enter_context(WechatPayClient(cfg))
        own = set(cfg.own_bills) if cfg.sub_mchids else {"tradebill", "fundflowbill"}
        # (label, kind, download, the 特约商户号 its rows must carry: None for any, "" for no owner check)
        files: list[tuple[str, str, object, str | None]] = []
        if "tradebill" in own:
            files.append((acct.label, "tradebill", lambda: client.download_bill(day, "ALL"),
                          None if cfg.sub_mchids else ""))
        if "fundflowbill" in own:
            files.append((acct.label, "fundflowbill", lambda: client.download_fundflow(day, "BASIC"), ""))
        for sub in cfg.sub_mchids:
            files.append((sub, "tradebill", lambda sub=sub: client.download_bill(day, "ALL", sub_mchid=sub), sub))
            if cfg.sub_merchant_fundflow:
                files.append((sub, "fundflowbill",
                              lambda sub=sub: client.download_sub_merchant_fundflow(sub, day, "BASIC"), ""))

        def parse(data: bytes, src: str, kind: str, sub: str | None) -> list:
            bill = wbill.parse(data, src, bill_date=day)
            # the answer must be the kind asked for: a fund-flow bill names no merchant, so one answering a trade-bill
            # request would pass the owner check unread, and a trade bill answering a fund-flow request is not checked
            # at all; either would be stored under the account asked for
            got = "fundflowbill" if bill.kind == "fundflow" else "tradebill"
            if got != kind:
                said = {"fundflowbill": "a fund-flow bill", "tradebill": "a trade bill"}
                raise LoadError([Problem(src, 1, None, None, f"wechat: {said[got]} where the "
                                                             f"{said[kind].removeprefix('a ')} was asked for: not "
                                                             "stored (the answer is not the bill requested)")])
            if sub != "":
                check_owner(data, src, mchid=cfg.mchid, sub_mchid=sub)
            return [bill]

        return [(label, kind, fetch,
                 lambda data, src=f"wechat:{label}:{kind}:{day}", kind=kind, sub=sub: parse(data, src, kind, sub))
                for label, kind, fetch, sub in files]
    if acct.channel == "unionpay":
        from .channels.unionpay_acp import UnionPayFileClient
        from .channels.unionpay_day import parse_day_zip

        client = UnionPayFileClient(acct.config)
        named: dict[str, str] = {}  # the answer's fileName, checked with the zip

        def fetch_unionpay() -> bytes:
            named["fileName"], data = client.download(day)
            return data

        src = f"unionpay:{acct.label}:day:{day}"
        return [(acct.label, "day", fetch_unionpay,
                 lambda data: parse_day_zip(data, src, acct.config.mer_id, day, named.get("fileName", "")))]
    from .channels.alipay import bill as abill
    from .channels.alipay.api import AlipayBillClient
    from .channels.alipay.requested import check_requested

    client = AlipayBillClient(acct.config)

    def parse_alipay(data: bytes, src: str, bill_type: str) -> list:
        # the zip must be the bill asked for: of that bill_type, of the account (its seller_id, when the config
        # names it) and of that day, as its files' '#' lines say; else another kind, merchant or day would be stored
        # as this account's bill of ``day``
        return check_requested(abill.parse_zip(data, src), data, src, bill_type, day, acct.config.seller_id)

    # 'trade' (业务明细) and, when the account asks for it, 'signcustomer' (账务明细 → fund flows)
    return [(acct.label, bill_type, lambda t=bill_type: client.download_bill(day, t),
             lambda d, src=f"alipay:{acct.label}:{bill_type}:{day}", t=bill_type: parse_alipay(d, src, t))
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
                           f"{now:%Y-%m-%d %H:%M}); the channels make a day's bills the next morning\n"
                           f"Hint: pull {day} after {ready:%Y-%m-%d %H:%M} Beijing time")
    results: list[PullResult] = []
    for acct in accts:
        with contextlib.ExitStack() as stack:
            try:
                files = _downloads(acct, day, stack)
            except (ChannelError, LoadError) as e:
                _failed(ws, results, acct, day, "-", None, e)
                continue
            for label, kind, fetch, parse in files:
                at = acct if label == acct.label else dataclasses.replace(acct, label=label)
                try:
                    data = fetch()
                except NoBillThatDay as e:
                    if now < ready:  # not made yet, or no trade: only a pull after `ready` can tell
                        results.append(PullResult(
                            at.channel, at.label, kind, 0, False, None,
                            f"{e}; at {now:%H:%M} Beijing time the bill of {day} may not be made yet: pull again "
                            f"after {ready:%Y-%m-%d %H:%M} (a bill not made yet is not quarantined)"))
                    else:
                        results.append(PullResult(at.channel, at.label, kind, 0, False, None, note=str(e)))
                    continue
                except (ChannelError, LoadError) as e:
                    _failed(ws, results, at, day, kind, None, e)
                    continue
                sha = hashlib.sha256(data).hexdigest()
                try:
                    bills = parse(data)
                except LoadError as e:
                    _failed(ws, results, at, day, kind, data, e, sha)
                    continue
                # an Alipay 业务明细 over its account's 账务明细 stored as transactions would count each payment twice:
                # quarantined (kept for a rebuild), nothing of the file stored (``bill_doubles``)
                refused, _ = fund_detail_doubles(ws, bills)
                if refused:
                    _failed(ws, results, at, day, kind, data, PaymatchError("\n".join(refused) + f"\nHint: {FIX}"), sha)
                    continue
                # one file's bills (a UnionPay zip's ZM, ZME and 汇总表) are one unit: all stored, or none
                with ws.unit():
                    stored = [ws.store_bill(bill, account=at.label,
                                            meta={"file_sha256": sha, "bill_date": str(day), "account": at.label})
                              for bill in bills]
                results.extend(PullResult(at.channel, at.label, bill.kind, r.rows, r.skipped, sha)
                               for bill, r in zip(bills, stored))
    return results


def _failed(ws: Workspace, results: list[PullResult], acct: Account, day: dt.date, kind: str, data: bytes | None,
            e: Exception, sha: str | None = None) -> None:
    where = f"{acct.channel}:{acct.label}:{day}" if kind == "-" else f"{acct.channel}:{acct.label}:{kind}:{day}"
    ws.quarantine(channel=acct.channel, source=where, payload=data if data is not None else str(e).encode(),
                  reason=str(e))
    results.append(PullResult(acct.channel, acct.label, kind, 0, False, sha, str(e)))
