"""Bad input everywhere, round 3: the files a shop writes itself, damaged one way at a time (helper-112).

Seeds, each valid and run first to record its outcomes: a TOML config (match, methods, fee rates, stores, an ERP
mapping of orders and refunds with values, header_line, delimiter, amount_unit) with an ERP orders and refunds
export and canonical transactions; the same config as YAML; a shop's own bill profile (a Lakala-like export the
built-in profiles do not recognise) in its ``[bills] profile_dirs`` folder; a shop's own instalment flow profile
(JD Baitiao 分期 "k/n") in ``[instalments] flow_profile_dirs``. Each damage (typos in keys and values, wrong types,
a column mapped twice, an unknown channel, a regex that does not compile, a YAML key given twice, empty lists,
huge numbers, a YAML anchor bomb, a BOM, CRLF, tabs, full-width characters, Chinese keys, …) is run through
``paymatch reconcile`` (file run) and judged by what it is:

* ``error``: exit 2, one ``error:`` naming the file, its line (``file:N``) and the key; no traceback;
* ``same``: a harmless change (BOM, CRLF, …): exit 0 with the seed's outcomes exactly;
* ``either``: one of the two (a value the reader may take or refuse, never misread);
* ``warn``: exit 0 allowed only when the output names the config file's line of the value (the outcomes change:
  the user must be told which key did it), else ``error``.

    PYTHONPATH=src .venv/bin/python bench/fuzz_config3.py [--only profile] [--kind bom] [--show-accepted] [--keep DIR]

Exit status 1 when a run broke the contract.

Result (one run each, in process, one core): on e44c0ef (before the fixes) 138 runs, 25 contract breaks (136 runs
in 131 s with ``--skip anchor_bomb_``: 14 no_line, 7 silent, 1 crash, 1 vague; the 2 YAML config anchor bombs are not
in that count: each got the process killed for its memory); after (bf95f76) 138 runs, 0 breaks, 155 s (see
bench/RESULTS.md "Fuzz round 3 (helper-112)").
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_inputs as fi  # noqa: E402  (its CliRunner and the ERP export rows)

ROOT = fi.ROOT
PROFILES = ROOT / "src" / "paymatch" / "profiles"

# --- the seeds' data ---------------------------------------------------------------------------------------------

ERP_REFUNDS = "退款单号,订单编号,退款金额,申请时间,退款状态\r\nRF1,E1,10.00,2026/11/20 13:00:00,退款成功\r\n"
TX = ("channel,merchant_id,channel_tx_id,order_no,type,refund_no,channel_refund_id,amount,fee,settle_amount,status,"
      "occurred_at,bill_date,method\n"
      "wechat,1600000001,WX1,E1,payment,,,1234.50,7.50,1234.50,success,2026-11-20 10:00:06,2026-11-20,wechat\n"
      "alipay,1600000001,AL2,E2,payment,,,20.00,0.12,20.00,success,2026-11-20 11:00:06,2026-11-20,alipay\n"
      "wechat,1600000001,WX1R,E1,refund,RF1,WXR1,10.00,-0.06,10.00,success,2026-11-20 13:00:06,2026-11-20,wechat\n")

CONFIG = """\
# the shop's rules
[match]
amount_tolerance_fen = 0
cross_day_grace_minutes = 10
max_time_gap_minutes = 1440

[methods]
internal = ["balance"]
[methods.settle_channel]
wechat = "wechat"
alipay = "alipay"

[fees]
tolerance_fen = 0
[[fees.rates]]
channel = "wechat"
rate = "0.6%"
[[fees.rates]]
channel = "alipay"
rate = "0.6%"

[stores]
"1600000001" = "S01"

[inputs.orders]
delimiter = ","
amount_unit = "yuan"
[inputs.orders.columns]
order_no = "订单编号"
store_id = "门店编码"
merchant_id = "商户号"
channel = "支付方式"
amount = "实付金额（元）"
status = "订单状态"
created_at = "下单时间"
paid_at = "支付时间"
[inputs.orders.values.status]
"已支付" = "paid"
[inputs.orders.values.channel]
"微信支付" = "wechat"

