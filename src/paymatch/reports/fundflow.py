"""Fund flow (资金流水): money in and out per dimension value and time bucket, with drill-down.

Read from the ``transactions`` table, each channel record once: a record stored twice (the identity
``engine.dedupe.DUP_KEY``: overlapping bills, a re-exported file, processing on one bill and successful on the next)
counts by the copy reconciliation matches (``scope.STORED_ROW``); the other copies are ``duplicate_record`` or
``record_update`` outcomes in reconciliation, not money. Of those, successful rows only (failed/closed/processing
rows moved no money) whose day — the
bill date, else the instant's calendar day in Asia/Shanghai — lies in the range. Inflow = payments;
outflow = refunds and fees (a refund's returned fee is negative, so it lowers the fees);
net = inflow − refunds − fees. All in integer fen.

Every summary row has a ``key`` ("<bucket>|<value>", or "<bucket>" by time). ``drill`` returns
exactly the transactions under a key, built from the same base query, so they sum to the row. The
detail table lists every transaction ordered by key; each summary row carries the 1-based position
of its key's first detail row (cumulative counts in key order, computed in the same database with
the same collation), which the Excel writer turns into an internal hyperlink.

Dimensions: time (bucket only), channel, merchant (merchant_id), store (the order's store; for rows
without a known order, config ``stores`` by merchant number), order_type (the
order file's extra ``order_type`` column; else 'instalment' when the order has instalments, else
'regular'; '(no order)' when the transaction matches no order). A record without a channel, merchant number or
store is under the label every report gives it in the report's language (``labels.unknown``: '(未知)', '(unknown)'),
in its key too; ``drill`` takes a key in either language.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from ..errors import PaymatchError
from ..outcomes_store import store_map_table
from ..schema import TZ
from .labels import UNKNOWN, unknown
from .model import Column, ControlTotal, Link, Report, Table
from .periods import bucket_sql
from .provenance import first_copy_only, local_day_sql, record_day_notes, sources_for, sql_str, store_scope

DIMENSIONS = ("time", "channel", "order_type", "store", "merchant")
_DIM_HEAD = {"time": ("时间", "Time"), "channel": ("渠道", "Channel"), "order_type": ("订单类型", "Order type"),
             "store": ("门店", "Store"), "merchant": ("商户号", "Merchant id")}
_TOTAL = {"zh": "合计", "en": "Total"}
#: the dimensions whose values are codes a zh report names in Chinese (``labels``; the keys keep the codes)
_DIM_LABELS = {"channel": "channel", "order_type": "order_type"}


def _dim_sql(by: str, key_scope: tuple[str, ...] = ()) -> tuple[str, str]:
    """(SQL of the dimension value, NULL where the record has none, the join it needs)."""
    # The workspace keeps one order per key (order_no, plus merchant_id when order numbers are unique
    # only per merchant number): loads reject duplicate keys and a newer load replaces the older
    # row. Joining on that key therefore never multiplies a transaction row, so no dedupe pass over
    # millions of orders is needed; only the columns the dimension uses are read.
    on = " AND ".join(f"o.{k} = t.{k}" for k in ("order_no", *key_scope))
    need = "instalments, json_extract_string(extra, '$.order_type') AS order_type"
    orders = f"LEFT JOIN (SELECT order_no, {', '.join(key_scope) + ', ' if key_scope else ''}{need} FROM orders) o ON {on}"
    if by == "time":
        return "NULL::VARCHAR", ""
    if by == "channel":
        return "t.channel", ""
    if by == "merchant":
        return "t.merchant_id", ""
    if by == "store":
        return _store_sql(tuple(key_scope))
    if by == "order_type":
        return ("CASE WHEN o.order_no IS NULL THEN '(no order)' ELSE coalesce(o.order_type, "
                "CASE WHEN o.instalments > 0 THEN 'instalment' ELSE 'regular' END) END"), orders
    raise PaymatchError(f"cannot break fund flow down by {by!r}\nHint: use one of {', '.join(DIMENSIONS)}")


def _store_sql(key_scope: tuple[str, ...], o: str = "o", m: str = "m") -> tuple[str, str]:
    """(SQL of a record's store: its order's, else ``_pm_store_map``'s by merchant number (config ``stores``), else
    NULL; the joins it needs, under aliases ``o`` and ``m``): the store dimension and a store's report."""
    on = " AND ".join(f"{o}.{k} = t.{k}" for k in ("order_no", *key_scope))
    return (f"coalesce({o}.store_id, {m}.store_id)",
            f"LEFT JOIN (SELECT order_no, {''.join(k + ', ' for k in key_scope)}store_id FROM orders) {o} ON {on} "
            f"LEFT JOIN _pm_store_map {m} ON {m}.merchant_id = t.merchant_id")


