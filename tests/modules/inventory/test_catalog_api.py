"""Products and categories over HTTP: create, validate, search, archive, and other tenants' IDs."""

from __future__ import annotations

import pytest

from tests.modules.inventory.conftest import INVENTORY_PERMISSIONS

CREATE = """mutation($in: ProductCreateInput!) { productCreate(input: $in) {
  product { id sku name type unit unitPrice { amount currencyCode } cost { amount } active category { name }
            customFields stockLevels { onHand } }
  userErrors { field code message } } }"""
UPDATE = """mutation($in: ProductUpdateInput!) { productUpdate(input: $in) {
  product { id sku name unit barcode unitPrice { amount } category { name } } userErrors { field code } } }"""
CATEGORY = """mutation($in: ProductCategoryCreateInput!) { productCategoryCreate(input: $in) {
  category { id name parent { name } } userErrors { field code } } }"""
SEARCH = """query($f: ProductFilter, $s: ProductSort) { products(first: 50, filter: $f, sort: $s) {
  totalCount nodes { sku name } } }"""


class Client:
    def __init__(self, gql, tenant, permissions=INVENTORY_PERMISSIONS) -> None:  # type: ignore[no-untyped-def]
        self.gql, self.tenant, self.permissions = gql, tenant, permissions

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        return await self.gql(query, variables, tenant=self.tenant, permissions=self.permissions)

    async def product(self, **fields) -> dict:  # type: ignore[no-untyped-def]
        fields.setdefault("name", f"Product {fields['sku']}")
        fields.setdefault("unitPrice", "10")
        return (await self(CREATE, {"in": fields}))["data"]["productCreate"]

    async def category(self, name: str, parent: str | None = None) -> str:
        made = (await self(CATEGORY, {"in": {"name": name, "parentId": parent}}))["data"]["productCategoryCreate"]
        assert made["userErrors"] == [], made
        return made["category"]["id"]


@pytest.fixture
async def inv(gql, make_tenant) -> Client:  # type: ignore[no-untyped-def]
    return Client(gql, await make_tenant())


async def test_create_update_archive_and_restore(inv: Client):
    tea = await inv.category("Tea")
    made = await inv.product(sku="LJ-250", name="Longjing 250 g", unitPrice="128.5", cost="60", unit="kg",
                                categoryId=tea)
    p = made["product"]
    assert made["userErrors"] == []
    assert (p["type"], p["unit"], p["unitPrice"], p["cost"]["amount"], p["category"]["name"], p["stockLevels"]) == (
        "STOCKED", "kg", {"amount": "128.50", "currencyCode": "USD"}, "60.00", "Tea", [])
    r = await inv(UPDATE, {"in": {"id": p["id"], "name": "West Lake Longjing", "barcode": "6901234567892",
                                     "unitPrice": "139"}})
    updated = r["data"]["productUpdate"]["product"]
    assert (updated["name"], updated["barcode"], updated["unitPrice"]["amount"]) == (
        "West Lake Longjing", "6901234567892", "139.00")
    r = await inv(UPDATE, {"in": {"id": p["id"], "categoryId": None, "barcode": None}})
    assert r["data"]["productUpdate"]["product"]["category"] is None
    assert r["data"]["productUpdate"]["product"]["barcode"] is None
    r = await inv("mutation($id: ID!) { productArchive(input: {id: $id}) { product { active } } }", {"id": p["id"]})
    assert r["data"]["productArchive"]["product"]["active"] is False
    assert (await inv(SEARCH, {}))["data"]["products"]["totalCount"] == 0
    assert (await inv(SEARCH, {"f": {"includeArchived": True}}))["data"]["products"]["totalCount"] == 1
    r = await inv("mutation($id: ID!) { productRestore(input: {id: $id}) { product { active } } }", {"id": p["id"]})
    assert r["data"]["productRestore"]["product"]["active"] is True


async def test_bad_input_is_refused_and_nothing_written(inv: Client):
    assert (await inv.product(sku="OK-1"))["userErrors"] == []
    for fields, code, field in [
        ({"sku": "OK-1"}, "DUPLICATE_SKU", "sku"),
        ({"sku": "BAD 1"}, "INVALID_SKU", "sku"),
        ({"sku": "  "}, "REQUIRED", "sku"),
        ({"sku": "U-1", "unit": "furlong"}, "UNKNOWN_UNIT", "unit"),
        ({"sku": "P-1", "unitPrice": "-1"}, "NEGATIVE_AMOUNT", "unitPrice"),
        ({"sku": "C-1", "cost": "-0.01"}, "NEGATIVE_AMOUNT", "cost"),
        ({"sku": "I-1", "imageUrl": "javascript:alert(1)"}, "INVALID_URL", "imageUrl"),
        ({"sku": "K-1", "categoryId": "bogus"}, "NOT_FOUND", "categoryId"),
        ({"sku": "F-1", "customFields": {"nope": 1}}, "UNKNOWN_CUSTOM_FIELD", "customFields"),
    ]:
        made = await inv.product(**fields)
        assert made["product"] is None, fields
        assert made["userErrors"][0]["code"] == code, made
        assert made["userErrors"][0]["field"][:2] == ["input", field], made
    assert (await inv(SEARCH, {}))["data"]["products"]["totalCount"] == 1


