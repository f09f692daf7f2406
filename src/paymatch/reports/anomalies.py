"""Anomaly board (异常看板): what the rules flag in the transactions of a date range.

Every rule is one DuckDB query over successful transactions whose day (bill date, else the local
day in Asia/Shanghai) lies in the range, joined to the order (store, member) by its key as
reconciliation keys it (the order number, plus the merchant number under ``match.key_scope``; a record no order
names is the store config ``stores`` maps its merchant number to, else (unknown)). Every
rule sees each channel record once: a record listed twice (overlapping bills, one bill listing it
twice) counts by the copy reconciliation matches (``provenance.first_copy_only``, as in fund flow).
The thresholds come from ``config.anomalies``:

  large_amount            a payment ≥ the store's threshold (``per_store_large_amount_fen``), else the
                          channel's (``per_channel_large_amount_fen``), else ``large_amount_fen``; or more
                          than ``large_zscore`` standard deviations above its store's mean payment in the
                          range (only for stores with at least ``MIN_ZSCORE_SAMPLE`` payments).
  frequent_refunds        a member with ≥ ``refund_count_threshold`` refunds within any
                          ``refund_count_window_hours`` window (one row per member, at the worst window);
                          likewise a store with ≥ ``store_refund_count_threshold`` (a key the config model
                          does not have yet; off by default).
  repeated_attempts       an order (key) with ≥ ``repeat_attempts_threshold`` payment rows (any status).
  refund_exceeds_payment  an order (key) whose successful channel refunds (in the range) total more than its
                          successful channel payments (any day).
  night_spike             a store-day whose payments in night hours [night_start_hour, night_end_hour)
                          are ≥ ``NIGHT_SPIKE_MIN`` and more than ``NIGHT_SPIKE_FACTOR`` × the store's
                          average over the other days of the range.

Each row has its amount (``amount_fen``) and, by the rule's measure, either ``threshold_fen`` (large_amount: the
threshold, or for a z-score the least amount more than ``large_zscore`` standard deviations above the mean;
refund_exceeds_payment: the order's payments) or ``count`` and ``count_threshold`` (the least count flagged). Money
stays fen in the rows (renderers show yuan, as in every report), and the detail text names yuan.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb

from ..config import AnomalyRules
from ..errors import PaymatchError
from ..money import sql_fen_to_yuan
from ..outcomes_store import store_map_table
from ..schema import TZ
from .labels import ANOMALY_DETAIL, UNKNOWN_CODE, anomaly_detail, unknown
from .model import Column, ControlTotal, Report, Table
from .provenance import first_copy_only, local_day_sql, record_day_notes, sources_for, sql_str, store_scope

#: defaults for keys the config model does not have yet (read with getattr so a config can add them)
MIN_ZSCORE_SAMPLE = 30
NIGHT_SPIKE_FACTOR = 3.0
NIGHT_SPIKE_MIN = 5

RULES = {
    "large_amount": ("大额交易", "Large transaction"),
    "frequent_refunds": ("频繁退款", "Frequent refunds"),
    "repeated_attempts": ("重复支付尝试", "Repeated payment attempts"),
    "refund_exceeds_payment": ("退款超过支付", "Refund larger than payment"),
    "night_spike": ("夜间交易激增", "Night-time spike"),
}
_NAMES = ("rule, store_id, merchant_id, channel, member_id, order_no, channel_tx_id, occurred_at, amount_fen, "
          "threshold_fen, count, count_threshold, detail")
#: the board's row order, every column (a member's and its store's frequent-refund rows of one refund tied on the first
#: five and came out in either order from one run to the next: helper-114)
ANOMALY_ORDER = ("rule, store_id, occurred_at, order_no, channel_tx_id, member_id, merchant_id, channel, amount_fen, "
                 "threshold_fen, count, count_threshold, detail")
_OUT = ("rule, store_id, merchant_id, channel, member_id, order_no, channel_tx_id, occurred_at, amount_fen, "
        "CAST(threshold_fen AS BIGINT) AS threshold_fen, CAST(count AS BIGINT) AS count, "
        "CAST(count_threshold AS BIGINT) AS count_threshold, detail")


def _setting(rules: AnomalyRules, name: str, default):
    return getattr(rules, name, default)


def _base(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, key_scope: tuple[str, ...],
          stores: dict[str, str] | None = None) -> None:
    # every channel record once (a record listed on two bills, or twice in one, is one payment or refund), as
    # reconciliation and fund flow count it: _pm_anom_records of any day, _pm_anom_tx of the range. ``order_key``: the
    # order the record belongs to as reconciliation keys it (engine.expr.key_expr: '<merchant_id>/<order_no>' under
    # key_scope, where two merchant numbers' orders of one number are two orders)
    order_key = "".join(f"coalesce(t.{k}, '') || '/' || " for k in key_scope) + "t.order_no"
    con.execute(f"""CREATE OR REPLACE TEMP VIEW _pm_anom_records AS
      SELECT t.*, {order_key} AS order_key FROM transactions t WHERE {first_copy_only(con)}""")
    day = local_day_sql("t")
    # one order per workspace key (see fundflow._dim_sql), so the join cannot multiply rows
    on = " AND ".join(f"o.{k} = t.{k}" for k in ("order_no", *key_scope))
    extra = "".join(f", {k}" for k in key_scope)
    # a record no order names is the store config ``stores`` maps its merchant number to, as in fund flow and
    # reconciliation (README: only a record with neither is (unknown))
    store_map = store_map_table(con, stores)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pm_anom_tx AS
      SELECT t.channel, t.merchant_id, t.channel_tx_id, t.order_no, t.order_key, t.type, t.amount_fen, t.status,
             timezone('{TZ}', t.occurred_at) AS local_time, {day} AS local_day,
             coalesce(o.store_id, m.store_id, {sql_str(UNKNOWN_CODE)}) AS store_id, o.member_id
      FROM _pm_anom_records t
      LEFT JOIN (SELECT order_no{extra}, store_id, member_id FROM orders) o ON {on}
      LEFT JOIN {store_map} m ON m.merchant_id = t.merchant_id
      WHERE {day} BETWEEN DATE '{date_from}' AND DATE '{date_to}'""")


