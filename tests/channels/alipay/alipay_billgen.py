"""Builds Alipay bills in the real layout (GBK, '#' lines, trailing tabs) for the tests."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

HEADER = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
          "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,"
          "券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
SUMMARY_HEADER = ("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,"
                  "商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")
ACCOUNT = "20880211096256330156"
DASH_L = "#" + "-" * 41
DASH_R = "-" * 40
DAY = dt.date(2019, 9, 16)


def _dates(day: dt.date) -> str:
    """The '#起始日期 … 终止日期' line of a day's bill as Alipay prints it: that day's 00:00 to the next day's."""
    nxt = day + dt.timedelta(days=1)
    return f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{nxt:%Y年%m月%d日} 00:00:00]"


@dataclass
class Row:
    """One detail row; amounts are yuan strings exactly as Alipay prints them."""

    trade_no: str
    order_no: str
    biz: str = "交易"
    order_amt: str = "10.00"
    settle: str = "10.00"
    fee: str = "-0.06"
    refund_no: str = ""
    finished: str = "2019-09-16 10:55:23"
    created: str = "2019-09-16 10:55:16"
    mdisc: str = "0.00"
    store: str = "S001"
    remark: str = "下单测试"

    def line(self) -> str:
        """The CSV line with Alipay's trailing tabs on the id/text fields."""
        cells = [f"{self.trade_no}\t", f"{self.order_no}\t", f"{self.biz}\t", "测试商品", self.created,
                 self.finished, f"{self.store}\t", "一号店\t", "alipay\t", "\t", "*津水(602***@qq.com)\t",
                 self.order_amt, self.settle, "0.00", "0.00", "0.00", self.mdisc, "0.00", "", "0.00\t", "0.00",
                 f"{self.refund_no}\t", self.fee, "0.00", self.remark]
        return ",".join(cells)


def _fen(s: str) -> int:
    neg = s.startswith("-")
    whole, _, frac = s.lstrip("-").partition(".")
    v = int(whole) * 100 + int((frac + "00")[:2])
    return -v if neg else v


def _yuan(f: int) -> str:
    return ("-" if f < 0 else "") + f"{abs(f) // 100}.{abs(f) % 100:02d}"


def detail_text(rows: list[Row], *, header: str = HEADER, totals: tuple[str, str] | None = None,
                account: str = ACCOUNT, day: dt.date = DAY) -> str:
    """The whole 业务明细 file as text; totals computed from the rows unless given."""
    pays = [r for r in rows if r.biz == "交易"]
    refs = [r for r in rows if r.biz == "退款"]
    if totals is None:
        totals = (
            f"#交易合计：{len(pays)}笔，商家实收共{_yuan(sum(_fen(r.settle) for r in pays))}元，"
            f"商家优惠共{_yuan(sum(_fen(r.mdisc) for r in pays))}元",
            f"#退款合计：{len(refs)}笔，商家实收退款共{_yuan(sum(_fen(r.settle) for r in refs))}元，"
            f"商家优惠退款共{_yuan(sum(_fen(r.mdisc) for r in refs))}元",
        )
    lines = ["#支付宝业务明细查询", f"#账号：[{account}]", _dates(day),
             f"{DASH_L}业务明细列表{DASH_R}", header, *[r.line() for r in rows],
             f"{DASH_L}业务明细列表结束{'-' * 36}", *totals, "#导出时间：[2019年09月17日 05:46:49]"]
    return "\r\n".join(lines) + "\r\n"


def detail_bytes(rows: list[Row], **kw) -> bytes:
    """``detail_text`` encoded as Alipay delivers it (GBK)."""
    return detail_text(rows, **kw).encode("gbk")


def summary_bytes(rows: list[Row], *, tamper: int = 0, account: str = ACCOUNT, day: dt.date = DAY) -> bytes:
    """The 业务明细(汇总) file for ``rows`` (one store), 合计 settle shifted by ``tamper`` fen."""
    pays = [r for r in rows if r.biz == "交易"]
    refs = [r for r in rows if r.biz == "退款"]
    order = sum(_fen(r.order_amt) for r in rows)
    settle = sum(_fen(r.settle) for r in rows)
    fee = sum(_fen(r.fee) for r in rows)
    cells = [str(len(pays)), str(len(refs)), _yuan(order), _yuan(settle), "0.00", "0.00", "0.00",
             _yuan(fee), "0.00", _yuan(settle + fee)]
    total = list(cells)
    total[3] = _yuan(settle + tamper)
    lines = ["#支付宝业务汇总查询", f"#账号：[{account}]", _dates(day),
             f"{DASH_L}业务汇总列表{DASH_R}", SUMMARY_HEADER, ",".join(["S001\t", "一号店\t", *cells]),
             ",".join(["合计", "", *total]), f"{DASH_L}业务汇总列表结束{'-' * 37}",
             "#导出时间：[2019年09月17日 05:46:49]"]
    if tamper:
        lines[5] = ",".join(["S001\t", "一号店\t", *total])
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


