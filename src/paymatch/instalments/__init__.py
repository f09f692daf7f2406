"""Instalment (分期) payments: plans per order, per-period matching, and the instalment report.

- ``config``: which channels offer which terms, who pays per period, seller-borne rates.
- ``plan``: the scalar plan of one order (frozen records, pure functions).
- ``expand``: the same plan for a whole orders frame, vectorised in Narwhals.
- ``flows``: the canonical instalment-flow CSV loader.
- ``match``: per-period outcomes for channels that pay per period (周期扣款).
- ``report``: outstanding / overdue / seller-fee figures per channel, store and term.
"""
