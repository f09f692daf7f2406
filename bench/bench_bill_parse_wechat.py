"""Benchmark: parse a WeChat Pay ALL trade bill vs DuckDB's own read_csv on an equivalent plain CSV.

Usage: .venv/bin/python bench/bench_bill_parse_wechat.py [--rows 1000000] [--repeat 3]

Generates (with DuckDB, into a temp dir) a realistic ALL bill -- 27 backtick-prefixed columns,
~5 % refund rows, coupons, 5-decimal fees, the summary section -- and a plain CSV with the same
columns (no backticks, no summary). Times ``paymatch.channels.wechat.bill.parse`` on the bill's
bytes (split, pyarrow CSV read, DuckDB conversion + validation, tie-out, Arrow output) against
``CREATE TABLE AS SELECT * FROM read_csv(plain)`` (the floor). Best of ``--repeat`` runs.

Measured 2026-11-25 on the shared dev container (2 CPUs, load average ~10 from other jobs, so
absolute numbers are pessimistic), Python 3.11, duckdb 2.0.1, pyarrow 26.0.1, --rows 1000000
(bill 261 MB, plain CSV 242 MB), best of 3:
  parse():         12.78 s   78,241 rows/s
  duckdb read_csv:  7.91 s  126,466 rows/s (floor)
  ratio parse/floor: 1.62x (target <= 3x)
(--rows 300000 on the same box: ratio 1.2x-2.1x from run to run, depending on the load.)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb

HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
          "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
          "手续费,费率,订单金额,申请退款金额,费率备注")

_YUAN = "printf('%d.%02d', {c} // 100, {c} % 100)"
_FEE = "printf('%s%d.%02d000', CASE WHEN {c} < 0 THEN '-' ELSE '' END, abs({c}) // 100, abs({c}) % 100)"


def _gen_sql(rows: int) -> str:
    # one row per bill line, amounts in fen; hash() gives deterministic pseudo-random values
    return f"""
    CREATE TABLE g AS
    SELECT i,
      TIMESTAMP '2026-11-20 00:00:00' + to_seconds((hash(i) % 86400)::BIGINT) AS t,
      (hash(i * 7) % 20 = 0) AS is_refund,
      1 + (hash(i * 13) % 50000)::BIGINT AS amt,
      CASE WHEN hash(i * 17) % 10 = 0 THEN 1 + (hash(i * 19) % 500)::BIGINT ELSE 0 END AS coupon,
      'ORD' || lpad(i::VARCHAR, 12, '0') AS order_no,
      '4200' || lpad((hash(i * 3) % 1000000000000000000)::VARCHAR, 24, '0') AS tx_id
    FROM range({rows}) r(i);
    CREATE TABLE b AS SELECT *,
      CASE WHEN is_refund THEN 0 ELSE amt END AS order_fen,
      CASE WHEN is_refund THEN 0 ELSE amt - least(coupon, amt) END AS settle_fen,
      CASE WHEN is_refund THEN 0 ELSE least(coupon, amt) END AS coupon_fen,
      CASE WHEN is_refund THEN amt ELSE 0 END AS refund_fen,
      CASE WHEN is_refund THEN -round(amt * 0.006)::BIGINT ELSE round(amt * 0.006)::BIGINT END AS fee_fen
    FROM g;
    """


def _cols(tick: str) -> list[str]:
    q = lambda e: f"'{tick}' || {e}" if tick else e  # noqa: E731
    y = lambda c: q(_YUAN.format(c=c))  # noqa: E731
    return [
        q("strftime(t, '%Y-%m-%d %H:%M:%S')"), q("'wx2421b1c4370ec43b'"), q("'1900000109'"), q("'0'"), q("''"),
        q("tx_id"), q("order_no"), q("'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o'"), q("'JSAPI'"),
        q("CASE WHEN is_refund THEN 'REFUND' ELSE 'SUCCESS' END"), q("'OTHERS'"), q("'CNY'"),
        y("settle_fen"), y("coupon_fen"), q("CASE WHEN is_refund THEN '5030' || tx_id[5:] ELSE '0' END"),
        q("CASE WHEN is_refund THEN 'RF' || order_no ELSE '0' END"), y("refund_fen"), y("0"),
        q("CASE WHEN is_refund THEN 'ORIGINAL' ELSE '' END"), q("CASE WHEN is_refund THEN 'SUCCESS' ELSE '' END"),
        q("'咖啡 大杯'"), q("'store=S' || (i % 300)::VARCHAR"), q(_FEE.format(c="fee_fen")), q("'0.60%'"),
        y("order_fen"), y("refund_fen"), q("''"),
    ]


def generate(rows: int, out: Path) -> tuple[Path, Path]:
    """Write bill.csv (WeChat format) and plain.csv (floor input) into ``out``."""
    con = duckdb.connect()
    con.execute(_gen_sql(rows))
    body = out / "body.txt"
    line = " || ',' || ".join(f"({c})" for c in _cols("`"))
    con.execute(f"COPY (SELECT {line} FROM b ORDER BY i) TO '{body}' "
                "(FORMAT csv, HEADER false, DELIMITER '\x01', QUOTE '\x02')")
    s = con.execute("SELECT count(*), sum(settle_fen), sum(refund_fen), sum(fee_fen), sum(order_fen) FROM b"
                    ).fetchall()[0]
    y = lambda f: f"{f // 100}.{f % 100:02d}"  # noqa: E731
    fee = f"{'-' if s[3] < 0 else ''}{y(abs(s[3]))}000"
    summary = (f"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n"
               f"`{s[0]},`{y(s[1])},`{y(s[2])},`0.00,`{fee},`{y(s[4])},`{y(s[2])}\n")
    bill = out / "bill.csv"
    with open(bill, "wb") as f:
        f.write((HEADER + "\n").encode())
        f.write(body.read_bytes())
        f.write(summary.encode())
    body.unlink()
    plain = out / "plain.csv"
    names = HEADER.split(",")
    sel = ", ".join(f"{c} AS \"{n}\"" for c, n in zip(_cols(""), names))
    con.execute(f"COPY (SELECT {sel} FROM b ORDER BY i) TO '{plain}' (FORMAT csv, HEADER true)")
    con.close()
    return bill, plain


def main() -> None:
    """Generate, time, print rows/s and the ratio."""
    from paymatch.channels.wechat.bill import parse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        bill, plain = generate(args.rows, Path(tmp))
        print(f"generated {args.rows} rows in {time.perf_counter() - t0:.1f}s; bill {bill.stat().st_size / 1e6:.0f} MB, "
              f"plain {plain.stat().st_size / 1e6:.0f} MB; cpus={os.cpu_count()}")
        data = bill.read_bytes()
        best_parse = best_floor = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            parsed = parse(data, str(bill))
            best_parse = min(best_parse, time.perf_counter() - t0)
            assert parsed.transactions.num_rows == args.rows
            con = duckdb.connect()
            t0 = time.perf_counter()
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{plain}')")
            best_floor = min(best_floor, time.perf_counter() - t0)
            con.close()
        print(f"parse():           {best_parse:.2f}s  {args.rows / best_parse:,.0f} rows/s")
        print(f"duckdb read_csv:   {best_floor:.2f}s  {args.rows / best_floor:,.0f} rows/s (floor)")
        print(f"ratio parse/floor: {best_parse / best_floor:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
