"""The words a report shows for what is not a figure, one wording per language in every report and sheet.

The label of a value nobody gave (an outcome or a record without a store, a merchant number or a channel): the
reconciliation report said "(none)" where fund flow and the anomaly board said "(unknown)" for the same missing store,
and neither in Chinese. The Chinese names of codes (channels and payment methods, a record's type, fund flow's order
types): a zh report's CSV and Excel cells show 微信支付 where the data holds ``wechat`` (a column declares its
vocabulary, ``model.Column.labels``); the JSON, which programs read, keeps the codes, and so do fund flow's keys
(``--drill`` takes them) and the reconciliation sheets' 类型代码 beside 类型."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from .model import Lang

#: a store (merchant number, channel) an outcome or a record does not name, and no ``[stores]`` entry gives
UNKNOWN: dict[str, str] = {"zh": "(未知)", "en": "(unknown)"}
#: the stable code the fund flow's keys and a machine reading them use for it, whatever the report's language
UNKNOWN_CODE = UNKNOWN["en"]


def unknown(lang: Lang | str) -> str:
    """The label of a missing store, merchant number or channel in ``lang``."""
    return UNKNOWN["zh" if lang == "zh" else "en"]


#: channel and payment-method codes as Chinese finance staff name them (the words the order exports' own method
#: names map from, ``sources.mapping_plan.SYNONYMS``, and the bills' titles, ``profiles/*.yaml``)
CHANNEL_ZH: dict[str, str] = {
    "wechat": "微信支付", "alipay": "支付宝", "unionpay": "银联", "huabei": "花呗", "balance": "余额(储值)",
    "points": "积分", "baitiao": "京东白条", "jd_baitiao": "京东白条", "jd_pay": "京东支付",
    "wechat_payscore": "微信支付分", "alipay_pay_later": "支付宝周期扣款", "cloud_quickpass": "云闪付",
    "bank_card_pos": "银行卡POS", "bank_transfer": "对公转账", "cash": "现金", "gift_card": "礼品卡",
    "stored_value": "储值卡", "digital_rmb": "数字人民币", "douyin_pay": "抖音支付", "meituan": "美团",
    "lakala": "拉卡拉", "shouqianba": "收钱吧", "icbc_e_pay": "工银e支付", "ccb_long_pay": "建行龙支付",
    "cmb_pay": "招行一网通", "boc_pay": "中国银行聚合支付", "abc_pay": "农行支付",
}
#: a channel record's type
TX_TYPE_ZH: dict[str, str] = {"payment": "收款", "refund": "退款"}
#: fund flow's order types (an order file's own ``order_type`` values are shown as they are)
ORDER_TYPE_ZH: dict[str, str] = {"regular": "普通订单", "instalment": "分期订单", "(no order)": "(无订单)"}
#: the vocabularies a report column may name (``model.Column.labels``)
VOCABULARIES: dict[str, dict[str, str]] = {"channel": CHANNEL_ZH, "tx_type": TX_TYPE_ZH, "order_type": ORDER_TYPE_ZH}


def zh_labels(arr: pa.Array, vocabulary: str) -> pa.Array:
    """A text column's codes as a zh report shows them (``wechat`` → 微信支付; a list such as ``wechat,alipay``
    element by element); a value the vocabulary does not know, and NULL, stay as they are. Vectorised: a fund-flow
    detail of millions of rows is labelled batch by batch without a Python loop."""
    labels = VOCABULARIES[vocabulary]
    codes = pa.array(list(labels), pa.string())
    names = pa.array(list(labels.values()), pa.string())
    parts = pc.split_pattern(arr.cast(pa.string()), ",")
    flat = parts.flatten()
    named = pc.coalesce(pc.take(names, pc.index_in(flat, value_set=codes)), flat)
    offsets = pc.subtract(parts.offsets, parts.offsets[0])
    return pc.binary_join(pa.ListArray.from_arrays(offsets, named, mask=parts.is_null()), ",")


#: the kinds of a report's source files (``batches.kind``: the cover's 数据来源)
SOURCE_KIND_ZH: dict[str, str] = {"orders": "订单", "refunds": "退款单", "transactions": "渠道流水(账单)",
                                  "fund_flows": "资金流水", "instalment_flows": "分期流水"}


def source_kind(kind: str, lang: Lang | str) -> str:
    """A source file's kind as the cover names it in ``lang`` (a zh cover said ``transactions``)."""
    return SOURCE_KIND_ZH.get(kind, kind) if lang == "zh" else kind


def sql_text(template: str, **parts: str) -> str:
    """SQL: ``template``'s words as string literals joined with the SQL expressions ``parts`` names in braces
    (``sql_text('渠道 {a}', a='x')`` → ``('渠道 ' || (x))``): a sentence reads as a sentence, not as a chain of
    quotes. A NULL part makes the whole text NULL, as ``||`` does (coalesce the part where it may be missing)."""
    import string

    out = []
    for lit, name, _, _ in string.Formatter().parse(template):
        if lit:
            out.append("'" + lit.replace("'", "''") + "'")
        if name is not None:
            out.append(f"({parts[name]})")
    return "(" + " || ".join(out or ["''"]) + ")"


#: the anomaly board's 说明 (``anomalies.rule_sql``), per language: templates whose braces the rule fills
ANOMALY_DETAIL: dict[str, dict[str, str]] = {
    "en": {"large_threshold": "amount ≥ threshold", "large_zscore": "z-score {z} above the store mean",
           "frequent_refunds": "{n} refunds within {hours} h for {scope} {who}",
           "repeated_attempts": "{n} payment rows for one order",
           "refund_exceeds_payment": "refunds {refunded} > payments {paid}",
           "night_spike": "{n} night payments vs usual {usual}",
           "member": "member", "store": "store"},
    "zh": {"large_threshold": "金额 ≥ 阈值", "large_zscore": "高于门店均值 {z} 个标准差",
           "frequent_refunds": "{scope} {who} 在 {hours} 小时内退款 {n} 笔",
           "repeated_attempts": "同一订单 {n} 笔支付记录",
           "refund_exceeds_payment": "退款 {refunded} > 支付 {paid}",
           "night_spike": "夜间支付 {n} 笔，平时 {usual} 笔",
           "member": "会员", "store": "门店"},
}


def anomaly_detail(lang: Lang | str, what: str, **parts: str) -> str:
    """SQL: the anomaly board's 说明 ``what`` in ``lang`` (``ANOMALY_DETAIL``), its braces filled by ``parts``."""
    return sql_text(ANOMALY_DETAIL["zh" if lang == "zh" else "en"][what], **parts)
