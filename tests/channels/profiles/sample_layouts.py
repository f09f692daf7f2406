"""How each builtin profile's sample export is laid out (written by make_samples.py).

Each layout's ``write(txs)`` returns the file's lines (CSV/TSV) or rows (xlsx). Keys:
encoding (default utf-8-sig), ext (csv|txt|xlsx), no_status (the export has no status column:
every row is a success), merchant_id (what the profile should find), pay/ref (row counts).
"""

from __future__ import annotations

from sample_kit import csv_lines, lab, net, ts, y, yc

OK = {"success": "成功", "failed": "失败", "processing": "处理中"}


def st(t: dict, labels: dict | None = None) -> str:
    """Source status label of a row."""
    return (labels or OK)[t["status"]]


def jd_baitiao(txs):
    """京东白条: title + merchant line, type column, count trailer."""
    head = ["京东支付-白条交易明细", "商户号：110223344001", "账单日期：2026-11-20", ""]
    rows = [["交易时间", "商户订单号", "京东交易流水号", "退款单号", "交易类型", "交易金额(元)", "手续费(元)",
             "结算金额(元)", "交易状态", "支付方式"]]
    rows += [[ts(t), t["no"], t["tx"], t["rno"], lab(t, "消费", "退款"), y(t["fen"]), y(t["fee"]),
              y(t["fen"] - t["fee"]), st(t, {"success": "交易成功", "failed": "交易失败", "processing": "处理中"}),
              "京东白条"] for t in txs]
    return head + csv_lines(rows) + ["", f"合计：共{len(txs)}笔"]


def baitiao_instalment(txs):
    """白条分期: slash-separated times, instalment count column."""
    rows = [["下单时间", "订单编号", "白条交易号", "分期期数", "分期手续费承担方", "订单金额", "商户手续费", "交易类型", "状态"]]
    rows += [[ts(t, "%Y/%m/%d %H:%M:%S"), t["no"], t["tx"], "3" if i % 2 else "6", "商户", y(t["fen"]), y(t["fee"]),
              lab(t, "支付", "退款"), st(t)] for i, t in enumerate(txs)]
    return ["京东白条分期交易明细"] + csv_lines(rows)


def jd_pay(txs):
    """京东支付: GBK, compact times, refund amount in its own column."""
    rows = [["商户号", "商户订单号", "商户退款单号", "京东支付流水号", "交易时间", "交易类型", "订单金额", "退款金额", "手续费", "交易状态"]]
    rows += [["110998877001", t["no"], t["rno"], t["tx"], ts(t, "%Y%m%d%H%M%S"), lab(t, "支付", "退款"),
              y(t["fen"]) if t["type"] == "payment" else "", y(t["fen"]) if t["type"] == "refund" else "",
              y(t["fee"]), st(t)] for t in txs]
    return ["京东支付交易对账单"] + csv_lines(rows)


def douyin_pay(txs):
    """抖音支付: no title, ISO times with offset, refunds negative (sign rule)."""
    rows = [["订单号", "商户订单号", "支付渠道单号", "业务类型", "下单时间", "金额(元)", "手续费(元)", "结算状态"]]
    rows += [[f"DY{t['tx']}", t["no"], t["tx"], lab(t, "支付", "退款"), t["at"].strftime("%Y-%m-%dT%H:%M:%S+08:00"),
              y(t["fen"] if t["type"] == "payment" else -t["fen"]), y(t["fee"]),
              st(t, {"success": "已结算", "processing": "待结算", "failed": "结算失败"})] for t in txs]
    return csv_lines(rows)


