"""Build WeChat Pay bills in the real format for tests (amounts given in fen, printed as yuan)."""

from __future__ import annotations

from paymatch.money import format_yuan

ALL_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
              "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,"
              "商户数据包,手续费,费率,订单金额,申请退款金额,费率备注").split(",")
SUCCESS_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                  "货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注").split(",")
REFUND_HEADER = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                 "货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,"
                 "退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注").split(",")
HEADERS = {"ALL": ALL_HEADER, "SUCCESS": SUCCESS_HEADER, "REFUND": REFUND_HEADER}
SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
FEN_COLS = {"应结订单金额", "代金券金额", "退款金额", "充值券退款金额", "订单金额", "申请退款金额"}


def fee_text(fen: int) -> str:
    """Fee in WeChat's 5-decimal style."""
    return format_yuan(fen) + "000"


def payment(n: int, order_fen: int, *, coupon_fen: int = 0, fee_fen: int = 0, status: str = "SUCCESS",
            time: str = "2026-11-20 10:00:00", sub_mch: str = "0") -> dict:
    """A payment row (values in fen)."""
    return {"交易时间": time, "公众账号ID": "wx0000000000000001", "商户号": "1900000109", "特约商户号": sub_mch,
            "设备号": "", "微信订单号": f"42000000{n:020d}", "商户订单号": f"ORD{n:06d}", "用户标识": "oUser",
            "交易类型": "JSAPI", "交易状态": status, "付款银行": "OTHERS", "货币种类": "CNY",
            "应结订单金额": order_fen - coupon_fen, "代金券金额": coupon_fen, "微信退款单号": "0", "商户退款单号": "0",
            "退款金额": 0, "充值券退款金额": 0, "退款类型": "", "退款状态": "", "商品名称": "咖啡, 大杯".replace(",", " "),
            "商户数据包": "", "手续费": fee_text(fee_fen), "费率": "0.60%", "订单金额": order_fen, "申请退款金额": 0,
            "费率备注": "", "退款申请时间": "", "退款成功时间": ""}


def refund(n: int, refund_fen: int, *, fee_fen: int = 0, status: str = "SUCCESS",
           time: str = "2026-11-19 09:00:00", applied: str = "2026-11-20 11:00:00",
           done: str = "2026-11-20 11:00:05") -> dict:
    """A refund row of order n (values in fen; fee signed as WeChat prints it)."""
    row = payment(n, 0, fee_fen=fee_fen, status="REFUND", time=time)
    row.update({"微信退款单号": f"50300{n:020d}", "商户退款单号": f"RF{n:06d}", "退款金额": refund_fen,
                "申请退款金额": refund_fen, "退款类型": "ORIGINAL", "退款状态": status,
                "退款申请时间": applied, "退款成功时间": done})
    return row


def _cell(col: str, value) -> str:
    return "`" + (format_yuan(value) if col in FEN_COLS and isinstance(value, int) else str(value))


def summary_values(rows: list[dict]) -> list[str]:
    """The correct summary for rows, as printed."""
    s = lambda c: sum(r[c] for r in rows)  # noqa: E731
    fee = sum(int(r["手续费"].replace(".", "")) // 1000 for r in rows)
    return [str(len(rows)), format_yuan(s("应结订单金额")), format_yuan(s("退款金额")),
            format_yuan(s("充值券退款金额")), fee_text(fee), format_yuan(s("订单金额")), format_yuan(s("申请退款金额"))]


def trade_bill(rows: list[dict], kind: str = "ALL", *, bom: bool = False, crlf: bool = False,
               summary: list[str] | None = None) -> bytes:
    """A trade bill of the given kind ('ALL', 'SUCCESS', 'REFUND')."""
    header = HEADERS[kind]
    lines = [",".join(header)]
    lines += [",".join(_cell(c, r[c]) for c in header) for r in rows]
    lines.append(SUMMARY_HEADER)
    lines.append(",".join("`" + v for v in (summary or summary_values(rows))))
    nl = "\r\n" if crlf else "\n"
    text = nl.join(lines) + nl
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def fundflow_bill(rows: list[tuple[str, str, int, int]], *, fullwidth: bool = False,
                  summary: list[str] | None = None) -> bytes:
    """A fund-flow bill; rows are (time, '收入'|'支出', amount_fen, balance_fen)."""
    yuan = "（元）" if fullwidth else "(元)"
    header = (f"记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额{yuan},账户结余{yuan},"
              "资金变更提交申请人,备注,业务凭证号")
    lines = [header]
    for i, (t, d, amt, bal) in enumerate(rows):
        lines.append(",".join("`" + v for v in (t, f"BIZ{i}", f"FLOW{i}", "交易", "交易", d, format_yuan(amt),
                                                 format_yuan(bal), "1900000109API", "", f"V{i}")))
    ins = [r for r in rows if r[1] == "收入"]
    outs = [r for r in rows if r[1] == "支出"]
    lines.append("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额")
    lines.append(",".join("`" + v for v in (summary or [
        str(len(rows)), str(len(ins)), format_yuan(sum(r[2] for r in ins)), str(len(outs)),
        format_yuan(sum(r[2] for r in outs))])))
    return ("\n".join(lines) + "\n").encode("utf-8")
