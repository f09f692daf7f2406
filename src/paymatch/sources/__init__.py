"""Readers that turn outside data (shop orders/refunds, canonical transaction CSVs) into canonical tables."""
