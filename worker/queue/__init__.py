"""The queue: the broker factory, the actors, their middleware, the shared Picqer request budget and
the webhook inbox sweeper. Business logic stays in ``worker/sync``; actors only call it.
"""
