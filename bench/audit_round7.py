"""Audit round 7: channel bills AS DELIVERED, end to end, against an oracle written from the spec.

Run by hand (about a minute):  PYTHONPATH=src .venv/bin/python bench/audit_round7.py [--keep DIR]

What it builds (a chain of 5 stores, 3 days 2026-11-20..22), every bill in the file its channel delivers:
- WeChat Pay trade bills (ALL) of two merchant numbers (1900000101: stores S001+S002, 1900000102: S003): backtick
  fields, a summary line, one with a UTF-8 BOM, one as the API's .gz; coupons (merchant-funded 免充值 and
  platform-funded 充值), fees (手续费, 5 decimals) and rates, REFUND rows (partial, multiple, on a later day), a
  REVOKED payment; a bill of another merchant number given by mistake; the day-1 bill delivered twice (.csv and
  .csv.gz); an empty bill on day 3 (header and a zero summary).
- Alipay 业务明细 + 业务明细(汇总) in the zip bill_download_url serves (GBK, member names GBK without the UTF-8
  flag, tab-guarded values, '#' frame and totals lines), two accounts (PIDs 2088000000000011 / …22); 花呗 and 花呗分期
  payments; partial and multiple refunds (退款, negative); 商家实收 / 商家优惠 / 服务费; day 2 downloaded twice, the
  second time with a late refund added; an empty day-3 bill.
- UnionPay ZM files (fixed widths, GBK) in the day's zip beside an empty ZME; a payment after 23:00 on the next
  day's ZM; a 04 退货.
- Shop defects: missing order, amount off by 0.01, closed order paid, duplicate payment across channels, a refund
  the shop never recorded, a refund the channel never did, a balance order, an unpaid order.

The oracle (``expected_*``) is written from issue 3, README (bills, Outcomes, Rules) and DESIGN.md alone. Runs:
1. one file run over every bill (``reconcile --orders --refunds --bills``);
2. a workspace day by day (``ingest`` then ``reconcile --workspace --date``): day 1, day 2 (first download),
   day 2 again after the re-download, day 3 (empty bills), day 1 again; each compared with the day's oracle,
   outcome_ids compared across reruns, and summary.json's control totals tied out against outcomes.csv.
3. a second workspace fed out of order, a third fed day by day from the shop's daily exports (an order refunded on
   day 2 is in day 1's export as paid); a file run of a partial day-2 export beside the official bill; the month's
   reconciliation report, whose net settlement is tied out against the bills.
Prints agree/disagree per case and exits 1 on any disagreement (about 60-90 s on the 2-core machine when it is quiet).

Found (2026-12-05, each fixed with a test):
- an Alipay refund made without out_request_no is listed with its 商户订单号 as 退款批次号/请求号 (Alipay documents it);
  it was read as a refund number: refund_channel_only + refund_order_only instead of one refund_matched;
- a file run counted the records another --bills file delivered again (the API's .gz and the platform's CSV, a REFUND
  bill beside the ALL bill, a re-download) once but said nothing (README: "both say how many");
- the reconciliation report's 净结算金额 took a WeChat/Alipay refund's amount (申请退款金额, 订单金额) off, not what the
  channel took back (退款金额, 商家实收): an order paid with a merchant-funded coupon and refunded in full netted to
  minus the coupon;
- (helper 94) a 花呗 payment whose 业务明细 row does not say 花呗 was held to the alipay fee rate (its order says huabei:
  the order's method now picks the rate); another merchant's bill given by mistake gave channel_only rows and no
  word (summary.json's merchant_numbers_without_orders names it now); a day whose WeChat and Alipay bills were
  loaded empty was said to have its bills left out (channels_without_records).
Spec questions (paymatch follows README; a finance user may expect otherwise): a shop recording the amount paid after a
merchant-funded coupon sees amount_mismatch (DESIGN compares 订单金额); a record PROCESSING in an intra-day export and
SUCCESS on the official bill of the same day is a duplicate_record (record_update needs another bill day); a payment
REVOKED behind a closed order is status_mismatch + refund_channel_only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"
WX1, WX2, WXF = "1900000101", "1900000102", "1900000199"   # ours, ours, another shop's (given by mistake)
WXSP, WXS = "1900000900", "1900000103"                      # a service provider and our store's 特约商户号
AP1, AP2 = "2088000000000011", "2088000000000022"           # Alipay PIDs (the bill's 账号 adds a 4-digit suffix)
UP1 = "898310000000001"                                      # UnionPay 商户代码
ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

# --------------------------------------------------------------------------------------------- shop side
ORDERS: list[dict] = []
REFUNDS: list[dict] = []


def order(no, store, mch, chan, amount, status, paid, inst=0):
    """One shop order (paid is 'YYYY-MM-DD HH:MM:SS' or '' for an unpaid one)."""
    created = paid or f"{D1} 09:00:00"
    ORDERS.append(dict(order_no=no, store_id=store, merchant_id=mch, channel=chan, amount=amount, status=status,
                       created_at=created, paid_at=paid, member_id="M" + no, member_level="1", instalments=inst))


def refund(no, order_no, amount, created, status="success"):
    REFUNDS.append(dict(refund_no=no, order_no=order_no, amount=amount, created_at=created, status=status))


# ---------------------------------------------------------------------------------------------- WeChat
WX_HEAD = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
           "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
           "手续费,费率,订单金额,申请退款金额,费率备注")
WX_SUM = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
_seq = [0]


def _n(prefix: str, width: int) -> str:
    _seq[0] += 1
    return prefix + str(_seq[0]).rjust(width - len(prefix), "0")


def fen(yuan: str) -> int:
    whole, _, frac = yuan.lstrip("-").partition(".")
    v = int(whole) * 100 + int((frac + "00")[:2])
    return -v if yuan.startswith("-") else v


def y(f: int) -> str:
    s = "-" if f < 0 else ""
    return f"{s}{abs(f) // 100}.{abs(f) % 100:02d}"


class WxBill:
    """A WeChat ALL trade bill of one merchant number and day."""

    def __init__(self, mch, sub="0"):
        self.mch, self.sub, self.rows = mch, sub, []

    paid_at: dict[str, str] = {}

    def pay(self, when, order_no, amount, settle=None, coupon="0.00", fee="0.00", status="SUCCESS", txid=None):
        settle = settle or amount
        txid = txid or _n("4200002", 28)
        WxBill.paid_at[txid] = when
        self.rows.append(dict(t=when, tx=txid, o=order_no, st=status, settle=settle, coupon=coupon, rid="0", rno="0",
                              ramt="0.00", rtype="", rst="", fee=fee, amt=amount, ramt_req="0.00"))
        return txid

    def refund(self, when, txid, order_no, refund_no, amount, fee="0.00", status="REFUND", paid_back=None,
               done=None):
        """A refund row: ``amount`` is what the merchant asked (申请退款金额), ``paid_back`` what went back to the
        buyer (退款金额: less a merchant-funded coupon's share); ``done`` its 退款成功时间 (REFUND bills)."""
        rid = _n("50300", 29)
        self.rows.append(dict(t=when, tx=txid, o=order_no, st=status, settle="0.00", coupon="0.00",
                              rid=rid, rno=refund_no, ramt=paid_back or amount, rtype="ORIGINAL", rst="SUCCESS",
                              fee=fee, amt="0.00", ramt_req=amount, done=done or when))
        return rid

    def revoke(self, when, txid, order_no, amount):
        """A payment revoked after its success (撤销): a row of its own, the money in the refund columns."""
        rid = _n("50300", 29)
        self.rows.append(dict(t=when, tx=txid, o=order_no, st="REVOKED", settle="0.00", coupon="0.00",
                              rid=rid, rno="0", ramt=amount, rtype="ORIGINAL", rst="",
                              fee="0.00", amt="0.00", ramt_req=amount))
        return rid

    def success_text(self) -> str:
        """The day's SUCCESS bill: its payments, 20 columns (no refund columns, no 申请退款金额)."""
        head = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
                "货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注")
        rows = [r for r in self.rows if r["st"] == "SUCCESS"]
        out = [head]
        for r in rows:
            vals = [r["t"], "wx2421b1c4370ec43b", self.mch, self.sub, "", r["tx"], r["o"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                    "MICROPAY", "SUCCESS", "CMB_DEBIT", "CNY", r["settle"], r["coupon"], "咖啡", "", f"{r['fee']}000",
                    "0.60%", r["amt"], ""]
            out.append(",".join("`" + v for v in vals))
        tot = lambda k: sum(fen(r[k]) for r in rows)  # noqa: E731
        out += ["总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额",
                ",".join("`" + v for v in [str(len(rows)), y(tot("settle")), "0.00", "0.00", y(tot("fee")) + "000",
                                           y(tot("amt"))])]
        return "\r\n".join(out) + "\r\n"

    def refund_text(self) -> str:
        """The day's REFUND bill: its refunds, 交易时间 the payment's, 退款申请时间/退款成功时间 beside."""
        head = WX_HEAD.replace("代金券金额,", "代金券金额,退款申请时间,退款成功时间,")
        rows = [r for r in self.rows if r["st"] == "REFUND"]
        out = [head]
        for r in rows:
            vals = [WxBill.paid_at.get(r["tx"], r["t"]), "wx2421b1c4370ec43b", self.mch, self.sub, "", r["tx"],
                    r["o"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "MICROPAY", "REFUND", "CMB_DEBIT", "CNY", "0.00", "0.00",
                    r["t"], r["done"], r["rid"], r["rno"], r["ramt"], "0.00", "ORIGINAL", "SUCCESS", "咖啡", "",
                    f"{r['fee']}000", "0.60%", "0.00", r["ramt_req"], ""]
            out.append(",".join("`" + v for v in vals))
        tot = lambda k: sum(fen(r[k]) for r in rows)  # noqa: E731
        out += [WX_SUM, ",".join("`" + v for v in [str(len(rows)), "0.00", y(tot("ramt")), "0.00",
                                                   y(tot("fee")) + "000", "0.00", y(tot("ramt_req"))])]
        return "\r\n".join(out) + "\r\n"

    def text(self, rows=None) -> str:
        out = [WX_HEAD]
        for r in self.rows if rows is None else rows:
            fee5 = f"{r['fee']}000"
            vals = [r["t"], "wx2421b1c4370ec43b", self.mch, r.get("sub", self.sub), "", r["tx"], r["o"],
                    "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "MICROPAY", r["st"], "CMB_DEBIT", "CNY", r["settle"], r["coupon"], r["rid"], r["rno"], r["ramt"],
                    "0.00", r["rtype"], r["rst"], "咖啡", "", fee5, "0.60%", r["amt"], r["ramt_req"], ""]
            out.append(",".join("`" + v for v in vals))
        rows = self.rows if rows is None else rows
        tot = lambda k: sum(fen(r[k]) for r in rows)  # noqa: E731
        fee_tot = sum(fen(r["fee"]) for r in rows)
        out.append(WX_SUM)
        out.append(",".join("`" + v for v in [str(len(rows)), y(tot("settle")), y(tot("ramt")), "0.00",
                                              y(fee_tot) + "000", y(tot("amt")), y(tot("ramt_req"))]))
        return "\r\n".join(out) + "\r\n"


# ---------------------------------------------------------------------------------------------- Alipay
AP_HEAD = ("支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
           "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
           "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注")
AP_SUM_HEAD = ("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,"
               "卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）")


def _cn_day(day: str, clock="00:00:00") -> str:
    yy, mm, dd = day.split("-")
    return f"{yy}年{mm}月{dd}日 {clock}"


def _next(day: str) -> str:
    import datetime as dt
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


class _GbkName(zipfile.ZipInfo):
    """A member name written in GBK without the zip UTF-8 flag, as Alipay's bill zip has it."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits


class ApBill:
    """An Alipay 业务明细 of one account and day, with its 汇总, zipped as bill_download_url serves it."""

    def __init__(self, pid, day):
        self.pid, self.day, self.rows = pid, day, []
        self.account = pid + "0156"

    def pay(self, when, order_no, amount, settle=None, mdisc="0.00", fee="0.00", remark="", txid=None):
        settle = settle or amount
        txid = txid or (when[:10].replace("-", "") + "2200" + _n("14", 14))
        self.rows.append(dict(tx=txid, o=order_no, biz="交易", c=when, f=when, amt=amount, settle=settle,
                              mdisc=mdisc, rno="", fee=fee, remark=remark))
        return txid

    def refund(self, when, txid, order_no, refund_no, amount, fee="0.00", settle=None, mdisc="0.00"):
        self.rows.append(dict(tx=txid, o=order_no, biz="退款", c=when, f=when, amt="-" + amount,
                              settle="-" + (settle or amount), mdisc=mdisc, rno=refund_no, fee=fee, remark=""))

    def _frame(self, title, start, end, lines, export):
        head = [f"#{title}", f"#账号：[{self.account}]",
                f"#起始日期：[{_cn_day(self.day)}]   终止日期：[{_cn_day(_next(self.day))}]",
                f"#-----------------------------------------{start}----------------------------------------"]
        return head + lines + [f"#-----------------------------------------{end}------------------------------------",
                               *export]

    def detail(self) -> str:
        rows = []
        for r in self.rows:
            vals = [r["tx"], r["o"], r["biz"], "咖啡", r["c"], r["f"], "", "", "", "", "buy***@163.com", r["amt"],
                    r["settle"], "0.00", "0.00", "0.00", r["mdisc"], "0.00", "", "0.00", "0.00", r["rno"], r["fee"],
                    "0.00", r["remark"]]
            rows.append(",".join(v + "\t" for v in vals))
        pays = [r for r in self.rows if r["biz"] == "交易"]
        refs = [r for r in self.rows if r["biz"] == "退款"]
        s = lambda rs, k: y(sum(fen(r[k]) for r in rs))  # noqa: E731
        trailer = [f"#交易合计：{len(pays)}笔，商家实收共{s(pays, 'settle')}元，商家优惠共{s(pays, 'mdisc')}元",
                   f"#退款合计：{len(refs)}笔，商家实收退款共{s(refs, 'settle')}元，商家优惠退款共{s(refs, 'mdisc')}元",
                   f"#导出时间：[{_cn_day(_next(self.day), '05:46:49')}]"]
        return "\r\n".join(self._frame("支付宝业务明细查询", "业务明细列表", "业务明细列表结束", [AP_HEAD, *rows], trailer)) + "\r\n"

    def summary(self) -> str:
        pays = [r for r in self.rows if r["biz"] == "交易"]
        refs = [r for r in self.rows if r["biz"] == "退款"]
        s = lambda k: sum(fen(r[k]) for r in self.rows)  # noqa: E731
        vals = [str(len(pays)), str(len(refs)), y(s("amt")), y(s("settle")), "0.00", y(s("mdisc")), "0.00",
                y(s("fee")), "0.00", y(s("settle") + s("fee"))]
        lines = [AP_SUM_HEAD, ",".join(v + "\t" for v in ["", ""] + vals), ",".join(v + "\t" for v in ["合计", ""] + vals)]
        return "\r\n".join(self._frame("支付宝业务汇总查询", "业务汇总列表", "业务汇总列表结束", lines,
                                       [f"#导出时间：[{_cn_day(_next(self.day), '05:46:49')}]"])) + "\r\n"

    def zip_bytes(self) -> bytes:
        """The zip as Alipay serves it: GBK member names without the UTF-8 flag, GBK content."""
        stem = f"{self.account}_{self.day.replace('-', '')}"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in ((f"{stem}_业务明细.csv", self.detail()), (f"{stem}_业务明细(汇总).csv", self.summary())):
                info = _GbkName(name, date_time=(2026, 11, 21, 5, 46, 49))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, text.encode("gbk"))
        return buf.getvalue()


# -------------------------------------------------------------------------------------------- UnionPay
ZM_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15,
             1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98]   # 《全渠道平台接入接口规范 第3部分》 ZM 一般交易流水


class ZmFile:
    """One UnionPay 全渠道 ZM file (settle day), zipped with an empty ZME as the day's delivery."""

    def __init__(self, mer, day):
        self.mer, self.day, self.lines, self.recs = mer, day, [], []   # recs: (type, 交易金额 fen, fee fen signed)

    def _line(self, when, amount_fen, query_id, order_id, fee, settle, txn_type, orig_query="", orig_order=""):
        f = [""] * len(ZM_WIDTHS)
        f[0], f[1], f[2] = "S22" if txn_type == "01" else "S30", "48020000", "48020000"
        f[3] = _n("", 6)
        f[4] = when[5:7] + when[8:10] + when[11:13] + when[14:16] + when[17:19]
        f[5], f[6], f[7], f[8] = "6216********1234", str(amount_fen).rjust(12, "0"), "5812", "07"
        f[9], f[11], f[12] = query_id, order_id, "01"
        f[15], f[16], f[17] = fee, settle, "0001"
        f[19], f[20], f[21], f[22] = txn_type, "01" if txn_type == "01" else "00", "000201", "01"
        f[26], f[27], f[40] = orig_query, self.mer, orig_order
        return " ".join(v.ljust(w) for v, w in zip(f, ZM_WIDTHS)).rstrip() + " "

    def pay(self, when, order_id, amount_fen, fee_fen):
        q = when[:10].replace("-", "")[2:] + _n("", 15)
        self.lines.append(self._line(when, amount_fen, q, order_id, "D" + str(fee_fen).rjust(12, "0"),
                                     "C" + str(amount_fen - fee_fen).rjust(12, "0"), "01"))
        self.recs.append(("payment", amount_fen, fee_fen))
        return q

    def refund(self, when, pay_query, refund_no, order_id, amount_fen, fee_back_fen):
        q = when[:10].replace("-", "")[2:] + _n("", 15)
        self.lines.append(self._line(when, amount_fen, q, refund_no, "C" + str(fee_back_fen).rjust(12, "0"),
                                     "D" + str(amount_fen - fee_back_fen).rjust(12, "0"), "04", pay_query, order_id))
        self.recs.append(("refund", amount_fen, -fee_back_fen))

    def zip_bytes(self) -> bytes:
        yymmdd = self.day.replace("-", "")[2:]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"INN{yymmdd}88ZM_{self.mer}", "\r\n".join(self.lines).encode("gbk") + b"\r\n")
            z.writestr(f"INN{yymmdd}88ZME_{self.mer}", b"")
        return buf.getvalue()


# ------------------------------------------------------------------------------------------------ cases
#: outcome_id -> (expected kind in the file run over every bill, {day: kind in that day's workspace run}, why)
EXPECT: dict[str, tuple[str, dict[str, str], str]] = {}
#: side -> (rows, fen) every input the file run reads, each distinct record once
CONTROL: dict[str, tuple[int, int]] = {}


def expect(oid, kind, days, why):
    EXPECT[oid] = (kind, days, why)


def build(root: Path) -> dict[str, list[Path]]:
    """Write orders, refunds, config and every day's bills under root; the oracle goes into EXPECT."""
    wx1 = {d: WxBill(WX1) for d in (D1, D2, D3)}
    wx2 = {d: WxBill(WX2) for d in (D1, D2)}
    wxf = WxBill(WXF)
    wxs = WxBill(WXSP, sub=WXS)
    ap1 = {d: ApBill(AP1, d) for d in (D1, D2, D3)}
    ap1_late = ApBill(AP1, D2)      # day 2 downloaded again later, with a late refund added
    ap2 = ApBill(AP2, D1)
    zm = {d: ZmFile(UP1, d) for d in (D1, D2)}
    both = lambda k: {D1: k}  # noqa: E731

    # --- WeChat, merchant 1900000101 (S001, S002); rate 0.60% on 应结订单金额
    order("W01", "S001", WX1, "wechat", "100.00", "paid", f"{D1} 10:00:00")
    wx1[D1].pay(f"{D1} 10:00:03", "W01", "100.00", fee="0.60")
    expect("P-W01", "matched", both("matched"), "plain payment")
    order("W02", "S001", WX1, "wechat", "50.00", "paid", f"{D1} 10:05:00")
    wx1[D1].pay(f"{D1} 10:05:02", "W02", "50.00", settle="45.00", coupon="5.00", fee="0.27")
    expect("P-W02", "matched", both("matched"),
           "merchant-funded coupon 5.00: 订单金额 50.00 is compared (DESIGN: coupons make 应结 smaller, not a break); "
           "fee 0.27 = 0.6% of 应结 45.00")
    order("W02b", "S002", WX1, "wechat", "30.00", "paid", f"{D1} 10:06:00")
    wx1[D1].pay(f"{D1} 10:06:02", "W02b", "30.00", settle="30.00", coupon="3.00", fee="0.18")
    expect("P-W02b", "matched", both("matched"), "platform-funded (充值) coupon: 应结 = 订单金额")
    order("W03", "S002", WX1, "wechat", "88.00", "paid", f"{D1} 10:10:00")
    wx1[D1].pay(f"{D1} 10:10:01", "W03", "88.01", fee="0.53")
    expect("P-W03", "amount_mismatch", both("amount_mismatch"), "channel 88.01 vs order 88.00")
    wx1[D1].pay(f"{D1} 10:20:00", "W04-NOORDER", "19.00", fee="0.11")
    expect("P-W04-NOORDER", "channel_only", both("channel_only"), "shop lost the order")
    order("W05", "S001", WX1, "wechat", "25.00", "closed", "")
    wx1[D1].pay(f"{D1} 10:30:00", "W05", "25.00", fee="0.15")
    expect("P-W05", "status_mismatch", both("status_mismatch"), "closed order but WeChat SUCCESS")
    order("W06", "S001", WX1, "wechat", "20.00", "refunded", f"{D1} 11:00:00")
    t6 = wx1[D1].pay(f"{D1} 11:00:01", "W06", "20.00", fee="0.12")
    refund("RF-W06", "W06", "20.00", f"{D1} 12:00:00")
    wx1[D1].refund(f"{D1} 12:00:01", t6, "W06", "RF-W06", "20.00", fee="-0.12")
    expect("P-W06", "matched", both("matched"), "refunded order's payment")
    expect("R-RF-W06", "refund_matched", both("refund_matched"), "full refund same day (REFUND row of the ALL bill)")
    order("W07", "S002", WX1, "wechat", "100.00", "partially_refunded", f"{D1} 11:10:00")
    t7 = wx1[D1].pay(f"{D1} 11:10:01", "W07", "100.00", fee="0.60")
    refund("RF-W07a", "W07", "10.00", f"{D1} 15:00:00")
    wx1[D1].refund(f"{D1} 15:00:02", t7, "W07", "RF-W07a", "10.00", fee="-0.06")
    refund("RF-W07b", "W07", "15.00", f"{D2} 09:00:00")
    wx1[D2].refund(f"{D2} 09:00:02", t7, "W07", "RF-W07b", "15.00", fee="-0.09")
    expect("P-W07", "matched", both("matched"), "partially refunded order")
    expect("R-RF-W07a", "refund_matched", both("refund_matched"), "first of two partial refunds")
    expect("R-RF-W07b", "refund_matched", {D2: "refund_matched"}, "second partial refund, next day's bill")
    order("W08", "S001", WX1, "wechat", "60.00", "refunded", f"{D1} 13:00:00")
    t8 = wx1[D1].pay(f"{D1} 13:00:01", "W08", "60.00", fee="0.36")
    refund("RF-W08", "W08", "60.00", f"{D2} 10:00:00")
    wx1[D2].refund(f"{D2} 10:00:02", t8, "W08", "RF-W08", "60.00", fee="-0.36")
    expect("P-W08", "matched", both("matched"), "paid day 1")
    expect("R-RF-W08", "refund_matched", {D2: "refund_matched"}, "refunded on a later bill day")
    # REVOKED: the shop recorded the reversal as a refund of the whole order -> paired by order and amount
    order("W09", "S001", WX1, "wechat", "12.00", "refunded", f"{D1} 14:00:00")
    t9 = wx1[D1].pay(f"{D1} 14:00:01", "W09", "12.00", fee="0.07")
    refund("RF-W09", "W09", "12.00", f"{D1} 14:01:00")
    wx1[D1].revoke(f"{D1} 14:01:05", t9, "W09", "12.00")
    expect("P-W09", "matched", both("matched"), "payment later revoked; shop says refunded")
    expect("R-RF-W09", "refund_matched", both("refund_matched"),
           "REVOKED row = refund without a refund number, paired with the shop refund of same order+amount")
    # REVOKED without any shop refund: the shop closed the order
    order("W09b", "S002", WX1, "wechat", "9.00", "closed", f"{D1} 14:10:00")
    t9b = wx1[D1].pay(f"{D1} 14:10:01", "W09b", "9.00", fee="0.05")
    rid9b = wx1[D1].revoke(f"{D1} 14:11:00", t9b, "W09b", "9.00")
    expect("P-W09b", "status_mismatch", both("status_mismatch"), "closed order, WeChat payment SUCCESS")
    expect(f"R-~wechat:{rid9b}", "refund_channel_only", both("refund_channel_only"),
           "REVOKED row, no shop refund (README: refund_channel_only; id R-~wechat:<微信退款单号>)")
    # duplicate payment across channels
    order("W10", "S002", WX1, "wechat", "66.00", "paid", f"{D1} 15:00:00")
    wx1[D1].pay(f"{D1} 15:00:01", "W10", "66.00", fee="0.40")
    ap1[D1].pay(f"{D1} 15:01:30", "W10", "66.00", fee="-0.40")
    expect("P-W10", "duplicate_payment", both("duplicate_payment"), "paid by WeChat and again by Alipay")
    # a double payment (WeChat, then Alipay) that the shop refunded on Alipay: still two payments; the refund is
    # no over-refund (README over_refund: "a double payment refunded in full is not over")
    order("W27", "S001", WX1, "wechat", "36.00", "paid", f"{D1} 15:10:00")
    wx1[D1].pay(f"{D1} 15:10:01", "W27", "36.00", fee="0.22")
    t27 = ap1[D1].pay(f"{D1} 15:11:00", "W27", "36.00", fee="-0.22")
    refund("RF-W27", "W27", "36.00", f"{D1} 15:30:00")
    ap1[D1].refund(f"{D1} 15:30:02", t27, "W27", "RF-W27", "36.00", fee="0.22")
    expect("P-W27", "duplicate_payment", both("duplicate_payment"), "paid twice, one refunded")
    expect("R-RF-W27", "refund_matched", both("refund_matched"), "the second payment refunded")
    # refund amount off by 0.01
    order("W26", "S002", WX1, "wechat", "50.00", "partially_refunded", f"{D1} 15:20:00")
    t26 = wx1[D1].pay(f"{D1} 15:20:01", "W26", "50.00", fee="0.30")
    refund("RF-W26", "W26", "19.99", f"{D1} 15:40:00")
    wx1[D1].refund(f"{D1} 15:40:01", t26, "W26", "RF-W26", "20.00", fee="-0.12")
    expect("P-W26", "matched", both("matched"), "payment fine")
    expect("R-RF-W26", "refund_amount_mismatch", both("refund_amount_mismatch"), "channel 20.00 vs shop 19.99")
    # refund the shop never recorded
    order("W11", "S001", WX1, "wechat", "40.00", "paid", f"{D1} 16:00:00")
    t11 = wx1[D1].pay(f"{D1} 16:00:01", "W11", "40.00", fee="0.24")
    wx1[D1].refund(f"{D1} 17:00:00", t11, "W11", "RF-W11-CONSOLE", "5.00", fee="-0.03")
    expect("P-W11", "matched", both("matched"), "payment fine")
    expect("R-RF-W11-CONSOLE", "refund_channel_only", both("refund_channel_only"), "refund made in the merchant console")
    # refund the channel never did
    order("W12", "S001", WX1, "wechat", "35.00", "refunded", f"{D1} 16:10:00")
    wx1[D1].pay(f"{D1} 16:10:01", "W12", "35.00", fee="0.21")
    refund("RF-W12", "W12", "35.00", f"{D1} 17:10:00")
    expect("P-W12", "matched", both("matched"), "payment fine")
    expect("R-RF-W12", "refund_order_only", both("refund_order_only"), "shop says refunded, WeChat has no refund")
    order("W13", "S002", WX1, "wechat", "77.00", "paid", f"{D1} 16:20:00")
    expect("P-W13", "order_only", both("order_only"), "no WeChat record")
    order("W15", "S002", WX1, "wechat", "200.00", "paid", f"{D1} 16:30:00")
    wx1[D1].pay(f"{D1} 16:30:01", "W15", "200.00", fee="1.30")
    expect("P-W15", "fee_mismatch", both("fee_mismatch"), "fee 1.30 vs 0.6% of 200.00 = 1.20")
    # paid just before midnight; WeChat booked it after midnight -> day 2's bill
    order("W30", "S001", WX1, "wechat", "18.00", "paid", f"{D1} 23:58:30")
    wx1[D2].pay(f"{D2} 00:00:20", "W30", "18.00", fee="0.11")
    expect("P-W30", "matched", {D1: "pending_cross_day", D2: "matched"}, "cross-day: on day 2's bill")
    order("W31", "S001", WX1, "wechat", "42.00", "paid", f"{D2} 10:00:00")
    wx1[D2].pay(f"{D2} 10:00:02", "W31", "42.00", fee="0.25")
    expect("P-W31", "matched", {D2: "matched"}, "day 2 payment")
    order("W40", "S001", WX1, "wechat", "15.00", "paid", f"{D3} 10:00:00")
    expect("P-W40", "order_only", {D3: "order_only"}, "day 3's bill is empty")
    # second WeChat merchant number (S003)
    order("W20", "S003", WX2, "wechat", "33.00", "paid", f"{D1} 12:00:00")
    wx2[D1].pay(f"{D1} 12:00:01", "W20", "33.00", fee="0.20")
    expect("P-W20", "matched", both("matched"), "second merchant number")
    wx2[D1].pay(f"{D1} 12:30:00", "W21-NOORDER", "21.00", fee="0.13")
    expect("P-W21-NOORDER", "channel_only", both("channel_only"), "channel only on 1900000102 ([stores] -> S003)")
    order("W22", "S003", WX2, "wechat", "54.00", "paid", f"{D2} 12:00:00")
    wx2[D2].pay(f"{D2} 12:00:01", "W22", "54.00", fee="0.32")
    expect("P-W22", "matched", {D2: "matched"}, "second merchant number, day 2")
    # merchant number mismatch: order names 1900000101, paid into 1900000102
    order("W23", "S003", WX1, "wechat", "27.00", "paid", f"{D1} 12:40:00")
    wx2[D1].pay(f"{D1} 12:40:01", "W23", "27.00", fee="0.16")
    expect("P-W23", "merchant_mismatch", both("merchant_mismatch"), "credited to another merchant number of ours")
    # another shop's bill given by mistake
    wxf.pay(f"{D1} 09:30:00", "FOREIGN-1", "99.00", fee="0.59")
    wxf.pay(f"{D1} 09:40:00", "FOREIGN-2", "11.00", fee="0.07")
    expect("P-FOREIGN-1", "channel_only", both("channel_only"), "another merchant's bill: its rows have no order")
    expect("P-FOREIGN-2", "channel_only", both("channel_only"), "another merchant's bill")

    # --- Alipay account 2088000000000011 (S001/S002), 2088000000000022 (S004)
    order("A01", "S001", AP1, "alipay", "150.00", "paid", f"{D1} 10:00:00")
    ap1[D1].pay(f"{D1} 10:00:05", "A01", "150.00", fee="-0.90")
    expect("P-A01", "matched", both("matched"), "plain Alipay payment")
    order("A02", "S001", AP1, "huabei", "120.00", "paid", f"{D1} 10:30:00")
    ap1[D1].pay(f"{D1} 10:30:04", "A02", "120.00", fee="-0.96", remark="花呗支付")
    expect("P-A02", "matched", both("matched"), "花呗 settles through Alipay")
    order("A03", "S002", AP1, "huabei", "600.00", "paid", f"{D1} 11:00:00", inst=3)
    ap1[D1].pay(f"{D1} 11:00:06", "A03", "600.00", fee="-4.80")   # the 花呗 rate, 0.8 %: its order says huabei
    expect("P-A03", "matched", both("matched"), "花呗分期 3 periods: up-front, the shop is paid at the sale")
    order("A04", "S002", AP1, "alipay", "60.00", "paid", f"{D1} 11:30:00")
    ap1[D1].pay(f"{D1} 11:30:02", "A04", "60.00", settle="54.00", mdisc="6.00", fee="-0.32")
    expect("P-A04", "matched", both("matched"), "商家优惠 6.00: 订单金额 60.00 compared, 商家实收 54.00")
    order("A05", "S001", AP1, "alipay", "80.00", "partially_refunded", f"{D1} 12:00:00")
    t5 = ap1[D1].pay(f"{D1} 12:00:03", "A05", "80.00", fee="-0.48")
    refund("RF-A05", "A05", "30.00", f"{D1} 13:00:00")
    ap1[D1].refund(f"{D1} 13:00:02", t5, "A05", "RF-A05", "30.00", fee="0.18")
    expect("P-A05", "matched", both("matched"), "partially refunded")
    expect("R-RF-A05", "refund_matched", both("refund_matched"), "partial Alipay refund")
    order("A06", "S002", AP1, "alipay", "80.00", "refunded", f"{D1} 12:30:00")
    t6a = ap1[D1].pay(f"{D1} 12:30:03", "A06", "80.00", fee="-0.48")
    refund("RF-A06a", "A06", "20.00", f"{D2} 09:00:00")
    refund("RF-A06b", "A06", "60.00", f"{D2} 09:30:00")
    for b in (ap1[D2], ap1_late):
        b.refund(f"{D2} 09:00:02", t6a, "A06", "RF-A06a", "20.00", fee="0.12")
        b.refund(f"{D2} 09:30:02", t6a, "A06", "RF-A06b", "60.00", fee="0.36")
    expect("P-A06", "matched", both("matched"), "refunded in two parts the next day")
    expect("R-RF-A06a", "refund_matched", {D2: "refund_matched"}, "multiple refunds, later day")
    expect("R-RF-A06b", "refund_matched", {D2: "refund_matched"}, "multiple refunds, later day")
    order("A07", "S001", AP1, "alipay", "45.00", "paid", f"{D1} 14:00:00")
    ap1[D1].pay(f"{D1} 14:00:03", "A07", "44.99", fee="-0.27")
    expect("P-A07", "amount_mismatch", both("amount_mismatch"), "channel 44.99 vs 45.00")
    ap2.pay(f"{D1} 14:30:00", "A09-NOORDER", "70.00", fee="-0.42")
    expect("P-A09-NOORDER", "channel_only", both("channel_only"), "no order; account 2 ([stores] -> S004)")
    order("A08", "S004", AP2, "alipay", "90.00", "paid", f"{D1} 14:40:00")
    ap2.pay(f"{D1} 14:40:03", "A08", "90.00", fee="-0.54")
    expect("P-A08", "matched", both("matched"), "second Alipay account")
    order("A10", "S001", AP1, "alipay", "50.00", "refunded", f"{D1} 15:00:00")
    t10 = ap1[D1].pay(f"{D1} 15:00:03", "A10", "50.00", fee="-0.30")
    refund("RF-A10", "A10", "50.00", f"{D2} 15:00:00")
    ap1_late.refund(f"{D2} 15:00:05", t10, "A10", "RF-A10", "50.00", fee="0.30")
    expect("P-A10", "matched", both("matched"), "refund only on the re-downloaded day-2 bill")
    expect("R-RF-A10", "refund_matched", {D2: "refund_matched"},
           "first day-2 run: refund_order_only; after the re-download refund_matched")
    order("A11", "S002", AP1, "alipay", "38.00", "paid", f"{D2} 11:00:00")
    for b in (ap1[D2], ap1_late):
        b.pay(f"{D2} 11:00:02", "A11", "38.00", fee="-0.23", txid="2026112122001400000000000111")
    expect("P-A11", "matched", {D2: "matched"}, "day 2 (both downloads list it)")
    order("A12", "S001", AP1, "alipay", "26.00", "paid", f"{D3} 09:00:00")
    expect("P-A12", "order_only", {D3: "order_only"}, "empty day-3 Alipay bill")

    # coupon order refunded in full: the shop refunds 50.00, WeChat pays back 45.00 (申请退款金额 50.00, 退款金额 45.00)
    order("W02c", "S001", WX1, "wechat", "50.00", "refunded", f"{D1} 17:00:00")
    t2c = wx1[D1].pay(f"{D1} 17:00:01", "W02c", "50.00", settle="45.00", coupon="5.00", fee="0.27")
    refund("RF-W02c", "W02c", "50.00", f"{D1} 17:30:00")
    wx1[D1].refund(f"{D1} 17:30:01", t2c, "W02c", "RF-W02c", "50.00", fee="-0.27", paid_back="45.00")
    expect("P-W02c", "matched", both("matched"), "coupon order")
    expect("R-RF-W02c", "refund_matched", both("refund_matched"),
           "refund of a coupon order: the shop's 50.00 is 申请退款金额 (退款金额 45.00 went back to the buyer)")
    # the shop recorded what the buyer paid after a merchant-funded WeChat coupon (45.00), not the order total
    order("W02d", "S002", WX1, "wechat", "45.00", "paid", f"{D1} 17:40:00")
    wx1[D1].pay(f"{D1} 17:40:01", "W02d", "50.00", settle="45.00", coupon="5.00", fee="0.27")
    expect("P-W02d", "amount_mismatch", both("amount_mismatch"),
           "DESIGN: 订单金额 50.00 is compared; a shop keeping the paid amount sees 长款 5.00 (spec question)")
    # shop refund still processing, WeChat says it succeeded; a failed shop refund with no record
    order("W16", "S001", WX1, "wechat", "22.00", "refunded", f"{D1} 18:00:00")
    t16 = wx1[D1].pay(f"{D1} 18:00:01", "W16", "22.00", fee="0.13")
    refund("RF-W16", "W16", "22.00", f"{D1} 18:10:00", status="processing")
    wx1[D1].refund(f"{D1} 18:10:01", t16, "W16", "RF-W16", "22.00", fee="-0.13")
    expect("P-W16", "matched", both("matched"), "payment fine")
    expect("R-RF-W16", "refund_status_mismatch", both("refund_status_mismatch"),
           "shop: processing, WeChat: SUCCESS (README kinds: refund_status_mismatch)")
    order("W17", "S002", WX1, "wechat", "14.00", "paid", f"{D1} 18:20:00")
    wx1[D1].pay(f"{D1} 18:20:01", "W17", "14.00", fee="0.08")
    refund("RF-W17", "W17", "14.00", f"{D1} 18:30:00", status="failed")
    expect("P-W17", "matched", both("matched"), "payment fine")
    expect("R-RF-W17", "refund_failed", both("refund_failed"), "failed shop refund, no channel refund (consistent)")
    # paid into both WeChat merchant numbers of the chain
    order("W19", "S001", WX1, "wechat", "31.00", "paid", f"{D1} 19:00:00")
    wx1[D1].pay(f"{D1} 19:00:01", "W19", "31.00", fee="0.19")
    wx2[D1].pay(f"{D1} 19:02:00", "W19", "31.00", fee="0.19")
    expect("P-W19", "duplicate_payment", both("duplicate_payment"), "two successful payments on two merchant numbers")
    # a refund made at 23:57 whose WeChat record is accepted after midnight (next day's bill)
    order("W32", "S001", WX1, "wechat", "24.00", "refunded", f"{D1} 20:00:00")
    t32 = wx1[D1].pay(f"{D1} 20:00:01", "W32", "24.00", fee="0.14")
    refund("RF-W32", "W32", "24.00", f"{D1} 23:57:00")
    wx1[D2].refund(f"{D2} 00:00:30", t32, "W32", "RF-W32", "24.00", fee="-0.14")
    expect("P-W32", "matched", both("matched"), "payment fine")
    expect("R-RF-W32", "refund_matched", {D1: "pending_cross_day", D2: "refund_matched"},
           "refund within the grace before midnight, on the next day's bill")
    # a WeChat service provider's sub-merchant (特约商户号 1900000103, S006): the bill names 商户号 = the provider
    order("W50", "S006", WXS, "wechat", "58.00", "paid", f"{D1} 10:00:00")
    wxs.pay(f"{D1} 10:00:02", "W50", "58.00", fee="0.35")
    expect("P-W50", "matched", both("matched"), "service-provider bill: merchant = 特约商户号")
    wxs.pay(f"{D1} 10:30:00", "W51-NOORDER", "12.00", fee="0.07")
    # the provider's bill lists its other sub-merchants too (特约商户号 per row): another of ours, S007
    wxs2 = WxBill(WXSP, sub="1900000104")
    order("W52", "S007", "1900000104", "wechat", "64.00", "paid", f"{D1} 11:00:00")
    wxs2.pay(f"{D1} 11:00:02", "W52", "64.00", fee="0.38")
    expect("P-W52", "matched", both("matched"), "a second sub-merchant's row in the provider's bill")
    for r in wxs2.rows:
        r["sub"] = "1900000104"
    wxs.rows += wxs2.rows
    expect("P-W51-NOORDER", "channel_only", both("channel_only"), "sub-merchant's channel only -> [stores] S006")
    # Alipay refund of a discounted order: 订单金额 -60.00, 商家实收 -54.00, 商家优惠 -6.00
    order("A14", "S001", AP1, "alipay", "60.00", "refunded", f"{D1} 16:00:00")
    t14 = ap1[D1].pay(f"{D1} 16:00:02", "A14", "60.00", settle="54.00", mdisc="6.00", fee="-0.32")
    refund("RF-A14", "A14", "60.00", f"{D1} 16:30:00")
    ap1[D1].refund(f"{D1} 16:30:02", t14, "A14", "RF-A14", "60.00", fee="0.32", settle="54.00", mdisc="-6.00")
    expect("P-A14", "matched", both("matched"), "discounted Alipay order")
    expect("R-RF-A14", "refund_matched", both("refund_matched"), "refund = |订单金额| 60.00 (商家实收 -54.00)")

    # a full refund made without out_request_no: Alipay's 退款批次号/请求号 is then the 商户订单号 (Alipay
    # trade.refund.query: "如果在退款请求时未传入，则该值为创建交易时的商户订单号"); the shop numbers it RF-A15
    order("A15", "S002", AP1, "alipay", "25.00", "refunded", f"{D1} 17:00:00")
    t15 = ap1[D1].pay(f"{D1} 17:00:02", "A15", "25.00", fee="-0.15")
    refund("RF-A15", "A15", "25.00", f"{D1} 17:20:00")
    ap1[D1].refund(f"{D1} 17:20:02", t15, "A15", "A15", "25.00", fee="0.15")
    expect("P-A15", "matched", both("matched"), "payment fine")
    expect("R-RF-A15", "refund_matched", both("refund_matched"),
           "the bill carries no refund number of the shop's (请求号 = 商户订单号): paired by order and amount")
    # the shop numbers its refund with the order number and sends it as out_request_no: matched by number
    order("A16", "S002", AP1, "alipay", "32.00", "refunded", f"{D1} 17:30:00")
    t16a = ap1[D1].pay(f"{D1} 17:30:02", "A16", "32.00", fee="-0.19")
    refund("A16", "A16", "32.00", f"{D1} 17:40:00")
    ap1[D1].refund(f"{D1} 17:40:02", t16a, "A16", "A16", "32.00", fee="0.19")
    expect("P-A16", "matched", both("matched"), "payment fine")
    expect("R-A16", "refund_matched", both("refund_matched"), "refund number = order number on both sides")

    # paid at 23:59:50 on day 1, completed by Alipay after midnight (完成时间 day 2): on day 2's 业务明细
    order("A17", "S001", AP1, "alipay", "47.00", "paid", f"{D1} 23:59:55")
    for b in (ap1[D2], ap1_late):
        b.pay(f"{D2} 00:00:08", "A17", "47.00", fee="-0.28", txid="2026112022001400000000000117")
        b.rows[-1]["c"] = f"{D1} 23:59:50"
    expect("P-A17", "matched", {D1: "pending_cross_day", D2: "matched"}, "完成时间 after midnight: day 2's bill")

    # 花呗分期 whose 业务明细 row does not say 花呗 (the 25-column bill has no fund-channel column; 备注 is the
    # merchant's own text): Alipay charged the 花呗 rate 0.8%; the record names only alipay, the order names huabei
    # (settling through alipay): the order's method picks the rate (README [fees]) -> matched
    order("A18", "S002", AP1, "huabei", "300.00", "paid", f"{D1} 18:00:00", inst=6)
    ap1[D1].pay(f"{D1} 18:00:05", "A18", "300.00", fee="-2.40")
    expect("P-A18", "matched", both("matched"),
           "README: a record naming only alipay is held to the rate of its order's method, huabei")
    # the same on a plain Alipay order: the alipay rate, 0.6 % (1.80), not 2.40
    order("A19", "S002", AP1, "alipay", "300.00", "paid", f"{D1} 18:10:00")
    ap1[D1].pay(f"{D1} 18:10:05", "A19", "300.00", fee="-2.40")
    expect("P-A19", "fee_mismatch", both("fee_mismatch"), "an alipay order: the alipay rate")

    # a payment to the shop's static 收款码 (no 商户订单号): the channel's only, keyed by its 支付宝交易号
    tq = ap1[D1].pay(f"{D1} 18:30:00", "", "8.80", fee="-0.05")
    expect(f"P-~alipay:{tq}", "channel_only", both("channel_only"), "收款码 payment without an order number")

    # --- UnionPay
    order("U01", "S005", UP1, "unionpay", "300.00", "paid", f"{D1} 10:00:00")
    zm[D1].pay(f"{D1} 10:00:09", "U01", 30000, 150)
    expect("P-U01", "matched", both("matched"), "UnionPay ZM 01 消费")
    order("U02", "S005", UP1, "unionpay", "120.00", "partially_refunded", f"{D1} 11:00:00")
    q2 = zm[D1].pay(f"{D1} 11:00:04", "U02", 12000, 60)
    refund("RF-U02", "U02", "50.00", f"{D1} 15:00:00")
    zm[D1].refund(f"{D1} 15:00:03", q2, "RF-U02", "U02", 5000, 25)
    expect("P-U02", "matched", both("matched"), "UnionPay payment later partly returned")
    expect("R-RF-U02", "refund_matched", both("refund_matched"), "04 退货: refund_no = its 商户订单号")
    order("U03", "S005", UP1, "unionpay", "88.00", "paid", f"{D1} 12:00:00")
    expect("P-U03", "order_only", both("order_only"), "no ZM line")
    order("U04", "S005", UP1, "unionpay", "66.00", "paid", f"{D1} 23:30:00")
    zm[D2].pay(f"{D1} 23:30:05", "U04", 6600, 33)
    expect("P-U04", "matched", {D1: "order_only", D2: "matched"},
           "after 23:00: on the next day's ZM (README: day run order_only, next day matched)")

    order("U05", "S005", UP1, "unionpay", "140.00", "partially_refunded", f"{D1} 12:30:00")
    q5 = zm[D1].pay(f"{D1} 12:30:04", "U05", 14000, 70)
    refund("RF-U05", "U05", "40.00", f"{D1} 23:20:00")
    zm[D2].refund(f"{D1} 23:20:03", q5, "RF-U05", "U05", 4000, 20)
    expect("P-U05", "matched", both("matched"), "UnionPay payment")
    expect("R-RF-U05", "refund_matched", {D1: "refund_order_only", D2: "refund_matched"},
           "a 04 退货 after 23:00 is on the next day's ZM (as a payment after 23:00 is)")
    # an order export without the store: the merchant number's [stores] entry names it
    order("W24", "", WX2, "wechat", "16.00", "paid", f"{D1} 12:50:00")
    wx2[D1].pay(f"{D1} 12:50:01", "W24", "16.00", fee="0.10")
    expect("P-W24", "matched", both("matched"), "order without store_id")

    # --- internal / unpaid
    order("B01", "S001", "", "balance", "10.00", "paid", f"{D1} 10:00:00")
    expect("P-B01", "internal", both("internal"), "stored-value balance")
    order("N01", "S002", WX1, "wechat", "10.00", "unpaid", "")
    expect("P-N01", "unpaid", both("unpaid"), "never paid")

    # ------------------------------------------------------------------ write
    shop = root / "shop"
    shop.mkdir(parents=True)
    # the shop's daily exports (by creation or update day): an order refunded on day 2 is in day 1's export as
    # paid and in day 2's as refunded; refunds in the export of their day
    later = {"W08", "A06", "A10"}
    for d in (D1, D2, D3):
        day_orders = [dict(o, status="paid") if o["order_no"] in later and d == D1 else o for o in ORDERS
                      if o["created_at"][:10] == d or (d == D2 and o["order_no"] in later)]
        day_refunds = [r for r in REFUNDS if r["created_at"][:10] == d]
        for name, rows in ((f"orders_{d}.csv", day_orders), (f"refunds_{d}.csv", day_refunds)):
            with open(shop / name, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=list((ORDERS if "orders" in name else REFUNDS)[0]))
                w.writeheader()
                w.writerows(rows)
    with open(shop / "orders.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(ORDERS[0]))
        w.writeheader()
        w.writerows(ORDERS)
    with open(shop / "refunds.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(REFUNDS[0]))
        w.writeheader()
        w.writerows(REFUNDS)
    (root / "rules.toml").write_text(
        '[stores]\n"1900000102" = "S003"\n"1900000103" = "S006"\n"2088000000000022" = "S004"\n"898310000000001" = "S005"\n'
        '[fees]\n[[fees.rates]]\nchannel = "wechat"\nrate = "0.6%"\n[[fees.rates]]\nchannel = "alipay"\nrate = "0.6%"\n'
        '[[fees.rates]]\nchannel = "alipay"\nmethod = "huabei"\nrate = "0.8%"\n'
        '[[fees.rates]]\nchannel = "unionpay"\nrate = "0.5%"\n'
        '[instalments.channels.huabei]\nrates_bp = { 3 = 230, 6 = 450, 12 = 750 }\n', encoding="utf-8")

    # every distinct channel record once (the .gz copy, the REFUND bill, the multi-day export and the re-download
    # repeat records of these): count and amount (WeChat 订单金额 / 申请退款金额, Alipay |订单金额|, ZM 交易金额)
    recs = [(r["amt"] if r["st"] == "SUCCESS" else r["ramt_req"])
            for b in (*wx1.values(), *wx2.values(), wxf, wxs) for r in b.rows]
    recs += [r["amt"].lstrip("-") for b in (ap1[D1], ap1_late, ap2, ap1[D3]) for r in b.rows]
    recs += [y(int(line.split()[6])) for z in zm.values() for line in z.lines]
    CONTROL["transactions"] = (len(recs), sum(fen(a) for a in recs))
    # net settlement (README: what the channels pay out): payments' settlement before the fee (WeChat 应结订单金额,
    # Alipay 商家实收, UnionPay 交易金额) − what refunds took back (WeChat 退款金额, Alipay |商家实收|, UnionPay
    # 交易金额) − fees (a refund's returned fee negative); every distinct record on the bills succeeded
    wx_rows = [r for b in (*wx1.values(), *wx2.values(), wxf, wxs) for r in b.rows]
    ap_rows = [r for b in (ap1[D1], ap1_late, ap2, ap1[D3]) for r in b.rows]
    zm_recs = [r for z in zm.values() for r in z.recs]
    pay = (sum(fen(r["settle"]) for r in wx_rows if r["st"] == "SUCCESS")
           + sum(fen(r["settle"]) for r in ap_rows if r["biz"] == "交易")
           + sum(a for t, a, _ in zm_recs if t == "payment"))
    back = (sum(fen(r["ramt"]) for r in wx_rows if r["st"] != "SUCCESS")
            + sum(-fen(r["settle"]) for r in ap_rows if r["biz"] == "退款")
            + sum(a for t, a, _ in zm_recs if t == "refund"))
    fees = (sum(fen(r["fee"]) for r in wx_rows) - sum(fen(r["fee"]) for r in ap_rows) + sum(f for _, _, f in zm_recs))
    CONTROL["net"] = (0, pay - back - fees)
    CONTROL["orders"] = (len(ORDERS), sum(fen(o["amount"]) for o in ORDERS))
    CONTROL["refunds"] = (len(REFUNDS), sum(fen(r["amount"]) for r in REFUNDS))
    files: dict[str, list[Path]] = {}

    def put(key, rel, data: bytes):
        p = root / "bills" / key / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files.setdefault(key, []).append(p)

    # WeChat: day-1 bill saved from the merchant platform with a BOM, and the same bill again as the API's .gz
    d1text = wx1[D1].text().encode("utf-8")
    put("d1", f"wechat/{WX1}_{D1.replace('-', '')}_ALL.csv", b"\xef\xbb\xbf" + d1text)
    put("d1", f"wechat/api/{WX1}-{D1}-ALL.csv.gz", gzip.compress(d1text))
    put("d1", f"wechat/{WX2}_{D1.replace('-', '')}_ALL.txt", wx2[D1].text().encode("utf-8"))
    put("d1", f"wechat/misc/微信支付账单_{WXF}_{D1}.csv", wxf.text().encode("utf-8"))
    put("d1", f"wechat/sp/{WXSP}_{WXS}_{D1.replace('-', '')}_ALL.csv.gz", gzip.compress(wxs.text().encode("utf-8")))
    put("d1", f"alipay/{ap1[D1].account}_{D1.replace('-', '')}.csv.zip", ap1[D1].zip_bytes())
    put("d1", "alipay/download", ap2.zip_bytes())   # a browser saved bill_download_url's zip without a name
    put("d1", f"unionpay/{UP1}_{D1.replace('-', '')}.zip", zm[D1].zip_bytes())
    # the same ZM unzipped beside its zip (a person opened the delivery): the same records once
    put("multi", f"unionpay/unzipped/INN{D1.replace('-', '')[2:]}88ZM_{UP1}",
        zipfile.ZipFile(io.BytesIO(zm[D1].zip_bytes())).read(f"INN{D1.replace('-', '')[2:]}88ZM_{UP1}"))
    put("d2", f"wechat/{WX1}_{D2.replace('-', '')}_ALL.csv.gz", gzip.compress(wx1[D2].text().encode("utf-8")))
    put("d2", f"wechat/{WX2}_{D2.replace('-', '')}_ALL.csv", wx2[D2].text().encode("utf-8"))
    # the SUCCESS bill of 1900000102 beside its ALL bill: the same payments
    put("d2", f"wechat/{WX2}_{D2.replace('-', '')}_SUCCESS.csv", wx2[D2].success_text().encode("utf-8"))
    # the day's REFUND bill beside the ALL bill: the same refunds, one record each
    put("d2", f"wechat/{WX1}_{D2.replace('-', '')}_REFUND.csv", wx1[D2].refund_text().encode("utf-8"))
    # the merchant platform's export of 1900000102 over days 1-2 (one file, one summary): rows already on the
    # daily bills, same values -> delivered twice, counted once (file run only)
    put("multi", f"wechat/export/{WX2}_{D1.replace('-', '')}-{D2.replace('-', '')}.csv",
        b"\xef\xbb\xbf" + wx2[D1].text(wx2[D1].rows + wx2[D2].rows).encode("utf-8"))
    put("d2", f"alipay/{ap1[D2].account}_{D2.replace('-', '')}.csv.zip", ap1[D2].zip_bytes())
    put("d2", f"unionpay/{UP1}_{D2.replace('-', '')}.zip", zm[D2].zip_bytes())
    put("d2late", f"alipay/redownload/{ap1_late.account}_{D2.replace('-', '')}.csv.zip", ap1_late.zip_bytes())
    put("d3", f"wechat/{WX1}_{D3.replace('-', '')}_ALL.csv", wx1[D3].text().encode("utf-8"))
    put("d3", f"alipay/{ap1[D3].account}_{D3.replace('-', '')}.csv.zip", ap1[D3].zip_bytes())
    # 1900000101's day 2 exported from the merchant platform at 16:00 (RF-W08 still PROCESSING), beside the
    # official day-2 bill (SUCCESS): a separate file run
    part = WxBill(WX1)
    for r in wx1[D2].rows:
        if r["t"] <= f"{D2} 16:00:00":
            part.rows.append(dict(r, rst="PROCESSING") if r["rno"] == "RF-W08" else dict(r))
    put("partial", f"wechat/export/{WX1}_{D2.replace('-', '')}_1600.csv", b"\xef\xbb\xbf" + part.text().encode("utf-8"))
    files["partial"] += files["d2"][:1]
    return files


# ------------------------------------------------------------------------------------------------- runs
def pm(*args, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run([PY, "-m", "paymatch", *map(str, args)], env=ENV, capture_output=True, text=True)
    if check and p.returncode != 0:
        print("FAILED:", " ".join(map(str, args)), "\n", p.stdout[-3000:], p.stderr[-3000:])
    return p


def read_out(out: Path) -> tuple[dict[str, dict], dict]:
    with open(out / "outcomes.csv", encoding="utf-8") as fh:
        rows = {r["outcome_id"]: r for r in csv.DictReader(fh)}
    return rows, json.loads((out / "summary.json").read_text(encoding="utf-8"))


def tie_out(name: str, rows: dict[str, dict], summary: dict, inputs: dict | None = None) -> list[str]:
    """summary.json's control totals against the rows of outcomes.csv (count and amounts per kind, rows per side)
    and, for the file run, against the inputs as the oracle counts them."""
    bad = []
    ct = summary.get("control_totals", {})
    if not summary.get("conservation"):
        bad.append(f"{name}: conservation false")
    for side, t in ct.items():
        if (t["input_rows"], t["input_fen"]) != (t["outcome_rows"], t["outcome_fen"]):
            bad.append(f"{name}: control totals of {side} do not tie out: {t}")
        if inputs and side in inputs and (t["input_rows"], t["input_fen"]) != inputs[side]:
            bad.append(f"{name}: {side} input {t['input_rows']} rows / {t['input_fen']} fen, oracle {inputs[side]}")
    o_rows = sum(int(r["order_rows"] or 0) for r in rows.values())
    c_rows = sum(int(r["channel_rows"] or 0) for r in rows.values())
    if ct and o_rows != ct["orders"]["outcome_rows"] + ct["refunds"]["outcome_rows"]:
        bad.append(f"{name}: outcomes.csv order_rows {o_rows} != summary orders+refunds")
    if ct and c_rows != ct["transactions"]["outcome_rows"]:
        bad.append(f"{name}: outcomes.csv channel_rows {c_rows} != summary transactions {ct['transactions']}")
    if sum(1 for _ in rows) != summary.get("outcomes"):
        bad.append(f"{name}: {len(rows)} outcome rows, summary says {summary.get('outcomes')}")
    by_kind: dict[str, list] = {}
    for r in rows.values():
        k = by_kind.setdefault(r["kind"], [0, 0, 0])
        k[0] += 1
        k[1] += int(r["order_amount_fen"] or 0)
        k[2] += int(r["channel_amount_fen"] or 0)
    flat = json.dumps(summary)
    kinds = summary.get("by_kind") or summary.get("kinds") or {}
    if isinstance(kinds, list):
        kinds = {k.get("kind"): k for k in kinds}
    for kind, (n, o, c) in by_kind.items():
        s = kinds.get(kind)
        if s is None:
            bad.append(f"{name}: kind {kind} not in summary.json")
            continue
        got = s.get("count", s.get("outcomes"))
        if got != n:
            bad.append(f"{name}: {kind} count summary {got} != outcomes.csv {n}")
    if not kinds:
        bad.append(f"{name}: summary.json has no per-kind totals I recognise: {flat[:300]}")
    return bad


def compare(name, rows, want: dict[str, str], notes: list) -> tuple[int, list[str]]:
    agree, dis = 0, []
    for oid, kind in want.items():
        got = rows.get(oid, {}).get("kind", "(absent)")
        if got == kind:
            agree += 1
        else:
            dis.append(f"{name}: {oid}: oracle {kind}, paymatch {got}  [{EXPECT.get(oid, ('', {}, ''))[2]}]"
                       + (f"  reason: {rows[oid]['reason']}" if oid in rows else ""))
    extra = sorted(set(rows) - set(want))
    if extra:
        notes.append(f"{name}: outcomes the oracle did not list: "
                     + "; ".join(f"{o}={rows[o]['kind']} ({rows[o]['reason'][:90]})" for o in extra))
    return agree, dis


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", help="build and run in this folder (kept)")
    a = ap.parse_args()
    root = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="audit7_"))
    if root.exists():
        shutil.rmtree(root)
    t0 = time.time()
    files = build(root)
    cfg = root / "rules.toml"
    shop = root / "shop"
    agree_total, dis_total, notes = 0, [], []

    # 1. a file run over every bill of the three days (the day-2 bill in both downloads)
    out = root / "out_file"
    bills = [x for k in ("d1", "d2", "d2late", "d3", "multi") for x in files[k]]
    p = pm("reconcile", "--orders", shop / "orders.csv", "--refunds", shop / "refunds.csv",
           *sum((["--bills", b] for b in bills), []), "--config", cfg, "--out", out)
    notes.append("file run CLI output: " + " | ".join(l.strip() for l in p.stdout.splitlines() if l.strip())[:1500])
    if p.returncode == 0:
        rows, summ = read_out(out)
        ag, dis = compare("file", rows, {o: k for o, (k, _, _) in EXPECT.items()}, notes)
        agree_total += ag
        dis_total += dis
        dis_total += tie_out("file", rows, summ, CONTROL)
        said = [n for n in summ.get("input_notes", []) if "same values" in n]
        if said:
            agree_total += 1
            notes.append(f"file run says: {said}")
        else:
            dis_total.append("file: records delivered twice (.gz + BOM copy, REFUND/SUCCESS beside ALL, re-download, "
                             "multi-day export, unzipped ZM) counted once but not said (README: both say how many)")
        stores = {o: rows[o]["store_id"] for o in ("P-W21-NOORDER", "P-A09-NOORDER", "P-FOREIGN-1", "P-W24",
                                                   "P-W51-NOORDER") if o in rows}
        for o, s in {"P-W21-NOORDER": "S003", "P-A09-NOORDER": "S004", "P-W24": "S003", "P-W51-NOORDER": "S006"}.items():
            if stores.get(o) != s:
                dis_total.append(f"file: {o} store {stores.get(o)!r}, oracle {s} ([stores])")
            else:
                agree_total += 1
        notes.append(f"store of the foreign bill's row: {stores.get('P-FOREIGN-1')!r}")
        # the bill of another merchant number given by mistake is named once (the only number no order or store names)
        foreign = [(m["merchant_id"], m["records"]) for m in summ.get("merchant_numbers_without_orders", [])]
        if foreign == [(WXF, 2)]:
            agree_total += 1
        else:
            dis_total.append(f"file: merchant numbers without orders {foreign}, oracle [({WXF}, 2)]")
        for o, fee_want, settle_want in (("P-W02", 27, 4500), ("P-A04", 32, 5400)):
            if o in rows and (int(rows[o]["fee_fen"] or 0), int(rows[o]["settle_amount_fen"] or 0)) == (fee_want, settle_want):
                agree_total += 1
            else:
                dis_total.append(f"file: {o} fee/settle {rows.get(o, {}).get('fee_fen')}/"
                                 f"{rows.get(o, {}).get('settle_amount_fen')}, oracle {fee_want}/{settle_want}")
        dups = [o for o, r in rows.items() if r["kind"] in ("duplicate_record", "record_update")]
        if dups:
            dis_total.append(f"file: a bill delivered twice / re-downloaded made {dups}")
    else:
        dis_total.append("file run failed: " + (p.stdout + p.stderr)[-800:])

    # 2. a workspace, day by day, with reruns
    ws = root / "w.duckdb"
    per_day = {d: {o: days[d] for o, (_, days, _) in EXPECT.items() if d in days} for d in (D1, D2, D3)}

    def day_run(tag, day, want, ingest_keys):
        nonlocal agree_total
        for k in ingest_keys:
            ip = pm("ingest", "--workspace", ws, "--config", cfg, *sum((["--bills", b] for b in files[k]), []))
            notes.append(f"ingest {k}: " + " | ".join(l.strip() for l in ip.stdout.splitlines() if l.strip())[:600])
            if ip.returncode:
                dis_total.append(f"ingest {k} failed: {(ip.stdout + ip.stderr)[-600:]}")
        o = root / f"out_{tag}"
        rp = pm("reconcile", "--workspace", ws, "--config", cfg, "--date", day, "--out", o)
        if rp.returncode:
            dis_total.append(f"{tag} failed: {(rp.stdout + rp.stderr)[-600:]}")
            return {}
        rows, summ = read_out(o)
        ag, dis = compare(tag, rows, want, notes)
        agree_total += ag
        dis_total.extend(dis)
        dis_total.extend(tie_out(tag, rows, summ))
        return rows

    pm("ingest", "--workspace", ws, "--config", cfg, "--orders", shop / "orders.csv", "--refunds", shop / "refunds.csv")
    r1 = day_run("ws_d1", D1, per_day[D1], ["d1"])
    want2a = dict(per_day[D2], **{"R-RF-A10": "refund_order_only"})
    r2a = day_run("ws_d2a", D2, want2a, ["d2"])
    r2b = day_run("ws_d2b", D2, per_day[D2], ["d2late"])
    day_run("ws_d3", D3, per_day[D3], ["d3"])
    # day 3's WeChat and Alipay bills were loaded and list nothing: no bill left out of the inputs
    left_out = json.loads((root / "out_ws_d3" / "summary.json").read_text(encoding="utf-8"))["channels_without_records"]
    if left_out:
        dis_total.append(f"ws_d3: empty bills loaded, yet channels_without_records {left_out}")
    else:
        agree_total += 1
    r1b = day_run("ws_d1b", D1, per_day[D1], ["d1"])   # the same day-1 files again, then day 1 again
    # one range run over the three days: as the file run (README: day after day agrees with one range run)
    rr = root / "out_range"
    rp = pm("reconcile", "--workspace", ws, "--config", cfg, "--from", D1, "--to", D3, "--out", rr)
    if rp.returncode == 0:
        rows, summ = read_out(rr)
        ag, dis = compare("ws_range", rows, {o: k for o, (k, _, _) in EXPECT.items()}, notes)
        agree_total += ag
        dis_total.extend(dis)
        dis_total.extend(tie_out("ws_range", rows, summ))
    else:
        dis_total.append(f"range run failed: {(rp.stdout + rp.stderr)[-600:]}")
    # 3. a second workspace fed out of order (day 2's re-download first, then day 1, day 2, day 3): each day as the
    # first workspace ends
    ws = root / "w2.duckdb"
    pm("ingest", "--workspace", ws, "--config", cfg, "--orders", shop / "orders.csv", "--refunds", shop / "refunds.csv")
    for k in ("d2late", "d1", "d2", "d3"):
        pm("ingest", "--workspace", ws, "--config", cfg, *sum((["--bills", b] for b in files[k]), []))
    for d in (D3, D2, D1):
        day_run(f"ws2_{d[-2:]}", d, per_day[d], [])

    # 3b. a third workspace fed day by day as a shop does: the day's order and refund exports, the day's bills
    ws = root / "w3.duckdb"
    for d, keys in ((D1, ["d1"]), (D2, ["d2", "d2late"]), (D3, ["d3"])):
        pm("ingest", "--workspace", ws, "--config", cfg, "--orders", shop / f"orders_{d}.csv",
           *(["--refunds", shop / f"refunds_{d}.csv"] if (shop / f"refunds_{d}.csv").stat().st_size > 60 else []))
        day_run(f"ws3_{d[-2:]}", d, per_day[d], keys)
    day_run("ws3_20b", D1, per_day[D1], [])

    # 4. a partial export of day 2 (a refund PROCESSING at 16:00) beside the official day-2 bill (SUCCESS)
    out = root / "out_partial"
    p = pm("reconcile", "--orders", shop / "orders.csv", "--refunds", shop / "refunds.csv", "--date", D2,
           *sum((["--bills", b] for b in files["partial"]), []), "--config", cfg, "--out", out)
    if p.returncode == 0:
        rows, summ = read_out(out)
        ag, dis = compare("partial", rows, {"R-RF-W08": "refund_matched", "P-W31": "matched"}, [])
        agree_total += ag
        dis_total.extend(dis)
        extra = {o: r["kind"] for o, r in rows.items() if o.startswith("D-")}
        notes.append(f"partial export + official bill: the PROCESSING copy of RF-W08 is {extra} (README: "
                     "duplicate_record, the same bill day; record_update only on another day's bill)")
    else:
        dis_total.append("partial run failed: " + (p.stdout + p.stderr)[-600:])
    for tag, x, z in (("d1 rerun", r1, r1b), ("d2 re-download", r2a, r2b)):
        moved = sorted(set(x) ^ set(z))
        if moved:
            dis_total.append(f"{tag}: outcome ids differ between runs: {moved}")
        else:
            agree_total += 1
    changed = sorted(o for o in set(r1) & set(r1b) if r1[o]["kind"] != r1b[o]["kind"])
    if changed:
        dis_total.append(f"d1 rerun: kinds changed {changed}")

    # 5. the month's reconciliation report over the first workspace: net settlement as the oracle counts it
    rj = root / "recon.json"
    p = pm("report", "reconciliation", "--workspace", root / "w.duckdb", "--date", D1, "--period", "month",
           "--group-by", "channel", "--json", rj, "--config", cfg, "--lang", "en")
    if p.returncode == 0:
        total = [r for r in json.loads(rj.read_text(encoding="utf-8"))["tables"][0]["rows"]
                 if r.get("channel") in ("Chain total", "全链合计")]
        got = total[0].get("net_fen") if total else None
        if got == CONTROL["net"][1]:
            agree_total += 1
        else:
            dis_total.append(f"report: month net settlement {got}, oracle {CONTROL['net'][1]} (README 净结算金额: what "
                             "the channels pay out)")
    else:
        dis_total.append("report failed: " + (p.stdout + p.stderr)[-600:])

    print(f"audit_round7: {agree_total} agree, {len(dis_total)} disagree ({time.time() - t0:.0f} s; files in {root})")
    for d in dis_total:
        print("DISAGREE", d)
    for n in notes:
        print("note:", n)
    if not a.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if dis_total else 0


if __name__ == "__main__":
    sys.exit(main())