async def test_search_by_sku_barcode_typo_category_tree_and_custom_fields(inv: Client):
    r = await inv("""mutation { customFieldDefine(input: {entity: "inventory.product", key: "origin",
        label: "Origin", type: TEXT}) { userErrors { code } } }""")
    assert r["data"]["customFieldDefine"]["userErrors"] == [], r
    tea = await inv.category("Tea")
    green = await inv.category("Green tea", parent=tea)
    await inv.product(sku="LJ-1", name="Longjing green tea", categoryId=green, customFields={"origin": "Hangzhou"})
    await inv.product(sku="TGY-1", name="Tieguanyin oolong", categoryId=tea, barcode="6900000000017",
                         customFields={"origin": "Fujian"})
    await inv.product(sku="CUP-1", name="Celadon cup")

    async def skus(**flt) -> list[str]:  # type: ignore[no-untyped-def]
        r = await inv(SEARCH, {"f": flt, "s": {"field": "SKU"}})
        return [n["sku"] for n in r["data"]["products"]["nodes"]]

    assert await skus(query="TGY-1") == ["TGY-1"]
    assert await skus(query="6900000000017") == ["TGY-1"]
    assert await skus(query="Longjnig") == ["LJ-1"]  # typo-tolerant
    assert await skus(categoryId=tea) == ["LJ-1", "TGY-1"]  # with subcategories
    assert await skus(categoryId=green) == ["LJ-1"]
    assert await skus(customFields={"origin": "Fujian"}) == ["TGY-1"]
    r = await inv(SEARCH, {"f": {"customFields": {"colour": "green"}}})
    assert r["errors"][0]["extensions"]["code"] == "UNKNOWN_CUSTOM_FIELD"


async def test_category_tree_refuses_cycles(inv: Client):
    tea = await inv.category("Tea")
    green = await inv.category("Green", parent=tea)
    r = await inv("""mutation($in: ProductCategoryUpdateInput!) { productCategoryUpdate(input: $in) {
        category { name } userErrors { field code } } }""", {"in": {"id": tea, "parentId": green}})
    assert r["data"]["productCategoryUpdate"]["userErrors"] == [{"field": ["input", "parentId"], "code": "CYCLE"}]
    dup = (await inv(CATEGORY, {"in": {"name": "green", "parentId": tea}}))["data"]["productCategoryCreate"]
    assert dup["userErrors"][0]["code"] == "DUPLICATE_NAME"


async def test_another_tenants_products_and_categories_are_invisible(gql, make_tenant):
    a, b = Client(gql, await make_tenant()), Client(gql, await make_tenant())
    cat = await a.category("A's category")
    product = (await a.product(sku="A-1", categoryId=cat))["product"]["id"]
    r = await b("query($id: ID!) { node(id: $id) { id } }", {"id": product})
    assert r["data"]["node"] is None
    assert (await b(SEARCH, {}))["data"]["products"]["totalCount"] == 0
    r = await b(UPDATE, {"in": {"id": product, "name": "stolen"}})
    assert r["data"]["productUpdate"]["userErrors"][0]["code"] == "NOT_FOUND"
    made = await b.product(sku="B-1", categoryId=cat)  # referencing A's category
    assert made["userErrors"][0]["code"] == "NOT_FOUND" and made["userErrors"][0]["field"] == ["input", "categoryId"]
    r = await b("mutation($id: ID!) { productArchive(input: {id: $id}) { userErrors { code } } }", {"id": product})
    assert r["data"]["productArchive"]["userErrors"][0]["code"] == "NOT_FOUND"
    r = await a("query($id: ID!) { node(id: $id) { ... on Product { name active } } }", {"id": product})
    assert r["data"]["node"] == {"name": "Product A-1", "active": True}


async def test_module_disabled_and_permissions(gql, make_tenant):
    crm_only = Client(gql, await make_tenant(plan="free"))
    r = await crm_only(SEARCH, {})
    assert r["errors"][0]["extensions"] == {"code": "MODULE_DISABLED", "module": "inventory"}
    reader = Client(gql, await make_tenant(), permissions=("inventory.read",))
    r = await reader(CREATE, {"in": {"sku": "X", "name": "X", "unitPrice": "1"}})
    assert r["errors"][0]["extensions"] == {"code": "FORBIDDEN", "permission": "inventory.write"}