class _GbkName(zipfile.ZipInfo):
    """A member whose name is stored as GBK bytes without the UTF-8 flag, as Alipay's zips are."""

    def _encodeFilenameFlags(self):  # noqa: N802 (zipfile's own hook)
        return self.filename.encode("gbk"), self.flag_bits


def bill_zip(rows: list[Row], *, summary_tamper: int = 0, utf8_names: bool = False, account: str = ACCOUNT,
             day: dt.date = DAY) -> bytes:
    """The zip Alipay serves: GBK CSVs with GBK-encoded Chinese member names (no UTF-8 flag), of ``account``
    (the PID and Alipay's 4-digit suffix, as the '#账号' line prints it) and ``day``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for suffix, content in (("业务明细", detail_bytes(rows, account=account, day=day)),
                                ("业务明细(汇总)", summary_bytes(rows, tamper=summary_tamper, account=account, day=day))):
            name = f"{account}_{day:%Y%m%d}_{suffix}.csv"
            cls = zipfile.ZipInfo if utf8_names else _GbkName
            info = cls(name, date_time=(2019, 9, 17, 5, 46, 49))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


def sample_rows() -> list[Row]:
    """Two payments (one by 花呗), one refund with its fee returned."""
    return [
        Row("2019091622001458860515315453", "ORD-1", order_amt="100.00", settle="95.00", mdisc="5.00",
            fee="-0.57"),
        Row("2019091622001458860515315453", "ORD-1", biz="退款", order_amt="-30.00", settle="-30.00",
            fee="0.18", refund_no="RF-1", finished="2019-09-16 11:26:55"),
        Row("2019091622001458860513822558", "ORD-2", order_amt="20.00", settle="20.00", fee="-0.12",
            remark="花呗分期3期", finished="2019-09-16 23:59:59"),
    ]


# --- 账务明细 (bill_type=signcustomer) ---------------------------------------------------------------

FUND_HEADER = ("账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,"
               "账户余额（元）,交易渠道,业务类型,备注")
FUND_SUMMARY_HEADER = "类型,收入笔数,收入金额（+元）,支出笔数,支出金额（-元）,总金额（元）"


@dataclass
class FundRow:
    """One 账务明细 movement: ``income`` or ``expense`` (printed negative) in yuan as Alipay prints them."""

    flow_no: str
    business_no: str
    order_no: str = ""
    income: str = "0.00"
    expense: str = "0.00"
    balance: str = "0.00"
    when: str = "2019-09-16 10:55:23"
    biz: str = "在线支付"
    goods: str = "测试商品"
    party: str = "*津水(602***@qq.com)"
    remark: str = ""

    def line(self) -> str:
        """The CSV line with Alipay's trailing tabs on the id/text fields."""
        cells = [f"{self.flow_no}\t", f"{self.business_no}\t", f"{self.order_no}\t", f"{self.goods}\t", self.when,
                 f"{self.party}\t", self.income, self.expense, self.balance, "支付宝", self.biz, self.remark]
        return ",".join(cells)


def fund_totals(rows: list[FundRow]) -> tuple[str, str]:
    """The '#支出合计' / '#收入合计' lines the rows add up to."""
    ins = [r for r in rows if _fen(r.income)]
    outs = [r for r in rows if _fen(r.expense)]
    return (f"#支出合计：{len(outs)}笔，共{_yuan(-sum(abs(_fen(r.expense)) for r in outs))}元",
            f"#收入合计：{len(ins)}笔，共{_yuan(sum(_fen(r.income) for r in ins))}元")


