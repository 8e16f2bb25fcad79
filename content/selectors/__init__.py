"""Reads of the content app, one module per question: `revisions` (a slot's draft snapshot,
its revisions and diffs between them), `configuration` (what a site delivers, or would
deliver if its drafts were published), `schedules` and `audit`. Import from those modules.
"""
