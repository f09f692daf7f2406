"""Fixtures for the Alipay channel tests: helper modules on the path, shared notify samples."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# helper modules (bill generator, fake gateway) live next to the tests
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SAMPLES = HERE.parents[2] / ".." / "shared" / "fixtures" / "channels" / "alipay"


@pytest.fixture
def alipay_notify_sample():
    """Return a function giving a shared Alipay notification dict, skipping when it is absent."""

    def load(name: str) -> dict:
        path = SAMPLES / name
        if not path.is_file():
            pytest.skip(f"shared fixture {name} not present")
        return json.loads(path.read_text(encoding="utf-8"))

    return load


@pytest.fixture(scope="module")
def keys():
    """(the app's key pair, the fake 'Alipay' key pair), made once per test module."""
    from fake_gateway import new_key

    return new_key(), new_key()
