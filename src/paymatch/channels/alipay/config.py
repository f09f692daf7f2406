"""Alipay merchant account settings; key material comes from files or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from paymatch.errors import ConfigError

DEFAULT_GATEWAY = "https://openapi.alipay.com/gateway.do"
#: bill_type values of alipay.data.dataservice.bill.downloadurl.query that paymatch reads
BILL_TYPES = ("trade", "signcustomer")


@dataclass(frozen=True)
class AlipayConfig:
    """One Alipay open-platform app.

    app_id: the app's id. app_private_key_pem: the app's RSA private key (PEM) that signs
    requests. alipay_public_key_pem: Alipay's public key (PEM) that verifies responses and
    notifications. gateway_url: the open-API gateway (a local server in tests). timeout: seconds
    per HTTP request. retries: attempts after the first on transient failures; backoff: first
    wait in seconds, doubled each retry. seller_id: the merchant PID (2088…), checked against
    notifications when set. bill_types: the bills ``paymatch pull`` downloads per day: 'trade'
    (业务明细, transactions) and/or 'signcustomer' (账务明细, the account's money movements, stored
    as fund flows). Keys never appear in repr().
    """

    app_id: str
    app_private_key_pem: str = field(repr=False)
    alipay_public_key_pem: str = field(repr=False)
    gateway_url: str = DEFAULT_GATEWAY
    timeout: float = 15.0
    retries: int = 3
    backoff: float = 1.0
    seller_id: str | None = None
    bill_types: tuple[str, ...] = ("trade",)

    def __post_init__(self) -> None:
        types = (self.bill_types,) if isinstance(self.bill_types, str) else tuple(self.bill_types)
        bad = [t for t in types if t not in BILL_TYPES]
        if bad or not types or len(set(types)) != len(types):
            raise ConfigError(f"alipay app {self.app_id}: bill_types must be distinct values of "
                              f"{list(BILL_TYPES)}, got {list(types)}")
        object.__setattr__(self, "bill_types", types)

    @classmethod
    def from_files(cls, app_id: str, app_private_key_path: str | Path, alipay_public_key_path: str | Path,
                   **kw) -> AlipayConfig:
        """Build a config reading both PEM keys from files (ConfigError naming the file if unreadable)."""
        return cls(app_id, _read(app_private_key_path), _read(alipay_public_key_path), **kw)

    @classmethod
    def from_env(cls, prefix: str = "PAYMATCH_ALIPAY_", **kw) -> AlipayConfig:
        """Build a config from <prefix>APP_ID, <prefix>APP_PRIVATE_KEY(_FILE), <prefix>ALIPAY_PUBLIC_KEY(_FILE)."""

        def secret(name: str) -> str:
            """The value of <prefix><name>, else the content of the file <prefix><name>_FILE names."""
            if value := os.environ.get(prefix + name):
                return value
            if path := os.environ.get(prefix + name + "_FILE"):
                return _read(path)
            raise ConfigError(f"environment: {prefix}{name} or {prefix}{name}_FILE is not set")

        app_id = os.environ.get(prefix + "APP_ID")
        if not app_id:
            raise ConfigError(f"environment: {prefix}APP_ID is not set")
        return cls(app_id, secret("APP_PRIVATE_KEY"), secret("ALIPAY_PUBLIC_KEY"), **kw)


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read key file ({exc.__class__.__name__})") from None
