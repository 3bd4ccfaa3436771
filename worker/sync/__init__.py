"""The sync use cases as plain functions: push an order, apply a Picqer event, reconcile, failures.

Nothing here imports dramatiq or FastAPI; actors, routes and commands are thin shells over these.
"""