def base_sql(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, by: str, grain: str,
             stores: dict[str, str] | None = None, key_scope: tuple[str, ...] | list[str] = (),
             store_ids: tuple[str, ...] | list[str] = (), lang: str = "en") -> str:
    """SQL of the successful transactions in the range (each record once) with ``bucket``, ``dim`` (NULL where a
    record has none) and ``key`` (there the label in ``lang``); ``store_ids``: only the records of these stores (the
    order's store, else ``stores`` by merchant number)."""
    if date_to < date_from:
        raise PaymatchError(f"--to {date_to} is before --from {date_from}")
    dim, join = _dim_sql(by, tuple(key_scope))
    if by == "store" or store_ids:
        store_map_table(con, stores)
    in_stores = "true"
    if store_ids:  # the store as the store dimension reads it, through joins of its own (any --by)
        store, joins = _store_sql(tuple(key_scope), "so", "sm")
        join += " " + joins
        in_stores = f"{store} IN ({', '.join(sql_str(x) for x in store_ids)})"
    first_only = first_copy_only(con)
    day = local_day_sql("t")
    key = "bucket::VARCHAR" if by == "time" else f"bucket::VARCHAR || '|' || coalesce(dim, {sql_str(unknown(lang))})"
    return f"""
      SELECT *, {key} AS key FROM (
        SELECT t.*, {day} AS local_day, {bucket_sql(day, grain)} AS bucket, {dim} AS dim
        FROM transactions t {join}
        WHERE t.status = 'success' AND {day} BETWEEN DATE '{date_from}' AND DATE '{date_to}' AND {first_only}
          AND {in_stores})"""


def _detail_select(lang: str) -> str:
    """The detail's (and a drill's) columns; a record without the dimension's value under its label in ``lang``."""
    return f"""key, local_day, strftime(timezone('{TZ}', occurred_at), '%Y-%m-%d %H:%M:%S')::TIMESTAMP AS local_time,
  channel, merchant_id, coalesce(dim, {sql_str(unknown(lang))}) AS dim, type, order_no, refund_no, channel_tx_id,
  amount_fen, fee_fen, settle_amount_fen, status, method, src_file, src_line"""

_DETAIL_ORDER = "key, occurred_at, channel, channel_tx_id, type, refund_no, src_file, src_line"


def drill(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, by: str, grain: str, key: str,
          *, stores: dict[str, str] | None = None, key_scope: tuple[str, ...] | list[str] = (),
          store_ids: tuple[str, ...] | list[str] = (), lang: str = "en") -> pa.Table:
    """Exactly the transactions under summary row ``key`` (with their source file and line); ``lang``: the
    language of the labels in the rows (a missing store's)."""
    store_scope(con, store_ids)  # a mistyped store is said so, not "no rows under this key"
    # a key as either language's report wrote it
    in_key = next((k for k, label in UNKNOWN.items() if key.endswith("|" + label)), lang)
    base = base_sql(con, date_from, date_to, by, grain, stores, key_scope, store_ids, in_key)
    return con.sql(f"SELECT {_detail_select(lang)} FROM ({base}) WHERE key = {sql_str(key)} "
                   f"ORDER BY {_DETAIL_ORDER}").to_arrow_table()


