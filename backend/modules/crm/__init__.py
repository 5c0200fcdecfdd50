"""CRM: customers and contacts, the sales pipeline, activities and the customer timeline."""

from backend.modules.registry import ModuleSpec

MODULE = ModuleSpec(
    name="crm",
    title="Customers (CRM)",
    permissions=(
        "crm.read",  # customers, contacts, pipeline, activities, timeline, reports
        "crm.write",  # create and change them
        "crm.admin",  # pipeline stages and CRM settings
    ),
    description="Customers and contacts, leads and the opportunity pipeline, activities, the customer timeline.",
)