[inputs.refunds]
header_line = 1
[inputs.refunds.columns]
refund_no = "退款单号"
order_no = "订单编号"
amount = "退款金额"
created_at = "申请时间"
status = "退款状态"
"""

CONFIG_YAML = """\
# the shop's rules
match:
  amount_tolerance_fen: 0
  cross_day_grace_minutes: 10
methods:
  internal: [balance]
  settle_channel:
    wechat: wechat
    alipay: alipay
fees:
  rates:
    - channel: wechat
      rate: "0.6%"
    - channel: alipay
      rate: "0.6%"
stores:
  "1600000001": S01
inputs:
  orders:
    columns:
      order_no: 订单编号
      store_id: 门店编码
      merchant_id: 商户号
      channel: 支付方式
      amount: 实付金额（元）
      status: 订单状态
      created_at: 下单时间
      paid_at: 支付时间
  refunds:
    columns:
      refund_no: 退款单号
      order_no: 订单编号
      amount: 退款金额
      created_at: 申请时间
      status: 退款状态
"""


def _shop_bill() -> bytes:
    """Lakala's sample renamed so that only the shop's own profile reads it (no built-in sniff matches)."""
    text = (PROFILES / "samples" / "lakala.csv").read_bytes().decode("gbk")
    return text.replace("拉卡拉商户交易明细", "本店收款明细").replace("终端号", "机具号").encode("gbk")


SHOP_PROFILE = (PROFILES / "lakala.yaml").read_text(encoding="utf-8").replace(
    "name: lakala", "name: shop_pos").replace("regex: '拉卡拉'", "regex: '本店收款明细'").replace(
    "headers: [终端号, [交易流水号, 拉卡拉流水号]]", "headers: [机具号, [交易流水号, 拉卡拉流水号]]")


def _shop_flows() -> bytes:
    return (PROFILES / "samples" / "jd_baitiao_instalment_flows.csv").read_bytes().replace(
        "京东白条分期还款明细".encode(), "本店白条分期明细".encode())


FLOW_PROFILE = (PROFILES / "jd_baitiao_instalment_flows.yaml").read_text(encoding="utf-8").replace(
    "name: jd_baitiao_instalment_flows", "name: shop_flows").replace(
    "regex: '白条分期还款明细'", "regex: '本店白条分期明细'")
FLOW_ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at,instalments\n"
               "BT1001,S01,110223344001,baitiao,300.01,paid,2026-09-10 09:59:00,2026-09-10 09:59:30,3\n"
               "BT1002,S01,110223344001,baitiao,12000.00,paid,2026-09-15 08:29:00,2026-09-15 08:29:30,12\n")
FLOW_CONFIG = """\
[instalments]
flow_profile_dirs = ["flows"]
[instalments.channels.baitiao]
rates_bp = { 3 = 0, 12 = 0 }
per_period = true
"""

# --- damage ------------------------------------------------------------------------------------------------------


@dataclass
class Damage:
    kind: str
    text: str | bytes
    expect: str                 # error | same | either | warn | changes (exit 0, other outcomes as configured)
    names: str | None = None    # a word the error (or warning) must hold: the key or the value
    #: the line it must name: a number (0: any clear error, the data file's included), text found on it, or None:
    #: the line of ``names`` in the damaged text
    line: int | str | None = None


def _sub(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"seed lacks {old!r}")
    return text.replace(old, new, 1)


def _cosmetic(text: str) -> list[Damage]:
    """Harmless to any UTF-8 TOML/YAML file: the outcomes must be the seed's."""
    return [
        Damage("bom", "\ufeff" + text, "same"),
        Damage("crlf", text.replace("\n", "\r\n"), "same"),
        Damage("trailing_blanks", text.replace("\n", "   \n"), "same"),
        Damage("chinese_comment", "# 本店规则：每日对账\n" + text, "same"),
        Damage("gbk_file", ("# 本店规则\n" + text).encode("gbk"), "error", None, 1),
        Damage("nul", text.replace("\n", "\n\x00", 3), "error", None, 0),
        Damage("empty_file", "", "either"),  # (a config without keys: the defaults; a profile: refused)
    ]


