"""``PicqerClient``: every Orders endpoint and the resources around them, as typed calls.

One client per Picqer account, synchronous, never retrying: errors come out as the types of
``adapters.errors`` and the worker decides (see ``connection.py`` for the mapping). Creates are
marked non-idempotent, so a failure after sending one is ``OutcomeUnknown``: look the object up
(orders: :meth:`PicqerClient.find_orders_by_reference`) before sending it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from adapters.errors import OutcomeUnknown, TransientError
from adapters.picqer.budget import RateLimitState, RequestBudget
from adapters.picqer.connection import (
    DEFAULT_RATE_LIMIT_WAIT,
    DEFAULT_TIMEOUT_SECONDS,
    SERVICE,
    PicqerConnection,
    QueryValue,
)
from adapters.picqer.models import (
    Customer,
    Hook,
    OrderField,
    OrderFieldValue,
    OrderNote,
    OrderProduct,
    OrderProductStatus,
    Picklist,
    PicqerOrder,
    Product,
    ProductStock,
    Shipment,
    Tag,
    Warehouse,
)
from adapters.picqer.pagination import iter_offset_pages
from adapters.settings import DEFAULT_USER_AGENT
from adapters.types import JSONDict

__all__ = ["ORDER_FILTERS", "PicqerClient", "RateLimitState", "RequestBudget"]

# the query filters of GET /orders (Orders doc, plus ``tag`` from the 16 Sep 2025 changelog); a
# misspelt filter would silently list every order, so anything else is refused
ORDER_FILTERS = frozenset(
    {
        "search",
        "sinceid",
        "beforeid",
        "sincedate",
        "untildate",
        "orderid",
        "status",
        "reference",
        "emailaddress",
        "idcustomer",
        "idwarehouse",
        "tag",
    }
)
DEFAULT_TAG_COLOR = "#2e7d32"

ModelT = TypeVar("ModelT", bound=BaseModel)


class PicqerClient:
    """The Picqer API of one account."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        budget: RequestBudget | None = None,
        rate_limit_wait: float = DEFAULT_RATE_LIMIT_WAIT,
    ) -> None:
        self._connection = PicqerConnection(
            base_url,
            api_key,
            user_agent=user_agent,
            timeout=timeout,
            transport=transport,
            budget=budget,
            rate_limit_wait=rate_limit_wait,
        )

    @property
    def rate_limit(self) -> RateLimitState:
        """``X-RateLimit-Limit`` / ``-Remaining`` of the last response, error responses included."""
        return self._connection.rate_limit

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> PicqerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- orders: listing -----------------------------------------------------------------------------

    def iter_orders(self, **filters: QueryValue) -> Iterator[PicqerOrder]:
        """Every order matching ``filters`` (see ``ORDER_FILTERS``), fetched page by page as consumed."""
        _check_order_filters(filters)
        return self._iter("orders", PicqerOrder, filters, key="idorder")

    def list_orders(self, *, offset: int = 0, **filters: QueryValue) -> list[PicqerOrder]:
        """One page (up to 100) of orders from ``offset``."""
        _check_order_filters(filters)
        return self._many(PicqerOrder, self._get("orders", {**filters, "offset": offset}))

    def find_orders_by_reference(self, reference: str) -> list[PicqerOrder]:
        """Orders whose ``reference`` is exactly ``reference`` (Picqer's filter may match loosely)."""
        return [order for order in self.iter_orders(reference=reference) if order.reference == reference]

    # -- orders: one order ---------------------------------------------------------------------------

    def get_order(self, idorder: int) -> PicqerOrder:
        return self._one(PicqerOrder, self._get(f"orders/{idorder}"))

    def create_order(self, payload: JSONDict) -> PicqerOrder:
        """Create a concept order; lines by ``idproduct`` or ``productcode``; no ``idcustomer``: guest."""
        return self._one(PicqerOrder, self._post("orders", payload, idempotent=False), idempotent=False)

    def update_order(self, idorder: int, fields: JSONDict) -> PicqerOrder:
        return self._one(PicqerOrder, self._put(f"orders/{idorder}", fields))

    def process_order(self, idorder: int) -> PicqerOrder:
        """Make a concept or expected order final; Picqer builds picklists or backorders afterwards."""
        return self._order_action(idorder, "process")

    def pause_order(self, idorder: int, reason: str) -> PicqerOrder:
        return self._one(PicqerOrder, self._post(f"orders/{idorder}/pause", {"reason": reason}))

    def resume_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "resume")

    def reopen_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "reopen")

    def cancel_order(self, idorder: int, *, force: bool = False) -> None:
        """Cancel a concept/expected order; ``force`` also one that is processing or completed."""
        self._connection.request("DELETE", f"orders/{idorder}", params={"force": True} if force else None)

    def undo_cancellation(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "undo-cancellation")

    def get_product_status(self, idorder: int) -> list[OrderProductStatus]:
        data = self._get(f"orders/{idorder}/productstatus")
        rows = data.get("products") if isinstance(data, dict) else data
        return self._many(OrderProductStatus, rows)

    def allocate_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "allocate")

    def deallocate_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "deallocate")

    def prioritise_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "prioritise")

    def process_backorders(self, idorder: int, *, prefer_bulk_locations: bool = False) -> PicqerOrder:
        params: dict[str, QueryValue] = {"prefer_bulk_locations": True} if prefer_bulk_locations else {}
        data = self._connection.request("POST", f"orders/{idorder}/process-backorders", params=params)
        return self._one(PicqerOrder, data)

    def anonymize_order(self, idorder: int) -> PicqerOrder:
        return self._order_action(idorder, "anonymize")

    # -- orders: notes, tags, lines, fields ----------------------------------------------------------

    def list_order_notes(self, idorder: int) -> list[OrderNote]:
        return self._many(OrderNote, self._get(f"orders/{idorder}/notes"))

    def add_order_note(self, idorder: int, note: str) -> OrderNote:
        data = self._post(f"orders/{idorder}/notes", {"note": note}, idempotent=False)
        return self._one(OrderNote, data, idempotent=False)

    def list_order_tags(self, idorder: int) -> list[Tag]:
        return list(self._iter(f"orders/{idorder}/tags", Tag, {}, key="idtag"))

    def add_order_tag(self, idorder: int, idtag: int) -> Tag:
        data = self._post(f"orders/{idorder}/tags", {"idtag": idtag})
        if isinstance(data, list | dict) and not (isinstance(data, dict) and "idtag" in data):
            # an answer listing the order's tags instead of the one added
            matches = [tag for tag in self._many(Tag, data) if tag.idtag == idtag]
            if matches:
                return matches[0]
        return self._one(Tag, data)

    def remove_order_tag(self, idorder: int, idtag: int) -> None:
        self._connection.request("DELETE", f"orders/{idorder}/tags/{idtag}")

    def list_order_products(self, idorder: int) -> list[OrderProduct]:
        return self._many(OrderProduct, self._get(f"orders/{idorder}/products"))

    def add_order_product(self, idorder: int, product: JSONDict) -> OrderProduct:
        """Add one line (``idproduct`` or ``productcode``, ``amount``) to a concept order."""
        data = self._post(f"orders/{idorder}/products", product, idempotent=False)
        return self._one(OrderProduct, data, idempotent=False)

    def update_order_product(self, idorder: int, idorder_product: int, fields: JSONDict) -> OrderProduct:
        return self._one(OrderProduct, self._put(f"orders/{idorder}/products/{idorder_product}", fields))

    def delete_order_product(self, idorder: int, idorder_product: int) -> None:
        self._connection.request("DELETE", f"orders/{idorder}/products/{idorder_product}")

    def list_order_fields(self, idorder: int) -> list[OrderFieldValue]:
        """The order fields that have a value on this order."""
        return self._many(OrderFieldValue, self._get(f"orders/{idorder}/orderfields"))

    def set_order_field(self, idorder: int, idorderfield: int, value: str | None) -> OrderFieldValue:
        data = self._put(f"orders/{idorder}/orderfields/{idorderfield}", {"value": value})
        return self._one(OrderFieldValue, data)

    def delete_order_field(self, idorder: int, idorderfield: int) -> None:
        self._connection.request("DELETE", f"orders/{idorder}/orderfields/{idorderfield}")

    # -- tags ----------------------------------------------------------------------------------------

    def iter_tags(self) -> Iterator[Tag]:
        return self._iter("tags", Tag, {}, key="idtag")

    def create_tag(self, title: str, *, color: str = DEFAULT_TAG_COLOR, inherit: bool = False) -> Tag:
        data = self._post("tags", {"title": title, "color": color, "inherit": inherit}, idempotent=False)
        return self._one(Tag, data, idempotent=False)

    # -- products ------------------------------------------------------------------------------------

    def get_product_by_code(self, productcode: str) -> Product | None:
        """The product with exactly this code, or None (inactive products are not listed by Picqer)."""
        products = self._many(Product, self._get("products", {"productcode": productcode}))
        return next((product for product in products if product.productcode == productcode), None)

    def get_product(self, idproduct: int) -> Product:
        return self._one(Product, self._get(f"products/{idproduct}"))

    def create_product(self, fields: JSONDict) -> Product:
        return self._one(Product, self._post("products", fields, idempotent=False), idempotent=False)

    def get_product_stock(self, idproduct: int) -> list[ProductStock]:
        """One row per warehouse."""
        return self._many(ProductStock, self._get(f"products/{idproduct}/stock"))

    def change_product_stock(
        self,
        idproduct: int,
        idwarehouse: int,
        *,
        change: int | None = None,
        amount: int | None = None,
        reason: str,
    ) -> ProductStock:
        """Change stock by ``change`` (relative) or set it to ``amount`` (absolute); give exactly one."""
        if (change is None) == (amount is None):
            raise ValueError("give exactly one of change= (relative) or amount= (absolute)")
        body: JSONDict = {"change": change} if change is not None else {"amount": amount}
        body["reason"] = reason
        # a relative change sent twice counts twice: treat it like a create (OutcomeUnknown on failure)
        idempotent = change is None
        data = self._post(f"products/{idproduct}/stock/{idwarehouse}", body, idempotent=idempotent)
        if isinstance(data, list):
            data = next((row for row in data if row.get("idwarehouse") == idwarehouse), data)
        return self._one(ProductStock, data, idempotent=idempotent)

    # -- customers, warehouses, order fields ---------------------------------------------------------

    def search_customers(self, search: str) -> list[Customer]:
        """Customers matching ``search`` (name, email, ...): the first page of up to 100."""
        return self._many(Customer, self._get("customers", {"search": search}))

    def iter_warehouses(self) -> Iterator[Warehouse]:
        return self._iter("warehouses", Warehouse, {}, key="idwarehouse")

    def list_orderfields(self) -> list[OrderField]:
        """The order fields defined on the account."""
        return list(self._iter("orderfields", OrderField, {}, key="idorderfield"))

    # -- picklists and shipments ---------------------------------------------------------------------

    def iter_picklists(self, **filters: QueryValue) -> Iterator[Picklist]:
        """Picklists matching ``filters`` (``idorder``, ``picklistid``, ``status``, ``beforeid``, ...)."""
        return self._iter("picklists", Picklist, filters, key="idpicklist")

    def get_picklist(self, idpicklist: int) -> Picklist:
        return self._one(Picklist, self._get(f"picklists/{idpicklist}"))

    def list_picklist_shipments(self, idpicklist: int) -> list[Shipment]:
        return self._many(Shipment, self._get(f"picklists/{idpicklist}/shipments"))

    # -- hooks ---------------------------------------------------------------------------------------

    def iter_hooks(self) -> Iterator[Hook]:
        """Every hook, over all pages (picqer-php reads only the first 100)."""
        return self._iter("hooks", Hook, {}, key="idhook")

    def get_hook(self, idhook: int) -> Hook:
        return self._one(Hook, self._get(f"hooks/{idhook}"))

    def create_hook(self, *, name: str, event: str, address: str, secret: str) -> Hook:
        body = {"name": name, "event": event, "address": address, "secret": secret}
        return self._one(Hook, self._post("hooks", body, idempotent=False), idempotent=False)

    def delete_hook(self, idhook: int) -> None:
        """Deactivate the hook (Picqer keeps it, inactive; see ``reactivate_hook``)."""
        self._connection.request("DELETE", f"hooks/{idhook}")

    def reactivate_hook(self, idhook: int) -> Hook:
        return self._one(Hook, self._connection.request("POST", f"hooks/{idhook}/reactivate"))

    # -- plumbing ------------------------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, QueryValue] | None = None) -> Any:
        return self._connection.request("GET", path, params=params)

    def _post(self, path: str, body: JSONDict, *, idempotent: bool = True) -> Any:
        return self._connection.request("POST", path, json=body, idempotent=idempotent)

    def _put(self, path: str, body: JSONDict) -> Any:
        return self._connection.request("PUT", path, json=body)

    def _order_action(self, idorder: int, action: str) -> PicqerOrder:
        return self._one(PicqerOrder, self._connection.request("POST", f"orders/{idorder}/{action}"))

    def _iter(
        self, path: str, model: type[ModelT], filters: dict[str, QueryValue], *, key: str
    ) -> Iterator[ModelT]:
        def fetch_page(offset: int) -> list[Any]:
            return _rows(self._get(path, {**filters, "offset": offset}))

        for row in iter_offset_pages(fetch_page, key=key):
            yield self._one(model, row)

    def _one(self, model: type[ModelT], data: Any, *, idempotent: bool = True) -> ModelT:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise _unexpected_shape(model, error, idempotent=idempotent) from None

    def _many(self, model: type[ModelT], data: Any) -> list[ModelT]:
        return [self._one(model, row) for row in _rows(data)]


def _rows(data: Any) -> list[Any]:
    """A list answer as a list; an object keyed by title (Picqer's older tag shape) as its values."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and data and all(isinstance(value, dict) for value in data.values()):
        return [{"title": title, **value} if "idtag" in value else value for title, value in data.items()]
    raise TransientError(
        f"{SERVICE} answered a {type(data).__name__} where a list was expected", service=SERVICE
    )


def _check_order_filters(filters: dict[str, QueryValue]) -> None:
    unknown = sorted(set(filters) - ORDER_FILTERS)
    if unknown:
        raise TypeError(
            f"unknown order filter(s): {', '.join(unknown)} (known: {', '.join(sorted(ORDER_FILTERS))})"
        )


def _unexpected_shape(model: type[BaseModel], error: ValidationError, *, idempotent: bool) -> TransientError:
    # name the fields, never their values: they may be personal data
    where = "; ".join(".".join(str(part) for part in item["loc"]) or "body" for item in error.errors()[:5])
    message = f"{SERVICE} answered a {model.__name__} we cannot read ({where})"
    # after a create, an unreadable answer still means the object may exist
    return (
        OutcomeUnknown(message, service=SERVICE)
        if not idempotent
        else TransientError(message, service=SERVICE)
    )
