"""Fixtures for the WeChat Pay channel tests: the shared real samples (skipped when absent)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# helper modules (bill generator, fake server) live next to the tests
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

SAMPLES = HERE.parents[2] / ".." / "shared" / "fixtures" / "channels" / "wechat"


@pytest.fixture
def wechat_sample():
    """Return a function giving the bytes of a shared WeChat sample, skipping when it is absent."""

    def load(name: str) -> bytes:
        path = SAMPLES / name
        if not path.is_file():
            pytest.skip(f"shared fixture {name} not present")
        return path.read_bytes()

    return load
