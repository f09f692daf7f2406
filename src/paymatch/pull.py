"""Pull a day's bills from each configured channel account into the workspace.

WeChat Pay: the trade bill (ALL) and the fund-flow bill (BASIC) through the signed v3 API; Alipay:
the trade bill zip (and the signcustomer 账务明细 zip when the account's ``bill_types`` asks for it,
stored as fund flows) through alipay.data.dataservice.bill.downloadurl.query. Each downloaded file is
parsed (control totals checked) and stored with its SHA-256 as one load batch: a rerun finds the
same hash and stores nothing new. A bill that does not tie out is quarantined and reported; what
was stored before is untouched.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from .accounts import Account
from .errors import ChannelError, LoadError
from .workspace import Workspace


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


def _download(acct: Account, day: dt.date) -> list[tuple[str, bytes, object]]:
    """(kind, raw bytes, parse function) per file of this account's day."""
    if acct.channel == "wechat":
        from .channels.wechat import bill as wbill
        from .channels.wechat.api import WechatPayClient

        out = []
        with WechatPayClient(acct.config) as client:
            for kind, fetch in (("tradebill", lambda: client.download_bill(day, "ALL")),
                                ("fundflowbill", lambda: client.download_fundflow(day, "BASIC"))):
                src = f"wechat:{acct.label}:{kind}:{day}"
                out.append((kind, fetch(), lambda data, src=src: [wbill.parse(data, src, bill_date=day)]))
        return out
    from .channels.alipay import bill as abill
    from .channels.alipay.api import AlipayBillClient

    client = AlipayBillClient(acct.config)
    out = []
    # 'trade' (业务明细) and, when the account asks for it, 'signcustomer' (账务明细 → fund flows)
    for bill_type in acct.config.bill_types:
        src = f"alipay:{acct.label}:{bill_type}:{day}"
        out.append((bill_type, client.download_bill(day, bill_type), lambda d, src=src: abill.parse_zip(d, src)))
    return out


def pull_day(ws: Workspace, accts: list[Account], day: dt.date) -> list[PullResult]:
    """Download, check and store every account's bills for ``day``; errors are results, not exceptions.

    A download that fails after the client's retries, or a bill that does not tie out, is kept in
    the workspace's quarantine (with the raw bytes when there are any) and reported.
    """
    results: list[PullResult] = []
    for acct in accts:
        try:
            files = _download(acct, day)
        except (ChannelError, LoadError) as e:
            ws.quarantine(channel=acct.channel, source=f"{acct.channel}:{acct.label}:{day}", payload=str(e).encode(),
                          reason=str(e))
            results.append(PullResult(acct.channel, acct.label, "-", 0, False, None, str(e)))
            continue
        for kind, data, parse in files:
            sha = hashlib.sha256(data).hexdigest()
            try:
                bills = parse(data)
            except LoadError as e:
                ws.quarantine(channel=acct.channel, source=f"{acct.channel}:{acct.label}:{kind}:{day}", payload=data,
                              reason=str(e))
                results.append(PullResult(acct.channel, acct.label, kind, 0, False, sha, str(e)))
                continue
            for bill in bills:
                r = ws.store_bill(bill, account=acct.label,
                                  meta={"file_sha256": sha, "bill_date": str(day), "account": acct.label})
                results.append(PullResult(acct.channel, acct.label, bill.kind, r.rows, r.skipped, sha))
    return results
