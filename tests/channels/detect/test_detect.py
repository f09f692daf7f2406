"""Content-based detection over folders and archives, with quarantine of what is not recognised."""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from paymatch.channels import detect as det
from paymatch.channels.detect import detect, iter_bill_files, load_bills, scan_bills
from paymatch.channels.profiles import builtin_profiles, builtin_sample
from paymatch.errors import LoadError

PROFILES = {p.name: p for p in builtin_profiles()}
FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "channels"


def sample(name: str) -> bytes:
    """Bytes of a builtin profile's sample export."""
    return builtin_sample(PROFILES[name]).read_bytes()


class _GbkInfo(zipfile.ZipInfo):
    """A zip entry whose name is stored as GBK bytes without the UTF-8 flag, as Chinese tools write it."""

    def _encodeFilenameFlags(self):  # noqa: N802 (zipfile's name)
        return self.filename.encode("gbk"), self.flag_bits


def gbk_zip(members: dict[str, bytes]) -> bytes:
    """A zip whose member names are GBK-encoded."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(_GbkInfo(name), data)
    return buf.getvalue()


@pytest.fixture()
def bills_dir(tmp_path: Path) -> Path:
    """A messy folder: nested dirs, a zip with GBK names, a .gz, a renamed file, junk and an unknown CSV."""
    (tmp_path / "2026" / "11" / "20").mkdir(parents=True)
    (tmp_path / "2026" / "11" / "20" / "export (1).dat").write_bytes(sample("jd_pay"))  # renamed
    (tmp_path / "2026" / "11" / "对账.zip").write_bytes(
        gbk_zip({"美团/门店账单.xlsx": sample("meituan"), "现金日记账.csv": sample("cash"), "__MACOSX/._x": b"junk"}))
    (tmp_path / "lakala.csv.gz").write_bytes(gzip.compress(sample("lakala")))
    (tmp_path / "lakala.csv").write_bytes(sample("lakala"))  # the same bill, extracted next to its .gz
    (tmp_path / "README.md").write_text("bills for November\n")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "objects" / "ab12").write_bytes(b"x\x9c\x00\x01")
    (tmp_path / "shop_orders.csv").write_text("\n会员号,积分,等级\nM1,10,gold\n", encoding="utf-8")
    return tmp_path


def test_scan_finds_bills_by_content_in_any_layout(bills_dir: Path):
    scan = scan_bills(bills_dir)
    got = {(Path(b.source.split("!")[0]).name, b.kind) for b in scan.bills}
    assert got == {
        ("export (1).dat", "profile:jd_pay"),
        ("对账.zip", "profile:meituan"),
        ("对账.zip", "profile:cash"),
        ("lakala.csv", "profile:lakala"),
    }
    names = {b.source for b in scan.bills}
    assert str(bills_dir / "2026" / "11" / "对账.zip") + "!美团/门店账单.xlsx" in names  # GBK member name decoded
    zip_sha = hashlib.sha256((bills_dir / "2026" / "11" / "对账.zip").read_bytes()).hexdigest()
    assert {b.sha256 for b in scan.bills if "对账.zip" in b.source} == {zip_sha}
    skipped = dict(scan.skipped)
    assert skipped[str(bills_dir / "README.md")].startswith("not a bill")
    assert skipped[str(bills_dir / "empty.csv")] == "empty file"
    assert str(bills_dir / ".DS_Store") in skipped
    assert skipped[str(bills_dir / ".git" / "objects" / "ab12")] == "in a hidden or system folder"
    assert any(v.startswith("same content as") for v in skipped.values())  # .gz and extracted CSV: once


def test_unknown_csv_is_rejected_naming_file_and_header_line(bills_dir: Path):
    scan = scan_bills(bills_dir)
    assert [(r.name, r.channel) for r in scan.rejected] == [(str(bills_dir / "shop_orders.csv"), None)]
    problem = scan.rejected[0].error.problems[0]
    assert problem.file == str(bills_dir / "shop_orders.csv")
    assert problem.line == 2 and problem.value == "会员号,积分,等级"
    assert "unknown bill layout" in problem.message


def test_load_bills_raises_but_keeps_the_good_bills(bills_dir: Path):
    with pytest.raises(LoadError) as info:
        load_bills(bills_dir)
    assert "unknown bill layout" in str(info.value) and "shop_orders.csv" in str(info.value)
    assert len(info.value.scan.bills) == 4
    (bills_dir / "shop_orders.csv").unlink()
    assert len(load_bills(bills_dir)) == 4


def test_iter_bill_files_opens_gz_and_zip(tmp_path: Path):
    (tmp_path / "x.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    (tmp_path / "y.zip").write_bytes(gbk_zip({"子目录/明细.csv": b"c,d\n3,4\n"}))
    got = {name: (data, sha) for name, data, sha in iter_bill_files(tmp_path)}
    # a .gz's file is named like a zip member (archive!file): the name a user can find names the archive
    assert got[str(tmp_path / "x.gz") + "!x"][0] == b"a,b\n1,2\n"
    assert got[str(tmp_path / "y.zip") + "!子目录/明细.csv"][0] == b"c,d\n3,4\n"
    assert got[str(tmp_path / "x.gz") + "!x"][1] == hashlib.sha256((tmp_path / "x.gz").read_bytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_detect_ignores_the_file_name(name: str):
    data = sample(name)
    assert detect("whatever.bin", data).name == name
    assert detect("wechat_20261120.csv", data).name == name


def test_detect_returns_none_for_unknown_layout():
    assert detect("x.csv", "交易时间,金额\n2026-11-20 10:00:00,1.00\n".encode()) is None


def test_damaged_archives_are_rejected(tmp_path: Path):
    (tmp_path / "bad.gz").write_bytes(gzip.compress(sample("cash"))[:40])
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    scan = scan_bills(tmp_path)
    assert sorted(Path(r.name).name for r in scan.rejected) == ["bad.gz", "bad.zip"]
    assert sorted(r.path for r in scan.rejected) == [str(tmp_path / "bad.gz"), str(tmp_path / "bad.zip")]
    assert all("damaged" in str(r.error) for r in scan.rejected)


def test_a_bad_row_rejects_only_that_file(tmp_path: Path):
    good = sample("points")
    bad = good.replace(b",39900,39900,", b",39900,12.5x,", 1)
    assert bad != good
    (tmp_path / "good.csv").write_bytes(good)
    (tmp_path / "bad.csv").write_bytes(bad.replace(b"PT", b"PX"))  # different bytes, same layout
    scan = scan_bills(tmp_path)
    assert [Path(b.source).name for b in scan.bills] == ["good.csv"]
    assert [(Path(r.name).name, r.channel) for r in scan.rejected] == [("bad.csv", "points")]
    problem = scan.rejected[0].error.problems[0]
    assert problem.field == "抵扣金额(分)" and problem.value == "12.5x" and problem.line is not None


def test_extra_profile_dir_adds_a_layout(tmp_path: Path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "canteen.yaml").write_text(
        "name: canteen\nchannel: canteen_card\nsniff: {headers: [饭卡号, 扣款金额]}\n"
        "columns: {order_no: 小票号, amount: 扣款金额, occurred_at: 时间}\n", encoding="utf-8")
    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "c.csv").write_text("饭卡号,小票号,扣款金额,时间\nK1,T1,12.50,2026-11-20 12:00:00\n", encoding="utf-8")
    assert scan_bills(bills).rejected  # unknown without the profile
    [bill] = load_bills(bills, extra_profile_dirs=[profiles])
    assert bill.channel == "canteen_card" and bill.transactions.column("amount_fen").to_pylist() == [1250]


def test_two_profiles_claiming_a_file_is_an_ambiguity(tmp_path: Path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for name in ("one", "two"):
        (profiles / f"{name}.yaml").write_text(
            f"name: {name}\nchannel: {name}\nsniff: {{headers: [票号, 金额]}}\n"
            "columns: {order_no: 票号, amount: 金额, occurred_at: 时间}\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("票号,金额,时间\nT1,1.00,2026-11-20 12:00:00\n", encoding="utf-8")
    scan = scan_bills(tmp_path / "b.csv", extra_profile_dirs=[profiles])
    assert "ambiguous layout" in str(scan.rejected[0].error)


def test_missing_native_module_is_skipped(monkeypatch):
    monkeypatch.setattr(det, "NATIVE_MODULES", ("paymatch.channels.not_written_yet",) + det.NATIVE_MODULES)
    assert detect("x.csv", sample("cash")).name == "cash"


def test_native_wechat_bill_is_detected_from_gzip(tmp_path: Path):
    gz = FIXTURES / "wechat" / "gunsluo_tradebill_ALL_20210128.csv.gz"
    if not gz.exists():
        pytest.skip("shared WeChat fixture not present")
    if "wechat" not in {p.name for p in det.native_parsers()}:
        pytest.skip("paymatch.channels.wechat.bill not available yet")
    (tmp_path / "downloaded").write_bytes(gz.read_bytes())  # no extension at all
    [bill] = load_bills(tmp_path)
    assert bill.channel == "wechat" and bill.kind == "trade_all"
    assert bill.sha256 == hashlib.sha256(gz.read_bytes()).hexdigest()


def test_native_wechat_totals_mismatch_is_quarantined():
    csv = FIXTURES / "wechat" / "gunsluo_fundflowbill_BASIC_20210201.csv"
    if not csv.exists() or "wechat" not in {p.name for p in det.native_parsers()}:
        pytest.skip("shared WeChat fixture or parser not present")
    scan = scan_bills(csv)
    assert not scan.bills and scan.rejected and "tie out" in str(scan.rejected[0].error)
    assert scan.rejected[0].channel == "wechat"


def test_tar_gz_members_are_found(tmp_path: Path):
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        data = sample("gift_card")
        info = tarfile.TarInfo("exports/gift.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "bills.tar.gz").write_bytes(raw.getvalue())
    [bill] = load_bills(tmp_path)
    assert bill.kind == "profile:gift_card" and bill.source.endswith("bills.tar!exports/gift.csv")


def test_empty_bills_of_two_accounts_are_each_read_not_skipped_as_copies(tmp_path: Path):
    # WeChat's ALL bill of a day without a sale is the same bytes for every account and day; a non-empty copy (a
    # bill beside its .gz) is still read once
    from tests.core.test_summary_notes import EMPTY_WX

    for name in ("1900000101_20261122_ALL.csv", "1900000102_20261122_ALL.csv", "1900000101_20261123_ALL.csv"):
        (tmp_path / name).write_bytes(EMPTY_WX.encode("utf-8"))
    (tmp_path / "1900000103_20261122_ALL.csv.gz").write_bytes(gzip.compress(EMPTY_WX.encode("utf-8")))
    scan = scan_bills(tmp_path)
    assert sorted(Path(b.source.split("!")[0]).name for b in scan.bills) == [
        "1900000101_20261122_ALL.csv", "1900000101_20261123_ALL.csv", "1900000102_20261122_ALL.csv",
        "1900000103_20261122_ALL.csv.gz"]
    assert not scan.skipped
