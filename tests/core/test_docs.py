"""Every public module, class, function and method of paymatch has a docstring (one test for the whole package)."""

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
            if inspect.isclass(obj):
                for meth, fn in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                        missing.append(f"{name}.{attr}.{meth}")
    assert not missing, "missing docstrings: " + ", ".join(missing)
