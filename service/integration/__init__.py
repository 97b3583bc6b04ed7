"""Outgoing integrations: signed webhooks, their outbound transport, FHIR."""
