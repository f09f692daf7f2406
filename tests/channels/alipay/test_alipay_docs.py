"""Every public module, class and function of the Alipay/UnionPay channel code has a docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "paymatch"
FILES = [*sorted((SRC / "channels" / "alipay").glob("*.py")), SRC / "channels" / "unionpay.py",
         SRC / "web" / "notify_alipay.py"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_public_names_have_docstrings(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    missing = [] if ast.get_docstring(tree) else ["<module>"]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            if not ast.get_docstring(node):
                missing.append(f"{node.name} (line {node.lineno})")
    assert not missing, f"{path.name}: no docstring on {missing}"
