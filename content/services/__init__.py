"""Writes of the content app, one module per question: `drafts` (slots, variants and the
design schema as editors change them), `publishing` (revisions, unpublishing, rollback,
schedules) and `audit` (the log both of them write). Import from those modules.
"""
