"""Deterministic synthetic demo inputs for one real metro (central Columbus, Ohio).

See :func:`generate_demo`. Run ``python -m demo OUT_DIR --providers N``
for a manual run.
"""

from demo.generator import FILE_NAMES, DemoManifest, generate_demo
from demo.npi import is_valid_npi, npi_check_digit

__all__ = ["FILE_NAMES", "DemoManifest", "generate_demo", "is_valid_npi", "npi_check_digit"]
