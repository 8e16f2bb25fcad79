"""The content app's models, one module per question: `slots` (placements, screens and their
kinds), `design_schema` (what a site's screen designs must satisfy), `variants` (the segment-
targeted versions of a slot), `translations` (their per-language versions), `revisions`
(published snapshots), `schedules` (planned publishes) and `audit` (who changed what is
delivered). Django loads the models from here; import choices and abstract bases from their
module.
"""

from content.models.audit import AuditEntry
from content.models.design_schema import DesignSchema
from content.models.revisions import PlacementRevision, ScreenRevision
from content.models.schedules import PublishSchedule
from content.models.slots import Placement, Screen
from content.models.translations import ContentVariantTranslation, ScreenVariantTranslation
from content.models.variants import ContentVariant, ScreenVariant

__all__ = [
    "AuditEntry",
    "ContentVariant",
    "ContentVariantTranslation",
    "DesignSchema",
    "Placement",
    "PlacementRevision",
    "PublishSchedule",
    "Screen",
    "ScreenRevision",
    "ScreenVariant",
    "ScreenVariantTranslation",
]