def fund_text(rows: list[FundRow], *, totals: tuple[str, ...] | None = None, header: str = FUND_HEADER,
              account: str = ACCOUNT, day: dt.date = DAY) -> str:
    """The whole 账务明细 file as text; totals computed from the rows unless given."""
    lines = ["#支付宝账务明细查询", f"#账号：[{account}]", _dates(day),
             f"{DASH_L}账务明细列表{DASH_R}", header, *[r.line() for r in rows],
             f"{DASH_L}账务明细列表结束{'-' * 36}", *(fund_totals(rows) if totals is None else totals),
             "#导出时间：[2019年09月17日 05:46:49]"]
    return "\r\n".join(lines) + "\r\n"


def fund_bytes(rows: list[FundRow], **kw) -> bytes:
    """``fund_text`` encoded as Alipay delivers it (GBK)."""
    return fund_text(rows, **kw).encode("gbk")


def fund_summary_bytes(rows: list[FundRow], *, tamper: int = 0, account: str = ACCOUNT,
                       day: dt.date = DAY) -> bytes:
    """The 账务明细(汇总): one line per 业务类型 and a 合计 line, 合计 收入金额 shifted by ``tamper`` fen."""
    by_type: dict[str, list[int]] = {}
    for r in rows:
        acc = by_type.setdefault(r.biz, [0, 0, 0, 0])
        if _fen(r.income):
            acc[0], acc[1] = acc[0] + 1, acc[1] + _fen(r.income)
        if _fen(r.expense):
            acc[2], acc[3] = acc[2] + 1, acc[3] + abs(_fen(r.expense))

    def cells(name: str, v: list[int]) -> str:
        return ",".join([f"{name}\t", str(v[0]), _yuan(v[1]), str(v[2]), _yuan(-v[3]), _yuan(v[1] - v[3])])

    total = [sum(v[i] for v in by_type.values()) for i in range(4)]
    total[1] += tamper
    lines = ["#支付宝账务汇总查询", f"#账号：[{account}]", _dates(day),
             f"{DASH_L}账务汇总列表{DASH_R}", FUND_SUMMARY_HEADER, *[cells(k, v) for k, v in by_type.items()],
             cells("合计", total), f"{DASH_L}账务汇总列表结束{'-' * 37}", "#导出时间：[2019年09月17日 05:46:49]"]
    if tamper:  # a consistent file whose figures disagree with the detail: the first type carries it too
        first = next(iter(by_type))
        by_type[first][1] += tamper
        lines[5] = cells(first, by_type[first])
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def fund_zip(rows: list[FundRow], *, summary_tamper: int = 0, account: str = ACCOUNT, day: dt.date = DAY) -> bytes:
    """The signcustomer zip: …_账务明细.csv and …_账务明细(汇总).csv with GBK member names."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for suffix, content in (("账务明细", fund_bytes(rows, account=account, day=day)),
                                ("账务明细(汇总)", fund_summary_bytes(rows, tamper=summary_tamper, account=account,
                                                                  day=day))):
            info = _GbkName(f"{account}_{day:%Y%m%d}_{suffix}.csv", date_time=(2019, 9, 17, 5, 46, 49))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


def fund_rows() -> list[FundRow]:
    """The day of ``sample_rows`` as the account saw it: two payments in, their fees, a refund and
    the refund's returned fee, a withdrawal out. Balances run along."""
    return [
        FundRow("20190916200040011100860000000001", "2019091622001458860515315453", "ORD-1",
                income="95.00", balance="1095.00", when="2019-09-16 10:55:23"),
        FundRow("20190916200040011100860000000002", "2019091622001458860515315453", "", expense="-0.57",
                balance="1094.43", when="2019-09-16 10:55:23", biz="收费", goods="", party="",
                remark="服务费[2019091622001458860515315453]"),
        FundRow("20190916200040011100860000000003", "2019091622001458860515315453", "ORD-1", expense="-30.00",
                balance="1064.43", when="2019-09-16 11:26:55", biz="交易退款"),
        FundRow("20190916200040011100860000000004", "2019091622001458860515315453", "", income="0.18",
                balance="1064.61", when="2019-09-16 11:26:55", biz="收费", goods="", party="",
                remark="服务费退回"),
        FundRow("20190916200040011100860000000005", "2019091622001458860513822558", "ORD-2",
                income="20.00", balance="1084.61", when="2019-09-16 23:59:59"),
        FundRow("20190916200040011100860000000006", "", "", expense="-1000.00", balance="84.61",
                when="2019-09-16 23:30:00", biz="提现", goods="", party="招商银行(尾号1234)", remark="提现到银行卡"),
    ]
