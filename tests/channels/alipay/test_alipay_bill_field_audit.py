"""Alipay bills as they come from the field (helper-71's audit): variants of the real layouts that were read wrongly.

Each file is synthetic (made-up values) in the layout public importers of real downloads document.
"""

from __future__ import annotations

import pytest

from paymatch.channels.alipay import parse
from paymatch.channels.detect import scan_bills
from paymatch.errors import LoadError

#: the older web download of a user's own record (支付宝交易记录明细查询), GBK, padded cells
PERSONAL_OLD = "\r\n".join([
    "支付宝交易记录明细查询", "账号:[shop@example.com]", "起始日期:[2026-11-01 00:00:00]    终止日期:[2026-12-01 00:00:00]",
    "---------------------------------交易记录明细列表------------------------------------",
    "交易号                  ,商家订单号               ,交易创建时间              ,付款时间                ,最近修改时间"
    "              ,交易来源地     ,类型              ,交易对方            ,商品名称                ,金额（元）   ,收/支     "
    ",交易状态    ,服务费（元）   ,成功退款（元）  ,备注                  ,资金状态     ,",
    "2026112022001400000000000001\t,\t,2026-11-20 10:00:00 ,2026-11-20 10:00:05 ,2026-11-20 10:00:05 ,其他,"
    "即时到账交易          ,顾客             ,收款                ,10.00   ,收入      ,交易成功    ,0.00     ,0.00     ,"
    "                    ,已收入      ,",
    "------------------------------------------------------------------------------------",
    "共1笔记录", "已收入:1笔,10.00元", "待收入:0笔,0.00元", "已支出:0笔,0.00元", "待支出:0笔,0.00元",
    "导出时间:[2026-12-01 09:00:00]    用户:小店"]) + "\r\n"
#: the app's newer export (电子客户回单 title), GBK
PERSONAL_NEW = "\r\n".join([
    "------------------------------------------------------------------------------------", "导出信息：",
    "姓名：小店", "支付宝账户：shop@example.com", "起始时间：[2026-11-01 00:00:00]    终止时间：[2026-12-01 00:00:00]",
    "导出交易类型：[全部]", "导出时间：[2026-12-01 09:00:00]", "共1笔记录", "收入：1笔 10.00元", "支出：0笔 0.00元",
    "不计收支：0笔 0.00元", "", "特别提示：", "1.本回单内容可表明支付宝受理了此笔业务；", "",
    "----------------------支付宝（中国）网络技术有限公司  电子客户回单----------------------",
    "交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,",
    "2026-11-20 10:00:00,收款,顾客,c***@example.com,收钱码收款,收入,10.00,,交易成功,2026112022001400000000000001\t,,,",
]) + "\r\n"


@pytest.mark.parametrize("text, line", [(PERSONAL_OLD, 5), (PERSONAL_NEW, 17)])
def test_a_personal_alipay_record_is_refused_for_what_it_is(tmp_path, text, line):
    """A shop taking money through a personal QR code only has the user's own transaction record: no merchant
    account, no 业务类型. It was refused as an 'unknown bill layout' with the advice to write a profile for it."""
    (tmp_path / "alipay_record_20261201.csv").write_bytes(text.encode("gbk"))
    scan = scan_bills(tmp_path)
    assert scan.bills == []
    [rejected] = scan.rejected
    assert rejected.channel == "alipay"
    [problem] = rejected.error.problems
    assert problem.line == line and "personal Alipay transaction record" in problem.message
    assert "业务明细" in rejected.error.hint
    with pytest.raises(LoadError, match="personal Alipay"):
        parse(text.encode("gbk"), "p.csv")