def build_fund_flow(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, *, by: str = "time",
                    grain: str = "day", lang: str = "zh", detail: bool = True,
                    stores: dict[str, str] | None = None, key_scope: tuple[str, ...] | list[str] = (),
                    store_ids: tuple[str, ...] | list[str] = ()) -> Report:
    """The fund-flow report; ``detail`` adds the transaction sheet the summary rows link to.

    ``stores``: config ``stores`` (merchant_id → store_id) for transactions without a known order;
    ``key_scope``: config ``match.key_scope`` (how orders are keyed in the workspace); ``store_ids``: a store
    manager's report, only these stores' records.
    """
    _, store_zh, store_en = store_scope(con, store_ids)  # a mistyped store refused (base_sql filters by it)
    base = base_sql(con, date_from, date_to, by, grain, stores, key_scope, store_ids, lang)
    total_label = sql_str(_TOTAL[lang])
    summary = con.sql(f"""
      WITH agg AS (
        SELECT key, bucket, dim,
          count(*) FILTER (WHERE type = 'payment') AS inflow_count,
          CAST(coalesce(sum(amount_fen) FILTER (WHERE type = 'payment'), 0) AS BIGINT) AS inflow_fen,
          count(*) FILTER (WHERE type = 'refund') AS refund_count,
          CAST(coalesce(sum(amount_fen) FILTER (WHERE type = 'refund'), 0) AS BIGINT) AS refund_fen,
          CAST(coalesce(sum(fee_fen), 0) AS BIGINT) AS fee_fen,
          count(*) AS tx_count
        FROM ({base}) GROUP BY key, bucket, dim)
      SELECT key, bucket, coalesce(dim, {sql_str(unknown(lang))}) AS dim, inflow_count, inflow_fen, refund_count,
        refund_fen, fee_fen,
        inflow_fen - refund_fen - fee_fen AS net_fen, tx_count,
        CAST(sum(tx_count) OVER (ORDER BY key ROWS UNBOUNDED PRECEDING) - tx_count + 1 AS BIGINT) AS _pm_first_row, false AS _pm_total
      FROM agg
      UNION ALL
      SELECT {total_label}, NULL, NULL, count(*) FILTER (WHERE type = 'payment'),
        CAST(coalesce(sum(amount_fen) FILTER (WHERE type = 'payment'), 0) AS BIGINT), count(*) FILTER (WHERE type = 'refund'),
        CAST(coalesce(sum(amount_fen) FILTER (WHERE type = 'refund'), 0) AS BIGINT), CAST(coalesce(sum(fee_fen), 0) AS BIGINT),
        CAST(coalesce(sum(amount_fen) FILTER (WHERE type = 'payment'), 0) - coalesce(sum(amount_fen) FILTER (WHERE type = 'refund'), 0)
             - coalesce(sum(fee_fen), 0) AS BIGINT), count(*), NULL, true
      FROM ({base})
      ORDER BY _pm_total, key""").to_arrow_table()
    cols = [Column("key", "键", "Key", "text", 28), Column("bucket", "期间", "Period", "date", 12)]
    if by != "time":
        cols.append(Column("dim", *_DIM_HEAD[by], "text", 18, _DIM_LABELS.get(by)))
    cols += [
        Column("inflow_count", "收款笔数", "Payments", "count"), Column("inflow_fen", "收入(收款)", "Inflow (payments)", "fen"),
        Column("refund_count", "退款笔数", "Refunds", "count"), Column("refund_fen", "支出(退款)", "Outflow: refunds", "fen"),
        Column("fee_fen", "支出(手续费)", "Outflow: fees", "fen"), Column("net_fen", "净额", "Net", "fen"),
        Column("tx_count", "流水笔数", "Transactions", "count"),
    ]
    title = ("资金流水汇总", "Fund flow summary")
    tables = []
    link = Link("key", "detail", "_pm_first_row") if detail else None
    tables.append(Table("summary", *title, tuple(cols), summary, link=link, total_row=True,
                        freeze_cols=2 if by == "time" else 3))  # key, period and the dimension
    if detail:
        rel = con.sql(f"SELECT {_detail_select(lang)} FROM ({base}) ORDER BY {_DETAIL_ORDER}")
        dcols = (
            Column("key", "键", "Key", "text", 28), Column("local_day", "日期", "Day", "date", 12),
            Column("local_time", "交易时间", "Time", "date", 20),
            Column("channel", "渠道", "Channel", "text", 10, "channel"),
            Column("merchant_id", "商户号", "Merchant id", "text", 18),
            Column("dim", *_DIM_HEAD[by], "text", 14, _DIM_LABELS.get(by)),
            Column("type", "类型", "Type", "text", 9, "tx_type"), Column("order_no", "订单号", "Order no", "text", 22),
            Column("refund_no", "退款单号", "Refund no", "text", 22),
            Column("channel_tx_id", "渠道流水号", "Channel tx id", "text", 24),
            Column("amount_fen", "金额", "Amount", "fen"), Column("fee_fen", "手续费", "Fee", "fen"),
            Column("settle_amount_fen", "结算金额", "Settlement amount", "fen"),
            Column("method", "支付方式", "Method", "text", 10, "channel"),
            Column("src_file", "来源文件", "Source file", "text", 30),
            Column("src_line", "行号", "Line", "count"),
        )
        if by in ("time", "channel", "merchant"):  # no dimension, or one the detail shows already (渠道, 商户号)
            dcols = tuple(c for c in dcols if c.name != "dim")
        tables.append(Table("detail", "资金流水明细", "Fund flow detail", dcols, rel))
    total = summary.filter(summary.column("_pm_total")).to_pylist()[0]
    controls = (
        ControlTotal("inflow", "收入(收款)", "Inflow (payments)", total["inflow_count"], total["inflow_fen"]),
        ControlTotal("refunds", "支出(退款)", "Outflow: refunds", total["refund_count"], total["refund_fen"]),
        ControlTotal("fees", "支出(手续费)", "Outflow: fees", None, total["fee_fen"]),
        ControlTotal("net", "净额", "Net", total["tx_count"], total["net_fen"]),
    )
    return Report(
        kind="fund_flow", title_zh="资金流水" + store_zh, title_en="Fund flow" + store_en, period_from=date_from,
        period_to=date_to,
        period_label=grain, sources=sources_for(con, date_from, date_to, kinds=("transactions",)), run_ids=(),
        control_totals=controls, tables=tuple(tables), generated_at=dt.datetime.now(ZoneInfo(TZ)),
        params={"by": by, "grain": grain, "lang": lang, **({"store": ",".join(store_ids)} if store_ids else {})},
        notes=record_day_notes(con, date_from, date_to),
    )