def meituan(txs):
    """美团 (xlsx): title row, real datetime cells, numbers as numbers, store id as merchant."""
    import datetime as dt

    rows = [["美团收单对账明细"], ["门店名称", "门店ID", "美团订单号", "商家订单号", "交易类型", "交易时间", "订单原价",
                                 "商家实收", "平台服务费", "状态"]]
    for t in txs:
        sign = 1 if t["type"] == "payment" else -1
        rows.append(["望京店", "MT600123", f"MT{t['tx']}", t["no"], lab(t, "支付", "退款"), t["at"],
                     sign * t["fen"] / 100, sign * (t["fen"] - t["fee"]) / 100, t["fee"] / 100,
                     st(t, {"success": "已完成", "processing": "处理中", "failed": "已取消"})])
    assert isinstance(rows[2][5], dt.datetime)
    return rows


def cloud_quickpass(txs):
    """云闪付: GB18030, '|' separated, fen integers zero-padded, settlement date column."""
    rows = [["清算日期", "交易时间", "商户代码", "终端号", "订单号", "系统跟踪号", "交易类型", "交易金额", "手续费", "状态"]]
    rows += [["20261120", ts(t, "%Y%m%d%H%M%S"), "898310000000001", "T0001", t["no"], t["tx"], lab(t, "消费", "退货"),
              f"{t['fen']:012d}", f"{abs(t['fee']):012d}" if t["type"] == "payment" else f"-{abs(t['fee'])}",
              st(t)] for t in txs]
    return ["云闪付商户交易明细"] + csv_lines(rows, "|")


def bank_card_pos(txs):
    """POS 刷卡: yen-signed amounts, 撤销 as refund, reference number as channel id."""
    rows = [["商户编号", "终端编号", "交易时间", "卡号", "卡类型", "交易类型", "交易金额", "手续费", "结算金额", "参考号", "凭证号", "订单号"]]
    rows += [["822100054110001", "10293847", ts(t), "622848******1234", "借记卡" if i % 3 else "贷记卡",
              lab(t, "消费", "撤销"), f"¥{y(t['fen'])}", f"¥{y(t['fee'])}", f"¥{y(t['fen'] - t['fee'])}",
              t["tx"][-12:] + f"{i:02d}", f"{i:06d}", t["no"]] for i, t in enumerate(txs)]
    return ["POS刷卡交易明细", "导出时间：2026-11-21 08:00:00"] + csv_lines(rows)


def chinaums_pos(txs):
    """银联商务 对账明细查询: tab-separated with trailing tabs, title lines, date and time apart, a blank line and a
    总笔数 line below (the layout of a real export; the values here are made up)."""
    pad = "\t" * 16
    head = ["对账明细查询结果（仅显示1000条记录）" + pad, "集团名称：示例餐饮连锁" + pad,
            "清算日期从：\t20261120\t到：\t20261120\t\t业务类型：\t银行卡消费" + "\t" * 10]
    rows = [["清算日期", "交易日期", "交易时间", "终端号", "交易金额", "清算金额", "手续费", "流水号", "交易类型", "参考号",
             "卡号", "商户号", "发卡行", "卡类型", "商户订单号", "银商订单号", "支付类型"]]
    for i, t in enumerate(txs):
        day, clock = ts(t).split(" ")
        rows.append(["20261120", day, clock, "01080209", y(t["fen"]), y(t["fen"] - t["fee"]), y(t["fee"]), f"{i:06d}",
                     lab(t, "消费", "撤销"), t["tx"][-12:], "622280*********1234", "898310054110001", "01030000",
                     "借记卡" if i % 3 else "贷记卡", t["no"], "", "有卡支付"])
    total, fee = sum(t["fen"] for t in txs), sum(t["fee"] for t in txs)
    # as the real export prints it: tab after each label, an empty cell between the figures
    tail = [pad, f"总笔数：\t{len(txs)}\t交易金额：\t{y(total)}\t\t结算金额：\t{y(total - fee)}\t\t手续费：\t{y(fee)}"
            + "\t" * 7]
    return head + ["\t".join(r) for r in rows] + tail


