"""``python -m sgtheory`` runs the command-line interface."""

from sgtheory.cli import main

main()
