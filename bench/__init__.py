"""Benchmarks: ``python -m bench`` (or ``./dev bench``); never run as unit tests."""