def shouqianba(txs):
    """收钱吧: method column, net totals trailer."""
    rows = [["交易日期时间", "商户订单号", "收钱吧订单号", "支付通道订单号", "支付方式", "交易类型", "交易金额", "手续费", "实收金额", "交易状态"]]
    rows += [[ts(t), t["no"], f"7895{t['tx'][-10:]}", t["tx"], ["微信", "支付宝", "云闪付"][i % 3], lab(t, "收款", "退款"),
              y(t["fen"]), y(t["fee"]), y(t["fen"] - t["fee"]), st(t)] for i, t in enumerate(txs)]
    return ["收钱吧交易明细", "商户号:SQB1680000001"] + csv_lines(rows) + [
        f"总计,笔数:{len(txs)},净额:{y(net(txs))}"]


def lakala(txs):
    """拉卡拉: GBK, tab-padded amounts (export habit against Excel number mangling)."""
    rows = [["交易时间", "商户号", "终端号", "交易类型", "交易金额", "手续费", "结算金额", "交易流水号", "订单号", "卡号", "交易状态"]]
    rows += [[ts(t), "822584000000123", "L0001", lab(t, "消费", "退货"), f"\t{y(t['fen'])}", f"\t{y(t['fee'])}",
              f"\t{y(t['fen'] - t['fee'])}", t["tx"], t["no"], "", st(t)] for t in txs]
    return ["拉卡拉商户交易明细"] + csv_lines(rows)


def cash(txs):
    """现金日记账: income/expense columns, running balance, no status."""
    rows = [["日期", "单据号", "摘要", "收入", "支出", "余额", "经手人"]]
    bal = 500000
    for t in txs:
        bal += t["fen"] if t["type"] == "payment" else -t["fen"]
        rows.append([ts(t, "%Y-%m-%d %H:%M"), t["no"], lab(t, "现金收款", "现金退款"),
                     y(t["fen"]) if t["type"] == "payment" else "", y(t["fen"]) if t["type"] == "refund" else "",
                     y(bal), "张会计"])
    return ["现金日记账", "门店：望京店"] + csv_lines(rows)


def stored_value(txs):
    """储值余额: balance change log (consumption is a negative change), type column."""
    rows = [["流水号", "会员卡号", "会员姓名", "关联订单号", "变动类型", "变动金额", "变动后余额", "操作时间", "门店"]]
    rows += [[f"SV{t['tx']}", "M000123", "王**", t["no"], lab(t, "储值消费", "消费退回"),
              y(-t["fen"] if t["type"] == "payment" else t["fen"]), "0.00", ts(t), "望京店"] for t in txs]
    return csv_lines(rows)


def points(txs):
    """积分抵现: fen integers, slash times."""
    rows = [["积分流水号", "会员ID", "订单号", "业务类型", "使用积分", "抵扣金额(分)", "发生时间"]]
    rows += [[f"PT{t['tx']}", "M000456", t["no"], lab(t, "积分抵扣", "抵扣退还"), str(t["fen"]), str(t["fen"]),
              ts(t, "%Y/%m/%d %H:%M:%S")] for t in txs]
    return ["积分抵现流水"] + csv_lines(rows)


def gift_card(txs):
    """礼品卡: '#' comment lines above and below the table."""
    rows = [["核销单号", "卡号", "订单号", "操作类型", "核销金额", "核销时间", "核销门店", "状态"]]
    rows += [[f"GC{t['tx']}", "GIFT8800123", t["no"], lab(t, "核销", "撤销核销"), y(t["fen"]), ts(t), "望京店",
              st(t)] for t in txs]
    return ["# 礼品卡核销明细", "# 导出时间: 2026-11-21 08:00"] + csv_lines(rows) + ["# 共" + str(len(txs)) + "条"]


