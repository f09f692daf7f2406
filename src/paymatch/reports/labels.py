"""The words a report shows for what is not a figure: the label of a value nobody gave (an outcome or a record
without a store, a merchant number or a channel), one wording per language for every report and sheet (the
reconciliation report said "(none)" where fund flow and the anomaly board said "(unknown)" for the same missing
store, and neither in Chinese)."""

from __future__ import annotations

from .model import Lang

#: a store (merchant number, channel) an outcome or a record does not name, and no ``[stores]`` entry gives
UNKNOWN: dict[str, str] = {"zh": "(未知)", "en": "(unknown)"}
#: the stable code the fund flow's keys and a machine reading them use for it, whatever the report's language
UNKNOWN_CODE = UNKNOWN["en"]


def unknown(lang: Lang | str) -> str:
    """The label of a missing store, merchant number or channel in ``lang``."""
    return UNKNOWN["zh" if lang == "zh" else "en"]
