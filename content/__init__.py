"""The content app: placements and screens (slots), their segment-targeted variants, and the
publishing workflow (revisions, rollback, schedules, audit) that decides what delivery serves.
It also owns the published configuration as plain data and the resolution that picks a
visitor's variant, which delivery and the admin preview share.
"""