def bank_transfer(txs):
    """对公银行流水: GB18030 TSV, debit/credit columns with thousands commas, totals trailer."""
    rows = [["交易时间", "借方发生额", "贷方发生额", "余额", "对方户名", "对方账号", "摘要", "流水号", "用途"]]
    rows += [[ts(t), yc(t["fen"]) if t["type"] == "refund" else "", yc(t["fen"]) if t["type"] == "payment" else "",
              "1,000,000.00", "某某科技有限公司", "1100223344556677", lab(t, "转账收入", "转账退款"), t["tx"], t["no"]]
             for t in txs]
    pays = [t for t in txs if t["type"] == "payment"]
    refs = [t for t in txs if t["type"] == "refund"]
    return ["账号\t11001234567890", "户名\t某某餐饮管理有限公司"] + csv_lines(rows, "\t") + [
        f"合计\t借方笔数:{len(refs)}\t借方金额:{yc(sum(t['fen'] for t in refs))}\t"
        f"贷方笔数:{len(pays)}\t贷方金额:{yc(sum(t['fen'] for t in pays))}"]


def bank_transfer_xlsx(txs):
    """对公银行流水 (xlsx), headers spelled as CCB's download (full-width brackets), numbers as
    numbers, 0 in the unused money column, compact date with clock time, account number per row."""
    rows = [["账号", "账户名称", "交易时间", "借方发生额（支取）", "贷方发生额（收入）", "余额", "币种", "对方户名", "对方账号",
             "记账日期", "摘要", "备注", "账户明细编号-交易流水号"]]
    for t in txs:
        fen = t["fen"] / 100
        rows.append(["44010000123456789", "某某餐饮管理有限公司", ts(t, "%Y%m%d %H:%M:%S"),
                     fen if t["type"] == "refund" else 0, fen if t["type"] == "payment" else 0, 1000000.0, "人民币元",
                     "某某科技有限公司", "1100223344556677", ts(t, "%Y%m%d"), lab(t, "转账收入", "转账退款"), t["no"],
                     f"44010000123456789-{t['tx']}"])
    return rows


def _bank(title, headers, row):
    def write(txs):
        rows = [headers] + [row(i, t) for i, t in enumerate(txs)]
        return [title] + csv_lines(rows)
    write.__doc__ = f"{title}: generic bank acquiring export."
    return write


def ccb_long_pay(txs):
    """建设银行龙支付 SHOP.<商户号>.<日期>.txt: a summary line (net amount), TSV with a trailing tab, refunds negative,
    订单金额 the order's amount on refund rows too, 交易类型 empty (the layout of a real download; values made up)."""
    net_fen = net(txs)
    fees = sum(t["fee"] for t in txs if t["type"] == "payment")
    head = (f"出单日期[20261121]\t交易日期[20261120]\t交易笔数[{len(txs)}]\t交易金额[{y(net_fen)}]\t"
            f"手续费[{y(fees)}]\t结算金额[{y(net_fen - fees)}]\t")
    rows = [["交易时间", "记账日期", "银行流水号", "商户流水号", "订单号", "订单状态", "付款方账号/客户号", "付款方户名", "订单金额",
             "交易金额", "手续费", "结算金额", "柜台代码", "发卡行/通道", "支付卡种", "交易类型", "期数", "授权号", "项目号",
             "基本户", "备注一", "备注二"]]
    paid = {t["no"]: t["fen"] for t in txs if t["type"] == "payment"}
    for i, t in enumerate(txs):
        sign = 1 if t["type"] == "payment" else -1
        fee = t["fee"] if t["type"] == "payment" else 0
        rows.append([ts(t), "20261120", f"10101139817{t['tx'][-12:]}{i:02d}", t["rno"], t["no"], "成功", "88888****888888",
                     "o***************************", y(paid[t["no"]]), y(sign * t["fen"]), y(fee),
                     y(sign * t["fen"] - fee), "067507881", ["微信", "支付宝"][i % 2], "其他卡种", "", "1", "", "", "",
                     "--", "--"])
    return [head] + ["\t".join(r) + "\t" for r in rows]


