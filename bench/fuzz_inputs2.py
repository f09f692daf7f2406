"""Bad input everywhere, round 2: the readers bench/fuzz_inputs.py does not reach, damaged by its own mutators.

Seeds: an Alipay 账务明细 zip (with its 汇总) and CSV, an Alipay month 业务明细, a WeChat 服务商 trade bill (特约商户号
rows), WeChat fund-flow and REFUND bills as .gz, a whole UnionPay day zip (ZM, ZME, RD 汇总表) and a ZME and an RD
given alone, bills read through five YAML profiles (Lakala, Douyin Pay, the Alipay console export, 银联商务 对账明细
(tab-separated), Meituan as .xlsx), and config files with a bad value deep inside (a tolerance "abc", a grace of -1,
an unknown channel in a mapping, a store mapped twice, …), whose error must name the key.

Each is damaged and run as bench/fuzz_inputs.py runs its own (``reconcile`` file run, ``ingest`` into a workspace
holding data, for some ``reconcile --workspace``), against the same contract: exit 0 (listed as accepted) or exit 2
with one ``error:`` line naming the file (the line, the key), no traceback, the workspace as it was.

    PYTHONPATH=src .venv/bin/python bench/fuzz_inputs2.py [--only lakala] [--kind amount] [--show-accepted] [--keep DIR]
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openpyxl  # noqa: E402

import fuzz_inputs as fi  # noqa: E402  (its import puts the test generators on the path)
from fuzz_inputs import Damage, Seed  # noqa: E402

ab, wb, zg = fi.ab, fi.wb, fi.zg
sys.path.insert(0, str(fi.ROOT / "tests" / "channels" / "unionpay"))
from acp_fake_server import day_zip  # noqa: E402

SAMPLES = fi.ROOT / "src" / "paymatch" / "profiles" / "samples"
MER = "802310048993424"
ZME_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 2, 6, 10, 4, 12, 13, 13, 15, 15, 1, 12, 2, 135]


def _zme() -> bytes:
    """A ZME (差错) file of two lines in the ACP demo's widths (as tests/channels/unionpay/test_unionpay_zm.py)."""
    def line(amount_fen: int, trace: str) -> bytes:
        values = {0: "E22", 3: trace, 4: "0916153000", 5: "6216***********0018", 6: f"{amount_fen:012d}", 7: "5411",
                  8: "07", 14: "D000000000006", 15: "C000000000994", 16: MER}
        return b" ".join(values.get(i, "").encode().ljust(w) for i, w in enumerate(ZME_WIDTHS)) + b" "
    return zg.zm_file([line(1000, "654321"), line(250, "654322")])


def _zm() -> bytes:
    return zg.zm_file([zg.zm_line(), zg.zm_line(query_id="201909161055160000002", order_id="ORDER-2",
                                                amount_fen=2500, fee="D000000000015", settle="C000000002485")])


def _rd() -> bytes:
    return zg.rd_report(mer_id=MER, settle="20190917", count=2, amount=("0.00", "35.00"), fee=("0.21", "0.00"),
                        net=("0.00", "34.79"))


def _pack_day_zip(s: Seed, data: bytes) -> bytes:
    return day_zip({fi.ZM_NAME: data, f"INN19091788ZME_{MER}": _zme(), f"RD201019091701_{MER}": _rd()})


def _pack_fund_zip(s: Seed, data: bytes) -> bytes:
    rows = ab.fund_rows()
    return fi._zip_bytes([(f"{ab.ACCOUNT}_20190916_账务明细.csv", data),
                          (f"{ab.ACCOUNT}_20190916_账务明细(汇总).csv", ab.fund_summary_bytes(rows))])


fi.PACKERS.update({"dayzip": _pack_day_zip, "fundzip": _pack_fund_zip})


def _sheet_text(path: Path) -> bytes:
    """A workbook's first sheet as CSV text (the seed the line mutators damage; packed back as .xlsx)."""
    ws = openpyxl.load_workbook(path).active
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in ws.iter_rows(values_only=True):
        w.writerow(["" if v is None else str(v) for v in row])
    return buf.getvalue().encode("gbk")


def _month_detail() -> bytes:
    text = ab.detail_text(ab.sample_rows())
    day_line = text.splitlines()[2]
    month = "#起始日期：[2019年09月01日 00:00:00]   终止日期：[2019年10月01日 00:00:00]"
    return text.replace(day_line, month).encode("gbk")


# --- config files: a bad value deep inside, the key it must name ---------------------------------------------------

CONFIG = fi.CONFIG_TOML + """
[[fees.rates]]
channel = "alipay"
rate = "0.38%"

[inputs.orders.columns]
order_no = "订单编号"

[inputs.orders.values.channel]
"微信支付" = "wechat"
"""


