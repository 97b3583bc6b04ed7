"""The service layer: the one place where transactions begin and end.

CLI commands and API routes call functions here; each public function that
writes runs its data changes in exactly one transaction
(``with ctx.sessions.begin() as session``), so a failure leaves stored data as
it was. Load batches record their start and failure in transactions of their
own, around that one (:mod:`service.ingest.batches`). Domain packages below (``enrichment``,
``territories``, ``prospects``, ``geo``) are pure functions over DataFrames.
"""
