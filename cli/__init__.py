"""The ``prm`` command line."""
