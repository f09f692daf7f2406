"""Audit round 6: the matching semantics, read again from the spec alone (issue 3, README, DESIGN.md).

Written without reading the engine or the earlier audits: each case below is a small chain fragment (its own
order numbers) with the outcome the spec demands, quoted where the reading is not obvious. The cases run
through the CLI as a user runs it (`paymatch reconcile` on files; `paymatch ingest` + `reconcile --workspace`
day by day, as a range, and again), and every run's summary.json must tie out (count and amount per side,
against the rows and fen this script wrote).

    PYTHONPATH=src .venv/bin/python bench/audit_round6.py [--keep DIR]

Prints one line per disagreement and the agree/disagree counts; exit 1 when any case disagrees. About a minute.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PY = sys.executable
D = "2026-11-20"
D2 = "2026-11-21"
# merchant numbers: two WeChat accounts, two Alipay apps, one UnionPay merchant code
WX1, WX2 = "1900000001", "1900000002"
AL1, AL2 = "2088000000000001", "2088000000000002"
UP1 = "898310000000001"
STORE_OF = {WX1: "S001", WX2: "S002", AL1: "S001", AL2: "S003", UP1: "S002"}
CHANNEL_MERCHANT = {"wechat": WX1, "alipay": AL1, "huabei": AL1, "unionpay": UP1}

ORDER_COLS = ["order_no", "store_id", "merchant_id", "channel", "amount", "status", "created_at", "paid_at",
              "member_id", "member_level", "instalments"]
REFUND_COLS = ["refund_no", "order_no", "amount", "created_at", "status", "merchant_id"]
TX_COLS = ["channel", "merchant_id", "channel_tx_id", "order_no", "type", "refund_no", "channel_refund_id", "amount",
           "fee", "status", "occurred_at", "bill_date", "method"]


def t(day: str, hms: str) -> str:
    return f"{day}T{hms}+08:00"


def fen(yuan: str) -> int:
    whole, _, frac = yuan.partition(".")
    return int(whole or 0) * 100 + int((frac + "00")[:2])


class Chain:
    """One run's inputs plus the expected outcome per outcome_id (a kind, or a set when the spec allows several)."""

    def __init__(self, name: str):
        self.name = name
        self.orders: list[dict] = []
        self.refunds: list[dict] = []
        self.tx: list[dict] = []
        self.expect: dict[str, tuple[str, object, str]] = {}  # outcome_id -> (case, kinds, note)
        self._n = 0

    def order(self, no, channel="wechat", amount="100.00", status="paid", paid=None, merchant=None, store=None,
              created=None):
        merchant = merchant if merchant is not None else CHANNEL_MERCHANT.get(channel, WX1)
        store = store if store is not None else STORE_OF.get(merchant, "S009")
        paid = paid if paid is not None else (t(D, "12:00:00") if status in ("paid", "refunded",
                                                                           "partially_refunded") else "")
        self.orders.append(dict(order_no=no, store_id=store, merchant_id=merchant, channel=channel, amount=amount,
                                status=status, created_at=created or paid or t(D, "11:59:00"),
                                paid_at=paid, member_id="U1", member_level="1", instalments="0"))

    def refund(self, no, order_no, amount, status="success", created=None, merchant=""):
        self.refunds.append(dict(refund_no=no, order_no=order_no, amount=amount, created_at=created or
                                 t(D, "15:00:00"), status=status, merchant_id=merchant))

    def pay(self, order_no, amount="100.00", channel="wechat", status="success", at=None, bill=D, merchant=None,
            txid=None, method="", fee="0.60"):
        self._n += 1
        merchant = merchant if merchant is not None else CHANNEL_MERCHANT.get(channel, WX1)
        txid = txid or f"{self.name[:2].upper()}T{self._n:05d}"
        self.tx.append(dict(channel=channel, merchant_id=merchant, channel_tx_id=txid, order_no=order_no,
                            type="payment", refund_no="", channel_refund_id="", amount=amount, fee=fee,
                            status=status, occurred_at=at or t(bill, "12:00:05"), bill_date=bill, method=method))
        return txid

    def chrefund(self, order_no, refund_no, amount, channel="wechat", status="success", at=None, bill=D,
                 merchant=None, crid=None, txid=None):
        self._n += 1
        merchant = merchant if merchant is not None else CHANNEL_MERCHANT.get(channel, WX1)
        self.tx.append(dict(channel=channel, merchant_id=merchant, channel_tx_id=txid or f"{self.name[:2].upper()}T{self._n:05d}",
                            order_no=order_no, type="refund", refund_no=refund_no,
                            channel_refund_id=crid or f"{self.name[:2].upper()}CR{self._n:05d}", amount=amount,
                            fee="0.00", status=status, occurred_at=at or t(bill, "15:00:10"), bill_date=bill,
                            method=""))

    def want(self, case, oid, kinds, note=""):
        self.expect[oid] = (case, kinds, note)

    def write(self, folder: Path, tx_files: dict[str, list[dict]] | None = None) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, cols, rows in (("orders", ORDER_COLS, self.orders), ("refunds", REFUND_COLS, self.refunds)):
            p = folder / f"{name}.csv"
            with p.open("w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, cols)
                w.writeheader()
                w.writerows(rows)
            paths[name] = p
        for name, rows in (tx_files or {"transactions": self.tx}).items():
            p = folder / f"{name}.csv"
            with p.open("w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, TX_COLS)
                w.writeheader()
                w.writerows(rows)
            paths[name] = p
        return paths


# ---------------------------------------------------------------------------------------------- the cases
def day_chain() -> Chain:
    """One bill day (2026-11-20), default rules: every payment and refund kind the spec names."""
    c = Chain("day")
    # payments that agree, one per channel / method
    c.order("A-WX"); c.pay("A-WX"); c.want("matched wechat", "P-A-WX", "matched")
    c.order("A-AL", "alipay"); c.pay("A-AL", channel="alipay"); c.want("matched alipay", "P-A-AL", "matched")
    c.order("A-HB", "huabei"); c.pay("A-HB", channel="alipay", method="huabei")
    c.want("huabei through alipay (method named)", "P-A-HB", "matched")
    c.order("A-HB2", "huabei"); c.pay("A-HB2", channel="alipay")
    c.want("huabei through alipay (no method)", "P-A-HB2", "matched", "settle_channel huabei = alipay")
    c.order("A-HB3", "huabei"); c.pay("A-HB3", channel="huabei")
    c.want("huabei order, record naming huabei", "P-A-HB3", "matched", "README: 'a record naming the method itself'")
    c.order("A-AL-HB", "alipay"); c.pay("A-AL-HB", channel="huabei")
    c.want("alipay order, record naming huabei", "P-A-AL-HB", "matched",
           "README: 'a method that settles through the order's channel, huabei for an alipay order'")
    c.order("A-UP", "unionpay"); c.pay("A-UP", channel="unionpay")
    c.want("matched unionpay", "P-A-UP", "matched")
    c.order("A-WX2", merchant=WX2); c.pay("A-WX2", merchant=WX2)
    c.want("matched on the second wechat merchant", "P-A-WX2", "matched")
    # one-sided
    c.order("B-OO"); c.want("order_only", "P-B-OO", "order_only")
    c.pay("B-CO"); c.want("channel_only", "P-B-CO", "channel_only")
    c.pay("B-CO-AL", channel="alipay", merchant=AL2); c.want("channel_only alipay merchant 2", "P-B-CO-AL", "channel_only")
    # amounts
    c.order("C-LONG"); c.pay("C-LONG", amount="100.01")
    c.want("amount_mismatch 长款", "P-C-LONG", ("amount_mismatch", +1))
    c.order("C-SHORT"); c.pay("C-SHORT", amount="99.50")
    c.want("amount_mismatch 短款", "P-C-SHORT", ("amount_mismatch", -50))
    c.order("C-TOL1"); c.pay("C-TOL1", amount="100.01")  # only a mismatch by default; see tol_chain
    c.want("1 fen off, tolerance 0", "P-C-TOL1", "amount_mismatch")
    # statuses
    c.order("D-CLOSED", status="closed"); c.pay("D-CLOSED")
    c.want("closed order + success payment", "P-D-CLOSED", "status_mismatch")
    c.order("D-UNPAID", status="unpaid"); c.pay("D-UNPAID")
    c.want("unpaid order + success payment", "P-D-UNPAID", "status_mismatch")
    c.order("D-PAIDFAIL"); c.pay("D-PAIDFAIL", status="failed")
    c.want("paid order, channel failed", "P-D-PAIDFAIL", "status_mismatch", "table: 'or order paid but channel not'")
    c.order("D-PAIDPROC"); c.pay("D-PAIDPROC", status="processing")
    c.want("paid order, channel processing", "P-D-PAIDPROC", "status_mismatch")
    c.order("D-UNP", status="unpaid"); c.want("unpaid order, no record", "P-D-UNP", "unpaid")
    c.order("D-CLO", status="closed"); c.want("closed order, no record", "P-D-CLO", "unpaid")
    c.order("D-CLOCLO", status="closed"); c.pay("D-CLOCLO", status="closed")
    c.want("closed order + closed attempt", "P-D-CLOCLO", "unpaid", "consistent: not paid, no successful payment")
    c.order("D-OKFAIL"); c.pay("D-OKFAIL", status="failed", at=t(D, "11:59:30")); c.pay("D-OKFAIL")
    c.want("failed attempt then success", "P-D-OKFAIL", "matched", "one successful payment")
    # duplicates
    c.order("E-DUP1"); c.pay("E-DUP1"); c.pay("E-DUP1", at=t(D, "12:01:00"))
    c.want("duplicate payment, same channel", "P-E-DUP1", ("duplicate_payment", None, 2))
    c.order("E-DUP2"); c.pay("E-DUP2"); c.pay("E-DUP2", channel="alipay", at=t(D, "12:02:00"))
    c.want("duplicate payment, wechat + alipay", "P-E-DUP2", ("duplicate_payment", None, 2))
    c.order("E-DUP3", "unionpay"); c.pay("E-DUP3", channel="unionpay"); c.pay("E-DUP3", channel="wechat")
    c.want("duplicate payment, unionpay + wechat", "P-E-DUP3", ("duplicate_payment", None, 2))
    c.order("E-DUPCL", status="closed"); c.pay("E-DUPCL"); c.pay("E-DUPCL", at=t(D, "12:03:00"))
    c.want("closed order paid twice", "P-E-DUPCL", {"duplicate_payment", "status_mismatch"},
           "spec silent on which wins")
    # same record listed twice
    c.order("E-REC"); tx = c.pay("E-REC"); c.tx.append(dict(c.tx[-1]))
    c.want("record listed twice: matched", "P-E-REC", "matched")
    c.want("record listed twice: extra copy", f"D-wechat:{tx}:payment:", "duplicate_record",
           "D-<channel>:<tx id>:<type>:<refund key>")
    # channel / merchant / time
    c.order("F-CHMIS"); c.pay("F-CHMIS", channel="alipay")
    c.want("wechat order paid through alipay", "P-F-CHMIS", "channel_mismatch")
    c.order("F-MERCH"); c.pay("F-MERCH", merchant=WX2)
    c.want("credited to the other wechat merchant", "P-F-MERCH", "merchant_mismatch")
    c.order("F-TIME", paid=t("2026-11-18", "10:00:00")); c.pay("F-TIME", at=t(D, "11:00:00"))
    c.want("channel time 49 h after the paid time", "P-F-TIME", "time_mismatch")
    # internal methods
    c.order("G-BAL", "balance", merchant=""); c.want("balance order", "P-G-BAL", "internal")
    c.order("G-PTS", "points", merchant=""); c.want("points order", "P-G-PTS", "internal")
    c.order("G-BALSTRAY", "balance", merchant=WX1); c.pay("G-BALSTRAY")
    c.want("balance order + stray wechat payment", "P-G-BALSTRAY", "channel_mismatch",
           "table: 'An internal method's order with a channel payment is one'")
    c.order("G-BALFAIL", "balance", merchant=WX1); c.pay("G-BALFAIL", status="failed")
    c.want("balance order + failed wechat attempt", "P-G-BALFAIL", "internal",
           "table: 'also after an attempt through a channel that did not go through'")
    c.order("G-PTSLEDGER", "points", merchant=""); c.pay("G-PTSLEDGER", channel="points", merchant="")
    c.want("points order + points ledger record", "P-G-PTSLEDGER", "matched")
    c.order("G-ZERO", amount="0.00"); c.want("paid order of 0.00", "P-G-ZERO", "internal")
    c.order("G-ZEROU", amount="0.00", status="unpaid", merchant=WX1)
    c.want("unpaid order of 0.00", "P-G-ZEROU", "unpaid")
    c.order("G-ZEROCL", amount="0.00", status="closed")
    c.want("closed order of 0.00", "P-G-ZEROCL", "unpaid")
    c.order("G-BALR", "balance", merchant="", status="refunded"); c.refund("GR-BALR", "G-BALR", "100.00")
    c.want("balance order refunded", "P-G-BALR", "internal"); c.want("balance refund", "R-GR-BALR", "internal")
    c.order("G-ZR"); c.pay("G-ZR"); c.refund("GR-ZR", "G-ZR", "0.00")
    c.want("paid order with 0.00 refund", "P-G-ZR", "matched"); c.want("refund of 0.00", "R-GR-ZR", "internal")
    # pending_cross_day at the grace edges (window end 2026-11-21T00:00+08:00, grace 10 min)
    c.order("H-P0", paid=t(D, "23:55:00")); c.want("paid 23:55, no record", "P-H-P0", "pending_cross_day")
    c.order("H-EDGE", paid=t(D, "23:50:00"))
    c.want("paid exactly 10 min before the end", "P-H-EDGE", {"pending_cross_day"},
           "'within a configurable grace (default 10 minutes) before the window's end': the edge is within")
    c.order("H-OUT", paid=t(D, "23:49:59")); c.want("paid 10 min 1 s before the end", "P-H-OUT", "order_only")
    c.order("H-LAST", paid=t(D, "23:59:59")); c.want("paid 1 s before the end", "P-H-LAST", "pending_cross_day")
    c.order("H-AFTER", paid=t(D2, "00:00:30"), created=t(D2, "00:00:10"))
    c.want("paid after the window end", "P-H-AFTER", "pending_cross_day", "table: 'or after it'")
    c.order("H-CLOSEDATT", paid=t(D, "23:55:00")); c.pay("H-CLOSEDATT", status="closed", at=t(D, "23:54:00"))
    c.want("paid 23:55, a closed attempt before", "P-H-CLOSEDATT", "pending_cross_day",
           "table: 'a closed attempt just before does not change that'")
    c.order("H-FAILATT", paid=t(D, "23:55:00")); c.pay("H-FAILATT", status="failed", at=t(D, "23:54:30"))
    c.want("paid 23:55, a failed attempt before", "P-H-FAILATT", "pending_cross_day",
           "table: 'no successful payment on this window's bills'")
    c.order("H-PROC", paid=t(D, "23:55:00")); c.pay("H-PROC", status="processing", at=t(D, "23:55:01"))
    c.want("paid 23:55, channel still processing", "P-H-PROC", {"pending_cross_day", "status_mismatch"},
           "spec: pending when 'no successful payment', status_mismatch when 'order paid but channel not'")
    c.order("H-SEEN", paid=t(D, "23:55:00")); c.pay("H-SEEN", at=t(D, "23:55:02"))
    c.want("paid 23:55 with its record", "P-H-SEEN", "matched")
    c.order("H-UNP", status="unpaid", paid="", created=t(D, "23:58:00"))
    c.want("unpaid order created 23:58", "P-H-UNP", "unpaid")
    c.order("H-AMT", paid=t(D, "23:56:00")); c.pay("H-AMT", amount="99.00", at=t(D, "23:56:01"))
    c.want("paid 23:56, record with another amount", "P-H-AMT", "amount_mismatch")
    # refunds
    c.order("R-FULL", status="refunded"); c.pay("R-FULL"); c.refund("RF-FULL", "R-FULL", "100.00")
    c.chrefund("R-FULL", "RF-FULL", "100.00")
    c.want("refunded order: payment", "P-R-FULL", "matched"); c.want("full refund", "R-RF-FULL", "refund_matched")
    c.order("R-PART", status="partially_refunded"); c.pay("R-PART"); c.refund("RF-PART", "R-PART", "30.00")
    c.chrefund("R-PART", "RF-PART", "30.00")
    c.want("partially refunded order: payment", "P-R-PART", "matched")
    c.want("partial refund", "R-RF-PART", "refund_matched")
    c.order("R-MULTI", status="partially_refunded"); c.pay("R-MULTI")
    for i, a in enumerate(("30.00", "20.00", "10.00")):
        c.refund(f"RF-MULTI{i}", "R-MULTI", a, created=t(D, f"1{3 + i}:00:00"))
        c.chrefund("R-MULTI", f"RF-MULTI{i}", a, at=t(D, f"1{3 + i}:00:09"))
        c.want(f"multiple refunds #{i}", f"R-RF-MULTI{i}", "refund_matched")
    c.want("order with three refunds", "P-R-MULTI", "matched")
    c.order("R-FIRST", status="refunded"); c.chrefund("R-FIRST", "RF-FIRST", "100.00")
    c.pay("R-FIRST"); c.refund("RF-FIRST", "R-FIRST", "100.00")
    c.want("refund listed before its payment: payment", "P-R-FIRST", "matched")
    c.want("refund listed before its payment", "R-RF-FIRST", "refund_matched")
    c.order("R-OO", status="refunded"); c.pay("R-OO"); c.refund("RF-OO", "R-OO", "100.00")
    c.want("shop refund, no channel refund", "R-RF-OO", "refund_order_only")
    c.want("payment of refund_order_only", "P-R-OO", "matched")
    c.order("R-CO"); c.pay("R-CO"); c.chrefund("R-CO", "RF-CO", "40.00")
    c.want("console refund the shop never recorded", "R-RF-CO", "refund_channel_only")
    c.want("payment of refund_channel_only", "P-R-CO", "matched")
    c.order("R-AM", status="partially_refunded"); c.pay("R-AM"); c.refund("RF-AM", "R-AM", "30.00")
    c.chrefund("R-AM", "RF-AM", "30.50")
    c.want("refund amount differs", "R-RF-AM", ("refund_amount_mismatch", +50))
    c.want("payment of refund_amount_mismatch", "P-R-AM", "matched")
    c.refund("RF-NOORD", "R-NOORD", "20.00"); c.chrefund("R-NOORD", "RF-NOORD", "20.00")
    c.want("refund whose order is in no file", "R-RF-NOORD", "refund_matched",
           "over_refund: 'An order the run knows nothing of ... is not held'")
    c.refund("RF-NOORD2", "R-NOORD2", "20.00")
    c.want("shop refund with no order and no channel record", "R-RF-NOORD2", "refund_order_only")
    c.order("R-PROC", status="paid"); c.pay("R-PROC"); c.refund("RF-PROC", "R-PROC", "10.00", status="processing")
    c.want("payment of R-PROC", "P-R-PROC", "matched")
    c.want("shop refund processing, nothing on the bill", "R-RF-PROC", {"refund_pending"},
           "'only successful refunds are expected on a bill'")
    c.order("R-FAIL"); c.pay("R-FAIL"); c.refund("RF-FAIL", "R-FAIL", "10.00", status="failed")
    c.want("payment of R-FAIL", "P-R-FAIL", "matched")
    c.want("shop refund failed, nothing on the bill", "R-RF-FAIL", {"refund_failed"})
    c.order("R-SFAIL"); c.pay("R-SFAIL"); c.refund("RF-SFAIL", "R-SFAIL", "10.00", status="failed")
    c.chrefund("R-SFAIL", "RF-SFAIL", "10.00")
    c.want("payment of R-SFAIL", "P-R-SFAIL", "matched")
    c.want("shop says failed, channel refunded", "R-RF-SFAIL", "refund_status_mismatch")
    c.order("R-CFAIL"); c.pay("R-CFAIL"); c.refund("RF-CFAIL", "R-CFAIL", "10.00")
    c.chrefund("R-CFAIL", "RF-CFAIL", "10.00", status="failed")
    c.want("payment of R-CFAIL", "P-R-CFAIL", "matched")
    c.want("shop says refunded, channel failed", "R-RF-CFAIL", {"refund_status_mismatch", "refund_failed"})
    c.order("R-OVER", status="refunded", amount="50.00"); c.pay("R-OVER", amount="50.00")
    c.refund("RF-OVER1", "R-OVER", "30.00", created=t(D, "13:00:00"))
    c.chrefund("R-OVER", "RF-OVER1", "30.00", at=t(D, "13:00:05"))
    c.refund("RF-OVER2", "R-OVER", "30.00", created=t(D, "14:00:00"))
    c.chrefund("R-OVER", "RF-OVER2", "30.00", at=t(D, "14:00:05"))
    c.want("refunds within the amount", "R-RF-OVER1", "refund_matched")
    c.want("refund crossing the amount", "R-RF-OVER2", ("over_refund", 1000))
    c.want("over-refunded order payment", "P-R-OVER", "matched")
    c.order("R-DBLFULL", status="refunded"); c.pay("R-DBLFULL"); c.pay("R-DBLFULL", at=t(D, "12:00:40"))
    c.refund("RF-DBL1", "R-DBLFULL", "100.00", created=t(D, "13:00:00"))
    c.chrefund("R-DBLFULL", "RF-DBL1", "100.00", at=t(D, "13:00:05"))
    c.want("double payment", "P-R-DBLFULL", "duplicate_payment")
    c.want("refund of the double payment", "R-RF-DBL1", "refund_matched",
           "'a double payment refunded in full is not over'")
    c.order("R-ORDMIS1"); c.pay("R-ORDMIS1"); c.order("R-ORDMIS2"); c.pay("R-ORDMIS2")
    c.refund("RF-ORDMIS", "R-ORDMIS1", "10.00"); c.chrefund("R-ORDMIS2", "RF-ORDMIS", "10.00")
    c.want("channel refunded another order", "R-RF-ORDMIS", "refund_order_mismatch")
    c.want("order A of refund_order_mismatch", "P-R-ORDMIS1", "matched")
    c.want("order B of refund_order_mismatch", "P-R-ORDMIS2", "matched")
    c.order("R-NONO", status="partially_refunded"); c.pay("R-NONO")
    c.refund("RF-NONO", "R-NONO", "25.00"); c.chrefund("R-NONO", "", "25.00", crid="CRNONO1")
    c.want("channel refund without refund number, paired by order+amount", "R-RF-NONO", "refund_matched")
    c.want("payment of R-NONO", "P-R-NONO", "matched")
    c.order("R-NONO2"); c.pay("R-NONO2"); c.chrefund("R-NONO2", "", "25.00", crid="CRNONO2")
    c.want("channel refund without refund number, no shop refund", "R-~wechat:CRNONO2", "refund_channel_only")
    c.want("payment of R-NONO2", "P-R-NONO2", "matched")
    c.order("R-PEND", status="partially_refunded"); c.pay("R-PEND")
    c.refund("RF-PEND", "R-PEND", "10.00", created=t(D, "23:57:00"))
    c.want("payment of R-PEND", "P-R-PEND", "matched")
    c.want("shop refund at 23:57, no channel refund", "R-RF-PEND", {"pending_cross_day", "refund_pending"},
           "README: 'a refund left pending_cross_day'")
    c.order("R-DUPREF", status="partially_refunded"); c.pay("R-DUPREF"); c.refund("RF-DUPREF", "R-DUPREF", "10.00")
    c.chrefund("R-DUPREF", "RF-DUPREF", "10.00", crid="CRDUP1")
    c.chrefund("R-DUPREF", "RF-DUPREF", "10.00", crid="CRDUP2", at=t(D, "15:30:00"))
    c.want("one refund number refunded twice", "R-RF-DUPREF", "duplicate_refund")
    c.want("payment of R-DUPREF", "P-R-DUPREF", "matched")
    c.order("R-HBREF", "huabei", status="refunded"); c.pay("R-HBREF", channel="alipay", method="huabei")
    c.refund("RF-HBREF", "R-HBREF", "100.00"); c.chrefund("R-HBREF", "RF-HBREF", "100.00", channel="alipay")
    c.want("huabei order refunded through alipay", "R-RF-HBREF", "refund_matched")
    c.want("huabei payment of refunded order", "P-R-HBREF", "matched")
    # [stores]: a channel-only record is grouped to its merchant number's store (checked in stores_chain)
    return c


def edge_chain() -> Chain:
    """Format edges a real export brings (spaces, guards, case, naive and UTC times) and more combinations."""
    c = Chain("edge")
    c.order("X-SP"); c.pay(" X-SP\t"); c.want("order number with outer blanks on the bill", "P-X-SP", "matched")
    c.order("202611200001"); c.pay('="202611200001"')
    c.want("order number behind an Excel text guard", "P-202611200001", "matched")
    c.order("X-CASE", "WeChat"); c.pay("X-CASE", channel="WECHAT")
    c.want("channel names in other case", "P-X-CASE", "matched")
    c.order("X-NAIVE", paid="2026-11-20 23:55:00"); c.want("naive paid time 23:55 (Asia/Shanghai)", "P-X-NAIVE", "pending_cross_day")
    c.order("X-UTC", paid="2026-11-20T15:55:00Z"); c.want("paid 15:55Z = 23:55 Beijing", "P-X-UTC", "pending_cross_day")
    c.order("X-UTC2", paid="2026-11-20T15:49:59+00:00"); c.want("paid 15:49:59Z = 23:49:59 Beijing", "P-X-UTC2", "order_only")
    c.order("X-UTC3", paid="2026-11-20T16:00:30Z", created="2026-11-20T16:00:00Z")
    c.want("paid 16:00:30Z = 00:00:30 next day", "P-X-UTC3", "pending_cross_day")
    c.order("X-SMALL", amount=".54"); c.pay("X-SMALL", amount="0.54")
    c.want("amount below a yuan written .54", "P-X-SMALL", "matched")
    c.order("X-HBWX", "huabei"); c.pay("X-HBWX", channel="wechat")
    c.want("huabei order paid through wechat", "P-X-HBWX", "channel_mismatch")
    c.order("X-ALMER", "alipay"); c.pay("X-ALMER", channel="alipay", merchant=AL2)
    c.want("alipay payment to the other app", "P-X-ALMER", "merchant_mismatch")
    c.order("X-DUPM"); c.pay("X-DUPM"); c.pay("X-DUPM", merchant=WX2, at=t(D, "12:00:30"))
    c.want("paid twice, second to another merchant number", "P-X-DUPM", "duplicate_payment")
    c.order("X-UNPFAIL", status="unpaid", paid=""); c.pay("X-UNPFAIL", status="failed")
    c.want("unpaid order + failed attempt", "P-X-UNPFAIL", "unpaid")
    c.order("X-REFONLY", status="refunded"); c.refund("XR-REFONLY", "X-REFONLY", "100.00")
    c.chrefund("X-REFONLY", "XR-REFONLY", "100.00")
    c.want("refunded order whose payment is on no bill of the run", "P-X-REFONLY", "order_only")
    c.want("its refund", "R-XR-REFONLY", "refund_matched")
    c.order("X-BALJ", "balance", merchant=""); c.pay("X-BALJ", channel="balance", merchant="")
    c.want("balance order + the stored-value journal's record", "P-X-BALJ", "matched",
           "table: 'unless the record is the method's own journal'")
    c.order("X-ZSTRAY", amount="0.00"); c.pay("X-ZSTRAY", amount="10.00")
    c.want("0.00 order with a 10.00 payment", "P-X-ZSTRAY", ("amount_mismatch", 1000))
    c.order("X-RDUP", status="partially_refunded"); c.pay("X-RDUP"); c.refund("XR-RDUP", "X-RDUP", "10.00")
    c.chrefund("X-RDUP", "XR-RDUP", "10.00", txid="XRDUPT", crid="XRDUPC"); c.tx.append(dict(c.tx[-1]))
    c.want("refund record listed twice", "R-XR-RDUP", "refund_matched")
    c.want("payment of X-RDUP", "P-X-RDUP", "matched")
    c.want("extra copy of the refund record", "D-wechat:XRDUPT:refund:XRDUPC", {"duplicate_record"},
           "D-<channel>:<tx id>:<type>:<refund key>; the refund key may be the refund number instead")
    c.order("X-SAMEID"); c.pay("X-SAMEID", txid="SAMEID1"); c.order("X-SAMEID2", "alipay")
    c.pay("X-SAMEID2", channel="alipay", txid="SAMEID1")
    c.want("same tx id on wechat ...", "P-X-SAMEID", "matched"); c.want("... and on alipay", "P-X-SAMEID2", "matched")
    c.order("X-PDUP", paid=t(D, "23:57:00")); c.pay("X-PDUP", at=t(D, "23:57:02")); c.pay("X-PDUP", at=t(D, "23:57:40"))
    c.want("paid 23:57 twice", "P-X-PDUP", "duplicate_payment")
    c.order("X-3REF", status="refunded", amount="60.00"); c.pay("X-3REF", amount="60.00")
    for i in range(3):
        c.refund(f"XR-3REF{i}", "X-3REF", "25.00", created=t(D, f"1{3 + i}:00:00"))
        c.chrefund("X-3REF", f"XR-3REF{i}", "25.00", at=t(D, f"1{3 + i}:00:05"))
    c.want("3 x 25 on 60: first", "R-XR-3REF0", "refund_matched"); c.want("second", "R-XR-3REF1", "refund_matched")
    c.want("third crosses by 15", "R-XR-3REF2", ("over_refund", 1500)); c.want("payment of X-3REF", "P-X-3REF", "matched")
    c.order("X-RNOAMT", status="partially_refunded"); c.pay("X-RNOAMT")
    c.refund("XR-NA1", "X-RNOAMT", "10.00", created=t(D, "13:00:00")); c.refund("XR-NA2", "X-RNOAMT", "10.00", created=t(D, "14:00:00"))
    c.chrefund("X-RNOAMT", "", "10.00", crid="XNA-C2", at=t(D, "14:00:09"))
    c.chrefund("X-RNOAMT", "", "10.00", crid="XNA-C1", at=t(D, "13:00:09"))
    c.want("two number-less refunds of one amount: first", "R-XR-NA1", "refund_matched")
    c.want("two number-less refunds of one amount: second", "R-XR-NA2", "refund_matched")
    c.want("payment of X-RNOAMT", "P-X-RNOAMT", "matched")
    c.order("X-RFAILNO"); c.pay("X-RFAILNO"); c.refund("XR-FAILNO", "X-RFAILNO", "10.00", status="failed")
    c.chrefund("X-RFAILNO", "", "10.00", crid="XFN-C")
    c.want("number-less channel refund vs a failed shop refund (no candidate)", "R-~wechat:XFN-C", "refund_channel_only")
    c.want("the failed shop refund", "R-XR-FAILNO", {"refund_failed"})
    c.want("payment of X-RFAILNO", "P-X-RFAILNO", "matched")
    return c


def tol_chain() -> Chain:
    c = Chain("tol")
    c.order("T-1"); c.pay("T-1", amount="100.01"); c.want("1 fen off, tolerance 1", "P-T-1", "matched")
    c.order("T-1N"); c.pay("T-1N", amount="99.99"); c.want("-1 fen off, tolerance 1", "P-T-1N", "matched")
    c.order("T-2"); c.pay("T-2", amount="100.02"); c.want("2 fen off, tolerance 1", "P-T-2", ("amount_mismatch", 2))
    c.order("T-R", status="partially_refunded"); c.pay("T-R"); c.refund("TR-1", "T-R", "10.00")
    c.chrefund("T-R", "TR-1", "10.01")
    c.want("payment of T-R", "P-T-R", "matched")
    c.want("refund 1 fen off, tolerance 1", "R-TR-1", {"refund_matched"}, "tolerance applies to refunds? spec: 'Compare amount ... tolerance is configuration'")
    c.order("T-G1", paid=t(D, "23:30:00")); c.want("paid 30 min before end, grace 30", "P-T-G1", "pending_cross_day")
    c.order("T-G2", paid=t(D, "23:29:59")); c.want("30 min 1 s before end, grace 30", "P-T-G2", "order_only")
    c.pay("T-CO", merchant=WX2); c.want("channel-only record mapped to a store", "P-T-CO", ("channel_only", "store", "S777"))
    # rules as data: merchant and time comparisons off, an own internal method, an own settle channel
    c.order("T-MER"); c.pay("T-MER", merchant=WX2)
    c.want("other merchant number, compare_merchant = false", "P-T-MER", "matched")
    c.order("T-TIME", paid=t("2026-11-17", "10:00:00")); c.pay("T-TIME")
    c.want("3 days apart, max_time_gap_minutes = 0", "P-T-TIME", "matched")
    c.order("T-STAFF", "staff_card", merchant=""); c.want("configured internal method", "P-T-STAFF", "internal")
    c.order("T-MT", "meituan_wx", merchant=WX1); c.pay("T-MT", channel="wechat")
    c.want("configured method settled through wechat", "P-T-MT", "matched")
    c.order("T-MT2", "meituan_wx", merchant=AL1); c.pay("T-MT2", channel="alipay")
    c.want("configured method paid through alipay", "P-T-MT2", "channel_mismatch")
    c.order("T-BT", "baitiao", merchant="JD1"); c.pay("T-BT", channel="jd_baitiao", merchant="JD1")
    c.want("baitiao through jd_baitiao", "P-T-BT", "matched")
    c.order("T-DUPAMT"); c.pay("T-DUPAMT"); c.pay("T-DUPAMT", amount="100.01", at=t(D, "12:05:00"))
    c.want("paid twice, second within the tolerance", "P-T-DUPAMT", "duplicate_payment")
    return c


def scope_chain() -> Chain:
    """key_scope = ["merchant_id"]: order numbers unique per merchant number."""
    c = Chain("scope")
    c.order("K-1", merchant=WX1); c.order("K-1", merchant=WX2)
    c.pay("K-1", merchant=WX1); c.pay("K-1", merchant=WX2, amount="100.05")
    c.want("K-1 on merchant 1", f"P-{WX1}/K-1", "matched")
    c.want("K-1 on merchant 2 (other amount)", f"P-{WX2}/K-1", ("amount_mismatch", 5))
    c.order("K-2", merchant=WX1); c.order("K-2", merchant=WX2); c.pay("K-2", merchant=WX2)
    c.want("K-2 on merchant 1, no record", f"P-{WX1}/K-2", "order_only")
    c.want("K-2 on merchant 2", f"P-{WX2}/K-2", "matched")
    c.order("K-3", merchant=WX1, status="partially_refunded"); c.order("K-3", merchant=WX2, status="partially_refunded")
    c.pay("K-3", merchant=WX1); c.pay("K-3", merchant=WX2)
    c.refund("KR-1", "K-3", "10.00", merchant=WX1); c.refund("KR-1", "K-3", "20.00", merchant=WX2)
    c.chrefund("K-3", "KR-1", "10.00", merchant=WX1); c.chrefund("K-3", "KR-1", "20.00", merchant=WX2)
    c.want("K-3 m1", f"P-{WX1}/K-3", "matched"); c.want("K-3 m2", f"P-{WX2}/K-3", "matched")
    c.want("refund KR-1 under merchant 1", f"R-{WX1}/KR-1", "refund_matched")
    c.want("refund KR-1 under merchant 2", f"R-{WX2}/KR-1", "refund_matched")
    c.pay("K-4", merchant=WX2); c.order("K-4", merchant=WX1)
    c.want("K-4 ordered on m1, paid on m2 (scope splits them)", f"P-{WX1}/K-4", "order_only")
    c.want("K-4 record on m2", f"P-{WX2}/K-4", "channel_only")
    c.order("K-5", merchant=WX1); c.pay("K-5", merchant=WX1); c.pay("K-5", merchant=WX1, at=t(D, "12:09:00"))
    c.order("K-5", merchant=WX2); c.pay("K-5", merchant=WX2)
    c.want("K-5 paid twice on m1", f"P-{WX1}/K-5", "duplicate_payment")
    c.want("K-5 paid once on m2", f"P-{WX2}/K-5", "matched")
    # 30 + 30 refunded of one order number 50.00 under two merchant numbers: no over-refund on either
    for m in (WX1, WX2):
        c.order("K-9", merchant=m, amount="50.00", status="partially_refunded"); c.pay("K-9", merchant=m, amount="50.00")
        c.refund("KR-9", "K-9", "30.00", merchant=m); c.chrefund("K-9", "KR-9", "30.00", merchant=m)
        c.want(f"K-9 on {m}", f"P-{m}/K-9", "matched")
        c.want(f"K-9's 30.00 refund on {m}", f"R-{m}/KR-9", "refund_matched",
               "over_refund under key_scope: 'an order number under one merchant number'")
    # a refund record naming no refund number, for K-10 of merchant 2 only
    c.order("K-10", merchant=WX1); c.pay("K-10", merchant=WX1)
    c.order("K-10", merchant=WX2, status="partially_refunded"); c.pay("K-10", merchant=WX2)
    c.refund("KR-10", "K-10", "8.00", merchant=WX2); c.chrefund("K-10", "", "8.00", merchant=WX2, crid="K10C")
    c.want("K-10 m1", f"P-{WX1}/K-10", "matched"); c.want("K-10 m2", f"P-{WX2}/K-10", "matched")
    c.want("number-less refund paired within its merchant number", f"R-{WX2}/KR-10", "refund_matched")
    return c


def multiday_chain() -> Chain:
    """Two bill days; run as files with --from/--to and as a workspace day by day, as a range, and again."""
    c = Chain("multi")
    # payment on day 1's bill, its refund on day 2's
    c.order("M-PR", status="partially_refunded"); c.pay("M-PR"); c.refund("MR-PR", "M-PR", "30.00", created=t(D2, "10:00:00"))
    c.chrefund("M-PR", "MR-PR", "30.00", at=t(D2, "10:00:05"), bill=D2)
    c.want("payment day 1", "P-M-PR", "matched", day=D); c.want("its refund day 2", "R-MR-PR", "refund_matched", day=D2)
    # paid 23:55 on day 1, record on day 2's bill: pending on day 1, matched on day 2
    c.order("M-X", paid=t(D, "23:55:00")); c.pay("M-X", at=t(D, "23:55:03"), bill=D2)
    c.want("paid 23:55, record on next bill", "P-M-X", "matched", pending_day1=True)
    # paid 23:50:00 exactly (grace edge), record on day 2's bill
    c.order("M-EDGE", paid=t(D, "23:50:00")); c.pay("M-EDGE", at=t(D, "23:50:01"), bill=D2)
    c.want("paid at the grace edge, record on next bill", "P-M-EDGE", "matched", pending_day1=True)
    # pending on day 1, never on a bill: order_only on day 2
    c.order("M-LOST", paid=t(D, "23:58:00"))
    c.want("pending never confirmed", "P-M-LOST", "order_only", pending_day1=True)
    # pending, next bill has it with another amount
    c.order("M-PAMT", paid=t(D, "23:58:00")); c.pay("M-PAMT", amount="90.00", at=t(D, "23:58:01"), bill=D2)
    c.want("pending then other amount", "P-M-PAMT", "amount_mismatch", pending_day1=True)
    # matched on day 1, paid again on day 2
    c.order("M-DUP"); c.pay("M-DUP"); c.pay("M-DUP", at=t(D2, "09:00:00"), bill=D2)
    c.want("matched day 1, paid again day 2", "P-M-DUP", "duplicate_payment", day=D2)
    # processing on day 1's bill, success on day 2's
    c.order("M-UPD"); c.pay("M-UPD", status="processing", txid="MUPD1"); c.pay("M-UPD", txid="MUPD1", bill=D2,
                                                                              at=t(D2, "00:10:00"))
    c.want("processing then success", "P-M-UPD", "matched", day=D2)
    c.want("processing copy", "D-wechat:MUPD1:payment:", "record_update", day=D2)
    # refund on day 1 (shop) and channel refund on day 2, no refund number
    c.order("M-NONO", status="partially_refunded"); c.pay("M-NONO"); c.refund("MR-NONO", "M-NONO", "15.00",
                                                                               created=t(D, "20:00:00"))
    c.chrefund("M-NONO", "", "15.00", crid="MCRNONO", at=t(D2, "08:00:00"), bill=D2)
    c.want("payment of M-NONO", "P-M-NONO", "matched", day=D)
    c.want("channel refund without number on day 2", "R-MR-NONO", "refund_matched", day=D2)
    # plain day-2 business
    c.order("M-D2", paid=t(D2, "12:00:00")); c.pay("M-D2", at=t(D2, "12:00:05"), bill=D2)
    c.want("day 2 payment", "P-M-D2", "matched", day=D2)
    c.order("M-OO2", paid=t(D2, "12:00:00")); c.want("day 2 order_only", "P-M-OO2", "order_only", day=D2)
    # a refund the shop made at 23:57 on day 1, on day 2's bill
    c.order("M-RP", status="partially_refunded"); c.pay("M-RP")
    c.refund("MR-RP", "M-RP", "10.00", created=t(D, "23:57:00"))
    c.chrefund("M-RP", "MR-RP", "10.00", at=t(D, "23:57:04"), bill=D2)
    c.want("payment of M-RP", "P-M-RP", "matched", day=D)
    c.want("refund at 23:57, on the next bill", "R-MR-RP", "refund_matched", pending_day1=True)
    # over-refund across days: 30 on day 1, 30 on day 2 of a 50.00 order
    c.order("M-OVR", amount="50.00", status="refunded"); c.pay("M-OVR", amount="50.00")
    c.refund("MR-OVR1", "M-OVR", "30.00", created=t(D, "13:00:00")); c.chrefund("M-OVR", "MR-OVR1", "30.00", at=t(D, "13:00:05"))
    c.refund("MR-OVR2", "M-OVR", "30.00", created=t(D2, "09:00:00"))
    c.chrefund("M-OVR", "MR-OVR2", "30.00", at=t(D2, "09:00:05"), bill=D2)
    c.want("payment of M-OVR", "P-M-OVR", "matched", day=D)
    c.want("first refund day 1", "R-MR-OVR1", "refund_matched", day=D)
    c.want("second refund day 2 crosses", "R-MR-OVR2", ("over_refund", 1000), day=D2)
    # paid on wechat day 1, again on alipay day 2
    c.order("M-DUP2C"); c.pay("M-DUP2C"); c.pay("M-DUP2C", channel="alipay", at=t(D2, "08:00:00"), bill=D2)
    c.want("wechat day 1 + alipay day 2", "P-M-DUP2C", "duplicate_payment", day=D2)
    # pending on day 1, paid twice on day 2's bill
    c.order("M-PD2", paid=t(D, "23:56:00")); c.pay("M-PD2", at=t(D, "23:56:02"), bill=D2)
    c.pay("M-PD2", at=t(D, "23:59:00"), bill=D2)
    c.want("pending, two payments on the next bill", "P-M-PD2", "duplicate_payment", pending_day1=True)
    # closed retry on day 2 after a match on day 1
    c.order("M-RETRY"); c.pay("M-RETRY"); c.pay("M-RETRY", status="closed", at=t(D2, "08:00:00"), bill=D2)
    c.want("closed retry the next day", "P-M-RETRY", "matched", day=D2)
    # booked 23:59:50 on day 1's bill, the order paid 00:00:05 on day 2
    c.order("M-MID", paid=t(D2, "00:00:05"), created=t(D, "23:59:40")); c.pay("M-MID", at=t(D, "23:59:50"))
    c.want("booked before midnight, paid after", "P-M-MID", "matched", day=D2)
    # one refund number refunded on day 1 and again on day 2
    c.order("M-DR", status="partially_refunded"); c.pay("M-DR"); c.refund("MR-DR", "M-DR", "10.00")
    c.chrefund("M-DR", "MR-DR", "10.00", crid="MDR-1")
    c.chrefund("M-DR", "MR-DR", "10.00", crid="MDR-2", bill=D2, at=t(D2, "10:00:00"))
    c.want("payment of M-DR", "P-M-DR", "matched", day=D)
    c.want("refund number refunded again next day", "R-MR-DR", "duplicate_refund", day=D2)
    # a channel refund on day 2 that the shop never recorded
    c.order("M-RCO"); c.pay("M-RCO"); c.chrefund("M-RCO", "MR-RCO", "5.00", bill=D2, at=t(D2, "10:00:00"))
    c.want("payment of M-RCO", "P-M-RCO", "matched", day=D)
    c.want("console refund day 2", "R-MR-RCO", "refund_channel_only", day=D2)
    # a closed order of day 1 the channel reports paid on day 2's bill
    c.order("M-CLLATE", status="closed", paid=""); c.pay("M-CLLATE", bill=D2, at=t(D2, "00:20:00"))
    c.want("closed order, payment on the next bill", "P-M-CLLATE", "status_mismatch", day=D2)
    # paid at noon on day 1, listed only on day 2's bill (a late bill row): order_only on day 1, matched on day 2
    c.order("M-LATE"); c.pay("M-LATE", at=t(D, "12:00:07"), bill=D2)
    c.want("paid day 1, on day 2's bill", "P-M-LATE", "matched", day=D2)
    # a shop refund at 23:58 on day 1, refunded by the channel on day 2 without the refund number
    c.order("M-RPNO", status="partially_refunded"); c.pay("M-RPNO")
    c.refund("MR-RPNO", "M-RPNO", "12.00", created=t(D, "23:58:00"))
    c.chrefund("M-RPNO", "", "12.00", crid="MRPNO-C", at=t(D2, "00:01:00"), bill=D2)
    c.want("payment of M-RPNO", "P-M-RPNO", "matched", day=D)
    c.want("pending refund paired next day by order and amount", "R-MR-RPNO", "refund_matched", pending_day1=True)
    return c


def scope_multiday_chain() -> Chain:
    """key_scope in a workspace: one order number on two merchant numbers, one of them pending across the day."""
    c = Chain("smulti")
    c.order("SK-1", merchant=WX1, paid=t(D, "23:55:00")); c.pay("SK-1", merchant=WX1, at=t(D, "23:55:03"), bill=D2)
    c.order("SK-1", merchant=WX2, status="partially_refunded"); c.pay("SK-1", merchant=WX2)
    c.refund("SKR-1", "SK-1", "10.00", merchant=WX2, created=t(D2, "09:00:00"))
    c.chrefund("SK-1", "SKR-1", "10.00", merchant=WX2, at=t(D2, "09:00:04"), bill=D2)
    c.want("SK-1 on m1 pending then matched", f"P-{WX1}/SK-1", "matched", pending_day1=True)
    c.want("SK-1 on m2 matched day 1", f"P-{WX2}/SK-1", "matched", day=D)
    c.want("its refund under m2 day 2", f"R-{WX2}/SKR-1", "refund_matched", day=D2)
    c.order("SK-2", merchant=WX1); c.pay("SK-2", merchant=WX1)
    c.order("SK-2", merchant=WX2, paid=t(D2, "10:00:00")); c.pay("SK-2", merchant=WX2, at=t(D2, "10:00:03"), bill=D2)
    c.want("SK-2 on m1 day 1", f"P-{WX1}/SK-2", "matched", day=D)
    c.want("SK-2 on m2 day 2 (not a duplicate of m1's)", f"P-{WX2}/SK-2", "matched", day=D2)
    c.order("SK-3", merchant=WX1); c.pay("SK-3", merchant=WX1); c.pay("SK-3", merchant=WX1, bill=D2, at=t(D2, "11:00:00"))
    c.want("SK-3 paid again next day on m1", f"P-{WX1}/SK-3", "duplicate_payment", day=D2)
    c.order("SK-4", merchant=WX1, paid=t(D, "23:58:00")); c.order("SK-4", merchant=WX2); c.pay("SK-4", merchant=WX2)
    c.want("SK-4 on m1 pending, never on a bill", f"P-{WX1}/SK-4", "order_only", pending_day1=True)
    c.want("SK-4 on m2", f"P-{WX2}/SK-4", "matched", day=D)
    c.order("SK-5", merchant=WX1, status="partially_refunded"); c.pay("SK-5", merchant=WX1)
    c.refund("SKR-5", "SK-5", "10.00", merchant=WX1, created=t(D, "23:59:00"))
    c.want("SK-5 payment", f"P-{WX1}/SK-5", "matched", day=D)
    c.want("SK-5 refund pending, never on a bill", f"R-{WX1}/SKR-5", "refund_order_only", pending_day1=True)
    return c


def _want_multi(self, case, oid, kinds, note="", day=None, pending_day1=False):
    self.expect[oid] = (case, kinds, note)
    self.meta = getattr(self, "meta", {})
    self.meta[oid] = dict(day=day, pending_day1=pending_day1)


Chain.want = _want_multi


# ---------------------------------------------------------------------------------------------- running
class Audit:
    def __init__(self, root: Path):
        self.root = root
        self.agree = 0
        self.disagree: list[str] = []
        self.notes: list[str] = []
        self.env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))

    def cli(self, *args, ok=True):
        r = subprocess.run([PY, "-m", "paymatch", *map(str, args)], capture_output=True, text=True, env=self.env)
        if ok and r.returncode != 0:
            raise SystemExit(f"paymatch {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def check(self, label, cond, detail=""):
        if cond:
            self.agree += 1
        else:
            self.disagree.append(f"[{label}] {detail}")

    def read(self, out: Path):
        with (out / "outcomes.csv").open(encoding="utf-8") as f:
            rows = {r["outcome_id"]: r for r in csv.DictReader(f)}
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        return rows, summary

    def conservation(self, label, summary, chain: Chain | None, rows=None):
        ct = summary["control_totals"]
        self.check(f"{label} conservation flag", summary.get("conservation") is True, json.dumps(ct))
        for side in ("orders", "refunds", "transactions"):
            s = ct[side]
            self.check(f"{label} {side} tie out", (s["input_rows"], s["input_fen"]) == (s["outcome_rows"], s["outcome_fen"]),
                       json.dumps(s))
        if chain is not None:
            want = {"orders": (len(chain.orders), sum(fen(o["amount"]) for o in chain.orders)),
                    "refunds": (len(chain.refunds), sum(fen(r["amount"]) for r in chain.refunds)),
                    "transactions": (len(chain.tx), sum(fen(x["amount"]) for x in chain.tx))}
            for side, (n, amt) in want.items():
                got = (ct[side]["input_rows"], ct[side]["input_fen"])
                self.check(f"{label} {side} = what was written", got == (n, amt), f"summary {got}, files {(n, amt)}")
        if rows is not None:
            by_kind = {k["kind"]: k["count"] for k in summary["by_kind"]}
            counted = {}
            for r in rows.values():
                counted[r["kind"]] = counted.get(r["kind"], 0) + 1
            self.check(f"{label} by_kind = outcomes.csv", by_kind == counted, f"{by_kind} vs {counted}")

    def compare(self, label, chain: Chain, rows, only=None, override=None):
        for oid, (case, kinds, note) in chain.expect.items():
            if only is not None and oid not in only:
                continue
            if override and oid in override:
                kinds = override[oid]
            got = rows.get(oid)
            want_kind, extra = kinds, None
            if isinstance(kinds, tuple):
                want_kind, extra = kinds[0], kinds[1:]
            ok_kind = got is not None and (got["kind"] in want_kind if isinstance(want_kind, set) else got["kind"] == want_kind)
            detail = f"{case}: {oid} want {sorted(want_kind) if isinstance(want_kind, set) else want_kind}, got " \
                     f"{got['kind'] if got else 'no outcome'}" + (f" ({got['reason']})" if got else "") + \
                     (f" [spec: {note}]" if note else "")
            if ok_kind and extra:
                if extra[0] == "store":
                    ok_kind = got["store_id"] == extra[1]
                    detail += f" store_id {got['store_id']!r} want {extra[1]!r}"
                else:
                    if extra[0] is not None:
                        ok_kind = int(got["difference_fen"] or 0) == extra[0]
                        detail += f" difference_fen {got['difference_fen']} want {extra[0]}"
                    if len(extra) > 1:
                        ok_kind = ok_kind and int(got["channel_rows"] or 0) == extra[1]
                        detail += f" channel_rows {got['channel_rows']} want {extra[1]}"
            self.check(label, ok_kind, detail)
        if only is None:
            extra_ids = sorted(set(rows) - set(chain.expect))
            self.check(f"{label} no unexpected outcomes", not extra_ids,
                       ", ".join(f"{i}={rows[i]['kind']} ({rows[i]['reason']})" for i in extra_ids[:10]))

    def report_counts(self, label, chain: Chain, ws: Path, cfg):
        out = ws.parent / "report.json"
        self.cli("report", "reconciliation", *cfg, "--workspace", ws, "--period", "month", "--date", D, "--json", out)
        total = json.loads(out.read_text(encoding="utf-8"))["tables"][0]["rows"][-1]
        want = {"orders_count": len(chain.orders), "shop_refund_count": len(chain.refunds),
                "channel_count": sum(x["type"] == "payment" for x in chain.tx),
                "channel_refund_count": sum(x["type"] == "refund" for x in chain.tx),
                "outcomes_count": len(chain.expect)}
        for kinds in (v[1] for v in chain.expect.values()):
            k = kinds[0] if isinstance(kinds, tuple) else kinds
            if isinstance(k, str):
                want[f"k_{k}_count"] = want.get(f"k_{k}_count", 0) + 1
        got = {k: total.get(k, 0) for k in want}
        got.update({k: v for k, v in total.items() if k.startswith("k_") and k.endswith("_count") and k not in want})
        bad = {k: (got[k], want.get(k, 0)) for k in got if got[k] != want.get(k, 0)}
        self.check(label, not bad, f"report total row (got, want): {bad}")

    def file_run(self, chain: Chain, config: str | None = None, extra=()):
        folder = self.root / chain.name
        p = chain.write(folder)
        args = ["reconcile", "--orders", p["orders"], "--refunds", p["refunds"], "--transactions",
                p["transactions"], "--out", folder / "out", *extra]
        if config:
            (folder / "rules.toml").write_text(config, encoding="utf-8")
            args += ["--config", folder / "rules.toml"]
        self.cli(*args)
        return self.read(folder / "out")


def lines(path: Path) -> list[str]:
    """outcomes.csv's rows as a sorted list: README 'outcomes.csv rows come in no particular order'."""
    return sorted(path.read_text(encoding="utf-8").splitlines())


def run_file_cases(a: Audit):
    c = day_chain()
    rows, summary = a.file_run(c)
    a.conservation("day", summary, c, rows)
    a.compare("day", c, rows)
    # the same inputs in another file order give the same outcomes (ids and kinds)
    c2 = day_chain(); c2.name = "dayrev"
    c2.orders.reverse(); c2.refunds.reverse(); c2.tx.reverse()
    rows2, summary2 = a.file_run(c2)
    a.conservation("day reversed", summary2, c2, rows2)
    diff = [f"{k}: {rows[k]['kind']} vs {rows2.get(k, {}).get('kind')}" for k in rows
            if rows2.get(k, {}).get("kind") != rows[k]["kind"]]
    a.check("day: input order does not matter", not diff and set(rows) == set(rows2), "; ".join(diff[:8]))
    # rerun of the same inputs: byte-identical outcomes
    first = lines(a.root / "day" / "out" / "outcomes.csv")
    a.file_run(c)
    a.check("day: rerun identical outcomes.csv", first == lines(a.root / "day" / "out" / "outcomes.csv"))

    e = edge_chain()
    erows, esummary = a.file_run(e)
    a.conservation("edge", esummary, e, erows)
    a.compare("edge", e, erows)

    t = tol_chain()
    rows, summary = a.file_run(t, "[match]\namount_tolerance_fen = 1\ncross_day_grace_minutes = 30\n"
                                  "compare_merchant = false\nmax_time_gap_minutes = 0\n"
                                  '[methods]\ninternal = ["staff_card"]\n[methods.settle_channel]\n'
                                  'meituan_wx = "wechat"\n'
                                  f'[stores]\n"{WX2}" = "S777"\n')
    a.conservation("tolerance", summary, t, rows)
    a.compare("tolerance", t, rows)

    s = scope_chain()
    rows, summary = a.file_run(s, '[match]\nkey_scope = ["merchant_id"]\n')
    a.conservation("key_scope", summary, s, rows)
    a.compare("key_scope", s, rows)
    # without key_scope the same order number twice is refused by file, line and field
    s.name = "noscope"
    folder = a.root / "noscope"
    p = s.write(folder)
    r = a.cli("reconcile", "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["transactions"],
              "--out", folder / "out", ok=False)
    msg = r.stdout + r.stderr
    a.check("no key_scope: duplicate order_no refused (exit 2, file:line [order_no])",
            r.returncode == 2 and "orders.csv:3" in msg and "order_no" in msg, msg.strip()[-400:])


def run_multiday(a: Audit, c: Chain, config: str | None = None):
    cfg = []
    if config:
        (a.root / c.name).mkdir(parents=True, exist_ok=True)
        (a.root / c.name / "rules.toml").write_text(config, encoding="utf-8")
        cfg = ["--config", a.root / c.name / "rules.toml"]
    day1 = [x for x in c.tx if x["bill_date"] == D]
    day2 = [x for x in c.tx if x["bill_date"] == D2]
    folder = a.root / c.name
    p = c.write(folder, {"transactions": c.tx, "tx1": day1, "tx2": day2})
    # a file run over both days
    out = folder / "out-files"
    a.cli("reconcile", *cfg, "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["transactions"],
          "--out", out, "--from", D, "--to", D2)
    rows, summary = a.read(out)
    a.conservation(f"{c.name} multi files", summary, c, rows)
    a.compare(f"{c.name} multi files", c, rows)
    # a file run of day 1's bill only: the pending ones
    out = folder / "out-files-d1"
    a.cli("reconcile", *cfg, "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["tx1"],
          "--out", out, "--date", D)
    rows, summary = a.read(out)
    a.conservation(f"{c.name} multi files day1", summary, None, rows)
    for oid, m in c.meta.items():
        if m["pending_day1"]:
            a.check(f"{c.name} files day1 pending", rows.get(oid, {}).get("kind") == "pending_cross_day",
                    f"{oid}: got {rows.get(oid, {}).get('kind')} ({rows.get(oid, {}).get('reason')})")

    # workspace: ingest everything, day by day
    ws = folder / "W.duckdb"
    a.cli("ingest", *cfg, "--workspace", ws, "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["tx1"])
    a.cli("ingest", *cfg, "--workspace", ws, "--transactions", p["tx2"])
    r = a.cli("ingest", *cfg, "--workspace", ws, "--transactions", p["tx2"])  # again: changes nothing
    a.check(f"{c.name} re-ingest of the same file changes nothing", "already loaded, unchanged" in r.stdout,
            r.stdout[-300:])
    days = {}
    for d in (D, D2):
        out = folder / f"ws-{d}"
        a.cli("reconcile", *cfg, "--workspace", ws, "--date", d, "--out", out)
        days[d] = a.read(out)
        a.conservation(f"{c.name} ws day {d}", days[d][1], None, days[d][0])
    rows1, rows2 = days[D][0], days[D2][0]
    for oid, m in c.meta.items():
        if m["pending_day1"]:
            a.check(f"{c.name} ws day1 pending", rows1.get(oid, {}).get("kind") == "pending_cross_day",
                    f"{oid}: got {rows1.get(oid, {}).get('kind')} ({rows1.get(oid, {}).get('reason')})")
    merged = dict(rows1)
    merged.update(rows2)
    a.compare(f"{c.name} ws day by day (latest day's outcome)", c, merged)
    # day 2's run holds the day-2 outcomes and the resolved pending ones
    day2_ids = [oid for oid, m in c.meta.items() if m["day"] == D2 or m["pending_day1"]]
    a.compare(f"{c.name} ws day 2 run", c, rows2, only=day2_ids)
    missing = [oid for oid in day2_ids if oid not in rows2]
    a.check(f"{c.name} ws day 2 holds its outcomes", not missing, ", ".join(missing))
    # rerun day 1: same ids, same kinds, same bytes
    before = lines(folder / f"ws-{D}" / "outcomes.csv")
    a.cli("reconcile", *cfg, "--workspace", ws, "--date", D, "--out", folder / f"ws-{D}-again")
    after = lines(folder / f"ws-{D}-again" / "outcomes.csv")
    a.check(f"{c.name} ws rerun day 1 identical", before == after)
    # a range run over both days agrees with the files run
    out = folder / "ws-range"
    a.cli("reconcile", *cfg, "--workspace", ws, "--from", D, "--to", D2, "--out", out)
    rows, summary = a.read(out)
    a.conservation(f"{c.name} ws range", summary, c, rows)
    a.compare(f"{c.name} ws range", c, rows)
    a.cli("reconcile", *cfg, "--workspace", ws, "--from", D, "--to", D2, "--out", folder / "ws-range2")
    a.check(f"{c.name} ws range rerun identical", lines(out / "outcomes.csv") ==
            lines(folder / "ws-range2" / "outcomes.csv"))
    # the month's report counts every stored order, refund and record once, whatever runs reconciled it:
    # after the range run, and again after day 1 and day 2 were rerun on their own (README "Reports read ...")
    a.report_counts(f"{c.name} report after range", c, ws, cfg)
    a.cli("reconcile", *cfg, "--workspace", ws, "--date", D, "--out", folder / "ws-d1-3")
    a.report_counts(f"{c.name} report after range + day 1 rerun", c, ws, cfg)
    a.cli("reconcile", *cfg, "--workspace", ws, "--date", D2, "--out", folder / "ws-d2-3")
    a.cli("reconcile", *cfg, "--workspace", ws, "--date", D, "--out", folder / "ws-d1-4")
    a.report_counts(f"{c.name} report after day 2 then day 1 rerun", c, ws, cfg)
    # a fresh workspace: a range run, then the second day alone (no day run ever left anything pending)
    ws2 = folder / "W2.duckdb"
    a.cli("ingest", *cfg, "--workspace", ws2, "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["tx1"])
    a.cli("ingest", *cfg, "--workspace", ws2, "--transactions", p["tx2"])
    # an export of both days overlapping the two bills: the same records delivered again, not stored twice
    a.cli("ingest", *cfg, "--workspace", ws2, "--transactions", p["transactions"])
    a.cli("reconcile", *cfg, "--workspace", ws2, "--from", D, "--to", D2, "--out", folder / "ws2-range")
    a.cli("reconcile", *cfg, "--workspace", ws2, "--date", D2, "--out", folder / "ws2-d2")
    a.report_counts(f"{c.name} report after range then day 2 alone", c, ws2, cfg)
    rows, summary = a.read(folder / "ws2-range")
    a.conservation(f"{c.name} ws2 range after an overlapping export", summary, c, rows)


WX_HEAD = ("交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
           "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
           "手续费,费率,订单金额,申请退款金额,费率备注")


def wechat_bill(mchid: str, rows: list[dict]) -> str:
    """A WeChat Pay trade bill (ALL) as the merchant platform delivers it: every value behind a backtick, the totals
    block after the rows. rows: time, txid, order, state (SUCCESS/REFUND/REVOKED), settle, amount, fee, and for
    money going back refund_id, refund_no, refund."""
    out = [WX_HEAD]
    tot = {"settle": 0, "refund": 0, "fee": 0, "amount": 0, "apply": 0}
    for r in rows:
        back = r["state"] in ("REFUND", "REVOKED")
        vals = [r["time"], "wx8888888888888888", mchid, "0", "", r["txid"], r["order"], "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                "NATIVE", r["state"], "OTHERS", "CNY", r.get("settle", "0.00") if not back else "0.00", "0.00",
                r.get("refund_id", "0") if back else "0", r.get("refund_no", "") if back else "0",
                r.get("refund", "0.00") if back else "0.00", "0.00", "ORIGINAL" if back else "",
                "SUCCESS" if back else "", "门店消费", "", r["fee"], "0.60%",
                r.get("amount", "0.00") if not back else "0.00", r.get("refund", "0.00") if back else "0.00", ""]
        out.append(",".join("`" + v for v in vals))
        tot["settle"] += fen(vals[12]); tot["refund"] += fen(vals[16]); tot["amount"] += fen(vals[24])
        tot["apply"] += fen(vals[25]); tot["fee"] += (-1 if r["fee"].startswith("-") else 1) * fen(r["fee"].lstrip("-"))
    y = lambda f: f"{'-' if f < 0 else ''}{abs(f) // 100}.{abs(f) % 100:02d}"  # noqa: E731
    out.append("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
    out.append(",".join("`" + v for v in (str(len(rows)), y(tot["settle"]), y(tot["refund"]), "0.00", y(tot["fee"]),
                                           y(tot["amount"]), y(tot["apply"]))))
    return "\r\n".join(out) + "\r\n"


def run_bills(a: Audit):
    """WeChat Pay bills as delivered (two merchant numbers) beside a canonical Alipay CSV, in one file run."""
    c = Chain("bills")
    c.order("W-B1", merchant=WX1); c.want("payment on the WeChat bill", "P-W-B1", "matched")
    c.order("W-B2", merchant=WX1, status="partially_refunded"); c.refund("WR-2", "W-B2", "30.00")
    c.want("payment of W-B2", "P-W-B2", "matched"); c.want("refund on the WeChat bill", "R-WR-2", "refund_matched")
    c.order("W-B3", merchant=WX1, status="refunded"); c.refund("WR-3", "W-B3", "100.00")
    c.want("payment later revoked", "P-W-B3", "matched")
    c.want("revoked payment paired with the shop's refund by order and amount", "R-WR-3", "refund_matched")
    c.order("W-B4", merchant=WX2); c.want("payment on the second merchant's bill", "P-W-B4", "matched")
    c.order("W-B5", merchant=WX1); c.pay("W-B5", channel="alipay", merchant=AL1, at=t(D, "12:05:00"))
    c.want("paid on WeChat (bill) and Alipay (CSV)", "P-W-B5", ("duplicate_payment", None, 2))
    c.want("console refund on the WeChat bill", "R-WR-6", "refund_channel_only")
    c.order("W-B7", merchant=WX1, amount="88.00")
    c.want("WeChat bill amount differs", "P-W-B7", ("amount_mismatch", -100))
    bill1 = [
        dict(time="2026-11-20 12:00:05", txid="4200000001202611200000000001", order="W-B1", state="SUCCESS",
             settle="100.00", amount="100.00", fee="0.60"),
        dict(time="2026-11-20 12:00:06", txid="4200000001202611200000000002", order="W-B2", state="SUCCESS",
             settle="100.00", amount="100.00", fee="0.60"),
        dict(time="2026-11-20 15:00:06", txid="4200000001202611200000000002", order="W-B2", state="REFUND",
             refund_id="50300000012026112000000002", refund_no="WR-2", refund="30.00", fee="-0.18"),
        dict(time="2026-11-20 12:00:07", txid="4200000001202611200000000003", order="W-B3", state="SUCCESS",
             settle="100.00", amount="100.00", fee="0.60"),
        dict(time="2026-11-20 12:10:07", txid="4200000001202611200000000003", order="W-B3", state="REVOKED",
             refund_id="50300000012026112000000003", refund="100.00", fee="-0.60"),
        dict(time="2026-11-20 12:00:08", txid="4200000001202611200000000005", order="W-B5", state="SUCCESS",
             settle="100.00", amount="100.00", fee="0.60"),
        dict(time="2026-11-20 16:00:00", txid="4200000001202611200000000002", order="W-B2", state="REFUND",
             refund_id="50300000012026112000000006", refund_no="WR-6", refund="5.00", fee="-0.03"),
        dict(time="2026-11-20 12:00:09", txid="4200000001202611200000000007", order="W-B7", state="SUCCESS",
             settle="87.00", amount="87.00", fee="0.52"),
    ]
    bill2 = [dict(time="2026-11-20 12:00:05", txid="4200000002202611200000000004", order="W-B4", state="SUCCESS",
                  settle="100.00", amount="100.00", fee="0.60")]
    folder = a.root / "bills"
    p = c.write(folder)
    (folder / "wx").mkdir()
    for mch, rows in ((WX1, bill1), (WX2, bill2)):
        (folder / "wx" / f"{mch}_20261120_ALL.csv").write_text(wechat_bill(mch, rows), encoding="utf-8")
    a.cli("reconcile", "--orders", p["orders"], "--refunds", p["refunds"], "--transactions", p["transactions"],
          "--bills", folder / "wx", "--out", folder / "out")
    rows, summary = a.read(folder / "out")
    a.conservation("bills", summary, None, rows)
    ct = summary["control_totals"]["transactions"]
    a.check("bills: every bill row and CSV row is an input row", ct["input_rows"] == len(bill1) + len(bill2) + len(c.tx),
            json.dumps(ct))
    a.compare("bills", c, rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="audit6-"))
    if args.keep:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    a = Audit(root)
    try:
        run_bills(a)
        run_file_cases(a)
        run_multiday(a, multiday_chain())
        run_multiday(a, scope_multiday_chain(), '[match]\nkey_scope = ["merchant_id"]\n')
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for d in a.disagree:
        print("DISAGREE", d)
    print(f"agree {a.agree}, disagree {len(a.disagree)}")
    return 1 if a.disagree else 0


if __name__ == "__main__":
    sys.exit(main())
