"""Backend-agnostic matching: pure functions from Narwhals lazy frames to an outcomes lazy frame.

The same code runs on DuckDB relations and PySpark DataFrames (see ``paymatch.backends``);
nothing here iterates rows, assumes row order or collects.
"""

from .params import MatchParams
from .reconcile import reconcile

__all__ = ["MatchParams", "reconcile"]
