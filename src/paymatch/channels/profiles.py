"""Declarative mapping profiles: a YAML file says how one payment method's CSV/Excel export
becomes canonical transactions (``schema.TRANSACTION_ARROW``).

A profile is data, not code, so a shop can add a payment method without a release: drop a YAML
file in a folder and pass the folder to detection. Every profile is validated with pydantic on
load; a bad one raises ``ConfigError`` naming the file and the key. Keys (builtin profiles in
``paymatch/profiles/*.yaml`` show each one in use)::

    name, channel        lowercase identifiers; channel is the canonical channel name
    target               transactions (default) or instalment_flows: what the rows become
    method               default ``method`` of every row (a mapped ``method`` column wins)
    description, provenance
    file:    type csv|xlsx, encoding utf-8|utf-8-sig|gbk|gb18030, delimiter, alt_delimiters, quote,
             skip_lines, header_contains [cells], comment_prefix, trailer_regex (RE2; the first
             matching line and all after it are not rows), trailer_lines (count), sheet
    columns: canonical field -> source column name or list of names (the first non-empty cell
             wins; for money, a zero gives way to a later column); fields: channel_tx_id order_no refund_no channel_refund_id amount amount_in
             amount_out fee settle_amount status occurred_at bill_date merchant_id type method;
             occurred_date: the date when the export splits it from the time (交易日期 +
             交易时间 10:00:00): prefixed to a time-only occurred_at cell
    constants: merchant_id / bill_date as {value: ...} or {regex: ...} (group 1, searched in
             the lines around the table: title, comments, trailer; with search: file_name in
             the file's name, inside an archive the member's, then the archive's); optional:
             true when a file without that line is fine
    amount:  unit yuan|fen, decimals 2|5, fee_decimals 2|5 (¥/￥, thousands commas, blanks,
             tabs, backticks and ="..." guards are always stripped; refunds become positive)
    time:    formats [strptime patterns or 'iso'], timezone (default Asia/Shanghai)
    status:  map {source value: success|processing|failed|closed}, default
    type:    rule column|sign|in_out|constant, map {source value: payment|refund}, value (with rule sign,
             a mapped type column's known words must agree with the sign: a row that does not is refused)
    totals:  [{regex with (?P<count>) and/or (?P<amount>), scope all|payment|refund,
             amount_mode sum|net, optional}] -- tied out against the parsed rows (optional: a
             file without the line is read unchecked)
    rows:    {column, keep: [values]} or {column, drop: [values]} -- which rows are transactions
    sniff:   headers [all in one line] and/or regex (searched in the first lines)
    flows:   (target instalment_flows) period_separator for a ``period`` column written "k/n"

``target: instalment_flows`` profiles (per-period instalment exports) yield ``instalments.flows.
FLOW_ARROW`` rows: order_no, amount, occurred_at, fee/status, and the period as ``period_no`` +
``periods`` or one ``period`` column "k/n" ("第3期/共12期" too); merchant_id from its column or
``constants.merchant_id`` (a title line, the file's name), else none. ``builtin_flow_profiles()`` lists them.

Parsing is split in two helpers: ``profile_read`` turns bytes into a table of raw strings that
keeps each row's physical line, and ``profile_sql`` cleans, validates and types it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from paymatch.channels.base import ParsedBill
from paymatch.errors import ConfigError, LoadError, Problem
from paymatch.schema import TxStatus

from paymatch.channels.profile_spec import (
    FLOW_FIELDS, CanonField, _Strict, FileSpec, Constant, AmountSpec, TimeSpec, StatusSpec, TypeSpec, TotalsCheck, RowFilter, SniffSpec, FlowSpec, has_year,
)


class Profile(_Strict):
    """One payment method's export layout. See the module docstring and the builtin YAML files."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    channel: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    #: what the rows become: canonical transactions, or per-period instalment flows
    target: Literal["transactions", "instalment_flows"] = "transactions"
    method: str | None = None
    description: str = ""
    #: where the layout comes from ('generic' when not verified against a real export)
    provenance: str = "generic"
    file: FileSpec = FileSpec()
    columns: dict[CanonField, list[str]]
    constants: dict[Literal["merchant_id", "bill_date"], Constant] = {}
    amount: AmountSpec = AmountSpec()
    time: TimeSpec = TimeSpec()
    status: StatusSpec = StatusSpec(default=TxStatus.SUCCESS)
    type: TypeSpec = TypeSpec()
    totals: list[TotalsCheck] = []
    rows: RowFilter | None = None
    flows: FlowSpec = FlowSpec()
    #: written ``sniff:`` in YAML; named differently here so the ``sniff()`` method can exist
    sniff_rules: SniffSpec = Field(alias="sniff")

    _path: str = PrivateAttr("")

    @field_validator("columns", mode="before")
    @classmethod
    def _listify(cls, value: object) -> object:
        # 'amount: 金额' is shorthand for 'amount: [金额]'
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Profile:
        cols = self.columns
        if "status" in cols and not self.status.map:
            raise ValueError("columns.status needs status.map")
        if "status" not in cols and self.status.default is None:
            raise ValueError("without a status column give status.default")
        if self.target == "instalment_flows":
            if any(not has_year(f) for f in self.time.formats):
                raise ValueError("instalment flows need time formats with a year (%Y or %y)")
            return self._flow_coherent()
        if {"period_no", "periods", "period"} & set(cols):
            raise ValueError("period columns need target: instalment_flows")
        if self.type.rule == "in_out":
            if not ("amount_in" in cols and "amount_out" in cols):
                raise ValueError("type.rule in_out needs columns amount_in and amount_out")
        elif "amount" not in cols:
            raise ValueError("columns.amount is required (or amount_in/amount_out with type.rule in_out)")
        if "occurred_at" not in cols:
            raise ValueError("columns.occurred_at is required (with occurred_date when the date is apart)")
        yearless = [f for f in self.time.formats if not has_year(f)]
        if yearless and "bill_date" not in cols and "bill_date" not in self.constants:
            raise ValueError(f"time format {yearless[0]!r} has no year: it is taken from the row's bill date, so "
                             "map columns.bill_date or give constants.bill_date")
        if not ({"channel_tx_id", "order_no"} & set(cols)):
            raise ValueError("map channel_tx_id and/or order_no")
        if self.type.rule == "column" and ("type" not in cols or not self.type.map):
            raise ValueError("type.rule column needs columns.type and type.map")
        return self

    def _flow_coherent(self) -> Profile:
        cols = set(self.columns)
        extra = sorted(cols - set(FLOW_FIELDS))
        if extra:
            raise ValueError(f"target instalment_flows maps only {list(FLOW_FIELDS)}; not {extra}")
        missing = [f for f in ("order_no", "amount", "occurred_at") if f not in cols]
        if missing:
            raise ValueError(f"target instalment_flows needs columns {missing}")
        if ("period" in cols) == bool({"period_no", "periods"} & cols):
            raise ValueError("map either 'period' (one k/n column) or both 'period_no' and 'periods'")
        if "period" not in cols and not {"period_no", "periods"} <= cols:
            raise ValueError("map both 'period_no' and 'periods' (or one 'period' column written k/n)")
        # a merchant number may be a constant (one export per merchant number: its title line or file name)
        if self.type.rule != "constant" or set(self.constants) - {"merchant_id"} or self.totals and any(
                t.scope != "all" for t in self.totals):
            raise ValueError("instalment flows take no type rule, constants but merchant_id or payment/refund "
                             "totals scopes")
        return self

    @property
    def path(self) -> str:
        """File the profile was loaded from ('' when built in code)."""
        return self._path

    @property
    def kind(self) -> str:
        """ParsedBill.kind for bills parsed with this profile."""
        return f"profile:{self.name}"

    def header_cells(self) -> list[str | list[str]]:
        """Cells that identify the header row (``file.header_contains``, else ``sniff.headers``)."""
        return self.file.header_contains or self.sniff_rules.headers

    def sniff(self, head: str) -> bool:
        """True when the decoded first lines ``head`` look like this profile's export."""
        spec = self.sniff_rules
        if spec.regex and not re.search(spec.regex, head, re.MULTILINE):
            return False
        if not spec.headers:
            return True
        lines = head.splitlines()
        return any(find_header_line(lines, spec.headers, d) is not None for d in self.delimiters())

    def delimiters(self) -> list[str]:
        """``file.delimiter`` then ``file.alt_delimiters``."""
        return [self.file.delimiter, *[d for d in self.file.alt_delimiters if d != self.file.delimiter]]

    def as_xlsx(self) -> Profile:
        """This CSV profile reading the same table from an Excel workbook (first sheet, or
        ``file.sheet``): consoles offer both downloads of one export. Title lines, trailer,
        constants and totals work as in the CSV (a row's cells joined with commas)."""
        if self.file.type == "xlsx":
            return self
        twin = self.model_copy(update={"file": self.file.model_copy(update={"type": "xlsx", "delimiter": ",",
                                                                           "alt_delimiters": []})})
        twin._path = self._path
        return twin

    def for_lines(self, lines: list[str]) -> Profile:
        """This profile with the delimiter that splits out the header row of ``lines`` (itself
        when it has no alternatives or none does)."""
        wanted = self.header_cells()
        if not self.file.alt_delimiters or not wanted:
            return self
        for d in self.delimiters():
            if find_header_line(lines, wanted, d, start=self.file.skip_lines) is not None:
                if d == self.file.delimiter:
                    return self
                resolved = self.model_copy(update={"file": self.file.model_copy(update={"delimiter": d})})
                resolved._path = self._path
                return resolved
        return self

    def parse(self, data: bytes, source: str) -> ParsedBill:
        """Same as ``parse_with_profile(self, data, source)`` (the detection ``Parser`` contract).

        An instalment-flow profile raises LoadError: its rows are not transactions (a flow export
        found among the bills is set aside with a message saying where it belongs).
        """
        if self.target == "instalment_flows":
            raise LoadError([Problem(source, None, None, None,
                                     f"an instalment-flow export ({self.name}), not a transactions bill")],
                            hint="pass it to reconcile with --instalments")
        return parse_with_profile(self, data, source)

    def parse_flows(self, data: bytes, source: str):
        """Same as ``instalments.flows.parse_flows_with_profile(self, data, source)``."""
        from paymatch.instalments.flows import parse_flows_with_profile

        return parse_flows_with_profile(self, data, source)


