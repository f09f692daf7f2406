"""Every builtin profile parses its shipped sample into the expected canonical rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from paymatch.channels.profile_xlsx import xlsx_head
from paymatch.channels.profiles import builtin_profiles, builtin_sample, parse_with_profile
from paymatch.schema import TRANSACTION_ARROW

EXPECTED = json.loads(Path(__file__).with_name("expected.json").read_text(encoding="utf-8"))
PROFILES = {p.name: p for p in builtin_profiles()}
SH = dt.timezone(dt.timedelta(hours=8))


def head_of(profile, data: bytes) -> str:
    """The text a sniffer sees for a sample."""
    if profile.file.type == "xlsx":
        return xlsx_head(data)
    return data[:8192].decode(profile.file.encoding, errors="replace").lstrip("\ufeff")


def test_at_least_twenty_methods_ship():
    methods = {(p.channel, p.method) for p in PROFILES.values()}
    assert len(PROFILES) >= 20 and len(methods) >= 20
    assert set(PROFILES) == set(EXPECTED)
    assert any(p.file.type == "xlsx" for p in PROFILES.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_parses_to_expected_rows(name):
    profile, exp = PROFILES[name], EXPECTED[name]
    path = builtin_sample(profile)
    data = path.read_bytes()
    bill = parse_with_profile(profile, data, str(path))
    assert bill.transactions.schema == TRANSACTION_ARROW
    assert bill.channel == profile.channel and bill.kind == f"profile:{name}"
    assert bill.sha256 == hashlib.sha256(data).hexdigest()
    rows = bill.transactions.to_pylist()
    pays = [r for r in rows if r["type"] == "payment"]
    refs = [r for r in rows if r["type"] == "refund"]
    assert len(rows) == exp["rows"]
    assert (len(pays), len(refs)) == (exp["payments"], exp["refunds"])
    assert sum(r["amount_fen"] for r in pays) == exp["payment_fen"]
    assert sum(r["amount_fen"] for r in refs) == exp["refund_fen"]
    assert all(r["amount_fen"] > 0 for r in rows)
    first = rows[0]
    assert first["order_no"] == exp["first_order_no"]
    assert first["amount_fen"] == exp["first_amount_fen"]
    assert first["occurred_at"].astimezone(SH).isoformat() == exp["first_occurred_at"]
    assert sorted({r["status"] for r in rows}) == exp["statuses"]
    if exp["merchant_id"]:
        assert {r["merchant_id"] for r in rows} == {exp["merchant_id"]}
    assert bill.bill_date == dt.date(2026, 11, 20)
    lines = [r["src_line"] for r in rows]
    assert lines == sorted(lines) and lines[0] > 1 and all(r["src_file"] == str(path) for r in rows)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_is_recognised_by_its_own_profile_only(name):
    profile = PROFILES[name]
    data = builtin_sample(profile).read_bytes()
    hits = [p.name for p in PROFILES.values()
            if p.file.type == profile.file.type and p.sniff(head_of(profile, data))]
    assert hits == [name]


def test_totals_are_reported_as_printed():
    bill = parse_with_profile(PROFILES["alipay_merchant_console_export"],
                              builtin_sample(PROFILES["alipay_merchant_console_export"]).read_bytes(), "a.csv")
    exp = EXPECTED["alipay_merchant_console_export"]
    assert (bill.totals["payment_count"], bill.totals["payment_amount_fen"]) == (exp["payments"], exp["payment_fen"])
    # 支出合计 also covers the fee and withdrawal rows, which the row filter keeps out of the transactions
    assert bill.totals["refund_count"] > exp["refunds"] and bill.totals["refund_amount_fen"] > exp["refund_fen"]
    assert bill.transactions.num_rows == exp["rows"]


def test_physical_lines_point_at_the_source_row():
    profile = PROFILES["bank_card_pos"]  # CRLF file with two title lines
    path = builtin_sample(profile)
    text = path.read_bytes().decode("utf-8-sig").split("\r\n")
    bill = parse_with_profile(profile, path.read_bytes(), str(path))
    for row in bill.transactions.to_pylist():
        assert row["order_no"] in text[row["src_line"] - 1]


@pytest.mark.parametrize("name,account", [("alipay_merchant_console_export", "20889911223344"),
                                          ("huabei", "20881234567890")])
def test_alipay_account_suffix_is_dropped_as_the_detail_reader_does(name, account):
    """An Alipay export's '#账号：[…]' is the 16-digit PID and a 4-digit account suffix (a real 账务明细 from the field:
    [20888011365400330156]); the profiles keep the PID, the merchant number the built-in 业务明细 reader and
    notifications give, so one account is one merchant number whichever file its records came from."""
    from paymatch.channels.alipay.detail import merchant_from_account

    profile = PROFILES[name]
    path = builtin_sample(profile)
    text = path.read_bytes().decode(profile.file.encoding)
    for acc, want in (("20888011365400330156", "2088801136540033"), ("2088801136540033", "2088801136540033"),
                      (account, account)):
        data = text.replace(f"[{account}]", f"[{acc}]").encode(profile.file.encoding)
        rows = parse_with_profile(profile, data, str(path)).transactions.to_pylist()
        assert rows and {r["merchant_id"] for r in rows} == {want} == {merchant_from_account(acc)}


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "settle_amount" in PROFILES[n].columns))
def test_a_sample_settlement_means_what_the_engine_reads_it_as(name):
    """A payment's settlement amount is before the fee on WeChat and Alipay (商家实收: the fee is a column of its own),
    net of it on every other channel, and the engine reads it by the record's channel (``settle_before_fee_sql``).
    The samples make no coupon up, so each payment's settlement before the fee is its amount. helper-72: the 花呗分期
    sample (channel alipay) printed 商家实收 as the amount less the fee, a file in which net settlement takes the fee
    off twice."""
    import duckdb

    from paymatch.engine.params import settle_before_fee_sql

    profile = PROFILES[name]
    path = builtin_sample(profile)
    rows = parse_with_profile(profile, path.read_bytes(), str(path)).transactions  # noqa: F841 (read by DuckDB)
    off, n = duckdb.sql(f"SELECT count(*) FILTER ({settle_before_fee_sql()} <> amount_fen), count(*) FROM rows "
                        "WHERE type = 'payment' AND settle_amount_fen IS NOT NULL").fetchall()[0]
    assert n and off == 0
