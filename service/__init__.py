"""The service layer: the one place where transactions begin and end.

CLI commands and API routes call functions here; each public function that
writes runs in exactly one transaction (see :func:`data.db.transaction`), so a
failure leaves stored data as it was. Domain packages below (``enrichment``,
``territories``, ``prospects``, ``geo``) are pure functions over DataFrames.
"""
