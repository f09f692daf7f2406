"""WeChat Pay merchant account settings; secrets come from files or the environment, never logs.

A config file section (``[channels.wechat]`` or one entry of a list of accounts) names *where*
the secrets are, not the secrets themselves::

    mchid = "1900000109"
    merchant_serial_no = "5157F09EFDC096DE15EBE81A47057A72"
    merchant_private_key_file = "keys/apiclient_key.pem"
    platform_key_file = "keys/pub_key.pem"          # platform public key or platform certificate
    platform_key_id = "PUB_KEY_ID_0114232134912410000000000000"
    apiv3_key_env = "PAYMATCH_WECHAT_APIV3_KEY"     # or apiv3_key_file
    base_url = "https://api.mch.weixin.qq.com"     # optional; a local server in tests

A merchant still in platform-certificate mode (平台证书) may name a folder instead of (or beside) the platform key:
``paymatch wechat-certs`` downloads WeChat's platform certificates into it, and answers and notifications are
checked with the certificate their Wechatpay-Serial names::

    platform_cert_dir = "keys/wechatpay_certs"     # <SERIAL>.pem files, kept current by paymatch wechat-certs

A service provider (服务商) lists the sub-merchants (特约商户) whose bills ``pull`` fetches, by number or by store::

    sub_mchids = ["1900000201", "1900000202"]
    sub_merchants = { S001 = "1900000201", S002 = "1900000201", S003 = "1900000203" }   # store -> 特约商户号
    sub_merchant_fundflow = true     # also 申请单个子商户资金账单 (needs the 下载二级商户资金账单 product permission)
    own_bills = ["fundflowbill"]     # the provider's own bills too (the default); [] for none, or add "tradebill"

``own_bills``: the provider's own fund-flow bill (/v3/bill/fundflowbill, its own account: commission rebates (返佣),
profit-sharing receipts) is what nothing else pulls, so it is pulled unless left out; its trade bill without
``sub_mchid`` is not its own sales but the full bill of *all* its sub-merchants (申请交易账单: "不填则返回服务商下所有子商户的
全量账单"; the only way to 小微商户 rows), the listed sub-merchants' rows again: pulled only when named.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from paymatch.errors import ConfigError

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
#: the provider's own bills ``own_bills`` may name (the kinds ``pull`` reports them as)
OWN_BILLS = ("tradebill", "fundflowbill")


@dataclass(frozen=True)
class WechatPayConfig:
    """One WeChat Pay merchant account (secrets are excluded from repr so they are never logged).

    mchid: merchant number (商户号). merchant_serial_no: serial of the merchant API certificate.
    merchant_private_key_pem: apiclient_key.pem text. platform_key_pem: WeChat Pay platform public
    key or platform certificate (PEM). platform_key_id: 'PUB_KEY_ID_...' or the certificate serial.
    apiv3_key: the 32-byte APIv3 key (decrypts notifications). timeout: seconds per request.
    retries: extra attempts after the first; backoff_base/backoff_max: seconds for the exponential
    wait between attempts. sub_mchids / sub_merchant_fundflow: service-provider mode (module docstring).
    """

    mchid: str
    merchant_serial_no: str
    merchant_private_key_pem: str = field(repr=False)
    platform_key_pem: str = field(default="", repr=False)
    platform_key_id: str = ""
    apiv3_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    #: a second platform key while WeChat switches the account from the platform certificate to the WeChat Pay
    #: public key: for a while it signs with either (answers and notifications), so both verify
    switch_platform_key_pem: str = field(default="", repr=False)
    switch_platform_key_id: str = ""
    #: service-provider mode (服务商): the sub-merchants (特约商户号) whose trade bill (``sub_mchid`` on
    #: /v3/bill/tradebill) and fund-flow bill (/v3/bill/sub-merchant-fundflowbill) ``pull`` fetches, each on its own
    sub_mchids: tuple[str, ...] = ()
    #: whether ``pull`` also asks for each sub-merchant's fund-flow bill (a provider without the product permission
    #: 下载二级商户资金账单 would see it refused every day)
    sub_merchant_fundflow: bool = True
    #: service-provider mode: which of the provider's own bills ``pull`` fetches besides the sub-merchants' ones,
    #: stored under ``mchid`` ('tradebill': the full bill of all sub-merchants; 'fundflowbill': the provider's own
    #: account; module docstring). Without sub-merchants an account pulls both, always
    own_bills: tuple[str, ...] = ("fundflowbill",)
    #: the folder of platform certificates (平台证书) ``paymatch wechat-certs`` keeps current (an absolute path);
    #: empty: the platform key above is the only one
    platform_cert_dir: str = ""
    timeout: float = 30.0
    retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 30.0

    def platform_keys(self) -> dict[str, str]:
        """Serial -> PEM of the keys WeChat may sign this account's answers and notifications with (the platform
        key, and during a switch to the WeChat Pay public key the other one too)."""
        keys = {self.platform_key_id: self.platform_key_pem} if self.platform_key_id else {}
        if self.switch_platform_key_id:
            keys[self.switch_platform_key_id] = self.switch_platform_key_pem
        return keys

    def cert_folder(self):
        """The account's ``PlatformCertFolder`` (None without ``platform_cert_dir``)."""
        from paymatch.channels.wechat.keys import PlatformCertFolder

        return PlatformCertFolder(self.platform_cert_dir, self.mchid) if self.platform_cert_dir else None

    @classmethod
    def from_section(cls, section: Mapping[str, Any], *, where: str = "channels.wechat",
                     base_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> WechatPayConfig:
        """Build from a config-file section (see module docstring); ``*_file`` paths are relative to
        ``base_dir``; ConfigError names ``where`` and the key on any problem."""
        env = os.environ if env is None else env
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        # the platform key / certificate errors also say which merchant number (a list of accounts)
        acct = f"{where} (account {section['mchid']})" if isinstance(section.get("mchid"), str) else where
        known = {"mchid", "merchant_serial_no", "merchant_private_key_file", "merchant_private_key_env",
                 "platform_key_file", "platform_key_env", "platform_key_id", "apiv3_key_file", "apiv3_key_env",
                 "base_url", "timeout", "retries", "backoff_base", "backoff_max",
                 "switch_platform_key_file", "switch_platform_key_env", "switch_platform_key_id",
                 "sub_mchids", "sub_merchants", "sub_merchant_fundflow", "own_bills", "platform_cert_dir"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}")

        def plain(key: str) -> str:
            value = section.get(key)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: key '{key}' must be a non-empty string")
            return value

        def secret(name: str, required: bool = True) -> str:
            if path := section.get(f"{name}_file"):
                return _read(base / path, f"{where}.{name}_file")
            if var := section.get(f"{name}_env"):
                if value := env.get(var):
                    return value
                raise ConfigError(f"{where}: environment variable {var} ({name}_env) is not set")
            if required:
                raise ConfigError(f"{where}: set '{name}_file' or '{name}_env'")
            return ""

        opts: dict[str, Any] = {k: section[k] for k in ("base_url", "timeout", "retries", "backoff_base",
                                                         "backoff_max") if k in section}
        subs = _sub_mchids(section, where)
        if subs:
            opts["sub_mchids"] = subs
        if "sub_merchant_fundflow" in section:
            if not isinstance(section["sub_merchant_fundflow"], bool):
                raise ConfigError(f"{where}: key 'sub_merchant_fundflow' must be true or false")
            if not subs:
                raise ConfigError(f"{where}: key 'sub_merchant_fundflow' needs 'sub_mchids' or 'sub_merchants' "
                                  "(service-provider mode)")
            opts["sub_merchant_fundflow"] = section["sub_merchant_fundflow"]
        if "own_bills" in section:
            opts["own_bills"] = _own_bills(section["own_bills"], where, bool(subs))
        if any(k.startswith("switch_platform_key") for k in section):
            opts["switch_platform_key_pem"] = secret("switch_platform_key")
            opts["switch_platform_key_id"] = plain("switch_platform_key_id")
        mchid, serial, private = plain("mchid"), plain("merchant_serial_no"), secret("merchant_private_key")
        if "platform_cert_dir" in section:
            opts["platform_cert_dir"] = _cert_dir(section["platform_cert_dir"], base, acct)
        platform_key = any(k in section for k in ("platform_key_file", "platform_key_env", "platform_key_id"))
        if not platform_key and "platform_cert_dir" not in section:
            raise ConfigError(f"{acct}: set 'platform_key_file' or 'platform_key_env' with 'platform_key_id' (the "
                              "WeChat Pay public key), or 'platform_cert_dir' (platform certificates downloaded by "
                              "paymatch wechat-certs)")
        if platform_key and "platform_cert_dir" in section and "platform_key_id" not in section:
            raise ConfigError(f"{acct}: key 'platform_key_id' must be a non-empty string (it names the key of "
                              "platform_key_file|_env; or leave the platform key out: platform_cert_dir is enough)")
        pem, key_id = (secret("platform_key"), plain("platform_key_id")) if platform_key else ("", "")
        if "apiv3_key_file" not in section and "apiv3_key_env" not in section and "platform_cert_dir" in section:
            raise ConfigError(f"{acct}: set 'apiv3_key_file' or 'apiv3_key_env': platform_cert_dir needs the APIv3 "
                              "key (WeChat sends its platform certificates encrypted with it)")
        return cls(mchid, serial, private, pem, key_id, secret("apiv3_key", required=False), **opts)

    @classmethod
    def from_env(cls, prefix: str = "PAYMATCH_WECHAT_", env: Mapping[str, str] | None = None, **kw) -> WechatPayConfig:
        """Build from <prefix>MCHID, MERCHANT_SERIAL_NO, PLATFORM_KEY_ID and the secrets
        MERCHANT_PRIVATE_KEY, PLATFORM_KEY, APIV3_KEY (each also as <name>_FILE)."""
        env = os.environ if env is None else env
        section: dict[str, Any] = {}
        for name in ("MCHID", "MERCHANT_SERIAL_NO", "PLATFORM_KEY_ID"):
            section[name.lower()] = env.get(prefix + name, "")
        for name in ("MERCHANT_PRIVATE_KEY", "PLATFORM_KEY", "APIV3_KEY"):
            if env.get(prefix + name):
                section[name.lower() + "_env"] = prefix + name
            elif env.get(prefix + name + "_FILE"):
                section[name.lower() + "_file"] = env[prefix + name + "_FILE"]
        section.update(kw)
        return cls.from_section(section, where=f"environment ({prefix}*)", env=env)


def _sub_mchids(section: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """The sub-merchant numbers of ``sub_mchids`` (a list) and ``sub_merchants`` (store -> number), each once, in
    the order written; a 特约商户号 is digits (WeChat: string(12)), a typo caught here, not as a daily 4xx."""
    out: dict[str, None] = {}
    if "sub_mchids" in section:
        subs = section["sub_mchids"]
        if not isinstance(subs, list) or not subs:
            raise ConfigError(f"{where}: key 'sub_mchids' must be a non-empty list of sub-merchant numbers "
                              '(特约商户号), e.g. ["1900000201"]')
        for i, sub in enumerate(subs):
            if not (isinstance(sub, str) and sub.isdigit() and sub.isascii()):
                raise ConfigError(f"{where}: key 'sub_mchids' item {i + 1} {sub!r} is not a sub-merchant number "
                                  "(digits, as a string)")
            if sub in out:
                raise ConfigError(f"{where}: key 'sub_mchids' names {sub} twice")
            out[sub] = None
    if "sub_merchants" in section:
        stores = section["sub_merchants"]
        if not isinstance(stores, dict) or not stores:
            raise ConfigError(f"{where}: key 'sub_merchants' must be a table of store = \"特约商户号\", "
                              'e.g. { S001 = "1900000201" }')
        for store, sub in stores.items():
            if not (isinstance(sub, str) and sub.isdigit() and sub.isascii()):
                raise ConfigError(f"{where}: key 'sub_merchants' store {store!r}: {sub!r} is not a sub-merchant "
                                  "number (digits, as a string)")
            out[sub] = None
    return tuple(out)


def _own_bills(value: Any, where: str, provider: bool) -> tuple[str, ...]:
    """``own_bills``: a list of 'tradebill' / 'fundflowbill', each once; only beside sub-merchants (an account
    without them pulls its own bills, both, as it always did)."""
    if not provider:
        raise ConfigError(f"{where}: key 'own_bills' needs 'sub_mchids' or 'sub_merchants' (service-provider mode; "
                          "an account without sub-merchants always pulls its own trade and fund-flow bills)")
    if not isinstance(value, list) or any(v not in OWN_BILLS for v in value) or len(set(value)) != len(value):
        raise ConfigError(f"{where}: key 'own_bills' must be a list of {' / '.join(map(repr, OWN_BILLS))}, each at "
                          f"most once (got {value!r}), e.g. [\"fundflowbill\"] or [] for none")
    return tuple(value)


def _cert_dir(value: Any, base: Path, where: str) -> str:
    """``platform_cert_dir`` as an absolute path (relative to the config file's folder); it may not exist yet
    (``paymatch wechat-certs`` creates it), but must not be a file."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: key 'platform_cert_dir' must be a folder path (a non-empty string), e.g. "
                          '"keys/wechatpay_certs"')
    path = (base / value).absolute()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{where}: key 'platform_cert_dir': {path} is a file, not a folder")
    return str(path)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="ascii").strip()  # a trailing newline is no part of a key
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what}: cannot read {path} ({exc.__class__.__name__})") from None
