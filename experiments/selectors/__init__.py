"""Reads of the experiments app: `experiments` (lists, conflicts, setup warnings)."""
