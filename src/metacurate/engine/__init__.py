"""Engines schedule tasks; the tasks themselves live in ``tasks.py`` and know nothing of where
they run."""
