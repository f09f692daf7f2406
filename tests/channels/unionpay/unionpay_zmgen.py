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
