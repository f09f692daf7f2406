"""Rules as data: tolerances, grouping, method→channel mapping, report thresholds.

Loaded from TOML or YAML (by extension) into a pydantic model; unknown keys and bad values
raise ``ConfigError`` naming the file and the key path. Sections owned by channel, instalment
and credit modules are validated by those modules' own models when they are used.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from .engine.params import SETTLE_BASED as _SETTLE_BASED
from .errors import ConfigError
from .sources.specs import SPECS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_for_a_number(cls, v: Any, info: ValidationInfo) -> Any:
        """``amount_tolerance_fen = true`` was read as 1 fen (pydantic takes a bool for an int): a number key given
        true/false is refused naming the key (and so its line: a field's own error)."""
        f = cls.model_fields.get(info.field_name or "")
        if isinstance(v, bool) and f is not None and _number_types(f.annotation):
            raise ValueError(f"{f.alias or info.field_name} = {str(v).lower()}: a number is expected, not true/false")
        return v


def _number_types(annotation: Any) -> bool:
    """Whether ``annotation`` (``int``, ``int | None`` …) takes a number and not a bool; a key that also takes text
    (a rate: ``str | float | int``) refuses a bool with its own words."""
    import typing

    args = typing.get_args(annotation) or (annotation,)
    return bool not in args and str not in args and any(a in (int, float, Decimal) for a in args)


#: ten years: a larger max_time_gap_minutes (9223372036854775807) was a traceback (OverflowError) in the run
MAX_TIME_GAP_MINUTES = 10 * 366 * 24 * 60


class MatchRules(_Strict):
    """How orders and channel records are paired and compared."""

    amount_tolerance_fen: int = Field(0, ge=0, description="|channel - order| ≤ this counts as equal")
    cross_day_grace_minutes: int = Field(10, ge=0, le=24 * 60, description="paid this close to the window end → pending_cross_day")
    key_scope: list[Literal["merchant_id"]] = Field(
        default_factory=list,
        description="extra key columns besides order_no/refund_no: ['merchant_id'] when order numbers are unique only per merchant number (and refund numbers, for refund rows that name their merchant_id)",
    )
    max_time_gap_minutes: int = Field(
        1440, ge=0, le=MAX_TIME_GAP_MINUTES,
        description="a payment booked by the channel more than this many minutes before or after the order's paid "
                    "time is time_mismatch (an order number reused, a stale payment); 0 turns the check off",
    )
    compare_merchant: bool = Field(
        True,
        description="an order paid into another merchant number than the order names is merchant_mismatch "
                    "(收款商户号不符); false when the shop's merchant_id is not the channel's merchant number",
    )


def _rate_fraction(text: str) -> Decimal:
    """A rate as written ("0.6%", "0.006") as an exact fraction; InvalidOperation when it is none."""
    return Decimal(text[:-1].strip()) / 100 if text.endswith("%") else Decimal(text)


class FeeRate(_Strict):
    """One contracted fee rate (费率) and the channel records it applies to.

    channel: the record's channel (wechat, alipay, unionpay…); merchant_id / method: only records of that merchant
    number / payment method (e.g. huabei through alipay); unset: any. The most specific rule wins (merchant and
    method, then merchant, then method, then the channel alone). rate: "0.6%" or a fraction (0.006), exact to
    0.0001 %. The expected fee is rate × ``base``: "auto" (default) the settlement amount on wechat and alipay
    records (WeChat 应结订单金额, Alipay 商家实收: before the fee, smaller by the coupons the merchant funds; the
    amount when a record has none) and the amount elsewhere (UnionPay's 结算金额 is net of the fee); "settle" or
    "amount" say so for any channel. Rounded to the fen by ``rounding`` and capped at ``cap_fen`` (封顶, e.g. a debit
    card's 2000 = 20.00).
    """

    channel: str = Field(min_length=1)
    merchant_id: str | None = Field(None, min_length=1)
    method: str | None = Field(None, min_length=1)
    rate: str | float | int
    cap_fen: int | None = Field(None, ge=0, le=10**12)  # at most 10 billion yuan: (cap + 1) × 10⁶ stays in 64 bits
    rounding: Literal["half_up", "down", "up"] = "half_up"
    base: Literal["auto", "settle", "amount"] = "auto"

    @field_validator("channel", "method", "merchant_id")
    @classmethod
    def _fold(cls, v: str | None, info) -> str | None:
        if v is None:
            return None
        if not v.strip():
            raise ValueError("blank: name the channel" if info.field_name == "channel"
                             else "blank: name one, or leave the key out (any)")
        return v.strip() if info.field_name == "merchant_id" else v.strip().lower()

    @field_validator("rate", mode="before")
    @classmethod
    def _no_bool(cls, v: object) -> object:
        if isinstance(v, bool):  # before pydantic reads false as 0.0: a rate of 0 % would flag every charged fee
            raise ValueError(f"{str(v).lower()} is not a rate (write \"0.6%\" or 0.006)")
        return v

    @field_validator("rate")
    @classmethod
    def _exact_rate(cls, v: str | float | int) -> str:
        text = str(v).strip()
        try:
            d = _rate_fraction(text)
        except InvalidOperation:
            d = Decimal("NaN")
        if not d.is_finite():
            raise ValueError(f"{text!r} is not a rate (write \"0.6%\" or 0.006)")
        if d < 0:
            raise ValueError(f"{text!r}: a rate is at least 0 %")
        if d > Decimal("0.1"):  # 0.6 meant as 0.6 % would be read as 60 %: no payment channel charges that
            raise ValueError(f"{text!r} is more than 10 %: write a percentage with its sign (\"0.6%\") or a "
                             "fraction (0.006)")
        if (d * 1_000_000) % 1:
            raise ValueError(f"{text!r}: a rate is exact to 0.0001 % (e.g. 0.3845%)")
        return text

    @property
    def ppm(self) -> int:
        """The rate in millionths (0.6 % = 6000)."""
        return int(_rate_fraction(str(self.rate)) * 1_000_000)

    @property
    def round_add(self) -> int:
        """What ``(base × ppm + round_add) // 1,000,000`` adds to round as ``rounding`` says."""
        return {"half_up": 500_000, "down": 0, "up": 999_999}[self.rounding]

    @property
    def on_amount(self) -> bool:
        """Whether the fee is charged on the record's amount (else on its settlement amount)."""
        return self.base == "amount" or (self.base == "auto" and self.channel not in SETTLE_BASED)


#: channels whose records' settlement amount is what the fee is charged on (before the fee): ``FeeRate.base`` "auto"
SETTLE_BASED = _SETTLE_BASED


class FeeRules(_Strict):
    """Contracted fee rates (手续费): a successful channel payment whose fee is not its rate's is fee_mismatch
    (手续费不符). No rates (the default): fees are kept, never checked. Refunds' returned fees are not checked."""

    tolerance_fen: int = Field(0, ge=0, description="|channel fee - expected fee| ≤ this counts as equal")
    rates: list[FeeRate] = Field(default_factory=list)

    @field_validator("rates")
    @classmethod
    def _one_rule_each(cls, v: list[FeeRate]) -> list[FeeRate]:
        seen: set[tuple] = set()
        for i, r in enumerate(v):
            key = (r.channel, r.merchant_id, r.method)
            if key in seen:
                who = ", ".join(f"{k} = {x!r}" for k, x in zip(("channel", "merchant_id", "method"), key) if x)
                raise ValueError(f"rates[{i}]: a second rate for {who}: which one applies would be a guess")
            seen.add(key)
        return v


DEFAULT_SETTLE_CHANNEL = {
    "wechat": "wechat", "alipay": "alipay", "huabei": "alipay", "unionpay": "unionpay",
    "cloud_quickpass": "unionpay", "bank_card": "unionpay", "baitiao": "jd_baitiao", "jd_pay": "jd_pay",
    "douyin_pay": "douyin_pay", "meituan": "meituan", "digital_rmb": "digital_rmb",
    # a store POS terminal's card payments are on its acquirer's bill (the built-in POS profiles' channel): they clear
    # through UnionPay as the online card payments do, so a bank_card order's record may be on either bill (helper-117)
    "bank_card_pos": "unionpay",
}
DEFAULT_INTERNAL = ["balance", "points", "gift_card", "coupon_only"]


class MethodRules(_Strict):
    """Payment methods: which channel's records settle each, and which are internal (no external record).

    A config's entries are added to the defaults (and override a default for the same method): a table naming
    one new method keeps every other method's rule, instead of leaving wechat, alipay… without one."""

    settle_channel: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SETTLE_CHANNEL))
    internal: list[str] = Field(default_factory=lambda: list(DEFAULT_INTERNAL))

    # loaded files store channel and method names lower-case, so the rules are read the same way
    @model_validator(mode="before")
    @classmethod
    def _with_defaults(cls, data: Any) -> Any:
        """The config's entries over the defaults; a method the config settles through a channel is not
        internal unless the config says so itself (a default internal method can be given a channel)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        given = data.get("settle_channel", {})
        user_internal = data.get("internal", [])
        if isinstance(given, dict) and isinstance(user_internal, list) and all(isinstance(m, str) for m in user_internal):
            named = {str(k).strip().lower() for k in given}
            data["settle_channel"] = {**DEFAULT_SETTLE_CHANNEL, **given}
            data["internal"] = [*(m for m in DEFAULT_INTERNAL if m not in named), *user_internal]
        return data

    @field_validator("settle_channel")
    @classmethod
    def _fold_map(cls, v: dict[str, str]) -> dict[str, str]:
        # (wechat = "" was taken: every wechat order then expected a channel no record has, silently; helper-112)
        blank = next((k for k, c in v.items() if not k.strip() or not c.strip()), None)
        if blank is not None:
            raise ValueError(f"method {blank!r}: blank method or channel name (name the channel whose records "
                             "settle it, or list the method under internal)")
        return {k.strip().lower(): c.strip().lower() for k, c in v.items()}

    @field_validator("internal")
    @classmethod
    def _fold_list(cls, v: list[str]) -> list[str]:
        if any(not m.strip() for m in v):
            raise ValueError("a blank method name")
        return list(dict.fromkeys(m.strip().lower() for m in v))


class AnomalyRules(_Strict):
    """Thresholds for the anomaly board (reports)."""

    large_amount_fen: int = Field(500_000, ge=0, description="a single payment at or above this is large")
    large_zscore: float = Field(4.0, gt=0, description="or this many standard deviations above the store's mean")
    refund_count_window_hours: int = Field(24, gt=0)
    refund_count_threshold: int = Field(3, gt=0, description="refunds per member/store within the window")
    repeat_attempts_threshold: int = Field(3, gt=0, description="payment rows per order at or above this")
    night_start_hour: int = Field(0, ge=0, le=23)
    night_end_hour: int = Field(6, ge=0, le=24)
    night_spike_factor: float = Field(3.0, gt=0, description="night payments more than this many times the store's usual")
    night_spike_min_count: int = Field(5, ge=1, description="and at least this many night payments")
    large_zscore_min_sample: int = Field(30, ge=2, description="payments a store needs before z-scores count")
    store_refund_count_threshold: int | None = Field(None, ge=1, description="refunds per store within the window (off when unset)")
    per_store_large_amount_fen: dict[str, int] = Field(default_factory=dict)
    per_channel_large_amount_fen: dict[str, int] = Field(default_factory=dict)


class ReportRules(_Strict):
    """Report dimensions and periods."""

    group_by: list[Literal["merchant_id", "store_id", "channel"]] = Field(default_factory=lambda: ["merchant_id"])
    week_start: Literal["monday"] = "monday"
    lang: Literal["zh", "en"] = "zh"


class SplitTime(_Strict):
    """A time the export writes in two columns, its day and its clock time (支付日期 + 支付时间):
    ``paid_at = { date = "支付日期", time = "支付时间" }`` under ``columns``."""

    date: str = Field(min_length=1)
    time: str = Field(min_length=1)


class InputMapping(_Strict):
    """How a shop's ERP/mall export (CSV or .xlsx) of orders or refunds maps onto the canonical columns.

    columns: canonical column -> the export's header name, or a list of alternative names (the first the
             header has wins); names compare ignoring width, blanks and case. A canonical column not
             listed is looked for under its own name. A time in two columns (day, clock time):
             ``{ date = "…", time = "…" }``.
    amount_unit: "yuan" (default: 12.30) or "fen" (1230: whole numbers only; an API or mall export in 分).
    values:  canonical column -> {export value -> canonical value}; wins over the built-in Chinese words
             (已支付 -> paid, 微信支付 -> wechat, ...). An unknown status or a Chinese payment method
             nobody mapped refuses the file.
    header_line: 1-based line (sheet row) of the header; unset: the first of the first 50 lines that
             holds every configured column.
    delimiter: the CSV field separator. sheet: the .xlsx sheet (default: the first).
    item_rows: the export has one row per item (订单明细), the order (refund) number repeated: its rows are read
             as one order; "sum": each row's amount is its item's, added up; "order": the amount is the
             order's own (repeated, or on the first row only). Unset: one row per order (a repeat is refused).
    """

    kind: ClassVar[str] = ""
    columns: dict[str, str | list[str] | SplitTime] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    header_line: int | None = Field(None, ge=1, le=1000)
    delimiter: str = Field(",", min_length=1, max_length=1)
    sheet: str | None = None
    item_rows: Literal["sum", "order"] | None = None
    amount_unit: Literal["yuan", "fen"] = "yuan"

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, v: dict[str, str | list[str] | SplitTime]) -> dict[str, str | list[str] | SplitTime]:
        _check_fields(cls.kind, v)
        kinds = {f.name: f.kind for f in SPECS[cls.kind]}
        for name, header in v.items():
            if isinstance(header, SplitTime):
                if kinds[name] != "time":
                    raise ValueError(f"column {name!r}: {{ date, time }} is for a time column "
                                     f"({', '.join(n for n, k in kinds.items() if k == 'time')})")
                continue
            names = [header] if isinstance(header, str) else header
            if not names or not all(n.strip() for n in names):
                raise ValueError(f"column {name!r}: give the export's header name (or a list of names)")
        return v

    @field_validator("values")
    @classmethod
    def _known_values(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        _check_fields(cls.kind, v)
        for f in SPECS[cls.kind]:
            bad = [t for t in v.get(f.name, {}).values() if f.values and t.strip().lower() not in f.values]
            if bad:
                raise ValueError(f"values.{f.name}: {bad[0]!r} is not one of {', '.join(f.values)}")
        return v


def _check_fields(kind: str, v: dict) -> None:
    names = [f.name for f in SPECS[kind]]
    unknown = [k for k in v if k not in names]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a canonical {kind} column ({', '.join(names)})")


class OrdersInput(InputMapping):
    """The orders export's mapping (``[inputs.orders]``)."""

    kind: ClassVar[str] = "orders"


