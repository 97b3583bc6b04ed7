"""Geography: H3 grid, distances, road networks and offline geocoding.

Modules: :mod:`geo.h3grid` (the only h3 caller), :mod:`geo.distance`,
:mod:`geo.roads` (osmnx drive graphs from local OSM files) and
:mod:`geo.geocode` (street-level geocoding on the loaded extract, ZIP
centroid fallback). Import from the modules; this package imports nothing so
that ``import geo`` stays cheap (osmnx is slow to import).
"""
