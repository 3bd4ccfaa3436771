"""``python -m worker.cli``: the same as the ``picqer-sync`` console script."""

from worker.cli.main import main

main()
