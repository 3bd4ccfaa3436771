"""The sync use cases as plain functions: push an order, apply a stored webhook, report a
fulfilment, reconcile, failures and dead letters, the inbox, hook health.

Nothing here imports the queue library or the web framework (import-linter checks it); actors,
routes and commands are thin shells over these, wired by ``worker/app.py``.
"""
