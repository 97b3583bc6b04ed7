"""Entity resolution into golden records: link runs, review decisions, provider edits."""
