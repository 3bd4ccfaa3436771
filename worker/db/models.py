"""The mirror's tables.

One row per shop order (``orders``), with its lines, Picqer picklists and shipments; per-source
cursors; the webhook inbox; and the hooks we registered. The migrations in ``worker/migrations``
create exactly this schema (a test compares them). Which columns hold personal data, which feature
needs each, and when it is deleted or blanked: ``worker/sync/retention.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so migrations can name what they alter or drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now as naive UTC: the one time zone of the mirror (SQLite keeps no zone anyway)."""
    return datetime.now(UTC).replace(tzinfo=None)


class SyncState(StrEnum):
    """Where one shop order stands, as a person reads it."""

    PENDING = "pending"  # being pushed, or waiting for a retry
    SYNCED = "synced"  # in Picqer and processed
    SKIPPED = "skipped"  # nothing to do (unpaid, cancelled before a push, nothing to ship)
    FAILED = "failed"  # needs a person: see last_error
    CONFLICT = "conflict"  # the shop and Picqer disagree in a way we do not resolve alone
    CANCELLED = "cancelled"  # cancelled in Picqer because the shop cancelled it
    PAUSED = "paused"  # paused in Picqer because the shop cancelled it while being picked


class SyncStep(StrEnum):
    """The push pipeline's steps; a step recorded as ``-ing`` did not (knowingly) finish."""

    NONE = ""
    CREATING = "creating"
    CREATED = "created"
    TAGGING = "tagging"
    TAGGED = "tagged"
    PROCESSING = "processing"
    PROCESSED = "processed"


def _now_column() -> Any:
    return Field(default_factory=utcnow, sa_type=sa.DateTime())


class OrderBase(SQLModel):
    source: str = Field(max_length=100)
    shop_order_id: str = Field(max_length=100)
    shop_order_number: str = Field(max_length=100)
    reference: str = Field(max_length=100, index=True)
    shop_status: str = Field(default="", max_length=100)
    shop_state: str = Field(default="", max_length=30)
    shop_updated_at: datetime | None = Field(default=None, sa_type=sa.DateTime())


class Order(OrderBase, table=True):
    """One shop order and what we know of its Picqer twin."""

    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("source", "shop_order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    idorder: int | None = Field(default=None, sa_type=sa.BigInteger(), unique=True)
    orderid: str | None = Field(default=None, max_length=50)
    sync_state: str = Field(default=SyncState.PENDING, max_length=20, index=True)
    sync_step: str = Field(default=SyncStep.NONE, max_length=20)
    picqer_status: str | None = Field(default=None, max_length=20, index=True)
    picqer_updated: datetime | None = Field(default=None, sa_type=sa.DateTime())
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text())
    failed_step: str | None = Field(default=None, max_length=20)
    # why an order is skipped, paused or in conflict, in words a person understands (not an error)
    note: str | None = Field(default=None, sa_type=sa.Text())
    # the MappedOrder as last received, so a retry needs no fetch from the shop
    mapped_json: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON())
    # the draft Picqer holds (as last created or updated), to detect later shop changes
    pushed_draft: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON())
    pushed_draft_hash: str | None = Field(default=None, max_length=64)
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    fulfilment_reported_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


class OrderLine(SQLModel, table=True):
    """A product line as pushed to Picqer."""

    __tablename__ = "order_lines"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    productcode: str = Field(max_length=100)
    amount: int
    name: str | None = Field(default=None, max_length=255)
    price: float | None = None
    shop_line_id: str | None = Field(default=None, max_length=100)


class Picklist(SQLModel, table=True):
    """A Picqer picklist of one of our orders."""

    __tablename__ = "picklists"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    idpicklist: int = Field(sa_type=sa.BigInteger(), unique=True)
    picklistid: str | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=20)
    updated: datetime | None = Field(default=None, sa_type=sa.DateTime())


