"""Registry readers, normalisation, entity resolution and golden records.

Modules: :mod:`~enrichment.records` (standard source-record schema, ``ReadResult``),
:mod:`~enrichment.nppes` / :mod:`~enrichment.nppes_layout` (NPPES npidata_pfile),
:mod:`~enrichment.nucc` (taxonomy code set), :mod:`~enrichment.referrers` (the clinic's
referrer list; names, addresses and postal codes through :mod:`core.text` and
:mod:`core.country`), :mod:`~enrichment.link_settings` and
:mod:`~enrichment.linker` (Fellegi-Sunter matching with rapidfuzz), :mod:`~enrichment.golden`.
"""
