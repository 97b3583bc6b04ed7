"""Deterministic synthetic demo inputs for one real metro (central Columbus, Ohio).

See :func:`generate_demo`. Run ``python -m demo OUT_DIR --providers N``
for a manual run.
"""

from demo.generator import FILE_NAMES, DemoManifest, generate_demo

__all__ = ["FILE_NAMES", "DemoManifest", "generate_demo"]
