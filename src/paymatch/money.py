"""Money: integer fen (分) end to end. The only place yuan strings become fen and back.

Yuan strings are parsed exactly (no float ever): ``"100.01"`` -> ``10001``. Accepted form:
optional sign, digits, optional point with up to ``decimals`` digits; or a point without the digits before it
(``".54"``, ``"-.5"``: how database exports write amounts below one yuan). Anything else
("12.3.4", "1e5", "1,000", "") is rejected. Channel fee columns carry 5 decimals
(WeChat "0.01000"); they are accepted when the digits past the fen are zero, because
channels round fees to the fen; a sub-fen value is an error, not a silent rounding.

The SQL helpers build the same rule as DuckDB expressions for bulk loads.
"""

from __future__ import annotations

import re

Fen = int
"""An amount of money in fen (1 yuan = 100 fen). Plain ``int``; the alias documents intent."""

#: at most 14 digits before the point (99,999,999,999,999.99 yuan): the SQL path's DECIMAL(18,2) times 100 holds it
_YUAN = re.compile(r"^([+-]?)(?:(\d{1,14})(?:\.(\d{1,5}))?|\.(\d{1,5}))$", re.ASCII)  # (\d: ASCII digits only)

#: regex (RE2 and Python compatible) that a yuan string with at most 2 decimals matches
YUAN_RE_2 = r"^[+-]?([0-9]{1,14}(\.[0-9]{1,2})?|\.[0-9]{1,2})$"
#: regex for fee-style yuan with up to 5 decimals whose sub-fen digits are zero (13 integer digits
#: so that DECIMAL(18,5) holds every accepted value)
YUAN_RE_5 = r"^[+-]?([0-9]{1,13}(\.[0-9]{1,2}0{0,3})?|\.[0-9]{1,2}0{0,3})$"


def parse_yuan(text: str, *, decimals: int = 2) -> Fen:
    """Parse a yuan string into integer fen exactly.

    ``decimals`` is the most decimals the format may show (2 for amounts, 5 for WeChat fees);
    digits beyond the second must be zeros. Raises ``ValueError`` with the reason.
    """
    if not isinstance(text, str):
        raise ValueError(f"amount must be text, got {type(text).__name__}")
    sign, whole, frac = _split(_YUAN, text, "not a yuan amount")
    if len(frac) > decimals:
        raise ValueError(f"too many decimals in {text!r} (at most {decimals})")
    if frac[2:].strip("0"):
        raise ValueError(f"amount below one fen in {text!r}")
    fen = int(whole) * 100 + int((frac + "00")[:2])
    return -fen if sign == "-" else fen


#: a fee with up to 5 decimals, sub-fen digits included (an old WeChat bill's 手续费 of 2% on 0.01: 0.00020)
_FEE_EXACT = re.compile(r"^([+-]?)(?:(\d{1,13})(?:\.(\d{1,5}))?|\.(\d{1,5}))$", re.ASCII)
#: regex (RE2 and Python compatible) of the same
FEE_EXACT_RE = r"^[+-]?([0-9]{1,13}(\.[0-9]{1,5})?|\.[0-9]{1,5})$"
#: one fen in the exact unit of a fee (1/100,000 yuan)
FEN_UNITS = 1000


def parse_fee_units(text: str) -> int:
    """A fee printed with up to 5 decimals as an exact integer of 1/100,000 yuan ('0.00020' -> 20), sub-fen digits
    kept: for tying a bill's fee total out with its rows before each fee is rounded to the fen (``fee_units_to_fen``)."""
    sign, whole, frac = _split(_FEE_EXACT, text, "not a yuan amount with at most 5 decimals")
    units = int(whole) * 100_000 + int((frac + "00000")[:5])
    return -units if sign == "-" else units