def toml_damages(text: str) -> list[Damage]:
    d = _cosmetic(text)
    d += [
        Damage("tabs_indent", text.replace("\nrate = ", "\n\trate = "), "same"),
        Damage("typo_key_match", _sub(text, "amount_tolerance_fen", "amount_tolerence_fen"), "error",
               "amount_tolerence_fen"),
        Damage("typo_section_orders", _sub(text, "[inputs.orders.columns]", "[inputs.order.columns]"), "error",
               "inputs.order", "[inputs.order.columns]"),
        Damage("typo_key_columns", _sub(text, "[inputs.orders.columns]", "[inputs.orders.colums]"), "error",
               "colums"),
        Damage("typo_values", _sub(text, "[inputs.orders.values.status]", "[inputs.orders.value.status]"), "error",
               "inputs.orders.value", "[inputs.orders.value.status]"),
        Damage("typo_canonical_column", _sub(text, "paid_at = ", "payed_at = "), "error", "payed_at"),
        Damage("chinese_key", _sub(text, "paid_at = ", "支付时间 = "), "error", "支付时间"),
        Damage("fullwidth_key", _sub(text, "paid_at = ", "ｐａｉｄ_at = "), "error", "ｐａｉｄ_at"),
        Damage("fullwidth_header_name", _sub(text, '"实付金额（元）"', '"实付金额(元)"'), "same"),
        Damage("header_blank_padded", _sub(text, '"订单状态"', '" 订单状态 "'), "same"),
        Damage("amount_unit_typo", _sub(text, 'amount_unit = "yuan"', 'amount_unit = "Yuan"'), "error", "amount_unit"),
        Damage("amount_unit_fen", _sub(text, 'amount_unit = "yuan"', 'amount_unit = "fen"'), "error", None, 0),
        Damage("item_rows_typo", _sub(text, 'amount_unit = "yuan"', 'item_rows = "summ"'), "error", "item_rows"),
        Damage("item_rows_sum", _sub(text, 'amount_unit = "yuan"', 'item_rows = "sum"'), "same"),
        Damage("delimiter_two", _sub(text, 'delimiter = ","', 'delimiter = ",,"'), "error", "delimiter"),
        Damage("delimiter_fullwidth", _sub(text, 'delimiter = ","', 'delimiter = "，"'), "error", None, 0),
        Damage("delimiter_tab", _sub(text, 'delimiter = ","', 'delimiter = "\\t"'), "error", None, 0),
        Damage("header_line_str", _sub(text, "header_line = 1", 'header_line = "1"'), "either", "header_line"),
        Damage("header_line_wrong", _sub(text, "header_line = 1", "header_line = 2"), "error", None, 0),
        Damage("header_line_zero", _sub(text, "header_line = 1", "header_line = 0"), "error", "header_line"),
        Damage("header_line_huge", _sub(text, "header_line = 1", "header_line = 99999999999999999999999"), "error",
               "header_line"),
        Damage("sheet_on_csv", _sub(text, 'delimiter = ","', 'sheet = "订单"'), "same"),
        Damage("sheet_number", _sub(text, 'delimiter = ","', "sheet = 1"), "error", "sheet"),
        Damage("columns_list_empty", _sub(text, 'amount = "实付金额（元）"', "amount = []"), "error", "amount",
               "amount = []"),
        Damage("columns_list_alt", _sub(text, 'amount = "实付金额（元）"', 'amount = ["实收金额", "实付金额（元）"]'), "same"),
        Damage("columns_int", _sub(text, 'amount = "实付金额（元）"', "amount = 5"), "error", "amount"),
        Damage("order_no_unmapped", _sub(text, 'order_no = "订单编号"\nstore_id', 'store_id'), "error", None, 0),
        Damage("column_mapped_twice_same_header",
               _sub(text, 'created_at = "下单时间"', 'created_at = "支付时间"'), "changes"),
        Damage("two_canonical_same_header_amount",
               _sub(text, 'store_id = "门店编码"', 'store_id = "商户号"'), "changes"),
        Damage("key_twice", _sub(text, 'order_no = "订单编号"', 'order_no = "订单编号"\norder_no = "门店编码"'), "error",
               "order_no", 'order_no = "门店编码"'),
        Damage("value_word_unknown_status", _sub(text, '"已支付" = "paid"', '"已支付" = "payed"'), "error", "payed", '"已支付" = "payed"'),
        Damage("value_word_int", _sub(text, '"已支付" = "paid"', '"已支付" = 1'), "error", "已支付"),
        Damage("values_column_unknown", _sub(text, "[inputs.orders.values.status]", "[inputs.orders.values.state]"),
               "error", "state", "[inputs.orders.values.state]"),
        Damage("settle_channel_unknown", _sub(text, 'wechat = "wechat"', 'wechat = "wechta"'), "warn", "wechta"),
        Damage("settle_channel_fullwidth", _sub(text, 'wechat = "wechat"', 'wechat = "ｗｅｃｈａｔ"'), "warn",
               "ｗｅｃｈａｔ"),
        Damage("settle_channel_int", _sub(text, 'wechat = "wechat"', "wechat = 1"), "error", "wechat"),
        Damage("settle_channel_blank", _sub(text, 'wechat = "wechat"', 'wechat = ""'), "error", "wechat"),
        Damage("settle_channel_upper", _sub(text, 'wechat = "wechat"', 'wechat = "WeChat"'), "same"),
        Damage("internal_not_list", _sub(text, 'internal = ["balance"]', 'internal = "balance"'), "error", "internal"),
        Damage("internal_empty", _sub(text, 'internal = ["balance"]', "internal = []"), "same"),
        Damage("fee_channel_unknown", _sub(text, 'channel = "wechat"', 'channel = "wehcat"'), "warn", "wehcat"),
        Damage("fee_channel_fullwidth", _sub(text, 'channel = "wechat"', 'channel = "ｗｅｃｈａｔ"'), "warn", "ｗｅｃｈａｔ"),
        Damage("fee_channel_padded", _sub(text, 'channel = "wechat"', 'channel = " WeChat "'), "same"),
        Damage("fee_rate_fullwidth_pct", _sub(text, 'rate = "0.6%"', 'rate = "0.6％"'), "error", "rate", "0.6％"),
        Damage("fee_rate_comma", _sub(text, 'rate = "0.6%"', 'rate = "0,6%"'), "error", "rate", "0,6%"),
        Damage("fee_rate_fraction", _sub(text, 'rate = "0.6%"', "rate = 0.006"), "same"),
        Damage("fee_rates_empty", _sub(text, "[fees]\n", "[fees]\nrates = []\n"), "error", None, 0),
        Damage("fee_tolerance_huge", _sub(text, "tolerance_fen = 0", "tolerance_fen = 9223372036854775808"),
               "error", "tolerance_fen"),
        Damage("fee_cap_huge", _sub(text, 'rate = "0.6%"', 'rate = "0.6%"\ncap_fen = 99999999999999999999'),
               "error", "cap_fen"),
        Damage("tolerance_huge", _sub(text, "amount_tolerance_fen = 0", "amount_tolerance_fen = 9223372036854775807"),
               "error", "amount_tolerance_fen"),
        Damage("tolerance_bigger_than_int64",
               _sub(text, "amount_tolerance_fen = 0", "amount_tolerance_fen = 99999999999999999999"), "error",
               "amount_tolerance_fen"),
        Damage("time_gap_huge", _sub(text, "max_time_gap_minutes = 1440", "max_time_gap_minutes = 9223372036854775807"),
               "error", "max_time_gap_minutes"),
        Damage("time_gap_float", _sub(text, "max_time_gap_minutes = 1440", "max_time_gap_minutes = 1440.0"), "either",
               "max_time_gap_minutes"),
        Damage("grace_str", _sub(text, "cross_day_grace_minutes = 10", 'cross_day_grace_minutes = "10"'), "either",
               "cross_day_grace_minutes"),
        Damage("store_int", _sub(text, '"1600000001" = "S01"', '"1600000001" = 1'), "error", "1600000001"),
        Damage("store_fullwidth_number", _sub(text, '"1600000001" = "S01"', '"１６００００００００１" = "S01"'), "either",
               "１６００００００００１"),
        Damage("section_twice", text + "\n[match]\namount_tolerance_fen = 1\n", "error", None, 0),
        Damage("array_of_tables_typo", _sub(text, "[[fees.rates]]", "[[fees.rate]]"), "error", "fees.rate", "[[fees.rate]]"),
        Damage("profile_dirs_empty", text + "\n[bills]\nprofile_dirs = []\n", "same"),
        Damage("profile_dirs_str", text + '\n[bills]\nprofile_dirs = "shop"\n', "error", "profile_dirs"),
    ]
    return d


