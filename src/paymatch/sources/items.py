"""ERP exports with one row per item (订单明细): the rows of one order number are one order.

Mall and ERP backends often export order *details*: each item of an order on its own row, the order number
and the order's other columns repeated (or left blank below the first row). With ``item_rows`` set in the
export's mapping, such rows are read as one order (refund) before loading:

- ``item_rows = "sum"``: each row's amount is its item's; the order's amount is their exact sum (fen).
- ``item_rows = "order"``: the amount is the order's own, repeated on its rows or on the first only.

Every other mapped column is the order's: the first non-empty value of its rows. Rows that disagree on one
(two payment methods, two paid times…) refuse the file by line and column, as does a bad amount: adding
amounts that could not be read would give a wrong order. The export's other columns are taken from the
order's first row, and ``item_rows`` (how many rows made the order) is kept beside them. An order's line
(errors, provenance) is its first row's. A row without an order number stays a row of its own, so the loader
names it.
"""

from __future__ import annotations

import shutil
import tempfile
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import LoadError, Problem
from ..money import sql_amount_to_fen, sql_fen_to_yuan
from .load_problems import MAX_PROBLEMS
from .value_sql import _IDS, _lit, _q, _trimmed
from .lines import LineMap
from .mapping_read import temp_csv
from .specs import SPECS

@dataclass(frozen=True)
class Moved:
    """Orders of one column whose value came from a row below the order's first: their lines (ascending) and
    the lines of those rows."""

    orders: array
    rows: array

    def line(self, order_line: int) -> int | None:
        """The line the value of the order on ``order_line`` came from (None: from that line itself)."""
        i = bisect_left(self.orders, order_line)
        return self.rows[i] if i < len(self.orders) and self.orders[i] == order_line else None


#: the key column of each kind whose rows are grouped
KEYS = {"orders": "order_no", "refunds": "refund_no"}
_BAD_AMOUNT = "not a yuan amount with at most 2 decimals (e.g. 12.30); item amounts are added, so each must be read"
_NO_AMOUNT = "an item row without an amount (item_rows = \"sum\" adds every row's; write 0 for a free item)"


