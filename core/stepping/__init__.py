"""Stepping through training: the Session's phases, undo and status, and the run's history."""
