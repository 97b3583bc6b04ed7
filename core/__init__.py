"""Cross-cutting foundations: settings, the exception hierarchy and progress reporting.

Every other package may import ``core``; ``core`` imports none of them.
"""
