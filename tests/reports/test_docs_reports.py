"""Every public function and class in the reports package and its CLI has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import paymatch.reports as pkg

MODULES = ["paymatch.cli_report"] + [f"paymatch.reports.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


def test_public_things_have_docstrings():
    missing = []
    for name in MODULES:
        mod = importlib.import_module(name)
        assert mod.__doc__, name
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not inspect.getdoc(obj):
                    missing.append(f"{name}.{attr}")
                if inspect.isclass(obj):
                    for m, f in vars(obj).items():
                        if not m.startswith("_") and inspect.isfunction(f) and not inspect.getdoc(f):
                            missing.append(f"{name}.{attr}.{m}")
    assert not missing, missing


def test_every_command_has_help():
    from paymatch.cli_report import report_app

    for cmd in report_app.registered_commands:
        assert inspect.getdoc(cmd.callback), cmd.name
