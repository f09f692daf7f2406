"""``python -m paymatch`` runs the CLI."""

from .cli import main

main()
