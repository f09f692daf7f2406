"""Every public function and class in the profile/detection modules has a docstring."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = ["paymatch.channels.profiles", "paymatch.channels.profile_read", "paymatch.channels.profile_sql",
           "paymatch.channels.profile_xlsx", "paymatch.channels.detect"]


@pytest.mark.parametrize("name", MODULES)
def test_public_api_is_documented(name: str):
    mod = importlib.import_module(name)
    assert inspect.getdoc(mod)
    missing = []
    for attr, obj in vars(mod).items():
        if attr.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not inspect.getdoc(obj):
                missing.append(attr)
            if inspect.isclass(obj):
                for meth_name, meth in vars(obj).items():
                    if not meth_name.startswith("_") and inspect.isfunction(meth) and not inspect.getdoc(meth):
                        missing.append(f"{attr}.{meth_name}")
    assert not missing, f"{name}: missing docstrings: {missing}"
