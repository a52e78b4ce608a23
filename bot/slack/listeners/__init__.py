"""Bolt listeners, one module per kind, each with register(app, deps)."""