def header_key(name: str) -> str:
    """How a column name is compared: NFKC (full-width ``（元）`` is ``(元)``), no blanks, case-folded.

    Exports of one channel differ in exactly these ways (console vs API, Excel re-saves, English
    headers), so a profile naming ``交易金额(元)`` also finds ``交易金额（元）`` and ``交易金额 (元)``.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).strip('`"\ufeff').casefold()


def _cells(line: str, delimiter: str) -> set[str]:
    return {header_key(c) for c in line.split(delimiter)}


def find_header_line(lines: list[str], wanted: list[str | list[str]], delimiter: str, start: int = 0) -> int | None:
    """Index of the first line (from ``start``) whose cells include every name in ``wanted``
    (an entry that is a list is satisfied by any one of its names); names compare by ``header_key``."""
    need = [{header_key(w)} if isinstance(w, str) else {header_key(n) for n in w} for w in wanted]
    for i in range(start, len(lines)):
        cells = _cells(lines[i], delimiter)
        if all(alts & cells for alts in need):
            return i
    return None


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def load_profile(path: str | Path) -> Profile:
    """Load and validate one YAML profile; a bad file raises ``ConfigError`` naming file and key."""
    from ..config_lines import at, error_line, safe_load, yaml_key_line

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read profile: {exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:  # (a profile saved as GBK: was named without its line)
        from ..sources.textfile import _undecodable

        line, what = _undecodable(data, "utf-8")
        raise ConfigError(f"{path}:{line}: cannot read profile: not UTF-8 text ({what})\nHint: save the profile as "
                          "UTF-8 (YAML files are UTF-8)") from None
    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:  # (a syntax error, a key given twice, an anchor bomb: by line)
        line, shown = error_line(text, exc)
        raise ConfigError(f"{at(path, line)}: cannot read profile: not valid YAML: {exc}{shown}") from exc
    except RecursionError:  # (lists inside lists a thousand deep: PyYAML recurses; was a traceback, helper-113)
        raise ConfigError(f"{path}: cannot read profile: values nested too deeply") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a profile must be a mapping of keys, got {type(raw).__name__}")
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        details = "; ".join(f"key '{_where(e['loc'])}': {e['msg']}" for e in errors)
        # the first error's line that the file has (a required key left out has none: a typo of it is there)
        line = next((n for n in (yaml_key_line(text, e["loc"]) for e in errors) if n), None)
        raise ConfigError(f"{at(path, line)}: invalid profile: {details}") from exc
    profile._path = str(path)
    return profile


def load_profile_dir(folder: str | Path) -> list[Profile]:
    """Every ``*.yaml``/``*.yml`` profile in ``folder`` (sorted by file name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: profile folder not found")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [load_profile(f) for f in files]


@lru_cache(maxsize=1)
def _builtin() -> tuple[Profile, ...]:
    root = resources.files("paymatch") / "profiles"
    profiles = [load_profile(Path(str(root / f.name))) for f in sorted(root.iterdir(), key=lambda f: f.name)
                if f.name.endswith(".yaml")]
    names = [p.name for p in profiles]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"builtin profiles: duplicate names {sorted(dupes)}")
    return tuple(profiles)


