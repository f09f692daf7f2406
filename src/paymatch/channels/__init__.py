"""Channel connectors: one module (or package) per channel: bill parser, signed bill download,
notification verifier. Every parser returns a ``ParsedBill`` (see ``base``)."""
