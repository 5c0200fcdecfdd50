"""Events the inventory module emits. Stock events carry quantities and values (at the moving
average cost of the moment) so that finance can post them without reading inventory's tables."""

from backend.core.events import event_type

_LINE = "{productId, warehouseId, quantity (signed decimal string), unitCost, value}"

PRODUCT_CREATED = event_type(
    "product.created", module="inventory", description="A product was added to the catalog.",
    payload={"productId": "Product ID", "sku": "SKU", "name": "name", "type": "STOCKED, SERVICE or CONSUMABLE"})
PRODUCT_UPDATED = event_type(
    "product.updated", module="inventory", description="A product's details changed.",
    payload={"productId": "Product ID", "changed": "names of the fields that changed"})
PRODUCT_ARCHIVED = event_type(
    "product.archived", module="inventory", description="A product was archived (kept with its history).",
    payload={"productId": "Product ID"})
WAREHOUSE_CREATED = event_type(
    "warehouse.created", module="inventory", description="A warehouse was added.",
    payload={"warehouseId": "Warehouse ID", "code": "code", "name": "name"})
STOCK_ADJUSTED = event_type(
    "stock.adjusted", module="inventory", description="Stock was corrected by hand or by a count.",
    payload={"reason": "why", "moves": f"list of {_LINE}", "value": "total value of the change (signed)",
             "currencyCode": "ISO 4217"})
STOCK_RECEIVED = event_type(
    "stock.received", module="inventory", description="Goods were received into a warehouse.",
    payload={"sourceId": "the receiving document's global ID or null", "moves": f"list of {_LINE}",
             "value": "value received", "currencyCode": "ISO 4217"})
STOCK_TRANSFERRED = event_type(
    "stock.transferred", module="inventory", description="Stock moved between two warehouses.",
    payload={"productId": "Product ID", "fromWarehouseId": "Warehouse ID", "toWarehouseId": "Warehouse ID",
             "quantity": "decimal string"})
STOCK_SHIPPED = event_type(
    "stock.shipped", module="inventory", description="Reserved stock left a warehouse (a shipment).",
    payload={"reference": "the document's global ID (an order)", "sourceId": "the shipment's global ID or null",
             "moves": f"list of {_LINE}", "value": "cost of the goods shipped (positive)",
             "currencyCode": "ISO 4217"})
STOCK_RETURNED = event_type(
    "stock.returned", module="inventory", description="Returned goods were put back into stock.",
    payload={"sourceId": "the return's global ID or null", "moves": f"list of {_LINE}", "value": "value restocked",
             "currencyCode": "ISO 4217"})
PRODUCTS_IMPORTED = event_type(
    "products.imported", module="inventory", description="Products were imported from a CSV file.",
    payload={"created": "products created", "updated": "products updated", "skipped": "invalid rows"})
