"""The CRM's public operations: what other modules (and the CRM's GraphQL) call.

    from backend.modules.crm import service as crm
"""

from backend.modules.crm.activities import complete_activity, create_activity
from backend.modules.crm.customers import (
    CustomerFields,
    CustomerFilter,
    archive_customer,
    create_contact,
    create_customer,
    customers_query,
    find_duplicate,
    get_customer,
    update_contact,
    update_customer,
)
from backend.modules.crm.pipeline import (
    create_opportunity,
    get_opportunity,
    get_stage,
    list_stages,
    lose,
    move_stage,
    seed_stages,
    win,
)
from backend.modules.crm.report import CrmReport, crm_report

__all__ = [
    "CrmReport",
    "CustomerFields",
    "CustomerFilter",
    "archive_customer",
    "complete_activity",
    "create_activity",
    "create_contact",
    "create_customer",
    "create_opportunity",
    "crm_report",
    "customers_query",
    "find_duplicate",
    "get_customer",
    "get_opportunity",
    "get_stage",
    "list_stages",
    "lose",
    "move_stage",
    "seed_stages",
    "update_contact",
    "update_customer",
    "win",
]
