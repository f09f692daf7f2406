"""An Alipay 业务明细 (trade bill) arriving over its account's 账务明细 (account movements) that an earlier load stored as
transactions: storing it would list each payment and each refund twice.

A 账务明细 given alone is read by a mapping profile as the account's transactions (the built-in
``alipay_merchant_console_export``, or a shop's own under any name: the batch is known by the file's layout, which
``detect`` records, ``ParsedBill.layout``, not by the profile's name; a profile's batch stored before layouts were
recorded, by its file read again where it was read from); beside
(or after) the account's 业务明细 it is read as fund flows (``channels.detect.scan_paths``). In the other order —
the 账务明细 stored first, then the 业务明细 of the same merchant number and days — the workspace would hold both
readings, and the reconciliation show duplicate_record / refund_channel_only outcomes nobody caused. A workspace
cannot drop a batch, so the 业务明细 is refused (``ingest``: nothing of the command stored; ``pull``: the file
quarantined, kept for a rebuild) and the message names the earlier file, its batch and the days. The same 业务明细
stored already (a workspace that got both before this check) changes nothing: a warning.
"""

from __future__ import annotations

#: the layout ``detect`` records for a file a profile read that is an Alipay 账务明细 (``ParsedBill.layout``)
FUND_DETAIL_LAYOUT = "alipay_fundflow"
#: the built-in profile that reads a lone Alipay 账务明细 as transactions: a batch of it stored before the layout was
#: recorded is known by this name
FUND_DETAIL_PROFILE = "profile:alipay_merchant_console_export"

#: the layout recorded for every profile's batch since layouts are (``Workspace.store_bill``): a batch without it was
#: stored before, and its file, read again where it was read from, says what it is
_UNRECORDED = ("SELECT batch_id, source, json_extract_string(meta, '$.kind') FROM batches WHERE kind = 'transactions' "
               "AND starts_with(json_extract_string(meta, '$.kind'), 'profile:') AND json_extract_string(meta, '$.kind') "
               "<> ? AND json_extract_string(meta, '$.layout') IS NULL ORDER BY loaded_at")

#: what to do about it
FIX = ("build the workspace again without that 账务明细: the 业务明细 first, then the 账务明细 (read then as the "
       "account's fund flows), and the other files; or reconcile those days from files (paymatch reconcile "
       "--orders … --bills <业务明细> --bills <账务明细>)")


def _days_text(days: list) -> str:
    return ", ".join(str(d) for d in days) if len(days) <= 4 else f"{days[0]} … {days[-1]} ({len(days)} days)"


def fund_detail_doubles(ws, bills: list) -> tuple[list[str], list[str]]:
    """(refused, warned): a sentence per Alipay 业务明细 among ``bills`` that would count (refused) or counts (stored
    already: warned) its payments and refunds twice beside a 账务明细 ``ws`` holds as transactions. Costs nothing
    without an Alipay 业务明细 among the bills; the stored rows are read only when such a 账务明细 batch exists (or a
    profile's batch stored before layouts were recorded: of that, only the rows of the 业务明细's merchants)."""
    from .channels.alipay.scan import alipay_trade_days

    trade = [b for b in bills if b.channel == "alipay" and b.kind == "alipay_detail"]
    if not trade:
        return [], []
    found = ws.con.execute(
        "SELECT batch_id, source, json_extract_string(meta, '$.kind') FROM batches WHERE kind = 'transactions' "
        "AND (json_extract_string(meta, '$.layout') = ? OR json_extract_string(meta, '$.kind') = ?) "
        "ORDER BY loaded_at", [FUND_DETAIL_LAYOUT, FUND_DETAIL_PROFILE]).fetchall()
    unrecorded = ws.con.execute(_UNRECORDED, [FUND_DETAIL_PROFILE]).fetchall()
    if not found and not unrecorded:
        return [], []
    rows = _account_days(ws, [b for b, _, _ in found])
    if unrecorded:  # a profile's batch stored before layouts were recorded: its file says whether it is a 账务明细
        covered_all = alipay_trade_days(trade)  # (only its rows of the 业务明细's merchants are read)
        met = [r for r in _account_days(ws, [b for b, _, _ in unrecorded], sorted({m for m, _ in covered_all}))
               if (r[1], r[2]) in covered_all]
        legacy = [(b, source, kind) for b, source, kind in unrecorded
                  if any(r[0] == b for r in met) and _is_fund_detail(source)]
        found += legacy
        rows += [r for r in met if r[0] in {b for b, _, _ in legacy}]
    earlier = {batch_id: source for batch_id, source, _ in found}
    profile = {batch_id: kind.removeprefix("profile:") for batch_id, _, kind in found}
    refused, warned = [], []
    for bill in trade:
        covered = alipay_trade_days([bill])
        stored = None  # whether this 业务明细 is stored already: asked once, and only when it meets such a 账务明细
        for batch_id, source in earlier.items():
            both = sorted((m, d) for b, m, d in rows if b == batch_id and (m, d) in covered)
            if not both:
                continue
            merchants = sorted({m for m, _ in both})
            days = sorted({d for _, d in both})
            if stored is None:
                stored = ws.bill_stored(bill)
            said = (f"{bill.source}: this Alipay 业务明细 of {', '.join(merchants)} on {_days_text(days)} "
                    f"{'counts' if stored else 'would count'} each payment and refund twice: the workspace holds the "
                    f"account's 账务明细 of those days as transactions ({source}, batch {batch_id}, read alone by "
                    f"the {profile[batch_id]} profile)")
            (warned if stored else refused).append(said)
    return refused, warned


def _account_days(ws, batch_ids: list[str], merchants: list[str] | None = None) -> list[tuple]:
    """(batch, merchant number, bill day) of the stored rows of ``batch_ids`` (of ``merchants`` only, when given),
    distinct."""
    if not batch_ids or merchants == []:
        return []
    only = f" AND merchant_id IN ({', '.join('?' for _ in merchants)})" if merchants else ""
    return ws.con.execute(
        f"SELECT DISTINCT batch_id, merchant_id, bill_date FROM transactions WHERE batch_id IN "
        f"({', '.join('?' for _ in batch_ids)}) AND merchant_id IS NOT NULL AND bill_date IS NOT NULL{only}",
        [*batch_ids, *(merchants or [])]).fetchall()


def _is_fund_detail(source: str) -> bool:
    """Whether the file a batch was read from (``source``: a path, or ``archive!member``) is an Alipay 账务明细, read
    again where it was; False when it is not there any more (a batch's layout then stays unknown)."""
    from pathlib import Path

    from .channels.bill_walk import walk
    from .channels.detect import native_layout
    from .errors import LoadError

    try:
        return any(entry.name == source and entry.skip is None and entry.error is None
                   and native_layout(entry.data) == FUND_DETAIL_LAYOUT for entry in walk(Path(source.split("!", 1)[0])))
    except (LoadError, OSError):
        return False
