"""What scanning a folder of bills gives (``BillScan``: the good bills, the rejected files, the skipped ones) and the
checks that span several files of one delivery: an Alipay detail against its 汇总, a UnionPay 汇总表 against its ZM
rows. ``detect.scan_bills`` builds the scan and runs the checks."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from paymatch.channels.base import ParsedBill
from paymatch.errors import LoadError, Problem


@dataclass(frozen=True)
class Rejected:
    """A file kept aside for a person: its name and why (a LoadError with its problems)."""

    name: str
    error: LoadError
    sha256: str = ""
    #: the channel whose layout it has, when it was recognised but did not parse; None if unknown
    channel: str | None = None

    @property
    def path(self) -> str:
        """The file on disk to quarantine (an archive member's archive)."""
        return self.name.split("!", 1)[0]


@dataclass
class BillScan:
    """Outcome of scanning a folder: good bills, rejected files (quarantine), skipped files."""

    bills: list[ParsedBill] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: files skipped as byte copies of a file read before: name → the file's hash as delivered (its archive's)
    copy_sha256: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        """Every problem of every rejected file, in file order."""
        return [p for r in self.rejected for p in r.error.problems]


def cross_check_alipay(scan: BillScan) -> None:
    """An Alipay zip holds a detail and a summary CSV (业务明细 or 账务明细); when both came from one
    archive, the Alipay module's cross-check must agree, else both are rejected together."""
    try:
        from paymatch.channels.alipay.bill import KINDS, cross_check_members
    except ImportError:
        return
    # A member skipped as a byte copy of a bill read elsewhere (the same 业务明细 in two zips) still takes part in its
    # own archive's check, as that bill: else a zip's tampered 汇总 beside a copied detail was never checked.
    same = "same content as "
    read = {bill.source: bill for bill in scan.bills}
    copies = {name: replace(read[why[len(same):]], source=name, sha256=scan.copy_sha256.get(name, ""))
              for name, why in scan.skipped
              if why.startswith(same) and "!" in name and why[len(same):] in read}
    groups: dict[str, list[ParsedBill]] = {}
    for bill in [*scan.bills, *copies.values()]:
        if "!" in bill.source and bill.channel == "alipay" and bill.kind in KINDS:
            groups.setdefault(bill.source.rsplit("!", 1)[0], []).append(bill)
    empty = {name.rsplit("!", 1)[0]: name for name, why in scan.skipped if why == "empty file" and "!" in name}
    for archive, bills in groups.items():
        # a zip whose 业务明细 (or 账务明细) member is empty: its 汇总 alone was stored, 0 rows, exit 0; the day's
        # payments silently missing (bench/fuzz_inputs.py). Its 汇总 has nothing to tie out with: refused.
        if archive in empty and all(b.kind.endswith("summary") for b in bills):
            for bill in bills:
                scan.bills.remove(bill)
                scan.rejected.append(Rejected(bill.source, LoadError(
                    [Problem(empty[archive], None, None, None, "empty file: the bill's detail beside this 汇总 "
                                                                "holds nothing (a truncated download?)")],
                    hint="download the bill again"), bill.sha256, bill.channel))
            continue
        for pair, exc in cross_check_members(bills):
            for bill in pair:
                if copies.get(bill.source) is bill:  # the copy: nothing of it was to be stored; rejected with its 汇总
                    scan.skipped = [(name, why) for name, why in scan.skipped if name != bill.source]
                else:
                    scan.bills.remove(bill)
                scan.rejected.append(Rejected(bill.source, exc, bill.sha256, bill.channel))


def cross_check_unionpay(scan: BillScan) -> None:
    """A UnionPay 商户交易汇总表 that does not tie out with the ZM rows of its merchant code and day is rejected
    together with those ZM files (``unionpay_rd.cross_check``), wherever in the scan they were found."""
    from paymatch.channels.unionpay_rd import cross_check

    for group, exc in cross_check(scan.bills):
        for bill in group:
            if bill in scan.bills:
                scan.bills.remove(bill)
                scan.rejected.append(Rejected(bill.source, exc, bill.sha256, bill.channel))
