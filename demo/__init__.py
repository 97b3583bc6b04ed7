"""Deterministic synthetic demo inputs for one real metro (central Columbus, Ohio).

See :func:`generate_demo`. Run ``python -m demo OUT_DIR --providers N``
for a manual run.

The generator is loaded on first use, so importing one of its word lists
(``demo.name_pools``, as the benchmarks' own generators do) does not load the
product's normalisers the demo's addresses are checked with.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FILE_NAMES", "DemoManifest", "generate_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from demo import generator

        return getattr(generator, name)
    raise AttributeError(f"module 'demo' has no attribute {name!r}")
