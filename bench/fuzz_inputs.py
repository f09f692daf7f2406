"""Bad input everywhere: a seeded mutator over VALID inputs of every kind paymatch reads.

Every valid input (canonical orders/refunds/transactions, an ERP export through a column mapping as CSV and .xlsx,
WeChat trade and fund-flow bills (.csv, .csv.gz), an Alipay 业务明细 zip (GBK), a UnionPay ZM, canonical instalment
flows, a TOML config) is damaged in one way at a time (a cut last line, NUL bytes, a GBK line in UTF-8, another
delimiter, a field too many or too few, a quote that never closes, the header again mid-file, amounts such as
``１２.00`` / ``¥12.00`` / ``12,345.00`` / ``-0.00`` / ``.5`` / ``12.`` / an overflow of BIGINT fen, impossible times,
empty and header-only files, an empty or corrupt zip, a CSV named .xlsx, a folder given as a file, …) and run
through ``paymatch reconcile`` (file run) and ``paymatch ingest`` into a workspace that already holds data.

The contract checked for each: exit 0 (the damage is a value the README accepts, or one it turns into an outcome;
listed as ``accepted`` for review), or exit 2 with one ``error:`` message naming the damaged file (and, for damage
on one line, that line); never a Python traceback; and after ``ingest`` fails the workspace answers exactly as
before (every table's rows compared). In process (typer's CliRunner), so a few hundred runs take about a minute.

    PYTHONPATH=src .venv/bin/python bench/fuzz_inputs.py [--only wechat] [--kind amount] [--show-accepted] [--keep DIR]

Exit status 1 when any run broke the contract (each printed with its reproduction: the files are kept in --keep).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
for sub in ("tests/channels/wechat", "tests/channels/alipay", "tests/channels/unionpay"):
    sys.path.insert(0, str(ROOT / sub))

import duckdb  # noqa: E402
import openpyxl  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import alipay_billgen as ab  # noqa: E402
import unionpay_zmgen as zg  # noqa: E402
import wechat_billgen as wb  # noqa: E402
from paymatch.cli import app  # noqa: E402

GOLDEN = ROOT / "tests" / "core" / "golden" / "basic"
ZM_NAME = "INN19091788ZM_802310048993424"

FLOWS = ("channel,order_no,period_no,periods,amount,fee,status,occurred_at\n"
         "wechat_payscore,P1,1,3,33.34,0.00,success,2026-11-20 10:00:00\n"
         "wechat_payscore,P1,2,3,33.33,0.00,success,2026-11-20 11:00:00\n")
ERP_CONFIG = """
[inputs.orders.columns]
order_no = "订单编号"
store_id = "门店编码"
merchant_id = "商户号"
channel = "支付方式"
amount = "实付金额（元）"
status = "订单状态"
created_at = "下单时间"
paid_at = "支付时间"
"""
ERP_ROWS = [["订单编号", "门店编码", "商户号", "支付方式", "实付金额（元）", "订单状态", "下单时间", "支付时间"],
            ["E1", "S01", "1600000001", "微信支付", "￥1,234.50", "已支付", "2026/11/20 10:00:00", "2026/11/20 10:00:05"],
            ["E2", "S01", "1600000001", "支付宝", "20.00", "已支付", "2026/11/20 11:00:00", "2026/11/20 11:00:05"],
            ["E3", "S01", "1600000001", "微信支付", "30.00", "待支付", "2026/11/20 12:00:00", ""]]
CONFIG_TOML = """
[match]
amount_tolerance_fen = 0
cross_day_grace_minutes = 10
[fees]
[[fees.rates]]
channel = "wechat"
rate = "0.6%"
[stores]
"1600000001" = "S01"
"""


@dataclass
class Seed:
    """One valid input: its bytes (inner text for archives), where its header and rows are, which cells to damage."""

    name: str            # file name as given to paymatch
    role: str            # orders | refunds | transactions | bills | instalments | config
    data: bytes
    encoding: str = "utf-8"
    header: int = 0      # 0-based index of the header line
    first: int = 1       # 0-based index of the first data line
    last: int = -1       # 0-based index of the last data line (negative: from the end)
    delim: str = ","
    amount: str | None = "amount"
    time: str | None = None
    key: str | None = None        # the column whose duplicate is refused
    pack: str = ""                # "" | "gz" | "zip" | "xlsx"
    config: str | None = None     # config text the input needs (ERP mapping)
    text: bool = True             # a delimited text file the line mutators understand
    fixed_width: bool = False     # a UnionPay ZM: its own damage (``_zm_damages``)
    kinds: tuple[str, ...] | None = None  # only these damages (a reader other seeds reach already: a sample)


def _golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def seeds() -> list[Seed]:
    """Every kind of valid input paymatch reads."""
    wx_rows = [wb.payment(1, 10000, fee_fen=60), wb.payment(2, 2000, fee_fen=12), wb.refund(1, 3000, fee_fen=-18)]
    wx = wb.trade_bill(wx_rows)
    ff = wb.fundflow_bill([("2026-11-20 10:00:00", "收入", 10000, 10000), ("2026-11-20 11:00:00", "支出", 3000, 7000)])
    zm = zg.zm_file([zg.zm_line(), zg.zm_line(query_id="201909161055160000002", order_id="ORDER-2",
                                              amount_fen=2500, fee="D000000000015", settle="C000000002485")])
    ali = ab.detail_bytes(ab.sample_rows())
    erp = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in ERP_ROWS).encode("gbk") + b"\r\n"
    return [
        Seed("orders.csv", "orders", _golden("orders.csv"), time="paid_at", key="order_no"),
        Seed("refunds.csv", "refunds", _golden("refunds.csv"), time="created_at", key="refund_no"),
        Seed("transactions.csv", "transactions", _golden("transactions.csv"), time="occurred_at"),
        Seed("erp_orders.csv", "orders", erp, encoding="gbk", amount="实付金额（元）", time="支付时间",
             key="订单编号", config=ERP_CONFIG, last=-2),
        Seed("erp_orders.xlsx", "orders", erp, encoding="gbk", amount="实付金额（元）", time="支付时间",
             key="订单编号", config=ERP_CONFIG, pack="xlsx", last=-2),
        Seed("wechat_all.csv", "bills", wx, amount="订单金额", time="交易时间", last=-3),
        Seed("wechat_all.csv.gz", "bills", wx, amount="订单金额", time="交易时间", last=-3, pack="gz"),
        Seed("wechat_fundflow.csv", "bills", ff, amount="收支金额(元)", time="记账时间", last=-3),
        Seed(f"{ab.ACCOUNT}_20190916.csv.zip", "bills", ali, encoding="gbk", header=4, first=5, last=-5,
             amount="订单金额（元）", time="完成时间", pack="zip"),
        Seed(ZM_NAME, "bills", zm, encoding="gbk", text=False, amount=None, fixed_width=True),
        Seed("flows.csv", "instalments", FLOWS.encode(), time="occurred_at"),
        Seed("rules.toml", "config", CONFIG_TOML.encode(), text=False, amount=None),
    ]


# --- mutators ----------------------------------------------------------------------------------------------------

@dataclass
class Damage:
    """A damaged input: its bytes (inner text for archives) and the physical line it names, if any."""

    kind: str
    data: bytes | None          # None: the mutator does not apply to this seed
    line: int | None = None     # 1-based line the error should name
    raw: bool = False           # data is the final file (no packing)
    directory: bool = False     # give a folder instead of the file
    names: str | None = None    # words the error must hold besides the file (a config key)


def _lines(s: Seed) -> list[str]:
    return s.data.decode(s.encoding).splitlines(keepends=True)


def _idx(s: Seed, lines: list[str], i: int) -> int:
    return i if i >= 0 else len(lines) + i


def _cells(s: Seed, line: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r\n")], delimiter=s.delim))


def _joined(s: Seed, cells: list[str]) -> str:
    """Cells written back as the file writes them: quoted where a value holds the delimiter or a quote (a WeChat
    bill's backticked values never are: its reader splits on ",`")."""
    def one(c: str) -> str:
        if (s.delim in c or '"' in c) and not c.startswith("`"):
            return '"' + c.replace('"', '""') + '"'
        return c
    return s.delim.join(one(c) for c in cells)


def _col(s: Seed, lines: list[str], name: str) -> int:
    head = [c.strip().strip("`\t\ufeff") for c in _cells(s, lines[s.header])]
    return head.index(name)


def _set_cell(s: Seed, name: str | None, value: str, which: int | None = None) -> Damage | None:
    if not s.text or name is None:
        return None
    lines = _lines(s)
    i = _idx(s, lines, s.first if which is None else which)
    c = _col(s, lines, name)
    cells = _cells(s, lines[i])
    old = cells[c]
    prefix = "`" if old.startswith("`") else ""
    suffix = "\t" if old.endswith("\t") else ""
    cells[c] = prefix + value + suffix
    eol = lines[i][len(lines[i].rstrip("\r\n")):]
    lines[i] = _joined(s, cells) + eol
    text = "".join(lines)
    if s.encoding == "gbk":
        text = text.replace("¥", "￥")  # (U+00A5 has no GBK code; a Chinese export writes the full-width sign)
    return Damage("", text.encode(s.encoding), i + 1)


def _edit_line(s: Seed, fn: Callable[[str], str], which: int | None = None) -> Damage | None:
    if not s.text:
        return None
    lines = _lines(s)
    i = _idx(s, lines, s.first if which is None else which)
    eol = lines[i][len(lines[i].rstrip("\r\n")):]
    lines[i] = fn(lines[i].rstrip("\r\n")) + eol
    return Damage("", "".join(lines).encode(s.encoding), i + 1)


def _truncate_mid(s: Seed) -> Damage | None:
    if not s.text:
        return Damage("", s.data[: len(s.data) * 2 // 3])
    lines = _lines(s)
    i = _idx(s, lines, s.last)
    cut = lines[i].rstrip("\r\n")
    keep = "".join(lines[:i]) + cut[: len(cut) // 2]
    return Damage("", keep.encode(s.encoding), i + 1)


def _nul(s: Seed) -> Damage | None:
    if not s.text:
        return Damage("", s.data[:40] + b"\x00\x00" + s.data[40:])
    return _edit_line(s, lambda ln: ln[:3] + "\x00" + ln[3:])


def _mixed_encoding(s: Seed) -> Damage | None:
    if not s.text:
        return None
    lines = _lines(s)
    i = _idx(s, lines, s.first)
    other = "utf-8" if s.encoding == "gbk" else "gbk"
    raw = [ln.encode(s.encoding) for ln in lines]
    cells = _cells(s, lines[i])
    c = _col(s, lines, s.key or s.amount) if (s.key or s.amount) else 0
    cells[-1 if c == len(cells) - 1 else len(cells) - 1] = "测试门店唯品"
    eol = lines[i][len(lines[i].rstrip("\r\n")):]
    raw[i] = (_joined(s, cells) + eol).encode(other)
    return Damage("", b"".join(raw), i + 1)


def _wrong_delim(s: Seed) -> Damage | None:
    if not s.text:
        return None
    return Damage("", s.data.decode(s.encoding).replace(",", ";").encode(s.encoding), None)


def _header_repeat(s: Seed) -> Damage | None:
    if not s.text:
        return None
    lines = _lines(s)
    i = _idx(s, lines, s.first) + 1
    lines.insert(i, lines[s.header])
    return Damage("", "".join(lines).encode(s.encoding), i + 1)


def _dup_line(s: Seed) -> Damage | None:
    if not s.text or s.key is None:
        return None
    lines = _lines(s)
    i = _idx(s, lines, s.first)
    lines.insert(i + 1, lines[i])
    return Damage("", "".join(lines).encode(s.encoding), i + 2)


def _missing_column(s: Seed) -> Damage | None:
    if not s.text or s.amount is None:
        return None
    lines = _lines(s)
    c = _col(s, lines, s.amount)
    last = _idx(s, lines, s.last)
    for i in [s.header] + list(range(s.first, last + 1)):
        cells = _cells(s, lines[i])
        eol = lines[i][len(lines[i].rstrip("\r\n")):]
        lines[i] = _joined(s, cells[:c] + cells[c + 1:]) + eol
    return Damage("", "".join(lines).encode(s.encoding), s.header + 1)


def _empty(s: Seed) -> Damage:
    return Damage("", b"", None)


def _header_only(s: Seed) -> Damage | None:
    if not s.text:
        return None
    lines = _lines(s)
    return Damage("", "".join(lines[: s.header + 1]).encode(s.encoding), None)


def _utf16(s: Seed) -> Damage | None:
    return Damage("", s.data.decode(s.encoding).encode("utf-16"), None)


MUTATORS: dict[str, Callable[[Seed], Damage | None]] = {
    "truncated_mid_field": _truncate_mid,
    "nul_byte": _nul,
    "mixed_encoding": _mixed_encoding,
    "wrong_delimiter": _wrong_delim,
    "extra_field": lambda s: _edit_line(s, lambda ln: ln + s.delim + "x"),
    "missing_field": lambda s: _edit_line(s, lambda ln: ln.rsplit(s.delim, 1)[0]),
    "open_quote": lambda s: _edit_line(s, lambda ln: ln.replace(s.delim, s.delim + '"', 1)),
    "header_repeated": _header_repeat,
    "duplicate_key": _dup_line,
    "missing_column": _missing_column,
    "empty_file": _empty,
    "header_only": _header_only,
    "utf16": _utf16,
    "amount_fullwidth": lambda s: _set_cell(s, s.amount, "１２.00"),
    "amount_yen_sign": lambda s: _set_cell(s, s.amount, "¥12.00"),
    "amount_thousands": lambda s: _set_cell(s, s.amount, "12,345.00"),
    "amount_minus_zero": lambda s: _set_cell(s, s.amount, "-0.00"),
    "amount_dot5": lambda s: _set_cell(s, s.amount, ".5"),
    "amount_trailing_dot": lambda s: _set_cell(s, s.amount, "12."),
    "amount_overflow": lambda s: _set_cell(s, s.amount, "99999999999999999999.00"),
    "amount_huge_fen": lambda s: _set_cell(s, s.amount, "92233720368547758.08"),
    "amount_12.3.4": lambda s: _set_cell(s, s.amount, "12.3.4"),
    "amount_1e5": lambda s: _set_cell(s, s.amount, "1e5"),
    "amount_nan": lambda s: _set_cell(s, s.amount, "NaN"),
    "amount_inf": lambda s: _set_cell(s, s.amount, "inf"),
    "time_no_zone": lambda s: _set_cell(s, s.time, "2026-11-20 10:00:07"),
    "time_feb30": lambda s: _set_cell(s, s.time, "2026-02-30 10:00:00"),
    "time_24h": lambda s: _set_cell(s, s.time, "2026-11-20 24:00:00"),
    "time_garbage": lambda s: _set_cell(s, s.time, "not a time"),
    "time_year_0001": lambda s: _set_cell(s, s.time, "0001-01-01 00:00:00"),
}


def _zm_damages(s: Seed) -> list[Damage]:
    """Fixed-width UnionPay lines: their own damage (a field's bytes, a line cut, a width off by one)."""
    first = s.data.split(b"\r\n")[0]
    amt_at = first.index(b"000000001000")
    out = []
    for kind, value in (("amount_letters", b"00000000X000"), ("amount_fullwidth", "１".encode("gbk") + b"0" * 10),
                        ("amount_spaces", b"            ")):
        out.append(Damage(kind, first[:amt_at] + value[:12].ljust(12) + first[amt_at + 12:] + s.data[len(first):], 1))
    out.append(Damage("line_short", first[:100] + s.data[len(first):], 1))
    out.append(Damage("line_shifted", b" " + s.data, 1))
    time_at = first.index(b"0916105516")
    out.append(Damage("time_impossible", first[:time_at] + b"0230105516" + first[time_at + 10:]
                      + s.data[len(first):], 1))
    out.append(Damage("time_24h", first[:time_at] + b"0916240000" + first[time_at + 10:] + s.data[len(first):], 1))
    return out


def _config_damages(s: Seed) -> list[Damage]:
    text = s.data.decode()
    cases = [
        ("wrong_type", text.replace("amount_tolerance_fen = 0", 'amount_tolerance_fen = "zero"')),
        ("negative", text.replace("amount_tolerance_fen = 0", "amount_tolerance_fen = -5")),
        ("float", text.replace("amount_tolerance_fen = 0", "amount_tolerance_fen = 0.5")),
        ("bool_for_number", text.replace("amount_tolerance_fen = 0", "amount_tolerance_fen = true")),
        ("unknown_key", text.replace("[match]", "[match]\ntolerence = 1")),
        ("unknown_section", text + "\n[matching]\nx = 1\n"),
        ("bad_rate", text.replace('rate = "0.6%"', 'rate = "six"')),
        ("rate_over_100", text.replace('rate = "0.6%"', 'rate = "250%"')),
        ("rate_float", text.replace('rate = "0.6%"', "rate = 0.1234567")),
        ("bad_channel", text.replace('channel = "wechat"', "channel = 5")),
        ("toml_syntax", text.replace("[match]", "[match")),
        ("grace_huge", text.replace("cross_day_grace_minutes = 10", "cross_day_grace_minutes = 99999999999999999999")),
        ("stores_not_table", text.replace('"1600000001" = "S01"', '"1600000001" = ["S01"]')),
        ("key_scope_bad", text.replace("[match]", '[match]\nkey_scope = ["store"]')),
        ("timezone", 'timezone = "Europe/Paris"\n' + text),
        ("nul", text.replace("[match]", "[match]\x00")),
        ("gbk", ("# 规则\n" + text).encode("gbk")),
        ("empty", ""),
        ("mapping_missing_columns", text + '\n[inputs.orders.columns]\namount = ""\n'),
        ("mapping_bad_header_line", text + '\n[inputs.orders]\nheader_line = -3\n'),
        ("mapping_amount_unit", text + '\n[inputs.orders]\namount_unit = "cents"\n'),
        ("profile_dirs_missing", text + '\n[bills]\nprofile_dirs = ["/nonexistent/pm"]\n'),
    ]
    return [Damage(k, v if isinstance(v, bytes) else v.encode(), None) for k, v in cases]


#: the damage also run as ``reconcile --workspace`` (a file run that stores its files first)
WORKSPACE_RUN_KINDS = ("truncated_mid_field", "mixed_encoding", "amount_12.3.4", "duplicate_key", "zip_corrupt",
                       "gz_truncated", "time_feb30", "line_short", "wrong_type")
GZ_KINDS = ("truncated_mid_field", "nul_byte", "mixed_encoding", "empty_file")
#: an error that names no line but is right for damage on one: the bill's control totals no longer tie out (the
#: damaged amount moved a total), a bill cut short, a file that no longer decodes at all
FILE_WIDE = ("does not tie out", "summary section", "truncated", "总计", "合计", "列表结束", "disagree", "totals say")


#: seeds (by name) whose damage another script lists itself (bench/fuzz_inputs2.py's config files)
OWN_DAMAGES: dict[str, Callable[[Seed], list[Damage]]] = {}


def damages(s: Seed) -> list[Damage]:
    """Every damage that applies to seed ``s`` (the packing kinds too)."""
    if s.name in OWN_DAMAGES:
        return OWN_DAMAGES[s.name](s)
    if s.kinds is not None:
        return [d for d in damages(Seed(**{**s.__dict__, "kinds": None})) if d.kind in s.kinds]
    if s.role == "config":
        return _config_damages(s)
    out = _zm_damages(s) if s.fixed_width else []
    for kind, fn in MUTATORS.items():
        if s.fixed_width and kind not in ("empty_file", "nul_byte", "truncated_mid_field", "utf16"):
            continue
        if s.pack == "xlsx" and kind in ("nul_byte", "utf16", "empty_file"):  # (no such cell text: the file kinds)
            continue
        if s.pack == "gz" and kind not in GZ_KINDS:  # the same reader as the plain bill's: its own damage only
            continue
        d = fn(s)
        if d is not None and d.data is not None:
            d.kind = kind
            out.append(d)
    out.append(Damage("directory_as_file", b"", None, directory=True))
    if s.pack in ("", "gz"):
        out.append(Damage("csv_named_xlsx", s.data, None, raw=True))
    if "zip" in s.pack:
        out.append(Damage("zip_empty", _zip_bytes([]), None, raw=True))
        out.append(Damage("zip_corrupt", pack(s, s.data)[:-30], None, raw=True))
        out.append(Damage("zip_not_zip", b"PK\x03\x04garbage" * 10, None, raw=True))
    if s.pack == "gz":
        out.append(Damage("gz_truncated", gzip.compress(s.data)[:-12], None, raw=True))
        out.append(Damage("gz_not_gzip", b"\x1f\x8bgarbage", None, raw=True))
    if s.pack == "xlsx":
        out.append(Damage("xlsx_truncated", pack(s, s.data)[:-200], None, raw=True))
        out.append(Damage("xlsx_really_csv", s.data, None, raw=True))
    return out


def _zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            info = ab._GbkName(name, date_time=(2019, 9, 17, 5, 46, 49))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buf.getvalue()


#: packings other scripts add (bench/fuzz_inputs2.py): Seed.pack -> (seed, inner bytes) -> the file's bytes
PACKERS: dict[str, Callable[[Seed, bytes], bytes]] = {}


def pack(s: Seed, data: bytes) -> bytes:
    """The file as paymatch is given it: the text gzipped, zipped with its 汇总, or laid into a workbook."""
    if s.pack in PACKERS:
        return PACKERS[s.pack](s, data)
    if s.pack == "gz":
        return gzip.compress(data, mtime=0)
    if s.pack == "zip":
        return _zip_bytes([(f"{ab.ACCOUNT}_20190916_业务明细.csv", data),
                           (f"{ab.ACCOUNT}_20190916_业务明细(汇总).csv", ab.summary_bytes(ab.sample_rows()))])
    if s.pack == "xlsx":
        wbk = openpyxl.Workbook()
        ws = wbk.active
        text = data.decode(s.encoding, errors="replace")
        for row in csv.reader(io.StringIO(text)):
            ws.append(row)
        buf = io.BytesIO()
        wbk.save(buf)
        return buf.getvalue()
    return data


# --- running -----------------------------------------------------------------------------------------------------

runner = CliRunner()


@dataclass
class Result:
    seed: str
    kind: str
    command: str
    verdict: str          # ok_error | accepted | crash | vague | changed | no_line
    detail: str = ""
    args: list[str] = field(default_factory=list)


def _invoke(args: list[str]) -> tuple[int, str, str]:
    r = runner.invoke(app, args, catch_exceptions=True)
    tb = ""
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        tb = "".join(traceback.format_exception(r.exception))
    return r.exit_code, r.output, tb


def snapshot(ws: Path) -> str:
    """A digest of every table's rows, in a stable order (what the workspace answers)."""
    con = duckdb.connect(str(ws), read_only=True)
    try:
        h = hashlib.sha256()
        tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                             "WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()
                  if t != "quarantine"]  # (a refused bill is kept there, as the README says)
        for t in tables:
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
            h.update(t.encode())
            for r in sorted(repr(x) for x in rows):
                h.update(r.encode())
        return h.hexdigest()
    finally:
        con.close()


def _valid_files(work: Path, all_seeds: list[Seed]) -> dict[str, Path]:
    base = work / "valid"
    base.mkdir()
    out = {}
    for s in all_seeds:
        p = base / s.name
        p.write_bytes(pack(s, s.data))
        out[s.name] = p
    (base / "erp.toml").write_text(ERP_CONFIG, encoding="utf-8")
    out["erp.toml"] = base / "erp.toml"
    return out


def _base_workspace(work: Path, valid: dict[str, Path]) -> Path:
    ws = work / "base.duckdb"
    args = ["ingest", "--workspace", str(ws), "--orders", str(valid["orders.csv"]), "--refunds",
            str(valid["refunds.csv"]), "--transactions", str(valid["transactions.csv"]),
            "--bills", str(valid["wechat_all.csv"]), "--instalments", str(valid["flows.csv"])]
    code, out, tb = _invoke(args)
    if code != 0:
        raise SystemExit(f"could not build the base workspace:\n{out}\n{tb}")
    return ws


def _role_args(s: Seed, path: Path, valid: dict[str, Path], *, file_run: bool) -> list[str]:
    """The command's input options with ``path`` in the seed's role, the other inputs valid."""
    o, r, t = str(valid["orders.csv"]), str(valid["refunds.csv"]), str(valid["transactions.csv"])
    cfg = ["--config", str(valid["erp.toml"])] if s.config else []
    if s.role == "orders":
        return ["--orders", str(path), *(["--refunds", r, "--transactions", t] if file_run else []), *cfg]
    if s.role == "refunds":
        return [*(["--orders", o] if file_run else []), "--refunds", str(path), *(["--transactions", t] if file_run else [])]
    if s.role == "transactions":
        return [*(["--orders", o, "--refunds", r] if file_run else []), "--transactions", str(path)]
    if s.role == "bills":
        return [*(["--orders", o, "--refunds", r] if file_run else []), "--bills", str(path)]
    if s.role == "instalments":
        return [*(["--orders", o, "--transactions", t] if file_run else []), "--instalments", str(path),
                *(["--as-of", "2026-11-20"] if file_run else [])]
    if s.role == "config":
        return ["--orders", o, *(["--refunds", r, "--transactions", t] if file_run else []), "--config", str(path)]
    raise ValueError(s.role)


#: where the README documents a damaged amount as accepted, the fen it must be stored as (exactly): amounts like
#: ``.5`` everywhere a canonical amount is read; an ERP export's currency sign and thousands separators (README "ERP
#: exports"); ``-0.00`` is zero. Anything else accepted is listed for review (``--show-accepted``).
EXPECT_FEN = {
    ("canonical", "amount_dot5"): 50, ("canonical", "amount_minus_zero"): 0,
    ("erp", "amount_dot5"): 50, ("erp", "amount_minus_zero"): 0, ("erp", "amount_yen_sign"): 1200,
    ("erp", "amount_thousands"): 1234500,
}
TABLE = {"orders": "orders", "refunds": "refunds", "transactions": "transactions", "instalments": "instalment_flows"}


def _stored_fen(ws: Path, s: Seed, path: Path, line: int) -> int | None:
    con = duckdb.connect(str(ws), read_only=True)
    try:
        row = con.execute(f"SELECT amount_fen FROM {TABLE[s.role]} WHERE src_file = ? AND src_line = ?",
                          [str(path), line]).fetchone()
        return None if row is None else row[0]
    finally:
        con.close()


def _judge(s: Seed, d: Damage, command: str, code: int, out: str, tb: str, shown: str) -> Result:
    res = Result(s.name, d.kind, command, "ok_error")
    if tb:
        res.verdict, res.detail = "crash", tb.strip().splitlines()[-1] + "\n" + tb
    elif code == 0:
        res.verdict, res.detail = "accepted", out.strip().splitlines()[-1] if out.strip() else ""
    elif code == 2 and d.directory and "is a directory" in " ".join(out.replace("│", " ").split()):
        pass  # the option's own check (typer: "Invalid value for '--orders': file '…' is a directory")
    elif code != 2 or "error:" not in out:
        res.verdict, res.detail = "vague", f"exit {code}: {out.strip()[:600]}"
    elif shown not in out:
        res.verdict, res.detail = "vague", f"message does not name {shown}: {out.strip()[:600]}"
    elif d.line is not None and any(w in out for w in FILE_WIDE):
        pass
    elif d.line is not None and not any(f"{shown}{sep}{d.line}" in out for sep in (":", ":第")) \
            and f":{d.line}" not in out and f"line {d.line}" not in out:
        res.verdict, res.detail = "no_line", f"line {d.line} not named: {out.strip()[:600]}"
    elif d.names and d.names not in out:
        res.verdict, res.detail = "vague", f"message does not name {d.names}: {out.strip()[:600]}"
    elif sum(ln.startswith("error:") for ln in out.splitlines()) > 1:
        res.verdict, res.detail = "vague", f"more than one error line: {out.strip()[:600]}"
    return res


def run_all(only: str | None, keep: Path | None, kind: str | None = None,
            extra: list[Seed] | None = None) -> list[Result]:
    """Every damage of every seed (or, with ``extra``, of those only: the valid seeds are still the other inputs)."""
    work = Path(tempfile.mkdtemp(prefix="pm_fuzz_", dir=keep))
    all_seeds = seeds() + (extra or [])
    valid = _valid_files(work, all_seeds)
    base_ws = _base_workspace(work, valid)
    before = snapshot(base_ws)
    results: list[Result] = []
    n = 0
    for s in extra or all_seeds:
        if only and only not in s.name:
            continue
        for d in damages(s):
            if kind and kind not in d.kind:
                continue
            n += 1
            case = work / f"c{n:04d}_{d.kind}"
            case.mkdir()
            if d.directory:
                path = case / s.name
                path.mkdir()
                (path / "inner.txt").write_text("x")
            else:
                name = s.name if d.kind not in ("csv_named_xlsx",) else Path(s.name).stem.split(".")[0] + ".xlsx"
                path = case / name
                path.write_bytes(d.data if d.raw else pack(s, d.data))
            shown = path.name
            # file run
            args = ["reconcile", *_role_args(s, path, valid, file_run=True), "--out", str(case / "out")]
            code, out, tb = _invoke(args)
            r = _judge(s, d, "reconcile", code, out, tb, shown)
            r.args = args
            results.append(r)
            # ingest into a workspace already holding data
            ws = case / "w.duckdb"
            shutil.copyfile(base_ws, ws)
            args = ["ingest", "--workspace", str(ws), *_role_args(s, path, valid, file_run=False)]
            code, out, tb = _invoke(args)
            r = _judge(s, d, "ingest", code, out, tb, shown)
            r.args = args
            if code != 0 and r.verdict != "crash" and snapshot(ws) != before:
                r.verdict, r.detail = "changed", "the workspace changed after a failed ingest"
            want = EXPECT_FEN.get(("erp" if s.config else "canonical", d.kind))
            if code == 0 and s.role in TABLE and d.line and s.text and s.pack != "xlsx":
                got = _stored_fen(ws, s, path, d.line)
                if want is not None and got != want:
                    r.verdict, r.detail = "wrong_value", f"line {d.line} stored as {got} fen, not {want}"
            elif code != 0 and want is not None and s.role in TABLE and s.role != "instalments" and s.text:
                # (a flows CSV's "-0.00" is refused as "must not be negative", clearly: left as it is)
                r.verdict, r.detail = "refused_documented", f"README accepts it as {want} fen: {out.strip()[:400]}"
            results.append(r)
            if d.kind in WORKSPACE_RUN_KINDS:
                # a file run with --workspace stores its files first (the valid ones are stored already: the same
                # file again changes nothing), then reconciles: the damaged one stops it with nothing changed
                ws = case / "wr.duckdb"
                shutil.copyfile(base_ws, ws)
                args = ["reconcile", *_role_args(s, path, valid, file_run=True), "--workspace", str(ws),
                        "--out", str(case / "wout")]
                code, out, tb = _invoke(args)
                r = _judge(s, d, "reconcile-ws", code, out, tb, shown)
                r.args = args
                if code != 0 and r.verdict != "crash" and snapshot(ws) != before:
                    r.verdict, r.detail = "changed", "the workspace changed after a failed reconcile --workspace"
                results.append(r)
            if keep is None:
                shutil.rmtree(case, ignore_errors=True)
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main(argv: list[str] | None = None, extra: list[Seed] | None = None, doc: str = __doc__) -> int:
    """The command line; ``extra``: damage these seeds instead of this script's own (bench/fuzz_inputs2.py)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--only", help="only seeds whose file name contains this")
    ap.add_argument("--kind", help="only damage whose name contains this")
    ap.add_argument("--show-accepted", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the damaged files and workspaces under this folder")
    a = ap.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = run_all(a.only, a.keep, a.kind, extra)
    bad = [r for r in results if r.verdict not in ("ok_error", "accepted")]
    for r in results:
        if r.verdict == "accepted" and a.show_accepted:
            print(f"accepted  {r.seed:32} {r.kind:22} {r.command:9} {r.detail[:100]}")
    for r in bad:
        print(f"{r.verdict.upper():9} {r.seed:32} {r.kind:22} {r.command:9}\n    {r.detail[:1500]}\n    "
              f"paymatch {' '.join(r.args)}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    print(f"{len(results)} runs in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
