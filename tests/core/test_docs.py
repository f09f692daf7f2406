"""Every public module, class and function of paymatch has a docstring."""

import importlib
import inspect
import pkgutil

import paymatch


def _modules():
    for m in pkgutil.walk_packages(paymatch.__path__, "paymatch."):
        if not m.name.endswith("__main__"):
            yield m.name


def test_public_api_documented():
    missing = []
    for name in _modules():
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue  # optional extras (e.g. pyspark) are checked where installed
        if not (mod.__doc__ or "").strip():
            missing.append(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not (obj.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
    assert not missing, "missing docstrings: " + ", ".join(missing)
