"""Loading files: registry and clinic readers run as batches, uploads, deactivations, code sets, groups, sites."""
