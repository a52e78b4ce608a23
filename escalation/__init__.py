"""Escalations: queues, rotations, overrides, policies and the sweeper."""