#: a billion laughs: 9 levels of 9 aliases each, 9^9 strings when walked
BOMB = "l0: &l0 [a, b, c, d, e, f, g, h, i]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i-1}'] * 9)}]\n" for i in range(1, 10))


def _indented(text: str) -> str:
    return "".join("  " + ln + "\n" for ln in text.splitlines())


def yaml_config_damages(text: str) -> list[Damage]:
    d = _cosmetic(text)
    d += [
        Damage("tabs_indent", text.replace("  order_no:", "\torder_no:"), "error", None, 0),
        Damage("typo_key", _sub(text, "amount_tolerance_fen", "amount_tolerence_fen"), "error", "amount_tolerence_fen"),
        Damage("key_twice", _sub(text, "      order_no: 订单编号\n", "      order_no: 订单编号\n      order_no: 门店编码\n"),
               "error", "order_no", "order_no: 门店编码"),
        Damage("store_key_twice", _sub(text, '  "1600000001": S01\n', '  "1600000001": S01\n  "1600000001": S02\n'),
               "error", "1600000001", "S02"),
        Damage("anchor_bomb_instalments", text + "instalments:\n" + _indented(BOMB), "error", "anchor bomb",
               "l5: &l5"),
        Damage("anchor_bomb_channels", text + "channels:\n" + _indented(BOMB), "error", "anchor bomb", "l5: &l5"),
        Damage("anchor_reuse_ok", _sub(text, "  refunds:\n    columns:\n      refund_no", "  refunds:\n    columns: &rc\n"
                                       "      refund_no"), "same"),
        Damage("yes_as_bool_store", _sub(text, '  "1600000001": S01', "  \"1600000001\": yes"), "error", "1600000001"),
        Damage("norway_channel", _sub(text, "    alipay: alipay\n", "    alipay: alipay\n    huabei: no\n"), "error",
               "huabei"),
        Damage("number_key_unquoted", _sub(text, '  "1600000001": S01', "  1600000001: S01"), "either", "1600000001"),
        Damage("number_key_octal", _sub(text, '  "1600000001": S01', "  01600000001: S01"), "either", "stores",
               "stores:"),
        Damage("list_for_table", _sub(text, "  orders:\n    columns:", "  orders:\n    - columns:"), "error", "orders"),
        Damage("top_level_list", "- a\n- b\n", "error", None, 0),
    ]
    return d


