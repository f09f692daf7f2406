"""WeChat Pay bill layouts: which columns each bill kind has, and how to tell the kinds apart.

WeChat changes column order between bill types (ALL 27 columns, SUCCESS 20, REFUND 29), so
everything downstream works by header *name*. Detection looks at the header line's content only
(never the file name): a trade bill has 交易时间 + 微信订单号, a fund-flow bill 记账时间 + 资金流水单号.
Within trade bills, 退款申请时间 only exists in REFUND bills and 申请退款金额 is absent from SUCCESS.

Merchants that never switched to 免充值券 settlement (most of those onboarded before 2018) get the
older 普通结算对账单: 子商户号 instead of 特约商户号, 总金额 instead of 应结订单金额 + 订单金额 (no
non-cash coupons, so the merchant settles the whole amount), 代金券或立减优惠金额 or 企业红包金额
for the coupon columns, no 申请退款金额 (the refund is 退款金额) and no 费率备注; its summary is
总交易单数,总交易额,总退款金额,总代金券或立减优惠退款金额 (or 总企业红包退款金额),手续费总金额.
``sources`` maps each column the parser reads to the header name it is printed under.
"""

from __future__ import annotations

CHANNEL = "wechat"

TRADE_ALL = "trade_all"
TRADE_SUCCESS = "trade_success"
TRADE_REFUND = "trade_refund"
FUNDFLOW = "fundflow"

#: columns every trade bill carries (the parser needs all of them)
TRADE_COMMON = (
    "交易时间", "商户号", "特约商户号", "微信订单号", "商户订单号", "交易状态",
    "应结订单金额", "代金券金额", "手续费", "订单金额",
)
#: refund columns of ALL and REFUND bills
TRADE_REFUND_COLS = ("微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款状态", "申请退款金额")
#: only in REFUND bills
REFUND_TIMES = ("退款申请时间", "退款成功时间")

#: trade-bill summary header and the meaning of each control total
TRADE_SUMMARY = {
    "总交易单数": "count",
    "应结订单总金额": "settle_fen",
    "退款总金额": "refund_fen",
    "充值券退款总金额": "cash_coupon_refund_fen",
    "手续费总金额": "fee_fen",
    "订单总金额": "order_fen",
    "申请退款总金额": "refund_request_fen",
}

#: older (普通结算) spellings: canonical column -> the names it may be printed under instead
LEGACY_SOURCES = {
    "特约商户号": ("子商户号",),
    "订单金额": ("总金额",),
    "应结订单金额": ("总金额",),
    "代金券金额": ("代金券或立减优惠金额", "企业红包金额"),
    "充值券退款金额": ("代金券或立减优惠退款金额", "企业红包退款金额"),
    "申请退款金额": ("退款金额",),
}
#: the 普通结算 summary's names for the same control totals
LEGACY_SUMMARY = {
    "总交易额": "order_fen",
    "总退款金额": "refund_fen",
    "总代金券或立减优惠退款金额": "cash_coupon_refund_fen",
    "总企业红包退款金额": "cash_coupon_refund_fen",
}

FUNDFLOW_COLS = (
    "记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型",
    "收支金额(元)", "账户结余(元)", "资金变更提交申请人", "备注", "业务凭证号",
)
FUNDFLOW_SUMMARY = {
    "资金流水总笔数": "count",
    "收入笔数": "in_count",
    "收入金额": "in_fen",
    "支出笔数": "out_count",
    "支出金额": "out_fen",
}


def normalize_header(name: str) -> str:
    """Canonical spelling of a header cell: no BOM/backtick/blanks, ASCII parentheses.

    Fund-flow bills print '(元)' with ASCII or full-width parentheses depending on the vintage.
    """
    name = name.strip().lstrip("\ufeff").lstrip("`").strip()
    return name.replace("（", "(").replace("）", ")")


def split_header(line: str) -> list[str]:
    """The normalized header names of one CSV header line."""
    return [normalize_header(c) for c in line.rstrip("\r\n").split(",")]


def sources(names: list[str]) -> dict[str, str]:
    """Column name -> the header name it is read from: itself, or its 普通结算 spelling when the
    header lacks it (``LEGACY_SOURCES``)."""
    cols = set(names)
    out = {c: c for c in names}
    for canon, alts in LEGACY_SOURCES.items():
        alt = next((a for a in alts if a in cols), None)
        if canon not in cols and alt is not None:
            out[canon] = alt
    return out


def kind_of_header(names: list[str]) -> str | None:
    """Bill kind for a normalized header, or None when it is no WeChat bill header."""
    cols = set(sources(names))
    if {"交易时间", "微信订单号", "商户订单号"} <= cols:
        if not set(TRADE_COMMON) <= cols:
            return None
        if set(REFUND_TIMES) <= cols and set(TRADE_REFUND_COLS) <= cols:
            return TRADE_REFUND
        if set(TRADE_REFUND_COLS) <= cols:
            return TRADE_ALL
        if not cols & set(TRADE_REFUND_COLS):
            return TRADE_SUCCESS
        return None
    if {"记账时间", "资金流水单号"} <= cols:
        return FUNDFLOW if set(FUNDFLOW_COLS) <= cols else None
    return None


def sniff(head: str) -> str | None:
    """Return the WeChat bill kind ('trade_all', 'trade_success', 'trade_refund', 'fundflow')
    if ``head`` (the decoded first few KB of a file) starts with a WeChat bill header, else None."""
    if not head:
        return None
    first = head.lstrip("\ufeff").split("\n", 1)[0]
    return kind_of_header(split_header(first))
