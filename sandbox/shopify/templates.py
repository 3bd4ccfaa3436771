"""Ready-made orders for the control API and the demo, on the SKUs the Picqer sandbox stocks."""

from __future__ import annotations

import copy
from typing import Any

ADDRESSES: dict[str, dict[str, Any]] = {
    "nl": {
        "first_name": "Sanne",
        "last_name": "de Vries",
        "address1": "Keizersgracht 123",
        "address2": "",
        "zip": "1015 CJ",
        "city": "Amsterdam",
        "province": "Noord-Holland",
        "province_code": "NH",
        "country": "Netherlands",
        "country_code": "NL",
        "phone": "+31 20 123 4567",
    },
    "be": {
        "first_name": "Lucas",
        "last_name": "Peeters",
        "company": "Peeters Fietsen BV",
        "address1": "Meir 50",
        "address2": "bus 3",
        "zip": "2000",
        "city": "Antwerpen",
        "province": "Antwerpen",
        "province_code": "VAN",
        "country": "Belgium",
        "country_code": "BE",
        "phone": "+32 3 123 45 67",
    },
    "us": {
        "first_name": "Bob",
        "last_name": "Norman",
        "address1": "Chestnut Street 92",
        "address2": "",
        "zip": "40202",
        "city": "Louisville",
        "province": "Kentucky",
        "province_code": "KY",
        "country": "United States",
        "country_code": "US",
        "phone": "555-625-1199",
    },
}

IPOD = {"title": "IPod Nano - 8gb", "price": "199.00", "grams": 200}
TEMPLATES: dict[str, dict[str, Any]] = {
    # the three lines of Shopify's own order fixture
    "ipod": {
        "email": "bob.norman@example.com",
        "shipping_address": ADDRESSES["us"],
        "line_items": [
            {**IPOD, "sku": "IPOD2008GREEN", "variant_title": "green"},
            {**IPOD, "sku": "IPOD2008RED", "variant_title": "red"},
            {**IPOD, "sku": "IPOD2008BLACK", "variant_title": "black"},
        ],
    },
    "tshirt": {
        "email": "sanne@example.nl",
        "customer_locale": "nl",
        "shipping_address": ADDRESSES["nl"],
        "line_items": [
            {
                "title": "T-shirt",
                "variant_title": "Red / M",
                "sku": "TSHIRT-RED-M",
                "price": "19.95",
                "quantity": 2,
            },
            {"title": "Mug with logo", "sku": "MUG-LOGO", "price": "9.50"},
        ],
    },
    # a parcel line and a gift card the warehouse never sees
    "mug": {
        "email": "inkoop@peeters.example",
        "shipping_address": ADDRESSES["be"],
        "note": "Please deliver before noon",
        "note_attributes": [{"name": "gift wrap", "value": "yes"}],
        "line_items": [
            {"title": "Mug with logo", "sku": "MUG-LOGO", "price": "9.50", "quantity": 3},
            {"title": "Gift card", "sku": "GIFTCARD-25", "price": "25.00", "requires_shipping": False},
        ],
    },
}


def template(name: str) -> dict[str, Any]:
    """A deep copy of the named template; KeyError names the known ones."""
    if name not in TEMPLATES:
        raise KeyError(f"unknown template {name!r} (known: {', '.join(sorted(TEMPLATES))})")
    return copy.deepcopy(TEMPLATES[name])
