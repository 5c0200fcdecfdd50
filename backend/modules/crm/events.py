"""Events the CRM emits."""

from backend.core.events import event_type

CUSTOMER_CREATED = event_type(
    "customer.created", module="crm", description="A customer was created.",
    payload={"customerId": "Customer ID", "name": "name", "kind": "COMPANY or PERSON", "email": "email or null",
             "status": "lifecycle status"})
CUSTOMER_UPDATED = event_type(
    "customer.updated", module="crm", description="A customer's details changed.",
    payload={"customerId": "Customer ID", "changed": "names of the fields that changed"})
CUSTOMER_ARCHIVED = event_type(
    "customer.archived", module="crm", description="A customer was archived (kept, hidden from lists).",
    payload={"customerId": "Customer ID"})
CONTACT_CREATED = event_type(
    "contact.created", module="crm", description="A contact was added to a customer.",
    payload={"contactId": "Contact ID", "customerId": "Customer ID", "name": "name", "email": "email or null"})
OPPORTUNITY_CREATED = event_type(
    "opportunity.created", module="crm", description="An opportunity was opened.",
    payload={"opportunityId": "Opportunity ID", "customerId": "Customer ID", "name": "name",
             "amount": "decimal string", "currencyCode": "ISO 4217", "stage": "stage name"})
OPPORTUNITY_STAGE_CHANGED = event_type(
    "opportunity.stage_changed", module="crm", description="An open opportunity moved to another stage.",
    payload={"opportunityId": "Opportunity ID", "customerId": "Customer ID", "from": "previous stage name",
             "to": "new stage name"})
OPPORTUNITY_WON = event_type(
    "opportunity.won", module="crm", description="An opportunity was won.",
    payload={"opportunityId": "Opportunity ID", "customerId": "Customer ID", "amount": "decimal string",
             "currencyCode": "ISO 4217", "name": "the opportunity's name",
             "draftOrder": "null, or {lines: [{productId, quantity, unitPrice}]} for the orders module to create"})
OPPORTUNITY_LOST = event_type(
    "opportunity.lost", module="crm", description="An opportunity was lost.",
    payload={"opportunityId": "Opportunity ID", "customerId": "Customer ID", "reason": "why"})
ACTIVITY_CREATED = event_type(
    "activity.created", module="crm", description="A call, email, meeting, task or note was logged or planned.",
    payload={"activityId": "Activity ID", "kind": "CALL, EMAIL, MEETING, TASK or NOTE", "subject": "subject",
             "customerId": "Customer ID or null", "dueAt": "ISO 8601 or null"})
ACTIVITY_COMPLETED = event_type(
    "activity.completed", module="crm", description="An activity was completed.",
    payload={"activityId": "Activity ID", "customerId": "Customer ID or null", "subject": "subject"})
LEAD_CREATED = event_type(
    "lead.created", module="crm", description="A lead was recorded.",
    payload={"leadId": "Lead ID", "name": "name", "company": "company or null", "email": "email or null",
             "source": "source or null", "campaignId": "Campaign ID or null"})
LEAD_CONVERTED = event_type(
    "lead.converted", module="crm", description="A lead became a customer (and contact, and maybe an opportunity).",
    payload={"leadId": "Lead ID", "customerId": "Customer ID", "contactId": "Contact ID",
             "opportunityId": "Opportunity ID or null"})
CAMPAIGN_MEMBER_ADDED = event_type(
    "campaign.member_added", module="crm", description="A customer was added to a campaign.",
    payload={"campaignId": "Campaign ID", "name": "campaign name", "customerId": "Customer ID"})
CASE_CREATED = event_type(
    "case.created", module="crm", description="A service case was opened.",
    payload={"caseId": "Case ID", "customerId": "Customer ID", "subject": "subject", "priority": "priority",
             "channel": "channel"})
CASE_REPLIED = event_type(
    "case.replied", module="crm", description="A public reply was added to a case.",
    payload={"caseId": "Case ID", "customerId": "Customer ID", "subject": "subject"})
CASE_RESOLVED = event_type(
    "case.resolved", module="crm", description="A case was resolved.",
    payload={"caseId": "Case ID", "customerId": "Customer ID", "subject": "subject"})
CASE_CLOSED = event_type(
    "case.closed", module="crm", description="A case was closed.",
    payload={"caseId": "Case ID", "customerId": "Customer ID", "subject": "subject"})
CUSTOMERS_IMPORTED = event_type(
    "customers.imported", module="crm", description="A CSV import of customers finished (one event per import).",
    payload={"created": "customers created", "updated": "existing customers updated (same email or reference)",
             "skipped": "invalid rows left out"})
CUSTOMER_MERGED = event_type(
    "customer.merged", module="crm",
    description="A duplicate customer was merged into another; everything it had now belongs to the survivor. "
                "Modules that keep customer references move theirs when they see this event.",
    payload={"customerId": "the surviving Customer ID", "mergedCustomerId": "the merged (now archived) Customer ID",
             "name": "the merged customer's name"})
LEADS_IMPORTED = event_type(
    "leads.imported", module="crm", description="A CSV import of leads finished (one event per import).",
    payload={"created": "leads created", "updated": "open leads updated (same email)", "skipped": "invalid rows"})
CONTACTS_IMPORTED = event_type(
    "contacts.imported", module="crm", description="A CSV import of contacts finished (one event per import).",
    payload={"created": "contacts created", "updated": "existing contacts updated (same ID, or same email at the "
             "same customer)", "skipped": "invalid rows"})
