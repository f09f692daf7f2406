"""SQL over a canonical file's text values (``canonical``'s load query): the strict parse of each typed field, the
lenient second try of the values that failed it (the ways ERP exports write times and days), the checks of what no
parse can see (an impossible UTC offset, Excel's damage to ids), and the trimming of text values."""

from __future__ import annotations

from ..channels.profile_xlsx import EXCEL_ERRORS, sql_excel_rounded
from ..money import sql_amount_to_fen, sql_yuan_to_fen
from .specs import Field


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _parser(f: Field):
    """For a typed field: a function from a VARCHAR SQL expression to its strict parse (NULL when the
    text is not a valid value of the field's kind). None for text fields.

    Money is checked by its pattern before the cast, so its typed value is exact.
    """
    if f.kind == "text":
        return None
    if f.kind in ("money", "fee"):
        d = 5 if f.kind == "fee" else 2
        return lambda x: sql_yuan_to_fen(x, decimals=d)
    if f.kind == "time":
        # a value ending in a letter T (… CST) is left to the second try: DuckDB reads CST as US Central time
        return lambda x: f"try_cast(CASE WHEN ({x})[-1] <> 'T' THEN {x} END AS TIMESTAMPTZ)"
    if f.kind == "date":
        return lambda x: f"try_strptime({x}, ['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d'])::DATE"
    if f.kind == "int":
        # '0' first: the instalment count of nearly every order (the pattern costs ~0.3 s of CPU per 10M values)
        return lambda x: f"CASE WHEN {x} = '0' THEN 0 WHEN regexp_full_match({x}, '[0-9]{{1,6}}') THEN CAST({x} AS INTEGER) END"
    if f.kind == "enum":
        # stored as a one-byte ENUM (temp tables are not compressed; a VARCHAR costs 16 bytes a row),
        # which also checks the value: anything else casts to NULL
        vals = ", ".join(_lit(v) for v in f.values)
        # as written first (values are lower case as a rule): lower() copies every value, ~0.12 s of CPU per 10M;
        # coalesce reads its second argument only where the first is NULL
        return lambda x: f"coalesce(TRY_CAST({x} AS ENUM({vals})), TRY_CAST(lower({x}) AS ENUM({vals})))"
    raise ValueError(f"unknown field kind {f.kind}")


#: how ERP exports and spreadsheets write a day, besides ISO: 2026年11月20日, 2026.11.20, 2026/11/20 (one pattern)
_DAY_RX = r"^([0-9]{4})\s*[年./-]\s*([0-9]{1,2})\s*[月./-]\s*([0-9]{1,2})\s*日?"
#: a time on a 12-hour clock: the day, 上午/下午 before the hour or AM/PM (a.m., pm) after the time
_AMPM_RX = (r"^(.*?[0-9日])\s*(上午|下午)?\s*([0-9]{1,2})(:[0-9]{2}(?::[0-9]{2})?)\s*(?:([AaPp])\.?[Mm]\.?)?$")


def _lenient(f: Field):
    """The second try of a typed value that failed its strict parse (trimmed; only those rows reach it):
    times and days as ERP exports write them besides ISO-8601 (``2026年11月20日 09:05``, ``2026.11.20 09:05``,
    ``20261120090500``, ``2026-11-20 09:05:00 +08:00``, ``2026/11/20 下午 3:05:00``, ``2026/11/20 3:05 PM``, an Excel
    serial day ``46346.5``). Others: the strict parse again."""
    parse = _parser(f)
    if f.kind == "time":
        def again(x: str) -> str:
            # 上午/下午 before the hour, AM/PM after the time (a 12-hour clock): written again on 24 hours
            m = f"regexp_extract({x}, '{_AMPM_RX}', ['d', 'cn', 'h', 'r', 'en'])"
            h = f"TRY_CAST({m}.h AS INTEGER)"
            clock = (f"CASE WHEN ({m}.cn <> '') <> ({m}.en <> '') AND {h} BETWEEN 1 AND 12 "
                     f"THEN {m}.d || ' ' || lpad(({h} % 12 + CASE WHEN {m}.cn = '下午' OR upper({m}.en) = 'P' "
                     f"THEN 12 ELSE 0 END)::VARCHAR, 2, '0') || {m}.r ELSE {x} END")
            iso = (f"regexp_replace(regexp_replace(regexp_replace({clock}, '{_DAY_RX}', '\\1-\\2-\\3 '), "
                   "'^([0-9]{4})([0-9]{2})([0-9]{2})[ T]?([0-9]{2}):?([0-9]{2}):?([0-9]{2})$', "
                   "'\\1-\\2-\\3 \\4:\\5:\\6'), '\\s+([+-][0-9]{2}:?[0-9]{2})$', '\\1')")
            # an Excel serial day number (a workbook's date column that lost its format) of 2000-2099: 46346.5 = 2026-11-20 12:00
            serial = (f"CASE WHEN regexp_full_match({x}, '[0-9]{{5}}(\\.[0-9]+)?') AND TRY_CAST({x} AS DOUBLE) BETWEEN 36526 AND 73050 "
                      f"THEN CAST(TIMESTAMP '1899-12-30' + to_seconds(round(TRY_CAST({x} AS DOUBLE) * 86400)::BIGINT) AS TIMESTAMPTZ) END")
            # CST as Chinese servers print it (Java's Date.toString()): China Standard Time, +08:00
            cst = f"try_cast(regexp_replace({x}, '\\s*CST$', '+08:00') AS TIMESTAMPTZ)"
            return f"coalesce({parse(x)}, {cst}, try_cast(trim({iso}) AS TIMESTAMPTZ), {serial})"
        return again
    if f.kind == "money":  # 84.5000 (ERPs keep 4 decimals): exact when the digits past the fen are zeros
        return sql_amount_to_fen
    if f.kind == "date":
        return lambda x: (f"coalesce({parse(x)}, try_strptime(regexp_replace({x}, '{_DAY_RX}$', '\\1-\\2-\\3'), "
                          "'%Y-%m-%d')::DATE)")
    return parse


