"""Notes summary.json adds about the run's inputs as a whole, each said once instead of row by row.

``foreign_merchant_numbers``: a bill of another merchant account given by mistake is nothing but channel_only rows
without a store; its merchant number is named once. ``empty_bill_accounts``: a channel whose bill for the run's days
was loaded but lists no rows (the shop sold nothing through it) is no bill left out of the inputs.
``merchant_numbers_without_records``: a merchant number the orders expect payments through, on a channel whose other
numbers' records are there (or an empty bill of another number is), with no record and no empty bill of its own:
one account's bill left out, which the per-channel note cannot see.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from .backends.scope import Selections
from .config import Config

#: the config keys of a channel account (``[channels.*]``, see config.example.toml) that name merchant numbers
_ACCOUNT_KEYS = ("mchid", "sub_mchids", "sub_merchants", "seller_id", "merchant_id", "pid")


def configured_merchant_numbers(config: Config) -> set[str]:
    """The merchant numbers the config names: ``[stores]``'s keys and the channel accounts' numbers (WeChat mchid,
    sub_mchids, sub_merchants' values; Alipay seller_id). Read leniently: the accounts are validated where used."""
    out = {str(k) for k in config.stores}

    def add(v) -> None:
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            out.add(str(v))
        elif isinstance(v, list):
            for x in v:
                add(x)
        elif isinstance(v, dict):
            for x in v.values():
                add(x)

    for sections in config.channels.values():
        for section in sections if isinstance(sections, list) else [sections]:
            if isinstance(section, dict):
                for key in _ACCOUNT_KEYS:
                    add(section.get(key))
    return out


def foreign_merchant_numbers(con: duckdb.DuckDBPyConnection, sel: Selections, config: Config,
                             rolled: pa.Table) -> list[dict]:
    """(channel, merchant number, records, amount) of the run's channel records whose merchant number no order of the
    run names (as its merchant_id, or by the order number of its records' least or greatest: an export without
    merchant numbers) and the config does not name (``configured_merchant_numbers``): a bill of another account,
    most likely. Asked only when the run has channel_only outcomes (the rollup says so): one GROUP BY of the
    records by merchant number, then the few numbers left are looked for among the orders."""
    if rolled.num_rows == 0 or not pc.any(pc.equal(rolled.column("kind"), "channel_only")).as_py():
        return []
    per = con.execute(
        f"SELECT channel, merchant_id, count(*), sum(amount_fen) FROM ({sel.txs}) WHERE merchant_id IS NOT NULL "
        "GROUP BY ALL").fetchall()
    known = configured_merchant_numbers(config)
    left = sorted({m for _, m, _, _ in per if m not in known})
    if left:
        marks = ", ".join("?" for _ in left)
        named = {m for (m,) in con.execute(
            f"SELECT DISTINCT merchant_id FROM ({sel.orders}) WHERE merchant_id IN ({marks})", left).fetchall()}
        left = [m for m in left if m not in named]
    if left:
        # an order export without merchant numbers (or with the shop's own store codes): a number is the shop's when
        # an order of the run carries the order number of one of its records. Probed with two of them, the least and
        # the greatest (a semi join of every record with every order cost 3-5 s at 10M rows): a number whose two are
        # both missing orders is named, as one whose records name no order at all is
        marks = ", ".join("?" for _ in left)
        probes = con.execute(f"SELECT merchant_id, min(order_no), max(order_no) FROM ({sel.txs}) "
                             f"WHERE merchant_id IN ({marks}) GROUP BY merchant_id", left).fetchall()
        nos = sorted({n for _, lo, hi in probes for n in (lo, hi) if n is not None})
        found: set[str] = set()
        if nos:
            marks = ", ".join("?" for _ in nos)
            found = {n for (n,) in con.execute(
                f"SELECT DISTINCT order_no FROM (SELECT order_no FROM ({sel.orders}) UNION ALL "
                f"SELECT order_no FROM ({sel.order_dims})) WHERE order_no IN ({marks})", nos).fetchall()}
        named = {m for m, lo, hi in probes if lo in found or hi in found}
        left = [m for m in left if m not in named]
    return [{"channel": c, "merchant_id": m, "records": int(n), "amount_fen": int(a or 0)}
            for c, m, n, a in sorted(per) if m in left]


#: a day in a file name: 20261122 or 2026-11-22 (not inside a longer run of digits: a merchant number)
_NAME_DAY = re.compile(r"(?<!\d)(20\d\d)-?(\d\d)-?(\d\d)(?!\d)")


def name_days(source: str) -> tuple[dt.date, dt.date] | None:
    """The first and last day a bill's file name gives (``1900000101_20261122_ALL.csv``, an archive member's name
    or else the archive's), None when it gives none: an empty WeChat bill says nothing else of its day."""
    for part in reversed(source.split("!")):
        days = []
        for y, m, d in _NAME_DAY.findall(part.replace("\\", "/").rsplit("/", 1)[-1]):
            try:
                days.append(dt.date(int(y), int(m), int(d)))
            except ValueError:
                continue
        if days:  # dates further apart than a month are no bill's days (a name that dates something else)
            return (min(days), max(days)) if (max(days) - min(days)).days <= 31 else None
    return None


def bill_days(bill) -> tuple[dt.date, dt.date] | None:
    """The days a parsed bill covers as it says (its period, its date) or, when it says none, as its file name does."""
    if bill.period is not None:
        return bill.period
    if bill.bill_date is not None:
        return bill.bill_date, bill.bill_date
    return name_days(bill.source)


#: a merchant number in a bill's file name (WeChat's ``1900000101_20261122_ALL.csv``, an Alipay PID 2088...): a run
#: of 10 to 16 digits (a day is 8)
_NAME_MERCHANT = re.compile(r"(?<!\d)(\d{10,16})(?!\d)")


def name_merchant(source: str) -> str | None:
    """The merchant number a bill's file name (an archive member's, else the archive's) gives, None when it gives
    none or more than one: an empty bill says nothing else of whose it is."""
    for part in reversed(source.split("!")):
        found = set(_NAME_MERCHANT.findall(part.replace("\\", "/").rsplit("/", 1)[-1]))
        if found:
            return found.pop() if len(found) == 1 else None
    return None


def stored_empty_bill_accounts(con: duckdb.DuckDBPyConnection, first: dt.date,
                               last: dt.date) -> set[tuple[str, str | None]]:
    """(channel, merchant number or None) of the bills stored without a row whose days (``Workspace.store_bill``'s
    meta ``days``) meet first..last; None: the bill's name gives no number (or it was stored before numbers were
    kept), it stands for every account of its channel."""
    rows = con.execute(
        "SELECT DISTINCT json_extract_string(meta, '$.channel'), json_extract_string(meta, '$.merchant_id') "
        "FROM batches WHERE kind = 'transactions' "
        "AND rows = 0 AND json_extract_string(meta, '$.days[0]') IS NOT NULL "
        "AND CAST(json_extract_string(meta, '$.days[0]') AS DATE) <= ? "
        "AND CAST(json_extract_string(meta, '$.days[1]') AS DATE) >= ?", [last, first]).fetchall()
    return {(c, m) for c, m in rows if c}


def is_empty_bill(bill) -> bool:
    """A bill of transactions that lists none and whose printed counts are all 0 (an Alipay 业务明细(汇总) lists no
    rows of its own but counts its 业务明细's; a fund-flow bill is no bill of transactions)."""
    return (bill.kind != "fundflow" and bill.transactions.num_rows == 0
            and all(v == 0 for k, v in (bill.totals or {}).items() if k.endswith("count")))


def empty_bill_accounts(bills: Iterable,
                        dates: tuple[dt.date, dt.date] | None = None) -> set[tuple[str, str | None]]:
    """The channels of the empty bills (``is_empty_bill``) among a file run's whose days (``bill_days``) meet the
    run's ``dates``: an empty bill of another day (``1900000101_20261121_ALL.csv`` beside day 22's orders) is no bill
    of the run's days, as a workspace run would not count it (``stored_empty_bill_accounts``); one that says no day
    was given for this run. Each with the merchant number its file name gives (``name_merchant``), None: every
    account of its channel."""
    def meets(b) -> bool:
        days = bill_days(b) if dates is not None else None
        return days is None or (days[0] <= dates[1] and days[1] >= dates[0])
    return {(b.channel, name_merchant(b.source)) for b in bills if is_empty_bill(b) and meets(b)}


def merchant_numbers_without_records(con: duckdb.DuckDBPyConnection, sel: Selections, rolled: pa.Table,
                                     named_channels: Iterable[str], empty: set[tuple[str, str | None]],
                                     paid: Iterable[str]) -> list[dict]:
    """(channel, merchant number, orders, amount) of the paid orders (``paid`` statuses, amount above 0) whose
    merchant number has no record of their channel in the run and no empty bill (``empty``) of its own or of its
    whole channel: that account's bill left out (a chain's second store's WeChat account), which
    ``channels_without_records`` does not say while the channel's other accounts have records.

    Asked only for channels with order_only outcomes (the rollup says so) that ``channels_without_records`` does not
    already name (``named_channels``): one GROUP BY of those orders by merchant number, one of the records. A number
    whose orders' least or greatest order number a record carries is the shop's own code for an account whose
    records carry its real number (as ``foreign_merchant_numbers`` probes): not named. At 1M orders over 20 numbers
    (one bill left out) it took 0.13 s of an 8.7 s file run, 0.07 s of a workspace day run."""
    if rolled.num_rows == 0:
        return []
    kinds, chans = rolled.column("kind").to_pylist(), rolled.column("channel").to_pylist()
    named = set(named_channels)
    asked = sorted({c for k, c in zip(kinds, chans) if k == "order_only" and c is not None and c not in named
                    and (c, None) not in empty})
    if not asked:
        return []
    cm, pm = ", ".join("?" for _ in asked), ", ".join("?" for _ in paid)
    per = con.execute(
        f"SELECT channel, merchant_id, count(*), sum(amount_fen), min(order_no), max(order_no) FROM ({sel.orders}) "
        f"WHERE channel IN ({cm}) AND merchant_id IS NOT NULL AND status IN ({pm}) AND amount_fen > 0 GROUP BY ALL",
        [*asked, *paid]).fetchall()
    # records of a bill: a real-time notification is no bill's (an account whose bill is late while its
    # notifications came in is still named, with how many notifications stand in for it: audit_round12)
    billed = "origin IS DISTINCT FROM 'notify'"
    counts = {(c, m): (int(b), int(n)) for c, m, b, n in con.execute(
        f"SELECT channel, merchant_id, count(*) FILTER (WHERE {billed}), count(*) FILTER (WHERE origin = 'notify') "
        f"FROM ({sel.txs}) WHERE channel IN ({cm}) GROUP BY ALL", asked).fetchall()}
    have = {k for k, (b, _) in counts.items() if b}
    left = [r for r in per if (r[0], r[1]) not in have and (r[0], r[1]) not in empty]
    nos = sorted({n for r in left for n in r[4:] if n is not None})
    found: set[str] = set()
    if nos:
        marks = ", ".join("?" for _ in nos)
        found = {n for (n,) in con.execute(
            f"SELECT DISTINCT order_no FROM ({sel.txs}) WHERE order_no IN ({marks}) AND {billed}", nos).fetchall()}
    out = [{"channel": c, "merchant_id": m, "orders": int(n), "order_amount_fen": int(a or 0)}
           for c, m, n, a, lo, hi in sorted(left) if lo not in found and hi not in found]
    for o in out:
        notified = counts.get((o["channel"], o["merchant_id"]), (0, 0))[1]
        if notified:
            o["notifications"] = notified
    return out


def _known_channels(config: Config) -> set[str]:
    """Every channel name paymatch has a reader for: the three channels' own, the built-in profiles' (bills and
    instalment flows), the shop's own profiles' (bills and instalment flows), the default settle channels."""
    from .channels.profiles import builtin_flow_profiles, builtin_profiles, load_profile_dir
    from .config import DEFAULT_SETTLE_CHANNEL
    from .errors import ConfigError

    known = {"wechat", "alipay", "unionpay", *DEFAULT_SETTLE_CHANNEL.values()}
    profiles = [*builtin_profiles(), *builtin_flow_profiles()]
    flow_dirs = (config.instalments or {}).get("flow_profile_dirs")
    # (the shop's own flow profiles too: a settle channel naming one was said unknown, its flows not being
    # transactions; helper-113)
    for folder in [*config.bills.profile_dirs, *(flow_dirs if isinstance(flow_dirs, list) else [])]:
        try:
            profiles += load_profile_dir(folder)
        except ConfigError:  # (said where the bills are read)
            pass
    return known | {p.channel.strip().lower() for p in profiles}


def unknown_configured_channels(con: duckdb.DuckDBPyConnection, sel: Selections, config: Config) -> list[dict]:
    """Channels the config names (a ``[methods] settle_channel`` value it sets, a ``[fees] rates`` channel) that no
    record of the run has and no bill layout paymatch knows names: a typo, most likely ("wechta": its method's orders
    then expect records that never come; a fee rate that applies to nothing leaves every fee unchecked). There is no
    closed list of channels (a shop's canonical CSV may name any), so the run goes on and says it, with the key's
    line (helper-112). A settle channel is named only when the run has orders of its method."""
    from .config import DEFAULT_SETTLE_CHANNEL

    settle = [(m, c) for m, c in config.methods.settle_channel.items() if DEFAULT_SETTLE_CHANNEL.get(m) != c]
    rates = [(i, r.channel) for i, r in enumerate(config.fees.rates)]
    names = {c for _, c in settle} | {c for _, c in rates}
    if not names:
        return []
    names -= _known_channels(config)
    if not names:
        return []
    asked = sorted(names)
    marks = ", ".join("?" * len(asked))
    present = {c for (c,) in con.execute(
        f"SELECT DISTINCT channel FROM ({sel.txs}) WHERE channel IN ({marks})", asked).fetchall()}
    out = []
    methods = sorted({m for m, c in settle if c in names and c not in present})
    counts = dict(con.execute(
        f"SELECT channel, count(*) FROM ({sel.orders}) WHERE channel IN ({', '.join('?' * len(methods))}) "
        "GROUP BY channel", methods).fetchall()) if methods else {}
    for m, c in settle:
        if c in names and c not in present and counts.get(m):
            out.append({"key": f"methods.settle_channel.{m}", "channel": c, "where": config.where(
                ("methods", "settle_channel", m)), "method": m, "orders": int(counts[m])})
    for i, c in rates:
        if c in names and c not in present:
            out.append({"key": f"fees.rates.{i}.channel", "channel": c,
                        "where": config.where(("fees", "rates", i, "channel"))})
    return out
