"""The order mirror: SQLModel tables, the engine factory and keyword-only repository functions.

Every time stored here is naive UTC (``utcnow()``), except ``Order.picqer_updated``, which is
Picqer's own ``updated`` stamp as sent (naive, Picqer account local time) so that two Picqer stamps
are always compared with each other and never with our clock.
"""