icbc_e_pay = _bank("工银e支付商户对账明细",
                   ["工行流水号", "商户订单号", "交易日期", "交易金额(元)", "退款金额(元)", "手续费(元)", "交易类型", "交易状态"],
                   lambda i, t: [t["tx"], t["no"], ts(t, "%Y%m%d%H%M%S"), y(t["fen"]) if t["type"] == "payment" else "",
                                 y(t["fen"]) if t["type"] == "refund" else "", y(t["fee"]), lab(t, "消费", "退款"), st(t)])
abc_pay = _bank("中国农业银行商户对账单",
                ["交易类型", "订单号", "交易流水号", "交易金额", "手续费", "清算金额", "交易日期时间", "状态"],
                lambda i, t: [lab(t, "Sale", "Refund"), t["no"], t["tx"], y(t["fen"]), y(t["fee"]), y(t["fen"] - t["fee"]),
                              ts(t), st(t, {"success": "0000", "failed": "9999", "processing": "0001"})])
boc_pay = _bank("中国银行聚合支付交易明细",
                ["交易时间", "商户订单号", "中行流水号", "交易类型", "交易金额", "手续费", "交易状态"],
                lambda i, t: [ts(t), t["no"], t["tx"], lab(t, "消费", "退款"), f"¥{yc(t['fen'])}", f"¥{yc(t['fee'])}", st(t)])
digital_rmb = _bank("数字人民币商户交易明细",
                    ["交易时间", "运营机构", "钱包ID", "商户订单号", "交易流水号", "交易类型", "交易金额", "交易状态"],
                    lambda i, t: [ts(t), ["工商银行", "建设银行", "中国银行"][i % 3], "0021****8899", t["no"], t["tx"],
                                  lab(t, "消费", "退款"), y(t["fen"]), st(t)])


def cmb_pay(txs):
    """招行一网通: slash times, two trailer lines dropped by count."""
    rows = [["交易时间", "订单号", "银行流水号", "交易类型", "金额", "手续费", "状态"]]
    rows += [[ts(t, "%Y/%m/%d %H:%M:%S"), t["no"], t["tx"], lab(t, "支付", "退款"), y(t["fen"]), y(t["fee"]), st(t)]
             for t in txs]
    return ["招商银行一网通支付交易明细"] + csv_lines(rows) + ["导出人：财务01", "导出时间：2026-11-21 08:00:00"]


def huabei(txs):
    """花呗分期 (via Alipay): tab before comma, refunds negative, 业务类型 column. 商家实收 is before the 服务费, as in
    Alipay's 业务明细 (its 汇总: 实收净额 = 商家实收 − 服务费 − 分润); no merchant coupon here, so it is the 订单金额."""
    rows = [["支付宝交易号", "商户订单号", "交易创建时间", "花呗分期数", "订单金额（元）", "商家实收（元）", "服务费（元）", "业务类型", "交易状态"]]
    for t in txs:
        sign = 1 if t["type"] == "payment" else -1
        rows.append([t["tx"] + "\t", t["no"] + "\t", ts(t) + "\t", "12\t", y(sign * t["fen"]) + "\t",
                     y(sign * t["fen"]) + "\t", y(t["fee"]) + "\t", lab(t, "交易", "退款") + "\t",
                     st(t, {"success": "交易成功", "failed": "交易关闭", "processing": "等待处理"}) + "\t"])
    return ["#花呗分期交易明细", "#账号：[20881234567890]"] + csv_lines(rows)


def wechat_merchant_console_export(txs):
    """微信支付商户平台 hand export: ="..." guards on ids, yen amounts."""
    rows = [["交易时间", "商户号", "微信订单号", "商户订单号", "交易状态", "订单金额(元)", "退款金额(元)", "手续费(元)", "商户退款单号"]]
    for t in txs:
        rows.append([ts(t), "1900012345", f'="{t["tx"]}"', f'="{t["no"]}"', lab(t, "支付成功", "转入退款"),
                     f"¥{y(t['fen'])}" if t["type"] == "payment" else "", f"¥{y(t['fen'])}" if t["type"] == "refund" else "",
                     f"¥{y(t['fee'])}", f'="{t["rno"]}"' if t["rno"] else ""])
    return ["微信支付商户平台交易订单导出", "起始时间：[2026-11-20 00:00:00] 终止时间：[2026-11-20 23:59:59]"] + csv_lines(rows)


