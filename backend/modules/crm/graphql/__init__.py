"""CRM GraphQL, merged for the schema builder."""

from strawberry.tools import merge_types

from backend.modules.crm.graphql import customers, marketing, sales, service_desk, settings
from backend.modules.crm.graphql.types import (
    ActivityType,
    ContactType,
    CustomerType,
    OpportunityType,
    PipelineStageType,
)

_parts = (customers, sales, marketing, service_desk, settings)
Query = merge_types("CrmQuery", tuple(p.Query for p in _parts))
Mutation = merge_types("CrmMutation", tuple(p.Mutation for p in _parts))
types = [CustomerType, ContactType, OpportunityType, PipelineStageType, ActivityType, marketing.LeadType,
         marketing.CampaignType, service_desk.CaseType]
node_sources = [source for p in _parts for source in getattr(p, "node_sources", ())]
