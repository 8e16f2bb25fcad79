"""Roles per site. A role is a named set of object permissions on a Site (django-guardian).

Permission checks everywhere ask guardian (`user.has_perm(perm, site)`); the SiteRole rows
are the record of who was granted which role, and services keep the two in step.
"""

from enum import StrEnum


class Perm(StrEnum):
    VIEW = "view_site_data"
    EDIT_CONTENT = "edit_content"
    PUBLISH_CONTENT = "publish_content"
    MANAGE_SEGMENTS = "manage_segments"
    MANAGE_EXPERIMENTS = "manage_experiments"
    MANAGE_SITE = "manage_site"

    @property
    def qualified(self) -> str:
        return f"tenancy.{self.value}"


SITE_PERMISSIONS: list[tuple[str, str]] = [
    (Perm.VIEW, "Read everything of the site"),
    (Perm.EDIT_CONTENT, "Edit content drafts"),
    (Perm.PUBLISH_CONTENT, "Publish, schedule and roll back content"),
    (Perm.MANAGE_SEGMENTS, "Manage fields and segments"),
    (Perm.MANAGE_EXPERIMENTS, "Manage experiments"),
    (Perm.MANAGE_SITE, "Manage the site's settings, API keys and roles"),
]


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    MARKETER = "marketer"
    PUBLISHER = "publisher"
    SITE_ADMIN = "site_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.VIEWER: "Viewer",
    Role.EDITOR: "Editor (content drafts)",
    Role.MARKETER: "Marketer (segments and experiments)",
    Role.PUBLISHER: "Publisher (publishes content)",
    Role.SITE_ADMIN: "Site admin",
}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.VIEWER: frozenset({Perm.VIEW}),
    Role.EDITOR: frozenset({Perm.VIEW, Perm.EDIT_CONTENT}),
    Role.MARKETER: frozenset({Perm.VIEW, Perm.MANAGE_SEGMENTS, Perm.MANAGE_EXPERIMENTS}),
    Role.PUBLISHER: frozenset({Perm.VIEW, Perm.EDIT_CONTENT, Perm.PUBLISH_CONTENT}),
    Role.SITE_ADMIN: frozenset(Perm),
}
