"""The queue: the broker factory, the actors and their middleware. Nothing else.

The actors only call the use cases in ``worker/sync`` (through :class:`worker.queue.actors.Handlers`),
count, and enqueue follow-up work; the objects they run on are built by :mod:`worker.app`.
"""
