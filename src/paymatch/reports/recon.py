"""Reconciliation report (对账日报/周报/月报) from the stored outcomes.

A period covers the stored outcomes of the days in it (``provenance.outcomes_in``: each day the latest run
covering it; a daily run's on its day, a range run's each on the day it happened; each outcome once, as the
run reaching furthest saw it). A period a run covered without any activity is a report of zeros.
Per group (merchant number, store or channel; one or several columns) and for the whole chain (a total row computed by the same expressions through GROUPING SETS, so the groups add up to
it), the summary shows both sides' counts and amounts, fees, net settlement, the matched rate and
every outcome kind with its count and amount. A second table lists every item that needs action
(kind not in ``CLEAN_KINDS``) with its reason.

Definitions (all sums in integer fen):
  orders / channel payments  order_rows / order_total_fen and channel_rows / channel_total_fen of the
                             payment outcomes (outcome_id not 'R-…'); the run's control totals (an instalment
                             order once, not once per plan period: on its first period's 'I-…' outcome, so
                             the days and channels of its periods add up to the month and the chain).
  shop / channel refunds     the same over refund outcomes ('R-…', and the extra copies of refund records).
  fees                       sum(fee_fen) of outcomes whose channel records succeeded (a processing refund's
                             returned fee has not moved: helper-64), refunds' returned fees negative;
                             duplicate_record and record_update excluded (the same bill row listed twice, or a
                             record's other state, is not money).
  fee difference             over fee_mismatch outcomes: the fees charged minus what the contracted rates expect
                             (positive: the channel took more).
  net settlement             what the channels pay out: payments' settlement before the fee − channel refunds
                             (on wechat and alipay what they took back: 退款金额, 商家实收; ``_REFUND_OUT``)
                             − fees, of outcomes whose channel records succeeded (a closed attempt or a processing
                             refund moved no money); duplicate_record and record_update excluded. A payment's
                             settlement before the fee is taken record by record, each by its own channel
                             (``settle_gross_fen``, ``channel_side.settle_before_fee``): its settle amount on
                             wechat and alipay (应结订单金额, 商家实收: smaller than the amount by merchant-funded
                             coupons), its settle amount plus its fee on every other channel (UnionPay's, 银联商务's,
                             CCB's 结算/清算金额 are net of the fee; ``config.SETTLE_BASED``, as the fee rates'
                             ``base = "auto"``), its amount when the channel gives none. So on those channels the
                             net is their settle amount, also for an outcome with records on two channels.
  grouped by channel         an outcome whose records are on several channels (a duplicate payment through WeChat
                             and UnionPay) gives each channel its own records' count, amount, fee and settlement
                             (``outcome_splits``); the outcome itself (its order, kind, difference) counts once,
                             under the channel it names. Grouped by merchant number alike (a payment through
                             another merchant number's account is that number's money).
  matched rate               (matched + refund_matched) ÷ outcomes that expect a channel record
                             (all but unpaid, internal, refund_pending, refund_failed, duplicate_record,
                             record_update); NULL if none.
  kind amount                channel amount when the outcome has one, else the order/refund amount.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import duckdb

from ..engine.params import SETTLE_BASED, settle_before_fee_sql
from ..errors import PaymatchError
from ..outcome_splits import SHARE_COLUMNS
from ..outcomes_store import fee_detail_sql
from ..schema import CLEAN_KINDS, KIND_LABEL_ZH, TZ, OutcomeKind
from .labels import reason_sql, unknown
from .model import Column, ControlTotal, Link, Report, Table
from .periods import day_spans, days_without, period_bounds
from .provenance import outcomes_in, run_ids_for, sources_for, sql_str, store_scope

#: what a successful channel refund took back before its returned fee: on WeChat and Alipay its settlement amount
#: (退款金额, 商家实收: a refund of an order paid with a merchant-funded coupon takes back what the payment settled, not
#: the coupon the shop never received; ``settle_gross_fen`` of a refund outcome is its records' settlement, a
#: channel's share its own records'), on every other channel its amount (their settlement is net of the returned fee)
_REFUND_OUT = (f"CASE WHEN channel IN ({', '.join(repr(c) for c in sorted(SETTLE_BASED))}) "
               "THEN coalesce(settle_gross_fen, settle_amount_fen, channel_amount_fen) ELSE channel_amount_fen END")

GROUP_COLUMNS = {"merchant": "merchant_id", "store": "store_id", "channel": "channel",
                 "merchant_id": "merchant_id", "store_id": "store_id"}
_GROUP_HEAD = {"merchant_id": ("商户号", "Merchant id"), "store_id": ("门店", "Store"), "channel": ("渠道", "Channel")}
TITLES = {"day": ("对账日报", "Daily reconciliation report"), "week": ("对账周报", "Weekly reconciliation report"),
          "month": ("对账月报", "Monthly reconciliation report")}
_NOT_EXPECTED = ("unpaid", "internal", "refund_pending", "refund_failed", "duplicate_record", "record_update")
#: outcomes of a record's extra copies (``engine.dedupe``): rows as listed, not money; ``detail`` is the record's type
_COPIES = "('duplicate_record', 'record_update')"
_TOTAL = {"zh": "全链合计", "en": "Chain total"}
_STORE_TOTAL = {"zh": "合计", "en": "Total"}
LABEL_ZH = KIND_LABEL_ZH

#: (name, zh, en, kind, SQL) of the fixed summary measures; ``r`` is "this is a refund outcome"
MEASURES = [
    # an instalment order is one order, however many plan periods ('I-…' outcomes, order_rows 1 each) it has: as
    # the run's control totals count it (instalment_run.add_outcomes). Counted on its first period's outcome (an order
    # without a plan: its one row, no period), not as distinct order numbers: a range run places its periods on their
    # own days and a period's deduction may come through another channel, so distinct numbers counted it on every
    # day and channel holding one of its periods (the days and channels added up to more than the month: helper-69)
    ("orders_count", "订单笔数", "Orders", "count",
     "coalesce(sum(order_rows) FILTER (WHERE NOT r AND NOT inst), 0) "
     "+ count(*) FILTER (WHERE inst AND order_rows > 0 AND coalesce(period_no, 1) = 1)"),
    ("orders_fen", "订单金额", "Order amount", "fen", "sum(order_total_fen) FILTER (WHERE NOT r)"),
    ("channel_count", "渠道收款笔数", "Channel payments", "count", "sum(channel_rows) FILTER (WHERE NOT r)"),
    ("channel_fen", "渠道收款金额", "Channel payment amount", "fen", "sum(channel_total_fen) FILTER (WHERE NOT r)"),
    ("shop_refund_count", "平台退款笔数", "Shop refunds", "count", "sum(order_rows) FILTER (WHERE r)"),
    ("shop_refund_fen", "平台退款金额", "Shop refund amount", "fen", "sum(order_total_fen) FILTER (WHERE r)"),
    ("channel_refund_count", "渠道退款笔数", "Channel refunds", "count", "sum(channel_rows) FILTER (WHERE r)"),
    ("channel_refund_fen", "渠道退款金额", "Channel refund amount", "fen", "sum(channel_total_fen) FILTER (WHERE r)"),
    ("fee_fen", "手续费", "Fees", "fen", "sum(fee_fen) FILTER (WHERE NOT dup AND channel_status = 'success')"),
    # fee_mismatch's detail carries the fee charged minus the contracted rate's (engine.payments._fee_detail)
    ("fee_diff_fen", "手续费差异", "Fees above the contracted rates", "fen",
     f"sum({fee_detail_sql('gap')}) FILTER (WHERE kind = 'fee_mismatch' AND NOT part)"),
    ("net_fen", "净结算金额", "Net settlement", "fen",
     # each term coalesced: a group without refunds must not turn the whole difference NULL
     # only money that moved: a closed attempt behind an unpaid order, a processing refund are no settlement (helper-47)
     # a payment's settlement before the fee: WeChat's / Alipay's settlement is (config.SETTLE_BASED, as the fee
     # rates read it); every other channel's is net of the fee, which is added back once here (helper-53)
     # record by record, each by its own channel (settle_gross_fen: an outcome whose records are on two channels
     # took the outcome's summed settlement and fee by one of them: helper-65); an outcome stored before the engine
     # kept it: by the outcome's channel
     f"coalesce(sum(coalesce(settle_gross_fen, {settle_before_fee_sql('channel_amount_fen')})) "
     "FILTER (WHERE NOT r AND NOT dup AND "
     "channel_status = 'success'), 0) "
     f"- coalesce(sum({_REFUND_OUT}) FILTER (WHERE r AND NOT dup AND channel_status = 'success'), 0) "
     "- coalesce(sum(fee_fen) FILTER (WHERE NOT dup AND channel_status = 'success'), 0)"),
    # ``part``: another channel's share of an outcome (grouped by channel, ``_by_share``), not an outcome
    ("outcomes_count", "结果笔数", "Outcomes", "count", "count(*) FILTER (WHERE NOT part)"),
    ("unmatched_count", "待处理笔数", "Items to act on", "count", "count(*) FILTER (WHERE NOT clean AND NOT part)"),
    ("difference_fen", "差异金额", "Difference", "fen", "sum(difference_fen) FILTER (WHERE NOT clean)"),
    # 差异金额 nets opposite signs (+1.17 and -0.69 read as +0.48); a cashier chases each side on its own: 长款 the
    # channel took more than the order says, 短款 less (金额不符 of payments; refunds' differences stay in 差异金额)
    ("long_fen", "长款金额", "Channel over order (长款)", "fen",
     "coalesce(sum(difference_fen) FILTER (WHERE kind = 'amount_mismatch' AND difference_fen > 0), 0)"),
    ("short_fen", "短款金额", "Channel under order (短款)", "fen",
     "coalesce(-sum(difference_fen) FILTER (WHERE kind = 'amount_mismatch' AND difference_fen < 0), 0)"),
]


def _kinds(con: duckdb.DuckDBPyConnection, scoped: str) -> list[str]:
    found = {r[0] for r in con.execute(f"SELECT DISTINCT kind FROM {scoped}").fetchall()}
    order = [k.value for k in OutcomeKind]
    return [k for k in order if k in found] + sorted(found - set(order))


def _ident(kind: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", kind.lower())


#: the columns an outcome's row starts with, on the sheet of items to act on and on the detail sheet
_ITEM_HEAD = (
    Column("day", "对账日", "Day", "date", 12), Column("kind", "类型代码", "Kind", "text", 22),
    Column("kind_zh", "类型", "Kind (zh)", "text", 18), Column("store_id", "门店", "Store"),
    Column("merchant_id", "商户号", "Merchant id", "text", 18), Column("channel", "渠道", "Channel", "text", 10, "channel"),
    Column("order_no", "订单号", "Order no", "text", 22), Column("refund_no", "退款单号", "Refund no", "text", 22),
    Column("channel_tx_id", "渠道流水号", "Channel tx id", "text", 24),
)


def build_reconciliation(con: duckdb.DuckDBPyConnection, period: str, date: dt.date, *,
                         group_by: list[str] | tuple[str, ...] | str = ("merchant_id",), lang: str = "zh",
                         week_start: str = "monday", store_ids: tuple[str, ...] | list[str] = (),
                         detail: bool = False) -> Report:
    """The reconciliation report for the day/week/month containing ``date`` (see the module docstring).

    ``store_ids``: a store manager's report: only these stores' outcomes (each outcome's own store, as the runs
    stored it; another channel's share of one stays with it), titled with the stores. ``detail``: add the sheet of
    every outcome, each summary group linked to its first row (``_detail``)."""
    first, last = period_bounds(period, date, week_start=week_start)
    groups = [group_by] if isinstance(group_by, str) else list(group_by)
    try:
        gcols = [GROUP_COLUMNS[g] for g in groups]
    except KeyError as e:
        raise PaymatchError(f"cannot group by {e.args[0]!r}\nHint: use merchant, store or channel") from None
    scoped = outcomes_in(first, last)  # each outcome once, on its own day (see ``provenance.outcomes_in``)
    in_stores, store_zh, store_en = store_scope(con, store_ids)
    if store_ids:
        scoped = f"(SELECT * FROM {scoped} WHERE {in_stores})"
    # a day reconciled without any activity is a report of zeros; a period no run covered is an error
    covered = con.execute("SELECT count(*) FROM runs WHERE period_from <= ? AND period_to >= ?", [last, first])
    if not covered.fetchone()[0]:
        raise PaymatchError(f"no reconciliation run covers {first}..{last}\n"
                            f"Hint: run `paymatch reconcile --workspace W --date D` for each day first")
    kinds = _kinds(con, scoped)
    # grouped by channel or merchant number: an outcome whose records are on several gives each its own records' money
    split = [c for c in gcols if c in ("channel", "merchant_id")]
    clean = ", ".join(sql_str(k) for k in sorted(CLEAN_KINDS))
    not_expected = ", ".join(sql_str(k) for k in _NOT_EXPECTED)
    measures = [f"CAST(coalesce({sql}, 0) AS BIGINT) AS {name}" for name, _, _, _, sql in MEASURES]
    measures.append("CAST(count(*) FILTER (WHERE kind IN ('matched', 'refund_matched') AND NOT part) AS DOUBLE) / "
                    f"nullif(count(*) FILTER (WHERE kind NOT IN ({not_expected}) AND NOT part), 0) AS matched_rate")
    for k in kinds:
        measures.append(f"count(*) FILTER (WHERE kind = {sql_str(k)} AND NOT part) AS k_{_ident(k)}_count")
        measures.append(f"CAST(coalesce(sum(coalesce(channel_amount_fen, order_amount_fen)) "
                        f"FILTER (WHERE kind = {sql_str(k)}), 0) AS BIGINT) AS k_{_ident(k)}_fen")
    total_label = _STORE_TOTAL[lang] if store_ids else _TOTAL[lang]  # a store's report is no chain's total
    none = sql_str(unknown(lang))  # a group no store / merchant number / channel names, as every report labels it
    gsel = [f"CASE WHEN grouping({c}) = 1 THEN {sql_str(total_label) if i == 0 else 'NULL'} "
            f"ELSE coalesce({c}, {none}) END AS {c}" for i, c in enumerate(gcols)]
    o_sql = f"""(SELECT *,
                        starts_with(outcome_id, 'R-') OR (kind IN {_COPIES} AND detail IS NOT DISTINCT FROM 'refund') AS r,
                        kind IN {_COPIES} AS dup, starts_with(outcome_id, 'I-') AS inst,
                        kind IN ({clean}) AS clean FROM {_by_share(scoped, split) if split else
                                                         f"(SELECT *, false AS part FROM {scoped})"})"""
    summary_sql = f"""
      WITH o AS {o_sql}
      SELECT {', '.join(gsel)}, grouping({', '.join(gcols)}) <> 0 AS _pm_total, {', '.join(measures)}
      FROM o GROUP BY GROUPING SETS (({', '.join(gcols)}), ())
      ORDER BY _pm_total, {', '.join(f"{c} = {none}, {c}" for c in gcols)}"""
    summary = con.sql(summary_sql).to_arrow_table()  # one row per group: small, materialised once
    cols = [Column(c, *_GROUP_HEAD[c], "text", labels="channel" if c == "channel" else None) for c in gcols]
    cols += [Column(n, zh, en, kind) for n, zh, en, kind, _ in MEASURES]
    cols.append(Column("matched_rate", "对平率", "Matched rate", "percent"))
    for k in kinds:
        label = LABEL_ZH.get(k, k)
        cols.append(Column(f"k_{_ident(k)}_count", f"{label}笔数", f"{k} count", "count"))
        cols.append(Column(f"k_{_ident(k)}_fen", f"{label}金额", f"{k} amount", "fen"))
    unmatched = con.sql(f"""
      SELECT recon_day AS day, kind, {_label_case()} AS kind_zh, coalesce(store_id, {none}) AS store_id, merchant_id,
             channel, order_no,
             refund_no, channel_tx_id, order_amount_fen, channel_amount_fen, difference_fen,
             {reason_sql(lang)} AS reason, outcome_id
      FROM {scoped} WHERE kind NOT IN ({clean})
      ORDER BY store_id = {none}, store_id, recon_day, kind, outcome_id""")  # (store_id: the label) missing store last
    ucols = (
        *_ITEM_HEAD,
        Column("order_amount_fen", "平台金额", "Order amount", "fen"),
        Column("channel_amount_fen", "渠道金额", "Channel amount", "fen"),
        Column("difference_fen", "差异", "Difference", "fen"), Column("reason", "原因", "Reason", "text", 60),
        Column("outcome_id", "结果编号", "Outcome id", "text", 30),
    )
    tables = [Table("summary", "对账汇总", "Summary", tuple(cols), summary, total_row=True, freeze_cols=len(gcols)),
              Table("unmatched", "待处理明细", "Items to act on", ucols, unmatched)]
    if detail:
        summary, table = _detail(con, o_sql, gcols, summary, none, lang)
        tables[0] = Table("summary", "对账汇总", "Summary", tuple(cols), summary, total_row=True,
                          link=Link(gcols[0], "detail", "_pm_first_row"), freeze_cols=len(gcols))
        tables.append(table)
    total = summary.filter(summary.column("_pm_total")).to_pylist()[0]
    controls = tuple(ControlTotal(n, zh, en, total[n] if kind == "count" else None,
                                  total[n] if kind == "fen" else None)
                     for n, zh, en, kind, _ in MEASURES)
    title_zh, title_en = TITLES[period]
    return Report(
        kind="reconciliation", title_zh=title_zh + store_zh, title_en=title_en + store_en, period_from=first,
        period_to=last,
        period_label=period, sources=sources_for(con, first, last), run_ids=run_ids_for(con, first, last),
        control_totals=controls,
        tables=tuple(tables),
        generated_at=dt.datetime.now(ZoneInfo(TZ)), params={"group_by": ",".join(gcols), "lang": lang,
                                                         **({"store": ",".join(store_ids)} if store_ids else {})},
        notes=_notes(con, first, last, total["outcomes_count"]),
    )


#: the detail's money columns: each outcome's (or another channel's share's) part of the summary's figure of the
#: same header, by the summary's own conditions, so a group's detail rows add up to its summary row
_DETAIL_MONEY = (
    ("d_orders_fen", "订单金额", "Order amount", "CASE WHEN NOT r THEN order_total_fen END"),
    ("d_channel_fen", "渠道收款金额", "Channel payment amount", "CASE WHEN NOT r THEN channel_total_fen END"),
    ("d_shop_refund_fen", "平台退款金额", "Shop refund amount", "CASE WHEN r THEN order_total_fen END"),
    ("d_channel_refund_fen", "渠道退款金额", "Channel refund amount", "CASE WHEN r THEN channel_total_fen END"),
    ("d_fee_fen", "手续费", "Fees", "CASE WHEN NOT dup AND channel_status = 'success' THEN fee_fen END"),
    ("d_net_fen", "净结算金额", "Net settlement",
     f"CASE WHEN NOT dup AND channel_status = 'success' THEN CASE WHEN r THEN -coalesce({_REFUND_OUT}, 0) "
     f"ELSE coalesce(settle_gross_fen, {settle_before_fee_sql('channel_amount_fen')}, 0) END "
     "- coalesce(fee_fen, 0) END"),
    ("d_difference_fen", "差异金额", "Difference", "CASE WHEN NOT clean THEN difference_fen END"),
)


#: the reason of another channel's (merchant number's) share of an outcome on the detail sheet, per language
_PART_REASON = {"zh": "本行只是该结果在此渠道/商户号下记录的金额，结果本身计在其所属渠道/商户号下",
                "en": "this channel's or merchant number's records of an outcome counted under another"}


def _detail(con: duckdb.DuckDBPyConnection, o_sql: str, gcols: list[str], summary, none: str, lang: str = "zh"):
    """The sheet of every outcome under the summary's groups (``--detail``), and the summary with each group's first
    detail row (``_pm_first_row``, the Excel link from the group's cell down to its outcomes, as fund flow links).

    Rows come from the summary's own source (``o_sql``): an outcome with records on several channels (grouped by
    channel or merchant number) is a row under each, its other channels' rows holding only their records' money (结果编号
    repeated, 订单金额 0), so the rows of a group add up to the group's amounts. ``none``: the SQL literal the summary
    labels a missing store / merchant number / channel with (its groups' keys)."""
    import pyarrow as pa

    gkey = " || '|' || ".join(f"coalesce({c}, {none})" for c in gcols)
    money = ", ".join(f"CAST({sql} AS BIGINT) AS {name}" for name, _, _, sql in _DETAIL_MONEY)
    part_reason = sql_str(_PART_REASON["zh" if lang == "zh" else "en"])
    src = f"(SELECT *, {gkey} AS _pm_gkey FROM {o_sql})"
    order = "_pm_gkey, recon_day, kind, outcome_id, part"
    rel = con.sql(f"""SELECT _pm_gkey, recon_day AS day, kind, {_label_case()} AS kind_zh,
                             coalesce(store_id, {none}) AS store_id, merchant_id,
                             channel, order_no, refund_no, channel_tx_id, {money},
                             CASE WHEN part THEN {part_reason} ELSE {reason_sql(lang)} END
                             AS reason, outcome_id
                      FROM {src} ORDER BY {order}""")
    firsts = dict(con.sql(f"""SELECT _pm_gkey, CAST(sum(n) OVER (ORDER BY _pm_gkey ROWS UNBOUNDED PRECEDING) - n + 1
                                     AS BIGINT) FROM (SELECT _pm_gkey, count(*) AS n FROM {src} GROUP BY _pm_gkey)""").fetchall())
    keys = zip(*(summary.column(c).to_pylist() for c in gcols))
    pos = [None if total else firsts.get("|".join(k)) for k, total in zip(keys, summary.column("_pm_total").to_pylist())]
    summary = summary.append_column("_pm_first_row", pa.array(pos, pa.int64()))
    dcols = (
        *_ITEM_HEAD,
        *(Column(name, zh, en, "fen") for name, zh, en, _ in _DETAIL_MONEY),
        Column("reason", "原因", "Reason", "text", 60), Column("outcome_id", "结果编号", "Outcome id", "text", 30),
    )
    return summary, Table("detail", "对账明细", "All outcomes", dcols, rel)


def _notes(con: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, outcomes: int) -> tuple[tuple[str, str], ...]:
    """What the cover must say before the figures: the period's days no run covered (a month's report on the 7th
    showed 1..30 with 7 days' figures and no word of it: the reader took them for the month's), a period without
    any outcome (zeros because nothing happened, not because something failed)."""
    notes = []
    missing = days_without(con, first, last, "SELECT 1 FROM runs WHERE period_from <= {d} AND period_to >= {d}")
    if missing:
        spans = day_spans(missing)
        notes.append((f"本期有 {len(missing)} 天未对账，其数据不在本报表中：{spans}（先对这些日期运行 paymatch reconcile）",
                      f"{len(missing)} day(s) of the period were not reconciled and are not in this report: {spans} "
                      "(run paymatch reconcile for them first)"))
    if not outcomes:
        notes.append(("本期没有任何对账结果（无订单、退款或渠道流水）：各项为零",
                      "No outcomes in this period (no orders, refunds or channel records): every figure is zero"))
    return tuple(notes)


def _by_share(scoped: str, dims: list[str]) -> str:
    """SQL: the outcomes ``scoped`` with each channel's (or merchant number's, ``dims``: the grouped columns among
    channel and merchant_id) share of an outcome whose records are on several (``outcome_splits``: a duplicate payment
    through WeChat and UnionPay, or at two merchant numbers) under it: the outcome's row holds the share of its own
    channel / merchant number and every other share is a row of its own (``part``: its records' money, not an
    outcome: no order, no difference, not counted). The groups add up to the chain: the shares add up to the outcome,
    and its own channel and merchant number have one (``outcome_splits``). Without shares, the outcome as it is.

    One pass over ``scoped`` (a window over the period's stored outcomes), joined to the few shares: reading it once
    per kind of row cost a month's report by channel a third more CPU and a quarter GB more memory (helper-70)."""
    # a record naming no merchant number is the outcome's merchant number's (as the outcome reads it; so are the
    # shares stored before they named one)
    got = {d: f"coalesce(m.{d}, s.{d})" if d == "merchant_id" else f"m.{d}" for d in dims}
    same = " AND ".join(f"{got[d]} IS NOT DISTINCT FROM s.{d}" for d in dims)
    part = f"(m.outcome_id IS NOT NULL AND NOT ({same}))"
    money = ", ".join(f"CASE WHEN m.outcome_id IS NULL THEN s.{c} ELSE m.{c} END AS {c}" for c in SHARE_COLUMNS)
    order_side = ", ".join(f"CASE WHEN {part} THEN {v} ELSE s.{c} END AS {c}" for c, v in (
        ("order_rows", "0"), ("order_total_fen", "0"), ("order_amount_fen", "NULL"), ("difference_fen", "NULL")))
    where = ", ".join(f"CASE WHEN m.outcome_id IS NULL THEN s.{d} ELSE {got[d]} END AS {d}" for d in dims)
    shares = (f"(SELECT run_id, outcome_id, {', '.join(dims)}, {', '.join(f'sum({c}) AS {c}' for c in SHARE_COLUMNS)} "
              "FROM outcome_splits GROUP BY ALL)")
    return (f"(SELECT s.* REPLACE ({where}, {money}, {order_side}), coalesce({part}, false) AS part "
            f"FROM {scoped} s LEFT JOIN {shares} m ON m.run_id = s.run_id AND m.outcome_id = s.outcome_id)")


def _label_case() -> str:
    whens = " ".join(f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in LABEL_ZH.items())
    return f"CASE kind {whens} ELSE kind END"