def _config_damages(s: Seed) -> list[Damage]:
    text = s.data.decode()
    cases = [  # (kind, text, the key the error must name)
        ("tolerance_abc", text.replace("amount_tolerance_fen = 0", 'amount_tolerance_fen = "abc"'),
         "amount_tolerance_fen"),
        ("grace_negative", text.replace("cross_day_grace_minutes = 10", "cross_day_grace_minutes = -1"),
         "cross_day_grace_minutes"),
        ("second_rate_bad", text.replace('rate = "0.38%"', 'rate = "0.38"%'), "rate"),
        ("second_rate_channel_unknown", text.replace('channel = "alipay"', 'channel = "alipya"'), "alipya"),
        ("mapping_channel_unknown", text.replace('"微信支付" = "wechat"', '"微信支付" = "wexin"'), "wexin"),
        ("store_mapped_twice", text.replace('"1600000001" = "S01"', '"1600000001" = "S01"\n"1600000001" = "S02"'),
         "1600000001"),
        ("mapping_column_twice", text.replace('order_no = "订单编号"', 'order_no = "订单编号"\namount = "订单编号"'),
         "订单编号"),
        ("rate_negative", text.replace('rate = "0.6%"', 'rate = "-0.6%"'), "rate"),
        ("store_id_empty", text.replace('"1600000001" = "S01"', '"1600000001" = ""'), "1600000001"),
        ("fee_rate_no_channel", text.replace('channel = "alipay"\n', ""), "channel"),
    ]
    return [Damage(k, v.encode(), None, names=names) for k, v, names in cases]


fi.OWN_DAMAGES["rules2.toml"] = _config_damages


#: the damage a profile bill (whose reader the other profile seeds share) and a second Alipay layout get: one of each
#: family (line, encoding, structure, amount, time, file); the channels' own readers get every kind
SAMPLE = ("truncated_mid_field", "nul_byte", "mixed_encoding", "extra_field", "open_quote", "header_repeated",
          "missing_column", "empty_file", "amount_12.3.4", "amount_overflow", "amount_yen_sign", "amount_1e5",
          "time_feb30", "time_24h", "time_year_0001", "zip_corrupt", "xlsx_truncated")


def seeds() -> list[Seed]:
    fund = ab.fund_text(ab.fund_rows()).encode("gbk")
    sp_rows = [wb.payment(1, 10000, fee_fen=60, sub_mch="1900000201"), wb.payment(2, 2000, fee_fen=12,
                                                                                  sub_mch="1900000202")]
    sp = wb.trade_bill(sp_rows)
    ff = wb.fundflow_bill([("2026-11-20 10:00:00", "收入", 10000, 10000), ("2026-11-20 11:00:00", "支出", 3000, 7000)])
    refund = wb.trade_bill([wb.refund(1, 3000, fee_fen=-18)], "REFUND")
    ali_fund = dict(encoding="gbk", header=4, first=5, last=-5, amount="收入金额（+元）", time="发生时间")
    return [
        Seed(f"{ab.ACCOUNT}_20190916_账务明细.zip", "bills", fund, pack="fundzip", **ali_fund),
        Seed(f"{ab.ACCOUNT}_20190916_账务明细.csv", "bills", fund, **ali_fund, kinds=SAMPLE),
        Seed(f"{ab.ACCOUNT}_201909_业务明细.csv", "bills", _month_detail(), encoding="gbk", header=4, first=5,
             last=-5, amount="订单金额（元）", time="完成时间", kinds=SAMPLE),
        Seed("wechat_sp_all.csv", "bills", sp, amount="订单金额", time="交易时间", last=-3, kinds=SAMPLE),
        Seed("wechat_fundflow.csv.gz", "bills", ff, amount="收支金额(元)", time="记账时间", last=-3, pack="gz"),
        Seed("wechat_refund.csv.gz", "bills", refund, amount="退款金额", time="交易时间", last=-3, pack="gz"),
        Seed(f"{MER}_20190917.zip", "bills", _zm(), encoding="gbk", text=False, amount=None, fixed_width=True,
             pack="dayzip"),
        Seed(f"INN19091788ZME_{MER}", "bills", _zme(), encoding="gbk", text=False, amount=None),
        Seed("lakala.csv", "bills", (SAMPLES / "lakala.csv").read_bytes(), encoding="gbk", header=1, first=2,
             amount="交易金额", time="交易时间", kinds=SAMPLE),
        Seed("douyin_pay.csv", "bills", (SAMPLES / "douyin_pay.csv").read_bytes(), amount="金额(元)", time="下单时间",
             kinds=SAMPLE),
        Seed("alipay_console.csv", "bills", (SAMPLES / "alipay_merchant_console_export.csv").read_bytes(),
             kinds=SAMPLE, **ali_fund),
        Seed("chinaums_pos.txt", "bills", (SAMPLES / "chinaums_pos.txt").read_bytes(), header=3, first=4, last=-3,
             delim="\t", amount="交易金额", time="交易时间", kinds=SAMPLE),
        Seed("meituan.xlsx", "bills", _sheet_text(SAMPLES / "meituan.xlsx"), encoding="gbk", header=1, first=2,
             amount="订单原价", time="交易时间", pack="xlsx", kinds=SAMPLE),
        Seed("rules2.toml", "config", CONFIG.encode(), text=False, amount=None),
    ]


if __name__ == "__main__":
    sys.exit(fi.main(extra=seeds(), doc=__doc__))