def profile_damages(text: str, flow: bool = False) -> list[Damage]:
    d = _cosmetic(text)
    amount_line = "  amount: 本期还款金额(元)\n" if flow else "  amount: [交易金额, 交易金额(元)]\n"
    fee_line = "  fee: 本期手续费(元)\n" if flow else "  fee: [手续费, 手续费(元)]\n"
    d += [
        Damage("tabs_indent", text.replace("\n  amount:", "\n\tamount:"), "error", None, 0),
        Damage("typo_top_key", _sub(text, "columns:", "colums:"), "error", "colums"),
        Damage("typo_column_field", _sub(text, amount_line, amount_line.replace("amount", "amout")), "error", "amout"),
        Damage("chinese_key", _sub(text, amount_line, amount_line.replace("amount", "金额")), "error", "金额"),
        Damage("column_key_twice", _sub(text, amount_line, amount_line + fee_line.replace("fee", "amount")), "error",
               "amount", 2),
        Damage("top_key_twice", _sub(text, "\ncolumns:", "\nfile: {}\ncolumns:"), "error", "file", "file: {}"),
        Damage("two_fields_same_header", _sub(text, fee_line, fee_line.split(":")[0] + ":" + amount_line.split(":", 1)[1]),
               "changes"),
        Damage("fullwidth_header", _sub(text, amount_line, amount_line.replace("(元)", "（元）")), "same"),
        Damage("sniff_regex_bad", _sub(text, "regex: '", "regex: '(["), "error", "regex", "regex: '(["),
        Damage("sniff_headers_empty", text.replace("headers: [", "headers: [], old: [", 1), "error", "old"),
        Damage("status_map_empty", text.replace("  map: {", "  map: {}\n  old: {", 1), "error", "old"),
        Damage("status_value_typo", text.replace(": success", ": sucess", 1), "error", "status.map", "sucess"),
        Damage("channel_int", _sub(text, "\nchannel: ", "\nchannel: 5\nold_channel: "), "error", "channel", "channel: 5"),
        Damage("encoding_typo", text.replace("encoding: ", "encoding: x", 1), "error", "encoding"),
        Damage("anchor_bomb", text + BOMB, "error", "anchor bomb", "l5: &l5"),
        Damage("list_for_mapping", _sub(text, "\ncolumns:\n", "\ncolumns:\n  - x\n"), "error", None, "  - x"),
        Damage("top_level_list", "- a\n", "error", None, 0),
    ]
    if flow:
        d.append(Damage("period_separator_long", _sub(text, "period_separator: /", "period_separator: //"), "error",
                        None, 0))
    else:
        d.append(Damage("type_map_unknown", _sub(text, "消费: payment", "消费: pay"), "error", "pay"))
        d.append(Damage("skip_lines_huge", _sub(text, "  encoding: gbk", "  encoding: gbk\n  skip_lines: 99999999999999999999"),
                        "error", None, 0))
    return d


