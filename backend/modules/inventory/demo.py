"""Demo catalog: a tea and teaware trading company with a few hundred products in two warehouses,
opening stock received at cost, a count correction, a transfer and stock held for an order.

Everything goes through the services, so the stock ledger, average costs and events are real.
``session.info["demo_scale"]`` (customers; products are 1.5 times that) keeps tests small.
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.modules.inventory import service as inventory
from backend.modules.platform import service as platform

# category -> (unit, price range, products named from these words)
CATALOG = {
    "Tea": ("kg", (120, 1800), ["Longjing", "Tieguanyin", "Pu'er", "Da Hong Pao", "Jasmine", "Bi Luo Chun",
                                "Keemun", "White Peony", "Silver Needle", "Oolong"]),
    "Teaware": ("unit", (35, 900), ["Gaiwan", "Yixing teapot", "Tea tray", "Fairness cup", "Tea cup set",
                                    "Strainer", "Tea caddy", "Kettle"]),
    "Gift sets": ("box", (160, 1200), ["Festival gift box", "Tasting set", "Mid-Autumn hamper", "Spring Festival set"]),
    "Snacks": ("pack", (12, 80), ["Mooncake", "Sesame candy", "Dried plum", "Walnut cake", "Peanut brittle"]),
}
GRADES = ["Classic", "Premium", "Reserve", "Everyday", "Imperial", "Mountain", "Harvest"]


async def seed(session: AsyncSession) -> None:
    rng = random.Random(20261130)
    count = max(8, int(session.info.get("demo_scale", 200)) * 3 // 2)
    main = await inventory.ensure_default_warehouse(session)
    await inventory.update_warehouse(session, warehouse_id=main.id, name="Hangzhou main warehouse",
                                     address={"city": "Hangzhou", "country": "CN"})
    south = await inventory.create_warehouse(session, code="SZ", name="Shenzhen warehouse", priority=20,
                                             address={"city": "Shenzhen", "country": "CN"})
    await platform.define_field(session, entity="inventory.product", key="origin", label="Origin", type="text")
    root = await inventory.create_category(session, name="All products")
    categories = {name: await inventory.create_category(session, name=name, parent_id=root.id) for name in CATALOG}
    products = []
    names = list(CATALOG)
    for i in range(count):
        category = names[i % len(names)]
        unit, (low, high), words = CATALOG[category]
        price = Decimal(rng.randint(low, high))
        product = await inventory.create_product(session, values=inventory.ProductFields(
            sku=f"{category[:3].upper()}-{i + 1:04d}", name=f"{rng.choice(GRADES)} {rng.choice(words)} {i + 1}",
            type="stocked", unit=unit, list_price=price, cost=(price * Decimal("0.55")).quantize(Decimal("0.01")),
            category_id=categories[category].id, tax_category="standard",
            barcode=f"69{rng.randint(10**10, 10**11 - 1)}",
            custom_fields={"origin": rng.choice(["Hangzhou", "Fujian", "Yunnan", "Jingdezhen", "Yixing"])}))
        products.append(product)
    await inventory.create_product(session, values=inventory.ProductFields(
        sku="SVC-TASTING", name="Tea tasting session (2 hours)", type="service", unit="hour",
        list_price=Decimal(380), tax_category="services", category_id=root.id))
    lines = []
    for n, product in enumerate(products):
        for warehouse, share in ((main, 1), (south, 2)):
            if (n < 2 and warehouse is main) or rng.random() < 0.8 / share:
                quantity = Decimal(rng.randint(5, 120)) if product.unit != "kg" else Decimal(rng.randint(5, 60))
                cost = (product.cost * Decimal(rng.choice(["0.95", "1", "1.05"]))).quantize(Decimal("0.01"))
                lines.append(inventory.ReceiptLine(product.id, warehouse.id, quantity, cost))
    await inventory.receive_stock(session, lines=lines, reason="Opening stock", idempotency_key="demo-opening-stock")
    first = products[0]
    await inventory.adjust_stock(session, product_id=first.id, warehouse_id=main.id, quantity_delta=Decimal(-2),
                                 reason="Cycle count: damaged in storage", idempotency_key="demo-count-1")
    await inventory.transfer_stock(session, product_id=first.id, from_warehouse_id=main.id,
                                   to_warehouse_id=south.id, quantity=Decimal(1), reason="Rebalance for the south")
    await inventory.reserve_stock(session, reference="demo-order-1", allow_partial=True, lines=[
        inventory.ReserveLine(first.id, Decimal(2), line="demo-order-1/1"),
        inventory.ReserveLine(products[1].id, Decimal(1), line="demo-order-1/2")])
    # A posted cycle count of the teaware shelf, and an open one for the south.
    shelf = await inventory.create_count(session, warehouse_id=main.id, name="Teaware shelf, November",
                                         category_id=categories["Teaware"].id)
    on_shelf = [p for p in products if p.category_id == categories["Teaware"].id][:3]
    levels = await inventory.levels_for(session, [(p.id, main.id) for p in on_shelf])
    await inventory.set_counted(session, count_id=shelf.id, lines=[
        (p.id, max(levels[(p.id, main.id)].on_hand - n, levels[(p.id, main.id)].reserved))
        for n, p in enumerate(on_shelf)])
    await inventory.post_count(session, count_id=shelf.id)
    await inventory.create_count(session, warehouse_id=south.id, name="Shenzhen full count",
                                 product_ids=[p.id for p in products[:5]])
    # Reorder rules for the best sellers, and price lists (wholesale for some customers).
    for product in products[:10]:
        await inventory.set_reorder_rule(session, product_id=product.id, warehouse_id=main.id, minimum=Decimal(20),
                                         maximum=Decimal(80), multiple=Decimal(10))
    wholesale = await inventory.create_price_list(session, name="Wholesale")
    await inventory.create_price_list(session, name="Staff")
    await inventory.set_prices(session, price_list_id=wholesale.id, prices=[
        inventory.PriceInput(p.id, (p.list_price * Decimal("0.8")).quantize(Decimal("0.01")))
        for p in products[:20]] + [inventory.PriceInput(products[0].id, (products[0].list_price * Decimal("0.7"))
                                                        .quantize(Decimal("0.01")), min_quantity=Decimal(10))])
    if await platform.is_module_enabled(session, "crm"):
        from backend.modules.crm import service as crm

        tenant_id = session.info["tenant_id"]
        customers = list((await session.execute(crm.customers_query(tenant_id, None).limit(3))).all())
        await inventory.assign_customers(session, price_list_id=wholesale.id, customer_ids=[c.id for c in customers])
