"""Segments: the field catalog, visitor profiles and events, segments (dynamic or static),
the visual builder, and the criteria language that describes audiences.

`segments.criteria` (parse, validate, compile) and `segments.bucketing` (GrowthBook-compatible
hashing) are pure Python with no Django, so delivery can run them on the hot path.
Builds on tenancy only (docs/architecture.md).
"""
