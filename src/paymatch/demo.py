"""A realistic chain of stores with known defects, generated in DuckDB SQL (scales to a 300-store month).

``generate`` writes canonical orders.csv, refunds.csv, transactions.csv and expected.csv (the ground
truth: outcome_id → kind) for ``stores`` stores over ``days`` days. Payment methods: WeChat Pay,
Alipay, Huabei (settled through Alipay), UnionPay, stored-value balance and points (internal).
Each store has a WeChat and an Alipay merchant number (several stores share a UnionPay one).
Defects are injected at a few ‰ each: missing channel payment, missing order, amount off by a few
fen to a few yuan, order unpaid but paid on the channel, double payment (some on two channels),
the same bill row listed twice, wrong channel, a payment credited to another store's merchant number, an
order whose times are two days before its payment (a reused order number),
missing/extra/wrong refunds, a second refund past the order's amount, late orders whose
payment is on the next day's bill. Fees (0.6 %/0.5 %/0.8 %, half-up to the fen) and coupons
(WeChat 代金券 lowering the settlement amount) are realistic and are not breaks.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .money import sql_fen_to_yuan
from .schema import TZ

# defect buckets out of 10,000 (eligible paid orders with an external method)
DEFECTS = {
    "order_only": (0, 30),
    "channel_only": (30, 60),
    "amount_mismatch": (60, 90),
    "status_mismatch": (90, 110),
    "duplicate_payment": (110, 130),
    "duplicate_record": (130, 150),
    "channel_mismatch": (150, 170),
    "merchant_mismatch": (170, 185),
    "time_mismatch": (185, 195),
    "fee_mismatch": (195, 210),
}
REFUND_DEFECTS = {"refund_order_only": (0, 300), "refund_amount_mismatch": (300, 600), "refund_channel_only": (600, 900),
                  # a second refund, ten minutes after a clean first one, that takes the refunds past the order's amount
                  "over_refund": (900, 950)}


@dataclass(frozen=True)
class DemoFiles:
    """Paths of one generated data set and its row counts."""

    orders: Path
    refunds: Path
    transactions: Path
    expected: Path
    counts: dict[str, int]
    rules: Path  # the chain's rules (its contracted fee rates): the ground truth's fee_mismatch assumes them


def _path(p: Path) -> str:
    """A file path as a SQL string literal."""
    return "'" + str(p).replace("'", "''") + "'"


def _u(salt: str) -> str:
    """A uniform number in [0, 1) from the row id and a salt (deterministic)."""
    return f"((hash(i, '{salt}') % 1000003) / 1000003.0)"


def _b(salt: str) -> str:
    return f"(hash(i, '{salt}') % 10000)"


def _build(con: duckdb.DuckDBPyConnection, stores: int, days: int, per_store_day: int, start: dt.date) -> None:
    n = stores * days * per_store_day
    # method split: wechat 45 %, alipay 27 %, huabei 6 %, unionpay 12 %, balance 7 %, points 3 %
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE base AS
    SELECT i,
      (i % {stores}) AS store_n,
      (i // {stores * per_store_day}) AS day_n,
      {_u('m')} AS um, {_u('t')} AS ut, {_u('a')} AS ua, {_u('s')} AS us, {_u('r')} AS ur, {_u('c')} AS uc,
      {_b('defect')} AS defect, {_b('rdefect')} AS rdefect, {_u('ra')} AS ura, {_u('lvl')} AS ulvl
    FROM range({n}) t(i)""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE o AS
    SELECT *,
      'SO' || strftime(day, '%Y%m%d') || lpad(i::VARCHAR, 9, '0') AS order_no,
      'S' || lpad(store_n::VARCHAR, 3, '0') AS store_id,
      CASE WHEN um < 0.45 THEN 'wechat' WHEN um < 0.72 THEN 'alipay' WHEN um < 0.78 THEN 'huabei'
           WHEN um < 0.90 THEN 'unionpay' WHEN um < 0.97 THEN 'balance' ELSE 'points' END AS method,
      -- amounts: mostly 5–300 yuan, a long tail up to ~5,000
      CAST(CASE WHEN ua < 0.9 THEN 500 + ua * 30000 ELSE 30000 + (ua - 0.9) * 4700000 END AS BIGINT) AS amount_fen,
      CASE WHEN us < 0.94 THEN 'paid' WHEN us < 0.97 THEN 'unpaid' ELSE 'closed' END AS base_status,
      day + INTERVAL (CAST(8 * 3600 + ut * 15.5 * 3600 AS BIGINT)) SECOND AS created_local
    FROM (SELECT *, DATE '{start}' + CAST(day_n AS INTEGER) AS day FROM base)""")
    last_day = start + dt.timedelta(days=days - 1)
    # A few late orders every day (created 23:52–23:59): the channel books them after midnight, so
    # they are on the next day's bill: matched across days inside the data, pending on the last day.
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE o2 AS
    SELECT *,
      CASE WHEN uc < 0.004 THEN day + INTERVAL (86400 - 90 - CAST(uc * 100000 AS BIGINT)) SECOND
           ELSE created_local END AS created_l2,
      (uc < 0.004) AS late_any,
      (day = DATE '{last_day}' AND uc < 0.004) AS late,
      method IN ('balance', 'points') AS internal,
      CASE method WHEN 'wechat' THEN 'wechat' WHEN 'alipay' THEN 'alipay' WHEN 'huabei' THEN 'alipay'
                  WHEN 'unionpay' THEN 'unionpay' END AS settle_channel
    FROM o""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE oo AS
    SELECT *,
      CASE WHEN base_status = 'paid' AND NOT internal AND NOT late THEN
        CASE {' '.join(f"WHEN defect >= {lo} AND defect < {hi} THEN '{k}'" for k, (lo, hi) in DEFECTS.items())} END
      END AS defect_kind,
      CASE settle_channel WHEN 'wechat' THEN '16' || lpad((1000000 + store_n)::VARCHAR, 8, '0')
                          WHEN 'alipay' THEN '2088' || lpad((100000000000 + store_n)::VARCHAR, 12, '0')
                          WHEN 'unionpay' THEN '898' || lpad((310000000000 + store_n // 10)::VARCHAR, 12, '0')
                          ELSE 'INTERNAL' END AS merchant_id,
      -- where a merchant_mismatch payment lands: the next store's merchant number of the same channel
      CASE settle_channel WHEN 'wechat' THEN '16' || lpad((1000001 + store_n)::VARCHAR, 8, '0')
                          WHEN 'alipay' THEN '2088' || lpad((100000000001 + store_n)::VARCHAR, 12, '0')
                          WHEN 'unionpay' THEN '898' || lpad((310000000001 + store_n // 10)::VARCHAR, 12, '0')
                          END AS other_merchant_id,
      (created_l2 + INTERVAL (CAST(5 + ur * 25 AS BIGINT)) SECOND) AS paid_local
    FROM o2""")
    # refunds on 5 % of clean paid external orders
    con.execute("""
    CREATE OR REPLACE TEMP TABLE rf AS
    SELECT *, 'RF' || substr(order_no, 3) AS refund_no,
      CASE WHEN ura < 0.6 THEN amount_fen ELSE GREATEST(1, CAST(amount_fen * ura * 0.8 AS BIGINT)) END AS refund_fen,
      CASE WHEN rdefect % 1000 < 950 THEN 'success' WHEN rdefect % 1000 < 980 THEN 'processing' ELSE 'failed' END AS refund_status,
      CASE WHEN rdefect % 1000 < 950 THEN
        CASE WHEN rdefect >= 0 AND rdefect < 300 THEN 'refund_order_only'
             WHEN rdefect >= 300 AND rdefect < 600 THEN 'refund_amount_mismatch'
             WHEN rdefect >= 600 AND rdefect < 900 THEN 'refund_channel_only' END
      END AS rdefect_kind,
      paid_local + INTERVAL (CAST(600 + ur * 3000 AS BIGINT)) SECOND AS refund_local
    FROM oo WHERE base_status = 'paid' AND NOT internal AND NOT late AND defect_kind IS NULL AND uc > 0.95
      AND hour(paid_local) < 22""")
    # over_refund: the second refund of those orders (shop and channel agree on it; together they exceed the order)
    con.execute("""
    CREATE OR REPLACE TEMP TABLE rf2 AS
    SELECT * REPLACE ('RX' || substr(order_no, 3) AS refund_no,
                      amount_fen - refund_fen + 1 + CAST(ura * 500 AS BIGINT) AS refund_fen,
                      refund_local + INTERVAL 10 MINUTE AS refund_local)
    FROM rf WHERE rdefect >= 900 AND rdefect < 950""")


#: the chain's contracted fee rates (``generate`` writes them as the demo's rules.toml; ``_fee`` charges them)
RULES_TOML = """# the demo chain's contracted fee rates: a payment whose fee is not its rate's is fee_mismatch (手续费不符)
[fees]
[[fees.rates]]
channel = "wechat"
rate = "0.6%"

[[fees.rates]]
channel = "alipay"
rate = "0.6%"

[[fees.rates]]
channel = "alipay"
method = "huabei"
rate = "0.8%"

[[fees.rates]]
channel = "unionpay"
rate = "0.5%"
"""


def _fee(amount: str, channel: str, method: str) -> str:
    """SQL: the fee RULES_TOML's rates charge on ``amount`` (fen, rounded half up)."""
    a = f"({amount})"
    return (f"CASE WHEN {channel} = 'unionpay' THEN ({a} * 5 + 500) // 1000 "
            f"WHEN {method} = 'huabei' THEN ({a} * 8 + 500) // 1000 ELSE ({a} * 6 + 500) // 1000 END")


def _write(con: duckdb.DuckDBPyConnection, out: Path) -> dict[str, int]:
    ts = "strftime({c}, '%Y-%m-%dT%H:%M:%S') || '+08:00'"
    y = sql_fen_to_yuan
    # orders
    con.execute("""
    CREATE OR REPLACE TEMP TABLE orders_out AS
    SELECT order_no, store_id, merchant_id, method AS channel, amount_fen,
      CASE WHEN defect_kind = 'status_mismatch' THEN 'unpaid'
           WHEN order_no IN (SELECT order_no FROM rf WHERE refund_status = 'success' AND rdefect_kind IS DISTINCT FROM 'refund_channel_only')
             THEN CASE WHEN order_no IN (SELECT order_no FROM rf WHERE refund_fen = amount_fen) THEN 'refunded' ELSE 'partially_refunded' END
           ELSE base_status END AS status,
      -- time_mismatch: the ERP's order carries times two days before the channel's payment (a reused number)
      created_l2 - CASE WHEN defect_kind = 'time_mismatch' THEN INTERVAL 2 DAY ELSE INTERVAL 0 DAY END AS created_at,
      CASE WHEN base_status = 'paid' AND defect_kind IS DISTINCT FROM 'status_mismatch' THEN paid_local
           - CASE WHEN defect_kind = 'time_mismatch' THEN INTERVAL 2 DAY ELSE INTERVAL 0 DAY END END AS paid_at,
      'M' || lpad((hash(i, 'member') % 200000)::VARCHAR, 7, '0') AS member_id,
      CASE WHEN ulvl < 0.6 THEN 'regular' WHEN ulvl < 0.85 THEN 'silver' WHEN ulvl < 0.97 THEN 'gold' ELSE 'diamond' END AS member_level,
      CASE WHEN method = 'huabei' THEN [0, 3, 6, 12][1 + CAST(ulvl * 4 AS INTEGER) % 4] ELSE 0 END AS instalments
    FROM oo WHERE defect_kind IS DISTINCT FROM 'channel_only'""")
    # channel payments (one per paid external order; defects alter them)
    con.execute("""
    CREATE OR REPLACE TEMP TABLE pay AS
    SELECT CASE WHEN defect_kind = 'channel_mismatch' THEN CASE settle_channel WHEN 'wechat' THEN 'alipay' ELSE 'wechat' END
                ELSE settle_channel END AS channel,
      CASE WHEN defect_kind = 'merchant_mismatch' THEN other_merchant_id ELSE merchant_id END AS merchant_id,
      CASE settle_channel WHEN 'wechat' THEN '42000' || lpad(i::VARCHAR, 14, '0')
                          WHEN 'alipay' THEN '2026' || lpad(i::VARCHAR, 16, '0')
                          ELSE 'UP' || lpad(i::VARCHAR, 18, '0') END AS channel_tx_id,
      order_no, 'payment' AS type, NULL AS refund_no, NULL AS channel_refund_id,
      amount_fen + CASE WHEN defect_kind = 'amount_mismatch'
           THEN CASE WHEN uc < 0.5 THEN 1 + CAST(ur * 500 AS BIGINT) ELSE -(1 + CAST(ur * 100 AS BIGINT)) END ELSE 0 END AS amt,
      method, CASE WHEN late_any THEN date_trunc('day', paid_local) + INTERVAL 1 DAY + INTERVAL (CAST(1 + ur * 20 AS BIGINT)) SECOND
                   ELSE paid_local + INTERVAL 2 SECOND END AS occurred_local, defect_kind, settle_channel, i,
      CASE WHEN settle_channel = 'wechat' AND uc > 0.9 THEN LEAST(amount_fen - 1, 100 + CAST(ur * 400 AS BIGINT)) ELSE 0 END AS coupon
    FROM oo
    WHERE (base_status = 'paid' OR defect_kind = 'status_mismatch') AND NOT internal AND NOT late
      AND defect_kind IS DISTINCT FROM 'order_only'""")
    con.execute(f"""
    CREATE OR REPLACE TEMP TABLE tx_out AS
    SELECT channel, merchant_id, channel_tx_id, order_no, type, refund_no, channel_refund_id, amt AS amount_fen,
      -- the fee is charged on the settled amount; fee_mismatch: charged 0.2 % (and a fen) more than the contract
      {_fee('amt - coupon', 'channel', 'method')}
        + CASE WHEN defect_kind = 'fee_mismatch' THEN 1 + (amt - coupon) // 500 ELSE 0 END AS fee_fen,
      amt - coupon AS settle_fen, 'success' AS status, occurred_local, method FROM pay
    UNION ALL  -- second, distinct payment for duplicate_payment (a third of them on the other channel)
    SELECT CASE WHEN i % 3 = 0 THEN CASE channel WHEN 'wechat' THEN 'alipay' ELSE 'wechat' END ELSE channel END,
      merchant_id, channel_tx_id || 'D', order_no, type, refund_no, channel_refund_id, amt,
      {_fee('amt', 'channel', 'method')}, amt, 'success', occurred_local + INTERVAL 40 SECOND, method
    FROM pay WHERE defect_kind = 'duplicate_payment'
    UNION ALL  -- the same bill row listed twice
    SELECT channel, merchant_id, channel_tx_id, order_no, type, refund_no, channel_refund_id, amt,
      {_fee('amt - coupon', 'channel', 'method')}, amt - coupon, 'success', occurred_local, method
    FROM pay WHERE defect_kind = 'duplicate_record'
    UNION ALL  -- channel refunds, and the over-refunding second refunds (their own refund ids)
    SELECT settle_channel, merchant_id,
      CASE settle_channel WHEN 'wechat' THEN '42000' || lpad(i::VARCHAR, 14, '0')
                          WHEN 'alipay' THEN '2026' || lpad(i::VARCHAR, 16, '0') ELSE 'UP' || lpad(i::VARCHAR, 18, '0') END,
      order_no, 'refund', refund_no, id_prefix || lpad(i::VARCHAR, 16, '0'),
      refund_fen + CASE WHEN rdefect_kind = 'refund_amount_mismatch' THEN -(1 + CAST(ura * 300 AS BIGINT)) ELSE 0 END,
      -({_fee('refund_fen', 'settle_channel', 'method')}), refund_fen, 'success', refund_local, method
    FROM (SELECT *, '5030' AS id_prefix FROM rf UNION ALL SELECT *, '5031' FROM rf2)
    WHERE refund_status = 'success' AND rdefect_kind IS DISTINCT FROM 'refund_order_only'""")
    con.execute(f"""COPY (SELECT order_no, store_id, merchant_id, channel, {y('amount_fen')} AS amount, status,
        {ts.format(c='created_at')} AS created_at,
        CASE WHEN paid_at IS NOT NULL THEN {ts.format(c='paid_at')} END AS paid_at,
        member_id, member_level, instalments FROM orders_out ORDER BY order_no) TO {_path(out / 'orders.csv')} (HEADER)""")
    con.execute(f"""COPY (SELECT refund_no, order_no, {y('refund_fen')} AS amount, {ts.format(c='refund_local')} AS created_at,
        refund_status AS status FROM (SELECT * FROM rf WHERE rdefect_kind IS DISTINCT FROM 'refund_channel_only'
        UNION ALL SELECT * FROM rf2) ORDER BY refund_no)
        TO {_path(out / 'refunds.csv')} (HEADER)""")
    con.execute(f"""COPY (SELECT channel, merchant_id, channel_tx_id, order_no, type, refund_no, channel_refund_id,
        {y('amount_fen')} AS amount, {y('fee_fen')} AS fee,
        -- UnionPay's 清算金额 is net of the fee (WeChat's 应结订单金额 and Alipay's 商家实收 are before it)
        {y("CASE WHEN channel = 'unionpay' AND type = 'payment' THEN settle_fen - fee_fen ELSE settle_fen END")}
          AS settle_amount, status,
        {ts.format(c='occurred_local')} AS occurred_at, strftime(occurred_local, '%Y-%m-%d') AS bill_date, method
        FROM tx_out ORDER BY occurred_local, channel_tx_id) TO {_path(out / 'transactions.csv')} (HEADER)""")
    _expected(con, out)
    counts = {}
    for name, table in (("orders", "orders_out"), ("transactions", "tx_out"),
                        # the rows of refunds.csv (a refund made only in the channel's console is not there)
                        ("refunds", "(SELECT refund_no FROM rf WHERE rdefect_kind IS DISTINCT FROM 'refund_channel_only' "
                                    "UNION ALL SELECT refund_no FROM rf2)")):
        counts[name] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return counts


def _expected(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    con.execute(f"""COPY (
      SELECT 'P-' || order_no AS outcome_id,
        CASE WHEN internal AND base_status <> 'paid' THEN 'unpaid'
             WHEN internal THEN 'internal'
             WHEN defect_kind IS NOT NULL AND defect_kind <> 'duplicate_record' THEN defect_kind
             WHEN base_status <> 'paid' THEN 'unpaid'
             WHEN late THEN 'pending_cross_day'
             ELSE 'matched' END AS kind
      FROM oo
      UNION ALL
      SELECT 'D-' || channel || ':' || channel_tx_id || ':payment:', 'duplicate_record' FROM pay WHERE defect_kind = 'duplicate_record'
      UNION ALL
      SELECT 'R-' || refund_no, CASE WHEN refund_status = 'failed' THEN 'refund_failed'
                                     WHEN refund_status <> 'success' THEN 'refund_pending'
                                     ELSE coalesce(rdefect_kind, 'refund_matched') END FROM rf
      UNION ALL
      SELECT 'R-' || refund_no, 'over_refund' FROM rf2
      ORDER BY 1) TO {_path(out / 'expected.csv')} (HEADER)""")


def generate(out_dir: Path, *, stores: int = 100, days: int = 7, per_store_day: int = 400,
             start: dt.date = dt.date(2026, 11, 1)) -> DemoFiles:
    """Write a chain's orders, refunds, transactions and ground truth into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET TimeZone='{TZ}'")
    con.execute("SET enable_progress_bar=false")
    # the same memory cap as a workspace: a 300-store month (10M orders) spills instead of taking 15 GB
    con.execute(f"SET memory_limit='{os.environ.get('PAYMATCH_MEMORY_LIMIT', '3500MB')}'")
    spill = tempfile.mkdtemp(prefix="_pm_demo_spill_")
    con.execute(f"SET temp_directory='{spill}'")
    try:
        _build(con, stores, days, per_store_day, start)
        counts = _write(con, out_dir)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    (out_dir / "rules.toml").write_text(RULES_TOML, encoding="utf-8")
    return DemoFiles(out_dir / "orders.csv", out_dir / "refunds.csv", out_dir / "transactions.csv",
                     out_dir / "expected.csv", counts, out_dir / "rules.toml")


def accuracy(con: duckdb.DuckDBPyConnection, outcomes_table: str, expected_csv: Path, *,
             fees_checked: bool = True) -> dict:
    """Compare outcomes with the ground truth: per expected kind, how many got exactly that kind.

    ``fees_checked``: the run had the chain's fee rates (``DemoFiles.rules``); without them a payment charged
    the wrong fee is rightly ``matched``."""
    truth = f"read_csv({_path(expected_csv)}, header=true, all_varchar=true)"
    if not fees_checked:
        truth = f"(SELECT outcome_id, replace(kind, 'fee_mismatch', 'matched') AS kind FROM {truth})"
    rows = con.execute(f"""
      SELECT e.kind AS expected, count(*) AS n, count(*) FILTER (WHERE o.kind = e.kind) AS right_kind,
             count(*) FILTER (WHERE o.kind IS NULL) AS missing
      FROM {truth} e
      LEFT JOIN {outcomes_table} o USING (outcome_id) GROUP BY ALL ORDER BY 1""").fetchall()
    unexpected = con.execute(f"""SELECT count(*) FROM {outcomes_table} o WHERE outcome_id NOT IN
      (SELECT outcome_id FROM read_csv({_path(expected_csv)}, header=true, all_varchar=true))""").fetchall()[0][0]
    total = sum(r[1] for r in rows)
    right = sum(r[2] for r in rows)
    return {
        "expected": total, "correct": right, "accuracy": (right / total) if total else 1.0,
        "unexpected_outcomes": unexpected,
        "by_kind": [{"kind": k, "expected": n, "correct": c, "missing": m} for k, n, c, m in rows],
    }
