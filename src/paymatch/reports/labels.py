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

from ..outcomes_store import _SEVERAL, ATTEMPTS_SQL, _gap, _signed, _y  # amounts and time gaps as the English reasons write them
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


# --- outcome reasons in Chinese -------------------------------------------------------------------------------------
# outcomes.csv and summary.json keep the English reasons (``outcomes_store.REASON_SQL``: programs and the stored
# ``reason`` read them); a zh report renders its own from the same stored fields, the same facts to the fen.

#: order, refund and channel-record statuses as a zh reason names them (``schema.OrderStatus``, ``RefundStatus``,
#: ``TxStatus``)
STATUS_ZH: dict[str, str] = {"paid": "已支付", "unpaid": "未支付", "closed": "已关闭", "refunded": "已退款",
                             "partially_refunded": "部分退款", "success": "成功", "processing": "处理中",
                             "failed": "失败"}


def sql_zh(col: str, vocabulary: dict[str, str]) -> str:
    """SQL: a code column in Chinese by ``vocabulary`` (a code it does not know stays as it is)."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in vocabulary.items())
    return f"(CASE {col} {whens} ELSE {col} END)"


def _q(col: str) -> str:
    """A field that may be missing, as the English reason shows it ('?')."""
    return f"coalesce({col}, '?')"


def _status(col: str) -> str:
    return _q(sql_zh(col, STATUS_ZH))


def _channel(col: str) -> str:
    return _q(sql_zh(col, CHANNEL_ZH))


def _fee_zh() -> str:
    from ..outcomes_store import _FEE_DETAIL, _percent, fee_detail_sql

    exp, gap, ppm, cap, base = map(fee_detail_sql, _FEE_DETAIL)
    return sql_text("渠道手续费 {charged} ≠ 按签约费率应收 {exp}（费率 {rate}{base}{cap}）({gap}；手续费不符)",
                    charged=_q(_y(f"({exp} + {gap})")), exp=_q(_y(exp)), rate=_q(_percent(ppm)),
                    base=f"CASE WHEN {base} IS NOT NULL THEN {sql_text('，计费金额 {b}', b=_y(base))} ELSE '' END",
                    cap=f"CASE WHEN {cap} IS NOT NULL THEN {sql_text('，封顶 {c}', c=_y(cap))} ELSE '' END",
                    gap=_q(_signed(gap)))


#: a duplicate payment's or refund's records that did not succeed, as its zh reason adds them (``ATTEMPTS_SQL``)
#: how many records of such an outcome succeeded
_SUCCEEDED = f"(channel_rows - {ATTEMPTS_SQL})::VARCHAR"
_ATTEMPTS_ZH = (f"CASE WHEN {ATTEMPTS_SQL} > 0 THEN '；另有 ' || {ATTEMPTS_SQL}::VARCHAR || ' 笔未成功' ELSE '' END")


def _engine_reasons_zh() -> str:
    """SQL CASE over the stored outcome's fields: the reason of every engine outcome kind in Chinese (the kinds and
    facts of ``outcomes_store.REASON_SQL``); an unknown kind keeps its stored reason."""
    from ..outcomes_store import _AMB_N, _AMBIGUOUS, _BOOKED, AMBIGUOUS_MERCHANTS, _local_time

    T = sql_text  # noqa: N806
    ch, od, diff = _y("channel_amount_fen"), _y("order_amount_fen"), _signed("difference_fen")
    os_, cs, tx = _status("order_status"), _status("channel_status"), _q("channel_tx_id")
    detail_fen = lambda i: _y(f"TRY_CAST(split_part(detail, ':', {i}) AS BIGINT)")  # noqa: E731
    kinds = {
        "matched": f"""CASE WHEN difference_fen = 0 THEN '渠道 = 订单 (已对平)'
            ELSE {T('渠道 {ch} ≈ 订单 {od} ({d}，在容差内：已对平)', ch=ch, od=od, d=diff)} END
            || CASE WHEN detail = 'by_order_no'
            THEN {T('；按订单号配对：订单未填商户号，仅商户号 {m} 的收款带此订单号', m=_q('merchant_id'))} ELSE '' END""",
        "refund_matched": f"""CASE WHEN detail = 'by_order_amount'
            THEN '渠道退款 = 平台退款，按订单和金额配对：渠道未给退款单号 (退款已对平)'
            WHEN difference_fen = 0 THEN '渠道退款 = 平台退款 (退款已对平)'
            ELSE {T('渠道退款 {ch} ≈ 平台退款 {od} ({d}，在容差内：退款已对平)', ch=ch, od=od, d=diff)} END""",
        "amount_mismatch": T("渠道 {ch} ≠ 订单 {od} ({d}，{side})", ch=ch, od=od, d=diff,
                             side="CASE WHEN difference_fen > 0 THEN '长款：渠道多收' ELSE '短款：渠道少收' END"),
        "over_refund": T("订单 {no} 的渠道退款连同本笔累计 {got}，超过实付 {paid} (+{d}；超额退款)",
                         no=_q("order_no"), got=detail_fen(1), paid=detail_fen(2), d=_y("difference_fen")),
        "refund_amount_mismatch": T("渠道退款 {ch} ≠ 平台退款 {od} ({d})", ch=ch, od=od, d=diff),
        "order_only": f"""CASE WHEN {_AMBIGUOUS}
            THEN {T('订单{s} {od}，未填商户号；订单号 {no} 的渠道收款分属 {n} 个商户号 ({m})：无法确定归属，未配对 '
                    '(平台单边/渠道漏单)', s=os_, od=od, no=_q('order_no'), n=_AMB_N, m=AMBIGUOUS_MERCHANTS)}
            ELSE {T("订单{s} {od}，但窗口内无渠道收款 (平台单边/渠道漏单)", s=os_, od=od)} END""",
        "channel_only": f"""CASE WHEN {_SEVERAL}
            THEN {T("{n} 笔成功的渠道收款 ({first} … {last}) 合计 {ch}，订单号 {no} 平台没有此订单{tried} (渠道单边/平台漏单)",
                    n=_SUCCEEDED, first=tx, last="coalesce(channel_tx_id_last, '')", ch=ch,
                    no="coalesce(order_no, '(无)')", tried=_ATTEMPTS_ZH)}
            WHEN {_AMBIGUOUS}
            THEN {T('渠道收款 {ch}（状态：{s}），订单号 {no}，商户号 {mid}：平台此订单号的订单未填商户号，且 {n} 个商户号的'
                    '收款带此订单号 ({m})：无法确定归属，未配对 (渠道单边/平台漏单)', ch=ch, s=cs, no=_q('order_no'),
                    mid=_q('merchant_id'), n=_AMB_N, m=AMBIGUOUS_MERCHANTS)}
            ELSE {T("渠道收款 {ch}（状态：{s}），订单号 {no} 平台没有此订单 (渠道单边/平台漏单)", ch=ch, s=cs,
                    no="coalesce(order_no, '(无)')")} END""",
        "duplicate_payment": T("{n} 笔渠道收款 ({first} … {last}) 合计 {ch}，对应一笔订单 {od}{two}{notify}{tried} (重复支付)",
                               n=_SUCCEEDED, first=tx,
                               last="coalesce(channel_tx_id_last, '')", ch=ch,
                               od=od, two="CASE WHEN contains(detail, 'cross_channel') THEN '，跨两个渠道' ELSE '' END",
                               notify="CASE WHEN contains(detail, 'notification') "
                                      "THEN '；尚未全部见于账单：仅实时通知' ELSE '' END", tried=_ATTEMPTS_ZH),
        "status_mismatch": T("订单状态{o}，但渠道状态{c}", o=os_, c=cs),
        "channel_mismatch": f"""CASE WHEN detail = 'internal_method_paid'
            THEN {T('订单以内部支付方式 {oc} 支付，但渠道 {c} 有一笔收款', oc=_channel('order_channel'),
                    c=_channel('channel'))}
            ELSE {T('订单支付方式为 {oc}，实际经 {c} 支付', oc=_channel('order_channel'), c=_channel('channel'))} END""",
        "merchant_mismatch": T("订单属商户号 {m}，但渠道入账商户号 {got} (收款商户号不符){amounts}", m=_q("merchant_id"),
                               got=_q("detail"), amounts=f"CASE WHEN difference_fen <> 0 THEN "
                               f"{T('；金额：渠道 {ch}，订单 {od} ({d})', ch=ch, od=od, d=diff)} ELSE '' END"),
        "time_mismatch": T("渠道记账时间 {booked}，订单支付时间 {paid} (北京时间；{gap})，超过 [match] "
                           "max_time_gap_minutes (时间不符：订单号被重复使用，或是一笔过期的支付)",
                           booked=_q(_local_time(_BOOKED)), paid=_local_time("occurred_at"),
                           gap=_q(_gap(f"epoch_us({_BOOKED}) - epoch_us(occurred_at)", (" 小时 ", " 分 ", " 秒")))),
        "fee_mismatch": _fee_zh(),
        "unconfirmed": f"""CASE WHEN refund_no IS NULL
            THEN {T('金额一致 ({od})，但只有实时通知，尚无账单确认', od=od)}
            ELSE {T('退款金额一致 ({od})，但只有实时通知称已退回，尚无账单确认', od=od)} END""",
        "pending_cross_day": f"""CASE WHEN refund_no IS NULL
            THEN {T('订单支付于 {at} (北京时间)，临近或晚于对账窗口结束；应见于下一期账单 (跨日待对)',
                    at="strftime(timezone('UTC', occurred_at), '%Y-%m-%d %H:%M:%S')")}
            ELSE '退款创建于对账窗口结束前后；应见于下一期账单 (跨日待对)' END""",
        "unpaid": T("订单{s}，无成功的渠道收款 (一致)", s=os_),
        "internal": f"""CASE WHEN detail = 'zero_amount' THEN '订单金额 0.00 (全额优惠)：无需收款；不应有外部流水'
            WHEN detail = 'zero_refund' THEN '平台退款 0.00：无需退回；不应有渠道退款'
            WHEN detail = 'internal_refund' THEN {T('平台退款 {od}，原订单以内部支付方式 {oc} 支付：已在该方式退回；'
                                                  '不应有外部退款', od=od, oc=_channel('order_channel'))}
            ELSE {T('以内部支付方式 {oc} 支付；不应有外部流水', oc=_channel('order_channel'))} END""",
        "record_update": T("渠道流水 {tx} 在另一账单上的状态为{s}：同一流水的先后状态 (流水状态更新)；其另一条已对账",
                           tx=tx, s=cs),
        "duplicate_record": T("同一渠道流水 {tx} 在导入数据中出现 {n} 次；多出的 {extra} 条不参与对账", tx=tx,
                              n="(channel_rows + 1)::VARCHAR", extra="channel_rows::VARCHAR"),
        "refund_order_only": T("平台退款 {od} 无对应的渠道退款 (退款平台单边)", od=od),
        "refund_channel_only": f"""CASE WHEN {_SEVERAL}
            THEN {T("{n} 笔成功的渠道退款 ({first} … {last}) 合计 {ch}，平台无此退款记录{tried} (退款渠道单边)", n=_SUCCEEDED,
                    first=tx, last="coalesce(channel_tx_id_last, '')", ch=ch, tried=_ATTEMPTS_ZH)}
            ELSE {T("渠道退款 {ch}，平台无此退款记录 (退款渠道单边)", ch=ch)} END""",
        "refund_order_mismatch": T("平台退款对应订单 {no}，但渠道退的是另一笔订单", no=_q("order_no")),
        "refund_status_mismatch": T("平台退款状态{o}，但渠道退款状态{c}", o=os_, c=cs),
        "refund_failed": "'平台退款失败，无成功的渠道退款 (一致)'",
        "refund_pending": T("平台退款{o}，无成功的渠道退款 (一致)", o=os_),
        "duplicate_refund": T("{n} 笔成功的渠道退款合计 {ch}，对应一笔平台退款 {od}{tried}",
                              n=_SUCCEEDED, ch=ch, od=od, tried=_ATTEMPTS_ZH),
    }
    whens = "\n  ".join(f"WHEN '{k}' THEN {v}" for k, v in kinds.items())
    return f"(CASE kind\n  {whens}\n  ELSE reason END)"


#: instalment reasons (``instalments.match``: written there in English from fields the outcome does not keep, such as
#: the order's term or why it has no plan) read back from the stored text, most specific first. A brace takes the
#: group of its name (``st…`` a status, ``ch…`` a channel, ``bad`` why an order has no plan, in Chinese); a reason no
#: pattern reads stays as stored (``test_reasons_zh`` runs every instalment kind through them)
INSTALMENT_REASON_ZH: tuple[tuple[str, str], ...] = (
    (r"no plan: (?P<bad>.*); the payment is reconciled as usual", "无分期计划：{bad}；该笔收款照常对账"),
    (r"no plan: (?P<bad>.*)", "无分期计划：{bad}"),
    (r"period (?P<k>\S*) of an order without a plan: (?P<bad>.*)", "第 {k} 期，但订单无分期计划：{bad}"),
    (r"the flow names no merchant number and (?P<n>\S+) merchant numbers have a per-period order with this order_no",
     "流水未写商户号，而 {n} 个商户号下都有此订单号的按期分期订单"),
    (r"deduction attempt for period (?P<k>\S*) is (?P<st>\S+); another deduction of the period succeeded",
     "第 {k} 期的一次扣款尝试{st}；本期另一笔扣款已成功"),
    (r"deduction attempt for period (?P<k>\S*) is (?P<st>\S+); the period's first attempt stands for it",
     "第 {k} 期的一次扣款尝试{st}；以本期第一次尝试为准"),
    (r"another flow for period (?P<k>\S*) came first", "第 {k} 期已有另一笔流水在先"),
    (r"period (?P<k>\S*) came through (?P<ch1>\S+), the order's channel is (?P<ch2>\S+) \(渠道不符\)",
     "第 {k} 期经 {ch1} 扣款，订单的渠道是 {ch2} (渠道不符)"),
    (r"flow says (?P<f>\S+) periods, order has (?P<n>\S+)", "流水为 {f} 期，订单为 {n} 期"),
    (r"period (?P<k>\S*) is beyond the order's (?P<n>\S+) periods", "第 {k} 期超出订单的 {n} 期"),
    (r"period (?P<k>\S*) deducted for an order that is (?P<st>\S+) \(no money taken at the sale, so no plan\): "
     r"money to return or an order to correct",
     "订单{st}（下单时未收款，故无分期计划），却扣了第 {k} 期：应退款或更正订单"),
    (r"no per-period instalment order with this order_no under merchant number (?P<m>.+)",
     "商户号 {m} 下没有此订单号的按期分期订单"),
    (r"no per-period instalment order with this order_no", "没有此订单号的按期分期订单"),
    (r"period (?P<k>\S*)/(?P<n>\S*) deducted after the order was refunded on (?P<d>\S+): money to return "
     r"\(退款后扣款\)", "订单已于 {d} 退款，第 {k}/{n} 期仍被扣款：应退还 (退款后扣款)"),
    (r"deduction for period (?P<k>\S*) is (?P<st>\S+), after the order was refunded on (?P<d>\S+): nothing owed",
     "第 {k} 期扣款{st}，订单已于 {d} 退款：不再应收"),
    (r"deduction for period (?P<k>\S*) is (?P<st>\S+), after the order was refunded \(no refund dates it\): "
     r"nothing owed", "第 {k} 期扣款{st}，订单已退款（无退款日期）：不再应收"),
    (r"period (?P<k>\S*)/(?P<n>\S*) due (?P<d>\S+) not owed: the order was refunded on (?P<r>\S+) \(服务已终止\)",
     "第 {k}/{n} 期（应还日 {d}）不再应收：订单已于 {r} 退款 (服务已终止)"),
    (r"period (?P<k>\S*)/(?P<n>\S*) due (?P<d>\S+) not owed: the order was refunded \(no refund dates it\) "
     r"\(服务已终止\)", "第 {k}/{n} 期（应还日 {d}）不再应收：订单已退款（无退款日期）(服务已终止)"),
    (r"period (?P<k>\S*)/(?P<n>\S*) due (?P<d>\S+) not received", "第 {k}/{n} 期（应还日 {d}）未到账"),
    (r"period (?P<k>\S*)/(?P<n>\S*) due (?P<d>\S+)", "第 {k}/{n} 期，应还日 {d}"),
    (r"deduction for period (?P<k>\S*) is (?P<st>\S+)", "第 {k} 期扣款{st}"),
    (r"period (?P<k>\S*): channel (?P<a>\S+) ≠ plan (?P<b>\S+) \((?P<d>\S+)\)", "第 {k} 期：渠道 {a} ≠ 计划 {b} ({d})"),
    (r"period (?P<k>\S*)/(?P<n>\S*) received", "第 {k}/{n} 期已到账"),
)
#: why an order has no plan (``instalments.expand.bad_term_reason``), inside the reasons above
BAD_TERM_ZH: tuple[tuple[str, str], ...] = (
    (r"instalments is negative", "分期期数为负数"),
    (r"channel offers no instalments", "该渠道不提供分期"),
    (r"(?P<ch>\S+) does not offer (?P<n>\S+) periods \(offers (?P<terms>.*)\)", "{ch} 不提供 {n} 期分期（可选 {terms} 期）"),
)


def _read_back(text: str, patterns: tuple[tuple[str, str], ...]) -> str:
    """SQL: ``text`` (an English reason) in Chinese by the first of ``patterns`` it matches whole; else as it is."""
    import re

    whens = []
    for pattern, template in patterns:
        groups = re.compile(pattern).groupindex
        lit = "'" + pattern.replace("'", "''") + "'"
        parts = {}
        for name, i in groups.items():
            g = f"regexp_extract({text}, {lit}, {i})"
            parts[name] = (_status(g) if name.startswith("st") else _channel(g) if name.startswith("ch")
                           else _read_back(g, BAD_TERM_ZH) if name == "bad" else g)
        whens.append(f"WHEN regexp_full_match({text}, {lit}) THEN {sql_text(template, **parts)}")
    return f"(CASE {' '.join(whens)} ELSE {text} END)"


def reason_sql(lang: Lang | str) -> str:
    """SQL over the stored outcomes (``outcomes``): an outcome's reason as a report in ``lang`` shows it. en: the
    stored reason (``outcomes_store.REASON_SQL``, as outcomes.csv has it); zh: the same facts in Chinese (a zh report's
    原因 column was English but for the kind's label)."""
    if lang != "zh":
        return "reason"
    return (f"(CASE WHEN starts_with(kind, 'instalment_') THEN {_read_back('reason', INSTALMENT_REASON_ZH)} "
            f"ELSE {_engine_reasons_zh()} END)")