def alipay_merchant_console_export(txs):
    """支付宝商家中心 账务明细 by hand: GBK, '#' lines, income/expense columns, trailing comma, totals.

    The header is the real one; fee deductions (收费) and a withdrawal (提现) are rows of their
    own, as in the real statement: not transactions, but part of the 支出合计.
    """
    head = ["#支付宝账务明细查询", "#账号：[20889911223344]", "#起始日期：[2026年11月20日 00:00:00]   终止日期：[2026年11月21日 00:00:00]",
            "#-----------------------------------------账务明细列表----------------------------------------"]
    rows = [["账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）", "支出金额（-元）",
             "账户余额（元）", "交易渠道", "业务类型", "备注", ""]]
    out_n, out_fen = 0, 0
    for i, t in enumerate(txs):
        pay = t["type"] == "payment"
        rows.append([f"2026112{t['tx'][-12:]}\t", t["tx"] + "\t", t["no"] + "\t", "堂食\t", ts(t) + "\t", "buyer***@163.com\t",
                     (y(t["fen"]) if pay else "0.00") + "\t", ("0.00" if pay else y(-t["fen"])) + "\t", "0.00\t",
                     "支付宝\t", lab(t, "在线支付", "交易退款") + "\t", "\t", ""])
        if not pay:
            out_n, out_fen = out_n + 1, out_fen + t["fen"]
        if pay and i % 5 == 0:  # the service fee of a payment, booked as its own row
            rows.append([f"2026113{t['tx'][-12:]}\t", t["tx"] + "\t", "\t", "\t", ts(t) + "\t", "\t", "0.00\t",
                         y(-t["fee"]) + "\t", "0.00\t", "支付宝\t", "收费\t", f"服务费[{t['tx']}]\t", ""])
            out_n, out_fen = out_n + 1, out_fen + t["fee"]
    rows.append(["20261120999999999\t", "\t", "\t", "\t", "2026-11-20 23:00:00\t", "\t", "0.00\t", "-100.00\t", "0.00\t",
                 "支付宝\t", "提现\t", "提现到银行卡\t", ""])
    out_n, out_fen = out_n + 1, out_fen + 10000
    pays = [t for t in txs if t["type"] == "payment"]
    tail = ["#-----------------------------------------账务明细列表结束------------------------------------",
            f"#支出合计：{out_n}笔，共-{y(out_fen)}元",
            f"#收入合计：{len(pays)}笔，共{y(sum(t['fen'] for t in pays))}元",
            "#导出时间：[2026年11月21日 08:00:00]"]
    return head + csv_lines(rows) + tail



def _db_number(fen: int) -> str:
    """Yuan as a database export writes a number: no trailing zeros, no 0 before the point (19000, 34.2, .54)."""
    text = y(fen).rstrip("0").rstrip(".")
    return text[1:] if text.startswith("0.") else text


