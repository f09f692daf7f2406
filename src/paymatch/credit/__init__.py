"""Credit-limit check before a credit payment.

- ``signing``: HMAC-SHA256 / RSA-SHA256 signatures over "timestamp\\nnonce\\nbody".
- ``client``: the signed HTTP JSON client for the third-party credit service (bounded time).
- ``decision``: combines the service's answer with paymatch's outstanding instalments; policy
  when the service fails (fail closed by default).
- ``audit``: every decision appended to DuckDB ``credit_decisions`` or to a JSONL file.
"""