class RefundsInput(InputMapping):
    """The refunds export's mapping (``[inputs.refunds]``)."""

    kind: ClassVar[str] = "refunds"


class InputRules(_Strict):
    """Column mappings for the shop's own exports; unset: canonical CSV (or .xlsx) only."""

    orders: OrdersInput | None = None
    refunds: RefundsInput | None = None


class BillRules(_Strict):
    """Channel bills: ``profile_dirs``, folders of the shop's own bill profiles (YAML, as in paymatch/profiles/),
    tried before the built-in ones (so one can also replace a built-in layout)."""

    profile_dirs: list[str] = Field(default_factory=list)


def exchange_dir_problem(value: str) -> str | None:
    """What is wrong with ``value`` as the path of a Spark exchange folder (``[spark] exchange_dir`` or
    ``PAYMATCH_SPARK_EXCHANGE``), or None; whether the folder exists is asked when a run uses it."""
    if "://" in value:
        return (f"{value!r}: a folder path (a shared mount), not a URL: DuckDB writes the selections there and "
                "reads the outcomes back")
    if not Path(value).is_absolute():
        return f"{value!r}: give an absolute path (the executors open it as it is written)"
    return None


class SparkRules(_Strict):
    """Where ``--engine spark`` runs (``[spark]``). master: the Spark master URL (``spark://host:7077``; unset: local
    mode; ``--spark-master``, then ``PAYMATCH_SPARK_MASTER``, win over it). exchange_dir: an absolute path
    of a folder on storage the driver and every executor mount at that same path (NFS…), where each run hands its
    selections over as Parquet in a sub-folder of its own, removed afterwards (``PAYMATCH_SPARK_EXCHANGE`` wins over
    it); unset: the temp folder, which only local mode or a master on 127.0.0.1 may use. conf: extra Spark properties
    (``"spark.executor.memory" = "2g"``)."""

    #: properties the engine's exchange relies on (times cross as naive UTC), or that have a key of their own
    RESERVED: ClassVar[tuple[str, ...]] = ("spark.master", "spark.sql.session.timeZone",
                                           "spark.sql.parquet.inferTimestampNTZ.enabled")

    master: str | None = None
    exchange_dir: str | None = None
    conf: dict[str, str | bool | int] = Field(default_factory=dict)

    @field_validator("master")
    @classmethod
    def _master(cls, v: str | None) -> str | None:
        if v is not None and not (v.strip().startswith("local") or v.strip() == "yarn" or "://" in v):
            raise ValueError(f"{v!r} is not a Spark master URL (spark://host:7077, yarn, k8s://…, local[2])")
        return v.strip() if v is not None else None

    @field_validator("exchange_dir")
    @classmethod
    def _exchange_dir(cls, v: str | None) -> str | None:
        problem = None if v is None else exchange_dir_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("conf")
    @classmethod
    def _conf(cls, v: dict[str, str | bool | int]) -> dict[str, str | bool | int]:
        for k in v:
            if not k.startswith("spark."):
                raise ValueError(f"{k!r} is not a Spark property (they start with \"spark.\")")
            if k in cls.RESERVED:
                own = "use [spark] master" if k == "spark.master" else "the exchange relies on it"
                raise ValueError(f"{k!r} cannot be set here: {own}")
        return v

    def conf_strings(self) -> dict[str, str]:
        """``conf`` as Spark wants it (true/false, numbers as text)."""
        return {k: str(x).lower() if isinstance(x, bool) else str(x) for k, x in self.conf.items()}


