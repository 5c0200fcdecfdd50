"""Jishi: a multi-tenant CRM, OMS and ERP backend behind one async GraphQL API."""
