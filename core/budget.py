"""Chunk sizes from the memory budget (``memory_budget_mb``), one rule for every chunked stage."""

from __future__ import annotations


def records_per_chunk(memory_budget_mb: int) -> int:
    """Records read, built and written per chunk for a memory budget (about 16 KB each)."""
    return max(1, memory_budget_mb * 64)
