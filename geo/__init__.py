"""Geography: H3 grid, distances, road networks, drive times and offline geocoding.

Modules: :mod:`geo.h3grid` (the only h3 caller), :mod:`geo.distance`,
:mod:`geo.roads` (osmnx drive graphs from local OSM files),
:mod:`geo.road_router` (the one road router, searched by
:mod:`geo.bucket_search`), :mod:`geo.drive_times` (the one rule for the drive
time between points, estimated by :mod:`geo.fallback` where no road answers)
and :mod:`geo.geocode` (street-level geocoding on the loaded extract, ZIP
centroid fallback). Import from the modules; this package imports nothing so
that ``import geo`` stays cheap (osmnx is slow to import).
"""
