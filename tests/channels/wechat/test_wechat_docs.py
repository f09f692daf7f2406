"""Every public function/class/method in the WeChat channel modules has a docstring."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "paymatch.channels.wechat", "paymatch.channels.wechat.layout", "paymatch.channels.wechat.billtext",
    "paymatch.channels.wechat.totals", "paymatch.channels.wechat.trade", "paymatch.channels.wechat.fundflow",
    "paymatch.channels.wechat.bill", "paymatch.channels.wechat.keys", "paymatch.channels.wechat.api", "paymatch.channels.wechat.config",
    "paymatch.channels.wechat.replay", "paymatch.channels.wechat.notify", "paymatch.web.notify_wechat",
]


@pytest.mark.parametrize("name", MODULES)
def test_public_docstrings(name):
    mod = importlib.import_module(name)
    assert inspect.getdoc(mod), f"{name} has no module docstring"
    missing = []
    for attr, obj in vars(mod).items():
        if attr.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not inspect.getdoc(obj):
                missing.append(attr)
            if inspect.isclass(obj):
                missing += [f"{attr}.{m}" for m, f in vars(obj).items()
                            if inspect.isfunction(f) and not m.startswith("_") and not inspect.getdoc(f)]
    assert not missing, f"{name}: no docstring on {missing}"
