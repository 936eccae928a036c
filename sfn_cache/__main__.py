"""``python -m sfn_cache`` runs the command line."""

from sfn_cache.cli import main

main()
