"""Channel merchant accounts from the config file's ``[channels.*]`` sections.

``[channels.wechat]`` (or ``[[channels.wechat]]`` for several merchant numbers) takes the keys of
``WechatPayConfig.from_section``; ``[channels.alipay]`` takes app_id, app_private_key_file|_env,
alipay_public_key_file|_env, gateway_url, timeout, retries, backoff, seller_id, bill_types (the
bills ``pull`` downloads: a list of "trade" (业务明细, the default) and "signcustomer" (账务明细)); an app in
public-key-certificate mode names app_cert_file|_env, alipay_cert_file|_env and alipay_root_cert_file|_env instead of
alipay_public_key_file|_env (``AlipayConfig``); a third-party app pulling for a merchant that authorised it names
app_auth_token_file|_env and that merchant's seller_id (its PID: the account's label); an older app that signs with
SHA1withRSA says sign_type = "RSA" (default "RSA2"); ``[channels.unionpay]`` takes mer_id, pfx_file,
pfx_password_file|_env, root_cert_file, middle_cert_file, base_url, timeout, retries, backoff
(``UnionPayConfig.from_section``). Key files are relative to the config file's folder; secrets are never logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import Config
from .errors import ConfigError

PULLABLE = ("wechat", "alipay", "unionpay")


@dataclass(frozen=True)
class Account:
    """One configured merchant account: channel, a label (merchant number / app id) and its config object."""

    channel: str
    label: str
    config: Any


def _sections(value: Any, where: str) -> list[dict]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return value
    raise ConfigError(f"{where}: must be a table or a list of tables")


def _alipay(section: dict, where: str, base: Path):
    from .channels.alipay.config import BILL_TYPES, AlipayConfig

    known = {"app_id", "app_private_key_file", "app_private_key_env", "alipay_public_key_file",
             "alipay_public_key_env", "gateway_url", "timeout", "retries", "backoff", "seller_id", "bill_types",
             "app_cert_file", "app_cert_env", "alipay_cert_file", "alipay_cert_env", "alipay_root_cert_file",
             "alipay_root_cert_env", "app_auth_token_file", "app_auth_token_env", "sign_type"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}")

    def secret(name: str, required: bool = True) -> str:
        if path := section.get(f"{name}_file"):
            try:
                return (base / path).read_text(encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"{where}.{name}_file: cannot read {base / path} ({e.strerror})") from None
        if var := section.get(f"{name}_env"):
            if value := os.environ.get(var):
                return value
            raise ConfigError(f"{where}: environment variable {var} ({name}_env) is not set")
        if not required:
            return ""
        raise ConfigError(f"{where}: set '{name}_file' or '{name}_env'")

    if not isinstance(section.get("app_id"), str) or not section["app_id"]:
        raise ConfigError(f"{where}: key 'app_id' must be a non-empty string")
    opts = {k: section[k] for k in ("gateway_url", "timeout", "retries", "backoff", "seller_id", "sign_type")
            if k in section}
    if "seller_id" in section and not (isinstance(section["seller_id"], str) and section["seller_id"]):
        raise ConfigError(f"{where}: key 'seller_id' must be the merchant's PID as a string, e.g. \"2088000000000011\"")
    if "bill_types" in section:
        types = section["bill_types"]
        if (not isinstance(types, list) or not types or not all(isinstance(t, str) and t in BILL_TYPES for t in types)
                or len(set(types)) != len(types)):
            raise ConfigError(f"{where}.bill_types: must be a list of distinct values of "
                              f"{', '.join(repr(t) for t in BILL_TYPES)}, got {types!r}\n"
                              'Hint: bill_types = ["trade"] (业务明细) or ["trade", "signcustomer"] (also 账务明细)')
        opts["bill_types"] = tuple(types)
    certs = {k: secret(k, required=False) for k in ("app_cert", "alipay_cert", "alipay_root_cert")}
    if "app_auth_token_file" in section or "app_auth_token_env" in section:
        # a third-party app pulling an authorising merchant's bills (a file's trailing newline is no part of it)
        opts["app_auth_token"] = secret("app_auth_token").strip()
        if not opts["app_auth_token"]:
            raise ConfigError(f"{where}: app_auth_token_file|_env gives an empty app_auth_token")
        if not section.get("seller_id"):
            raise ConfigError(f"{where}: key 'seller_id' (the authorising merchant's PID, 2088…) is required with "
                              "app_auth_token_file|_env: the merchant's bills are pulled and stored under it")
    try:
        return AlipayConfig(section["app_id"], secret("app_private_key"),
                            secret("alipay_public_key", required=not certs["alipay_cert"]),
                            **opts, **{f"{k}_pem": v for k, v in certs.items()})
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def accounts(config: Config, config_dir: Path | None, channel: str | None = None) -> list[Account]:
    """Every configured account (of ``channel`` when given); ConfigError when none is configured."""
    base = config_dir or Path.cwd()
    out: list[Account] = []
    for name in PULLABLE:
        if channel and name != channel or name not in config.channels:
            continue
        for i, sec in enumerate(_sections(config.channels[name], f"channels.{name}")):
            where = f"channels.{name}" + (f"[{i}]" if isinstance(config.channels[name], list) else "")
            if name == "wechat":
                from .channels.wechat.config import WechatPayConfig

                cfg = WechatPayConfig.from_section(sec, where=where, base_dir=base)
                out.append(Account("wechat", cfg.mchid, cfg))
            elif name == "unionpay":
                from .channels.unionpay_acp import UnionPayConfig

                cfg = UnionPayConfig.from_section(sec, where=where, base_dir=base)
                out.append(Account("unionpay", cfg.mer_id, cfg))
            else:
                cfg = _alipay(sec, where, base)
                out.append(Account("alipay", cfg.label, cfg))
    if channel and channel not in PULLABLE:
        raise ConfigError(f"bills of '{channel}' cannot be pulled: pull speaks {', '.join(PULLABLE)}'s bill APIs\n"
                          "Hint: download that channel's bill from its console and give it to ingest/reconcile --bills")
    if not out:
        what = f"channel '{channel}'" if channel else "any channel"
        raise ConfigError(f"no account configured for {what}\nHint: add a [channels.{channel or 'wechat'}] "
                          "section to the config file (see config.example.toml)")
    return out