class Config(_Strict):
    """The whole configuration file."""

    # Channels report Asia/Shanghai and the workspace works in it (naive times, bill days, the +08:00 in
    # outcomes.csv); other zones are refused rather than half-applied.
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    match: MatchRules = Field(default_factory=MatchRules)
    methods: MethodRules = Field(default_factory=MethodRules)
    report: ReportRules = Field(default_factory=ReportRules)
    anomalies: AnomalyRules = Field(default_factory=AnomalyRules)
    fees: FeeRules = Field(default_factory=FeeRules)
    stores: dict[str, str] = Field(default_factory=dict, description="merchant_id → store_id for channel-only rows")
    inputs: InputRules = Field(default_factory=InputRules)
    bills: BillRules = Field(default_factory=BillRules)
    # where the Spark engine runs, not a rule of the results: left out of the dump that a run's id and config hash hash
    spark: SparkRules = Field(default_factory=SparkRules, exclude=True)
    # Sections validated by their owning modules when used (channel accounts, instalments, credit, alerts).
    channels: dict[str, Any] = Field(default_factory=dict)
    instalments: dict[str, Any] = Field(default_factory=dict)
    credit: dict[str, Any] = Field(default_factory=dict)
    #: the file this config was read from and its text (``where``); None: the defaults
    _origin: tuple[str, str] | None = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        """Equal rules (and Spark settings) are equal configs, wherever each was read from."""
        if not isinstance(other, Config):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # (its tables are dicts: never hashable)

    def where(self, loc: tuple) -> str | None:
        """``file:line`` of the key at ``loc`` in the file this config was loaded from (None: the defaults)."""
        if self._origin is None:
            return None
        from .config_lines import at, key_line

        path, text = self._origin
        return at(path, key_line(text, loc, is_yaml=Path(path).suffix.lower() in (".yaml", ".yml")))

    @field_validator("stores")
    @classmethod
    def _no_blank_store(cls, v: dict[str, str]) -> dict[str, str]:
        # ("1600000001" = "" put that merchant's channel-only rows under no store, silently: helper-107)
        blank = [k for k, s in v.items() if not k.strip() or not s.strip()]
        if blank:
            raise ValueError(f"merchant number {blank[0]!r}: blank merchant number or store id")
        return v