# --- seeds and running -------------------------------------------------------------------------------------------


@dataclass
class Seed:
    name: str
    text: str
    damages: Callable[[str], list[Damage]]
    #: (case folder, the damaged file) -> the command's arguments (after writing the files the seed needs)
    setup: Callable[[Path, Path], list[str]]
    file_name: str = ""
    results: list = field(default_factory=list)


def _write(case: Path, name: str, data: str | bytes, enc: str = "utf-8") -> Path:
    p = case / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode(enc))
    return p


def _erp_files(case: Path) -> list[str]:
    erp = "\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r) for r in fi.ERP_ROWS) + "\r\n"
    return ["--orders", str(_write(case, "erp_orders.csv", erp, "gbk")),
            "--refunds", str(_write(case, "erp_refunds.csv", ERP_REFUNDS, "gbk")),
            "--transactions", str(_write(case, "tx.csv", TX))]


def _config_setup(case: Path, cfg: Path) -> list[str]:
    return [*_erp_files(case), "--config", str(cfg)]


def _profile_setup(case: Path, prof: Path) -> list[str]:
    cfg = _write(case, "rules.toml", '[bills]\nprofile_dirs = ["shop"]\n')
    golden = fi.GOLDEN
    return ["--orders", str(golden / "orders.csv"), "--bills", str(_write(case, "bill.csv", _shop_bill())),
            "--config", str(cfg)]


def _flow_setup(case: Path, prof: Path) -> list[str]:
    cfg = _write(case, "rules.toml", FLOW_CONFIG)
    return ["--orders", str(_write(case, "orders.csv", FLOW_ORDERS)), "--instalments",
            str(_write(case, "deductions.csv", _shop_flows())), "--as-of", "2026-10-31", "--config", str(cfg)]


def seeds() -> list[Seed]:
    return [
        Seed("rules.toml", CONFIG, toml_damages, _config_setup, "rules.toml"),
        Seed("rules.yaml", CONFIG_YAML, yaml_config_damages, _config_setup, "rules.yaml"),
        Seed("profile", SHOP_PROFILE, profile_damages, _profile_setup, "shop/shop_pos.yaml"),
        Seed("flow_profile", FLOW_PROFILE, lambda t: profile_damages(t, flow=True), _flow_setup, "flows/shop_flows.yaml"),
    ]


def _digest(out: Path) -> str | None:
    p = out / "outcomes.csv"
    if not p.exists():
        return None
    lines = p.read_text(encoding="utf-8").splitlines()
    return hashlib.sha256("\n".join([lines[0], *sorted(lines[1:])]).encode()).hexdigest()


def _line_of(text: str, word: str) -> int | None:
    for no, ln in enumerate(text.splitlines(), 1):
        if word in ln:
            return no
    return None


@dataclass
class Result:
    seed: str
    kind: str
    verdict: str     # ok | accepted | crash | vague | no_line | changed | silent | slow
    detail: str = ""
    args: list[str] = field(default_factory=list)
    seconds: float = 0.0


