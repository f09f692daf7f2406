"""An Alipay 业务明细 (trade bill) arriving over its account's 账务明细 (account movements) that an earlier load stored as
transactions: storing it would list each payment and each refund twice.

A 账务明细 given alone is read by the ``alipay_merchant_console_export`` profile as the account's transactions; beside
(or after) the account's 业务明细 it is read as fund flows (``channels.detect.scan_paths``). In the other order —
the 账务明细 stored first, then the 业务明细 of the same merchant number and days — the workspace would hold both
readings, and the reconciliation show duplicate_record / refund_channel_only outcomes nobody caused. A workspace
cannot drop a batch, so the 业务明细 is refused (``ingest``: nothing of the command stored; ``pull``: the file
quarantined, kept for a rebuild) and the message names the earlier file, its batch and the days. The same 业务明细
stored already (a workspace that got both before this check) changes nothing: a warning.
"""

from __future__ import annotations

#: the profile that reads a lone Alipay 账务明细 as transactions (a shop's YAML of that name replaces it, same kind)
FUND_DETAIL_PROFILE = "profile:alipay_merchant_console_export"

#: what to do about it
FIX = ("build the workspace again without that 账务明细: the 业务明细 first, then the 账务明细 (read then as the "
       "account's fund flows), and the other files; or reconcile those days from files (paymatch reconcile "
       "--orders … --bills <业务明细> --bills <账务明细>)")


def _days_text(days: list) -> str:
    return ", ".join(str(d) for d in days) if len(days) <= 4 else f"{days[0]} … {days[-1]} ({len(days)} days)"


def fund_detail_doubles(ws, bills: list) -> tuple[list[str], list[str]]:
    """(refused, warned): a sentence per Alipay 业务明细 among ``bills`` that would count (refused) or counts (stored
    already: warned) its payments and refunds twice beside a 账务明细 ``ws`` holds as transactions. Costs nothing
    without an Alipay 业务明细 among the bills; the stored rows are read only when such a 账务明细 batch exists."""
    from .channels.detect import alipay_trade_days

    trade = [b for b in bills if b.channel == "alipay" and b.kind == "alipay_detail"]
    if not trade:
        return [], []
    earlier = dict(ws.con.execute(
        "SELECT batch_id, source FROM batches WHERE kind = 'transactions' "
        "AND json_extract_string(meta, '$.kind') = ? ORDER BY loaded_at", [FUND_DETAIL_PROFILE]).fetchall())
    if not earlier:
        return [], []
    rows = ws.con.execute(
        f"SELECT DISTINCT batch_id, merchant_id, bill_date FROM transactions WHERE batch_id IN "
        f"({', '.join('?' for _ in earlier)}) AND merchant_id IS NOT NULL AND bill_date IS NOT NULL",
        list(earlier)).fetchall()
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
                    "the alipay_merchant_console_export profile)")
            (warned if stored else refused).append(said)
    return refused, warned
