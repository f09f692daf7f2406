"""paymatch: reconcile a shop's orders and refunds with what its payment channels report."""

__version__ = "0.1.0"
