"""Territories: catchments around clinic sites (:mod:`territories.catchments`)."""
