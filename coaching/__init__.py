"""Coaching notes, QA reviews and rubrics, and who may see them."""
