"""Every public module, class, function and method of the instalment/credit code has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import paymatch.credit
import paymatch.instalments

MODULES = [m.name for pkg in (paymatch.instalments, paymatch.credit)
           for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")] + ["paymatch.web.credit"]


@pytest.mark.parametrize("name", MODULES)
def test_documented(name):
    mod = importlib.import_module(name)
    missing = [] if (mod.__doc__ or "").strip() else [name]
    for attr, obj in vars(mod).items():
        if attr.startswith("_") or getattr(obj, "__module__", None) != name:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            if not (obj.__doc__ or "").strip():
                missing.append(f"{name}.{attr}")
        if inspect.isclass(obj):
            for meth, fn in vars(obj).items():
                if not meth.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}.{meth}")
    assert not missing, "missing docstrings: " + ", ".join(missing)
