"""Inventory file endpoints: CSV import of products and of opening stock.

    POST /inventory/import/products?mode=all_or_nothing|skip_invalid&dryRun=true   (body: text/csv, UTF-8)
         columns sku, name, type, unit, unit_price, cost, category, barcode, tax_category, description,
         image_url; optional mapping ?map=Article%20No:sku
    POST /inventory/import/stock?idempotencyKey=opening-2026 (same parameters; columns sku, warehouse,
         quantity, unit_cost)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.api.rest import csv_upload
from backend.modules.inventory.imports import import_products, import_stock


async def import_products_endpoint(request: Request) -> Response:
    return await csv_upload(request, import_products, module="inventory", permission="inventory.write")


async def import_stock_endpoint(request: Request) -> Response:
    return await csv_upload(request, import_stock, module="inventory", permission="inventory.write")


routes = [
    Route("/inventory/import/products", import_products_endpoint, methods=["POST"]),
    Route("/inventory/import/stock", import_stock_endpoint, methods=["POST"]),
]