def collapse(kind: str, mode: str, path: Path, lines: LineMap, names: dict[str, str], shown: Path,
             by_merchant: bool = False) -> tuple[Path, LineMap, str, dict[str, "Moved"]]:
    """Write ``path`` (a canonical CSV of ``kind``, one row per item) with one row per order (refund) to a temp
    file; return (that file, its records' lines in the user's file, a note for the user, per column the values
    taken from a row below their order's first: ``Moved``, for messages).

    ``lines``: the line of each record of ``path`` in the user's file ``shown``; ``names``: canonical column →
    the export's name, for messages; ``by_merchant``: order numbers are unique per merchant number
    (``key_scope``): rows group by both, a row without a merchant number taking its order's above it.
    Raises ``LoadError`` for bad or missing item amounts and rows that disagree."""
    key = KEYS[kind]
    spill = tempfile.mkdtemp(prefix="_pm_spill_")  # a big export's tables spill to disk instead of growing
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory={_lit(spill)}")
        con.execute("SET memory_limit='1GB'")
        con.execute("SET preserve_insertion_order=true")
        con.execute(f"CREATE TEMP TABLE _pm_items AS SELECT * FROM read_csv({_lit(str(path))}, header=true, "
                    "all_varchar=true, delim=',', quote='\"', escape='\"', strict_mode=true)")
        cols = [c for (c,) in con.execute("SELECT column_name FROM (DESCRIBE _pm_items)").fetchall()]
        records = con.execute("SELECT count(*) FROM _pm_items").fetchone()[0]
        line = lambda rowid: lines.line(int(rowid), records)  # noqa: E731
        shown_name = lambda c: names.get(c, c)  # noqa: E731
        canonical = [c for c in cols if c in {f.name for f in SPECS[kind]}]
        # values as the loader reads them: outer blanks of any kind dropped ('' → NULL), an id's text guards too
        val = {c: _trimmed(_q(c), guarded=c in _IDS) for c in canonical}
        k = val[key]
        group = f"coalesce({k}, '\\x00' || rowid::VARCHAR)"
        if by_merchant and "merchant_id" in cols:  # a row without a merchant number: its order's above it
            m = (f"coalesce({val['merchant_id']}, last_value({val['merchant_id']} IGNORE NULLS) OVER "
                 f"(PARTITION BY {k} ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), '')")
            group = f"CASE WHEN {k} IS NULL THEN {group} ELSE {m} || '\\x1f' || {k} END"
        fen = sql_amount_to_fen(val["amount"]) if "amount" in cols else "NULL"
        trimmed = ", ".join(f"{val[c]} AS {_q('_pm_v_' + c)}" for c in canonical)
        con.execute(f"CREATE TEMP TABLE _pm_rows AS SELECT rowid AS _pm_r, {group} AS _pm_g, {fen} AS _pm_fen, "
                    f"{trimmed}, * FROM _pm_items")
        if "amount" in cols:
            # every item's amount is added ("sum"): one that cannot be read, or is missing, would change the order's
            missing = "_pm_v_amount IS NULL" if mode == "sum" else "false"
            where = f"FROM _pm_rows WHERE (_pm_v_amount IS NOT NULL AND _pm_fen IS NULL) OR {missing}"
            bad = con.execute(f"SELECT _pm_r, amount {where} ORDER BY _pm_r LIMIT {MAX_PROBLEMS}").fetchall()
            if bad:
                n = con.execute(f"SELECT count(*) {where}").fetchone()[0]
                raise LoadError([Problem(str(shown), line(r), shown_name("amount"), v,
                                         _BAD_AMOUNT if v and v.strip() else _NO_AMOUNT) for r, v in bad],
                                total=n, hint="fix these rows in the export and load the file again; nothing from "
                                              "this file was stored")
        # the order's value of each column: its first non-empty one (the amount in "order" mode: compared in fen)
        same = [c for c in canonical if c != key and not (c == "amount" and mode == "sum")]
        firsts = ", ".join(
            f"arg_min({'_pm_fen' if c == 'amount' else _q('_pm_v_' + c)}, _pm_r) "
            f"FILTER (WHERE {_q('_pm_v_' + c)} IS NOT NULL) AS {_q('_pm_f_' + c)}, "
            f"min(_pm_r) FILTER (WHERE {_q('_pm_v_' + c)} IS NOT NULL) AS {_q('_pm_at_' + c)}" for c in same)
        con.execute(f"CREATE TEMP TABLE _pm_first AS SELECT _pm_g, min(_pm_r) AS _pm_r0"
                    f"{', ' + firsts if firsts else ''} FROM _pm_rows GROUP BY _pm_g")
        if same:
            _disagreements(con, kind, key, same, shown, line, shown_name)
        out_cols = []
        for c in cols:
            if c == key:
                out_cols.append(f"first({_q(c)} ORDER BY _pm_r) AS {_q(c)}")
            elif c == "amount" and mode == "sum":
                out_cols.append(f"CASE WHEN count(_pm_fen) > 0 THEN {sql_fen_to_yuan('sum(_pm_fen)')} END AS amount")
            elif c == "amount":
                out_cols.append(f"CASE WHEN any_value(f.{_q('_pm_f_amount')}) IS NOT NULL THEN "
                                f"{sql_fen_to_yuan('any_value(f._pm_f_amount)')} END AS amount")
            elif c in same:
                out_cols.append(f"any_value(f.{_q('_pm_f_' + c)}) AS {_q(c)}")
            else:  # an extra column: the first row's (empty there: empty)
                out_cols.append(f"first({_q(c)} ORDER BY _pm_r) AS {_q(c)}")
        if "item_rows" not in cols:
            out_cols.append("count(*)::VARCHAR AS item_rows")
        dst = temp_csv("_pm_items_")
        try:
            con.execute(f"COPY (SELECT {', '.join(out_cols)} FROM _pm_rows JOIN _pm_first f USING (_pm_g) "
                        f"GROUP BY _pm_g ORDER BY min(_pm_r)) TO {_lit(str(dst))} (HEADER true, DELIMITER ',')")
            firsts_rows = con.execute("SELECT _pm_r0 FROM _pm_first ORDER BY _pm_r0").fetchall()
        except BaseException:
            dst.unlink(missing_ok=True)
            raise
        starts = array("q", (line(r) for (r,) in firsts_rows))
        orders = len(starts)
        # a value the loader refuses is named by its order's line; one taken from a lower row, by that row's:
        # per column, the orders' lines and those rows' lines, in order (searched when a problem is named)
        moved = {}
        for c in same:
            at = _q("_pm_at_" + c)
            pairs = con.execute(f"SELECT _pm_r0, {at} FROM _pm_first WHERE {at} <> _pm_r0 ORDER BY _pm_r0").fetchall()
            if pairs:
                moved[c] = Moved(array("q", (line(r) for r, _ in pairs)), array("q", (line(a) for _, a in pairs)))
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    what = "orders" if kind == "orders" else "refunds"
    how = "their amounts added" if mode == "sum" else "the amount being the order's own"
    note = f"{shown}: {records:,} item rows read as {orders:,} {what} ({key} repeated per item; {how})"
    return dst, LineMap(starts=starts, header_line=lines.header_line, shift=lines.shift), note, moved


def _disagreements(con, kind: str, key: str, same: list[str], shown: Path, line, shown_name) -> None:
    """Refuse the file when rows of one order hold two different values of an order-level column."""
    parts = []
    for c in same:
        mine = "r._pm_fen" if c == "amount" else f"r.{_q('_pm_v_' + c)}"
        parts.append(f"SELECT r._pm_r, {_lit(c)} AS col, r.{_q(c)} AS value, r.{_q('_pm_v_' + key)} AS k "
                     f"FROM _pm_rows r JOIN _pm_first f USING (_pm_g) WHERE r.{_q('_pm_v_' + c)} IS NOT NULL "
                     f"AND {mine} IS DISTINCT FROM f.{_q('_pm_f_' + c)}")
    sql = " UNION ALL ".join(parts)
    n = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]
    if not n:
        return
    rows = con.execute(f"SELECT _pm_r, col, value, k FROM ({sql}) ORDER BY _pm_r, col LIMIT {MAX_PROBLEMS}").fetchall()
    problems = []
    for r, c, value, k in rows:
        first_r, first_v = con.execute(
            f"SELECT _pm_r, {_q(c)} FROM _pm_rows WHERE _pm_g = (SELECT _pm_g FROM _pm_rows WHERE _pm_r = ?) "
            f"AND {_q('_pm_v_' + c)} IS NOT NULL ORDER BY _pm_r LIMIT 1", [r]).fetchone()
        problems.append(Problem(str(shown), line(r), shown_name(c), value,
                                f"the rows of {shown_name(key)} {k.strip()} disagree: line {line(first_r)} has "
                                f"{first_v.strip()!r}"))
    but = " but the amount" if "amount" not in same else ""
    raise LoadError(problems, total=n, hint=f"with item_rows, the rows of one {shown_name(key)} must agree on every "
                                            f"mapped column{but}: export one row per order, or leave a column that "
                                            "differs per item out of the mapping; nothing from this file was stored")
