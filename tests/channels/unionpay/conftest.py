"""UnionPay tests: helper modules live next to the tests."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
# the Alipay tests' ``loopback`` (an app served by uvicorn on 127.0.0.1) serves the notification tests too
if str(HERE.parent / "alipay") not in sys.path:
    sys.path.append(str(HERE.parent / "alipay"))
