"""``python -m recommender`` runs the command line."""

from .cli import main

main()
