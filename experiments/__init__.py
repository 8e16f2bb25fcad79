"""Experiments: reserved for A/B/n tests and bandits (not built yet); the layer between
content and delivery (docs/architecture.md).
"""