def _thresholds(con: duckdb.DuckDBPyConnection, rules: AnomalyRules) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE _pm_thr_store (store_id VARCHAR, fen BIGINT)")
    con.execute("CREATE OR REPLACE TEMP TABLE _pm_thr_channel (channel VARCHAR, fen BIGINT)")
    if rules.per_store_large_amount_fen:
        con.executemany("INSERT INTO _pm_thr_store VALUES (?, ?)", list(rules.per_store_large_amount_fen.items()))
    if rules.per_channel_large_amount_fen:
        con.executemany("INSERT INTO _pm_thr_channel VALUES (?, ?)", list(rules.per_channel_large_amount_fen.items()))


def rule_sql(rules: AnomalyRules, lang: str = "en") -> dict[str, str]:
    """The SQL of each rule over ``_pm_anom_tx`` (and ``_pm_anom_records``; columns as in the anomalies table), its
    ``detail`` (说明) in ``lang`` (``labels.ANOMALY_DETAIL``: a zh board said "amount ≥ threshold")."""
    min_n = int(_setting(rules, "large_zscore_min_sample", MIN_ZSCORE_SAMPLE))
    factor = float(_setting(rules, "night_spike_factor", NIGHT_SPIKE_FACTOR))
    night_min = int(_setting(rules, "night_spike_min_count", NIGHT_SPIKE_MIN))
    s, e = rules.night_start_hour, rules.night_end_hour
    night = f"(hour(local_time) >= {s} AND hour(local_time) < {e})" if s < e else \
        f"(hour(local_time) >= {s} OR hour(local_time) < {e})"
    pay = "type = 'payment' AND status = 'success'"
    hours = rules.refund_count_window_hours
    store_thr = _setting(rules, "store_refund_count_threshold", None)
    sqls = {
        "large_amount": f"""
          SELECT 'large_amount' AS rule, store_id, merchant_id, channel, member_id, order_no, channel_tx_id,
            local_time AS occurred_at, amount_fen, CASE WHEN amount_fen >= thr THEN thr ELSE z_thr END, NULL, NULL,
            CASE WHEN amount_fen >= thr THEN {anomaly_detail(lang, 'large_threshold')}
              ELSE {anomaly_detail(lang, 'large_zscore', z='round(z, 2)::VARCHAR')} END AS detail
          FROM (SELECT p.*, coalesce(ts.fen, tc.fen, {rules.large_amount_fen}) AS thr,
                  CASE WHEN st.n >= {min_n} AND st.sd > 0 THEN (amount_fen - st.mean) / st.sd END AS z,
                  -- the least amount more than large_zscore standard deviations above the mean
                  CASE WHEN st.n >= {min_n} AND st.sd > 0
                    THEN TRY_CAST(floor(st.mean + {rules.large_zscore} * st.sd) AS BIGINT) + 1 END AS z_thr
                FROM _pm_anom_tx p LEFT JOIN _pm_thr_store ts USING (store_id) LEFT JOIN _pm_thr_channel tc USING (channel)
                -- store statistics by GROUP BY + join: far cheaper than three window aggregates over millions of rows
                LEFT JOIN (SELECT store_id, count(*) AS n, avg(amount_fen) AS mean, stddev_pop(amount_fen) AS sd
                           FROM _pm_anom_tx WHERE {pay} GROUP BY store_id) st USING (store_id)
                WHERE {pay})
          WHERE amount_fen >= thr OR amount_fen >= z_thr""",
        "frequent_refunds": _frequent_refunds("member_id", rules.refund_count_threshold, hours, lang),
        # candidates first with a bare count (cheap over millions of orders), details only for them
        "repeated_attempts": f"""
          SELECT 'repeated_attempts', any_value(store_id), any_value(merchant_id), string_agg(DISTINCT channel, ','),
            any_value(member_id), any_value(order_no), min(channel_tx_id), min(local_time),
            CAST(coalesce(sum(amount_fen) FILTER (WHERE status = 'success'), 0) AS BIGINT), NULL, count(*),
            {rules.repeat_attempts_threshold}, {anomaly_detail(lang, 'repeated_attempts', n='count(*)::VARCHAR')}
          FROM _pm_anom_tx WHERE type = 'payment' AND order_key IN (
            SELECT order_key FROM _pm_anom_tx WHERE type = 'payment' AND order_key IS NOT NULL
            GROUP BY order_key HAVING count(*) >= {rules.repeat_attempts_threshold})
          GROUP BY order_key""",
        "refund_exceeds_payment": f"""
          SELECT 'refund_exceeds_payment', *, NULL, NULL,
            {anomaly_detail(lang, 'refund_exceeds_payment', refunded=sql_fen_to_yuan('refunded'),
                            paid=sql_fen_to_yuan('paid'))} FROM (
          SELECT any_value(r.store_id), any_value(r.merchant_id), any_value(r.channel), any_value(r.member_id),
            any_value(r.order_no), min(r.channel_tx_id), max(r.local_time),
            CAST(sum(r.amount_fen) AS BIGINT) AS refunded, CAST(coalesce(any_value(p.paid), 0) AS BIGINT) AS paid
          FROM _pm_anom_tx r LEFT JOIN (
            SELECT order_key, sum(amount_fen) AS paid FROM _pm_anom_records
            WHERE type = 'payment' AND status = 'success'
              AND order_key IN (SELECT order_key FROM _pm_anom_tx WHERE type = 'refund')  -- only refunded orders
            GROUP BY order_key) p USING (order_key)
          WHERE r.type = 'refund' AND r.status = 'success' AND r.order_key IS NOT NULL
          GROUP BY r.order_key)
          WHERE refunded > paid""",
        "night_spike": f"""
          SELECT 'night_spike', store_id, NULL, NULL, NULL, NULL, NULL, CAST(local_day AS TIMESTAMP), CAST(fen AS BIGINT),
            NULL, n, thr, {anomaly_detail(lang, 'night_spike', n='n::VARCHAR', usual='round(usual, 1)::VARCHAR')} FROM (
            -- the least night count flagged: at least night_min and more than factor × usual
            SELECT *, greatest({night_min}, CAST(floor({factor} * usual) AS BIGINT) + 1) AS thr FROM (
            SELECT *, (sum(n) OVER s - n) / nullif(count(*) OVER s - 1, 0) AS usual FROM (
              SELECT store_id, local_day, count(*) FILTER (WHERE {night}) AS n,
                     coalesce(sum(amount_fen) FILTER (WHERE {night}), 0) AS fen
              FROM _pm_anom_tx WHERE {pay} GROUP BY store_id, local_day)
            WINDOW s AS (PARTITION BY store_id)))
          WHERE usual IS NOT NULL AND n >= thr""",
    }
    if store_thr:  # a store's refunds in a window: off unless configured (busy stores refund every hour)
        sqls["frequent_refunds"] += " UNION ALL " + _frequent_refunds("store_id", int(store_thr), hours, lang)
    return sqls