def judge(d: Damage, code: int, out: str, tb: str, digest: str | None, base: str | None, shown: str,
          text: str) -> tuple[str, str]:
    flat = " ".join(out.replace("│", " ").split())
    if tb:
        return "crash", tb.strip().splitlines()[-1] + "\n" + tb[-2500:]
    if code == 0:
        if digest == base:
            return ("ok" if d.expect in ("same", "either") else "accepted"), ""
        if d.expect == "changes":  # what the user asked for (another column read), other outcomes expected
            return "accepted", "other outcomes, as configured"
        tight = "".join(flat.split())  # (the console wraps long paths)
        if d.expect == "warn" and d.names and d.names in tight and shown in tight:
            line = _line_of(text, d.names)
            if line is None or f"{shown}:{line}" in tight:
                return "accepted", "warned"
        return ("silent" if d.expect != "either" else "changed"), \
            f"exit 0 with other outcomes than the seed's (expected {d.expect}): {flat[-400:]}"
    if d.expect == "same":
        return "refused", f"a harmless change refused: {flat[:600]}"
    if code != 2 or "error:" not in out:
        return "vague", f"exit {code}: {flat[:600]}"
    if sum(ln.startswith("error:") for ln in out.splitlines()) > 1:
        return "vague", f"more than one error line: {flat[:600]}"
    if d.line == 0:  # any clear error (about the data file the setting misreads, for instance)
        return "ok", ""
    if shown not in flat:
        return "vague", f"does not name {shown}: {flat[:600]}"
    line = d.line if isinstance(d.line, int) else _line_of(text, d.line or d.names) if (d.line or d.names) else None
    if line is not None and f"{shown}:{line}" not in flat and f"line {line}" not in flat:
        return "no_line", f"line {line} not named: {flat[:600]}"
    if d.names and d.names not in flat:
        return "vague", f"does not name {d.names!r}: {flat[:600]}"
    return "ok", ""


def run_all(only: str | None, kind: str | None, keep: Path | None, skip: str | None = None) -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix="pm_fuzz3_", dir=keep))
    results: list[Result] = []
    n = 0
    for s in seeds():
        if only and only not in s.name:
            continue
        base_case = work / f"{s.name}_valid"
        prof = _write(base_case, s.file_name, s.text)
        args = ["reconcile", *s.setup(base_case, prof), "--out", str(base_case / "out")]
        code, out, tb = fi._invoke(args)
        if code != 0:
            raise SystemExit(f"seed {s.name} does not run: {out}\n{tb}\n{' '.join(args)}")
        base = _digest(base_case / "out")
        for d in s.damages(s.text):
            if (kind and kind not in d.kind) or (skip and skip in d.kind):
                continue
            n += 1
            case = work / f"c{n:03d}_{s.name}_{d.kind}"
            p = _write(case, s.file_name, d.text)
            args = ["reconcile", *s.setup(case, p), "--out", str(case / "out")]
            t0 = time.perf_counter()
            code, out, tb = fi._invoke(args)
            secs = time.perf_counter() - t0
            text = d.text.decode("utf-8", "replace") if isinstance(d.text, bytes) else d.text
            verdict, detail = judge(d, code, out, tb, _digest(case / "out"), base, p.name, text)
            if verdict in ("ok", "accepted") and secs > 10:
                verdict, detail = "slow", f"{secs:.0f} s"
            results.append(Result(s.name, d.kind, verdict, detail, args, secs))
            if keep is None:
                shutil.rmtree(case, ignore_errors=True)
    if keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="only seeds whose name contains this (rules.toml, rules.yaml, profile, flow)")
    ap.add_argument("--kind", help="only damage whose name contains this")
    ap.add_argument("--skip", help="leave out damage whose name contains this (anchor_bomb, on code before the fix)")
    ap.add_argument("--show-accepted", action="store_true")
    ap.add_argument("--keep", type=Path, help="keep the damaged files under this folder")
    a = ap.parse_args(argv)
    if a.keep:
        a.keep.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = run_all(a.only, a.kind, a.keep, a.skip)
    bad = [r for r in results if r.verdict not in ("ok", "accepted")]
    for r in results:
        if r.verdict == "accepted" and a.show_accepted:
            print(f"accepted  {r.seed:12} {r.kind:34} {r.detail[:100]}")
    for r in bad:
        print(f"{r.verdict.upper():8} {r.seed:12} {r.kind:34}\n    {r.detail[:1500]}\n    paymatch {' '.join(r.args)}")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    print(f"{len(results)} runs in {time.perf_counter() - t0:.0f} s: {len(bad)} contract breaks; "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