def fee_units_to_fen(units: int) -> Fen:
    """Round a fee in 1/100,000 yuan to the fen, half away from zero (四舍五入), as channels charge it."""
    q = (abs(units) + FEN_UNITS // 2) // FEN_UNITS
    return -q if units < 0 else q


def format_fee_units(units: int) -> str:
    """A fee in 1/100,000 yuan as printed: '0.00020'."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(units), 100_000)
    return f"{sign}{q}.{r:05d}"


def sql_fee_units(col: str) -> str:
    """DuckDB BIGINT expression: ``parse_fee_units`` of a trimmed VARCHAR ``col``, NULL when it is no such amount."""
    return f"CASE WHEN regexp_full_match({col}, '{FEE_EXACT_RE}') THEN CAST(CAST({col} AS DECIMAL(18,5)) * 100000 AS BIGINT) END"


def sql_fee_units_to_fen(expr: str) -> str:
    """DuckDB BIGINT expression: ``fee_units_to_fen`` of ``expr``."""
    return (f"(CASE WHEN ({expr}) < 0 THEN -1 ELSE 1 END * ((abs({expr}) + {FEN_UNITS // 2}) // {FEN_UNITS}))")


def _split(rx: re.Pattern, text: object, what: str) -> tuple[str, str, str]:
    """(sign, whole digits, decimals) of ``text`` by ``rx`` (sign, whole, decimals | decimals after a bare point)."""
    m = rx.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"{what}: {text!r}")
    return m.group(1), m.group(2) or "0", m.group(3) or m.group(4) or ""


def format_yuan(fen: Fen) -> str:
    """Format integer fen as a yuan string with 2 decimals: 10001 -> '100.01', -5 -> '-0.05'."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"fen must be int, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(fen), 100)
    return f"{sign}{q}.{r:02d}"


def format_diff(fen: Fen) -> str:
    """Signed yuan for a difference: +0.01 / -1.20 / 0.00."""
    return ("+" if fen > 0 else "") + format_yuan(fen)


def sql_yuan_valid(col: str, *, decimals: int = 2) -> str:
    """DuckDB boolean expression: ``col`` (VARCHAR, already trimmed) is a valid yuan string."""
    rx = YUAN_RE_2 if decimals == 2 else YUAN_RE_5
    return f"regexp_full_match({col}, '{rx}')"


def sql_yuan_to_fen(col: str, *, decimals: int = 2) -> str:
    """DuckDB BIGINT expression: exact fen of a yuan string that ``sql_yuan_valid`` accepted, else NULL.

    A validated string casts exactly to DECIMAL(18,2); times 100 it is whole, so the BIGINT cast
    does not round.
    """
    # Sub-fen digits are zeros (the regex says so), so casting to DECIMAL(18,2) is exact.
    return (
        f"CASE WHEN {sql_yuan_valid(col, decimals=decimals)} "
        f"THEN CAST(CAST({col} AS DECIMAL(18,2)) * 100 AS BIGINT) END"
    )


#: an amount as exports write it: leading zeros (0012.30) and any number of zeros past the fen (84.500000) allowed
AMOUNT_ZEROS_RE = r"^[+-]?0*([0-9]{1,14}(\.[0-9]{1,2}0*)?|\.[0-9]{1,2}0*)$"


def sql_amount_to_fen(col: str) -> str:
    """DuckDB BIGINT expression: exact fen of an order/refund amount as the loader reads it: 2 decimals, or more
    when the digits past the fen are zeros (84.5000, an ERP keeping 4 decimals; any number of them), leading zeros
    allowed (0000000000000012.30); else NULL. The zeros change nothing, so the DECIMAL cast is exact."""
    return (f"CASE WHEN regexp_full_match({col}, '{AMOUNT_ZEROS_RE}') "
            f"THEN CAST(CAST({col} AS DECIMAL(38,2)) * 100 AS BIGINT) END")


def sql_fen_to_yuan(col: str) -> str:
    """DuckDB VARCHAR expression: integer fen column formatted as yuan with 2 decimals.

    Integer arithmetic only (DuckDB divides DECIMALs in DOUBLE, which would not be exact).
    """
    return (f"(CASE WHEN {col} < 0 THEN '-' ELSE '' END || (abs({col}) // 100)::VARCHAR || '.' "
            f"|| lpad((abs({col}) % 100)::VARCHAR, 2, '0'))")