#: a time's UTC offset that no place on earth has (DuckDB would shift the time by it): east of +14:00 or west of -12:00,
#: minutes or seconds past 59 (``+25:00``, ``+08:60``, ``+14:30``, ``-1300``, ``+99``, ``+08:00:60``), with or without
#: colons, with seconds
_OFFSET_REST = r"(:?[0-9]{2})?(:?[0-9]{2})?"
_OFFSET_NONZERO = r"(:?(0[1-9]|[1-5][0-9])(:?[0-9]{2})?|:?00:?(0[1-9]|[1-5][0-9]))"
_BAD_OFFSET_RX = (r"[0-9]:[0-9]{2}(\.[0-9]+)?\s*("
                  rf"\+(1[5-9]|[2-9][0-9]){_OFFSET_REST}|\+14{_OFFSET_NONZERO}"
                  rf"|-(1[3-9]|[2-9][0-9]){_OFFSET_REST}|-12{_OFFSET_NONZERO}"
                  r"|[+-][0-9]{2}:?[6-9][0-9](:?[0-9]{2})?|[+-][0-9]{2}:?[0-9]{2}:?[6-9][0-9])\s*$")


def _bad_offset(col: str) -> str:
    """SQL: ``col`` (a time as written) ends in an impossible UTC offset. A CASE, so the common values cost a length
    test or one suffix comparison and only the rest the regular expression (measured on 10M values: ~0.05 s for
    ``…+08:00``, ~0.15 s for naive ``2026-11-20 10:00:00``; an AND of the same tests cost 0.3–0.4 s)."""
    return (f"CASE WHEN strlen({col}) < 12 THEN false "
            f"WHEN strlen({col}) <= 19 AND NOT contains({col}, '+') AND NOT contains(substr({col}, 11), '-') THEN false "
            f"WHEN {col} LIKE '%+08:00' THEN false ELSE regexp_matches({col}, '{_BAD_OFFSET_RX}') END")


def _excel_damage(f: Field, col: str) -> list[tuple[str, str]]:
    """SQL checks of a text column (trimmed ``col``) for what Excel leaves when a file is opened and saved again:
    an error value (#N/A: a lookup that found nothing) in any text column, an id turned into a rounded number
    (4.20000092520210E+27: the digits are gone, so every such row would share one order or transaction number).

    Each check first looks for what the damage needs, so a clean value costs one comparison (an error value
    starts with '#': values here are trimmed, so a comparison replaces ``sql_excel_error``'s search) or one byte
    search (``sql_excel_rounded``)."""
    checks = [("excel_error", f"({col} >= '#' AND {col} < '$' AND upper({col}) IN ({', '.join(map(_lit, EXCEL_ERRORS))}))")]
    if f.name in _IDS:
        checks.append(("excel_rounded", sql_excel_rounded(col)))
    return checks


#: id columns an export may guard against Excel as text: ="2026112000001" or '2026112000001 (the guard is dropped)
_IDS = frozenset({"order_no", "refund_no", "channel_tx_id", "channel_refund_id", "merchant_id", "store_id", "member_id"})


#: blanks around a value: ASCII whitespace, Unicode space separators (U+3000, U+00A0…), zero-width space, BOM
_BLANKS = r"[\s\pZ\x{200B}\x{FEFF}]+"


def strip_sql(col: str) -> str:
    """SQL: ``col`` without outer blanks of any kind and mix (A\\t\\u3000\\t → A); for the rare values that have any."""
    return f"regexp_replace({col}, '^{_BLANKS}|{_BLANKS}$', '', 'g')"


def _trimmed(col: str, guarded: bool = False) -> str:
    """``col`` without outer spaces and tabs, '' → NULL. DuckDB's trim strips Unicode space separators (U+3000,
    U+00A0…) and copies every value; nearly all values have none, so only values that start or end with
    an ASCII space or tab, are empty, or hold non-ASCII text (length ≠ bytes) go through it.

    ``guarded``: an id column, where the text guards exports put on long numbers are dropped too (a tab before
    or after: by the trim; ="…"; a leading apostrophe), else the order number would not match the channel's.

    Two comparisons, as cheap as the old test (measured on 3M rows; two suffix LIKEs cost 0.13 s more per 6
    columns): ``< '0'`` catches a leading space, tab, quote or apostrophe and the empty value, the last
    character ``<= ' '`` a trailing space or tab."""
    out = strip_sql(col)
    cond = f"{col} < '0' OR {col}[-1] <= ' '"
    if guarded:
        out = f"trim(ltrim(regexp_replace({out}, '^=\"(.*)\"$', '\\1'), ''''))"
        cond += f" OR ({col} >= '=' AND {col} < '>')"
    return f"CASE WHEN {cond} OR strlen({col}) <> length({col}) THEN NULLIF({out}, '') ELSE {col} END"


def _text_col(f: Field) -> str:
    """A text column as read: trimmed where it can need it (id guards dropped), lower-case when its field folds case."""
    t = _trimmed(_q(f.name), guarded=f.name in _IDS)
    return f"{f'lower({t})' if f.fold_case else t} AS {_q(f.name)}"
