"""Load the canonical instalment-flow CSV (one row per order per period) into Arrow.

Columns: channel, order_no, period_no, periods, amount (yuan), fee (yuan, may be empty),
status (success|processing|failed|closed), occurred_at (ISO-8601; naive = Asia/Shanghai).
Extra columns are ignored.

Decisions (documented here because the issue leaves them open):
- A row whose own numbers are impossible (period_no or periods not a positive whole number, or
  period_no > periods) is unusable: it is a load *error*, reported with file/line/field.
- A period beyond the *order's* plan, a wrong term, duplicate (order_no, period_no) rows: the
  row is loaded; matching turns it into an explicit outcome (plan mismatch / duplicate).
Validation is vectorised in a private in-memory DuckDB connection; nothing is returned when any
row is bad (all problems, up to ``limit``, are raised together in one ``LoadError``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from paymatch.errors import LoadError, Problem
from paymatch.money import sql_yuan_to_fen, sql_yuan_valid
from paymatch.schema import TZ

FLOW_COLUMNS = ["channel", "order_no", "period_no", "periods", "amount", "fee", "status", "occurred_at"]
FLOW_ARROW = pa.schema([
    ("channel", pa.string()),
    ("order_no", pa.string()),
    ("period_no", pa.int64()),
    ("periods", pa.int64()),
    ("amount_fen", pa.int64()),
    ("fee_fen", pa.int64()),
    ("status", pa.string()),
    ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("src_file", pa.string()),
    ("src_line", pa.int64()),
])
_STATUSES = ("success", "processing", "failed", "closed")

# one (field, bad-condition, message) per check; every column is trimmed VARCHAR, NULL if empty
_CHECKS = [
    ("channel", "channel IS NULL", "channel is empty"),
    ("order_no", "order_no IS NULL", "order_no is empty"),
    ("periods", "periods IS NULL OR NOT regexp_full_match(periods, '[0-9]{1,4}') OR periods::INT <= 0",
     "periods must be a positive whole number"),
    ("period_no", "period_no IS NULL OR NOT regexp_full_match(period_no, '[0-9]{1,4}') OR period_no::INT <= 0",
     "period_no must be a positive whole number"),
    ("period_no", "regexp_full_match(period_no, '[0-9]{1,4}') AND regexp_full_match(periods, '[0-9]{1,4}') "
     "AND period_no::INT > periods::INT", "period_no is beyond the flow's own periods"),
    ("amount", f"amount IS NULL OR NOT {sql_yuan_valid('amount')}", "amount is not a yuan amount with 2 decimals"),
    ("amount", f"{sql_yuan_valid('amount')} AND amount LIKE '-%'", "amount must not be negative"),
    ("fee", f"fee IS NOT NULL AND NOT {sql_yuan_valid('fee', decimals=5)}", "fee is not a yuan amount"),
    ("status", f"status IS NULL OR status NOT IN {_STATUSES}", f"status must be one of {', '.join(_STATUSES)}"),
    ("occurred_at", "occurred_at IS NULL OR try_cast(occurred_at AS TIMESTAMPTZ) IS NULL",
     "occurred_at is not an ISO-8601 time"),
]


def _physical_lines(raw: pa.Table) -> pa.Array:
    """1-based physical line of each record: header is line 1; quoted newlines push later rows down."""
    n = raw.num_rows
    if n == 0:
        return pa.array([], pa.int64())
    extra = pa.array([0] * n, pa.int64())
    for col in raw.columns:
        extra = pc.add(extra, pc.fill_null(pc.count_substring(col, "\n"), 0).cast(pa.int64()))
    before = pc.subtract(pc.cumulative_sum(extra), extra)
    return pc.add(pa.array(range(2, n + 2), pa.int64()), before)


def load_flows_csv(path: str | Path, *, limit: int = 50) -> pa.Table:
    """Read and validate an instalment-flow CSV into ``FLOW_ARROW`` (amounts in fen, times UTC).

    Raises LoadError listing Problem(file, line, field, value, message) for every bad value.
    """
    name = str(path)
    try:
        head = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16),
                              convert_options=pacsv.ConvertOptions(include_columns=[])).schema
        names = list(head.names)
    except (OSError, pa.ArrowInvalid) as exc:
        raise LoadError([Problem(name, None, None, None, f"cannot read CSV: {exc}")]) from None
    missing = [c for c in FLOW_COLUMNS if c not in names]
    if missing:
        raise LoadError([Problem(name, 1, c, None, "required column missing") for c in missing],
                        hint=f"the header must contain {', '.join(FLOW_COLUMNS)}")
    raw = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=FLOW_COLUMNS,
            column_types={c: pa.string() for c in FLOW_COLUMNS},
            strings_can_be_null=False,
        ),
    )
    raw = raw.append_column("src_line", _physical_lines(raw))
    con = duckdb.connect(":memory:")
    try:
        # naive channel times are Shanghai local: make the cast read them so
        con.execute(f"SET TimeZone = '{TZ}'")
        con.register("_pm_raw", raw)
        trimmed = ", ".join(f"NULLIF(trim({c}), '') AS {c}" for c in FLOW_COLUMNS)
        con.execute(f"CREATE TEMP TABLE _pm_flows AS SELECT {trimmed}, src_line FROM _pm_raw")
        checks = " UNION ALL ".join(
            f"SELECT src_line, '{f}' AS field, {f} AS value, '{msg.replace(chr(39), chr(39) * 2)}' AS message "
            f"FROM _pm_flows WHERE {cond}"
            for f, cond, msg in _CHECKS
        )
        total = con.sql(f"SELECT count(*) FROM ({checks})").fetchall()[0][0]
        if total:
            rows = con.sql(f"SELECT * FROM ({checks}) ORDER BY src_line, field LIMIT {int(limit)}").fetchall()
            raise LoadError([Problem(name, ln, f, v, m) for ln, f, v, m in rows], total=total,
                            hint="fix the listed rows; nothing from this file was loaded")
        quoted = name.replace("'", "''")
        table = con.sql(
            f"""SELECT channel, order_no, period_no::BIGINT AS period_no, periods::BIGINT AS periods,
                       {sql_yuan_to_fen('amount')} AS amount_fen,
                       {sql_yuan_to_fen('fee', decimals=5)} AS fee_fen,
                       status, occurred_at::TIMESTAMPTZ AS occurred_at, '{quoted}' AS src_file, src_line
                FROM _pm_flows ORDER BY src_line"""
        ).to_arrow_table()
    finally:
        con.close()
    # same instants, stated in UTC as TRANSACTION_ARROW does
    return table.cast(FLOW_ARROW)
