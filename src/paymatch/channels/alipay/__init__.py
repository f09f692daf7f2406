"""Alipay (支付宝 open platform): bill parsing (``bill``), signed bill download (``api``),
async notification verification (``notify``)."""

from paymatch.channels.alipay.bill import parse, parse_zip, sniff, sniff_bytes

__all__ = ["parse", "parse_zip", "sniff", "sniff_bytes"]
