"""Mount POST /api/credit/check on the service when ``[credit]`` is configured."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from ..config import Config


def mount_credit(app: FastAPI, ws, config: Config, lock: threading.Lock, config_dir=None) -> None:
    """Add the credit-check router, auditing into the workspace."""
    from ..credit.setup import checker_from_config
    from .credit import make_router

    app.include_router(make_router(checker_from_config(config, config_dir, ws, lock)))
