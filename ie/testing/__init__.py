"""Test helpers for ie and for plugin authors (the pytest fixtures are in :mod:`ie.testing.fixtures`)."""
