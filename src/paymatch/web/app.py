"""The paymatch web service: channel notification endpoints (and the credit check when configured)
storing into one workspace.

Verified notifications become transactions with origin 'notify' (one load batch per notification
id, so a resend stores nothing new); when the day's bill is loaded, its row replaces the
notification's (same channel, transaction id, type and refund key): one transaction, not two.
A notification the bill never confirms reconciles as ``unconfirmed``. Rejected notifications are
kept in the workspace's quarantine with the reason.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
from fastapi import FastAPI

from ..accounts import accounts
from ..config import Config
from ..errors import ConfigError
from ..workspace import Workspace
from .access import WorkspaceAccess

log = logging.getLogger(__name__)


class WorkspaceSink:
    """Stores verified notifications and quarantines rejected ones through one ``WorkspaceAccess``."""

    def __init__(self, access: WorkspaceAccess):
        self.access = access
        self._kept: dict[str, int] = {}  # rejected notifications kept per channel (read from the file once)

    def store(self, table: pa.Table) -> None:
        """Store a one-row notification table (idempotent per notification id)."""
        source = table.column("src_file")[0].as_py() if "src_file" in table.column_names else "notify"
        with self.access.open() as ws:
            ws.ingest_transactions(table, source=source, origin="notify")

    #: anyone can POST junk, and the workspace must not fill up: a rejected body is kept up to this size (a real
    #: notification is a few KiB), and at most ``KEEP_REJECTED`` of them per channel (later ones are only logged
    #: until a person clears the quarantine)
    KEEP_BYTES = 16 * 1024
    KEEP_REJECTED = 1000

    def reject(self, channel: str):
        """A callback that quarantines a rejected notification body (its first 16 KiB) with its reason."""
        source = f"notify:{channel}"

        def cb(body: bytes, reason: str) -> None:
            kept = body[: self.KEEP_BYTES]
            note = "" if len(body) <= self.KEEP_BYTES else f" (body {len(body)} bytes, first {self.KEEP_BYTES} kept)"
            if self._kept.get(channel, 0) >= self.KEEP_REJECTED:  # junk beyond the cap never opens the file
                log.warning("%s: quarantine holds %d rejected notifications already; this one is not kept (%s)",
                            channel, self._kept[channel], reason)
                return
            with self.access.open() as ws:
                if channel not in self._kept:
                    self._kept[channel] = ws.con.execute("SELECT count(*) FROM quarantine WHERE source = ?",
                                                         [source]).fetchall()[0][0]
                    if self._kept[channel] >= self.KEEP_REJECTED:
                        return
                ws.quarantine(channel=channel, source=source, payload=kept, reason=reason + note)
                self._kept[channel] += 1
        return cb


def create_app(ws: Workspace | Path, config: Config, config_dir: Path | None = None, *, clock=None) -> FastAPI:
    """Build the FastAPI app: /notify/wechat, /notify/alipay and /notify/unionpay for the configured accounts,
    /health.

    ``ws``: a workspace file, opened per request (``access.WorkspaceAccess``: the other commands share it), or an
    open ``Workspace`` held for the app's life."""
    app = FastAPI(title="paymatch", description="payment reconciliation: notifications, credit check")
    access = WorkspaceAccess(ws)
    sink = WorkspaceSink(access)
    mounted = []
    for channel in ("wechat", "alipay", "unionpay"):
        if channel not in config.channels:
            continue
        # one endpoint per channel serves every configured account of it ([[channels.wechat]]: several merchant
        # numbers); the notification names its account (WeChat: the platform key's serial; Alipay: app_id;
        # UnionPay: merId)
        configs = [a.config for a in accounts(config, config_dir, channel)]
        if channel == "wechat":
            from ..channels.wechat.notify import WechatNotifyVerifier
            from .notify_wechat import make_router

            kw = {"clock": clock} if clock else {}
            app.include_router(make_router(WechatNotifyVerifier.from_configs(configs, **kw), sink.store,
                                           sink.reject("wechat")))
        elif channel == "alipay":
            from ..channels.alipay.notify import AlipayNotifyVerifier
            from .notify_alipay import make_router

            app.include_router(make_router(AlipayNotifyVerifier(configs), sink.store, sink.reject("alipay")))
        else:  # UnionPay 全渠道 back notifications (backUrl), by the account their merId names
            from ..channels.unionpay_notify import UnionPayNotifyVerifier
            from .notify_unionpay import make_router

            app.include_router(make_router(UnionPayNotifyVerifier(configs), sink.store, sink.reject("unionpay")))
        mounted.append(channel)
    if config.credit:
        from .credit_mount import mount_credit

        mount_credit(app, access, config, config_dir)
        mounted.append("credit")
    if not mounted:
        raise ConfigError("nothing to serve\nHint: configure [channels.wechat] / [channels.alipay] / "
                          "[channels.unionpay] (and [credit])")

    @app.get("/health")
    def health() -> dict:
        """Liveness and what is mounted."""
        return {"status": "ok", "endpoints": mounted}

    app.state.sink = sink
    app.state.mounted = mounted
    app.state.access = access
    return app
