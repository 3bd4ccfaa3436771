"""The demo shop's orders: SKUs the Picqer sandbox knows (TSHIRT-RED-M, MUG-LOGO and the vendor
sample's), one configurable, one bundle with a downloadable extra, and one order still unpaid."""

from __future__ import annotations

from typing import Any

from sandbox.magento.store import MagentoShop

HOODIE = {
    "product_type": "configurable",
    "sku": "MH01",
    "name": "Chaz Kangeroo Hoodie",
    "price": 52,
    "qty": 1,
    "child": {"sku": "MH01-S-Gray", "name": "Chaz Kangeroo Hoodie-S-Gray"},
}
YOGA_KIT = {
    "product_type": "bundle",
    "name": "Sprite Yoga Companion Kit",
    "qty": 1,
    "children": [
        {"sku": "24-WG080", "name": "Sprite Stasis Ball 55 cm", "price": 23},
        {"sku": "24-WG084", "name": "Sprite Foam Yoga Brick", "price": 5},
        {"sku": "24-WG088", "name": "Sprite Foam Roller", "price": 19},
        {"sku": "24-WG086", "name": "Sprite Yoga Strap 8 foot", "price": 17},
    ],
}
DEMO_ORDERS: list[dict[str, Any]] = [
    {
        "paid": True,
        "items": [
            {"sku": "TSHIRT-RED-M", "name": "T-shirt red M", "price": 19.95, "qty": 2},
            {"sku": "MUG-LOGO", "name": "Mug with logo", "price": 9.95, "qty": 1},
        ],
        "customer_note": "Please ring twice",
    },
    {
        "paid": True,
        "items": [HOODIE, {"sku": "WS12-M-Orange", "name": "Radiant Tee-M-Orange", "price": 22, "qty": 1}],
        "address": {
            "firstname": "Anna",
            "lastname": "de Vries",
            "company": "De Vries Sport B.V.",
            "street": ["Stationsplein", "12"],
            "city": "Utrecht",
            "postcode": "3511 ED",
            "country_id": "NL",
            "region": "Utrecht",
        },
    },
    {
        "paid": True,
        "items": [
            YOGA_KIT,
            {
                "product_type": "downloadable",
                "sku": "240-LV08",
                "name": "Advanced Pilates & Yoga",
                "price": 18,
            },
        ],
        "address": {
            "firstname": "Lotte",
            "lastname": "Peeters",
            "street": ["Meir 50"],
            "city": "Antwerpen",
            "postcode": "2000",
            "country_id": "BE",
            "telephone": "+32 3 123 45 67",
        },
    },
    {"paid": False, "items": [{"sku": "MUG-LOGO", "name": "Mug with logo", "price": 9.95, "qty": 3}]},
]


def seed(shop: MagentoShop) -> None:
    for spec in DEMO_ORDERS:
        shop.create_order(spec)
