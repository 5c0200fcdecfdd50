"""The CRM's public operations: what other modules (and the CRM's GraphQL) call.

    from backend.modules.crm import service as crm
"""

from backend.modules.crm.activities import complete_activity, create_activity
from backend.modules.crm.cases import (
    assign_case,
    breached,
    close_case,
    comment_case,
    create_case,
    get_case,
    resolve_case,
    settings_for,
)
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
from backend.modules.crm.leads import (
    CampaignResults,
    Conversion,
    add_members,
    campaign_results,
    convert_lead,
    create_campaign,
    create_lead,
    get_campaign,
    get_lead,
    set_lead_status,
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
    "CampaignResults",
    "Conversion",
    "CrmReport",
    "CustomerFields",
    "CustomerFilter",
    "add_members",
    "archive_customer",
    "assign_case",
    "breached",
    "campaign_results",
    "close_case",
    "comment_case",
    "complete_activity",
    "convert_lead",
    "create_activity",
    "create_campaign",
    "create_case",
    "create_contact",
    "create_customer",
    "create_lead",
    "create_opportunity",
    "crm_report",
    "customers_query",
    "find_duplicate",
    "get_campaign",
    "get_case",
    "get_customer",
    "get_lead",
    "get_opportunity",
    "get_stage",
    "list_stages",
    "lose",
    "move_stage",
    "resolve_case",
    "seed_stages",
    "set_lead_status",
    "settings_for",
    "update_contact",
    "update_customer",
    "win",
]