def _frequent_refunds(scope: str, threshold: int, hours: int, lang: str = "en") -> str:
    """Refunds per ``scope`` (member_id or store_id) in a sliding window; one row per scope value, at its worst window."""
    who = ANOMALY_DETAIL["zh" if lang == "zh" else "en"][scope.removesuffix("_id")]
    detail = anomaly_detail(lang, "frequent_refunds", n="n::VARCHAR", hours=sql_str(str(int(hours))),
                            scope=sql_str(who), who=scope)
    return f"""
      SELECT 'frequent_refunds', store_id, merchant_id, channel, member_id, order_no, channel_tx_id,
        local_time, amount_fen, NULL, n, {threshold},
        {detail} FROM (
        SELECT *, row_number() OVER (PARTITION BY {scope} ORDER BY n DESC, local_time, channel_tx_id) AS rk FROM (
          SELECT *, count(*) OVER (PARTITION BY {scope} ORDER BY local_time
            RANGE BETWEEN INTERVAL {hours} HOUR PRECEDING AND CURRENT ROW) AS n
          FROM _pm_anom_tx WHERE type = 'refund' AND status = 'success' AND {scope} IS NOT NULL))
      WHERE rk = 1 AND n >= {threshold}"""


def build_anomalies(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, *,
                    rules: AnomalyRules | None = None, lang: str = "zh",
                    key_scope: tuple[str, ...] | list[str] = (), store_ids: tuple[str, ...] | list[str] = (),
                    stores: dict[str, str] | None = None) -> Report:
    """The anomaly board for date_from..date_to (see the module docstring for the rules).

    ``key_scope``: config ``match.key_scope`` (how orders are keyed in the workspace). ``store_ids``: a store
    manager's board: the chain's anomalies in these stores (the rules judge as for the chain: a member's refunds
    across stores, a z-score against the store's own payments), nothing of the other stores. ``stores``: config
    ``stores`` (merchant_id → store_id), the store of a record no order names.
    """
    if date_to < date_from:
        raise PaymatchError(f"--to {date_to} is before --from {date_from}")
    in_stores, store_zh, store_en = store_scope(con, store_ids)
    rules = rules or AnomalyRules()
    _base(con, date_from, date_to, tuple(key_scope), stores)
    _thresholds(con, rules)
    # each rule's columns are positional; the alias list names them the same way for every rule
    union = " UNION ALL ".join(f"SELECT {_OUT} FROM ({sql}) AS _pm_r({_NAMES})"
                               for sql in rule_sql(rules, lang).values())
    labels = " ".join(f"WHEN '{k}' THEN '{zh}'" for k, (zh, _) in RULES.items())
    # records without a known store are one store to the rules (its own z-score, its night spikes), shown under the
    # label every report gives a missing store in the report's language
    store_label = f"CASE WHEN store_id = {sql_str(UNKNOWN_CODE)} THEN {sql_str(unknown(lang))} ELSE store_id END"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pm_anomalies AS
      SELECT rule, CASE rule {labels} END AS rule_zh, * EXCLUDE (rule) REPLACE ({store_label} AS store_id)
      FROM ({union}) WHERE {in_stores}
      ORDER BY {ANOMALY_ORDER}""")
    counts = dict(con.execute("SELECT rule, count(*) FROM _pm_anomalies GROUP BY rule").fetchall())
    summary = con.sql("SELECT * FROM (VALUES " + ", ".join(
        f"('{k}', '{zh}', {int(counts.get(k, 0))})" for k, (zh, _) in RULES.items()) + ") t(rule, rule_zh, n)")
    scols = (Column("rule", "规则代码", "Rule", "text", 24), Column("rule_zh", "规则", "Rule (zh)", "text", 16),
             Column("n", "笔数", "Count", "count"))
    acols = (
        Column("rule", "规则代码", "Rule", "text", 24), Column("rule_zh", "规则", "Rule (zh)", "text", 16),
        Column("store_id", "门店", "Store"), Column("merchant_id", "商户号", "Merchant id", "text", 18),
        Column("channel", "渠道", "Channel", "text", 10, "channel"), Column("member_id", "会员", "Member", "text", 12),
        Column("order_no", "订单号", "Order no", "text", 22), Column("channel_tx_id", "渠道流水号", "Channel tx id", "text", 24),
        Column("occurred_at", "时间", "Time", "date", 20), Column("amount_fen", "金额", "Amount", "fen"),
        Column("threshold_fen", "金额阈值", "Amount threshold", "fen"), Column("count", "笔数", "Count", "count"),
        Column("count_threshold", "笔数阈值", "Count threshold", "count"),
        Column("detail", "说明", "Detail", "text", 40),
    )
    controls = tuple(ControlTotal(k, zh, en, int(counts.get(k, 0)), None) for k, (zh, en) in RULES.items())
    return Report(
        kind="anomalies", title_zh="异常看板" + store_zh, title_en="Anomaly board" + store_en, period_from=date_from,
        period_to=date_to,
        period_label="range", sources=sources_for(con, date_from, date_to, kinds=("transactions",)), run_ids=(),
        control_totals=controls,
        tables=(Table("summary", "异常汇总", "Summary", scols, summary),
                Table("anomalies", "异常明细", "Anomalies", acols, con.sql("SELECT * FROM _pm_anomalies"))),
        generated_at=dt.datetime.now(ZoneInfo(TZ)),
        params={"lang": lang, **({"store": ",".join(store_ids)} if store_ids else {}), **rules.model_dump(mode="json")},
        notes=record_day_notes(con, date_from, date_to),  # no anomaly on a day without a bill is no all-clear
    )
