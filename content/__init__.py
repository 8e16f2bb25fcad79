"""Content: placements with targeted variants, screens with screen-design variants, drafts,
immutable published revisions, schedules, the audit log and the admin preview.

`content.published` (the published configuration as plain data) and `content.resolution`
(which variant a visitor gets) are pure, shared by delivery and the preview.
Builds on segments and tenancy (docs/architecture.md).
"""
