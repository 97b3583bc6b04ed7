"""API keys, browser sessions, the audit log, privacy requests."""
