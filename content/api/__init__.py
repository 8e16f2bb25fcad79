"""The content management API (`/api/v1/`): placements, screens, their variants, publishing,
revisions, schedules, the audit log and design schemas, scoped to the user's sites.
"""
