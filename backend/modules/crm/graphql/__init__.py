"""CRM GraphQL, merged for the schema builder."""

from strawberry.tools import merge_types

from backend.modules.crm.graphql import customers, sales
from backend.modules.crm.graphql.types import (
    ActivityType,
    ContactType,
    CustomerType,
    OpportunityType,
    PipelineStageType,
)

Query = merge_types("CrmQuery", (customers.Query, sales.Query))
Mutation = merge_types("CrmMutation", (customers.Mutation, sales.Mutation))
types = [CustomerType, ContactType, OpportunityType, PipelineStageType, ActivityType]
node_sources = [*customers.node_sources, *sales.node_sources]