def builtin_profiles() -> list[Profile]:
    """The transaction profiles shipped in ``paymatch/profiles/*.yaml`` (validated once, then cached).

    Instalment-flow profiles are not among them: see ``builtin_flow_profiles``.
    """
    return [p for p in _builtin() if p.target == "transactions"]


def builtin_flow_profiles() -> list[Profile]:
    """The shipped ``target: instalment_flows`` profiles (per-period instalment exports)."""
    return [p for p in _builtin() if p.target == "instalment_flows"]


def builtin_sample(profile: Profile) -> Path:
    """Path of the sample export shipped for a builtin profile (``profiles/samples/<name>.*``)."""
    root = Path(str(resources.files("paymatch") / "profiles" / "samples"))
    hits = sorted(root.glob(f"{profile.name}.*"))
    if not hits:
        raise FileNotFoundError(f"no sample for profile {profile.name} in {root}")
    return hits[0]


def parse_with_profile(profile: Profile, data: bytes, source: str) -> ParsedBill:
    """Parse one export with ``profile`` into a ``ParsedBill`` (vectorised; all bad values in one
    ``LoadError`` with file, physical line, column, value and reason; totals tied out)."""
    from paymatch.channels.profile_read import read_raw
    from paymatch.channels.profile_sql import transform

    if profile.target != "transactions":
        raise ValueError(f"profile {profile.name} yields {profile.target}: use Profile.parse_flows")
    raw = read_raw(profile, data, source)
    table, bill_date, totals = transform(profile, raw, source)
    return ParsedBill(
        channel=profile.channel,
        kind=profile.kind,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        bill_date=bill_date,
        transactions=table,
        totals=totals,
    )

