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
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from paymatch.errors import ConfigError

DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"


@dataclass(frozen=True)
class WechatPayConfig:
    """One WeChat Pay merchant account (secrets are excluded from repr so they are never logged).

    mchid: merchant number (商户号). merchant_serial_no: serial of the merchant API certificate.
    merchant_private_key_pem: apiclient_key.pem text. platform_key_pem: WeChat Pay platform public
    key or platform certificate (PEM). platform_key_id: 'PUB_KEY_ID_...' or the certificate serial.
    apiv3_key: the 32-byte APIv3 key (decrypts notifications). timeout: seconds per request.
    retries: extra attempts after the first; backoff_base/backoff_max: seconds for the exponential
    wait between attempts.
    """

    mchid: str
    merchant_serial_no: str
    merchant_private_key_pem: str = field(repr=False)
    platform_key_pem: str = field(repr=False)
    platform_key_id: str
    apiv3_key: str = field(default="", repr=False)
    base_url: str = DEFAULT_BASE_URL
    #: a second platform key while WeChat switches the account from the platform certificate to the WeChat Pay
    #: public key: for a while it signs with either (answers and notifications), so both verify
    switch_platform_key_pem: str = field(default="", repr=False)
    switch_platform_key_id: str = ""
    timeout: float = 30.0
    retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 30.0

    def platform_keys(self) -> dict[str, str]:
        """Serial -> PEM of the keys WeChat may sign this account's answers and notifications with (the platform
        key, and during a switch to the WeChat Pay public key the other one too)."""
        keys = {self.platform_key_id: self.platform_key_pem}
        if self.switch_platform_key_id:
            keys[self.switch_platform_key_id] = self.switch_platform_key_pem
        return keys

    @classmethod
    def from_section(cls, section: Mapping[str, Any], *, where: str = "channels.wechat",
                     base_dir: str | Path | None = None, env: Mapping[str, str] | None = None) -> WechatPayConfig:
        """Build from a config-file section (see module docstring); ``*_file`` paths are relative to
        ``base_dir``; ConfigError names ``where`` and the key on any problem."""
        env = os.environ if env is None else env
        base = Path(base_dir) if base_dir is not None else Path.cwd()
        known = {"mchid", "merchant_serial_no", "merchant_private_key_file", "merchant_private_key_env",
                 "platform_key_file", "platform_key_env", "platform_key_id", "apiv3_key_file", "apiv3_key_env",
                 "base_url", "timeout", "retries", "backoff_base", "backoff_max",
                 "switch_platform_key_file", "switch_platform_key_env", "switch_platform_key_id"}
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
        if any(k.startswith("switch_platform_key") for k in section):
            opts["switch_platform_key_pem"] = secret("switch_platform_key")
            opts["switch_platform_key_id"] = plain("switch_platform_key_id")
        return cls(plain("mchid"), plain("merchant_serial_no"), secret("merchant_private_key"),
                   secret("platform_key"), plain("platform_key_id"), secret("apiv3_key", required=False), **opts)

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


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="ascii").strip()  # a trailing newline is no part of a key
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what}: cannot read {path} ({exc.__class__.__name__})") from None
