"""Detection wired to the native channel parsers, with bills built by those channels' own test
generators (loaded by path; skipped when a generator or parser is not there)."""

from __future__ import annotations

import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import pytest

from paymatch.channels import detect as det
from paymatch.channels.detect import load_bills, scan_bills

TESTS = Path(__file__).resolve().parents[1]


def generator(rel: str):
    """Import a sibling channel's test generator module by file path, or skip."""
    path = TESTS / rel
    if not path.exists():
        pytest.skip(f"{rel} not present")
    spec = importlib.util.spec_from_file_location(f"_pm_gen_{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses in the module look themselves up there
    spec.loader.exec_module(mod)
    return mod


def need(name: str) -> None:
    """Skip unless the native parser ``name`` exists."""
    if name not in {p.name for p in det.native_parsers()}:
        pytest.skip(f"native parser {name} not available")


def test_alipay_zip_is_detected_and_cross_checked(tmp_path: Path):
    need("alipay")
    gen = generator("alipay/alipay_billgen.py")
    (tmp_path / "download").write_bytes(gen.bill_zip(gen.sample_rows()))  # no extension
    bills = load_bills(tmp_path)
    assert sorted(b.kind for b in bills) == ["alipay_detail", "alipay_summary"]
    assert all("业务明细" in b.source for b in bills)  # GBK member names decoded
    (tmp_path / "download").write_bytes(gen.bill_zip(gen.sample_rows(), summary_tamper=1))
    scan = scan_bills(tmp_path)
    assert not scan.bills and len(scan.rejected) == 2  # detail and summary disagree: both kept aside


def test_unionpay_zm_in_a_zip_is_detected(tmp_path: Path):
    need("unionpay")
    gen = generator("unionpay/unionpay_zmgen.py")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("INN19091788ZM_802310048993424", gen.zm_file([gen.zm_line(), gen.zm_line(
            amount_fen=5000, query_id="201909161200000000003", order_id="ORDER-2")]))
    (tmp_path / "unionpay.zip").write_bytes(buf.getvalue())
    [bill] = load_bills(tmp_path)
    assert bill.channel == "unionpay" and bill.transactions.num_rows == 2


def test_wechat_bill_from_generator_renamed(tmp_path: Path):
    need("wechat")
    gen = generator("wechat/wechat_billgen.py")
    try:
        data = gen.trade_bill([gen.payment(1, 1000), gen.refund(1, 300)], bom=True, crlf=True)
    except (TypeError, AttributeError):
        pytest.skip("wechat generator API changed")
    data = data.encode("utf-8") if isinstance(data, str) else data
    (tmp_path / "a.txt").write_bytes(data)
    [bill] = load_bills(tmp_path)
    assert bill.channel == "wechat" and bill.kind == "trade_all" and bill.transactions.num_rows == 2


@pytest.mark.parametrize("junk", ["?", "\ufffd", "\u00ef\u00bb\u00bf"])
def test_a_bill_whose_byte_order_mark_was_damaged_says_so(tmp_path: Path, junk: str):
    """A WeChat bill from the field came with '?' where its BOM had been (a careless charset conversion): it is
    refused as a damaged bill to download again, not as a layout to write a profile for."""
    need("wechat")
    gen = generator("wechat/wechat_billgen.py")
    text = gen.trade_bill([gen.payment(1, 2000)], "SUCCESS")
    text = text.decode("utf-8") if isinstance(text, bytes) else text
    (tmp_path / "bill.csv").write_bytes((junk + text.lstrip("\ufeff")).encode("utf-8"))
    [rejected] = scan_bills(tmp_path).rejected
    assert "first bytes of a channel bill are damaged" in str(rejected.error)
    assert "download the bill again" in str(rejected.error)
    (tmp_path / "bill.csv").write_bytes(text.encode("utf-8"))  # as delivered: read
    assert [b.kind for b in scan_bills(tmp_path).bills] == ["trade_success"]
