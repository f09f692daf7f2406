"""Instalment report (分期报表): per channel, store and term, the outstanding and overdue periods and
amounts and the seller-borne interest/fee of the periods due in the window — in the same report
model as the other reports (Excel / CSV / JSON).

Plans and their periods' outcomes come from ``instalments.stored.stored_plans`` (the reading the
credit check shares): orders with instalments whose money was taken; a per-period plan's period
counts as received when its latest stored outcome is ``instalment_matched`` (owed no more: ``instalment_ended``
or ``instalment_after_refund``, its order refunded); up-front plans (Huabei, Baitiao) are settled by the channel on
each due date, a refunded one's at once. The seller-borne fee is shown where
the channel charges it (``instalments.report``): up front at the sale, per period on its due date.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..instalments.config import InstalmentConfig
from ..instalments.report import instalment_report
from ..instalments.stored import stored_plans
from ..schema import TZ
from .labels import unknown
from .model import Column, ControlTotal, Report, Table
from .provenance import run_ids_for, sources_for, store_scope

COLUMNS = (
    Column("channel", "支付方式", "Channel", labels="channel"),
    Column("store_id", "门店", "Store"),
    Column("term", "期数", "Term", "count"),
    Column("plans", "分期订单数", "Plans", "count"),
    Column("periods", "总期数", "Periods", "count"),
    Column("outstanding_periods", "未结清期数", "Outstanding periods", "count"),
    Column("outstanding_fen", "未结清金额", "Outstanding", "fen"),
    Column("overdue_periods", "逾期期数", "Overdue periods", "count"),
    Column("overdue_fen", "逾期金额", "Overdue", "fen"),
    Column("seller_fee_fen", "商户承担息费(本期)", "Seller-borne fee (window)", "fen"),
)


def build_instalments(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, as_of: dt.date,
                      config: InstalmentConfig, *, key_scope: tuple[str, ...] = (),
                      store_ids: tuple[str, ...] | list[str] = (), lang: str = "zh") -> Report:
    """The instalment report for periods due date_from..date_to, status as of ``as_of``; ``key_scope``: the
    rules' ``[match] key_scope`` (a plan is then its merchant number and order number, as the runs keyed it);
    ``store_ids``: a store manager's report, only these stores' plans (and totals); ``lang``: the report's language
    (a plan whose order names no store is under the label every report gives a missing store)."""
    _, store_zh, store_en = store_scope(con, store_ids)
    plan, outcomes = stored_plans(con, config, as_of=as_of, key_scope=key_scope)
    rows = instalment_report(plan, outcomes, as_of, date_from, date_to)
    if store_ids:
        rows = rows.filter(pc.is_in(rows.column("store_id"), value_set=pa.array(list(store_ids), pa.string())))
    i = rows.schema.get_field_index("store_id")
    rows = rows.set_column(i, "store_id", pc.fill_null(rows.column(i).cast(pa.string()), unknown(lang)))
    totals = {c: sum(v or 0 for v in rows.column(c).to_pylist()) for c in
              ("plans", "outstanding_periods", "outstanding_fen", "overdue_periods", "overdue_fen", "seller_fee_fen")}
    return Report(
        kind="instalments", title_zh="分期报表" + store_zh, title_en="Instalment report" + store_en,
        period_from=date_from, period_to=date_to, period_label="range",
        sources=sources_for(con, date_from, date_to), run_ids=run_ids_for(con, date_from, date_to),
        control_totals=(
            ControlTotal("plans", "分期订单", "Instalment plans", int(totals["plans"]), None),
            ControlTotal("outstanding", "未结清", "Outstanding", int(totals["outstanding_periods"]),
                         int(totals["outstanding_fen"])),
            ControlTotal("overdue", "逾期", "Overdue", int(totals["overdue_periods"]), int(totals["overdue_fen"])),
            ControlTotal("seller_fee", "商户承担息费", "Seller-borne fee", None, int(totals["seller_fee_fen"])),
        ),
        tables=(Table("instalments", "分期汇总", "Instalments", COLUMNS, rows),),
        # Shanghai's time, as every other report's cover: in UTC a report made at 07:34 said 23:34 of the day before
        generated_at=dt.datetime.now(ZoneInfo(TZ)),
        params={"as_of": str(as_of), **({"store": ",".join(store_ids)} if store_ids else {})},
    )
