"""What a backend lends the engine: optional shortcuts, each with a plain lazy-frame default.

The engine is correct with the defaults (pure Narwhals, any backend); a backend passes better ones
where it has them. Each must return a frame equivalent to what its default returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import narwhals as nw


def same(frame: nw.LazyFrame) -> nw.LazyFrame:
    """``persist`` default: leave the frame lazy."""
    return frame


def not_known_empty(frame: nw.LazyFrame) -> bool:
    """``empty`` default: not known to be empty (the step it guards runs, and finds nothing when there is nothing)."""
    return False


def repeated_by_count(frame: nw.LazyFrame, col: str) -> nw.LazyFrame:
    """``repeated`` default: the values of ``col`` listed more than once, by a count per value."""
    return frame.group_by(col).agg(nw.len().alias("_pm_n")).filter(nw.col("_pm_n") > 1).select(col)


@dataclass(frozen=True)
class Ops:
    """persist:  materialise a *small* frame that several steps read (the keys listed more than once),
              so lazy engines do not aggregate every record again for each reader.
    repeated: ``(frame, col)`` → a frame with the one column ``col``: each value that occurs in more than
              one row of ``frame``, once (nearly always few: most keys have one record).
    """

    persist: Callable[[nw.LazyFrame], nw.LazyFrame] = same
    repeated: Callable[[nw.LazyFrame, str], nw.LazyFrame] = repeated_by_count
    empty: Callable[[nw.LazyFrame], bool] = not_known_empty
