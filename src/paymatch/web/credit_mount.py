"""Mount POST /api/credit/check on the service when ``[credit]`` is configured.

The route answers questions about members' credit, so it requires a bearer token
(``[credit] api_token_file`` or ``api_token_env``), unlike the channel notification routes, which
are authenticated by the channels' signatures.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request

from ..config import Config
from ..errors import ConfigError


def _token(config: Config, config_dir: Path | None) -> str:
    sec = config.credit
    if sec.get("api_token_file"):
        path = (config_dir or Path.cwd()) / sec["api_token_file"]
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"credit.api_token_file: cannot read {path} ({e.strerror})") from None
    if sec.get("api_token_env"):
        value = os.environ.get(sec["api_token_env"], "")
        if value:
            return value
        raise ConfigError(f"credit: environment variable {sec['api_token_env']} (api_token_env) is not set")
    raise ConfigError("credit: serving /api/credit/check needs api_token_file or api_token_env\n"
                      "Hint: callers then send 'Authorization: Bearer <token>'")


def mount_credit(app: FastAPI, access, config: Config, config_dir=None) -> None:
    """Add the credit-check router (bearer-token protected), auditing into the workspace (``access``: a
    ``web.access.WorkspaceAccess``, opened for each decision's outstanding instalments and audit record)."""
    from ..credit.setup import checker_from_config
    from .credit import make_router

    token = _token(config, config_dir)

    def require_token(request: Request) -> None:
        got = request.headers.get("authorization", "")
        if not hmac.compare_digest(got.encode(), f"Bearer {token}".encode()):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    app.include_router(make_router(checker_from_config(config, config_dir, access=access)),
                       dependencies=[Depends(require_token)])
