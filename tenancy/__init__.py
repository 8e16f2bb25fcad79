"""Tenancy, the bottom layer: sites, API keys (stored as SHA-256 digests) and per-site roles
(django-guardian object permissions), API-key authentication, site scoping of the management
API and the admin, and the one error envelope every API answers with.

Imports no other app of the project (docs/architecture.md).
"""
