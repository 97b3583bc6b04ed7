"""Liaison territories and expansion scenarios."""
