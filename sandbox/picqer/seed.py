"""Demo data: warehouses, VAT groups, an orderfield, tags, a customer, and products for every SKU
in the vendor samples (tests/samples) and in the shop simulators' demo orders, with stock, plus one
sold-out product for backorders.

Ids are deterministic (the state's counters start fresh): warehouses 101 Main and 102 Overflow,
vatgroups 11/12/13, orderfield 31, tags 301.., products 2001.. in the order of ``DEMO_PRODUCTS``,
customer 4001.
"""

from __future__ import annotations

from sandbox.picqer.models import (
    Customer,
    CustomerAddress,
    OrderField,
    Product,
    Tag,
    VatGroup,
    Warehouse,
)
from sandbox.picqer.state import PicqerState

SOLD_OUT_SKU = "SOLDOUT-HOODIE-L"

# (productcode, name, price excl. VAT, weight in grams, stock in Main, stock in Overflow)
DEMO_PRODUCTS: tuple[tuple[str, str, float, int, int, int], ...] = (
    ("IPOD2008GREEN", "IPod Nano - 8gb - green", 199.00, 120, 50, 10),
    ("IPOD2008RED", "IPod Nano - 8gb - red", 199.00, 120, 50, 10),
    ("IPOD2008BLACK", "IPod Nano - 8gb - black", 199.00, 120, 50, 10),
    ("Bar3", "Ship Your Idea - Color: Black, Size: M", 12.00, 250, 40, 0),
    ("WS12-M-Orange", "Radiant Tee-M-Orange", 22.00, 180, 40, 0),
    ("240-LV08", "Advanced Pilates & Yoga (Strength)", 18.00, 100, 40, 0),
    ("24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086", "Sprite Yoga Companion Kit", 68.00, 2500, 20, 0),
    ("24-WG082-blue", "Sprite Stasis Ball 65 cm", 27.00, 1200, 40, 0),
    ("24-WG084", "Sprite Foam Yoga Brick", 5.00, 300, 40, 0),
    ("24-WG086", "Sprite Yoga Strap 8 foot", 17.00, 150, 40, 0),
    ("24-WG088", "Sprite Foam Roller", 19.00, 600, 40, 0),
    ("MH01-S-Gray", "Chaz Kangeroo Hoodie-S-Gray", 52.00, 700, 40, 5),
    ("TEE-BASIC-WHITE-M", "Basic Tee White M", 15.00, 160, 3, 2),
    (SOLD_OUT_SKU, "Sold-out Hoodie L", 49.00, 700, 0, 0),
    # the shop simulators' demo orders (appended, so the ids above stay as they were)
    ("TSHIRT-RED-M", "T-shirt red M", 16.49, 200, 40, 10),
    ("MUG-LOGO", "Mug with logo", 7.85, 350, 40, 10),
    ("24-WG080", "Sprite Stasis Ball 55 cm", 23.00, 1100, 20, 0),
)


def seed_demo(state: PicqerState) -> None:
    """Replace the state with the demo data (so seeding twice gives the same world)."""
    state.clear()
    for name, priority in (("Main", 1), ("Overflow", 2)):
        idwarehouse = state.next_id("warehouse")
        state.warehouses[idwarehouse] = Warehouse(idwarehouse=idwarehouse, name=name, priority=priority)
    main, overflow = sorted(state.warehouses)
    for name, percentage in (("Hoog (21%)", 21.0), ("Laag (9%)", 9.0), ("Geen (0%)", 0.0)):
        idvatgroup = state.next_id("vatgroup")
        state.vatgroups[idvatgroup] = VatGroup(idvatgroup=idvatgroup, name=name, percentage=percentage)
    high = min(state.vatgroups)
    idorderfield = state.next_id("orderfield")
    state.orderfields[idorderfield] = OrderField(idorderfield=idorderfield, title="Klantreferentie")
    for title, color in (
        ("Webshop", "#5993be"),
        ("Shopify", "#95bf47"),
        ("WooCommerce", "#7f54b3"),
        ("Magento", "#f26322"),
        ("Urgent", "#c62828"),
    ):
        idtag = state.next_id("tag")
        state.tags[idtag] = Tag(idtag=idtag, title=title, color=color, inherit=False)
    for code, name, price, weight, in_main, in_overflow in DEMO_PRODUCTS:
        idproduct = state.next_id("product")
        state.add_product(
            Product(
                idproduct=idproduct,
                productcode=code,
                name=name,
                price=price,
                idvatgroup=high,
                weight=weight,
                stock={main: in_main, overflow: in_overflow},
            )
        )
    idcustomer = state.next_id("customer")
    address = {
        "name": "Triangle B.V.",
        "contactname": "Jos Triepels",
        "address": "Koppeling 15",
        "address2": None,
        "zipcode": "6983 HX",
        "city": "Doesburg",
        "region": None,
        "country": "NL",
    }
    state.customers[idcustomer] = Customer(
        idcustomer=idcustomer,
        customerid=f"C{idcustomer}",
        name="Triangle B.V.",
        contactname="Jos Triepels",
        telephone="+31 313 000 000",
        emailaddress="orders@triangle.example",
        addresses=[
            CustomerAddress(state.next_id("customer_address"), dict(address), defaultdelivery=True),
            CustomerAddress(
                state.next_id("customer_address"),
                {**address, "contactname": "Crediteurenadministratie"},
                defaultinvoice=True,
            ),
        ],
    )