def load_config(path: str | Path | None) -> Config:
    """Load and validate a TOML/YAML config file; ``None`` gives the defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config file ({e.strerror})") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # (a file saved as GBK, "ANSI" on a Chinese Windows): was a traceback
        from .sources.textfile import _undecodable

        line, what = _undecodable(raw, "utf-8")
        raise ConfigError(f"{p}:{line}: not UTF-8 text ({what})\nHint: save the config file as UTF-8 (TOML and "
                          "YAML files are UTF-8)") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            from .config_lines import safe_load

            data = safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        from .config_lines import error_line

        line, shown = error_line(text, e)
        kind = "YAML" if p.suffix.lower() in (".yaml", ".yml") else "TOML"
        raise ConfigError(f"{p}{f':{line}' if line else ''}: not valid {kind}: {e}{shown}") from e
    except RecursionError:  # (a = [[[[…]]]] a thousand deep: both parsers recurse; was a traceback, helper-113)
        raise ConfigError(f"{p}: values nested too deeply to read (lists or tables inside each other hundreds of "
                          "levels deep)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a table/mapping")
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        from .config_lines import at, key_line, named_line

        msgs = []
        is_yaml = p.suffix.lower() in (".yaml", ".yml")
        for err in e.errors():
            key = ".".join(str(x) for x in err["loc"])
            line = ((named_line(text, err["loc"], err["msg"], is_yaml=is_yaml) if err["type"] == "value_error" else None)
                    or key_line(text, err["loc"], is_yaml=is_yaml))
            msgs.append(f"{at(p, line)}: key '{key}': {err['msg']}")
        raise ConfigError("\n".join(msgs) + "\nHint: see config.example.toml for every key and its default.") from e
    cfg._origin = (str(p), text)
    return _with_folders(cfg, p, text)


def _with_folders(cfg: Config, path: Path, text: str) -> Config:
    """The profile folders (``[bills] profile_dirs``, ``[instalments] flow_profile_dirs``) read from the config
    file's folder when relative, as its key files are (they were read from the working directory: a scheduled run
    started elsewhere missed them), and checked now: a folder that is not there is refused naming its line, not
    first noticed when a bill is read."""
    from .config_lines import at, key_line

    def folders(loc: tuple[str, ...], dirs: list) -> list[str]:
        out = []
        for i, d in enumerate(dirs):
            if not isinstance(d, str):  # (flow_profile_dirs' own check names it)
                return dirs
            full = path.absolute().parent / Path(d).expanduser()
            if not full.is_dir():
                line = key_line(text, (*loc, i), is_yaml=path.suffix.lower() in (".yaml", ".yml"))
                raise ConfigError(f"{at(path, line)}: key '{'.'.join(loc)}': folder {d!r} not found ({full}; a "
                                  "relative folder is read from the config file's folder)")
            out.append(str(full))
        return out

    bills = cfg.bills.model_copy(update={"profile_dirs": folders(("bills", "profile_dirs"), cfg.bills.profile_dirs)})
    update: dict[str, Any] = {"bills": bills}
    flows = cfg.instalments.get("flow_profile_dirs")
    if isinstance(flows, list):
        update["instalments"] = {**cfg.instalments,
                                 "flow_profile_dirs": folders(("instalments", "flow_profile_dirs"), flows)}
    return cfg.model_copy(update=update)
