"""What the use cases run on, shared by every thread (and, through Redis, every process).

``redis``: the one Redis client builder; ``budget``: the Picqer request budget; ``locks``: the order
locks. Built once per process by :mod:`worker.app`; no business logic here, no dramatiq, no FastAPI.
"""
