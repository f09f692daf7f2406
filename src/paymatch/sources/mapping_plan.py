"""Which column of an ERP export is which canonical field (``[inputs.<kind>]`` of the config): the header row found,
the configured names matched to its cells (a day and a clock time in two columns read as one time), and the values
each field's words map to."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..channels.profiles import header_key
from ..config import SplitTime
from ..errors import LoadError, Problem
from ..money import format_yuan
from .mapping_read import cells_text
from .specs import SPECS, Field

#: what exports write in a time column for "no time" (CRMEB's 支付时间 of an unpaid order: 暂无): empty
_NO_TIME = {"暂无": "", "无": "", "-": "", "--": "", "—": "", "——": "", "/": ""}
#: export words → canonical values; they apply in a mapped file, and the config's ``values`` win over them
SYNONYMS: dict[str, dict[str, dict[str, str]]] = {
    "orders": {
        "status": {"已支付": "paid", "支付成功": "paid", "已付款": "paid", "待支付": "unpaid", "未支付": "unpaid",
                   "待付款": "unpaid", "未付款": "unpaid", "已关闭": "closed", "已取消": "closed", "交易关闭": "closed",
                   "已退款": "refunded", "部分退款": "partially_refunded",
                   # a mall's or POS's stages after the payment (delivery, pickup, review): the money came in; an
                   # order whose refund is under way is still paid (the refund is the refunds export's row)
                   "待发货": "paid", "未发货": "paid", "已发货": "paid", "待收货": "paid", "已收货": "paid",
                   "待评价": "paid", "已完成": "paid", "交易成功": "paid", "交易完成": "paid", "待核销": "paid",
                   "未核销": "paid", "已核销": "paid", "退款中": "paid", "正在退款": "paid",
                   "已过期": "closed", "已失效": "closed", "已作废": "closed", "全额退款": "refunded",
                   "已部分退款": "partially_refunded",
                   # Taobao's and Youzan's long forms
                   "等待买家付款": "unpaid", "等待付款": "unpaid", "买家已付款": "paid", "等待卖家发货": "paid",
                   "等待商家发货": "paid", "卖家已发货": "paid", "商家已发货": "paid", "等待买家确认收货": "paid"},
        "channel": {"微信": "wechat", "微信支付": "wechat", "支付宝": "alipay", "支付宝支付": "alipay", "花呗": "huabei",
                    "蚂蚁花呗": "huabei", "银联": "unionpay", "银联支付": "unionpay", "云闪付": "unionpay",
                    "余额": "balance", "余额支付": "balance", "储值": "balance", "储值卡": "balance", "积分": "points",
                    "积分支付": "points", "京东白条": "baitiao", "白条": "baitiao", "微信小程序": "wechat",
                    "微信小程序支付": "wechat", "微信扫码支付": "wechat", "支付宝扫码支付": "alipay",
                    "储值卡支付": "balance", "储值支付": "balance", "会员卡": "balance", "会员卡支付": "balance",
                    "会员余额": "balance"},
        "created_at": _NO_TIME, "paid_at": _NO_TIME,
    },
    "refunds": {"status": {"退款成功": "success", "已退款": "success", "退款中": "processing", "处理中": "processing",
                           "退款失败": "failed", "退款完成": "success", "待审核": "processing", "审核中": "processing",
                           "待处理": "processing", "申请中": "processing",
                           # a refund the shop turned down or the buyer withdrew: no money goes back
                           "已拒绝": "failed", "拒绝退款": "failed", "退款关闭": "failed", "已驳回": "failed",
                           "商家拒绝": "failed", "待退款": "processing", "退款处理中": "processing",
                           # a refund export's own status column: done is the money gone back
                           "已完成": "success", "完成": "success", "成功": "success"},
                "created_at": _NO_TIME},
}
#: id columns an Excel re-save can turn into a rounded number
_IDS = ("order_no", "refund_no", "merchant_id")
_MARK = "_pm_unmapped_value"
_FS, _RS = "\x1f", "\x1e"
#: a yuan amount with a currency sign, a trailing 元 and/or thousands separators that are well formed
_MONEY_RX = r"(?:[+-]?[¥￥]?|[¥￥][+-])\s*(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2}0{0,3})?\s*元?"


def _rewrites(mapping) -> bool:
    """Whether the mapping changes values, not only names: then a header with the canonical names is mapped too."""
    return _fen(mapping) or (mapping is not None and any(isinstance(v, SplitTime) for v in mapping.columns.values()))


def _fen(mapping) -> bool:
    """Whether the mapped export writes its amounts in fen (``amount_unit = "fen"``)."""
    return mapping is not None and mapping.amount_unit == "fen"


@dataclass(frozen=True)
class _Plan:
    """Where the header is and what it holds: ``line`` (1-based), ``cells`` as written, ``found``
    (canonical column → index of the export's column), ``canonical`` (read as canonical, no mapping)."""

    line: int
    cells: list[str]
    found: dict[str, int]
    canonical: bool
    #: a time in two columns: canonical column → index of its clock-time column (``found`` has its day's)
    joined: dict[str, int] = field(default_factory=dict)


def _resolve(kind: str, mapping, rows: list[list[str]], comma_rows: list[list[str]], source: Path) -> _Plan:
    """Find the header row: the canonical one (first line, or for a mapped file or .xlsx any of the first
    rows) or the one holding every mapped column (``header_line`` when configured)."""
    required = {f.name for f in SPECS[kind] if f.required}

    def canonical(row: list[str]) -> bool:
        # a mapping that rewrites values (amounts in fen, a time in two columns) applies to canonical names too
        return {c.strip() for c in row} >= required and not _rewrites(mapping)

    if comma_rows and canonical(comma_rows[0]):
        return _Plan(1, comma_rows[0], {}, True)
    if mapping is None:  # an .xlsx without a mapping: canonical or nothing
        for n, row in enumerate(comma_rows, 1):
            if canonical(row):
                return _Plan(n, row, {}, True)
        raise LoadError([Problem(str(source), None, None, None,
                                 f"no row among the first {len(rows)} has the canonical {kind} columns "
                                 f"({', '.join(f.name for f in SPECS[kind] if f.required)})")],
                        hint=f"name the export's columns under [inputs.{kind}.columns] in the config file "
                             "(see config.example.toml)")
    if not any(rows):
        raise LoadError([Problem(str(source), 1, None, None, "file is empty (no header line)")],
                        hint="export the file again from the ERP; nothing from it was stored")
    best: tuple[int, list[str], list[str]] | None = None
    for n in [mapping.header_line] if mapping.header_line else range(1, len(rows) + 1):
        row = rows[n - 1] if n <= len(rows) else []
        if not mapping.header_line and canonical(comma_rows[n - 1]):
            return _Plan(n, comma_rows[n - 1], {}, True)
        found, missing, joined = _match(kind, mapping, row)
        if not missing:
            return _Plan(n, row, found, False, joined)
        if best is None or len(missing) < len(best[2]):
            best = (n, row, missing)
    n, row, missing = best
    where = (f"line {n} (header_line)" if mapping.header_line else
             f"none of the first {len(rows)} lines has every configured column; the closest, line {n},")
    raise LoadError([Problem(str(source), n, None, None, f"{where} lacks the column(s) {'; '.join(missing)}; "
                                                         f"it has: {cells_text(row) or '(nothing)'}")],
                    hint=f"fix [inputs.{kind}] columns (a list gives alternative names) or header_line in the config file")


def _match(kind: str, mapping, cells: list[str]) -> tuple[dict[str, int], list[str], dict[str, int]]:
    """(canonical column → the export's column index, what the row lacks, the clock-time column of each time
    written in two columns)."""
    keys: dict[str, int] = {}
    for i, c in enumerate(cells):
        keys.setdefault(header_key(c), i)
    found, missing, joined = {}, [], {}
    for f in SPECS[kind]:
        conf = mapping.columns.get(f.name)
        if isinstance(conf, SplitTime):
            day, clock = keys.get(header_key(conf.date)), keys.get(header_key(conf.time))
            if day is not None and clock is not None:
                found[f.name], joined[f.name] = day, clock
            else:
                missing.append(f"{' + '.join(n for n, i in ((conf.date, day), (conf.time, clock)) if i is None)} "
                               f"({f.name})")
            continue
        names = [conf] if isinstance(conf, str) else (conf or [f.name])
        idx = next((keys[header_key(n)] for n in names if header_key(n) in keys), None)
        if idx is not None:
            found[f.name] = idx
        elif conf is not None or f.required:
            missing.append(f"{' / '.join(names)} ({f.name}{'' if conf is not None else ', not configured'})")
    return found, missing, joined


def _values(kind: str, mapping, f: Field) -> dict[str, str]:
    """The value map of one column: built-in words, then the config's (keys compared trimmed, lower-case)."""
    fold = bool(f.values) or f.fold_case
    user = {k.strip().lower(): (v.strip().lower() if fold else v) for k, v in mapping.values.get(f.name, {}).items()}
    if f.kind == "money" and _fen(mapping):  # a word mapped to an amount in fen: given to the loader in yuan
        user = {k: format_yuan(int(v)) if re.fullmatch(r"\s*[+-]?[0-9]{1,16}\s*", v) else v for k, v in user.items()}
    return {**SYNONYMS[kind].get(f.name, {}), **user}