class Shipment(SQLModel, table=True):
    """A Picqer shipment (tracking code, url, carrier) of one of our orders."""

    __tablename__ = "shipments"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True, ondelete="CASCADE")
    idshipment: int = Field(sa_type=sa.BigInteger(), unique=True)
    idpicklist: int | None = Field(default=None, sa_type=sa.BigInteger())
    trackingcode: str | None = Field(default=None, max_length=255)
    trackingurl: str | None = Field(default=None, sa_type=sa.Text())
    carrier: str | None = Field(default=None, max_length=100)
    cancelled: bool = False
    created_at: datetime = _now_column()


class SyncCursor(SQLModel, table=True):
    """How far a poll (per shop source) or the Picqer reconcile (``source="picqer"``) got."""

    __tablename__ = "sync_cursors"

    source: str = Field(primary_key=True, max_length=100)
    position: datetime | None = Field(default=None, sa_type=sa.DateTime())
    last_run_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    # a shop source's first poll reads orders changed since this (its ``start_at``, or the default
    # bound), recorded when that poll starts; ``resync --since`` reaches further back on purpose
    start_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    updated_at: datetime = _now_column()


class PicqerIndexEntry(SQLModel, table=True):
    """One Picqer order of the account, ours or not: the index that lets a first push skip the
    look-up by reference (worker/sync/picqer_index.py)."""

    __tablename__ = "picqer_index"

    idorder: int = Field(sa_type=sa.BigInteger(), primary_key=True, sa_column_kwargs={"autoincrement": False})
    reference: str | None = Field(default=None, max_length=100, index=True)
    status: str | None = Field(default=None, max_length=20)
    updated: datetime | None = Field(default=None, sa_type=sa.DateTime())  # Picqer's, account local time
    seen_at: datetime = _now_column()


class PicqerIndexState(SQLModel, table=True):
    """How far ``picqer_index`` can be trusted: one row (``name="picqer"``)."""

    __tablename__ = "picqer_index_state"

    name: str = Field(primary_key=True, max_length=20)
    # the bulk import finished: every open order, and every order made since ``covers_since``
    imported_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    covers_since: datetime | None = Field(default=None, sa_type=sa.DateTime())
    # every order up to this idorder (in the window) was read by a complete listing; newer ones are
    # read by the next refresh (``sinceid``)
    high_water: int = Field(default=0, sa_type=sa.BigInteger())
    refreshed_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    updated_at: datetime = _now_column()


class InboxEvent(SQLModel, table=True):
    """A webhook stored durably before it is answered 202; processed once."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (sa.UniqueConstraint("source", "event_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    event_key: str = Field(max_length=255)
    topic: str = Field(max_length=100)
    received_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(), index=True)
    processed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(), index=True)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=sa.Text())
    payload: str = Field(sa_type=sa.Text())


class HookRegistration(SQLModel, table=True):
    """A Picqer hook or shop webhook we created, and when we last saw it active."""

    __tablename__ = "hook_registrations"
    __table_args__ = (sa.UniqueConstraint("target", "remote_id"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=100)  # "picqer" or a source name
    remote_id: str = Field(max_length=100)  # idhook, or the shop's webhook id
    event: str = Field(max_length=100)
    address: str = Field(sa_type=sa.Text())
    active: bool = True
    last_checked_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    created_at: datetime = _now_column()


class AccountHealth(SQLModel, table=True):
    """Whether the Picqer account (``target="picqer"``) or a source takes our credentials.

    A 401/403 (or a Picqer account URL that answers 404) is a problem of the account, not of an
    order: the row says since when and why (never a secret), and the next success clears it.
    """

    __tablename__ = "account_health"

    target: str = Field(primary_key=True, max_length=100)
    broken_since: datetime | None = Field(default=None, sa_type=sa.DateTime())
    reason: str | None = Field(default=None, sa_type=sa.Text())
    last_checked_at: datetime | None = Field(default=None, sa_type=sa.DateTime())
    last_ok_at: datetime | None = Field(default=None, sa_type=sa.DateTime())


class WebhookRejection(SQLModel, table=True):
    """Webhooks the receiver turned away, counted per target, reason and minute (kept an hour or so)."""

    __tablename__ = "webhook_rejections"
    __table_args__ = (sa.UniqueConstraint("target", "reason", "minute"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=100)
    reason: str = Field(max_length=255)
    minute: datetime = Field(sa_type=sa.DateTime(), index=True)
    count: int = 0
