"""Yuan strings ↔ integer fen, exactly; the SQL form agrees with the Python form."""

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paymatch.money import format_diff, format_yuan, parse_yuan, sql_fen_to_yuan, sql_yuan_to_fen


@pytest.mark.parametrize("text,fen", [
    ("100.00", 10000), ("100.01", 10001), ("0.5", 50), ("7", 700), ("-3.20", -320), ("+1.01", 101),
    (" 12.34 ", 1234), ("0.01", 1), ("99999999999999.99", 9999999999999999),
    # a database export writes amounts below one yuan without the 0 (Oracle's TO_CHAR: .54)
    (".54", 54), (".5", 50), ("-.05", -5), ("+.9", 90),
])
def test_parse_yuan_exact(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["12.3.4", "1e5", "1E5", "", "abc", "1,000.00", "12.345", "¥12", ".", "-.", ".123", "NaN", "0x10",
                                  "123456789012345.00"])  # 15 digits: more than any bill holds; SQL would overflow
def test_parse_yuan_rejects(text):
    with pytest.raises(ValueError):
        parse_yuan(text)


def test_fee_decimals():
    assert parse_yuan("0.01000", decimals=5) == 1
    assert parse_yuan("12.34000", decimals=5) == 1234
    with pytest.raises(ValueError, match="below one fen"):
        parse_yuan("0.00600", decimals=5)
    with pytest.raises(ValueError, match="too many decimals"):
        parse_yuan("0.01000")


def test_no_float_rounding_trap():
    # 0.1 + 0.2 style traps: float(1.15)*100 = 114.99999…; parse must not go through float
    assert parse_yuan("1.15") == 115
    assert parse_yuan("4.35") == 435
    assert parse_yuan("1234567890123.99") == 123456789012399


def test_format():
    assert format_yuan(10001) == "100.01"
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(0) == "0.00"
    assert format_diff(1) == "+0.01" and format_diff(-120) == "-1.20"
    with pytest.raises(TypeError):
        format_yuan(1.5)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_round_trip(fen):
    assert parse_yuan(format_yuan(fen)) == fen


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(format_yuan),
    st.integers(min_value=-(10**18), max_value=10**18).map(format_yuan),  # past the 14 digits too
    st.text(alphabet="0123456789.-e+ ", max_size=8),
    st.from_regex(r"[+-]?\.[0-9]{0,3}", fullmatch=True),
), min_size=1, max_size=20))
def test_sql_agrees_with_python(values):
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {sql_yuan_to_fen('trim(v)')} FROM (SELECT unnest(?) AS v, generate_subscripts(?, 1) AS i) ORDER BY i",
        [values, values],
    ).fetchall()
    for v, (g,) in zip(values, got):
        try:
            want = parse_yuan(v)
        except ValueError:
            want = None
        assert g == want, v
    fens = [parse_yuan(v) for v in values if g is not None and _ok(v)]
    if fens:
        back = con.execute(f"SELECT {sql_fen_to_yuan('f')} FROM (SELECT unnest(?::BIGINT[]) AS f)", [fens]).fetchall()
        assert [b[0] for b in back] == [format_yuan(f) for f in fens]


def _ok(v):
    try:
        parse_yuan(v)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("fen", [123456789012345678, -123456789012345678, 9007199254740993, -1, 0, 5, -105])
def test_sql_format_exact_beyond_double(fen):
    # DuckDB divides DECIMALs as DOUBLE; the SQL formatter must not (9007199254740993 = 2**53 + 1)
    got = duckdb.connect().execute(f"SELECT {sql_fen_to_yuan('f')} FROM (SELECT ?::BIGINT AS f)", [fen]).fetchone()[0]
    assert got == format_yuan(fen)


def test_full_width_digits_are_no_amount():
    """helper-107: the pattern's \\d took any Unicode digit (and int() reads them): '１２.00' was 1200 fen, in a
    notification, a config amount, anywhere parse_yuan reads."""
    from paymatch.money import parse_fee_units, parse_yuan

    for text in ("１２.00", "12.０0", "٣.00"):
        with pytest.raises(ValueError):
            parse_yuan(text)
        with pytest.raises(ValueError):
            parse_fee_units(text)