def chinaums_clearing(txs):
    """银联商务 清算明细 for institutions: 46 columns exactly as the real file's header, database-style numbers,
    交易时间 MMDDhhmmss without the year (the values here are made up)."""
    header = ("清算日期,交易时间,受理商户ID,受理商户多应用,结算商户编号,结算商户多应用类型,交易终端号,交易金额,商户手续费,收单收益,"
              "品牌费,交易类型,卡号,发卡机构,卡种,收单机构bit32,终端流水号bit11,银联系统跟踪号,参考号bit37,授权号,"
              "原终端流水号bit11,原银联系统跟踪号bit11,原bit37,mcc号,是否两条线垫支(0-否1-是),是否分润(0-否1-是),受理点商户号,"
              "商户多应用类型,受理点分润金额,机构分润金额,是否清算（0-成功1-多流水2-待处理）,受理点终端编号,交易发起渠道,"
              "发送机构标识码,原清算日期,服务点输入方式,T0标记,T0手续费,新增字段3,借贷记标记,交换费,转接清算费,新增字段7,"
              "新增字段8,新增字段9,订单号").split(",")
    rows = []
    for t in txs:
        cells = dict.fromkeys(header, "")
        cells.update({"清算日期": "20261120", "交易时间": ts(t, "%m%d%H%M%S"), "结算商户编号": "898310054110002",
                      "结算商户多应用类型": "9", "交易金额": _db_number(t["fen"]), "商户手续费": _db_number(t["fee"]),
                      "收单收益": _db_number(max(t["fee"] - 2, 0)), "品牌费": "0", "交易类型": "000000",
                      "卡号": "622280******1234", "发卡机构": "01030001", "终端流水号bit11": t["tx"][-6:],
                      "参考号bit37": t["tx"][-12:], "mcc号": "5812", "订单号": t["no"]})
        rows.append([cells[h] for h in header])
    return csv_lines([header] + rows)


LAYOUTS = {
    "jd_baitiao": dict(write=jd_baitiao, merchant_id="110223344001"),
    "baitiao_instalment": dict(write=baitiao_instalment),
    "jd_pay": dict(write=jd_pay, encoding="gbk", merchant_id="110998877001"),
    "douyin_pay": dict(write=douyin_pay, encoding="utf-8"),
    "meituan": dict(write=meituan, ext="xlsx", merchant_id="MT600123"),
    "cloud_quickpass": dict(write=cloud_quickpass, encoding="gb18030", ext="txt", merchant_id="898310000000001"),
    "bank_card_pos": dict(write=bank_card_pos, merchant_id="822100054110001", crlf=True, no_status=True),
    "shouqianba": dict(write=shouqianba, merchant_id="SQB1680000001"),
    "lakala": dict(write=lakala, encoding="gbk", merchant_id="822584000000123"),
    "cash": dict(write=cash, no_status=True, minutes=True, pay=10, ref=2),
    "chinaums_pos": dict(write=chinaums_pos, ext="txt", no_status=True, merchant_id="898310054110001", seed=91),
    "chinaums_clearing": dict(write=chinaums_clearing, no_status=True, ref=0, merchant_id="898310054110002", seed=92),
    "stored_value": dict(write=stored_value, no_status=True),
    "points": dict(write=points, no_status=True, pay=8, ref=3),
    "gift_card": dict(write=gift_card),
    "bank_transfer": dict(write=bank_transfer, encoding="gb18030", ext="txt", no_status=True, pay=8, ref=2),
    # seed given: a layout added later must not change the older samples' values
    "bank_transfer_xlsx": dict(write=bank_transfer_xlsx, ext="xlsx", no_status=True, merchant_id="44010000123456789",
                               pay=8, ref=2, seed=90),
    # the merchant number is in the file name only (SHOP.<merchant>.<date>.txt), not in the sample's
    "ccb_long_pay": dict(write=ccb_long_pay, ext="txt", encoding="utf-8", no_status=True),
    "icbc_e_pay": dict(write=icbc_e_pay),
    "abc_pay": dict(write=abc_pay, encoding="gbk"),
    "boc_pay": dict(write=boc_pay),
    "digital_rmb": dict(write=digital_rmb),
    "cmb_pay": dict(write=cmb_pay),
    "huabei": dict(write=huabei, encoding="gbk", merchant_id="20881234567890"),
    "wechat_merchant_console_export": dict(write=wechat_merchant_console_export, merchant_id="1900012345",
                                           no_status=True),
    "alipay_merchant_console_export": dict(write=alipay_merchant_console_export, encoding="gbk",
                                           merchant_id="20889911223344", no_status=True),
}
