"""Builds UnionPay ZM (一般交易流水) lines in the fixed-width layout for the tests."""

from __future__ import annotations

from paymatch.channels.unionpay import WIDTHS


def zm_line(*, txn_type: str = "01", amount_fen: int = 1000, fee: str = "D000000000006",
            settle: str = "C000000000994", query_id: str = "201909161055160000001", order_id: str = "ORDER-1",
            orig_query_id: str = "", orig_order_id: str = "", txn_time: str = "0916105516",
            mer_id: str = "802310048993424", sub_name: str = "一号店", full: bool = True) -> bytes:
    """One GBK line; ``full`` adds the optional fields 28-41."""
    values = {0: "S22" if txn_type == "01" else "S30", 1: "00000000000", 2: "00000000000", 3: "123456",
              4: txn_time, 5: "6216***********0018", 6: f"{amount_fen:012d}", 7: "5411", 8: "07",
              9: query_id, 10: "00", 11: order_id, 12: "01", 13: "000000", 14: "0000000000", 15: fee,
              16: settle, 17: "0001", 18: "", 19: txn_type, 20: "01", 21: "000201", 22: "01", 23: "",
              24: "", 25: "1", 26: orig_query_id, 27: mer_id, 29: "", 30: sub_name, 40: orig_order_id}
    count = len(WIDTHS) if full else 28
    cells = []
    for i in range(count):
        raw = values.get(i, "").encode("gbk")
        cells.append(raw + b" " * (WIDTHS[i] - len(raw)))
    return b" ".join(cells) + b" "


def zm_file(lines: list[bytes]) -> bytes:
    """Lines joined with CRLF, as the Windows-built files come."""
    return b"\r\n".join(lines) + b"\r\n"


def rd_report(*, mer_id: str = "802310048993424", settle: str = "20190917", count: int, amount: tuple[str, str],
              fee: tuple[str, str], net: tuple[str, str]) -> bytes:
    """A 商户交易汇总表 (RD… file) in the layout of UnionPay's sample delivery, GBK, CRLF; amounts as yuan text
    (借, 贷) per column."""
    rule = "_" * 136
    row = f"{count:>12}{amount[0]:>16}{amount[1]:>16}{fee[0]:>16}{fee[1]:>16}{net[0]:>16}{net[1]:>20}"
    zero = f"{0:>12}" + "".join(f"{'0.00':>16}" for _ in range(5)) + f"{'0.00':>20}"
    lines = [" " * 73 + "中国银联全渠道商户交易汇总表            ", "",
             f"商户代码:{mer_id}" + " " * 40 + "清算币种:人民币",
             "收单机构:88022900" + " " * 47 + f"清算日期:{settle}",
             "商户名称:一号店" + " " * 47 + f"生成日期:{settle}", "", "",
             "交易类型            交易笔数               交易金额                         费用                              资金清算差额",
             " " * 41 + "借              贷              借              贷               借                  贷",
             rule, "消费      " + row, rule, "总计      " + row, "",
             "卡性质              交易笔数               交易金额                         费用                              资金清算差额",
             " " * 41 + "借              贷              借              贷               借                  贷",
             rule, "借记卡    " + row, "贷记卡    " + zero, rule, "总计      " + row]
    return ("\r\n".join(lines) + "\r\n").encode("gbk")
