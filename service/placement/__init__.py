"""Where things are: geocoding, catchments, drive times, map-side road data."""
